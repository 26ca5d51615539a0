/*
 * libFuzzer harness: notify_smime's CMS parsers and decryption
 * (modules/notify_smime/cms.c) on arbitrary input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/notify_smime fuzz/notify_smime_cms_fuzz.c \
 *     modules/notify_smime/cms.c $(pkg-config --cflags --libs openssl) \
 *     -o build/notify_smime_cms_fuzz
 *
 * Input: one selector byte, then the CMS (DER/BER) exactly to the end of
 * libFuzzer's buffer, so ASan sees any read past it. Selector bit 0: the
 * identity that decrypts (0 EC P-256, 1 RSA-2048); bit 1: a small output
 * bound (64 bytes); bit 2: also verify the input as a detached signature
 * over FUZZ_CONTENT, trusting both identities.
 *
 * Every input goes through ns_cms_content_type, ns_cms_certs_only_parse
 * and ns_cms_decrypt. Besides memory errors the harness aborts when an
 * invariant of the API breaks: codes in range; an output on success only,
 * within its bound and NUL terminated; the error queue empty on return;
 * the parsers agreeing with ns_cms_content_type.
 *
 * The identities are fixed, loaded once in LLVMFuzzerInitialize, so that
 * the seeds in fuzz/corpus/cms/ (encrypted to them) reach decryption:
 * keys generated at every start would turn each seed into "no recipient".
 * They are test keys made for this file and protect nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cms.h"

#define FUZZ_CONTENT "Content-Type: text/plain\r\n\r\nfuzz\r\n"
#define FUZZ_MAX (1u << 20)
#define FUZZ_SMALL 64

/* TEST KEYS, published here: never use them for anything else. */
static const char fuzz_ec_crt[] =
		"-----BEGIN CERTIFICATE-----\n"
		"MIIBxzCCAW2gAwIBAgIUFQLNAiwpms3XXgrKVZOrY1EuY8AwCgYIKoZIzj0EAwIw\n"
		"MDEaMBgGA1UECgwRbm90aWZ5X3NtaW1lIGZ1enoxEjAQBgNVBAMMCWZ1enogcDI1\n"
		"NjAgFw0yNjExMjMwMDQ4MzhaGA8yMTI2MTAzMDAwNDgzOFowMDEaMBgGA1UECgwR\n"
		"bm90aWZ5X3NtaW1lIGZ1enoxEjAQBgNVBAMMCWZ1enogcDI1NjBZMBMGByqGSM49\n"
		"AgEGCCqGSM49AwEHA0IABMlvyeD1Edk4NFEYAuOJf8ZO+KfSbVDAQk8hGWKciMse\n"
		"oCpbsTGkJ7A047T5MdLyJP66mkOk9J03VRIbBi/L8N2jYzBhMB0GA1UdDgQWBBTE\n"
		"Q40sfWaNYLZFCqrmIut+AAbcxTAfBgNVHSMEGDAWgBTEQ40sfWaNYLZFCqrmIut+\n"
		"AAbcxTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIDiDAKBggqhkjOPQQD\n"
		"AgNIADBFAiBmhK/wbCGhfIFu+gpodwN4W1awPR7LP9Yh8D7o6kAfUwIhAKsLHdvK\n"
		"j3Zyia5HJwobcR5gHQc+qFJzmG+4JpmwzHcb\n"
		"-----END CERTIFICATE-----\n";

