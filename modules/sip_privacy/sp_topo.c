/*
 * sip_privacy: the topology guard's scan (see sp_topo.h).
 */
#include <string.h>

#include "sp_topo.h"
#include "sp_net.h"
#include "sp_text.h"

#define SP_TOPO_STATUS "SIP/2.0 500 Server Internal Error\r\n"
#define SP_TOPO_TAIL "Content-Length: 0\r\n\r\n"

/* The header whose name is [s, s + len): what the guard reads of it. */
typedef enum _sp_topo_kind
{
	_SP_TOPO_OTHER = 0,
	_SP_TOPO_WATCHED, /* hdr says which */
	_SP_TOPO_CSEQ,
	_SP_TOPO_KEPT /* From, To, Call-ID: kept in the error reply */
} _sp_topo_kind_t;

static _sp_topo_kind_t _sp_topo_name(
		const char *s, size_t len, sp_topo_hdr_t *hdr)
{
	*hdr = SP_TOPO_HDR_NONE;
	if(sp_text_ieq(s, len, "via", 3) || sp_text_ieq(s, len, "v", 1))
		*hdr = SP_TOPO_HDR_VIA;
	else if(sp_text_ieq(s, len, "route", 5))
		*hdr = SP_TOPO_HDR_ROUTE;
	else if(sp_text_ieq(s, len, "record-route", 12))
		*hdr = SP_TOPO_HDR_RECORD_ROUTE;
	else if(sp_text_ieq(s, len, "contact", 7) || sp_text_ieq(s, len, "m", 1))
		*hdr = SP_TOPO_HDR_CONTACT;
	if(*hdr != SP_TOPO_HDR_NONE)
		return _SP_TOPO_WATCHED;
	if(sp_text_ieq(s, len, "cseq", 4))
		return _SP_TOPO_CSEQ;
	if(sp_text_ieq(s, len, "from", 4) || sp_text_ieq(s, len, "f", 1)
			|| sp_text_ieq(s, len, "to", 2) || sp_text_ieq(s, len, "t", 1)
			|| sp_text_ieq(s, len, "call-id", 7) || sp_text_ieq(s, len, "i", 1))
		return _SP_TOPO_KEPT;
	return _SP_TOPO_OTHER;
}

/* The line at p: its end without CR LF; *next is after its LF (or end). */
static const char *_sp_topo_eol(
		const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;

	*next = nl ? nl + 1 : end;
	if(e > p && e[-1] == '\r')
		e--;
	return e;
}

/* The name of the header line [p, e): *kind, and the value's start; NULL
 * for a line without a colon. */
static const char *_sp_topo_header(
		const char *p, const char *e, _sp_topo_kind_t *kind, sp_topo_hdr_t *hdr)
{
	const char *colon = memchr(p, ':', (size_t)(e - p));
	const char *n = colon;

	*kind = _SP_TOPO_OTHER;
	*hdr = SP_TOPO_HDR_NONE;
	if(!colon)
		return NULL;
	while(n > p && (n[-1] == ' ' || n[-1] == '\t'))
		n--;
	*kind = _sp_topo_name(p, (size_t)(n - p), hdr);
	return colon + 1;
}

static int _sp_topo_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
		   || (c >= 'A' && c <= 'F');
}

/* A character that may continue a host name: an address next to one is
 * part of a name, not an address. */
static int _sp_topo_is_name(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
		   || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.';
}

/* IPv4 as a SIP parser may read it: four decimal parts of 1 to 3 digits
 * (leading zeros allowed), each at most 255. */
