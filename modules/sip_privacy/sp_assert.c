/*
 * sip_privacy: identity assertion at the P-CSCF (see sp_assert.h).
 *
 * For a request from the UE side: every P-Preferred-Identity and every
 * P-Asserted-Identity it brought goes (RFC 3325 6, TS 24.229: the PAI ones
 * counted as spoof attempts); then, only when its source is a contact
 * registered (after digest authentication) for the AOR in From, the
 * P-Asserted-Identity that identity.c's sp_id_assert() picks from the
 * user's public identities is inserted, and network-provided identity
 * blocking for the request's method is recorded in the message context.
 */
#include <string.h>
#include <time.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/ip_addr.h"
#include "core/ut.h"
#include "core/data_lump.h"
#include "core/lump_struct.h"
#include "core/mem/pkg.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_uri.h"
#include "modules/usrloc/usrloc.h"

#include "identity.h"
#include "sp_reg.h"
#include "sp_subs.h"
#include "sp_text.h"
#include "sp_ctx.h"
#include "sp_db.h"
#include "sp_mod.h"
#include "sp_assert.h"

#define SP_AS_MAX_PPI_HDRS 8
#define SP_AS_AOR_SIZE (SP_SUBS_MAX_USER_LEN + 1 + SP_SUBS_MAX_DOMAIN_LEN)
#define SP_AS_HDR_NAME "P-Asserted-Identity: "
#define SP_AS_HDR_NAME_LEN (sizeof(SP_AS_HDR_NAME) - 1)

str sp_usrloc_domain = str_init("location");
stat_var *sp_st_pai_asserted;
stat_var *sp_st_ppi_refused;

static usrloc_api_t _sp_ul;
static udomain_t *_sp_udom = NULL;

int sp_assert_init(void)
{
	bind_usrloc_t bind_usrloc;

	bind_usrloc = (bind_usrloc_t)find_export("ul_bind_usrloc", 1, 0);
	if(!bind_usrloc) {
		LM_INFO("usrloc not loaded: sp_assert_identity() asserts nothing\n");
		return 0;
	}
	if(bind_usrloc(&_sp_ul) < 0) {
		LM_ERR("cannot bind the usrloc API\n");
		return -1;
	}
	if(sp_usrloc_domain.len <= 0
			|| _sp_ul.register_udomain(sp_usrloc_domain.s, &_sp_udom) < 0) {
		LM_ERR("modparam usrloc_domain: cannot use usrloc table '%.*s'\n",
				sp_usrloc_domain.len, ZSW(sp_usrloc_domain.s));
		return -1;
	}
	return 0;
}

static sp_tp_t sp_as_tp(int proto)
{
	switch(proto) {
		case PROTO_UDP:
			return SP_TP_UDP;
		case PROTO_TCP:
			return SP_TP_TCP;
		case PROTO_TLS:
			return SP_TP_TLS;
		case PROTO_SCTP:
			return SP_TP_SCTP;
		case PROTO_WS:
			return SP_TP_WS;
		case PROTO_WSS:
			return SP_TP_WSS;
	}
	return SP_TP_NONE;
}

/* An endpoint of a contact from a URI (its Contact or received). */
static void sp_as_ep(str *uri, sp_reg_ep_t *ep)
{
	sip_uri_t u;
	int proto;

	memset(ep, 0, sizeof(*ep));
	if(uri->s == NULL || uri->len <= 0 || parse_uri(uri->s, uri->len, &u) < 0)
		return;
	proto = u.proto != PROTO_NONE
					? u.proto
					: (u.type == SIPS_URI_T ? PROTO_TLS : PROTO_UDP);
	sp_reg_ep_set(ep, u.host.s, (size_t)u.host.len, u.port_no, sp_as_tp(proto));
}

static void sp_as_src(sip_msg_t *msg, sp_reg_src_t *src)
{
	memset(src, 0, sizeof(*src));
	src->proto = sp_as_tp(msg->rcv.proto);
	src->family = msg->rcv.src_ip.af == AF_INET6 ? 6 : 4;
	memcpy(src->addr, msg->rcv.src_ip.u.addr,
			msg->rcv.src_ip.len <= 16 ? msg->rcv.src_ip.len : 16);
	src->port = msg->rcv.src_port;
	src->conn_id = sp_reg_tp_stream(src->proto) ? msg->rcv.proto_reserved1 : 0;
}

/* The usrloc AOR of user (unescaped) and host, as registrar builds it
 * with its default case_sensitive 0: user[@host] in lower case. */
static int sp_as_aor(str *user, str *host, char *buf, str *aor)
{
	int i;

	if(user->len + 1 + host->len > SP_AS_AOR_SIZE)
		return -1;
	memcpy(buf, user->s, user->len);
	aor->s = buf;
	aor->len = user->len;
	if(_sp_ul.use_domain) {
		buf[aor->len++] = '@';
		memcpy(buf + aor->len, host->s, host->len);
		aor->len += host->len;
	}
	for(i = 0; i < aor->len; i++)
		buf[i] = sp_text_lower(buf[i]);
	return 0;
}

