/*
 * sip_privacy: the anonymous subscriptions of a Presence Server (glue,
 * Kamailio headers). One record per subscription (its Call-ID), with the
 * presentity, the watcher's identity as presence stored it and the time
 * the record may go:
 *  - in shared memory, a hash table under one lock, which every lookup of
 *    sp_winfo_anonymize() reads (no database query per NOTIFY);
 *  - in a table through the DB API (write-through: the row is written
 *    before the record is used), loaded at start-up, so that a restart of
 *    the server keeps its watchers anonymous.
 * Several nodes sharing one table (a cluster): with db_lookup, a miss in
 * memory is looked up in the table (sp_ws_lookup_*()), and a row found is
 * cached in this node's memory; without it a node sees the records of the
 * others only after a restart.
 */
#ifndef _SIP_PRIVACY_SP_WINFO_STORE_H_
#define _SIP_PRIVACY_SP_WINFO_STORE_H_

#include <time.h>

#include "core/str.h"

#define SP_WS_OK 0
#define SP_WS_FULL 1 /* winfo_max_entries records held already */
#define SP_WS_ERR (-1)

/* Longest Call-ID, presentity and watcher URI kept (the columns' size). */
#define SP_WS_MAX_FIELD 255

/* mod_init: binds the DB module, checks the table's version, builds the
 * hash table (`size` slots, a power of two) and loads the table's
 * unexpired rows. db_lookup: 1 when a miss in memory is looked up in the
 * table (sp_ws_lookup_*()). -1 on any error (start-up stops). */
int sp_ws_init(str *db_url, str *table, unsigned int size,
		unsigned int max_entries, int db_lookup);
int sp_ws_child_init(void);
void sp_ws_destroy(void);

/* Records (or refreshes) the subscription `callid` until `expires`:
 * written to the table, then to memory. SP_WS_OK, SP_WS_FULL or SP_WS_ERR
 * (the table could not be written; the record is kept in memory anyway,
 * so that this node never reveals the watcher). */
int sp_ws_put(str *callid, str *presentity, str *watcher, time_t expires);

/* 1 when `callid` is a recorded anonymous subscription, 0 when not. */
int sp_ws_has_callid(const char *callid, int len);

/* 1 when `watcher` (ASCII case-insensitive) has a record for
 * `presentity`, 0 when not. */
int sp_ws_has_watcher(
		const char *presentity, int plen, const char *watcher, int wlen);

/* As sp_ws_has_callid() and sp_ws_has_watcher(), and on a miss in memory,
 * when db_lookup is on, the table's unexpired rows (one indexed query;
 * a row found is cached in memory): 1 found, 0 not, -1 the table could not
 * be read (the caller fails closed). */
int sp_ws_lookup_callid(const char *callid, int len);
int sp_ws_lookup_watcher(
		const char *presentity, int plen, const char *watcher, int wlen);

/* 1 when db_lookup is on. */
int sp_ws_db_lookup(void);

/* Records held (expired ones not yet purged included). */
int sp_ws_count(void);

/* Removes the records that expired before `now` from memory and from the
 * table; the number removed from memory, or -1 (table error). */
int sp_ws_purge(time_t now);

#endif
