/*
 * sip_privacy: the Privacy header (RFC 3323, RFC 3325 "id") and the
 * decision of a privacy service. See privacy.h for the decisions taken
 * where the RFCs leave room.
 *
 * Nothing is allocated: the parse result holds slices of the caller's
 * headers, the decision holds fixed-size strings sized for the longest
 * possible output.
 */
#include <stddef.h>
#include <string.h>

#include "privacy.h"
#include "sp_text.h"

#define _SP_PRIV_IS_LWS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

/* The known values; this order is also the order of the rewritten Privacy
 * ("critical" is written last, "none" never). */
static const struct
{
	const char *name;
	size_t len;
	unsigned int bit;
} _sp_priv_values[] = {
		{"user", 4, SP_PRIV_USER},
		{"header", 6, SP_PRIV_HEADER},
		{"session", 7, SP_PRIV_SESSION},
		{"id", 2, SP_PRIV_ID},
		{"critical", 8, SP_PRIV_CRITICAL},
		{"none", 4, SP_PRIV_NONE},
};

#define _SP_PRIV_NVALUES (sizeof(_sp_priv_values) / sizeof(_sp_priv_values[0]))

/* The headers "user" privacy removes: the informational headers RFC 3323
 * asks a UA to leave out of an anonymous request. */
static const char *const _sp_priv_user_hdrs[] = {"Subject", "s", "Call-Info",
		"Organization", "User-Agent", "Reply-To", "In-Reply-To"};

const char *sp_priv_strerror(int rc)
{
	switch(rc) {
		case SP_PRIV_OK:
			return "ok";
		case SP_PRIV_ERR_ARG:
			return "invalid argument";
		case SP_PRIV_ERR_TOO_LONG:
			return "Privacy header or value too long";
		case SP_PRIV_ERR_TOO_MANY:
			return "too many Privacy headers or unknown values";
		case SP_PRIV_ERR_EMPTY:
			return "empty Privacy value";
		case SP_PRIV_ERR_SYNTAX:
			return "Privacy value is not a token";
		case SP_PRIV_ERR_NONE_MIXED:
			return "Privacy none with other values";
		case SP_PRIV_ERR_SPACE:
			return "output buffer too small";
	}
	return "unknown error";
}


const char *sp_priv_value_name(unsigned int bit)
{
	size_t i;

	for(i = 0; i < _SP_PRIV_NVALUES; i++) {
		if(_sp_priv_values[i].bit == bit)
			return _sp_priv_values[i].name;
	}
	return NULL;
}

/* One priv-value, LWS already trimmed. */
static int _sp_priv_item(const char *s, size_t len, sp_priv_t *p)
{
	size_t i;

	if(len == 0)
		return SP_PRIV_ERR_EMPTY;
	for(i = 0; i < len; i++) {
		if(!sp_text_is_token((unsigned char)s[i]))
			return SP_PRIV_ERR_SYNTAX;
	}
	if(len > SP_PRIV_MAX_TOKEN_LEN)
		return SP_PRIV_ERR_TOO_LONG;
	for(i = 0; i < _SP_PRIV_NVALUES; i++) {
		if(sp_text_ieq(
				   s, len, _sp_priv_values[i].name, _sp_priv_values[i].len)) {
			p->mask |= _sp_priv_values[i].bit;
			return SP_PRIV_OK;
		}
	}
	p->unknown++;
	for(i = 0; i < p->nunk; i++) {
		if(sp_text_ieq(s, len, p->unk[i].s, p->unk[i].len))
			return SP_PRIV_OK;
	}
	if(p->nunk == SP_PRIV_MAX_UNKNOWN)
		return SP_PRIV_ERR_TOO_MANY;
	p->unk[p->nunk].s = s;
	p->unk[p->nunk].len = len;
	p->nunk++;
	return SP_PRIV_OK;
}

