/*
 * sip_privacy: the topology guard (glue, Kamailio headers). RFC 3323
 * "header" privacy made to fail closed behind Kamailio's topos.
 *
 * Kamailio 5.6.3's topos sends a message unchanged when it cannot store or
 * find its state (tps_msg_sent() ignores the error of tps_request_sent() and
 * tps_response_sent(), e.g. while its database is locked): the UE would get
 * the trust domain's Via, Record-Route and Contact. The guard is a
 * SREV_NET_DATA_OUT callback that runs after topos's: a message about to
 * leave toward a hop outside the trust domain (the send's destination
 * address, modparam "trusted") that still names an address of the trust
 * domain other than this proxy's own in its Via, Route, Record-Route or
 * Contact (sp_topo.c) is not sent as it is:
 *  - a reply to anything but INVITE leaves as a bare "500 Server Internal
 *    Error" (its Via, From, To, Call-ID and CSeq, nothing else);
 *  - a request, or a reply to INVITE, is not sent at all: the send fails
 *    (tm sees a send error; for a relayed request the script's
 *    t_relay() fails and it answers the sender).
 * Each is counted in the statistic topology_leaks_blocked and logged at
 * ERROR with the destination, the header and the address, never the
 * message.
 *
 * Callbacks of SREV_NET_DATA_OUT run last-registered first, and modules are
 * initialised in load order: the guard runs after topos when sip_privacy is
 * loaded before topos, and last of all when no module loaded before it
 * registers one; sp_topo_guard_init() refuses to start otherwise.
 */
#ifndef _SIP_PRIVACY_SP_TOPO_GUARD_H_
#define _SIP_PRIVACY_SP_TOPO_GUARD_H_

#include "core/counters.h"
#include "core/rpc.h"

/* modparam topology_guard: 1 (default) on when topos is loaded, 0 off */
extern int sp_topo_guard;

extern stat_export_t sp_topo_guard_stats[];

/* mod_init: the modparam checked, the callback registered when topos is
 * loaded (after sip_privacy). 0, or -1 with an error logged. */
int sp_topo_guard_init(void);

/* mod_destroy: the shared on/off switch freed */
void sp_topo_guard_destroy(void);

/* RPC sip_privacy.topology_guard [0|1]: the state, switched when given. */
extern const char *sp_topo_guard_rpc_doc[2];
void sp_topo_guard_rpc(rpc_t *rpc, void *ctx);

#endif
