/*
 * notify_smime: the CMS layer of S/MIME for SIP bodies (RFC 8551, RFC 5652,
 * RFC 5083/5084, RFC 3261 23). Pure logic on OpenSSL 3, no Kamailio headers.
 *
 * - encrypt a MIME entity to one certificate: EnvelopedData (AES-CBC) or
 *   AuthEnvelopedData (AES-GCM); RSA key transport (PKCS#1 v1.5 or OAEP) or
 *   ephemeral-static ECDH key agreement (RFC 5753);
 * - decrypt EnvelopedData and AuthEnvelopedData with the server's key;
 * - detached SignedData (SHA-256) for multipart/signed, and its
 *   verification against a CA store;
 * - certs-only SignedData (smime-type=certs-only) built and parsed;
 * - loading a certificate (chain) and a private key, passphrase optional.
 *
 * All CMS travel as DER (binary, as SIP carries application/pkcs7-mime and
 * application/pkcs7-signature); BER is accepted on input. The content is
 * the whole MIME entity, exactly the bytes the caller gives: nothing is
 * canonicalised here (CMS_BINARY), so the caller hands over CRLF line ends
 * (RFC 8551 3.1.1).
 *
 * Conventions. Every function returns NS_CMS_OK (0) or a negative
 * ns_cms_rc_t. `err`/`errlen` (either may be NULL/0) receive on failure the
 * OpenSSL error queue as text (ERR_error_string_n of each entry, its data
 * string in parentheses), or, when OpenSSL said nothing, the reason of the
 * failure; never key material or decrypted data. The error queue is clear
 * when a function returns: it is cleared on entry and drained on failure.
 * Buffers returned through `out` are allocated with OPENSSL_malloc and
 * released with ns_cms_free(). OpenSSL objects handed in are borrowed;
 * objects handed out are new references the caller frees.
 */
#ifndef _NOTIFY_SMIME_CMS_H_
#define _NOTIFY_SMIME_CMS_H_

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

/* Smallest recipient keys ns_cms_encrypt() accepts. */
#define NS_CMS_RSA_MIN_BITS 2048
#define NS_CMS_EC_MIN_BITS 256

/* Accepted length of an AES-GCM authentication tag (RFC 5084 3.2: 12 to
 * 16 octets). OpenSSL itself accepts a tag down to 4 octets. */
#define NS_CMS_GCM_TAG_MIN 12
#define NS_CMS_GCM_TAG_MAX 16

/* A size for `err` buffers that holds a few OpenSSL error lines. */
#define NS_CMS_ERR_LEN 512

typedef enum ns_cms_rc
{
	NS_CMS_OK = 0,
	NS_CMS_ERR_ARG = -1,		 /* NULL or invalid argument */
	NS_CMS_ERR_CRYPTO = -2,		 /* OpenSSL failure: allocation, internal */
	NS_CMS_ERR_PARSE = -3,		 /* not a CMS ContentInfo: garbage, truncated,
							 * trailing bytes, content missing */
	NS_CMS_ERR_TYPE = -4,		 /* a CMS of the wrong kind for the call */
	NS_CMS_ERR_UNSUPPORTED = -5, /* algorithm not supported */
	NS_CMS_ERR_RECIPIENT_CERT = -6, /* recipient cert unusable for
									 * encryption: key type, size, usage */
	NS_CMS_ERR_NO_RECIPIENT = -7,	/* not encrypted to this certificate */
	NS_CMS_ERR_KEY_MISMATCH = -8,	/* key does not belong to the cert */
	NS_CMS_ERR_DECRYPT = -9,		/* key unwrap or decryption failed */
	NS_CMS_ERR_INTEGRITY = -10,		/* AuthEnvelopedData: tag wrong/short */
	NS_CMS_ERR_TOO_BIG = -11,		/* plaintext longer than allowed */
	NS_CMS_ERR_NO_SIGNER = -12,		/* no signer, or its cert not found */
	NS_CMS_ERR_BAD_SIGNATURE = -13, /* signature or content digest wrong */
	NS_CMS_ERR_UNTRUSTED = -14,		/* signer's chain does not verify */
	NS_CMS_ERR_NO_CERTS = -15,		/* certs-only without certificates */
	NS_CMS_ERR_FILE = -16,			/* file cannot be opened or read */
	NS_CMS_ERR_PASSPHRASE = -17		/* encrypted key: wrong or no passphrase */
} ns_cms_rc_t;

#define NS_CMS_ERR_LAST NS_CMS_ERR_PASSPHRASE

/* Content encryption. CBC makes EnvelopedData (RFC 8551 2.7: AES-128 CBC
 * MUST); GCM makes AuthEnvelopedData (RFC 5083, RFC 5084; AES-256 GCM
 * SHOULD+), which also detects any change of the ciphertext. */
