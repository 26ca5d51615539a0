/*
 * watcher_auth: HTTP Digest for SIP watchers (RFC 7616, RFC 8760, RFC 3261).
 * Pure logic, no Kamailio headers: algorithm names, HA1, the expected
 * response for qop=auth (and RFC 2069's qop-less form), a constant-time
 * verification and a parser for the credentials of an Authorization header.
 *
 * What is left to the caller (the module): nonce freshness and replay (the
 * auth module's API), and that the digest-uri names the Request-URI.
 */
#ifndef _WATCHER_AUTH_DIGEST_H_
#define _WATCHER_AUTH_DIGEST_H_

#include <stddef.h>

/* Bounds of the parser: a longer header or parameter value is rejected with
 * WA_DIGEST_ERR_TOO_LONG. */
#define WA_DIGEST_MAX_HDR_LEN 8192
#define WA_DIGEST_MAX_VALUE_LEN 1024

/* The longest hex digest (SHA-256), without the terminating NUL. */
#define WA_DIGEST_HEX_MAX 64

typedef enum wa_digest_alg
{
	WA_DIGEST_ALG_MD5 = 0,
	WA_DIGEST_ALG_MD5_SESS,
	WA_DIGEST_ALG_SHA256,
	WA_DIGEST_ALG_SHA256_SESS,
	WA_DIGEST_ALG_COUNT
} wa_digest_alg_t;

/* The bit of an algorithm in a mask of algorithms. */
#define WA_DIGEST_ALG_BIT(a) (1u << (unsigned int)(a))
#define WA_DIGEST_ALGS_MD5                \
	(WA_DIGEST_ALG_BIT(WA_DIGEST_ALG_MD5) \
			| WA_DIGEST_ALG_BIT(WA_DIGEST_ALG_MD5_SESS))
#define WA_DIGEST_ALGS_SHA256                \
	(WA_DIGEST_ALG_BIT(WA_DIGEST_ALG_SHA256) \
			| WA_DIGEST_ALG_BIT(WA_DIGEST_ALG_SHA256_SESS))

typedef enum wa_digest_qop
{
	WA_DIGEST_QOP_NONE = 0, /* qop absent: RFC 2069 compatibility */
	WA_DIGEST_QOP_AUTH
} wa_digest_qop_t;

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum wa_digest_rc
{
	WA_DIGEST_OK = 0,
	WA_DIGEST_ERR_ARG = -1,			/* NULL or invalid argument */
	WA_DIGEST_ERR_TOO_LONG = -2,	/* header or a value over the bounds */
	WA_DIGEST_ERR_SCHEME = -3,		/* scheme is not "Digest" */
	WA_DIGEST_ERR_SYNTAX = -4,		/* malformed or truncated list */
	WA_DIGEST_ERR_DUPLICATE = -5,	/* a known parameter given twice */
	WA_DIGEST_ERR_NO_USERNAME = -6, /* mandatory parameters missing */
	WA_DIGEST_ERR_NO_REALM = -7,
	WA_DIGEST_ERR_NO_NONCE = -8,
	WA_DIGEST_ERR_NO_URI = -9,
	WA_DIGEST_ERR_NO_RESPONSE = -10,
	WA_DIGEST_ERR_NO_CNONCE = -11,		 /* qop=auth or -sess without cnonce */
	WA_DIGEST_ERR_NO_NC = -12,			 /* qop=auth without nc */
	WA_DIGEST_ERR_BAD_NC = -13,			 /* nc is not 8 hex digits */
	WA_DIGEST_ERR_BAD_QOP = -14,		 /* qop is not a known value */
	WA_DIGEST_ERR_QOP_UNSUPPORTED = -15, /* qop=auth-int */
	WA_DIGEST_ERR_BAD_ALGORITHM = -16,	 /* unknown algorithm */
	WA_DIGEST_ERR_BAD_RESPONSE = -17,	 /* not hex of the algorithm's length */
	WA_DIGEST_ERR_BAD_USERHASH = -18,	 /* userhash neither true nor false */
	WA_DIGEST_ERR_USERNAME_STAR = -19,	 /* username* (RFC 8187) unsupported */
	WA_DIGEST_ERR_BAD_HA1 = -20,		 /* stored HA1 not hex of the length */
	WA_DIGEST_ERR_NO_SECRET = -21, /* stored credential can't verify alg */
	WA_DIGEST_ERR_USERNAME = -22,  /* username is not the expected one */
	WA_DIGEST_ERR_REALM = -23,	   /* realm is not the expected one */
	WA_DIGEST_ERR_CRYPTO = -24,	   /* OpenSSL failed */
	WA_DIGEST_ERR_MISMATCH = -25   /* the response is wrong */
} wa_digest_rc_t;

