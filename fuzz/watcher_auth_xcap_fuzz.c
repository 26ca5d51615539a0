/*
 * libFuzzer harness: the URL of a presentity's pres-rules on an external
 * XCAP server (lib/xcap_fetch.c wa_xcap_url, wa_xcap_segment), built from
 * the presentity's AOR, which comes from the SUBSCRIBE.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *     fuzz/watcher_auth_xcap_fuzz.c lib/xcap_fetch.c \
 *     $(pkg-config --cflags --libs libcurl) -o build/watcher_auth_xcap_fuzz
 *
 * Input: the XCAP root up to the first '\n' (all of it is the AOR when
 * there is none, with a fixed root), then the AOR to the end of
 * libFuzzer's buffer, so ASan sees any read past it. Besides memory errors,
 * the harness aborts when an invariant breaks: the segment holds only
 * RFC 3986 pchar and %XX escapes, never '/', '?', '#', "." or "..", and
 * decodes back to the AOR byte for byte; an output that does not fit is
 * refused, not cut; the URL is the root without trailing slashes,
 * "/pres-rules/users/", the segment and "/index".
 * Seeds: fuzz/corpus/xcap/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xcap_fetch.h"

#define FUZZ_OUT 4096

static int fuzz_pchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static int fuzz_hex(unsigned char c)
{
	return c >= '0' && c <= '9'	  ? c - '0'
		   : c >= 'A' && c <= 'F' ? c - 'A' + 10
		   : c >= 'a' && c <= 'f' ? c - 'a' + 10
								  : -1;
}

static void fuzz_segment(const char *aor, size_t len)
{
	static char seg[3 * FUZZ_OUT + 1], dec[FUZZ_OUT];
	size_t i, d = 0;
	int n, hi, lo;

	n = wa_xcap_segment(aor, len, seg, sizeof(seg));
	if(n < 0) {
		if(len > 0 && len < FUZZ_OUT && !(len == 1 && aor[0] == '.')
				&& !(len == 2 && aor[0] == '.' && aor[1] == '.'))
			abort(); /* it fits: only empty, "." and ".." are refused */
		return;
	}
	if((size_t)n != strlen(seg) || (n == 1 && seg[0] == '.')
			|| (n == 2 && seg[0] == '.' && seg[1] == '.'))
		abort();
	for(i = 0; i < (size_t)n; i++) {
		unsigned char c = (unsigned char)seg[i];
		if(c == '%') {
			if(i + 2 >= (size_t)n)
				abort();
			hi = fuzz_hex((unsigned char)seg[i + 1]);
			lo = fuzz_hex((unsigned char)seg[i + 2]);
			if(hi < 0 || lo < 0)
				abort();
			dec[d++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			if(!fuzz_pchar(c))
				abort();
			dec[d++] = (char)c;
		}
	}
	if(d != len || memcmp(dec, aor, len) != 0)
		abort();
	/* no room for the whole segment: refused */
	if(n > 0 && wa_xcap_segment(aor, len, seg, (size_t)n) != -1)
		abort();
}

static void fuzz_url(
		const char *root, size_t rlen, const char *aor, size_t alen)
{
	static char url[FUZZ_OUT], seg[FUZZ_OUT];
	static const char mid[] = "/pres-rules/users/";
	size_t r = rlen;
	int n, s;

	n = wa_xcap_url(root, rlen, aor, alen, url, sizeof(url));
	if(n < 0)
		return;
	if((size_t)n != strlen(url) || strncasecmp(url, "https://", 8) != 0)
		abort();
	while(r > 8 && root[r - 1] == '/')
		r--;
	if((size_t)n < r + sizeof(mid) - 1 + 6 || memcmp(url, root, r) != 0
			|| memcmp(url + r, mid, sizeof(mid) - 1) != 0
			|| strcmp(url + n - 6, "/index") != 0)
		abort();
	s = wa_xcap_segment(aor, alen, seg, sizeof(seg));
	if(s < 0 || (size_t)n != r + sizeof(mid) - 1 + (size_t)s + 6
			|| memcmp(url + r + sizeof(mid) - 1, seg, (size_t)s) != 0)
		abort();
	if(wa_xcap_url(root, rlen, aor, alen, url, (size_t)n) != -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char root[] = "https://xcap.example.com/xcap-root/";
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);

	if(nl == NULL) {
		fuzz_segment(in, size);
		fuzz_url(root, sizeof(root) - 1, in, size);
		return 0;
	}
	fuzz_segment(nl + 1, size - (size_t)(nl + 1 - in));
	fuzz_url(in, (size_t)(nl - in), nl + 1, size - (size_t)(nl + 1 - in));
	return 0;
}
