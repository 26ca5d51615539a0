/*
 * libFuzzer harness: sip_privacy's Privacy parser and decision
 * (modules/sip_privacy/privacy.c) and its P-Asserted-Identity /
 * P-Preferred-Identity parser and assertion (modules/sip_privacy/identity.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy fuzz/sip_privacy_privacy_fuzz.c \
 *     modules/sip_privacy/privacy.c modules/sip_privacy/identity.c \
 *     -o build/sip_privacy_privacy_fuzz
 *
 * The input is a list of header values separated by '\n' (at most
 * FUZZ_MAX_HDRS; the rest stays in the last one), each a slice of
 * libFuzzer's buffer, which ends exactly at `size`, so ASan sees any read
 * past a value's end. The same values go to both parsers. Besides memory
 * errors, the harness aborts when an invariant of the API breaks: return
 * codes in range, slices inside the input, bounds kept, a decision
 * consistent with what was requested, a rewritten Privacy that parses and
 * that a second pass leaves alone, at most one sip and one tel identity,
 * asserted identities taken from the identity table only.
 * Seeds: fuzz/corpus/privacy/ (RFC 3325 10.1's values among them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "privacy.h"

#define FUZZ_MAX_HDRS 20

static const char *const fuzz_ids[] = {"sip:fluffy@cisco.com",
		"tel:+14085264000", "<sip:alice@example.com>",
		"tel:7042;phone-context=example.com"};
#define FUZZ_NIDS (sizeof(fuzz_ids) / sizeof(fuzz_ids[0]))

static int fuzz_inside(const sp_str_t *v, const char *in, size_t size)
{
	return v->s >= in && v->len <= size && (size_t)(v->s - in) <= size - v->len;
}

static int fuzz_in_ids(const sp_str_t *v)
{
	size_t k;

	for(k = 0; k < FUZZ_NIDS; k++) {
		sp_str_t id = {fuzz_ids[k], strlen(fuzz_ids[k])};
		if(fuzz_inside(v, id.s, id.len))
			return 1;
	}
	return 0;
}

static void fuzz_privacy(
		const sp_str_t *h, size_t n, const char *in, size_t size)
{
	static const unsigned int caps[] = {SP_PRIV_CAPS_DEFAULT,
			SP_PRIV_CAPS_DEFAULT | SP_PRIV_SESSION, 0, SP_PRIV_ID};
	sp_priv_t p, p2;
	sp_priv_decision_t d, d2;
	unsigned int req, i;
	size_t c;
	sp_str_t v;
	int rc;

	rc = sp_priv_parse(h, n, &p);
	if(rc > 0 || rc < SP_PRIV_ERR_SPACE || rc == SP_PRIV_ERR_SPACE)
		abort();
	if(p.unparsable != (rc != SP_PRIV_OK) || p.headers != n)
		abort();
	if(p.nunk > SP_PRIV_MAX_UNKNOWN || p.unknown < p.nunk)
		abort();
	if(p.contradictory && !p.unparsable)
		abort();
	for(i = 0; i < p.nunk; i++) {
		if(!fuzz_inside(&p.unk[i], in, size) || p.unk[i].len == 0
				|| p.unk[i].len > SP_PRIV_MAX_TOKEN_LEN)
			abort();
	}
	req = sp_priv_requested(&p);
	if(p.unparsable
			&& (req & SP_PRIV_UNPARSABLE_REQUEST) != SP_PRIV_UNPARSABLE_REQUEST)
		abort();
	if((req & SP_PRIV_NONE) && req != SP_PRIV_NONE)
		abort();

	for(c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		if(sp_priv_decide(&p, caps[c], &d) != SP_PRIV_OK)
			abort();
		if(d.requested != req || (d.provided & d.missing) != 0
				|| (d.provided | d.missing) != (req & SP_PRIV_FUNCTIONS))
			abort();
		if(d.refuse != (d.reason[0] != '\0'))
			abort();
		if(d.refuse && !(req & SP_PRIV_CRITICAL))
			abort();
		if(memchr(d.reason, '\0', sizeof(d.reason)) == NULL
				|| memchr(d.value, '\0', sizeof(d.value)) == NULL)
			abort();
		if((d.hdr_op == SP_PRIV_HDR_REPLACE) != (d.value[0] != '\0'))
			abort();
		if(d.drop_proxy_require != (d.hdr_op == SP_PRIV_HDR_REMOVE))
			abort();
		if(d.hdr_op != SP_PRIV_HDR_KEEP && (p.unparsable || n == 0))
			abort();
		/* privacy is never lost to a header the service can't read */
		if(p.unparsable && caps[c] == SP_PRIV_CAPS_DEFAULT
				&& (d.actions & SP_PRIV_ACT_RM_USER_HDRS) == 0)
			abort();
		if(d.hdr_op != SP_PRIV_HDR_REPLACE)
			continue;
		v.s = d.value;
		v.len = strlen(d.value);
		if(sp_priv_parse(&v, 1, &p2) != SP_PRIV_OK)
			abort();
		if((p2.mask & SP_PRIV_FUNCTIONS) != (d.missing | (req & SP_PRIV_ID))
				|| p2.nunk != p.nunk)
			abort();
		if(sp_priv_decide(&p2, caps[c], &d2) != SP_PRIV_OK
				|| d2.hdr_op != SP_PRIV_HDR_KEEP || d2.refuse != d.refuse)
			abort();
	}
	/* the header matcher over each value as a name */
	for(i = 0; i < n; i++)
		(void)sp_priv_hdr_remove(~0u, h[i].s, h[i].len);
}

