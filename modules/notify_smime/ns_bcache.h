/*
 * notify_smime: the bindings in shared memory (modparam binding_cache), so
 * that a NOTIFY finds its subscription's certificate without a database
 * query. Loaded from binding_table at start-up; every change is written to
 * the table first, then here, so the table stays the durable copy and
 * this one is authoritative for reads on this node. Several nodes writing
 * one table must set binding_cache to 0 (each NOTIFY then reads the table).
 *
 * A cached binding carries no PEM (ns_binding_t.pem stays empty): the
 * certificate is parsed once per process from the table
 * (ns_store_binding_pem) and kept by fingerprint.
 */
#ifndef _NOTIFY_SMIME_BCACHE_H_
#define _NOTIFY_SMIME_BCACHE_H_

#include <time.h>

#include "core/str.h"
#include "ns_store.h"

/* mod_init: a table of `size` slots (a power of two) */
int ns_bcache_init(unsigned int size);
void ns_bcache_destroy(void);

/* Adds or replaces the binding of (callid, tag): 0, or -1 out of memory. */
int ns_bcache_put(str *callid, str *tag, ns_binding_t *b);

/* NS_STORE_OK with *b filled (pkg copies, no PEM; free with
 * ns_binding_free), NS_STORE_NONE, NS_STORE_ERR (out of memory). */
int ns_bcache_get(str *callid, str *tag, ns_binding_t *b);

void ns_bcache_touch(str *callid, str *tag, time_t expires);
void ns_bcache_del(str *callid, str *tag);

/* Removes the bindings that expired before now; their number. */
int ns_bcache_purge(time_t now);

/* Number of bindings held. */
int ns_bcache_count(void);

#endif
