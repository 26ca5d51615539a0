/*
 * Unit tests: watcher_auth's digest logic. Published vectors verbatim
 * (RFC 7616 3.9.1, RFC 2617 3.5), the rest computed independently with
 * `openssl md5` / `openssl sha256` over the same strings; negative rows for
 * every parser and verification error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <cmocka.h>
#include <openssl/err.h>

#include "digest.h"

#define S(lit)                    \
	{                             \
		(lit), sizeof(lit) - 1, 0 \
	}
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 7616 3.9.1 */
#define RFC7616_USER "Mufasa"
#define RFC7616_REALM "http-auth@example.org"
#define RFC7616_PASS "Circle of Life"
#define RFC7616_URI "/dir/index.html"
#define RFC7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC7616_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define RFC7616_MD5_HA1 "3d78807defe7de2157e2b0b6573a855f"
#define RFC7616_MD5_RESP "8ca523f5e9506fed4657c9700eebdbec"
#define RFC7616_SHA_HA1 \
	"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"
#define RFC7616_SHA_RESP \
	"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

/* The RFC's Authorization headers, line folding included. */
#define RFC7616_HDR(alg, resp)                                            \
	"Digest username=\"Mufasa\",\r\n"                                     \
	"       realm=\"http-auth@example.org\",\r\n"                         \
	"       uri=\"/dir/index.html\",\r\n"                                 \
	"       algorithm=" alg ",\r\n"                                       \
	"       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"  \
	"       nc=00000001,\r\n"                                             \
	"       cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n" \
	"       qop=auth,\r\n"                                                \
	"       response=\"" resp "\",\r\n"                                   \
	"       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""

static const char hdr_rfc7616_md5[] = RFC7616_HDR("MD5", RFC7616_MD5_RESP);
static const char hdr_rfc7616_sha[] = RFC7616_HDR("SHA-256", RFC7616_SHA_RESP);

/* One line, no algorithm (MD5 by default); the base of the parser rows. */
#define L_USER "username=\"Mufasa\""
#define L_REALM "realm=\"http-auth@example.org\""
#define L_NONCE "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\""
#define L_URI "uri=\"/dir/index.html\""
#define L_RESP "response=\"8ca523f5e9506fed4657c9700eebdbec\""
#define L_CNONCE "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\""
#define L_QOP "qop=auth"
#define L_NC "nc=00000001"
#define L_REST L_CNONCE ", " L_QOP ", " L_NC
#define LINE                                                          \
	"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP \
	", " L_REST

/* Quoted-pairs: username a"b, realm r\x, nonce n"1, cnonce c\2, password pw;
 * response = openssl md5 over the unescaped strings. */
static const char hdr_escaped[] =
		"Digest username=\"a\\\"b\", realm=\"r\\\\x\", nonce=\"n\\\"1\", "
		"uri=\"/u\", cnonce=\"c\\\\2\", nc=00000001, qop=auth, "
		"response=\"96b4636461290ad0878fc69f6f2e9607\"";

/* A SUBSCRIBE from bob to alice's presence, DESIGN.md's credential. */
static const char hdr_sip_md5[] =
		"Digest username=\"bob@example.com\", realm=\"alice@example.com\", "
		"nonce=\"Zm9vYmFy\", uri=\"sip:alice@example.com\", "
		"response=\"c4216ffc26c7b3e7a5b77f1a8e02134a\", algorithm=MD5, "
		"cnonce=\"c0ffee\", qop=auth, nc=0000000a";
static const char hdr_sip_sha[] =
		"Digest username=\"bob@example.com\", realm=\"alice@example.com\", "
		"nonce=\"Zm9vYmFy\", uri=\"sip:alice@example.com\", "
		"response=\"2d73cae4c95d60e91faf84f080b77cf2"
		"1ecfc723597f4b06e95f5f0170df84e5\", algorithm=SHA-256, "
		"cnonce=\"c0ffee\", qop=auth, nc=0000000a";

/* RFC 2617 3.5 */
static const char hdr_rfc2617[] =
		"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		"uri=\"/dir/index.html\", "
		"qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
		"response=\"6629fae49393a05397450978507c4ef1\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

static void assert_no_ssl_error(void)
{
	assert_int_equal(ERR_peek_error(), 0);
}

/* The header copied into a buffer of exactly `n` bytes, so that ASan sees
 * any read past the end; the caller frees *buf. */
static int parse_exact(
		const char *h, size_t n, wa_digest_cred_t *cred, char **buf)
{
	*buf = malloc(n ? n : 1);
	assert_non_null(*buf);
	memcpy(*buf, h, n);
	return wa_digest_parse(*buf, n, cred);
}

static int parse_rc(const char *h, size_t n)
{
	wa_digest_cred_t cred;
	char *buf;
	int rc = parse_exact(h, n, &cred, &buf);
	free(buf);
	return rc;
}

