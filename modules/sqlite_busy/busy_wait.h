/*
 * sqlite_busy: how long to wait on a locked SQLite database.
 * Pure logic, no Kamailio headers.
 */
#ifndef _SQLITE_BUSY_WAIT_H_
#define _SQLITE_BUSY_WAIT_H_

/*
 * The sleep in milliseconds before retry number `count` (0 based) of a
 * statement that found the database locked, such that the sleeps never add
 * up to more than `timeout_ms`; 0 means give up now.
 */
int sqlite_busy_delay(int count, int timeout_ms);

/* The total sleep in milliseconds of retries 0 .. count-1 under the same
 * bound: what a statement has waited when retry `count` is asked for. */
int sqlite_busy_waited(int count, int timeout_ms);

#endif
