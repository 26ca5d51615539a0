/*
 * Unit tests: watcher_auth's policy engine (policy.c). Truth tables with
 * negative rows for every condition, rule combination, the actions of this
 * project, parser safety (XXE, billion laughs, size, depth, truncation,
 * garbage) and a compiled block that lives on after a memcpy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

#define NS                                               \
	"xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\" " \
	"xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\" "    \
	"xmlns:ps=\"urn:x-presence-security:rules\" "        \
	"xmlns:x=\"urn:example:unknown\""
#define RULESET(body)                              \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<cr:ruleset " NS ">" body "</cr:ruleset>"
#define RULE(id, conds, actions)                   \
	"<cr:rule id=\"" id "\"><cr:conditions>" conds \
	"</cr:conditions><cr:actions>" actions "</cr:actions></cr:rule>"
#define SUB(v) "<pr:sub-handling>" v "</pr:sub-handling>"
#define ALLOW SUB("allow")
#define ONE(u) "<cr:one id=\"" u "\"/>"
#define IDENT(x) "<cr:identity>" x "</cr:identity>"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

static wa_policy_t *compile_ok(const char *xml)
{
	wa_policy_errinfo_t ei;
	wa_policy_t *p = NULL;
	size_t size = 0;
	int rc;

	rc = wa_policy_compile(xml, strlen(xml), NULL, NULL, &p, &size, &ei);
	if(rc != 0)
		fail_msg("compile: %s (line %d)", wa_policy_strerror(rc), ei.line);
	assert_non_null(p);
	assert_int_equal(size, wa_policy_size(p));
	assert_int_equal(wa_policy_check(p, size), 0);
	return p;
}

static int compile_rc(
		const char *xml, size_t len, const wa_policy_limits_t *lim)
{
	wa_policy_t *p = NULL;
	size_t size = 0;
	int rc;

	rc = wa_policy_compile(xml, len, lim, NULL, &p, &size, NULL);
	if(rc == 0) {
		assert_non_null(p);
		assert_int_equal(wa_policy_check(p, size), 0);
		free(p);
	} else {
		assert_null(p);
		assert_int_equal(size, 0);
	}
	return rc;
}

static void eval(const wa_policy_t *p, const char *w, const char *sphere,
		time_t now, wa_policy_result_t *res)
{
	assert_int_equal(
			wa_policy_eval(p, w, w ? strlen(w) : 0, sphere, now, res), 0);
}

/* ------------------------------------------------------ identity */

struct id_row
{
	const char *watcher;
	int match;
};

static void run_id_rows(const char *doc, const struct id_row *rows, size_t n)
{
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < n; i++) {
		eval(p, rows[i].watcher, NULL, NOW, &res);
		if((res.matched > 0) != rows[i].match
				|| res.sub_handling
						   != (rows[i].match ? WA_POLICY_SUB_ALLOW
											 : WA_POLICY_SUB_NONE))
			fail_msg("row %zu: watcher '%s': matched %u, want %d", i,
					rows[i].watcher ? rows[i].watcher : "(null)", res.matched,
					rows[i].match);
	}
	free(p);
}

#define RUN_ROWS(doc, rows) \
	run_id_rows(doc, rows, sizeof(rows) / sizeof(rows[0]))

static void test_identity_one(void **state)
{
	static const char doc[] =
			RULESET(RULE("r", IDENT(ONE("sip:bob@example.com")), ALLOW));
	static const struct id_row rows[] = {
			{"sip:bob@example.com", 1},
			{"sip:bob@EXAMPLE.COM", 1},
			{"SIP:bob@example.com", 1},
			{"sips:bob@example.com", 1},
			{"  sip:bob@example.com\r\n", 1},
			{"<sip:bob@example.com;transport=tcp>", 1},
			{"\"Bob <x>\" <sip:bob@example.com>;tag=1", 1},
			{"Bob <sip:bob@example.com?Subject=hi>", 1},
			{"sip:bob@example.com:5060", 1},
			{"sip:bob@example.com.", 1},
			{"sip:b%6Fb@example.com", 1},
			{"sip:b%6fb@example.com;user=phone", 1},
			/* negative rows */
			{"sip:Bob@example.com", 0}, /* the user part is case-sensitive */
			{"sip:bobby@example.com", 0},
			{"sip:bo@example.com", 0},
			{"sip:bob@example.co", 0},
			{"sip:bob@example.com.evil.org", 0},
			{"sip:bob@evilexample.com", 0},
			{"sip:bob@example.com@evil.org", 0},
			{"sip:bob:secret@example.com", 0},
			{"sip:bob@example.com>", 0},
			{"<sip:bob@example.com", 0},
			{"Bob sip:bob@example.com", 0},
			{"sip:b%6@example.com", 0},
			{"sip:b%40b@example.com", 0},
			{"sip:bob@exa mple.com", 0},
			{"sip:bob@example.com:50x", 0},
			{"bob@example.com", 0},
			{"tel:bob@example.com", 0},
			{"sip:", 0},
			{"", 0},
			{NULL, 0},
	};
	RUN_ROWS(doc, rows);
}

static void test_identity_many(void **state)
{
	/* presence_xml's <many> compare is a prefix strncmp joined with && */
	static const char doc[] = RULESET(
			RULE("r", IDENT("<cr:many domain=\"Example.COM\"/>"), ALLOW));
	static const struct id_row rows[] = {
			{"sip:alice@example.com", 1},
			{"sip:alice@EXAMPLE.com", 1},
			{"sips:alice@example.com.;transport=tls", 1},
			{"sip:example.com", 1},
			{"sip:alice@example.com:5061", 1},
			/* negative rows */
			{"sip:alice@example.com.evil.org", 0},
			{"sip:alice@evilexample.com", 0},
			{"sip:alice@sub.example.com", 0},
			{"sip:alice@example.co", 0},
			{"sip:alice@example.comm", 0},
			{"sip:example.com@evil.org", 0},
			{"sip:alice@evil.org;maddr=example.com", 0},
			{"tel:+15551234", 0},
			{"mailto:alice@example.com", 0},
			{"", 0},
			{NULL, 0},
	};
	RUN_ROWS(doc, rows);
}