static void test_alg_names(void **state)
{
	/* clang-format off */
	static const struct {
		const char *name;
		int rc;
		wa_digest_alg_t alg;
	} rows[] = {
		{"MD5", 0, WA_DIGEST_ALG_MD5},
		{"md5", 0, WA_DIGEST_ALG_MD5},
		{"Md5", 0, WA_DIGEST_ALG_MD5},
		{"MD5-sess", 0, WA_DIGEST_ALG_MD5_SESS},
		{"md5-SESS", 0, WA_DIGEST_ALG_MD5_SESS},
		{"SHA-256", 0, WA_DIGEST_ALG_SHA256},
		{"sha-256", 0, WA_DIGEST_ALG_SHA256},
		{"SHA-256-sess", 0, WA_DIGEST_ALG_SHA256_SESS},
		/* negative rows: exact tokens only */
		{"MD5x", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"MD", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"MD5 ", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{" MD5", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"MD5-", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"MD5-sessx", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"SHA-25", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"SHA256", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"SHA-512-256", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
		{"AKAv1-MD5", WA_DIGEST_ERR_BAD_ALGORITHM, 0},
	};
	/* clang-format on */
	wa_digest_alg_t alg;
	size_t i;
	int a;

	for(i = 0; i < NROWS(rows); i++) {
		alg = WA_DIGEST_ALG_COUNT;
		int rc = wa_digest_alg_parse(rows[i].name, strlen(rows[i].name), &alg);
		if(rc != rows[i].rc || (rc == 0 && alg != rows[i].alg))
			fail_msg("row %zu: \"%s\" -> rc %d alg %d", i, rows[i].name, rc,
					(int)alg);
	}
	/* a length shorter than the string: "MD5x" cut to "MD5" */
	assert_int_equal(wa_digest_alg_parse("MD5x", 3, &alg), 0);
	assert_int_equal(alg, WA_DIGEST_ALG_MD5);
	assert_int_equal(
			wa_digest_alg_parse(NULL, 0, &alg), WA_DIGEST_ERR_BAD_ALGORITHM);

	for(a = 0; a < WA_DIGEST_ALG_COUNT; a++) {
		const char *n = wa_digest_alg_name((wa_digest_alg_t)a);
		assert_non_null(n);
		assert_int_equal(wa_digest_alg_parse(n, strlen(n), &alg), 0);
		assert_int_equal(alg, a);
	}
	assert_null(wa_digest_alg_name(WA_DIGEST_ALG_COUNT));
	assert_null(wa_digest_alg_name((wa_digest_alg_t)-1));
	assert_int_equal(wa_digest_alg_hexlen(WA_DIGEST_ALG_MD5), 32);
	assert_int_equal(wa_digest_alg_hexlen(WA_DIGEST_ALG_MD5_SESS), 32);
	assert_int_equal(wa_digest_alg_hexlen(WA_DIGEST_ALG_SHA256), 64);
	assert_int_equal(wa_digest_alg_hexlen(WA_DIGEST_ALG_SHA256_SESS), 64);
	assert_int_equal(wa_digest_alg_hexlen(WA_DIGEST_ALG_COUNT), 0);
	assert_true(wa_digest_alg_is_sess(WA_DIGEST_ALG_SHA256_SESS));
	assert_false(wa_digest_alg_is_sess(WA_DIGEST_ALG_SHA256));
}

static void test_ha1(void **state)
{
	/* clang-format off */
	static const struct {
		wa_digest_alg_t alg;
		const char *user, *realm, *pass, *ha1;
	} rows[] = {
		{WA_DIGEST_ALG_MD5, RFC7616_USER, RFC7616_REALM, RFC7616_PASS,
				RFC7616_MD5_HA1},
		{WA_DIGEST_ALG_MD5_SESS, RFC7616_USER, RFC7616_REALM, RFC7616_PASS,
				RFC7616_MD5_HA1},
		{WA_DIGEST_ALG_SHA256, RFC7616_USER, RFC7616_REALM, RFC7616_PASS,
				RFC7616_SHA_HA1},
		{WA_DIGEST_ALG_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
				"939e7578ed9e3c518a452acee763bce9"},
		{WA_DIGEST_ALG_MD5, "bob@example.com", "alice@example.com",
				"password", "6979200c8fdadd56d088cacf103e289b"},
		{WA_DIGEST_ALG_SHA256, "bob@example.com", "alice@example.com",
				"password", "8d87aeb0cc681961c02eff2e5b7c3466"
				"4dce9e84569a56f860ce571ecdb34723"},
	};
	/* clang-format on */
	wa_digest_hex_t out;
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		wa_digest_str_t u = {rows[i].user, strlen(rows[i].user), 0};
		wa_digest_str_t r = {rows[i].realm, strlen(rows[i].realm), 0};
		wa_digest_str_t p = {rows[i].pass, strlen(rows[i].pass), 0};
		assert_int_equal(wa_digest_ha1(rows[i].alg, &u, &r, &p, &out), 0);
		assert_no_ssl_error();
		assert_string_equal(out.s, rows[i].ha1);
		assert_int_equal(out.len, strlen(rows[i].ha1));
		wa_digest_hex_wipe(&out);
	}

	/* quoted-pairs are undone before hashing: openssl md5 of a"b:r\x:pw */
	{
		wa_digest_str_t u = {"a\\\"b", 4, 1}, r = {"r\\\\x", 4, 1}, p = S("pw");
		assert_int_equal(wa_digest_ha1(WA_DIGEST_ALG_MD5, &u, &r, &p, &out), 0);
		assert_string_equal(out.s, "f34c58e4ad766f0365357e5498ff930c");
	}
	/* userhash, RFC 7616 3.4.4 */
	{
		wa_digest_str_t u = S(RFC7616_USER), r = S(RFC7616_REALM);
		assert_int_equal(
				wa_digest_userhash(WA_DIGEST_ALG_MD5, &u, &r, &out), 0);
		assert_string_equal(out.s, "4238f3a16167373febb9bc4d43db9cc4");
		assert_int_equal(
				wa_digest_userhash(WA_DIGEST_ALG_SHA256, &u, &r, &out), 0);
		assert_string_equal(out.s, "a947aad205e80e429958a387394944c6"
								   "b496301e79f89d35a4cc23b6ee12b5b6");
		assert_no_ssl_error();
	}
	/* negative rows */
	{
		wa_digest_str_t u = S("u"), r = S("r"), p = S("p"), none = {NULL, 0, 0};
		assert_int_equal(wa_digest_ha1(WA_DIGEST_ALG_COUNT, &u, &r, &p, &out),
				WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_ha1(WA_DIGEST_ALG_MD5, &u, &r, &none, &out),
				WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_ha1(WA_DIGEST_ALG_MD5, NULL, &r, &p, &out),
				WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_ha1(WA_DIGEST_ALG_MD5, &u, &r, &p, NULL),
				WA_DIGEST_ERR_ARG);
	}
}

struct resp_row
{
	wa_digest_alg_t alg;
	const char *pass; /* HA1 from user/realm/password ... */
	const char *ha1;  /* ... and the same HA1 given */
	const char *user, *realm, *nonce, *nc, *cnonce, *qop, *method, *uri;
	const char *response;
};

/* clang-format off */
static const struct resp_row resp_rows[] = {
	/* RFC 7616 3.9.1, verbatim */
	{WA_DIGEST_ALG_MD5, RFC7616_PASS, RFC7616_MD5_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, "00000001", RFC7616_CNONCE, "auth",
		"GET", RFC7616_URI, RFC7616_MD5_RESP},
	{WA_DIGEST_ALG_SHA256, RFC7616_PASS, RFC7616_SHA_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, "00000001", RFC7616_CNONCE, "auth",
		"GET", RFC7616_URI, RFC7616_SHA_RESP},
	/* RFC 2617 3.5, verbatim */
	{WA_DIGEST_ALG_MD5, "Circle Of Life", "939e7578ed9e3c518a452acee763bce9",
		"Mufasa", "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		"00000001", "0a4f113b", "auth", "GET", "/dir/index.html",
		"6629fae49393a05397450978507c4ef1"},
	/* -sess and qop-less forms over RFC 7616's inputs (openssl) */
	{WA_DIGEST_ALG_MD5_SESS, RFC7616_PASS, RFC7616_MD5_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, "00000001", RFC7616_CNONCE, "auth",
		"GET", RFC7616_URI, "e783283f46242139c486a698fec7211d"},
	{WA_DIGEST_ALG_SHA256_SESS, RFC7616_PASS, RFC7616_SHA_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, "00000001", RFC7616_CNONCE, "auth",
		"GET", RFC7616_URI, "2fd51b3a77ad75bad6afad6003e818d7"
		"67133c46d9e2749e7f5232ae1ea3efd7"},
	{WA_DIGEST_ALG_MD5, RFC7616_PASS, RFC7616_MD5_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, NULL, NULL, NULL, "GET", RFC7616_URI,
		"7b2cc3b30e75b4777ea31027084363fd"},
	{WA_DIGEST_ALG_SHA256, RFC7616_PASS, RFC7616_SHA_HA1, RFC7616_USER,
		RFC7616_REALM, RFC7616_NONCE, NULL, NULL, NULL, "GET", RFC7616_URI,
		"a1306b0595a6c7fe96c448631fb5cfbd5107bd1fe1da729d978dd7446b812363"},
	/* SIP: SUBSCRIBE, DESIGN.md's credential */
	{WA_DIGEST_ALG_MD5, "password", "6979200c8fdadd56d088cacf103e289b",
		"bob@example.com", "alice@example.com", "Zm9vYmFy", "0000000a",
		"c0ffee", "auth", "SUBSCRIBE", "sip:alice@example.com",
		"c4216ffc26c7b3e7a5b77f1a8e02134a"},
};
/* clang-format on */

#define STR_OR_NULL(x) ((wa_digest_str_t){(x), (x) ? strlen(x) : 0, 0})

static void row_calc(const struct resp_row *r, wa_digest_calc_t *c)
{
	c->alg = r->alg;
	c->nonce = STR_OR_NULL(r->nonce);
	c->nc = STR_OR_NULL(r->nc);
	c->cnonce = STR_OR_NULL(r->cnonce);
	c->qop = STR_OR_NULL(r->qop);
	c->method = STR_OR_NULL(r->method);
	c->uri = STR_OR_NULL(r->uri);
}

static void test_response_vectors(void **state)
{
	wa_digest_calc_t c;
	wa_digest_hex_t ha1, out;
	char upper[WA_DIGEST_HEX_MAX + 1];
	size_t i, k;

	for(i = 0; i < NROWS(resp_rows); i++) {
		const struct resp_row *r = &resp_rows[i];
		wa_digest_str_t u = STR_OR_NULL(r->user), re = STR_OR_NULL(r->realm),
						p = STR_OR_NULL(r->pass), given = STR_OR_NULL(r->ha1),
						resp = STR_OR_NULL(r->response), h;

		row_calc(r, &c);
		/* HA1 from the password */
		assert_int_equal(wa_digest_ha1(r->alg, &u, &re, &p, &ha1), 0);
		assert_string_equal(ha1.s, r->ha1);
		h = (wa_digest_str_t){ha1.s, ha1.len, 0};
		assert_int_equal(wa_digest_response(&c, &h, &out), 0);
		assert_no_ssl_error();
		if(strcmp(out.s, r->response) != 0)
			fail_msg("row %zu: response %s, want %s", i, out.s, r->response);
		assert_int_equal(wa_digest_verify(&c, &h, &resp), 0);
		/* the given HA1, lowercase and uppercase */
		assert_int_equal(wa_digest_verify(&c, &given, &resp), 0);
		for(k = 0; k < given.len; k++)
			upper[k] = (char)toupper((unsigned char)given.s[k]);
		h = (wa_digest_str_t){upper, given.len, 0};
		assert_int_equal(wa_digest_verify(&c, &h, &resp), 0);
		/* an uppercase response */
		for(k = 0; k < resp.len; k++)
			upper[k] = (char)toupper((unsigned char)resp.s[k]);
		h = (wa_digest_str_t){upper, resp.len, 0};
		assert_int_equal(wa_digest_verify(&c, &given, &h), 0);
		assert_no_ssl_error();
		wa_digest_hex_wipe(&ha1);
	}
}

static void test_verify_rows(void **state)
{
	/* clang-format off */
	static const struct {
		wa_digest_alg_t alg;
		const char *ha1;
		const char *response;
		int rc;
	} rows[] = {
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1, RFC7616_MD5_RESP, 0},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"8CA523F5E9506FED4657C9700EEBDBEC", 0},
		{WA_DIGEST_ALG_SHA256, RFC7616_SHA_HA1, RFC7616_SHA_RESP, 0},
		/* wrong password: HA1 of "Circle of life" */
		{WA_DIGEST_ALG_MD5, "88c06820c40529c117a201458cabd52a",
			RFC7616_MD5_RESP, WA_DIGEST_ERR_MISMATCH},
		/* last digit changed */
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"8ca523f5e9506fed4657c9700eebdbed", WA_DIGEST_ERR_MISMATCH},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"0ca523f5e9506fed4657c9700eebdbec", WA_DIGEST_ERR_MISMATCH},
		/* wrong length, not hex, wrong algorithm's digest */
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"8ca523f5e9506fed4657c9700eebdbe", WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"8ca523f5e9506fed4657c9700eebdbec0", WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			"8ca523f5e9506fed4657c9700eebdbeg", WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1,
			" 8ca523f5e9506fed4657c9700eebdbe", WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1, "", WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_SHA256, RFC7616_SHA_HA1, RFC7616_MD5_RESP,
			WA_DIGEST_ERR_BAD_RESPONSE},
		{WA_DIGEST_ALG_MD5, RFC7616_MD5_HA1, RFC7616_SHA_RESP,
			WA_DIGEST_ERR_BAD_RESPONSE},
		/* a stored HA1 that is not one */
		{WA_DIGEST_ALG_MD5, "3d78807defe7de2157e2b0b6573a855",
			RFC7616_MD5_RESP, WA_DIGEST_ERR_BAD_HA1},
		{WA_DIGEST_ALG_MD5, "3d78807defe7de2157e2b0b6573a855x",
			RFC7616_MD5_RESP, WA_DIGEST_ERR_BAD_HA1},
		{WA_DIGEST_ALG_SHA256, RFC7616_MD5_HA1, RFC7616_SHA_RESP,
			WA_DIGEST_ERR_BAD_HA1},
	};
	/* clang-format on */
	wa_digest_calc_t c;
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		wa_digest_str_t h = STR_OR_NULL(rows[i].ha1);
		wa_digest_str_t resp = STR_OR_NULL(rows[i].response);
		row_calc(&resp_rows[0], &c);
		c.alg = rows[i].alg;
		int rc = wa_digest_verify(&c, &h, &resp);
		if(rc != rows[i].rc)
			fail_msg("row %zu: rc %d (%s), want %d", i, rc,
					wa_digest_strerror(rc), rows[i].rc);
	}
	assert_no_ssl_error();

	/* calc rows: what a response can't be computed without */
	{
		wa_digest_str_t h = S(RFC7616_MD5_HA1), resp = S(RFC7616_MD5_RESP);
		wa_digest_hex_t out;

		row_calc(&resp_rows[0], &c);
		c.qop = (wa_digest_str_t)S("auth-int");
		assert_int_equal(
				wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_BAD_QOP);
		c.qop = (wa_digest_str_t)S("AUTH"); /* hashed as given */
		assert_int_equal(
				wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_MISMATCH);
		row_calc(&resp_rows[0], &c);
		c.nc = (wa_digest_str_t){NULL, 0, 0};
		assert_int_equal(wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_NO_NC);
		row_calc(&resp_rows[0], &c);
		c.cnonce = (wa_digest_str_t){NULL, 0, 0};
		assert_int_equal(
				wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_NO_CNONCE);
		c.qop = (wa_digest_str_t){NULL, 0, 0};
		c.alg = WA_DIGEST_ALG_MD5_SESS;
		assert_int_equal(
				wa_digest_response(&c, &h, &out), WA_DIGEST_ERR_NO_CNONCE);
		row_calc(&resp_rows[0], &c);
		c.method = (wa_digest_str_t){NULL, 0, 0};
		assert_int_equal(wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_ARG);
		row_calc(&resp_rows[0], &c);
		c.alg = WA_DIGEST_ALG_COUNT;
		assert_int_equal(wa_digest_verify(&c, &h, &resp), WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_verify(NULL, &h, &resp), WA_DIGEST_ERR_ARG);
		row_calc(&resp_rows[0], &c);
		assert_int_equal(
				wa_digest_verify(&c, &h, NULL), WA_DIGEST_ERR_BAD_RESPONSE);
		assert_int_equal(
				wa_digest_verify(&c, NULL, &resp), WA_DIGEST_ERR_BAD_HA1);
	}
}

