/*
 * Unit tests: notify_smime's MIME builders and parsers (mime.c). Every
 * input is copied into a buffer of exactly its length, so that ASan sees
 * any read past the end; every parser runs over every prefix of its valid
 * inputs; negative rows for each error code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mime.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define L(lit) (lit), (sizeof(lit) - 1)

/* A copy of n bytes in a buffer of exactly n bytes (1 for n == 0). */
static char *dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if(n)
		memcpy(p, s, n);
	return p;
}

static int in_range(const char *p, size_t len, const char *base, size_t n)
{
	return p >= base && len <= n && (size_t)(p - base) <= n - len;
}

static void assert_rc_valid(int rc)
{
	assert_true(rc <= 0 && rc >= NS_MIME_ERR_RANDOM);
	assert_string_not_equal(ns_mime_strerror(rc), "unknown error");
}

/* ------------------------------------------------------- Content-Type */

struct ctype_row
{
	const char *in;
	size_t len; /* 0: strlen */
	int rc;
	const char *type, *subtype;
	/* the parameters as "name=value\n..." */
	const char *params;
};

/* clang-format off */
static const struct ctype_row ctype_rows[] = {
	{"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m", 0,
		0, "application", "pkcs7-mime",
		"smime-type=enveloped-data\nname=smime.p7m\n"},
	{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
		"micalg=sha-256; boundary=\"b1:=?x y\"", 0, 0, "multipart", "signed",
		"protocol=application/pkcs7-signature\nmicalg=sha-256\n"
		"boundary=b1:=?x y\n"},
	{"Application/PKCS7-MIME ; SMIME-Type = Enveloped-Data", 0, 0,
		"application", "pkcs7-mime", "smime-type=Enveloped-Data\n"},
	{"text/plain; x=\"a\\\"b\\\\c\"", 0, 0, "text", "plain", "x=a\"b\\c\n"},
	{"text/plain; x=\"\"", 0, 0, "text", "plain", "x=\n"},
	{"text/plain; x=\"\\a\xc3\xa4\"", 0, 0, "text", "plain", "x=a\xc3\xa4\n"},
	{"  a / b  ", 0, 0, "a", "b", ""},
	{"\ta/b;\tx=y\t", 0, 0, "a", "b", "x=y\n"},
	{"multipart/signed;\r\n boundary=\"abc\"", 0, 0, "multipart", "signed",
		"boundary=abc\n"},
	{"a/b; x=\"one\r\n two\"", 0, 0, "a", "b", "x=one two\n"},
	{"a/b; name*=x; name=y", 0, 0, "a", "b", "name*=x\nname=y\n"},
	{"a/b; x=y; x-y=z", 0, 0, "a", "b", "x=y\nx-y=z\n"},
	/* a length shorter than the string */
	{"a/b; x=y; x=z", 8, 0, "a", "b", "x=y\n"},

	/* negative rows */
	{"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"   ", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"application", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"application/", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"/pkcs7-mime", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b/c", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b x", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b (comment)", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b;", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; ", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b;;x=y", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; =y", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=y z", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=y;", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=y/z", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"abc", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"abc\\", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"abc\\\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"a\rb\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"a\nb\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"a\r\nb\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"a\\\x01\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\"a\x7f\"", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=a\x01", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=\xc3\xa4", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b\r\nx", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b\r\n", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b;\r\n", 0, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a\0/b", 4, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	{"a/b; x=y\0", 9, NS_MIME_ERR_SYNTAX, NULL, NULL, NULL},
	/* duplicates, in any case, quoted or not */
	{"a/b; x=y; x=y", 0, NS_MIME_ERR_DUPLICATE, NULL, NULL, NULL},
	{"a/b; x=y; X=z", 0, NS_MIME_ERR_DUPLICATE, NULL, NULL, NULL},
	{"multipart/signed; boundary=a; protocol=p; BOUNDARY=\"b\"", 0,
		NS_MIME_ERR_DUPLICATE, NULL, NULL, NULL},
};
/* clang-format on */

static void check_params(
		size_t row, const ns_mime_ctype_t *ct, const char *want)
{
	char buf[2048];
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for(i = 0; i < ct->nparams; i++) {
		assert_int_equal(strlen(ct->params[i].value), ct->params[i].vlen);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s=%s\n",
				ct->params[i].name, ct->params[i].value);
		assert_true(n < sizeof(buf));
		assert_ptr_equal(ns_mime_ctype_param(ct, ct->params[i].name),
				ct->params[i].value);
	}
	if(strcmp(buf, want) != 0)
		fail_msg("row %zu: params \"%s\", want \"%s\"", row, buf, want);
}

static void test_ctype_rows(void **state)
{
	ns_mime_ctype_t ct;
	size_t i;

	for(i = 0; i < NROWS(ctype_rows); i++) {
		const struct ctype_row *r = &ctype_rows[i];
		size_t n = r->len ? r->len : strlen(r->in);
		char *in = dup_exact(r->in, n);
		int rc = ns_mime_ctype_parse(in, n, &ct);

		if(rc != r->rc)
			fail_msg("row %zu: rc %d (%s), want %d: \"%s\"", i, rc,
					ns_mime_strerror(rc), r->rc, r->in);
		if(rc == 0) {
			assert_string_equal(ct.type, r->type);
			assert_string_equal(ct.subtype, r->subtype);
			check_params(i, &ct, r->params);
		} else {
			assert_null(ct.type);
			assert_int_equal(ct.nparams, 0);
		}
		free(in);
	}
	assert_int_equal(ns_mime_ctype_parse("a/b", 3, NULL), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_ctype_parse(NULL, 3, &ct), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_ctype_parse(NULL, 0, &ct), NS_MIME_ERR_SYNTAX);
}

/* Lookups are exact tokens: never a prefix, any case. */
static void test_ctype_lookup(void **state)
{
	static const char v[] =
			"Application/PKCS7-Mime; Name=smime.p7m; smime-type=x";
	ns_mime_ctype_t ct;

	assert_int_equal(ns_mime_ctype_parse(L(v), &ct), 0);
	assert_string_equal(ns_mime_ctype_param(&ct, "name"), "smime.p7m");
	assert_string_equal(ns_mime_ctype_param(&ct, "NAME"), "smime.p7m");
	assert_null(ns_mime_ctype_param(&ct, "nam"));
	assert_null(ns_mime_ctype_param(&ct, "names"));
	assert_null(ns_mime_ctype_param(&ct, "smime"));
	assert_null(ns_mime_ctype_param(&ct, ""));
	assert_null(ns_mime_ctype_param(NULL, "name"));
	assert_null(ns_mime_ctype_param(&ct, NULL));
	assert_true(ns_mime_ctype_is(&ct, "application", "pkcs7-mime"));
	assert_true(ns_mime_ctype_is(&ct, "APPLICATION", "pkcs7-MIME"));
	assert_false(ns_mime_ctype_is(&ct, "application", "pkcs7"));
	assert_false(ns_mime_ctype_is(&ct, "application", "pkcs7-mimex"));
	assert_false(ns_mime_ctype_is(&ct, "app", "pkcs7-mime"));
	assert_false(ns_mime_ctype_is(NULL, "application", "pkcs7-mime"));
	assert_int_equal(ns_mime_smime_type(&ct), NS_MIME_SMIME_OTHER);
}

