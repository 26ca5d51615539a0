/*
 * sip_privacy: the trust domain (RFC 3325 Spec(T)) as the module's
 * functions see it (glue, Kamailio headers). A previous hop is inside it
 * when any of these holds:
 *  - its address is in a network of modparam "trusted" (sp_net.h);
 *  - the request came on a listening socket of modparam "trusted_socket";
 *  - it came over a TLS connection whose peer certificate was verified
 *    and has a name of modparam "trusted_tls" (sp_peer.h);
 *  - the script said so for this message with sp_set_trusted_src() (for
 *    instance after permissions' allow_source_address(group)).
 * A next hop is inside it when it is an IP literal in a "trusted" network;
 * over TLS, the tls client profile toward it must verify its certificate
 * (the module's documentation says how).
 */
#ifndef _SIP_PRIVACY_SP_TRUST_H_
#define _SIP_PRIVACY_SP_TRUST_H_

#include "core/sr_module.h"
#include "core/rpc.h"
#include "core/parser/msg_parser.h"

/* modparam handlers (PARAM_STRING | PARAM_USE_FUNC), one value each */
int sp_trust_param_net(modparam_t type, void *val);
int sp_trust_param_tls(modparam_t type, void *val);
int sp_trust_param_socket(modparam_t type, void *val);

/* mod_init: the sockets checked against what Kamailio listens on, the trust
 * domain logged. 0, or -1 with an error logged. */
int sp_trust_init(void);

/* 1 when the address is in a network of modparam "trusted", else 0. */
int sp_trust_ip(struct ip_addr *ip);

/* 1 when the previous hop of msg is inside the trust domain, else 0. */
int sp_trust_src(sip_msg_t *msg);

/* 1 when the next hop of the request ($du, else the R-URI) is, else 0. */
int sp_trust_dst(sip_msg_t *msg);

/* 1 when every next hop of the request is: $du or the R-URI, and every
 * branch lookup() or append_branch() added (each its destination URI,
 * else its URI); else 0. */
int sp_trust_dst_all(sip_msg_t *msg);

/* The script vouches for the previous hop of this message. */
void sp_trust_set_src(sip_msg_t *msg);

/* RPC sip_privacy.trusted: one line per entry, "<kind> <value>". */
void sp_trust_rpc(rpc_t *rpc, void *ctx);

#endif
