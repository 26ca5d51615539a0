/*
 * Unit tests: sip_privacy's watcherinfo rewriting (RFC 3857 / RFC 3858)
 * for anonymous watchers. Documents as Kamailio's presence builds them
 * (full and partial state), namespace prefixes, several watchers, the
 * display name and other attributes, "waiting" entries (id = base64 of
 * the URI), malformed and hostile input (every prefix of a document from
 * an exactly-sized heap copy), id stability and distinctness, the key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <openssl/err.h>

#include "winfo.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

#define KEY_HEX \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ALICE "sip:alice@example.com"
#define BOB "sip:bob@example.com"
#define CAROL "sip:carol@example.com"

/* A full document exactly as presence's create_winfo_xml() writes it. */
static const char FULL[] =
		"<?xml version=\"1.0\"?>\n"
		"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" "
		"version=\"3\" state=\"full\">\n"
		"  <watcher-list resource=\"" ALICE "\" package=\"presence\">\n"
		"    <watcher id=\"carol-call-1\" event=\"subscribe\" "
		"status=\"active\">" CAROL "</watcher>\n"
		"    <watcher id=\"bob-call-1@10.0.0.7\" event=\"subscribe\" "
		"status=\"active\">" BOB "</watcher>\n"
		"  </watcher-list>\n"
		"</watcherinfo>\n";

static const char PARTIAL[] =
		"<?xml version=\"1.0\"?>\n"
		"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" "
		"version=\"4\" state=\"partial\">\n"
		"  <watcher-list resource=\"" ALICE "\" package=\"presence\">\n"
		"    <watcher id=\"bob-call-1@10.0.0.7\" event=\"subscribe\" "
		"status=\"terminated\">" BOB "</watcher>\n"
		"  </watcher-list>\n"
		"</watcherinfo>\n";

static sp_winfo_key_t key;

/* The test's predicate: anonymous when the id is one of calls[], or for a
 * waiting entry (id = base64 of the URI) of an URI in uris[]. */
struct anon_set
{
	const char *calls[4];
	const char *uris[4];
	int fail; /* answer -1 */
	int asked;
};

static int anon_pred(void *arg, const sp_winfo_watcher_t *w)
{
	struct anon_set *a = arg;
	size_t i;

	a->asked++;
	assert_int_equal(strlen(w->id), w->id_len);
	assert_int_equal(strlen(w->uri), w->uri_len);
	assert_int_equal(strlen(w->resource), w->resource_len);
	if(a->fail)
		return -1;
	for(i = 0; i < NROWS(a->calls) && a->calls[i]; i++) {
		if(strcmp(a->calls[i], w->id) == 0)
			return 1;
	}
	for(i = 0; i < NROWS(a->uris) && a->uris[i]; i++) {
		if(strcmp(a->uris[i], w->uri) == 0
				&& sp_winfo_id_is_b64_of(w->id, w->id_len, w->uri, w->uri_len))
			return 1;
	}
	return 0;
}