static const char fuzz_ec_key[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmy0cpnTIAN7J74qO\n"
		"LCjuPQylLG0wmqQ4z13sSXUobcqhRANCAATJb8ng9RHZODRRGALjiX/GTvin0m1Q\n"
		"wEJPIRlinIjLHqAqW7ExpCewNOO0+THS8iT+uppDpPSdN1USGwYvy/Dd\n"
		"-----END PRIVATE KEY-----\n";

static const char fuzz_rsa_crt[] =
		"-----BEGIN CERTIFICATE-----\n"
		"MIIDWTCCAkGgAwIBAgIUIILhHtxyp7nlfEMvAjOqwN4QHoEwDQYJKoZIhvcNAQEL\n"
		"BQAwMzEaMBgGA1UECgwRbm90aWZ5X3NtaW1lIGZ1enoxFTATBgNVBAMMDGZ1enog\n"
		"cnNhMjA0ODAgFw0yNjExMjMwMDQ4MzhaGA8yMTI2MTAzMDAwNDgzOFowMzEaMBgG\n"
		"A1UECgwRbm90aWZ5X3NtaW1lIGZ1enoxFTATBgNVBAMMDGZ1enogcnNhMjA0ODCC\n"
		"ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMcLVCY/iv+m+UEiuuC5BGXU\n"
		"K8ganAQxpUxJi52zHAFCVQ8EGPGwbQIYpasRSGVK/pRUpAN+zGPqY5kqrdZFnf5X\n"
		"EHiU8S6vzwhzO3b/osCmgUE3cQ0KNrn1M1HMubdegKA6fAA/OGS9jOPUba3r0ep9\n"
		"suxaIBnpt7tMhvDgXxV4GVQh1jhURnY23tVJqoTMTv7NRXZJezQQetGZ3GHmh+VC\n"
		"PusppQM1UJCIn/+WdNcg+DjrxoFCyUCgn0RYjc0RDeJoGUfExHtNuO3MxMZnCLBg\n"
		"gp7W46lqSfwyCEb55sjq4smFMs7kTVoBKQ40AkkYBoRDMh11PfnU9C4iJPN6Wx8C\n"
		"AwEAAaNjMGEwHQYDVR0OBBYEFO9yCQ3Hq+q82kvxEbMTqHPNGhZCMB8GA1UdIwQY\n"
		"MBaAFO9yCQ3Hq+q82kvxEbMTqHPNGhZCMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P\n"
		"AQH/BAQDAgWgMA0GCSqGSIb3DQEBCwUAA4IBAQAZ5IrLnYzjzM5ZFFFYk3zhoIvt\n"
		"UrA1JJPkqzK0gJzADxmbzGo35FQc2YT9yiJZv6qfOoLinG+Ur/e7QtejDmsYTQyv\n"
		"DRzPBNCm5ZPhFK6P15OnRlN+XOoMDCoOSZvbuz7rJUrf3pMyD/amVoIZvm25HR7j\n"
		"DYAgOpLrzz90+ofypt3F5viFpOB/Sj+JrB41fhCxtuLC5e7DnrwCAC7cmPopMSW4\n"
		"VHj9L9N429pNX8bl0huAtYC5lyk9z4MXGe0hWH2y4H2nUPDujJHpQRaTpaYAAT9J\n"
		"SUjM3SiQLIDr0Zf7ujmp8cKAY4OpKJVTldRbD1FjFatl6QuoDBYWYu6gZwHv\n"
		"-----END CERTIFICATE-----\n";

static const char fuzz_rsa_key[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDHC1QmP4r/pvlB\n"
		"IrrguQRl1CvIGpwEMaVMSYudsxwBQlUPBBjxsG0CGKWrEUhlSv6UVKQDfsxj6mOZ\n"
		"Kq3WRZ3+VxB4lPEur88Iczt2/6LApoFBN3ENCja59TNRzLm3XoCgOnwAPzhkvYzj\n"
		"1G2t69HqfbLsWiAZ6be7TIbw4F8VeBlUIdY4VEZ2Nt7VSaqEzE7+zUV2SXs0EHrR\n"
		"mdxh5oflQj7rKaUDNVCQiJ//lnTXIPg468aBQslAoJ9EWI3NEQ3iaBlHxMR7Tbjt\n"
		"zMTGZwiwYIKe1uOpakn8MghG+ebI6uLJhTLO5E1aASkONAJJGAaEQzIddT351PQu\n"
		"IiTzelsfAgMBAAECggEAGi4XR2CcO7wOlM6ond44AdzCVXOKidKt1zblMjzYtiGv\n"
		"ZmY3kbKO4/Ox9qozR39xtLjdSchnwcyWhRLkAobtnQJ+nB2bC3T8WjQt4h0FnylH\n"
		"XviX2gs534Os2FmBI+k+KdUHclDebgGwglbyhim6Volp+0RvbHkdPXl3Vj9swjnq\n"
		"T8nXUkjU9jmJBvBCgB5B9z/wwnSP4maWBoDMPMWi9es4auWqY+MNEkRKnIU5MjeP\n"
		"sWXIwP100i7Aah+fPCy3W8dS9kuAkfisBkodisyO5AwbEFC4T59lLIDVTfkUR9z7\n"
		"7Ing2FfGB4JbkRRsEN8HM0pJQbzcSn7B+jqDUCXZ4QKBgQDp1rOZzB9d8W9AxZU7\n"
		"dTVxsbmJBZn5x+MCBG7lV1g61ya+C+UoPlKE+JE7oTMC/kCJ3dtqpEGkK3FeEk7f\n"
		"mRGgT0ohhMbLfqWLDILNH9/FNU6DQGB+2Reqf7FkVaxKzJSOFfJHB31NWJ4XQY3N\n"
		"pwnmw4NIqjpgdJ28xVG/5p7vAwKBgQDZ6HWCRQARSvjR9cUFrgmOnXGVKsu1fCQx\n"
		"fjSBggGoTT2lhDW4AD1oAWoe2bN15xwCOaOZUOGcXLYCFxITEJlHi8p+ToBSodyg\n"
		"bYVAFl6WBjURacEYqC3kY7vdWvVlybGSEo4g0Eshw5pWAOswyxDaqkDnyUrXmY7A\n"
		"0wA5BIHKtQKBgQCVVUzbUjVR7EbNSaE1GHQqCILhU5dyocmCV0xu4CnzYcVXJweQ\n"
		"fMR8MLWnLBoEtlSG9w0R/JYC/s9mcTC3sOxFwX0pDL9b46RauYGq98kTCyj5vxog\n"
		"yAlKFEQ4PFJMbnwMhU11OP43b/l+BppFlIBJQ+DKfhPL142IqUa80835+wKBgEt7\n"
		"uOjtWf6jh9nDVwKGrQzYATZ44qP1Ytw6KZoLHOPeDdK+H5Wjj6Hti4MwSng3HH6w\n"
		"1LkRSXXOr8W9lCdCgrZD+FsUemMlarWv+o6esRkrAUsM5TTTXUJWQgeFsKgX3AkL\n"
		"oGxBeyUxCs9r9gyq6yW0AFPKaMCSkt68uMEHjKZZAoGBANElASK6JUqEoYxp7ktX\n"
		"7aqPqsNUOS30F7tJtN6PdDXbTllcE/nWG4ucYO9Z128vw6ZqdrLZnQ+zSgCPtBdz\n"
		"FRAwsCwnzuRErRnJRz7DFgWVipbdFuBf5XSVzaesGkFADMKXIOMQu3WAz6pGK53g\n"
		"UIfzeG5SYK8xLjNbssM4FwYY\n"
		"-----END PRIVATE KEY-----\n";

static X509 *fuzz_cert[2];
static EVP_PKEY *fuzz_key[2];
static X509_STORE *fuzz_store;

static void *fuzz_pem(const char *pem, int key)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	void *p;

	if(b == NULL)
		abort();
	p = key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
			: (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if(p == NULL)
		abort();
	return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	fuzz_cert[0] = fuzz_pem(fuzz_ec_crt, 0);
	fuzz_key[0] = fuzz_pem(fuzz_ec_key, 1);
	fuzz_cert[1] = fuzz_pem(fuzz_rsa_crt, 0);
	fuzz_key[1] = fuzz_pem(fuzz_rsa_key, 1);
	fuzz_store = X509_STORE_new();
	if(fuzz_store == NULL)
		abort();
	for(i = 0; i < 2; i++) {
		if(ns_cms_key_matches_cert(fuzz_cert[i], fuzz_key[i]) != NS_CMS_OK
				|| X509_STORE_add_cert(fuzz_store, fuzz_cert[i]) != 1)
			abort();
	}
	ERR_clear_error();
	return 0;
}

static void fuzz_rc(int rc)
{
	if(rc > 0 || rc < NS_CMS_ERR_LAST)
		abort();
	if(ERR_peek_error() != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NS_CMS_ERR_LEN];
	const unsigned char *p;
	unsigned char *out;
	size_t n, outlen, max;
	STACK_OF(X509) * certs;
	ns_cms_type_t type, dtype;
	X509 *signer;
	int sel, id, trc, rc;

	if(size < 1)
		return 0;
	sel = data[0];
	p = data + 1;
	n = size - 1;
	id = sel & 1;
	max = (sel & 2) ? FUZZ_SMALL : FUZZ_MAX;

	trc = ns_cms_content_type(p, n, &type);
	fuzz_rc(trc);
	if(trc != NS_CMS_OK && trc != NS_CMS_ERR_PARSE && trc != NS_CMS_ERR_ARG)
		abort();

	certs = NULL;
	rc = ns_cms_certs_only_parse(p, n, &certs, err, sizeof(err));
	fuzz_rc(rc);
	if(rc == NS_CMS_OK) {
		if(sk_X509_num(certs) < 1 || type != NS_CMS_TYPE_CERTS_ONLY)
			abort();
		sk_X509_pop_free(certs, X509_free);
	} else if(certs != NULL) {
		abort();
	}
	if(trc != NS_CMS_OK && rc != trc)
		abort();
	if(trc == NS_CMS_OK && type != NS_CMS_TYPE_CERTS_ONLY
			&& rc != NS_CMS_ERR_TYPE)
		abort();

	out = NULL;
	outlen = 1;
	rc = ns_cms_decrypt(p, n, fuzz_cert[id], fuzz_key[id], max, &out, &outlen,
			&dtype, err, sizeof(err));
	fuzz_rc(rc);
	if(rc == NS_CMS_OK) {
		if(out == NULL || outlen > max || outlen > n || out[outlen] != '\0')
			abort();
		if(dtype != type
				|| (type != NS_CMS_TYPE_ENVELOPED
						&& type != NS_CMS_TYPE_AUTH_ENVELOPED))
			abort();
		ns_cms_free(out, outlen);
	} else {
		if(out != NULL || outlen != 0)
			abort();
		if(trc != NS_CMS_OK && rc != trc)
			abort();
		if(trc == NS_CMS_OK && type != NS_CMS_TYPE_ENVELOPED
				&& type != NS_CMS_TYPE_AUTH_ENVELOPED && rc != NS_CMS_ERR_TYPE)
			abort();
	}

	if(sel & 4) {
		signer = NULL;
		rc = ns_cms_verify_detached(p, n, (const unsigned char *)FUZZ_CONTENT,
				sizeof(FUZZ_CONTENT) - 1, fuzz_store, &signer, err,
				sizeof(err));
		fuzz_rc(rc);
		if(rc == NS_CMS_OK) {
			if(signer == NULL || type != NS_CMS_TYPE_SIGNED)
				abort();
			X509_free(signer);
		} else if(signer != NULL || (trc != NS_CMS_OK && rc != trc)) {
			abort();
		}
	}
	return 0;
}
