/*
 * sip_privacy: trusted TLS peers by certificate name. See sp_peer.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "sp_peer.h"
#include "sp_net.h"

static const struct
{
	const char *name;
	size_t len;
	sp_peer_kind_t kind;
} _sp_peer_kinds[] = {{"dns", 3, SP_PEER_DNS}, {"uri", 3, SP_PEER_URI},
		{"ip", 2, SP_PEER_IP}, {"cn", 2, SP_PEER_CN}};

#define SP_PEER_NKINDS (sizeof(_sp_peer_kinds) / sizeof(_sp_peer_kinds[0]))

const char *sp_peer_strerror(int rc)
{
	switch(rc) {
		case SP_PEER_OK:
			return "ok";
		case SP_PEER_ERR_ARG:
			return "invalid argument";
		case SP_PEER_ERR_KIND:
			return "not written as dns:, uri:, ip: or cn: followed by the"
				   " value";
		case SP_PEER_ERR_TOO_LONG:
			return "value empty or too long";
		case SP_PEER_ERR_VALUE:
			return "value invalid for its kind (a host name for dns, a"
				   " scheme:... URI for uri, one address for ip, printable"
				   " text for cn)";
	}
	return "unknown error";
}

static int _sp_peer_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* A host name: dot-separated labels of [A-Za-z0-9-], 1..63 bytes each,
 * no '-' at either end of a label, no empty label (so no trailing dot). */
static int _sp_peer_hostname(const unsigned char *s, size_t len)
{
	size_t i, lab = 0;

	for(i = 0; i <= len; i++) {
		unsigned char c = i < len ? s[i] : '.';
		if(c == '.') {
			if(lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if(lab == 0 && c == '-')
			return 0;
		lab++;
	}
	return 1;
}

/* The length of a URI's scheme ("sip" in "sip:x"), 0 when there is none:
 * ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) then ':' (RFC 3986 3.1). */
static size_t _sp_peer_scheme(const unsigned char *s, size_t len)
{
	size_t i;

	if(len == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for(i = 1; i < len; i++) {
		unsigned char c = s[i];
		if(c == ':')
			return i;
		if(!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9')
				&& c != '+' && c != '-' && c != '.')
			return 0;
	}
	return 0;
}

int sp_peer_parse(const char *s, size_t len, sp_peer_id_t *id)
{
	const unsigned char *v;
	const char *colon;
	size_t vlen, klen, i, k;
	sp_net_t net;

	if(id)
		memset(id, 0, sizeof(*id));
	if(!s || !id)
		return SP_PEER_ERR_ARG;
	colon = memchr(s, ':', len);
	if(!colon)
		return SP_PEER_ERR_KIND;
	klen = (size_t)(colon - s);
	for(k = 0; k < SP_PEER_NKINDS; k++) {
		if(_sp_peer_kinds[k].len == klen
				&& strncasecmp(s, _sp_peer_kinds[k].name, klen) == 0)
			break;
	}
	if(k == SP_PEER_NKINDS)
		return SP_PEER_ERR_KIND;
	v = (const unsigned char *)colon + 1;
	vlen = len - klen - 1;
	if(vlen == 0 || vlen > SP_PEER_MAX_LEN)
		return SP_PEER_ERR_TOO_LONG;
	switch(_sp_peer_kinds[k].kind) {
		case SP_PEER_DNS:
			if(vlen > 253 || !_sp_peer_hostname(v, vlen))
				return SP_PEER_ERR_VALUE;
			break;
		case SP_PEER_URI:
			if(_sp_peer_scheme(v, vlen) == 0
					|| _sp_peer_scheme(v, vlen) + 1 == vlen)
				return SP_PEER_ERR_VALUE;
			for(i = 0; i < vlen; i++)
				if(_sp_peer_ctl(v[i]) || v[i] == ' ' || v[i] >= 0x80)
					return SP_PEER_ERR_VALUE;
			break;
		case SP_PEER_IP:
			if(memchr(v, '/', vlen)
					|| sp_net_parse((const char *)v, vlen, &net) != SP_NET_OK)
				return SP_PEER_ERR_VALUE;
			id->kind = SP_PEER_IP;
			id->len = net.family == 4 ? 4 : 16;
			memcpy(id->val, net.addr, id->len);
			return SP_PEER_OK;
		case SP_PEER_CN:
			for(i = 0; i < vlen; i++)
				if(_sp_peer_ctl(v[i]))
					return SP_PEER_ERR_VALUE;
			if(v[0] == ' ' || v[vlen - 1] == ' ')
				return SP_PEER_ERR_VALUE;
			break;
	}
	id->kind = _sp_peer_kinds[k].kind;
	id->len = vlen;
	memcpy(id->val, v, vlen);
	return SP_PEER_OK;
}

static int _sp_peer_eq_nocase(
		const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for(i = 0; i < len; i++) {
		unsigned char x = a[i], y = b[i];
		if(x >= 'A' && x <= 'Z')
			x |= 0x20;
		if(y >= 'A' && y <= 'Z')
			y |= 0x20;
		if(x != y)
			return 0;
	}
	return 1;
}

int sp_peer_match(const sp_peer_id_t *id, const sp_peer_name_t *name)
{
	size_t i, sch;

	if(!id || !name || !name->s || id->kind != name->kind || id->len == 0
			|| id->len != name->len)
		return 0;
	if(id->kind == SP_PEER_IP)
		return memcmp(id->val, name->s, id->len) == 0;
	for(i = 0; i < name->len; i++)
		if(_sp_peer_ctl(name->s[i]))
			return 0;
	switch(id->kind) {
		case SP_PEER_DNS:
		case SP_PEER_CN:
			return _sp_peer_eq_nocase(id->val, name->s, id->len);
		case SP_PEER_URI:
			sch = _sp_peer_scheme(id->val, id->len);
			return _sp_peer_eq_nocase(id->val, name->s, sch)
				   && memcmp(id->val + sch, name->s + sch, id->len - sch) == 0;
		default:
			return 0;
	}
}

int sp_peer_match_any(const sp_peer_id_t *ids, size_t nids,
		const sp_peer_name_t *names, size_t nnames)
{
	size_t i, j;

	if(!ids || !names)
		return 0;
	for(i = 0; i < nids; i++)
		for(j = 0; j < nnames; j++)
			if(sp_peer_match(&ids[i], &names[j]))
				return 1;
	return 0;
}

int sp_peer_format(const sp_peer_id_t *id, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	const char *kind = NULL;
	size_t k;
	int r;

	if(!id || !buf || id->len == 0 || id->len > SP_PEER_MAX_LEN)
		return -1;
	for(k = 0; k < SP_PEER_NKINDS; k++)
		if(_sp_peer_kinds[k].kind == id->kind)
			kind = _sp_peer_kinds[k].name;
	if(!kind)
		return -1;
	if(id->kind == SP_PEER_IP) {
		if((id->len != 4 && id->len != 16)
				|| !inet_ntop(id->len == 4 ? AF_INET : AF_INET6, id->val, a,
						sizeof(a)))
			return -1;
		r = snprintf(buf, size, "ip:%s", a);
	} else {
		r = snprintf(buf, size, "%s:%.*s", kind, (int)id->len,
				(const char *)id->val);
	}
	if(r < 0 || (size_t)r >= size)
		return -1;
	return r;
}
