/*
 * Unit tests: sip_privacy's subscriber tables (sp_subs.c). Table-driven:
 * methods lists accepted and refused, the blocking decision per method,
 * the formatted list the RPC shows; identity and blocking rows (negative
 * rows for every error), the default put first, lookups (domain
 * case-insensitive, username exact), a failed allocation at every step
 * freed cleanly (ASan's leak check), and inputs read from heap copies of
 * exactly their length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sp_subs.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* an allocator that fails after `_budget` allocations (-1: never) */
static long _budget = -1;

static void *t_alloc(size_t n)
{
	if(_budget == 0)
		return NULL;
	if(_budget > 0)
		_budget--;
	return malloc(n);
}

static void t_free(void *p)
{
	free(p);
}

static sp_str_t S(const char *s)
{
	sp_str_t r = {s, s ? strlen(s) : 0};
	return r;
}

static const struct
{
	const char *in;
	int rc;
	unsigned int mask;
	const char *out; /* sp_meth_format() */
} meth_rows[] = {
		{"SUBSCRIBE", SP_SUBS_OK, SP_METH_SUBSCRIBE, "SUBSCRIBE"},
		{"SUBSCRIBE,MESSAGE", SP_SUBS_OK, SP_METH_SUBSCRIBE | SP_METH_MESSAGE,
				"SUBSCRIBE,MESSAGE"},
		{" message ,\tSubscribe ", SP_SUBS_OK,
				SP_METH_SUBSCRIBE | SP_METH_MESSAGE, "SUBSCRIBE,MESSAGE"},
		{"INVITE,INVITE", SP_SUBS_OK, SP_METH_INVITE, "INVITE"},
		{"*", SP_SUBS_OK, SP_METH_ANY, "*"},
		{"MESSAGE,*", SP_SUBS_OK, SP_METH_ANY, "*"},
		{"INVITE,ACK,BYE,CANCEL,OPTIONS,REGISTER,PRACK,SUBSCRIBE,NOTIFY,"
		 "PUBLISH,INFO,REFER,MESSAGE,UPDATE",
				SP_SUBS_OK, 0x3fff,
				"INVITE,ACK,BYE,CANCEL,OPTIONS,REGISTER,PRACK,SUBSCRIBE,"
				"NOTIFY,PUBLISH,INFO,REFER,MESSAGE,UPDATE"},
		{"", SP_SUBS_ERR_METHODS, 0, NULL},
		{" ", SP_SUBS_ERR_METHODS, 0, NULL},
		{",", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAGE,", SP_SUBS_ERR_METHODS, 0, NULL},
		{",MESSAGE", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAGE,,INVITE", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAGE INVITE", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAGEX", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAG", SP_SUBS_ERR_METHODS, 0, NULL},
		{"FETCH", SP_SUBS_ERR_METHODS, 0, NULL},
		{"**", SP_SUBS_ERR_METHODS, 0, NULL},
		{"MESSAGE;INVITE", SP_SUBS_ERR_METHODS, 0, NULL},
};

static void test_meth_parse(void **state)
{
	char out[SP_METH_STR_SIZE];
	unsigned int mask;
	size_t i, len;
	char *copy;
	int rc;

	for(i = 0; i < NROWS(meth_rows); i++) {
		len = strlen(meth_rows[i].in);
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, meth_rows[i].in, len);
		mask = 12345;
		rc = sp_meth_parse(copy, len, &mask);
		free(copy);
		if(rc != meth_rows[i].rc)
			fail_msg("row %zu '%s': rc %d", i, meth_rows[i].in, rc);
		if(rc != SP_SUBS_OK) {
			assert_int_equal(mask, 0);
			continue;
		}
		assert_int_equal(mask, meth_rows[i].mask);
		assert_true(sp_meth_format(mask, out, sizeof(out)) > 0);
		assert_string_equal(out, meth_rows[i].out);
	}
	assert_int_equal(sp_meth_parse(NULL, 1, &mask), SP_SUBS_ERR_ARG);
	assert_int_equal(sp_meth_parse("INVITE", 6, NULL), SP_SUBS_ERR_ARG);
	/* over the bound, even when every name is known */
	{
		char big[SP_SUBS_MAX_METHODS_LEN + 16];
		memset(big, ' ', sizeof(big));
		memcpy(big, "INVITE", 6);
		assert_int_equal(
				sp_meth_parse(big, sizeof(big), &mask), SP_SUBS_ERR_METHODS);
	}
}

