/*
 * sip_privacy: the trust domain (see sp_trust.h). The written forms and
 * their matching are in sp_net.c and sp_peer.c (pure, unit-tested); this
 * file reads them from the modparams, finds the listening sockets, and
 * reads the verified peer certificate of a TLS connection the way the tls
 * module's own selects do (tls_select.c: the connection of the message,
 * its SSL, SSL_get_verify_result()).
 */
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/dprint.h"
#include "core/dset.h"
#include "core/ip_addr.h"
#include "core/resolve.h"
#include "core/socket_info.h"
#include "core/tcp_conn.h"
#include "core/tls_hooks_init.h"
#include "core/parser/parse_uri.h"
#include "modules/tls/tls_server.h"

#include "sp_trust.h"
#include "sp_ctx.h"
#include "sp_net.h"
#include "sp_peer.h"

#define SP_MAX_TRUSTED 64
#define SP_MAX_TRUSTED_TLS 32
#define SP_MAX_TRUSTED_SOCKETS 16
/* names of one peer certificate looked at: SAN entries, then subject CNs */
#define SP_MAX_CERT_NAMES 64

static sp_net_t _sp_nets[SP_MAX_TRUSTED];
static int _sp_nnets = 0;
static sp_peer_id_t _sp_peers[SP_MAX_TRUSTED_TLS];
static int _sp_npeers = 0;
static sp_sock_t _sp_socks[SP_MAX_TRUSTED_SOCKETS];
static struct socket_info *_sp_sock_si[SP_MAX_TRUSTED_SOCKETS];
static int _sp_nsocks = 0;

/* ---- modparams ------------------------------------------------------- */

/* The modparam's value, at most `max` bytes of it for the log. */
#define SP_LOGV(s, len, max) (int)((len) > (max) ? (max) : (len)), (s)

/* Parsed when the configuration is read, so that a bad value stops
 * start-up and `kamailio -c` as well. */
int sp_trust_param_net(modparam_t type, void *val)
{
	const char *s = val ? (const char *)val : "";
	size_t len = strlen(s);
	int rc;

	if(_sp_nnets >= SP_MAX_TRUSTED) {
		LM_ERR("modparam trusted: more than %d networks; use subnets\n",
				SP_MAX_TRUSTED);
		return -1;
	}
	rc = sp_net_parse(s, len, &_sp_nets[_sp_nnets]);
	if(rc != SP_NET_OK) {
		LM_ERR("modparam trusted: '%.*s' is not an IPv4/IPv6 address or"
			   " address/prefix: %s\n",
				SP_LOGV(s, len, SP_NET_MAX_LEN), sp_net_strerror(rc));
		return -1;
	}
	_sp_nnets++;
	return 0;
}

int sp_trust_param_tls(modparam_t type, void *val)
{
	const char *s = val ? (const char *)val : "";
	size_t len = strlen(s);
	int rc;

	if(_sp_npeers >= SP_MAX_TRUSTED_TLS) {
		LM_ERR("modparam trusted_tls: more than %d peer identities\n",
				SP_MAX_TRUSTED_TLS);
		return -1;
	}
	rc = sp_peer_parse(s, len, &_sp_peers[_sp_npeers]);
	if(rc != SP_PEER_OK) {
		LM_ERR("modparam trusted_tls: '%.*s': %s\n",
				SP_LOGV(s, len, SP_PEER_MAX_LEN), sp_peer_strerror(rc));
		return -1;
	}
	_sp_npeers++;
	return 0;
}

int sp_trust_param_socket(modparam_t type, void *val)
{
	const char *s = val ? (const char *)val : "";
	size_t len = strlen(s);
	int rc;

	if(_sp_nsocks >= SP_MAX_TRUSTED_SOCKETS) {
		LM_ERR("modparam trusted_socket: more than %d sockets\n",
				SP_MAX_TRUSTED_SOCKETS);
		return -1;
	}
	rc = sp_sock_parse(s, len, &_sp_socks[_sp_nsocks]);
	if(rc != SP_NET_OK) {
		LM_ERR("modparam trusted_socket: '%.*s' is not proto:address:port"
			   " (e.g. udp:192.0.2.10:5062, tls:[2001:db8::1]:5061): %s\n",
				SP_LOGV(s, len, SP_NET_MAX_LEN), sp_net_strerror(rc));
		return -1;
	}
	_sp_nsocks++;
	return 0;
}

