/*
 * sip_privacy: the source of a request against a registered contact (see
 * sp_reg.h).
 */
#include <string.h>

#include "sp_reg.h"

const char *sp_reg_match_str(int m)
{
	switch(m) {
		case SP_REG_CONN:
			return "connection";
		case SP_REG_RECEIVED:
			return "received address";
		case SP_REG_URI:
			return "contact address";
	}
	return "none";
}

int sp_reg_tp_stream(sp_tp_t proto)
{
	return proto == SP_TP_TCP || proto == SP_TP_TLS || proto == SP_TP_WS
		   || proto == SP_TP_WSS;
}

void sp_reg_ep_set(sp_reg_ep_t *ep, const char *host, size_t hlen,
		unsigned int port, sp_tp_t proto)
{
	memset(ep, 0, sizeof(*ep));
	if(host == NULL || proto == SP_TP_NONE || port > 65535)
		return;
	/* a bare address only: sp_net_parse() would take a prefix too */
	if(memchr(host, '/', hlen) != NULL
			|| sp_net_parse(host, hlen, &ep->addr) != SP_NET_OK)
		return;
	if(port == 0)
		port = (proto == SP_TP_TLS || proto == SP_TP_WSS) ? 5061 : 5060;
	ep->proto = proto;
	ep->port = port;
	ep->valid = 1;
}

static int _sp_reg_ep_eq(const sp_reg_src_t *src, const sp_reg_ep_t *ep)
{
	return ep->valid && ep->proto == src->proto && ep->port == src->port
		   && sp_net_match(&ep->addr, src->family, src->addr);
}

int sp_reg_match(const sp_reg_src_t *src, const sp_reg_contact_t *c)
{
	if(src == NULL || c == NULL || src->proto == SP_TP_NONE)
		return SP_REG_NONE;
	if(sp_reg_tp_stream(src->proto)) {
		if(src->conn_id > 0 && c->conn_id == src->conn_id)
			return SP_REG_CONN;
		if(c->has_received && _sp_reg_ep_eq(src, &c->received))
			return SP_REG_RECEIVED;
		return SP_REG_NONE;
	}
	if(c->has_received)
		return _sp_reg_ep_eq(src, &c->received) ? SP_REG_RECEIVED : SP_REG_NONE;
	return _sp_reg_ep_eq(src, &c->uri) ? SP_REG_URI : SP_REG_NONE;
}