static void test_secret_algs(void **state)
{
	/* clang-format off */
	static const struct {
		const char *password, *ha1, *ha1_sha256;
		unsigned int algs;
	} rows[] = {
		{RFC7616_PASS, NULL, NULL, WA_DIGEST_ALGS_MD5 | WA_DIGEST_ALGS_SHA256},
		{"", NULL, NULL, WA_DIGEST_ALGS_MD5 | WA_DIGEST_ALGS_SHA256},
		{NULL, RFC7616_MD5_HA1, NULL, WA_DIGEST_ALGS_MD5},
		{NULL, "3D78807DEFE7DE2157E2B0B6573A855F", NULL, WA_DIGEST_ALGS_MD5},
		{NULL, NULL, RFC7616_SHA_HA1, WA_DIGEST_ALGS_SHA256},
		{NULL, RFC7616_MD5_HA1, RFC7616_SHA_HA1,
			WA_DIGEST_ALGS_MD5 | WA_DIGEST_ALGS_SHA256},
		{RFC7616_PASS, RFC7616_MD5_HA1, NULL,
			WA_DIGEST_ALGS_MD5 | WA_DIGEST_ALGS_SHA256},
		/* negative rows: malformed HA1s verify nothing */
		{NULL, NULL, NULL, 0},
		{NULL, "3d78807defe7de2157e2b0b6573a855", NULL, 0},
		{NULL, "3d78807defe7de2157e2b0b6573a855fa", NULL, 0},
		{NULL, "3d78807defe7de2157e2b0b6573a855z", NULL, 0},
		{NULL, RFC7616_SHA_HA1, NULL, 0},
		{NULL, NULL, RFC7616_MD5_HA1, 0},
		{NULL, "", "", 0},
	};
	/* clang-format on */
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		wa_digest_secret_t sec = {STR_OR_NULL(rows[i].password),
				STR_OR_NULL(rows[i].ha1), STR_OR_NULL(rows[i].ha1_sha256)};
		unsigned int got = wa_digest_secret_algs(&sec);
		if(got != rows[i].algs)
			fail_msg("row %zu: algs 0x%x, want 0x%x", i, got, rows[i].algs);
	}
	assert_int_equal(wa_digest_secret_algs(NULL), 0);
	assert_int_equal(wa_digest_ha1_check(WA_DIGEST_ALG_SHA256_SESS,
							 RFC7616_SHA_HA1, strlen(RFC7616_SHA_HA1)),
			0);
	assert_int_equal(wa_digest_ha1_check(WA_DIGEST_ALG_MD5, NULL, 32),
			WA_DIGEST_ERR_BAD_HA1);
}

