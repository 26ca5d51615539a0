/*
 * notify_smime: the CMS layer (see cms.h).
 *
 * OpenSSL habits, as in OpenSSL's apps/cms.c: CMS_encrypt with CMS_PARTIAL,
 * one recipient added with CMS_KEY_PARAM so its key context can be tuned,
 * then CMS_final; decryption in two steps (CMS_decrypt_set1_pkey, then
 * CMS_decrypt without a key) so that a missing recipient and a failed
 * content decryption are told apart. Every public function clears the error
 * queue on entry and drains it into `err` on failure; on success it leaves
 * the queue as empty as it found it (tries that may fail are fenced with
 * ERR_set_mark / ERR_pop_to_mark).
 */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cms.h"
#include "envelope.h"

/* The error codes kept from a drained queue, for classification. */
#define _NS_CMS_ERRQ_MAX 16

typedef struct _ns_cms_errq
{
	unsigned long code[_NS_CMS_ERRQ_MAX];
	int n;
} _ns_cms_errq_t;

enum _ns_cms_kind
{
	_NS_CMS_KIND_RSA = 1,
	_NS_CMS_KIND_EC
};

static const char *const _ns_cms_cipher_names[NS_CMS_CIPHER_COUNT] = {
		"aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"};
static const char *const _ns_cms_pad_names[NS_CMS_RSA_PAD_COUNT] = {
		"pkcs1", "oaep", "oaep-sha256"};
static const char *const _ns_cms_kdf_names[NS_CMS_KDF_COUNT] = {
		"sha256", "sha1"};

const char *ns_cms_strerror(int rc)
{
	switch(rc) {
		case NS_CMS_OK:
			return "ok";
		case NS_CMS_ERR_ARG:
			return "invalid argument";
		case NS_CMS_ERR_CRYPTO:
			return "crypto library failure";
		case NS_CMS_ERR_PARSE:
			return "not a CMS structure (garbage, truncated or trailing "
				   "bytes)";
		case NS_CMS_ERR_TYPE:
			return "wrong kind of CMS content";
		case NS_CMS_ERR_UNSUPPORTED:
			return "unsupported algorithm";
		case NS_CMS_ERR_RECIPIENT_CERT:
			return "recipient certificate unusable for encryption";
		case NS_CMS_ERR_NO_RECIPIENT:
			return "not encrypted to this certificate";
		case NS_CMS_ERR_KEY_MISMATCH:
			return "private key does not belong to the certificate";
		case NS_CMS_ERR_DECRYPT:
			return "decryption failed";
		case NS_CMS_ERR_INTEGRITY:
			return "authenticated content failed its integrity check";
		case NS_CMS_ERR_TOO_BIG:
			return "decrypted content too big";
		case NS_CMS_ERR_NO_SIGNER:
			return "no signer or signer certificate not found";
		case NS_CMS_ERR_BAD_SIGNATURE:
			return "signature does not verify";
		case NS_CMS_ERR_UNTRUSTED:
			return "signer certificate not trusted";
		case NS_CMS_ERR_NO_CERTS:
			return "no certificates";
		case NS_CMS_ERR_FILE:
			return "file cannot be read";
		case NS_CMS_ERR_PASSPHRASE:
			return "wrong or missing passphrase";
	}
	return "unknown error";
}

static int _ns_cms_name_parse(
		const char *name, const char *const *names, int n, int *idx)
{
	int i;

	if(name == NULL || idx == NULL)
		return NS_CMS_ERR_ARG;
	for(i = 0; i < n; i++) {
		if(strcasecmp(name, names[i]) == 0) {
			*idx = i;
			return NS_CMS_OK;
		}
	}
	return NS_CMS_ERR_ARG;
}

int ns_cms_cipher_parse(const char *name, ns_cms_cipher_t *cipher)
{
	int i = 0, rc;

	rc = _ns_cms_name_parse(name, _ns_cms_cipher_names, NS_CMS_CIPHER_COUNT,
			cipher != NULL ? &i : NULL);
	if(rc == NS_CMS_OK)
		*cipher = (ns_cms_cipher_t)i;
	return rc;
}

int ns_cms_rsa_pad_parse(const char *name, ns_cms_rsa_pad_t *pad)
{
	int i = 0, rc;

	rc = _ns_cms_name_parse(name, _ns_cms_pad_names, NS_CMS_RSA_PAD_COUNT,
			pad != NULL ? &i : NULL);
	if(rc == NS_CMS_OK)
		*pad = (ns_cms_rsa_pad_t)i;
	return rc;
}