static void test_ctype_limits(void **state)
{
	char buf[NS_MIME_MAX_CTYPE_LEN + 64];
	ns_mime_ctype_t ct;
	int i, n;

	/* 16 parameters are fine, 17 are not */
	n = snprintf(buf, sizeof(buf), "a/b");
	for(i = 0; i < NS_MIME_MAX_PARAMS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; p%d=v", i);
	assert_int_equal(ns_mime_ctype_parse(buf, (size_t)n, &ct), 0);
	assert_int_equal(ct.nparams, NS_MIME_MAX_PARAMS);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; q=v");
	assert_int_equal(
			ns_mime_ctype_parse(buf, (size_t)n, &ct), NS_MIME_ERR_TOO_MANY);
	/* the longest value fills the bound */
	memcpy(buf, "a/b; x=", 7);
	memset(buf + 7, 'v', NS_MIME_MAX_CTYPE_LEN - 7);
	assert_int_equal(ns_mime_ctype_parse(buf, NS_MIME_MAX_CTYPE_LEN, &ct), 0);
	assert_int_equal(ct.params[0].vlen, NS_MIME_MAX_CTYPE_LEN - 7);
	buf[NS_MIME_MAX_CTYPE_LEN] = 'v';
	assert_int_equal(ns_mime_ctype_parse(buf, NS_MIME_MAX_CTYPE_LEN + 1, &ct),
			NS_MIME_ERR_TOO_LONG);
	/* 16 parameters with the longest names and values the bound allows */
	n = snprintf(buf, sizeof(buf), "a/b");
	for(i = 0; i < NS_MIME_MAX_PARAMS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ";p%02d=\"%s\"", i,
				"\\a\\b\\c\\d\\e\\f\\g\\h\\i\\j\\k\\l\\m\\n\\o\\p\\q\\r"
				"\\s\\t\\u\\v\\w\\x\\y");
	assert_true(n <= NS_MIME_MAX_CTYPE_LEN);
	assert_int_equal(ns_mime_ctype_parse(buf, (size_t)n, &ct), 0);
	assert_string_equal(ct.params[15].value, "abcdefghijklmnopqrstuvwxy");
	/* a huge declared length is refused before anything is read */
	assert_int_equal(
			ns_mime_ctype_parse("a/b", SIZE_MAX, &ct), NS_MIME_ERR_TOO_LONG);
}

static void test_ctype_prefixes(void **state)
{
	static const char *const vals[] = {
			"application/pkcs7-mime; smime-type=enveloped-data; "
			"name=smime.p7m",
			"multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
			"\tmicalg=sha-256; boundary=\"a\\\"b\"",
			"a/b; x=\"one\r\n two\"",
	};
	ns_mime_ctype_t ct;
	size_t v, n, full, ok;

	for(v = 0; v < NROWS(vals); v++) {
		full = strlen(vals[v]);
		ok = 0;
		for(n = 0; n <= full; n++) {
			char *in = dup_exact(vals[v], n);
			int rc = ns_mime_ctype_parse(in, n, &ct);
			assert_rc_valid(rc);
			if(rc == 0) {
				assert_non_null(ct.type);
				assert_non_null(ct.subtype);
				ok++;
			}
			free(in);
		}
		assert_true(ok >= 1);
		assert_int_equal(ns_mime_ctype_parse(vals[v], full, &ct), 0);
	}
}

static void test_smime_type(void **state)
{
	/* clang-format off */
	static const struct {
		const char *ct;
		ns_mime_smime_t t;
	} rows[] = {
		{"application/pkcs7-mime; smime-type=enveloped-data",
			NS_MIME_SMIME_ENVELOPED},
		{"application/x-pkcs7-mime; smime-type=\"enveloped-data\"",
			NS_MIME_SMIME_ENVELOPED},
		{"application/pkcs7-mime; smime-type=authEnveloped-data",
			NS_MIME_SMIME_AUTH_ENVELOPED},
		{"application/pkcs7-mime; smime-type=authenveloped-data",
			NS_MIME_SMIME_AUTH_ENVELOPED},
		{"application/pkcs7-mime; smime-type=signed-data",
			NS_MIME_SMIME_SIGNED},
		{"application/pkcs7-mime; smime-type=certs-only",
			NS_MIME_SMIME_CERTS_ONLY},
		{"application/pkcs7-mime; smime-type=compressed-data",
			NS_MIME_SMIME_COMPRESSED},
		{"application/pkcs7-mime; name=smime.p7m", NS_MIME_SMIME_NONE},
		{"application/pkcs7-mime; smime-type=enveloped-datax",
			NS_MIME_SMIME_OTHER},
		{"application/pkcs7-mime; smime-type=enveloped", NS_MIME_SMIME_OTHER},
		{"application/pkcs7-signature; smime-type=enveloped-data",
			NS_MIME_SMIME_NOT_PKCS7},
		{"application/pidf+xml", NS_MIME_SMIME_NOT_PKCS7},
	};
	/* clang-format on */
	ns_mime_ctype_t ct;
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(
				ns_mime_ctype_parse(rows[i].ct, strlen(rows[i].ct), &ct), 0);
		if(ns_mime_smime_type(&ct) != rows[i].t)
			fail_msg("row %zu: %d, want %d", i, ns_mime_smime_type(&ct),
					rows[i].t);
	}
	assert_int_equal(ns_mime_smime_type(NULL), NS_MIME_SMIME_NOT_PKCS7);
}

/* -------------------------------------------------------------- base64 */

static void test_b64(void **state)
{
	/* clang-format off */
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		const char *out;
		int rc;
	} rows[] = {
		/* RFC 4648 10 */
		{"", 0, "", 0},
		{"Zg==", 0, "f", 0},
		{"Zm8=", 0, "fo", 0},
		{"Zm9v", 0, "foo", 0},
		{"Zm9vYg==", 0, "foob", 0},
		{"Zm9vYmE=", 0, "fooba", 0},
		{"Zm9vYmFy", 0, "foobar", 0},
		/* line breaks and whitespace are skipped */
		{"Zm9v\r\nYmFy\r\n", 0, "foobar", 0},
		{" Zm 9v\tYm\nFy ", 0, "foobar", 0},
		{"Zm9vYg=\r\n=\r\n", 0, "foob", 0},
		{"+/+/", 0, "\xfb\xff\xbf", 0},
		/* negative rows */
		{"Zg=", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zg", 0, NULL, NS_MIME_ERR_BASE64},
		{"Z", 0, NULL, NS_MIME_ERR_BASE64},
		{"Z===", 0, NULL, NS_MIME_ERR_BASE64},
		{"====", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zg==Zg==", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zg===", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9v=", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zg=a", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9!", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9-", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9_", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9v\x80", 0, NULL, NS_MIME_ERR_BASE64},
		{"Zm9v\0", 5, NULL, NS_MIME_ERR_BASE64},
	};
	/* clang-format on */
	char out[16];
	size_t i, n;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);
		char *in = dup_exact(rows[i].in, len);
		rc = ns_mime_b64_decode(in, len, out, sizeof(out), &n);
		free(in);
		if(rc != rows[i].rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, rows[i].rc);
		if(rc == 0) {
			assert_int_equal(n, strlen(rows[i].out));
			assert_memory_equal(out, rows[i].out, n);
			assert_true(n <= ns_mime_b64_maxlen(len));
		} else {
			assert_int_equal(n, 0);
		}
	}
	/* the output bound is exact */
	assert_int_equal(ns_mime_b64_decode(L("Zm9vYmFy"), out, 6, &n), 0);
	assert_int_equal(
			ns_mime_b64_decode(L("Zm9vYmFy"), out, 5, &n), NS_MIME_ERR_NOSPACE);
	assert_int_equal(ns_mime_b64_decode(L("Zm9vYg=="), out, 4, &n), 0);
	assert_int_equal(
			ns_mime_b64_decode(L("Zm9vYg=="), out, 3, &n), NS_MIME_ERR_NOSPACE);
	assert_int_equal(
			ns_mime_b64_decode(L("Zg=="), NULL, 0, &n), NS_MIME_ERR_NOSPACE);
	assert_int_equal(ns_mime_b64_decode(L(""), NULL, 0, &n), 0);
	assert_int_equal(
			ns_mime_b64_decode(L("Zg=="), out, 4, NULL), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_b64_decode(NULL, 4, out, 4, &n), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_b64_decode("Zg==", SIZE_MAX, out, 4, &n),
			NS_MIME_ERR_TOO_LONG);
}

