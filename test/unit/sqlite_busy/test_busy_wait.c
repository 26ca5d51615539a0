/*
 * Unit tests: sqlite_busy's wait schedule, and the busy handler contract
 * checked against a real SQLite lock held by a second connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "busy_wait.h"

struct delay_row
{
	int count;
	int timeout;
	int delay;
};

static void test_delay_table(void **state)
{
	/* clang-format off */
	static const struct delay_row rows[] = {
		{0, 5000, 1}, {1, 5000, 2}, {2, 5000, 5}, {11, 5000, 100},
		{40, 5000, 100},
		/* the last sleep is cut so that the total never passes the bound */
		{3, 10, 2}, {4, 10, 0}, {0, 1, 1}, {1, 1, 0},
		/* negative rows: no waiting at all */
		{0, 0, 0}, {5, -1, 0}, {-1, 5000, 0},
	};
	/* clang-format on */
	size_t i;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = sqlite_busy_delay(rows[i].count, rows[i].timeout);
		if(got != rows[i].delay)
			fail_msg("row %zu: delay(%d, %d) = %d, want %d", i, rows[i].count,
					rows[i].timeout, got, rows[i].delay);
	}
}

static void test_total_bounded(void **state)
{
	int timeouts[] = {1, 7, 100, 3000, 5000, 60000};
	size_t i;

	for(i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		int count = 0, total = 0, d;
		while((d = sqlite_busy_delay(count, timeouts[i])) > 0) {
			total += d;
			count++;
			assert_true(count < 100000);
		}
		assert_int_equal(total, timeouts[i]);
		assert_int_equal(sqlite_busy_waited(count, timeouts[i]), timeouts[i]);
		assert_int_equal(
				sqlite_busy_waited(count + 5, timeouts[i]), timeouts[i]);
		assert_int_equal(sqlite_busy_waited(0, timeouts[i]), 0);
	}
}

static int busy_cb(void *arg, int count)
{
	int d = sqlite_busy_delay(count, *(int *)arg);
	if(d <= 0)
		return 0;
	usleep(d * 1000);
	return 1;
}

/* A writer that meets another connection's write lock waits with the handler
 * and gives up with SQLITE_BUSY once the bound is spent; without a handler
 * (db_sqlite's default) it fails at once. */
static void test_real_lock(void **state)
{
	char path[] = "/tmp/sqlite_busy_testXXXXXX";
	int fd = mkstemp(path);
	sqlite3 *a = NULL, *b = NULL;
	int timeout = 30;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &a), SQLITE_OK);
	assert_int_equal(sqlite3_open(path, &b), SQLITE_OK);
	assert_int_equal(
			sqlite3_exec(a, "CREATE TABLE t (x INTEGER)", 0, 0, 0), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);

	assert_int_equal(
			sqlite3_exec(b, "INSERT INTO t VALUES (1)", 0, 0, 0), SQLITE_BUSY);

	sqlite3_busy_handler(b, busy_cb, &timeout);
	assert_int_equal(
			sqlite3_exec(b, "INSERT INTO t VALUES (2)", 0, 0, 0), SQLITE_BUSY);

	/* once the lock is released the same write goes through */
	assert_int_equal(sqlite3_exec(a, "COMMIT", 0, 0, 0), SQLITE_OK);
	assert_int_equal(
			sqlite3_exec(b, "INSERT INTO t VALUES (3)", 0, 0, 0), SQLITE_OK);

	sqlite3_close(a);
	sqlite3_close(b);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_delay_table),
			cmocka_unit_test(test_total_bounded),
			cmocka_unit_test(test_real_lock),
	};
	return cmocka_run_group_tests_name("sqlite_busy", tests, NULL, NULL);
}