static void assert_slice(const wa_digest_str_t *v, const char *want)
{
	char buf[WA_DIGEST_MAX_VALUE_LEN + 1];

	assert_non_null(v->s);
	assert_true(wa_digest_unq(v, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
	assert_true(wa_digest_str_equal(v, want, strlen(want)));
}

static void test_parse_rfc7616(void **state)
{
	wa_digest_cred_t cred;
	char *buf;

	assert_int_equal(
			parse_exact(hdr_rfc7616_md5, strlen(hdr_rfc7616_md5), &cred, &buf),
			0);
	assert_slice(&cred.username, RFC7616_USER);
	assert_slice(&cred.realm, RFC7616_REALM);
	assert_slice(&cred.uri, RFC7616_URI);
	assert_slice(&cred.nonce, RFC7616_NONCE);
	assert_slice(&cred.cnonce, RFC7616_CNONCE);
	assert_slice(&cred.response, RFC7616_MD5_RESP);
	assert_slice(&cred.opaque, RFC7616_OPAQUE);
	assert_slice(&cred.algorithm, "MD5");
	assert_slice(&cred.qop, "auth");
	assert_slice(&cred.nc, "00000001");
	assert_int_equal(cred.alg, WA_DIGEST_ALG_MD5);
	assert_int_equal(cred.qop_type, WA_DIGEST_QOP_AUTH);
	assert_int_equal(cred.userhash, 0);
	/* slices point into the input, inside the quotes */
	assert_ptr_equal(cred.username.s, buf + strlen("Digest username=\""));
	free(buf);

	assert_int_equal(
			parse_exact(hdr_rfc7616_sha, strlen(hdr_rfc7616_sha), &cred, &buf),
			0);
	assert_int_equal(cred.alg, WA_DIGEST_ALG_SHA256);
	assert_slice(&cred.response, RFC7616_SHA_RESP);
	free(buf);

	assert_int_equal(
			parse_exact(hdr_escaped, strlen(hdr_escaped), &cred, &buf), 0);
	assert_true(cred.username.esc);
	assert_slice(&cred.username, "a\"b");
	assert_slice(&cred.realm, "r\\x");
	assert_slice(&cred.nonce, "n\"1");
	assert_slice(&cred.cnonce, "c\\2");
	assert_false(cred.uri.esc);
	assert_false(wa_digest_str_equal(&cred.username, "a\\\"b", 4));
	free(buf);

	/* qop-less (RFC 2069) credentials parse; the module decides */
	assert_int_equal(parse_exact("Digest " L_USER "," L_REALM "," L_NONCE
								 "," L_URI "," L_RESP,
							 strlen("Digest " L_USER "," L_REALM "," L_NONCE
									"," L_URI "," L_RESP),
							 &cred, &buf),
			0);
	assert_int_equal(cred.qop_type, WA_DIGEST_QOP_NONE);
	assert_null(cred.qop.s);
	assert_null(cred.cnonce.s);
	free(buf);
}

struct parse_row
{
	const char *hdr;
	size_t len; /* 0: strlen */
	int rc;
};

#define NUL_IN_QUOTED "Digest username=\"a\0b\", realm=r"
#define NUL_IN_TOKEN "Digest username=a\0, realm=r"

/* clang-format off */
static const struct parse_row parse_rows[] = {
	{LINE, 0, 0},
	{hdr_rfc7616_md5, 0, 0},
	{hdr_rfc2617, 0, 0},
	{hdr_escaped, 0, 0},
	/* case and whitespace */
	{"DIGEST USERNAME=\"Mufasa\", Realm=\"http-auth@example.org\", "
		"NONCE=\"x\", URI=\"/\", RESPONSE=\"" RFC7616_MD5_RESP "\"", 0, 0},
	{"  digest\t" L_USER "\t,\t" L_REALM " ,\r\n " L_NONCE ",\r\n\t" L_URI
		"  ,  " L_RESP "  ", 0, 0},
	{"Digest username = \"Mufasa\" , realm= \"r\" ,nonce =\"n\",uri=\"u\","
		L_RESP, 0, 0},
	/* empty list elements and unknown parameters are tolerated */
	{"Digest ," L_USER ",," L_REALM ", ," L_NONCE "," L_URI "," L_RESP ",",
		0, 0},
	{LINE ", foo=bar, x-y=\"z, \\\"w\", foo=again", 0, 0},
	{"Digest username=Mufasa, realm=r, nonce=n, uri=u, response="
		RFC7616_MD5_RESP, 0, 0},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", qop=\"auth\", nc=0000000A, " L_CNONCE, 0, 0},
	{LINE ", algorithm=\"md5\"", 0, 0},
	{LINE ", userhash=true", 0, 0},
	{LINE ", userhash=FALSE", 0, 0},
	{"Digest username=\"J\xc3\xa4s\xc3\xb8n\", " L_REALM ", " L_NONCE ", "
		L_URI ", " L_RESP, 0, 0},
	{"Digest username=\"\", realm=\"\", nonce=\"\", uri=\"\", " L_RESP, 0, 0},

	/* scheme */
	{"", 0, WA_DIGEST_ERR_SCHEME},
	{"   ", 0, WA_DIGEST_ERR_SCHEME},
	{"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", 0, WA_DIGEST_ERR_SCHEME},
	{"Digestusername=\"Mufasa\"", 0, WA_DIGEST_ERR_SCHEME},
	{"Diges " L_USER, 0, WA_DIGEST_ERR_SCHEME},
	{"DigestX " L_USER, 0, WA_DIGEST_ERR_SCHEME},
	{"Digest,username=\"Mufasa\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest", 0, WA_DIGEST_ERR_NO_USERNAME},
	{"Digest   ", 0, WA_DIGEST_ERR_NO_USERNAME},
	/* syntax */
	{"Digest " L_USER " " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP, 0,
		WA_DIGEST_ERR_SYNTAX},
	{"Digest " L_USER L_REALM, 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"Mufasa", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"Mufasa\\", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"Mufasa\\\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username= ,realm=r", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest =\"x\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=a/b", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=a b", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username==a", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest user name=a", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"a\x01\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"a\x7f\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"a\r\n b\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"a\\\x01\"", 0, WA_DIGEST_ERR_SYNTAX},
	{"Digest username=\"a\\\xc3\xa4\"", 0, WA_DIGEST_ERR_SYNTAX},
	{NUL_IN_QUOTED, sizeof(NUL_IN_QUOTED) - 1, WA_DIGEST_ERR_SYNTAX},
	{NUL_IN_TOKEN, sizeof(NUL_IN_TOKEN) - 1, WA_DIGEST_ERR_SYNTAX},
	{"Digest " L_USER ", Digest " L_REALM, 0, WA_DIGEST_ERR_SYNTAX},
	/* duplicates, any case */
	{LINE ", " L_USER, 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", Realm=\"other\"", 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", NC=00000002", 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", qop=auth", 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", opaque=a, opaque=b", 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", algorithm=MD5, algorithm=MD5", 0, WA_DIGEST_ERR_DUPLICATE},
	{LINE ", userhash=false, userhash=false", 0, WA_DIGEST_ERR_DUPLICATE},
	/* each mandatory parameter missing */
	{"Digest " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST, 0,
		WA_DIGEST_ERR_NO_USERNAME},
	{"Digest " L_USER ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST, 0,
		WA_DIGEST_ERR_NO_REALM},
	{"Digest " L_USER ", " L_REALM ", " L_URI ", " L_RESP ", " L_REST, 0,
		WA_DIGEST_ERR_NO_NONCE},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_RESP ", " L_REST, 0,
		WA_DIGEST_ERR_NO_URI},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_REST, 0,
		WA_DIGEST_ERR_NO_RESPONSE},
	{"Digest usernamex=\"Mufasa\", " L_REALM ", " L_NONCE ", " L_URI ", "
		L_RESP, 0, WA_DIGEST_ERR_NO_USERNAME},
	/* qop=auth needs cnonce and nc */
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_QOP ", " L_NC, 0, WA_DIGEST_ERR_NO_CNONCE},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_QOP ", " L_CNONCE, 0, WA_DIGEST_ERR_NO_NC},
	/* -sess needs cnonce */
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", algorithm=MD5-sess", 0, WA_DIGEST_ERR_NO_CNONCE},
	/* nc: 8 hex digits */
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=0000001", 0, WA_DIGEST_ERR_BAD_NC},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=000000001", 0, WA_DIGEST_ERR_BAD_NC},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=0000000g", 0, WA_DIGEST_ERR_BAD_NC},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=\"0000\\0001\"", 0,
		WA_DIGEST_ERR_BAD_NC},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=-0000001", 0, WA_DIGEST_ERR_BAD_NC},
	/* qop */
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", qop=auth-int, " L_NC, 0,
		WA_DIGEST_ERR_QOP_UNSUPPORTED},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", qop=authx, " L_NC, 0, WA_DIGEST_ERR_BAD_QOP},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", qop=\"auth,auth-int\", " L_NC, 0,
		WA_DIGEST_ERR_BAD_QOP},
	/* algorithm */
	{LINE ", algorithm=MD5x", 0, WA_DIGEST_ERR_BAD_ALGORITHM},
	{LINE ", algorithm=SHA-512-256", 0, WA_DIGEST_ERR_BAD_ALGORITHM},
	{LINE ", algorithm=\"\"", 0, WA_DIGEST_ERR_BAD_ALGORITHM},
	{LINE ", algorithm=\"MD\\5\"", 0, WA_DIGEST_ERR_BAD_ALGORITHM},
	/* response: hex of the algorithm's length */
	{LINE ", algorithm=SHA-256", 0, WA_DIGEST_ERR_BAD_RESPONSE},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI
		", response=\"8ca523f5e9506fed4657c9700eebdbe\"", 0,
		WA_DIGEST_ERR_BAD_RESPONSE},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI
		", response=\"8ca523f5e9506fed4657c9700eebdbeZ\"", 0,
		WA_DIGEST_ERR_BAD_RESPONSE},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI
		", response=\"\"", 0, WA_DIGEST_ERR_BAD_RESPONSE},
	/* userhash, username* */
	{LINE ", userhash=yes", 0, WA_DIGEST_ERR_BAD_USERHASH},
	{LINE ", username*=UTF-8''J%C3%A4s%C3%B8n", 0,
		WA_DIGEST_ERR_USERNAME_STAR},
};
/* clang-format on */