/* What matched, for the log: SP_REG_NONE when no valid contact of aor is
 * the request's source. */
static int sp_as_registered(sip_msg_t *msg, str *aor)
{
	sp_reg_src_t src;
	sp_reg_contact_t rc;
	urecord_t *r = NULL;
	ucontact_t *c;
	time_t now = time(NULL);
	int m = SP_REG_NONE;

	sp_as_src(msg, &src);
	_sp_ul.lock_udomain(_sp_udom, aor);
	if(_sp_ul.get_urecord(_sp_udom, aor, &r) == 0) {
		for(c = r->contacts; c && m == SP_REG_NONE; c = c->next) {
			if(!VALID_CONTACT(c, now))
				continue;
			memset(&rc, 0, sizeof(rc));
			rc.conn_id = c->tcpconn_id;
			rc.has_received = c->received.s && c->received.len > 0;
			if(rc.has_received)
				sp_as_ep(&c->received, &rc.received);
			sp_as_ep(&c->c, &rc.uri);
			m = sp_reg_match(&src, &rc);
		}
		_sp_ul.release_urecord(r);
	}
	_sp_ul.unlock_udomain(_sp_udom, aor);
	return m;
}

int sp_assert_withdraw(sip_msg_t *msg)
{
	sp_msg_ctx_t *ctx = sp_ctx(msg);

	if(!ctx->pai_cond)
		return 0;
	ctx->pai_cond->u.cond = COND_FALSE;
	ctx->pai_cond = NULL;
	ctx->asserted = 0;
	return 1;
}

/* Appends "P-Asserted-Identity: value" to the headers, behind a condition
 * that sp_assert_withdraw() can turn off. 0 or -1. */
static int sp_as_insert(sip_msg_t *msg, const char *val, int len)
{
	struct lump *anchor, *cond;
	char *hdr;
	int hlen = SP_AS_HDR_NAME_LEN + len + CRLF_LEN;

	anchor = anchor_lump(msg, msg->unparsed - msg->buf, 0, 0);
	if(!anchor)
		return -1;
	cond = insert_cond_lump_after(anchor, COND_TRUE, 0);
	if(!cond)
		return -1;
	hdr = pkg_malloc(hlen);
	if(!hdr) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(hdr, SP_AS_HDR_NAME, SP_AS_HDR_NAME_LEN);
	memcpy(hdr + SP_AS_HDR_NAME_LEN, val, len);
	memcpy(hdr + SP_AS_HDR_NAME_LEN + len, CRLF, CRLF_LEN);
	if(!insert_new_lump_after(cond, hdr, hlen, HDR_PAI_T)) {
		pkg_free(hdr);
		return -1;
	}
	sp_ctx(msg)->pai_cond = cond;
	return 0;
}

static int sp_as_has_privacy(sip_msg_t *msg)
{
	hdr_field_t *hf;

	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type == HDR_PRIVACY_T)
			return 1;
	}
	return 0;
}

/* The P-Preferred-Identity values the request brought (before they are
 * removed: the lumps leave msg->buf as it is). More headers than the
 * parser takes make the whole set unreadable (*n over the bound). */
static void sp_as_ppi(sip_msg_t *msg, sp_str_t *ppi, size_t *n)
{
	hdr_field_t *hf;

	*n = 0;
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type != HDR_PPI_T)
			continue;
		if(*n < SP_AS_MAX_PPI_HDRS) {
			ppi[*n].s = hf->body.s;
			ppi[*n].len = (size_t)hf->body.len;
		}
		(*n)++;
	}
}

