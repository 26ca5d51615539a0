/*
 * Unit tests: sip_privacy's topology guard scan (sp_topo.c). Table-driven:
 * messages as topos leaves them (clean) and as it leaves them when it
 * failed (the trust domain's Via, Record-Route, Route or Contact), in the
 * forms a hostile or odd peer writes (compact names, odd case, folded
 * lines, several values a line, IPv6 bare and in brackets, IPv4-mapped,
 * leading zeros, received= and maddr=, many Vias, no blank line, bare LF),
 * and names that only look like addresses; the error reply a reply is
 * turned into. Every message is scanned from a heap copy of exactly its
 * length so that ASan sees a read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sp_net.h"
#include "sp_topo.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* The trust domain of the tests; 192.0.2.10 is the proxy itself. */
static const char *trusted[] = {"127.0.8.20", "192.0.2.0/24", "2001:db8::/32"};

static int must_hide(int family, const unsigned char *addr, void *arg)
{
	sp_net_t nets[NROWS(trusted)], self;
	size_t i;

	(*(int *)arg)++;
	for(i = 0; i < NROWS(trusted); i++)
		assert_int_equal(
				sp_net_parse(trusted[i], strlen(trusted[i]), &nets[i]), 0);
	assert_int_equal(sp_net_parse("192.0.2.10", 10, &self), 0);
	if(sp_net_match(&self, family, addr))
		return 0;
	return sp_net_match_any(nets, NROWS(trusted), family, addr);
}

static int scan_exact(const char *msg, sp_topo_hit_t *hit, char **copy)
{
	size_t len = strlen(msg);
	int calls = 0;

	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, msg, len);
	return sp_topo_scan(*copy, len, must_hide, &calls, hit);
}

#define REQ "NOTIFY sip:bob@127.0.8.101:5060 SIP/2.0\r\n"
#define RPL "SIP/2.0 200 OK\r\n"
#define TAIL                                       \
	"From: <sip:alice@example.com>;tag=a\r\n"      \
	"To: <sip:bob@example.com>;tag=b\r\n"          \
	"Call-ID: c1@127.0.8.20\r\nCSeq: 2 NOTIFY\r\n" \
	"Content-Length: 33\r\n\r\n"                   \
	"Via: SIP/2.0/UDP 127.0.8.20:5060\r\n"