static void test_meth_format(void **state)
{
	char out[SP_METH_STR_SIZE];
	char small[8];

	assert_int_equal(sp_meth_format(0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sp_meth_format(SP_METH_MESSAGE | SP_METH_SUBSCRIBE, small,
							 sizeof(small)),
			-1);
	assert_string_equal(small, "");
	assert_int_equal(sp_meth_format(SP_METH_ANY, small, 1), -1);
	assert_int_equal(sp_meth_format(SP_METH_ANY, NULL, 8), -1);
}

static void test_meth_blocked(void **state)
{
	unsigned int m = SP_METH_SUBSCRIBE | SP_METH_MESSAGE;

	assert_true(sp_meth_blocked(m, "SUBSCRIBE", 9));
	assert_true(sp_meth_blocked(m, "message", 7));
	assert_false(sp_meth_blocked(m, "INVITE", 6));
	assert_false(sp_meth_blocked(m, "SUBSCRIBEX", 10));
	assert_false(sp_meth_blocked(m, "SUBSCRIB", 8));
	assert_false(sp_meth_blocked(m, "FETCH", 5));
	assert_false(sp_meth_blocked(0, "MESSAGE", 7));
	/* "*": every method, extension methods included */
	assert_true(sp_meth_blocked(SP_METH_ANY, "FETCH", 5));
	assert_true(sp_meth_blocked(SP_METH_ANY, "INVITE", 6));
	assert_int_equal(sp_meth_bit(NULL, 0), 0);
}

static sp_subs_t *new_table(void)
{
	sp_subs_t *t = sp_subs_new(3, t_alloc, t_free);
	assert_non_null(t);
	return t;
}

static int add_id(
		sp_subs_t *t, const char *u, const char *d, const char *id, int def)
{
	sp_str_t su = S(u), sd = S(d), si = S(id);
	return sp_subs_add_identity(t, &su, &sd, &si, def);
}

static int add_block(
		sp_subs_t *t, const char *u, const char *d, const char *methods)
{
	sp_str_t su = S(u), sd = S(d), sm = S(methods);
	return sp_subs_add_blocking(t, &su, &sd, &sm);
}

static const sp_sub_t *find(const sp_subs_t *t, const char *u, const char *d)
{
	sp_str_t su = S(u), sd = S(d);
	return sp_subs_find(t, &su, &sd);
}

static void assert_str(sp_str_t s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

static void test_table(void **state)
{
	sp_subs_t *t = new_table();
	const sp_sub_t *s;
	sp_sub_copy_t c;
	char err[SP_SUBS_ERR_SIZE];

	/* the default comes first whatever the row order */
	assert_int_equal(
			add_id(t, "bob", "example.com", "tel:+15550100002", 0), SP_SUBS_OK);
	assert_int_equal(add_id(t, "bob", "example.com", "sip:bob@example.com", 1),
			SP_SUBS_OK);
	assert_int_equal(add_id(t, "bob", "example.com",
							 "\"Bob\" <sip:b.smith@example.com>", 0),
			SP_SUBS_OK);
	assert_int_equal(
			add_id(t, "alice", "example.com", "sip:alice@example.com", 1),
			SP_SUBS_OK);
	assert_int_equal(
			add_block(t, "bob", "example.com", "SUBSCRIBE"), SP_SUBS_OK);
	assert_int_equal(add_block(t, "bob", "EXAMPLE.com", "message"), SP_SUBS_OK);
	/* blocking only, no identity: known, and fine for the check */
	assert_int_equal(add_block(t, "dave", "example.com", "*"), SP_SUBS_OK);
	assert_int_equal(sp_subs_check(t, err, sizeof(err)), SP_SUBS_OK);
	assert_int_equal(t->nusers, 3);
	assert_int_equal(t->nids, 4);
	assert_int_equal(t->nblocking, 3);

	s = find(t, "bob", "Example.COM");
	assert_non_null(s);
	assert_int_equal(s->nids, 3);
	assert_str(s->ids[0], "sip:bob@example.com");
	assert_str(s->ids[1], "tel:+15550100002");
	assert_str(s->ids[2], "\"Bob\" <sip:b.smith@example.com>");
	assert_int_equal(s->blocked, SP_METH_SUBSCRIBE | SP_METH_MESSAGE);
	sp_subs_copy(s, &c);
	assert_int_equal(c.nids, 3);
	assert_str(c.ids[1], "tel:+15550100002");
	assert_ptr_equal(c.ids[1].s, c.buf[1]);
	assert_int_equal(c.blocked, SP_METH_SUBSCRIBE | SP_METH_MESSAGE);

	assert_null(find(t, "Bob", "example.com")); /* usernames are exact */
	assert_null(find(t, "bo", "example.com"));
	assert_null(find(t, "bob", "example.co"));
	assert_null(find(t, "", "example.com"));
	s = find(t, "dave", "example.com");
	assert_non_null(s);
	assert_int_equal(s->nids, 0);
	assert_int_equal(s->blocked, SP_METH_ANY);
	sp_subs_copy(NULL, &c);
	assert_int_equal(c.nids, 0);
	sp_subs_free(t);
}

static const struct
{
	const char *user, *domain, *id;
	int def, rc;
} bad_id_rows[] = {
		{"", "example.com", "sip:x@example.com", 1, SP_SUBS_ERR_NAME},
		{"x", "", "sip:x@example.com", 1, SP_SUBS_ERR_NAME},
		{"x", "example.com", "", 1, SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "x@example.com", 1, SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "mailto:x@example.com", 1, SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "sip:x:pw@example.com", 1, SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "tel:5551234", 1, SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "<sip:x@example.com>, <tel:+1555>", 1,
				SP_SUBS_ERR_IDENTITY},
		{"x", "example.com", "sip:x@exa mple.com", 1, SP_SUBS_ERR_IDENTITY},
};

static void test_bad_rows(void **state)
{
	sp_subs_t *t = new_table();
	char err[SP_SUBS_ERR_SIZE];
	char name[SP_SUBS_MAX_DOMAIN_LEN + 2];
	char id[SP_SUBS_MAX_ID_LEN + 2];
	sp_str_t su = S("x"), sd = S("example.com"), null = {NULL, 3};
	size_t i;
	int k;

	for(i = 0; i < NROWS(bad_id_rows); i++) {
		int rc = add_id(t, bad_id_rows[i].user, bad_id_rows[i].domain,
				bad_id_rows[i].id, bad_id_rows[i].def);
		if(rc != bad_id_rows[i].rc)
			fail_msg("row %zu '%s': rc %d", i, bad_id_rows[i].id, rc);
	}
	assert_int_equal(t->nusers, 0); /* nothing half-added */

	/* names over the bounds */
	memset(name, 'a', sizeof(name));
	name[SP_SUBS_MAX_USER_LEN + 1] = '\0';
	assert_int_equal(add_id(t, name, "example.com", "sip:a@example.com", 1),
			SP_SUBS_ERR_NAME);
	name[SP_SUBS_MAX_USER_LEN] = '\0';
	assert_int_equal(
			add_id(t, name, "example.com", "sip:a@example.com", 1), SP_SUBS_OK);
	memset(name, 'a', sizeof(name));
	name[SP_SUBS_MAX_DOMAIN_LEN + 1] = '\0';
	assert_int_equal(add_block(t, "a", name, "*"), SP_SUBS_ERR_NAME);
	/* an identity over the bound, though a valid URI */
	memcpy(id, "sip:", 4);
	memset(id + 4, 'a', sizeof(id) - 4);
	id[SP_SUBS_MAX_ID_LEN + 1] = '\0';
	assert_int_equal(
			add_id(t, "x", "example.com", id, 0), SP_SUBS_ERR_IDENTITY);
	assert_int_equal(
			sp_subs_add_identity(t, &su, &sd, &null, 0), SP_SUBS_ERR_IDENTITY);
	assert_int_equal(
			sp_subs_add_identity(t, &su, &sd, NULL, 0), SP_SUBS_ERR_ARG);
	assert_int_equal(
			sp_subs_add_identity(NULL, &su, &sd, &sd, 0), SP_SUBS_ERR_ARG);
	assert_int_equal(sp_subs_add_blocking(t, &su, &sd, NULL), SP_SUBS_ERR_ARG);
	assert_int_equal(add_block(t, "x", "example.com", "INVITE,FETCH"),
			SP_SUBS_ERR_METHODS);
	assert_int_equal(add_block(t, "x", "example.com", ""), SP_SUBS_ERR_METHODS);

	/* a second default */
	assert_int_equal(
			add_id(t, "x", "example.com", "sip:x@example.com", 1), SP_SUBS_OK);
	assert_int_equal(
			add_id(t, "x", "example.com", "tel:+1555", 1), SP_SUBS_ERR_DEFAULT);
	/* more identities than the bound */
	for(k = 1; k < SP_SUBS_MAX_IDS; k++) {
		snprintf(id, sizeof(id), "tel:+1555%d", k);
		assert_int_equal(add_id(t, "x", "example.com", id, 0), SP_SUBS_OK);
	}
	assert_int_equal(add_id(t, "x", "example.com", "tel:+1666", 0),
			SP_SUBS_ERR_TOO_MANY);
	assert_int_equal(sp_subs_check(t, err, sizeof(err)), SP_SUBS_OK);

	/* identities without a default: the check names the user */
	assert_int_equal(
			add_id(t, "y", "example.com", "sip:y@example.com", 0), SP_SUBS_OK);
	assert_int_equal(
			sp_subs_check(t, err, sizeof(err)), SP_SUBS_ERR_NO_DEFAULT);
	assert_string_equal(err, "y@example.com: identities but no default one");
	assert_int_equal(sp_subs_check(t, NULL, 0), SP_SUBS_ERR_NO_DEFAULT);
	assert_int_equal(sp_subs_check(NULL, err, sizeof(err)), SP_SUBS_ERR_ARG);
	assert_null(sp_subs_find(NULL, &su, &sd));
	sp_subs_free(t);
	sp_subs_free(NULL);
	assert_null(sp_subs_new(4, NULL, t_free));
}

/* Every allocation made to fail in turn: an error, and no leak. */
static void test_alloc_failures(void **state)
{
	long n;
	int done = 0;

	for(n = 0; n < 64 && !done; n++) {
		sp_subs_t *t;
		int rc = SP_SUBS_OK;

		_budget = n;
		t = sp_subs_new(1, t_alloc, t_free);
		if(t == NULL) {
			_budget = -1;
			continue;
		}
		rc = add_id(t, "a", "example.com", "sip:a@example.com", 1);
		if(rc == SP_SUBS_OK)
			rc = add_id(t, "a", "example.com", "tel:+1555", 0);
		if(rc == SP_SUBS_OK)
			rc = add_block(t, "b", "example.com", "*");
		if(rc == SP_SUBS_OK)
			done = 1;
		else
			assert_int_equal(rc, SP_SUBS_ERR_NOMEM);
		_budget = -1;
		sp_subs_free(t);
	}
	assert_true(done);
}

static void test_strerror(void **state)
{
	int rc;

	for(rc = SP_SUBS_OK; rc >= SP_SUBS_ERR_METHODS; rc--)
		assert_string_not_equal(sp_subs_strerror(rc), "unknown error");
	assert_string_equal(sp_subs_strerror(-99), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_meth_parse),
			cmocka_unit_test(test_meth_format),
			cmocka_unit_test(test_meth_blocked),
			cmocka_unit_test(test_table),
			cmocka_unit_test(test_bad_rows),
			cmocka_unit_test(test_alloc_failures),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
