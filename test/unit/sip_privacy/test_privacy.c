/*
 * Unit tests: sip_privacy's Privacy header logic (RFC 3323, RFC 3325 "id").
 * Table-driven: the grammar (valid, several headers, duplicates, unknown
 * tokens, case, whitespace, "none" mixed with others, empty, junk,
 * overlong), the decision (actions, refusals with their exact reason
 * phrases, the rewritten Privacy value, the Proxy-Require flag), the
 * headers "user" privacy removes, and every prefix of the inputs parsed
 * from exactly-sized heap copies so that ASan sees any read past the end.
 * "Privacy: id" is RFC 3325 10.1's value verbatim.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "privacy.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* A NULL-terminated list of header values in a row. */
#define H(...)            \
	{                     \
		__VA_ARGS__, NULL \
	}
#define NOH  \
	{        \
		NULL \
	}
#define MAXH 24

#define U SP_PRIV_USER
#define HD SP_PRIV_HEADER
#define SE SP_PRIV_SESSION
#define ID SP_PRIV_ID
#define CR SP_PRIV_CRITICAL
#define NO SP_PRIV_NONE
#define UPR SP_PRIV_UNPARSABLE_REQUEST
#define CD SP_PRIV_CAPS_DEFAULT

#define A_USER (SP_PRIV_ACT_ANON_FROM | SP_PRIV_ACT_RM_USER_HDRS)
#define A_HDR SP_PRIV_ACT_HIDE_TOPOLOGY
#define A_ID SP_PRIV_ACT_PAI_PRIVATE
#define A_SES SP_PRIV_ACT_ANON_SESSION

#define KEEP SP_PRIV_HDR_KEEP
#define REPL SP_PRIV_HDR_REPLACE
#define RMV SP_PRIV_HDR_REMOVE

#define NP SP_PRIV_REASON_PREFIX

/* Header values copied into heap buffers of exactly their length. */
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