static const struct
{
	const char *msg;
	int rc;
	sp_topo_hdr_t hdr;
	const char *addr; /* as written, when rc is SP_TOPO_LEAK */
} rows[] = {
		/* what topos leaves: the proxy's own Via and Contact; the trust
		 * domain in other headers (Call-ID) and in the body is not looked at */
		{REQ "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
			 "Contact: <sip:atpsh-1@192.0.2.10:5060>\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		{RPL "Via: SIP/2.0/UDP 127.0.8.101:5060;branch=z9hG4bK1;rport=5060;"
			 "received=127.0.8.101\r\nContact: "
			 "<sip:btpsh-2@192.0.2.10>\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		/* what topos leaves when it failed */
		{REQ "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
			 "Via: SIP/2.0/UDP 127.0.8.20:5060;branch=z9hG4bK2\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_VIA, "127.0.8.20"},
		{RPL "Via: SIP/2.0/UDP 127.0.8.101\r\n"
			 "Record-Route: <sip:192.0.2.10;lr>, <sip:192.0.2.33;lr>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_RECORD_ROUTE, "192.0.2.33"},
		{RPL "Contact: <sip:alice@127.0.8.20:5060;transport=udp>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "127.0.8.20"},
		{REQ "Route: <sip:127.0.8.20;lr>\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_ROUTE, "127.0.8.20"},
		/* compact names, odd case, space before the colon */
		{REQ "v: SIP/2.0/TCP 127.0.8.20\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_VIA, "127.0.8.20"},
		{RPL "m: sip:127.0.8.20\r\n" TAIL, SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT,
				"127.0.8.20"},
		{RPL "rECORD-rOUTE \t: <sip:127.0.8.20;lr>\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_RECORD_ROUTE, "127.0.8.20"},
		/* a folded line goes on with its header; a header that only
		 * resembles a watched one is not watched */
		{RPL "Record-Route: "
			 "<sip:192.0.2.10;lr>,\r\n\t<sip:192.0.2.77;lr>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_RECORD_ROUTE, "192.0.2.77"},
		{RPL "Subject: x\r\n <sip:127.0.8.20>\r\nRoutes: <sip:127.0.8.20>\r\n"
			 "X-Via: 127.0.8.20\r\nMv: 127.0.8.20\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		/* parameters and names */
		{RPL "Via: SIP/2.0/UDP 127.0.8.101;received=127.0.8.20\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_VIA, "127.0.8.20"},
		{RPL "Contact: <sip:bob@h.example;maddr=192.0.2.5>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "192.0.2.5"},
		{RPL "Contact: <sip:bob@x127.0.8.20>, <sip:127.0.8.20.example>, "
			 "<sip:bob@a-192.0.2.5>, <sip:1.127.0.8.20>\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		{RPL "Contact: <sip:bob@127.0.8.20.>\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_CONTACT, "127.0.8.20"},
		{RPL "Contact: <sip:bob@127.000.008.020>\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_CONTACT, "127.000.008.020"},
		{RPL "Contact: <sip:bob@127.0.8.256>, <sip:127.0.8>, "
			 "<sip:1.2.3.4.5>\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		{RPL "Contact: \"127.0.8.20\" <sip:bob@127.0.8.101>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "127.0.8.20"},
		/* IPv6: in brackets, bare, mapped, outside the domain */
		{REQ "Via: SIP/2.0/UDP [2001:db8::20]:5060\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_VIA, "2001:db8::20"},
		{RPL "Via: SIP/2.0/UDP [2001:db9::1];received=2001:DB8:0:0::7\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_VIA, "2001:DB8:0:0::7"},
		{RPL "Record-Route: <sip:[::ffff:127.0.8.20];lr>\r\n" TAIL,
				SP_TOPO_LEAK, SP_TOPO_HDR_RECORD_ROUTE, "::ffff:127.0.8.20"},
		{RPL "Record-Route: <sip:[2001:db9::1];lr>, <sip:[::1]>, "
			 "<sip:[zz]>\r\n" TAIL,
				SP_TOPO_CLEAN, 0, NULL},
		/* an unclosed bracket: the address is still read */
		{RPL "Record-Route: <sip:[2001:db8::1>\r\n" TAIL, SP_TOPO_LEAK,
				SP_TOPO_HDR_RECORD_ROUTE, "2001:db8::1"},
		/* the blank line ends the scan; a message without one is scanned to
		 * its end; bare LF line ends; nothing after the first line */
		{RPL "Via: SIP/2.0/UDP 127.0.8.101\r\n\r\nContact: "
			 "<sip:127.0.8.20>\r\n",
				SP_TOPO_CLEAN, 0, NULL},
		{RPL "Via: SIP/2.0/UDP 127.0.8.101\r\nContact: <sip:127.0.8.20>",
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "127.0.8.20"},
		{"SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.8.101\nContact: "
		 "<sip:127.0.8.20>\n\n",
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "127.0.8.20"},
		{RPL, SP_TOPO_CLEAN, 0, NULL},
		{"", SP_TOPO_CLEAN, 0, NULL},
		{"Via: SIP/2.0/UDP 127.0.8.20", SP_TOPO_CLEAN, 0, NULL},
		{RPL "\r\n\r\n", SP_TOPO_CLEAN, 0, NULL},
		/* REGISTER and PUBLISH, which topos leaves alone: exempt, the
		 * CSeq before or after the address, any case; not REGISTERX */
		{RPL "Contact: <sip:alice@127.0.8.20>;q=1\r\nCSeq: 8 REGISTER\r\n\r\n",
				SP_TOPO_EXEMPT, 0, NULL},
		{"PUBLISH sip:a@x SIP/2.0\r\nCSeq:\t9 publish\r\n"
		 "Via: SIP/2.0/UDP 127.0.8.20\r\n\r\n",
				SP_TOPO_EXEMPT, 0, NULL},
		{RPL "CSeq: 8 REGISTERX\r\nContact: <sip:127.0.8.20>\r\n\r\n",
				SP_TOPO_LEAK, SP_TOPO_HDR_CONTACT, "127.0.8.20"},
};

static void test_scan_rows(void **state)
{
	sp_topo_hit_t hit;
	char *copy;
	size_t i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		rc = scan_exact(rows[i].msg, &hit, &copy);
		if(rc != rows[i].rc)
			fail_msg("row %zu: rc %d, expected %d", i, rc, rows[i].rc);
		if(rc == SP_TOPO_LEAK) {
			if(hit.hdr != rows[i].hdr)
				fail_msg("row %zu: header %s, expected %s", i,
						sp_topo_hdr_name(hit.hdr),
						sp_topo_hdr_name(rows[i].hdr));
			assert_true(
					hit.addr >= copy
					&& hit.addr + hit.addr_len <= copy + strlen(rows[i].msg));
			if(hit.addr_len != strlen(rows[i].addr)
					|| memcmp(hit.addr, rows[i].addr, hit.addr_len) != 0)
				fail_msg("row %zu: address '%.*s', expected '%s'", i,
						(int)hit.addr_len, hit.addr, rows[i].addr);
		} else {
			assert_int_equal(hit.hdr, SP_TOPO_HDR_NONE);
			assert_null(hit.addr);
		}
		free(copy);
	}
}

static void test_scan_flags(void **state)
{
	sp_topo_hit_t hit;
	char *copy;

	assert_int_equal(scan_exact(RPL "CSeq: 1 INVITE\r\n\r\n", &hit, &copy),
			SP_TOPO_CLEAN);
	assert_true(hit.reply);
	assert_true(hit.invite);
	free(copy);
	assert_int_equal(scan_exact("INVITE sip:b@x SIP/2.0\r\nCSeq:  7\t"
								"invite\r\nCSeq: 8 INVITEX\r\n\r\n",
							 &hit, &copy),
			SP_TOPO_CLEAN);
	assert_false(hit.reply);
	assert_true(hit.invite);
	free(copy);
	assert_int_equal(scan_exact(REQ TAIL, &hit, &copy), SP_TOPO_CLEAN);
	assert_false(hit.reply);
	assert_false(hit.invite);
	free(copy);
}

/* Many Vias: each is looked at, the last one leaks. */
static void test_scan_many_vias(void **state)
{
	size_t cap = 64 * 1024, pos = 0;
	char *msg = malloc(cap);
	sp_topo_hit_t hit;
	char *copy;
	int i, calls = 0;

	assert_non_null(msg);
	pos += (size_t)snprintf(msg + pos, cap - pos, "%s", RPL);
	for(i = 0; i < 1000; i++)
		pos += (size_t)snprintf(msg + pos, cap - pos,
				"Via: SIP/2.0/UDP 10.%d.%d.1:5060, SIP/2.0/TCP "
				"[2001:db9::%x]\r\n",
				i / 256, i % 256, i);
	pos += (size_t)snprintf(
			msg + pos, cap - pos, "v: SIP/2.0/UDP 192.0.2.99\r\n\r\n");
	copy = malloc(pos);
	assert_non_null(copy);
	memcpy(copy, msg, pos);
	assert_int_equal(
			sp_topo_scan(copy, pos, must_hide, &calls, &hit), SP_TOPO_LEAK);
	assert_int_equal(calls, 2001);
	assert_int_equal(hit.hdr, SP_TOPO_HDR_VIA);
	assert_int_equal(hit.addr_len, 10);
	assert_memory_equal(hit.addr, "192.0.2.99", 10);
	free(copy);
	free(msg);
}

static void test_scan_args(void **state)
{
	sp_topo_hit_t hit;
	int calls = 0;

	assert_int_equal(
			sp_topo_scan(NULL, 0, must_hide, &calls, &hit), SP_TOPO_ERR_ARG);
	assert_int_equal(
			sp_topo_scan(RPL, 16, NULL, &calls, &hit), SP_TOPO_ERR_ARG);
	assert_int_equal(
			sp_topo_scan(RPL, 16, must_hide, &calls, NULL), SP_TOPO_ERR_ARG);
	assert_string_equal(sp_topo_hdr_name(SP_TOPO_HDR_NONE), "none");
	assert_string_equal(sp_topo_hdr_name(SP_TOPO_HDR_ROUTE), "Route");
}

static void test_error_reply(void **state)
{
	const char *in = "SIP/2.0 200 OK\r\n"
					 "Via: SIP/2.0/UDP 127.0.8.101;branch=z9hG4bK1\r\n"
					 "Record-Route: <sip:127.0.8.20;lr>\r\n"
					 "f: <sip:bob@example.com>;tag=a\r\n"
					 "To: <sip:alice@example.com>\r\n ;tag=b\r\n"
					 "Contact: <sip:127.0.8.20>\r\n"
					 "i: c1\nCSeq: 1 SUBSCRIBE\r\n"
					 "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi";
	const char *want = "SIP/2.0 500 Server Internal Error\r\n"
					   "Via: SIP/2.0/UDP 127.0.8.101;branch=z9hG4bK1\r\n"
					   "f: <sip:bob@example.com>;tag=a\r\n"
					   "To: <sip:alice@example.com>\r\n ;tag=b\r\n"
					   "i: c1\r\nCSeq: 1 SUBSCRIBE\r\n"
					   "Content-Length: 0\r\n\r\n";
	size_t len = strlen(in), size = 2 * len + SP_TOPO_REPLY_EXTRA;
	char *copy = malloc(len), *out = malloc(size);
	sp_topo_hit_t hit;
	int n, calls = 0;

	assert_non_null(copy);
	assert_non_null(out);
	memcpy(copy, in, len);
	n = sp_topo_error_reply(copy, len, out, size);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(sp_topo_scan(out, (size_t)n, must_hide, &calls, &hit),
			SP_TOPO_CLEAN);
	/* too small a buffer, a request, NULLs */
	assert_int_equal(sp_topo_error_reply(copy, len, out, strlen(want) - 1), -1);
	assert_int_equal(sp_topo_error_reply(copy, len, out, 10), -1);
	assert_int_equal(sp_topo_error_reply(REQ, strlen(REQ), out, size), -1);
	assert_int_equal(sp_topo_error_reply(NULL, 0, out, size), -1);
	assert_int_equal(sp_topo_error_reply(copy, len, NULL, size), -1);
	/* bare LF lines: the bound holds */
	n = sp_topo_error_reply(
			"SIP/2.0 1\nv:\nv:\nv:\n", 19, out, 2 * 19 + SP_TOPO_REPLY_EXTRA);
	assert_true(n > 0 && (size_t)n <= 2 * 19 + SP_TOPO_REPLY_EXTRA);
	free(copy);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_scan_rows),
			cmocka_unit_test(test_scan_flags),
			cmocka_unit_test(test_scan_many_vias),
			cmocka_unit_test(test_scan_args),
			cmocka_unit_test(test_error_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
