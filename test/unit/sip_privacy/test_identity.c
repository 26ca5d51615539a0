/*
 * Unit tests: sip_privacy's identity logic (RFC 3325, 3GPP TS 24.229).
 * Table-driven: URIs (sip, sips, tel, and what is refused), canonical
 * comparison, P-Asserted-Identity / P-Preferred-Identity lists (negative
 * rows for every error), the P-CSCF assertion truth table, the removal of
 * P-Asserted-Identity toward untrusted hops, and every prefix of the inputs
 * parsed from exactly-sized heap copies (ASan). The values of RFC 3325 10.1
 * are used verbatim: P-Preferred-Identity: "Cullen Jennings"
 * <sip:fluffy@cisco.com>, P-Asserted-Identity: tel:+14085264000.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "identity.h"
#include "privacy.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define H(...)            \
	{                     \
		__VA_ARGS__, NULL \
	}
#define NOH  \
	{        \
		NULL \
	}
#define MAXH 8

#define RFC3325_PPI "\"Cullen Jennings\" <sip:fluffy@cisco.com>"
#define RFC3325_TEL "tel:+14085264000"

#define SIP SP_ID_SCHEME_SIP
#define SIPS SP_ID_SCHEME_SIPS
#define TEL SP_ID_SCHEME_TEL

/* Strings copied into heap buffers of exactly their length. */
struct hset
{
	sp_str_t h[MAXH];
	char *buf[MAXH];
	size_t n;
};

static void hset_add(struct hset *hs, const char *s, size_t len)
{
	assert_true(hs->n < MAXH);
	hs->buf[hs->n] = malloc(len ? len : 1);
	assert_non_null(hs->buf[hs->n]);
	memcpy(hs->buf[hs->n], s, len);
	hs->h[hs->n].s = hs->buf[hs->n];
	hs->h[hs->n].len = len;
	hs->n++;
}

static void hset_load(struct hset *hs, const char *const *v)
{
	hs->n = 0;
	for(; *v != NULL; v++)
		hset_add(hs, *v, strlen(*v));
}

static void hset_free(struct hset *hs)
{
	size_t i;

	for(i = 0; i < hs->n; i++)
		free(hs->buf[i]);
	hs->n = 0;
}

static int in_hset(const struct hset *hs, const sp_str_t *v)
{
	size_t i;

	for(i = 0; i < hs->n; i++) {
		if(v->s >= hs->buf[i] && v->len <= hs->h[i].len
				&& (size_t)(v->s - hs->buf[i]) <= hs->h[i].len - v->len)
			return 1;
	}
	return 0;
}

static int slice_is(const sp_str_t *v, const char *want)
{
	if(want == NULL)
		return v->s == NULL && v->len == 0;
	return v->s != NULL && v->len == strlen(want)
		   && memcmp(v->s, want, v->len) == 0;
}

static void assert_slice(const sp_str_t *v, const char *want, size_t row)
{
	if(!slice_is(v, want))
		fail_msg("row %zu: \"%.*s\", want \"%s\"", row, (int)v->len,
				v->s ? v->s : "(null)", want ? want : "(null)");
}

/* Invariants of a parsed URI over the buffer it came from. */
static void check_uri(const struct hset *hs, const sp_id_uri_t *u)
{
	sp_id_uri_t again;

	assert_true(u->scheme >= SIP && u->scheme <= TEL);
	assert_true(in_hset(hs, &u->uri));
	assert_true(u->uri.len <= SP_ID_MAX_URI_LEN);
	assert_true(u->user.s == NULL || in_hset(hs, &u->user));
	assert_true(u->host.s == NULL || in_hset(hs, &u->host));
	if(u->scheme != TEL)
		assert_non_null(u->host.s);
	else
		assert_true(u->global == (u->host.s == NULL));
	assert_int_equal(sp_id_uri_parse(u->uri.s, u->uri.len, &again), SP_ID_OK);
	assert_true(sp_id_uri_equal(u, &again));
	assert_true(sp_id_uri_equal(u, u));
}

static void check_list(const struct hset *hs, int rc, const sp_id_list_t *l)
{
	size_t k;

	assert_true(rc <= 0 && rc >= SP_ID_ERR_NO_IDENTITY);
	assert_int_not_equal(rc, SP_ID_ERR_NO_IDENTITY);
	if(rc != SP_ID_OK) {
		assert_int_equal(l->n, 0);
		return;
	}
	assert_true(l->n >= 1 && l->n <= SP_ID_MAX_VALUES);
	for(k = 0; k < l->n; k++) {
		check_uri(hs, &l->v[k].uri);
		if(l->v[k].display.s != NULL) {
			assert_true(in_hset(hs, &l->v[k].display));
			assert_true(l->v[k].display.len <= SP_ID_MAX_DISPLAY_LEN);
		}
	}
	if(l->n == 2)
		assert_true((l->v[0].uri.scheme == TEL) != (l->v[1].uri.scheme == TEL));
}

struct uri_row
{
	const char *uri;
	int rc;
	sp_id_scheme_t scheme;
	const char *user, *host;
	int global;
};

