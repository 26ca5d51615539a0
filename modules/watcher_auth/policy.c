/*
 * watcher_auth: compile and evaluate the presentity's pres-rules.
 *
 * Parsing. libxml2 reads the document with XML_PARSE_NONET and without
 * XML_PARSE_NOENT / XML_PARSE_DTDLOAD, as UTF-8 whatever it declares, with
 * errors and warnings suppressed (nothing is printed, no global error hook
 * is installed). A document with a DOCTYPE is refused before libxml2 sees
 * it, so there are no entities to expand (XXE, billion laughs); the tree is
 * checked once more for a DTD, entity nodes and nesting depth. libxml2's
 * global state is never touched (no xmlCleanupParser, no memory or error
 * hooks): presence_xml shares it in the same process.
 *
 * Compiling. Two passes over the tree with the same code: the first only
 * counts records and string bytes, the second writes them into a scratch
 * block laid out as
 *
 *   struct wa_policy | rules | conds | idents | excepts | spheres |
 *   validity intervals | credentials | strings
 *
 * where every reference is an offset from the block start (strings) or an
 * index into a section; the block is checked (wa_policy_check) and copied
 * once into memory from the caller's allocator.
 *
 * Evaluating. RFC 4745 rules: conditions are ANDed, identity children ORed,
 * and the actions of ALL matching rules are combined (not the first match,
 * as presence_xml does). Conditions are three-valued (TRUE, FALSE,
 * UNKNOWN): an unknown condition element, a <sphere> without a current
 * sphere and a <many> with an unknown extension child are UNKNOWN. A rule
 * with a FALSE condition does not match; an UNKNOWN rule does not match
 * either (RFC 4745: grants nothing) but its demands — authenticate,
 * encrypt, unknown ps: elements — still apply, since our actions are
 * restrictions and switching one off because a condition cannot be decided
 * would fail open.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ascii.h"
#include "policy.h"
#include "sip_canon.h"

#define WA_POLICY_MAGIC 0x31504157u /* "WAP1" */

/* A string in the block: offset from the block start (0: absent) and length
 * without the NUL that always follows it. */
typedef struct _wa_sref
{
	uint32_t off;
	uint32_t len;
} _wa_sref_t;

struct wa_policy
{
	uint32_t magic;
	uint32_t size;
	uint32_t nrules, rules;
	uint32_t nconds, conds;
	uint32_t nidents, idents;
	uint32_t nexcepts, excepts;
	uint32_t nspheres, spheres;
	uint32_t nvalid, valid;
	uint32_t ncreds, creds;
	uint32_t strs, strs_len;
};

#define _WA_R_AUTH (1u << 0)
#define _WA_R_AUTH_UNKNOWN (1u << 1)
#define _WA_R_TLS (1u << 2)
#define _WA_R_ENCRYPT (1u << 3)
#define _WA_R_SUB_UNKNOWN (1u << 4)
#define _WA_R_UNKNOWN_ACTION (1u << 5)

typedef struct _wa_rule
{
	_wa_sref_t id;
	uint32_t cond_first, cond_count;
	uint32_t cred_first, cred_count;
	int32_t sub_handling;
	uint32_t flags;
} _wa_rule_t;

enum
{
	_WA_C_IDENTITY = 1,
	_WA_C_SPHERE = 2,
	_WA_C_VALIDITY = 3,
	_WA_C_UNKNOWN = 4
};
#define _WA_C_UNKNOWN_CHILD 1u /* identity with an unknown child */

typedef struct _wa_cond
{
	uint16_t type;
	uint16_t flags;
	uint32_t first, count; /* into idents, spheres or valid */
} _wa_cond_t;

enum
{
	_WA_I_ONE = 1, /* val: canonical URI */
	_WA_I_MANY = 2 /* val: domain, absent for any authenticated identity */
};
#define _WA_I_UNKNOWN_CHILD 1u /* <many> with an unknown extension child */

typedef struct _wa_ident
{
	uint16_t type;
	uint16_t flags;
	_wa_sref_t val;
	uint32_t exc_first, exc_count;
} _wa_ident_t;

enum
{
	_WA_X_ID = 1,
	_WA_X_DOMAIN = 2
};

typedef struct _wa_except
{
	uint32_t type;
	_wa_sref_t val;
} _wa_except_t;

typedef struct _wa_valid
{
	int64_t from;  /* inclusive */
	int64_t until; /* exclusive */
} _wa_valid_t;

#define _WA_CRED_TLS 1u

typedef struct _wa_cred
{
	uint32_t rule;
	uint32_t flags;
	_wa_sref_t password, ha1, ha1_sha256, realm;
} _wa_cred_t;

#define _WA_SEC(p, type, off) \
	((const type *)((const unsigned char *)(p) + (off)))
#define _WA_STR(p, ref) ((const char *)(p) + (ref).off)

enum
{
	_WA_F = 0,
	_WA_T = 1,
	_WA_U = 2
};

/* ---------------------------------------------------------------- text */

/* exact, ASCII case-insensitive token compare: never a prefix match */
static int _wa_eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if(alen != blen)
		return 0;
	for(i = 0; i < alen; i++)
		if(ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static void _wa_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while(len--)
		*v++ = 0;
}

/* ------------------------------------------------------ identities */

/* see wa_policy_uri_canon() (lib/sip_canon.c, notify_smime compares a
 * certificate's identity with the same code); *host gets the offset of the
 * host in out, or -1 for a scheme without one */
static int _wa_canon(
		const char *uri, size_t len, char *out, size_t size, int *host)
{
	sip_canon_info_t ci;
	int n;

	n = sip_canon_uri(uri, len, SIP_CANON_NAMEADDR | SIP_CANON_OTHER_SCHEME,
			out, size, &ci);
	*host = ci.host;
	return n;
}

int wa_policy_uri_canon(const char *uri, size_t len, char *out, size_t size)
{
	int host;

	return _wa_canon(uri, len, out, size, &host);
}

/* <many domain>, <except domain>: a host and nothing else */
static int _wa_domain(const char *s, size_t len, char *out, size_t size)
{
	const char *e = s + len, *p;
	size_t n;

	ascii_trim(&s, &e);
	p = sip_canon_host(s, e, out, size, &n);
	if(p == NULL || p != e)
		return -1;
	return (int)n;
}

/* ------------------------------------------------------------ time */