static void test_identity_except(void **state)
{
	static const char doc_id[] = RULESET(RULE("r",
			IDENT("<cr:many domain=\"example.com\">"
				  "<cr:except id=\"sip:eve@example.com\"/></cr:many>"),
			ALLOW));
	static const struct id_row rows_id[] = {
			{"sip:alice@example.com", 1},
			{"sip:eve2@example.com", 1},
			{"sip:ev@example.com", 1},
			{"sip:eve@example.com", 0},
			{"sip:eve@EXAMPLE.COM", 0},
			{"<sips:eve@example.com;transport=tls>", 0},
			{"sip:%65ve@example.com", 0},
	};
	/* presence_xml compares strlen(id)-1 characters of an <except id>:
	 * "sip:eve@example.co" would be excluded by "sip:eve@example.com" */
	static const char doc_any[] = RULESET(RULE("r",
			IDENT("<cr:many><cr:except id=\"sip:eve@example.com\"/>"
				  "<cr:except domain=\"evil.org\"/></cr:many>"),
			ALLOW));
	static const struct id_row rows_any[] = {
			{"sip:eve@example.co", 1},
			{"sip:eve@example.comx", 1},
			{"sip:a@notevil.org", 1},
			{"sip:a@evil.org.com", 1},
			{"tel:+15551234", 1}, /* no domain: an except domain can't hit */
			{"sip:eve@example.com", 0},
			{"sip:a@evil.org", 0},
			{"sip:a@EVIL.ORG.", 0},
			{"sip:evil.org", 0},
			{NULL, 0}, /* <many/> needs an authenticated identity */
			{"", 0},
			{"no uri at all", 0},
	};
	/* identity children are ORed, and an <except> only narrows its own
	 * <many> */
	static const char doc_or[] = RULESET(RULE("r",
			IDENT(ONE(
					"sip:eve@example.com") "<cr:many domain=\"example.com\">"
										   "<cr:except domain=\"example.com\"/>"
										   "</cr:many>"
										   "<cr:many domain=\"corp.net\"/>"),
			ALLOW));
	static const struct id_row rows_or[] = {
			{"sip:eve@example.com", 1},
			{"sip:x@corp.net", 1},
			{"sip:alice@example.com", 0},
			{"sip:eve@corp.net.example.com", 0},
	};
	RUN_ROWS(doc_id, rows_id);
	RUN_ROWS(doc_any, rows_any);
	RUN_ROWS(doc_or, rows_or);
}

/* The canonicalization is lib/sip_canon.c (test/unit/lib/test_sip_canon.c);
 * here what watcher_auth asks of it: a name-addr, any scheme. */
static void test_uri_canon(void **state)
{
	static const struct
	{
		const char *in;
		const char *out; /* NULL: malformed */
	} rows[] = {
			{"SIPS:Bob@Example.COM:5061;transport=tls?x=y",
					"sip:Bob@example.com"},
			{"\"B\\\"o<b>\" <sip:b%6fb@example.com.>", "sip:bob@example.com"},
			{"TEL:+1-555-1234;phone-context=x",
					"tel:+1-555-1234;phone-context=x"},
			{" <Tel:+15551234> ", "tel:+15551234"},
			{"sip:bob@example..com", NULL},
			{"tel:+1 555", NULL},
	};
	char out[WA_POLICY_URI_MAX + 1], small[12];
	size_t i;
	int n;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = wa_policy_uri_canon(
				rows[i].in, strlen(rows[i].in), out, sizeof(out));
		if(rows[i].out == NULL ? n != -1
							   : (n < 0 || strcmp(out, rows[i].out) != 0))
			fail_msg("row %zu: canon('%s') = %d, want '%s'", i, rows[i].in, n,
					rows[i].out ? rows[i].out : "(bad)");
	}
	/* does not fit: refused, never truncated */
	assert_int_equal(wa_policy_uri_canon(
							 "sip:bob@example.com", 19, small, sizeof(small)),
			-1);
	assert_int_equal(wa_policy_uri_canon(NULL, 3, out, sizeof(out)), -1);
}

/* ------------------------------------------------------ validity */

struct time_row
{
	time_t now;
	int match;
};

static void run_time_rows(
		const char *doc, const struct time_row *rows, size_t n)
{
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < n; i++) {
		eval(p, "sip:bob@example.com", NULL, rows[i].now, &res);
		if((res.matched > 0) != rows[i].match)
			fail_msg("row %zu: now %lld: matched %u, want %d", i,
					(long long)rows[i].now, res.matched, rows[i].match);
	}
	free(p);
}

#define VALID(f, u) "<cr:from>" f "</cr:from><cr:until>" u "</cr:until>"

static void test_validity(void **state)
{
	/* 2024-01-01T00:00:00Z = 1704067200, one day = 86400 */
	static const char doc_one[] = RULESET(RULE("r",
			"<cr:validity>" VALID("2024-01-01T00:00:00Z",
					"2024-01-02T00:00:00Z") "</cr:validity>",
			ALLOW));
	static const struct time_row rows_one[] = {
			{1704067200, 1},
			{1704067201, 1},
			{1704153599, 1},
			{1704067199, 0},
			{1704153600, 0}, /* until is exclusive */
			{0, 0},
			{NOW, 0},
	};
	/* the same instants written with offsets */
	static const char doc_tz[] = RULESET(RULE("r",
			"<cr:validity>" VALID(" 2024-01-01T02:00:00+02:00 ",
					"2024-01-01T19:00:00-05:00") "</cr:validity>",
			ALLOW));
	static const struct time_row rows_tz[] = {
			{1704067200, 1}, {1704153599, 1}, {1704067199, 0}, {1704153600, 0},
			{1704067200 - 7200, 0}, /* 02:00 read as UTC */
	};
	/* several intervals ORed; a fraction rounds up */
	static const char doc_multi[] = RULESET(RULE("r",
			"<cr:validity>" VALID("2024-01-01T00:00:00.5Z",
					"2024-01-01T01:00:00Z") VALID("2024-02-29T00:00:00z",
					"2024-03-01T00:00:00Z") "</cr:validity>",
			ALLOW));
	static const struct time_row rows_multi[] = {
			{1704067200, 0},
			{1704067201, 1},
			{1704070799, 1},
			{1704070800, 0},
			{1709164800 - 1, 0},
			{1709164800, 1},
			{1709251199, 1},
			{1709251200, 0},
	};
	/* ANDed with identity */
	static const char doc_and[] = RULESET(RULE("r",
			IDENT(ONE("sip:bob@example.com")) "<cr:validity>" VALID(
					"2024-01-01T00:00:00Z",
					"2024-01-02T00:00:00Z") "</cr:validity>",
			ALLOW));
	wa_policy_t *p;
	wa_policy_result_t res;

	run_time_rows(doc_one, rows_one, sizeof(rows_one) / sizeof(rows_one[0]));
	run_time_rows(doc_tz, rows_tz, sizeof(rows_tz) / sizeof(rows_tz[0]));
	run_time_rows(
			doc_multi, rows_multi, sizeof(rows_multi) / sizeof(rows_multi[0]));

	p = compile_ok(doc_and);
	eval(p, "sip:bob@example.com", NULL, 1704067200, &res);
	assert_int_equal(res.matched, 1);
	eval(p, "sip:alice@example.com", NULL, 1704067200, &res);
	assert_int_equal(res.matched, 0);
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.matched, 0);
	free(p);
}

