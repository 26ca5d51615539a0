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

/* keep: the age in seconds after which an entry may be evicted to make
 * room (the longest max_age any caller asks for). */
int wa_cache_init(unsigned max_entries, size_t max_bytes, int keep);
void wa_cache_destroy(void);

/* 1 and visit's return in *ret on a hit on an entry at most max_age
 * seconds old, 0 on a miss. */
int wa_cache_visit(
		str *uri, int max_age, wa_cache_visit_f visit, void *arg, int *ret);

/* As wa_cache_visit, and the entry must be trusted: loaded or validated
 * less than max_age seconds ago, no local write of that presentity since
 * (generation unchanged) and none in progress. */
int wa_cache_visit_trusted(
		str *uri, int max_age, wa_cache_visit_f visit, void *arg, int *ret);

/* The generation of uri's slot: read it before reading the store, and pass
 * it to wa_cache_put/wa_cache_touch, so that a load that overlapped a local
 * write is never trusted. */
unsigned int wa_cache_gen(str *uri);

/* A local write of uri's policy begins / ended (the Ut interface): entries
 * are not trusted while it runs, and every entry loaded before it ends is
 * outdated. wa_cache_invalidate is the end of a write without a begin. */
void wa_cache_write_begin(str *uri);
void wa_cache_write_end(str *uri);

/* 1 and the entry's ETag (of an external source) when there is an entry of
 * any age, 0 when there is none. */
int wa_cache_etag(str *uri, char *etag, size_t size);

/* Marks an entry as just validated (a 304 or the same etag) as of
 * generation gen: 1 when there was one. */
int wa_cache_touch(str *uri, unsigned int gen);

/* Stores a result: takes ownership of pol (an shm block) or frees it when
 * the cache is full. status/err as for the visit callback; etag may be
 * NULL. */
void wa_cache_put(str *uri, wa_doc_status_t status, int err, wa_policy_t *pol,
		size_t size, const char *etag, unsigned int gen);

/* Drops one presentity's entry; all of them when uri is NULL. Returns the
 * number of entries dropped. */
int wa_cache_invalidate(str *uri);

void wa_cache_counts(unsigned *entries, size_t *bytes);

#endif