static void test_parse_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(parse_rows); i++) {
		const struct parse_row *r = &parse_rows[i];
		size_t n = r->len ? r->len : strlen(r->hdr);
		int rc = parse_rc(r->hdr, n);
		if(rc != r->rc)
			fail_msg("row %zu: rc %d (%s), want %d (%s): %.*s", i, rc,
					wa_digest_strerror(rc), r->rc, wa_digest_strerror(r->rc),
					(int)n, r->hdr);
	}
	{
		wa_digest_cred_t cred;
		assert_int_equal(wa_digest_parse(NULL, 0, &cred), WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_parse("Digest", 6, NULL), WA_DIGEST_ERR_ARG);
	}
}

static void test_parse_overlong(void **state)
{
	const size_t big = WA_DIGEST_MAX_HDR_LEN + 64;
	char *h = malloc(big);
	int n;

	assert_non_null(h);
	/* a value at the bound is fine, one byte more is not */
	n = snprintf(h, big,
			"Digest username=\"%0*d\", " L_REALM ", " L_NONCE ", " L_URI
			", " L_RESP,
			WA_DIGEST_MAX_VALUE_LEN, 0);
	assert_int_equal(parse_rc(h, (size_t)n), 0);
	n = snprintf(h, big,
			"Digest username=\"%0*d\", " L_REALM ", " L_NONCE ", " L_URI
			", " L_RESP,
			WA_DIGEST_MAX_VALUE_LEN + 1, 0);
	assert_int_equal(parse_rc(h, (size_t)n), WA_DIGEST_ERR_TOO_LONG);
	/* an unknown parameter is bounded too, and a token value */
	n = snprintf(h, big, LINE ", x=%0*d", WA_DIGEST_MAX_VALUE_LEN + 1, 0);
	assert_int_equal(parse_rc(h, (size_t)n), WA_DIGEST_ERR_TOO_LONG);
	/* the whole header: many small unknown parameters */
	memcpy(h, LINE, strlen(LINE));
	n = (int)strlen(LINE);
	while((size_t)n + 6 <= WA_DIGEST_MAX_HDR_LEN) {
		memcpy(h + n, ", a=b", 5);
		n += 5;
	}
	assert_int_equal(parse_rc(h, (size_t)n), 0);
	memset(h + n, ' ', big - (size_t)n);
	assert_int_equal(
			parse_rc(h, WA_DIGEST_MAX_HDR_LEN + 1), WA_DIGEST_ERR_TOO_LONG);
	free(h);
}