static void test_validity_errors(void **state)
{
	static const char *const bad[] = {
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-01-01T00:00:00",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity><cr:from>2024-01-01T00:00:00Z"
					"</cr:from></cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity><cr:until>2024-01-01T00:00:00Z"
					"</cr:until></cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity><cr:from>2024-01-01T00:00:00Z"
					"</cr:from><cr:from>2024-01-02T00:00:00Z"
					"</cr:from></cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity><cr:from>2024-01-01T00:00:00Z"
					"</cr:from><x:until>2024-01-02T00:00:00Z"
					"</x:until></cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2023-02-29T00:00:00Z",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-13-01T00:00:00Z",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-01-01T24:00:00Z",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-01-01T00:00:00+2:00",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("tomorrow",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-01-01T00:00:00Zjunk",
							"2024-01-02T00:00:00Z") "</cr:validity>",
					ALLOW)),
			RULESET(RULE("r",
					"<cr:validity>" VALID("2024-01-01T00:00:00Z",
							"2024-01-02T00:00:00Z") "<x:from/>"
													"</cr:validity>",
					ALLOW)),
	};
	size_t i;
	int rc;

	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = compile_rc(bad[i], strlen(bad[i]), NULL);
		if(rc != WA_POLICY_E_VALIDITY)
			fail_msg("row %zu: %s", i, wa_policy_strerror(rc));
	}
}

/* -------------------------------------------------------- sphere */

static void test_sphere(void **state)
{
	static const char doc[] = RULESET(RULE(
			"r", "<cr:sphere value=\" Work  home \"/>", ALLOW "<ps:encrypt/>"));
	static const struct
	{
		const char *sphere;
		int matched, undecided;
	} rows[] = {
			{"work", 1, 0},
			{"HOME", 1, 0},
			{" work\t", 1, 0},
			{"travel", 0, 0},
			{"wor", 0, 0},
			{"workhome", 0, 0},
			{"work home", 0, 0},
			/* no sphere information: not a match (presence_xml takes it
			 * as TRUE), but the rule's demand still applies */
			{NULL, 0, 1},
			{"", 0, 1},
			{"  ", 0, 1},
	};
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		eval(p, "sip:bob@example.com", rows[i].sphere, NOW, &res);
		if(res.matched != (unsigned)rows[i].matched
				|| res.undecided != (unsigned)rows[i].undecided
				|| res.encrypt != (rows[i].matched || rows[i].undecided)
				|| res.sub_handling
						   != (rows[i].matched ? WA_POLICY_SUB_ALLOW
											   : WA_POLICY_SUB_NONE))
			fail_msg("row %zu: sphere '%s': matched %u undecided %u", i,
					rows[i].sphere ? rows[i].sphere : "(null)", res.matched,
					res.undecided);
	}
	free(p);

	assert_int_equal(
			compile_rc(RULESET(RULE("r", "<cr:sphere/>", ALLOW)),
					strlen(RULESET(RULE("r", "<cr:sphere/>", ALLOW))), NULL),
			WA_POLICY_E_SPHERE);
}

/* ------------------------------------------------------- combine */

static void test_combine(void **state)
{
	static const char doc[] = RULESET(RULE("domain",
			IDENT("<cr:many domain=\"example.com\"/>"),
			SUB("confirm")) RULE("bob-allow", IDENT(ONE("sip:bob@example.com")),
			ALLOW "<ps:authenticate method=\"digest\" "
				  "password=\"pw-bob\"/>") RULE("bob-enc",
			IDENT(ONE("sip:bob@example.com")),
			SUB("block") "<ps:encrypt/>") RULE("other",
			IDENT("<cr:many domain=\"other.org\"/>"),
			SUB("polite-block")) RULE("eve", IDENT(ONE("sip:eve@other.org")),
			"<ps:authenticate method=\"digest\" ha1=\""
			"0123456789abcdef0123456789ABCDEF\" transport=\"tls\"/>"));
	static const struct
	{
		const char *watcher;
		unsigned matched;
		int sub, auth, tls, enc;
		unsigned ncreds;
	} rows[] = {
			/* union over three rules: max sub-handling, authenticate from
			 * one rule and encrypt from another */
			{"sip:bob@example.com", 3, WA_POLICY_SUB_ALLOW, 1, 0, 1, 1},
			{"sip:alice@example.com", 1, WA_POLICY_SUB_CONFIRM, 0, 0, 0, 0},
			{"sip:x@other.org", 1, WA_POLICY_SUB_POLITE_BLOCK, 0, 0, 0, 0},
			/* a rule with no sub-handling adds its demands only */
			{"sip:eve@other.org", 2, WA_POLICY_SUB_POLITE_BLOCK, 1, 1, 0, 1},
			/* nobody: "no rule matched", the caller's default applies */
			{"sip:z@none.net", 0, WA_POLICY_SUB_NONE, 0, 0, 0, 0},
			{NULL, 0, WA_POLICY_SUB_NONE, 0, 0, 0, 0},
	};
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	wa_policy_cred_t cred;
	size_t i;

	assert_int_equal(wa_policy_rule_count(p), 5);
	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		eval(p, rows[i].watcher, NULL, NOW, &res);
		if(res.matched != rows[i].matched || res.sub_handling != rows[i].sub
				|| res.authenticate != rows[i].auth
				|| res.auth_tls != rows[i].tls || res.encrypt != rows[i].enc
				|| res.ncreds != rows[i].ncreds || res.undecided != 0
				|| res.auth_unknown_method || res.unknown_action
				|| res.creds_truncated || res.sub_handling_unknown)
			fail_msg("row %zu (%s): matched %u sub %d auth %d tls %d enc %d "
					 "ncreds %u",
					i, rows[i].watcher ? rows[i].watcher : "(null)",
					res.matched, res.sub_handling, res.authenticate,
					res.auth_tls, res.encrypt, res.ncreds);
	}

	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(wa_policy_cred_get(p, res.creds[0], &cred), 0);
	assert_string_equal(cred.rule_id, "bob-allow");
	assert_string_equal(cred.password, "pw-bob");
	assert_null(cred.ha1);
	assert_null(cred.ha1_sha256);
	assert_null(cred.realm);
	assert_int_equal(cred.tls, 0);

	eval(p, "sip:eve@other.org", NULL, NOW, &res);
	assert_int_equal(wa_policy_cred_get(p, res.creds[0], &cred), 0);
	assert_string_equal(cred.rule_id, "eve");
	assert_null(cred.password);
	assert_string_equal(cred.ha1, "0123456789abcdef0123456789abcdef");
	assert_int_equal(cred.tls, 1);

	assert_int_equal(wa_policy_cred_get(p, 2, &cred), WA_POLICY_E_ARG);
	free(p);
}

static void test_conditions_empty_or_absent(void **state)
{
	static const char doc[] = RULESET(
			RULE("all", "", SUB("confirm")) "<cr:rule "
											"id=\"noconds\"><cr:actions><ps:"
											"encrypt/></cr:actions>"
											"</cr:rule>"
											"<cr:rule id=\"nothing\"/>");
	static const char *const watchers[] = {
			"sip:bob@example.com", "tel:+1555", "", "garbage", NULL};
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < sizeof(watchers) / sizeof(watchers[0]); i++) {
		eval(p, watchers[i], NULL, NOW, &res);
		assert_int_equal(res.matched, 3);
		assert_int_equal(res.sub_handling, WA_POLICY_SUB_CONFIRM);
		assert_int_equal(res.encrypt, 1);
		assert_int_equal(res.authenticate, 0);
	}
	free(p);

	/* an empty ruleset: no rule matched */
	p = compile_ok(RULESET(""));
	eval(p, "sip:bob@example.com", "work", NOW, &res);
	assert_int_equal(res.matched, 0);
	assert_int_equal(res.undecided, 0);
	assert_int_equal(res.sub_handling, WA_POLICY_SUB_NONE);
	assert_int_equal(res.identity_ok, 1);
	free(p);
}

