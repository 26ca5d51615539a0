/*
 * sip_privacy: what sip_privacy_mod.c lends the module's other glue files.
 */
#ifndef _SIP_PRIVACY_SP_MOD_H_
#define _SIP_PRIVACY_SP_MOD_H_

#include "core/counters.h"
#include "core/parser/msg_parser.h"

#include "privacy.h"

/* Removes every header of `type` (HDR_PAI_T or HDR_PPI_T) the message
 * brought, counts them in `st` (may be NULL) and logs `why` at debug level:
 * 1 removed, 2 none there, -1 error (logged). */
int sp_hdr_remove_all(sip_msg_t *msg, int type, stat_var *st, const char *why);

/* The same for P-Asserted-Identity from outside the trust domain, counted
 * in pai_removed_untrusted (spoof attempts). */
int sp_pai_remove_untrusted(sip_msg_t *msg, const char *why);

/* For the privacy service (sp_service.c): */
/* Every Privacy header of msg parsed into p (never "no privacy" for one it
 * can't read); 0, or -1 when msg is unreadable. */
int sp_mod_privacy_read(sip_msg_t *msg, sp_priv_t *p);
/* 1 when P-Asserted-Identity goes toward an untrusted hop for a message
 * whose Privacy asks for `requested` (modparam absent_policy). */
int sp_mod_pai_must_go(unsigned int requested);
/* Every P-Asserted-Identity removed, the one this module asserted too
 * (statistic pai_removed_privacy): 1 removed, 2 none there, -1 error. */
int sp_mod_pai_remove_privacy(sip_msg_t *msg);
/* 1 when a delete lump already covers hf. */
int sp_mod_hf_deleted(sip_msg_t *msg, hdr_field_t *hf);
/* The refusal of a request: statistic critical_refused, a log line, and
 * the reply 500 with `reason`. */
void sp_mod_refuse(sip_msg_t *msg, const char *reason);

#endif
