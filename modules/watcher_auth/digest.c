/*
 * watcher_auth: HTTP Digest for SIP watchers (RFC 7616, RFC 8760).
 *
 * Hashing is OpenSSL 3 EVP. Every value that enters a hash is streamed into
 * the digest context with its quoted-pairs undone, so the parser can hand
 * out slices of the header and nothing is copied. Buffers that held HA1
 * material are wiped before they go out of scope. On an OpenSSL failure the
 * error queue is left for the caller to log and drain.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "digest.h"

#define _WA_DIGEST_IS_WS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

static const char *const _wa_digest_alg_names[WA_DIGEST_ALG_COUNT] = {
		"MD5", "MD5-sess", "SHA-256", "SHA-256-sess"};

/* The parameters the parser knows; any other is ignored. */
enum _wa_digest_param
{
	_WA_P_USERNAME = 0,
	_WA_P_REALM,
	_WA_P_NONCE,
	_WA_P_URI,
	_WA_P_RESPONSE,
	_WA_P_ALGORITHM,
	_WA_P_CNONCE,
	_WA_P_OPAQUE,
	_WA_P_QOP,
	_WA_P_NC,
	_WA_P_USERHASH,
	_WA_P_USERNAME_STAR,
	_WA_P_COUNT
};

#define _WA_P_NO_SLOT ((size_t)-1)

static const struct
{
	const char *name;
	size_t off; /* of the slice in wa_digest_cred_t */
} _wa_digest_params[_WA_P_COUNT] = {
		{"username", offsetof(wa_digest_cred_t, username)},
		{"realm", offsetof(wa_digest_cred_t, realm)},
		{"nonce", offsetof(wa_digest_cred_t, nonce)},
		{"uri", offsetof(wa_digest_cred_t, uri)},
		{"response", offsetof(wa_digest_cred_t, response)},
		{"algorithm", offsetof(wa_digest_cred_t, algorithm)},
		{"cnonce", offsetof(wa_digest_cred_t, cnonce)},
		{"opaque", offsetof(wa_digest_cred_t, opaque)},
		{"qop", offsetof(wa_digest_cred_t, qop)},
		{"nc", offsetof(wa_digest_cred_t, nc)},
		{"userhash", _WA_P_NO_SLOT},
		{"username*", _WA_P_NO_SLOT},
};

const char *wa_digest_strerror(int rc)
{
	switch(rc) {
		case WA_DIGEST_OK:
			return "ok";
		case WA_DIGEST_ERR_ARG:
			return "invalid argument";
		case WA_DIGEST_ERR_TOO_LONG:
			return "header or parameter value too long";
		case WA_DIGEST_ERR_SCHEME:
			return "authorization scheme is not Digest";
		case WA_DIGEST_ERR_SYNTAX:
			return "malformed digest credentials";
		case WA_DIGEST_ERR_DUPLICATE:
			return "duplicate digest parameter";
		case WA_DIGEST_ERR_NO_USERNAME:
			return "username missing";
		case WA_DIGEST_ERR_NO_REALM:
			return "realm missing";
		case WA_DIGEST_ERR_NO_NONCE:
			return "nonce missing";
		case WA_DIGEST_ERR_NO_URI:
			return "uri missing";
		case WA_DIGEST_ERR_NO_RESPONSE:
			return "response missing";
		case WA_DIGEST_ERR_NO_CNONCE:
			return "cnonce missing";
		case WA_DIGEST_ERR_NO_NC:
			return "nc missing";
		case WA_DIGEST_ERR_BAD_NC:
			return "nc is not 8 hex digits";
		case WA_DIGEST_ERR_BAD_QOP:
			return "unknown qop";
		case WA_DIGEST_ERR_QOP_UNSUPPORTED:
			return "qop auth-int not supported";
		case WA_DIGEST_ERR_BAD_ALGORITHM:
			return "unknown algorithm";
		case WA_DIGEST_ERR_BAD_RESPONSE:
			return "response is not a digest of the algorithm";
		case WA_DIGEST_ERR_BAD_USERHASH:
			return "userhash is neither true nor false";
		case WA_DIGEST_ERR_USERNAME_STAR:
			return "username* not supported";
		case WA_DIGEST_ERR_BAD_HA1:
			return "stored HA1 malformed";
		case WA_DIGEST_ERR_NO_SECRET:
			return "no stored credential for the algorithm";
		case WA_DIGEST_ERR_USERNAME:
			return "username not the expected one";
		case WA_DIGEST_ERR_REALM:
			return "realm not the expected one";
		case WA_DIGEST_ERR_CRYPTO:
			return "crypto library failure";
		case WA_DIGEST_ERR_MISMATCH:
			return "wrong response";
	}
	return "unknown error";
}