/*
 * A byte slice, not NUL terminated. With `esc` set the bytes are the content
 * of a quoted-string that holds quoted-pairs: its value is the bytes with
 * every escaping backslash removed (RFC 7616's unq()). Plain strings passed
 * by a caller leave `esc` 0 ({s, len} initialisers do).
 */
typedef struct wa_digest_str
{
	const char *s;
	size_t len;
	int esc;
} wa_digest_str_t;

/* A lowercase hex digest, NUL terminated. Holding an HA1 makes it a secret:
 * wipe it with wa_digest_hex_wipe() when done. */
typedef struct wa_digest_hex
{
	char s[WA_DIGEST_HEX_MAX + 1];
	size_t len;
} wa_digest_hex_t;

/*
 * What a presentity's policy stores for a watcher. A member is absent when
 * its `s` is NULL. `ha1` is an MD5 HA1 (32 hex digits), `ha1_sha256` a
 * SHA-256 one (64 hex digits), both computed over the digest username and
 * realm the module expects.
 */
typedef struct wa_digest_secret
{
	wa_digest_str_t password;
	wa_digest_str_t ha1;
	wa_digest_str_t ha1_sha256;
} wa_digest_secret_t;

/* The credentials of an Authorization header: slices into the header. */
typedef struct wa_digest_cred
{
	wa_digest_str_t username;
	wa_digest_str_t realm;
	wa_digest_str_t nonce;
	wa_digest_str_t uri;
	wa_digest_str_t response;
	wa_digest_str_t algorithm; /* s NULL when absent */
	wa_digest_str_t cnonce;	   /* s NULL when absent */
	wa_digest_str_t opaque;	   /* s NULL when absent */
	wa_digest_str_t qop;	   /* s NULL when absent */
	wa_digest_str_t nc;		   /* s NULL when absent */
	wa_digest_alg_t alg;	   /* MD5 when algorithm is absent */
	wa_digest_qop_t qop_type;
	int userhash; /* username is H(username ":" realm), RFC 7616 3.4.4 */
} wa_digest_cred_t;

/* The inputs of a response, all plain or all from a parsed header. `qop`
 * with a NULL `s` selects RFC 2069's form; otherwise it must be "auth" (any
 * case) and `nc` and `cnonce` are used. -sess algorithms use `cnonce`. */
typedef struct wa_digest_calc
{
	wa_digest_alg_t alg;
	wa_digest_str_t nonce;
	wa_digest_str_t nc;
	wa_digest_str_t cnonce;
	wa_digest_str_t qop;
	wa_digest_str_t method;
	wa_digest_str_t uri;
} wa_digest_calc_t;

/* A short English text for a return code, for the log. */
const char *wa_digest_strerror(int rc);

/* The algorithm of a name, exact token matching, case-insensitive: "MD5",
 * "MD5-sess", "SHA-256", "SHA-256-sess". 0 or WA_DIGEST_ERR_BAD_ALGORITHM. */
int wa_digest_alg_parse(const char *s, size_t len, wa_digest_alg_t *alg);

/* The canonical name of an algorithm ("SHA-256"), NULL if out of range. */
const char *wa_digest_alg_name(wa_digest_alg_t alg);

/* The hex length of an algorithm's digests (32 or 64), 0 if out of range. */
size_t wa_digest_alg_hexlen(wa_digest_alg_t alg);

