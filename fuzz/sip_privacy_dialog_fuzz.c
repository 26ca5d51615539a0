/*
 * libFuzzer harness: sip_privacy's per-dialog privacy and its rewrites
 * (modules/sip_privacy/sp_dialog.c): the Record-Route rule read back from
 * a Route (sp_dlg_rule_decode, sp_dlg_param_check), the decision of a
 * message in a dialog (sp_dlg_extra, sp_dlg_decide), the Contact without
 * its user part (sp_uri_strip_user) and Proxy-Require / Require without an
 * option-tag (sp_optiontag_remove): every one reads what a UA sent.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/sip_privacy fuzz/sip_privacy_dialog_fuzz.c \
 *     modules/sip_privacy/sp_dialog.c modules/sip_privacy/privacy.c \
 *     modules/sip_privacy/sp_hmac.c modules/sip_privacy/sp_text.c \
 *     $(pkg-config --cflags --libs openssl) -o build/sip_privacy_dialog_fuzz
 *
 * The input is up to six fields separated by '\n': the sppriv Route
 * parameter value, the initiator's tag (ftag), the Call-ID, a Contact URI,
 * a Require value and a Privacy value; each a slice of libFuzzer's buffer,
 * which ends exactly at `size`, so ASan sees any read past a field. Besides
 * memory errors, the harness aborts when an invariant breaks: a rule never
 * holds more than a rule can; a Route value checks only when it is exactly
 * the one this key makes for that dialog (a MAC cannot be forged), and a
 * value that does not check reads as every function; a made value checks
 * for its own dialog and for no other; a URI loses its user part only,
 * once; an option-tag removal keeps the other tags, is idempotent and
 * finds the tag when it was there; a dialog decision adds to the message's
 * own and never provides what was not asked for, nor calls missing what it
 * provides.
 * Seeds: fuzz/corpus/dialog/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privacy.h"
#include "sp_dialog.h"
#include "sp_text.h"

#define FUZZ_FIELDS 6
#define FUZZ_OUT 2048

static const unsigned char fuzz_key[] = "sp-dialog-fuzz-key";
#define FUZZ_KLEN (sizeof(fuzz_key) - 1)

static void fuzz_rule(const char *v, size_t len)
{
	char buf[SP_DLG_RULE_SIZE];
	unsigned int r = sp_dlg_rule_decode(v, len), again;
	int n;

	if(r & ~SP_DLG_RULE_CAPS)
		abort();
	n = sp_dlg_rule_encode(r, buf, sizeof(buf));
	if(n < 0 || (size_t)n != strlen(buf))
		abort();
	again = n > 0 ? sp_dlg_rule_decode(buf, (size_t)n) : 0;
	if(again != r)
		abort();
}

static void fuzz_param(const char *v, size_t len, const char *ftag, size_t flen,
		const char *cid, size_t clen)
{
	char made[SP_DLG_PARAM_SIZE];
	unsigned int rule, r2;
	int ok, n;

	ok = sp_dlg_param_check(
			v, len, ftag, flen, cid, clen, fuzz_key, FUZZ_KLEN, &rule);
	if(ok != 0 && ok != 1)
		abort();
	if(!ok && rule != SP_DLG_RULE_CAPS)
		abort();
	if(rule & ~SP_DLG_RULE_CAPS)
		abort();
	n = sp_dlg_param_make(rule, ftag, flen, cid, clen, fuzz_key, FUZZ_KLEN,
			made, sizeof(made));
	if(n < 0) {
		/* only a tag or Call-ID over bounds makes nothing; then nothing
		 * checks either */
		if(ok || (flen <= SP_DLG_MAX_TAG && clen <= SP_DLG_MAX_CALLID))
			abort();
		return;
	}
	if((size_t)n != strlen(made))
		abort();
	/* what checks is exactly what this key makes for that dialog */
	if(ok && ((size_t)n != len || memcmp(made, v, len) != 0))
		abort();
	if(sp_dlg_param_check(made, (size_t)n, ftag, flen, cid, clen, fuzz_key,
			   FUZZ_KLEN,
			   &r2) != 1
			|| r2 != rule)
		abort();
	/* another dialog (a Call-ID one byte longer) does not accept it */
	if(clen < SP_DLG_MAX_CALLID) {
		char cid2[SP_DLG_MAX_CALLID + 1];
		memcpy(cid2, cid, clen);
		cid2[clen] = 'x';
		if(sp_dlg_param_check(made, (size_t)n, ftag, flen, cid2, clen + 1,
				   fuzz_key, FUZZ_KLEN,
				   &r2) != 0
				|| r2 != SP_DLG_RULE_CAPS)
			abort();
	}
	/* nor another key */
	if(sp_dlg_param_check(made, (size_t)n, ftag, flen, cid, clen,
			   (const unsigned char *)"other", 5, &r2)
			!= 0)
		abort();
}

