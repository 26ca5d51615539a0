/*
 * notify_smime: is a watcher's certificate usable to encrypt presence to
 * that watcher (RFC 3261 23.2, RFC 8550, RFC 5280)? Pure logic on OpenSSL
 * 3, no Kamailio headers.
 *
 * A certificate is usable when all of these hold, checked in this order:
 *  - its public key is RSA of at least NS_CERT_RSA_MIN_BITS bits (key
 *    transport) or EC (key agreement); RSA-PSS, Ed25519 and others cannot
 *    receive a CMS enveloped-data and are refused;
 *  - `now` lies within its notBefore/notAfter;
 *  - it chains to the configured CA set at time `now` (X509_verify_cert
 *    with the store's own flags, purpose "any": the leaf's key usage and
 *    extended key usage are checked here instead, so that an EC
 *    keyAgreement certificate is not refused by OpenSSL's S/MIME-encrypt
 *    purpose, which wants keyEncipherment);
 *  - a keyUsage extension, when present, allows keyEncipherment (RSA) or
 *    keyAgreement without encipherOnly (EC); absent means any (RFC 5280);
 *  - an extendedKeyUsage extension, when present, holds emailProtection
 *    or anyExtendedKeyUsage (RFC 8550 4.4.4);
 *  - its subjectAltName holds a sip: or sips: URI equal to the identity
 *    under ns_cert_uri_canon(); an email, DNS or other name is not enough
 *    (RFC 3261 23.2), and the subject's CN is never looked at.
 * Revocation is checked only when the store says so (its flags and CRLs).
 */
#ifndef _NOTIFY_SMIME_CERT_H_
#define _NOTIFY_SMIME_CERT_H_

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

/* Smallest RSA modulus accepted for a recipient. */
#define NS_CERT_RSA_MIN_BITS 2048

/* Longest canonical SIP URI compared (identity and SAN alike). */
#define NS_CERT_URI_MAX 1024

/* Return codes: 0 usable, a negative value says which check failed. */
typedef enum ns_cert_rc
{
	NS_CERT_OK = 0,
	NS_CERT_ERR_ARG = -1,			/* NULL or invalid argument */
	NS_CERT_ERR_IDENTITY = -2,		/* identity is no well-formed SIP URI */
	NS_CERT_ERR_MALFORMED = -3,		/* undecodable key, times, extensions */
	NS_CERT_ERR_KEY_TYPE = -4,		/* neither RSA >= min bits nor EC */
	NS_CERT_ERR_NOT_YET_VALID = -5, /* now < notBefore (in the chain) */
	NS_CERT_ERR_EXPIRED = -6,		/* now > notAfter (in the chain) */
	NS_CERT_ERR_UNTRUSTED = -7,		/* does not chain to the CA set */
	NS_CERT_ERR_KEY_USAGE = -8,		/* keyUsage forbids the key's use */
	NS_CERT_ERR_EXT_KEY_USAGE = -9, /* extKeyUsage without S/MIME */
	NS_CERT_ERR_NO_SAN = -10,		/* no subjectAltName at all */
	NS_CERT_ERR_NO_SIP_URI = -11,	/* subjectAltName has no sip/sips URI */
	NS_CERT_ERR_URI_MISMATCH = -12, /* no SAN URI is the identity */
	NS_CERT_ERR_CRYPTO = -13,		/* OpenSSL failed (memory, internal) */
	NS_CERT_ERR_LOAD = -14			/* CA file or directory not loadable */
} ns_cert_rc_t;

/* A short English text for a return code, for the log. */
const char *ns_cert_strerror(int rc);

/*
 * Is `cert` usable to encrypt to the watcher `identity` (`len` bytes, the
 * SIP URI the policy was evaluated on; a name-addr is accepted) at time
 * `now`, with `cas` the trusted CA set? Returns NS_CERT_OK or the reason;
 * *reason_out (may be NULL) receives the same value.
 *
 * OpenSSL's error queue is cleared first. After NS_CERT_OK and after a
 * refusal for a reason in the certificate it is empty; after
 * NS_CERT_ERR_MALFORMED or NS_CERT_ERR_CRYPTO it holds the library's
 * reasons, for the caller to log and drain.
 */
