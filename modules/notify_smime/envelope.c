/*
 * notify_smime: EnvelopedData / AuthEnvelopedData to one RSA recipient,
 * written directly in DER (see envelope.h).
 *
 *   ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }
 *   EnvelopedData ::= SEQUENCE { version 0, recipientInfos SET OF,
 *       encryptedContentInfo }                       (RFC 5652 6.1)
 *   AuthEnvelopedData ::= SEQUENCE { version 0, recipientInfos SET OF,
 *       authEncryptedContentInfo, mac OCTET STRING }  (RFC 5083 2.1)
 *   KeyTransRecipientInfo ::= SEQUENCE { version 0,
 *       rid IssuerAndSerialNumber, keyEncryptionAlgorithm rsaEncryption,
 *       encryptedKey OCTET STRING }                  (RFC 5652 6.2.1)
 *   EncryptedContentInfo ::= SEQUENCE { contentType id-data,
 *       contentEncryptionAlgorithm, [0] IMPLICIT encryptedContent }
 *   aes-CBC parameters: the IV (RFC 3565); aes-GCM parameters:
 *       GCMParameters ::= SEQUENCE { nonce (12 octets), ICVlen 16 }
 *       (RFC 5084 3.2)
 */
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "envelope.h"

#define NS_ENV_RCACHE 16
#define NS_ENV_TAG_LEN 16
#define NS_ENV_GCM_NONCE 12

/* DER of the object identifiers (tag, length, value) */
static const unsigned char _oid_data[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
static const unsigned char _oid_enveloped[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
static const unsigned char _oid_auth_enveloped[] = {0x06, 0x0b, 0x2a, 0x86,
		0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17};
/* AlgorithmIdentifier { rsaEncryption, NULL } */
static const unsigned char _alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
		0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
/* 2.16.840.1.101.3.4.1.{2,42,6,46}: the last octet differs */
static const unsigned char _oid_aes[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x00};
static const unsigned char _aes_arc[4] = {2, 42, 6, 46};
static const char *const _aes_name[4] = {
		"AES-128-CBC", "AES-256-CBC", "AES-128-GCM", "AES-256-GCM"};
static const int _aes_key_len[4] = {16, 32, 16, 32};
static const unsigned char _int0[] = {0x02, 0x01, 0x00};
static const unsigned char _int_icv[] = {0x02, 0x01, NS_ENV_TAG_LEN};

typedef struct ns_env_rcpt
{
	X509 *x;
	EVP_PKEY_CTX *pctx;
	unsigned char *rid; /* IssuerAndSerialNumber, DER */
	size_t rid_len;
	unsigned long used;
} ns_env_rcpt_t;

static pid_t _ns_env_pid = 0;
static ns_env_rcpt_t _ns_env_rc[NS_ENV_RCACHE];
static unsigned long _ns_env_clock = 0;
static EVP_CIPHER *_ns_env_ciph[4];
static EVP_CIPHER_CTX *_ns_env_cctx = NULL;

/* After a fork the parent's objects are not ours to free or to use (the
 * cipher context holds state): forget them. */
static void ns_env_owner(void)
{
	pid_t pid = getpid();

	if(pid == _ns_env_pid)
		return;
	memset(_ns_env_rc, 0, sizeof(_ns_env_rc));
	memset(_ns_env_ciph, 0, sizeof(_ns_env_ciph));
	_ns_env_cctx = NULL;
	_ns_env_clock = 0;
	_ns_env_pid = pid;
}

static void ns_env_rcpt_free(ns_env_rcpt_t *r)
{
	X509_free(r->x);
	EVP_PKEY_CTX_free(r->pctx);
	OPENSSL_free(r->rid);
	memset(r, 0, sizeof(*r));
}

void ns_env_clear(void)
{
	int i;

	if(_ns_env_pid != getpid())
		return;
	for(i = 0; i < NS_ENV_RCACHE; i++)
		ns_env_rcpt_free(&_ns_env_rc[i]);
	for(i = 0; i < 4; i++) {
		EVP_CIPHER_free(_ns_env_ciph[i]);
		_ns_env_ciph[i] = NULL;
	}
	EVP_CIPHER_CTX_free(_ns_env_cctx);
	_ns_env_cctx = NULL;
}

int ns_env_supported(X509 *rcpt)
{
	EVP_PKEY *pk = rcpt ? X509_get0_pubkey(rcpt) : NULL;

	return pk != NULL && EVP_PKEY_is_a(pk, "RSA");
}

/* ---- DER ------------------------------------------------------------- */

static size_t der_len_size(size_t n)
{
	size_t s = 1;

	if(n < 0x80)
		return 1;
	while(n) {
		s++;
		n >>= 8;
	}
	return s;
}

static size_t der_tlv(size_t n)
{
	return 1 + der_len_size(n) + n;
}

static unsigned char *der_hdr(unsigned char *p, unsigned char tag, size_t n)
{
	size_t k = der_len_size(n) - 1, i;

	*p++ = tag;
	if(k == 0) {
		*p++ = (unsigned char)n;
		return p;
	}
	*p++ = (unsigned char)(0x80 | k);
	for(i = k; i > 0; i--)
		*p++ = (unsigned char)(n >> (8 * (i - 1)));
	return p;
}

static unsigned char *der_put(unsigned char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* ---- per recipient --------------------------------------------------- */

/* IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber } */
static int ns_env_rid(X509 *x, unsigned char **rid, size_t *len)
{
	unsigned char *name = NULL, *serial = NULL, *p;
	int nl, sl, ret = -1;

	nl = i2d_X509_NAME(X509_get_issuer_name(x), &name);
	sl = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x), &serial);
	if(nl <= 0 || sl <= 0)
		goto out;
	*len = der_tlv((size_t)nl + (size_t)sl);
	*rid = p = OPENSSL_malloc(*len);
	if(!p)
		goto out;
	p = der_hdr(p, 0x30, (size_t)nl + (size_t)sl);
	p = der_put(p, name, (size_t)nl);
	der_put(p, serial, (size_t)sl);
	ret = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(serial);
	return ret;
}

static ns_env_rcpt_t *ns_env_rcpt(X509 *x)
{
	ns_env_rcpt_t *r = NULL;
	int i, empty = -1, lru = -1;

	for(i = 0; i < NS_ENV_RCACHE; i++) {
		if(!_ns_env_rc[i].x) {
			if(empty < 0)
				empty = i;
		} else if(X509_cmp(_ns_env_rc[i].x, x) == 0) {
			_ns_env_rc[i].used = ++_ns_env_clock;
			return &_ns_env_rc[i];
		} else if(lru < 0 || _ns_env_rc[i].used < _ns_env_rc[lru].used) {
			lru = i;
		}
	}
	r = &_ns_env_rc[empty >= 0 ? empty : lru];
	ns_env_rcpt_free(r);
	r->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(x), NULL);
	if(!r->pctx || EVP_PKEY_encrypt_init(r->pctx) != 1
			|| EVP_PKEY_CTX_set_rsa_padding(r->pctx, RSA_PKCS1_PADDING) != 1
			|| ns_env_rid(x, &r->rid, &r->rid_len) < 0 || X509_up_ref(x) != 1) {
		ns_env_rcpt_free(r);
		return NULL;
	}
	r->x = x;
	r->used = ++_ns_env_clock;
	return r;
}