/* ---------------------------------------------- unknown elements */

static void test_unknown_condition(void **state)
{
	static const char *const docs[] = {
			/* an unknown condition in another namespace */
			RULESET(RULE("r", IDENT(ONE("sip:bob@example.com")) "<x:group/>",
					ALLOW "<ps:encrypt/>")),
			/* an unknown common-policy element, or a known name in the
			 * wrong namespace, or a longer name: all unknown */
			RULESET(RULE("r", IDENT(ONE("sip:bob@example.com")) "<cr:foo/>",
					ALLOW "<ps:encrypt/>")),
			RULESET(RULE("r",
					IDENT(ONE("sip:bob@example.com")) "<pr:identity>" ONE(
							"sip:bob@example.com") "</pr:identity>",
					ALLOW "<ps:encrypt/>")),
			RULESET(RULE("r",
					IDENT(ONE("sip:bob@example.com")) "<cr:identityx>" ONE(
							"sip:bob@example.com") "</cr:identityx>",
					ALLOW "<ps:encrypt/>")),
			/* an identity child we cannot evaluate */
			RULESET(RULE("r", IDENT("<x:friends-of-friends/>"),
					ALLOW "<ps:encrypt/>")),
			/* a <many> extension that might exclude this watcher */
			RULESET(RULE("r",
					IDENT("<cr:many domain=\"example.com\">"
						  "<x:except-group name=\"g\"/></cr:many>"),
					ALLOW "<ps:encrypt/>")),
	};
	wa_policy_t *p;
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		p = compile_ok(docs[i]);
		/* never a match: grants nothing, still demands encryption */
		eval(p, "sip:bob@example.com", "work", NOW, &res);
		if(res.matched != 0 || res.undecided != 1
				|| res.sub_handling != WA_POLICY_SUB_NONE || res.encrypt != 1)
			fail_msg("doc %zu: matched %u undecided %u sub %d enc %d", i,
					res.matched, res.undecided, res.sub_handling, res.encrypt);
		/* a FALSE condition decides it: no demand either */
		eval(p, "sip:carol@other.net", "work", NOW, &res);
		if(i != 4
				&& (res.matched != 0 || res.undecided != 0 || res.encrypt != 0))
			fail_msg("doc %zu: other watcher: undecided %u enc %d", i,
					res.undecided, res.encrypt);
		free(p);
	}

	/* a known FALSE identity child beside an unknown TRUE-able one */
	p = compile_ok(RULESET(
			RULE("r", IDENT(ONE("sip:bob@example.com") "<x:foo/>"), ALLOW)));
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.matched, 1); /* TRUE OR unknown = TRUE */
	eval(p, "sip:eve@example.com", NULL, NOW, &res);
	assert_int_equal(res.matched, 0);
	assert_int_equal(res.undecided, 1);
	free(p);
}

static void test_unknown_actions_ignored(void **state)
{
	static const char doc[] = RULESET(
			"<cr:rule id=\"r\"><cr:conditions/><cr:actions>"
			"<x:sub-handling>block</x:sub-handling>"
			"<pr:sub-handlingx>allow</pr:sub-handlingx>"
			"<cr:sub-handling>allow</cr:sub-handling>"
			"<x:authenticate method=\"basic\"/>"
			"<x:encrypt/>"
			"<pr:sub-handling>confirm</pr:sub-handling>"
			"<x:whatever><ps:sign/></x:whatever>"
			"</cr:actions><cr:transformations>"
			"<pr:provide-services><pr:all-services/></pr:provide-services>"
			"<pr:sub-handling>allow</pr:sub-handling>"
			"<x:provide-foo/>"
			"</cr:transformations><x:extra/></cr:rule>");
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;

	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.matched, 1);
	assert_int_equal(res.sub_handling, WA_POLICY_SUB_CONFIRM);
	assert_int_equal(res.sub_handling_unknown, 0);
	assert_int_equal(res.authenticate, 0);
	assert_int_equal(res.encrypt, 0);
	assert_int_equal(res.unknown_action, 0);
	free(p);

	/* an element of our own namespace we do not know: fail closed */
	p = compile_ok(RULESET(RULE("r", "", ALLOW "<ps:sign/>")));
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.unknown_action, 1);
	free(p);

	/* our demands are not lost when written under <transformations> */
	p = compile_ok(RULESET("<cr:rule id=\"t\"><cr:transformations>"
						   "<ps:encrypt/></cr:transformations></cr:rule>"));
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.encrypt, 1);
	assert_int_equal(res.sub_handling, WA_POLICY_SUB_NONE);
	free(p);

	/* a root in a namespace that only starts like common-policy */
	assert_int_equal(
			compile_rc("<r:ruleset xmlns:r=\"urn:ietf:params:xml:ns:"
					   "common-policy2\"/>",
					strlen("<r:ruleset xmlns:r=\"urn:ietf:params:xml:ns:"
						   "common-policy2\"/>"),
					NULL),
			WA_POLICY_E_ROOT);
	assert_int_equal(compile_rc("<ruleset/>", 10, NULL), WA_POLICY_E_ROOT);
	assert_int_equal(
			compile_rc("<cr:rule " NS "/>", strlen("<cr:rule " NS "/>"), NULL),
			WA_POLICY_E_ROOT);
}

static void test_sub_handling_values(void **state)
{
	static const struct
	{
		const char *xml;
		int sub, unknown;
	} rows[] = {
			{RULESET(RULE("r", "", SUB("allow"))), WA_POLICY_SUB_ALLOW, 0},
			{RULESET(RULE("r", "", SUB(" allow\n"))), WA_POLICY_SUB_ALLOW, 0},
			{RULESET(RULE("r", "", SUB("confirm"))), WA_POLICY_SUB_CONFIRM, 0},
			{RULESET(RULE("r", "", SUB("polite-block"))),
					WA_POLICY_SUB_POLITE_BLOCK, 0},
			{RULESET(RULE("r", "", SUB("block"))), WA_POLICY_SUB_BLOCK, 0},
			/* presence_xml's strncmp would read these as block / allow ... */
			{RULESET(RULE("r", "", SUB("blockfoo"))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("allowed"))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("polite-blockade"))),
					WA_POLICY_SUB_BLOCK, 1},
			/* ... and an unknown value is the most restrictive one */
			{RULESET(RULE("r", "", SUB("Allow"))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("30"))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("al low"))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB(""))), WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("<x:allow/>allow"))),
					WA_POLICY_SUB_BLOCK, 1},
			{RULESET(RULE("r", "", SUB("<![CDATA[allow]]>"))),
					WA_POLICY_SUB_ALLOW, 0},
			{RULESET(RULE("r", "", SUB("&#97;llow"))), WA_POLICY_SUB_ALLOW, 0},
			/* union: an unknown value does not cancel another rule's allow */
			{RULESET(RULE("a", "", SUB("blockfoo"))
							 RULE("b", "", SUB("allow"))),
					WA_POLICY_SUB_ALLOW, 1},
			/* two values in one rule: max */
			{RULESET(RULE("r", "", SUB("confirm") SUB("polite-block"))),
					WA_POLICY_SUB_POLITE_BLOCK, 0},
	};
	wa_policy_t *p;
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p = compile_ok(rows[i].xml);
		eval(p, "sip:bob@example.com", NULL, NOW, &res);
		if(res.sub_handling != rows[i].sub
				|| res.sub_handling_unknown != rows[i].unknown)
			fail_msg("row %zu: sub %d unknown %d, want %d %d", i,
					res.sub_handling, res.sub_handling_unknown, rows[i].sub,
					rows[i].unknown);
		free(p);
	}
	assert_string_equal(
			wa_policy_sub_handling_str(WA_POLICY_SUB_ALLOW), "allow");
	assert_string_equal(wa_policy_sub_handling_str(WA_POLICY_SUB_POLITE_BLOCK),
			"polite-block");
	assert_string_equal(wa_policy_sub_handling_str(WA_POLICY_SUB_NONE), "none");
}