int ns_cert_check(X509 *cert, X509_STORE *cas, const char *identity, size_t len,
		time_t now, int *reason_out);

/*
 * ns_cert_check() with intermediate certificates the watcher supplied
 * (`untrusted`, may be NULL; never trusted by themselves) and the detail
 * of a chain failure: *verify_err_out (may be NULL) receives the
 * X509_V_ERR_* code (X509_V_OK when the chain was not the problem), for
 * X509_verify_cert_error_string() in the log.
 */
int ns_cert_check_ex(X509 *cert, STACK_OF(X509) * untrusted, X509_STORE *cas,
		const char *identity, size_t len, time_t now, int *reason_out,
		int *verify_err_out);

/*
 * Canonical form of a SIP identity, lib/sip_canon.c as watcher_auth's
 * wa_policy_uri_canon() uses it: "sip:" user "@" host, sips written as sip, the
 * user percent-decoded (bytes that may not stand unescaped stay escaped,
 * hex in upper case) and case-sensitive, the host lowercased and a
 * trailing dot dropped (an empty label is malformed: "a..b", "a.."), port,
 * parameters and headers dropped (a userinfo
 * with a password is malformed, as there). A display name and <...> around the URI and surrounding
 * whitespace are accepted. Writes a NUL-terminated string; returns its
 * length, or -1 when the URI is malformed, not sip/sips, or does not fit.
 */
int ns_cert_uri_canon(const char *uri, size_t len, char *out, size_t size);

/*
 * One line for an operator (RPC): subject and issuer (RFC 2253, quoted,
 * non-ASCII and controls escaped), notBefore, notAfter (UTC, ISO 8601),
 * key type and size, and the subjectAltName URIs and emails. snprintf
 * semantics: returns the length of the full line (truncated output is
 * NUL-terminated when size > 0), -1 on error.
 */
int ns_cert_describe(X509 *cert, char *buf, size_t size);

/*
 * A new CA set from a PEM file (one or more certificates, CRLs allowed)
 * and/or every regular file of a directory (not hidden files; each must
 * be PEM). Certificates are read now, not lazily at verification time, so
 * the store is complete and read-only once built (build it outside any
 * lock, then swap). At least one of `file`, `dir` must be given (non-NULL,
 * non-empty). Returns the number of certificates in the store (>= 1) and
 * *out, or NS_CERT_ERR_ARG / NS_CERT_ERR_LOAD / NS_CERT_ERR_CRYPTO with a
 * text naming the file and the reason in `err` (NUL-terminated, may be
 * NULL); the error queue is drained then.
 */
int ns_cert_store_load(const char *file, const char *dir, X509_STORE **out,
		char *err, size_t errsize);

/* Longest PEM accepted by ns_cert_from_pem() and the hex SHA-256
 * fingerprint's length. */
#define NS_CERT_PEM_MAX 16384
#define NS_CERT_FP_LEN 64

/* The first certificate of a PEM text (`len` bytes, not necessarily
 * NUL-terminated) into *out (X509_free it). NS_CERT_OK, ERR_ARG,
 * ERR_MALFORMED or ERR_CRYPTO; the error queue is left empty. */
int ns_cert_from_pem(const char *pem, size_t len, X509 **out);

/* `cert` as PEM into out (NUL-terminated): its length, or a negative
 * ns_cert_rc_t (ERR_ARG also when it does not fit). */
int ns_cert_to_pem(X509 *cert, char *out, size_t size);

/* The SHA-256 fingerprint of the DER, lowercase hex, NUL-terminated into
 * hex (size > NS_CERT_FP_LEN): the key of a certificate in caches and in
 * the binding table. */
int ns_cert_fingerprint(X509 *cert, char *hex, size_t size);

#endif /* _NOTIFY_SMIME_CERT_H_ */