typedef enum ns_cms_cipher
{
	NS_CMS_AES128_CBC = 0, /* default */
	NS_CMS_AES256_CBC,
	NS_CMS_AES128_GCM,
	NS_CMS_AES256_GCM,
	NS_CMS_CIPHER_COUNT
} ns_cms_cipher_t;

/* RSA key transport padding (RFC 8551 2.3). OAEP uses RFC 3560's default
 * parameters (SHA-1, MGF1 with SHA-1), the widest supported; OAEP_SHA256
 * uses SHA-256 for both. */
typedef enum ns_cms_rsa_pad
{
	NS_CMS_RSA_PKCS1 = 0, /* default: RSAES-PKCS1-v1_5 */
	NS_CMS_RSA_OAEP,
	NS_CMS_RSA_OAEP_SHA256,
	NS_CMS_RSA_PAD_COUNT
} ns_cms_rsa_pad_t;

/* The KDF of ephemeral-static ECDH (RFC 5753): dhSinglePass-stdDH-
 * sha256kdf-scheme is the one RFC 5753 8 makes mandatory; sha1kdf is
 * OpenSSL's own default. The key wrap is AES wrap of the content key's
 * size. */
typedef enum ns_cms_ecdh_kdf
{
	NS_CMS_KDF_SHA256 = 0, /* default */
	NS_CMS_KDF_SHA1,
	NS_CMS_KDF_COUNT
} ns_cms_ecdh_kdf_t;

/* Options of ns_cms_encrypt(); all zero (or a NULL pointer) means the
 * defaults. */
typedef struct ns_cms_opts
{
	ns_cms_cipher_t cipher;
	ns_cms_rsa_pad_t rsa_pad;	/* RSA recipients only */
	ns_cms_ecdh_kdf_t ecdh_kdf; /* EC recipients only */
} ns_cms_opts_t;

/* 1 (the default): encryption to an RSA recipient with PKCS#1 v1.5 is
 * written directly (envelope.h); 0: always through OpenSSL's CMS layer
 * (the tests and the bench compare the two). Per process. */
void ns_cms_set_direct(int on);

/* What a CMS is, for the smime-type parameter (RFC 8551 3.2.2). */
typedef enum ns_cms_type
{
	NS_CMS_TYPE_OTHER = 0,
	NS_CMS_TYPE_ENVELOPED,		/* enveloped-data */
	NS_CMS_TYPE_AUTH_ENVELOPED, /* authEnveloped-data */
	NS_CMS_TYPE_SIGNED,			/* signed-data with signers */
	NS_CMS_TYPE_CERTS_ONLY		/* signed-data without signers */
} ns_cms_type_t;

const char *ns_cms_strerror(int rc);

/* Option names for configuration: "aes128-cbc", "aes256-cbc",
 * "aes128-gcm", "aes256-gcm"; "pkcs1", "oaep", "oaep-sha256"; "sha256",
 * "sha1". Exact, case-insensitive; NS_CMS_ERR_ARG for any other name. */
int ns_cms_cipher_parse(const char *name, ns_cms_cipher_t *cipher);
int ns_cms_rsa_pad_parse(const char *name, ns_cms_rsa_pad_t *pad);
int ns_cms_ecdh_kdf_parse(const char *name, ns_cms_ecdh_kdf_t *kdf);

/* Wipes and frees a buffer returned by this API (NULL is fine). */
void ns_cms_free(void *buf, size_t len);

/*
 * Encrypts the MIME entity `in` to the one certificate `rcpt` (RSA of at
 * least NS_CMS_RSA_MIN_BITS with keyUsage keyEncipherment when the
 * extension is present, or EC of at least NS_CMS_EC_MIN_BITS with
 * keyAgreement), and writes the DER of the ContentInfo to *out / *outlen.
 * Whether the certificate is trusted and belongs to the watcher is the
 * caller's business. NS_CMS_ERR_RECIPIENT_CERT when the certificate can't
 * be used.
 */
int ns_cms_encrypt(const unsigned char *in, size_t inlen, X509 *rcpt,
		const ns_cms_opts_t *opts, unsigned char **out, size_t *outlen,
		char *err, size_t errlen);

