/*
 * sqlite_busy: how long to wait on a locked SQLite database.
 *
 * The schedule is SQLite's own (sqliteDefaultBusyCallback): short sleeps
 * first, since a writer on a presence database holds its lock for well under
 * a millisecond, then longer ones, never past the operator's bound.
 */
#include "busy_wait.h"

static const int _sqlite_busy_delays[] = {
		1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
#define SQLITE_BUSY_NDELAYS \
	((int)(sizeof(_sqlite_busy_delays) / sizeof(_sqlite_busy_delays[0])))

static int _sqlite_busy_sum(int count)
{
	int i, total = 0;

	if(count <= 0)
		return 0;
	for(i = 0; i < count && i < SQLITE_BUSY_NDELAYS; i++)
		total += _sqlite_busy_delays[i];
	if(count > SQLITE_BUSY_NDELAYS)
		total += (count - SQLITE_BUSY_NDELAYS)
				 * _sqlite_busy_delays[SQLITE_BUSY_NDELAYS - 1];
	return total;
}

int sqlite_busy_waited(int count, int timeout_ms)
{
	int total;

	if(timeout_ms <= 0)
		return 0;
	total = _sqlite_busy_sum(count);
	return total < timeout_ms ? total : timeout_ms;
}

int sqlite_busy_delay(int count, int timeout_ms)
{
	int waited, delay;

	if(count < 0 || timeout_ms <= 0)
		return 0;
	waited = _sqlite_busy_sum(count);
	if(waited >= timeout_ms)
		return 0;
	delay = count < SQLITE_BUSY_NDELAYS
					? _sqlite_busy_delays[count]
					: _sqlite_busy_delays[SQLITE_BUSY_NDELAYS - 1];
	if(waited + delay > timeout_ms)
		delay = timeout_ms - waited;
	return delay;
}
