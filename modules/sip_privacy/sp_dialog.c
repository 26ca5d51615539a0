/*
 * sip_privacy: the dialog's privacy rule and the rewrites of the privacy
 * service (see sp_dialog.h). Nothing is allocated.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>


#include "sp_dialog.h"
#include "sp_hmac.h"
#include "sp_text.h"

#define _SP_DLG_IS_LWS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

/* The letters of a rule, in the order they are written. */
static const struct
{
	char letter;
	unsigned int bit;
} _sp_dlg_letters[] = {
		{'u', SP_PRIV_USER},
		{'h', SP_PRIV_HEADER},
		{'i', SP_PRIV_ID},
};

#define _SP_DLG_NLETTERS (sizeof(_sp_dlg_letters) / sizeof(_sp_dlg_letters[0]))

int sp_dlg_rule_encode(unsigned int mask, char *buf, size_t size)
{
	size_t i, n = 0;

	if(buf == NULL || size < SP_DLG_RULE_SIZE)
		return -1;
	for(i = 0; i < _SP_DLG_NLETTERS; i++) {
		if(mask & _sp_dlg_letters[i].bit)
			buf[n++] = _sp_dlg_letters[i].letter;
	}
	buf[n] = '\0';
	return (int)n;
}

unsigned int sp_dlg_rule_decode(const char *s, size_t len)
{
	unsigned int mask = 0;
	size_t i, j;

	if(s == NULL || len == 0 || len >= SP_DLG_RULE_SIZE)
		return SP_DLG_RULE_CAPS;
	for(i = 0; i < len; i++) {
		for(j = 0; j < _SP_DLG_NLETTERS; j++) {
			if(s[i] == _sp_dlg_letters[j].letter)
				break;
		}
		if(j == _SP_DLG_NLETTERS || (mask & _sp_dlg_letters[j].bit))
			return SP_DLG_RULE_CAPS; /* unknown or repeated */
		mask |= _sp_dlg_letters[j].bit;
	}
	return mask;
}

/* Appends a field preceded by its length, 4 bytes big-endian. */
static size_t _sp_dlg_field(
		unsigned char *buf, size_t pos, const void *s, size_t len)
{
	buf[pos++] = (unsigned char)(len >> 24);
	buf[pos++] = (unsigned char)(len >> 16);
	buf[pos++] = (unsigned char)(len >> 8);
	buf[pos++] = (unsigned char)len;
	if(len > 0)
		memcpy(buf + pos, s, len);
	return pos + len;
}

