/*
 * watcher_auth: shared-memory cache of compiled policies, per presentity.
 */
#ifndef _WATCHER_AUTH_CACHE_H_
#define _WATCHER_AUTH_CACHE_H_

#include <time.h>
#include "core/str.h"
#include "policy.h"

/* What the store said about a presentity's policy document. */
typedef enum wa_doc_status
{
	WA_DOC_OK = 0,		 /* a compiled policy */
	WA_DOC_NONE = 1,	 /* the presentity has no policy document */
	WA_DOC_INVALID = 2,	 /* a document that does not compile: fail closed */
	WA_DOC_STORE_ERR = 3 /* the store could not be read: fail closed */
} wa_doc_status_t;

/* Called with the slot lock held on a hit: evaluate, copy out, return. */
typedef int (*wa_cache_visit_f)(
		wa_doc_status_t status, int err, const wa_policy_t *pol, void *arg);

int wa_cache_init(unsigned max_entries, size_t max_bytes, int ttl);
void wa_cache_destroy(void);

/* 1 and visit's return in *ret on a hit (fresh entry), 0 on a miss. */
int wa_cache_visit(str *uri, wa_cache_visit_f visit, void *arg, int *ret);

/* Stores a result: takes ownership of pol (an shm block) or frees it when
 * the cache is full. status/err as for the visit callback. */
void wa_cache_put(str *uri, wa_doc_status_t status, int err, wa_policy_t *pol,
		size_t size);

/* Drops one presentity's entry; all of them when uri is NULL. Returns the
 * number of entries dropped. */
int wa_cache_invalidate(str *uri);

void wa_cache_counts(unsigned *entries, size_t *bytes);

#endif