/* clang-format off */
static const struct uri_row uri_rows[] = {
	{"sip:fluffy@cisco.com", SP_ID_OK, SIP, "fluffy", "cisco.com", 0},
	{RFC3325_TEL, SP_ID_OK, TEL, "+14085264000", NULL, 1},
	{"sips:alice@example.com", SP_ID_OK, SIPS, "alice", "example.com", 0},
	{"SIP:alice@example.com", SP_ID_OK, SIP, "alice", "example.com", 0},
	{"sip:alice@EXAMPLE.com:5061;transport=tls?subject=x", SP_ID_OK, SIP,
		"alice", "EXAMPLE.com:5061", 0},
	{"sip:alice;day=tuesday@atlanta.com", SP_ID_OK, SIP, "alice;day=tuesday",
		"atlanta.com", 0},
	{"sip:%61lice@atlanta.com", SP_ID_OK, SIP, "%61lice", "atlanta.com", 0},
	{"sip:+14085264000@cisco.com;user=phone", SP_ID_OK, SIP, "+14085264000",
		"cisco.com", 0},
	{"sip:example.com", SP_ID_OK, SIP, NULL, "example.com", 0},
	{"sip:192.0.2.4:5060", SP_ID_OK, SIP, NULL, "192.0.2.4:5060", 0},
	{"sip:alice@[2001:db8::1]:5060", SP_ID_OK, SIP, "alice",
		"[2001:db8::1]:5060", 0},
	{"sip:anonymous@anonymous.invalid", SP_ID_OK, SIP, "anonymous",
		"anonymous.invalid", 0},
	{"tel:+1-408-526-4000", SP_ID_OK, TEL, "+1-408-526-4000", NULL, 1},
	{"TEL:+1.408.(526)-4000;ext=12", SP_ID_OK, TEL, "+1.408.(526)-4000", NULL,
		1},
	{"tel:7042;phone-context=example.com", SP_ID_OK, TEL, "7042",
		"example.com", 0},
	{"tel:*67#;Phone-Context=+1-212", SP_ID_OK, TEL, "*67#", "+1-212", 0},
	{"tel:+1;isub=x;ext=2", SP_ID_OK, TEL, "+1", NULL, 1},
	/* schemes */
	{"mailto:fluffy@cisco.com", SP_ID_ERR_SCHEME, 0, NULL, NULL, 0},
	{"http://cisco.com", SP_ID_ERR_SCHEME, 0, NULL, NULL, 0},
	{"sipx:a@b", SP_ID_ERR_SCHEME, 0, NULL, NULL, 0},
	{"si:a@b", SP_ID_ERR_SCHEME, 0, NULL, NULL, 0},
	{"urn:service:sos", SP_ID_ERR_SCHEME, 0, NULL, NULL, 0},
	{"fluffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{":fluffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	/* sip */
	{"sip:", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@;transport=tcp", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy:secret@cisco.com", SP_ID_ERR_PASSWORD, 0, NULL, NULL, 0},
	{"sip:fluffy:@cisco.com", SP_ID_ERR_PASSWORD, 0, NULL, NULL, 0},
	{"sip:a@b@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:flu ffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cis co.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco_com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com:", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com:65536", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com:050600", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com:5x", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@[::1", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@[]", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@[::1]x", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fl%6@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com;a=%", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fl\"uffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com>", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fluffy@cisco.com\r\n", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fl\xc3\xbc" "ffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"sip:fl#ffy@cisco.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	/* tel */
	{"tel:", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+-.()", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+1a", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+1 408", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:1234", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:12g4;phone-context=example.com", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:1234;phone-context", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:1234;phone-context=", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:12;phone-context=a;phone-context=b", SP_ID_ERR_URI, 0, NULL, NULL,
		0},
	{"tel:+1;", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+1;=x", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+1;ext", SP_ID_OK, TEL, "+1", NULL, 1},
	{"tel:+1;e_t=1", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:+1;ext=1?x", SP_ID_ERR_URI, 0, NULL, NULL, 0},
	{"tel:;phone-context=x", SP_ID_ERR_URI, 0, NULL, NULL, 0},
};
/* clang-format on */

static void test_uri_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(uri_rows); i++) {
		const struct uri_row *r = &uri_rows[i];
		struct hset hs = {0};
		sp_id_uri_t u;
		int rc;

		hset_add(&hs, r->uri, strlen(r->uri));
		rc = sp_id_uri_parse(hs.h[0].s, hs.h[0].len, &u);
		if(rc != r->rc)
			fail_msg("row %zu (%s): rc %d (%s), want %d (%s)", i, r->uri, rc,
					sp_id_strerror(rc), r->rc, sp_id_strerror(r->rc));
		if(rc == SP_ID_OK) {
			check_uri(&hs, &u);
			assert_int_equal(u.scheme, r->scheme);
			assert_slice(&u.uri, r->uri, i);
			assert_slice(&u.user, r->user, i);
			assert_slice(&u.host, r->host, i);
			assert_int_equal(u.global, r->global);
		} else {
			assert_int_equal(u.scheme, SP_ID_SCHEME_NONE);
			assert_null(u.uri.s);
		}
		hset_free(&hs);
	}
}

static void test_uri_bounds(void **state)
{
	char uri[SP_ID_MAX_URI_LEN + 1];
	sp_id_uri_t u;

	memcpy(uri, "sip:", 4);
	memset(uri + 4, 'a', sizeof(uri) - 4);
	memcpy(uri + 4, "a@", 2);
	assert_int_equal(sp_id_uri_parse(uri, SP_ID_MAX_URI_LEN, &u), SP_ID_OK);
	assert_int_equal(u.host.len, SP_ID_MAX_URI_LEN - 6);
	assert_int_equal(sp_id_uri_parse(uri, SP_ID_MAX_URI_LEN + 1, &u),
			SP_ID_ERR_TOO_LONG);
	assert_int_equal(sp_id_uri_parse(NULL, 0, &u), SP_ID_ERR_URI);
	assert_int_equal(sp_id_uri_parse(NULL, 3, &u), SP_ID_ERR_ARG);
	assert_int_equal(sp_id_uri_parse("sip:a@b", 7, NULL), SP_ID_ERR_ARG);
	/* the length decides, not a NUL */
	assert_int_equal(sp_id_uri_parse("sip:a@b\0c", 9, &u), SP_ID_ERR_URI);
	assert_int_equal(sp_id_uri_parse("sip:a@bc", 7, &u), SP_ID_OK);
	assert_int_equal(u.host.len, 1);
}

struct eq_row
{
	const char *a, *b;
	int equal;
};

/* clang-format off */
static const struct eq_row eq_rows[] = {
	/* sip: host case-insensitive, user case-sensitive, params dropped */
	{"sip:fluffy@cisco.com", "sip:fluffy@CISCO.COM", 1},
	{"sip:fluffy@cisco.com", "sip:fluffy@cisco.com;transport=tcp", 1},
	{"sip:fluffy@cisco.com", "sip:fluffy@cisco.com?subject=hi", 1},
	{"sip:fluffy@cisco.com", "SIP:fluffy@Cisco.Com;user=ip;lr", 1},
	{"sip:fluffy@cisco.com:5060", "sip:fluffy@CISCO.com:5060", 1},
	{"sip:cisco.com", "sip:CISCO.COM;maddr=x", 1},
	{"sip:fluffy@cisco.com", "sip:Fluffy@cisco.com", 0},
	{"sip:fluffy@cisco.com", "sip:FLUFFY@cisco.com", 0},
	{"sip:fluffy@cisco.com", "sips:fluffy@cisco.com", 0},
	{"sip:fluffy@cisco.com", "sip:fluffy@cisco.com:5060", 0},
	{"sip:fluffy@cisco.com", "sip:fluffy@cisco.co", 0},
	{"sip:fluffy@cisco.com", "sip:fluffy@cisco.comm", 0},
	{"sip:fluffy@cisco.com", "sip:fluff@cisco.com", 0},
	{"sip:fluffy@cisco.com", "sip:fluffyy@cisco.com", 0},
	{"sip:fluffy@cisco.com", "sip:cisco.com", 0},
	{"sip:fluffy@cisco.com", "sip:%66luffy@cisco.com", 0},
	{"sip:fluffy@cisco.com", RFC3325_TEL, 0},
	/* tel: digits, separators ignored */
	{RFC3325_TEL, "tel:+1-408-526-4000", 1},
	{RFC3325_TEL, "tel:+1.408.(526)4000", 1},
	{RFC3325_TEL, "tel:+14085264000;ext=1", 1},
	{RFC3325_TEL, "tel:+14085264001", 0},
	{RFC3325_TEL, "tel:+1408526400", 0},
	{RFC3325_TEL, "tel:+140852640000", 0},
	{RFC3325_TEL, "tel:14085264000;phone-context=+1", 0},
	{RFC3325_TEL, "sip:+14085264000@cisco.com;user=phone", 0},
	{"tel:7042;phone-context=example.com", "tel:70-42;phone-context=EXAMPLE.com",
		1},
	{"tel:7042;phone-context=example.com", "tel:7042;phone-context=example.org",
		0},
	{"tel:7042;phone-context=example.com", "tel:+7042", 0},
	{"tel:*67a;phone-context=x", "tel:*67A;phone-context=x", 1},
	{"tel:*67a;phone-context=x", "tel:#67a;phone-context=x", 0},
};
/* clang-format on */

static void test_uri_equal(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(eq_rows); i++) {
		sp_id_uri_t a, b;

		assert_int_equal(
				sp_id_uri_parse(eq_rows[i].a, strlen(eq_rows[i].a), &a), 0);
		assert_int_equal(
				sp_id_uri_parse(eq_rows[i].b, strlen(eq_rows[i].b), &b), 0);
		if(sp_id_uri_equal(&a, &b) != eq_rows[i].equal
				|| sp_id_uri_equal(&b, &a) != eq_rows[i].equal)
			fail_msg("row %zu: %s vs %s", i, eq_rows[i].a, eq_rows[i].b);
	}
	{
		sp_id_uri_t a, none;
		memset(&none, 0, sizeof(none));
		assert_int_equal(sp_id_uri_parse("sip:a@b", 7, &a), 0);
		assert_false(sp_id_uri_equal(&a, NULL));
		assert_false(sp_id_uri_equal(NULL, &a));
		assert_false(sp_id_uri_equal(&none, &none));
		assert_false(sp_id_uri_equal(&a, &none));
	}
}

