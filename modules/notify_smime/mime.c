/*
 * notify_smime: MIME for S/MIME bodies in SIP (see mime.h).
 *
 * Every scanner works on [p, end) and tests the bound before each read;
 * the only allocation is the caller's. Comparisons of types, parameter
 * names, encodings and boundaries are exact (length first), never prefix
 * matches.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "mime.h"

#define _NS_MIME_CTYPE_HDR "Content-Type: "

/* The header block of the signature part of a multipart/signed. */
static const char _ns_mime_sig_hdrs[] =
		"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"Content-Disposition: attachment; filename=smime.p7s; "
		"handling=required\r\n"
		"\r\n";

const char *ns_mime_strerror(int rc)
{
	switch(rc) {
		case NS_MIME_OK:
			return "ok";
		case NS_MIME_ERR_ARG:
			return "invalid argument";
		case NS_MIME_ERR_TOO_LONG:
			return "MIME input too long";
		case NS_MIME_ERR_NOSPACE:
			return "output buffer too small";
		case NS_MIME_ERR_SYNTAX:
			return "malformed Content-Type";
		case NS_MIME_ERR_DUPLICATE:
			return "duplicate MIME parameter or header";
		case NS_MIME_ERR_TOO_MANY:
			return "too many Content-Type parameters";
		case NS_MIME_ERR_HEADER:
			return "malformed MIME header line";
		case NS_MIME_ERR_TRUNCATED:
			return "MIME headers not terminated by an empty line";
		case NS_MIME_ERR_NO_CTYPE:
			return "MIME entity without Content-Type";
		case NS_MIME_ERR_CTE:
			return "unsupported Content-Transfer-Encoding";
		case NS_MIME_ERR_BASE64:
			return "invalid base64";
		case NS_MIME_ERR_BOUNDARY:
			return "multipart boundary missing or invalid";
		case NS_MIME_ERR_NO_DELIMITER:
			return "multipart boundary delimiter not found";
		case NS_MIME_ERR_NO_CLOSE:
			return "multipart close delimiter missing";
		case NS_MIME_ERR_PARTS:
			return "multipart/signed does not have exactly two parts";
		case NS_MIME_ERR_DELIMITER:
			return "malformed multipart delimiter line";
		case NS_MIME_ERR_NOT_SIGNED:
			return "not multipart/signed";
		case NS_MIME_ERR_PROTOCOL:
			return "multipart/signed protocol is not pkcs7-signature";
		case NS_MIME_ERR_SIG_TYPE:
			return "signature part is not application/pkcs7-signature";
		case NS_MIME_ERR_EMPTY:
			return "empty signed part or signature";
		case NS_MIME_ERR_IN_CONTENT:
			return "boundary occurs in the content";
		case NS_MIME_ERR_RANDOM:
			return "no random bytes";
	}
	return "unknown error";
}

/* ---------------------------------------------------------------- text */

static int _ns_mime_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int _ns_mime_is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9');
}

