/*
 * libFuzzer harness: sip_privacy's asserted identity with a fuzzed identity
 * table (modules/sip_privacy/identity.c): sp_id_entry_parse on the user's
 * public identities, sp_id_assert of a P-Preferred-Identity against them,
 * sp_id_pai_format of what is asserted, read back by sp_id_parse as the
 * Presence Server reads it, and sp_id_uri_equal between every pair.
 * (sip_privacy_privacy fuzzes the header parsers with a fixed table.)
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy fuzz/sip_privacy_identity_fuzz.c \
 *     modules/sip_privacy/identity.c modules/sip_privacy/privacy.c \
 *     modules/sip_privacy/sp_text.c -o build/sip_privacy_identity_fuzz
 *
 * Input: lines separated by '\n', each a slice of libFuzzer's buffer (which
 * ends exactly at `size`, so ASan sees any read past a line). The first
 * byte's low two bits + 1 lines are the identity table (the first one the
 * default identity), the rest P-Preferred-Identity header values. Besides
 * memory errors, the harness aborts when an invariant breaks: a table
 * entry's URI parses again as the same identity; equality is reflexive
 * and symmetric; the assertion is refused exactly when the default
 * identity is invalid; what is asserted is an entry's URI (never the UE's
 * bytes): the default one, or entries equal to preferred values, at most
 * one sip and one tel; the P-Asserted-Identity written parses back to the
 * same identities.
 * Seeds: fuzz/corpus/identity/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

#define FUZZ_MAX_LINES 8

static int fuzz_inside(const sp_str_t *v, const sp_str_t *in)
{
	return v->s >= in->s && v->len <= in->len
		   && (size_t)(v->s - in->s) <= in->len - v->len;
}

static void fuzz_entry(const sp_str_t *e, sp_id_uri_t *u, int *ok)
{
	sp_id_uri_t again;

	*ok = sp_id_entry_parse(e, u);
	if(*ok != 0 && *ok != 1)
		abort();
	if(!*ok)
		return;
	if(!fuzz_inside(&u->uri, e) || u->uri.len == 0)
		abort();
	if(sp_id_uri_parse(u->uri.s, u->uri.len, &again) != SP_ID_OK
			|| !sp_id_uri_equal(u, &again) || !sp_id_uri_equal(&again, u)
			|| !sp_id_uri_equal(u, u))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_str_t line[FUZZ_MAX_LINES];
	sp_id_uri_t u[FUZZ_MAX_LINES];
	int ok[FUZZ_MAX_LINES];
	sp_id_assertion_t a;
	sp_id_list_t l, ppl;
	const char *in = (const char *)data;
	char buf[2 * SP_ID_MAX_URI_LEN + 8];
	size_t n = 0, nids, b = 1, i, k, m;
	int rc, len, tel = 0, sip = 0;

	if(size < 1)
		return 0;
	for(i = 1; i < size && n < FUZZ_MAX_LINES - 1; i++) {
		if(in[i] == '\n') {
			line[n].s = in + b;
			line[n++].len = i - b;
			b = i + 1;
		}
	}
	line[n].s = in + b;
	line[n++].len = size - b;
	nids = (size_t)(data[0] & 3) + 1;
	if(nids > n)
		nids = n;

	for(i = 0; i < nids; i++)
		fuzz_entry(&line[i], &u[i], &ok[i]);
	for(i = 0; i < nids; i++) {
		for(k = 0; k < nids; k++) {
			if(ok[i] && ok[k]
					&& sp_id_uri_equal(&u[i], &u[k])
							   != sp_id_uri_equal(&u[k], &u[i]))
				abort();
		}
	}

	rc = sp_id_assert(1, line, nids, line + nids, n - nids, &a);
	if(rc != SP_ID_OK) {
		if(rc != SP_ID_ERR_NO_IDENTITY || ok[0])
			abort();
		return 0;
	}
	if(!ok[0] || a.n < 1 || a.n > SP_ID_MAX_VALUES
			|| a.ppi_present != (n > nids))
		abort();
	if(a.why == SP_ID_WHY_DEFAULT
			&& (a.n != 1 || a.pai[0].s != u[0].uri.s
					|| a.pai[0].len != u[0].uri.len))
		abort();
	if(a.why == SP_ID_WHY_PREFERRED) {
		if(a.ppi_rc != SP_ID_OK
				|| sp_id_parse(line + nids, n - nids, &ppl) != SP_ID_OK
				|| a.n + a.ppi_unmatched != ppl.n)
			abort();
	} else if(a.why != SP_ID_WHY_DEFAULT) {
		abort();
	}
	/* each asserted URI is the URI of a valid entry */
	for(k = 0; k < a.n; k++) {
		for(i = 0; i < nids; i++) {
			if(ok[i] && a.pai[k].s == u[i].uri.s
					&& a.pai[k].len == u[i].uri.len)
				break;
		}
		if(i == nids)
			abort();
		if(u[i].scheme == SP_ID_SCHEME_TEL)
			tel++;
		else
			sip++;
	}
	if(tel > 1 || sip > 1)
		abort();

	/* what the P-CSCF writes, the Presence Server reads: the same */
	len = sp_id_pai_format(&a, buf, sizeof(buf));
	if(len <= 0 || (size_t)len != strlen(buf))
		abort();
	{
		sp_str_t h = {buf, (size_t)len};
		sp_id_uri_t w;
		if(sp_id_parse(&h, 1, &l) != SP_ID_OK || l.n != a.n)
			abort();
		for(k = 0; k < a.n; k++) {
			if(sp_id_uri_parse(a.pai[k].s, a.pai[k].len, &w) != SP_ID_OK)
				abort();
			for(m = 0; m < l.n; m++) {
				if(sp_id_uri_equal(&l.v[m].uri, &w))
					break;
			}
			if(m == l.n)
				abort();
		}
	}
	return 0;
}
