/*
 * Unit tests: sip_privacy's trusted TLS peers (sp_peer.c). The identities
 * an operator may write (and those refused, with the reason), and the
 * match rules against certificate names: exact, case-insensitive for DNS
 * names and CNs, URIs byte for byte but the scheme, IP addresses as
 * octets, no wildcard, no suffix, no NUL or control byte. Inputs are heap
 * copies of exactly their length so that ASan sees a read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "sp_peer.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static int parse_exact(const char *s, sp_peer_id_t *id)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, s, len);
	rc = sp_peer_parse(copy, len, id);
	free(copy);
	return rc;
}

static const struct
{
	const char *in;
	int rc;
	const char *out; /* sp_peer_format() when rc is SP_PEER_OK */
} parse_rows[] = {
		{"dns:peer.example.com", SP_PEER_OK, "dns:peer.example.com"},
		{"DNS:Peer.Example.COM", SP_PEER_OK, "dns:Peer.Example.COM"},
		{"dns:localhost", SP_PEER_OK, "dns:localhost"},
		{"dns:a-b.c1", SP_PEER_OK, "dns:a-b.c1"},
		{"uri:sip:peer.example.com", SP_PEER_OK, "uri:sip:peer.example.com"},
		{"uri:sips:edge@peer.example.com;transport=tls", SP_PEER_OK,
				"uri:sips:edge@peer.example.com;transport=tls"},
		{"ip:192.0.2.1", SP_PEER_OK, "ip:192.0.2.1"},
		{"Ip:2001:db8::1", SP_PEER_OK, "ip:2001:db8::1"},
		{"ip:[2001:db8::1]", SP_PEER_OK, "ip:2001:db8::1"},
		{"cn:peer.example.com", SP_PEER_OK, "cn:peer.example.com"},
		{"cn:Example Peer Ltd", SP_PEER_OK, "cn:Example Peer Ltd"},
		{"", SP_PEER_ERR_KIND, NULL},
		{"peer.example.com", SP_PEER_ERR_KIND, NULL},
		{"san:peer.example.com", SP_PEER_ERR_KIND, NULL},
		{"dnsx:peer.example.com", SP_PEER_ERR_KIND, NULL},
		{":peer.example.com", SP_PEER_ERR_KIND, NULL},
		{"dns:", SP_PEER_ERR_TOO_LONG, NULL},
		{"cn:", SP_PEER_ERR_TOO_LONG, NULL},
		{"dns:*.example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:peer.example.com.", SP_PEER_ERR_VALUE, NULL},
		{"dns:.example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:peer..example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:-peer.example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:peer-.example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:peer example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:peer_1.example.com", SP_PEER_ERR_VALUE, NULL},
		{"dns:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		 "com",
				SP_PEER_ERR_VALUE, NULL}, /* a 64-byte label */
		{"uri:peer.example.com", SP_PEER_ERR_VALUE, NULL},
		{"uri:sip:", SP_PEER_ERR_VALUE, NULL},
		{"uri::peer", SP_PEER_ERR_VALUE, NULL},
		{"uri:1sip:peer", SP_PEER_ERR_VALUE, NULL},
		{"uri:sip:peer example.com", SP_PEER_ERR_VALUE, NULL},
		{"uri:sip:peer\texample.com", SP_PEER_ERR_VALUE, NULL},
		{"ip:192.0.2.0/24", SP_PEER_ERR_VALUE, NULL},
		{"ip:192.0.2", SP_PEER_ERR_VALUE, NULL},
		{"ip:peer.example.com", SP_PEER_ERR_VALUE, NULL},
		{"cn: peer", SP_PEER_ERR_VALUE, NULL},
		{"cn:peer ", SP_PEER_ERR_VALUE, NULL},
		{"cn:pe\ner", SP_PEER_ERR_VALUE, NULL},
};

static void test_parse_table(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(parse_rows); i++) {
		sp_peer_id_t id;
		char buf[SP_PEER_STR_SIZE];
		int rc = parse_exact(parse_rows[i].in, &id);

		if(rc != parse_rows[i].rc)
			fail_msg("row %zu '%s': rc %d (%s), expected %d", i,
					parse_rows[i].in, rc, sp_peer_strerror(rc),
					parse_rows[i].rc);
		if(rc != SP_PEER_OK) {
			assert_int_equal(id.len, 0);
			assert_int_equal(sp_peer_format(&id, buf, sizeof(buf)), -1);
			continue;
		}
		assert_true(sp_peer_format(&id, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, parse_rows[i].out);
	}
}

static void test_parse_too_long(void **state)
{
	char in[4 + SP_PEER_MAX_LEN + 2];
	sp_peer_id_t id;

	memcpy(in, "cn:", 3);
	memset(in + 3, 'a', SP_PEER_MAX_LEN);
	assert_int_equal(sp_peer_parse(in, 3 + SP_PEER_MAX_LEN, &id), SP_PEER_OK);
	in[3 + SP_PEER_MAX_LEN] = 'a';
	assert_int_equal(
			sp_peer_parse(in, 4 + SP_PEER_MAX_LEN, &id), SP_PEER_ERR_TOO_LONG);
	assert_int_equal(sp_peer_parse(NULL, 3, &id), SP_PEER_ERR_ARG);
	assert_int_equal(sp_peer_parse("cn:x", 4, NULL), SP_PEER_ERR_ARG);
}

/* A certificate name: kind and text, or an IP written as text converted to
 * octets; `len` 0 means strlen. */
