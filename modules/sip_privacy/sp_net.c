/*
 * sip_privacy: trusted networks by address. See sp_net.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "sp_net.h"

const char *sp_net_strerror(int rc)
{
	switch(rc) {
		case SP_NET_OK:
			return "ok";
		case SP_NET_ERR_ARG:
			return "invalid argument";
		case SP_NET_ERR_TOO_LONG:
			return "empty or too long";
		case SP_NET_ERR_ADDR:
			return "not an IPv4 or IPv6 address";
		case SP_NET_ERR_PREFIX:
			return "prefix length out of range (0..32 for IPv4,"
				   " 0..128 for IPv6, decimal)";
		case SP_NET_ERR_HOST_BITS:
			return "address has bits set below the prefix length";
		case SP_NET_ERR_PROTO:
			return "protocol is not udp, tcp, tls or sctp";
		case SP_NET_ERR_PORT:
			return "port missing or not 1..65535 (decimal)";
	}
	return "unknown error";
}

/* A decimal prefix length, no sign, no leading zero; -1 when invalid. */
static int _sp_net_prefix(const char *s, size_t len, unsigned int max)
{
	unsigned int v = 0;
	size_t i;

	if(len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for(i = 0; i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v > max ? -1 : (int)v;
}

/* The bits of addr under the prefix: 1 when one below it is set. */
static int _sp_net_host_bits(
		const unsigned char *addr, size_t bytes, unsigned int prefix)
{
	size_t i;

	for(i = 0; i < bytes; i++) {
		unsigned int lo = (unsigned int)i * 8;
		unsigned char keep;

		if(lo + 8 <= prefix)
			continue;
		keep = lo >= prefix ? 0 : (unsigned char)(0xff << (8 - (prefix - lo)));
		if(addr[i] & (unsigned char)~keep)
			return 1;
	}
	return 0;
}

int sp_net_parse(const char *s, size_t len, sp_net_t *n)
{
	char a[SP_NET_MAX_LEN + 1];
	const char *slash;
	size_t alen;
	int pfx;

	if(n)
		memset(n, 0, sizeof(*n));
	if(!s || !n)
		return SP_NET_ERR_ARG;
	if(len == 0 || len > SP_NET_MAX_LEN)
		return SP_NET_ERR_TOO_LONG;
	slash = memchr(s, '/', len);
	alen = slash ? (size_t)(slash - s) : len;
	if(alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		memcpy(a, s + 1, alen - 2);
		a[alen - 2] = '\0';
		if(inet_pton(AF_INET6, a, n->addr) != 1)
			return SP_NET_ERR_ADDR;
		n->family = 6;
	} else {
		memcpy(a, s, alen);
		a[alen] = '\0';
		if(inet_pton(AF_INET, a, n->addr) == 1)
			n->family = 4;
		else if(inet_pton(AF_INET6, a, n->addr) == 1)
			n->family = 6;
		else
			return SP_NET_ERR_ADDR;
	}
	n->prefix = n->family == 4 ? 32 : 128;
	if(slash) {
		pfx = _sp_net_prefix(slash + 1, len - alen - 1, n->prefix);
		if(pfx < 0) {
			n->family = 0;
			return SP_NET_ERR_PREFIX;
		}
		n->prefix = (unsigned int)pfx;
	}
	if(_sp_net_host_bits(n->addr, n->family == 4 ? 4 : 16, n->prefix)) {
		n->family = 0;
		return SP_NET_ERR_HOST_BITS;
	}
	return SP_NET_OK;
}

int sp_net_match(const sp_net_t *n, int family, const unsigned char *addr)
{
	static const unsigned char v4mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned int full, rest;

	if(!n || !addr || (family != 4 && family != 6))
		return 0;
	if(family == 6 && n->family == 4
			&& memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		family = 4;
		addr += sizeof(v4mapped);
	}
	if(family != n->family)
		return 0;
	full = n->prefix / 8;
	rest = n->prefix % 8;
	if(memcmp(addr, n->addr, full) != 0)
		return 0;
	if(rest
			&& ((addr[full] ^ n->addr[full])
					& (unsigned char)(0xff << (8 - rest))))
		return 0;
	return 1;
}

int sp_net_match_any(const sp_net_t *nets, size_t count, int family,
		const unsigned char *addr)
{
	size_t i;

	if(!nets)
		return 0;
	for(i = 0; i < count; i++)
		if(sp_net_match(&nets[i], family, addr))
			return 1;
	return 0;
}

int sp_net_format(const sp_net_t *n, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	int r;

	if(!n || !buf || (n->family != 4 && n->family != 6))
		return -1;
	if(!inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->addr, a, sizeof(a)))
		return -1;
	r = snprintf(buf, size, "%s/%u", a, n->prefix);
	if(r < 0 || (size_t)r >= size)
		return -1;
	return r;
}

/* ---- listening sockets ---------------------------------------------- */

static const char *const _sp_sock_protos[] = {
		NULL, "udp", "tcp", "tls", "sctp"};

const char *sp_sock_proto_name(sp_sock_proto_t proto)
{
	if(proto < SP_SOCK_UDP || proto > SP_SOCK_SCTP)
		return "?";
	return _sp_sock_protos[proto];
}

/* A decimal port 1..65535, no sign, no leading zero; -1 when invalid. */
static int _sp_sock_port(const char *s, size_t len)
{
	unsigned int v = 0;
	size_t i;

	if(len == 0 || len > 5 || s[0] == '0')
		return -1;
	for(i = 0; i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v > 65535 ? -1 : (int)v;
}

int sp_sock_parse(const char *s, size_t len, sp_sock_t *k)
{
	const char *colon, *end, *a, *port;
	size_t plen, alen;
	int p, proto, rc;

	if(k)
		memset(k, 0, sizeof(*k));
	if(!s || !k)
		return SP_NET_ERR_ARG;
	if(len == 0 || len > SP_NET_MAX_LEN)
		return SP_NET_ERR_TOO_LONG;
	end = s + len;
	colon = memchr(s, ':', len);
	if(!colon)
		return SP_NET_ERR_PROTO;
	plen = (size_t)(colon - s);
	for(p = SP_SOCK_UDP; p <= SP_SOCK_SCTP; p++) {
		if(strlen(_sp_sock_protos[p]) == plen
				&& strncasecmp(s, _sp_sock_protos[p], plen) == 0)
			break;
	}
	if(p > SP_SOCK_SCTP)
		return SP_NET_ERR_PROTO;
	proto = p;
	a = colon + 1;
	if(a < end && *a == '[') {
		/* [IPv6]:port */
		const char *rb = memchr(a, ']', (size_t)(end - a));
		if(!rb)
			return SP_NET_ERR_ADDR;
		alen = (size_t)(rb - a) + 1;
		port = rb + 1;
	} else {
		/* IPv4:port: the address has no colon */
		const char *c = memchr(a, ':', (size_t)(end - a));
		if(!c)
			return SP_NET_ERR_PORT;
		alen = (size_t)(c - a);
		port = c;
	}
	if(alen == 0 || memchr(a, '/', alen))
		return SP_NET_ERR_ADDR;
	rc = sp_net_parse(a, alen, &k->addr);
	if(rc != SP_NET_OK)
		return rc == SP_NET_ERR_TOO_LONG ? SP_NET_ERR_ADDR : rc;
	if(k->addr.family == 6 && a[0] != '[') {
		memset(k, 0, sizeof(*k));
		return SP_NET_ERR_ADDR;
	}
	if(port >= end || *port != ':') {
		memset(k, 0, sizeof(*k));
		return SP_NET_ERR_PORT;
	}
	port++;
	p = _sp_sock_port(port, (size_t)(end - port));
	if(p < 0) {
		memset(k, 0, sizeof(*k));
		return SP_NET_ERR_PORT;
	}
	k->port = (unsigned int)p;
	k->proto = (sp_sock_proto_t)proto;
	return SP_NET_OK;
}

int sp_sock_format(const sp_sock_t *k, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	int r;

	if(!k || !buf || k->proto < SP_SOCK_UDP || k->proto > SP_SOCK_SCTP
			|| (k->addr.family != 4 && k->addr.family != 6))
		return -1;
	if(!inet_ntop(k->addr.family == 4 ? AF_INET : AF_INET6, k->addr.addr, a,
			   sizeof(a)))
		return -1;
	r = snprintf(buf, size, k->addr.family == 4 ? "%s:%s:%u" : "%s:[%s]:%u",
			_sp_sock_protos[k->proto], a, k->port);
	if(r < 0 || (size_t)r >= size)
		return -1;
	return r;
}