/* 1 when the algorithm is a -sess variant, 0 otherwise. */
int wa_digest_alg_is_sess(wa_digest_alg_t alg);

/* 0 when `s` is `len` hex digits, the length of `alg`'s digests (either case):
 * a usable stored HA1; WA_DIGEST_ERR_BAD_HA1 otherwise. */
int wa_digest_ha1_check(wa_digest_alg_t alg, const char *s, size_t len);

/*
 * The algorithms a stored credential can verify, a mask of
 * WA_DIGEST_ALG_BIT(): a password all of them, a valid `ha1` the MD5 ones,
 * a valid `ha1_sha256` the SHA-256 ones. Malformed HA1s count for nothing.
 */
unsigned int wa_digest_secret_algs(const wa_digest_secret_t *secret);

/* HA1 = H(username ":" realm ":" password), the hash of `alg` (for a -sess
 * algorithm the base HA1; the session one is derived per response). */
int wa_digest_ha1(wa_digest_alg_t alg, const wa_digest_str_t *username,
		const wa_digest_str_t *realm, const wa_digest_str_t *password,
		wa_digest_hex_t *out);

/* userhash = H(username ":" realm), RFC 7616 3.4.4. */
int wa_digest_userhash(wa_digest_alg_t alg, const wa_digest_str_t *username,
		const wa_digest_str_t *realm, wa_digest_hex_t *out);

/*
 * The expected response, from the base HA1 (hex, either case):
 *   qop=auth: H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri))
 *   no qop:   H(HA1 ":" nonce ":" H(method ":" uri))
 * with HA1 = H(HA1 ":" nonce ":" cnonce) first for -sess algorithms.
 */
int wa_digest_response(const wa_digest_calc_t *calc, const wa_digest_str_t *ha1,
		wa_digest_hex_t *out);

/*
 * Computes the expected response and compares it with `response` (hex,
 * either case) in constant time after a length check. 0 on a match,
 * WA_DIGEST_ERR_MISMATCH on a wrong one, WA_DIGEST_ERR_BAD_RESPONSE when it
 * is not hex of the right length, another code when it can't be computed.
 */
int wa_digest_verify(const wa_digest_calc_t *calc, const wa_digest_str_t *ha1,
		const wa_digest_str_t *response);

/*
 * Parses the value of an Authorization (or Proxy-Authorization) header,
 * `len` bytes at `s` (no NUL needed, none read past `len`):
 *   Digest username="bob", realm="alice@example.com", nonce="…", uri="…",
 *          response="…", algorithm=SHA-256, cnonce="…", qop=auth, nc=00000001
 * Parameter names are case-insensitive, values tokens or quoted-strings,
 * unknown parameters are ignored, known ones may appear once. `cred` holds
 * slices into `s`. 0 or a WA_DIGEST_ERR_ code saying what was wrong.
 */
int wa_digest_parse(const char *s, size_t len, wa_digest_cred_t *cred);

/*
 * Checks parsed credentials against what the policy stores for the watcher:
 * the username (or userhash) must be `username`, the realm `realm`, the
 * algorithm one that `secret` can verify, the response the right one for
 * `method`. A stored HA1 for the algorithm is used before the password.
 * 0 when the watcher proved the credential; the nonce is not checked here.
 */
int wa_digest_check(const wa_digest_cred_t *cred, const wa_digest_str_t *method,
		const wa_digest_str_t *username, const wa_digest_str_t *realm,
		const wa_digest_secret_t *secret);

/* The value of a slice (quoted-pairs undone) into `buf`, NUL terminated:
 * its length, or -1 when `size` is too small. */
int wa_digest_unq(const wa_digest_str_t *v, char *buf, size_t size);

/* 1 when the value of slice `v` (quoted-pairs undone) is exactly the `len`
 * bytes at `s`, 0 otherwise. */
int wa_digest_str_equal(const wa_digest_str_t *v, const char *s, size_t len);

/* Wipes a digest that held secret material. */
void wa_digest_hex_wipe(wa_digest_hex_t *h);

#endif
