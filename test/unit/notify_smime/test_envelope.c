/*
 * notify_smime envelope.c: EnvelopedData / AuthEnvelopedData written
 * directly in DER. For every cipher and body size: OpenSSL parses it and
 * encodes it back to the same bytes (canonical DER), it has exactly the
 * length and the shape (tags, lengths, object identifiers, version) of
 * what OpenSSL's CMS layer writes for the same input, and CMS_decrypt
 * with the recipient's key gives the input back. Also: a fresh content
 * key and IV each time, more recipients than the per-process cache holds,
 * a fork (the child starts its own cache), bad arguments.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cms.h"
#include "envelope.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NRCPT 18 /* more than the cache's 16 */

static struct
{
	EVP_PKEY *key[NRCPT];
	X509 *x[NRCPT];
	EVP_PKEY *ec_key;
	X509 *ec;
	unsigned char big[70000];
} g;

static X509 *cert(EVP_PKEY *key, int serial)
{
	X509 *x = X509_new();
	char cn[32];

	assert_non_null(x);
	snprintf(cn, sizeof(cn), "watcher %d", serial);
	X509_set_version(x, X509_VERSION_3);
	/* serials up to 0x80xx: a leading zero octet in the DER INTEGER */
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x8000 + serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
			(const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	int i;

	for(i = 0; i < NRCPT; i++) {
		/* the first two: other sizes of modulus */
		g.key[i] = EVP_RSA_gen(i == 0 ? 3072 : i == 1 ? 4096 : 2048);
		assert_non_null(g.key[i]);
		g.x[i] = cert(g.key[i], i);
	}
	g.ec_key = EVP_EC_gen("P-256");
	g.ec = cert(g.ec_key, 99);
	for(i = 0; i < (int)sizeof(g.big); i++)
		g.big[i] = (unsigned char)(i * 7 + 3);
	return 0;
}

static int teardown(void **state)
{
	int i;

	ns_env_clear();
	for(i = 0; i < NRCPT; i++) {
		X509_free(g.x[i]);
		EVP_PKEY_free(g.key[i]);
	}
	X509_free(g.ec);
	EVP_PKEY_free(g.ec_key);
	return 0;
}

/* The shape of DER: every tag and length, the bytes of OBJECT
 * IDENTIFIERs and INTEGERs, not the contents of OCTET STRINGs (random
 * keys, IVs, ciphertexts) or of the [0] IMPLICIT encrypted content. */
static void shape(const unsigned char *p, long len, char *out, size_t size)
{
	const unsigned char *end = p + len, *q;
	long clen;
	int tag, cls, r, i;
	size_t n = strlen(out);

	while(p < end) {
		q = p;
		r = ASN1_get_object(&q, &clen, &tag, &cls, (long)(end - p));
		assert_false(r & 0x80);
		n += (size_t)snprintf(out + n, size - n, "%d.%d.%ld(", cls, tag, clen);
		assert_true(n < size);
		if(r & V_ASN1_CONSTRUCTED) {
			shape(q, clen, out, size);
			n = strlen(out);
		} else if(cls == V_ASN1_UNIVERSAL
				  && (tag == V_ASN1_OBJECT || tag == V_ASN1_INTEGER)) {
			for(i = 0; i < clen; i++)
				n += (size_t)snprintf(out + n, size - n, "%02x", q[i]);
		}
		n += (size_t)snprintf(out + n, size - n, ")");
		assert_true(n < size);
		p = q + clen;
	}
}

static void decrypts_to(const unsigned char *der, size_t len, int who,
		const unsigned char *pt, size_t ptlen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *out = BIO_new(BIO_s_mem());
	unsigned char *re = NULL;
	char *data;
	long n;
	int relen;

	assert_non_null(cms);
	assert_ptr_equal(p, der + len);
	/* canonical: encoded back to the same bytes */
	relen = i2d_CMS_ContentInfo(cms, &re);
	assert_int_equal(relen, (int)len);
	assert_memory_equal(re, der, len);
	OPENSSL_free(re);
	assert_int_equal(
			CMS_decrypt(cms, g.key[who], g.x[who], NULL, out, CMS_BINARY), 1);
	n = BIO_get_mem_data(out, &data);
	assert_int_equal(n, (long)ptlen);
	if(ptlen)
		assert_memory_equal(data, pt, ptlen);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_like_openssl(void **state)
{
	static const int ciphers[] = {NS_CMS_AES128_CBC, NS_CMS_AES256_CBC,
			NS_CMS_AES128_GCM, NS_CMS_AES256_GCM};
	static const size_t sizes[] = {0, 1, 15, 16, 17, 127, 128, 300, 65536};
	static char a[16384], b[16384];
	ns_cms_opts_t o = {0, NS_CMS_RSA_PKCS1, NS_CMS_KDF_SHA256};
	unsigned char *d1, *d2, *pt;
	size_t l1, l2, c, s, ptlen;
	char err[NS_CMS_ERR_LEN];
	ns_cms_type_t t1, t2;
	int who;

	for(who = 0; who < 3; who++)
		for(c = 0; c < NROWS(ciphers); c++)
			for(s = 0; s < NROWS(sizes); s++) {
				o.cipher = (ns_cms_cipher_t)ciphers[c];
				ns_cms_set_direct(1);
				assert_int_equal(ns_cms_encrypt(g.big, sizes[s], g.x[who], &o,
										 &d1, &l1, err, sizeof(err)),
						NS_CMS_OK);
				ns_cms_set_direct(0);
				assert_int_equal(ns_cms_encrypt(g.big, sizes[s], g.x[who], &o,
										 &d2, &l2, err, sizeof(err)),
						NS_CMS_OK);
				ns_cms_set_direct(1);
				assert_int_equal(l1, l2);
				a[0] = b[0] = '\0';
				shape(d1, (long)l1, a, sizeof(a));
				shape(d2, (long)l2, b, sizeof(b));
				assert_string_equal(a, b);
				decrypts_to(d1, l1, who, g.big, sizes[s]);
				/* the same type for the smime-type parameter */
				assert_int_equal(ns_cms_content_type(d1, l1, &t1), NS_CMS_OK);
				assert_int_equal(ns_cms_content_type(d2, l2, &t2), NS_CMS_OK);
				assert_int_equal(t1, t2);
				assert_int_equal(t1, c < 2 ? NS_CMS_TYPE_ENVELOPED
										   : NS_CMS_TYPE_AUTH_ENVELOPED);
				/* and the module's own decryption takes it */
				assert_int_equal(ns_cms_decrypt(d1, l1, g.x[who], g.key[who],
										 sizeof(g.big), &pt, &ptlen, &t1, err,
										 sizeof(err)),
						NS_CMS_OK);
				assert_int_equal(ptlen, sizes[s]);
				if(ptlen)
					assert_memory_equal(pt, g.big, ptlen);
				ns_cms_free(pt, ptlen);
				ns_cms_free(d1, l1);
				ns_cms_free(d2, l2);
			}
}

/* Two encryptions of the same body differ (key and IV fresh) */
static void test_fresh(void **state)
{
	unsigned char *d1, *d2;
	size_t l1, l2;

	assert_int_equal(
			ns_env_encrypt(g.big, 100, g.x[2], NS_ENV_AES128_CBC, &d1, &l1), 0);
	assert_int_equal(
			ns_env_encrypt(g.big, 100, g.x[2], NS_ENV_AES128_CBC, &d2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_not_equal(d1, d2, l1);
	decrypts_to(d1, l1, 2, g.big, 100);
	decrypts_to(d2, l2, 2, g.big, 100);
	OPENSSL_clear_free(d1, l1);
	OPENSSL_clear_free(d2, l2);
}

/* More recipients than the cache holds, twice round: every body still
 * for its own recipient */
static void test_many_recipients(void **state)
{
	unsigned char *d;
	size_t l;
	int round, i;

	for(round = 0; round < 2; round++)
		for(i = 0; i < NRCPT; i++) {
			assert_int_equal(ns_env_encrypt(g.big, 40 + i, g.x[i],
									 NS_ENV_AES256_GCM, &d, &l),
					0);
			decrypts_to(d, l, i, g.big, 40 + i);
			OPENSSL_clear_free(d, l);
		}
}

/* A child after a fork encrypts with its own objects */
static void test_fork(void **state)
{
	unsigned char *d;
	size_t l;
	pid_t pid;
	int st;

	assert_int_equal(
			ns_env_encrypt(g.big, 10, g.x[3], NS_ENV_AES128_CBC, &d, &l), 0);
	OPENSSL_clear_free(d, l);
	pid = fork();
	assert_true(pid >= 0);
	if(pid == 0) {
		int ok = ns_env_encrypt(g.big, 10, g.x[3], NS_ENV_AES128_GCM, &d, &l)
				 == 0;
		if(ok) {
			const unsigned char *p = d;
			CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)l);
			BIO *out = BIO_new(BIO_s_mem());
			ok = cms
				 && CMS_decrypt(cms, g.key[3], g.x[3], NULL, out, CMS_BINARY)
							== 1
				 && BIO_ctrl_pending(out) == 10;
			BIO_free(out);
			CMS_ContentInfo_free(cms);
		}
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the parent's cache still works */
	assert_int_equal(
			ns_env_encrypt(g.big, 10, g.x[3], NS_ENV_AES128_CBC, &d, &l), 0);
	decrypts_to(d, l, 3, g.big, 10);
	OPENSSL_clear_free(d, l);
}

static void test_args(void **state)
{
	unsigned char *d = (unsigned char *)"x";
	size_t l = 5;

	assert_true(ns_env_supported(g.x[0]));
	assert_false(ns_env_supported(g.ec));
	assert_false(ns_env_supported(NULL));
	assert_int_equal(ns_env_encrypt(g.big, 1, NULL, 0, &d, &l), -2);
	assert_int_equal(ns_env_encrypt(NULL, 1, g.x[0], 0, &d, &l), -2);
	assert_int_equal(ns_env_encrypt(g.big, 1, g.x[0], 4, &d, &l), -2);
	assert_int_equal(ns_env_encrypt(g.big, 1, g.x[0], -1, &d, &l), -2);
	assert_int_equal(ns_env_encrypt(g.big, 1, g.x[0], 0, NULL, &l), -2);
	assert_int_equal(ns_env_encrypt(g.big, 1, g.x[0], 0, &d, NULL), -2);
	/* an empty body is a body */
	assert_int_equal(ns_env_encrypt(NULL, 0, g.x[0], 0, &d, &l), 0);
	decrypts_to(d, l, 0, NULL, 0);
	OPENSSL_clear_free(d, l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_like_openssl),
			cmocka_unit_test(test_fresh),
			cmocka_unit_test(test_many_recipients),
			cmocka_unit_test(test_fork),
			cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
