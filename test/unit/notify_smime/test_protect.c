/*
 * notify_smime protect.c: a NOTIFY body encrypted, signed, signed then
 * encrypted, and the way back; bodies the server cannot take.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cms.h"
#include "mime.h"
#include "protect.h"

static const char pidf[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
		"entity=\"sip:alice@example.com\"><tuple id=\"t1\"><status><basic>"
		"open</basic></status></tuple></presence>\r\n";
static const char pidf_ct[] = "application/pidf+xml";

static struct
{
	EVP_PKEY *ca_key, *bob_key, *ps_key, *eve_key;
	X509 *ca, *bob, *ps, *eve;
	X509_STORE *cas;
} g;

static EVP_PKEY *keygen(int rsa)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* A certificate for `cn` with `san` (may be NULL), issued by issuer/ikey
 * (NULL: self-signed CA). */
static X509 *cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		const char *ku, const char *san)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	const char *exts[3][2] = {{"basicConstraints", issuer ? "critical,CA:FALSE"
														  : "critical,CA:TRUE"},
			{"keyUsage", ku}, {"subjectAltName", san}};
	int i;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(uintptr_t)cn & 0xffff);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
			(const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for(i = 0; i < 3; i++) {
		if(exts[i][1] == NULL)
			continue;
		e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	g.ca_key = keygen(0);
	g.bob_key = keygen(1);
	g.ps_key = keygen(0);
	g.eve_key = keygen(1);
	g.ca = cert("demo CA", g.ca_key, NULL, NULL, "keyCertSign,cRLSign", NULL);
	g.bob = cert("bob", g.bob_key, g.ca, g.ca_key,
			"digitalSignature,keyEncipherment", "URI:sip:bob@example.com");
	g.ps = cert("ps", g.ps_key, g.ca, g.ca_key, "digitalSignature,keyAgreement",
			"URI:sip:ps.example.com");
	/* eve's CA is herself: not in the store */
	g.eve = cert("eve", g.eve_key, NULL, NULL, "digitalSignature", NULL);
	g.cas = X509_STORE_new();
	X509_STORE_add_cert(g.cas, g.ca);
	ERR_clear_error();
	return 0;
}

static int teardown(void **state)
{
	X509_free(g.ca);
	X509_free(g.bob);
	X509_free(g.ps);
	X509_free(g.eve);
	EVP_PKEY_free(g.ca_key);
	EVP_PKEY_free(g.bob_key);
	EVP_PKEY_free(g.ps_key);
	EVP_PKEY_free(g.eve_key);
	X509_STORE_free(g.cas);
	return 0;
}

static void protect(
		X509 *rcpt, int sign, ns_cms_cipher_t c, ns_protect_out_t *out)
{
	ns_cms_opts_t o = {c, NS_CMS_RSA_PKCS1, NS_CMS_KDF_SHA256};
	ns_protect_in_t in = {pidf_ct, strlen(pidf_ct), pidf, strlen(pidf), rcpt,
			&o, sign ? g.ps : NULL, sign ? g.ps_key : NULL, NULL};
	char err[NS_CMS_ERR_LEN];

	assert_int_equal(ns_protect(&in, out, err, sizeof(err)), NS_CMS_OK);
	assert_int_equal(ERR_peek_error(), 0);
	assert_non_null(out->body);
	assert_true(out->len > 0);
}

/* The watcher's side: bob's key decrypts and the PS's signature verifies. */
static void unprotect_as(X509 *cert, EVP_PKEY *key, const ns_protect_out_t *p,
		ns_unprotect_out_t *u)
{
	ns_unprotect_keys_t k = {cert, key, g.cas, 65536};
	char err[NS_CMS_ERR_LEN];
	int rc;

	rc = ns_unprotect(p->ctype, strlen(p->ctype), (const char *)p->body, p->len,
			&k, u, err, sizeof(err));
	if(rc != NS_UNPROTECT_OK)
		fail_msg("unprotect: %s (%s)", ns_unprotect_strerror(rc), err);
}

static void test_encrypt_roundtrip(void **state)
{
	static const ns_cms_cipher_t ciphers[] = {
			NS_CMS_AES128_CBC, NS_CMS_AES256_GCM};
	ns_protect_out_t p;
	ns_unprotect_out_t u;
	size_t i;

	for(i = 0; i < 2; i++) {
		protect(g.bob, 0, ciphers[i], &p);
		assert_true(p.encrypted);
		assert_false(p.signed_);
		assert_string_equal(p.ctype, ns_mime_ctype_enveloped(i == 1));
		assert_string_equal(p.disposition,
				"attachment; filename=smime.p7m; handling=required");
		/* no plaintext on the wire */
		assert_null(memmem(p.body, p.len, "alice", 5));
		unprotect_as(g.bob, g.bob_key, &p, &u);
		assert_true(u.was_encrypted);
		assert_false(u.was_signed);
		assert_string_equal(u.ctype, pidf_ct);
		assert_int_equal(u.len, strlen(pidf));
		assert_memory_equal(u.body, pidf, u.len);
		ns_unprotect_out_free(&u);
		ns_protect_out_free(&p);
	}
}

static void test_sign_only(void **state)
{
	ns_protect_out_t p;
	ns_unprotect_out_t u;

	protect(NULL, 1, NS_CMS_AES128_CBC, &p);
	assert_false(p.encrypted);
	assert_true(p.signed_);
	assert_null(p.disposition);
	assert_true(strncmp(p.ctype,
						"multipart/signed; protocol=\"application/"
						"pkcs7-signature\"; micalg=sha-256; boundary=",
						80)
				== 0);
	unprotect_as(NULL, NULL, &p, &u);
	assert_true(u.was_signed);
	assert_non_null(u.signer);
	assert_int_equal(X509_cmp(u.signer, g.ps), 0);
	assert_memory_equal(u.body, pidf, strlen(pidf));
	ns_unprotect_out_free(&u);
	ns_protect_out_free(&p);
}

static void test_sign_then_encrypt(void **state)
{
	ns_protect_out_t p;
	ns_unprotect_out_t u;

	protect(g.bob, 1, NS_CMS_AES128_CBC, &p);
	assert_true(p.encrypted && p.signed_);
	unprotect_as(g.bob, g.bob_key, &p, &u);
	assert_true(u.was_encrypted && u.was_signed);
	assert_string_equal(u.ctype, pidf_ct);
	assert_memory_equal(u.body, pidf, strlen(pidf));
	ns_unprotect_out_free(&u);
	ns_protect_out_free(&p);
}

static void test_certs_only(void **state)
{
	unsigned char *der = NULL;
	size_t len = 0;
	ns_unprotect_keys_t k = {NULL, NULL, g.cas, 65536};
	ns_unprotect_out_t u;
	static const char ct[] = "application/pkcs7-mime; smime-type=certs-only";

	assert_int_equal(
			ns_cms_certs_only_build(g.bob, NULL, &der, &len, NULL, 0), 0);
	assert_int_equal(ns_unprotect(ct, strlen(ct), (const char *)der, len, &k,
							 &u, NULL, 0),
			NS_UNPROTECT_OK);
	assert_non_null(u.certs);
	assert_int_equal(sk_X509_num(u.certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(u.certs, 0), g.bob), 0);
	assert_int_equal(u.len, 0);
	ns_unprotect_out_free(&u);
	/* garbage that says it is certs-only */
	assert_int_equal(
			ns_unprotect(ct, strlen(ct), "garbage", 7, &k, &u, NULL, 0),
			NS_UNPROTECT_ERR_MIME);
	ns_cms_free(der, len);
	ERR_clear_error();
}

static void test_refused(void **state)
{
	ns_protect_out_t p;
	ns_unprotect_out_t u;
	ns_unprotect_keys_t k = {g.ps, g.ps_key, g.cas, 65536};
	char err[NS_CMS_ERR_LEN];
	static const char other[] =
			"application/pkcs7-mime; smime-type=compressed-data";
	ns_protect_in_t in = {
			"bad type", 8, pidf, strlen(pidf), g.bob, NULL, NULL, NULL, NULL};
	size_t cut;

	/* not S/MIME: nothing done */
	assert_int_equal(ns_unprotect(pidf_ct, strlen(pidf_ct), pidf, strlen(pidf),
							 &k, &u, err, sizeof(err)),
			NS_UNPROTECT_PLAIN);
	assert_null(u.body);
	/* encrypted to bob: the server cannot read it */
	protect(g.bob, 0, NS_CMS_AES128_CBC, &p);
	assert_int_equal(
			ns_unprotect(p.ctype, strlen(p.ctype), (const char *)p.body, p.len,
					&k, &u, err, sizeof(err)),
			NS_UNPROTECT_ERR_DECRYPT);
	assert_null(u.body);
	/* truncated at every eighth length */
	for(cut = 0; cut < p.len; cut += 8)
		assert_true(ns_unprotect(p.ctype, strlen(p.ctype), (const char *)p.body,
							cut, &k, &u, err, sizeof(err))
					< 0);
	ns_protect_out_free(&p);
	/* signed by a certificate the store does not trust */
	{
		ns_protect_in_t s = {pidf_ct, strlen(pidf_ct), pidf, strlen(pidf), NULL,
				NULL, g.eve, g.eve_key, NULL};
		assert_int_equal(ns_protect(&s, &p, err, sizeof(err)), NS_CMS_OK);
		assert_int_equal(
				ns_unprotect(p.ctype, strlen(p.ctype), (const char *)p.body,
						p.len, &k, &u, err, sizeof(err)),
				NS_UNPROTECT_ERR_SIGNATURE);
		ns_protect_out_free(&p);
	}
	assert_int_equal(ns_unprotect(other, strlen(other), "x", 1, &k, &u, err,
							 sizeof(err)),
			NS_UNPROTECT_ERR_UNSUPPORTED);
	/* protect: a Content-Type that is none, and nothing asked for */
	assert_int_equal(
			ns_protect(&in, &p, err, sizeof(err)), NS_PROTECT_ERR_MIME);
	in.ctype = pidf_ct;
	in.ctype_len = strlen(pidf_ct);
	in.rcpt = NULL;
	assert_int_equal(ns_protect(&in, &p, err, sizeof(err)), NS_CMS_ERR_ARG);
	ERR_clear_error();
}

static void test_nesting(void **state)
{
	ns_protect_out_t p1, p2, p3;
	ns_protect_in_t in;
	ns_unprotect_out_t u;
	ns_unprotect_keys_t k = {g.bob, g.bob_key, g.cas, 65536};
	char err[NS_CMS_ERR_LEN];

	/* three layers are taken, a fourth is refused */
	protect(g.bob, 1, NS_CMS_AES128_CBC, &p1); /* signed, encrypted */
	memset(&in, 0, sizeof(in));
	in.ctype = p1.ctype;
	in.ctype_len = strlen(p1.ctype);
	in.body = (const char *)p1.body;
	in.body_len = p1.len;
	in.rcpt = g.bob;
	assert_int_equal(ns_protect(&in, &p2, err, sizeof(err)), NS_CMS_OK);
	assert_int_equal(
			ns_unprotect(p2.ctype, strlen(p2.ctype), (const char *)p2.body,
					p2.len, &k, &u, err, sizeof(err)),
			NS_UNPROTECT_OK);
	assert_memory_equal(u.body, pidf, strlen(pidf));
	ns_unprotect_out_free(&u);
	in.ctype = p2.ctype;
	in.ctype_len = strlen(p2.ctype);
	in.body = (const char *)p2.body;
	in.body_len = p2.len;
	assert_int_equal(ns_protect(&in, &p3, err, sizeof(err)), NS_CMS_OK);
	assert_int_equal(
			ns_unprotect(p3.ctype, strlen(p3.ctype), (const char *)p3.body,
					p3.len, &k, &u, err, sizeof(err)),
			NS_UNPROTECT_ERR_NESTING);
	assert_null(u.body);
	ns_protect_out_free(&p1);
	ns_protect_out_free(&p2);
	ns_protect_out_free(&p3);
}

static void test_ctype_format(void **state)
{
	ns_mime_ctype_t ct;
	char out[256];
	static const char in[] =
			"Application/PIDF+XML ; charset=utf-8; x=\"a b\\\"c\"";

	assert_int_equal(ns_mime_ctype_parse(in, strlen(in), &ct), 0);
	assert_true(ns_mime_ctype_format(&ct, out, sizeof(out)) > 0);
	assert_string_equal(
			out, "application/pidf+xml; charset=utf-8; x=\"a b\\\"c\"");
	assert_int_equal(ns_mime_ctype_format(&ct, out, 10), NS_MIME_ERR_NOSPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_encrypt_roundtrip),
			cmocka_unit_test(test_sign_only),
			cmocka_unit_test(test_sign_then_encrypt),
			cmocka_unit_test(test_certs_only),
			cmocka_unit_test(test_refused),
			cmocka_unit_test(test_nesting),
			cmocka_unit_test(test_ctype_format),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