int ns_cms_ecdh_kdf_parse(const char *name, ns_cms_ecdh_kdf_t *kdf)
{
	int i = 0, rc;

	rc = _ns_cms_name_parse(
			name, _ns_cms_kdf_names, NS_CMS_KDF_COUNT, kdf != NULL ? &i : NULL);
	if(rc == NS_CMS_OK)
		*kdf = (ns_cms_ecdh_kdf_t)i;
	return rc;
}

void ns_cms_free(void *buf, size_t len)
{
	if(buf != NULL)
		OPENSSL_clear_free(buf, len);
}

/* Appends one line of text to err, "; " between lines; never overflows. */
static void _ns_cms_err_add(char *err, size_t errlen, const char *s)
{
	size_t n;

	if(err == NULL || errlen == 0)
		return;
	n = strnlen(err, errlen - 1);
	if(n + 1 >= errlen)
		return;
	snprintf(err + n, errlen - n, "%s%s", n > 0 ? "; " : "", s);
}

/* Empties the error queue, oldest first, into err and into q (either may
 * be NULL). */
static void _ns_cms_drain(_ns_cms_errq_t *q, char *err, size_t errlen)
{
	char line[256], both[384];
	const char *data = NULL;
	unsigned long e;
	int flags = 0;

	if(q != NULL)
		q->n = 0;
	while((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if(q != NULL && q->n < _NS_CMS_ERRQ_MAX)
			q->code[q->n++] = e;
		ERR_error_string_n(e, line, sizeof(line));
		if(data != NULL && (flags & ERR_TXT_STRING) && data[0] != '\0') {
			snprintf(both, sizeof(both), "%s (%s)", line, data);
			_ns_cms_err_add(err, errlen, both);
		} else {
			_ns_cms_err_add(err, errlen, line);
		}
	}
}

static int _ns_cms_errq_has(const _ns_cms_errq_t *q, int lib, int reason)
{
	int i;

	for(i = 0; i < q->n; i++) {
		if(ERR_GET_LIB(q->code[i]) == lib
				&& ERR_GET_REASON(q->code[i]) == reason)
			return 1;
	}
	return 0;
}

/* Our own reason for a failure, when OpenSSL gave none. */
static void _ns_cms_err_set(char *err, size_t errlen, const char *s)
{
	if(err != NULL && errlen > 0 && err[0] == '\0')
		_ns_cms_err_add(err, errlen, s);
}

/* The end of a failed call: the rest of the queue into err, or the text of
 * rc when there is no text yet. */
static int _ns_cms_fail(int rc, char *err, size_t errlen)
{
	_ns_cms_drain(NULL, err, errlen);
	_ns_cms_err_set(err, errlen, ns_cms_strerror(rc));
	return rc;
}

static void _ns_cms_begin(char *err, size_t errlen)
{
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	ERR_clear_error();
}

/* d2i of exactly `len` bytes: a CMS followed by anything is refused. */
static int _ns_cms_parse(const unsigned char *der, size_t len,
		CMS_ContentInfo **cms, char *err, size_t errlen)
{
	const unsigned char *p = der;
	char why[64];

	*cms = NULL;
	if(len == 0 || len > LONG_MAX)
		return NS_CMS_ERR_PARSE;
	*cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if(*cms == NULL)
		return NS_CMS_ERR_PARSE;
	if(p != der + len) {
		CMS_ContentInfo_free(*cms);
		*cms = NULL;
		snprintf(why, sizeof(why), "%zu bytes after the CMS",
				(size_t)(der + len - p));
		_ns_cms_err_set(err, errlen, why);
		return NS_CMS_ERR_PARSE;
	}
	return NS_CMS_OK;
}

/* DER out of a CMS: *out allocated by i2d (OPENSSL_malloc). */
static int _ns_cms_to_der(
		CMS_ContentInfo *cms, unsigned char **out, size_t *outlen)
{
	int n;

	*out = NULL;
	n = i2d_CMS_ContentInfo(cms, out);
	if(n <= 0) {
		OPENSSL_free(*out);
		*out = NULL;
		return NS_CMS_ERR_CRYPTO;
	}
	*outlen = (size_t)n;
	return NS_CMS_OK;
}

static BIO *_ns_cms_mem_bio(const unsigned char *in, size_t inlen)
{
	/* BIO_new_mem_buf refuses NULL even for an empty buffer */
	return BIO_new_mem_buf(inlen > 0 ? (const void *)in : "", (int)inlen);
}

static const EVP_CIPHER *_ns_cms_cipher(ns_cms_cipher_t c)
{
	switch(c) {
		case NS_CMS_AES128_CBC:
			return EVP_aes_128_cbc();
		case NS_CMS_AES256_CBC:
			return EVP_aes_256_cbc();
		case NS_CMS_AES128_GCM:
			return EVP_aes_128_gcm();
		case NS_CMS_AES256_GCM:
			return EVP_aes_256_gcm();
		default:
			return NULL;
	}
}

/* The recipient's key is one we encrypt to, and its keyUsage allows it
 * (RFC 8551 4.4.2; no extension: any use). */
static int _ns_cms_rcpt_check(
		X509 *cert, enum _ns_cms_kind *kind, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	uint32_t need;
	int min;

	pk = X509_get0_pubkey(cert);
	if(pk == NULL) {
		_ns_cms_drain(NULL, err, errlen);
		_ns_cms_err_set(err, errlen, "certificate public key unreadable");
		return NS_CMS_ERR_RECIPIENT_CERT;
	}
	if(EVP_PKEY_is_a(pk, "RSA")) {
		*kind = _NS_CMS_KIND_RSA;
		min = NS_CMS_RSA_MIN_BITS;
		need = KU_KEY_ENCIPHERMENT;
	} else if(EVP_PKEY_is_a(pk, "EC")) {
		*kind = _NS_CMS_KIND_EC;
		min = NS_CMS_EC_MIN_BITS;
		need = KU_KEY_AGREEMENT;
	} else {
		_ns_cms_err_set(err, errlen,
				"certificate key is neither RSA nor EC: not supported");
		return NS_CMS_ERR_RECIPIENT_CERT;
	}
	if(EVP_PKEY_get_bits(pk) < min) {
		_ns_cms_err_set(err, errlen, "certificate key too small");
		return NS_CMS_ERR_RECIPIENT_CERT;
	}
	if(X509_get_extension_flags(cert) & EXFLAG_INVALID) {
		_ns_cms_drain(NULL, err, errlen);
		_ns_cms_err_set(err, errlen, "certificate extensions invalid");
		return NS_CMS_ERR_RECIPIENT_CERT;
	}
	/* UINT32_MAX when the certificate has no keyUsage */
	if((X509_get_key_usage(cert) & need) == 0) {
		_ns_cms_err_set(err, errlen,
				*kind == _NS_CMS_KIND_RSA
						? "certificate keyUsage lacks keyEncipherment"
						: "certificate keyUsage lacks keyAgreement");
		return NS_CMS_ERR_RECIPIENT_CERT;
	}
	return NS_CMS_OK;
}

/* Padding or KDF of the one recipient, on the key context CMS_KEY_PARAM
 * left open; the algorithm identifiers follow from it at CMS_final. */
static int _ns_cms_rcpt_params(
		EVP_PKEY_CTX *pctx, enum _ns_cms_kind kind, const ns_cms_opts_t *opts)
{
	if(kind == _NS_CMS_KIND_EC)
		return EVP_PKEY_CTX_set_ecdh_kdf_md(
					   pctx, opts->ecdh_kdf == NS_CMS_KDF_SHA1 ? EVP_sha1()
															   : EVP_sha256())
			   == 1;
	if(opts->rsa_pad == NS_CMS_RSA_PKCS1)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	if(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1)
		return 0;
	if(opts->rsa_pad == NS_CMS_RSA_OAEP_SHA256
			&& (EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) != 1
					|| EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		return 0;
	return 1;
}

static int _ns_cms_direct = 1;

void ns_cms_set_direct(int on)
{
	_ns_cms_direct = on != 0;
}

int ns_cms_encrypt(const unsigned char *in, size_t inlen, X509 *rcpt,
		const ns_cms_opts_t *opts, unsigned char **out, size_t *outlen,
		char *err, size_t errlen)
{
	static const ns_cms_opts_t defaults = {
			NS_CMS_AES128_CBC, NS_CMS_RSA_PKCS1, NS_CMS_KDF_SHA256};
	const unsigned int flags = CMS_PARTIAL | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	const EVP_CIPHER *cipher;
	enum _ns_cms_kind kind;
	BIO *bin = NULL;
	int ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(out != NULL)
		*out = NULL;
	if(outlen != NULL)
		*outlen = 0;
	if(opts == NULL)
		opts = &defaults;
	if((in == NULL && inlen > 0) || inlen > INT_MAX || rcpt == NULL
			|| out == NULL || outlen == NULL)
		goto out;
	cipher = _ns_cms_cipher(opts->cipher);
	if(cipher == NULL || (unsigned int)opts->rsa_pad >= NS_CMS_RSA_PAD_COUNT
			|| (unsigned int)opts->ecdh_kdf >= NS_CMS_KDF_COUNT)
		goto out;
	ret = _ns_cms_rcpt_check(rcpt, &kind, err, errlen);
	if(ret != NS_CMS_OK)
		goto out;
	/* RSA with PKCS#1 v1.5 (the default): the same structure, written
	 * directly (envelope.h) */
	if(kind == _NS_CMS_KIND_RSA && opts->rsa_pad == NS_CMS_RSA_PKCS1
			&& _ns_cms_direct) {
		switch(ns_env_encrypt(
				in, inlen, rcpt, (int)opts->cipher, out, outlen)) {
			case 0:
				ret = NS_CMS_OK;
				break;
			case -2:
				ret = NS_CMS_ERR_ARG;
				break;
			default:
				ret = NS_CMS_ERR_CRYPTO;
		}
		goto out;
	}

	ret = NS_CMS_ERR_CRYPTO;
	bin = _ns_cms_mem_bio(in, inlen);
	if(bin == NULL)
		goto out;
	/* an empty EnvelopedData, or AuthEnvelopedData for an AEAD cipher,
	 * still open for its recipient */
	cms = CMS_encrypt(NULL, NULL, cipher, flags);
	if(cms == NULL)
		goto out;
	/* rcpt and its public key up-referenced by the RecipientInfo, which
	 * cms owns */
	ri = CMS_add1_recipient_cert(cms, rcpt, CMS_KEY_PARAM);
	if(ri == NULL)
		goto out;
	pctx = CMS_RecipientInfo_get0_pkey_ctx(ri); /* owned by ri */
	if(pctx == NULL || !_ns_cms_rcpt_params(pctx, kind, opts))
		goto out;
	if(CMS_final(cms, bin, NULL, flags) != 1)
		goto out;
	ret = _ns_cms_to_der(cms, out, outlen);
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	CMS_ContentInfo_free(cms);
	BIO_free(bin);
	return ret;
}

/* The header of the DER TLV at *p, which must end by `end`; *p moves to
 * its contents. Indefinite lengths are refused (the input is DER). */
static int _ns_cms_tlv(const unsigned char **p, const unsigned char *end,
		int *tag, int *cls, int *cons, long *clen)
{
	const unsigned char *q = *p;
	int r;

	if(q >= end)
		return 0;
	r = ASN1_get_object(&q, clen, tag, cls, (long)(end - q));
	if((r & 0x80) || (r & 0x01))
		return 0;
	*cons = (r & V_ASN1_CONSTRUCTED) != 0;
	*p = q;
	return 1;
}

/*
 * The length of the mac of an AuthEnvelopedData: the one universal OCTET
 * STRING among its fields (RFC 5083 2.1), found on a DER re-encoding of the
 * parsed structure so that BER input is handled too. -1 when not found.
 */
static long _ns_cms_mac_len(CMS_ContentInfo *cms)
{
	unsigned char *der = NULL;
	const unsigned char *p, *end;
	long clen, maclen = -1;
	int n, tag, cls, cons;

	n = i2d_CMS_ContentInfo(cms, &der);
	if(n <= 0)
		goto out;
	p = der;
	end = der + n;
	/* ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content } */
	if(!_ns_cms_tlv(&p, end, &tag, &cls, &cons, &clen)
			|| tag != V_ASN1_SEQUENCE)
		goto out;
	end = p + clen;
	if(!_ns_cms_tlv(&p, end, &tag, &cls, &cons, &clen) || tag != V_ASN1_OBJECT)
		goto out;
	p += clen;
	if(!_ns_cms_tlv(&p, end, &tag, &cls, &cons, &clen)
			|| cls != V_ASN1_CONTEXT_SPECIFIC || tag != 0)
		goto out;
	end = p + clen;
	if(!_ns_cms_tlv(&p, end, &tag, &cls, &cons, &clen)
			|| tag != V_ASN1_SEQUENCE)
		goto out;
	end = p + clen;
	while(p < end) {
		if(!_ns_cms_tlv(&p, end, &tag, &cls, &cons, &clen))
			goto out;
		if(cls == V_ASN1_UNIVERSAL && tag == V_ASN1_OCTET_STRING && !cons) {
			maclen = clen;
			break;
		}
		p += clen;
	}
out:
	OPENSSL_free(der);
	return maclen;
}

/* A RecipientInfo of cms names cert (issuer and serial, or subject key
 * identifier): key transport, or one key of a key agreement. */
static int _ns_cms_names_recipient(CMS_ContentInfo *cms, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) * ris;
	STACK_OF(CMS_RecipientEncryptedKey) * reks;
	CMS_RecipientInfo *ri;
	int i, j;

	ris = CMS_get0_RecipientInfos(cms);
	for(i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		switch(CMS_RecipientInfo_type(ri)) {
			case CMS_RECIPINFO_TRANS:
				if(CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
					return 1;
				break;
			case CMS_RECIPINFO_AGREE:
				reks = CMS_RecipientInfo_kari_get0_reks(ri);
				for(j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); j++) {
					if(CMS_RecipientEncryptedKey_cert_cmp(
							   sk_CMS_RecipientEncryptedKey_value(reks, j),
							   cert)
							== 0)
						return 1;
				}
				break;
		}
	}
	return 0;
}

int ns_cms_decrypt(const unsigned char *der, size_t len, X509 *cert,
		EVP_PKEY *key, size_t max, unsigned char **out, size_t *outlen,
		ns_cms_type_t *type, char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	_ns_cms_errq_t q;
	BIO *sink = NULL;
	BUF_MEM *bm = NULL;
	char why[96];
	long maclen;
	int nid, auth, ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(out != NULL)
		*out = NULL;
	if(outlen != NULL)
		*outlen = 0;
	if(type != NULL)
		*type = NS_CMS_TYPE_OTHER;
	if(der == NULL || cert == NULL || key == NULL || out == NULL
			|| outlen == NULL)
		goto out;

	ret = _ns_cms_parse(der, len, &cms, err, errlen);
	if(ret != NS_CMS_OK)
		goto out;
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if(nid == NID_pkcs7_enveloped) {
		auth = 0;
	} else if(nid == NID_id_smime_ct_authEnvelopedData) {
		auth = 1;
	} else {
		_ns_cms_err_set(err, errlen, "not enveloped-data");
		ret = NS_CMS_ERR_TYPE;
		goto out;
	}
	if(type != NULL)
		*type = auth ? NS_CMS_TYPE_AUTH_ENVELOPED : NS_CMS_TYPE_ENVELOPED;
	if(auth) {
		/* OpenSSL verifies a tag of any length from 4 octets */
		maclen = _ns_cms_mac_len(cms);
		if(maclen < NS_CMS_GCM_TAG_MIN || maclen > NS_CMS_GCM_TAG_MAX) {
			_ns_cms_drain(NULL, NULL, 0);
			if(maclen < 0)
				snprintf(why, sizeof(why), "authentication tag not found");
			else
				snprintf(why, sizeof(why),
						"authentication tag of %ld octets (%d to %d allowed)",
						maclen, NS_CMS_GCM_TAG_MIN, NS_CMS_GCM_TAG_MAX);
			_ns_cms_err_set(err, errlen, why);
			ret = NS_CMS_ERR_INTEGRITY;
			goto out;
		}
	}

	ret = NS_CMS_ERR_KEY_MISMATCH;
	if(X509_check_private_key(cert, key) != 1)
		goto out;

	/* told here, not from OpenSSL's reasons: depending on the 3.0.x
	 * release, a recipient not found raises NO_MATCHING_RECIPIENT or
	 * nothing at all */
	if(!_ns_cms_names_recipient(cms, cert)) {
		_ns_cms_err_set(err, errlen, "no RecipientInfo for the certificate");
		ret = NS_CMS_ERR_NO_RECIPIENT;
		goto out;
	}
	/* the content key from the RecipientInfo that names cert; for RSA
	 * key transport OpenSSL hides an unwrap failure (MMA defence) and
	 * leaves a random key */
	if(CMS_decrypt_set1_pkey(cms, key, cert) != 1) {
		ret = NS_CMS_ERR_DECRYPT;
		goto out;
	}

	ret = NS_CMS_ERR_CRYPTO;
	sink = BIO_new(BIO_s_mem()); /* grows and frees with wiping */
	if(sink == NULL)
		goto out;
	/* no key, no cert: decrypt with the key set above */
	if(CMS_decrypt(cms, NULL, NULL, NULL, sink, CMS_BINARY) != 1) {
		_ns_cms_drain(&q, err, errlen);
		if(_ns_cms_errq_has(&q, ERR_LIB_CMS, CMS_R_UNKNOWN_CIPHER)
				|| _ns_cms_errq_has(&q, ERR_LIB_CMS,
						CMS_R_UNSUPPORTED_CONTENT_ENCRYPTION_ALGORITHM))
			ret = NS_CMS_ERR_UNSUPPORTED;
		else if(_ns_cms_errq_has(&q, ERR_LIB_CMS, CMS_R_NO_CONTENT)
				|| _ns_cms_errq_has(&q, ERR_LIB_CMS,
						CMS_R_CIPHER_PARAMETER_INITIALISATION_ERROR))
			ret = NS_CMS_ERR_PARSE;
		else
			ret = auth ? NS_CMS_ERR_INTEGRITY : NS_CMS_ERR_DECRYPT;
		goto out;
	}
	if(BIO_get_mem_ptr(sink, &bm) != 1 || bm == NULL)
		goto out;
	if(bm->length > max) {
		snprintf(why, sizeof(why),
				"decrypted content of %zu bytes, %zu allowed", bm->length, max);
		_ns_cms_err_set(err, errlen, why);
		ret = NS_CMS_ERR_TOO_BIG;
		goto out;
	}
	*out = OPENSSL_malloc(bm->length + 1);
	if(*out == NULL)
		goto out;
	if(bm->length > 0)
		memcpy(*out, bm->data, bm->length);
	(*out)[bm->length] = '\0';
	*outlen = bm->length;
	ret = NS_CMS_OK;
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	BIO_free(sink); /* BUF_MEM_free wipes the plaintext */
	CMS_ContentInfo_free(cms);
	return ret;
}

int ns_cms_sign(const unsigned char *in, size_t inlen, X509 *cert,
		EVP_PKEY *key, STACK_OF(X509) * chain, unsigned char **out,
		size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	BIO *bin = NULL;
	X509 *x;
	int i, j, dup, ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(out != NULL)
		*out = NULL;
	if(outlen != NULL)
		*outlen = 0;
	if((in == NULL && inlen > 0) || inlen > INT_MAX || cert == NULL
			|| key == NULL || out == NULL || outlen == NULL)
		goto out;
	ret = NS_CMS_ERR_KEY_MISMATCH;
	if(X509_check_private_key(cert, key) != 1)
		goto out;

	ret = NS_CMS_ERR_CRYPTO;
	bin = _ns_cms_mem_bio(in, inlen);
	if(bin == NULL)
		goto out;
	/* an empty detached SignedData, open for its signer */
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if(cms == NULL)
		goto out;
	/* cert and key up-referenced by the SignerInfo, cert also added to the
	 * certificates; the SignerInfo is owned by cms */
	if(CMS_add1_signer(cms, cert, key, EVP_sha256(), 0) == NULL)
		goto out;
	for(i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		dup = X509_cmp(x, cert) == 0;
		for(j = 0; j < i && !dup; j++)
			dup = X509_cmp(x, sk_X509_value(chain, j)) == 0;
		/* CMS_add1_cert refuses a certificate already present */
		if(!dup && CMS_add1_cert(cms, x) != 1) /* x up-referenced */
			goto out;
	}
	if(CMS_final(cms, bin, NULL, flags) != 1)
		goto out;
	ret = _ns_cms_to_der(cms, out, outlen);
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	CMS_ContentInfo_free(cms);
	BIO_free(bin);
	return ret;
}

int ns_cms_verify_detached(const unsigned char *sig, size_t siglen,
		const unsigned char *content, size_t contentlen, X509_STORE *store,
		X509 **signer, char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *signers = NULL;
	_ns_cms_errq_t q;
	BIO *bin = NULL;
	X509 *x;
	int ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(signer != NULL)
		*signer = NULL;
	if(sig == NULL || (content == NULL && contentlen > 0)
			|| contentlen > INT_MAX || store == NULL)
		goto out;

	ret = _ns_cms_parse(sig, siglen, &cms, err, errlen);
	if(ret != NS_CMS_OK)
		goto out;
	ret = NS_CMS_ERR_TYPE;
	if(OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		_ns_cms_err_set(err, errlen, "not signed-data");
		goto out;
	}
	if(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) <= 0) {
		_ns_cms_err_set(err, errlen, "signed-data without signers");
		ret = NS_CMS_ERR_NO_SIGNER;
		goto out;
	}
	if(CMS_is_detached(cms) != 1) {
		_ns_cms_err_set(err, errlen, "signed-data carries its content");
		goto out;
	}

	ret = NS_CMS_ERR_CRYPTO;
	bin = _ns_cms_mem_bio(content, contentlen);
	if(bin == NULL)
		goto out;
	if(CMS_verify(cms, NULL, store, bin, NULL, CMS_BINARY) != 1) {
		_ns_cms_drain(&q, err, errlen);
		if(_ns_cms_errq_has(&q, ERR_LIB_CMS, CMS_R_CERTIFICATE_VERIFY_ERROR))
			ret = NS_CMS_ERR_UNTRUSTED;
		else if(_ns_cms_errq_has(
						&q, ERR_LIB_CMS, CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
				|| _ns_cms_errq_has(&q, ERR_LIB_CMS, CMS_R_NO_SIGNERS))
			ret = NS_CMS_ERR_NO_SIGNER;
		else if(_ns_cms_errq_has(
						&q, ERR_LIB_CMS, CMS_R_UNKNOWN_DIGEST_ALGORITHM))
			ret = NS_CMS_ERR_UNSUPPORTED;
		else
			ret = NS_CMS_ERR_BAD_SIGNATURE;
		goto out;
	}
	if(signer != NULL) {
		/* valid after CMS_verify; a new stack of borrowed certificates */
		signers = CMS_get0_signers(cms);
		x = sk_X509_value(signers, 0);
		if(x == NULL || X509_up_ref(x) != 1)
			goto out;
		*signer = x; /* the caller's reference */
	}
	ret = NS_CMS_OK;
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	sk_X509_free(signers);
	CMS_ContentInfo_free(cms);
	BIO_free(bin);
	return ret;
}

int ns_cms_certs_only_build(X509 *cert, STACK_OF(X509) * chain,
		unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	X509 *x;
	int i, j, dup, ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(out != NULL)
		*out = NULL;
	if(outlen != NULL)
		*outlen = 0;
	if(cert == NULL || out == NULL || outlen == NULL)
		goto out;

	ret = NS_CMS_ERR_CRYPTO;
	/* a SignedData without signers and without content */
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if(cms == NULL)
		goto out;
	if(CMS_add1_cert(cms, cert) != 1) /* cert up-referenced */
		goto out;
	for(i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		dup = X509_cmp(x, cert) == 0;
		for(j = 0; j < i && !dup; j++)
			dup = X509_cmp(x, sk_X509_value(chain, j)) == 0;
		if(!dup && CMS_add1_cert(cms, x) != 1) /* x up-referenced */
			goto out;
	}
	/* no CMS_final: it digests the content for the signers' digest
	 * algorithms, and with none it fails; the structure is complete as it
	 * is (the same DER as `openssl crl2pkcs7 -nocrl`) */
	ret = _ns_cms_to_der(cms, out, outlen);
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	CMS_ContentInfo_free(cms);
	return ret;
}

int ns_cms_certs_only_parse(const unsigned char *der, size_t len,
		STACK_OF(X509) * *certs, char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *sk = NULL;
	int ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(certs != NULL)
		*certs = NULL;
	if(der == NULL || certs == NULL)
		goto out;
	ret = _ns_cms_parse(der, len, &cms, err, errlen);
	if(ret != NS_CMS_OK)
		goto out;
	ret = NS_CMS_ERR_TYPE;
	if(OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		_ns_cms_err_set(err, errlen, "not signed-data");
		goto out;
	}
	if(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 0) {
		_ns_cms_err_set(err, errlen, "signed-data with signers");
		goto out;
	}
	ret = NS_CMS_ERR_NO_CERTS;
	sk = CMS_get1_certs(cms); /* NULL when there are none */
	if(sk_X509_num(sk) <= 0)
		goto out;
	*certs = sk; /* the caller's, certificates up-referenced */
	sk = NULL;
	ret = NS_CMS_OK;
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	sk_X509_pop_free(sk, X509_free);
	CMS_ContentInfo_free(cms);
	return ret;
}

int ns_cms_content_type(
		const unsigned char *der, size_t len, ns_cms_type_t *type)
{
	CMS_ContentInfo *cms = NULL;
	int ret = NS_CMS_ERR_ARG;

	ERR_clear_error();
	if(der == NULL || type == NULL)
		goto out;
	*type = NS_CMS_TYPE_OTHER;
	ret = _ns_cms_parse(der, len, &cms, NULL, 0);
	if(ret != NS_CMS_OK)
		goto out;
	switch(OBJ_obj2nid(CMS_get0_type(cms))) {
		case NID_pkcs7_enveloped:
			*type = NS_CMS_TYPE_ENVELOPED;
			break;
		case NID_id_smime_ct_authEnvelopedData:
			*type = NS_CMS_TYPE_AUTH_ENVELOPED;
			break;
		case NID_pkcs7_signed:
			*type = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) > 0
							? NS_CMS_TYPE_SIGNED
							: NS_CMS_TYPE_CERTS_ONLY;
			break;
	}
out:
	if(ret != NS_CMS_OK)
		ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return ret;
}

