/*
 * libFuzzer harness: notify_smime's MIME parsers (modules/notify_smime/
 * mime.c): ns_mime_ctype_parse, ns_mime_entity_parse and
 * ns_mime_multipart_signed_parse.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/notify_smime fuzz/notify_smime_mime_fuzz.c \
 *     modules/notify_smime/mime.c modules/notify_smime/cert.c \
 *     $(pkg-config --cflags --libs openssl) -o build/notify_smime_mime_fuzz
 *
 * Every input goes to all three parsers: the whole input as a Content-Type
 * value and as a MIME entity; for multipart/signed the first line (up to
 * LF, at most 71 bytes) is the boundary and the rest the body. Parsers
 * read the input in place (libFuzzer's buffer ends there, so ASan sees any
 * read past it); the base64 buffer is allocated at the size the API
 * documents. Besides memory errors, the harness aborts when an invariant
 * breaks: return codes in range, slices inside the input, parsed values
 * well-formed (lowercase tokens, no CR/LF/NUL, unique names), a parsed
 * Content-Type printed again parses to the same, an entity rebuilt from
 * its parts parses to the same, and a multipart/signed rebuilt from its
 * parts gives them back byte for byte.
 * Seeds: fuzz/corpus/mime/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

static void fuzz_rc(int rc)
{
	if(rc > 0 || rc < NS_MIME_ERR_RANDOM)
		abort();
	if(strcmp(ns_mime_strerror(rc), "unknown error") == 0)
		abort();
}

static int fuzz_inside(const char *p, size_t len, const char *base, size_t n)
{
	return p != NULL && p >= base && len <= n && (size_t)(p - base) <= n - len;
}

static void fuzz_token(const char *s, int lower)
{
	size_t i, n = strlen(s);

	if(n == 0)
		abort();
	for(i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if(c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c))
			abort();
		if(lower && c >= 'A' && c <= 'Z')
			abort();
	}
}

static void fuzz_ctype_check(const ns_mime_ctype_t *ct)
{
	unsigned int i, j;

	if(ct->type == NULL || ct->subtype == NULL
			|| ct->nparams > NS_MIME_MAX_PARAMS)
		abort();
	fuzz_token(ct->type, 1);
	fuzz_token(ct->subtype, 1);
	for(i = 0; i < ct->nparams; i++) {
		const ns_mime_param_t *p = &ct->params[i];
		fuzz_token(p->name, 1);
		if(strlen(p->value) != p->vlen || strpbrk(p->value, "\r\n") != NULL)
			abort();
		for(j = 0; j < i; j++)
			if(strcmp(ct->params[j].name, p->name) == 0)
				abort();
		if(ns_mime_ctype_param(ct, p->name) != p->value)
			abort();
	}
	if(!ns_mime_ctype_is(ct, ct->type, ct->subtype))
		abort();
	(void)ns_mime_smime_type(ct);
}

/* type/subtype; name="value" ... with quotes and backslashes escaped;
 * 0 when it does not fit. */
static size_t fuzz_ctype_print(
		const ns_mime_ctype_t *ct, char *out, size_t size)
{
	size_t n = 0, k;
	unsigned int i;

#define PUT(s, l)                  \
	do {                           \
		if(n + (l) + 1 > size)     \
			return 0;              \
		memcpy(out + n, (s), (l)); \
		n += (l);                  \
	} while(0)
	PUT(ct->type, strlen(ct->type));
	PUT("/", 1);
	PUT(ct->subtype, strlen(ct->subtype));
	for(i = 0; i < ct->nparams; i++) {
		PUT("; ", 2);
		PUT(ct->params[i].name, strlen(ct->params[i].name));
		PUT("=\"", 2);
		for(k = 0; k < ct->params[i].vlen; k++) {
			char c = ct->params[i].value[k];
			if(c == '"' || c == '\\')
				PUT("\\", 1);
			PUT(&c, 1);
		}
		PUT("\"", 1);
	}
#undef PUT
	out[n] = '\0';
	return n;
}

static int fuzz_ctype_same(const ns_mime_ctype_t *a, const ns_mime_ctype_t *b)
{
	unsigned int i;

	if(strcmp(a->type, b->type) || strcmp(a->subtype, b->subtype)
			|| a->nparams != b->nparams)
		return 0;
	for(i = 0; i < a->nparams; i++)
		if(strcmp(a->params[i].name, b->params[i].name)
				|| a->params[i].vlen != b->params[i].vlen
				|| memcmp(a->params[i].value, b->params[i].value,
						a->params[i].vlen))
			return 0;
	return 1;
}

/* A parsed Content-Type, printed again, parses to the same. *printed is
 * the printed form (0 length when too long). */
static void fuzz_ctype_roundtrip(
		const ns_mime_ctype_t *ct, char *printed, size_t size, size_t *plen)
{
	ns_mime_ctype_t again;
	int rc;

	*plen = fuzz_ctype_print(ct, printed, size);
	if(*plen == 0)
		return;
	rc = ns_mime_ctype_parse(printed, *plen, &again);
	if(*plen > NS_MIME_MAX_CTYPE_LEN) {
		if(rc != NS_MIME_ERR_TOO_LONG)
			abort();
		*plen = 0;
		return;
	}
	if(rc != NS_MIME_OK || !fuzz_ctype_same(ct, &again))
		abort();
}

