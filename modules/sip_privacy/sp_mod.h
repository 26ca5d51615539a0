/*
 * sip_privacy: what sip_privacy_mod.c lends the module's other glue files.
 */
#ifndef _SIP_PRIVACY_SP_MOD_H_
#define _SIP_PRIVACY_SP_MOD_H_

#include "core/counters.h"
#include "core/parser/msg_parser.h"

/* Removes every header of `type` (HDR_PAI_T or HDR_PPI_T) the message
 * brought, counts them in `st` (may be NULL) and logs `why` at debug level:
 * 1 removed, 2 none there, -1 error (logged). */
int sp_hdr_remove_all(sip_msg_t *msg, int type, stat_var *st, const char *why);

/* The same for P-Asserted-Identity from outside the trust domain, counted
 * in pai_removed_untrusted (spoof attempts). */
int sp_pai_remove_untrusted(sip_msg_t *msg, const char *why);

#endif
