/*
 * Unit tests: the canonical SIP identity shared by watcher_auth and
 * notify_smime (lib/sip_canon.c). One table, each row with the flags it
 * holds for (ALL: every combination of SIP_CANON_NAMEADDR and
 * SIP_CANON_OTHER_SCHEME); the rows of a flag give its behaviour with and
 * without it. Each accepted form must be canonical again, unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sip_canon.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

#define NA SIP_CANON_NAMEADDR
#define OS SIP_CANON_OTHER_SCHEME
#define ALL (-1)
#define BOB "sip:bob@example.com"

struct canon_row
{
	const char *in;
	int flags;		 /* ALL: every combination */
	const char *out; /* NULL: refused */
};

/* clang-format off */
static const struct canon_row rows[] = {
	/* sip and sips, whatever the flags */
	{BOB, ALL, BOB},
	{"sips:bob@example.com", ALL, BOB},
	{"SIPS:bob@Example.COM", ALL, BOB},
	{"SIPS:Bob@Example.COM:5061;transport=tls?x=y", ALL, "sip:Bob@example.com"},
	{"sip:Bob@example.com", ALL, "sip:Bob@example.com"},
	{"sip:%42ob@example.com", ALL, "sip:Bob@example.com"},
	{"sip:bob@example.com.", ALL, BOB},
	{"sip:bob@example.com:5061", ALL, BOB},
	{"sip:bob@example.com;transport=tls?subject=x", ALL, BOB},
	{"sip:alice;day=tue@example.com", ALL, "sip:alice;day=tue@example.com"},
	{"sip:+1555;phone-context=x@example.com", ALL,
		"sip:+1555;phone-context=x@example.com"},
	{"sip:example.com", ALL, "sip:example.com"},
	{"sip:192.0.2.1", ALL, "sip:192.0.2.1"},
	{"sip:bob@192.0.2.1:5060", ALL, "sip:bob@192.0.2.1"},
	{"sip:[2001:DB8::1]:5060", ALL, "sip:[2001:db8::1]"},
	{"sip:[2001:db8::1]", ALL, "sip:[2001:db8::1]"},
	{"sip:bob@[2001:DB8::1]", ALL, "sip:bob@[2001:db8::1]"},
	/* a decoded byte that may not stand unescaped stays escaped: once
	 * "a%41", which a second pass read as "aA" (found by the fuzzers) */
	{"sip:a%2541@example.com", ALL, "sip:a%2541@example.com"},
	{"sip:b%e9b@example.com", ALL, "sip:b%E9b@example.com"},
	{"sip:a%2fb@example.com", ALL, "sip:a/b@example.com"},
	/* refused, whatever the flags */
	{"", ALL, NULL},
	{"sip:", ALL, NULL},
	{"sip:bob@", ALL, NULL},
	{"sip:@example.com", ALL, NULL},
	{"sip:bob@.", ALL, NULL},
	{"sip:bob:pw@example.com", ALL, NULL},
	{"sip:b%4@example.com", ALL, NULL},
	{"sip:b%zz@example.com", ALL, NULL},
	{"sip:b%00b@example.com", ALL, NULL},
	{"sip:b%20b@example.com", ALL, NULL},
	{"sip:b%3Ab@example.com", ALL, NULL},
	{"sip:b b@example.com", ALL, NULL},
	{"sip:bob@example.com:", ALL, NULL},
	{"sip:bob@example.com:123456", ALL, NULL},
	{"sip:bob@example.com x", ALL, NULL},
	{"sip:bob@.example.com", ALL, NULL},
	{"sip:bob@exa_mple.com", ALL, NULL},
	/* an empty label; "example.com.." was "example.com." once, which a
	 * second pass changed again (found by the fuzzers) */
	{"sip:bob@example.com..", ALL, NULL},
	{"sip:bob@example..com", ALL, NULL},
	{"sip:example.com..", ALL, NULL},
	{"sip:bob@[]", ALL, NULL},
	{"sip:bob@[zz]", ALL, NULL},
	{"1sip:bob@example.com", ALL, NULL},
	{":bob@example.com", ALL, NULL},
	{"sip bob@example.com", ALL, NULL},
	{"Bob sip:bob@example.com", ALL, NULL},
	/* SIP_CANON_NAMEADDR: whitespace, display name and <...> around */
	{"  <sip:bob@example.com>  ", NA, BOB},
	{"  <sip:bob@example.com>  ", NA | OS, BOB},
	{"  <sip:bob@example.com>  ", 0, NULL},
	{"  <sip:bob@example.com>  ", OS, NULL},
	{"\"Bob <x>\" <sip:bob@example.com>", NA, BOB},
	{"\"Bob <x>\" <sip:bob@example.com>", 0, NULL},
	{"\"B\\\"o<b>\" <sip:b%6fb@example.com.>", NA, BOB},
	{" sip:bob@example.com", NA, BOB},
	{" sip:bob@example.com", 0, NULL},
	{"<sip:bob@example.com", NA, NULL},
	{"\"Bob <sip:bob@example.com>", NA, NULL},
	/* SIP_CANON_OTHER_SCHEME: scheme lowercased, the rest verbatim */
	{"TEL:+1-555-1234;phone-context=x", OS, "tel:+1-555-1234;phone-context=x"},
	{"TEL:+1-555-1234;phone-context=x", NA | OS,
		"tel:+1-555-1234;phone-context=x"},
	{"TEL:+1-555-1234;phone-context=x", 0, NULL},
	{"TEL:+1-555-1234;phone-context=x", NA, NULL},
	{"tel:+15551234", NA, NULL},
	{"sipx:bob@example.com", OS, "sipx:bob@example.com"},
	{"sipx:bob@example.com", 0, NULL},
	{"<tel:+15551234>", NA | OS, "tel:+15551234"},
	{"<tel:+15551234>", OS, NULL},
	{"tel:", OS, NULL},
	{"tel:+1 555", OS, NULL},
	{"tel:+1<555", OS, NULL},
	{"tel:+1\x7f", OS, NULL},
};
/* clang-format on */

