/*
 * notify_smime: the CMS EnvelopedData (RFC 5652 6) and AuthEnvelopedData
 * (RFC 5083) of one NOTIFY body to one RSA recipient with PKCS#1 v1.5 key
 * transport, written directly in DER from OpenSSL's primitives instead of
 * through its CMS layer (which costs about four times as much per body in
 * a Kamailio process: see bench/README.md). The result is the same
 * structure OpenSSL's CMS_encrypt() writes for those options, and any CMS
 * implementation decrypts it (the unit tests decrypt it with OpenSSL's
 * CMS_decrypt and `openssl cms -decrypt`).
 *
 * Per process and recipient certificate, the public key context (padding
 * set) and the IssuerAndSerialNumber are kept (a small LRU of certificate
 * references); per process, the fetched ciphers and one cipher context.
 * A fork is noticed (the process ID changes): the child starts empty and
 * never frees what the parent made.
 *
 * No Kamailio header: unit-tested and fuzzed on its own.
 */
#ifndef _NOTIFY_SMIME_ENVELOPE_H_
#define _NOTIFY_SMIME_ENVELOPE_H_

#include <stddef.h>

#include <openssl/x509.h>

/* content ciphers, the values of ns_cms_cipher_t */
#define NS_ENV_AES128_CBC 0
#define NS_ENV_AES256_CBC 1
#define NS_ENV_AES128_GCM 2
#define NS_ENV_AES256_GCM 3

/* Is rcpt's key one this path handles (RSA)? */
int ns_env_supported(X509 *rcpt);

/*
 * in (inlen bytes) encrypted to rcpt with `cipher`, a fresh random content
 * key and IV; *out (OPENSSL_malloc, free with OPENSSL_clear_free) holds
 * the DER ContentInfo. 0 on success, -1 on an OpenSSL failure (its error
 * queue says why), -2 on a bad argument.
 */
int ns_env_encrypt(const unsigned char *in, size_t inlen, X509 *rcpt,
		int cipher, unsigned char **out, size_t *outlen);

/* Frees what this process keeps (the parent's after a fork is left). */
void ns_env_clear(void);

#endif
