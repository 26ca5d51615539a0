/*
 * libFuzzer harness: notify_smime's path for bodies sent to the server
 * (modules/notify_smime/protect.c ns_unprotect): Content-Type dispatch,
 * enveloped/authEnveloped decryption, multipart/signed verification,
 * certs-only, nested layers.
 *
 * The first byte picks the Content-Type the body claims (pkcs7-mime of each
 * smime-type, multipart/signed with a fixed boundary, a plain type), the
 * rest is the body. The server has a generated EC key and certificate (its
 * own CA set is that certificate), so decryption and verification run up
 * to the cryptographic checks. Invariants: a return code in range, no
 * output on failure, the OpenSSL error queue empty afterwards.
 * Seeds: fuzz/corpus/protect/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "protect.h"

static const char *const ctypes[] = {
		"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
		"application/pkcs7-mime; smime-type=authEnveloped-data",
		"application/pkcs7-mime; smime-type=certs-only",
		"application/pkcs7-mime; smime-type=signed-data",
		"application/pkcs7-mime",
		"multipart/signed; protocol=\"application/pkcs7-signature\"; "
		"micalg=sha-256; boundary=b1",
		"application/pidf+xml",
		"application/x-pkcs7-mime; smime-type=enveloped-data",
};

static ns_unprotect_keys_t keys;

static void setup(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	if(!k || !x)
		abort();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
			(const unsigned char *)"fuzz ps", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if(X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	keys.cert = x;
	keys.key = k;
	keys.cas = X509_STORE_new();
	X509_STORE_add_cert(keys.cas, x);
	keys.max = 65536;
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ns_unprotect_out_t out;
	const char *ct;
	char err[256];
	int rc;

	if(keys.cert == NULL)
		setup();
	if(size < 1)
		return 0;
	ct = ctypes[data[0] % (sizeof(ctypes) / sizeof(ctypes[0]))];
	rc = ns_unprotect(ct, strlen(ct), (const char *)data + 1, size - 1, &keys,
			&out, err, sizeof(err));
	if(rc < NS_UNPROTECT_ERR_INTERNAL || rc > NS_UNPROTECT_OK)
		abort();
	if(rc != NS_UNPROTECT_OK && (out.body || out.certs || out.signer))
		abort();
	if(rc == NS_UNPROTECT_OK && out.body == NULL)
		abort();
	ns_unprotect_out_free(&out);
	if(ERR_peek_error() != 0)
		abort(); /* the error queue must be drained */
	return 0;
}