/*
 * Decrypts an EnvelopedData or AuthEnvelopedData addressed to `cert`, with
 * `key`, into *out / *outlen (NUL terminated, the NUL not counted).
 * `type` (may be NULL) tells which of the two it was, so the caller knows
 * whether the content was integrity protected. Errors, in the order they
 * are checked: PARSE (incl. trailing bytes after the DER), TYPE (not
 * enveloped), INTEGRITY (GCM tag shorter than NS_CMS_GCM_TAG_MIN),
 * KEY_MISMATCH (key is not cert's), NO_RECIPIENT (no RecipientInfo names
 * cert), DECRYPT (key unwrap failed: ECDH; or EnvelopedData content did not
 * decrypt), INTEGRITY (AuthEnvelopedData tag wrong), UNSUPPORTED (content
 * cipher unknown), TOO_BIG (plaintext longer than `max`).
 *
 * RSA PKCS#1 v1.5 key transport: a key that fails to unwrap is not
 * reported as such (Bleichenbacher); OpenSSL goes on with a random key,
 * so EnvelopedData ends in DECRYPT, or rarely in garbage that decrypts: an
 * EnvelopedData has no integrity, the caller's MIME parser must cope.
 * AuthEnvelopedData ends in INTEGRITY. Nothing of the plaintext is
 * released unless the whole content decrypted (and its tag verified).
 * The plaintext is never longer than the input, so `len` bounds the
 * memory used; every copy of plaintext this file makes is wiped when
 * freed, including the one of a refused (TOO_BIG, INTEGRITY) content.
 */
int ns_cms_decrypt(const unsigned char *der, size_t len, X509 *cert,
		EVP_PKEY *key, size_t max, unsigned char **out, size_t *outlen,
		ns_cms_type_t *type, char *err, size_t errlen);

/*
 * Signs the MIME entity `in` with `cert`/`key`: a detached SignedData,
 * SHA-256, signed attributes (content type, signing time, message digest,
 * S/MIME capabilities), `cert` and then `chain` (may be NULL; the
 * intermediates a verifier needs, duplicates skipped) in the certificates.
 * DER to *out / *outlen, the application/pkcs7-signature part of a
 * multipart/signed whose first part is exactly `in`.
 */
int ns_cms_sign(const unsigned char *in, size_t inlen, X509 *cert,
		EVP_PKEY *key, STACK_OF(X509) * chain, unsigned char **out,
		size_t *outlen, char *err, size_t errlen);

/*
 * Verifies a detached SignedData `sig` over `content` (exactly the bytes
 * signed): every signer's signature and its certificate chain to `store`
 * (purpose smime_sign unless the store's parameters say otherwise; the
 * certificates in the message are the untrusted intermediates). On success
 * *signer (may be NULL) is the first signer's certificate, up-referenced:
 * X509_free it. Errors: PARSE, TYPE (not signed-data, or content not
 * detached), NO_SIGNER, UNTRUSTED, BAD_SIGNATURE.
 */
int ns_cms_verify_detached(const unsigned char *sig, size_t siglen,
		const unsigned char *content, size_t contentlen, X509_STORE *store,
		X509 **signer, char *err, size_t errlen);

/*
 * certs-only (RFC 8551 3.6): a SignedData without signers or content that
 * carries `cert` and `chain` (may be NULL; duplicates skipped). The
 * server's certificate in a 493 response (RFC 3261 23.2).
 */
int ns_cms_certs_only_build(X509 *cert, STACK_OF(X509) * chain,
		unsigned char **out, size_t *outlen, char *err, size_t errlen);

/*
 * Parses a certs-only message into *certs: sk_X509_pop_free(*certs,
 * X509_free). The certificates are a SET OF, in no meaningful order (DER
 * sorts them by encoding): which one is the sender's is the caller's call.
 * TYPE when it is not a SignedData without signers, NO_CERTS when it
 * holds no certificate.
 */
int ns_cms_certs_only_parse(const unsigned char *der, size_t len,
		STACK_OF(X509) * *certs, char *err, size_t errlen);

/* What a DER/BER CMS is; NS_CMS_ERR_PARSE when it is no CMS. */
int ns_cms_content_type(
		const unsigned char *der, size_t len, ns_cms_type_t *type);

/*
 * Loads the first certificate of a PEM (or DER) file into *cert and, when
 * `chain` is not NULL, the PEM certificates that follow it into *chain
 * (empty stack when none). FILE, PARSE.
 */
int ns_cms_load_cert(const char *path, X509 **cert, STACK_OF(X509) * *chain,
		char *err, size_t errlen);

/*
 * Loads a PEM private key (PKCS#8, encrypted PKCS#8 or a traditional
 * encrypted PEM) into *key. `passphrase` may be NULL: an encrypted key
 * then fails with PASSPHRASE; never prompted for on a terminal. FILE,
 * PARSE, PASSPHRASE (wrong or missing).
 */
int ns_cms_load_key(const char *path, const char *passphrase, EVP_PKEY **key,
		char *err, size_t errlen);

/* NS_CMS_OK when `key` is the private key of `cert`, else
 * NS_CMS_ERR_KEY_MISMATCH (NS_CMS_ERR_ARG for NULL). */
int ns_cms_key_matches_cert(X509 *cert, EVP_PKEY *key);

#endif /* _NOTIFY_SMIME_CMS_H_ */