/* ---- the envelope ---------------------------------------------------- */

int ns_env_encrypt(const unsigned char *in, size_t inlen, X509 *rcpt,
		int cipher, unsigned char **out, size_t *outlen)
{
	unsigned char cek[32], iv[16], ek[1024], mac[NS_ENV_TAG_LEN];
	unsigned char *buf = NULL, *p, *ct;
	size_t eklen = sizeof(ek), ivlen, ctmax, ctlen, ktri, ris, alg, params;
	size_t eci, env, ci, total;
	int gcm, klen, n1 = 0, n2 = 0, ret = -1;
	ns_env_rcpt_t *r;

	if(!out || !outlen || !rcpt || (!in && inlen) || cipher < 0 || cipher > 3
			|| inlen > 0x7fffff00)
		return -2;
	*out = NULL;
	*outlen = 0;
	ns_env_owner();
	gcm = cipher >= NS_ENV_AES128_GCM;
	klen = _aes_key_len[cipher];
	ivlen = gcm ? NS_ENV_GCM_NONCE : 16;
	if(!_ns_env_ciph[cipher]) {
		_ns_env_ciph[cipher] = EVP_CIPHER_fetch(NULL, _aes_name[cipher], NULL);
		if(!_ns_env_ciph[cipher])
			return -1;
	}
	if(!_ns_env_cctx && !(_ns_env_cctx = EVP_CIPHER_CTX_new()))
		return -1;
	r = ns_env_rcpt(rcpt);
	if(!r)
		return -1;
	if(RAND_priv_bytes(cek, klen) != 1 || RAND_bytes(iv, (int)ivlen) != 1)
		goto out;
	if(EVP_PKEY_encrypt(r->pctx, ek, &eklen, cek, (size_t)klen) != 1)
		goto out;

	/* sizes, innermost first; CBC adds at most one block of padding */
	ctmax = gcm ? inlen : inlen + 16 - inlen % 16;
	ktri = der_tlv(
			sizeof(_int0) + r->rid_len + sizeof(_alg_rsa) + der_tlv(eklen));
	ris = der_tlv(ktri);
	params = gcm ? der_tlv(der_tlv(ivlen) + sizeof(_int_icv)) : der_tlv(ivlen);
	alg = der_tlv(sizeof(_oid_aes) + params);
	eci = der_tlv(sizeof(_oid_data) + alg + der_tlv(ctmax));
	env = der_tlv(sizeof(_int0) + ris + eci + (gcm ? der_tlv(sizeof(mac)) : 0));
	ci = der_tlv((gcm ? sizeof(_oid_auth_enveloped) : sizeof(_oid_enveloped))
				 + der_tlv(env));
	/* the content is encrypted in place, into the buffer */
	buf = OPENSSL_malloc(ci);
	if(!buf)
		goto out;
	p = buf;
	p = der_hdr(p, 0x30,
			(gcm ? sizeof(_oid_auth_enveloped) : sizeof(_oid_enveloped))
					+ der_tlv(env));
	p = gcm ? der_put(p, _oid_auth_enveloped, sizeof(_oid_auth_enveloped))
			: der_put(p, _oid_enveloped, sizeof(_oid_enveloped));
	p = der_hdr(p, 0xa0, env);
	p = der_hdr(p, 0x30,
			sizeof(_int0) + ris + eci + (gcm ? der_tlv(sizeof(mac)) : 0));
	p = der_put(p, _int0, sizeof(_int0));
	p = der_hdr(p, 0x31, ktri);
	p = der_hdr(p, 0x30,
			sizeof(_int0) + r->rid_len + sizeof(_alg_rsa) + der_tlv(eklen));
	p = der_put(p, _int0, sizeof(_int0));
	p = der_put(p, r->rid, r->rid_len);
	p = der_put(p, _alg_rsa, sizeof(_alg_rsa));
	p = der_hdr(p, 0x04, eklen);
	p = der_put(p, ek, eklen);
	p = der_hdr(p, 0x30, sizeof(_oid_data) + alg + der_tlv(ctmax));
	p = der_put(p, _oid_data, sizeof(_oid_data));
	p = der_hdr(p, 0x30, sizeof(_oid_aes) + params);
	p = der_put(p, _oid_aes, sizeof(_oid_aes));
	p[-1] = _aes_arc[cipher];
	if(gcm) {
		p = der_hdr(p, 0x30, der_tlv(ivlen) + sizeof(_int_icv));
		p = der_hdr(p, 0x04, ivlen);
		p = der_put(p, iv, ivlen);
		p = der_put(p, _int_icv, sizeof(_int_icv));
	} else {
		p = der_hdr(p, 0x04, ivlen);
		p = der_put(p, iv, ivlen);
	}
	p = der_hdr(p, 0x80, ctmax);
	ct = p;
	if(EVP_EncryptInit_ex2(_ns_env_cctx, _ns_env_ciph[cipher], NULL, NULL, NULL)
					!= 1
			|| (gcm
					&& EVP_CIPHER_CTX_ctrl(_ns_env_cctx,
							   EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL)
							   != 1)
			|| EVP_EncryptInit_ex2(_ns_env_cctx, NULL, cek, iv, NULL) != 1
			|| EVP_EncryptUpdate(_ns_env_cctx, ct, &n1, in, (int)inlen) != 1
			|| EVP_EncryptFinal_ex(_ns_env_cctx, ct + n1, &n2) != 1)
		goto out;
	ctlen = (size_t)n1 + (size_t)n2;
	if(ctlen != ctmax)
		goto out; /* the padding is always ctmax - inlen: cannot happen */
	p = ct + ctlen;
	if(gcm) {
		if(EVP_CIPHER_CTX_ctrl(
				   _ns_env_cctx, EVP_CTRL_AEAD_GET_TAG, (int)sizeof(mac), mac)
				!= 1)
			goto out;
		p = der_hdr(p, 0x04, sizeof(mac));
		p = der_put(p, mac, sizeof(mac));
	}
	total = (size_t)(p - buf);
	if(total != ci)
		goto out;
	*out = buf;
	*outlen = total;
	buf = NULL;
	ret = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	if(buf)
		OPENSSL_clear_free(buf, ci);
	return ret;
}
