/*
 * sip_privacy: the RFC 3323 privacy service (glue, Kamailio headers):
 * sp_privacy_apply() for every request and response of a dialog, and what
 * sip_privacy_mod.c shares with it.
 */
#ifndef _SIP_PRIVACY_SP_SERVICE_H_
#define _SIP_PRIVACY_SP_SERVICE_H_

#include "core/counters.h"
#include "core/parser/msg_parser.h"

#include "privacy.h"

/* sp_privacy_apply() return codes (KEMI); the cfg wrapper turns
 * SP_APPLY_REFUSED into 0, which ends the script. */
#define SP_APPLY_CHANGED 1	  /* the message was changed */
#define SP_APPLY_UNCHANGED 2  /* nothing to do */
#define SP_APPLY_ERROR (-1)	  /* the message could not be read or changed */
#define SP_APPLY_REFUSED (-2) /* 500 sent: do not deliver */

/* modparams anon_contact, rr_secret */
extern int sp_anon_contact;
extern str sp_rr_secret;

/* Statistics of the service, registered by sp_service_init(). */
extern stat_export_t sp_service_stats[];

/* From mod_init: binds rr (optional: without it no dialog rule is written
 * or read), validates modparams. 0 or -1. */
int sp_service_init(void);

/* sp_privacy_apply(): see the module documentation. */
int ki_sp_privacy_apply(sip_msg_t *msg);

#endif
