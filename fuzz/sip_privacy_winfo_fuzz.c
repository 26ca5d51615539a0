/*
 * libFuzzer harness: sip_privacy's watcherinfo rewriting for anonymous
 * watchers (modules/sip_privacy/winfo.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy $(pkg-config --cflags libxml-2.0) \
 *     fuzz/sip_privacy_winfo_fuzz.c modules/sip_privacy/winfo.c \
 *     $(pkg-config --libs libxml-2.0 openssl) -o build/sip_privacy_winfo_fuzz
 *
 * The input is a watcherinfo document. An entry is anonymous when its id
 * holds '!' or its URI holds "SECRET" (neither can be in what the rewrite
 * writes). Besides memory errors, the harness aborts when an invariant
 * breaks: return codes in range; no body on error; a body only when an
 * entry was anonymized; the rewritten body is a watcherinfo document again,
 * with the same number of entries, none of which the predicate would
 * still call anonymous, and a second rewrite leaves it alone.
 * Seeds: fuzz/corpus/winfo/ (documents as Kamailio's presence writes them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "winfo.h"

static sp_winfo_key_t fuzz_key;

static int fuzz_anon(void *arg, const sp_winfo_watcher_t *w)
{
	if(memchr(w->id, '!', w->id_len)
			|| (w->uri_len >= 6 && strstr(w->uri, "SECRET")))
		return 1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char hex[] = "00112233445566778899aabbccddeeff";

	xmlInitParser();
	if(sp_winfo_key_from_hex(hex, sizeof(hex) - 1, &fuzz_key) != SP_WINFO_OK)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_winfo_out_t out, again;
	int rc;

	rc = sp_winfo_rewrite(
			(const char *)data, size, &fuzz_key, fuzz_anon, NULL, &out);
	if(rc > SP_WINFO_OK || rc < SP_WINFO_ERR_CRYPTO)
		abort();
	if(rc != SP_WINFO_OK) {
		if(out.body)
			abort();
		return 0;
	}
	if(out.anonymized > out.watchers)
		abort();
	if(!out.body) {
		if(out.anonymized != 0)
			abort();
		return 0;
	}
	if(out.anonymized == 0 || out.len == 0)
		abort();
	rc = sp_winfo_rewrite(
			out.body, out.len, &fuzz_key, fuzz_anon, NULL, &again);
	/* what was written parses as a watcherinfo document again; an entry
	 * the predicate calls anonymous would have been rewritten */
	if(rc != SP_WINFO_OK || again.body || again.anonymized != 0
			|| again.watchers != out.watchers)
		abort();
	sp_winfo_out_free(&out);
	return 0;
}