/* The MAC of a rule as SP_DLG_MAC_LEN hex digits into hex (NUL ended). */
static int _sp_dlg_mac(const char *rule, size_t rlen, const char *ftag,
		size_t flen, const char *cid, size_t clen, const unsigned char *key,
		size_t klen, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char data[4 * 4 + sizeof(SP_DLG_RR_PARAM) + SP_DLG_RULE_SIZE
					   + SP_DLG_MAX_TAG + SP_DLG_MAX_CALLID];
	unsigned char md[SP_HMAC_LEN];
	size_t pos = 0, i;

	if(key == NULL || klen == 0 || klen > 1024 || rlen >= SP_DLG_RULE_SIZE
			|| flen > SP_DLG_MAX_TAG || clen > SP_DLG_MAX_CALLID
			|| (flen > 0 && ftag == NULL) || (clen > 0 && cid == NULL))
		return -1;
	pos = _sp_dlg_field(
			data, pos, SP_DLG_RR_PARAM, sizeof(SP_DLG_RR_PARAM) - 1);
	pos = _sp_dlg_field(data, pos, rule, rlen);
	pos = _sp_dlg_field(data, pos, ftag, flen);
	pos = _sp_dlg_field(data, pos, cid, clen);
	if(sp_hmac_sha256(key, klen, data, pos, md) < 0)
		return -1;
	for(i = 0; i < SP_DLG_MAC_LEN / 2; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[SP_DLG_MAC_LEN] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int sp_dlg_param_make(unsigned int rule, const char *ftag, size_t flen,
		const char *cid, size_t clen, const unsigned char *key, size_t klen,
		char *out, size_t size)
{
	char letters[SP_DLG_RULE_SIZE];
	char hex[SP_DLG_MAC_LEN + 1];
	int n;

	if(out == NULL || size < SP_DLG_PARAM_SIZE)
		return -1;
	n = sp_dlg_rule_encode(rule, letters, sizeof(letters));
	if(n < 0)
		return -1;
	if(n == 0) {
		letters[0] = '-';
		letters[1] = '\0';
		n = 1;
	}
	if(_sp_dlg_mac(letters, n, ftag, flen, cid, clen, key, klen, hex) < 0)
		return -1;
	return snprintf(out, size, "%s.%s", letters, hex);
}

int sp_dlg_param_check(const char *val, size_t len, const char *ftag,
		size_t flen, const char *cid, size_t clen, const unsigned char *key,
		size_t klen, unsigned int *rule)
{
	char hex[SP_DLG_MAC_LEN + 1];
	size_t rlen;
	const char *dot;

	if(rule == NULL)
		return 0;
	*rule = SP_DLG_RULE_CAPS;
	if(val == NULL || len < 2 + SP_DLG_MAC_LEN)
		return 0;
	dot = val + len - SP_DLG_MAC_LEN - 1;
	if(*dot != '.')
		return 0;
	rlen = (size_t)(dot - val);
	if(rlen == 0 || rlen >= SP_DLG_RULE_SIZE)
		return 0;
	if(_sp_dlg_mac(val, rlen, ftag, flen, cid, clen, key, klen, hex) < 0)
		return 0;
	if(CRYPTO_memcmp(hex, dot + 1, SP_DLG_MAC_LEN) != 0)
		return 0;
	if(rlen == 1 && val[0] == '-') {
		*rule = 0;
		return 1;
	}
	*rule = sp_dlg_rule_decode(val, rlen);
	return 1;
}

int sp_dlg_sender_is_initiator(
		const char *tag, size_t tlen, const char *ftag, size_t flen)
{
	if(tag == NULL || tlen == 0 || ftag == NULL || flen == 0)
		return 1;
	/* tags compare byte for byte (RFC 3261 12.2.1.1 compares them as
	 * tokens, case-sensitive in practice: rr's is_direction() does too) */
	return tlen == flen && memcmp(tag, ftag, tlen) == 0;
}

unsigned int sp_dlg_extra(int is_request, size_t own_hdrs, unsigned int net,
		int has_rule, unsigned int rule, int sender_is_initiator)
{
	unsigned int extra = 0;

	if(is_request && own_hdrs == 0)
		extra |= net & SP_PRIV_FUNCTIONS;
	if(has_rule && sender_is_initiator)
		extra |= rule & SP_DLG_RULE_CAPS;
	return extra;
}

int sp_dlg_decide(const sp_priv_t *p, unsigned int extra, unsigned int caps,
		sp_priv_decision_t *d)
{
	sp_priv_t q;
	sp_priv_decision_t e;
	int rc;

	rc = sp_priv_decide(p, caps, d);
	if(rc != SP_PRIV_OK)
		return rc;
	extra &= SP_PRIV_FUNCTIONS;
	if(extra == 0)
		return SP_PRIV_OK;
	/* the extra privacy as if a well-formed Privacy had asked for it */
	memset(&q, 0, sizeof(q));
	q.mask = extra;
	q.headers = 1;
	rc = sp_priv_decide(&q, caps, &e);
	if(rc != SP_PRIV_OK)
		return rc;
	d->requested |= e.requested;
	d->provided |= e.provided;
	d->missing = (d->missing | e.missing) & ~d->provided;
	d->actions |= e.actions;
	return SP_PRIV_OK;
}

/* Appends `len` bytes to the NUL-terminated string in `buf`. */
static int _sp_dlg_add(
		char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	if(len >= size - *pos)
		return -1;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
	return 0;
}

int sp_priv_mask_format(unsigned int mask, char *buf, size_t size)
{
	static const unsigned int order[] = {
			SP_PRIV_ID, SP_PRIV_USER, SP_PRIV_HEADER};
	const char *name;
	size_t i, pos = 0;

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	for(i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if(!(mask & order[i]))
			continue;
		name = sp_priv_value_name(order[i]);
		if((pos > 0 && _sp_dlg_add(buf, size, &pos, ";", 1) < 0)
				|| _sp_dlg_add(buf, size, &pos, name, strlen(name)) < 0)
			return -1;
	}
	return (int)pos;
}

int sp_uri_strip_user(const char *uri, size_t len, char *out, size_t size)
{
	size_t scheme, i, at = len, pos = 0;

	if(uri == NULL || out == NULL || size == 0)
		return -1;
	if(len >= 4 && sp_text_ieq(uri, 4, "sip:", 4))
		scheme = 4;
	else if(len >= 5 && sp_text_ieq(uri, 5, "sips:", 5))
		scheme = 5;
	else
		return -1;
	for(i = scheme; i < len; i++) {
		if(uri[i] == '@')
			at = i;
	}
	if(at == len) {
		if(_sp_dlg_add(out, size, &pos, uri, len) < 0)
			return -1;
		return (int)pos;
	}
	if(at + 1 >= len)
		return -1;
	if(_sp_dlg_add(out, size, &pos, uri, scheme) < 0
			|| _sp_dlg_add(out, size, &pos, uri + at + 1, len - at - 1) < 0)
		return -1;
	return (int)pos;
}

int sp_optiontag_remove(const char *val, size_t len, const char *tag, char *out,
		size_t size, int *found)
{
	size_t i = 0, b, e, pos = 0, k, tlen;

	if(val == NULL || tag == NULL || out == NULL || size == 0 || found == NULL)
		return -1;
	*found = 0;
	out[0] = '\0';
	tlen = strlen(tag);
	for(;;) {
		b = i;
		while(i < len && val[i] != ',')
			i++;
		e = i;
		while(b < e && _SP_DLG_IS_LWS(val[b]))
			b++;
		while(e > b && _SP_DLG_IS_LWS(val[e - 1]))
			e--;
		if(e == b)
			return -1; /* empty option-tag */
		for(k = b; k < e; k++) {
			if(!sp_text_is_token((unsigned char)val[k]))
				return -1;
		}
		if(sp_text_ieq(val + b, e - b, tag, tlen)) {
			*found = 1;
		} else if((pos > 0 && _sp_dlg_add(out, size, &pos, ", ", 2) < 0)
				  || _sp_dlg_add(out, size, &pos, val + b, e - b) < 0) {
			return -1;
		}
		if(i >= len)
			break;
		i++; /* the ',' */
	}
	return (int)pos;
}
