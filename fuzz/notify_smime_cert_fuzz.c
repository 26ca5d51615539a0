/*
 * libFuzzer harness: notify_smime's certificate checks
 * (modules/notify_smime/cert.c) on certificates a watcher or a credential
 * server sent: ns_cert_from_pem, ns_cert_check_ex (key, validity, chain,
 * key usage, extended key usage, subjectAltName against the identity),
 * ns_cert_uri_canon, ns_cert_describe, ns_cert_fingerprint, ns_cert_to_pem.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/notify_smime fuzz/notify_smime_cert_fuzz.c \
 *     modules/notify_smime/cert.c $(pkg-config --cflags --libs openssl) \
 *     -o build/notify_smime_cert_fuzz
 *
 * Input: one selector byte, the watcher identity up to the first '\n',
 * then the certificate to the end of libFuzzer's buffer (so ASan sees any
 * read past it): PEM (selector bit 0 clear, through ns_cert_from_pem) or
 * DER. The certificate is checked against a CA set that trusts it alone
 * (X509_V_FLAG_PARTIAL_CHAIN), at a time inside its validity (selector bit
 * 1 clear) or before it, so that the checks after the chain (key usage,
 * subjectAltName) run on fuzzed certificates; the chain itself is the
 * unit tests' and OpenSSL's. Besides memory errors, the harness aborts
 * when an invariant of the API breaks: codes in range; the error queue
 * empty after the documented codes; a usable certificate only when the
 * identity is a SIP URI, inside its validity; a canonical URI that is
 * canonical again; a describe line of the documented length whatever the
 * buffer; a fingerprint of 64 lowercase hex digits that survives a PEM
 * round trip.
 * Seeds: fuzz/corpus/cert/ (the demo CA's watcher certificates).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cert.h"

#define FUZZ_ID_MAX 512

static void fuzz_canon(const char *id, size_t len)
{
	char c[NS_CERT_URI_MAX + 1], again[NS_CERT_URI_MAX + 1];
	int n, m;

	n = ns_cert_uri_canon(id, len, c, sizeof(c));
	if(n < 0)
		return;
	if((size_t)n != strlen(c) || strncmp(c, "sip:", 4) != 0)
		abort();
	m = ns_cert_uri_canon(c, (size_t)n, again, sizeof(again));
	if(m != n || strcmp(c, again) != 0)
		abort();
}

static void fuzz_describe(X509 *x)
{
	char big[8192], small[16];
	int n, m;

	n = ns_cert_describe(x, big, sizeof(big));
	if(n < -1)
		abort();
	if(n < 0)
		return;
	if((size_t)n < sizeof(big) && (size_t)n != strlen(big))
		abort();
	m = ns_cert_describe(x, small, sizeof(small));
	if(m != n || strlen(small) >= sizeof(small))
		abort();
}

static void fuzz_fingerprint(X509 *x)
{
	char fp[NS_CERT_FP_LEN + 1], fp2[NS_CERT_FP_LEN + 1];
	static char pem[4 * NS_CERT_PEM_MAX];
	X509 *back = NULL;
	int i, n;

	if(ns_cert_fingerprint(x, fp, sizeof(fp)) != NS_CERT_OK)
		return;
	for(i = 0; i < NS_CERT_FP_LEN; i++) {
		if(!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f')))
			abort();
	}
	if(fp[NS_CERT_FP_LEN] != '\0')
		abort();
	n = ns_cert_to_pem(x, pem, sizeof(pem));
	if(n < 0 || (size_t)n != strlen(pem))
		return;
	/* what we write we read back, as the same certificate; a PEM over the
	 * reader's bound is refused, not truncated */
	if(ns_cert_from_pem(pem, (size_t)n, &back) != NS_CERT_OK) {
		if((size_t)n <= NS_CERT_PEM_MAX)
			abort();
		ERR_clear_error();
		return;
	}
	if(ns_cert_fingerprint(back, fp2, sizeof(fp2)) != NS_CERT_OK
			|| strcmp(fp, fp2) != 0)
		abort();
	X509_free(back);
}

static void fuzz_check(X509 *x, const char *id, size_t len, int before)
{
	X509_STORE *cas = X509_STORE_new();
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	struct tm tm;
	time_t now;
	int rc, reason = 1, verr = -1;

	if(cas == NULL)
		abort();
	if(X509_STORE_add_cert(cas, x) != 1
			|| X509_STORE_set_flags(cas, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
		ERR_clear_error();
		X509_STORE_free(cas);
		return;
	}
	now = time(NULL);
	if(nb != NULL && ASN1_TIME_to_tm(nb, &tm) == 1) {
		now = timegm(&tm) + (before ? -1 : 1);
	}
	ERR_clear_error();
	rc = ns_cert_check_ex(x, NULL, cas, id, len, now, &reason, &verr);
	if(rc > 0 || rc < NS_CERT_ERR_LOAD || reason != rc)
		abort();
	if(rc != NS_CERT_ERR_MALFORMED && rc != NS_CERT_ERR_CRYPTO
			&& ERR_peek_error() != 0)
		abort();
	if(rc == NS_CERT_OK) {
		char c[NS_CERT_URI_MAX + 1];
		if(before || ns_cert_uri_canon(id, len, c, sizeof(c)) < 0)
			abort();
	}
	if(rc != NS_CERT_ERR_UNTRUSTED && verr != X509_V_OK && verr != -1)
		abort();
	ERR_clear_error();
	X509_STORE_free(cas);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl;
	const unsigned char *der;
	size_t idlen;
	X509 *x = NULL;
	unsigned sel;
	int rc;

	if(size < 1)
		return 0;
	sel = data[0];
	in++;
	size--;
	nl = memchr(in, '\n', size < FUZZ_ID_MAX ? size : FUZZ_ID_MAX);
	if(nl == NULL)
		return 0;
	idlen = (size_t)(nl - in);
	fuzz_canon(in, idlen);
	der = (const unsigned char *)nl + 1;
	size -= idlen + 1;
	if(sel & 1) {
		x = d2i_X509(NULL, &der, (long)size);
		if(x == NULL) {
			ERR_clear_error();
			return 0;
		}
	} else {
		rc = ns_cert_from_pem((const char *)der, size, &x);
		if(rc > 0 || rc < NS_CERT_ERR_LOAD || ERR_peek_error() != 0)
			abort();
		if((rc == NS_CERT_OK) != (x != NULL))
			abort();
		if(rc != NS_CERT_OK)
			return 0;
	}
	fuzz_describe(x);
	fuzz_fingerprint(x);
	fuzz_check(x, in, idlen, (sel & 2) != 0);
	X509_free(x);
	ERR_clear_error();
	return 0;
}