/* ------------------------------------------------ authentication */

#define HA1 "6979200c8fdadd56d088cacf103e289b"
#define HA256 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_auth_method(void **state)
{
	static const struct
	{
		const char *xml;
		int unknown;
		unsigned ncreds;
	} rows[] = {
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\"digest\" ha1=\"" HA1 "\"/>")),
					0, 1},
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\" Digest \" password=\"x\"/>")),
					0, 1},
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\"basic\" password=\"x\"/>")),
					1, 0},
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\"digestx\" password=\"x\"/>")),
					1, 0},
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\"dig\" password=\"x\"/>")),
					1, 0},
			{RULESET(RULE("r", "", "<ps:authenticate password=\"x\"/>")), 1, 0},
			{RULESET(RULE("r", "",
					 "<ps:authenticate ps:method=\"digest\" password=\"x\"/>")),
					1, 0},
			/* a known and an unknown method: still unknown, fail closed */
			{RULESET(RULE("r", "",
					 "<ps:authenticate method=\"digest\" password=\"x\"/>"
					 "<ps:authenticate method=\"eap-aka\"/>")),
					1, 1},
	};
	wa_policy_t *p;
	wa_policy_result_t res;
	size_t i;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p = compile_ok(rows[i].xml);
		eval(p, "sip:bob@example.com", NULL, NOW, &res);
		if(res.authenticate != 1 || res.auth_unknown_method != rows[i].unknown
				|| res.ncreds != rows[i].ncreds)
			fail_msg("row %zu: auth %d unknown %d ncreds %u", i,
					res.authenticate, res.auth_unknown_method, res.ncreds);
		free(p);
	}
}

static void test_auth_credentials(void **state)
{
	static const char *const bad[] = {
			"<ps:authenticate method=\"digest\"/>",
			"<ps:authenticate method=\"digest\" realm=\"r\"/>",
			"<ps:authenticate method=\"digest\" password=\"\"/>",
			"<ps:authenticate method=\"digest\" "
			"ha1=\"6979200c8fdadd56d088cacf103e289\"/>",
			"<ps:authenticate method=\"digest\" ha1=\"" HA1 "0\"/>",
			"<ps:authenticate method=\"digest\" "
			"ha1=\"6979200c8fdadd56d088cacf103e289g\"/>",
			"<ps:authenticate method=\"digest\" ha1-sha256=\"" HA1 "\"/>",
			"<ps:authenticate method=\"digest\" ha1=\"" HA1
			"\" ha1-sha256=\"" HA256 "0\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" "
			"transport=\"udp\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" "
			"transport=\"tlsx\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" realm=\"\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" "
			"realm=\"a&quot;b\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" "
			"realm=\"a&#10;b\"/>",
			"<ps:authenticate method=\"digest\" password=\"x\" "
			"realm=\"a\\b\"/>",
	};
	char doc[1024];
	wa_policy_t *p;
	wa_policy_result_t res;
	wa_policy_cred_t cred;
	wa_policy_errinfo_t ei;
	size_t i, size;
	int rc;

	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc),
				"<cr:ruleset %s>\n<cr:rule id=\"r\">\n"
				"<cr:actions>\n%s</cr:actions></cr:rule>"
				"</cr:ruleset>",
				NS, bad[i]);
		p = NULL;
		rc = wa_policy_compile(doc, strlen(doc), NULL, NULL, &p, &size, &ei);
		if(rc != WA_POLICY_E_AUTH || ei.code != WA_POLICY_E_AUTH || ei.line != 4
				|| p != NULL)
			fail_msg("row %zu: %s line %d", i, wa_policy_strerror(rc), ei.line);
	}

	p = compile_ok(RULESET(RULE("r", "",
			"<ps:authenticate method=\"digest\" password=\"p&amp;w &lt;x&gt;\" "
			"ha1=\" 6979200C8FDADD56D088CACF103E289B \" ha1-sha256=\"" HA256
			"\" realm=\" alice@example.com \" transport=\" TLS \"/>")));
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.ncreds, 1);
	assert_int_equal(res.auth_tls, 1);
	assert_int_equal(wa_policy_cred_get(p, res.creds[0], &cred), 0);
	assert_string_equal(cred.password, "p&w <x>");
	assert_string_equal(cred.ha1, HA1);
	assert_string_equal(cred.ha1_sha256, HA256);
	assert_string_equal(cred.realm, "alice@example.com");
	assert_int_equal(cred.tls, 1);
	free(p);
}

static void test_creds_collected(void **state)
{
#define AUTH(pw) "<ps:authenticate method=\"digest\" password=\"" pw "\"/>"
	static const char doc[] = RULESET(
			RULE("a", IDENT(ONE("sip:bob@example.com")),
					AUTH("a1") AUTH("a2")) RULE("not-bob",
					IDENT(ONE("sip:eve@example.com")), AUTH("no")) RULE("b",
					IDENT("<cr:many domain=\"example.com\"/>"),
					AUTH("b1") "<ps:authenticate method=\"digest\" password="
							   "\"b2\" transport=\"tls\"/>")
					RULE("c", "<cr:sphere value=\"work\"/>", AUTH("c1")));
	static const char many[] = RULESET(RULE("m", "",
			AUTH("1") AUTH("2") AUTH("3") AUTH("4") AUTH("5") AUTH("6")
					AUTH("7") AUTH("8") AUTH("9") AUTH("10")));
	static const char *const want[] = {"a1", "a2", "b1", "b2", "c1"};
	wa_policy_t *p = compile_ok(doc);
	wa_policy_result_t res;
	wa_policy_cred_t cred;
	unsigned i;

	/* sphere unknown: rule c is undecided, and its credential counts */
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.matched, 2);
	assert_int_equal(res.undecided, 1);
	assert_int_equal(res.ncreds, 5);
	assert_int_equal(res.auth_tls, 1);
	for(i = 0; i < res.ncreds; i++) {
		assert_int_equal(wa_policy_cred_get(p, res.creds[i], &cred), 0);
		assert_string_equal(cred.password, want[i]);
		assert_int_equal(cred.tls, i == 3);
	}
	eval(p, "sip:alice@example.com", "home", NOW, &res);
	assert_int_equal(res.ncreds, 2);
	assert_int_equal(wa_policy_cred_get(p, res.creds[0], &cred), 0);
	assert_string_equal(cred.rule_id, "b");
	assert_string_equal(cred.password, "b1");
	free(p);

	p = compile_ok(many);
	eval(p, "sip:bob@example.com", NULL, NOW, &res);
	assert_int_equal(res.ncreds, WA_POLICY_MAX_CREDS);
	assert_int_equal(res.creds_truncated, 1);
	free(p);