/* One header value: priv-values separated by ';', each with LWS around. */
static int _sp_priv_hdr(const char *s, size_t len, sp_priv_t *p)
{
	size_t i = 0, b, e;
	int rc = SP_PRIV_OK, r;

	if(len == 0)
		return SP_PRIV_ERR_EMPTY;
	if(s == NULL)
		return SP_PRIV_ERR_ARG;
	if(len > SP_PRIV_MAX_HDR_LEN)
		return SP_PRIV_ERR_TOO_LONG;
	for(;;) {
		b = i;
		while(i < len && s[i] != ';')
			i++;
		e = i;
		while(b < e && _SP_PRIV_IS_LWS(s[b]))
			b++;
		while(e > b && _SP_PRIV_IS_LWS(s[e - 1]))
			e--;
		r = _sp_priv_item(s + b, e - b, p);
		if(r != SP_PRIV_OK && rc == SP_PRIV_OK)
			rc = r;
		if(i >= len)
			break;
		i++; /* the ';' */
	}
	return rc;
}

int sp_priv_parse(const sp_str_t *hdrs, size_t n, sp_priv_t *p)
{
	size_t i;
	int rc = SP_PRIV_OK, r;

	if(p == NULL)
		return SP_PRIV_ERR_ARG;
	memset(p, 0, sizeof(*p));
	p->headers = n;
	if(hdrs == NULL && n > 0) {
		p->unparsable = 1;
		return SP_PRIV_ERR_ARG;
	}
	if(n > SP_PRIV_MAX_HDRS) {
		rc = SP_PRIV_ERR_TOO_MANY;
		n = SP_PRIV_MAX_HDRS;
	}
	for(i = 0; i < n; i++) {
		r = _sp_priv_hdr(hdrs[i].s, hdrs[i].len, p);
		if(r != SP_PRIV_OK && rc == SP_PRIV_OK)
			rc = r;
	}
	if((p->mask & SP_PRIV_NONE)
			&& ((p->mask & ~SP_PRIV_NONE) != 0 || p->unknown > 0)) {
		p->contradictory = 1;
		if(rc == SP_PRIV_OK)
			rc = SP_PRIV_ERR_NONE_MIXED;
	}
	if(rc != SP_PRIV_OK)
		p->unparsable = 1;
	return rc;
}

unsigned int sp_priv_requested(const sp_priv_t *p)
{
	if(p == NULL)
		return SP_PRIV_UNPARSABLE_REQUEST;
	if(p->headers == 0)
		return 0;
	if(p->unparsable)
		return (p->mask & ~SP_PRIV_NONE) | SP_PRIV_UNPARSABLE_REQUEST;
	return p->mask;
}

/* Appends `len` bytes to the NUL-terminated string in `buf`. */
static int _sp_priv_add(
		char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	if(len >= size - *pos)
		return SP_PRIV_ERR_SPACE;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
	return SP_PRIV_OK;
}

/* Appends `s` after `sep` unless it is the first item. */
static int _sp_priv_add_item(char *buf, size_t size, size_t *pos, size_t start,
		const char *sep, const char *s, size_t len)
{
	int rc;

	if(*pos > start) {
		rc = _sp_priv_add(buf, size, pos, sep, strlen(sep));
		if(rc != SP_PRIV_OK)
			return rc;
	}
	return _sp_priv_add(buf, size, pos, s, len);
}

/* The reason phrase of a refusal. */
static int _sp_priv_reason(
		const sp_priv_t *p, unsigned int missing, char *buf, size_t size)
{
	size_t i, pos = 0, start;
	int rc;

	rc = _sp_priv_add(buf, size, &pos, SP_PRIV_REASON_PREFIX,
			sizeof(SP_PRIV_REASON_PREFIX) - 1);
	start = pos;
	for(i = 0; rc == SP_PRIV_OK && i < _SP_PRIV_NVALUES; i++) {
		if(missing & _sp_priv_values[i].bit)
			rc = _sp_priv_add_item(buf, size, &pos, start, ", ",
					_sp_priv_values[i].name, _sp_priv_values[i].len);
	}
	for(i = 0; rc == SP_PRIV_OK && i < p->nunk; i++)
		rc = _sp_priv_add_item(
				buf, size, &pos, start, ", ", p->unk[i].s, p->unk[i].len);
	if(rc == SP_PRIV_OK && p->unparsable)
		rc = _sp_priv_add_item(buf, size, &pos, start, ", ",
				SP_PRIV_REASON_UNPARSABLE,
				sizeof(SP_PRIV_REASON_UNPARSABLE) - 1);
	return rc;
}

