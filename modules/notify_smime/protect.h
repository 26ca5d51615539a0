/*
 * notify_smime: a SIP body protected and unprotected as a whole, RFC 3261
 * 23 and RFC 8551: the body and its Content-Type become a MIME entity,
 * optionally signed (multipart/signed, SHA-256), optionally encrypted to
 * one certificate (application/pkcs7-mime), and the reverse for bodies
 * sent to the server. Pure logic on cms.c and mime.c, no Kamailio headers:
 * the module's NOTIFY and PUBLISH paths are these two functions.
 */
#ifndef _NOTIFY_SMIME_PROTECT_H_
#define _NOTIFY_SMIME_PROTECT_H_

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cms.h"

/* Longest Content-Type value handed out (multipart/signed with a
 * boundary, or application/pkcs7-mime with its parameters). */
#define NS_PROTECT_CTYPE_MAX 160

/* What to do with a body. */
typedef struct ns_protect_in
{
	const char *ctype; /* the body's Content-Type value, one line */
	size_t ctype_len;
	const char *body;
	size_t body_len;
	X509 *rcpt;					 /* encrypt to this certificate; NULL: don't */
	const ns_cms_opts_t *opts;	 /* encryption options; NULL: defaults */
	X509 *sign_cert;			 /* sign with this certificate and key; */
	EVP_PKEY *sign_key;			 /* NULL: don't */
	STACK_OF(X509) * sign_chain; /* intermediates sent along; may be NULL */
} ns_protect_in_t;

/* The protected body. Free with ns_protect_out_free(). */
typedef struct ns_protect_out
{
	unsigned char *body; /* OPENSSL_malloc'd */
	size_t len;
	char ctype[NS_PROTECT_CTYPE_MAX]; /* the new Content-Type value */
	/* the Content-Disposition value to set, or NULL (signed only: none) */
	const char *disposition;
	int encrypted;
	int signed_;
} ns_protect_out_t;

void ns_protect_out_free(ns_protect_out_t *out);

/*
 * Protects in->body: signs when sign_cert/sign_key are given, then
 * encrypts when rcpt is given (signed-then-encrypted with both). At least
 * one of the two must be asked for (NS_CMS_ERR_ARG otherwise). Returns
 * NS_CMS_OK, a negative ns_cms_rc_t, or NS_PROTECT_ERR_MIME when the body
 * or its Content-Type cannot be made into a MIME entity.
 */
int ns_protect(const ns_protect_in_t *in, ns_protect_out_t *out, char *err,
		size_t errlen);

#define NS_PROTECT_ERR_MIME (-100)

/* Keys and trust of the server, for ns_unprotect(). */
typedef struct ns_unprotect_keys
{
	X509 *cert;		 /* the server's certificate, */
	EVP_PKEY *key;	 /* and key: decrypt (NULL: encrypted bodies fail) */
	X509_STORE *cas; /* verify signatures (NULL: signed bodies fail) */
	size_t max;		 /* longest plaintext accepted */
} ns_unprotect_keys_t;

/* A body as it came, and what it was. */
typedef enum ns_unprotect_rc
{
	NS_UNPROTECT_PLAIN = 0,			   /* not S/MIME: left as it is */
	NS_UNPROTECT_OK = 1,			   /* unwrapped: out holds the content */
	NS_UNPROTECT_ERR_MIME = -1,		   /* a MIME layer is malformed */
	NS_UNPROTECT_ERR_DECRYPT = -2,	   /* cannot decrypt (not for us, bad) */
	NS_UNPROTECT_ERR_SIGNATURE = -3,   /* a signature does not verify */
	NS_UNPROTECT_ERR_UNSUPPORTED = -4, /* an S/MIME type we do not take */
	NS_UNPROTECT_ERR_NESTING = -5,	   /* more layers than allowed */
	NS_UNPROTECT_ERR_INTERNAL = -6	   /* memory, OpenSSL */
} ns_unprotect_rc_t;

/* Layers peeled at most (encrypted, signed, and one more of either). */
#define NS_UNPROTECT_MAX_LAYERS 3

typedef struct ns_unprotect_out
{
	/* the innermost content and its Content-Type (NUL-terminated) */
	unsigned char *body; /* OPENSSL_malloc'd, NUL-terminated */
	size_t len;
	char ctype[NS_PROTECT_CTYPE_MAX * 4];
	int was_encrypted;
	int was_signed;
	/* the signer's certificate of the innermost signature (a reference) */
	X509 *signer;
	/* certificates of a certs-only body (the content then is empty) */
	STACK_OF(X509) * certs;
} ns_unprotect_out_t;

void ns_unprotect_out_free(ns_unprotect_out_t *out);

/*
 * Peels S/MIME layers off a body with Content-Type `ctype`:
 * application/pkcs7-mime enveloped-data or authEnveloped-data is decrypted
 * with keys->key, multipart/signed is verified against keys->cas (the
 * signer kept), application/pkcs7-mime certs-only gives its certificates,
 * until a body that is none of these remains. Any other smime-type is
 * NS_UNPROTECT_ERR_UNSUPPORTED. A body that is not S/MIME at all is
 * NS_UNPROTECT_PLAIN and `out` stays empty. `err` receives the reason of a
 * failure for the log (no plaintext, no key material).
 */
int ns_unprotect(const char *ctype, size_t ctype_len, const char *body,
		size_t body_len, const ns_unprotect_keys_t *keys,
		ns_unprotect_out_t *out, char *err, size_t errlen);

const char *ns_unprotect_strerror(int rc);

#endif /* _NOTIFY_SMIME_PROTECT_H_ */