/* ---- start-up -------------------------------------------------------- */

static int _sp_trust_proto(sp_sock_proto_t p)
{
	switch(p) {
		case SP_SOCK_UDP:
			return PROTO_UDP;
		case SP_SOCK_TCP:
			return PROTO_TCP;
		case SP_SOCK_TLS:
			return PROTO_TLS;
		case SP_SOCK_SCTP:
			return PROTO_SCTP;
	}
	return PROTO_NONE;
}

int sp_trust_init(void)
{
	char buf[SP_PEER_STR_SIZE];
	struct ip_addr ip;
	int i;

	for(i = 0; i < _sp_nsocks; i++) {
		memset(&ip, 0, sizeof(ip));
		ip.af = _sp_socks[i].addr.family == 4 ? AF_INET : AF_INET6;
		ip.len = _sp_socks[i].addr.family == 4 ? 4 : 16;
		memcpy(ip.u.addr, _sp_socks[i].addr.addr, ip.len);
		_sp_sock_si[i] = find_si(&ip, (unsigned short)_sp_socks[i].port,
				_sp_trust_proto(_sp_socks[i].proto));
		if(sp_sock_format(&_sp_socks[i], buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		if(_sp_sock_si[i] == NULL) {
			LM_ERR("modparam trusted_socket: Kamailio does not listen on"
				   " %s (add a listen= for it, or remove the modparam)\n",
					buf);
			return -1;
		}
		LM_INFO("trust domain: requests received on %s\n", buf);
	}
	for(i = 0; i < _sp_nnets; i++) {
		if(sp_net_format(&_sp_nets[i], buf, sizeof(buf)) > 0)
			LM_INFO("trust domain: %s\n", buf);
	}
	for(i = 0; i < _sp_npeers; i++) {
		if(sp_peer_format(&_sp_peers[i], buf, sizeof(buf)) > 0)
			LM_INFO("trust domain: TLS peers with a verified certificate for"
					" %s\n",
					buf);
	}
	if(_sp_npeers > 0 && !tls_loaded())
		LM_WARN("modparam trusted_tls without the tls module: no TLS peer"
				" will ever be trusted\n");
	if(_sp_nnets + _sp_npeers + _sp_nsocks == 0)
		LM_INFO("no trusted network, peer or socket: every node is outside"
				" the trust domain (unless the script says otherwise)\n");
	return 0;
}

/* ---- previous hop ---------------------------------------------------- */

/* 1 when ip is inside a trusted network. */
static int _sp_trust_ip(struct ip_addr *ip)
{
	if(ip->af == AF_INET && ip->len == 4)
		return sp_net_match_any(_sp_nets, _sp_nnets, 4, ip->u.addr);
	if(ip->af == AF_INET6 && ip->len == 16)
		return sp_net_match_any(_sp_nets, _sp_nnets, 6, ip->u.addr);
	return 0;
}

static int _sp_trust_socket(sip_msg_t *msg)
{
	int i;

	for(i = 0; i < _sp_nsocks; i++)
		if(msg->rcv.bind_address == _sp_sock_si[i])
			return 1;
	return 0;
}

/* The names of a certificate into names[] (at most max): dNSName, URI and
 * iPAddress of its subjectAltName, then each commonName of its subject;
 * their text is copied into OpenSSL-allocated buffers listed in cns (freed
 * by the caller with OPENSSL_free). *gens gets the GENERAL_NAMES the SAN
 * entries point into (freed with GENERAL_NAMES_free). */
static size_t _sp_trust_cert_names(X509 *cert, sp_peer_name_t *names,
		size_t max, GENERAL_NAMES **gens, unsigned char **cns, size_t *ncn)
{
	X509_NAME *subj;
	size_t n = 0;
	int i, idx, len;

	*gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for(i = 0; *gens && i < sk_GENERAL_NAME_num(*gens) && n < max; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(*gens, i);
		const ASN1_STRING *a = NULL;
		sp_peer_kind_t kind;

		switch(g->type) {
			case GEN_DNS:
				a = g->d.dNSName;
				kind = SP_PEER_DNS;
				break;
			case GEN_URI:
				a = g->d.uniformResourceIdentifier;
				kind = SP_PEER_URI;
				break;
			case GEN_IPADD:
				a = g->d.iPAddress;
				kind = SP_PEER_IP;
				break;
			default:
				continue;
		}
		if(!a || ASN1_STRING_length(a) <= 0)
			continue;
		names[n].kind = kind;
		names[n].s = ASN1_STRING_get0_data(a);
		names[n].len = (size_t)ASN1_STRING_length(a);
		n++;
	}
	subj = X509_get_subject_name(cert);
	idx = -1;
	while(subj && n < max && *ncn < max
			&& (idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx))
					   >= 0) {
		unsigned char *u = NULL;
		len = ASN1_STRING_to_UTF8(
				&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
		if(len <= 0 || !u) {
			OPENSSL_free(u);
			continue;
		}
		cns[(*ncn)++] = u;
		names[n].kind = SP_PEER_CN;
		names[n].s = u;
		names[n].len = (size_t)len;
		n++;
	}
	return n;
}

/* 1 when msg came over a TLS connection whose peer certificate was verified
 * and names a trusted peer. A certificate not verified (none sent, the tls
 * profile not asking for one, verification failed or not done) never
 * counts. */
static int _sp_trust_tls(sip_msg_t *msg)
{
	sp_peer_name_t names[SP_MAX_CERT_NAMES];
	unsigned char *cns[SP_MAX_CERT_NAMES];
	GENERAL_NAMES *gens = NULL;
	struct tcp_connection *c;
	tls_extra_data_t *extra;
	X509 *cert;
	size_t n, ncn = 0, i;
	long vr;
	int ret = 0;

	if(_sp_npeers == 0 || msg->rcv.proto != PROTO_TLS)
		return 0;
	c = tcpconn_get(msg->rcv.proto_reserved1, 0, 0, 0, 0);
	if(c == NULL) {
		LM_DBG("TLS connection %d of the request is gone: untrusted\n",
				msg->rcv.proto_reserved1);
		return 0;
	}
	extra = (tls_extra_data_t *)c->extra_data;
	if(c->type != PROTO_TLS || extra == NULL || extra->ssl == NULL)
		goto out;
	cert = SSL_get0_peer_certificate(extra->ssl);
	if(cert == NULL) {
		LM_DBG("TLS peer %s:%d sent no certificate: untrusted\n",
				ip_addr2a(&msg->rcv.src_ip), (int)msg->rcv.src_port);
		goto out;
	}
	vr = SSL_get_verify_result(extra->ssl);
	if(vr != X509_V_OK) {
		LM_DBG("TLS peer %s:%d: certificate not verified (%ld): untrusted\n",
				ip_addr2a(&msg->rcv.src_ip), (int)msg->rcv.src_port, vr);
		goto out;
	}
	n = _sp_trust_cert_names(cert, names, SP_MAX_CERT_NAMES, &gens, cns, &ncn);
	ret = sp_peer_match_any(_sp_peers, (size_t)_sp_npeers, names, n);
	LM_DBG("TLS peer %s:%d: verified certificate, %zu name(s), %s\n",
			ip_addr2a(&msg->rcv.src_ip), (int)msg->rcv.src_port, n,
			ret ? "trusted" : "none trusted");
out:
	for(i = 0; i < ncn; i++)
		OPENSSL_free(cns[i]);
	if(gens)
		GENERAL_NAMES_free(gens);
	tcpconn_put(c);
	return ret;
}

int sp_trust_ip(struct ip_addr *ip)
{
	return _sp_trust_ip(ip);
}

int sp_trust_src(sip_msg_t *msg)
{
	sp_msg_ctx_t *ctx = sp_ctx(msg);

	if(ctx->src_trusted)
		return 1;
	if(_sp_trust_ip(&msg->rcv.src_ip) || _sp_trust_socket(msg)) {
		ctx->src_trusted = 1;
		return 1;
	}
	/* a certificate is looked at once per message */
	if(ctx->src_tls_checked)
		return 0;
	ctx->src_tls_checked = 1;
	ctx->src_trusted = _sp_trust_tls(msg);
	return ctx->src_trusted;
}

void sp_trust_set_src(sip_msg_t *msg)
{
	sp_ctx(msg)->src_trusted = 1;
	LM_DBG("previous hop %s:%d trusted by the script for this message\n",
			ip_addr2a(&msg->rcv.src_ip), (int)msg->rcv.src_port);
}

/* ---- next hop -------------------------------------------------------- */

/* The host of $du when set, else of the R-URI; trusted only when it is an
 * IP literal inside the trust domain (a name would have to be resolved
 * first, and DNS is not a trust anchor). */
int sp_trust_dst(sip_msg_t *msg)
{
	struct sip_uri du;
	ip_addr_t ip;
	str host;

	if(msg->first_line.type != SIP_REQUEST) {
		LM_ERR("sp_trusted_dst() is for requests\n");
		return 0;
	}
	if(msg->dst_uri.s && msg->dst_uri.len > 0) {
		if(parse_uri(msg->dst_uri.s, msg->dst_uri.len, &du) < 0) {
			LM_ERR("destination URI '%.*s' unparsable: next hop untrusted\n",
					msg->dst_uri.len, msg->dst_uri.s);
			return 0;
		}
		host = du.host;
	} else {
		if(parse_sip_msg_uri(msg) < 0) {
			LM_ERR("Request-URI unparsable: next hop untrusted\n");
			return 0;
		}
		host = msg->parsed_uri.host;
	}
	if(host.len <= 0 || str2ipxbuf(&host, &ip) < 0) {
		LM_DBG("next hop '%.*s' is not an IP literal: untrusted\n", host.len,
				host.s ? host.s : "");
		return 0;
	}
	return _sp_trust_ip(&ip);
}

/* 1 when the host of a URI is an IP literal inside the trust domain. */
static int _sp_trust_uri(char *s, int len)
{
	struct sip_uri u;
	ip_addr_t ip;

	if(len <= 0 || parse_uri(s, len, &u) < 0 || u.host.len <= 0)
		return 0;
	return str2ipxbuf(&u.host, &ip) >= 0 && _sp_trust_ip(&ip);
}

/* One untrusted branch makes the request go to an untrusted hop: a user
 * may have registered a contact on a trusted address next to her phone,
 * and the first branch must not decide for the others. */
int sp_trust_dst_all(sip_msg_t *msg)
{
	branch_t *b;
	unsigned int i;

	if(!sp_trust_dst(msg))
		return 0;
	for(i = 0; i < nr_branches; i++) {
		b = get_sip_branch(i);
		if(b == NULL)
			return 0;
		if(!(b->dst_uri_len > 0 ? _sp_trust_uri(b->dst_uri, b->dst_uri_len)
								: _sp_trust_uri(b->uri, b->len)))
			return 0;
	}
	return 1;
}

/* ---- RPC ------------------------------------------------------------- */

static int _sp_trust_rpc_add(
		rpc_t *rpc, void *ctx, const char *kind, const char *v, int len)
{
	if(len < 0) {
		rpc->fault(ctx, 500, "cannot format an entry of the trust domain");
		return -1;
	}
	return rpc->rpl_printf(ctx, "%s %s", kind, v) < 0 ? -1 : 0;
}

void sp_trust_rpc(rpc_t *rpc, void *ctx)
{
	char buf[SP_PEER_STR_SIZE];
	int i;

	for(i = 0; i < _sp_nnets; i++)
		if(_sp_trust_rpc_add(rpc, ctx, "net", buf,
				   sp_net_format(&_sp_nets[i], buf, sizeof(buf)))
				< 0)
			return;
	for(i = 0; i < _sp_nsocks; i++)
		if(_sp_trust_rpc_add(rpc, ctx, "socket", buf,
				   sp_sock_format(&_sp_socks[i], buf, sizeof(buf)))
				< 0)
			return;
	for(i = 0; i < _sp_npeers; i++)
		if(_sp_trust_rpc_add(rpc, ctx, "tls", buf,
				   sp_peer_format(&_sp_peers[i], buf, sizeof(buf)))
				< 0)
			return;
}
