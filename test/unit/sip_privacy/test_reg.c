/*
 * Unit tests: sip_privacy's source match against a registered contact
 * (sp_reg.c), as a truth table: over UDP the received address or else the
 * Contact URI's address, port (defaults) and transport; over TCP/TLS the
 * connection or the received address, never the URI's port; IPv6 and
 * IPv4-mapped sources; a host name never matches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "sp_reg.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static sp_reg_src_t src(
		sp_tp_t proto, const char *ip, unsigned int port, int conn)
{
	sp_reg_src_t s;

	memset(&s, 0, sizeof(s));
	s.proto = proto;
	if(strchr(ip, ':')) {
		s.family = 6;
		assert_int_equal(inet_pton(AF_INET6, ip, s.addr), 1);
	} else {
		s.family = 4;
		assert_int_equal(inet_pton(AF_INET, ip, s.addr), 1);
	}
	s.port = port;
	s.conn_id = conn;
	return s;
}

/* a contact: URI host/port/proto, received (host NULL: none), conn id */
static sp_reg_contact_t contact(const char *host, unsigned int port,
		sp_tp_t proto, const char *rhost, unsigned int rport, sp_tp_t rproto,
		int conn)
{
	sp_reg_contact_t c;
	char *copy;

	memset(&c, 0, sizeof(c));
	copy = malloc(strlen(host) + 1);
	assert_non_null(copy);
	memcpy(copy, host, strlen(host)); /* exactly its length for ASan */
	sp_reg_ep_set(&c.uri, copy, strlen(host), port, proto);
	free(copy);
	if(rhost) {
		c.has_received = 1;
		sp_reg_ep_set(&c.received, rhost, strlen(rhost), rport, rproto);
	}
	c.conn_id = conn;
	return c;
}

#define UDP SP_TP_UDP
#define TCP SP_TP_TCP
#define TLS SP_TP_TLS

static void test_match_table(void **state)
{
	struct
	{
		sp_reg_src_t s;
		sp_reg_contact_t c;
		int want;
	} rows[] = {
			/* UDP: the Contact URI's address, port and transport */
			{src(UDP, "192.0.2.7", 5070, 0),
					contact("192.0.2.7", 5070, UDP, NULL, 0, 0, -1),
					SP_REG_URI},
			{src(UDP, "192.0.2.7", 5071, 0),
					contact("192.0.2.7", 5070, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
			{src(UDP, "192.0.2.8", 5070, 0),
					contact("192.0.2.7", 5070, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
			{src(UDP, "192.0.2.7", 5060, 0),
					contact("192.0.2.7", 0, UDP, NULL, 0, 0, -1), SP_REG_URI},
			{src(UDP, "192.0.2.7", 5070, 0),
					contact("192.0.2.7", 5070, TCP, NULL, 0, 0, -1),
					SP_REG_NONE},
			/* a host name never matches */
			{src(UDP, "192.0.2.7", 5060, 0),
					contact("ue.example.com", 5060, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
			/* the received address wins over the URI (NAT) */
			{src(UDP, "198.51.100.1", 40000, 0),
					contact("10.0.0.5", 5060, UDP, "198.51.100.1", 40000, UDP,
							-1),
					SP_REG_RECEIVED},
			{src(UDP, "10.0.0.5", 5060, 0),
					contact("10.0.0.5", 5060, UDP, "198.51.100.1", 40000, UDP,
							-1),
					SP_REG_NONE},
			/* TCP/TLS: the connection */
			{src(TLS, "192.0.2.7", 51000, 17),
					contact("192.0.2.7", 5061, TLS, NULL, 0, 0, 17),
					SP_REG_CONN},
			{src(TLS, "192.0.2.7", 51001, 18),
					contact("192.0.2.7", 5061, TLS, NULL, 0, 0, 17),
					SP_REG_NONE},
			/* the URI's port is no source port over a connection */
			{src(TCP, "192.0.2.7", 5060, 18),
					contact("192.0.2.7", 5060, TCP, NULL, 0, 0, 17),
					SP_REG_NONE},
			{src(TCP, "192.0.2.7", 51000, 18),
					contact("192.0.2.7", 5060, TCP, "192.0.2.7", 51000, TCP,
							17),
					SP_REG_RECEIVED},
			/* registered over UDP: a TLS request from its address is not it */
			{src(TLS, "192.0.2.7", 5070, 3),
					contact("192.0.2.7", 5070, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
			/* no connection id on either side never matches */
			{src(TCP, "192.0.2.7", 5070, 0),
					contact("192.0.2.7", 5070, TCP, NULL, 0, 0, 0),
					SP_REG_NONE},
			/* IPv6, written in brackets in the URI */
			{src(UDP, "2001:db8::7", 5060, 0),
					contact("[2001:db8::7]", 0, UDP, NULL, 0, 0, -1),
					SP_REG_URI},
			{src(UDP, "2001:db8::8", 5060, 0),
					contact("[2001:db8::7]", 0, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
			/* an IPv4-mapped source is its IPv4 address */
			{src(UDP, "::ffff:192.0.2.7", 5060, 0),
					contact("192.0.2.7", 5060, UDP, NULL, 0, 0, -1),
					SP_REG_URI},
			/* a prefix is no host */
			{src(UDP, "192.0.2.7", 5060, 0),
					contact("192.0.2.0/24", 5060, UDP, NULL, 0, 0, -1),
					SP_REG_NONE},
	};
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		int m = sp_reg_match(&rows[i].s, &rows[i].c);
		if(m != rows[i].want)
			fail_msg("row %zu: %s, expected %s", i, sp_reg_match_str(m),
					sp_reg_match_str(rows[i].want));
	}
}

static void test_ep_defaults(void **state)
{
	sp_reg_ep_t ep;

	sp_reg_ep_set(&ep, "192.0.2.1", 9, 0, SP_TP_TLS);
	assert_true(ep.valid);
	assert_int_equal(ep.port, 5061);
	sp_reg_ep_set(&ep, "192.0.2.1", 9, 0, SP_TP_TCP);
	assert_int_equal(ep.port, 5060);
	sp_reg_ep_set(&ep, "192.0.2.1", 9, 70000, SP_TP_UDP);
	assert_false(ep.valid);
	sp_reg_ep_set(&ep, "192.0.2.1", 9, 5060, SP_TP_NONE);
	assert_false(ep.valid);
	sp_reg_ep_set(&ep, NULL, 0, 5060, SP_TP_UDP);
	assert_false(ep.valid);
	assert_int_equal(sp_reg_match(NULL, NULL), SP_REG_NONE);
	assert_string_equal(sp_reg_match_str(SP_REG_CONN), "connection");
	assert_string_equal(sp_reg_match_str(42), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_match_table),
			cmocka_unit_test(test_ep_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