static int _wa_num(const char **p, const char *e, int digits, int *v)
{
	int i;

	*v = 0;
	for(i = 0; i < digits; i++) {
		if(*p >= e || !ascii_is_digit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return 0;
}

static int64_t _wa_days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 date-time with a mandatory offset (Z or +hh:mm / -hh:mm).
 * Fractions of a second round up: now (whole seconds) >= from and
 * now < until then hold exactly when they hold for the real instant. */
static int _wa_parse_time(const char *s, size_t len, int64_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *e = s + len, *p;
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0, frac = 0, dim;
	int64_t t;

	ascii_trim(&s, &e);
	p = s;
	if(_wa_num(&p, e, 4, &Y) || p >= e || *p++ != '-' || _wa_num(&p, e, 2, &M)
			|| p >= e || *p++ != '-' || _wa_num(&p, e, 2, &D) || p >= e
			|| (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if(_wa_num(&p, e, 2, &h) || p >= e || *p++ != ':' || _wa_num(&p, e, 2, &m)
			|| p >= e || *p++ != ':' || _wa_num(&p, e, 2, &sec))
		return -1;
	if(p < e && *p == '.') {
		const char *d = ++p;
		for(; p < e && ascii_is_digit((unsigned char)*p); p++)
			if(*p != '0')
				frac = 1;
		if(p == d)
			return -1;
	}
	if(p < e && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if(p < e && (*p == '+' || *p == '-')) {
		sign = *p++ == '+' ? 1 : -1;
		if(_wa_num(&p, e, 2, &oh) || p >= e || *p++ != ':'
				|| _wa_num(&p, e, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1; /* no offset: ambiguous */
	}
	if(p != e)
		return -1;
	if(M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 60)
		return -1;
	dim = mdays[M - 1];
	if(M == 2 && ((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
		dim = 29;
	if(D > dim)
		return -1;
	t = _wa_days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*out = t + frac;
	return 0;
}

/* --------------------------------------------------------- builder */

/* While measuring, base is NULL and only the counters move; while
 * emitting, records go to base at the offsets of lay, and cap bounds every
 * write by what the measuring pass found. */
typedef struct _wa_bld
{
	unsigned char *base;
	struct wa_policy lay;
	struct wa_policy cap;
	uint32_t nrules, nconds, nidents, nexcepts, nspheres, nvalid, ncreds;
	size_t strs_used;
	int overflow;
	unsigned max_rules;
	wa_policy_errinfo_t *err;
} _wa_bld_t;

static int _wa_fail(_wa_bld_t *b, int code, xmlNodePtr node)
{
	if(b->err) {
		b->err->code = (wa_policy_err_t)code;
		b->err->line = node ? (int)xmlGetLineNo(node) : 0;
		if(b->err->line < 0)
			b->err->line = 0;
	}
	return code;
}

static void _wa_put(_wa_bld_t *b, uint32_t off, uint32_t cap, uint32_t *n,
		const void *rec, size_t recsize)
{
	if(b->base != NULL) {
		if(*n >= cap) {
			b->overflow = 1;
			return;
		}
		memcpy(b->base + off + (size_t)*n * recsize, rec, recsize);
	}
	(*n)++;
}

#define _WA_PUT(b, sec, cnt, rec) \
	_wa_put((b), (b)->lay.sec, (b)->cap.cnt, &(b)->cnt, (rec), sizeof(*(rec)))

static void _wa_put_str(
		_wa_bld_t *b, const char *s, size_t len, _wa_sref_t *ref)
{
	ref->off = 0;
	ref->len = 0;
	if(b->base != NULL) {
		if(b->strs_used + len + 1 > b->cap.strs_len || len > UINT32_MAX) {
			b->overflow = 1;
			return;
		}
		memcpy(b->base + b->lay.strs + b->strs_used, s, len);
		b->base[b->lay.strs + b->strs_used + len] = '\0';
		ref->off = (uint32_t)(b->lay.strs + b->strs_used);
		ref->len = (uint32_t)len;
	}
	b->strs_used += len + 1;
}

/* ------------------------------------------------------ tree access */

static int _wa_is(xmlNodePtr n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL
		   && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0
		   && strcmp((const char *)n->name, name) == 0;
}

static int _wa_in_ns(xmlNodePtr n, const char *ns)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL
		   && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

/* an unqualified attribute (xmlFree it) */
static char *_wa_attr(xmlNodePtr n, const char *name)
{
	return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

static void _wa_attr_free(char *v, int secret)
{
	if(v == NULL)
		return;
	if(secret)
		_wa_wipe(v, strlen(v));
	xmlFree(v);
}

/* nesting depth, and no entity or DTD node anywhere */
static int _wa_check_tree(_wa_bld_t *b, xmlNodePtr root, unsigned max_depth)
{
	xmlNodePtr n = root;
	unsigned depth = 1;

	for(;;) {
		switch(n->type) {
			case XML_ENTITY_REF_NODE:
			case XML_ENTITY_NODE:
			case XML_ENTITY_DECL:
			case XML_DTD_NODE:
			case XML_DOCUMENT_TYPE_NODE:
				return _wa_fail(b, WA_POLICY_E_DTD, n);
			case XML_ELEMENT_NODE:
				if(depth > max_depth)
					return _wa_fail(b, WA_POLICY_E_TOO_DEEP, n);
				break;
			default:
				break;
		}
		if(n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			depth++;
			continue;
		}
		while(n != root && n->next == NULL) {
			n = n->parent;
			depth--;
		}
		if(n == root)
			break;
		n = n->next;
	}
	return 0;
}

/* ------------------------------------------------------ conditions */

static int _wa_compile_except(_wa_bld_t *b, xmlNodePtr x)
{
	char buf[WA_POLICY_URI_MAX + 1];
	char *id = _wa_attr(x, "id"), *dom = _wa_attr(x, "domain");
	_wa_except_t rec;
	int ret = WA_POLICY_E_IDENTITY, n, host;

	if(id == NULL && dom == NULL)
		goto out;
	/* both given (not allowed by the schema): either one excludes */
	if(id != NULL) {
		n = _wa_canon(id, strlen(id), buf, sizeof(buf), &host);
		if(n < 0)
			goto out;
		memset(&rec, 0, sizeof(rec));
		rec.type = _WA_X_ID;
		_wa_put_str(b, buf, (size_t)n, &rec.val);
		_WA_PUT(b, excepts, nexcepts, &rec);
	}
	if(dom != NULL) {
		n = _wa_domain(dom, strlen(dom), buf, sizeof(buf));
		if(n < 0)
			goto out;
		memset(&rec, 0, sizeof(rec));
		rec.type = _WA_X_DOMAIN;
		_wa_put_str(b, buf, (size_t)n, &rec.val);
		_WA_PUT(b, excepts, nexcepts, &rec);
	}
	ret = 0;
out:
	_wa_attr_free(id, 0);
	_wa_attr_free(dom, 0);
	return ret ? _wa_fail(b, ret, x) : 0;
}

static int _wa_compile_identity(_wa_bld_t *b, xmlNodePtr idn)
{
	char buf[WA_POLICY_URI_MAX + 1];
	_wa_cond_t cond;
	_wa_ident_t rec;
	xmlNodePtr c, x;
	char *v;
	int n, host, ret;

	memset(&cond, 0, sizeof(cond));
	cond.type = _WA_C_IDENTITY;
	cond.first = b->nidents;
	for(c = idn->children; c; c = c->next) {
		if(c->type != XML_ELEMENT_NODE)
			continue;
		memset(&rec, 0, sizeof(rec));
		if(_wa_is(c, WA_POLICY_NS_CP, "one")) {
			v = _wa_attr(c, "id");
			n = v ? _wa_canon(v, strlen(v), buf, sizeof(buf), &host) : -1;
			_wa_attr_free(v, 0);
			if(n < 0)
				return _wa_fail(b, WA_POLICY_E_IDENTITY, c);
			rec.type = _WA_I_ONE;
			_wa_put_str(b, buf, (size_t)n, &rec.val);
		} else if(_wa_is(c, WA_POLICY_NS_CP, "many")) {
			rec.type = _WA_I_MANY;
			v = _wa_attr(c, "domain");
			if(v != NULL) {
				n = _wa_domain(v, strlen(v), buf, sizeof(buf));
				_wa_attr_free(v, 0);
				if(n < 0)
					return _wa_fail(b, WA_POLICY_E_IDENTITY, c);
				_wa_put_str(b, buf, (size_t)n, &rec.val);
			}
			rec.exc_first = b->nexcepts;
			for(x = c->children; x; x = x->next) {
				if(x->type != XML_ELEMENT_NODE)
					continue;
				if(_wa_is(x, WA_POLICY_NS_CP, "except")) {
					if((ret = _wa_compile_except(b, x)) < 0)
						return ret;
				} else {
					/* an extension we cannot evaluate might exclude this
					 * watcher */
					rec.flags |= _WA_I_UNKNOWN_CHILD;
				}
			}
			rec.exc_count = b->nexcepts - rec.exc_first;
		} else {
			cond.flags |= _WA_C_UNKNOWN_CHILD;
			continue;
		}
		_WA_PUT(b, idents, nidents, &rec);
	}
	cond.count = b->nidents - cond.first;
	_WA_PUT(b, conds, nconds, &cond);
	return 0;
}

static int _wa_compile_sphere(_wa_bld_t *b, xmlNodePtr sp)
{
	_wa_cond_t cond;
	_wa_sref_t ref;
	char *v = _wa_attr(sp, "value"), *s, *e;
	size_t i;

	if(v == NULL)
		return _wa_fail(b, WA_POLICY_E_SPHERE, sp);
	memset(&cond, 0, sizeof(cond));
	cond.type = _WA_C_SPHERE;
	cond.first = b->nspheres;
	for(i = 0; v[i]; i++)
		v[i] = (char)ascii_lower((unsigned char)v[i]);
	/* RFC 4745 7.2: blank separated tokens, ORed, case-insensitive */
	for(s = v; *s;) {
		while(*s && ascii_is_ws((unsigned char)*s))
			s++;
		if(!*s)
			break;
		for(e = s; *e && !ascii_is_ws((unsigned char)*e); e++)
			;
		_wa_put_str(b, s, (size_t)(e - s), &ref);
		_WA_PUT(b, spheres, nspheres, &ref);
		s = e;
	}
	_wa_attr_free(v, 0);
	cond.count = b->nspheres - cond.first;
	_WA_PUT(b, conds, nconds, &cond);
	return 0;
}

static int _wa_node_time(xmlNodePtr n, int64_t *t)
{
	char *v = (char *)xmlNodeGetContent(n);
	int ret;

	if(v == NULL)
		return -1;
	ret = _wa_parse_time(v, strlen(v), t);
	xmlFree(v);
	return ret;
}

static int _wa_compile_validity(_wa_bld_t *b, xmlNodePtr va)
{
	_wa_cond_t cond;
	_wa_valid_t rec;
	xmlNodePtr c, from = NULL;

	memset(&cond, 0, sizeof(cond));
	memset(&rec, 0, sizeof(rec));
	cond.type = _WA_C_VALIDITY;
	cond.first = b->nvalid;
	for(c = va->children; c; c = c->next) {
		if(c->type != XML_ELEMENT_NODE)
			continue;
		if(from == NULL && _wa_is(c, WA_POLICY_NS_CP, "from")) {
			from = c;
			if(_wa_node_time(c, &rec.from) < 0)
				return _wa_fail(b, WA_POLICY_E_VALIDITY, c);
		} else if(from != NULL && _wa_is(c, WA_POLICY_NS_CP, "until")) {
			if(_wa_node_time(c, &rec.until) < 0)
				return _wa_fail(b, WA_POLICY_E_VALIDITY, c);
			_WA_PUT(b, valid, nvalid, &rec);
			from = NULL;
		} else {
			return _wa_fail(b, WA_POLICY_E_VALIDITY, c);
		}
	}
	if(from != NULL)
		return _wa_fail(b, WA_POLICY_E_VALIDITY, from);
	cond.count = b->nvalid - cond.first;
	_WA_PUT(b, conds, nconds, &cond);
	return 0;
}

static int _wa_compile_cond(_wa_bld_t *b, xmlNodePtr c)
{
	_wa_cond_t cond;

	if(_wa_is(c, WA_POLICY_NS_CP, "identity"))
		return _wa_compile_identity(b, c);
	if(_wa_is(c, WA_POLICY_NS_CP, "sphere"))
		return _wa_compile_sphere(b, c);
	if(_wa_is(c, WA_POLICY_NS_CP, "validity"))
		return _wa_compile_validity(b, c);
	/* RFC 4745 7: an unknown condition is not TRUE */
	memset(&cond, 0, sizeof(cond));
	cond.type = _WA_C_UNKNOWN;
	_WA_PUT(b, conds, nconds, &cond);
	return 0;
}

/* --------------------------------------------------------- actions */

/* RFC 5025 3.2.1 values; anything else counts as block, the most
 * restrictive one (and "blockfoo" is not "block" either) */
static int _wa_sub_handling(xmlNodePtr n, int *unknown)
{
	static const struct
	{
		const char *name;
		int value;
	} vals[] = {
			{"block", WA_POLICY_SUB_BLOCK},
			{"confirm", WA_POLICY_SUB_CONFIRM},
			{"polite-block", WA_POLICY_SUB_POLITE_BLOCK},
			{"allow", WA_POLICY_SUB_ALLOW},
	};
	char *v = NULL;
	const char *s, *e;
	xmlNodePtr c;
	size_t i;
	int ret = WA_POLICY_SUB_BLOCK;

	*unknown = 1;
	for(c = n->children; c; c = c->next)
		if(c->type == XML_ELEMENT_NODE)
			return ret;
	v = (char *)xmlNodeGetContent(n);
	if(v == NULL)
		return ret;
	s = v;
	e = v + strlen(v);
	ascii_trim(&s, &e); /* xs:token */
	for(i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		if((size_t)(e - s) == strlen(vals[i].name)
				&& memcmp(s, vals[i].name, (size_t)(e - s)) == 0) {
			ret = vals[i].value;
			*unknown = 0;
			break;
		}
	}
	xmlFree(v);
	return ret;
}

static int _wa_hexattr(const char *v, size_t want, char *out)
{
	const char *s = v, *e = v + strlen(v);
	size_t i;

	ascii_trim(&s, &e);
	if((size_t)(e - s) != want)
		return -1;
	for(i = 0; i < want; i++) {
		if(ascii_hex((unsigned char)s[i]) < 0)
			return -1;
		out[i] = (char)ascii_lower((unsigned char)s[i]);
	}
	out[want] = '\0';
	return 0;
}

static int _wa_compile_auth(_wa_bld_t *b, _wa_rule_t *r, xmlNodePtr a)
{
	char *method = NULL, *transport = NULL, *password = NULL, *ha1 = NULL;
	char *ha256 = NULL, *realm = NULL;
	char hex[65];
	const char *s, *e;
	_wa_cred_t rec;
	int ret = WA_POLICY_E_AUTH;

	r->flags |= _WA_R_AUTH;
	method = _wa_attr(a, "method");
	if(method == NULL) {
		r->flags |= _WA_R_AUTH_UNKNOWN;
		ret = 0;
		goto out;
	}
	s = method;
	e = method + strlen(method);
	ascii_trim(&s, &e);
	if(!_wa_eq_ci(s, (size_t)(e - s), "digest", 6)) {
		/* the caller cannot verify it: it must fail closed */
		r->flags |= _WA_R_AUTH_UNKNOWN;
		ret = 0;
		goto out;
	}

	memset(&rec, 0, sizeof(rec));
	rec.rule = b->nrules;
	transport = _wa_attr(a, "transport");
	if(transport != NULL) {
		s = transport;
		e = transport + strlen(transport);
		ascii_trim(&s, &e);
		if(!_wa_eq_ci(s, (size_t)(e - s), "tls", 3))
			goto out;
		rec.flags |= _WA_CRED_TLS;
		r->flags |= _WA_R_TLS;
	}
	password = _wa_attr(a, "password");
	ha1 = _wa_attr(a, "ha1");
	ha256 = _wa_attr(a, "ha1-sha256");
	realm = _wa_attr(a, "realm");
	if(password == NULL && ha1 == NULL && ha256 == NULL)
		goto out;
	if(password != NULL) {
		if(password[0] == '\0')
			goto out;
		_wa_put_str(b, password, strlen(password), &rec.password);
	}
	if(ha1 != NULL) {
		if(_wa_hexattr(ha1, 32, hex) < 0)
			goto out;
		_wa_put_str(b, hex, 32, &rec.ha1);
	}
	if(ha256 != NULL) {
		if(_wa_hexattr(ha256, 64, hex) < 0)
			goto out;
		_wa_put_str(b, hex, 64, &rec.ha1_sha256);
	}
	if(realm != NULL) {
		/* it goes into a quoted-string of WWW-Authenticate */
		s = realm;
		e = realm + strlen(realm);
		ascii_trim(&s, &e);
		if(s == e)
			goto out;
		for(; s < e; s++)
			if((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"'
					|| *s == '\\')
				goto out;
		s = realm;
		ascii_trim(&s, &e);
		_wa_put_str(b, s, (size_t)(e - s), &rec.realm);
	}
	_WA_PUT(b, creds, ncreds, &rec);
	ret = 0;
out:
	_wa_wipe(hex, sizeof(hex));
	_wa_attr_free(method, 0);
	_wa_attr_free(transport, 0);
	_wa_attr_free(password, 1);
	_wa_attr_free(ha1, 1);
	_wa_attr_free(ha256, 1);
	_wa_attr_free(realm, 0);
	return ret ? _wa_fail(b, ret, a) : 0;
}

static int _wa_compile_action(
		_wa_bld_t *b, _wa_rule_t *r, xmlNodePtr a, int in_actions)
{
	int v, unknown;

	if(in_actions && _wa_is(a, WA_POLICY_NS_PR, "sub-handling")) {
		v = _wa_sub_handling(a, &unknown);
		if(unknown)
			r->flags |= _WA_R_SUB_UNKNOWN;
		if(v > r->sub_handling)
			r->sub_handling = v;
		return 0;
	}
	/* our demands count wherever the author put them: in <actions> as
	 * designed, or in <transformations>, rather than being lost */
	if(_wa_is(a, WA_POLICY_NS_PS, "authenticate"))
		return _wa_compile_auth(b, r, a);
	if(_wa_is(a, WA_POLICY_NS_PS, "encrypt")) {
		r->flags |= _WA_R_ENCRYPT;
		return 0;
	}
	if(_wa_in_ns(a, WA_POLICY_NS_PS))
		r->flags |= _WA_R_UNKNOWN_ACTION;
	/* anything else: other permissions, ignored (RFC 4745 10.3) */
	return 0;
}

/* ----------------------------------------------------------- rules */

static int _wa_compile_rule(_wa_bld_t *b, xmlNodePtr rn)
{
	_wa_rule_t r;
	xmlNodePtr c, x;
	char *id;
	int ret;

	memset(&r, 0, sizeof(r));
	r.sub_handling = WA_POLICY_SUB_NONE;
	id = _wa_attr(rn, "id");
	if(id != NULL) {
		if(id[0] != '\0')
			_wa_put_str(b, id, strlen(id), &r.id);
		_wa_attr_free(id, 0);
	}
	r.cond_first = b->nconds;
	r.cred_first = b->ncreds;
	for(c = rn->children; c; c = c->next) {
		if(_wa_is(c, WA_POLICY_NS_CP, "conditions")) {
			for(x = c->children; x; x = x->next)
				if(x->type == XML_ELEMENT_NODE
						&& (ret = _wa_compile_cond(b, x)) < 0)
					return ret;
		} else if(_wa_is(c, WA_POLICY_NS_CP, "actions")
				  || _wa_is(c, WA_POLICY_NS_CP, "transformations")) {
			int in_actions = _wa_is(c, WA_POLICY_NS_CP, "actions");
			for(x = c->children; x; x = x->next)
				if(x->type == XML_ELEMENT_NODE
						&& (ret = _wa_compile_action(b, &r, x, in_actions)) < 0)
					return ret;
		}
	}
	r.cond_count = b->nconds - r.cond_first;
	r.cred_count = b->ncreds - r.cred_first;
	_WA_PUT(b, rules, nrules, &r);
	return 0;
}

static int _wa_compile_ruleset(_wa_bld_t *b, xmlNodePtr root)
{
	xmlNodePtr c;
	int ret;

	for(c = root->children; c; c = c->next) {
		if(!_wa_is(c, WA_POLICY_NS_CP, "rule"))
			continue;
		if(b->nrules >= b->max_rules)
			return _wa_fail(b, WA_POLICY_E_TOO_MANY, c);
		if((ret = _wa_compile_rule(b, c)) < 0)
			return ret;
	}
	return 0;
}

/* ----------------------------------------------------------- parse */

/* A DOCTYPE anywhere, even in a comment, and the document is refused
 * before libxml2 reads it: the input is parsed as UTF-8 only, so the
 * keyword cannot hide in another encoding. */
static int _wa_has_doctype(const char *xml, size_t len)
{
	static const char kw[] = "<!DOCTYPE";
	const size_t kwlen = sizeof(kw) - 1;
	const char *p = xml, *e = xml + len;

	while((size_t)(e - p) >= kwlen) {
		p = memchr(p, '<', (size_t)(e - p) - kwlen + 1);
		if(p == NULL)
			return 0;
		if(_wa_eq_ci(p, kwlen, kw, kwlen))
			return 1;
		p++;
	}
	return 0;
}

static size_t _wa_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int wa_policy_compile(const char *xml, size_t len,
		const wa_policy_limits_t *lim, void *(*alloc)(size_t),
		wa_policy_t **out, size_t *size, wa_policy_errinfo_t *err)
{
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
					 | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC;
	size_t max_size = WA_POLICY_DEF_MAX_SIZE, off, total = 0;
	unsigned max_depth = WA_POLICY_DEF_MAX_DEPTH;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	unsigned char *scratch = NULL;
	void *blk;
	_wa_bld_t b;
	struct wa_policy *hdr;
	int ret = WA_POLICY_E_ARG;

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.max_rules = WA_POLICY_DEF_MAX_RULES;
	if(err) {
		err->code = WA_POLICY_OK;
		err->line = 0;
	}
	if(out)
		*out = NULL;
	if(size)
		*size = 0;
	if(xml == NULL || out == NULL)
		return _wa_fail(&b, WA_POLICY_E_ARG, NULL);
	if(lim) {
		if(lim->max_size)
			max_size = lim->max_size;
		if(lim->max_depth)
			max_depth = lim->max_depth;
		if(lim->max_rules)
			b.max_rules = lim->max_rules;
	}
	if(max_size > WA_POLICY_MAX_SIZE_CAP)
		max_size = WA_POLICY_MAX_SIZE_CAP;
	if(alloc == NULL)
		alloc = malloc;

	if(len > max_size)
		return _wa_fail(&b, WA_POLICY_E_TOO_BIG, NULL);
	if(len == 0)
		return _wa_fail(&b, WA_POLICY_E_PARSE, NULL);
	if(_wa_has_doctype(xml, len))
		return _wa_fail(&b, WA_POLICY_E_DTD, NULL);

	doc = xmlReadMemory(xml, (int)len, NULL, "UTF-8", opts);
	if(doc == NULL) {
		ret = _wa_fail(&b, WA_POLICY_E_PARSE, NULL);
		goto out;
	}
	if(doc->intSubset != NULL || doc->extSubset != NULL) {
		ret = _wa_fail(&b, WA_POLICY_E_DTD, NULL);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if(root == NULL) {
		ret = _wa_fail(&b, WA_POLICY_E_PARSE, NULL);
		goto out;
	}
	if((ret = _wa_check_tree(&b, root, max_depth)) < 0)
		goto out;
	if(!_wa_is(root, WA_POLICY_NS_CP, "ruleset")) {
		ret = _wa_fail(&b, WA_POLICY_E_ROOT, root);
		goto out;
	}

	/* pass 1: measure */
	if((ret = _wa_compile_ruleset(&b, root)) < 0)
		goto out;

	/* layout */
	memset(&b.lay, 0, sizeof(b.lay));
	off = _wa_align8(sizeof(struct wa_policy));
#define _WA_LAYOUT(sec, cnt, type)                    \
	do {                                              \
		b.lay.sec = (uint32_t)off;                    \
		b.lay.cnt = b.cnt;                            \
		off = _wa_align8(off + b.cnt * sizeof(type)); \
	} while(0)
	_WA_LAYOUT(rules, nrules, _wa_rule_t);
	_WA_LAYOUT(conds, nconds, _wa_cond_t);
	_WA_LAYOUT(idents, nidents, _wa_ident_t);
	_WA_LAYOUT(excepts, nexcepts, _wa_except_t);
	_WA_LAYOUT(spheres, nspheres, _wa_sref_t);
	_WA_LAYOUT(valid, nvalid, _wa_valid_t);
	_WA_LAYOUT(creds, ncreds, _wa_cred_t);
#undef _WA_LAYOUT
	b.lay.strs = (uint32_t)off;
	b.lay.strs_len = (uint32_t)b.strs_used;
	total = off + b.strs_used;
	/* bounded by the document size cap, but never trust that silently */
	if(total > UINT32_MAX / 2 || b.strs_used > UINT32_MAX / 2) {
		ret = _wa_fail(&b, WA_POLICY_E_TOO_BIG, NULL);
		goto out;
	}
	b.lay.magic = WA_POLICY_MAGIC;
	b.lay.size = (uint32_t)total;

	/* pass 2: emit into scratch, then one copy into the caller's memory */
	scratch = calloc(1, total);
	if(scratch == NULL) {
		ret = _wa_fail(&b, WA_POLICY_E_NOMEM, NULL);
		goto out;
	}
	b.cap = b.lay;
	b.base = scratch;
	b.nrules = b.nconds = b.nidents = b.nexcepts = 0;
	b.nspheres = b.nvalid = b.ncreds = 0;
	b.strs_used = 0;
	if((ret = _wa_compile_ruleset(&b, root)) < 0)
		goto out;
	/* the passes differ only if libxml2 ran out of memory in between */
	if(b.overflow || b.nrules != b.lay.nrules || b.nconds != b.lay.nconds
			|| b.nidents != b.lay.nidents || b.nexcepts != b.lay.nexcepts
			|| b.nspheres != b.lay.nspheres || b.nvalid != b.lay.nvalid
			|| b.ncreds != b.lay.ncreds || b.strs_used != b.lay.strs_len) {
		ret = _wa_fail(&b, WA_POLICY_E_NOMEM, NULL);
		goto out;
	}
	hdr = (struct wa_policy *)scratch;
	*hdr = b.lay;
	if(wa_policy_check(scratch, total) != 0) {
		ret = _wa_fail(&b, WA_POLICY_E_CORRUPT, NULL);
		goto out;
	}
	blk = alloc(total);
	if(blk == NULL) {
		ret = _wa_fail(&b, WA_POLICY_E_NOMEM, NULL);
		goto out;
	}
	memcpy(blk, scratch, total);
	*out = blk;
	if(size)
		*size = total;
	ret = 0;

out:
	if(scratch) {
		_wa_wipe(scratch, total); /* credentials */
		free(scratch);
	}
	if(doc)
		xmlFreeDoc(doc);
	return ret;
}

/* ----------------------------------------------------------- check */

static int _wa_sec_ok(size_t size, uint32_t off, uint32_t n, size_t recsize)
{
	return off % 8 == 0 && off >= sizeof(struct wa_policy)
		   && (uint64_t)off + (uint64_t)n * recsize <= size;
}

static int _wa_range_ok(uint32_t first, uint32_t count, uint32_t n)
{
	return (uint64_t)first + count <= n;
}

static int _wa_sref_ok(
		const unsigned char *base, const struct wa_policy *p, _wa_sref_t r)
{
	if(r.off == 0)
		return r.len == 0;
	return r.off >= p->strs
		   && (uint64_t)r.off + r.len < (uint64_t)p->strs + p->strs_len
		   && base[r.off + r.len] == '\0';
}

int wa_policy_check(const void *blk, size_t size)
{
	const unsigned char *base = blk;
	const struct wa_policy *p = blk;
	uint32_t i;

	if(blk == NULL || size < sizeof(*p) || ((uintptr_t)blk & 7) != 0)
		return WA_POLICY_E_CORRUPT;
	if(p->magic != WA_POLICY_MAGIC || p->size != size
			|| !_wa_sec_ok(size, p->rules, p->nrules, sizeof(_wa_rule_t))
			|| !_wa_sec_ok(size, p->conds, p->nconds, sizeof(_wa_cond_t))
			|| !_wa_sec_ok(size, p->idents, p->nidents, sizeof(_wa_ident_t))
			|| !_wa_sec_ok(size, p->excepts, p->nexcepts, sizeof(_wa_except_t))
			|| !_wa_sec_ok(size, p->spheres, p->nspheres, sizeof(_wa_sref_t))
			|| !_wa_sec_ok(size, p->valid, p->nvalid, sizeof(_wa_valid_t))
			|| !_wa_sec_ok(size, p->creds, p->ncreds, sizeof(_wa_cred_t))
			|| p->strs < sizeof(*p) || (uint64_t)p->strs + p->strs_len > size)
		return WA_POLICY_E_CORRUPT;
	for(i = 0; i < p->nrules; i++) {
		const _wa_rule_t *r = _WA_SEC(p, _wa_rule_t, p->rules) + i;
		if(!_wa_sref_ok(base, p, r->id)
				|| !_wa_range_ok(r->cond_first, r->cond_count, p->nconds)
				|| !_wa_range_ok(r->cred_first, r->cred_count, p->ncreds))
			return WA_POLICY_E_CORRUPT;
	}
	for(i = 0; i < p->nconds; i++) {
		const _wa_cond_t *c = _WA_SEC(p, _wa_cond_t, p->conds) + i;
		uint32_t n;
		switch(c->type) {
			case _WA_C_IDENTITY:
				n = p->nidents;
				break;
			case _WA_C_SPHERE:
				n = p->nspheres;
				break;
			case _WA_C_VALIDITY:
				n = p->nvalid;
				break;
			case _WA_C_UNKNOWN:
				n = 0;
				break;
			default:
				return WA_POLICY_E_CORRUPT;
		}
		if(!_wa_range_ok(c->first, c->count, n))
			return WA_POLICY_E_CORRUPT;
	}
	for(i = 0; i < p->nidents; i++) {
		const _wa_ident_t *d = _WA_SEC(p, _wa_ident_t, p->idents) + i;
		if((d->type != _WA_I_ONE && d->type != _WA_I_MANY)
				|| !_wa_sref_ok(base, p, d->val)
				|| (d->type == _WA_I_ONE && d->val.off == 0)
				|| !_wa_range_ok(d->exc_first, d->exc_count, p->nexcepts))
			return WA_POLICY_E_CORRUPT;
	}
	for(i = 0; i < p->nexcepts; i++) {
		const _wa_except_t *x = _WA_SEC(p, _wa_except_t, p->excepts) + i;
		if((x->type != _WA_X_ID && x->type != _WA_X_DOMAIN) || x->val.off == 0
				|| !_wa_sref_ok(base, p, x->val))
			return WA_POLICY_E_CORRUPT;
	}
	for(i = 0; i < p->nspheres; i++) {
		const _wa_sref_t *s = _WA_SEC(p, _wa_sref_t, p->spheres) + i;
		if(s->off == 0 || !_wa_sref_ok(base, p, *s))
			return WA_POLICY_E_CORRUPT;
	}
	for(i = 0; i < p->ncreds; i++) {
		const _wa_cred_t *c = _WA_SEC(p, _wa_cred_t, p->creds) + i;
		if(c->rule >= p->nrules || !_wa_sref_ok(base, p, c->password)
				|| !_wa_sref_ok(base, p, c->ha1)
				|| !_wa_sref_ok(base, p, c->ha1_sha256)
				|| !_wa_sref_ok(base, p, c->realm))
			return WA_POLICY_E_CORRUPT;
	}
	return 0;
}

size_t wa_policy_size(const wa_policy_t *p)
{
	return p ? p->size : 0;
}

unsigned wa_policy_rule_count(const wa_policy_t *p)
{
	return p ? p->nrules : 0;
}

/* -------------------------------------------------------- evaluate */

typedef struct _wa_watcher
{
	const char *canon; /* NULL: no (valid) identity */
	size_t len;
	const char *host; /* NULL: scheme without domain */
	size_t hlen;
} _wa_watcher_t;

static int _wa_and3(int a, int b)
{
	if(a == _WA_F || b == _WA_F)
		return _WA_F;
	return (a == _WA_U || b == _WA_U) ? _WA_U : _WA_T;
}

static int _wa_or3(int a, int b)
{
	if(a == _WA_T || b == _WA_T)
		return _WA_T;
	return (a == _WA_U || b == _WA_U) ? _WA_U : _WA_F;
}

static int _wa_not3(int a)
{
	return a == _WA_T ? _WA_F : (a == _WA_F ? _WA_T : _WA_U);
}

static int _wa_sref_eq(
		const wa_policy_t *p, _wa_sref_t r, const char *s, size_t len)
{
	return r.len == len && memcmp(_WA_STR(p, r), s, len) == 0;
}

static int _wa_eval_ident(
		const wa_policy_t *p, const _wa_ident_t *d, const _wa_watcher_t *w)
{
	const _wa_except_t *x;
	int excepted = _WA_F, hit;
	uint32_t i;

	if(w->canon == NULL)
		return _WA_F; /* no authenticated identity */
	if(d->type == _WA_I_ONE)
		return _wa_sref_eq(p, d->val, w->canon, w->len) ? _WA_T : _WA_F;
	/* <many>: the domain part equals, exactly (no suffix, no prefix) */
	if(d->val.off != 0
			&& (w->host == NULL || !_wa_sref_eq(p, d->val, w->host, w->hlen)))
		return _WA_F;
	x = _WA_SEC(p, _wa_except_t, p->excepts) + d->exc_first;
	for(i = 0; i < d->exc_count; i++, x++) {
		if(x->type == _WA_X_ID)
			hit = _wa_sref_eq(p, x->val, w->canon, w->len);
		else
			hit = w->host != NULL && _wa_sref_eq(p, x->val, w->host, w->hlen);
		if(hit)
			return _WA_F;
	}
	if(d->flags & _WA_I_UNKNOWN_CHILD)
		excepted = _WA_U;
	return _wa_not3(excepted);
}

static int _wa_eval_cond(const wa_policy_t *p, const _wa_cond_t *c,
		const _wa_watcher_t *w, const char *sphere, size_t slen, time_t now)
{
	const _wa_ident_t *d;
	const _wa_sref_t *s;
	const _wa_valid_t *v;
	int r = _WA_F;
	uint32_t i;

	switch(c->type) {
		case _WA_C_IDENTITY:
			d = _WA_SEC(p, _wa_ident_t, p->idents) + c->first;
			for(i = 0; i < c->count && r != _WA_T; i++)
				r = _wa_or3(r, _wa_eval_ident(p, d + i, w));
			if(c->flags & _WA_C_UNKNOWN_CHILD)
				r = _wa_or3(r, _WA_U);
			return r;
		case _WA_C_SPHERE:
			if(sphere == NULL)
				return _WA_U;
			s = _WA_SEC(p, _wa_sref_t, p->spheres) + c->first;
			for(i = 0; i < c->count; i++)
				if(_wa_eq_ci(_WA_STR(p, s[i]), s[i].len, sphere, slen))
					return _WA_T;
			return _WA_F;
		case _WA_C_VALIDITY:
			v = _WA_SEC(p, _wa_valid_t, p->valid) + c->first;
			for(i = 0; i < c->count; i++)
				if((int64_t)now >= v[i].from && (int64_t)now < v[i].until)
					return _WA_T;
			return _WA_F;
		default:
			return _WA_U;
	}
}

int wa_policy_eval(const wa_policy_t *p, const char *watcher_uri, size_t len,
		const char *sphere, time_t now, wa_policy_result_t *res)
{
	char canon[WA_POLICY_URI_MAX + 1];
	_wa_watcher_t w;
	const _wa_rule_t *r;
	const _wa_cond_t *c;
	const char *se = NULL;
	size_t slen = 0;
	uint32_t i, j;
	int v, n, host;

	if(res == NULL)
		return WA_POLICY_E_ARG;
	memset(res, 0, sizeof(*res));
	res->sub_handling = WA_POLICY_SUB_NONE;
	if(p == NULL || p->magic != WA_POLICY_MAGIC)
		return WA_POLICY_E_ARG;

	memset(&w, 0, sizeof(w));
	if(watcher_uri != NULL && len > 0) {
		n = _wa_canon(watcher_uri, len, canon, sizeof(canon), &host);
		if(n >= 0) {
			w.canon = canon;
			w.len = (size_t)n;
			if(host >= 0) {
				w.host = canon + host;
				w.hlen = (size_t)n - (size_t)host;
			}
			res->identity_ok = 1;
		}
	}
	if(sphere != NULL) {
		se = sphere + strlen(sphere);
		ascii_trim(&sphere, &se);
		slen = (size_t)(se - sphere);
		if(slen == 0)
			sphere = NULL; /* no sphere information */
	}

	r = _WA_SEC(p, _wa_rule_t, p->rules);
	for(i = 0; i < p->nrules; i++, r++) {
		v = _WA_T;
		c = _WA_SEC(p, _wa_cond_t, p->conds) + r->cond_first;
		for(j = 0; j < r->cond_count && v != _WA_F; j++)
			v = _wa_and3(v, _wa_eval_cond(p, c + j, &w, sphere, slen, now));
		if(v == _WA_F)
			continue;
		if(v == _WA_T) {
			/* permissions: only from rules that match */
			res->matched++;
			if(r->sub_handling > res->sub_handling)
				res->sub_handling = r->sub_handling;
			if(r->flags & _WA_R_SUB_UNKNOWN)
				res->sub_handling_unknown = 1;
		} else {
			res->undecided++;
		}
		/* demands: from matching and undecided rules */
		if(r->flags & _WA_R_AUTH)
			res->authenticate = 1;
		if(r->flags & _WA_R_AUTH_UNKNOWN)
			res->auth_unknown_method = 1;
		if(r->flags & _WA_R_TLS)
			res->auth_tls = 1;
		if(r->flags & _WA_R_ENCRYPT)
			res->encrypt = 1;
		if(r->flags & _WA_R_UNKNOWN_ACTION)
			res->unknown_action = 1;
		for(j = 0; j < r->cred_count; j++) {
			if(res->ncreds >= WA_POLICY_MAX_CREDS) {
				res->creds_truncated = 1;
				break;
			}
			res->creds[res->ncreds++] = r->cred_first + j;
		}
	}
	return 0;
}

int wa_policy_cred_get(
		const wa_policy_t *p, uint32_t idx, wa_policy_cred_t *cred)
{
	const _wa_cred_t *c;
	const _wa_rule_t *r;

	if(cred != NULL)
		memset(cred, 0, sizeof(*cred));
	if(p == NULL || cred == NULL || idx >= p->ncreds)
		return WA_POLICY_E_ARG;
	c = _WA_SEC(p, _wa_cred_t, p->creds) + idx;
	r = _WA_SEC(p, _wa_rule_t, p->rules) + c->rule;
	cred->rule_id = r->id.off ? _WA_STR(p, r->id) : "";
	cred->password = c->password.off ? _WA_STR(p, c->password) : NULL;
	cred->ha1 = c->ha1.off ? _WA_STR(p, c->ha1) : NULL;
	cred->ha1_sha256 = c->ha1_sha256.off ? _WA_STR(p, c->ha1_sha256) : NULL;
	cred->realm = c->realm.off ? _WA_STR(p, c->realm) : NULL;
	cred->tls = (c->flags & _WA_CRED_TLS) != 0;
	return 0;
}

/* -------------------------------------------------------- describe */

typedef struct _wa_out
{
	char *buf;
	size_t size;
	size_t len;
} _wa_out_t;

static void _wa_printf(_wa_out_t *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if(n < 0)
		return;
	if((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if(o->len < o->size)
		memcpy(o->buf + o->len, tmp,
				(size_t)n < o->size - o->len ? (size_t)n : o->size - o->len);
	o->len += (size_t)n;
}

/* a document string, quoted, anything unprintable as '?' */
static void _wa_quote(_wa_out_t *o, const wa_policy_t *p, _wa_sref_t r)
{
	const char *s = _WA_STR(p, r);
	uint32_t i;
	char c;

	_wa_printf(o, "\"");
	for(i = 0; i < r.len; i++) {
		c = s[i];
		if((unsigned char)c < 0x20 || (unsigned char)c > 0x7e || c == '"'
				|| c == '\\')
			c = '?';
		_wa_printf(o, "%c", c);
	}
	_wa_printf(o, "\"");
}

static void _wa_time(_wa_out_t *o, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if(gmtime_r(&tt, &tm) == NULL) {
		_wa_printf(o, "%lld", (long long)t);
		return;
	}
	_wa_printf(o, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void _wa_describe_cond(
		_wa_out_t *o, const wa_policy_t *p, const _wa_cond_t *c)
{
	const _wa_ident_t *d;
	const _wa_except_t *x;
	const _wa_sref_t *s;
	const _wa_valid_t *v;
	uint32_t i, k;

	switch(c->type) {
		case _WA_C_IDENTITY:
			_wa_printf(o, " identity(");
			d = _WA_SEC(p, _wa_ident_t, p->idents) + c->first;
			for(i = 0; i < c->count; i++, d++) {
				_wa_printf(o, "%s", i ? " | " : "");
				if(d->type == _WA_I_ONE) {
					_wa_printf(o, "one ");
					_wa_quote(o, p, d->val);
					continue;
				}
				_wa_printf(o, "many ");
				if(d->val.off)
					_wa_quote(o, p, d->val);
				else
					_wa_printf(o, "*");
				x = _WA_SEC(p, _wa_except_t, p->excepts) + d->exc_first;
				for(k = 0; k < d->exc_count; k++, x++) {
					_wa_printf(o, " except %s ",
							x->type == _WA_X_ID ? "id" : "domain");
					_wa_quote(o, p, x->val);
				}
				if(d->flags & _WA_I_UNKNOWN_CHILD)
					_wa_printf(o, " except unknown");
			}
			if(c->flags & _WA_C_UNKNOWN_CHILD)
				_wa_printf(o, "%sunknown", c->count ? " | " : "");
			_wa_printf(o, ")");
			break;
		case _WA_C_SPHERE:
			_wa_printf(o, " sphere(");
			s = _WA_SEC(p, _wa_sref_t, p->spheres) + c->first;
			for(i = 0; i < c->count; i++) {
				_wa_printf(o, "%s", i ? " " : "");
				_wa_quote(o, p, s[i]);
			}
			_wa_printf(o, ")");
			break;
		case _WA_C_VALIDITY:
			_wa_printf(o, " validity(");
			v = _WA_SEC(p, _wa_valid_t, p->valid) + c->first;
			for(i = 0; i < c->count; i++) {
				_wa_printf(o, "%s", i ? " " : "");
				_wa_time(o, v[i].from);
				_wa_printf(o, "..");
				_wa_time(o, v[i].until);
			}
			_wa_printf(o, ")");
			break;
		default:
			_wa_printf(o, " unknown-condition");
			break;
	}
}

int wa_policy_describe(const wa_policy_t *p, char *buf, size_t size)
{
	_wa_out_t o = {buf, size, 0};
	const _wa_rule_t *r;
	const _wa_cred_t *c;
	uint32_t i, j;

	if(p == NULL || p->magic != WA_POLICY_MAGIC) {
		if(buf && size)
			buf[0] = '\0';
		return WA_POLICY_E_ARG;
	}
	_wa_printf(&o, "rules: %u\n", (unsigned)p->nrules);
	r = _WA_SEC(p, _wa_rule_t, p->rules);
	for(i = 0; i < p->nrules; i++, r++) {
		_wa_printf(&o, "rule ");
		if(r->id.off)
			_wa_quote(&o, p, r->id);
		else
			_wa_printf(&o, "(no id)");
		_wa_printf(&o, ": if");
		if(r->cond_count == 0)
			_wa_printf(&o, " always");
		for(j = 0; j < r->cond_count; j++)
			_wa_describe_cond(&o, p,
					_WA_SEC(p, _wa_cond_t, p->conds) + r->cond_first + j);
		_wa_printf(&o, " then");
		if(r->sub_handling != WA_POLICY_SUB_NONE)
			_wa_printf(&o, " sub-handling=%s%s",
					wa_policy_sub_handling_str(r->sub_handling),
					(r->flags & _WA_R_SUB_UNKNOWN) ? "(unknown value)" : "");
		c = _WA_SEC(p, _wa_cred_t, p->creds) + r->cred_first;
		for(j = 0; j < r->cred_count; j++, c++)
			_wa_printf(&o, " authenticate(digest%s%s%s%s%s)",
					c->password.off ? " password" : "",
					c->ha1.off ? " ha1" : "",
					c->ha1_sha256.off ? " ha1-sha256" : "",
					c->realm.off ? " realm" : "",
					(c->flags & _WA_CRED_TLS) ? " tls" : "");
		if(r->flags & _WA_R_AUTH_UNKNOWN)
			_wa_printf(&o, " authenticate(unknown method)");
		if(r->flags & _WA_R_ENCRYPT)
			_wa_printf(&o, " encrypt");
		if(r->flags & _WA_R_UNKNOWN_ACTION)
			_wa_printf(&o, " unknown-ps-action");
		_wa_printf(&o, "\n");
	}
	if(size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT_MAX ? INT_MAX : (int)o.len;
}

/* ------------------------------------------------------------ names */

const char *wa_policy_strerror(int err)
{
	switch(err) {
		case WA_POLICY_OK:
			return "success";
		case WA_POLICY_E_ARG:
			return "invalid argument";
		case WA_POLICY_E_NOMEM:
			return "out of memory";
		case WA_POLICY_E_TOO_BIG:
			return "policy document too large";
		case WA_POLICY_E_DTD:
			return "DOCTYPE or entities not allowed in policy document";
		case WA_POLICY_E_PARSE:
			return "policy document is not well-formed UTF-8 XML";
		case WA_POLICY_E_TOO_DEEP:
			return "policy document nested too deeply";
		case WA_POLICY_E_ROOT:
			return "root element is not a common-policy ruleset";
		case WA_POLICY_E_TOO_MANY:
			return "too many rules";
		case WA_POLICY_E_IDENTITY:
			return "bad or missing identity id or domain";
		case WA_POLICY_E_SPHERE:
			return "sphere without value";
		case WA_POLICY_E_VALIDITY:
			return "bad validity interval or timestamp";
		case WA_POLICY_E_AUTH:
			return "bad authenticate credential or attribute";
		case WA_POLICY_E_CORRUPT:
			return "corrupt compiled policy";
		default:
			return "unknown error";
	}
}

const char *wa_policy_sub_handling_str(int sub_handling)
{
	switch(sub_handling) {
		case WA_POLICY_SUB_BLOCK:
			return "block";
		case WA_POLICY_SUB_CONFIRM:
			return "confirm";
		case WA_POLICY_SUB_POLITE_BLOCK:
			return "polite-block";
		case WA_POLICY_SUB_ALLOW:
			return "allow";
		default:
			return "none";
	}
}