/* PEM first; a file with no PEM certificate is read again as DER. */
/* The whole of a small file, OPENSSL_malloc'd and NUL-terminated. */
#define _NS_CMS_FILE_MAX (1024 * 1024)
static unsigned char *_ns_cms_slurp(const char *path, size_t *len)
{
	BIO *bio;
	unsigned char *buf;
	int n;

	*len = 0;
	bio = BIO_new_file(path, "rb");
	if(bio == NULL)
		return NULL;
	buf = OPENSSL_malloc(_NS_CMS_FILE_MAX + 1);
	while(buf != NULL && *len < _NS_CMS_FILE_MAX) {
		n = BIO_read(bio, buf + *len, (int)(_NS_CMS_FILE_MAX - *len));
		if(n <= 0)
			break;
		*len += (size_t)n;
	}
	BIO_free(bio);
	if(buf != NULL)
		buf[*len] = '\0';
	return buf;
}

/* How many PEM certificates a text holds: counted on the text itself, so
 * that the end of the file is never told from an error by OpenSSL's error
 * queue (whose per-thread state is unreliable in a forked process whose
 * allocator OpenSSL shares with Kamailio's tls module). */
static int _ns_cms_pem_count(const unsigned char *buf, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	const unsigned char *p = buf, *end = buf + len, *q;
	int n = 0;

	while(p < end
			&& (q = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1))
					   != NULL) {
		n++;
		p = q + sizeof(begin) - 1;
	}
	return n;
}

