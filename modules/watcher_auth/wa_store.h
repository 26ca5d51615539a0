/*
 * watcher_auth: where a presentity's pres-rules document comes from.
 */
#ifndef _WATCHER_AUTH_STORE_H_
#define _WATCHER_AUTH_STORE_H_

#include "core/str.h"

/* Results of wa_store_fetch */
#define WA_STORE_FOUND 1
#define WA_STORE_NONE 0
#define WA_STORE_ERROR (-1)

int wa_store_init(str *db_url, str *table); /* mod_init */
int wa_store_child_init(void);				/* per process */
void wa_store_destroy(void);

#define WA_STORE_ETAG_MAX 128

/* The version (etag column, changed by xcap_server on every write) of the
 * pres-rules document of user@domain, NUL-terminated in etag. */
int wa_store_etag(str *user, str *domain, char *etag, size_t size);

/* The pres-rules document of user@domain, as a pkg copy in *doc (the caller
 * frees it with pkg_free) when found, and its etag when etag is not NULL
 * (both from the same row). */
int wa_store_fetch(str *user, str *domain, str *doc, char *etag, size_t size);

#endif
