/*
 * Unit tests: sip_privacy's trusted networks (sp_net.c). Table-driven: the
 * written forms accepted and refused (with the reason), matching at the
 * prefix boundaries of both families, IPv4-mapped IPv6 sources, the
 * formatted form the RPC lists; every input parsed from a heap copy of
 * exactly its length so that ASan sees a read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "sp_net.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* A heap copy of exactly strlen(s) bytes (no NUL), freed by the caller. */
static char *copy_exact(const char *s, size_t *len)
{
	char *copy;

	*len = strlen(s);
	copy = malloc(*len ? *len : 1);
	assert_non_null(copy);
	memcpy(copy, s, *len);
	return copy;
}

static int parse_exact(const char *s, sp_net_t *n)
{
	size_t len;
	char *copy = copy_exact(s, &len);
	int rc = sp_net_parse(copy, len, n);

	free(copy);
	return rc;
}

static const struct
{
	const char *in;
	int rc;
	const char *out; /* sp_net_format() when rc is SP_NET_OK */
} parse_rows[] = {
		{"127.0.1.20", SP_NET_OK, "127.0.1.20/32"},
		{"10.0.0.0/8", SP_NET_OK, "10.0.0.0/8"},
		{"0.0.0.0/0", SP_NET_OK, "0.0.0.0/0"},
		{"192.0.2.128/25", SP_NET_OK, "192.0.2.128/25"},
		{"2001:db8::1", SP_NET_OK, "2001:db8::1/128"},
		{"[2001:db8::1]", SP_NET_OK, "2001:db8::1/128"},
		{"[2001:db8::]/32", SP_NET_OK, "2001:db8::/32"},
		{"2001:db8::/32", SP_NET_OK, "2001:db8::/32"},
		{"::/0", SP_NET_OK, "::/0"},
		{"", SP_NET_ERR_TOO_LONG, NULL},
		{"1111:2222:3333:4444:5555:6666:7777:8888/128xxxxxxxxxxxxxxxxxxxxxxxx",
				SP_NET_ERR_TOO_LONG, NULL},
		{"example.com", SP_NET_ERR_ADDR, NULL},
		{"127.0.1", SP_NET_ERR_ADDR, NULL},
		{"127.0.1.256", SP_NET_ERR_ADDR, NULL},
		{" 127.0.1.20", SP_NET_ERR_ADDR, NULL},
		{"127.0.1.20 ", SP_NET_ERR_ADDR, NULL},
		{"[127.0.1.20]", SP_NET_ERR_ADDR, NULL},
		{"[2001:db8::1", SP_NET_ERR_ADDR, NULL},
		{"/24", SP_NET_ERR_ADDR, NULL},
		{"2001:db8::1%lo", SP_NET_ERR_ADDR, NULL},
		{"10.0.0.0/", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/33", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/08", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/+8", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/-8", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/8 ", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/255.0.0.0", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.0/8/8", SP_NET_ERR_PREFIX, NULL},
		{"2001:db8::/129", SP_NET_ERR_PREFIX, NULL},
		{"2001:db8::/1000", SP_NET_ERR_PREFIX, NULL},
		{"10.0.0.1/8", SP_NET_ERR_HOST_BITS, NULL},
		{"192.0.2.129/25", SP_NET_ERR_HOST_BITS, NULL},
		{"2001:db8::1/64", SP_NET_ERR_HOST_BITS, NULL},
		{"0.0.0.1/0", SP_NET_ERR_HOST_BITS, NULL},
};

static void test_parse_table(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(parse_rows); i++) {
		sp_net_t n;
		char buf[SP_NET_STR_SIZE];
		int rc = parse_exact(parse_rows[i].in, &n);

		if(rc != parse_rows[i].rc)
			fail_msg("row %zu '%s': rc %d (%s), expected %d", i,
					parse_rows[i].in, rc, sp_net_strerror(rc),
					parse_rows[i].rc);
		if(rc != SP_NET_OK) {
			assert_int_equal(n.family, 0);
			assert_int_equal(sp_net_format(&n, buf, sizeof(buf)), -1);
			continue;
		}
		assert_int_equal(sp_net_format(&n, buf, sizeof(buf)),
				(int)strlen(parse_rows[i].out));
		assert_string_equal(buf, parse_rows[i].out);
	}
}