/* Every prefix of a valid header parses or fails cleanly, reads nothing
 * past its end, and a parsed prefix holds slices inside it. */
static void test_parse_prefixes(void **state)
{
	static const char *const hdrs[] = {hdr_rfc7616_md5, hdr_rfc7616_sha,
			hdr_escaped, hdr_rfc2617, hdr_sip_md5, LINE ", userhash=true"};
	wa_digest_str_t method = S("GET"), user = S(RFC7616_USER),
					realm = S(RFC7616_REALM);
	wa_digest_secret_t sec = {S(RFC7616_PASS), {NULL, 0, 0}, {NULL, 0, 0}};
	size_t h, n, k, full, ok;

	for(h = 0; h < NROWS(hdrs); h++) {
		full = strlen(hdrs[h]);
		ok = 0;
		for(n = 0; n <= full; n++) {
			wa_digest_cred_t cred;
			char *buf;
			int rc = parse_exact(hdrs[h], n, &cred, &buf);
			if(rc == 0) {
				const wa_digest_str_t *v[] = {&cred.username, &cred.realm,
						&cred.nonce, &cred.uri, &cred.response, &cred.algorithm,
						&cred.cnonce, &cred.opaque, &cred.qop, &cred.nc};
				for(k = 0; k < NROWS(v); k++) {
					if(v[k]->s == NULL)
						continue;
					assert_true(v[k]->s >= buf);
					assert_true(v[k]->s + v[k]->len <= buf + n);
				}
				rc = wa_digest_check(&cred, &method, &user, &realm, &sec);
				assert_true(rc <= 0 && rc >= WA_DIGEST_ERR_MISMATCH);
				ok++;
			} else {
				assert_true(rc < 0 && rc >= WA_DIGEST_ERR_MISMATCH);
				assert_null(cred.username.s);
			}
			free(buf);
		}
		/* at least the full header parses */
		assert_true(ok >= 1);
		assert_int_equal(parse_rc(hdrs[h], full), 0);
	}
}