#undef AUTH
}

/* --------------------------------------------------- parser safety */

static void test_xxe_and_entities(void **state)
{
	static const struct
	{
		const char *xml;
		int rc;
	} rows[] = {
			{"<?xml version=\"1.0\"?>\n"
			 "<!DOCTYPE cr:ruleset [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
			 "<cr:ruleset " NS "><cr:rule id=\"&x;\"/></cr:ruleset>",
					WA_POLICY_E_DTD},
			{"<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
			 "<cr:ruleset " NS "/>",
					WA_POLICY_E_DTD},
			{"<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			 "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
			 "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
			 "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
			 "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
			 "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
			 "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
			 "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
			 "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
			 "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
			 "<cr:ruleset " NS "><cr:rule id=\"r\"><cr:actions>"
			 "<pr:sub-handling>&lol9;</pr:sub-handling></cr:actions>"
			 "</cr:rule></cr:ruleset>",
					WA_POLICY_E_DTD},
			/* even where it would be harmless */
			{"<!-- <!doctype x> --><cr:ruleset " NS "/>", WA_POLICY_E_DTD},
			/* without a DTD an entity is not declared: not well-formed */
			{"<cr:ruleset " NS "><cr:rule id=\"&x;\"/></cr:ruleset>",
					WA_POLICY_E_PARSE},
			/* an XInclude is just an unknown element: never processed */
			{"<cr:ruleset " NS " xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
			 "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/>"
			 "</cr:ruleset>",
					0},
			{"<?xml version=\"1.0\"?><?xml-stylesheet href=\"x\"?>"
			 "<cr:ruleset " NS "/><!-- end -->",
					0},
	};
	size_t i;
	int rc;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = compile_rc(rows[i].xml, strlen(rows[i].xml), NULL);
		if(rc != rows[i].rc)
			fail_msg("row %zu: %d (%s), want %d", i, rc, wa_policy_strerror(rc),
					rows[i].rc);
	}
}

static void test_size_limit(void **state)
{
	static const char doc[] = RULESET(RULE("r", "", ALLOW));
	wa_policy_limits_t lim = {0, 0, 0};
	size_t len = strlen(doc);
	char *big;

	lim.max_size = len;
	assert_int_equal(compile_rc(doc, len, &lim), 0);
	lim.max_size = len - 1;
	assert_int_equal(compile_rc(doc, len, &lim), WA_POLICY_E_TOO_BIG);

	/* the default limit, with a document that is otherwise fine */
	big = malloc(WA_POLICY_DEF_MAX_SIZE + 1024);
	assert_non_null(big);
	len = (size_t)snprintf(big, 1000, "<cr:ruleset %s><!--", NS);
	memset(big + len, 'a', WA_POLICY_DEF_MAX_SIZE);
	strcpy(big + len + WA_POLICY_DEF_MAX_SIZE, "--></cr:ruleset>");
	assert_int_equal(compile_rc(big, strlen(big), NULL), WA_POLICY_E_TOO_BIG);
	free(big);

	assert_int_equal(compile_rc(doc, 0, NULL), WA_POLICY_E_PARSE);
	assert_int_equal(compile_rc(doc, (size_t)-1, NULL), WA_POLICY_E_TOO_BIG);
	lim.max_size = (size_t)-1; /* capped at WA_POLICY_MAX_SIZE_CAP */
	assert_int_equal(compile_rc(doc, (size_t)WA_POLICY_MAX_SIZE_CAP + 1, &lim),
			WA_POLICY_E_TOO_BIG);

	/* too many rules */
	lim.max_size = 0;
	lim.max_rules = 2;
	assert_int_equal(
			compile_rc(RULESET(RULE("a", "", "") RULE("b", "", "")),
					strlen(RULESET(RULE("a", "", "") RULE("b", "", ""))), &lim),
			0);
	assert_int_equal(compile_rc(RULESET(RULE("a", "", "") RULE("b", "", "")
												RULE("c", "", "")),
							 strlen(RULESET(RULE("a", "", "") RULE("b", "", "")
											 RULE("c", "", ""))),
							 &lim),
			WA_POLICY_E_TOO_MANY);
}

/* a rule with `depth` elements nested under the root, in a place that is
 * otherwise ignored */
static char *nested_doc(unsigned depth)
{
	size_t size = 1024 + (size_t)depth * 16;
	char *doc = malloc(size), *p;
	unsigned i;

	assert_non_null(doc);
	p = doc + sprintf(doc, "<cr:ruleset %s>", NS);
	for(i = 0; i < depth; i++)
		p += sprintf(p, "<x:a>");
	for(i = 0; i < depth; i++)
		p += sprintf(p, "</x:a>");
	strcpy(p, "</cr:ruleset>");
	return doc;
}

static void test_depth_limit(void **state)
{
	wa_policy_limits_t lim = {0, 0, 0};
	char *doc;

	/* root + 31 = the default limit of 32 */
	doc = nested_doc(WA_POLICY_DEF_MAX_DEPTH - 1);
	assert_int_equal(compile_rc(doc, strlen(doc), NULL), 0);
	free(doc);
	doc = nested_doc(WA_POLICY_DEF_MAX_DEPTH);
	assert_int_equal(compile_rc(doc, strlen(doc), NULL), WA_POLICY_E_TOO_DEEP);
	lim.max_depth = WA_POLICY_DEF_MAX_DEPTH + 1;
	assert_int_equal(compile_rc(doc, strlen(doc), &lim), 0);
	lim.max_depth = 4;
	assert_int_equal(
			compile_rc(RULESET(RULE("r", IDENT(ONE("sip:a@b")), ALLOW)),
					strlen(RULESET(RULE("r", IDENT(ONE("sip:a@b")), ALLOW))),
					&lim),
			WA_POLICY_E_TOO_DEEP);
	free(doc);
	/* far beyond: libxml2's own limit or ours, refused either way */
	doc = nested_doc(20000);
	assert_true(compile_rc(doc, strlen(doc), NULL) < 0);
	free(doc);
}