static void hset_load(struct hset *hs, const char *const *hdrs)
{
	hs->n = 0;
	for(; *hdrs != NULL; hdrs++)
		hset_add(hs, *hdrs, strlen(*hdrs));
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

/* Invariants of any parse result over `hs`. */
static void check_parsed(const struct hset *hs, int rc, const sp_priv_t *p)
{
	unsigned int i;

	assert_true(rc <= 0 && rc >= SP_PRIV_ERR_SPACE);
	assert_int_equal(p->unparsable, rc != SP_PRIV_OK);
	assert_int_equal(p->headers, hs->n);
	assert_true(p->nunk <= SP_PRIV_MAX_UNKNOWN);
	assert_true(p->unknown >= p->nunk);
	assert_int_equal(p->mask & ~0x3fu, 0);
	for(i = 0; i < p->nunk; i++) {
		assert_true(in_hset(hs, &p->unk[i]));
		assert_true(p->unk[i].len > 0);
		assert_true(p->unk[i].len <= SP_PRIV_MAX_TOKEN_LEN);
	}
	if(p->unparsable)
		assert_int_equal(sp_priv_requested(p) & UPR, UPR);
	else if(hs->n > 0)
		assert_true(p->mask != 0 || p->nunk > 0);
}

struct parse_row
{
	const char *h[5];
	int rc;
	unsigned int mask;
	unsigned int unknown, nunk;
	int contradictory;
	unsigned int requested;
};

/* clang-format off */
static const struct parse_row parse_rows[] = {
	/* RFC 3325 10.1 */
	{H("id"), SP_PRIV_OK, ID, 0, 0, 0, ID},
	/* every known value, alone and together */
	{H("user"), SP_PRIV_OK, U, 0, 0, 0, U},
	{H("header"), SP_PRIV_OK, HD, 0, 0, 0, HD},
	{H("session"), SP_PRIV_OK, SE, 0, 0, 0, SE},
	{H("critical"), SP_PRIV_OK, CR, 0, 0, 0, CR},
	{H("none"), SP_PRIV_OK, NO, 0, 0, 0, NO},
	{H("header;user"), SP_PRIV_OK, HD | U, 0, 0, 0, HD | U},
	{H("user;header;session;id;critical"), SP_PRIV_OK, U | HD | SE | ID | CR,
		0, 0, 0, U | HD | SE | ID | CR},
	/* case */
	{H("ID"), SP_PRIV_OK, ID, 0, 0, 0, ID},
	{H("Header;USER;CrItIcAl"), SP_PRIV_OK, HD | U | CR, 0, 0, 0, HD | U | CR},
	{H("NONE"), SP_PRIV_OK, NO, 0, 0, 0, NO},
	{H("SESSION"), SP_PRIV_OK, SE, 0, 0, 0, SE},
	/* LWS around ';' and at both ends, folded lines */
	{H(" id "), SP_PRIV_OK, ID, 0, 0, 0, ID},
	{H("header ; user"), SP_PRIV_OK, HD | U, 0, 0, 0, HD | U},
	{H("header\t;\tuser"), SP_PRIV_OK, HD | U, 0, 0, 0, HD | U},
	{H("header\r\n ;\r\n user"), SP_PRIV_OK, HD | U, 0, 0, 0, HD | U},
	{H("\tid\t;critical  "), SP_PRIV_OK, ID | CR, 0, 0, 0, ID | CR},
	/* several headers */
	{H("header", "user", "id"), SP_PRIV_OK, HD | U | ID, 0, 0, 0, HD | U | ID},
	{H("user;header", "session", "critical"), SP_PRIV_OK,
		U | HD | SE | CR, 0, 0, 0, U | HD | SE | CR},
	/* duplicates count once */
	{H("id;id"), SP_PRIV_OK, ID, 0, 0, 0, ID},
	{H("id", "ID"), SP_PRIV_OK, ID, 0, 0, 0, ID},
	{H("critical;critical;id"), SP_PRIV_OK, CR | ID, 0, 0, 0, CR | ID},
	{H("none;none"), SP_PRIV_OK, NO, 0, 0, 0, NO},
	{H("none", "None"), SP_PRIV_OK, NO, 0, 0, 0, NO},
	/* unknown extension values: exact tokens, never a prefix */
	{H("foo"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("idx"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("i"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("xid"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("ids"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("criticals"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("non"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("nonee"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("users"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("history"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	{H("user;history"), SP_PRIV_OK, U, 1, 1, 0, U},
	{H("foo;FOO;Foo"), SP_PRIV_OK, 0, 3, 1, 0, 0},
	{H("foo", "bar", "foo"), SP_PRIV_OK, 0, 3, 2, 0, 0},
	{H("-._!%*+`'~"), SP_PRIV_OK, 0, 1, 1, 0, 0},
	/* "none" with anything else: contradictory, unparsable */
	{H("none;id"), SP_PRIV_ERR_NONE_MIXED, NO | ID, 0, 0, 1, ID | UPR},
	{H("id;none"), SP_PRIV_ERR_NONE_MIXED, NO | ID, 0, 0, 1, ID | UPR},
	{H("none", "user"), SP_PRIV_ERR_NONE_MIXED, NO | U, 0, 0, 1, U | UPR},
	{H("none;critical"), SP_PRIV_ERR_NONE_MIXED, NO | CR, 0, 0, 1, CR | UPR},
	{H("none;session"), SP_PRIV_ERR_NONE_MIXED, NO | SE, 0, 0, 1, SE | UPR},
	{H("none;foo"), SP_PRIV_ERR_NONE_MIXED, NO, 1, 1, 1, UPR},
	/* empty values */
	{H(""), SP_PRIV_ERR_EMPTY, 0, 0, 0, 0, UPR},
	{H("   "), SP_PRIV_ERR_EMPTY, 0, 0, 0, 0, UPR},
	{H("\r\n"), SP_PRIV_ERR_EMPTY, 0, 0, 0, 0, UPR},
	{H(";"), SP_PRIV_ERR_EMPTY, 0, 0, 0, 0, UPR},
	{H("id;"), SP_PRIV_ERR_EMPTY, ID, 0, 0, 0, ID | UPR},
	{H(";id"), SP_PRIV_ERR_EMPTY, ID, 0, 0, 0, ID | UPR},
	{H("id;;user"), SP_PRIV_ERR_EMPTY, ID | U, 0, 0, 0, ID | U | UPR},
	{H("id ; ; user"), SP_PRIV_ERR_EMPTY, ID | U, 0, 0, 0, ID | U | UPR},
	{H("id", ""), SP_PRIV_ERR_EMPTY, ID, 0, 0, 0, ID | UPR},
	{H("none;"), SP_PRIV_ERR_EMPTY, NO, 0, 0, 0, UPR},
	/* not tokens */
	{H("id,user"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("id, user"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("\"id\""), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("id user"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("id=1"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("<id>"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("id;user=1"), SP_PRIV_ERR_SYNTAX, ID, 0, 0, 0, ID | UPR},
	{H("sess ion;critical"), SP_PRIV_ERR_SYNTAX, CR, 0, 0, 0, CR | UPR},
	{H("session;critical", "id:"), SP_PRIV_ERR_SYNTAX, SE | CR, 0, 0, 0,
		SE | CR | UPR},
	{H("Privacy: id"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("id;\x01"), SP_PRIV_ERR_SYNTAX, ID, 0, 0, 0, ID | UPR},
	{H("id\x7f"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("caf\xc3\xa9"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	{H("junk!@#"), SP_PRIV_ERR_SYNTAX, 0, 0, 0, 0, UPR},
	/* the first error is reported, the rest still read */
	{H("id;;x y;user"), SP_PRIV_ERR_EMPTY, ID | U, 0, 0, 0, ID | U | UPR},
	{H("x y", "none;id"), SP_PRIV_ERR_SYNTAX, NO | ID, 0, 0, 1, ID | UPR},
};
/* clang-format on */

static void test_parse_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(parse_rows); i++) {
		const struct parse_row *r = &parse_rows[i];
		struct hset hs;
		sp_priv_t p;
		int rc;

		hset_load(&hs, r->h);
		rc = sp_priv_parse(hs.h, hs.n, &p);
		if(rc != r->rc)
			fail_msg("row %zu (%s): rc %d (%s), want %d (%s)", i, r->h[0], rc,
					sp_priv_strerror(rc), r->rc, sp_priv_strerror(r->rc));
		check_parsed(&hs, rc, &p);
		if(p.mask != r->mask || p.unknown != r->unknown || p.nunk != r->nunk
				|| p.contradictory != r->contradictory
				|| sp_priv_requested(&p) != r->requested)
			fail_msg("row %zu (%s): mask %#x unknown %u nunk %u contra %d "
					 "requested %#x",
					i, r->h[0], p.mask, p.unknown, p.nunk, p.contradictory,
					sp_priv_requested(&p));
		hset_free(&hs);
	}
}

/* The unknown values are slices of the input, first spelling kept. */
static void test_parse_unknown_slices(void **state)
{
	static const char *const hdrs[] = H("user;Foo", "x-bar ; foo;critical");
	struct hset hs;
	sp_priv_t p;

	hset_load(&hs, hdrs);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);
	assert_int_equal(p.nunk, 2);
	assert_int_equal(p.unknown, 3);
	assert_ptr_equal(p.unk[0].s, hs.buf[0] + 5);
	assert_int_equal(p.unk[0].len, 3);
	assert_ptr_equal(p.unk[1].s, hs.buf[1]);
	assert_int_equal(p.unk[1].len, 5);
	assert_int_equal(p.mask, U | CR);
	hset_free(&hs);
}

/* NUL bytes, NULL arguments, no header at all. */
static void test_parse_args(void **state)
{
	sp_str_t h[2];
	sp_priv_t p;

	/* a NUL inside a value is not a token character */
	h[0].s = "id\0user";
	h[0].len = 7;
	assert_int_equal(sp_priv_parse(h, 1, &p), SP_PRIV_ERR_SYNTAX);
	assert_true(p.unparsable);
	h[0].len = 2;
	assert_int_equal(sp_priv_parse(h, 1, &p), SP_PRIV_OK);
	assert_int_equal(p.mask, ID);

	/* no Privacy header: nothing requested, nothing unparsable */
	assert_int_equal(sp_priv_parse(NULL, 0, &p), SP_PRIV_OK);
	assert_int_equal(p.headers, 0);
	assert_false(p.unparsable);
	assert_int_equal(sp_priv_requested(&p), 0);

	assert_int_equal(sp_priv_parse(NULL, 1, &p), SP_PRIV_ERR_ARG);
	assert_true(p.unparsable);
	assert_int_equal(sp_priv_requested(&p), UPR);
	assert_int_equal(sp_priv_parse(h, 1, NULL), SP_PRIV_ERR_ARG);
	h[0].s = NULL;
	h[0].len = 3;
	assert_int_equal(sp_priv_parse(h, 1, &p), SP_PRIV_ERR_ARG);
	assert_true(p.unparsable);
	h[0].len = 0;
	assert_int_equal(sp_priv_parse(h, 1, &p), SP_PRIV_ERR_EMPTY);
	h[0].s = "id";
	h[0].len = 2;
	h[1].s = NULL;
	h[1].len = 0;
	assert_int_equal(sp_priv_parse(h, 2, &p), SP_PRIV_ERR_EMPTY);
	assert_int_equal(p.mask, ID);

	/* fail safe */
	assert_int_equal(sp_priv_requested(NULL), UPR);
}

/* Every bound, at and one past the limit. */
static void test_parse_bounds(void **state)
{
	char tok[SP_PRIV_MAX_TOKEN_LEN + 2], hdr[SP_PRIV_MAX_HDR_LEN + 2];
	struct hset hs = {0};
	sp_priv_t p;
	size_t i;

	/* a token of the longest length is an unknown value, one more is not */
	memset(tok, 'a', sizeof(tok));
	hset_add(&hs, tok, SP_PRIV_MAX_TOKEN_LEN);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);
	assert_int_equal(p.nunk, 1);
	hset_free(&hs);
	hset_add(&hs, tok, SP_PRIV_MAX_TOKEN_LEN + 1);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_ERR_TOO_LONG);
	assert_int_equal(p.nunk, 0);
	assert_int_equal(sp_priv_requested(&p), UPR);
	hset_free(&hs);

	/* a header value of the longest length, LWS padded, then one more */
	memset(hdr, ' ', sizeof(hdr));
	memcpy(hdr, "id", 2);
	hset_add(&hs, hdr, SP_PRIV_MAX_HDR_LEN);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);
	assert_int_equal(p.mask, ID);
	hset_free(&hs);
	hset_add(&hs, hdr, SP_PRIV_MAX_HDR_LEN + 1);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_ERR_TOO_LONG);
	assert_int_equal(p.mask, 0);
	assert_int_equal(sp_priv_requested(&p), UPR);
	hset_free(&hs);

	/* headers: the most that are read, then one more */
	for(i = 0; i < SP_PRIV_MAX_HDRS; i++)
		hset_add(&hs, "id", 2);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);
	hset_add(&hs, "user", 4);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_ERR_TOO_MANY);
	assert_int_equal(p.mask, ID); /* the extra one is not read */
	assert_int_equal(sp_priv_requested(&p), ID | UPR);
	hset_free(&hs);

	/* distinct unknown values: the most that are kept, then one more */
	for(i = 0; i < SP_PRIV_MAX_UNKNOWN; i++) {
		tok[0] = (char)('a' + i);
		hset_add(&hs, tok, 3);
	}
	hset_add(&hs, "AAA", 3); /* a duplicate is no new value */
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);
	assert_int_equal(p.nunk, SP_PRIV_MAX_UNKNOWN);
	assert_int_equal(p.unknown, SP_PRIV_MAX_UNKNOWN + 1);
	hset_add(&hs, "zzz", 3);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_ERR_TOO_MANY);
	assert_int_equal(p.nunk, SP_PRIV_MAX_UNKNOWN);
	assert_int_equal(p.unknown, SP_PRIV_MAX_UNKNOWN + 2);
	hset_free(&hs);
}

struct decide_row
{
	const char *h[5];
	unsigned int caps;
	unsigned int actions;
	unsigned int missing;
	int refuse;
	const char *reason;
	sp_priv_hdr_op_t op;
	const char *value;
};

/* clang-format off */
static const struct decide_row decide_rows[] = {
	/* no Privacy header: nothing to do */
	{NOH, CD, 0, 0, 0, "", KEEP, ""},
	/* RFC 3325 10.1: "id" is provided and stays */
	{H("id"), CD, A_ID, 0, 0, "", KEEP, ""},
	{H("id;critical"), CD, A_ID, 0, 0, "", KEEP, ""},
	/* satisfied values go; when nothing but "critical" would be left the
	 * header goes too */
	{H("user"), CD, A_USER, 0, 0, "", RMV, ""},
	{H("header"), CD, A_HDR, 0, 0, "", RMV, ""},
	{H("header;user"), CD, A_USER | A_HDR, 0, 0, "", RMV, ""},
	{H("user;header;critical"), CD, A_USER | A_HDR, 0, 0, "", RMV, ""},
	{H("critical"), CD, 0, 0, 0, "", RMV, ""},
	{H("user;id"), CD, A_USER | A_ID, 0, 0, "", REPL, "id"},
	{H("header;user;id"), CD, A_USER | A_HDR | A_ID, 0, 0, "", REPL, "id"},
	{H("user;id;critical"), CD, A_USER | A_ID, 0, 0, "", REPL, "id;critical"},
	/* session is not provided: it stays; critical refuses */
	{H("session"), CD, 0, SE, 0, "", KEEP, ""},
	{H("session;critical"), CD, 0, SE, 1, NP "session", KEEP, ""},
	{H("user;session"), CD, A_USER, SE, 0, "", REPL, "session"},
	{H("user;header;session;id"), CD, A_USER | A_HDR | A_ID, SE, 0, "",
		REPL, "session;id"},
	{H("header;session;critical"), CD, A_HDR, SE, 1, NP "session", REPL,
		"session;critical"},
	{H("user;header;session;id;critical"), CD, A_USER | A_HDR | A_ID, SE, 1,
		NP "session", REPL, "session;id;critical"},
	/* unknown values stay, as received; critical refuses */
	{H("foo"), CD, 0, 0, 0, "", KEEP, ""},
	{H("user;foo"), CD, A_USER, 0, 0, "", REPL, "foo"},
	{H("user;Foo;critical"), CD, A_USER, 0, 1, NP "Foo", REPL,
		"Foo;critical"},
	{H("session;foo;bar;critical"), CD, 0, SE, 1, NP "session, foo, bar",
		KEEP, ""},
	{H("id;history;critical"), CD, A_ID, 0, 1, NP "history", KEEP, ""},
	{H("foo;user;critical", "bar"), CD, A_USER, 0, 1, NP "foo, bar", REPL,
		"foo;bar;critical"},
	{H("idx;critical"), CD, 0, 0, 1, NP "idx", KEEP, ""},
	/* "none": nothing done, header left alone */
	{H("none"), CD, 0, 0, 0, "", KEEP, ""},
	{H("NONE", "none"), CD, 0, 0, 0, "", KEEP, ""},
	/* unparsable: all the privacy the service gives, header left alone,
	 * critical refuses */
	{H("none;id"), CD, A_USER | A_HDR | A_ID, 0, 0, "", KEEP, ""},
	{H("none;critical"), CD, A_USER | A_HDR | A_ID, 0, 1,
		NP SP_PRIV_REASON_UNPARSABLE, KEEP, ""},
	{H("none;foo;critical"), CD, A_USER | A_HDR | A_ID, 0, 1,
		NP "foo, " SP_PRIV_REASON_UNPARSABLE, KEEP, ""},
	{H("id;;critical"), CD, A_USER | A_HDR | A_ID, 0, 1,
		NP SP_PRIV_REASON_UNPARSABLE, KEEP, ""},
	{H("session;;critical"), CD, A_USER | A_HDR | A_ID, SE, 1,
		NP "session, " SP_PRIV_REASON_UNPARSABLE, KEEP, ""},
	{H("junk!@#"), CD, A_USER | A_HDR | A_ID, 0, 0, "", KEEP, ""},
	{H(""), CD, A_USER | A_HDR | A_ID, 0, 0, "", KEEP, ""},
	/* several headers, duplicates, case: one canonical header */
	{H("user", "id"), CD, A_USER | A_ID, 0, 0, "", REPL, "id"},
	{H("header", "user", "critical"), CD, A_USER | A_HDR, 0, 0, "", RMV, ""},
	{H("user;user;id;id"), CD, A_USER | A_ID, 0, 0, "", REPL, "id"},
	{H("USER;ID;CRITICAL"), CD, A_USER | A_ID, 0, 0, "", REPL, "id;critical"},
	/* a service with a media anonymizer */
	{H("session;critical"), CD | SE, A_SES, 0, 0, "", RMV, ""},
	{H("user;header;session;id;critical"), CD | SE,
		A_USER | A_HDR | A_SES | A_ID, 0, 0, "", REPL, "id;critical"},
	/* a service that provides nothing */
	{H("user;critical"), 0, 0, U, 1, NP "user", KEEP, ""},
	{H("id;header;critical"), 0, 0, HD | ID, 1, NP "header, id", KEEP, ""},
	{H("user;header;session;id;critical"), 0, 0, U | HD | SE | ID, 1,
		NP "user, header, session, id", KEEP, ""},
	{H("user;header"), 0, 0, U | HD, 0, "", KEEP, ""},
	/* partial services */
	{H("user;header"), ID, 0, U | HD, 0, "", KEEP, ""},
	{H("user;id"), ID, A_ID, U, 0, "", KEEP, ""},
	{H("user;header"), U, A_USER, HD, 0, "", REPL, "header"},
	{H("user;header;critical"), U, A_USER, HD, 1, NP "header", REPL,
		"header;critical"},
};
/* clang-format on */

static void test_decide_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(decide_rows); i++) {
		const struct decide_row *r = &decide_rows[i];
		struct hset hs;
		sp_priv_t p, p2;
		sp_priv_decision_t d, d2;
		sp_str_t v;

		hset_load(&hs, r->h);
		sp_priv_parse(hs.h, hs.n, &p);
		assert_int_equal(sp_priv_decide(&p, r->caps, &d), SP_PRIV_OK);
		if(d.actions != r->actions || d.missing != r->missing
				|| d.refuse != r->refuse || strcmp(d.reason, r->reason) != 0
				|| d.hdr_op != r->op || strcmp(d.value, r->value) != 0)
			fail_msg("row %zu (%s, caps %#x): actions %#x missing %#x "
					 "refuse %d reason \"%s\" op %d value \"%s\"",
					i, r->h[0] ? r->h[0] : "(none)", r->caps, d.actions,
					d.missing, d.refuse, d.reason, d.hdr_op, d.value);
		assert_int_equal(d.drop_proxy_require, r->op == RMV);
		assert_int_equal(d.requested, sp_priv_requested(&p));
		assert_int_equal(
				d.provided | d.missing, d.requested & SP_PRIV_FUNCTIONS);
		assert_int_equal(d.provided & d.missing, 0);
		if(d.refuse) {
			assert_true(d.requested & CR);
			assert_true(strncmp(d.reason, NP, strlen(NP)) == 0);
		}

		/* the rewritten value parses, asks for what stays, and a second
		 * service with the same caps leaves it alone */
		if(d.hdr_op == REPL) {
			v.s = d.value;
			v.len = strlen(d.value);
			assert_int_equal(sp_priv_parse(&v, 1, &p2), SP_PRIV_OK);
			assert_int_equal(p2.mask & SP_PRIV_FUNCTIONS,
					d.missing | (d.requested & ID));
			assert_int_equal(p2.mask & CR, d.requested & CR);
			assert_int_equal(p2.nunk, p.nunk);
			assert_int_equal(sp_priv_decide(&p2, r->caps, &d2), SP_PRIV_OK);
			assert_int_equal(d2.hdr_op, KEEP);
			assert_int_equal(d2.refuse, d.refuse);
			assert_int_equal(d2.actions & ~A_ID, 0);
		}
		hset_free(&hs);
	}
}

/* The longest outputs fit their buffers exactly as computed. */
static void test_decide_longest(void **state)
{
	char tok[SP_PRIV_MAX_UNKNOWN][SP_PRIV_MAX_TOKEN_LEN];
	struct hset hs = {0};
	sp_priv_t p;
	sp_priv_decision_t d;
	size_t i;

	for(i = 0; i < SP_PRIV_MAX_UNKNOWN; i++) {
		memset(tok[i], 'x', SP_PRIV_MAX_TOKEN_LEN);
		tok[i][0] = (char)('a' + i);
		hset_add(&hs, tok[i], SP_PRIV_MAX_TOKEN_LEN);
	}
	hset_add(&hs, "user;header;session;id;critical", 31);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_OK);

	/* nothing provided: every value is in the reason */
	assert_int_equal(sp_priv_decide(&p, 0, &d), SP_PRIV_OK);
	assert_true(d.refuse);
	assert_int_equal(strlen(d.reason),
			strlen(NP "user, header, session, id")
					+ SP_PRIV_MAX_UNKNOWN * (2 + SP_PRIV_MAX_TOKEN_LEN));

	/* user provided: every other value stays in the header */
	assert_int_equal(sp_priv_decide(&p, U, &d), SP_PRIV_OK);
	assert_int_equal(d.hdr_op, REPL);
	assert_int_equal(strlen(d.value),
			strlen("header;session;id;critical")
					+ SP_PRIV_MAX_UNKNOWN * (1 + SP_PRIV_MAX_TOKEN_LEN));
	assert_true(strlen(d.value) < SP_PRIV_VALUE_SIZE);

	/* and with the unparsable marker */
	hset_add(&hs, ";", 1);
	assert_int_equal(sp_priv_parse(hs.h, hs.n, &p), SP_PRIV_ERR_EMPTY);
	assert_int_equal(sp_priv_decide(&p, 0, &d), SP_PRIV_OK);
	assert_int_equal(strlen(d.reason) + 1, SP_PRIV_REASON_SIZE);
	hset_free(&hs);

	assert_int_equal(sp_priv_decide(NULL, CD, &d), SP_PRIV_ERR_ARG);
	assert_int_equal(sp_priv_decide(&p, CD, NULL), SP_PRIV_ERR_ARG);
}

/* The headers "user" privacy removes: exact names, either case, and the
 * compact form of Subject. */
static const char *const user_hdrs[] = {"Subject", "subject", "SUBJECT", "s",
		"S", "Call-Info", "call-info", "CALL-INFO", "Organization",
		"organization", "User-Agent", "user-agent", "Reply-To", "reply-to",
		"In-Reply-To", "in-reply-to"};

static const char *const other_hdrs[] = {"", "Subjects", "Subjec", "X-Subject",
		"Subject ", " Subject", "Subject:", "sx", "t", "Call-Info2", "Call-Inf",
		"CallInfo", "Organisation", "User-Agents", "UserAgent", "Server",
		"Reply-To-X", "In-Reply", "Reply", "From", "f", "To", "Via", "v",
		"Contact", "m", "Record-Route", "P-Asserted-Identity",
		"P-Preferred-Identity", "Privacy", "Warning", "Call-ID", "i"};

static void test_user_hdrs(void **state)
{
	/* clang-format off */
	static const struct {
		const char *h[3];
		unsigned int caps;
		int removes;
	} rows[] = {
		{H("user"), CD, 1},
		{H("user;critical"), CD, 1},
		{H("header"), CD, 0},
		{H("session"), CD, 0},
		{H("id"), CD, 0},
		{H("critical"), CD, 0},
		{H("none"), CD, 0},
		{H("foo"), CD, 0},
		{NOH, CD, 0},
		/* unparsable: as "user" */
		{H("none;user"), CD, 1},
		{H("none;header"), CD, 1},
		{H(""), CD, 1},
		/* a service that does not provide user privacy removes nothing */
		{H("user"), ID, 0},
	};
	/* clang-format on */
	size_t i, k;

	for(i = 0; i < NROWS(rows); i++) {
		struct hset hs;
		sp_priv_t p;
		sp_priv_decision_t d;

		hset_load(&hs, rows[i].h);
		sp_priv_parse(hs.h, hs.n, &p);
		assert_int_equal(sp_priv_decide(&p, rows[i].caps, &d), SP_PRIV_OK);
		for(k = 0; k < NROWS(user_hdrs); k++) {
			if(sp_priv_hdr_remove(d.actions, user_hdrs[k], strlen(user_hdrs[k]))
					!= rows[i].removes)
				fail_msg("row %zu: %s", i, user_hdrs[k]);
		}
		for(k = 0; k < NROWS(other_hdrs); k++) {
			if(sp_priv_hdr_remove(
					   d.actions, other_hdrs[k], strlen(other_hdrs[k])))
				fail_msg("row %zu: %s removed", i, other_hdrs[k]);
		}
		hset_free(&hs);
	}

	for(k = 0; k < NROWS(user_hdrs); k++)
		assert_true(sp_priv_user_hdr(user_hdrs[k], strlen(user_hdrs[k])));
	for(k = 0; k < NROWS(other_hdrs); k++)
		assert_false(sp_priv_user_hdr(other_hdrs[k], strlen(other_hdrs[k])));
	/* the length decides, not a NUL */
	assert_true(sp_priv_user_hdr("Subjectxyz", 7));
	assert_false(sp_priv_user_hdr("Sub\0ect", 7));
	assert_false(sp_priv_user_hdr(NULL, 7));
	assert_false(sp_priv_hdr_remove(~0u, NULL, 0));
	assert_false(
			sp_priv_hdr_remove(~0u & ~SP_PRIV_ACT_RM_USER_HDRS, "Subject", 7));

	/* RFC 3323 4.1.1, RFC 3261 8.1.1.3 */
	assert_string_equal(SP_PRIV_ANON_FROM,
			"\"Anonymous\" <sip:anonymous@anonymous.invalid>");
}

/* Every prefix of the inputs, from exactly-sized heap copies: no read past
 * the end, results always within their bounds, decisions always made. */
static void test_prefixes(void **state)
{
	static const char *const full[] = {"user;header;session;id;critical",
			" header ;\tuser ; id ", "none", "none;id", "foo;user;critical",
			"id;;critical", "x-ext;Critical\r\n ;SESSION"};
	size_t f, n;

	for(f = 0; f < NROWS(full); f++) {
		size_t len = strlen(full[f]);
		for(n = 0; n <= len; n++) {
			struct hset hs = {0};
			sp_priv_t p;
			sp_priv_decision_t d;
			int rc;

			/* alone, then after a complete header */
			hset_add(&hs, full[f], n);
			rc = sp_priv_parse(hs.h, hs.n, &p);
			check_parsed(&hs, rc, &p);
			assert_int_equal(sp_priv_decide(&p, CD, &d), SP_PRIV_OK);
			assert_true(strlen(d.reason) < sizeof(d.reason));
			assert_true(strlen(d.value) < sizeof(d.value));
			assert_int_equal(d.refuse, d.reason[0] != '\0');
			assert_int_equal(d.hdr_op == REPL, d.value[0] != '\0');
			hset_free(&hs);

			hset_add(&hs, "user", 4);
			hset_add(&hs, full[f], n);
			rc = sp_priv_parse(hs.h, hs.n, &p);
			check_parsed(&hs, rc, &p);
			assert_int_equal(sp_priv_decide(&p, 0, &d), SP_PRIV_OK);
			hset_free(&hs);
		}
	}
}

static void test_names(void **state)
{
	assert_string_equal(sp_priv_value_name(U), "user");
	assert_string_equal(sp_priv_value_name(HD), "header");
	assert_string_equal(sp_priv_value_name(SE), "session");
	assert_string_equal(sp_priv_value_name(ID), "id");
	assert_string_equal(sp_priv_value_name(CR), "critical");
	assert_string_equal(sp_priv_value_name(NO), "none");
	assert_null(sp_priv_value_name(0));
	assert_null(sp_priv_value_name(U | ID));
	assert_null(sp_priv_value_name(1u << 6));
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = SP_PRIV_ERR_SPACE; a <= 0; a++) {
		assert_string_not_equal(sp_priv_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(sp_priv_strerror(a), sp_priv_strerror(b));
	}
	assert_string_equal(sp_priv_strerror(1), "unknown error");
	assert_string_equal(
			sp_priv_strerror(SP_PRIV_ERR_SPACE - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_parse_rows),
			cmocka_unit_test(test_parse_unknown_slices),
			cmocka_unit_test(test_parse_args),
			cmocka_unit_test(test_parse_bounds),
			cmocka_unit_test(test_decide_rows),
			cmocka_unit_test(test_decide_longest),
			cmocka_unit_test(test_user_hdrs),
			cmocka_unit_test(test_prefixes),
			cmocka_unit_test(test_names),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name(
			"sip_privacy privacy", tests, NULL, NULL);
}
