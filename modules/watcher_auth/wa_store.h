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

/* The pres-rules document of user@domain, as a pkg copy in *doc (the caller
 * frees it with pkg_free) when found. */
int wa_store_fetch(str *user, str *domain, str *doc);

#endif
