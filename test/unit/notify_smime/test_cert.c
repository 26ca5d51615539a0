/*
 * Unit tests: notify_smime's watcher certificate checks (cert.c). Every
 * certificate is made here with the OpenSSL API, against a fixed clock
 * (T0); one defect per negative row. After each success, and after each
 * refusal, OpenSSL's error queue must be empty.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-06-15T15:06:40Z */
#define T0 ((time_t)1750000000)
#define DAY (24L * 3600)
#define YEAR (365L * DAY)

enum
{
	K_RSA = 0, /* RSA 2048 */
	K_EC,	   /* EC P-256 */
	K_RSA1024,
	K_ED25519,
	K_COUNT
};

enum
{
	I_CA = 0,  /* the trusted CA */
	I_OTHER,   /* a CA that is not in the store */
	I_INTER,   /* an intermediate of I_CA, not in the store */
	I_EXPIRED, /* a CA in the store, expired at T0 */
	I_SELF,	   /* self-signed leaf */
	I_NONCA,   /* a leaf of I_CA (no CA:TRUE) used as issuer */
	I_COUNT
};

static EVP_PKEY *keys[K_COUNT];
static EVP_PKEY *ca_key, *other_key, *inter_key, *exp_key, *nonca_key;
static X509 *ca, *other_ca, *inter, *exp_ca, *nonca;
static X509_STORE *store;
static long serial = 1;

static void assert_no_ssl_error(void)
{
	unsigned long e = ERR_peek_error();
	if(e != 0)
		fail_msg("OpenSSL error queue: %s", ERR_error_string(e, NULL));
}

/* A certificate for `key`, issued by `issuer`/`ikey` (NULL: self-signed),
 * valid [T0 + nb, T0 + na], with extensions given as name/value pairs
 * (X509V3_EXT_nconf syntax), NULL-terminated. */
static X509 *mk_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		EVP_PKEY *ikey, long nb, long na, const char *const *exts)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	size_t i;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), T0 + nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), T0 + na));
	n = X509_get_subject_name(x);
	assert_int_equal(
			X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
					(const unsigned char *)"Example, \"Inc\"", -1, -1, 0),
			1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
							 (const unsigned char *)cn, -1, -1, 0),
			1);
	assert_int_equal(
			X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n),
			1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for(i = 0; exts != NULL && exts[i] != NULL; i += 2) {
		ext = X509V3_EXT_nconf(NULL, &ctx, exts[i], exts[i + 1]);
		if(ext == NULL)
			fail_msg("extension %s=%s", exts[i], exts[i + 1]);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	assert_no_ssl_error();
	return x;
}

static const char *const ca_exts[] = {"basicConstraints", "critical,CA:TRUE",
		"keyUsage", "critical,keyCertSign,cRLSign", NULL};