int ns_cms_load_cert(const char *path, X509 **cert, STACK_OF(X509) * *chain,
		char *err, size_t errlen)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	X509 *x = NULL, *y;
	unsigned char *buf = NULL;
	const unsigned char *p;
	size_t len = 0;
	int ret = NS_CMS_ERR_ARG, n, i;

	_ns_cms_begin(err, errlen);
	if(cert != NULL)
		*cert = NULL;
	if(chain != NULL)
		*chain = NULL;
	if(path == NULL || cert == NULL)
		goto out;
	ret = NS_CMS_ERR_FILE;
	buf = _ns_cms_slurp(path, &len);
	if(buf == NULL)
		goto out;
	ret = NS_CMS_ERR_PARSE;
	if(len == 0 || len >= _NS_CMS_FILE_MAX)
		goto out;
	n = _ns_cms_pem_count(buf, len);
	if(n == 0) {
		/* not PEM: one DER certificate, nothing after it */
		p = buf;
		x = d2i_X509(NULL, &p, (long)len);
		if(x == NULL || p != buf + len)
			goto out;
	} else {
		bio = BIO_new_mem_buf(buf, (int)len);
		if(bio == NULL) {
			ret = NS_CMS_ERR_CRYPTO;
			goto out;
		}
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if(x == NULL)
			goto out;
	}
	if(chain != NULL) {
		ret = NS_CMS_ERR_CRYPTO;
		sk = sk_X509_new_null();
		if(sk == NULL)
			goto out;
		ret = NS_CMS_ERR_PARSE;
		for(i = 1; i < n; i++) {
			y = PEM_read_bio_X509(bio, NULL, NULL, NULL);
			if(y == NULL)
				goto out;
			if(!sk_X509_push(sk, y)) { /* absorbed by sk on success */
				X509_free(y);
				ret = NS_CMS_ERR_CRYPTO;
				goto out;
			}
		}
		*chain = sk; /* the caller's */
		sk = NULL;
	}
	*cert = x; /* the caller's */
	x = NULL;
	ret = NS_CMS_OK;
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	sk_X509_pop_free(sk, X509_free);
	X509_free(x);
	BIO_free(bio);
	OPENSSL_free(buf);
	return ret;
}