static const char full_doc[] = RULESET(RULE("family",
		IDENT(ONE(
				"sip:bob@example.com") "<cr:many domain=\"example.com\">"
									   "<cr:except id=\"sip:eve@example.com\"/>"
									   "</cr:many>") "<cr:sphere value=\"home "
													 "work\"/>"
													 "<cr:validity>" VALID(
															 "2023-01-01T00:00:"
															 "00+01:00",
															 "2030-01-01T00:00:"
															 "00Z") "</"
																	"cr:"
																	"validity>",
		ALLOW "<ps:authenticate method=\"digest\" ha1=\"" HA1
			  "\" realm=\"alice@example.com\" transport=\"tls\"/>"
			  "<ps:encrypt/>") RULE("others", IDENT("<cr:many/>"),
		SUB("confirm")) "<cr:rule "
						"id=\"t\"><cr:conditions><x:c/></cr:conditions>"
						"<cr:transformations><pr:provide-services>"
						"<pr:all-services/></pr:provide-services>"
						"</cr:transformations></cr:rule>");

static void test_truncated(void **state)
{
	size_t len = strlen(full_doc), i;
	wa_policy_t *p;
	wa_policy_result_t res;
	size_t size;
	char *copy;
	int rc, ok = 0;

	for(i = 0; i <= len; i++) {
		/* an exact-size heap copy so that ASan sees any over-read */
		copy = malloc(i ? i : 1);
		assert_non_null(copy);
		memcpy(copy, full_doc, i);
		p = NULL;
		rc = wa_policy_compile(copy, i, NULL, NULL, &p, &size, NULL);
		if(rc == 0) {
			ok++;
			assert_int_equal(wa_policy_check(p, size), 0);
			eval(p, "sip:bob@example.com", "home", NOW, &res);
			free(p);
		} else {
			assert_null(p);
			assert_true(rc == WA_POLICY_E_PARSE || rc == WA_POLICY_E_DTD);
		}
		free(copy);
	}
	assert_int_equal(ok, 1); /* only the whole document */
}

static uint32_t prng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_garbage(void **state)
{
	static const struct
	{
		const char *xml;
		size_t len;
	} rows[] = {
			{"\xff\xfe<\0c\0r\0:\0", 10},
			{"\xfe\xff\0<\0c\0r\0:", 10},
			{"<cr:ruleset " NS "><cr:rule id=\"\xe9t\xe9\"/></cr:ruleset>", 0},
			{"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><cr:ruleset " NS
			 "><cr:rule id=\"\xe9\"/></cr:ruleset>",
					0},
			{"<cr:ruleset " NS "><cr:rule id=\"\xc0\xaf\"/></cr:ruleset>", 0},
			{"<cr:ruleset " NS "><cr:rule id=\"\xed\xa0\x80\"/></cr:ruleset>",
					0},
			{"<cr:ruleset " NS "></cr:rule>", 0},
			{"not xml at all", 0},
			{"<", 0},
			{"<cr:ruleset " NS "/><cr:ruleset " NS "/>", 0},
	};
	static const char start[] =
			"<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\">";
	unsigned char buf[512];
	uint32_t seed = 0x12345678;
	size_t i, j, len;
	int rc;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = rows[i].len;
		if(len == 0)
			len = strlen(rows[i].xml);
		rc = compile_rc(rows[i].xml, len, NULL);
		if(rc != WA_POLICY_E_PARSE)
			fail_msg("row %zu: %d %s", i, rc, wa_policy_strerror(rc));
	}
	/* a NUL inside the document */
	{
		static const char nul[] = "<cr:ruleset " NS ">\0</cr:ruleset>";
		assert_int_equal(
				compile_rc(nul, sizeof(nul) - 1, NULL), WA_POLICY_E_PARSE);
	}
	/* valid UTF-8 beyond ASCII is fine */
	assert_int_equal(
			compile_rc(RULESET(RULE("\xc3\xa9t\xc3\xa9", "", ALLOW)),
					strlen(RULESET(RULE("\xc3\xa9t\xc3\xa9", "", ALLOW))),
					NULL),
			0);

	/* random bytes, and random bytes after a valid start */
	for(i = 0; i < 2000; i++) {
		len = prng(&seed) % sizeof(buf);
		for(j = 0; j < len; j++)
			buf[j] = (unsigned char)prng(&seed);
		if(i % 2 && len > strlen(start))
			memcpy(buf, start, strlen(start));
		rc = compile_rc((const char *)buf, len, NULL);
		assert_true(rc <= 0);
	}
}

/* ------------------------------------------- self-contained block */

static size_t alloc_calls;
static void *counting_alloc(size_t n)
{
	alloc_calls++;
	return malloc(n);
}

static void *failing_alloc(size_t n)
{
	return NULL;
}

