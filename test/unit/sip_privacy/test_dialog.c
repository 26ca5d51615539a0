/*
 * Unit tests: sip_privacy's per-dialog rule (the Record-Route parameter,
 * who it hides, how it adds to a message's own Privacy) and the rewrites of
 * the privacy service (Privacy from a mask, Contact user part, the
 * "privacy" option-tag). Table-driven, negative rows included; inputs are
 * copied into exactly-sized heap buffers so that ASan sees any read past
 * the end.
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
#include "sp_dialog.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

#define U SP_PRIV_USER
#define HD SP_PRIV_HEADER
#define SE SP_PRIV_SESSION
#define ID SP_PRIV_ID
#define CR SP_PRIV_CRITICAL
#define NO SP_PRIV_NONE
#define ALL SP_DLG_RULE_CAPS

#define A_USER (SP_PRIV_ACT_ANON_FROM | SP_PRIV_ACT_RM_USER_HDRS)
#define A_HDR SP_PRIV_ACT_HIDE_TOPOLOGY
#define A_ID SP_PRIV_ACT_PAI_PRIVATE

static char *dup_exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

static void test_rule_encode(void **state)
{
	static const struct
	{
		unsigned int mask;
		const char *out;
	} rows[] = {
			{0, ""},
			{U, "u"},
			{ID, "i"},
			{HD, "h"},
			{U | ID, "ui"},
			{ID | U | HD, "uhi"},
			{SE | CR | NO, ""}, /* not part of a rule */
			{U | SE | CR | ID, "ui"},
	};
	char buf[SP_DLG_RULE_SIZE];
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(sp_dlg_rule_encode(rows[i].mask, buf, sizeof(buf)),
				strlen(rows[i].out));
		assert_string_equal(buf, rows[i].out);
		/* what is written reads back */
		if(buf[0])
			assert_int_equal(sp_dlg_rule_decode(buf, strlen(buf)),
					rows[i].mask & SP_DLG_RULE_CAPS);
	}
	assert_int_equal(sp_dlg_rule_encode(U, buf, SP_DLG_RULE_SIZE - 1), -1);
	assert_int_equal(sp_dlg_rule_encode(U, NULL, 8), -1);
}

static void test_rule_decode(void **state)
{
	static const struct
	{
		const char *in;
		unsigned int mask;
	} rows[] = {
			{"u", U},
			{"i", ID},
			{"h", HD},
			{"ui", U | ID},
			{"iu", U | ID},
			{"uhi", U | HD | ID},
			{"ihu", U | HD | ID},
			/* never read as less privacy: */
			{"", ALL},
			{"x", ALL},
			{"U", ALL}, /* letters are lowercase */
			{"uu", ALL},
			{"ux", ALL},
			{"uhii", ALL},
			{"0", ALL},
			{"u;", ALL},
			{"u i", ALL},
	};
	size_t i;
	char *b;

	for(i = 0; i < NROWS(rows); i++) {
		b = dup_exact(rows[i].in, strlen(rows[i].in));
		assert_int_equal(
				sp_dlg_rule_decode(b, strlen(rows[i].in)), rows[i].mask);
		free(b);
	}
	assert_int_equal(sp_dlg_rule_decode(NULL, 0), ALL);
	assert_int_equal(sp_dlg_rule_decode(NULL, 2), ALL);
}

#define KEY ((const unsigned char *)"k3y")
#define KLEN 3
#define TAG "abc"
#define CID "cid@x"

/* Vectors from Python: hmac.new(b"k3y", f(b"sppriv") + f(rule) +
 * f(b"abc") + f(b"cid@x"), sha256).hexdigest()[:24], f(b) =
 * struct.pack(">I", len(b)) + b. */
