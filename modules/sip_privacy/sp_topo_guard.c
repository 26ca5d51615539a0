/*
 * sip_privacy: the topology guard (see sp_topo_guard.h); the scan is in
 * sp_topo.c (pure, unit-tested).
 */
#include <string.h>

#include "core/dprint.h"
#include "core/events.h"
#include "core/ip_addr.h"
#include "core/socket_info.h"
#include "core/sr_module.h"
#include "core/mem/mem.h"
#include "core/mem/shm_mem.h"

#include "sp_topo_guard.h"
#include "sp_topo.h"
#include "sp_trust.h"

/* at most this much of an address goes to the log */
#define SP_TOPO_LOG_ADDR 64

int sp_topo_guard = 1;

static stat_var *_sp_topo_st_blocked;
/* shm: the guard checks messages (RPC sip_privacy.topology_guard); NULL
 * while it is not registered */
static int *_sp_topo_on = NULL;

const char *sp_topo_guard_rpc_doc[2] = {
		"The topology guard: '1' on, '0' off (modparam topology_guard);"
		" with 0 or 1, switch it off or on again until the next start.",
		0};

/* clang-format off */
stat_export_t sp_topo_guard_stats[] = {
	{"topology_leaks_blocked", 0, &_sp_topo_st_blocked},
	{0, 0, 0}
};
/* clang-format on */

/* 1 when the address must not leave: inside the trust domain and not one
 * this proxy listens on (or advertises). */
static int _sp_topo_must_hide(int family, const unsigned char *addr, void *arg)
{
	static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	ip_addr_t ip;

	memset(&ip, 0, sizeof(ip));
	if(family == 6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = 4; /* an IPv4-mapped address is its IPv4 address */
		addr += sizeof(mapped);
	}
	ip.af = family == 4 ? AF_INET : AF_INET6;
	ip.len = family == 4 ? 4 : 16;
	memcpy(ip.u.addr, addr, ip.len);
	if(!sp_trust_ip(&ip))
		return 0;
	return find_si(&ip, 0, PROTO_NONE) == NULL;
}

/* SREV_NET_DATA_OUT: evp->data is the outgoing buffer (pkg, owned by
 * msg_send_buffer(), which sends nothing and fails when it comes back
 * NULL), evp->dst where it goes. */
static int _sp_topo_guard_out(sr_event_param_t *evp)
{
	str *out = (str *)evp->data;
	sp_topo_hit_t hit, again;
	ip_addr_t dst;
	char *rpl = NULL;
	int n = -1;

	/* _sp_topo_on NULL: only after mod_destroy, when nothing is sent */
	if(out == NULL || out->s == NULL || out->len <= 0 || evp->dst == NULL
			|| _sp_topo_on == NULL || !*_sp_topo_on)
		return 0;
	su2ip_addr(&dst, &evp->dst->to);
	if(sp_trust_ip(&dst))
		return 0;
	if(sp_topo_scan(out->s, (size_t)out->len, _sp_topo_must_hide, NULL, &hit)
			!= SP_TOPO_LEAK)
		return 0;
	update_stat(_sp_topo_st_blocked, 1);
	if(hit.reply && !hit.invite) {
		rpl = pkg_malloc(2 * (size_t)out->len + SP_TOPO_REPLY_EXTRA + 1);
		if(rpl == NULL)
			PKG_MEM_ERROR;
		else
			n = sp_topo_error_reply(out->s, (size_t)out->len, rpl,
					2 * (size_t)out->len + SP_TOPO_REPLY_EXTRA);
		/* its own Vias may name the trust domain too */
		if(n > 0
				&& sp_topo_scan(
						   rpl, (size_t)n, _sp_topo_must_hide, NULL, &again)
						   != SP_TOPO_CLEAN)
			n = -1;
	}
	LM_ERR("topology hiding failed (topos kept no state?): %s names %.*s of"
		   " the trust domain in a %s to %s:%s; %s\n",
			sp_topo_hdr_name(hit.hdr),
			(int)(hit.addr_len > SP_TOPO_LOG_ADDR ? SP_TOPO_LOG_ADDR
												  : hit.addr_len),
			hit.addr, hit.reply ? "reply" : "request",
			get_proto_name(evp->dst->proto),
			su2a(&evp->dst->to, sizeof(evp->dst->to)),
			n > 0 ? "500 sent instead" : "not sent");
	pkg_free(out->s);
	if(n > 0) {
		rpl[n] = '\0';
		out->s = rpl;
		out->len = n;
	} else {
		if(rpl)
			pkg_free(rpl);
		out->s = NULL;
		out->len = 0;
	}
	return 0;
}

/* 1 when module `a` is loaded after module `b` (the list is newest
 * first). */
static int _sp_topo_loaded_after(const char *a, const char *b)
{
	sr_module_t *m;

	for(m = get_loaded_modules(); m; m = m->next) {
		if(strcmp(m->exports.name, a) == 0)
			return 1;
		if(strcmp(m->exports.name, b) == 0)
			return 0;
	}
	return 0;
}

int sp_topo_guard_init(void)
{
	if(sp_topo_guard != 0 && sp_topo_guard != 1) {
		LM_ERR("modparam topology_guard must be 0 or 1, not %d\n",
				sp_topo_guard);
		return -1;
	}
	if(sp_topo_guard == 0) {
		LM_INFO("topology guard off (modparam topology_guard)\n");
		return 0;
	}
	if(!module_loaded("topos")) {
		LM_INFO("topology guard inactive: topos is not loaded, this proxy"
				" does not hide the topology\n");
		return 0;
	}
	if(!_sp_topo_loaded_after("topos", "sip_privacy")) {
		LM_ERR("modparam topology_guard: load sip_privacy.so before topos.so"
			   " (the guard must see what topos sends), or set"
			   " topology_guard to 0\n");
		return -1;
	}
	/* a callback registered before this one runs after it, and would get
	 * the NULL buffer of a message the guard stopped */
	if(sr_event_enabled(SREV_NET_DATA_OUT)) {
		LM_ERR("modparam topology_guard: a module loaded before sip_privacy"
			   " handles outgoing messages; load sip_privacy.so before it,"
			   " or set topology_guard to 0\n");
		return -1;
	}
	_sp_topo_on = shm_malloc(sizeof(*_sp_topo_on));
	if(_sp_topo_on == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	*_sp_topo_on = 1;
	if(sr_event_register_cb(SREV_NET_DATA_OUT, _sp_topo_guard_out) < 0) {
		LM_ERR("cannot register the topology guard\n");
		return -1;
	}
	LM_INFO("topology guard on: nothing leaves toward an untrusted hop with"
			" the trust domain in its Via, Route, Record-Route or Contact\n");
	return 0;
}

void sp_topo_guard_destroy(void)
{
	if(_sp_topo_on != NULL) {
		shm_free(_sp_topo_on);
		_sp_topo_on = NULL;
	}
}

void sp_topo_guard_rpc(rpc_t *rpc, void *ctx)
{
	int on;

	if(_sp_topo_on == NULL) {
		rpc->fault(ctx, 500,
				"topology guard inactive (topos not loaded, or modparam"
				" topology_guard 0)");
		return;
	}
	if(rpc->scan(ctx, "*d", &on) == 1) {
		if(on != 0 && on != 1) {
			rpc->fault(ctx, 400, "0 (off) or 1 (on)");
			return;
		}
		if(*_sp_topo_on != on)
			LM_WARN("topology guard switched %s by RPC\n", on ? "on" : "off");
		*_sp_topo_on = on;
	}
	rpc->rpl_printf(ctx, "%d", *_sp_topo_on);
}
