/*
 * Shared Kamailio glue (lib/): OpenSSL state that must not cross fork().
 */
#ifndef _LIB_KOSSL_H_
#define _LIB_KOSSL_H_

/* Called in the main process right before it forks its children (a
 * module's child_init(PROC_INIT)): releases that thread's OpenSSL state
 * (its error queue above all). With the tls module loaded OpenSSL
 * allocates in shared memory, and a queue the main process made before
 * fork() would be one object every child points to: processes clearing it
 * at the same time free the same memory twice. Afterwards each child makes
 * its own on first use. Each module that uses OpenSSL calls it from its
 * child_init(PROC_INIT); the last one, after every module's own start-up
 * work there, leaves the main process without one. */
void kossl_before_fork(void);

#endif