static void test_param_make(void **state)
{
	char out[SP_DLG_PARAM_SIZE];
	char big[SP_DLG_MAX_CALLID + 2];

	assert_int_equal(sp_dlg_param_make(U | ID, TAG, 3, CID, 5, KEY, KLEN, out,
							 sizeof(out)),
			27);
	assert_string_equal(out, "ui.1a30d9729d32769f316c106a");
	assert_int_equal(
			sp_dlg_param_make(0, TAG, 3, CID, 5, KEY, KLEN, out, sizeof(out)),
			26);
	assert_string_equal(out, "-.e0352680e8b11881d5fab8ad");
	/* "none", "critical", "session" make no rule either */
	assert_int_equal(sp_dlg_param_make(NO | CR | SE, TAG, 3, CID, 5, KEY, KLEN,
							 out, sizeof(out)),
			26);
	assert_string_equal(out, "-.e0352680e8b11881d5fab8ad");
	/* negative rows */
	assert_int_equal(sp_dlg_param_make(U, TAG, 3, CID, 5, KEY, KLEN, out,
							 SP_DLG_PARAM_SIZE - 1),
			-1);
	assert_int_equal(
			sp_dlg_param_make(U, TAG, 3, CID, 5, KEY, 0, out, sizeof(out)), -1);
	assert_int_equal(
			sp_dlg_param_make(U, TAG, 3, CID, 5, NULL, 3, out, sizeof(out)),
			-1);
	memset(big, 'c', sizeof(big));
	assert_int_equal(sp_dlg_param_make(U, TAG, 3, big, SP_DLG_MAX_CALLID + 1,
							 KEY, KLEN, out, sizeof(out)),
			-1);
	assert_int_equal(sp_dlg_param_make(U, big, SP_DLG_MAX_TAG + 1, CID, 5, KEY,
							 KLEN, out, sizeof(out)),
			-1);
	assert_true(sp_dlg_param_make(U, big, SP_DLG_MAX_TAG, big,
						SP_DLG_MAX_CALLID, KEY, KLEN, out, sizeof(out))
				> 0);
	/* no tag (append_fromtag off) binds the empty tag */
	assert_true(
			sp_dlg_param_make(U, NULL, 0, CID, 5, KEY, KLEN, out, sizeof(out))
			> 0);
}

static void test_param_check(void **state)
{
	static const struct
	{
		const char *val, *tag, *cid, *key;
		int ok;
		unsigned int rule;
	} rows[] = {
			{"ui.1a30d9729d32769f316c106a", TAG, CID, "k3y", 1, U | ID},
			{"-.e0352680e8b11881d5fab8ad", TAG, CID, "k3y", 1, 0},
			/* another dialog, tag, key: fails */
			{"ui.1a30d9729d32769f316c106a", "abd", CID, "k3y", 0, ALL},
			{"ui.1a30d9729d32769f316c106a", TAG, "cid@y", "k3y", 0, ALL},
			{"ui.1a30d9729d32769f316c106a", TAG, CID, "k3z", 0, ALL},
			{"ui.1a30d9729d32769f316c106a", NULL, CID, "k3y", 0, ALL},
			/* a changed rule, a changed MAC */
			{"u.1a30d9729d32769f316c106a", TAG, CID, "k3y", 0, ALL},
			{"-.1a30d9729d32769f316c106a", TAG, CID, "k3y", 0, ALL},
			{"ui.1a30d9729d32769f316c106b", TAG, CID, "k3y", 0, ALL},
			{"ui.1A30D9729D32769F316C106A", TAG, CID, "k3y", 0, ALL},
			/* malformed */
			{"ui", TAG, CID, "k3y", 0, ALL},
			{"", TAG, CID, "k3y", 0, ALL},
			{".1a30d9729d32769f316c106a", TAG, CID, "k3y", 0, ALL},
			{"ui1a30d9729d32769f316c106a", TAG, CID, "k3y", 0, ALL},
			{"ui.1a30d9729d32769f316c106", TAG, CID, "k3y", 0, ALL},
			{"uhii.1a30d9729d32769f316c106a", TAG, CID, "k3y", 0, ALL},
			{"ui.1a30d9729d32769f316c106a0", TAG, CID, "k3y", 0, ALL},
	};
	unsigned int rule;
	size_t i;
	char *b;

	for(i = 0; i < NROWS(rows); i++) {
		b = dup_exact(rows[i].val, strlen(rows[i].val));
		rule = 12345;
		assert_int_equal(
				sp_dlg_param_check(b, strlen(rows[i].val), rows[i].tag,
						rows[i].tag ? strlen(rows[i].tag) : 0, rows[i].cid,
						strlen(rows[i].cid), (const unsigned char *)rows[i].key,
						strlen(rows[i].key), &rule),
				rows[i].ok);
		assert_int_equal(rule, rows[i].rule);
		free(b);
	}
	assert_int_equal(
			sp_dlg_param_check(NULL, 0, TAG, 3, CID, 5, KEY, KLEN, &rule), 0);
	assert_int_equal(rule, ALL);
	assert_int_equal(sp_dlg_param_check("ui.1a30d9729d32769f316c106a", 27, TAG,
							 3, CID, 5, KEY, KLEN, NULL),
			0);
}

