/*
 * sip_privacy: the subscriber tables (public identities, network-provided
 * identity blocking) read through the DB API into shared memory at
 * start-up and by the RPC sip_privacy.reload; no SQL on the message path.
 * Glue (Kamailio headers); the table logic is sp_subs.c.
 */
#ifndef _SIP_PRIVACY_SP_DB_H_
#define _SIP_PRIVACY_SP_DB_H_

#include "core/str.h"
#include "core/rpc.h"

#include "sp_subs.h"

/* modparams db_url, identity_table, blocking_table */
extern str sp_db_url;
extern str sp_identity_table;
extern str sp_blocking_table;

/* mod_init: without db_url nothing is read (LM_INFO); else the tables are
 * read now and a table that cannot be read stops start-up. 0 or -1. */
int sp_db_init(void);

/* mod_destroy */
void sp_db_destroy(void);

/* 1 when the tables are configured (db_url set) and loaded. */
int sp_db_enabled(void);

/*
 * The user's identities and blocking copied into `c`: 1 found, 0 unknown
 * user, -1 no tables. `user` as the subscriber table has it (unescaped),
 * `domain` compared ASCII case-insensitively.
 */
int sp_db_lookup(const str *user, const str *domain, sp_sub_copy_t *c);

/* The username (unescaped) and domain of a sip/sips AOR into `ubuf` (of
 * SP_SUBS_MAX_USER_LEN bytes): 0, or -1 when it is not one. */
int sp_db_aor_user(str *aor, char *ubuf, str *user, str *domain);

void sp_rpc_subscriber(rpc_t *rpc, void *ctx);
void sp_rpc_reload(rpc_t *rpc, void *ctx);
extern const char *sp_rpc_subscriber_doc[2];
extern const char *sp_rpc_reload_doc[2];

#endif