static const struct
{
	const char *net;
	const char *addr;
	int match;
} match_rows[] = {
		{"127.0.1.20", "127.0.1.20", 1},
		{"127.0.1.20", "127.0.1.21", 0},
		{"127.0.1.20", "127.0.1.2", 0},
		{"127.0.1.0/24", "127.0.1.255", 1},
		{"127.0.1.0/24", "127.0.2.0", 0},
		{"192.0.2.128/25", "192.0.2.128", 1},
		{"192.0.2.128/25", "192.0.2.127", 0},
		{"192.0.2.0/31", "192.0.2.1", 1},
		{"192.0.2.0/31", "192.0.2.2", 0},
		{"0.0.0.0/0", "203.0.113.9", 1},
		{"0.0.0.0/0", "2001:db8::1", 0},
		{"127.0.1.20", "::ffff:127.0.1.20", 1},
		{"127.0.1.0/24", "::ffff:127.0.2.1", 0},
		{"127.0.1.20", "::127.0.1.20", 0},
		{"2001:db8::/32", "2001:db8:ffff::1", 1},
		{"2001:db8::/32", "2001:db9::1", 0},
		{"2001:db8::/33", "2001:db8:7fff::1", 1},
		{"2001:db8::/33", "2001:db8:8000::1", 0},
		{"2001:db8::1", "2001:db8::1", 1},
		{"2001:db8::1", "2001:db8::2", 0},
		{"::/0", "::1", 1},
		{"::/0", "127.0.0.1", 0},
		{"::ffff:0:0/96", "::ffff:10.1.2.3", 1},
};

static void test_match_table(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(match_rows); i++) {
		sp_net_t n;
		unsigned char a[16];
		int fam = 4;

		assert_int_equal(parse_exact(match_rows[i].net, &n), SP_NET_OK);
		if(inet_pton(AF_INET, match_rows[i].addr, a) != 1) {
			assert_int_equal(inet_pton(AF_INET6, match_rows[i].addr, a), 1);
			fam = 6;
		}
		if(sp_net_match(&n, fam, a) != match_rows[i].match)
			fail_msg("row %zu: %s in %s should be %d", i, match_rows[i].addr,
					match_rows[i].net, match_rows[i].match);
	}
}

static void test_match_any_and_args(void **state)
{
	sp_net_t nets[2];
	unsigned char a[4] = {127, 0, 1, 40};
	unsigned char b[4] = {127, 0, 1, 66};
	char small[8];

	assert_int_equal(parse_exact("127.0.1.20", &nets[0]), SP_NET_OK);
	assert_int_equal(parse_exact("127.0.1.40", &nets[1]), SP_NET_OK);
	assert_int_equal(sp_net_match_any(nets, 2, 4, a), 1);
	assert_int_equal(sp_net_match_any(nets, 2, 4, b), 0);
	assert_int_equal(sp_net_match_any(nets, 1, 4, a), 0);
	assert_int_equal(sp_net_match_any(NULL, 2, 4, a), 0);
	assert_int_equal(sp_net_match_any(nets, 0, 4, a), 0);
	assert_int_equal(sp_net_match(NULL, 4, a), 0);
	assert_int_equal(sp_net_match(&nets[1], 4, NULL), 0);
	assert_int_equal(sp_net_match(&nets[1], 5, a), 0);
	assert_int_equal(sp_net_parse(NULL, 3, &nets[0]), SP_NET_ERR_ARG);
	assert_int_equal(sp_net_parse("1.2.3.4", 7, NULL), SP_NET_ERR_ARG);
	assert_int_equal(sp_net_format(&nets[1], small, sizeof(small)), -1);
	assert_int_equal(sp_net_format(NULL, small, sizeof(small)), -1);
	assert_string_equal(sp_net_strerror(SP_NET_ERR_HOST_BITS),
			"address has bits set below the prefix length");
	assert_string_equal(sp_net_strerror(42), "unknown error");
}