struct check_row
{
	const char *hdr;
	const char *method, *user, *realm;
	const char *password, *ha1, *ha1_sha256;
	int rc;
};

/* clang-format off */
static const struct check_row check_rows[] = {
	/* RFC 7616 3.9.1: password, given HA1 (either case) */
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL,
		NULL, 0},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		RFC7616_MD5_HA1, NULL, 0},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		"3D78807DEFE7DE2157E2B0B6573A855F", NULL, 0},
	{hdr_rfc7616_sha, "GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL,
		NULL, 0},
	{hdr_rfc7616_sha, "GET", RFC7616_USER, RFC7616_REALM, NULL, NULL,
		RFC7616_SHA_HA1, 0},
	{hdr_rfc7616_sha, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		RFC7616_MD5_HA1, RFC7616_SHA_HA1, 0},
	/* the stored HA1 goes first; a malformed one falls back to the password */
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, "wrong",
		RFC7616_MD5_HA1, NULL, 0},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS,
		"3d78807defe7de2157e2b0b6573a855", NULL, 0},
	{hdr_rfc2617, "GET", "Mufasa", "testrealm@host.com", "Circle Of Life",
		NULL, NULL, 0},
	{hdr_escaped, "GET", "a\"b", "r\\x", "pw", NULL, NULL, 0},
	{hdr_sip_md5, "SUBSCRIBE", "bob@example.com", "alice@example.com", NULL,
		"6979200c8fdadd56d088cacf103e289b", NULL, 0},
	{hdr_sip_md5, "SUBSCRIBE", "bob@example.com", "alice@example.com",
		"password", NULL, NULL, 0},
	{hdr_sip_sha, "SUBSCRIBE", "bob@example.com", "alice@example.com",
		"password", NULL, NULL, 0},
	{"Digest username=\"4238f3a16167373febb9bc4d43db9cc4\", userhash=true, "
		L_REALM ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST,
		"GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL, 0},
	{"Digest username=\"4238F3A16167373FEBB9BC4D43DB9CC4\", userhash=TRUE, "
		L_REALM ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST,
		"GET", RFC7616_USER, RFC7616_REALM, NULL, RFC7616_MD5_HA1, NULL, 0},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_REST
		", response=\"8CA523F5E9506FED4657C9700EEBDBEC\"", "GET",
		RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL, 0},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_REST
		", response=\"e783283f46242139c486a698fec7211d\", algorithm=MD5-sess",
		"GET", RFC7616_USER, RFC7616_REALM, NULL, RFC7616_MD5_HA1, NULL, 0},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI
		", response=\"7b2cc3b30e75b4777ea31027084363fd\"",
		"GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL, 0},

	/* negative rows */
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, "Circle of life",
		NULL, NULL, WA_DIGEST_ERR_MISMATCH},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		"3d78807defe7de2157e2b0b6573a855e", NULL, WA_DIGEST_ERR_MISMATCH},
	{hdr_rfc7616_sha, "GET", RFC7616_USER, RFC7616_REALM, "Circle of Lif",
		NULL, NULL, WA_DIGEST_ERR_MISMATCH},
	{hdr_rfc7616_md5, "POST", RFC7616_USER, RFC7616_REALM, RFC7616_PASS,
		NULL, NULL, WA_DIGEST_ERR_MISMATCH},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, "", NULL, NULL,
		WA_DIGEST_ERR_MISMATCH},
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_REST
		", response=\"8ca523f5e9506fed4657c9700eebdbed\"", "GET",
		RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL,
		WA_DIGEST_ERR_MISMATCH},
	/* nc and cnonce are part of the hash */
	{"Digest " L_USER ", " L_REALM ", " L_NONCE ", " L_URI ", " L_RESP
		", " L_CNONCE ", " L_QOP ", nc=00000002", "GET", RFC7616_USER,
		RFC7616_REALM, RFC7616_PASS, NULL, NULL, WA_DIGEST_ERR_MISMATCH},
	/* a credential that can't verify the algorithm used */
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL, NULL,
		RFC7616_SHA_HA1, WA_DIGEST_ERR_NO_SECRET},
	{hdr_rfc7616_sha, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		RFC7616_MD5_HA1, NULL, WA_DIGEST_ERR_NO_SECRET},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL,
		"3d78807defe7de2157e2b0b6573a855", NULL, WA_DIGEST_ERR_NO_SECRET},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, RFC7616_REALM, NULL, NULL, NULL,
		WA_DIGEST_ERR_NO_SECRET},
	/* not the expected identity or realm: exact bytes */
	{hdr_rfc7616_md5, "GET", "mufasa", RFC7616_REALM, RFC7616_PASS, NULL,
		NULL, WA_DIGEST_ERR_USERNAME},
	{hdr_rfc7616_md5, "GET", "Mufas", RFC7616_REALM, RFC7616_PASS, NULL,
		NULL, WA_DIGEST_ERR_USERNAME},
	{hdr_rfc7616_md5, "GET", "Mufasa2", RFC7616_REALM, RFC7616_PASS, NULL,
		NULL, WA_DIGEST_ERR_USERNAME},
	{hdr_rfc7616_md5, "GET", RFC7616_USER, "http-auth@example.org2",
		RFC7616_PASS, NULL, NULL, WA_DIGEST_ERR_REALM},
	{hdr_escaped, "GET", "a\\\"b", "r\\x", "pw", NULL, NULL,
		WA_DIGEST_ERR_USERNAME},
	{"Digest username=\"4238f3a16167373febb9bc4d43db9cc5\", userhash=true, "
		L_REALM ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST,
		"GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL,
		WA_DIGEST_ERR_USERNAME},
	{"Digest username=\"Mufasa\", userhash=true, "
		L_REALM ", " L_NONCE ", " L_URI ", " L_RESP ", " L_REST,
		"GET", RFC7616_USER, RFC7616_REALM, RFC7616_PASS, NULL, NULL,
		WA_DIGEST_ERR_USERNAME},
};
/* clang-format on */

