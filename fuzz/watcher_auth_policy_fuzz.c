/*
 * libFuzzer harness: watcher_auth's policy compiler and evaluator
 * (modules/watcher_auth/policy.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/watcher_auth fuzz/watcher_auth_policy_fuzz.c \
 *     modules/watcher_auth/policy.c $(pkg-config --cflags --libs libxml-2.0) \
 *     -o build/watcher_auth_policy_fuzz
 *   build/watcher_auth_policy_fuzz -max_total_time=30 fuzz/corpus/policy
 *
 * The input is the policy document up to the first NUL byte (all of it when
 * there is none); after it, NUL-separated, an optional watcher URI and an
 * optional current sphere. The document is compiled from an exact-size heap
 * copy (ASan sees any over-read); a compiled block is checked, copied to a
 * fresh buffer, the original wiped and freed, and the copy evaluated for a
 * few watchers and times, described and its credentials read. The harness
 * aborts when an invariant of the API breaks: an error code out of range,
 * a block that fails wa_policy_check(), results that differ between the
 * original and the copy, credential indices out of range, a canonical
 * watcher URI that a second canonicalization changes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char *const fuzz_watchers[] = {
		"sip:bob@example.com",
		"sips:alice@EXAMPLE.com;transport=tls",
		"\"Eve\" <sip:eve@example.com.evil.org>",
		"tel:+15551234",
		"",
};

static const time_t fuzz_times[] = {0, 1700000000, 1704067200, 4102444800};

static void fuzz_eval(const wa_policy_t *a, const wa_policy_t *b, const char *w,
		size_t wlen, const char *sphere, time_t now)
{
	wa_policy_result_t ra, rb;
	wa_policy_cred_t cred;
	unsigned i;

	if(wa_policy_eval(a, w, wlen, sphere, now, &ra) != 0
			|| wa_policy_eval(b, w, wlen, sphere, now, &rb) != 0)
		abort();
	if(memcmp(&ra, &rb, sizeof(ra)) != 0)
		abort();
	if(ra.ncreds > WA_POLICY_MAX_CREDS)
		abort();
	if(ra.ncreds && !ra.authenticate)
		abort();
	if(ra.matched == 0 && ra.sub_handling != WA_POLICY_SUB_NONE)
		abort();
	for(i = 0; i < ra.ncreds; i++) {
		if(wa_policy_cred_get(b, ra.creds[i], &cred) != 0)
			abort();
		if(cred.rule_id == NULL
				|| (!cred.password && !cred.ha1 && !cred.ha1_sha256))
			abort();
		if(cred.ha1 && strlen(cred.ha1) != 32)
			abort();
		if(cred.ha1_sha256 && strlen(cred.ha1_sha256) != 64)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul, *w = NULL, *sphere = NULL;
	char *xml, *wbuf = NULL, *sbuf = NULL;
	char canon[WA_POLICY_URI_MAX + 1], desc[4096];
	wa_policy_t *p = NULL, *copy;
	wa_policy_errinfo_t ei;
	size_t xlen = size, wlen = 0, psize = 0, i, j;
	int rc, n;

	nul = memchr(in, '\0', size);
	if(nul != NULL) {
		const char *rest = nul + 1, *end = in + size, *nul2;
		xlen = (size_t)(nul - in);
		nul2 = memchr(rest, '\0', (size_t)(end - rest));
		wlen = (size_t)((nul2 ? nul2 : end) - rest);
		/* exact-size copies: ASan sees any over-read */
		wbuf = malloc(wlen ? wlen : 1);
		if(wbuf == NULL)
			return 0;
		memcpy(wbuf, rest, wlen);
		w = wbuf;
		if(nul2 != NULL) {
			size_t slen = (size_t)(end - nul2 - 1);
			sbuf = malloc(slen + 1);
			if(sbuf == NULL)
				goto out;
			memcpy(sbuf, nul2 + 1, slen);
			sbuf[slen] = '\0';
			sphere = sbuf;
		}
		n = wa_policy_uri_canon(w, wlen, canon, sizeof(canon));
		if(n >= 0 && (size_t)n != strlen(canon))
			abort();
		/* canonical once is canonical: notify_smime hands the canonical
		 * watcher back to the evaluation, which canonicalizes it again */
		if(n >= 0) {
			char again[sizeof(canon)];
			if(wa_policy_uri_canon(canon, (size_t)n, again, sizeof(again)) != n
					|| strcmp(canon, again) != 0)
				abort();
		}
	}

	xml = malloc(xlen ? xlen : 1);
	if(xml == NULL)
		goto out;
	memcpy(xml, in, xlen);
	rc = wa_policy_compile(xml, xlen, NULL, NULL, &p, &psize, &ei);
	free(xml);
	if(rc != 0) {
		if(p != NULL || psize != 0 || rc != (int)ei.code
				|| rc < WA_POLICY_E_CORRUPT || rc == WA_POLICY_E_CORRUPT
				|| rc == WA_POLICY_E_ARG)
			abort();
		goto out;
	}
	if(p == NULL || psize != wa_policy_size(p)
			|| wa_policy_check(p, psize) != 0)
		abort();

	copy = malloc(psize);
	if(copy == NULL) {
		free(p);
		goto out;
	}
	memcpy(copy, p, psize);
	for(i = 0; i < sizeof(fuzz_watchers) / sizeof(fuzz_watchers[0]); i++)
		for(j = 0; j < sizeof(fuzz_times) / sizeof(fuzz_times[0]); j++)
			fuzz_eval(p, copy, fuzz_watchers[i], strlen(fuzz_watchers[i]),
					j % 2 ? "work" : NULL, fuzz_times[j]);
	if(w != NULL)
		fuzz_eval(p, copy, w, wlen, sphere, 1700000000);
	fuzz_eval(p, copy, NULL, 0, sphere, 1700000000);

	memset(p, 0xa5, psize);
	free(p);
	if(wa_policy_check(copy, psize) != 0)
		abort();
	n = wa_policy_describe(copy, desc, sizeof(desc));
	if(n < 0
			|| strlen(desc)
					   != ((size_t)n < sizeof(desc) ? (size_t)n
													: sizeof(desc) - 1))
		abort();
	if(w != NULL)
		fuzz_eval(copy, copy, w, wlen, sphere, 1704067200);
	free(copy);

out:
	free(wbuf);
	free(sbuf);
	return 0;
}
