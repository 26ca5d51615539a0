/*
 * libFuzzer harness: sip_privacy's topology guard scan
 * (modules/sip_privacy/sp_topo.c): what topos lets leave, and the error
 * reply a reply that shows the trust domain is turned into.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy fuzz/sip_privacy_topo_fuzz.c \
 *     modules/sip_privacy/sp_topo.c modules/sip_privacy/sp_net.c \
 *     modules/sip_privacy/sp_text.c -o build/sip_privacy_topo_fuzz
 *
 * The input is a SIP message, scanned from libFuzzer's buffer (which ends
 * exactly at `size`, so ASan sees any read past the end) with a trust
 * domain of every IPv4 address whose last byte is odd and every IPv6
 * address in 2001:db8::/32. Besides memory errors, the harness aborts when
 * an invariant breaks: a return code out of range, a hit outside the
 * input or naming no address the callback refused, an error reply longer
 * than its documented bound, not a 500, or not clean by the same scan when
 * the reply it came from had no leaking Via.
 * Seeds: fuzz/corpus/topo/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_topo.h"

static int must_hide(int family, const unsigned char *addr, void *arg)
{
	static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};

	(*(int *)arg)++;
	if(family == 4)
		return addr[3] & 1;
	if(family != 6)
		abort();
	return memcmp(addr, doc, sizeof(doc)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t bound = 2 * size + SP_TOPO_REPLY_EXTRA;
	sp_topo_hit_t hit, again;
	int rc, n, calls = 0;
	char *out;

	rc = sp_topo_scan(in, size, must_hide, &calls, &hit);
	if(rc != SP_TOPO_CLEAN && rc != SP_TOPO_LEAK && rc != SP_TOPO_EXEMPT)
		abort();
	if(rc == SP_TOPO_LEAK
			&& (calls == 0 || hit.hdr == SP_TOPO_HDR_NONE || !hit.addr
					|| hit.addr < in || hit.addr_len == 0
					|| hit.addr + hit.addr_len > in + size))
		abort();
	if(rc != SP_TOPO_LEAK && (hit.addr || hit.hdr != SP_TOPO_HDR_NONE))
		abort();
	out = malloc(bound ? bound : 1);
	if(!out)
		return 0;
	n = sp_topo_error_reply(in, size, out, bound);
	if(n > (int)bound || (n >= 0 && !hit.reply) || (n < 0 && hit.reply))
		abort();
	if(n > 0) {
		if(memcmp(out, "SIP/2.0 500 ", 12) != 0)
			abort();
		rc = sp_topo_scan(out, (size_t)n, must_hide, &calls, &again);
		/* only what the reply's Vias carried can be left (the CSeq, kept,
		 * may exempt it) */
		if(rc == SP_TOPO_LEAK && again.hdr != SP_TOPO_HDR_VIA)
			abort();
	}
	free(out);
	return 0;
}