struct list_row
{
	const char *h[4];
	int rc;
	size_t n;
	const char *uri[2];
	const char *display[2];
};

/* clang-format off */
static const struct list_row list_rows[] = {
	/* RFC 3325 10.1: two headers, name-addr and addr-spec */
	{H(RFC3325_PPI, RFC3325_TEL), SP_ID_OK, 2,
		{"sip:fluffy@cisco.com", RFC3325_TEL}, {"\"Cullen Jennings\"", NULL}},
	{H(RFC3325_PPI), SP_ID_OK, 1, {"sip:fluffy@cisco.com", NULL},
		{"\"Cullen Jennings\"", NULL}},
	{H(RFC3325_TEL), SP_ID_OK, 1, {RFC3325_TEL, NULL}, {NULL, NULL}},
	/* the same in one header */
	{H(RFC3325_PPI ", " RFC3325_TEL), SP_ID_OK, 2,
		{"sip:fluffy@cisco.com", RFC3325_TEL}, {"\"Cullen Jennings\"", NULL}},
	{H(RFC3325_TEL "," RFC3325_PPI), SP_ID_OK, 2,
		{RFC3325_TEL, "sip:fluffy@cisco.com"}, {NULL, "\"Cullen Jennings\""}},
	/* forms of name-addr, LWS */
	{H("<sip:fluffy@cisco.com>"), SP_ID_OK, 1, {"sip:fluffy@cisco.com", NULL},
		{NULL, NULL}},
	{H("Cullen Jennings <sip:fluffy@cisco.com>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com", NULL}, {"Cullen Jennings", NULL}},
	{H("Cullen\tJennings\t<sip:fluffy@cisco.com>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com", NULL}, {"Cullen\tJennings", NULL}},
	{H("\"Cullen Jennings\"<sip:fluffy@cisco.com>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com", NULL}, {"\"Cullen Jennings\"", NULL}},
	{H("\"\" <sip:fluffy@cisco.com>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com", NULL}, {"\"\"", NULL}},
	{H("\"a\\\"b\\\\\" <sip:fluffy@cisco.com>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com", NULL}, {"\"a\\\"b\\\\\"", NULL}},
	{H("\"Jos\xc3\xa9, <x>; y\" <sip:jose@example.com>"), SP_ID_OK, 1,
		{"sip:jose@example.com", NULL}, {"\"Jos\xc3\xa9, <x>; y\"", NULL}},
	{H("  sip:fluffy@cisco.com  "), SP_ID_OK, 1, {"sip:fluffy@cisco.com", NULL},
		{NULL, NULL}},
	{H("\r\n <sip:fluffy@cisco.com> ,\r\n tel:+1 "), SP_ID_OK, 2,
		{"sip:fluffy@cisco.com", "tel:+1"}, {NULL, NULL}},
	{H("<sip:fluffy@cisco.com;transport=tcp?x=y>"), SP_ID_OK, 1,
		{"sip:fluffy@cisco.com;transport=tcp?x=y", NULL}, {NULL, NULL}},
	{H("<tel:+1;ext=2>"), SP_ID_OK, 1, {"tel:+1;ext=2", NULL}, {NULL, NULL}},
	{H("<sip:a,b@cisco.com>"), SP_ID_OK, 1, {"sip:a,b@cisco.com", NULL},
		{NULL, NULL}},
	{H("<sips:fluffy@cisco.com>", "<tel:7042;phone-context=cisco.com>"),
		SP_ID_OK, 2, {"sips:fluffy@cisco.com", "tel:7042;phone-context=cisco.com"},
		{NULL, NULL}},
	/* ';' or '?' outside angle brackets */
	{H("sip:fluffy@cisco.com;transport=tcp"), SP_ID_ERR_UNBRACKETED, 0,
		{NULL, NULL}, {NULL, NULL}},
	{H("sip:fluffy@cisco.com?x=y"), SP_ID_ERR_UNBRACKETED, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("tel:+1;ext=2"), SP_ID_ERR_UNBRACKETED, 0, {NULL, NULL}, {NULL, NULL}},
	{H("tel:7042;phone-context=cisco.com"), SP_ID_ERR_UNBRACKETED, 0,
		{NULL, NULL}, {NULL, NULL}},
	/* a ',' outside brackets separates values */
	{H("sip:a,b@cisco.com"), SP_ID_ERR_URI, 0, {NULL, NULL}, {NULL, NULL}},
	/* at most one sip/sips and one tel */
	{H("<sip:a@cisco.com>, <sip:b@cisco.com>"), SP_ID_ERR_TOO_MANY, 0,
		{NULL, NULL}, {NULL, NULL}},
	{H("sip:a@cisco.com", "sips:a@cisco.com"), SP_ID_ERR_TOO_MANY, 0,
		{NULL, NULL}, {NULL, NULL}},
	{H("tel:+1", "tel:+2"), SP_ID_ERR_TOO_MANY, 0, {NULL, NULL}, {NULL, NULL}},
	{H(RFC3325_PPI, RFC3325_TEL, "tel:+1"), SP_ID_ERR_TOO_MANY, 0,
		{NULL, NULL}, {NULL, NULL}},
	{H(RFC3325_PPI, RFC3325_PPI), SP_ID_ERR_TOO_MANY, 0, {NULL, NULL},
		{NULL, NULL}},
	/* other schemes */
	{H("<mailto:fluffy@cisco.com>"), SP_ID_ERR_SCHEME, 0, {NULL, NULL},
		{NULL, NULL}},
	{H(RFC3325_PPI, "<http://cisco.com>"), SP_ID_ERR_SCHEME, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("<sip:fluffy:pw@cisco.com>"), SP_ID_ERR_PASSWORD, 0, {NULL, NULL},
		{NULL, NULL}},
	/* empty */
	{H(""), SP_ID_ERR_EMPTY, 0, {NULL, NULL}, {NULL, NULL}},
	{H("  \t"), SP_ID_ERR_EMPTY, 0, {NULL, NULL}, {NULL, NULL}},
	{H("sip:a@cisco.com,"), SP_ID_ERR_EMPTY, 0, {NULL, NULL}, {NULL, NULL}},
	{H(",sip:a@cisco.com"), SP_ID_ERR_EMPTY, 0, {NULL, NULL}, {NULL, NULL}},
	{H("sip:a@cisco.com, ,tel:+1"), SP_ID_ERR_EMPTY, 0, {NULL, NULL},
		{NULL, NULL}},
	{H(RFC3325_PPI, ""), SP_ID_ERR_EMPTY, 0, {NULL, NULL}, {NULL, NULL}},
	{H("<>"), SP_ID_ERR_URI, 0, {NULL, NULL}, {NULL, NULL}},
	/* no header parameters, one URI per value, well-formed names */
	{H("<sip:fluffy@cisco.com>;tag=1"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H(RFC3325_PPI ";x"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL}, {NULL, NULL}},
	{H("<sip:fluffy@cisco.com"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("<sip:fluffy@cisco.com>>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("<sip:a@cisco.com> <tel:+1>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("sip:a@cisco.com tel:+1"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"Cullen <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"Cullen\" sip:fluffy@cisco.com"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"Cullen\"\"J\" <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0,
		{NULL, NULL}, {NULL, NULL}},
	{H("Cul\"len <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("Cullen: <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("sip:a@cisco.com<sip:b@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"a\rb\" <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"a\\\nb\" <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"a\x01\" <sip:fluffy@cisco.com>"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("\"a\\"), SP_ID_ERR_SYNTAX, 0, {NULL, NULL}, {NULL, NULL}},
	{H("<sip:a@cisco.com<x>"), SP_ID_ERR_URI, 0, {NULL, NULL}, {NULL, NULL}},
	{H("< sip:fluffy@cisco.com >"), SP_ID_ERR_URI, 0, {NULL, NULL},
		{NULL, NULL}},
	{H("garbage"), SP_ID_ERR_URI, 0, {NULL, NULL}, {NULL, NULL}},
};
/* clang-format on */

static void test_list_rows(void **state)
{
	size_t i, k;

	for(i = 0; i < NROWS(list_rows); i++) {
		const struct list_row *r = &list_rows[i];
		struct hset hs;
		sp_id_list_t l;
		int rc;

		hset_load(&hs, r->h);
		rc = sp_id_parse(hs.h, hs.n, &l);
		if(rc != r->rc)
			fail_msg("row %zu (%s): rc %d (%s), want %d (%s)", i, r->h[0], rc,
					sp_id_strerror(rc), r->rc, sp_id_strerror(r->rc));
		check_list(&hs, rc, &l);
		assert_int_equal(l.n, r->n);
		for(k = 0; k < l.n; k++) {
			assert_slice(&l.v[k].uri.uri, r->uri[k], i);
			assert_slice(&l.v[k].display, r->display[k], i);
		}
		hset_free(&hs);
	}
}

static void test_list_bounds(void **state)
{
	char hdr[SP_ID_MAX_HDR_LEN + 2];
	char uri[SP_ID_MAX_URI_LEN + 3];
	char disp[SP_ID_MAX_DISPLAY_LEN + 40];
	struct hset hs = {0};
	sp_id_list_t l;
	sp_str_t h;
	size_t n;

	/* header value: the longest, then one more (LWS padded) */
	memset(hdr, ' ', sizeof(hdr));
	memcpy(hdr, RFC3325_TEL, strlen(RFC3325_TEL));
	hset_add(&hs, hdr, SP_ID_MAX_HDR_LEN);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_OK);
	hset_free(&hs);
	hset_add(&hs, hdr, SP_ID_MAX_HDR_LEN + 1);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_ERR_TOO_LONG);
	assert_int_equal(l.n, 0);
	hset_free(&hs);

	/* URI in brackets and bare: the longest, then one more */
	uri[0] = '<';
	memcpy(uri + 1, "sip:a@", 6);
	memset(uri + 7, 'h', sizeof(uri) - 7);
	uri[1 + SP_ID_MAX_URI_LEN] = '>';
	hset_add(&hs, uri, SP_ID_MAX_URI_LEN + 2);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_OK);
	assert_int_equal(l.v[0].uri.uri.len, SP_ID_MAX_URI_LEN);
	hset_free(&hs);
	hset_add(&hs, uri + 1, SP_ID_MAX_URI_LEN);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_OK);
	hset_free(&hs);
	uri[1 + SP_ID_MAX_URI_LEN] = 'h';
	uri[2 + SP_ID_MAX_URI_LEN] = '>';
	hset_add(&hs, uri, SP_ID_MAX_URI_LEN + 3);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_ERR_TOO_LONG);
	hset_free(&hs);
	hset_add(&hs, uri + 1, SP_ID_MAX_URI_LEN + 1);
	assert_int_equal(sp_id_parse(hs.h, hs.n, &l), SP_ID_ERR_TOO_LONG);
	hset_free(&hs);

	/* display-name, quotes included: the longest, then one more */
	for(n = SP_ID_MAX_DISPLAY_LEN; n <= SP_ID_MAX_DISPLAY_LEN + 1; n++) {
		memset(disp, 'd', sizeof(disp));
		disp[0] = '"';
		disp[n - 1] = '"';
		memcpy(disp + n, " <sip:a@b>", 10);
		hset_add(&hs, disp, n + 10);
		assert_int_equal(sp_id_parse(hs.h, hs.n, &l),
				n == SP_ID_MAX_DISPLAY_LEN ? SP_ID_OK : SP_ID_ERR_TOO_LONG);
		hset_free(&hs);
		/* as tokens */
		memset(disp, 'd', sizeof(disp));
		memcpy(disp + n, " <sip:a@b>", 10);
		hset_add(&hs, disp, n + 10);
		assert_int_equal(sp_id_parse(hs.h, hs.n, &l),
				n == SP_ID_MAX_DISPLAY_LEN ? SP_ID_OK : SP_ID_ERR_TOO_LONG);
		hset_free(&hs);
	}

	/* arguments */
	assert_int_equal(sp_id_parse(NULL, 0, &l), SP_ID_ERR_EMPTY);
	assert_int_equal(sp_id_parse(NULL, 1, &l), SP_ID_ERR_ARG);
	h.s = "tel:+1";
	h.len = 6;
	assert_int_equal(sp_id_parse(&h, 1, NULL), SP_ID_ERR_ARG);
	h.s = NULL;
	assert_int_equal(sp_id_parse(&h, 1, &l), SP_ID_ERR_ARG);
	h.len = 0;
	assert_int_equal(sp_id_parse(&h, 1, &l), SP_ID_ERR_EMPTY);
	/* the length decides, not a NUL */
	h.s = "tel:+1\0, tel:+2";
	h.len = 15;
	assert_int_equal(sp_id_parse(&h, 1, &l), SP_ID_ERR_URI);
	h.len = 6;
	assert_int_equal(sp_id_parse(&h, 1, &l), SP_ID_OK);

	/* the anonymous From of "user" privacy is a valid name-addr */
	h.s = SP_PRIV_ANON_FROM;
	h.len = strlen(SP_PRIV_ANON_FROM);
	assert_int_equal(sp_id_parse(&h, 1, &l), SP_ID_OK);
	assert_slice(&l.v[0].display, "\"Anonymous\"", 0);
	assert_slice(&l.v[0].uri.uri, "sip:anonymous@anonymous.invalid", 0);
}

/* The public identities of two users. */
static const char *const ids_fluffy[] = {
		"sip:fluffy@cisco.com", RFC3325_TEL, NULL};
static const char *const ids_alice[] = {"sip:alice@example.com",
		"tel:+1-212-555-0100", "<sip:alice.work@example.com>",
		"tel:7042;phone-context=example.com", NULL};
static const char *const ids_bad_default[] = {
		"alice@example.com", "sip:alice@example.com", NULL};
static const char *const ids_bad_other[] = {"sip:alice@example.com",
		"sip:bob:pw@example.com", "<sip:carol@example.com>;x", "tel:+1",
		"<tel:+2>, <sip:dave@example.com>", NULL};
static const char *const ids_none[] = {NULL};

#define UNREG SP_ID_WHY_UNREGISTERED
#define PREF SP_ID_WHY_PREFERRED
#define DEF SP_ID_WHY_DEFAULT

struct assert_row
{
	int registered;
	const char *const *ids;
	const char *ppi[4];
	int rc;
	sp_id_why_t why;
	const char *pai[2];
	int ppi_rc;
	unsigned int unmatched;
	const char *formatted;
};

/* clang-format off */
static const struct assert_row assert_rows[] = {
	/* not from a registered contact: nothing asserted, whatever the PPI */
	{0, ids_alice, NOH, 0, UNREG, {NULL, NULL}, 0, 0, NULL},
	{0, ids_alice, H("<sip:alice@example.com>"), 0, UNREG, {NULL, NULL}, 0, 0,
		NULL},
	{0, ids_fluffy, H(RFC3325_PPI), 0, UNREG, {NULL, NULL}, 0, 0, NULL},
	{0, ids_none, NOH, 0, UNREG, {NULL, NULL}, 0, 0, NULL},
	{0, ids_alice, H("garbage"), 0, UNREG, {NULL, NULL}, 0, 0, NULL},
	/* RFC 3325 10.1: F1's P-Preferred-Identity becomes F2's assertion */
	{1, ids_fluffy, H(RFC3325_PPI), 0, PREF, {"sip:fluffy@cisco.com", NULL},
		0, 0, "<sip:fluffy@cisco.com>"},
	{1, ids_fluffy, H(RFC3325_PPI, RFC3325_TEL), 0, PREF,
		{"sip:fluffy@cisco.com", RFC3325_TEL}, 0, 0,
		"<sip:fluffy@cisco.com>, <" RFC3325_TEL ">"},
	{1, ids_fluffy, H(RFC3325_TEL), 0, PREF, {RFC3325_TEL, NULL}, 0, 0,
		"<" RFC3325_TEL ">"},
	/* registered without PPI: the default identity */
	{1, ids_alice, NOH, 0, DEF, {"sip:alice@example.com", NULL}, 0, 0,
		"<sip:alice@example.com>"},
	{1, ids_fluffy, NOH, 0, DEF, {"sip:fluffy@cisco.com", NULL}, 0, 0,
		"<sip:fluffy@cisco.com>"},
	/* PPI among the public identities: the provisioned spelling */
	{1, ids_alice, H("<sip:alice@example.com>"), 0, PREF,
		{"sip:alice@example.com", NULL}, 0, 0, "<sip:alice@example.com>"},
	{1, ids_alice, H("sip:alice.work@example.com"), 0, PREF,
		{"sip:alice.work@example.com", NULL}, 0, 0,
		"<sip:alice.work@example.com>"},
	{1, ids_alice, H("\"Boss\" <sip:alice.work@EXAMPLE.COM;transport=tls>"), 0,
		PREF, {"sip:alice.work@example.com", NULL}, 0, 0,
		"<sip:alice.work@example.com>"},
	{1, ids_alice, H("tel:+12125550100"), 0, PREF, {"tel:+1-212-555-0100", NULL},
		0, 0, "<tel:+1-212-555-0100>"},
	{1, ids_alice, H("<tel:+1(212)555.0100;ext=9>"), 0, PREF,
		{"tel:+1-212-555-0100", NULL}, 0, 0, "<tel:+1-212-555-0100>"},
	{1, ids_alice, H("<tel:70-42;phone-context=EXAMPLE.COM>"), 0, PREF,
		{"tel:7042;phone-context=example.com", NULL}, 0, 0,
		"<tel:7042;phone-context=example.com>"},
	{1, ids_alice, H("<sip:alice.work@example.com>, <tel:+1(212)555-0100>"),
		0, PREF, {"sip:alice.work@example.com", "tel:+1-212-555-0100"}, 0, 0,
		"<sip:alice.work@example.com>, <tel:+1-212-555-0100>"},
	{1, ids_alice, H("tel:+12125550100", "sip:alice@example.com"), 0, PREF,
		{"tel:+1-212-555-0100", "sip:alice@example.com"}, 0, 0,
		"<tel:+1-212-555-0100>, <sip:alice@example.com>"},
	/* PPI not the user's: the default identity */
	{1, ids_alice, H("<sip:Alice@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_alice, H("<sips:alice@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_alice, H("<sip:alice@example.com:5060>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_alice, H("<sip:bob@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_alice, H("tel:+12125550101"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_alice, H("<tel:7042;phone-context=example.org>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_fluffy, H("\"Alice\" <sip:alice@example.com>"), 0, DEF,
		{"sip:fluffy@cisco.com", NULL}, 0, 1, "<sip:fluffy@cisco.com>"},
	/* partly the user's: only what is hers */
	{1, ids_alice, H("<sip:bob@example.com>, tel:+12125550100"), 0, PREF,
		{"tel:+1-212-555-0100", NULL}, 0, 1, "<tel:+1-212-555-0100>"},
	/* invalid PPI: the default identity */
	{1, ids_alice, H("<sip:alice@example.com>, <sip:alice.work@example.com>"),
		0, DEF, {"sip:alice@example.com", NULL}, SP_ID_ERR_TOO_MANY, 0,
		"<sip:alice@example.com>"},
	{1, ids_alice, H("garbage"), 0, DEF, {"sip:alice@example.com", NULL},
		SP_ID_ERR_URI, 0, "<sip:alice@example.com>"},
	{1, ids_alice, H("sip:alice.work@example.com;x=y"), 0, DEF,
		{"sip:alice@example.com", NULL}, SP_ID_ERR_UNBRACKETED, 0,
		"<sip:alice@example.com>"},
	{1, ids_alice, H(""), 0, DEF, {"sip:alice@example.com", NULL},
		SP_ID_ERR_EMPTY, 0, "<sip:alice@example.com>"},
	{1, ids_alice, H("<sip:alice.work:pw@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, SP_ID_ERR_PASSWORD, 0,
		"<sip:alice@example.com>"},
	/* the identity table */
	{1, ids_none, NOH, SP_ID_ERR_NO_IDENTITY, UNREG, {NULL, NULL}, 0, 0, NULL},
	{1, ids_none, H(RFC3325_PPI), SP_ID_ERR_NO_IDENTITY, UNREG, {NULL, NULL}, 0,
		0, NULL},
	{1, ids_bad_default, H("sip:alice@example.com"), SP_ID_ERR_NO_IDENTITY,
		UNREG, {NULL, NULL}, 0, 0, NULL},
	{1, ids_bad_other, H("tel:+1"), 0, PREF, {"tel:+1", NULL}, 0, 0,
		"<tel:+1>"},
	{1, ids_bad_other, H("<sip:bob@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_bad_other, H("<sip:carol@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_bad_other, H("<sip:dave@example.com>"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
	{1, ids_bad_other, H("tel:+2"), 0, DEF,
		{"sip:alice@example.com", NULL}, 0, 1, "<sip:alice@example.com>"},
};
/* clang-format on */

static void test_assert_rows(void **state)
{
	size_t i, k;

	for(i = 0; i < NROWS(assert_rows); i++) {
		const struct assert_row *r = &assert_rows[i];
		struct hset ids, ppi;
		sp_id_assertion_t a;
		char buf[2 * SP_ID_MAX_URI_LEN + 8];
		int rc, len;

		hset_load(&ids, r->ids);
		hset_load(&ppi, r->ppi);
		rc = sp_id_assert(r->registered, ids.h, ids.n, ppi.h, ppi.n, &a);
		if(rc != r->rc || a.why != r->why || a.ppi_rc != r->ppi_rc
				|| a.ppi_unmatched != r->unmatched)
			fail_msg("row %zu: rc %d why %d ppi_rc %d unmatched %u", i, rc,
					a.why, a.ppi_rc, a.ppi_unmatched);
		assert_int_equal(a.ppi_present, ppi.n > 0);
		for(k = 0; k < SP_ID_MAX_VALUES; k++) {
			if(k < a.n) {
				assert_slice(&a.pai[k], r->pai[k], i);
				assert_true(in_hset(&ids, &a.pai[k]));
			} else {
				assert_null(r->pai[k]);
				assert_null(a.pai[k].s);
			}
		}
		len = sp_id_pai_format(&a, buf, sizeof(buf));
		if(r->formatted == NULL) {
			assert_int_equal(len, -1);
		} else {
			assert_string_equal(buf, r->formatted);
			assert_int_equal(len, (int)strlen(r->formatted));
			/* exactly enough room, then one byte less */
			assert_int_equal(sp_id_pai_format(&a, buf, (size_t)len + 1), len);
			assert_int_equal(sp_id_pai_format(&a, buf, (size_t)len), -1);
			assert_string_equal(buf, "");
		}
		hset_free(&ids);
		hset_free(&ppi);
	}

	{
		sp_id_assertion_t a;
		sp_str_t id = {"sip:a@b", 7};
		char buf[4];
		assert_int_equal(sp_id_assert(1, &id, 1, NULL, 0, NULL), SP_ID_ERR_ARG);
		assert_int_equal(sp_id_assert(1, NULL, 1, NULL, 0, &a), SP_ID_ERR_ARG);
		assert_int_equal(sp_id_assert(1, &id, 1, NULL, 1, &a), SP_ID_ERR_ARG);
		assert_int_equal(sp_id_assert(1, &id, 1, NULL, 0, &a), SP_ID_OK);
		assert_int_equal(sp_id_pai_format(NULL, buf, sizeof(buf)), -1);
		assert_int_equal(sp_id_pai_format(&a, NULL, 4), -1);
		assert_int_equal(sp_id_pai_format(&a, buf, 0), -1);
	}
}

/* P-Asserted-Identity toward an untrusted hop: Privacy x policy. */
static void test_pai_remove(void **state)
{
	/* clang-format off */
	static const struct {
		const char *privacy[3]; /* NOH: no Privacy header */
		int keep_policy, remove_policy;
	} rows[] = {
		{NOH, 0, 1},
		{H("id"), 1, 1},				/* RFC 3325 10.2 */
		{H("id;critical"), 1, 1},
		{H("user;id"), 1, 1},
		{H("header", "id"), 1, 1},
		{H("none"), 0, 0},				/* no privacy, whatever the policy */
		{H("user"), 0, 1},
		{H("header;session"), 0, 1},
		{H("critical"), 0, 1},
		{H("foo"), 0, 1},
		{H("idx"), 0, 1},
		/* unparsable: as "id" */
		{H("none;id"), 1, 1},
		{H("none;user"), 1, 1},
		{H("none;critical"), 1, 1},
		{H("id;;"), 1, 1},
		{H(""), 1, 1},
		{H("i d"), 1, 1},
	};
	/* clang-format on */
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		struct hset hs;
		sp_priv_t p;
		unsigned int req;

		hset_load(&hs, rows[i].privacy);
		sp_priv_parse(hs.h, hs.n, &p);
		req = sp_priv_requested(&p);
		if(sp_id_pai_remove(req, SP_ID_ABSENT_KEEP) != rows[i].keep_policy
				|| sp_id_pai_remove(req, SP_ID_ABSENT_REMOVE)
						   != rows[i].remove_policy)
			fail_msg("row %zu (%s)", i,
					rows[i].privacy[0] ? rows[i].privacy[0] : "(none)");
		/* a policy out of range removes, except for "none" */
		assert_int_equal(sp_id_pai_remove(req, (sp_id_absent_policy_t)42),
				req != SP_PRIV_NONE);
		hset_free(&hs);
	}
	/* a raw mask with "none" and more is not "none" */
	assert_int_equal(
			sp_id_pai_remove(SP_PRIV_NONE | SP_PRIV_USER, SP_ID_ABSENT_REMOVE),
			1);
	assert_int_equal(
			sp_id_pai_remove(SP_PRIV_NONE | SP_PRIV_ID, SP_ID_ABSENT_KEEP), 1);
}

/* Every prefix of the inputs, from exactly-sized heap copies. */
static void test_prefixes(void **state)
{
	static const char *const full[] = {RFC3325_PPI ", " RFC3325_TEL,
			"Cullen Jennings <sip:fluffy@cisco.com;transport=tcp>",
			"\"a\\\"b\\\\\" <tel:7042;phone-context=example.com>",
			"sip:fluffy@[2001:db8::1]:5061", "tel:+1-408-526-4000",
			"<sips:a;b=c@x.y:1?h=v>, tel:*1#;phone-context=+1"};
	static const char *const ids[] = {"sip:fluffy@cisco.com", RFC3325_TEL};
	size_t f, n;
	sp_str_t idv[2];

	idv[0].s = ids[0];
	idv[0].len = strlen(ids[0]);
	idv[1].s = ids[1];
	idv[1].len = strlen(ids[1]);
	for(f = 0; f < NROWS(full); f++) {
		size_t len = strlen(full[f]);
		for(n = 0; n <= len; n++) {
			struct hset hs = {0};
			sp_id_list_t l;
			sp_id_uri_t u;
			sp_id_assertion_t a;
			int rc;

			hset_add(&hs, full[f], n);
			rc = sp_id_parse(hs.h, hs.n, &l);
			check_list(&hs, rc, &l);
			rc = sp_id_uri_parse(hs.h[0].s, n, &u);
			assert_true(rc <= 0 && rc >= SP_ID_ERR_TOO_MANY);
			if(rc == SP_ID_OK)
				check_uri(&hs, &u);
			assert_int_equal(sp_id_assert(1, idv, 2, hs.h, hs.n, &a), 0);
			assert_true(a.n >= 1 && a.n <= 2);
			assert_true(a.why == PREF || a.why == DEF);
			hset_free(&hs);
		}
	}
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = SP_ID_ERR_NO_IDENTITY; a <= 0; a++) {
		assert_string_not_equal(sp_id_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(sp_id_strerror(a), sp_id_strerror(b));
	}
	assert_string_equal(sp_id_strerror(1), "unknown error");
	assert_string_equal(
			sp_id_strerror(SP_ID_ERR_NO_IDENTITY - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_uri_rows),
			cmocka_unit_test(test_uri_bounds),
			cmocka_unit_test(test_uri_equal),
			cmocka_unit_test(test_list_rows),
			cmocka_unit_test(test_list_bounds),
			cmocka_unit_test(test_assert_rows),
			cmocka_unit_test(test_pai_remove),
			cmocka_unit_test(test_prefixes),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name(
			"sip_privacy identity", tests, NULL, NULL);
}