static int _sp_topo_ipv4(const char *s, size_t len, unsigned char *a)
{
	size_t i = 0;
	int part, digits, k;

	for(k = 0; k < 4; k++) {
		part = 0;
		digits = 0;
		while(i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			part = part * 10 + (s[i] - '0');
			i++;
			digits++;
		}
		if(digits == 0 || part > 255)
			return 0;
		a[k] = (unsigned char)part;
		if(k < 3) {
			if(i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

typedef struct _sp_topo_scan_ctx
{
	sp_topo_addr_f must_hide;
	void *arg;
	sp_topo_hit_t *hit;
} _sp_topo_scan_ctx_t;

/* One candidate [s, s + len): 1 when it is an address that must not
 * leave (the hit then says where). */
static int _sp_topo_try(
		_sp_topo_scan_ctx_t *c, const char *s, size_t len, sp_topo_hdr_t hdr)
{
	unsigned char a[4];
	sp_net_t n;
	int found = 0;

	if(len >= 7 && len <= 15 && _sp_topo_ipv4(s, len, a))
		found = c->must_hide(4, a, c->arg);
	else if(len >= 2 && memchr(s, ':', len)
			&& sp_net_parse(s, len, &n) == SP_NET_OK && n.prefix == 128)
		found = c->must_hide(n.family, n.addr, c->arg);
	if(!found)
		return 0;
	c->hit->hdr = hdr;
	c->hit->addr = s;
	c->hit->addr_len = len;
	return 1;
}

/* A run [s, e) of hex digits, dots and colons inside the value [v, ve). */
static int _sp_topo_run(_sp_topo_scan_ctx_t *c, const char *v, const char *ve,
		const char *s, const char *e, sp_topo_hdr_t hdr)
{
	const char *colon, *dot;

	/* "sip:192.0.2.1": the scheme's colon is not the address's */
	while(s < e && *s == ':' && !(s + 1 < e && s[1] == ':'))
		s++;
	if(e - s < 2 || (s > v && _sp_topo_is_name(s[-1]))
			|| (e < ve && _sp_topo_is_name(*e)))
		return 0;
	/* a trailing dot, as in a fully qualified name */
	if(e[-1] == '.')
		e--;
	colon = memchr(s, ':', (size_t)(e - s));
	dot = memchr(s, '.', (size_t)(e - s));
	/* IPv4 with a port ("192.0.2.1:5060") */
	if(dot && colon && dot < colon)
		return _sp_topo_try(c, s, (size_t)(colon - s), hdr);
	return _sp_topo_try(c, s, (size_t)(e - s), hdr);
}

/* Every address in the value [v, ve) of a watched header. */
static int _sp_topo_value(_sp_topo_scan_ctx_t *c, const char *v, const char *ve,
		sp_topo_hdr_t hdr)
{
	const char *p = v, *s, *close;

	while(p < ve) {
		if(*p == '[') {
			close = memchr(p + 1, ']', (size_t)(ve - p - 1));
			if(close) {
				if(_sp_topo_try(c, p + 1, (size_t)(close - p - 1), hdr))
					return 1;
				p = close + 1;
				continue;
			}
		}
		if(!_sp_topo_is_hex(*p) && *p != '.' && *p != ':') {
			p++;
			continue;
		}
		s = p;
		while(p < ve && (_sp_topo_is_hex(*p) || *p == '.' || *p == ':'))
			p++;
		if(_sp_topo_run(c, v, ve, s, p, hdr))
			return 1;
	}
	return 0;
}

/* The method of a CSeq value [v, ve) is `m`. */
static int _sp_topo_cseq_is(const char *v, const char *ve, const char *m)
{
	const char *t;

	while(v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while(v < ve && *v >= '0' && *v <= '9')
		v++;
	while(v < ve && (*v == ' ' || *v == '\t'))
		v++;
	t = v;
	while(t < ve && sp_text_is_token((unsigned char)*t))
		t++;
	return sp_text_ieq(v, (size_t)(t - v), m, strlen(m));
}

int sp_topo_scan(const char *buf, size_t len, sp_topo_addr_f must_hide,
		void *arg, sp_topo_hit_t *hit)
{
	_sp_topo_scan_ctx_t c;
	const char *p, *e, *next, *end, *v;
	_sp_topo_kind_t kind = _SP_TOPO_OTHER;
	sp_topo_hdr_t hdr = SP_TOPO_HDR_NONE;
	int rc = SP_TOPO_CLEAN, exempt = 0;

	if(hit)
		memset(hit, 0, sizeof(*hit));
	if(!buf || !must_hide || !hit)
		return SP_TOPO_ERR_ARG;
	c.must_hide = must_hide;
	c.arg = arg;
	c.hit = hit;
	end = buf + len;
	hit->reply = len >= 4 && sp_text_ieq(buf, 4, "SIP/", 4);
	_sp_topo_eol(buf, end, &next); /* the first line */
	for(p = next; p < end; p = next) {
		e = _sp_topo_eol(p, end, &next);
		if(e == p)
			break; /* the blank line: the body follows */
		if(*p == ' ' || *p == '\t') {
			v = p; /* a folded line goes on with its header */
		} else {
			v = _sp_topo_header(p, e, &kind, &hdr);
			if(!v)
				continue;
		}
		if(kind == _SP_TOPO_CSEQ) {
			if(_sp_topo_cseq_is(v, e, "INVITE"))
				hit->invite = 1;
			if(_sp_topo_cseq_is(v, e, "REGISTER")
					|| _sp_topo_cseq_is(v, e, "PUBLISH"))
				exempt = 1;
		}
		/* the first one found is the one reported */
		if(kind == _SP_TOPO_WATCHED && rc == SP_TOPO_CLEAN
				&& _sp_topo_value(&c, v, e, hdr))
			rc = SP_TOPO_LEAK;
	}
	if(exempt) {
		hit->hdr = SP_TOPO_HDR_NONE;
		hit->addr = NULL;
		hit->addr_len = 0;
		return SP_TOPO_EXEMPT;
	}
	return rc;
}

const char *sp_topo_hdr_name(sp_topo_hdr_t h)
{
	switch(h) {
		case SP_TOPO_HDR_VIA:
			return "Via";
		case SP_TOPO_HDR_ROUTE:
			return "Route";
		case SP_TOPO_HDR_RECORD_ROUTE:
			return "Record-Route";
		case SP_TOPO_HDR_CONTACT:
			return "Contact";
		case SP_TOPO_HDR_NONE:
			break;
	}
	return "none";
}

/* Appends [s, s + n) to out (*pos, size); 0, or -1 when it does not fit. */
static int _sp_topo_put(
		char *out, size_t size, size_t *pos, const char *s, size_t n)
{
	if(n > size - *pos)
		return -1;
	memcpy(out + *pos, s, n);
	*pos += n;
	return 0;
}

int sp_topo_error_reply(const char *buf, size_t len, char *out, size_t size)
{
	const char *p, *e, *next, *end;
	_sp_topo_kind_t kind = _SP_TOPO_OTHER;
	sp_topo_hdr_t hdr = SP_TOPO_HDR_NONE;
	size_t pos = 0;
	int keep = 0;

	if(!buf || !out || len < 4 || !sp_text_ieq(buf, 4, "SIP/", 4))
		return -1;
	if(_sp_topo_put(out, size, &pos, SP_TOPO_STATUS, strlen(SP_TOPO_STATUS))
			< 0)
		return -1;
	end = buf + len;
	_sp_topo_eol(buf, end, &next);
	for(p = next; p < end; p = next) {
		e = _sp_topo_eol(p, end, &next);
		if(e == p)
			break;
		if(*p != ' ' && *p != '\t') {
			_sp_topo_header(p, e, &kind, &hdr);
			keep = hdr == SP_TOPO_HDR_VIA || kind == _SP_TOPO_CSEQ
				   || kind == _SP_TOPO_KEPT;
		}
		if(keep
				&& (_sp_topo_put(out, size, &pos, p, (size_t)(e - p)) < 0
						|| _sp_topo_put(out, size, &pos, "\r\n", 2) < 0))
			return -1;
	}
	if(_sp_topo_put(out, size, &pos, SP_TOPO_TAIL, strlen(SP_TOPO_TAIL)) < 0)
		return -1;
	return (int)pos;
}