/* what is made checks, for every rule */
static void test_param_roundtrip(void **state)
{
	char out[SP_DLG_PARAM_SIZE];
	unsigned int m, rule;
	int n;

	for(m = 0; m < 64; m++) {
		n = sp_dlg_param_make(m, TAG, 3, CID, 5, KEY, KLEN, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(
				sp_dlg_param_check(out, n, TAG, 3, CID, 5, KEY, KLEN, &rule),
				1);
		assert_int_equal(rule, m & SP_DLG_RULE_CAPS);
	}
}

static void test_sender(void **state)
{
	static const struct
	{
		const char *tag, *ftag;
		int initiator;
	} rows[] = {
			{"abc", "abc", 1},
			{"abd", "abc", 0},
			{"ABC", "abc", 0},
			{"abc", "abcd", 0},
			{"abcd", "abc", 0},
			{NULL, "abc", 1}, /* fail closed */
			{"", "abc", 1},
			{"abc", NULL, 1},
			{"abc", "", 1},
	};
	size_t i, tl, fl;

	for(i = 0; i < NROWS(rows); i++) {
		tl = rows[i].tag ? strlen(rows[i].tag) : 0;
		fl = rows[i].ftag ? strlen(rows[i].ftag) : 0;
		assert_int_equal(
				sp_dlg_sender_is_initiator(rows[i].tag, tl, rows[i].ftag, fl),
				rows[i].initiator);
	}
}

/* The per-direction table: which privacy applies on top of a message's own
 * Privacy. */
static void test_extra(void **state)
{
	static const struct
	{
		int req;
		size_t own;
		unsigned int net;
		int has_rule;
		unsigned int rule;
		int init;
		unsigned int extra;
	} rows[] = {
			/* initial request, no Privacy: network-provided blocking */
			{1, 0, ID | U, 0, 0, 1, ID | U},
			/* a Privacy of its own overrides network blocking */
			{1, 1, ID | U, 0, 0, 1, 0},
			/* later request from the initiator: the rule */
			{1, 0, 0, 1, U | ID, 1, U | ID},
			{1, 1, 0, 1, U | ID, 1, U | ID},
			/* from the other party: not its rule */
			{1, 0, 0, 1, U | ID, 0, 0},
			{1, 0, ID, 1, U | HD, 0, ID},
			/* responses: the rule when the initiator answers */
			{0, 0, 0, 1, U | ID, 1, U | ID},
			{0, 0, 0, 1, U | ID, 0, 0},
			/* net privacy is about requests */
			{0, 0, ID | U, 0, 0, 1, 0},
			/* no rule */
			{1, 0, 0, 0, U | ID, 1, 0},
			/* a rule never holds more than it may */
			{1, 0, 0, 1, U | ID | SE | CR, 1, U | ID},
			{1, 0, NO | CR | ID, 0, 0, 1, ID},
	};
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(sp_dlg_extra(rows[i].req, rows[i].own, rows[i].net,
								 rows[i].has_rule, rows[i].rule, rows[i].init),
				rows[i].extra);
	}
}