static void fuzz_uri(const char *v, size_t len)
{
	char out[FUZZ_OUT], again[FUZZ_OUT];
	int n, m;

	n = sp_uri_strip_user(v, len, out, sizeof(out));
	if(n < 0)
		return;
	/* bytes as received: a NUL inside stays data, the length counts */
	if((size_t)n > len || out[n] != '\0')
		abort();
	if(memchr(out, '@', (size_t)n) != NULL)
		abort();
	if((size_t)n == len && memcmp(out, v, len) != 0)
		abort();
	/* the scheme stays, what follows is the tail of the input */
	if(!sp_text_ieq(out, 4, "sip:", 4) && !sp_text_ieq(out, 5, "sips:", 5))
		abort();
	m = sp_uri_strip_user(out, (size_t)n, again, sizeof(again));
	if(m != n || memcmp(out, again, (size_t)n) != 0)
		abort();
}

static void fuzz_tags(const char *v, size_t len, const char *tag)
{
	char out[FUZZ_OUT], again[FUZZ_OUT];
	int n, m, found, found2;

	n = sp_optiontag_remove(v, len, tag, out, sizeof(out), &found);
	if(n < 0)
		return;
	if((size_t)n != strlen(out) || (size_t)n > len + len)
		abort();
	if(!found && n == 0)
		abort(); /* nothing removed, yet nothing left */
	if(n == 0)
		return;
	m = sp_optiontag_remove(out, (size_t)n, tag, again, sizeof(again), &found2);
	if(m != n || found2 || memcmp(out, again, (size_t)n) != 0)
		abort();
}

static void fuzz_decide(const char *v, size_t len, unsigned int rule,
		const char *ftag, size_t flen)
{
	sp_str_t h = {v, len};
	sp_priv_t p;
	sp_priv_decision_t own, d;
	unsigned int caps, extra;
	int rc, rc2, init;

	/* an unparsable Privacy is decided on too; no value, no header */
	sp_priv_parse(&h, len > 0, &p);
	caps = (unsigned int)len * 2654435761u; /* any capability set */
	init = sp_dlg_sender_is_initiator(v, len > 8 ? 8 : len, ftag, flen);
	if(init != 0 && init != 1)
		abort();
	extra = sp_dlg_extra(len & 1, p.headers, rule, 1, rule, init);
	rc = sp_priv_decide(&p, caps, &own);
	rc2 = sp_dlg_decide(&p, extra, caps, &d);
	if(rc != rc2)
		abort();
	if(rc != SP_PRIV_OK)
		return;
	if((own.requested & ~d.requested) || (own.provided & ~d.provided)
			|| (own.actions & ~d.actions))
		abort();
	if(d.provided & ~d.requested)
		abort();
	if(d.missing & d.provided)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[FUZZ_FIELDS], *in = (const char *)data, *nl;
	size_t l[FUZZ_FIELDS], i, pos = 0;
	char tag[64];
	unsigned int rule;

	for(i = 0; i < FUZZ_FIELDS; i++) {
		f[i] = in + pos;
		nl = i + 1 < FUZZ_FIELDS ? memchr(in + pos, '\n', size - pos) : NULL;
		l[i] = nl ? (size_t)(nl - (in + pos)) : size - pos;
		pos += l[i] + (nl ? 1 : 0);
	}
	fuzz_rule(f[0], l[0]);
	fuzz_param(f[0], l[0], f[1], l[1], f[2], l[2]);
	fuzz_uri(f[3], l[3]);
	/* the tag to remove: the Call-ID field when short, else "privacy" */
	if(l[2] > 0 && l[2] < sizeof(tag) && !memchr(f[2], '\0', l[2])) {
		memcpy(tag, f[2], l[2]);
		tag[l[2]] = '\0';
	} else {
		strcpy(tag, "privacy");
	}
	fuzz_tags(f[4], l[4], tag);
	sp_dlg_param_check(
			f[0], l[0], f[1], l[1], f[2], l[2], fuzz_key, FUZZ_KLEN, &rule);
	fuzz_decide(f[5], l[5], sp_dlg_rule_decode(f[0], l[0]), f[1], l[1]);
	return 0;
}