static void fuzz_entity(const char *in, size_t size)
{
	static ns_mime_entity_t ent, again;
	char printed[3 * NS_MIME_MAX_CTYPE_LEN];
	size_t declen = ns_mime_b64_maxlen(size), plen, n = 0;
	char *dec = malloc(declen), *out = NULL, *dec2 = NULL;
	int rc;

	if(dec == NULL)
		abort();
	rc = ns_mime_entity_parse(in, size, &ent, dec, declen);
	fuzz_rc(rc);
	if(rc != NS_MIME_OK) {
		if(ent.body.s != NULL || ent.raw.s != NULL || ent.ctype.type != NULL)
			abort();
		goto out;
	}
	fuzz_ctype_check(&ent.ctype);
	if(ent.headers.s != in || ent.headers.len + 2 + ent.raw.len != size
			|| !fuzz_inside(ent.raw.s, ent.raw.len, in, size)
			|| ent.raw.s != in + ent.headers.len + 2
			|| memcmp(in + ent.headers.len, "\r\n", 2) != 0)
		abort();
	if(ent.cte == NS_MIME_CTE_BASE64) {
		if(ent.body.s != dec || ent.body.len > declen)
			abort();
	} else if(ent.body.s != ent.raw.s || ent.body.len != ent.raw.len) {
		abort();
	}
	/* rebuilt from its type and content, it parses to the same */
	fuzz_ctype_roundtrip(&ent.ctype, printed, sizeof(printed), &plen);
	if(plen == 0)
		goto out;
	rc = ns_mime_entity_build(printed, ent.body.s, ent.body.len, NULL, 0, &n);
	if(rc != NS_MIME_ERR_NOSPACE && rc != NS_MIME_ERR_TOO_LONG)
		abort();
	if(rc == NS_MIME_ERR_TOO_LONG)
		goto out;
	out = malloc(n);
	dec2 = malloc(1);
	if(out == NULL || dec2 == NULL)
		abort();
	if(ns_mime_entity_build(printed, ent.body.s, ent.body.len, out, n, &n)
			!= NS_MIME_OK)
		abort();
	if(ns_mime_entity_parse(out, n, &again, dec2, 1) != NS_MIME_OK
			|| !fuzz_ctype_same(&ent.ctype, &again.ctype)
			|| again.body.len != ent.body.len
			|| memcmp(again.body.s, ent.body.s, ent.body.len) != 0)
		abort();
out:
	free(out);
	free(dec2);
	free(dec);
}

static void fuzz_signed(const char *in, size_t size)
{
	char boundary[NS_MIME_MAX_BOUNDARY + 2];
	const char *nl, *body;
	size_t blen, len, declen, n = 0;
	ns_mime_str_t sp, sig, sp2, sig2;
	char *dec, *out = NULL;
	int rc;

	if(size == 0)
		return;
	nl = memchr(in, '\n', size < sizeof(boundary) ? size : sizeof(boundary));
	if(nl == NULL)
		return;
	blen = (size_t)(nl - in);
	memcpy(boundary, in, blen);
	boundary[blen] = '\0';
	body = nl + 1;
	len = size - blen - 1;
	declen = ns_mime_b64_maxlen(len);
	dec = malloc(declen);
	if(dec == NULL)
		abort();
	rc = ns_mime_multipart_signed_parse(
			body, len, boundary, &sp, &sig, dec, declen);
	fuzz_rc(rc);
	if(rc != NS_MIME_OK) {
		if(sp.s != NULL || sig.s != NULL)
			abort();
		goto out;
	}
	/* (a NUL in the first line ends the boundary: it is a C string) */
	if(ns_mime_boundary_check(boundary, strlen(boundary)) != NS_MIME_OK)
		abort();
	if(!fuzz_inside(sp.s, sp.len, body, len) || sp.len == 0 || sig.len == 0
			|| (!fuzz_inside(sig.s, sig.len, body, len)
					&& !fuzz_inside(sig.s, sig.len, dec, declen)))
		abort();
	/* rebuilt, the same bytes come back (unless the boundary is now in
	 * the content, e.g. in a decoded base64 signature) */
	rc = ns_mime_multipart_signed_build(sp.s, sp.len,
			(const unsigned char *)sig.s, sig.len, boundary, NULL, 0, &n);
	if(rc == NS_MIME_ERR_TOO_LONG)
		goto out;
	if(rc != NS_MIME_ERR_NOSPACE)
		abort();
	out = malloc(n);
	if(out == NULL)
		abort();
	rc = ns_mime_multipart_signed_build(sp.s, sp.len,
			(const unsigned char *)sig.s, sig.len, boundary, out, n, &n);
	if(rc == NS_MIME_ERR_IN_CONTENT)
		goto out;
	if(rc != NS_MIME_OK
			|| ns_mime_multipart_signed_parse(
					   out, n, boundary, &sp2, &sig2, NULL, 0)
					   != NS_MIME_OK
			|| sp2.len != sp.len || memcmp(sp2.s, sp.s, sp.len) != 0
			|| sig2.len != sig.len || memcmp(sig2.s, sig.s, sig.len) != 0)
		abort();
out:
	free(out);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ns_mime_ctype_t ct;
	char printed[3 * NS_MIME_MAX_CTYPE_LEN];
	const char *b;
	const char *in = (const char *)data;
	size_t plen;
	int rc;

	if(size > NS_MIME_MAX_LEN)
		return 0;
	rc = ns_mime_ctype_parse(in, size, &ct);
	fuzz_rc(rc);
	if(rc == NS_MIME_OK) {
		fuzz_ctype_check(&ct);
		fuzz_ctype_roundtrip(&ct, printed, sizeof(printed), &plen);
		rc = ns_mime_signed_ctype_check(&ct, &b);
		fuzz_rc(rc);
		if((rc == NS_MIME_OK) != (b != NULL))
			abort();
	} else if(ct.type != NULL || ct.nparams != 0) {
		abort();
	}
	fuzz_entity(in, size);
	fuzz_signed(in, size);
	return 0;
}