static void parse1(const char *v, sp_priv_t *p)
{
	sp_str_t h;

	if(v == NULL) {
		sp_priv_parse(NULL, 0, p);
		return;
	}
	h.s = v;
	h.len = strlen(v);
	sp_priv_parse(&h, 1, p);
}

static void test_decide(void **state)
{
	static const struct
	{
		const char *own; /* NULL: no Privacy header */
		unsigned int extra;
		unsigned int actions;
		int refuse;
		sp_priv_hdr_op_t op;
		const char *value;
	} rows[] = {
			{NULL, 0, 0, 0, SP_PRIV_HDR_KEEP, ""},
			{NULL, U | ID, A_USER | A_ID, 0, SP_PRIV_HDR_KEEP, ""},
			{NULL, ID, A_ID, 0, SP_PRIV_HDR_KEEP, ""},
			/* own "none" does not switch off the dialog's rule, and is
			 * forwarded untouched */
			{"none", U | ID, A_USER | A_ID, 0, SP_PRIV_HDR_KEEP, ""},
			/* own values add up with the rule's */
			{"header", U | ID, A_USER | A_ID | A_HDR, 0, SP_PRIV_HDR_REMOVE,
					""},
			{"user", ID, A_USER | A_ID, 0, SP_PRIV_HDR_REMOVE, ""},
			{"id", U, A_USER | A_ID, 0, SP_PRIV_HDR_KEEP, ""},
			/* the refusal is the message's own */
			{"session;critical", U | ID, A_USER | A_ID, 1, SP_PRIV_HDR_KEEP,
					""},
			{"user;session", U, A_USER, 0, SP_PRIV_HDR_REPLACE, "session"},
			/* unparsable own Privacy: everything, header kept */
			{"id;;", 0, A_USER | A_ID | A_HDR, 0, SP_PRIV_HDR_KEEP, ""},
			/* extra that a rule can't hold is ignored */
			{NULL, SE | CR, 0, 0, SP_PRIV_HDR_KEEP, ""},
	};
	sp_priv_t p;
	sp_priv_decision_t d;
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		parse1(rows[i].own, &p);
		assert_int_equal(
				sp_dlg_decide(&p, rows[i].extra, SP_PRIV_CAPS_DEFAULT, &d),
				SP_PRIV_OK);
		assert_int_equal(d.actions, rows[i].actions);
		assert_int_equal(d.refuse, rows[i].refuse);
		assert_int_equal(d.hdr_op, rows[i].op);
		assert_string_equal(d.value, rows[i].value);
		assert_int_equal(d.provided & d.missing, 0);
		/* what the rule asked for is requested (P-Asserted-Identity) */
		assert_int_equal(d.requested & rows[i].extra & SP_PRIV_FUNCTIONS & ~SE,
				rows[i].extra & SP_PRIV_FUNCTIONS & ~SE);
	}
	/* session as extra with caps lacking it: missing, not refused */
	parse1(NULL, &p);
	assert_int_equal(
			sp_dlg_decide(&p, SE, SP_PRIV_CAPS_DEFAULT, &d), SP_PRIV_OK);
	assert_int_equal(d.missing, SE);
	assert_int_equal(d.refuse, 0);
	assert_int_equal(
			sp_dlg_decide(NULL, U, SP_PRIV_CAPS_DEFAULT, &d), SP_PRIV_ERR_ARG);
	assert_int_equal(
			sp_dlg_decide(&p, U, SP_PRIV_CAPS_DEFAULT, NULL), SP_PRIV_ERR_ARG);
}