static char *dupz(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* Rewrites doc (from an exactly-sized heap copy); returns rc. */
static int rewrite(
		const char *doc, size_t len, struct anon_set *a, sp_winfo_out_t *out)
{
	char *copy = dupz(doc, len);
	int rc = sp_winfo_rewrite(copy, len, &key, anon_pred, a, out);

	free(copy);
	if(rc != SP_WINFO_OK)
		assert_null(out->body);
	return rc;
}

static char *out_str(const sp_winfo_out_t *out)
{
	char *s = malloc(out->len + 1);

	assert_non_null(s);
	memcpy(s, out->body, out->len);
	s[out->len] = '\0';
	return s;
}

static void expect_id(const char *s, const char *resource, const char *id)
{
	char oid[SP_WINFO_ID_SIZE], want[SP_WINFO_ID_SIZE + 8];

	assert_int_equal(sp_winfo_opaque_id(&key, resource, strlen(resource), id,
							 strlen(id), oid),
			SP_WINFO_OK);
	snprintf(want, sizeof(want), "id=\"%s\"", oid);
	assert_non_null(strstr(s, want));
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void test_full_one_anonymous(void **state)
{
	struct anon_set a = {{"bob-call-1@10.0.0.7"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	char *s;

	assert_int_equal(rewrite(FULL, sizeof(FULL) - 1, &a, &out), SP_WINFO_OK);
	assert_non_null(out.body);
	assert_int_equal(out.watchers, 2);
	assert_int_equal(out.anonymized, 1);
	assert_int_equal(a.asked, 2);
	s = out_str(&out);
	assert_null(strstr(s, "bob"));
	assert_null(strstr(s, "10.0.0.7"));
	assert_int_equal(count(s, SP_WINFO_ANON_URI), 1);
	assert_non_null(strstr(s, ">" SP_WINFO_ANON_URI "</watcher>"));
	/* carol untouched, the rest of the document as it was */
	assert_non_null(
			strstr(s, "<watcher id=\"carol-call-1\" event=\"subscribe\" "
					  "status=\"active\">" CAROL "</watcher>"));
	assert_non_null(strstr(s, "version=\"3\" state=\"full\""));
	assert_non_null(strstr(
			s, "<watcher-list resource=\"" ALICE "\" package=\"presence\">"));
	assert_non_null(strstr(s, "event=\"subscribe\""));
	assert_non_null(strstr(s, "status=\"active\""));
	expect_id(s, ALICE, "bob-call-1@10.0.0.7");
	free(s);
	sp_winfo_out_free(&out);
	assert_null(out.body);
}

static void test_partial_same_id_as_full(void **state)
{
	struct anon_set a = {{"bob-call-1@10.0.0.7"}, {NULL}, 0, 0};
	sp_winfo_out_t f, p;
	char *fs, *ps;
	const char *fi, *pi;

	assert_int_equal(rewrite(FULL, sizeof(FULL) - 1, &a, &f), SP_WINFO_OK);
	assert_int_equal(
			rewrite(PARTIAL, sizeof(PARTIAL) - 1, &a, &p), SP_WINFO_OK);
	fs = out_str(&f);
	ps = out_str(&p);
	assert_null(strstr(ps, "bob"));
	assert_non_null(strstr(ps, "state=\"partial\""));
	assert_non_null(strstr(ps, "status=\"terminated\""));
	fi = strstr(fs, "id=\"");
	fi = strstr(fi + 1, "id=\""); /* the second entry is bob's */
	pi = strstr(ps, "id=\"");
	assert_non_null(fi);
	assert_non_null(pi);
	assert_memory_equal(fi, pi, 4 + SP_WINFO_ID_LEN + 1);
	free(fs);
	free(ps);
	sp_winfo_out_free(&f);
	sp_winfo_out_free(&p);
}

static void test_none_anonymous_unchanged(void **state)
{
	struct anon_set a = {{"nobody"}, {NULL}, 0, 0};
	sp_winfo_out_t out;

	assert_int_equal(rewrite(FULL, sizeof(FULL) - 1, &a, &out), SP_WINFO_OK);
	assert_null(out.body);
	assert_int_equal(out.watchers, 2);
	assert_int_equal(out.anonymized, 0);
}

static void test_several_distinct_ids(void **state)
{
	static const char doc[] =
			"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" "
			"version=\"0\" state=\"full\"><watcher-list resource=\"" ALICE
			"\" package=\"presence\">"
			"<watcher id=\"c1\" event=\"subscribe\" status=\"active\">" BOB
			"</watcher>"
			"<watcher id=\"c2\" event=\"subscribe\" status=\"pending\">" BOB
			"</watcher>"
			"<watcher id=\"c3\" event=\"subscribe\" status=\"active\">" CAROL
			"</watcher>"
			"</watcher-list>"
			"<watcher-list resource=\"sip:dave@example.com\" "
			"package=\"presence\">"
			"<watcher id=\"c1\" event=\"subscribe\" status=\"active\">" BOB
			"</watcher>"
			"</watcher-list></watcherinfo>";
	struct anon_set a = {{"c1", "c2", "c3"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	char oid[4][SP_WINFO_ID_SIZE];
	char *s;
	int i, j;

	assert_int_equal(rewrite(doc, sizeof(doc) - 1, &a, &out), SP_WINFO_OK);
	assert_int_equal(out.watchers, 4);
	assert_int_equal(out.anonymized, 4);
	s = out_str(&out);
	assert_null(strstr(s, "bob"));
	assert_null(strstr(s, "carol"));
	assert_null(strstr(s, "\"c1\""));
	assert_int_equal(count(s, SP_WINFO_ANON_URI), 4);
	expect_id(s, ALICE, "c1");
	expect_id(s, ALICE, "c2");
	expect_id(s, ALICE, "c3");
	/* the same Call-ID in another presentity's list: another id */
	expect_id(s, "sip:dave@example.com", "c1");
	assert_int_equal(
			sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "c1", 2, oid[0]),
			SP_WINFO_OK);
	assert_int_equal(
			sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "c2", 2, oid[1]),
			SP_WINFO_OK);
	assert_int_equal(
			sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "c3", 2, oid[2]),
			SP_WINFO_OK);
	assert_int_equal(sp_winfo_opaque_id(
							 &key, "sip:dave@example.com", 20, "c1", 2, oid[3]),
			SP_WINFO_OK);
	for(i = 0; i < 4; i++) {
		assert_int_equal(strlen(oid[i]), SP_WINFO_ID_LEN);
		assert_int_equal(
				strspn(oid[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
							   "tuvwxyz0123456789-_"),
				SP_WINFO_ID_LEN);
		for(j = 0; j < i; j++)
			assert_string_not_equal(oid[i], oid[j]);
	}
	free(s);
	sp_winfo_out_free(&out);
}

static void test_prefixes_and_attributes(void **state)
{
	static const char doc[] =
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<w:watcherinfo xmlns:w=\"urn:ietf:params:xml:ns:watcherinfo\" "
			"xmlns:x=\"urn:example:ext\" version=\"7\" state=\"full\">\n"
			"<w:watcher-list resource=\"" ALICE "\" package=\"presence\">\n"
			"<w:watcher id=\"k1\" event=\"subscribe\" status=\"active\" "
			"display-name=\"Bob Builder\" xml:lang=\"en\" "
			"expiration=\"600\" duration-subscribed=\"30\" "
			"x:nick=\"bobby\">\n  " BOB "\n</w:watcher>\n"
			"<w:watcher id=\"k2\" event=\"subscribe\" status=\"active\" "
			"display-name=\"Carol\">" CAROL "</w:watcher>\n"
			"</w:watcher-list>\n</w:watcherinfo>\n";
	struct anon_set a = {{"k1"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	char *s;

	assert_int_equal(rewrite(doc, sizeof(doc) - 1, &a, &out), SP_WINFO_OK);
	assert_int_equal(out.anonymized, 1);
	s = out_str(&out);
	assert_null(strstr(s, "bob"));
	assert_null(strstr(s, "Bob"));
	assert_null(strstr(s, "xml:lang"));
	assert_null(strstr(s, "nick"));
	assert_non_null(strstr(s, "expiration=\"600\""));
	assert_non_null(strstr(s, "duration-subscribed=\"30\""));
	assert_non_null(strstr(s, ">" SP_WINFO_ANON_URI "</w:watcher>"));
	/* carol keeps her display name */
	assert_non_null(strstr(s, "display-name=\"Carol\">" CAROL "</w:watcher>"));
	assert_non_null(
			strstr(s, "xmlns:w=\"urn:ietf:params:xml:ns:watcherinfo\""));
	expect_id(s, ALICE, "k1");
	free(s);
	sp_winfo_out_free(&out);
}

/* A waiting entry: no subscription any more, id = base64 of the URI. */
static void test_waiting_entry(void **state)
{
	static const char doc[] =
			"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" "
			"version=\"1\" state=\"full\"><watcher-list resource=\"" ALICE
			"\" package=\"presence\">"
			/* base64("sip:bob@example.com") */
			"<watcher id=\"c2lwOmJvYkBleGFtcGxlLmNvbQ==\" event=\"subscribe\" "
			"status=\"waiting\">" BOB "</watcher>"
			"</watcher-list></watcherinfo>";
	struct anon_set a = {{NULL}, {BOB}, 0, 0};
	sp_winfo_out_t out;
	char *s;

	assert_true(sp_winfo_id_is_b64_of(
			"c2lwOmJvYkBleGFtcGxlLmNvbQ==", 28, BOB, strlen(BOB)));
	assert_false(sp_winfo_id_is_b64_of(
			"c2lwOmJvYkBleGFtcGxlLmNvbQ=", 27, BOB, strlen(BOB)));
	assert_false(sp_winfo_id_is_b64_of(
			"c2lwOmJvYkBleGFtcGxlLmNvbQ==", 28, CAROL, strlen(CAROL)));
	assert_false(sp_winfo_id_is_b64_of("", 0, "", 0));
	assert_int_equal(rewrite(doc, sizeof(doc) - 1, &a, &out), SP_WINFO_OK);
	assert_int_equal(out.anonymized, 1);
	s = out_str(&out);
	assert_null(strstr(s, "bob"));
	assert_null(strstr(s, "c2lwOmJvYkBleGFtcGxlLmNvbQ"));
	assert_non_null(strstr(s, "status=\"waiting\""));
	free(s);
	sp_winfo_out_free(&out);
}

/* Watchers where presence never puts them are still examined. */
static void test_stray_watchers(void **state)
{
	static const char doc[] =
			"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" "
			"version=\"1\" state=\"full\">"
			"<watcher id=\"s1\">" BOB "</watcher>"
			"<ext xmlns=\"urn:example:ext\"><watcher id=\"s2\">" BOB
			"</watcher></ext>"
			"<watcher-list resource=\"" ALICE "\" package=\"presence\">"
			"<watcher id=\"s3\" status=\"active\">" CAROL
			"<watcher id=\"s4\">" BOB "</watcher></watcher>"
			"</watcher-list></watcherinfo>";
	struct anon_set a = {{"s1", "s2", "s4"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	char *s;

	assert_int_equal(rewrite(doc, sizeof(doc) - 1, &a, &out), SP_WINFO_OK);
	assert_int_equal(out.watchers, 4);
	assert_int_equal(out.anonymized, 3);
	s = out_str(&out);
	assert_null(strstr(s, "bob"));
	assert_non_null(strstr(s, CAROL));
	free(s);
	sp_winfo_out_free(&out);
}

static void test_lookup_failure(void **state)
{
	struct anon_set a = {{"bob-call-1@10.0.0.7"}, {NULL}, 1, 0};
	sp_winfo_out_t out;

	assert_int_equal(
			rewrite(FULL, sizeof(FULL) - 1, &a, &out), SP_WINFO_ERR_LOOKUP);
	assert_null(out.body);
}

static void test_malformed(void **state)
{
	static const struct
	{
		const char *doc;
		int rc;
	} rows[] = {
			{"", SP_WINFO_ERR_PARSE},
			{"not xml", SP_WINFO_ERR_PARSE},
			{"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\">",
					SP_WINFO_ERR_PARSE},
			{"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\">"
			 "<watcher id=\"b\">" BOB "</watcherinfo>",
					SP_WINFO_ERR_PARSE},
			{"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\">"
			 "<watcher id=\"b\">&bob;</watcher></watcherinfo>",
					SP_WINFO_ERR_PARSE},
			{"<!DOCTYPE watcherinfo [<!ENTITY b \"" BOB "\">]>"
			 "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\">"
			 "<watcher id=\"b\">&b;</watcher></watcherinfo>",
					SP_WINFO_ERR_PARSE},
			{"<!DOCTYPE watcherinfo SYSTEM \"http://127.0.0.1/x.dtd\">"
			 "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\"/>",
					SP_WINFO_ERR_PARSE},
			{"<watcherinfo><watcher id=\"b\">" BOB "</watcher></watcherinfo>",
					SP_WINFO_ERR_NOT_WINFO},
			{"<presence xmlns=\"urn:ietf:params:xml:ns:watcherinfo\">"
			 "<watcher id=\"b\">" BOB "</watcher></presence>",
					SP_WINFO_ERR_NOT_WINFO},
			{"<watcherinfo xmlns=\"urn:ietf:params:xml:ns:pidf\"/>",
					SP_WINFO_ERR_NOT_WINFO},
	};
	struct anon_set a = {{"b"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	size_t i;
	char *big;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(rewrite(rows[i].doc, strlen(rows[i].doc), &a, &out),
				rows[i].rc);
		assert_non_null(sp_winfo_strerror(rows[i].rc));
	}
	/* over the bound: refused before parsing */
	big = calloc(1, SP_WINFO_MAX_BODY + 1);
	assert_non_null(big);
	memset(big, ' ', SP_WINFO_MAX_BODY + 1);
	assert_int_equal(sp_winfo_rewrite(big, SP_WINFO_MAX_BODY + 1, &key,
							 anon_pred, &a, &out),
			SP_WINFO_ERR_TOO_LONG);
	free(big);
	assert_int_equal(sp_winfo_rewrite(NULL, 1, &key, anon_pred, &a, &out),
			SP_WINFO_ERR_ARG);
	assert_int_equal(sp_winfo_rewrite(FULL, 1, NULL, anon_pred, &a, &out),
			SP_WINFO_ERR_ARG);
	assert_int_equal(
			sp_winfo_rewrite(FULL, 1, &key, NULL, &a, &out), SP_WINFO_ERR_ARG);
	assert_int_equal(sp_winfo_rewrite(FULL, 1, &key, anon_pred, &a, NULL),
			SP_WINFO_ERR_ARG);
	assert_string_equal(sp_winfo_strerror(12345), "unknown error");
}

/* Every prefix of the documents, from exactly-sized copies: an error, or
 * a result in which bob is nowhere. */
static void test_prefixes(void **state)
{
	const char *docs[] = {FULL, PARTIAL};
	struct anon_set a = {{"bob-call-1@10.0.0.7"}, {NULL}, 0, 0};
	sp_winfo_out_t out;
	size_t d, n;
	int rc;
	char *s;

	for(d = 0; d < NROWS(docs); d++) {
		for(n = 0; n <= strlen(docs[d]); n++) {
			rc = rewrite(docs[d], n, &a, &out);
			if(rc != SP_WINFO_OK)
				continue;
			/* only a complete document parses */
			assert_non_null(out.body);
			s = out_str(&out);
			assert_null(strstr(s, "bob"));
			free(s);
			sp_winfo_out_free(&out);
		}
	}
}

static void test_id_stability(void **state)
{
	sp_winfo_key_t other;
	char a[SP_WINFO_ID_SIZE], b[SP_WINFO_ID_SIZE], c[SP_WINFO_ID_SIZE];
	char d[SP_WINFO_ID_SIZE];
	char longf[SP_WINFO_MAX_FIELD + 2];

	assert_int_equal(sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "x", 1, a),
			SP_WINFO_OK);
	assert_int_equal(sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "x", 1, b),
			SP_WINFO_OK);
	assert_string_equal(a, b);
	assert_int_equal(sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), "y", 1, c),
			SP_WINFO_OK);
	assert_string_not_equal(a, c);
	/* resource and id are separated: no shifting of bytes between them */
	assert_int_equal(sp_winfo_opaque_id(&key, "ab", 2, "c", 1, c), SP_WINFO_OK);
	assert_int_equal(sp_winfo_opaque_id(&key, "a", 1, "bc", 2, d), SP_WINFO_OK);
	assert_string_not_equal(c, d);
	/* another secret, another id */
	assert_int_equal(sp_winfo_key_from_hex(
							 "ff" KEY_HEX "ff", strlen(KEY_HEX) + 4, &other),
			SP_WINFO_OK);
	assert_int_equal(
			sp_winfo_opaque_id(&other, ALICE, strlen(ALICE), "x", 1, c),
			SP_WINFO_OK);
	assert_string_not_equal(a, c);
	/* HMAC-SHA256 (RFC 4231 test case 2 style check of the primitive):
	 * empty fields still give a full-length id */
	assert_int_equal(
			sp_winfo_opaque_id(&key, NULL, 0, NULL, 0, c), SP_WINFO_OK);
	assert_int_equal(strlen(c), SP_WINFO_ID_LEN);
	memset(longf, 'a', sizeof(longf));
	assert_int_equal(
			sp_winfo_opaque_id(&key, longf, SP_WINFO_MAX_FIELD + 1, "x", 1, c),
			SP_WINFO_ERR_TOO_LONG);
	assert_int_equal(sp_winfo_opaque_id(&key, ALICE, strlen(ALICE), longf,
							 SP_WINFO_MAX_FIELD, c),
			SP_WINFO_OK);
	other.len = 3;
	assert_int_equal(
			sp_winfo_opaque_id(&other, ALICE, strlen(ALICE), "x", 1, c),
			SP_WINFO_ERR_ARG);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_key_from_hex(void **state)
{
	static const struct
	{
		const char *s;
		int rc;
		size_t len;
	} rows[] = {
			{KEY_HEX, SP_WINFO_OK, 32},
			{" \t" KEY_HEX "\r\n", SP_WINFO_OK, 32},
			{"00112233445566778899AABBCCDDEEFF", SP_WINFO_OK, 16},
			{"00112233445566778899aabbccddeef", SP_WINFO_ERR_ARG, 0},
			{"00112233445566778899aabbccddee", SP_WINFO_ERR_ARG, 0},
			{"00112233445566778899aabbccddeefg", SP_WINFO_ERR_ARG, 0},
			{"0011223344556677 8899aabbccddeeff", SP_WINFO_ERR_ARG, 0},
			{KEY_HEX KEY_HEX, SP_WINFO_OK, 64},
			{KEY_HEX KEY_HEX "00", SP_WINFO_ERR_ARG, 0},
			{"", SP_WINFO_ERR_ARG, 0},
	};
	sp_winfo_key_t k;
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(
				sp_winfo_key_from_hex(rows[i].s, strlen(rows[i].s), &k),
				rows[i].rc);
		assert_int_equal(k.len, rows[i].len);
	}
	assert_int_equal(sp_winfo_key_from_hex(KEY_HEX, 64, &k), SP_WINFO_OK);
	assert_int_equal(k.k[0], 0x00);
	assert_int_equal(k.k[31], 0x1f);
	assert_int_equal(sp_winfo_key_from_hex(NULL, 0, &k), SP_WINFO_ERR_ARG);
}

static int setup(void **state)
{
	return sp_winfo_key_from_hex(KEY_HEX, strlen(KEY_HEX), &key) == SP_WINFO_OK
				   ? 0
				   : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_full_one_anonymous),
			cmocka_unit_test(test_partial_same_id_as_full),
			cmocka_unit_test(test_none_anonymous_unchanged),
			cmocka_unit_test(test_several_distinct_ids),
			cmocka_unit_test(test_prefixes_and_attributes),
			cmocka_unit_test(test_waiting_entry),
			cmocka_unit_test(test_stray_watchers),
			cmocka_unit_test(test_lookup_failure),
			cmocka_unit_test(test_malformed),
			cmocka_unit_test(test_prefixes),
			cmocka_unit_test(test_id_stability),
			cmocka_unit_test(test_key_from_hex),
	};
	int rc;

	xmlInitParser();
	rc = cmocka_run_group_tests(tests, setup, NULL);
	xmlCleanupParser();
	return rc;
}
