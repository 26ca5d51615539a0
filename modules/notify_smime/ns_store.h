/*
 * notify_smime: state through Kamailio's DB API, so that switching db_url
 * is the whole change between one node and many.
 *  - the operator's certificate store (cert_table): watchers' certificates
 *    by AOR, several per AOR allowed (key roll-over);
 *  - the bindings (binding_table): which certificate encrypts the NOTIFYs
 *    of which subscription (Call-ID and the watcher's tag), so that every
 *    NOTIFY of a subscription, from any process, node or after a restart,
 *    uses the same certificate.
 */
#ifndef _NOTIFY_SMIME_STORE_H_
#define _NOTIFY_SMIME_STORE_H_

#include <time.h>

#include "core/str.h"

#define NS_STORE_OK 0
#define NS_STORE_NONE 1
#define NS_STORE_ERR (-1)

/* Most certificates of one AOR looked at. */
#define NS_STORE_MAX_CERTS 8

#define NS_SOURCE_MAX 16

/* One binding. Strings are pkg copies owned by the struct. */
typedef struct ns_binding
{
	str pres_uri;
	str watcher;
	str pem;
	char fp[65];
	char source[NS_SOURCE_MAX];
	int demanded;
	time_t expires;
} ns_binding_t;

void ns_binding_free(ns_binding_t *b);

/* A NUL-terminated pkg copy of s (len bytes) into dst: 0, or -1 out of
 * memory (dst empty). */
int ns_pkg_dup(str *dst, const char *s, int len);

/* mod_init: binds the DB module and checks the tables' versions (a
 * missing or unreadable database is a start-up error). */
int ns_store_init(str *db_url, str *cert_table, str *binding_table);
int ns_store_child_init(void);
void ns_store_destroy(void);

/* Up to NS_STORE_MAX_CERTS PEM texts of `aor` (pkg copies, newest first):
 * NS_STORE_OK and *n >= 1, NS_STORE_NONE, NS_STORE_ERR. */
int ns_store_certs(str *aor, str *pems, int *n);

/* Binds (callid, tag) to b (replacing any previous binding). */
int ns_store_bind(str *callid, str *tag, ns_binding_t *b);

/* The binding of (callid, tag) into *b (free it with ns_binding_free()). */
int ns_store_lookup(str *callid, str *tag, ns_binding_t *b);

/* A new expiry time for a binding. */
int ns_store_touch(str *callid, str *tag, time_t expires);

int ns_store_unbind(str *callid, str *tag);

/* Removes the bindings that expired before `now`; their number or -1. */
int ns_store_purge(time_t now);

/* Bindings in shared memory (ns_bcache.h), loaded now from the table
 * (mod_init); from then on lookups do not query the table. */
int ns_store_cache_init(unsigned int size);
void ns_store_cache_destroy(void);

/* The PEM of the certificate bound to (callid, tag), a pkg copy (lookups
 * from the cache carry none). */
int ns_store_binding_pem(str *callid, str *tag, str *pem);

/* Calls f for every binding of watcher `aor` (at most `max`). */
typedef void (*ns_store_visit_f)(
		void *ctx, str *callid, str *tag, ns_binding_t *b);
int ns_store_watcher_bindings(str *aor, int max, ns_store_visit_f f, void *ctx);

#endif