static const struct
{
	const char *id;
	sp_peer_kind_t kind;
	const char *name;
	size_t len;
	int match;
} match_rows[] = {
		{"dns:peer.example.com", SP_PEER_DNS, "peer.example.com", 0, 1},
		{"dns:peer.example.com", SP_PEER_DNS, "PEER.Example.Com", 0, 1},
		{"dns:peer.example.com", SP_PEER_DNS, "*.example.com", 0, 0},
		{"dns:peer.example.com", SP_PEER_DNS, "peer.example.com.", 0, 0},
		{"dns:peer.example.com", SP_PEER_DNS, "xpeer.example.com", 0, 0},
		{"dns:peer.example.com", SP_PEER_DNS, "peer.example.co", 0, 0},
		{"dns:example.com", SP_PEER_DNS, "peer.example.com", 0, 0},
		/* an embedded NUL: "peer.example.com\0.evil" */
		{"dns:peer.example.com", SP_PEER_DNS, "peer.example.com\0.evil", 22, 0},
		{"dns:peer.example.com", SP_PEER_CN, "peer.example.com", 0, 0},
		{"dns:peer.example.com", SP_PEER_URI, "peer.example.com", 0, 0},
		{"cn:peer.example.com", SP_PEER_CN, "Peer.Example.com", 0, 1},
		{"cn:peer.example.com", SP_PEER_DNS, "peer.example.com", 0, 0},
		{"cn:peer", SP_PEER_CN, "pe\ner", 0, 0},
		{"uri:sip:peer.example.com", SP_PEER_URI, "sip:peer.example.com", 0, 1},
		{"uri:sip:peer.example.com", SP_PEER_URI, "SIP:peer.example.com", 0, 1},
		{"uri:sip:peer.example.com", SP_PEER_URI, "sips:peer.example.com", 0,
				0},
		{"uri:sip:alice@example.com", SP_PEER_URI, "sip:Alice@example.com", 0,
				0},
		{"uri:sip:peer.example.com", SP_PEER_URI, "sip:peer.example.com;x", 0,
				0},
		{"ip:192.0.2.1", SP_PEER_IP, "192.0.2.1", 0, 1},
		{"ip:192.0.2.1", SP_PEER_IP, "192.0.2.2", 0, 0},
		{"ip:192.0.2.1", SP_PEER_IP, "::ffff:192.0.2.1", 0, 0},
		{"ip:2001:db8::1", SP_PEER_IP, "2001:db8::1", 0, 1},
		{"ip:2001:db8::1", SP_PEER_IP, "2001:db8::2", 0, 0},
		{"ip:192.0.2.1", SP_PEER_DNS, "192.0.2.1", 0, 0},
};

static void test_match_table(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(match_rows); i++) {
		sp_peer_id_t id;
		sp_peer_name_t n;
		unsigned char oct[16];
		unsigned char *copy;
		size_t len = match_rows[i].len ? match_rows[i].len
									   : strlen(match_rows[i].name);

		assert_int_equal(parse_exact(match_rows[i].id, &id), SP_PEER_OK);
		n.kind = match_rows[i].kind;
		if(n.kind == SP_PEER_IP) {
			if(inet_pton(AF_INET, match_rows[i].name, oct) == 1) {
				len = 4;
			} else {
				assert_int_equal(
						inet_pton(AF_INET6, match_rows[i].name, oct), 1);
				len = 16;
			}
			copy = malloc(len);
			assert_non_null(copy);
			memcpy(copy, oct, len);
		} else {
			copy = malloc(len);
			assert_non_null(copy);
			memcpy(copy, match_rows[i].name, len);
		}
		n.s = copy;
		n.len = len;
		if(sp_peer_match(&id, &n) != match_rows[i].match)
			fail_msg("row %zu: %s vs '%s' should be %d", i, match_rows[i].id,
					match_rows[i].name, match_rows[i].match);
		free(copy);
	}
}

static void test_match_any_and_args(void **state)
{
	sp_peer_id_t ids[2];
	sp_peer_name_t names[3] = {
			{SP_PEER_URI, (const unsigned char *)"sip:bob@example.com", 19},
			{SP_PEER_CN, (const unsigned char *)"bob@example.com", 15},
			{SP_PEER_DNS, (const unsigned char *)"peer.example.com", 16}};
	char small[6];

	assert_int_equal(parse_exact("dns:peer.example.com", &ids[0]), SP_PEER_OK);
	assert_int_equal(parse_exact("cn:ps.example.com", &ids[1]), SP_PEER_OK);
	assert_int_equal(sp_peer_match_any(ids, 2, names, 3), 1);
	assert_int_equal(sp_peer_match_any(ids, 2, names, 2), 0);
	assert_int_equal(sp_peer_match_any(ids + 1, 1, names, 3), 0);
	assert_int_equal(sp_peer_match_any(ids, 0, names, 3), 0);
	assert_int_equal(sp_peer_match_any(NULL, 2, names, 3), 0);
	assert_int_equal(sp_peer_match_any(ids, 2, NULL, 3), 0);
	assert_int_equal(sp_peer_match(NULL, &names[2]), 0);
	assert_int_equal(sp_peer_match(&ids[0], NULL), 0);
	names[2].s = NULL;
	assert_int_equal(sp_peer_match(&ids[0], &names[2]), 0);
	assert_int_equal(sp_peer_format(&ids[0], small, sizeof(small)), -1);
	assert_int_equal(sp_peer_format(NULL, small, sizeof(small)), -1);
	assert_string_equal(sp_peer_strerror(42), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_parse_table),
			cmocka_unit_test(test_parse_too_long),
			cmocka_unit_test(test_match_table),
			cmocka_unit_test(test_match_any_and_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