/* RFC 2045 token: US-ASCII CHAR except SPACE, CTLs and tspecials. */
static int _ns_mime_is_token(int c)
{
	if(c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* `len` bytes at `s` are exactly `lit`, ASCII case-insensitive. */
static int _ns_mime_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for(i = 0; i < len; i++) {
		if(lit[i] == '\0'
				|| _ns_mime_lower((unsigned char)s[i])
						   != _ns_mime_lower((unsigned char)lit[i]))
			return 0;
	}
	return lit[len] == '\0';
}

static int _ns_mime_streq_ci(const char *a, const char *b)
{
	return a != NULL && b != NULL && _ns_mime_ieq(a, strlen(a), b);
}

/* SP, HTAB, and CRLF-folding (CRLF followed by SP or HTAB). */
static const char *_ns_mime_skip_ws(const char *p, const char *end)
{
	for(;;) {
		if(p < end && (*p == ' ' || *p == '\t'))
			p++;
		else if(end - p >= 3 && p[0] == '\r' && p[1] == '\n'
				&& (p[2] == ' ' || p[2] == '\t'))
			p += 3;
		else
			return p;
	}
}

/* ------------------------------------------------------- Content-Type */

/* A token at *pp copied (lowercased if asked) and NUL-terminated at *ww. */
static int _ns_mime_token(
		const char **pp, const char *end, char **ww, char *wend, int lower)
{
	const char *p = *pp;
	char *w = *ww;

	while(p < end && _ns_mime_is_token((unsigned char)*p)) {
		if(w + 1 >= wend)
			return NS_MIME_ERR_TOO_LONG;
		*w++ = (char)(lower ? _ns_mime_lower((unsigned char)*p) : *p);
		p++;
	}
	if(p == *pp)
		return NS_MIME_ERR_SYNTAX;
	*w++ = '\0';
	*pp = p;
	*ww = w;
	return NS_MIME_OK;
}

/* A byte allowed in a quoted-string or quoted-pair: not a control but
 * HTAB (CR and LF only as folding), UTF-8 octets allowed. */
static int _ns_mime_is_qtext(int c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The quoted-string at *pp ('"' there), unquoted into *ww. */
static int _ns_mime_quoted(
		const char **pp, const char *end, char **ww, char *wend, size_t *vlen)
{
	const char *p = *pp + 1;
	char *w = *ww, *start = *ww;
	int c;

	for(;;) {
		if(p >= end)
			return NS_MIME_ERR_SYNTAX; /* unterminated */
		c = (unsigned char)*p;
		if(c == '"')
			break;
		if(c == '\\') {
			if(end - p < 2 || !_ns_mime_is_qtext((unsigned char)p[1]))
				return NS_MIME_ERR_SYNTAX;
			c = (unsigned char)p[1];
			p += 2;
		} else if(c == '\r') {
			/* folding: the CRLF goes, the whitespace stays */
			if(end - p < 3 || p[1] != '\n' || (p[2] != ' ' && p[2] != '\t'))
				return NS_MIME_ERR_SYNTAX;
			p += 2;
			continue;
		} else if(!_ns_mime_is_qtext(c)) {
			return NS_MIME_ERR_SYNTAX;
		} else {
			p++;
		}
		if(w + 1 >= wend)
			return NS_MIME_ERR_TOO_LONG;
		*w++ = (char)c;
	}
	*vlen = (size_t)(w - start);
	*w++ = '\0';
	*pp = p + 1;
	*ww = w;
	return NS_MIME_OK;
}

static void _ns_mime_ctype_reset(ns_mime_ctype_t *ct)
{
	ct->type = NULL;
	ct->subtype = NULL;
	ct->nparams = 0;
	ct->buf[0] = '\0';
}

static int _ns_mime_ctype_scan(
		const char *value, size_t len, ns_mime_ctype_t *ct)
{
	const char *p = value, *end = value + len;
	char *w = ct->buf, *wend = ct->buf + sizeof(ct->buf), *name, *val;
	size_t vlen;
	unsigned int i;
	int rc;

	p = _ns_mime_skip_ws(p, end);
	ct->type = w;
	if((rc = _ns_mime_token(&p, end, &w, wend, 1)) != NS_MIME_OK)
		return rc;
	p = _ns_mime_skip_ws(p, end);
	if(p >= end || *p != '/')
		return NS_MIME_ERR_SYNTAX;
	p = _ns_mime_skip_ws(p + 1, end);
	ct->subtype = w;
	if((rc = _ns_mime_token(&p, end, &w, wend, 1)) != NS_MIME_OK)
		return rc;
	for(;;) {
		p = _ns_mime_skip_ws(p, end);
		if(p >= end)
			return NS_MIME_OK;
		if(*p != ';')
			return NS_MIME_ERR_SYNTAX;
		if(ct->nparams == NS_MIME_MAX_PARAMS)
			return NS_MIME_ERR_TOO_MANY;
		p = _ns_mime_skip_ws(p + 1, end);
		name = w;
		if((rc = _ns_mime_token(&p, end, &w, wend, 1)) != NS_MIME_OK)
			return rc;
		p = _ns_mime_skip_ws(p, end);
		if(p >= end || *p != '=')
			return NS_MIME_ERR_SYNTAX;
		p = _ns_mime_skip_ws(p + 1, end);
		val = w;
		if(p < end && *p == '"') {
			rc = _ns_mime_quoted(&p, end, &w, wend, &vlen);
		} else {
			rc = _ns_mime_token(&p, end, &w, wend, 0);
			vlen = (size_t)(w - val) - 1;
		}
		if(rc != NS_MIME_OK)
			return rc;
		for(i = 0; i < ct->nparams; i++)
			if(strcmp(ct->params[i].name, name) == 0)
				return NS_MIME_ERR_DUPLICATE;
		ct->params[ct->nparams].name = name;
		ct->params[ct->nparams].value = val;
		ct->params[ct->nparams].vlen = vlen;
		ct->nparams++;
	}
}

int ns_mime_ctype_parse(const char *value, size_t len, ns_mime_ctype_t *ct)
{
	int rc;

	if(ct == NULL)
		return NS_MIME_ERR_ARG;
	_ns_mime_ctype_reset(ct);
	if(value == NULL && len > 0)
		return NS_MIME_ERR_ARG;
	if(len > NS_MIME_MAX_CTYPE_LEN)
		return NS_MIME_ERR_TOO_LONG;
	rc = _ns_mime_ctype_scan(value != NULL ? value : "", len, ct);
	if(rc != NS_MIME_OK)
		_ns_mime_ctype_reset(ct);
	return rc;
}

const char *ns_mime_ctype_param(const ns_mime_ctype_t *ct, const char *name)
{
	unsigned int i;

	if(ct == NULL || name == NULL)
		return NULL;
	for(i = 0; i < ct->nparams && i < NS_MIME_MAX_PARAMS; i++)
		if(_ns_mime_streq_ci(ct->params[i].name, name))
			return ct->params[i].value;
	return NULL;
}

int ns_mime_ctype_is(
		const ns_mime_ctype_t *ct, const char *type, const char *subtype)
{
	return ct != NULL && _ns_mime_streq_ci(ct->type, type)
		   && _ns_mime_streq_ci(ct->subtype, subtype);
}

ns_mime_smime_t ns_mime_smime_type(const ns_mime_ctype_t *ct)
{
	static const struct
	{
		const char *name;
		ns_mime_smime_t t;
	} names[] = {
			{"enveloped-data", NS_MIME_SMIME_ENVELOPED},
			{"authEnveloped-data", NS_MIME_SMIME_AUTH_ENVELOPED},
			{"signed-data", NS_MIME_SMIME_SIGNED},
			{"certs-only", NS_MIME_SMIME_CERTS_ONLY},
			{"compressed-data", NS_MIME_SMIME_COMPRESSED},
	};
	const char *v;
	size_t i;

	if(!ns_mime_ctype_is(ct, "application", "pkcs7-mime")
			&& !ns_mime_ctype_is(ct, "application", "x-pkcs7-mime"))
		return NS_MIME_SMIME_NOT_PKCS7;
	v = ns_mime_ctype_param(ct, "smime-type");
	if(v == NULL)
		return NS_MIME_SMIME_NONE;
	for(i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if(_ns_mime_streq_ci(v, names[i].name))
			return names[i].t;
	return NS_MIME_SMIME_OTHER;
}

/* ------------------------------------------------------------- base64 */

static int _ns_mime_b64_val(int c)
{
	if(c >= 'A' && c <= 'Z')
		return c - 'A';
	if(c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if(c >= '0' && c <= '9')
		return c - '0' + 52;
	if(c == '+')
		return 62;
	if(c == '/')
		return 63;
	return -1;
}

size_t ns_mime_b64_maxlen(size_t len)
{
	return len / 4 * 3 + 3;
}

int ns_mime_b64_decode(
		const char *in, size_t len, char *out, size_t size, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int q = 0, pad = 0, done = 0, v, c;

	if(outlen == NULL)
		return NS_MIME_ERR_ARG;
	*outlen = 0;
	if((in == NULL && len > 0) || (out == NULL && size > 0))
		return NS_MIME_ERR_ARG;
	if(len > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	for(i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if(c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		if(done)
			return NS_MIME_ERR_BASE64; /* data after the padding */
		if(c == '=') {
			if(q < 2)
				return NS_MIME_ERR_BASE64;
			pad++;
			v = 0;
		} else {
			if(pad)
				return NS_MIME_ERR_BASE64; /* "xx=x" */
			v = _ns_mime_b64_val(c);
			if(v < 0)
				return NS_MIME_ERR_BASE64;
		}
		acc = (acc << 6) | (uint32_t)v;
		if(++q < 4)
			continue;
		if(size - n < (size_t)(3 - pad))
			return NS_MIME_ERR_NOSPACE;
		out[n++] = (char)(acc >> 16);
		if(pad < 2)
			out[n++] = (char)(acc >> 8);
		if(pad < 1)
			out[n++] = (char)acc;
		done = pad > 0;
		q = 0;
		acc = 0;
	}
	if(q != 0)
		return NS_MIME_ERR_BASE64; /* an incomplete quantum */
	*outlen = n;
	return NS_MIME_OK;
}

/* ------------------------------------------------------------ entities */

static void _ns_mime_entity_reset(ns_mime_entity_t *ent)
{
	_ns_mime_ctype_reset(&ent->ctype);
	ent->cte = NS_MIME_CTE_NONE;
	ent->headers = (ns_mime_str_t){NULL, 0};
	ent->raw = (ns_mime_str_t){NULL, 0};
	ent->body = (ns_mime_str_t){NULL, 0};
}

/* RFC 5322 ftext: visible ASCII but ':' */
static int _ns_mime_is_ftext(int c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

static int _ns_mime_cte_parse(const char *s, size_t len, ns_mime_cte_t *cte)
{
	static const struct
	{
		const char *name;
		ns_mime_cte_t cte;
	} names[] = {
			{"7bit", NS_MIME_CTE_7BIT},
			{"8bit", NS_MIME_CTE_8BIT},
			{"binary", NS_MIME_CTE_BINARY},
			{"base64", NS_MIME_CTE_BASE64},
	};
	const char *p = s, *end = s + len, *t;
	size_t i;

	p = _ns_mime_skip_ws(p, end);
	t = p;
	while(p < end && _ns_mime_is_token((unsigned char)*p))
		p++;
	if(_ns_mime_skip_ws(p, end) != end)
		return NS_MIME_ERR_CTE;
	for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if(_ns_mime_ieq(t, (size_t)(p - t), names[i].name)) {
			*cte = names[i].cte;
			return NS_MIME_OK;
		}
	}
	return NS_MIME_ERR_CTE;
}

/* The header lines of an entity: Content-Type and -Transfer-Encoding
 * values into *ct and *cte (s NULL when absent); *body after the empty
 * line. */
static int _ns_mime_headers(const char *in, size_t len, ns_mime_str_t *ct,
		ns_mime_str_t *cte, const char **hend, const char **body)
{
	const char *p = in, *end = in + len, *lim, *name, *nend, *v;
	/* running out of input inside the headers: truncated, unless it is
	 * the bound that stopped us */
	const int runout = len > NS_MIME_MAX_HDRS_LEN + 2 ? NS_MIME_ERR_TOO_LONG
													  : NS_MIME_ERR_TRUNCATED;
	ns_mime_str_t *slot;

	lim = len > NS_MIME_MAX_HDRS_LEN + 2 ? in + NS_MIME_MAX_HDRS_LEN + 2 : end;
	for(;;) {
		if(lim - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			*hend = p;
			*body = p + 2;
			return NS_MIME_OK;
		}
		if(lim - p < 2)
			return runout; /* neither the empty line nor a header fits */
		name = p;
		while(p < lim && _ns_mime_is_ftext((unsigned char)*p))
			p++;
		nend = p;
		if(p >= lim)
			return runout;
		if(p == name)
			return NS_MIME_ERR_HEADER; /* a continuation, CR, LF, ... */
		while(p < lim && (*p == ' ' || *p == '\t'))
			p++;
		if(p >= lim)
			return runout;
		if(*p != ':')
			return NS_MIME_ERR_HEADER;
		v = ++p;
		/* the value ends at a CRLF that is not folding */
		for(;;) {
			if(p >= lim)
				return runout;
			if(*p == '\r') {
				if(lim - p < 3)
					return lim - p == 2 && p[1] != '\n' ? NS_MIME_ERR_HEADER
														: runout;
				if(p[1] != '\n')
					return NS_MIME_ERR_HEADER;
				if(p[2] == ' ' || p[2] == '\t') {
					p += 3;
					continue;
				}
				break;
			}
			if(*p == '\n' || *p == '\0')
				return NS_MIME_ERR_HEADER;
			p++;
		}
		slot = NULL;
		if(_ns_mime_ieq(name, (size_t)(nend - name), "Content-Type"))
			slot = ct;
		else if(_ns_mime_ieq(name, (size_t)(nend - name),
						"Content-Transfer-Encoding"))
			slot = cte;
		if(slot != NULL) {
			if(slot->s != NULL)
				return NS_MIME_ERR_DUPLICATE;
			slot->s = v;
			slot->len = (size_t)(p - v);
		}
		p += 2;
	}
}

static int _ns_mime_entity_scan(const char *in, size_t len,
		ns_mime_entity_t *ent, char *dec, size_t decsize)
{
	ns_mime_str_t ct = {NULL, 0}, cte = {NULL, 0};
	const char *hend = NULL, *body = NULL;
	size_t n;
	int rc;

	rc = _ns_mime_headers(in, len, &ct, &cte, &hend, &body);
	if(rc != NS_MIME_OK)
		return rc;
	if(ct.s == NULL)
		return NS_MIME_ERR_NO_CTYPE;
	rc = ns_mime_ctype_parse(ct.s, ct.len, &ent->ctype);
	if(rc != NS_MIME_OK)
		return rc;
	if(cte.s != NULL) {
		rc = _ns_mime_cte_parse(cte.s, cte.len, &ent->cte);
		if(rc != NS_MIME_OK)
			return rc;
	}
	ent->headers = (ns_mime_str_t){in, (size_t)(hend - in)};
	ent->raw = (ns_mime_str_t){body, (size_t)(in + len - body)};
	if(ent->cte != NS_MIME_CTE_BASE64) {
		ent->body = ent->raw;
		return NS_MIME_OK;
	}
	if(dec == NULL)
		return NS_MIME_ERR_NOSPACE;
	rc = ns_mime_b64_decode(ent->raw.s, ent->raw.len, dec, decsize, &n);
	if(rc != NS_MIME_OK)
		return rc;
	ent->body = (ns_mime_str_t){dec, n};
	return NS_MIME_OK;
}

int ns_mime_entity_parse(const char *in, size_t len, ns_mime_entity_t *ent,
		char *dec, size_t decsize)
{
	int rc;

	if(ent == NULL)
		return NS_MIME_ERR_ARG;
	_ns_mime_entity_reset(ent);
	if((in == NULL && len > 0) || (dec == NULL && decsize > 0))
		return NS_MIME_ERR_ARG;
	if(len > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	rc = _ns_mime_entity_scan(in ? in : "", len, ent, dec, decsize);
	if(rc != NS_MIME_OK)
		_ns_mime_entity_reset(ent);
	return rc;
}

int ns_mime_entity_build(const char *ctype, const char *body, size_t bodylen,
		char *out, size_t outsize, size_t *outlen)
{
	ns_mime_ctype_t ct;
	size_t clen, need, i;
	int rc;

	if(outlen == NULL)
		return NS_MIME_ERR_ARG;
	*outlen = 0;
	if(ctype == NULL || (body == NULL && bodylen > 0)
			|| (out == NULL && outsize > 0))
		return NS_MIME_ERR_ARG;
	clen = strnlen(ctype, NS_MIME_MAX_CTYPE_LEN + 1);
	if(clen > NS_MIME_MAX_CTYPE_LEN || bodylen > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	/* one line: no folding, no header injection */
	for(i = 0; i < clen; i++)
		if(ctype[i] == '\r' || ctype[i] == '\n')
			return NS_MIME_ERR_SYNTAX;
	rc = ns_mime_ctype_parse(ctype, clen, &ct);
	if(rc != NS_MIME_OK)
		return rc;
	need = sizeof(_NS_MIME_CTYPE_HDR) - 1 + clen + 4 + bodylen;
	if(need > outsize) {
		*outlen = need;
		return NS_MIME_ERR_NOSPACE;
	}
	i = 0;
	memcpy(out + i, _NS_MIME_CTYPE_HDR, sizeof(_NS_MIME_CTYPE_HDR) - 1);
	i += sizeof(_NS_MIME_CTYPE_HDR) - 1;
	memcpy(out + i, ctype, clen);
	i += clen;
	memcpy(out + i, "\r\n\r\n", 4);
	i += 4;
	if(bodylen > 0)
		memcpy(out + i, body, bodylen);
	*outlen = i + bodylen;
	return NS_MIME_OK;
}

/* ------------------------------------------------------------ multipart */

int ns_mime_boundary_check(const char *b, size_t len)
{
	size_t i;
	int c;

	if(b == NULL || len == 0 || len > NS_MIME_MAX_BOUNDARY || b[len - 1] == ' ')
		return NS_MIME_ERR_BOUNDARY;
	for(i = 0; i < len; i++) {
		c = (unsigned char)b[i];
		if(!_ns_mime_is_alnum(c) && (c == 0 || !strchr("'()+_,-./:=? ", c)))
			return NS_MIME_ERR_BOUNDARY;
	}
	return NS_MIME_OK;
}

int ns_mime_boundary_gen(char *out, size_t size)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char r[16];
	size_t i;

	if(out == NULL || size < 2 * sizeof(r) + 1)
		return out == NULL ? NS_MIME_ERR_ARG : NS_MIME_ERR_NOSPACE;
	if(RAND_bytes(r, (int)sizeof(r)) != 1)
		return NS_MIME_ERR_RANDOM;
	for(i = 0; i < sizeof(r); i++) {
		out[2 * i] = hexd[r[i] >> 4];
		out[2 * i + 1] = hexd[r[i] & 0x0f];
	}
	out[2 * sizeof(r)] = '\0';
	return NS_MIME_OK;
}

enum _ns_mime_delim
{
	_NS_MIME_D_BAD = 0,
	_NS_MIME_D_PART,
	_NS_MIME_D_CLOSE
};

/* A line starting with "--" boundary at p (already matched): a delimiter
 * ("--B" padding CRLF), the close delimiter ("--B--" padding, then CRLF or
 * the end), or neither. *next: after the line. */
static int _ns_mime_delim_at(
		const char *p, const char *end, size_t blen, const char **next)
{
	const char *q = p + 2 + blen;
	int close = 0;

	if(end - q >= 2 && q[0] == '-' && q[1] == '-') {
		close = 1;
		q += 2;
	}
	while(q < end && (*q == ' ' || *q == '\t'))
		q++; /* transport padding */
	if(end - q >= 2 && q[0] == '\r' && q[1] == '\n') {
		*next = q + 2;
		return close ? _NS_MIME_D_CLOSE : _NS_MIME_D_PART;
	}
	if(close && q == end) {
		*next = q;
		return _NS_MIME_D_CLOSE;
	}
	return _NS_MIME_D_BAD;
}

/* The next CRLF "--" boundary at or after `from`: the "--", or NULL. */
static const char *_ns_mime_find(
		const char *from, const char *end, const char *b, size_t blen)
{
	const char *p = from;
	const size_t need = 4 + blen;

	while(p < end && (size_t)(end - p) >= need) {
		p = memchr(p, '\r', (size_t)(end - p) - need + 1);
		if(p == NULL)
			return NULL;
		if(p[1] == '\n' && p[2] == '-' && p[3] == '-'
				&& memcmp(p + 4, b, blen) == 0)
			return p + 2;
		p++;
	}
	return NULL;
}

static int _ns_mime_signed_scan(const char *body, size_t len, const char *b,
		size_t blen, ns_mime_str_t parts[2])
{
	const char *end = body + len, *d, *next = NULL, *start;
	int kind, n = 0;

	/* the first delimiter opens the body or follows the preamble's CRLF */
	if(len >= 2 + blen && body[0] == '-' && body[1] == '-'
			&& memcmp(body + 2, b, blen) == 0)
		d = body;
	else
		d = _ns_mime_find(body, end, b, blen);
	if(d == NULL)
		return NS_MIME_ERR_NO_DELIMITER;
	kind = _ns_mime_delim_at(d, end, blen, &next);
	if(kind == _NS_MIME_D_BAD)
		return NS_MIME_ERR_DELIMITER;
	if(kind == _NS_MIME_D_CLOSE)
		return NS_MIME_ERR_PARTS; /* no part at all */
	for(;;) {
		start = next;
		/* from the CRLF that ended the delimiter line: with an empty part
		 * it is the CRLF of the next delimiter */
		d = _ns_mime_find(start - 2, end, b, blen);
		if(d == NULL)
			return NS_MIME_ERR_NO_CLOSE;
		parts[n].s = start;
		parts[n].len = d - 2 > start ? (size_t)(d - 2 - start) : 0;
		n++;
		kind = _ns_mime_delim_at(d, end, blen, &next);
		if(kind == _NS_MIME_D_BAD)
			return NS_MIME_ERR_DELIMITER;
		if(kind == _NS_MIME_D_CLOSE)
			break;
		if(n == 2)
			return NS_MIME_ERR_PARTS; /* a third part */
	}
	if(n != 2)
		return NS_MIME_ERR_PARTS;
	/* the epilogue is ignored, but a delimiter line in it would make
	 * parsers disagree on where the body ends: refused */
	if(_ns_mime_find(next - 2, end, b, blen) != NULL)
		return NS_MIME_ERR_DELIMITER;
	return NS_MIME_OK;
}

int ns_mime_multipart_signed_parse(const char *body, size_t len,
		const char *boundary, ns_mime_str_t *signed_part, ns_mime_str_t *sig,
		char *dec, size_t decsize)
{
	ns_mime_entity_t ent;
	ns_mime_str_t parts[2] = {{NULL, 0}, {NULL, 0}};
	size_t blen;
	int rc;

	if(signed_part == NULL || sig == NULL)
		return NS_MIME_ERR_ARG;
	*signed_part = (ns_mime_str_t){NULL, 0};
	*sig = (ns_mime_str_t){NULL, 0};
	if(boundary == NULL || (body == NULL && len > 0)
			|| (dec == NULL && decsize > 0))
		return NS_MIME_ERR_ARG;
	blen = strnlen(boundary, NS_MIME_MAX_BOUNDARY + 1);
	if(ns_mime_boundary_check(boundary, blen) != NS_MIME_OK)
		return NS_MIME_ERR_BOUNDARY;
	if(len > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	if(body == NULL)
		return NS_MIME_ERR_NO_DELIMITER;
	rc = _ns_mime_signed_scan(body, len, boundary, blen, parts);
	if(rc != NS_MIME_OK)
		return rc;
	if(parts[0].len == 0)
		return NS_MIME_ERR_EMPTY;
	rc = ns_mime_entity_parse(parts[1].s, parts[1].len, &ent, dec, decsize);
	if(rc == NS_MIME_ERR_NO_CTYPE)
		return NS_MIME_ERR_SIG_TYPE;
	if(rc != NS_MIME_OK)
		return rc;
	if(!ns_mime_ctype_is(&ent.ctype, "application", "pkcs7-signature")
			&& !ns_mime_ctype_is(
					&ent.ctype, "application", "x-pkcs7-signature"))
		return NS_MIME_ERR_SIG_TYPE;
	if(ent.body.len == 0)
		return NS_MIME_ERR_EMPTY;
	*signed_part = parts[0];
	*sig = ent.body;
	return NS_MIME_OK;
}

int ns_mime_multipart_signed_build(const char *entity, size_t elen,
		const unsigned char *sig_der, size_t siglen, const char *boundary,
		char *out, size_t outsize, size_t *outlen)
{
	ns_mime_str_t sp, sg;
	size_t blen, need, i, e_off, s_off;
	int rc;

	if(outlen == NULL)
		return NS_MIME_ERR_ARG;
	*outlen = 0;
	if(entity == NULL || sig_der == NULL || boundary == NULL
			|| (out == NULL && outsize > 0))
		return NS_MIME_ERR_ARG;
	blen = strnlen(boundary, NS_MIME_MAX_BOUNDARY + 1);
	if(ns_mime_boundary_check(boundary, blen) != NS_MIME_OK)
		return NS_MIME_ERR_BOUNDARY;
	if(elen == 0 || siglen == 0)
		return NS_MIME_ERR_EMPTY;
	if(elen > NS_MIME_MAX_LEN || siglen > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	/* "--B\r\n" E "\r\n--B\r\n" H S "\r\n--B--\r\n" */
	need = (2 + blen + 2) + elen + (4 + blen + 2) + sizeof(_ns_mime_sig_hdrs)
		   - 1 + siglen + (4 + blen + 4);
	if(need > NS_MIME_MAX_LEN)
		return NS_MIME_ERR_TOO_LONG;
	if(need > outsize) {
		*outlen = need;
		return NS_MIME_ERR_NOSPACE;
	}
	i = 0;
	memcpy(out + i, "--", 2);
	memcpy(out + i + 2, boundary, blen);
	memcpy(out + i + 2 + blen, "\r\n", 2);
	i += 2 + blen + 2;
	e_off = i;
	memcpy(out + i, entity, elen);
	i += elen;
	memcpy(out + i, "\r\n--", 4);
	memcpy(out + i + 4, boundary, blen);
	memcpy(out + i + 4 + blen, "\r\n", 2);
	i += 4 + blen + 2;
	memcpy(out + i, _ns_mime_sig_hdrs, sizeof(_ns_mime_sig_hdrs) - 1);
	i += sizeof(_ns_mime_sig_hdrs) - 1;
	s_off = i;
	memcpy(out + i, sig_der, siglen);
	i += siglen;
	memcpy(out + i, "\r\n--", 4);
	memcpy(out + i + 4, boundary, blen);
	memcpy(out + i + 4 + blen, "--\r\n", 4);
	i += 4 + blen + 4;
	/* a receiver must get back exactly these parts */
	rc = ns_mime_multipart_signed_parse(out, i, boundary, &sp, &sg, NULL, 0);
	if(rc != NS_MIME_OK || sp.s != out + e_off || sp.len != elen
			|| sg.s != out + s_off || sg.len != siglen)
		return NS_MIME_ERR_IN_CONTENT;
	*outlen = i;
	return NS_MIME_OK;
}

int ns_mime_signed_ctype_check(const ns_mime_ctype_t *ct, const char **boundary)
{
	const char *v;

	if(boundary != NULL)
		*boundary = NULL;
	if(ct == NULL || boundary == NULL)
		return NS_MIME_ERR_ARG;
	if(!ns_mime_ctype_is(ct, "multipart", "signed"))
		return NS_MIME_ERR_NOT_SIGNED;
	v = ns_mime_ctype_param(ct, "protocol");
	if(!_ns_mime_streq_ci(v, "application/pkcs7-signature")
			&& !_ns_mime_streq_ci(v, "application/x-pkcs7-signature"))
		return NS_MIME_ERR_PROTOCOL;
	v = ns_mime_ctype_param(ct, "boundary");
	if(v == NULL || ns_mime_boundary_check(v, strlen(v)) != NS_MIME_OK)
		return NS_MIME_ERR_BOUNDARY;
	*boundary = v;
	return NS_MIME_OK;
}

/* ------------------------------------------------------- header values */

const char *ns_mime_ctype_enveloped(int auth)
{
	return auth ? "application/pkcs7-mime; smime-type=authEnveloped-data; "
				  "name=smime.p7m"
				: "application/pkcs7-mime; smime-type=enveloped-data; "
				  "name=smime.p7m";
}

const char *ns_mime_disposition_p7m(void)
{
	return "attachment; filename=smime.p7m; handling=required";
}

int ns_mime_ctype_signed(
		const char *boundary, const char *micalg, char *out, size_t size)
{
	size_t i, mlen;
	int n;

	if(boundary == NULL || micalg == NULL || (out == NULL && size > 0))
		return NS_MIME_ERR_ARG;
	if(size > 0)
		out[0] = '\0';
	if(ns_mime_boundary_check(boundary, strnlen(boundary, 72)) != NS_MIME_OK)
		return NS_MIME_ERR_BOUNDARY;
	mlen = strnlen(micalg, 64);
	if(mlen == 0 || mlen >= 64)
		return NS_MIME_ERR_SYNTAX;
	for(i = 0; i < mlen; i++)
		if(!_ns_mime_is_token((unsigned char)micalg[i]))
			return NS_MIME_ERR_SYNTAX;
	/* the boundary quoted: its bchars include tspecials */
	n = snprintf(out, size,
			"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"micalg=%s; boundary=\"%s\"",
			micalg, boundary);
	if(n < 0)
		return NS_MIME_ERR_ARG;
	if((size_t)n >= size) {
		if(size > 0)
			out[0] = '\0';
		return NS_MIME_ERR_NOSPACE;
	}
	return n;
}

int ns_mime_ctype_format(const ns_mime_ctype_t *ct, char *out, size_t size)
{
	size_t i = 0, k;
	unsigned int p;
	const char *v;
	int quote, n;

	if(ct == NULL || out == NULL || size == 0 || ct->type == NULL
			|| ct->subtype == NULL)
		return NS_MIME_ERR_ARG;
	n = snprintf(out, size, "%s/%s", ct->type, ct->subtype);
	if(n < 0 || (size_t)n >= size)
		return NS_MIME_ERR_NOSPACE;
	i = (size_t)n;
	for(p = 0; p < ct->nparams; p++) {
		v = ct->params[p].value;
		quote = ct->params[p].vlen == 0;
		for(k = 0; k < ct->params[p].vlen && !quote; k++)
			if(!_ns_mime_is_token((unsigned char)v[k]))
				quote = 1;
		n = snprintf(out + i, size - i, "; %s=%s", ct->params[p].name,
				quote ? "\"" : "");
		if(n < 0 || (size_t)n >= size - i)
			return NS_MIME_ERR_NOSPACE;
		i += (size_t)n;
		for(k = 0; k < ct->params[p].vlen; k++) {
			/* a value is printable: the parser refused controls */
			if(i + 3 >= size)
				return NS_MIME_ERR_NOSPACE;
			if(quote && (v[k] == '"' || v[k] == '\\'))
				out[i++] = '\\';
			out[i++] = v[k];
		}
		if(quote) {
			if(i + 2 >= size)
				return NS_MIME_ERR_NOSPACE;
			out[i++] = '"';
		}
		out[i] = '\0';
	}
	return (int)i;
}
