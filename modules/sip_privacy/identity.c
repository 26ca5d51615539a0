/*
 * sip_privacy: P-Asserted-Identity / P-Preferred-Identity (RFC 3325) and
 * the P-CSCF's assertion decision (3GPP TS 24.229). See identity.h for the
 * decisions taken where the specifications leave room.
 *
 * Nothing is allocated: parsed values are slices of the caller's headers,
 * asserted identities slices of the caller's identity table.
 */
#include <stddef.h>
#include <string.h>

#include "identity.h"
#include "sp_text.h"

#define _SP_ID_IS_LWS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

const char *sp_id_strerror(int rc)
{
	switch(rc) {
		case SP_ID_OK:
			return "ok";
		case SP_ID_ERR_ARG:
			return "invalid argument";
		case SP_ID_ERR_TOO_LONG:
			return "identity header, URI or display-name too long";
		case SP_ID_ERR_EMPTY:
			return "empty identity header or value";
		case SP_ID_ERR_SYNTAX:
			return "malformed identity header";
		case SP_ID_ERR_UNBRACKETED:
			return "URI with ';' or '?' outside angle brackets";
		case SP_ID_ERR_SCHEME:
			return "identity is not a sip, sips or tel URI";
		case SP_ID_ERR_URI:
			return "malformed identity URI";
		case SP_ID_ERR_PASSWORD:
			return "identity URI with a password";
		case SP_ID_ERR_TOO_MANY:
			return "more than one sip and one tel identity";
		case SP_ID_ERR_NO_IDENTITY:
			return "no valid default identity";
	}
	return "unknown error";
}


static int _sp_id_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9');
}

static int _sp_id_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int _sp_id_is_hex(unsigned char c)
{
	return _sp_id_is_digit(c) || (c >= 'a' && c <= 'f')
		   || (c >= 'A' && c <= 'F');
}

/* RFC 3261 / RFC 3966 unreserved: alphanum / mark. */
static int _sp_id_is_unreserved(unsigned char c)
{
	if(_sp_id_is_alnum(c))
		return 1;
	switch(c) {
		case '-':
		case '_':
		case '.':
		case '!':
		case '~':
		case '*':
		case '\'':
		case '(':
		case ')':
			return 1;
	}
	return 0;
}


/* A character of the user part, `extra` the characters allowed besides
 * unreserved and escapes. Escapes are checked by the caller. */
static int _sp_id_in(unsigned char c, const char *extra)
{
	return c != '\0' && strchr(extra, c) != NULL;
}

/* Checks `len` bytes: unreserved, "%" HEXDIG HEXDIG or one of `extra`. */
static int _sp_id_chars(const char *s, size_t len, const char *extra)
{
	size_t i;

	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(c == '%') {
			if(len - i < 3 || !_sp_id_is_hex((unsigned char)s[i + 1])
					|| !_sp_id_is_hex((unsigned char)s[i + 2]))
				return 0;
			i += 2;
			continue;
		}
		if(!_sp_id_is_unreserved(c) && !_sp_id_in(c, extra))
			return 0;
	}
	return 1;
}

/* host [":" port]: a hostname or IPv4 address, or an IPv6 reference. */
static int _sp_id_hostport(const char *s, size_t len)
{
	size_t i = 0, p, port;

	if(len == 0)
		return 0;
	if(s[0] == '[') {
		for(i = 1; i < len && s[i] != ']'; i++) {
			if(!_sp_id_is_hex((unsigned char)s[i]) && s[i] != ':'
					&& s[i] != '.')
				return 0;
		}
		if(i >= len || i == 1)
			return 0;
		i++; /* ']' */
	} else {
		for(; i < len && s[i] != ':'; i++) {
			if(!_sp_id_is_alnum((unsigned char)s[i]) && s[i] != '-'
					&& s[i] != '.')
				return 0;
		}
		if(i == 0)
			return 0;
	}
	if(i == len)
		return 1;
	if(s[i] != ':')
		return 0;
	i++;
	if(i == len || len - i > 5)
		return 0;
	for(port = 0, p = i; p < len; p++) {
		if(!_sp_id_is_digit((unsigned char)s[p]))
			return 0;
		port = port * 10 + (size_t)(s[p] - '0');
	}
	return port <= 65535;
}