/* ---- listening sockets (modparam trusted_socket) ---- */

static int sock_exact(const char *s, sp_sock_t *k)
{
	size_t len;
	char *copy = copy_exact(s, &len);
	int rc = sp_sock_parse(copy, len, k);

	free(copy);
	return rc;
}

static const struct
{
	const char *in;
	int rc;
	const char *out; /* sp_sock_format() when rc is SP_NET_OK */
} sock_rows[] = {
		{"udp:127.0.0.10:5062", SP_NET_OK, "udp:127.0.0.10:5062"},
		{"TLS:192.0.2.1:5061", SP_NET_OK, "tls:192.0.2.1:5061"},
		{"tcp:10.0.0.1:1", SP_NET_OK, "tcp:10.0.0.1:1"},
		{"sctp:10.0.0.1:65535", SP_NET_OK, "sctp:10.0.0.1:65535"},
		{"tls:[2001:db8::1]:5061", SP_NET_OK, "tls:[2001:db8::1]:5061"},
		{"udp:[::1]:5060", SP_NET_OK, "udp:[::1]:5060"},
		{"", SP_NET_ERR_TOO_LONG, NULL},
		{"127.0.0.10:5062", SP_NET_ERR_PROTO, NULL},
		{"ws:127.0.0.10:5062", SP_NET_ERR_PROTO, NULL},
		{"udpx:127.0.0.10:5062", SP_NET_ERR_PROTO, NULL},
		{"udp", SP_NET_ERR_PROTO, NULL},
		{":127.0.0.10:5062", SP_NET_ERR_PROTO, NULL},
		{"udp:127.0.0.10", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:0", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:05060", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:65536", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:+5060", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:5060 ", SP_NET_ERR_PORT, NULL},
		{"udp:127.0.0.10:5060:1", SP_NET_ERR_PORT, NULL},
		{"udp:[::1]", SP_NET_ERR_PORT, NULL},
		{"udp:[::1]5060", SP_NET_ERR_PORT, NULL},
		{"udp::5060", SP_NET_ERR_ADDR, NULL},
		{"udp:127.0.0.0/8:5060", SP_NET_ERR_ADDR, NULL},
		{"udp:[::1/128]:5060", SP_NET_ERR_ADDR, NULL},
		{"udp:pcscf.example.com:5060", SP_NET_ERR_ADDR, NULL},
		{"udp:[127.0.0.1]:5060", SP_NET_ERR_ADDR, NULL},
		{"udp:[::1:5060", SP_NET_ERR_ADDR, NULL},
		{"udp: 127.0.0.1:5060", SP_NET_ERR_ADDR, NULL},
};

static void test_sock_table(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(sock_rows); i++) {
		sp_sock_t k;
		char buf[SP_SOCK_STR_SIZE];
		int rc = sock_exact(sock_rows[i].in, &k);

		if(rc != sock_rows[i].rc)
			fail_msg("row %zu '%s': rc %d (%s), expected %d", i,
					sock_rows[i].in, rc, sp_net_strerror(rc), sock_rows[i].rc);
		if(rc != SP_NET_OK) {
			assert_int_equal(k.proto, 0);
			assert_int_equal(sp_sock_format(&k, buf, sizeof(buf)), -1);
			continue;
		}
		assert_int_equal(k.addr.prefix, k.addr.family == 4 ? 32 : 128);
		assert_true(sp_sock_format(&k, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, sock_rows[i].out);
	}
	assert_int_equal(sp_sock_parse(NULL, 3, NULL), SP_NET_ERR_ARG);
	assert_string_equal(sp_sock_proto_name(SP_SOCK_TLS), "tls");
	assert_string_equal(sp_sock_proto_name(0), "?");
	assert_string_equal(sp_net_strerror(SP_NET_ERR_PORT),
			"port missing or not 1..65535 (decimal)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_parse_table),
			cmocka_unit_test(test_match_table),
			cmocka_unit_test(test_match_any_and_args),
			cmocka_unit_test(test_sock_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