static int canon(const char *s, size_t len, int flags, char *out, size_t size,
		sip_canon_info_t *ci)
{
	/* an exactly sized copy: ASan sees any read past the end */
	char *in = malloc(len ? len : 1);
	int n;

	assert_non_null(in);
	memcpy(in, s, len);
	n = sip_canon_uri(in, len, (unsigned)flags, out, size, ci);
	free(in);
	return n;
}

static void test_rows(void **state)
{
	char buf[256], again[256];
	size_t i;
	int f, n;

	for(i = 0; i < NROWS(rows); i++) {
		for(f = 0; f <= (NA | OS); f++) {
			if(rows[i].flags != ALL && rows[i].flags != f)
				continue;
			n = canon(
					rows[i].in, strlen(rows[i].in), f, buf, sizeof(buf), NULL);
			if(rows[i].out == NULL) {
				if(n != -1)
					fail_msg("row %zu flags %d: \"%s\" -> \"%s\", want "
							 "refusal",
							i, f, rows[i].in, buf);
				continue;
			}
			if(n < 0 || strcmp(buf, rows[i].out) != 0
					|| (size_t)n != strlen(rows[i].out))
				fail_msg("row %zu flags %d: \"%s\" -> %d \"%s\", want \"%s\"",
						i, f, rows[i].in, n, n < 0 ? "" : buf, rows[i].out);
			/* canonical once more, unchanged */
			if(canon(buf, (size_t)n, f, again, sizeof(again), NULL) != n
					|| strcmp(again, buf) != 0)
				fail_msg("row %zu flags %d: \"%s\" not canonical again", i, f,
						buf);
		}
	}
}

struct info_row
{
	const char *in;
	int flags;
	int ret; /* length, or -1 */
	int sip;
	int host;
};

/* the out-values: sip (scheme sip/sips, even when the rest is malformed:
 * notify_smime tells a malformed SIP subjectAltName from a non-SIP one)
 * and the offset of the host (watcher_auth's <many domain>) */
static void test_info(void **state)
{
	static const struct info_row irows[] = {
			{BOB, 0, 19, 1, 8},
			{"<sips:Bob@EXAMPLE.com>", NA, 19, 1, 8},
			{"sip:example.com", 0, 15, 1, 4},
			{"sip:a%2541@example.com", 0, 22, 1, 11},
			{"sip:bob@example.com:", 0, -1, 1, -1},
			{"sip:bob@", 0, -1, 1, -1},
			{"sip:", NA | OS, -1, 1, -1},
			{"tel:+15551234", OS, 13, 0, -1},
			{"tel:+15551234", 0, -1, 0, -1},
			{"sipx:bob@example.com", 0, -1, 0, -1},
			{"<sip:bob@example.com>", 0, -1, 0, -1},
			{"", ALL, -1, 0, -1},
	};
	sip_canon_info_t ci;
	char buf[64];
	size_t i;
	int n;

	for(i = 0; i < NROWS(irows); i++) {
		memset(&ci, 0x55, sizeof(ci));
		n = canon(irows[i].in, strlen(irows[i].in),
				irows[i].flags == ALL ? 0 : irows[i].flags, buf, sizeof(buf),
				&ci);
		if(n != irows[i].ret || ci.sip != irows[i].sip
				|| ci.host != irows[i].host)
			fail_msg("row %zu: \"%s\" -> %d sip %d host %d, want %d %d %d", i,
					irows[i].in, n, ci.sip, ci.host, irows[i].ret, irows[i].sip,
					irows[i].host);
	}
	/* a failed call before the scheme still says "not sip" */
	memset(&ci, 0x55, sizeof(ci));
	assert_int_equal(sip_canon_uri(BOB, strlen(BOB), 0, NULL, 64, &ci), -1);
	assert_int_equal(ci.sip, 0);
	assert_int_equal(ci.host, -1);
}

