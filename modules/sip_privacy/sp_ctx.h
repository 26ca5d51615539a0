/*
 * sip_privacy: what the module's functions learn about one message and pass
 * on to each other within the same request route (glue, Kamailio headers).
 * The context belongs to the message being processed by this process: it
 * starts empty for every new message (msg->id, msg->pid).
 */
#ifndef _SIP_PRIVACY_SP_CTX_H_
#define _SIP_PRIVACY_SP_CTX_H_

#include "core/parser/msg_parser.h"

typedef struct sp_msg_ctx
{
	unsigned int msg_id; /* the message it describes */
	int msg_pid;
	/* SP_PRIV_ bits the network asks for on the user's behalf (network-
	 * provided identity blocking), set by the identity assertion for a
	 * request that carries no Privacy; 0 when none applies. */
	unsigned int net_privacy;
	/* 1 once the P-CSCF asserted an identity for this request. */
	int asserted;
	/* The conditional lump that carries the P-Asserted-Identity this
	 * module inserted (sp_assert_identity()), NULL when none: setting its
	 * condition to COND_FALSE withdraws the header (sp_assert.h). */
	struct lump *pai_cond;
	/* trust of the previous hop (sp_trust.c): 1 once known to be inside
	 * the trust domain or vouched for by the script (sp_set_trusted_src);
	 * src_tls_checked: its TLS certificate was already looked at. */
	int src_trusted;
	int src_tls_checked;
} sp_msg_ctx_t;

/* The context of `msg`, reset when `msg` is not the message it held. */
sp_msg_ctx_t *sp_ctx(sip_msg_t *msg);

#endif
