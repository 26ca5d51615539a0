/*
 * sip_privacy: anonymous watchers at the Presence Server (glue, Kamailio
 * headers). sip_privacy_mod.c puts these in its export tables.
 *
 *  - sp_winfo_mark([watcher]): for a SUBSCRIBE whose Privacy asks for
 *    "id" or "user" (or cannot be read), or within a dialog already marked,
 *    records the subscription (its Call-ID) as anonymous; call it after the
 *    watcher was authenticated and BEFORE handle_subscribe(), which sends
 *    the presentity's winfo NOTIFY about the new watcher from inside.
 *  - sp_winfo_anonymize(): in event_route[tm:local-request], for a NOTIFY
 *    of presence.winfo, rewrites the watcherinfo body (winfo.c) so that no
 *    anonymous watcher shows by identity; call it first in the route, before
 *    anything that changes the NOTIFY (notify_smime_notify() encrypts the
 *    rewritten body).
 */
#ifndef _SIP_PRIVACY_SP_WINFO_H_
#define _SIP_PRIVACY_SP_WINFO_H_

#include "core/counters.h"
#include "core/parser/msg_parser.h"
#include "core/rpc.h"

#include "privacy.h"

/* Return codes of sp_winfo_mark() */
#define SP_WINFO_RC_ANONYMOUS 1		/* recorded: anonymous in winfo */
#define SP_WINFO_RC_NOT_ANONYMOUS 2 /* no privacy asked: nothing recorded */
/* Return codes of sp_winfo_anonymize() */
#define SP_WINFO_RC_REWRITTEN 1 /* anonymous watchers rewritten */
#define SP_WINFO_RC_UNCHANGED 2 /* nothing to hide (or not a winfo NOTIFY) */
#define SP_WINFO_RC_WITHHELD 3	/* body removed: it could not be rewritten */
/* Both: -1 error; mark: not recorded durably (refuse the SUBSCRIBE);
 * anonymize: the body could not even be removed (drop the NOTIFY). */
#define SP_WINFO_RC_ERROR (-1)

/* modparams */
extern str sp_winfo_secret;
extern str sp_winfo_secret_file;
extern str sp_winfo_db_url;
extern str sp_winfo_table;
extern int sp_winfo_hash_size;
extern int sp_winfo_max_entries;
extern int sp_winfo_linger;
extern int sp_winfo_db_lookup;

/* statistic winfo_anonymized: watcher entries anonymized */
extern stat_var *sp_winfo_st_anonymized;

extern const char *sp_winfo_rpc_doc[2];

int sp_winfo_mod_init(void);
int sp_winfo_child_init(int rank);
void sp_winfo_mod_destroy(void);

int sp_winfo_fixup_mark(void **param, int param_no);
int sp_winfo_fixup_free_mark(void **param, int param_no);
int sp_winfo_fixup_anonymize(void **param, int param_no);
int w_sp_winfo_mark(sip_msg_t *msg, char *watcher, char *p2);
int w_sp_winfo_anonymize(sip_msg_t *msg, char *p1, char *p2);
int ki_sp_winfo_mark(sip_msg_t *msg);
int ki_sp_winfo_mark_watcher(sip_msg_t *msg, str *watcher);
int ki_sp_winfo_anonymize(sip_msg_t *msg);
void sp_winfo_rpc(rpc_t *rpc, void *ctx);

/* Every Privacy header of msg into p (sip_privacy_mod.c). */
int sp_privacy_read(sip_msg_t *msg, sp_priv_t *p);

#endif