struct _ns_cms_pw
{
	const char *pass;
	int asked;
};

/* Hands OpenSSL the passphrase; never a terminal prompt. */
static int _ns_cms_pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct _ns_cms_pw *pw = u;
	size_t n;

	(void)rwflag;
	pw->asked = 1;
	if(pw->pass == NULL || size < 0)
		return -1;
	n = strlen(pw->pass);
	if(n > (size_t)size)
		return -1;			  /* refused rather than truncated */
	memcpy(buf, pw->pass, n); /* OpenSSL wipes buf */
	return (int)n;
}

int ns_cms_load_key(const char *path, const char *passphrase, EVP_PKEY **key,
		char *err, size_t errlen)
{
	struct _ns_cms_pw pw = {passphrase, 0};
	BIO *bio = NULL;
	int ret = NS_CMS_ERR_ARG;

	_ns_cms_begin(err, errlen);
	if(key != NULL)
		*key = NULL;
	if(path == NULL || key == NULL)
		goto out;
	ret = NS_CMS_ERR_FILE;
	bio = BIO_new_file(path, "rb");
	if(bio == NULL)
		goto out;
	*key = PEM_read_bio_PrivateKey(bio, NULL, _ns_cms_pw_cb, &pw);
	if(*key == NULL) {
		ret = pw.asked ? NS_CMS_ERR_PASSPHRASE : NS_CMS_ERR_PARSE;
		goto out;
	}
	ret = NS_CMS_OK;
out:
	if(ret != NS_CMS_OK)
		_ns_cms_fail(ret, err, errlen);
	BIO_free(bio);
	return ret;
}

int ns_cms_key_matches_cert(X509 *cert, EVP_PKEY *key)
{
	int ret = NS_CMS_ERR_ARG;

	ERR_clear_error();
	if(cert == NULL || key == NULL)
		return ret;
	ret = X509_check_private_key(cert, key) == 1 ? NS_CMS_OK
												 : NS_CMS_ERR_KEY_MISMATCH;
	if(ret != NS_CMS_OK)
		ERR_clear_error();
	return ret;
}
