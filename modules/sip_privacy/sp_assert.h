/*
 * sip_privacy: identity assertion at the P-CSCF (RFC 3325 6, 3GPP TS
 * 24.229 5.2.6.3): sp_assert_identity() for a request from the UE side.
 * Glue (Kamailio headers); the decisions are identity.c (which identity),
 * sp_reg.c (is the source a registered contact) and sp_subs.c (the
 * user's identities and network-provided blocking).
 */
#ifndef _SIP_PRIVACY_SP_ASSERT_H_
#define _SIP_PRIVACY_SP_ASSERT_H_

#include "core/str.h"
#include "core/counters.h"
#include "core/parser/msg_parser.h"

/* Return codes of sp_assert_identity() (documented in the module docs). */
#define SP_AS_ASSERTED 1		/* P-Asserted-Identity inserted */
#define SP_AS_ERROR (-1)		/* unreadable request, or no tables/usrloc */
#define SP_AS_UNREGISTERED (-2) /* source is no registered contact */
#define SP_AS_NO_IDENTITY (-3)	/* registered, no identity provisioned */

/* modparam usrloc_domain: the usrloc table registrar saves to */
extern str sp_usrloc_domain;

/* statistics pai_asserted, ppi_refused */
extern stat_var *sp_st_pai_asserted;
extern stat_var *sp_st_ppi_refused;

/* mod_init: binds usrloc when it is loaded (LM_INFO when not). 0 or -1. */
int sp_assert_init(void);

int ki_sp_assert_identity(sip_msg_t *msg);
int w_sp_assert_identity(sip_msg_t *msg, char *p1, char *p2);

/* Withdraws the P-Asserted-Identity this module inserted into msg (the
 * privacy service toward an untrusted hop): 1 withdrawn, 0 none. */
int sp_assert_withdraw(sip_msg_t *msg);

#endif