static void test_block_self_contained(void **state)
{
	wa_policy_t *p = NULL, *copy;
	wa_policy_result_t a, b;
	wa_policy_cred_t cred;
	size_t size, i;
	char d1[2048], d2[2048];
	unsigned char *raw;
	int rc, x;

	alloc_calls = 0;
	rc = wa_policy_compile(
			full_doc, strlen(full_doc), NULL, counting_alloc, &p, &size, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(alloc_calls, 1); /* ONE block from the caller */
	eval(p, "sip:bob@example.com", "home", 1700000000, &a);
	assert_int_equal(
			wa_policy_describe(p, d1, sizeof(d1)) < (int)sizeof(d1), 1);

	copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, p, size);
	memset(p, 0xa5, size);
	free(p);

	assert_int_equal(wa_policy_check(copy, size), 0);
	eval(copy, "sip:bob@example.com", "home", 1700000000, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(b.matched, 2);
	assert_int_equal(b.sub_handling, WA_POLICY_SUB_ALLOW);
	assert_int_equal(b.authenticate, 1);
	assert_int_equal(b.auth_tls, 1);
	assert_int_equal(b.encrypt, 1);
	assert_int_equal(b.ncreds, 1);
	assert_int_equal(wa_policy_cred_get(copy, b.creds[0], &cred), 0);
	assert_string_equal(cred.ha1, HA1);
	assert_string_equal(cred.realm, "alice@example.com");
	assert_string_equal(cred.rule_id, "family");
	wa_policy_describe(copy, d2, sizeof(d2));
	assert_string_equal(d1, d2);

	/* a block that does not check out */
	assert_int_equal(wa_policy_check(copy, size - 1), WA_POLICY_E_CORRUPT);
	assert_int_equal(wa_policy_check(NULL, size), WA_POLICY_E_CORRUPT);
	assert_int_equal(wa_policy_check(copy, 8), WA_POLICY_E_CORRUPT);

	/* every single-byte corruption either fails the check or still
	 * evaluates without reading outside the block */
	raw = malloc(size);
	assert_non_null(raw);
	for(i = 0; i < size; i++) {
		for(x = 1; x < 256; x <<= 2) {
			memcpy(raw, copy, size);
			raw[i] ^= (unsigned char)x;
			if(wa_policy_check(raw, size) != 0)
				continue;
			eval((const wa_policy_t *)raw, "sip:bob@example.com", "home",
					1700000000, &b);
			for(unsigned k = 0; k < b.ncreds; k++)
				assert_int_equal(wa_policy_cred_get((const wa_policy_t *)raw,
										 b.creds[k], &cred),
						0);
			wa_policy_describe((const wa_policy_t *)raw, d2, sizeof(d2));
		}
	}
	free(raw);
	free(copy);

	/* the caller's allocator fails: an error, nothing leaked */
	p = (wa_policy_t *)&size;
	rc = wa_policy_compile(
			full_doc, strlen(full_doc), NULL, failing_alloc, &p, &size, NULL);
	assert_int_equal(rc, WA_POLICY_E_NOMEM);
	assert_null(p);
}

/* ------------------------------------------------------- describe */

static void test_describe(void **state)
{
	static const char doc[] = RULESET(RULE("fam&quot;ily&#10;",
			IDENT(ONE("sip:bob@example.com")),
			ALLOW "<ps:authenticate method=\"digest\" "
				  "password=\"s3cr3t-pw\" ha1=\"" HA1 "\" ha1-sha256=\"" HA256
				  "\" realm=\"secret-realm.example\" transport=\"tls\"/>"
				  "<ps:encrypt/><ps:sign/>") RULE("q",
			"<cr:sphere value=\"work\"/>"
			"<x:y/>",
			SUB("blockfoo") "<ps:authenticate method=\"kerberos\"/>") "<cr:"
																	  "rule/>");
	char out[2048], small[16];
	wa_policy_t *p = compile_ok(doc);
	int n;

	n = wa_policy_describe(p, out, sizeof(out));
	assert_true(n > 0 && n < (int)sizeof(out));
	assert_int_equal((size_t)n, strlen(out));
	/* never a secret */
	assert_null(strstr(out, "s3cr3t"));
	assert_null(strstr(out, HA1));
	assert_null(strstr(out, "6979200c"));
	assert_null(strstr(out, HA256));
	assert_null(strstr(out, "secret-realm"));
	/* but what an operator needs */
	assert_non_null(strstr(out, "rules: 3\n"));
	assert_non_null(strstr(out, "rule \"fam?ily?\""));
	assert_non_null(strstr(out, "one \"sip:bob@example.com\""));
	assert_non_null(strstr(out, "sub-handling=allow"));
	assert_non_null(strstr(
			out, "authenticate(digest password ha1 ha1-sha256 realm tls)"));
	assert_non_null(strstr(out, "encrypt"));
	assert_non_null(strstr(out, "unknown-ps-action"));
	assert_non_null(strstr(out, "sphere(\"work\") unknown-condition"));
	assert_non_null(strstr(out, "sub-handling=block(unknown value)"));
	assert_non_null(strstr(out, "authenticate(unknown method)"));
	assert_non_null(strstr(out, "rule (no id): if always then\n"));

	/* snprintf semantics */
	assert_int_equal(wa_policy_describe(p, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, out, sizeof(small) - 1);
	assert_int_equal(wa_policy_describe(p, NULL, 0), n);
	free(p);
}

static void test_errors_and_args(void **state)
{
	static const char doc[] = RULESET("");
	wa_policy_result_t res;
	wa_policy_t *p = NULL;
	const char *s;
	int codes[] = {WA_POLICY_OK, WA_POLICY_E_ARG, WA_POLICY_E_NOMEM,
			WA_POLICY_E_TOO_BIG, WA_POLICY_E_DTD, WA_POLICY_E_PARSE,
			WA_POLICY_E_TOO_DEEP, WA_POLICY_E_ROOT, WA_POLICY_E_TOO_MANY,
			WA_POLICY_E_IDENTITY, WA_POLICY_E_SPHERE, WA_POLICY_E_VALIDITY,
			WA_POLICY_E_AUTH, WA_POLICY_E_CORRUPT};
	size_t i, j;

	for(i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		s = wa_policy_strerror(codes[i]);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		for(j = 0; j < i; j++)
			assert_string_not_equal(s, wa_policy_strerror(codes[j]));
	}
	assert_string_equal(wa_policy_strerror(42), "unknown error");

	assert_int_equal(wa_policy_compile(NULL, 3, NULL, NULL, &p, NULL, NULL),
			WA_POLICY_E_ARG);
	assert_int_equal(
			wa_policy_compile(doc, strlen(doc), NULL, NULL, NULL, NULL, NULL),
			WA_POLICY_E_ARG);
	assert_int_equal(wa_policy_eval(NULL, "sip:a@b", 7, NULL, NOW, &res),
			WA_POLICY_E_ARG);
	assert_int_equal(res.sub_handling, WA_POLICY_SUB_NONE);
	p = compile_ok(doc);
	assert_int_equal(
			wa_policy_eval(p, "sip:a@b", 7, NULL, NOW, NULL), WA_POLICY_E_ARG);
	free(p);

	/* bad identities in the document */
	{
		static const char *const bad[] = {
				RULESET(RULE("r", IDENT("<cr:one/>"), ALLOW)),
				RULESET(RULE("r", IDENT(ONE("bob")), ALLOW)),
				RULESET(RULE("r", IDENT(ONE("sip:bob@exa mple.com")), ALLOW)),
				RULESET(RULE("r", IDENT("<cr:many domain=\"\"/>"), ALLOW)),
				RULESET(RULE(
						"r", IDENT("<cr:many domain=\"a.com:5060\"/>"), ALLOW)),
				RULESET(RULE(
						"r", IDENT("<cr:many><cr:except/></cr:many>"), ALLOW)),
				RULESET(RULE("r",
						IDENT("<cr:many><cr:except id=\"x\"/>"
							  "</cr:many>"),
						ALLOW)),
		};
		int rc;
		for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rc = compile_rc(bad[i], strlen(bad[i]), NULL);
			if(rc != WA_POLICY_E_IDENTITY)
				fail_msg("row %zu: %s", i, wa_policy_strerror(rc));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_identity_one),
			cmocka_unit_test(test_identity_many),
			cmocka_unit_test(test_identity_except),
			cmocka_unit_test(test_uri_canon),
			cmocka_unit_test(test_validity),
			cmocka_unit_test(test_validity_errors),
			cmocka_unit_test(test_sphere),
			cmocka_unit_test(test_combine),
			cmocka_unit_test(test_conditions_empty_or_absent),
			cmocka_unit_test(test_unknown_condition),
			cmocka_unit_test(test_unknown_actions_ignored),
			cmocka_unit_test(test_sub_handling_values),
			cmocka_unit_test(test_auth_method),
			cmocka_unit_test(test_auth_credentials),
			cmocka_unit_test(test_creds_collected),
			cmocka_unit_test(test_xxe_and_entities),
			cmocka_unit_test(test_size_limit),
			cmocka_unit_test(test_depth_limit),
			cmocka_unit_test(test_truncated),
			cmocka_unit_test(test_garbage),
			cmocka_unit_test(test_block_self_contained),
			cmocka_unit_test(test_describe),
			cmocka_unit_test(test_errors_and_args),
	};
	return cmocka_run_group_tests_name(
			"watcher_auth_policy", tests, NULL, NULL);
}