/* ------------------------------------------------------------ entities */

static void test_entity_build(void **state)
{
	static const char body[] = "<presence>\0\xff</presence>";
	static const char want[] = "Content-Type: application/pidf+xml\r\n\r\n"
							   "<presence>\0\xff</presence>";
	ns_mime_entity_t ent;
	char out[128];
	size_t n, need;

	assert_int_equal(ns_mime_entity_build("application/pidf+xml", body,
							 sizeof(body) - 1, out, sizeof(out), &n),
			0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* and back */
	assert_int_equal(ns_mime_entity_parse(out, n, &ent, NULL, 0), 0);
	assert_true(ns_mime_ctype_is(&ent.ctype, "application", "pidf+xml"));
	assert_int_equal(ent.cte, NS_MIME_CTE_NONE);
	assert_int_equal(ent.body.len, sizeof(body) - 1);
	assert_memory_equal(ent.body.s, body, ent.body.len);
	assert_ptr_equal(ent.body.s, out + n - ent.body.len);
	assert_ptr_equal(ent.headers.s, out);
	assert_int_equal(ent.headers.len, strlen("Content-Type: "
											 "application/pidf+xml\r\n"));
	/* exactly the size needed, one less, none */
	need = n;
	assert_int_equal(ns_mime_entity_build("application/pidf+xml", body,
							 sizeof(body) - 1, out, need, &n),
			0);
	assert_int_equal(ns_mime_entity_build("application/pidf+xml", body,
							 sizeof(body) - 1, out, need - 1, &n),
			NS_MIME_ERR_NOSPACE);
	assert_int_equal(n, need);
	assert_int_equal(ns_mime_entity_build("application/pidf+xml", body,
							 sizeof(body) - 1, NULL, 0, &n),
			NS_MIME_ERR_NOSPACE);
	assert_int_equal(n, need);
	/* an empty body */
	assert_int_equal(
			ns_mime_entity_build("text/plain", NULL, 0, out, sizeof(out), &n),
			0);
	assert_int_equal(n, strlen("Content-Type: text/plain\r\n\r\n"));
	/* negative rows: the type must be valid and on one line */
	assert_int_equal(ns_mime_entity_build("text/plain\r\nX-Evil: 1", "x", 1,
							 out, sizeof(out), &n),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(ns_mime_entity_build("text/plain;\r\n x=y", "x", 1, out,
							 sizeof(out), &n),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(ns_mime_entity_build("text", "x", 1, out, sizeof(out), &n),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(ns_mime_entity_build("", "x", 1, out, sizeof(out), &n),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(
			ns_mime_entity_build("a/b; x=1; X=2", "x", 1, out, sizeof(out), &n),
			NS_MIME_ERR_DUPLICATE);
	assert_int_equal(ns_mime_entity_build(NULL, "x", 1, out, sizeof(out), &n),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_entity_build("a/b", NULL, 1, out, sizeof(out), &n),
			NS_MIME_ERR_ARG);
	assert_int_equal(
			ns_mime_entity_build("a/b", "x", 1, out, sizeof(out), NULL),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_entity_build("a/b", "x", NS_MIME_MAX_LEN + 1, out,
							 sizeof(out), &n),
			NS_MIME_ERR_TOO_LONG);
}

struct entity_row
{
	const char *in;
	size_t len; /* 0: strlen */
	int rc;
	const char *type; /* "type/subtype" */
	ns_mime_cte_t cte;
	const char *body;
	size_t blen; /* 0: strlen */
};

#define CT "Content-Type: application/pidf+xml\r\n"

/* clang-format off */
static const struct entity_row entity_rows[] = {
	{CT "\r\n<x/>", 0, 0, "application/pidf+xml", NS_MIME_CTE_NONE, "<x/>", 0},
	{CT "\r\n", 0, 0, "application/pidf+xml", NS_MIME_CTE_NONE, "", 0},
	{"content-type:a/b\r\n\r\nbody\r\n\r\n", 0, 0, "a/b", NS_MIME_CTE_NONE,
		"body\r\n\r\n", 0},
	{"Content-Type : a/b\r\n\r\nx", 0, 0, "a/b", NS_MIME_CTE_NONE, "x", 0},
	{"Content-Type: multipart/mixed;\r\n boundary=\"x\"\r\n\r\nbody", 0, 0,
		"multipart/mixed", NS_MIME_CTE_NONE, "body", 0},
	{CT "Content-Transfer-Encoding: base64\r\n\r\nPHgvPg==\r\n", 0, 0,
		"application/pidf+xml", NS_MIME_CTE_BASE64, "<x/>", 0},
	{CT "content-transfer-encoding:\tBASE64 \r\n\r\nPHgv\r\nPg==", 0, 0,
		"application/pidf+xml", NS_MIME_CTE_BASE64, "<x/>", 0},
	{CT "Content-Transfer-Encoding: binary\r\n\r\n\0\r\n",
		sizeof(CT "Content-Transfer-Encoding: binary\r\n\r\n\0\r\n") - 1, 0,
		"application/pidf+xml", NS_MIME_CTE_BINARY, "\0\r\n", 3},
	{CT "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa4", 0, 0,
		"application/pidf+xml", NS_MIME_CTE_8BIT, "\xc3\xa4", 0},
	{CT "Content-Transfer-Encoding: 7bit\r\n\r\nx", 0, 0,
		"application/pidf+xml", NS_MIME_CTE_7BIT, "x", 0},
	/* other headers: ignored, a huge declared length too */
	{"Content-ID: <1@example.com>\r\n" CT
		"Content-Length: 99999999999999999999999\r\n"
		"Content-Disposition: attachment;\r\n\thandling=required\r\n"
		"\r\nbody", 0, 0, "application/pidf+xml", NS_MIME_CTE_NONE, "body", 0},
	/* a body that looks like headers is a body */
	{CT "\r\nContent-Type: text/plain\r\n\r\nx", 0, 0, "application/pidf+xml",
		NS_MIME_CTE_NONE, "Content-Type: text/plain\r\n\r\nx", 0},

	/* negative rows */
	{"", 0, NS_MIME_ERR_TRUNCATED, NULL, 0, NULL, 0},
	{"\r\n<x/>", 0, NS_MIME_ERR_NO_CTYPE, NULL, 0, NULL, 0},
	{"Content-ID: <1>\r\n\r\n<x/>", 0, NS_MIME_ERR_NO_CTYPE, NULL, 0, NULL, 0},
	{"Content-Typ: a/b\r\n\r\n", 0, NS_MIME_ERR_NO_CTYPE, NULL, 0, NULL, 0},
	{"Content-Types: a/b\r\n\r\n", 0, NS_MIME_ERR_NO_CTYPE, NULL, 0, NULL, 0},
	{"C: a/b\r\n\r\n", 0, NS_MIME_ERR_NO_CTYPE, NULL, 0, NULL, 0},
	{CT, 0, NS_MIME_ERR_TRUNCATED, NULL, 0, NULL, 0},
	{CT "\r", 0, NS_MIME_ERR_TRUNCATED, NULL, 0, NULL, 0},
	{"Content-Type: a/b", 0, NS_MIME_ERR_TRUNCATED, NULL, 0, NULL, 0},
	{"Content-Type: a/b\n\nx", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{"Content-Type: a/b\r\r\n\r\nx", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{"Content-Type: a/\0b\r\n\r\nx", 23, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{" Content-Type: a/b\r\n\r\n", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{"Content Type: a/b\r\n\r\n", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{": a/b\r\n\r\n", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{"Content-Type a/b\r\n\r\n", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{"\nContent-Type: a/b\r\n\r\n", 0, NS_MIME_ERR_HEADER, NULL, 0, NULL, 0},
	{CT "content-type: text/plain\r\n\r\n", 0, NS_MIME_ERR_DUPLICATE, NULL, 0,
		NULL, 0},
	{CT "Content-Transfer-Encoding: binary\r\n"
		"Content-Transfer-Encoding: binary\r\n\r\n", 0, NS_MIME_ERR_DUPLICATE,
		NULL, 0, NULL, 0},
	{"Content-Type: a\r\n\r\n", 0, NS_MIME_ERR_SYNTAX, NULL, 0, NULL, 0},
	{"Content-Type: a/b; x=1; x=2\r\n\r\n", 0, NS_MIME_ERR_DUPLICATE, NULL, 0,
		NULL, 0},
	{CT "Content-Transfer-Encoding: quoted-printable\r\n\r\nx", 0,
		NS_MIME_ERR_CTE, NULL, 0, NULL, 0},
	{CT "Content-Transfer-Encoding: base64x\r\n\r\nx", 0, NS_MIME_ERR_CTE,
		NULL, 0, NULL, 0},
	{CT "Content-Transfer-Encoding: base6\r\n\r\nx", 0, NS_MIME_ERR_CTE, NULL,
		0, NULL, 0},
	{CT "Content-Transfer-Encoding: base64 binary\r\n\r\nx", 0,
		NS_MIME_ERR_CTE, NULL, 0, NULL, 0},
	{CT "Content-Transfer-Encoding: base64; x=y\r\n\r\nx", 0, NS_MIME_ERR_CTE,
		NULL, 0, NULL, 0},
	{CT "Content-Transfer-Encoding:\r\n\r\nx", 0, NS_MIME_ERR_CTE, NULL, 0,
		NULL, 0},
	{CT "Content-Transfer-Encoding: base64\r\n\r\nPHgvPg=", 0,
		NS_MIME_ERR_BASE64, NULL, 0, NULL, 0},
	{CT "Content-Transfer-Encoding: base64\r\n\r\n<x/>", 0,
		NS_MIME_ERR_BASE64, NULL, 0, NULL, 0},
};
/* clang-format on */

static void test_entity_rows(void **state)
{
	ns_mime_entity_t ent;
	char dec[256], type[128];
	size_t i;

	for(i = 0; i < NROWS(entity_rows); i++) {
		const struct entity_row *r = &entity_rows[i];
		size_t n = r->len ? r->len : strlen(r->in);
		char *in = dup_exact(r->in, n);
		int rc = ns_mime_entity_parse(in, n, &ent, dec, sizeof(dec));

		if(rc != r->rc)
			fail_msg("row %zu: rc %d (%s), want %d (%s)", i, rc,
					ns_mime_strerror(rc), r->rc, ns_mime_strerror(r->rc));
		if(rc == 0) {
			size_t bl = r->blen ? r->blen : strlen(r->body);
			snprintf(type, sizeof(type), "%s/%s", ent.ctype.type,
					ent.ctype.subtype);
			assert_string_equal(type, r->type);
			assert_int_equal(ent.cte, r->cte);
			assert_int_equal(ent.body.len, bl);
			assert_memory_equal(ent.body.s, r->body, bl);
			assert_true(in_range(ent.headers.s, ent.headers.len, in, n));
			assert_true(in_range(ent.raw.s, ent.raw.len, in, n));
			assert_ptr_equal(ent.raw.s + ent.raw.len, in + n);
			if(r->cte == NS_MIME_CTE_BASE64)
				assert_ptr_equal(ent.body.s, dec);
			else
				assert_ptr_equal(ent.body.s, ent.raw.s);
		} else {
			assert_null(ent.body.s);
			assert_null(ent.raw.s);
			assert_null(ent.ctype.type);
		}
		free(in);
	}
	assert_int_equal(
			ns_mime_entity_parse(L(CT "\r\n"), NULL, NULL, 0), NS_MIME_ERR_ARG);
	assert_int_equal(
			ns_mime_entity_parse(NULL, 3, &ent, NULL, 0), NS_MIME_ERR_ARG);
	assert_int_equal(
			ns_mime_entity_parse(L(CT "\r\n"), &ent, NULL, 3), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_entity_parse(NULL, 0, &ent, NULL, 0),
			NS_MIME_ERR_TRUNCATED);
}

static void test_entity_limits(void **state)
{
	static const char b64[] = CT "Content-Transfer-Encoding: base64\r\n\r\n"
								 "Zm9vYmFy";
	const size_t big = NS_MIME_MAX_HDRS_LEN + 64;
	ns_mime_entity_t ent;
	char dec[8], *h, *in;
	size_t n;

	/* base64 needs a large enough buffer */
	assert_int_equal(ns_mime_entity_parse(L(b64), &ent, dec, 6), 0);
	assert_memory_equal(ent.body.s, "foobar", 6);
	assert_int_equal(
			ns_mime_entity_parse(L(b64), &ent, dec, 5), NS_MIME_ERR_NOSPACE);
	assert_int_equal(
			ns_mime_entity_parse(L(b64), &ent, NULL, 0), NS_MIME_ERR_NOSPACE);
	/* the header block: at the bound, and one byte over */
	h = malloc(big + 16);
	assert_non_null(h);
	memcpy(h, CT "X: ", strlen(CT "X: "));
	n = NS_MIME_MAX_HDRS_LEN - 2;
	memset(h + strlen(CT "X: "), 'x', n - strlen(CT "X: "));
	memcpy(h + n, "\r\n\r\nbody", 8);
	in = dup_exact(h, n + 8);
	assert_int_equal(ns_mime_entity_parse(in, n + 8, &ent, NULL, 0), 0);
	assert_int_equal(ent.headers.len, NS_MIME_MAX_HDRS_LEN);
	assert_int_equal(ent.body.len, 4);
	free(in);
	memset(h + strlen(CT "X: "), 'x', n + 1 - strlen(CT "X: "));
	memcpy(h + n + 1, "\r\n\r\nbody", 8);
	in = dup_exact(h, n + 9);
	assert_int_equal(ns_mime_entity_parse(in, n + 9, &ent, NULL, 0),
			NS_MIME_ERR_TOO_LONG);
	free(in);
	/* a header line that never ends: too long, not truncated */
	memset(h + strlen(CT "X: "), 'x', big - strlen(CT "X: "));
	in = dup_exact(h, big);
	assert_int_equal(
			ns_mime_entity_parse(in, big, &ent, NULL, 0), NS_MIME_ERR_TOO_LONG);
	/* ... and a short one that never ends: truncated */
	assert_int_equal(ns_mime_entity_parse(in, 200, &ent, NULL, 0),
			NS_MIME_ERR_TRUNCATED);
	free(in);
	free(h);
	/* a huge declared length is refused before anything is read */
	assert_int_equal(ns_mime_entity_parse(CT, SIZE_MAX, &ent, NULL, 0),
			NS_MIME_ERR_TOO_LONG);
	assert_int_equal(
			ns_mime_entity_parse(CT, NS_MIME_MAX_LEN + 1, &ent, NULL, 0),
			NS_MIME_ERR_TOO_LONG);
}

static void test_entity_prefixes(void **state)
{
	static const char *const vals[] = {
			CT "\r\n<presence/>",
			"Content-ID: <1>\r\n" CT "Content-Transfer-Encoding: base64\r\n"
			"\r\nPHByZXNlbmNlLz4=\r\n",
			"Content-Type: multipart/mixed;\r\n boundary=\"x\"\r\n\r\nb",
	};
	ns_mime_entity_t ent;
	char dec[64];
	size_t v, n, full, ok;

	for(v = 0; v < NROWS(vals); v++) {
		full = strlen(vals[v]);
		ok = 0;
		for(n = 0; n <= full; n++) {
			char *in = dup_exact(vals[v], n);
			int rc = ns_mime_entity_parse(in, n, &ent, dec, sizeof(dec));
			assert_rc_valid(rc);
			if(rc == 0) {
				assert_true(in_range(ent.raw.s, ent.raw.len, in, n));
				assert_true(in_range(ent.headers.s, ent.headers.len, in, n));
				ok++;
			}
			free(in);
		}
		assert_true(ok >= 1);
	}
}

/* ------------------------------------------------------ multipart/signed */

#define B "b42"
#define SIGHDR "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
#define ENTITY "Content-Type: application/pidf+xml\r\n\r\n<presence/>"

/* RFC 3261 23.4 / RFC 8551 3.5.3 style, base64 signature, with preamble,
 * transport padding and epilogue. */
static const char signed_full[] =
		"This is a preamble.\r\n"
		"--" B " \t\r\n" ENTITY "\r\n"
		"--" B "\r\n" SIGHDR "Content-Transfer-Encoding: base64\r\n"
		"Content-Disposition: attachment; filename=smime.p7s;\r\n"
		"   handling=required\r\n"
		"\r\n"
		"MAMC\r\nAQE=\r\n"
		"\r\n--" B "-- \r\nand an epilogue\r\n-- " B "\r\n";

struct signed_row
{
	const char *what;
	const char *body;
	const char *boundary;
	int rc;
	const char *signed_part; /* NULL: ENTITY */
};

#define PART2 SIGHDR "\r\n0\x03\x02\x01\x01"

/* clang-format off */
static const struct signed_row signed_rows[] = {
	{"minimal", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2 "\r\n--" B "--",
		B, 0, NULL},
	{"close then CRLF", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2
		"\r\n--" B "--\r\n", B, 0, NULL},
	{"full", signed_full, B, 0, NULL},
	{"x-pkcs7-signature", "--" B "\r\n" ENTITY "\r\n--" B "\r\n"
		"Content-Type: application/x-pkcs7-signature\r\n\r\nS\r\n--" B "--",
		B, 0, NULL},
	{"CRLFs kept in the signed part", "--" B "\r\n" ENTITY "\r\n\r\n\r\n--" B
		"\r\n" PART2 "\r\n--" B "--", B, 0, ENTITY "\r\n\r\n"},
	{"boundary-like text is content", "--" B "\r\n" ENTITY " --" B "\r\nx--"
		B "--\r\n-" B "\r\n--" B "\r\n" PART2 "\r\n--" B "--", B, 0,
		ENTITY " --" B "\r\nx--" B "--\r\n-" B},
	{"nested multipart, other boundary", "--" B "\r\n"
		"Content-Type: multipart/mixed; boundary=in\r\n\r\n"
		"--in\r\nContent-Type: a/b\r\n\r\nx\r\n--in--\r\n--" B "\r\n" PART2
		"\r\n--" B "--", B, 0,
		"Content-Type: multipart/mixed; boundary=in\r\n\r\n"
		"--in\r\nContent-Type: a/b\r\n\r\nx\r\n--in--"},
	{"boundary with spaces and specials", "--a b:=?/\r\n" ENTITY
		"\r\n--a b:=?/\r\n" PART2 "\r\n--a b:=?/--", "a b:=?/", 0, NULL},

	/* negative rows */
	{"empty", "", B, NS_MIME_ERR_NO_DELIMITER, NULL},
	{"no delimiter", ENTITY, B, NS_MIME_ERR_NO_DELIMITER, NULL},
	{"other boundary", "--c42\r\n" ENTITY "\r\n--c42\r\n" PART2 "\r\n--c42--",
		B, NS_MIME_ERR_NO_DELIMITER, NULL},
	{"LF only", "--" B "\n" ENTITY "\n--" B "\n" PART2 "\n--" B "--", B,
		NS_MIME_ERR_DELIMITER, NULL},
	{"delimiter mid-line", "x--" B "\r\n" ENTITY, B, NS_MIME_ERR_NO_DELIMITER,
		NULL},
	{"longer boundary in body", "--" B "x\r\n" ENTITY "\r\n--" B "x\r\n" PART2
		"\r\n--" B "x--", B, NS_MIME_ERR_DELIMITER, NULL},
	{"shorter boundary in body", "--b4\r\n" ENTITY "\r\n--b4\r\n" PART2
		"\r\n--b4--", B, NS_MIME_ERR_NO_DELIMITER, NULL},
	{"junk after delimiter", "--" B "\r\n" ENTITY "\r\n--" B " x\r\n" PART2
		"\r\n--" B "--", B, NS_MIME_ERR_DELIMITER, NULL},
	{"junk after close", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2
		"\r\n--" B "--x", B, NS_MIME_ERR_DELIMITER, NULL},
	{"close cut short", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2
		"\r\n--" B "-", B, NS_MIME_ERR_DELIMITER, NULL},
	{"delimiter cut short", "--" B "\r\n" ENTITY "\r\n--" B, B,
		NS_MIME_ERR_DELIMITER, NULL},
	{"a line starting like the delimiter in a part", "--" B "\r\n" ENTITY
		"\r\n--" B "x\r\n\r\n--" B "\r\n" PART2 "\r\n--" B "--", B,
		NS_MIME_ERR_DELIMITER, NULL},
	{"a delimiter line in the preamble", "--" B "y\r\n--" B "\r\n" ENTITY
		"\r\n--" B "\r\n" PART2 "\r\n--" B "--", B, NS_MIME_ERR_DELIMITER,
		NULL},
	{"close first", "--" B "--\r\n", B, NS_MIME_ERR_PARTS, NULL},
	{"one part", "--" B "\r\n" ENTITY "\r\n--" B "--", B, NS_MIME_ERR_PARTS,
		NULL},
	{"three parts", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2 "\r\n--" B
		"\r\n" PART2 "\r\n--" B "--", B, NS_MIME_ERR_PARTS, NULL},
	{"nested multipart, same boundary", "--" B "\r\n"
		"Content-Type: multipart/mixed; boundary=" B "\r\n\r\n"
		"--" B "\r\nContent-Type: a/b\r\n\r\nx\r\n--" B "--\r\n--" B "\r\n"
		PART2 "\r\n--" B "--", B, NS_MIME_ERR_DELIMITER, NULL},
	{"a delimiter in the epilogue", "--" B "\r\n" ENTITY "\r\n--" B "\r\n"
		PART2 "\r\n--" B "--\r\nepilogue\r\n--" B "\r\n" PART2, B,
		NS_MIME_ERR_DELIMITER, NULL},
	{"a delimiter-like line in the epilogue", "--" B "\r\n" ENTITY "\r\n--"
		B "\r\n" PART2 "\r\n--" B "--\r\nx\r\n--" B "x", B,
		NS_MIME_ERR_DELIMITER, NULL},
	{"a close delimiter in the epilogue", "--" B "\r\n" ENTITY "\r\n--" B
		"\r\n" PART2 "\r\n--" B "--\r\n--" B "--", B, NS_MIME_ERR_DELIMITER,
		NULL},
	{"no close", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" PART2, B,
		NS_MIME_ERR_NO_CLOSE, NULL},
	{"no second delimiter", "--" B "\r\n" ENTITY, B, NS_MIME_ERR_NO_CLOSE,
		NULL},
	{"empty signed part", "--" B "\r\n\r\n--" B "\r\n" PART2 "\r\n--" B "--",
		B, NS_MIME_ERR_EMPTY, NULL},
	{"empty signed part, shared CRLF", "--" B "\r\n--" B "\r\n" PART2
		"\r\n--" B "--", B, NS_MIME_ERR_EMPTY, NULL},
	{"empty signature", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" SIGHDR
		"\r\n\r\n--" B "--", B, NS_MIME_ERR_EMPTY, NULL},
	{"signature part pkcs7-mime", "--" B "\r\n" ENTITY "\r\n--" B "\r\n"
		"Content-Type: application/pkcs7-mime\r\n\r\nS\r\n--" B "--", B,
		NS_MIME_ERR_SIG_TYPE, NULL},
	{"signature part pkcs7-signaturex", "--" B "\r\n" ENTITY "\r\n--" B "\r\n"
		"Content-Type: application/pkcs7-signaturex\r\n\r\nS\r\n--" B "--", B,
		NS_MIME_ERR_SIG_TYPE, NULL},
	{"signature part without headers", "--" B "\r\n" ENTITY "\r\n--" B
		"\r\n\r\nS\r\n--" B "--", B, NS_MIME_ERR_SIG_TYPE, NULL},
	{"signature part without empty line", "--" B "\r\n" ENTITY "\r\n--" B
		"\r\n" SIGHDR "S\r\n--" B "--", B, NS_MIME_ERR_TRUNCATED, NULL},
	{"signature part bad base64", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" SIGHDR
		"Content-Transfer-Encoding: base64\r\n\r\nMAM\r\n--" B "--", B,
		NS_MIME_ERR_BASE64, NULL},
	{"signature part quoted-printable", "--" B "\r\n" ENTITY "\r\n--" B "\r\n"
		SIGHDR "Content-Transfer-Encoding: quoted-printable\r\n\r\nS\r\n--" B
		"--", B, NS_MIME_ERR_CTE, NULL},
	{"signature part two types", "--" B "\r\n" ENTITY "\r\n--" B "\r\n" SIGHDR
		SIGHDR "\r\nS\r\n--" B "--", B, NS_MIME_ERR_DUPLICATE, NULL},
	/* the boundary itself */
	{"empty boundary", "--\r\n" ENTITY, "", NS_MIME_ERR_BOUNDARY, NULL},
	{"boundary ends in space", "--b \r\n" ENTITY, "b ", NS_MIME_ERR_BOUNDARY,
		NULL},
	{"boundary with a control", "--b\t\r\n" ENTITY, "b\t",
		NS_MIME_ERR_BOUNDARY, NULL},
	{"boundary with a quote", "--b\"\r\n" ENTITY, "b\"", NS_MIME_ERR_BOUNDARY,
		NULL},
	{"boundary of 71", "--x\r\n", "0123456789012345678901234567890123456789"
		"0123456789012345678901234567890", NS_MIME_ERR_BOUNDARY, NULL},
};
/* clang-format on */

static void test_signed_rows(void **state)
{
	ns_mime_str_t sp, sig;
	char dec[64];
	size_t i;

	for(i = 0; i < NROWS(signed_rows); i++) {
		const struct signed_row *r = &signed_rows[i];
		size_t n = strlen(r->body);
		char *in = dup_exact(r->body, n);
		int rc = ns_mime_multipart_signed_parse(
				in, n, r->boundary, &sp, &sig, dec, sizeof(dec));

		if(rc != r->rc)
			fail_msg("row %zu (%s): rc %d (%s), want %d (%s)", i, r->what, rc,
					ns_mime_strerror(rc), r->rc, ns_mime_strerror(r->rc));
		if(rc == 0) {
			const char *want = r->signed_part ? r->signed_part : ENTITY;
			assert_true(in_range(sp.s, sp.len, in, n));
			assert_int_equal(sp.len, strlen(want));
			assert_memory_equal(sp.s, want, sp.len);
			assert_true(sig.len > 0);
			assert_true(in_range(sig.s, sig.len, in, n)
						|| in_range(sig.s, sig.len, dec, sizeof(dec)));
		} else {
			assert_null(sp.s);
			assert_null(sig.s);
		}
		free(in);
	}
	/* the base64 signature of the full example, decoded */
	assert_int_equal(ns_mime_multipart_signed_parse(
							 L(signed_full), B, &sp, &sig, dec, sizeof(dec)),
			0);
	assert_ptr_equal(sig.s, dec);
	assert_int_equal(sig.len, 5);
	assert_memory_equal(sig.s, "0\x03\x02\x01\x01", 5);
	/* ... which needs a buffer */
	assert_int_equal(ns_mime_multipart_signed_parse(
							 L(signed_full), B, &sp, &sig, NULL, 0),
			NS_MIME_ERR_NOSPACE);
	/* arguments */
	assert_int_equal(ns_mime_multipart_signed_parse(
							 L(signed_full), NULL, &sp, &sig, dec, sizeof(dec)),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_multipart_signed_parse(
							 L(signed_full), B, NULL, &sig, dec, sizeof(dec)),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_multipart_signed_parse(
							 L(signed_full), B, &sp, NULL, dec, sizeof(dec)),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_multipart_signed_parse(
							 NULL, 5, B, &sp, &sig, dec, sizeof(dec)),
			NS_MIME_ERR_ARG);
	/* a huge declared length is refused before anything is read */
	assert_int_equal(ns_mime_multipart_signed_parse(
							 "--" B, SIZE_MAX, B, &sp, &sig, NULL, 0),
			NS_MIME_ERR_TOO_LONG);
	assert_int_equal(ns_mime_multipart_signed_parse("--" B, NS_MIME_MAX_LEN + 1,
							 B, &sp, &sig, NULL, 0),
			NS_MIME_ERR_TOO_LONG);
}

static void test_signed_build(void **state)
{
	static const unsigned char der[] = {0x30, 0x82, 0x00, 0x0d, 0x0a, 0x2d,
			0x2d, 0x00, 0xff, '\r', '\n', '-', '-', 'x'};
	static const char want[] =
			"--" B "\r\n" ENTITY "\r\n"
			"--" B "\r\n" SIGHDR "Content-Transfer-Encoding: binary\r\n"
			"Content-Disposition: attachment; filename=smime.p7s; "
			"handling=required\r\n\r\n"
			"\x30\x82\x00\x0d\x0a\x2d\x2d\x00\xff\r\n--x"
			"\r\n--" B "--\r\n";
	ns_mime_str_t sp, sig;
	char out[512], bnd[40], *exact;
	size_t n, need;
	int i;

	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 B, out, sizeof(out), &n),
			0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* parsed back from an exact copy: the same bytes */
	exact = dup_exact(out, n);
	assert_int_equal(
			ns_mime_multipart_signed_parse(exact, n, B, &sp, &sig, NULL, 0), 0);
	assert_int_equal(sp.len, strlen(ENTITY));
	assert_memory_equal(sp.s, ENTITY, sp.len);
	assert_int_equal(sig.len, sizeof(der));
	assert_memory_equal(sig.s, der, sig.len);
	free(exact);
	/* output bounds */
	need = n;
	assert_int_equal(ns_mime_multipart_signed_build(
							 L(ENTITY), der, sizeof(der), B, out, need, &n),
			0);
	assert_int_equal(ns_mime_multipart_signed_build(
							 L(ENTITY), der, sizeof(der), B, out, need - 1, &n),
			NS_MIME_ERR_NOSPACE);
	assert_int_equal(n, need);
	/* fresh boundaries round-trip too */
	for(i = 0; i < 8; i++) {
		assert_int_equal(ns_mime_boundary_gen(bnd, sizeof(bnd)), 0);
		assert_int_equal(strlen(bnd), 32);
		assert_int_equal(ns_mime_boundary_check(bnd, 32), 0);
		assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der,
								 sizeof(der), bnd, out, sizeof(out), &n),
				0);
		assert_int_equal(
				ns_mime_multipart_signed_parse(out, n, bnd, &sp, &sig, NULL, 0),
				0);
	}
	assert_int_equal(ns_mime_boundary_gen(bnd, 32), NS_MIME_ERR_NOSPACE);
	assert_int_equal(ns_mime_boundary_gen(NULL, 33), NS_MIME_ERR_ARG);

	/* negative rows: the boundary in the content */
	assert_int_equal(
			ns_mime_multipart_signed_build(L(ENTITY "\r\n--" B "\r\nx"), der,
					sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY "\r\n--" B "--"),
							 der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY "\r\n--" B "x"),
							 der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	assert_int_equal(ns_mime_multipart_signed_build(L("--" B "\r\n" ENTITY),
							 der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY),
							 (const unsigned char *)"\x30\r\n--" B "--", 10, B,
							 out, sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY),
							 (const unsigned char *)"--" B "\r\n", 7, B, out,
							 sizeof(out), &n),
			NS_MIME_ERR_IN_CONTENT);
	/* ... but "--x" with another boundary is fine (der above) */
	assert_int_equal(ns_mime_multipart_signed_build(
							 L(ENTITY), der, 0, B, out, sizeof(out), &n),
			NS_MIME_ERR_EMPTY);
	assert_int_equal(ns_mime_multipart_signed_build(
							 "", 0, der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_EMPTY);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 "b ", out, sizeof(out), &n),
			NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 "", out, sizeof(out), &n),
			NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 NULL, out, sizeof(out), &n),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 B, out, sizeof(out), NULL),
			NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_multipart_signed_build(ENTITY, NS_MIME_MAX_LEN + 1,
							 der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_TOO_LONG);
	/* a total over the bound */
	assert_int_equal(ns_mime_multipart_signed_build(ENTITY, NS_MIME_MAX_LEN,
							 der, sizeof(der), B, out, sizeof(out), &n),
			NS_MIME_ERR_TOO_LONG);
}

/* Every prefix of valid bodies: a clean error or a success whose slices
 * lie inside the prefix. */
static void test_signed_prefixes(void **state)
{
	static const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	char built[512], dec[64];
	ns_mime_str_t sp, sig;
	const char *vals[3];
	size_t lens[3], v, n, ok;

	assert_int_equal(ns_mime_multipart_signed_build(L(ENTITY), der, sizeof(der),
							 B, built, sizeof(built), &lens[0]),
			0);
	vals[0] = built;
	vals[1] = signed_full;
	lens[1] = strlen(signed_full);
	vals[2] = signed_rows[0].body;
	lens[2] = strlen(signed_rows[0].body);
	for(v = 0; v < NROWS(vals); v++) {
		ok = 0;
		for(n = 0; n <= lens[v]; n++) {
			char *in = dup_exact(vals[v], n);
			int rc = ns_mime_multipart_signed_parse(
					in, n, B, &sp, &sig, dec, sizeof(dec));
			assert_rc_valid(rc);
			if(rc == 0) {
				assert_true(in_range(sp.s, sp.len, in, n));
				assert_true(in_range(sig.s, sig.len, in, n)
							|| in_range(sig.s, sig.len, dec, sizeof(dec)));
				assert_int_equal(sp.len, strlen(ENTITY));
				ok++;
			}
			free(in);
		}
		assert_true(ok >= 1);
	}
}

static void test_signed_ctype(void **state)
{
	/* clang-format off */
	static const struct {
		const char *ct;
		int rc;
		const char *boundary;
	} rows[] = {
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"micalg=sha-256; boundary=\"" B "\"", 0, B},
		{"Multipart/Signed; Protocol=\"Application/PKCS7-Signature\"; "
			"Boundary=" B, 0, B},
		{"multipart/signed; protocol=\"application/x-pkcs7-signature\"; "
			"boundary=\"a b:=?/\"", 0, "a b:=?/"},
		{"multipart/mixed; protocol=\"application/pkcs7-signature\"; "
			"boundary=" B, NS_MIME_ERR_NOT_SIGNED, NULL},
		{"multipart/signedx; protocol=\"application/pkcs7-signature\"; "
			"boundary=" B, NS_MIME_ERR_NOT_SIGNED, NULL},
		{"application/pkcs7-mime; smime-type=enveloped-data",
			NS_MIME_ERR_NOT_SIGNED, NULL},
		{"multipart/signed; boundary=" B, NS_MIME_ERR_PROTOCOL, NULL},
		{"multipart/signed; protocol=\"application/pkcs7\"; boundary=" B,
			NS_MIME_ERR_PROTOCOL, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signaturex\"; "
			"boundary=" B, NS_MIME_ERR_PROTOCOL, NULL},
		{"multipart/signed; protocol=\"application/pgp-signature\"; "
			"boundary=" B, NS_MIME_ERR_PROTOCOL, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"",
			NS_MIME_ERR_BOUNDARY, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"boundary=\"\"", NS_MIME_ERR_BOUNDARY, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"boundary=\"b \"", NS_MIME_ERR_BOUNDARY, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"boundary=\"b\\\"\"", NS_MIME_ERR_BOUNDARY, NULL},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"boundary=\"01234567890123456789012345678901234567890123456789"
			"012345678901234567890\"", NS_MIME_ERR_BOUNDARY, NULL},
	};
	/* clang-format on */
	ns_mime_ctype_t ct;
	const char *b;
	char buf[256];
	size_t i;
	int n;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(
				ns_mime_ctype_parse(rows[i].ct, strlen(rows[i].ct), &ct), 0);
		n = ns_mime_signed_ctype_check(&ct, &b);
		if(n != rows[i].rc)
			fail_msg("row %zu: rc %d (%s), want %d", i, n, ns_mime_strerror(n),
					rows[i].rc);
		if(n == 0)
			assert_string_equal(b, rows[i].boundary);
		else
			assert_null(b);
	}
	assert_int_equal(ns_mime_signed_ctype_check(NULL, &b), NS_MIME_ERR_ARG);
	assert_int_equal(ns_mime_signed_ctype_check(&ct, NULL), NS_MIME_ERR_ARG);

	/* the module's own header value parses back to its boundary */
	n = ns_mime_ctype_signed("a b:=?/", "sha-256", buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf,
			"multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"micalg=sha-256; boundary=\"a b:=?/\"");
	assert_int_equal(ns_mime_ctype_parse(buf, (size_t)n, &ct), 0);
	assert_int_equal(ns_mime_signed_ctype_check(&ct, &b), 0);
	assert_string_equal(b, "a b:=?/");
	assert_string_equal(ns_mime_ctype_param(&ct, "micalg"), "sha-256");
	assert_int_equal(ns_mime_ctype_signed("a b:=?/", "sha-256", buf, (size_t)n),
			NS_MIME_ERR_NOSPACE);
	assert_string_equal(buf, "");
	assert_int_equal(
			ns_mime_ctype_signed("a b:=?/", "sha-256", buf, (size_t)n + 1), n);
	assert_int_equal(ns_mime_ctype_signed("b ", "sha-256", buf, sizeof(buf)),
			NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_ctype_signed(B, "sha 256", buf, sizeof(buf)),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(
			ns_mime_ctype_signed(B, "sha-256\"; x=\"", buf, sizeof(buf)),
			NS_MIME_ERR_SYNTAX);
	assert_int_equal(
			ns_mime_ctype_signed(B, "", buf, sizeof(buf)), NS_MIME_ERR_SYNTAX);
	assert_int_equal(ns_mime_ctype_signed(NULL, "sha-256", buf, sizeof(buf)),
			NS_MIME_ERR_ARG);
}

static void test_header_values(void **state)
{
	ns_mime_ctype_t ct;
	const char *v;

	v = ns_mime_ctype_enveloped(0);
	assert_string_equal(v, "application/pkcs7-mime; smime-type=enveloped-data; "
						   "name=smime.p7m");
	assert_int_equal(ns_mime_ctype_parse(v, strlen(v), &ct), 0);
	assert_int_equal(ns_mime_smime_type(&ct), NS_MIME_SMIME_ENVELOPED);
	assert_string_equal(ns_mime_ctype_param(&ct, "name"), "smime.p7m");
	v = ns_mime_ctype_enveloped(1);
	assert_string_equal(v,
			"application/pkcs7-mime; smime-type=authEnveloped-data; "
			"name=smime.p7m");
	assert_int_equal(ns_mime_ctype_parse(v, strlen(v), &ct), 0);
	assert_int_equal(ns_mime_smime_type(&ct), NS_MIME_SMIME_AUTH_ENVELOPED);
	v = ns_mime_disposition_p7m();
	assert_string_equal(v, "attachment; filename=smime.p7m; handling=required");
	/* Content-Disposition shares the parameter syntax */
	{
		char cd[64];
		snprintf(cd, sizeof(cd), "x/%s", v);
		assert_int_equal(ns_mime_ctype_parse(cd, strlen(cd), &ct), 0);
		assert_string_equal(ns_mime_ctype_param(&ct, "handling"), "required");
	}
}

static void test_boundary_check(void **state)
{
	assert_int_equal(ns_mime_boundary_check(L("a")), 0);
	assert_int_equal(ns_mime_boundary_check(L("'()+_,-./:=? x")), 0);
	assert_int_equal(ns_mime_boundary_check(L(" x")), 0);
	assert_int_equal(ns_mime_boundary_check(L("x ")), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_boundary_check(L("")), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_boundary_check(L("a;b")), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_boundary_check(L("a\0b")), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(
			ns_mime_boundary_check(L("a\xc3\xa4")), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_boundary_check(NULL, 1), NS_MIME_ERR_BOUNDARY);
	assert_int_equal(ns_mime_boundary_check(L("0123456789012345678901234567890"
											  "1234567890123456789012345678901"
											  "23456789")),
			0);
	assert_int_equal(ns_mime_boundary_check(L("0123456789012345678901234567890"
											  "1234567890123456789012345678901"
											  "234567890")),
			NS_MIME_ERR_BOUNDARY);
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = NS_MIME_ERR_RANDOM; a <= 0; a++) {
		assert_string_not_equal(ns_mime_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(ns_mime_strerror(a), ns_mime_strerror(b));
	}
	assert_string_equal(ns_mime_strerror(1), "unknown error");
	assert_string_equal(
			ns_mime_strerror(NS_MIME_ERR_RANDOM - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_ctype_rows),
			cmocka_unit_test(test_ctype_lookup),
			cmocka_unit_test(test_ctype_limits),
			cmocka_unit_test(test_ctype_prefixes),
			cmocka_unit_test(test_smime_type),
			cmocka_unit_test(test_b64),
			cmocka_unit_test(test_entity_build),
			cmocka_unit_test(test_entity_rows),
			cmocka_unit_test(test_entity_limits),
			cmocka_unit_test(test_entity_prefixes),
			cmocka_unit_test(test_signed_rows),
			cmocka_unit_test(test_signed_build),
			cmocka_unit_test(test_signed_prefixes),
			cmocka_unit_test(test_signed_ctype),
			cmocka_unit_test(test_header_values),
			cmocka_unit_test(test_boundary_check),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name("notify_smime mime", tests, NULL, NULL);
}