static int setup(void **state)
{
	keys[K_RSA] = EVP_RSA_gen(2048);
	keys[K_EC] = EVP_EC_gen("P-256");
	keys[K_RSA1024] = EVP_RSA_gen(1024);
	keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ca_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	inter_key = EVP_EC_gen("P-256");
	exp_key = EVP_EC_gen("P-256");
	nonca_key = EVP_EC_gen("P-256");
	if(!keys[K_RSA] || !keys[K_EC] || !keys[K_RSA1024] || !keys[K_ED25519]
			|| !ca_key || !other_key || !inter_key || !exp_key || !nonca_key)
		return -1;
	ca = mk_cert(ca_key, "Example CA", NULL, NULL, -YEAR, 10 * YEAR, ca_exts);
	other_ca = mk_cert(
			other_key, "Example CA", NULL, NULL, -YEAR, 10 * YEAR, ca_exts);
	inter = mk_cert(inter_key, "Example Intermediate", ca, ca_key, -YEAR,
			5 * YEAR, ca_exts);
	exp_ca = mk_cert(exp_key, "Old CA", NULL, NULL, -3 * YEAR, -DAY, ca_exts);
	{
		const char *const e[] = {"basicConstraints", "critical,CA:FALSE",
				"subjectAltName", "URI:sip:carol@example.com", NULL};
		nonca = mk_cert(nonca_key, "carol", ca, ca_key, -YEAR, YEAR, e);
	}
	store = X509_STORE_new();
	if(store == NULL || X509_STORE_add_cert(store, ca) != 1
			|| X509_STORE_add_cert(store, exp_ca) != 1)
		return -1;
	return ERR_peek_error() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	int i;

	for(i = 0; i < K_COUNT; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(exp_key);
	EVP_PKEY_free(nonca_key);
	X509_free(ca);
	X509_free(other_ca);
	X509_free(inter);
	X509_free(exp_ca);
	X509_free(nonca);
	X509_STORE_free(store);
	return 0;
}

static X509 *issuer_cert(int i, EVP_PKEY **ikey)
{
	switch(i) {
		case I_CA:
			*ikey = ca_key;
			return ca;
		case I_OTHER:
			*ikey = other_key;
			return other_ca;
		case I_INTER:
			*ikey = inter_key;
			return inter;
		case I_EXPIRED:
			*ikey = exp_key;
			return exp_ca;
		case I_NONCA:
			*ikey = nonca_key;
			return nonca;
	}
	*ikey = NULL;
	return NULL;
}

#define BOB "sip:bob@example.com"
#define SAN_BOB "URI:" BOB
#define KU_RSA "critical,keyEncipherment,digitalSignature"
#define KU_EC "critical,keyAgreement,digitalSignature"

struct cert_row
{
	const char *what;
	int key, issuer;
	long nb, na;
	const char *san, *ku, *eku;
	const char *identity;
	int rc;
};

/* clang-format off */
static const struct cert_row cert_rows[] = {
	{"valid RSA", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL, BOB, 0},
	{"valid EC keyAgreement", K_EC, I_CA, -DAY, YEAR, SAN_BOB, KU_EC, NULL,
		BOB, 0},
	{"RSA without keyUsage", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, NULL, NULL,
		BOB, 0},
	{"EC without keyUsage", K_EC, I_CA, -DAY, YEAR, SAN_BOB, NULL, NULL,
		BOB, 0},
	{"EC keyAgreement+decipherOnly", K_EC, I_CA, -DAY, YEAR, SAN_BOB,
		"keyAgreement,decipherOnly", NULL, BOB, 0},
	{"EKU emailProtection", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		"emailProtection", BOB, 0},
	{"EKU any", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		"anyExtendedKeyUsage", BOB, 0},
	{"EKU serverAuth+emailProtection", K_EC, I_CA, -DAY, YEAR, SAN_BOB, KU_EC,
		"serverAuth,emailProtection", BOB, 0},
	{"second SAN URI matches", K_RSA, I_CA, -DAY, YEAR,
		"email:bob@example.com,URI:sip:robert@example.com,URI:" BOB, KU_RSA,
		NULL, BOB, 0},
	{"SAN sips, params, port, upper host", K_RSA, I_CA, -DAY, YEAR,
		"URI:sips:bob@EXAMPLE.COM:5061;transport=tls", KU_RSA, NULL, BOB, 0},
	{"SAN percent-encoded user", K_RSA, I_CA, -DAY, YEAR,
		"URI:sip:b%6Fb@example.com", KU_RSA, NULL, BOB, 0},
	{"SAN host with trailing dot", K_RSA, I_CA, -DAY, YEAR,
		"URI:sip:bob@example.com.", KU_RSA, NULL, BOB, 0},

	/* validity */
	{"expired", K_RSA, I_CA, -2 * YEAR, -DAY, SAN_BOB, KU_RSA, NULL, BOB,
		NS_CERT_ERR_EXPIRED},
	{"not yet valid", K_RSA, I_CA, DAY, YEAR, SAN_BOB, KU_RSA, NULL, BOB,
		NS_CERT_ERR_NOT_YET_VALID},
	{"issuing CA expired", K_RSA, I_EXPIRED, -DAY, YEAR, SAN_BOB, KU_RSA,
		NULL, BOB, NS_CERT_ERR_EXPIRED},
	/* chain */
	{"other CA, same name", K_RSA, I_OTHER, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		BOB, NS_CERT_ERR_UNTRUSTED},
	{"self-signed", K_RSA, I_SELF, -DAY, YEAR, SAN_BOB, KU_RSA, NULL, BOB,
		NS_CERT_ERR_UNTRUSTED},
	{"intermediate not supplied", K_RSA, I_INTER, -DAY, YEAR, SAN_BOB, KU_RSA,
		NULL, BOB, NS_CERT_ERR_UNTRUSTED},
	/* keys */
	{"RSA 1024", K_RSA1024, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL, BOB,
		NS_CERT_ERR_KEY_TYPE},
	{"Ed25519", K_ED25519, I_CA, -DAY, YEAR, SAN_BOB, "digitalSignature",
		NULL, BOB, NS_CERT_ERR_KEY_TYPE},
	/* key usage */
	{"RSA digitalSignature only", K_RSA, I_CA, -DAY, YEAR, SAN_BOB,
		"critical,digitalSignature", NULL, BOB, NS_CERT_ERR_KEY_USAGE},
	{"RSA keyAgreement only", K_RSA, I_CA, -DAY, YEAR, SAN_BOB,
		"keyAgreement", NULL, BOB, NS_CERT_ERR_KEY_USAGE},
	{"EC keyEncipherment only", K_EC, I_CA, -DAY, YEAR, SAN_BOB,
		"keyEncipherment", NULL, BOB, NS_CERT_ERR_KEY_USAGE},
	{"EC keyAgreement+encipherOnly", K_EC, I_CA, -DAY, YEAR, SAN_BOB,
		"keyAgreement,encipherOnly", NULL, BOB, NS_CERT_ERR_KEY_USAGE},
	{"EKU serverAuth", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		"serverAuth", BOB, NS_CERT_ERR_EXT_KEY_USAGE},
	/* subjectAltName */
	{"no SAN", K_RSA, I_CA, -DAY, YEAR, NULL, KU_RSA, NULL, BOB,
		NS_CERT_ERR_NO_SAN},
	{"email-only SAN", K_RSA, I_CA, -DAY, YEAR, "email:bob@example.com",
		KU_RSA, NULL, BOB, NS_CERT_ERR_NO_SIP_URI},
	{"DNS and http URI only", K_RSA, I_CA, -DAY, YEAR,
		"DNS:example.com,URI:http://bob@example.com/", KU_RSA, NULL, BOB,
		NS_CERT_ERR_NO_SIP_URI},
	{"SAN bobby", K_RSA, I_CA, -DAY, YEAR, "URI:sip:bobby@example.com",
		KU_RSA, NULL, BOB, NS_CERT_ERR_URI_MISMATCH},
	{"SAN bo (a prefix)", K_RSA, I_CA, -DAY, YEAR, "URI:sip:bo@example.com",
		KU_RSA, NULL, BOB, NS_CERT_ERR_URI_MISMATCH},
	{"SAN longer host", K_RSA, I_CA, -DAY, YEAR,
		"URI:sip:bob@example.com.evil.org", KU_RSA, NULL, BOB,
		NS_CERT_ERR_URI_MISMATCH},
	{"SAN shorter host", K_RSA, I_CA, -DAY, YEAR, "URI:sip:bob@example.co",
		KU_RSA, NULL, BOB, NS_CERT_ERR_URI_MISMATCH},
	{"SAN Bob", K_RSA, I_CA, -DAY, YEAR, "URI:sip:Bob@example.com", KU_RSA,
		NULL, BOB, NS_CERT_ERR_URI_MISMATCH},
	{"SAN without user", K_RSA, I_CA, -DAY, YEAR, "URI:sip:example.com",
		KU_RSA, NULL, BOB, NS_CERT_ERR_URI_MISMATCH},
	{"SAN name-addr is no URI", K_RSA, I_CA, -DAY, YEAR,
		"URI:<sip:bob@example.com>", KU_RSA, NULL, BOB,
		NS_CERT_ERR_NO_SIP_URI},
	{"SAN with password", K_RSA, I_CA, -DAY, YEAR,
		"URI:sip:bob:secret@example.com", KU_RSA, NULL, BOB,
		NS_CERT_ERR_URI_MISMATCH},
	{"SAN with junk after host", K_RSA, I_CA, -DAY, YEAR,
		"URI:sip:bob@example.com/x", KU_RSA, NULL, BOB,
		NS_CERT_ERR_URI_MISMATCH},
	{"SAN tel", K_RSA, I_CA, -DAY, YEAR, "URI:tel:+15551234", KU_RSA, NULL,
		"tel:+15551234", NS_CERT_ERR_IDENTITY},

	/* the identity, against SAN sip:bob@example.com */
	{"identity upper host", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bob@EXAMPLE.com", 0},
	{"identity sips", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sips:bob@example.com", 0},
	{"identity SIP: scheme case", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		NULL, "SIP:bob@example.com", 0},
	{"identity name-addr, params", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		NULL, "\"Bob\" <sip:bob@example.com:5060;transport=tcp?x=y>", 0},
	{"identity percent-encoded", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA,
		NULL, "sip:%62ob@example.com", 0},
	{"identity bobby", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bobby@example.com", NS_CERT_ERR_URI_MISMATCH},
	{"identity longer host", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bob@example.com.evil.org", NS_CERT_ERR_URI_MISMATCH},
	{"identity Bob", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:Bob@example.com", NS_CERT_ERR_URI_MISMATCH},
	{"identity bo", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bo@example.com", NS_CERT_ERR_URI_MISMATCH},
	{"identity domain only", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:example.com", NS_CERT_ERR_URI_MISMATCH},
	{"identity other user", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:alice@example.com", NS_CERT_ERR_URI_MISMATCH},
	{"identity tel", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"tel:+15551234", NS_CERT_ERR_IDENTITY},
	{"identity mailto", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"mailto:bob@example.com", NS_CERT_ERR_IDENTITY},
	{"identity empty", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL, "",
		NS_CERT_ERR_IDENTITY},
	{"identity bad escape", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:b%6@example.com", NS_CERT_ERR_IDENTITY},
	{"identity %40 in user", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bob%40example.com@example.com", NS_CERT_ERR_IDENTITY},
	{"identity no host", K_RSA, I_CA, -DAY, YEAR, SAN_BOB, KU_RSA, NULL,
		"sip:bob@", NS_CERT_ERR_IDENTITY},
};
/* clang-format on */

static X509 *row_cert(const struct cert_row *r)
{
	const char *e[10];
	EVP_PKEY *ikey;
	X509 *is;
	size_t n = 0;

	if(r->san) {
		e[n++] = "subjectAltName";
		e[n++] = r->san;
	}
	if(r->ku) {
		e[n++] = "keyUsage";
		e[n++] = r->ku;
	}
	if(r->eku) {
		e[n++] = "extendedKeyUsage";
		e[n++] = r->eku;
	}
	e[n] = NULL;
	is = issuer_cert(r->issuer, &ikey);
	return mk_cert(keys[r->key], "bob", is, ikey, r->nb, r->na, e);
}

static void test_check_rows(void **state)
{
	size_t i;

	for(i = 0; i < NROWS(cert_rows); i++) {
		const struct cert_row *r = &cert_rows[i];
		X509 *x = row_cert(r);
		int reason = 12345, verr = -1, rc;

		rc = ns_cert_check_ex(x, NULL, store, r->identity, strlen(r->identity),
				T0, &reason, &verr);
		if(rc != r->rc)
			fail_msg("row %zu (%s): rc %d (%s), want %d (%s), verify %d", i,
					r->what, rc, ns_cert_strerror(rc), r->rc,
					ns_cert_strerror(r->rc), verr);
		assert_int_equal(reason, rc);
		/* a chain problem carries OpenSSL's reason, nothing else does */
		if(rc == NS_CERT_ERR_UNTRUSTED || r->issuer == I_EXPIRED)
			assert_int_not_equal(verr, X509_V_OK);
		else
			assert_int_equal(verr, X509_V_OK);
		assert_no_ssl_error();
		/* the short form says the same */
		reason = 12345;
		assert_int_equal(ns_cert_check(x, store, r->identity,
								 strlen(r->identity), T0, &reason),
				rc);
		assert_int_equal(reason, rc);
		assert_int_equal(ns_cert_check(x, store, r->identity,
								 strlen(r->identity), T0, NULL),
				rc);
		assert_no_ssl_error();
		X509_free(x);
	}
}

static void test_check_chain_detail(void **state)
{
	const char *const e[] = {"subjectAltName", SAN_BOB, NULL};
	X509 *x;
	STACK_OF(X509) * chain;
	int reason, verr;

	/* an intermediate the watcher supplies completes the chain */
	x = mk_cert(keys[K_RSA], "bob", inter, inter_key, -DAY, YEAR, e);
	chain = sk_X509_new_null();
	assert_non_null(chain);
	assert_true(sk_X509_push(chain, inter) > 0);
	assert_int_equal(ns_cert_check_ex(x, chain, store, BOB, strlen(BOB), T0,
							 &reason, &verr),
			0);
	assert_int_equal(verr, X509_V_OK);
	assert_no_ssl_error();
	/* without it: OpenSSL's reason is passed on */
	assert_int_equal(ns_cert_check_ex(x, NULL, store, BOB, strlen(BOB), T0,
							 &reason, &verr),
			NS_CERT_ERR_UNTRUSTED);
	assert_int_equal(verr, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	/* a supplied certificate is never an anchor */
	{
		X509_STORE *empty = X509_STORE_new();
		assert_non_null(empty);
		assert_int_equal(ns_cert_check_ex(x, chain, empty, BOB, strlen(BOB), T0,
								 &reason, &verr),
				NS_CERT_ERR_UNTRUSTED);
		assert_int_equal(verr, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
		X509_STORE_free(empty);
	}
	sk_X509_free(chain);
	X509_free(x);

	/* an end-entity certificate cannot issue */
	x = mk_cert(keys[K_RSA], "bob", nonca, nonca_key, -DAY, YEAR, e);
	chain = sk_X509_new_null();
	assert_true(sk_X509_push(chain, nonca) > 0);
	assert_int_equal(ns_cert_check_ex(x, chain, store, BOB, strlen(BOB), T0,
							 &reason, &verr),
			NS_CERT_ERR_UNTRUSTED);
	assert_int_equal(verr, X509_V_ERR_INVALID_CA);
	assert_no_ssl_error();
	sk_X509_free(chain);
	X509_free(x);

	/* a leaf of a CA that has expired since */
	x = mk_cert(keys[K_RSA], "bob", exp_ca, exp_key, -10 * DAY, YEAR, e);
	assert_int_equal(ns_cert_check_ex(x, NULL, store, BOB, strlen(BOB), T0,
							 &reason, &verr),
			NS_CERT_ERR_EXPIRED);
	assert_int_equal(verr, X509_V_ERR_CERT_HAS_EXPIRED);
	/* ... was fine while the CA was valid */
	assert_int_equal(ns_cert_check_ex(x, NULL, store, BOB, strlen(BOB),
							 T0 - 2 * DAY, &reason, &verr),
			0);
	assert_int_equal(verr, X509_V_OK);
	X509_free(x);
	assert_no_ssl_error();
}

/* Faked clock: the boundaries of notBefore and notAfter. */
static void test_check_time(void **state)
{
	const char *const e[] = {"subjectAltName", SAN_BOB, NULL};
	X509 *x = mk_cert(keys[K_EC], "bob", ca, ca_key, 0, YEAR, e);
	/* clang-format off */
	static const struct {
		time_t now;
		int rc;
	} rows[] = {
		{T0 - 1, NS_CERT_ERR_NOT_YET_VALID},
		{T0, 0},
		{T0 + YEAR - 1, 0},
		{T0 + YEAR, NS_CERT_ERR_EXPIRED},
		{T0 + 2 * YEAR, NS_CERT_ERR_EXPIRED},
		{T0 - 5 * YEAR, NS_CERT_ERR_NOT_YET_VALID},
	};
	/* clang-format on */
	size_t i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		rc = ns_cert_check(x, store, BOB, strlen(BOB), rows[i].now, NULL);
		if(rc != rows[i].rc)
			fail_msg("row %zu: rc %d (%s), want %d", i, rc,
					ns_cert_strerror(rc), rows[i].rc);
		assert_no_ssl_error();
	}
	X509_free(x);
}

/* A SAN URI with a NUL inside: "sip:bob@example.com\0.evil.org" must not
 * be read as sip:bob@example.com, and no truncation makes it match. */
static void test_check_san_nul(void **state)
{
	static const char raw[] = "sip:bob@example.com\0.evil.org";
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	X509 *x;

	assert_non_null(gens);
	assert_non_null(gn);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, raw, (int)sizeof(raw) - 1), 1);
	GENERAL_NAME_set0_value(gn, GEN_URI, s);		 /* absorbed by gn */
	assert_true(sk_GENERAL_NAME_push(gens, gn) > 0); /* absorbed by gens */
	x = mk_cert(keys[K_RSA], "bob", ca, ca_key, -DAY, YEAR, NULL);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	GENERAL_NAMES_free(gens);
	assert_int_equal(ns_cert_check(x, store, BOB, strlen(BOB), T0, NULL),
			NS_CERT_ERR_URI_MISMATCH);
	assert_no_ssl_error();
	X509_free(x);
}

static void test_check_malformed(void **state)
{
	const char *const e[] = {"subjectAltName", SAN_BOB, NULL};
	ASN1_OCTET_STRING *junk = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	X509 *x;
	int reason = 0;

	/* a keyUsage extension that is no BIT STRING */
	assert_non_null(junk);
	assert_int_equal(
			ASN1_OCTET_STRING_set(junk, (const unsigned char *)"\x01\x02", 2),
			1);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_key_usage, 1, junk);
	assert_non_null(ext);
	x = mk_cert(keys[K_RSA], "bob", ca, ca_key, -DAY, YEAR, e);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	assert_int_equal(ns_cert_check(x, store, BOB, strlen(BOB), T0, &reason),
			NS_CERT_ERR_MALFORMED);
	assert_int_equal(reason, NS_CERT_ERR_MALFORMED);
	ERR_clear_error(); /* the caller's to drain */
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(junk);
	X509_free(x);

	/* arguments */
	x = mk_cert(keys[K_RSA], "bob", ca, ca_key, -DAY, YEAR, e);
	assert_int_equal(ns_cert_check(NULL, store, BOB, strlen(BOB), T0, &reason),
			NS_CERT_ERR_ARG);
	assert_int_equal(reason, NS_CERT_ERR_ARG);
	assert_int_equal(ns_cert_check(x, NULL, BOB, strlen(BOB), T0, NULL),
			NS_CERT_ERR_ARG);
	assert_int_equal(
			ns_cert_check(x, store, NULL, 0, T0, NULL), NS_CERT_ERR_ARG);
	/* the length is what counts: "sip:bob@example.com" cut short */
	assert_int_equal(ns_cert_check(x, store, BOB, strlen(BOB) - 1, T0, NULL),
			NS_CERT_ERR_URI_MISMATCH);
	assert_int_equal(
			ns_cert_check(x, store, BOB "x", strlen(BOB), T0, NULL), 0);
	assert_no_ssl_error();
	X509_free(x);
}

/* The canonicalization is lib/sip_canon.c (test/unit/lib/test_sip_canon.c);
 * here what notify_smime asks of it: a name-addr, sip and sips only. */
static void test_uri_canon(void **state)
{
	/* clang-format off */
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} rows[] = {
		{"SIPS:bob@Example.COM:5061;transport=tls", "sip:bob@example.com"},
		{"\"Bob <x>\" <sip:b%6fb@example.com.>  ", "sip:bob@example.com"},
		{"sip:bob@example.com..", NULL},
		{"tel:+15551234", NULL},
		{"<tel:+15551234>", NULL},
		{"sipx:bob@example.com", NULL},
	};
	/* clang-format on */
	char buf[NS_CERT_URI_MAX];
	size_t i;
	int n;

	for(i = 0; i < NROWS(rows); i++) {
		n = ns_cert_uri_canon(rows[i].in, strlen(rows[i].in), buf, sizeof(buf));
		if(rows[i].out == NULL ? n != -1
							   : (n < 0 || strcmp(buf, rows[i].out) != 0))
			fail_msg("row %zu: \"%s\" -> %d, want \"%s\"", i, rows[i].in, n,
					rows[i].out ? rows[i].out : "(refused)");
	}
	/* output bounds */
	assert_int_equal(ns_cert_uri_canon(BOB, strlen(BOB), buf, 20), 19);
	assert_int_equal(ns_cert_uri_canon(BOB, strlen(BOB), buf, 19), -1);
	assert_int_equal(ns_cert_uri_canon(NULL, 0, buf, sizeof(buf)), -1);
}

static void test_describe(void **state)
{
	const char *const e[] = {"subjectAltName",
			"URI:" BOB ",email:bob@example.com,DNS:x.example.com", NULL};
	X509 *x = mk_cert(keys[K_EC], "bob", ca, ca_key, -DAY, YEAR, e);
	char buf[1024], small[16];
	int n;

	n = ns_cert_describe(x, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_string_equal(buf,
			"subject=\"CN=bob,O=Example\\, \\\"Inc\\\"\" "
			"issuer=\"CN=Example CA,O=Example\\, \\\"Inc\\\"\" "
			"notBefore=2025-06-14T15:06:40Z notAfter=2026-06-15T15:06:40Z "
			"key=EC-prime256v1 "
			"san=uri:sip:bob@example.com,email:bob@example.com,"
			"dns:x.example.com");
	assert_null(strchr(buf, '\n'));
	/* snprintf semantics */
	assert_int_equal(ns_cert_describe(x, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(strncmp(small, buf, sizeof(small) - 1), 0);
	assert_int_equal(ns_cert_describe(x, NULL, 0), n);
	assert_int_equal(ns_cert_describe(NULL, buf, sizeof(buf)), -1);
	assert_int_equal(ns_cert_describe(x, NULL, 8), -1);
	assert_no_ssl_error();
	X509_free(x);

	/* no SAN, RSA; control characters in a name are escaped */
	x = mk_cert(keys[K_RSA], "bo\nb", ca, ca_key, -DAY, YEAR, NULL);
	n = ns_cert_describe(x, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(strchr(buf, '\n'));
	assert_non_null(strstr(buf, " key=RSA-2048 san=-"));
	assert_no_ssl_error();
	X509_free(x);
}

/* ------------------------------------------------------------ loader */

static char tmpdir[64];

static void write_pem(const char *name, X509 *x, const char *extra)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if(x != NULL)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if(extra != NULL)
		fputs(extra, f);
	fclose(f);
}

static void rm_path(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	rmdir(path);
}

static void test_store_load(void **state)
{
	char file[256], dir[256], err[512];
	X509_STORE *st = NULL;
	X509 *x;
	const char *const e[] = {"subjectAltName", SAN_BOB, NULL};

	strcpy(tmpdir, "/tmp/ns_cert_test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/cas", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_pem("ca.pem", ca, NULL);
	write_pem("cas/a.pem", ca, NULL);
	write_pem("cas/b.crt", other_ca, NULL);
	write_pem("cas/.hidden", NULL, "not a certificate\n");
	assert_int_equal(mkdir(strcat(strcpy(file, dir), "/sub"), 0700), 0);
	snprintf(file, sizeof(file), "%s/ca.pem", tmpdir);

	/* a file: one CA, and it verifies */
	assert_int_equal(ns_cert_store_load(file, NULL, &st, err, sizeof(err)), 1);
	assert_string_equal(err, "");
	assert_no_ssl_error();
	x = mk_cert(keys[K_RSA], "bob", ca, ca_key, -DAY, YEAR, e);
	assert_int_equal(ns_cert_check(x, st, BOB, strlen(BOB), T0, NULL), 0);
	X509_STORE_free(st);
	st = NULL;
	/* a directory: both, hidden files and subdirectories skipped; the
	 * file's CA again is no second certificate */
	assert_int_equal(ns_cert_store_load(NULL, dir, &st, err, sizeof(err)), 2);
	X509_STORE_free(st);
	st = NULL;
	assert_int_equal(ns_cert_store_load(file, dir, &st, err, sizeof(err)), 2);
	assert_int_equal(ns_cert_check(x, st, BOB, strlen(BOB), T0, NULL), 0);
	assert_no_ssl_error();
	X509_STORE_free(st);
	st = NULL;
	X509_free(x);

	/* negative rows: the error names the file */
	assert_int_equal(ns_cert_store_load(NULL, NULL, &st, err, sizeof(err)),
			NS_CERT_ERR_ARG);
	assert_int_equal(
			ns_cert_store_load("", "", &st, err, sizeof(err)), NS_CERT_ERR_ARG);
	assert_int_equal(ns_cert_store_load(file, NULL, NULL, err, sizeof(err)),
			NS_CERT_ERR_ARG);
	assert_int_equal(ns_cert_store_load("/nonexistent/ca.pem", NULL, &st, err,
							 sizeof(err)),
			NS_CERT_ERR_LOAD);
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_null(st);
	assert_int_equal(ns_cert_store_load(dir, NULL, &st, err, sizeof(err)),
			NS_CERT_ERR_LOAD); /* a directory as the file */
	write_pem("cas/junk.pem", NULL, "-----BEGIN CERTIFICATE-----\nAAAA\n");
	assert_int_equal(ns_cert_store_load(NULL, dir, &st, err, sizeof(err)),
			NS_CERT_ERR_LOAD);
	assert_non_null(strstr(err, "junk.pem"));
	assert_null(st);
	assert_no_ssl_error(); /* drained: the reason is in err */
	rm_path("cas/junk.pem");
	write_pem("cas/empty.pem", NULL, "");
	assert_int_equal(ns_cert_store_load(NULL, dir, &st, err, sizeof(err)),
			NS_CERT_ERR_LOAD);
	assert_non_null(strstr(err, "empty.pem"));
	rm_path("cas/empty.pem");
	/* no certificate at all */
	rm_path("cas/a.pem");
	rm_path("cas/b.crt");
	assert_int_equal(ns_cert_store_load(NULL, dir, &st, err, sizeof(err)),
			NS_CERT_ERR_LOAD);
	assert_non_null(strstr(err, "no CA certificate"));
	assert_int_equal(ns_cert_store_load(NULL, "/nonexistent", &st, NULL, 0),
			NS_CERT_ERR_LOAD);
	assert_no_ssl_error();

	rm_path("cas/.hidden");
	rm_path("cas/sub");
	rm_path("cas");
	rm_path("ca.pem");
	assert_int_equal(rmdir(tmpdir), 0);
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = NS_CERT_ERR_LOAD; a <= 0; a++) {
		assert_string_not_equal(ns_cert_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(ns_cert_strerror(a), ns_cert_strerror(b));
	}
	assert_string_equal(ns_cert_strerror(1), "unknown error");
	assert_string_equal(
			ns_cert_strerror(NS_CERT_ERR_LOAD - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_check_rows),
			cmocka_unit_test(test_check_chain_detail),
			cmocka_unit_test(test_check_time),
			cmocka_unit_test(test_check_san_nul),
			cmocka_unit_test(test_check_malformed),
			cmocka_unit_test(test_uri_canon),
			cmocka_unit_test(test_describe),
			cmocka_unit_test(test_store_load),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name(
			"notify_smime cert", tests, setup, teardown);
}