/* out is NUL-terminated and never truncated: too small is a refusal */
static void test_bounds(void **state)
{
	char buf[64];

	assert_int_equal(sip_canon_uri(BOB, strlen(BOB), 0, buf, 20, NULL), 19);
	assert_string_equal(buf, BOB);
	assert_int_equal(sip_canon_uri(BOB, strlen(BOB), 0, buf, 19, NULL), -1);
	assert_int_equal(sip_canon_uri(BOB, strlen(BOB), 0, buf, 12, NULL), -1);
	/* the user part and the host each overflow on their own */
	assert_int_equal(sip_canon_uri("sip:a%25b@x.org", 15, 0, buf, 8, NULL), -1);
	assert_int_equal(sip_canon_uri("sip:abcd@x.org", 14, 0, buf, 10, NULL), -1);
	assert_int_equal(sip_canon_uri("tel:+15551234", 13, OS, buf, 14, NULL), 13);
	assert_string_equal(buf, "tel:+15551234");
	assert_int_equal(sip_canon_uri("tel:+15551234", 13, OS, buf, 13, NULL), -1);
	assert_int_equal(sip_canon_uri("sip:a.b", 7, 0, buf, 7, NULL), -1);
	assert_int_equal(sip_canon_uri("sip:a.b", 7, 0, buf, 8, NULL), 7);
	assert_int_equal(sip_canon_uri(BOB, strlen(BOB), 0, NULL, 64, NULL), -1);
	assert_int_equal(sip_canon_uri(NULL, 3, 0, buf, sizeof(buf), NULL), -1);
	/* the length is what counts */
	assert_int_equal(sip_canon_uri(BOB "x", strlen(BOB), 0, buf, 64, NULL), 19);
	assert_int_equal(sip_canon_uri(BOB, strlen(BOB) - 4, 0, buf, 64, NULL), 15);
	assert_string_equal(buf, "sip:bob@example");
}

/* sip_canon_host() alone: a host and where it ends */
static void test_host(void **state)
{
	static const char *const good[][2] = {
			{"Example.COM", "example.com"},
			{"example.com.", "example.com"},
			{"[2001:DB8::1]", "[2001:db8::1]"},
			{"192.0.2.1", "192.0.2.1"},
	};
	static const char *const bad[] = {"", ".", ".example.com", "example..com",
			"example.com..", "[]", "[zz]", "[2001:db8::1"};
	const char *s, *e;
	char buf[64];
	size_t i, n;

	for(i = 0; i < NROWS(good); i++) {
		s = good[i][0];
		e = s + strlen(s);
		if(sip_canon_host(s, e, buf, sizeof(buf), &n) != e
				|| strcmp(buf, good[i][1]) != 0 || n != strlen(good[i][1]))
			fail_msg("host \"%s\" -> \"%s\", want \"%s\"", s, buf, good[i][1]);
	}
	for(i = 0; i < NROWS(bad); i++) {
		s = bad[i];
		if(sip_canon_host(s, s + strlen(s), buf, sizeof(buf), &n) != NULL)
			fail_msg("host \"%s\" accepted", s);
	}
	/* stops at what is not a host */
	s = "example.com:5060";
	assert_ptr_equal(
			sip_canon_host(s, s + strlen(s), buf, sizeof(buf), &n), s + 11);
	/* does not fit: refused */
	s = "example.com";
	assert_null(sip_canon_host(s, s + strlen(s), buf, 11, &n));
	assert_ptr_equal(sip_canon_host(s, s + strlen(s), buf, 12, &n), s + 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_rows),
			cmocka_unit_test(test_info),
			cmocka_unit_test(test_bounds),
			cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