/* sip/sips: [user "@"] host[:port] [;params] [?headers] */
static int _sp_id_sip(const char *s, size_t len, sp_id_uri_t *u)
{
	const char *at, *end = s + len, *h, *p;

	at = memchr(s, '@', len);
	h = s;
	if(at != NULL) {
		if(memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
			return SP_ID_ERR_URI;
		if(at == s)
			return SP_ID_ERR_URI;
		if(memchr(s, ':', (size_t)(at - s)) != NULL)
			return SP_ID_ERR_PASSWORD;
		/* user-unreserved: & = + $ , ; ? / */
		if(!_sp_id_chars(s, (size_t)(at - s), "&=+$,;?/"))
			return SP_ID_ERR_URI;
		u->user.s = s;
		u->user.len = (size_t)(at - s);
		h = at + 1;
	}
	for(p = h; p < end && *p != ';' && *p != '?'; p++)
		;
	if(!_sp_id_hostport(h, (size_t)(p - h)))
		return SP_ID_ERR_URI;
	u->host.s = h;
	u->host.len = (size_t)(p - h);
	/* uri-parameters and headers: checked, then ignored;
	 * param-unreserved / hnv-unreserved and the delimiters */
	if(!_sp_id_chars(p, (size_t)(end - p), "[]/:&+$;?="))
		return SP_ID_ERR_URI;
	return SP_ID_OK;
}

static int _sp_id_is_visual(unsigned char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* tel: global-number-digits / local-number-digits, then *par (RFC 3966) */
static int _sp_id_tel(const char *s, size_t len, sp_id_uri_t *u)
{
	size_t i = 0, n, b, nb, ne, digits = 0;
	int global;

	for(n = 0; n < len && s[n] != ';'; n++)
		;
	global = n > 0 && s[0] == '+';
	for(i = global ? 1 : 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if(_sp_id_is_visual(c))
			continue;
		if(global ? _sp_id_is_digit(c)
				  : (_sp_id_is_hex(c) || c == '*' || c == '#'))
			digits++;
		else
			return SP_ID_ERR_URI;
	}
	if(digits == 0)
		return SP_ID_ERR_URI;
	u->user.s = s;
	u->user.len = n;
	u->global = global;
	/* parameters: ";" pname ["=" pvalue] */
	i = n;
	while(i < len) {
		i++; /* ';' */
		nb = i;
		while(i < len && (_sp_id_is_alnum((unsigned char)s[i]) || s[i] == '-'))
			i++;
		ne = i;
		if(ne == nb)
			return SP_ID_ERR_URI;
		b = i;
		if(i < len && s[i] == '=') {
			b = ++i;
			while(i < len && s[i] != ';')
				i++;
			if(i == b || !_sp_id_chars(s + b, i - b, "[]/:&+$"))
				return SP_ID_ERR_URI;
		}
		if(i < len && s[i] != ';')
			return SP_ID_ERR_URI;
		if(sp_text_ieq(s + nb, ne - nb, "phone-context", 13)) {
			if(b == ne || u->host.s != NULL)
				return SP_ID_ERR_URI; /* no value, or twice */
			if(!global) {
				u->host.s = s + b;
				u->host.len = i - b;
			}
		}
	}
	if(!global && u->host.s == NULL)
		return SP_ID_ERR_URI; /* RFC 3966: local numbers need one */
	return SP_ID_OK;
}

int sp_id_uri_parse(const char *s, size_t len, sp_id_uri_t *u)
{
	const char *colon;
	size_t i, slen;
	int rc;

	if(u == NULL)
		return SP_ID_ERR_ARG;
	memset(u, 0, sizeof(*u));
	if(s == NULL && len > 0)
		return SP_ID_ERR_ARG;
	if(len > SP_ID_MAX_URI_LEN)
		return SP_ID_ERR_TOO_LONG;
	/* printable ASCII, none of SP " < > \ ` { | } ^ */
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(c <= 0x20 || c >= 0x7f || _sp_id_in(c, "\"<>\\`{|}^"))
			return SP_ID_ERR_URI;
	}
	colon = len ? memchr(s, ':', len) : NULL;
	if(colon == NULL || colon == s)
		return SP_ID_ERR_URI;
	slen = (size_t)(colon - s);
	if(sp_text_ieq(s, slen, "sip", 3))
		u->scheme = SP_ID_SCHEME_SIP;
	else if(sp_text_ieq(s, slen, "sips", 4))
		u->scheme = SP_ID_SCHEME_SIPS;
	else if(sp_text_ieq(s, slen, "tel", 3))
		u->scheme = SP_ID_SCHEME_TEL;
	else
		return SP_ID_ERR_SCHEME;
	if(u->scheme == SP_ID_SCHEME_TEL)
		rc = _sp_id_tel(colon + 1, len - slen - 1, u);
	else
		rc = _sp_id_sip(colon + 1, len - slen - 1, u);
	if(rc != SP_ID_OK) {
		memset(u, 0, sizeof(*u));
		return rc;
	}
	u->uri.s = s;
	u->uri.len = len;
	return SP_ID_OK;
}

/* The next digit of a tel number, visual separators skipped, lower case;
 * 0 at the end. */
static int _sp_id_next_digit(const sp_str_t *n, size_t *i, char *c)
{
	while(*i < n->len && _sp_id_is_visual((unsigned char)n->s[*i]))
		(*i)++;
	if(*i >= n->len)
		return 0;
	*c = sp_text_lower(n->s[*i]);
	(*i)++;
	return 1;
}

static int _sp_id_tel_equal(const sp_id_uri_t *a, const sp_id_uri_t *b)
{
	size_t i = 0, j = 0;
	char ca = 0, cb = 0;
	int ra, rb;

	if(a->global != b->global)
		return 0;
	for(;;) {
		ra = _sp_id_next_digit(&a->user, &i, &ca);
		rb = _sp_id_next_digit(&b->user, &j, &cb);
		if(ra != rb)
			return 0;
		if(!ra)
			break;
		if(ca != cb)
			return 0;
	}
	if(a->global)
		return 1;
	return sp_text_ieq(a->host.s, a->host.len, b->host.s, b->host.len);
}

int sp_id_uri_equal(const sp_id_uri_t *a, const sp_id_uri_t *b)
{
	if(a == NULL || b == NULL || a->scheme == SP_ID_SCHEME_NONE
			|| a->scheme != b->scheme)
		return 0;
	if(a->scheme == SP_ID_SCHEME_TEL)
		return _sp_id_tel_equal(a, b);
	if((a->user.s == NULL) != (b->user.s == NULL))
		return 0;
	if(a->user.s != NULL
			&& (a->user.len != b->user.len
					|| memcmp(a->user.s, b->user.s, a->user.len) != 0))
		return 0;
	return sp_text_ieq(a->host.s, a->host.len, b->host.s, b->host.len);
}

/* A quoted-string display-name from s[*i] == '"'; *i ends past the quote. */
static int _sp_id_quoted(const char *s, size_t len, size_t *i)
{
	size_t k = *i + 1;

	while(k < len && s[k] != '"') {
		unsigned char c = (unsigned char)s[k];
		if(c == '\\') {
			/* quoted-pair, but no CR or LF even escaped */
			if(k + 1 >= len || s[k + 1] == '\r' || s[k + 1] == '\n'
					|| (unsigned char)s[k + 1] >= 0x80)
				return SP_ID_ERR_SYNTAX;
			k += 2;
			continue;
		}
		/* qdtext: SP, HTAB, visible ASCII, UTF8-NONASCII; no CR/LF: a
		 * folded display-name is not worth the risk of a bare one */
		if((c < 0x20 && c != '\t') || c == 0x7f)
			return SP_ID_ERR_SYNTAX;
		k++;
	}
	if(k >= len)
		return SP_ID_ERR_SYNTAX;
	*i = k + 1;
	return SP_ID_OK;
}

/* One name-addr or addr-spec from s[*i] (not LWS, not ','). */
static int _sp_id_value(const char *s, size_t len, size_t *i, sp_id_value_t *v)
{
	size_t k = *i, b, e;
	int rc;

	if(s[k] == '"') {
		rc = _sp_id_quoted(s, len, &k);
		if(rc != SP_ID_OK)
			return rc;
		v->display.s = s + *i;
		v->display.len = k - *i;
		while(k < len && _SP_ID_IS_LWS(s[k]))
			k++;
		if(k >= len || s[k] != '<')
			return SP_ID_ERR_SYNTAX;
	} else if(s[k] != '<') {
		/* *(token LWS) before '<', or an addr-spec up to ',' */
		for(e = k; e < len && s[e] != ',' && s[e] != '<'; e++)
			;
		if(e < len && s[e] == '<') {
			b = k;
			while(e > b && _SP_ID_IS_LWS(s[e - 1]))
				e--;
			for(; k < e; k++) {
				if(!sp_text_is_token((unsigned char)s[k])
						&& !_SP_ID_IS_LWS(s[k]))
					return SP_ID_ERR_SYNTAX;
			}
			v->display.s = s + b;
			v->display.len = e - b;
			while(k < len && s[k] != '<')
				k++;
		} else {
			b = k;
			while(e > b && _SP_ID_IS_LWS(s[e - 1]))
				e--;
			for(; k < e; k++) {
				if(_SP_ID_IS_LWS(s[k]))
					return SP_ID_ERR_SYNTAX;
				if(s[k] == ';' || s[k] == '?')
					return SP_ID_ERR_UNBRACKETED;
			}
			if(e - b > SP_ID_MAX_URI_LEN)
				return SP_ID_ERR_TOO_LONG;
			rc = sp_id_uri_parse(s + b, e - b, &v->uri);
			*i = e;
			return rc;
		}
	}
	if(v->display.len > SP_ID_MAX_DISPLAY_LEN)
		return SP_ID_ERR_TOO_LONG;
	/* s[k] == '<' */
	b = ++k;
	while(k < len && s[k] != '>')
		k++;
	if(k >= len)
		return SP_ID_ERR_SYNTAX;
	rc = sp_id_uri_parse(s + b, k - b, &v->uri);
	*i = k + 1;
	return rc;
}

/* Adds a value to the list: one sip/sips, one tel at most. */
static int _sp_id_add(sp_id_list_t *l, const sp_id_value_t *v)
{
	size_t k;
	int tel = v->uri.scheme == SP_ID_SCHEME_TEL;

	for(k = 0; k < l->n; k++) {
		if((l->v[k].uri.scheme == SP_ID_SCHEME_TEL) == tel)
			return SP_ID_ERR_TOO_MANY;
	}
	if(l->n >= SP_ID_MAX_VALUES)
		return SP_ID_ERR_TOO_MANY;
	l->v[l->n++] = *v;
	return SP_ID_OK;
}

/* One header value: values separated by ',', LWS around. */
static int _sp_id_hdr(const char *s, size_t len, sp_id_list_t *l)
{
	size_t i = 0;
	sp_id_value_t v;
	int rc;

	if(s == NULL && len > 0)
		return SP_ID_ERR_ARG;
	if(len > SP_ID_MAX_HDR_LEN)
		return SP_ID_ERR_TOO_LONG;
	for(;;) {
		while(i < len && _SP_ID_IS_LWS(s[i]))
			i++;
		if(i >= len || s[i] == ',')
			return SP_ID_ERR_EMPTY;
		memset(&v, 0, sizeof(v));
		rc = _sp_id_value(s, len, &i, &v);
		if(rc != SP_ID_OK)
			return rc;
		rc = _sp_id_add(l, &v);
		if(rc != SP_ID_OK)
			return rc;
		while(i < len && _SP_ID_IS_LWS(s[i]))
			i++;
		if(i >= len)
			return SP_ID_OK;
		if(s[i] != ',')
			return SP_ID_ERR_SYNTAX;
		i++;
	}
}

int sp_id_parse(const sp_str_t *hdrs, size_t n, sp_id_list_t *l)
{
	size_t i;
	int rc;

	if(l == NULL)
		return SP_ID_ERR_ARG;
	memset(l, 0, sizeof(*l));
	if(hdrs == NULL && n > 0)
		return SP_ID_ERR_ARG;
	if(n == 0)
		return SP_ID_ERR_EMPTY;
	for(i = 0; i < n; i++) {
		rc = _sp_id_hdr(hdrs[i].s, hdrs[i].len, l);
		if(rc != SP_ID_OK) {
			memset(l, 0, sizeof(*l));
			return rc;
		}
	}
	return SP_ID_OK;
}

int sp_id_entry_parse(const sp_str_t *id, sp_id_uri_t *u)
{
	sp_id_list_t l;

	if(sp_id_uri_parse(id->s, id->len, u) == SP_ID_OK)
		return 1;
	if(sp_id_parse(id, 1, &l) != SP_ID_OK || l.n != 1)
		return 0;
	*u = l.v[0].uri;
	return 1;
}

int sp_id_assert(int registered, const sp_str_t *ids, size_t nids,
		const sp_str_t *ppi, size_t nppi, sp_id_assertion_t *a)
{
	sp_id_list_t pl;
	sp_id_uri_t def, u;
	size_t k, m, n = 0;

	if(a == NULL)
		return SP_ID_ERR_ARG;
	memset(a, 0, sizeof(*a));
	if((ids == NULL && nids > 0) || (ppi == NULL && nppi > 0))
		return SP_ID_ERR_ARG;
	a->ppi_present = nppi > 0;
	if(!registered)
		return SP_ID_OK; /* SP_ID_WHY_UNREGISTERED, nothing asserted */
	if(nids == 0 || !sp_id_entry_parse(&ids[0], &def))
		return SP_ID_ERR_NO_IDENTITY;

	if(nppi > 0) {
		a->ppi_rc = sp_id_parse(ppi, nppi, &pl);
		if(a->ppi_rc == SP_ID_OK) {
			for(k = 0; k < pl.n; k++) {
				for(m = 0; m < nids; m++) {
					if(sp_id_entry_parse(&ids[m], &u)
							&& sp_id_uri_equal(&pl.v[k].uri, &u))
						break;
				}
				if(m == nids) {
					a->ppi_unmatched++;
					continue;
				}
				a->pai[n++] = u.uri;
			}
		}
	}
	if(n > 0) {
		a->why = SP_ID_WHY_PREFERRED;
		a->n = n;
		return SP_ID_OK;
	}
	a->why = SP_ID_WHY_DEFAULT;
	a->n = 1;
	a->pai[0] = def.uri;
	return SP_ID_OK;
}

int sp_id_pai_format(const sp_id_assertion_t *a, char *buf, size_t size)
{
	size_t k, pos = 0, need;

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if(a == NULL || a->n == 0 || a->n > SP_ID_MAX_VALUES)
		return -1;
	for(k = 0; k < a->n; k++) {
		if(a->pai[k].s == NULL || a->pai[k].len > SP_ID_MAX_URI_LEN)
			return -1;
		need = a->pai[k].len + 2 + (k > 0 ? 2 : 0);
		if(need >= size - pos) {
			buf[0] = '\0';
			return -1;
		}
		if(k > 0) {
			memcpy(buf + pos, ", ", 2);
			pos += 2;
		}
		buf[pos++] = '<';
		memcpy(buf + pos, a->pai[k].s, a->pai[k].len);
		pos += a->pai[k].len;
		buf[pos++] = '>';
	}
	buf[pos] = '\0';
	return (int)pos;
}

int sp_id_pai_remove(unsigned int requested, sp_id_absent_policy_t policy)
{
	if(requested & SP_PRIV_ID)
		return 1;
	if(requested == SP_PRIV_NONE)
		return 0;
	return policy != SP_ID_ABSENT_KEEP;
}