static char _wa_digest_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* `len` bytes at `s` are exactly `lit`, ASCII case-insensitive. */
static int _wa_digest_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for(i = 0; i < len; i++) {
		if(lit[i] == '\0' || _wa_digest_lower(s[i]) != _wa_digest_lower(lit[i]))
			return 0;
	}
	return lit[len] == '\0';
}

static int _wa_digest_is_hex(const char *s, size_t len)
{
	size_t i;

	for(i = 0; i < len; i++) {
		char c = _wa_digest_lower(s[i]);
		if(!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

/* RFC 3261 token characters. */
static int _wa_digest_is_token(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	switch(c) {
		case '-':
		case '.':
		case '!':
		case '%':
		case '*':
		case '_':
		case '+':
		case '`':
		case '\'':
		case '~':
			return 1;
	}
	return 0;
}

/* The next byte of a slice's value, quoted-pairs undone; 0 at the end. */
static int _wa_digest_next(const wa_digest_str_t *v, size_t *i, char *c)
{
	if(*i >= v->len)
		return 0;
	if(v->esc && v->s[*i] == '\\' && *i + 1 < v->len)
		(*i)++;
	*c = v->s[*i];
	(*i)++;
	return 1;
}

/* The values of two slices are equal (not constant time: not for secrets). */
static int _wa_digest_equal(const wa_digest_str_t *a, const wa_digest_str_t *b)
{
	size_t i = 0, j = 0;
	char ca = 0, cb = 0;
	int ra, rb;

	for(;;) {
		ra = _wa_digest_next(a, &i, &ca);
		rb = _wa_digest_next(b, &j, &cb);
		if(ra != rb)
			return 0;
		if(!ra)
			return 1;
		if(ca != cb)
			return 0;
	}
}

static int _wa_digest_str_valid(const wa_digest_str_t *v)
{
	return v != NULL && v->s != NULL;
}

int wa_digest_str_equal(const wa_digest_str_t *v, const char *s, size_t len)
{
	wa_digest_str_t b = {s, len, 0};

	if(!_wa_digest_str_valid(v) || (s == NULL && len > 0))
		return 0;
	return _wa_digest_equal(v, &b);
}

int wa_digest_unq(const wa_digest_str_t *v, char *buf, size_t size)
{
	size_t i = 0, n = 0;
	char c;

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if(v == NULL || (v->s == NULL && v->len > 0) || v->len > INT_MAX)
		return -1;
	while(_wa_digest_next(v, &i, &c)) {
		if(n + 1 >= size) {
			buf[0] = '\0';
			return -1;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

void wa_digest_hex_wipe(wa_digest_hex_t *h)
{
	if(h != NULL)
		OPENSSL_cleanse(h, sizeof(*h));
}

int wa_digest_alg_parse(const char *s, size_t len, wa_digest_alg_t *alg)
{
	int i;

	if(s == NULL || alg == NULL)
		return WA_DIGEST_ERR_BAD_ALGORITHM;
	for(i = 0; i < WA_DIGEST_ALG_COUNT; i++) {
		if(_wa_digest_ieq(s, len, _wa_digest_alg_names[i])) {
			*alg = (wa_digest_alg_t)i;
			return WA_DIGEST_OK;
		}
	}
	return WA_DIGEST_ERR_BAD_ALGORITHM;
}

static int _wa_digest_alg_valid(wa_digest_alg_t alg)
{
	return (int)alg >= 0 && alg < WA_DIGEST_ALG_COUNT;
}

const char *wa_digest_alg_name(wa_digest_alg_t alg)
{
	return _wa_digest_alg_valid(alg) ? _wa_digest_alg_names[alg] : NULL;
}

size_t wa_digest_alg_hexlen(wa_digest_alg_t alg)
{
	switch(alg) {
		case WA_DIGEST_ALG_MD5:
		case WA_DIGEST_ALG_MD5_SESS:
			return 32;
		case WA_DIGEST_ALG_SHA256:
		case WA_DIGEST_ALG_SHA256_SESS:
			return 64;
		default:
			return 0;
	}
}

int wa_digest_alg_is_sess(wa_digest_alg_t alg)
{
	return alg == WA_DIGEST_ALG_MD5_SESS || alg == WA_DIGEST_ALG_SHA256_SESS;
}

static const EVP_MD *_wa_digest_md(wa_digest_alg_t alg)
{
	switch(alg) {
		case WA_DIGEST_ALG_MD5:
		case WA_DIGEST_ALG_MD5_SESS:
			return EVP_md5();
		case WA_DIGEST_ALG_SHA256:
		case WA_DIGEST_ALG_SHA256_SESS:
			return EVP_sha256();
		default:
			return NULL;
	}
}

int wa_digest_ha1_check(wa_digest_alg_t alg, const char *s, size_t len)
{
	size_t hexlen = wa_digest_alg_hexlen(alg);

	if(s == NULL || hexlen == 0 || len != hexlen || !_wa_digest_is_hex(s, len))
		return WA_DIGEST_ERR_BAD_HA1;
	return WA_DIGEST_OK;
}

static int _wa_digest_ha1_usable(
		wa_digest_alg_t alg, const wa_digest_str_t *ha1)
{
	return _wa_digest_str_valid(ha1) && !ha1->esc
		   && wa_digest_ha1_check(alg, ha1->s, ha1->len) == WA_DIGEST_OK;
}

unsigned int wa_digest_secret_algs(const wa_digest_secret_t *secret)
{
	unsigned int algs = 0;

	if(secret == NULL)
		return 0;
	if(_wa_digest_str_valid(&secret->password))
		algs |= WA_DIGEST_ALGS_MD5 | WA_DIGEST_ALGS_SHA256;
	if(_wa_digest_ha1_usable(WA_DIGEST_ALG_MD5, &secret->ha1))
		algs |= WA_DIGEST_ALGS_MD5;
	if(_wa_digest_ha1_usable(WA_DIGEST_ALG_SHA256, &secret->ha1_sha256))
		algs |= WA_DIGEST_ALGS_SHA256;
	return algs;
}

/* Feeds the value of a slice, quoted-pairs undone, into the digest. */
static int _wa_digest_update(EVP_MD_CTX *ctx, const wa_digest_str_t *v)
{
	size_t i, start = 0;

	if(v->esc) {
		for(i = 0; i < v->len; i++) {
			if(v->s[i] != '\\' || i + 1 >= v->len)
				continue;
			if(i > start && EVP_DigestUpdate(ctx, v->s + start, i - start) != 1)
				return 0;
			i++; /* the escaped byte starts the next run */
			start = i;
		}
	}
	if(v->len > start
			&& EVP_DigestUpdate(ctx, v->s + start, v->len - start) != 1)
		return 0;
	return 1;
}

/* out = lowercase hex of H(parts[0] ":" parts[1] ":" ... parts[n-1]). */
static int _wa_digest_hash(wa_digest_alg_t alg, const wa_digest_str_t *parts,
		int n, wa_digest_hex_t *out)
{
	static const char hexd[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0, i;
	int k, ret = WA_DIGEST_ERR_CRYPTO;

	md = _wa_digest_md(alg);
	if(md == NULL)
		return WA_DIGEST_ERR_ARG;
	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if(ctx == NULL)
		goto out;
	if(EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	for(k = 0; k < n; k++) {
		if(k > 0 && EVP_DigestUpdate(ctx, ":", 1) != 1)
			goto out;
		if(!_wa_digest_update(ctx, &parts[k]))
			goto out;
	}
	if(EVP_DigestFinal_ex(ctx, d, &dlen) != 1)
		goto out;
	if((size_t)dlen * 2 != wa_digest_alg_hexlen(alg))
		goto out;
	for(i = 0; i < dlen; i++) {
		out->s[2 * i] = hexd[d[i] >> 4];
		out->s[2 * i + 1] = hexd[d[i] & 0x0f];
	}
	out->s[2 * dlen] = '\0';
	out->len = 2 * (size_t)dlen;
	ret = WA_DIGEST_OK;
out:
	OPENSSL_cleanse(d, sizeof(d));
	EVP_MD_CTX_free(ctx); /* cleanses its state */
	if(ret != WA_DIGEST_OK)
		wa_digest_hex_wipe(out);
	return ret;
}

int wa_digest_ha1(wa_digest_alg_t alg, const wa_digest_str_t *username,
		const wa_digest_str_t *realm, const wa_digest_str_t *password,
		wa_digest_hex_t *out)
{
	wa_digest_str_t parts[3];

	if(out == NULL)
		return WA_DIGEST_ERR_ARG;
	if(!_wa_digest_alg_valid(alg) || !_wa_digest_str_valid(username)
			|| !_wa_digest_str_valid(realm) || !_wa_digest_str_valid(password))
		return WA_DIGEST_ERR_ARG;
	parts[0] = *username;
	parts[1] = *realm;
	parts[2] = *password;
	return _wa_digest_hash(alg, parts, 3, out);
}

int wa_digest_userhash(wa_digest_alg_t alg, const wa_digest_str_t *username,
		const wa_digest_str_t *realm, wa_digest_hex_t *out)
{
	wa_digest_str_t parts[2];

	if(out == NULL)
		return WA_DIGEST_ERR_ARG;
	if(!_wa_digest_alg_valid(alg) || !_wa_digest_str_valid(username)
			|| !_wa_digest_str_valid(realm))
		return WA_DIGEST_ERR_ARG;
	parts[0] = *username;
	parts[1] = *realm;
	return _wa_digest_hash(alg, parts, 2, out);
}

/* Lowercases a hex digest of `alg`'s length into `out`. */
static int _wa_digest_hex_norm(
		wa_digest_alg_t alg, const wa_digest_str_t *in, wa_digest_hex_t *out)
{
	size_t i, hexlen = wa_digest_alg_hexlen(alg);

	if(!_wa_digest_str_valid(in) || in->esc || hexlen == 0 || in->len != hexlen
			|| !_wa_digest_is_hex(in->s, in->len))
		return -1;
	for(i = 0; i < hexlen; i++)
		out->s[i] = _wa_digest_lower(in->s[i]);
	out->s[hexlen] = '\0';
	out->len = hexlen;
	return 0;
}

int wa_digest_response(const wa_digest_calc_t *calc, const wa_digest_str_t *ha1,
		wa_digest_hex_t *out)
{
	wa_digest_hex_t h1, sh1, h2;
	wa_digest_str_t parts[6];
	int ret = WA_DIGEST_ERR_ARG;

	memset(&h1, 0, sizeof(h1));
	memset(&sh1, 0, sizeof(sh1));
	memset(&h2, 0, sizeof(h2));
	if(calc == NULL || out == NULL || !_wa_digest_alg_valid(calc->alg))
		goto out;
	if(!_wa_digest_str_valid(&calc->nonce)
			|| !_wa_digest_str_valid(&calc->method)
			|| !_wa_digest_str_valid(&calc->uri))
		goto out;
	if(calc->qop.s != NULL) {
		if(calc->qop.esc
				|| !_wa_digest_ieq(calc->qop.s, calc->qop.len, "auth")) {
			ret = WA_DIGEST_ERR_BAD_QOP;
			goto out;
		}
		if(calc->nc.s == NULL) {
			ret = WA_DIGEST_ERR_NO_NC;
			goto out;
		}
	}
	if((calc->qop.s != NULL || wa_digest_alg_is_sess(calc->alg))
			&& calc->cnonce.s == NULL) {
		ret = WA_DIGEST_ERR_NO_CNONCE;
		goto out;
	}
	if(_wa_digest_hex_norm(calc->alg, ha1, &h1) < 0) {
		ret = WA_DIGEST_ERR_BAD_HA1;
		goto out;
	}
	if(wa_digest_alg_is_sess(calc->alg)) {
		/* RFC 7616 3.4.2: HA1 = H(H(user:realm:pass) ":" nonce ":" cnonce) */
		parts[0] = (wa_digest_str_t){h1.s, h1.len, 0};
		parts[1] = calc->nonce;
		parts[2] = calc->cnonce;
		ret = _wa_digest_hash(calc->alg, parts, 3, &sh1);
		if(ret != WA_DIGEST_OK)
			goto out;
		h1 = sh1;
	}
	parts[0] = calc->method;
	parts[1] = calc->uri;
	ret = _wa_digest_hash(calc->alg, parts, 2, &h2);
	if(ret != WA_DIGEST_OK)
		goto out;
	parts[0] = (wa_digest_str_t){h1.s, h1.len, 0};
	parts[1] = calc->nonce;
	if(calc->qop.s != NULL) {
		parts[2] = calc->nc;
		parts[3] = calc->cnonce;
		parts[4] = calc->qop;
		parts[5] = (wa_digest_str_t){h2.s, h2.len, 0};
		ret = _wa_digest_hash(calc->alg, parts, 6, out);
	} else {
		parts[2] = (wa_digest_str_t){h2.s, h2.len, 0};
		ret = _wa_digest_hash(calc->alg, parts, 3, out);
	}
out:
	wa_digest_hex_wipe(&h1);
	wa_digest_hex_wipe(&sh1);
	wa_digest_hex_wipe(&h2);
	return ret;
}

int wa_digest_verify(const wa_digest_calc_t *calc, const wa_digest_str_t *ha1,
		const wa_digest_str_t *response)
{
	wa_digest_hex_t want, got;
	int ret = WA_DIGEST_ERR_ARG;

	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	if(calc == NULL || !_wa_digest_alg_valid(calc->alg))
		goto out;
	/* the length check first: CRYPTO_memcmp compares equal lengths */
	if(_wa_digest_hex_norm(calc->alg, response, &got) < 0) {
		ret = WA_DIGEST_ERR_BAD_RESPONSE;
		goto out;
	}
	ret = wa_digest_response(calc, ha1, &want);
	if(ret != WA_DIGEST_OK)
		goto out;
	ret = (want.len == got.len && CRYPTO_memcmp(want.s, got.s, got.len) == 0)
				  ? WA_DIGEST_OK
				  : WA_DIGEST_ERR_MISMATCH;
out:
	wa_digest_hex_wipe(&want);
	wa_digest_hex_wipe(&got);
	return ret;
}

int wa_digest_check(const wa_digest_cred_t *cred, const wa_digest_str_t *method,
		const wa_digest_str_t *username, const wa_digest_str_t *realm,
		const wa_digest_secret_t *secret)
{
	wa_digest_hex_t ha1, uh, got;
	wa_digest_str_t h;
	wa_digest_calc_t calc;
	const wa_digest_str_t *stored;
	int ret = WA_DIGEST_ERR_ARG;

	memset(&ha1, 0, sizeof(ha1));
	memset(&uh, 0, sizeof(uh));
	memset(&got, 0, sizeof(got));
	if(cred == NULL || secret == NULL || !_wa_digest_str_valid(method)
			|| !_wa_digest_str_valid(username) || !_wa_digest_str_valid(realm)
			|| !_wa_digest_alg_valid(cred->alg))
		goto out;

	if(cred->userhash) {
		ret = wa_digest_userhash(cred->alg, username, realm, &uh);
		if(ret != WA_DIGEST_OK)
			goto out;
		if(_wa_digest_hex_norm(cred->alg, &cred->username, &got) < 0
				|| CRYPTO_memcmp(uh.s, got.s, uh.len) != 0) {
			ret = WA_DIGEST_ERR_USERNAME;
			goto out;
		}
	} else if(!_wa_digest_equal(&cred->username, username)) {
		ret = WA_DIGEST_ERR_USERNAME;
		goto out;
	}
	if(!_wa_digest_equal(&cred->realm, realm)) {
		ret = WA_DIGEST_ERR_REALM;
		goto out;
	}

	if(!(wa_digest_secret_algs(secret) & WA_DIGEST_ALG_BIT(cred->alg))) {
		ret = WA_DIGEST_ERR_NO_SECRET;
		goto out;
	}
	stored = (wa_digest_alg_hexlen(cred->alg) == 64) ? &secret->ha1_sha256
													 : &secret->ha1;
	if(_wa_digest_ha1_usable(cred->alg, stored)) {
		h = *stored;
	} else {
		/* HA1 over the expected username: with userhash the header's
		 * username is a hash of it */
		ret = wa_digest_ha1(
				cred->alg, username, realm, &secret->password, &ha1);
		if(ret != WA_DIGEST_OK)
			goto out;
		h = (wa_digest_str_t){ha1.s, ha1.len, 0};
	}

	calc.alg = cred->alg;
	calc.nonce = cred->nonce;
	calc.nc = cred->nc;
	calc.cnonce = cred->cnonce;
	calc.qop = cred->qop;
	calc.method = *method;
	calc.uri = cred->uri;
	ret = wa_digest_verify(&calc, &h, &cred->response);
out:
	wa_digest_hex_wipe(&ha1);
	wa_digest_hex_wipe(&uh);
	wa_digest_hex_wipe(&got);
	return ret;
}

static int _wa_digest_param_index(const char *name, size_t len)
{
	int i;

	for(i = 0; i < _WA_P_COUNT; i++) {
		if(_wa_digest_ieq(name, len, _wa_digest_params[i].name))
			return i;
	}
	return -1;
}

/* A byte allowed in a quoted-string (RFC 3261 qdtext, no line folding):
 * HTAB, visible ASCII, space, UTF-8 octets. */
static int _wa_digest_is_qdtext(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Reads `name = value` at *pp; the value slice goes to *val. */
static int _wa_digest_param_scan(const char **pp, const char *end,
		const char **name, size_t *nlen, wa_digest_str_t *val)
{
	const char *p = *pp;
	unsigned char c;

	*name = p;
	while(p < end && _wa_digest_is_token((unsigned char)*p))
		p++;
	*nlen = (size_t)(p - *name);
	if(*nlen == 0)
		return WA_DIGEST_ERR_SYNTAX;
	while(p < end && _WA_DIGEST_IS_WS(*p))
		p++;
	if(p >= end || *p != '=')
		return WA_DIGEST_ERR_SYNTAX;
	p++;
	while(p < end && _WA_DIGEST_IS_WS(*p))
		p++;
	if(p >= end)
		return WA_DIGEST_ERR_SYNTAX;

	val->esc = 0;
	if(*p == '"') {
		p++;
		val->s = p;
		for(;;) {
			if(p >= end)
				return WA_DIGEST_ERR_SYNTAX; /* unterminated */
			c = (unsigned char)*p;
			if(c == '"')
				break;
			if(c == '\\') {
				/* quoted-pair: an ASCII byte, here no control but HTAB */
				if(p + 1 >= end)
					return WA_DIGEST_ERR_SYNTAX;
				c = (unsigned char)p[1];
				if(c >= 0x80 || !_wa_digest_is_qdtext(c))
					return WA_DIGEST_ERR_SYNTAX;
				val->esc = 1;
				p += 2;
				continue;
			}
			if(!_wa_digest_is_qdtext(c))
				return WA_DIGEST_ERR_SYNTAX;
			p++;
		}
		val->len = (size_t)(p - val->s);
		p++; /* the closing quote */
	} else {
		val->s = p;
		while(p < end && _wa_digest_is_token((unsigned char)*p))
			p++;
		val->len = (size_t)(p - val->s);
		if(val->len == 0)
			return WA_DIGEST_ERR_SYNTAX;
	}
	if(val->len > WA_DIGEST_MAX_VALUE_LEN)
		return WA_DIGEST_ERR_TOO_LONG;
	*pp = p;
	return WA_DIGEST_OK;
}

/* The parameter list: every known parameter into its slot, once. */
static int _wa_digest_scan(const char *s, size_t len, wa_digest_cred_t *cred,
		wa_digest_str_t *userhash, unsigned int *seen)
{
	const char *p = s, *end = s + len, *name;
	size_t nlen;
	wa_digest_str_t val;
	int idx, sep, rc;

	while(p < end && _WA_DIGEST_IS_WS(*p))
		p++;
	name = p;
	while(p < end && _wa_digest_is_token((unsigned char)*p))
		p++;
	if(!_wa_digest_ieq(name, (size_t)(p - name), "Digest"))
		return WA_DIGEST_ERR_SCHEME;
	if(p < end && !_WA_DIGEST_IS_WS(*p))
		return WA_DIGEST_ERR_SYNTAX;

	sep = 1; /* whitespace after the scheme */
	for(;;) {
		/* separators; empty list elements are tolerated (RFC 9110 5.6.1) */
		while(p < end && (_WA_DIGEST_IS_WS(*p) || *p == ',')) {
			if(*p == ',')
				sep = 1;
			p++;
		}
		if(p >= end)
			break;
		if(!sep)
			return WA_DIGEST_ERR_SYNTAX;
		sep = 0;
		rc = _wa_digest_param_scan(&p, end, &name, &nlen, &val);
		if(rc != WA_DIGEST_OK)
			return rc;
		idx = _wa_digest_param_index(name, nlen);
		if(idx >= 0) {
			if(*seen & (1u << idx))
				return WA_DIGEST_ERR_DUPLICATE;
			*seen |= 1u << idx;
			if(idx == _WA_P_USERHASH)
				*userhash = val;
			else if(_wa_digest_params[idx].off != _WA_P_NO_SLOT)
				*(wa_digest_str_t *)((char *)cred
									 + _wa_digest_params[idx].off) = val;
		}
		while(p < end && _WA_DIGEST_IS_WS(*p))
			p++;
		if(p < end && *p != ',')
			return WA_DIGEST_ERR_SYNTAX;
	}
	return WA_DIGEST_OK;
}

/* The values, once every parameter is known. */
static int _wa_digest_validate(wa_digest_cred_t *cred,
		const wa_digest_str_t *userhash, unsigned int seen)
{
	static const struct
	{
		int param;
		int rc;
	} mandatory[] = {
			{_WA_P_USERNAME, WA_DIGEST_ERR_NO_USERNAME},
			{_WA_P_REALM, WA_DIGEST_ERR_NO_REALM},
			{_WA_P_NONCE, WA_DIGEST_ERR_NO_NONCE},
			{_WA_P_URI, WA_DIGEST_ERR_NO_URI},
			{_WA_P_RESPONSE, WA_DIGEST_ERR_NO_RESPONSE},
	};
	size_t i;

	/* RFC 7616 3.4: username and username* never together; we take only
	 * the plain one, so a username* is refused rather than ignored */
	if(seen & (1u << _WA_P_USERNAME_STAR))
		return WA_DIGEST_ERR_USERNAME_STAR;
	for(i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		if(!(seen & (1u << mandatory[i].param)))
			return mandatory[i].rc;
	}

	cred->alg = WA_DIGEST_ALG_MD5;
	if(cred->algorithm.s != NULL
			&& (cred->algorithm.esc
					|| wa_digest_alg_parse(cred->algorithm.s,
							   cred->algorithm.len, &cred->alg)
							   != WA_DIGEST_OK))
		return WA_DIGEST_ERR_BAD_ALGORITHM;

	cred->qop_type = WA_DIGEST_QOP_NONE;
	if(cred->qop.s != NULL) {
		if(!cred->qop.esc && _wa_digest_ieq(cred->qop.s, cred->qop.len, "auth"))
			cred->qop_type = WA_DIGEST_QOP_AUTH;
		else if(!cred->qop.esc
				&& _wa_digest_ieq(cred->qop.s, cred->qop.len, "auth-int"))
			return WA_DIGEST_ERR_QOP_UNSUPPORTED;
		else
			return WA_DIGEST_ERR_BAD_QOP;
	}
	if(cred->qop_type == WA_DIGEST_QOP_AUTH) {
		if(cred->cnonce.s == NULL)
			return WA_DIGEST_ERR_NO_CNONCE;
		if(cred->nc.s == NULL)
			return WA_DIGEST_ERR_NO_NC;
	}
	if(cred->nc.s != NULL
			&& (cred->nc.esc || cred->nc.len != 8
					|| !_wa_digest_is_hex(cred->nc.s, cred->nc.len)))
		return WA_DIGEST_ERR_BAD_NC;
	if(wa_digest_alg_is_sess(cred->alg) && cred->cnonce.s == NULL)
		return WA_DIGEST_ERR_NO_CNONCE;

	if(cred->response.esc
			|| cred->response.len != wa_digest_alg_hexlen(cred->alg)
			|| !_wa_digest_is_hex(cred->response.s, cred->response.len))
		return WA_DIGEST_ERR_BAD_RESPONSE;

	cred->userhash = 0;
	if(userhash->s != NULL) {
		if(!userhash->esc && _wa_digest_ieq(userhash->s, userhash->len, "true"))
			cred->userhash = 1;
		else if(userhash->esc
				|| !_wa_digest_ieq(userhash->s, userhash->len, "false"))
			return WA_DIGEST_ERR_BAD_USERHASH;
	}
	return WA_DIGEST_OK;
}

int wa_digest_parse(const char *s, size_t len, wa_digest_cred_t *cred)
{
	wa_digest_str_t userhash = {NULL, 0, 0};
	unsigned int seen = 0;
	int ret = WA_DIGEST_ERR_ARG;

	if(cred == NULL)
		return WA_DIGEST_ERR_ARG;
	memset(cred, 0, sizeof(*cred));
	if(s == NULL)
		goto out;
	if(len > WA_DIGEST_MAX_HDR_LEN) {
		ret = WA_DIGEST_ERR_TOO_LONG;
		goto out;
	}
	ret = _wa_digest_scan(s, len, cred, &userhash, &seen);
	if(ret != WA_DIGEST_OK)
		goto out;
	ret = _wa_digest_validate(cred, &userhash, seen);
out:
	if(ret != WA_DIGEST_OK)
		memset(cred, 0, sizeof(*cred));
	return ret;
}