static void fuzz_check_uri(const sp_id_uri_t *u, const char *in, size_t size)
{
	sp_id_uri_t again;

	if(u->scheme < SP_ID_SCHEME_SIP || u->scheme > SP_ID_SCHEME_TEL)
		abort();
	if(!fuzz_inside(&u->uri, in, size) || u->uri.len > SP_ID_MAX_URI_LEN)
		abort();
	if(u->user.s != NULL && !fuzz_inside(&u->user, in, size))
		abort();
	if(u->host.s != NULL && !fuzz_inside(&u->host, in, size))
		abort();
	if(u->scheme != SP_ID_SCHEME_TEL && u->host.s == NULL)
		abort();
	if(sp_id_uri_parse(u->uri.s, u->uri.len, &again) != SP_ID_OK)
		abort();
	if(!sp_id_uri_equal(u, &again) || !sp_id_uri_equal(&again, u))
		abort();
}

static void fuzz_identity(
		const sp_str_t *h, size_t n, const char *in, size_t size)
{
	sp_str_t ids[FUZZ_NIDS];
	sp_id_list_t l;
	sp_id_uri_t u;
	sp_id_assertion_t a;
	char buf[2 * SP_ID_MAX_URI_LEN + 8];
	size_t k;
	int rc, len;

	rc = sp_id_parse(h, n, &l);
	if(rc > 0 || rc < SP_ID_ERR_TOO_MANY)
		abort();
	if(rc != SP_ID_OK && l.n != 0)
		abort();
	if(rc == SP_ID_OK) {
		if(l.n < 1 || l.n > SP_ID_MAX_VALUES)
			abort();
		for(k = 0; k < l.n; k++) {
			fuzz_check_uri(&l.v[k].uri, in, size);
			if(l.v[k].display.s != NULL
					&& (!fuzz_inside(&l.v[k].display, in, size)
							|| l.v[k].display.len > SP_ID_MAX_DISPLAY_LEN))
				abort();
		}
		if(l.n == 2
				&& (l.v[0].uri.scheme == SP_ID_SCHEME_TEL)
						   == (l.v[1].uri.scheme == SP_ID_SCHEME_TEL))
			abort();
	}

	/* the whole input as one URI */
	rc = sp_id_uri_parse(in, size, &u);
	if(rc > 0 || rc < SP_ID_ERR_TOO_MANY)
		abort();
	if(rc == SP_ID_OK)
		fuzz_check_uri(&u, in, size);

	/* the values as P-Preferred-Identity of a registered user */
	for(k = 0; k < FUZZ_NIDS; k++) {
		ids[k].s = fuzz_ids[k];
		ids[k].len = strlen(fuzz_ids[k]);
	}
	if(sp_id_assert(1, ids, FUZZ_NIDS, h, n, &a) != SP_ID_OK)
		abort();
	if(a.n < 1 || a.n > SP_ID_MAX_VALUES || a.ppi_present != (n > 0))
		abort();
	if(a.why == SP_ID_WHY_DEFAULT
			&& (a.n != 1 || a.pai[0].s != fuzz_ids[0]
					|| a.pai[0].len != strlen(fuzz_ids[0])))
		abort();
	if(a.why == SP_ID_WHY_PREFERRED && a.n > l.n)
		abort();
	for(k = 0; k < a.n; k++) {
		if(!fuzz_in_ids(&a.pai[k]))
			abort();
	}
	len = sp_id_pai_format(&a, buf, sizeof(buf));
	if(len <= 0 || (size_t)len != strlen(buf))
		abort();
	if(sp_id_assert(0, ids, FUZZ_NIDS, h, n, &a) != SP_ID_OK || a.n != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	sp_str_t h[FUZZ_MAX_HDRS];
	size_t n = 0, b = 0, i;

	/* split at '\n'; an empty input is no header at all */
	if(size > 0) {
		for(i = 0; i < size && n < FUZZ_MAX_HDRS - 1; i++) {
			if(in[i] == '\n') {
				h[n].s = in + b;
				h[n].len = i - b;
				n++;
				b = i + 1;
			}
		}
		h[n].s = in + b;
		h[n].len = size - b;
		n++;
	}
	fuzz_privacy(h, n, in, size);
	fuzz_identity(h, n, in, size);
	(void)sp_id_pai_remove(sp_priv_requested(NULL), SP_ID_ABSENT_KEEP);
	return 0;
}