int ki_sp_assert_identity(sip_msg_t *msg)
{
	char ubuf[SP_SUBS_MAX_USER_LEN];
	char abuf[SP_AS_AOR_SIZE];
	char pai[2 * SP_ID_MAX_URI_LEN + 8];
	sp_str_t ppi[SP_AS_MAX_PPI_HDRS];
	sp_id_assertion_t a;
	sp_sub_copy_t *sub = NULL;
	sp_msg_ctx_t *ctx;
	sip_uri_t *fu;
	str user, domain, aor, *method;
	size_t nppi;
	int m, len, rc, ret = SP_AS_ERROR;

	if(msg->first_line.type != SIP_REQUEST) {
		LM_ERR("sp_assert_identity() is for requests\n");
		return SP_AS_ERROR;
	}
	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		LM_ERR("cannot parse the headers\n");
		return SP_AS_ERROR;
	}
	method = &msg->first_line.u.request.method;
	sp_as_ppi(msg, ppi, &nppi);
	/* nothing the UE wrote itself stays, whatever comes next */
	sp_assert_withdraw(msg);
	if(sp_pai_remove_untrusted(msg, "identity asserted by this P-CSCF only") < 0
			|| sp_hdr_remove_all(msg, HDR_PPI_T, NULL,
					   "P-Preferred-Identity is never forwarded")
					   < 0)
		return SP_AS_ERROR;
	ctx = sp_ctx(msg);
	ctx->net_privacy = 0;

	if(!_sp_udom || !sp_db_enabled()) {
		LM_ERR("sp_assert_identity() needs usrloc and modparam db_url:"
			   " nothing asserted\n");
		return SP_AS_ERROR;
	}
	fu = parse_from_uri(msg);
	if(!fu) {
		LM_NOTICE("%.*s from %s:%d: From unreadable, nothing asserted\n",
				method->len, method->s, ip_addr2a(&msg->rcv.src_ip),
				(int)msg->rcv.src_port);
		return SP_AS_ERROR;
	}
	if((fu->type != SIP_URI_T && fu->type != SIPS_URI_T) || fu->user.len <= 0
			|| fu->user.len > SP_SUBS_MAX_USER_LEN) {
		LM_DBG("From is no sip AOR with a user: no registration\n");
		return SP_AS_UNREGISTERED;
	}
	user.s = ubuf;
	user.len = 0;
	if(un_escape(&fu->user, &user) < 0 || user.len <= 0
			|| sp_as_aor(&user, &fu->host, abuf, &aor) < 0) {
		LM_DBG("From user part unreadable: no registration\n");
		return SP_AS_UNREGISTERED;
	}
	domain = fu->host;

	m = sp_as_registered(msg, &aor);
	if(m == SP_REG_NONE) {
		LM_DBG("%.*s from %s:%d (%s): no registered contact of %.*s there,"
			   " nothing asserted\n",
				method->len, method->s, ip_addr2a(&msg->rcv.src_ip),
				(int)msg->rcv.src_port, proto2a(msg->rcv.proto), aor.len,
				aor.s);
		return SP_AS_UNREGISTERED;
	}

	sub = pkg_malloc(sizeof(*sub));
	if(!sub) {
		PKG_MEM_ERROR;
		return SP_AS_ERROR;
	}
	rc = sp_db_lookup(&user, &domain, sub);
	if(rc <= 0 || sub->nids == 0) {
		LM_WARN("%.*s@%.*s is registered but has no public identity in the"
				" identity table: nothing asserted\n",
				user.len, user.s, domain.len, domain.s);
		ret = SP_AS_NO_IDENTITY;
		goto out;
	}
	/* more headers than read: none is honoured, the default is asserted */
	rc = sp_id_assert(1, sub->ids, sub->nids,
			nppi && nppi <= SP_AS_MAX_PPI_HDRS ? ppi : NULL,
			nppi <= SP_AS_MAX_PPI_HDRS ? nppi : 0, &a);
	if(rc == SP_ID_OK && nppi > SP_AS_MAX_PPI_HDRS) {
		a.ppi_present = 1;
		a.ppi_rc = SP_ID_ERR_TOO_MANY;
	}
	if(rc == SP_ID_ERR_NO_IDENTITY) {
		LM_WARN("%.*s@%.*s: the default identity is not valid: nothing"
				" asserted\n",
				user.len, user.s, domain.len, domain.s);
		ret = SP_AS_NO_IDENTITY;
		goto out;
	}
	if(rc != SP_ID_OK) {
		LM_ERR("no assertion: %s\n", sp_id_strerror(rc));
		goto out;
	}
	if(a.ppi_present && (a.ppi_rc != SP_ID_OK || a.ppi_unmatched > 0)) {
		update_stat(sp_st_ppi_refused, 1);
		LM_INFO("%.*s from %.*s@%.*s: P-Preferred-Identity refused (%s)%s\n",
				method->len, method->s, user.len, user.s, domain.len, domain.s,
				a.ppi_rc != SP_ID_OK ? sp_id_strerror(a.ppi_rc)
									 : "not among the user's identities",
				a.why == SP_ID_WHY_DEFAULT ? ", default identity asserted"
										   : "");
	}
	len = sp_id_pai_format(&a, pai, sizeof(pai));
	if(len < 0 || sp_as_insert(msg, pai, len) < 0) {
		LM_ERR("cannot insert P-Asserted-Identity for %.*s@%.*s\n", user.len,
				user.s, domain.len, domain.s);
		goto out;
	}
	ctx->asserted = 1;
	update_stat(sp_st_pai_asserted, 1);
	LM_DBG("%.*s from %.*s@%.*s (registered %s): P-Asserted-Identity %s (%s)"
		   "\n",
			method->len, method->s, user.len, user.s, domain.len, domain.s,
			sp_reg_match_str(m), pai,
			a.why == SP_ID_WHY_PREFERRED ? "preferred" : "default");
	if(sub->blocked && !sp_as_has_privacy(msg)
			&& sp_meth_blocked(sub->blocked, method->s, (size_t)method->len)) {
		ctx->net_privacy = SP_PRIV_ID | SP_PRIV_USER;
		LM_DBG("network-provided identity blocking for %.*s@%.*s on %.*s\n",
				user.len, user.s, domain.len, domain.s, method->len, method->s);
	}
	ret = SP_AS_ASSERTED;
out:
	pkg_free(sub);
	return ret;
}

int w_sp_assert_identity(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_assert_identity(msg);
}