static void test_mask_format(void **state)
{
	static const struct
	{
		unsigned int mask;
		const char *out;
	} rows[] = {
			{0, ""},
			{ID, "id"},
			{U, "user"},
			{ID | U, "id;user"},
			{ID | U | HD, "id;user;header"},
			{ID | U | SE | CR | NO, "id;user"},
	};
	char buf[32];
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(sp_priv_mask_format(rows[i].mask, buf, sizeof(buf)),
				strlen(rows[i].out));
		assert_string_equal(buf, rows[i].out);
	}
	assert_int_equal(sp_priv_mask_format(ID | U, buf, 7), -1);
	assert_int_equal(sp_priv_mask_format(ID | U, buf, 8), 7);
	assert_int_equal(sp_priv_mask_format(ID, NULL, 8), -1);
}

static void test_uri_strip_user(void **state)
{
	static const struct
	{
		const char *in, *out; /* out NULL: -1 */
	} rows[] = {
			{"sip:bob@127.0.0.32:5060", "sip:127.0.0.32:5060"},
			{"sip:bob@h", "sip:h"},
			{"SIP:bob@h;transport=tcp", "SIP:h;transport=tcp"},
			{"sips:bob:secret@h:5061;ob", "sips:h:5061;ob"},
			{"sip:b%40b@h", "sip:h"},
			{"sip:a;x=@b@h", "sip:h"}, /* the last '@' */
			{"sip:127.0.0.32:5060", "sip:127.0.0.32:5060"},
			{"sip:h;lr", "sip:h;lr"},
			{"tel:+15551234567", NULL},
			{"mailto:bob@h", NULL},
			{"sip:bob@", NULL},
			{"sip", NULL},
			{"", NULL},
	};
	char out[64];
	size_t i;
	char *b;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		b = dup_exact(rows[i].in, strlen(rows[i].in));
		rc = sp_uri_strip_user(b, strlen(rows[i].in), out, sizeof(out));
		free(b);
		if(rows[i].out == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, strlen(rows[i].out));
		assert_string_equal(out, rows[i].out);
	}
	assert_int_equal(sp_uri_strip_user("sip:bob@h", 9, out, 5), -1);
	assert_int_equal(sp_uri_strip_user("sip:bob@h", 9, out, 6), 5);
}

static void test_optiontag_remove(void **state)
{
	static const struct
	{
		const char *in, *out; /* out NULL: -1 */
		int found;
	} rows[] = {
			{"privacy", "", 1},
			{"Privacy", "", 1},
			{" privacy ", "", 1},
			{"privacy, sec-agree", "sec-agree", 1},
			{"sec-agree,privacy,100rel", "sec-agree, 100rel", 1},
			{"sec-agree", "sec-agree", 0},
			{"privacyx", "privacyx", 0},
			{"priv", "priv", 0},
			{"privacy,privacy", "", 1},
			{"", NULL, 0},
			{"privacy,", NULL, 0},
			{",privacy", NULL, 0},
			{"priv acy", NULL, 0},
			{"privacy;x", NULL, 0},
	};
	char out[64];
	size_t i;
	char *b;
	int rc, found;

	for(i = 0; i < NROWS(rows); i++) {
		b = dup_exact(rows[i].in, strlen(rows[i].in));
		rc = sp_optiontag_remove(
				b, strlen(rows[i].in), "privacy", out, sizeof(out), &found);
		free(b);
		if(rows[i].out == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, strlen(rows[i].out));
		assert_string_equal(out, rows[i].out);
		assert_int_equal(found, rows[i].found);
	}
	assert_int_equal(
			sp_optiontag_remove("a,b", 3, "privacy", out, 4, &found), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_rule_encode),
			cmocka_unit_test(test_rule_decode),
			cmocka_unit_test(test_param_make),
			cmocka_unit_test(test_param_check),
			cmocka_unit_test(test_param_roundtrip),
			cmocka_unit_test(test_sender),
			cmocka_unit_test(test_extra),
			cmocka_unit_test(test_decide),
			cmocka_unit_test(test_mask_format),
			cmocka_unit_test(test_uri_strip_user),
			cmocka_unit_test(test_optiontag_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