/* The Privacy value left after the service: `keep` known values, the
 * unknown ones, "critical" when asked for. */
static int _sp_priv_value(const sp_priv_t *p, unsigned int keep, int critical,
		char *buf, size_t size)
{
	size_t i, pos = 0;
	int rc = SP_PRIV_OK;

	buf[0] = '\0';
	for(i = 0; rc == SP_PRIV_OK && i < _SP_PRIV_NVALUES; i++) {
		if(keep & _sp_priv_values[i].bit & SP_PRIV_FUNCTIONS)
			rc = _sp_priv_add_item(buf, size, &pos, 0, ";",
					_sp_priv_values[i].name, _sp_priv_values[i].len);
	}
	for(i = 0; rc == SP_PRIV_OK && i < p->nunk; i++)
		rc = _sp_priv_add_item(
				buf, size, &pos, 0, ";", p->unk[i].s, p->unk[i].len);
	if(rc == SP_PRIV_OK && critical)
		rc = _sp_priv_add_item(buf, size, &pos, 0, ";", "critical", 8);
	return rc;
}

int sp_priv_decide(const sp_priv_t *p, unsigned int caps, sp_priv_decision_t *d)
{
	unsigned int keep, removed;
	int critical, rc;

	if(d == NULL)
		return SP_PRIV_ERR_ARG;
	memset(d, 0, sizeof(*d));
	if(p == NULL)
		return SP_PRIV_ERR_ARG;

	d->requested = sp_priv_requested(p);
	d->provided = d->requested & caps & SP_PRIV_FUNCTIONS;
	d->missing = d->requested & ~caps & SP_PRIV_FUNCTIONS;
	critical = (d->requested & SP_PRIV_CRITICAL) != 0;

	if(d->provided & SP_PRIV_USER)
		d->actions |= SP_PRIV_ACT_ANON_FROM | SP_PRIV_ACT_RM_USER_HDRS;
	if(d->provided & SP_PRIV_HEADER)
		d->actions |= SP_PRIV_ACT_HIDE_TOPOLOGY;
	if(d->provided & SP_PRIV_ID)
		d->actions |= SP_PRIV_ACT_PAI_PRIVATE;
	if(d->provided & SP_PRIV_SESSION)
		d->actions |= SP_PRIV_ACT_ANON_SESSION;

	if(critical && (d->missing != 0 || p->unknown > 0 || p->unparsable)) {
		d->refuse = 1;
		rc = _sp_priv_reason(p, d->missing, d->reason, sizeof(d->reason));
		if(rc != SP_PRIV_OK)
			return rc;
	}

	/* the Privacy header(s) to forward */
	if(p->headers == 0 || p->unparsable || d->requested == SP_PRIV_NONE)
		return SP_PRIV_OK; /* KEEP */
	keep = d->missing | (d->requested & SP_PRIV_ID);
	removed = d->provided & ~SP_PRIV_ID;
	if(keep == 0 && p->nunk == 0) {
		d->hdr_op = SP_PRIV_HDR_REMOVE;
		d->drop_proxy_require = 1;
		return SP_PRIV_OK;
	}
	if(removed == 0)
		return SP_PRIV_OK; /* KEEP: nothing satisfied that goes */
	d->hdr_op = SP_PRIV_HDR_REPLACE;
	return _sp_priv_value(p, keep, critical, d->value, sizeof(d->value));
}

int sp_priv_user_hdr(const char *name, size_t len)
{
	size_t i;

	if(name == NULL)
		return 0;
	for(i = 0; i < sizeof(_sp_priv_user_hdrs) / sizeof(_sp_priv_user_hdrs[0]);
			i++) {
		if(sp_text_ieq(name, len, _sp_priv_user_hdrs[i],
				   strlen(_sp_priv_user_hdrs[i])))
			return 1;
	}
	return 0;
}

int sp_priv_hdr_remove(unsigned int actions, const char *name, size_t len)
{
	return (actions & SP_PRIV_ACT_RM_USER_HDRS) != 0
		   && sp_priv_user_hdr(name, len);
}
