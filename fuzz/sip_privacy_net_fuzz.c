/*
 * libFuzzer harness: sip_privacy's trust domain forms — networks and
 * listening sockets (modules/sip_privacy/sp_net.c) and TLS peer identities
 * (modules/sip_privacy/sp_peer.c): parse, format, match.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy fuzz/sip_privacy_net_fuzz.c \
 *     modules/sip_privacy/sp_net.c modules/sip_privacy/sp_peer.c \
 *     -o build/sip_privacy_net_fuzz
 *
 * The whole input is parsed as a network, a socket and a peer identity,
 * each from libFuzzer's buffer, which ends exactly at `size`, so ASan sees
 * any read past the end. Its first 16 bytes are also used as an address
 * and its bytes as certificate names. Besides memory errors, the harness
 * aborts when an invariant breaks: return codes in range, a failed parse
 * leaves nothing usable, what parses formats, the formatted form parses
 * back to the same thing, a network contains its own address and a bare
 * address only itself, an identity matches the name it was written from.
 * Seeds: fuzz/corpus/net/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_net.h"
#include "sp_peer.h"

static void fuzz_net(const char *in, size_t size)
{
	sp_net_t n, again;
	char buf[SP_NET_STR_SIZE];
	unsigned char a[16];
	int rc, len;

	rc = sp_net_parse(in, size, &n);
	if(rc > 0 || rc < SP_NET_ERR_HOST_BITS)
		abort();
	if(rc != SP_NET_OK) {
		if(n.family != 0 || sp_net_format(&n, buf, sizeof(buf)) != -1)
			abort();
		return;
	}
	if((n.family != 4 && n.family != 6)
			|| n.prefix > (n.family == 4 ? 32u : 128u))
		abort();
	len = sp_net_format(&n, buf, sizeof(buf));
	if(len <= 0 || (size_t)len != strlen(buf))
		abort();
	if(sp_net_parse(buf, (size_t)len, &again) != SP_NET_OK
			|| memcmp(&again, &n, sizeof(n)) != 0)
		abort();
	/* the network contains its own address, in both families when the
	 * IPv4-mapped form applies */
	if(sp_net_match(&n, n.family, n.addr) != 1)
		abort();
	if(n.family == 4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, n.addr, 4);
		if(sp_net_match(&n, 6, a) != 1)
			abort();
	}
	/* the input's first bytes as an address */
	memset(a, 0, sizeof(a));
	memcpy(a, in, size < sizeof(a) ? size : sizeof(a));
	if(sp_net_match(&n, 4, a) > 1 || sp_net_match(&n, 6, a) > 1)
		abort();
	if(n.prefix == (n.family == 4 ? 32u : 128u)
			&& sp_net_match(&n, n.family, a)
					   != (memcmp(a, n.addr, n.family == 4 ? 4 : 16) == 0))
		abort();
	if(sp_net_match_any(&n, 1, n.family, n.addr) != 1)
		abort();
}

static void fuzz_sock(const char *in, size_t size)
{
	sp_sock_t k, again;
	char buf[SP_SOCK_STR_SIZE];
	int rc, len;

	rc = sp_sock_parse(in, size, &k);
	if(rc > 0 || rc < SP_NET_ERR_PORT)
		abort();
	if(rc != SP_NET_OK) {
		if(k.proto != 0 || sp_sock_format(&k, buf, sizeof(buf)) != -1)
			abort();
		return;
	}
	if(k.port < 1 || k.port > 65535
			|| k.addr.prefix != (k.addr.family == 4 ? 32u : 128u))
		abort();
	len = sp_sock_format(&k, buf, sizeof(buf));
	if(len <= 0 || (size_t)len != strlen(buf))
		abort();
	if(sp_sock_parse(buf, (size_t)len, &again) != SP_NET_OK
			|| memcmp(&again, &k, sizeof(k)) != 0)
		abort();
}

static void fuzz_peer(const char *in, size_t size)
{
	sp_peer_id_t id, again;
	sp_peer_name_t names[4];
	char buf[SP_PEER_STR_SIZE];
	const char *colon;
	int rc, len, k;

	rc = sp_peer_parse(in, size, &id);
	if(rc > 0 || rc < SP_PEER_ERR_VALUE)
		abort();
	/* the input's bytes as a certificate name of every kind */
	for(k = 0; k < 4; k++) {
		names[k].kind = (sp_peer_kind_t)(SP_PEER_DNS + k);
		names[k].s = (const unsigned char *)in;
		names[k].len = size;
	}
	if(rc != SP_PEER_OK) {
		if(id.len != 0 || sp_peer_format(&id, buf, sizeof(buf)) != -1
				|| sp_peer_match_any(&id, 1, names, 4) != 0)
			abort();
		return;
	}
	if(id.len == 0 || id.len > SP_PEER_MAX_LEN)
		abort();
	len = sp_peer_format(&id, buf, sizeof(buf));
	if(len <= 0 || (size_t)len != strlen(buf))
		abort();
	if(sp_peer_parse(buf, (size_t)len, &again) != SP_PEER_OK
			|| again.kind != id.kind || again.len != id.len
			|| memcmp(again.val, id.val, id.len) != 0)
		abort();
	/* a text identity matches the value it was written from */
	colon = memchr(in, ':', size);
	if(id.kind != SP_PEER_IP && colon) {
		sp_peer_name_t self = {id.kind, (const unsigned char *)colon + 1,
				size - (size_t)(colon + 1 - in)};
		if(sp_peer_match(&id, &self) != 1)
			abort();
	}
	if(id.kind == SP_PEER_IP) {
		sp_peer_name_t oct = {SP_PEER_IP, id.val, id.len};
		if(sp_peer_match(&id, &oct) != 1)
			abort();
	}
	(void)sp_peer_match_any(&id, 1, names, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	fuzz_net(in, size);
	fuzz_sock(in, size);
	fuzz_peer(in, size);
	return 0;
}