static void test_check_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(check_rows); i++) {
		const struct check_row *r = &check_rows[i];
		wa_digest_str_t method = STR_OR_NULL(r->method),
						user = STR_OR_NULL(r->user),
						realm = STR_OR_NULL(r->realm);
		wa_digest_secret_t sec = {STR_OR_NULL(r->password), STR_OR_NULL(r->ha1),
				STR_OR_NULL(r->ha1_sha256)};
		wa_digest_cred_t cred;
		char *buf;
		int rc;

		rc = parse_exact(r->hdr, strlen(r->hdr), &cred, &buf);
		if(rc != 0)
			fail_msg(
					"row %zu: parse rc %d (%s)", i, rc, wa_digest_strerror(rc));
		rc = wa_digest_check(&cred, &method, &user, &realm, &sec);
		free(buf);
		if(rc != r->rc)
			fail_msg("row %zu: rc %d (%s), want %d (%s)", i, rc,
					wa_digest_strerror(rc), r->rc, wa_digest_strerror(r->rc));
		if(rc == 0)
			assert_no_ssl_error();
	}
	{
		wa_digest_cred_t cred;
		wa_digest_str_t m = S("GET"), u = S(RFC7616_USER),
						re = S(RFC7616_REALM);
		wa_digest_secret_t sec = {S(RFC7616_PASS), {NULL, 0, 0}, {NULL, 0, 0}};
		assert_int_equal(
				wa_digest_parse(LINE, strlen(LINE), &cred), WA_DIGEST_OK);
		assert_int_equal(
				wa_digest_check(NULL, &m, &u, &re, &sec), WA_DIGEST_ERR_ARG);
		assert_int_equal(
				wa_digest_check(&cred, NULL, &u, &re, &sec), WA_DIGEST_ERR_ARG);
		assert_int_equal(
				wa_digest_check(&cred, &m, &u, &re, NULL), WA_DIGEST_ERR_ARG);
		assert_int_equal(wa_digest_check(&cred, &m, &u, &re, &sec), 0);
	}
}

static void test_unq(void **state)
{
	char buf[8];
	wa_digest_str_t v = {"a\\\"b\\\\c", 7, 1}, plain = {"a\\b", 3, 0};

	assert_int_equal(wa_digest_unq(&v, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "a\"b\\c");
	assert_int_equal(wa_digest_unq(&v, buf, 6), 5);
	assert_int_equal(wa_digest_unq(&v, buf, 5), -1);
	assert_string_equal(buf, "");
	assert_int_equal(wa_digest_unq(&plain, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "a\\b");
	assert_int_equal(wa_digest_unq(NULL, buf, sizeof(buf)), -1);
	assert_int_equal(wa_digest_unq(&v, NULL, 4), -1);
	assert_true(wa_digest_str_equal(&v, "a\"b\\c", 5));
	assert_false(wa_digest_str_equal(&v, "a\"b\\", 4));
	assert_false(wa_digest_str_equal(&v, "a\"b\\cd", 6));
	assert_false(wa_digest_str_equal(NULL, "a", 1));
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = WA_DIGEST_ERR_MISMATCH; a <= 0; a++) {
		assert_string_not_equal(wa_digest_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(
					wa_digest_strerror(a), wa_digest_strerror(b));
	}
	assert_string_equal(wa_digest_strerror(1), "unknown error");
	assert_string_equal(
			wa_digest_strerror(WA_DIGEST_ERR_MISMATCH - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_alg_names),
			cmocka_unit_test(test_ha1),
			cmocka_unit_test(test_response_vectors),
			cmocka_unit_test(test_verify_rows),
			cmocka_unit_test(test_secret_algs),
			cmocka_unit_test(test_parse_rfc7616),
			cmocka_unit_test(test_parse_rows),
			cmocka_unit_test(test_parse_overlong),
			cmocka_unit_test(test_parse_prefixes),
			cmocka_unit_test(test_check_rows),
			cmocka_unit_test(test_unq),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name(
			"watcher_auth digest", tests, NULL, NULL);
}
