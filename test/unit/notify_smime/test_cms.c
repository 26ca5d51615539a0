/*
 * Unit tests: notify_smime's CMS layer (modules/notify_smime/cms.c).
 *
 * Keys and certificates are made here with the OpenSSL API: RSA-2048,
 * RSA-3072, RSA-1024, EC P-256 and Ed25519 keys; a root CA, an
 * intermediate, a second root nobody trusts, and leaf certificates with
 * the key usages S/MIME asks for (and some without). Round trips per
 * cipher x key transport, byte for byte; OpenSSL's `openssl cms` on the
 * other end in both directions (skipped only without the binary); a row
 * for every error code; every prefix of valid messages in buffers of
 * exactly that size, garbage, bit flips, a shortened GCM tag. The error
 * queue is asserted empty after every call, success or failure (the API
 * drains it into `err`).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cms.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- keys and certificates ---------------------------------------- */

enum key_idx
{
	K_ROOT = 0,
	K_INTER,
	K_OTHER,
	K_RSA2048,
	K_RSA3072,
	K_RSA1024,
	K_EC256,
	K_SERVER,
	K_STRANGER,
	K_ED25519,
	K_COUNT
};

static const struct
{
	const char *alg;
	size_t bits;
} key_specs[K_COUNT] = {
		[K_ROOT] = {"EC", 0},
		[K_INTER] = {"EC", 0},
		[K_OTHER] = {"EC", 0},
		[K_RSA2048] = {"RSA", 2048},
		[K_RSA3072] = {"RSA", 3072},
		[K_RSA1024] = {"RSA", 1024},
		[K_EC256] = {"EC", 0},
		[K_SERVER] = {"EC", 0},
		[K_STRANGER] = {"RSA", 2048},
		[K_ED25519] = {"ED25519", 0},
};

/* Issuers come before the certificates they issue. */
enum id_idx
{
	ID_ROOT = 0,
	ID_INTER,
	ID_OTHER,
	ID_RSA2048,
	ID_RSA3072,
	ID_EC256,
	ID_SERVER,
	ID_STRANGER,
	ID_RSA1024,
	ID_RSA_SIGNONLY,
	ID_EC_SIGNONLY,
	ID_RSA_NOKU,
	ID_ED25519,
	ID_COUNT
};

#define KU_CA "critical,keyCertSign,cRLSign"
#define KU_RSA "critical,digitalSignature,keyEncipherment"
#define KU_EC "critical,digitalSignature,keyAgreement"
#define KU_SIGN "critical,digitalSignature"

static const struct
{
	const char *cn;
	int key, issuer;
	const char *ku; /* NULL: no keyUsage extension */
	int ca;
} id_specs[ID_COUNT] = {
		[ID_ROOT] = {"Test Root CA", K_ROOT, ID_ROOT, KU_CA, 1},
		[ID_INTER] = {"Test Intermediate CA", K_INTER, ID_ROOT, KU_CA, 1},
		[ID_OTHER] = {"Other Root CA", K_OTHER, ID_OTHER, KU_CA, 1},
		[ID_RSA2048] = {"bob rsa2048", K_RSA2048, ID_ROOT, KU_RSA, 0},
		[ID_RSA3072] = {"carol rsa3072", K_RSA3072, ID_ROOT, KU_RSA, 0},
		[ID_EC256] = {"dave p256", K_EC256, ID_ROOT, KU_EC, 0},
		[ID_SERVER] = {"presence server", K_SERVER, ID_INTER, KU_EC, 0},
		[ID_STRANGER] = {"stranger", K_STRANGER, ID_OTHER, KU_RSA, 0},
		[ID_RSA1024] = {"weak rsa1024", K_RSA1024, ID_ROOT, KU_RSA, 0},
		[ID_RSA_SIGNONLY] = {"bob sign-only", K_RSA2048, ID_ROOT, KU_SIGN, 0},
		[ID_EC_SIGNONLY] = {"dave sign-only", K_EC256, ID_ROOT, KU_SIGN, 0},
		[ID_RSA_NOKU] = {"bob no-ku", K_RSA2048, ID_ROOT, NULL, 0},
		[ID_ED25519] = {"erin ed25519", K_ED25519, ID_ROOT, KU_EC, 0},
};

#define MAX_TMP 64

static struct
{
	EVP_PKEY *key[K_COUNT];
	X509 *cert[ID_COUNT];
	char dir[64];
	char *tmp[MAX_TMP]; /* files to remove at the end */
	int ntmp;
	int have_cli;
	unsigned char *big; /* a large plaintext */
	size_t biglen;
} g;

#define KEY(id) (g.key[id_specs[id].key])
#define CERT(id) (g.cert[id])

static void assert_no_ssl_error(void)
{
	if(ERR_peek_error() != 0) {
		ERR_print_errors_fp(stderr);
		fail_msg("OpenSSL error queue not empty");
	}
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

static X509 *make_cert(int id)
{
	X509 *x, *issuer;
	X509_NAME *name;
	EVP_PKEY *ikey;
	int self = id_specs[id].issuer == id;

	x = X509_new();
	assert_non_null(x);
	issuer = self ? x : g.cert[id_specs[id].issuer];
	ikey = g.key[id_specs[id_specs[id].issuer].key];
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + id), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, g.key[id_specs[id].key]), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(
			X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"notify_smime test", -1, -1, 0),
			1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
							 (const unsigned char *)id_specs[id].cn, -1, -1, 0),
			1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer)), 1);
	add_ext(x, issuer, NID_basic_constraints,
			id_specs[id].ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if(id_specs[id].ku != NULL)
		add_ext(x, issuer, NID_key_usage, id_specs[id].ku);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if(!self)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static char *tmp_path(const char *name)
{
	char *p;
	size_t n = strlen(g.dir) + strlen(name) + 2;

	assert_true(g.ntmp < MAX_TMP);
	p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", g.dir, name);
	g.tmp[g.ntmp++] = p;
	return p;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf;
	FILE *f = fopen(path, "rb");
	long n;

	if(f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_cert_pem(const char *path, X509 *x, X509 *more)
{
	BIO *b = BIO_new_file(path, "wb");

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	if(more != NULL)
		assert_int_equal(PEM_write_bio_X509(b, more), 1);
	BIO_free(b);
}

static void write_key_pem(const char *path, EVP_PKEY *k)
{
	BIO *b = BIO_new_file(path, "wb");

	assert_non_null(b);
	assert_int_equal(
			PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	BIO_free(b);
}

/* The PEM files `openssl cms` reads: <id>.crt, <id>.key. */
static const char *cli_cert(int id)
{
	static char p[ID_COUNT][128];
	snprintf(p[id], sizeof(p[id]), "%s/%d.crt", g.dir, id);
	return p[id];
}

static const char *cli_key(int id)
{
	static char p[ID_COUNT][128];
	snprintf(p[id], sizeof(p[id]), "%s/%d.key", g.dir, id);
	return p[id];
}

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return system(cmd);
}

static int group_setup(void **state)
{
	char name[32];
	size_t i;

	memset(&g, 0, sizeof(g));
	for(i = 0; i < K_COUNT; i++) {
		if(key_specs[i].bits > 0)
			g.key[i] = EVP_PKEY_Q_keygen(
					NULL, NULL, key_specs[i].alg, key_specs[i].bits);
		else if(strcmp(key_specs[i].alg, "EC") == 0)
			g.key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		else
			g.key[i] = EVP_PKEY_Q_keygen(NULL, NULL, key_specs[i].alg);
		if(g.key[i] == NULL)
			return -1;
	}
	for(i = 0; i < ID_COUNT; i++)
		g.cert[i] = make_cert((int)i);

	snprintf(g.dir, sizeof(g.dir), "/tmp/ns_cms_test.XXXXXX");
	if(mkdtemp(g.dir) == NULL)
		return -1;
	for(i = 0; i < ID_COUNT; i++) {
		snprintf(name, sizeof(name), "%zu.crt", i);
		write_cert_pem(tmp_path(name), CERT(i), NULL);
		snprintf(name, sizeof(name), "%zu.key", i);
		write_key_pem(tmp_path(name), KEY(i));
	}
	g.have_cli = system("command -v openssl >/dev/null 2>&1") == 0;
	if(!g.have_cli)
		fprintf(stderr, "openssl binary missing: interop checks skipped\n");

	g.biglen = 65536 + 3;
	g.big = malloc(g.biglen);
	if(g.big == NULL)
		return -1;
	for(i = 0; i < g.biglen; i++)
		g.big[i] = (unsigned char)(i * 131 + (i >> 8));
	assert_no_ssl_error();
	return 0;
}

static int group_teardown(void **state)
{
	/* scratch files of the tests, left behind when one failed */
	static const char *const scratch[] = {"cli.der", "cli.out", "cli.err",
			"plain.txt", "enc.der", "content.txt", "sig.der", "inter.crt",
			"certs.p7c"};
	char path[128];
	size_t j;
	int i;

	for(j = 0; g.dir[0] != '\0' && j < NROWS(scratch); j++) {
		snprintf(path, sizeof(path), "%s/%s", g.dir, scratch[j]);
		unlink(path);
	}

	for(i = 0; i < K_COUNT; i++)
		EVP_PKEY_free(g.key[i]);
	for(i = 0; i < ID_COUNT; i++)
		X509_free(g.cert[i]);
	for(i = 0; i < g.ntmp; i++) {
		unlink(g.tmp[i]);
		free(g.tmp[i]);
	}
	if(g.dir[0] != '\0')
		rmdir(g.dir);
	free(g.big);
	return 0;
}

/* ---- helpers ------------------------------------------------------- */

static unsigned char *dup_exact(const unsigned char *p, size_t n)
{
	unsigned char *b = malloc(n > 0 ? n : 1);

	assert_non_null(b);
	if(n > 0)
		memcpy(b, p, n);
	return b;
}

static int has_bytes(const unsigned char *hay, size_t hlen,
		const unsigned char *needle, size_t nlen)
{
	size_t i;

	for(i = 0; i + nlen <= hlen; i++) {
		if(memcmp(hay + i, needle, nlen) == 0)
			return 1;
	}
	return 0;
}

/* DER of the OIDs, tag and length included */
static const unsigned char oid_aes128_cbc[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02};
static const unsigned char oid_aes256_cbc[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a};
static const unsigned char oid_aes128_gcm[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06};
static const unsigned char oid_aes256_gcm[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e};
static const unsigned char oid_sha256[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

static const unsigned char *const cipher_oid[NS_CMS_CIPHER_COUNT] = {
		oid_aes128_cbc, oid_aes256_cbc, oid_aes128_gcm, oid_aes256_gcm};

/* The key transport / agreement algorithm of the one recipient. */
static int recipient_alg(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms;
	STACK_OF(CMS_RecipientInfo) * ris;
	CMS_RecipientInfo *ri;
	X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	int nid = NID_undef;

	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	ris = CMS_get0_RecipientInfos(cms);
	assert_int_equal(sk_CMS_RecipientInfo_num(ris), 1);
	ri = sk_CMS_RecipientInfo_value(ris, 0);
	if(CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS)
		assert_int_equal(
				CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg), 1);
	else if(CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE)
		assert_int_equal(CMS_RecipientInfo_kari_get0_alg(ri, &alg, NULL), 1);
	if(alg != NULL) {
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		nid = OBJ_obj2nid(obj);
	}
	CMS_ContentInfo_free(cms);
	assert_no_ssl_error();
	return nid;
}

/* Decrypts with `openssl cms`; 0 and the plaintext on success. */
static int cli_decrypt(const unsigned char *der, size_t len, int id,
		unsigned char **pt, size_t *ptlen)
{
	char in[128], out[128];
	int r;

	snprintf(in, sizeof(in), "%s/cli.der", g.dir);
	snprintf(out, sizeof(out), "%s/cli.out", g.dir);
	write_file(in, der, len);
	unlink(out);
	r = run("openssl cms -decrypt -binary -inform DER -in %s -recip %s "
			"-inkey %s -out %s 2>%s/cli.err",
			in, cli_cert(id), cli_key(id), out, g.dir);
	*pt = r == 0 ? read_file(out, ptlen) : NULL;
	unlink(in);
	unlink(out);
	if(r != 0)
		run("cat %s/cli.err >&2", g.dir);
	snprintf(in, sizeof(in), "%s/cli.err", g.dir);
	unlink(in);
	return r == 0 && *pt != NULL ? 0 : -1;
}

/* ---- round trips --------------------------------------------------- */

static const char pidf[] =
		"Content-Type: application/pidf+xml\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"\r\n"
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
		"    entity=\"sip:alice@example.com\">\r\n"
		"  <tuple id=\"a1\"><status><basic>open</basic></status>\r\n"
		"  <contact>sip:alice@192.0.2.1</contact></tuple>\r\n"
		"</presence>\r\n";

/* bare LF, bare CR, NUL, 8-bit: none of it may be touched */
static const unsigned char binary[] = {'C', 'o', 'n', 't', 'e', 'n', 't', '-',
		'T', 'y', 'p', 'e', ':', ' ', 'x', '\n', '\n', 0x00, 0xff, '\r', 'a',
		'\r', '\n', '.', '\n', 0x80, 0x00, '\n'};

static const struct
{
	const char *name;
	const unsigned char *p; /* NULL: g.big */
	size_t len;
	int cli; /* also through `openssl cms` */
} texts[] = {
		{"pidf", (const unsigned char *)pidf, sizeof(pidf) - 1, 1},
		{"binary", binary, sizeof(binary), 1},
		{"one byte", (const unsigned char *)"x", 1, 0},
		{"empty", (const unsigned char *)"", 0, 0},
		{"64k+3", NULL, 0, 0},
};

static const struct kx_row
{
	const char *name;
	int id;
	ns_cms_rsa_pad_t pad;
	ns_cms_ecdh_kdf_t kdf;
	int nid;	/* key transport / agreement algorithm expected */
	int sha256; /* the SHA-256 OID appears (OAEP parameters) */
} kx_rows[] = {
		{"RSA-2048 PKCS#1 v1.5", ID_RSA2048, NS_CMS_RSA_PKCS1, 0,
				NID_rsaEncryption, 0},
		{"RSA-3072 OAEP", ID_RSA3072, NS_CMS_RSA_OAEP, 0, NID_rsaesOaep, 0},
		{"RSA-2048 OAEP-SHA256", ID_RSA2048, NS_CMS_RSA_OAEP_SHA256, 0,
				NID_rsaesOaep, 1},
		{"RSA-2048 no keyUsage", ID_RSA_NOKU, NS_CMS_RSA_PKCS1, 0,
				NID_rsaEncryption, 0},
		{"EC P-256 sha256kdf", ID_EC256, 0, NS_CMS_KDF_SHA256,
				NID_dhSinglePass_stdDH_sha256kdf_scheme, 0},
		{"EC P-256 sha1kdf", ID_EC256, 0, NS_CMS_KDF_SHA1,
				NID_dhSinglePass_stdDH_sha1kdf_scheme, 0},
		{"EC P-256 under intermediate", ID_SERVER, 0, NS_CMS_KDF_SHA256,
				NID_dhSinglePass_stdDH_sha256kdf_scheme, 0},
};

static int is_gcm(ns_cms_cipher_t c)
{
	return c == NS_CMS_AES128_GCM || c == NS_CMS_AES256_GCM;
}

/* Encrypts `pt` to `id`, asserting success; *der for the caller. */
static void encrypt_ok(int id, const ns_cms_opts_t *o, const unsigned char *pt,
		size_t ptlen, unsigned char **der, size_t *derlen)
{
	char err[NS_CMS_ERR_LEN];
	int rc;

	rc = ns_cms_encrypt(pt, ptlen, CERT(id), o, der, derlen, err, sizeof(err));
	if(rc != NS_CMS_OK)
		fail_msg("encrypt to %s: %s (%s)", id_specs[id].cn, ns_cms_strerror(rc),
				err);
	assert_non_null(*der);
	assert_true(*derlen > 0);
	assert_string_equal(err, "");
	assert_no_ssl_error();
}

static void test_roundtrip(void **state)
{
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *out, *cli;
	size_t derlen, outlen, clilen, i, t;
	ns_cms_type_t type, type2;
	int c, rc;

	for(c = 0; c < NS_CMS_CIPHER_COUNT; c++) {
		for(i = 0; i < NROWS(kx_rows); i++) {
			const struct kx_row *r = &kx_rows[i];
			ns_cms_opts_t o = {(ns_cms_cipher_t)c, r->pad, r->kdf};

			for(t = 0; t < NROWS(texts); t++) {
				const unsigned char *pt = texts[t].p ? texts[t].p : g.big;
				size_t ptlen = texts[t].p ? texts[t].len : g.biglen;

				encrypt_ok(r->id, &o, pt, ptlen, &der, &derlen);
				assert_true(has_bytes(der, derlen, cipher_oid[c], 11));
				assert_int_equal(recipient_alg(der, derlen), r->nid);
				assert_int_equal(
						has_bytes(der, derlen, oid_sha256, sizeof(oid_sha256)),
						r->sha256);
				assert_int_equal(ns_cms_content_type(der, derlen, &type2), 0);
				assert_no_ssl_error();

				rc = ns_cms_decrypt(der, derlen, CERT(r->id), KEY(r->id), ptlen,
						&out, &outlen, &type, err, sizeof(err));
				if(rc != NS_CMS_OK)
					fail_msg("%s, cipher %d, %s: %s (%s)", r->name, c,
							texts[t].name, ns_cms_strerror(rc), err);
				assert_no_ssl_error();
				assert_string_equal(err, "");
				assert_int_equal(type, is_gcm(c) ? NS_CMS_TYPE_AUTH_ENVELOPED
												 : NS_CMS_TYPE_ENVELOPED);
				assert_int_equal(type2, type);
				assert_int_equal(outlen, ptlen);
				assert_memory_equal(out, pt, ptlen);
				assert_int_equal(out[outlen], '\0');
				ns_cms_free(out, outlen);

				if(texts[t].cli && g.have_cli) {
					if(cli_decrypt(der, derlen, r->id, &cli, &clilen) != 0)
						fail_msg("openssl cms -decrypt: %s, cipher %d, %s",
								r->name, c, texts[t].name);
					assert_int_equal(clilen, ptlen);
					assert_memory_equal(cli, pt, ptlen);
					free(cli);
				}
				ns_cms_free(der, derlen);
			}
		}
	}
	/* NULL options: AES-128-CBC, PKCS#1 v1.5 */
	encrypt_ok(ID_RSA2048, NULL, (const unsigned char *)pidf, sizeof(pidf) - 1,
			&der, &derlen);
	assert_true(has_bytes(der, derlen, oid_aes128_cbc, 11));
	assert_int_equal(recipient_alg(der, derlen), NID_rsaEncryption);
	ns_cms_free(der, derlen);
}

/* `openssl cms -encrypt`, decrypted here */
static void test_cli_encrypt(void **state)
{
	static const struct
	{
		int id;
		const char *cipher, *keyopt;
		ns_cms_type_t type;
	} rows[] = {
			{ID_RSA2048, "-aes-128-cbc", NULL, NS_CMS_TYPE_ENVELOPED},
			{ID_RSA3072, "-aes-256-gcm", "rsa_padding_mode:oaep",
					NS_CMS_TYPE_AUTH_ENVELOPED},
			{ID_RSA2048, "-aes-256-cbc", "rsa_oaep_md:sha256",
					NS_CMS_TYPE_ENVELOPED},
			{ID_EC256, "-aes-128-gcm", NULL, NS_CMS_TYPE_AUTH_ENVELOPED},
			{ID_EC256, "-aes-256-cbc", "ecdh_kdf_md:sha256",
					NS_CMS_TYPE_ENVELOPED},
			{ID_SERVER, "-des3", NULL, NS_CMS_TYPE_ENVELOPED},
	};
	char err[NS_CMS_ERR_LEN], in[128], der_path[128];
	unsigned char *der, *out;
	size_t derlen, outlen, i;
	ns_cms_type_t type;
	int rc;

	if(!g.have_cli)
		skip();
	snprintf(in, sizeof(in), "%s/plain.txt", g.dir);
	snprintf(der_path, sizeof(der_path), "%s/enc.der", g.dir);
	write_file(in, pidf, sizeof(pidf) - 1);
	for(i = 0; i < NROWS(rows); i++) {
		char keyopt[96] = "";

		if(rows[i].keyopt != NULL) {
			if(strncmp(rows[i].keyopt, "rsa_oaep_md", 11) == 0)
				snprintf(keyopt, sizeof(keyopt),
						"-keyopt rsa_padding_mode:oaep -keyopt %s",
						rows[i].keyopt);
			else
				snprintf(keyopt, sizeof(keyopt), "-keyopt %s", rows[i].keyopt);
		}
		assert_int_equal(run("openssl cms -encrypt -binary -outform DER "
							 "-in %s -out %s %s -recip %s %s",
								 in, der_path, rows[i].cipher,
								 cli_cert(rows[i].id), keyopt),
				0);
		der = read_file(der_path, &derlen);
		assert_non_null(der);
		rc = ns_cms_decrypt(der, derlen, CERT(rows[i].id), KEY(rows[i].id),
				4096, &out, &outlen, &type, err, sizeof(err));
		if(rc != NS_CMS_OK)
			fail_msg("row %zu: %s (%s)", i, ns_cms_strerror(rc), err);
		assert_no_ssl_error();
		assert_int_equal(type, rows[i].type);
		assert_int_equal(outlen, sizeof(pidf) - 1);
		assert_memory_equal(out, pidf, outlen);
		ns_cms_free(out, outlen);
		free(der);
	}
	unlink(in);
	unlink(der_path);
}

/* ---- encryption refused -------------------------------------------- */

static void test_encrypt_refused(void **state)
{
	static const struct
	{
		int id;
		int rc;
	} rows[] = {
			{ID_RSA1024, NS_CMS_ERR_RECIPIENT_CERT},
			{ID_RSA_SIGNONLY, NS_CMS_ERR_RECIPIENT_CERT},
			{ID_EC_SIGNONLY, NS_CMS_ERR_RECIPIENT_CERT},
			{ID_ED25519, NS_CMS_ERR_RECIPIENT_CERT},
			{ID_ROOT, NS_CMS_ERR_RECIPIENT_CERT},
	};
	const unsigned char *pt = (const unsigned char *)pidf;
	ns_cms_opts_t bad[] = {
			{NS_CMS_CIPHER_COUNT, 0, 0},
			{(ns_cms_cipher_t)-1, 0, 0},
			{0, NS_CMS_RSA_PAD_COUNT, 0},
			{0, 0, NS_CMS_KDF_COUNT},
	};
	char err[NS_CMS_ERR_LEN];
	unsigned char *der = (unsigned char *)"x";
	size_t derlen = 7, i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		rc = ns_cms_encrypt(pt, sizeof(pidf) - 1, CERT(rows[i].id), NULL, &der,
				&derlen, err, sizeof(err));
		if(rc != rows[i].rc)
			fail_msg("row %zu: %s (%s)", i, ns_cms_strerror(rc), err);
		assert_null(der);
		assert_int_equal(derlen, 0);
		assert_true(strlen(err) > 0);
		assert_no_ssl_error();
	}
	for(i = 0; i < NROWS(bad); i++) {
		assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA2048), &bad[i], &der,
								 &derlen, err, sizeof(err)),
				NS_CMS_ERR_ARG);
		assert_null(der);
		assert_no_ssl_error();
	}
	assert_int_equal(ns_cms_encrypt(NULL, 3, CERT(ID_RSA2048), NULL, &der,
							 &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(
			ns_cms_encrypt(pt, 3, NULL, NULL, &der, &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA2048), NULL, NULL,
							 &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA2048), NULL, &der, NULL,
							 err, sizeof(err)),
			NS_CMS_ERR_ARG);
	/* err is optional; a tiny one is truncated, not overrun */
	assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA1024), NULL, &der,
							 &derlen, NULL, 0),
			NS_CMS_ERR_RECIPIENT_CERT);
	err[0] = 'x';
	err[1] = 'y';
	assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA1024), NULL, &der,
							 &derlen, err, 1),
			NS_CMS_ERR_RECIPIENT_CERT);
	assert_int_equal(err[0], '\0');
	assert_int_equal(err[1], 'y');
	assert_int_equal(ns_cms_encrypt(pt, 3, CERT(ID_RSA1024), NULL, &der,
							 &derlen, err, 5),
			NS_CMS_ERR_RECIPIENT_CERT);
	assert_int_equal(strlen(err), 4);
	assert_no_ssl_error();
}

/* ---- decryption refused -------------------------------------------- */

static void test_decrypt_wrong_key(void **state)
{
	static const struct
	{
		int to;
		ns_cms_cipher_t cipher;
		int cert, key; /* identities whose cert and key decrypt */
		int rc;
	} rows[] = {
			{ID_RSA2048, NS_CMS_AES128_CBC, ID_RSA3072, ID_RSA3072,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_RSA2048, NS_CMS_AES128_CBC, ID_RSA2048, ID_RSA3072,
					NS_CMS_ERR_KEY_MISMATCH},
			{ID_RSA2048, NS_CMS_AES256_GCM, ID_RSA3072, ID_RSA3072,
					NS_CMS_ERR_NO_RECIPIENT},
			/* the same key under another certificate */
			{ID_RSA2048, NS_CMS_AES256_GCM, ID_RSA_NOKU, ID_RSA_NOKU,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_RSA2048, NS_CMS_AES256_GCM, ID_EC256, ID_EC256,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_EC256, NS_CMS_AES128_CBC, ID_SERVER, ID_SERVER,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_EC256, NS_CMS_AES256_GCM, ID_RSA2048, ID_RSA2048,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_EC256, NS_CMS_AES256_GCM, ID_EC_SIGNONLY, ID_EC_SIGNONLY,
					NS_CMS_ERR_NO_RECIPIENT},
			{ID_EC256, NS_CMS_AES256_GCM, ID_EC256, ID_SERVER,
					NS_CMS_ERR_KEY_MISMATCH},
			{ID_EC256, NS_CMS_AES128_CBC, ID_EC256, ID_RSA2048,
					NS_CMS_ERR_KEY_MISMATCH},
	};
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *out;
	size_t derlen, outlen, i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		ns_cms_opts_t o = {rows[i].cipher, 0, 0};

		encrypt_ok(rows[i].to, &o, (const unsigned char *)pidf,
				sizeof(pidf) - 1, &der, &derlen);
		out = (unsigned char *)"x";
		outlen = 5;
		rc = ns_cms_decrypt(der, derlen, CERT(rows[i].cert), KEY(rows[i].key),
				4096, &out, &outlen, NULL, err, sizeof(err));
		if(rc != rows[i].rc)
			fail_msg("row %zu: %s, want %s (%s)", i, ns_cms_strerror(rc),
					ns_cms_strerror(rows[i].rc), err);
		assert_null(out);
		assert_int_equal(outlen, 0);
		assert_true(strlen(err) > 0);
		assert_no_ssl_error();
		ns_cms_free(der, derlen);
	}
}

static void test_decrypt_args(void **state)
{
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *out;
	size_t derlen, outlen;
	X509 *c = CERT(ID_EC256);
	EVP_PKEY *k = KEY(ID_EC256);

	encrypt_ok(ID_EC256, NULL, (const unsigned char *)"hi", 2, &der, &derlen);
	assert_int_equal(ns_cms_decrypt(NULL, derlen, c, k, 10, &out, &outlen, NULL,
							 err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_decrypt(der, derlen, NULL, k, 10, &out, &outlen,
							 NULL, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_decrypt(der, derlen, c, NULL, 10, &out, &outlen,
							 NULL, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_decrypt(der, derlen, c, k, 10, NULL, &outlen, NULL,
							 err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_decrypt(der, derlen, c, k, 10, &out, NULL, NULL,
							 err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(
			ns_cms_decrypt(der, derlen, c, k, 10, &out, &outlen, NULL, NULL, 0),
			NS_CMS_OK);
	assert_no_ssl_error();
	assert_memory_equal(out, "hi", 3);
	ns_cms_free(out, outlen);
	ns_cms_free(der, derlen);
	ns_cms_free(NULL, 0);
}

/* Every proper prefix, in a buffer of exactly its size, and one byte too
 * many: PARSE, nothing read past the end. */
static void check_prefixes(const unsigned char *der, size_t len,
		int (*call)(const unsigned char *, size_t, char *, size_t))
{
	char err[NS_CMS_ERR_LEN];
	unsigned char *b;
	size_t n;
	int rc;

	for(n = 0; n < len; n++) {
		b = dup_exact(der, n);
		rc = call(b, n, err, sizeof(err));
		free(b);
		if(rc != NS_CMS_ERR_PARSE)
			fail_msg("prefix of %zu of %zu bytes: %s (%s)", n, len,
					ns_cms_strerror(rc), err);
		assert_true(strlen(err) > 0);
		assert_no_ssl_error();
	}
	b = malloc(len + 1);
	assert_non_null(b);
	memcpy(b, der, len);
	b[len] = 0x00;
	rc = call(b, len + 1, err, sizeof(err));
	free(b);
	assert_int_equal(rc, NS_CMS_ERR_PARSE);
	assert_no_ssl_error();
}

static int g_call_id; /* identity the decrypt callback uses */

static int call_decrypt(
		const unsigned char *p, size_t n, char *err, size_t errlen)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	int rc;

	rc = ns_cms_decrypt(p, n, CERT(g_call_id), KEY(g_call_id), 1 << 20, &out,
			&outlen, NULL, err, errlen);
	if(rc == NS_CMS_OK)
		ns_cms_free(out, outlen);
	else
		assert_null(out);
	return rc;
}

static int call_certs_only(
		const unsigned char *p, size_t n, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	int rc;

	rc = ns_cms_certs_only_parse(p, n, &certs, err, errlen);
	if(rc == NS_CMS_OK)
		sk_X509_pop_free(certs, X509_free);
	else
		assert_null(certs);
	return rc;
}

static X509_STORE *store_of(int id)
{
	X509_STORE *s = X509_STORE_new();

	assert_non_null(s);
	assert_int_equal(X509_STORE_add_cert(s, CERT(id)), 1);
	return s;
}

static int call_verify(
		const unsigned char *p, size_t n, char *err, size_t errlen)
{
	X509_STORE *s = store_of(ID_ROOT);
	X509 *signer = NULL;
	int rc;

	rc = ns_cms_verify_detached(p, n, (const unsigned char *)pidf,
			sizeof(pidf) - 1, s, &signer, err, errlen);
	X509_free(signer);
	X509_STORE_free(s);
	return rc;
}

static int call_type(const unsigned char *p, size_t n, char *err, size_t errlen)
{
	ns_cms_type_t t;
	int rc = ns_cms_content_type(p, n, &t);

	snprintf(err, errlen, "%s", ns_cms_strerror(rc));
	return rc;
}

static void sign_ok(int id, STACK_OF(X509) * chain, const unsigned char *in,
		size_t inlen, unsigned char **der, size_t *derlen)
{
	char err[NS_CMS_ERR_LEN];
	int rc;

	rc = ns_cms_sign(
			in, inlen, CERT(id), KEY(id), chain, der, derlen, err, sizeof(err));
	if(rc != NS_CMS_OK)
		fail_msg("sign as %s: %s (%s)", id_specs[id].cn, ns_cms_strerror(rc),
				err);
	assert_no_ssl_error();
}

static void certs_only_ok(
		int id, STACK_OF(X509) * chain, unsigned char **der, size_t *derlen)
{
	char err[NS_CMS_ERR_LEN];
	int rc;

	rc = ns_cms_certs_only_build(
			CERT(id), chain, der, derlen, err, sizeof(err));
	if(rc != NS_CMS_OK)
		fail_msg("certs-only: %s (%s)", ns_cms_strerror(rc), err);
	assert_no_ssl_error();
}

static void test_truncated(void **state)
{
	static const struct
	{
		int id;
		ns_cms_cipher_t cipher;
	} rows[] = {
			{ID_RSA2048, NS_CMS_AES256_GCM},
			{ID_RSA3072, NS_CMS_AES128_CBC},
			{ID_EC256, NS_CMS_AES128_CBC},
			{ID_EC256, NS_CMS_AES128_GCM},
	};
	unsigned char *der;
	size_t derlen, i;

	for(i = 0; i < NROWS(rows); i++) {
		ns_cms_opts_t o = {rows[i].cipher, 0, 0};

		encrypt_ok(rows[i].id, &o, (const unsigned char *)pidf,
				sizeof(pidf) - 1, &der, &derlen);
		g_call_id = rows[i].id;
		check_prefixes(der, derlen, call_decrypt);
		check_prefixes(der, derlen, call_type);
		ns_cms_free(der, derlen);
	}
	sign_ok(ID_SERVER, NULL, (const unsigned char *)pidf, sizeof(pidf) - 1,
			&der, &derlen);
	check_prefixes(der, derlen, call_verify);
	ns_cms_free(der, derlen);
	certs_only_ok(ID_SERVER, NULL, &der, &derlen);
	check_prefixes(der, derlen, call_certs_only);
	ns_cms_free(der, derlen);
}

/* A ContentInfo of type id-data: a CMS, but none of ours. */
static unsigned char *data_content_info(size_t *len)
{
	BIO *b = BIO_new_mem_buf("hello", 5);
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	int n;

	assert_non_null(b);
	cms = CMS_data_create(b, CMS_BINARY);
	assert_non_null(cms);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	CMS_ContentInfo_free(cms);
	BIO_free(b);
	assert_no_ssl_error();
	return der;
}

static void test_garbage(void **state)
{
	static const struct
	{
		const char *p;
		size_t len;
	} rows[] = {
			{"hello", 5},
			{"\x30", 1},
			{"\x30\x00", 2},
			{"\x30\x80\x00\x00", 4},
			{"\x30\x03\x06\x01\x00", 5},
			{"\x30\x82\xff\xff\x06\x09", 6},
			{"\x30\x84\xff\xff\xff\xff\x06", 7},
			{"\x30\x89\x01\x00\x00\x00\x00\x00\x00\x00\x00", 11},
			{"-----BEGIN CMS-----\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\n", 48},
			{"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03", 11},
	};
	char err[NS_CMS_ERR_LEN];
	unsigned char *b, *der, *out;
	size_t i, derlen, outlen;
	ns_cms_type_t type;
	int rc;

	g_call_id = ID_RSA2048;
	for(i = 0; i < NROWS(rows); i++) {
		b = dup_exact((const unsigned char *)rows[i].p, rows[i].len);
		assert_int_equal(call_decrypt(b, rows[i].len, err, sizeof(err)),
				NS_CMS_ERR_PARSE);
		assert_no_ssl_error();
		assert_int_equal(call_certs_only(b, rows[i].len, err, sizeof(err)),
				NS_CMS_ERR_PARSE);
		assert_no_ssl_error();
		assert_int_equal(call_verify(b, rows[i].len, err, sizeof(err)),
				NS_CMS_ERR_PARSE);
		assert_no_ssl_error();
		assert_int_equal(
				ns_cms_content_type(b, rows[i].len, &type), NS_CMS_ERR_PARSE);
		assert_no_ssl_error();
		free(b);
	}
	/* random bytes */
	srand(1);
	for(i = 0; i < 200; i++) {
		size_t n = 1 + (size_t)rand() % 700, j;

		b = malloc(n);
		assert_non_null(b);
		for(j = 0; j < n; j++)
			b[j] = (unsigned char)rand();
		if(i % 2)
			b[0] = 0x30; /* a SEQUENCE at least */
		assert_int_equal(
				call_decrypt(b, n, err, sizeof(err)), NS_CMS_ERR_PARSE);
		assert_int_equal(
				call_certs_only(b, n, err, sizeof(err)), NS_CMS_ERR_PARSE);
		assert_no_ssl_error();
		free(b);
	}
	/* CMS, but not enveloped */
	der = data_content_info(&derlen);
	assert_int_equal(
			call_decrypt(der, derlen, err, sizeof(err)), NS_CMS_ERR_TYPE);
	assert_int_equal(
			call_certs_only(der, derlen, err, sizeof(err)), NS_CMS_ERR_TYPE);
	assert_int_equal(
			call_verify(der, derlen, err, sizeof(err)), NS_CMS_ERR_TYPE);
	assert_int_equal(ns_cms_content_type(der, derlen, &type), 0);
	assert_int_equal(type, NS_CMS_TYPE_OTHER);
	assert_no_ssl_error();
	OPENSSL_free(der);
	sign_ok(ID_RSA2048, NULL, (const unsigned char *)"x", 1, &der, &derlen);
	rc = ns_cms_decrypt(der, derlen, CERT(ID_RSA2048), KEY(ID_RSA2048), 100,
			&out, &outlen, &type, err, sizeof(err));
	assert_int_equal(rc, NS_CMS_ERR_TYPE);
	assert_int_equal(type, NS_CMS_TYPE_OTHER);
	assert_string_equal(err, "not enveloped-data");
	assert_no_ssl_error();
	ns_cms_free(der, derlen);
	certs_only_ok(ID_RSA2048, NULL, &der, &derlen);
	assert_int_equal(
			call_decrypt(der, derlen, err, sizeof(err)), NS_CMS_ERR_TYPE);
	assert_no_ssl_error();
	ns_cms_free(der, derlen);
}

/* Flips one bit of every byte in turn. AuthEnvelopedData: never a
 * different plaintext, and a flip in the ciphertext or the tag is an
 * integrity failure. EnvelopedData: no crash, no leak, a valid code. */
static void test_bitflip(void **state)
{
	static const struct
	{
		int id;
		ns_cms_cipher_t cipher;
	} rows[] = {
			{ID_EC256, NS_CMS_AES256_GCM},
			{ID_RSA2048, NS_CMS_AES128_GCM},
			{ID_EC256, NS_CMS_AES128_CBC},
			{ID_RSA2048, NS_CMS_AES256_CBC},
	};
	const unsigned char *pt = (const unsigned char *)pidf;
	const size_t ptlen = sizeof(pidf) - 1;
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *b, *out;
	size_t derlen, outlen, i, r, ok, integrity;
	int rc, gcm;

	for(r = 0; r < NROWS(rows); r++) {
		ns_cms_opts_t o = {rows[r].cipher, 0, 0};

		gcm = is_gcm(rows[r].cipher);
		encrypt_ok(rows[r].id, &o, pt, ptlen, &der, &derlen);
		if(gcm) {
			/* ... [0] ciphertext, OCTET STRING (16) tag: the end */
			assert_int_equal(der[derlen - 18], 0x04);
			assert_int_equal(der[derlen - 17], 16);
		}
		ok = integrity = 0;
		for(i = 0; i < derlen; i++) {
			b = dup_exact(der, derlen);
			b[i] ^= (unsigned char)(1u << (i % 8));
			out = NULL;
			rc = ns_cms_decrypt(b, derlen, CERT(rows[r].id), KEY(rows[r].id),
					ptlen, &out, &outlen, NULL, err, sizeof(err));
			free(b);
			assert_no_ssl_error();
			assert_true(rc <= 0 && rc >= NS_CMS_ERR_LAST);
			if(rc == NS_CMS_OK) {
				ok++;
				if(gcm) {
					assert_int_equal(outlen, ptlen);
					assert_memory_equal(out, pt, ptlen);
				}
				ns_cms_free(out, outlen);
				continue;
			}
			assert_null(out);
			if(rc == NS_CMS_ERR_INTEGRITY)
				integrity++;
			if(gcm && i >= derlen - 18 - ptlen && i != derlen - 18
					&& i != derlen - 17 && rc != NS_CMS_ERR_INTEGRITY)
				fail_msg("flip at %zu of %zu: %s (%s)", i, derlen,
						ns_cms_strerror(rc), err);
		}
		if(gcm)
			assert_true(integrity >= ptlen + 16);
		else
			assert_int_equal(integrity, 0);
		print_message("bit flips, %s cipher %d: %zu bytes, %zu still "
					  "decrypt, %zu integrity failures\n",
				id_specs[rows[r].id].cn, rows[r].cipher, derlen, ok, integrity);
		ns_cms_free(der, derlen);
	}
}

/* Rewrites the length of the DER header at `off` by `delta` (long form
 * of 1 or 2 octets, or short form), returning the header's size. */
static size_t adjust_len(unsigned char *d, size_t off, long delta)
{
	long l;

	if(d[off + 1] == 0x82) {
		l = (d[off + 2] << 8 | d[off + 3]) + delta;
		assert_true(l >= 256 && l < 65536);
		d[off + 2] = (unsigned char)(l >> 8);
		d[off + 3] = (unsigned char)l;
		return 4;
	}
	if(d[off + 1] == 0x81) {
		l = d[off + 2] + delta;
		assert_true(l >= 128 && l < 256);
		d[off + 2] = (unsigned char)l;
		return 3;
	}
	l = d[off + 1] + delta;
	assert_true(l >= 0 && l < 128);
	d[off + 1] = (unsigned char)l;
	return 2;
}

/* An AuthEnvelopedData whose tag was cut to its first `k` octets (the
 * truncation attack OpenSSL alone lets through down to 4 octets). */
static void test_short_tag(void **state)
{
	static const struct
	{
		size_t k;
		int rc;
	} rows[] = {
			{0, NS_CMS_ERR_INTEGRITY},
			{1, NS_CMS_ERR_INTEGRITY},
			{4, NS_CMS_ERR_INTEGRITY},
			{8, NS_CMS_ERR_INTEGRITY},
			{11, NS_CMS_ERR_INTEGRITY},
			{12, NS_CMS_OK}, /* RFC 5084 allows 12 to 16 */
			{15, NS_CMS_OK},
			{16, NS_CMS_OK},
	};
	ns_cms_opts_t o = {NS_CMS_AES256_GCM, 0, 0};
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *b, *out;
	size_t derlen, outlen, off, i, cut;
	int rc;

	/* long enough for every header to stay in two-octet long form */
	encrypt_ok(ID_EC256, &o, g.big, 1000, &der, &derlen);
	assert_int_equal(der[derlen - 18], 0x04);
	assert_int_equal(der[derlen - 17], 16);
	for(i = 0; i < NROWS(rows); i++) {
		cut = 16 - rows[i].k;
		b = dup_exact(der, derlen - cut);
		b[derlen - cut - rows[i].k - 1] = (unsigned char)rows[i].k;
		/* ContentInfo, [0], AuthEnvelopedData */
		off = adjust_len(b, 0, -(long)cut);
		off += 2 + b[off + 1]; /* the OID */
		off += adjust_len(b, off, -(long)cut);
		adjust_len(b, off, -(long)cut);
		rc = ns_cms_decrypt(b, derlen - cut, CERT(ID_EC256), KEY(ID_EC256),
				1000, &out, &outlen, NULL, err, sizeof(err));
		free(b);
		if(rc != rows[i].rc)
			fail_msg(
					"tag of %zu: %s (%s)", rows[i].k, ns_cms_strerror(rc), err);
		assert_no_ssl_error();
		if(rc == NS_CMS_OK) {
			assert_memory_equal(out, g.big, 1000);
			ns_cms_free(out, outlen);
		} else {
			assert_non_null(strstr(err, "authentication tag"));
		}
	}
	ns_cms_free(der, derlen);
}

static void test_too_big(void **state)
{
	static const struct
	{
		ns_cms_cipher_t cipher;
		size_t ptlen, max;
		int rc;
	} rows[] = {
			{NS_CMS_AES128_CBC, 100, 100, NS_CMS_OK},
			{NS_CMS_AES128_CBC, 100, 99, NS_CMS_ERR_TOO_BIG},
			{NS_CMS_AES128_CBC, 100, 0, NS_CMS_ERR_TOO_BIG},
			{NS_CMS_AES256_GCM, 100, 101, NS_CMS_OK},
			{NS_CMS_AES256_GCM, 100, 99, NS_CMS_ERR_TOO_BIG},
			{NS_CMS_AES256_GCM, 0, 0, NS_CMS_OK},
			{NS_CMS_AES128_CBC, 0, 0, NS_CMS_OK},
			{NS_CMS_AES128_GCM, 65539, 65538, NS_CMS_ERR_TOO_BIG},
			{NS_CMS_AES128_GCM, 65539, 65539, NS_CMS_OK},
	};
	char err[NS_CMS_ERR_LEN];
	unsigned char *der, *out;
	size_t derlen, outlen, i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		ns_cms_opts_t o = {rows[i].cipher, 0, 0};

		encrypt_ok(ID_EC256, &o, g.big, rows[i].ptlen, &der, &derlen);
		rc = ns_cms_decrypt(der, derlen, CERT(ID_EC256), KEY(ID_EC256),
				rows[i].max, &out, &outlen, NULL, err, sizeof(err));
		if(rc != rows[i].rc)
			fail_msg("row %zu: %s (%s)", i, ns_cms_strerror(rc), err);
		assert_no_ssl_error();
		if(rc == NS_CMS_OK) {
			assert_non_null(out);
			assert_int_equal(outlen, rows[i].ptlen);
			assert_memory_equal(out, g.big, outlen);
			ns_cms_free(out, outlen);
		} else {
			assert_null(out);
			assert_int_equal(outlen, 0);
			assert_non_null(strstr(err, "allowed"));
		}
		ns_cms_free(der, derlen);
	}
}

/* ---- signatures ---------------------------------------------------- */

enum tamper
{
	T_NONE = 0,
	T_FLIP,
	T_APPEND,
	T_TRUNC,
	T_EMPTY,
	T_LF /* CRLF turned into LF: what a canonicalising relay would undo */
};

static unsigned char *tampered(enum tamper t, size_t *len)
{
	size_t n = sizeof(pidf) - 1, i, j;
	unsigned char *b = malloc(n + 2);

	assert_non_null(b);
	memcpy(b, pidf, n);
	switch(t) {
		case T_NONE:
			break;
		case T_FLIP:
			b[n / 2] ^= 0x20;
			break;
		case T_APPEND:
			b[n++] = '\r';
			b[n++] = '\n';
			break;
		case T_TRUNC:
			n--;
			break;
		case T_EMPTY:
			n = 0;
			break;
		case T_LF:
			for(i = j = 0; i < n; i++) {
				if(b[i] != '\r')
					b[j++] = b[i];
			}
			n = j;
			break;
	}
	*len = n;
	return b;
}

static void test_sign_verify(void **state)
{
	static const struct
	{
		int signer;
		int chain; /* add the intermediate */
		int trust; /* the root in the store */
		enum tamper tamper;
		int rc;
	} rows[] = {
			{ID_RSA2048, 0, ID_ROOT, T_NONE, NS_CMS_OK},
			{ID_EC256, 0, ID_ROOT, T_NONE, NS_CMS_OK},
			{ID_SERVER, 1, ID_ROOT, T_NONE, NS_CMS_OK},
			{ID_STRANGER, 0, ID_OTHER, T_NONE, NS_CMS_OK},
			{ID_RSA_SIGNONLY, 0, ID_ROOT, T_NONE, NS_CMS_OK},
			/* no chain to the root */
			{ID_SERVER, 0, ID_ROOT, T_NONE, NS_CMS_ERR_UNTRUSTED},
			{ID_STRANGER, 0, ID_ROOT, T_NONE, NS_CMS_ERR_UNTRUSTED},
			{ID_RSA2048, 0, ID_OTHER, T_NONE, NS_CMS_ERR_UNTRUSTED},
			{ID_SERVER, 1, ID_OTHER, T_NONE, NS_CMS_ERR_UNTRUSTED},
			/* the chain is checked first */
			{ID_STRANGER, 0, ID_ROOT, T_FLIP, NS_CMS_ERR_UNTRUSTED},
			/* tampered content */
			{ID_RSA2048, 0, ID_ROOT, T_FLIP, NS_CMS_ERR_BAD_SIGNATURE},
			{ID_EC256, 0, ID_ROOT, T_APPEND, NS_CMS_ERR_BAD_SIGNATURE},
			{ID_SERVER, 1, ID_ROOT, T_TRUNC, NS_CMS_ERR_BAD_SIGNATURE},
			{ID_RSA3072, 0, ID_ROOT, T_EMPTY, NS_CMS_ERR_BAD_SIGNATURE},
			{ID_EC256, 0, ID_ROOT, T_LF, NS_CMS_ERR_BAD_SIGNATURE},
	};
	char err[NS_CMS_ERR_LEN];
	unsigned char *sig, *content;
	size_t siglen, contentlen, i;
	STACK_OF(X509) * chain;
	X509_STORE *store;
	X509 *signer;
	ns_cms_type_t type;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		chain = sk_X509_new_null();
		assert_non_null(chain);
		if(rows[i].chain)
			assert_true(sk_X509_push(chain, CERT(ID_INTER)) > 0);
		sign_ok(rows[i].signer, chain, (const unsigned char *)pidf,
				sizeof(pidf) - 1, &sig, &siglen);
		sk_X509_free(chain);
		assert_int_equal(ns_cms_content_type(sig, siglen, &type), 0);
		assert_int_equal(type, NS_CMS_TYPE_SIGNED);
		/* detached: the content is not in the signature */
		assert_false(
				has_bytes(sig, siglen, (const unsigned char *)"pidf+xml", 8));

		store = store_of(rows[i].trust);
		content = tampered(rows[i].tamper, &contentlen);
		signer = (X509 *)1;
		rc = ns_cms_verify_detached(sig, siglen, content, contentlen, store,
				&signer, err, sizeof(err));
		if(rc != rows[i].rc)
			fail_msg("row %zu: %s, want %s (%s)", i, ns_cms_strerror(rc),
					ns_cms_strerror(rows[i].rc), err);
		assert_no_ssl_error();
		if(rc == NS_CMS_OK) {
			assert_non_null(signer);
			assert_int_equal(X509_cmp(signer, CERT(rows[i].signer)), 0);
			X509_free(signer);
		} else {
			assert_null(signer);
			assert_true(strlen(err) > 0);
		}
		/* without asking for the signer */
		assert_int_equal(ns_cms_verify_detached(sig, siglen, content,
								 contentlen, store, NULL, err, sizeof(err)),
				rows[i].rc);
		assert_no_ssl_error();
		free(content);
		X509_STORE_free(store);
		ns_cms_free(sig, siglen);
	}
}

static void test_sign_verify_refused(void **state)
{
	char err[NS_CMS_ERR_LEN];
	const unsigned char *pt = (const unsigned char *)pidf;
	size_t ptlen = sizeof(pidf) - 1, derlen;
	unsigned char *der = NULL;
	CMS_ContentInfo *cms;
	X509_STORE *store = store_of(ID_ROOT);
	X509 *signer;
	BIO *b;
	int n;

	/* a key that is not the certificate's */
	assert_int_equal(ns_cms_sign(pt, ptlen, CERT(ID_RSA2048), KEY(ID_EC256),
							 NULL, &der, &derlen, err, sizeof(err)),
			NS_CMS_ERR_KEY_MISMATCH);
	assert_null(der);
	assert_true(strlen(err) > 0);
	assert_no_ssl_error();
	assert_int_equal(ns_cms_sign(NULL, 1, CERT(ID_RSA2048), KEY(ID_RSA2048),
							 NULL, &der, &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_sign(pt, ptlen, NULL, KEY(ID_RSA2048), NULL, &der,
							 &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_sign(pt, ptlen, CERT(ID_RSA2048), NULL, NULL, &der,
							 &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_sign(pt, ptlen, CERT(ID_RSA2048), KEY(ID_RSA2048),
							 NULL, NULL, &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);

	/* an enveloped-data is not a signature */
	encrypt_ok(ID_RSA2048, NULL, pt, ptlen, &der, &derlen);
	assert_int_equal(ns_cms_verify_detached(der, derlen, pt, ptlen, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_TYPE);
	assert_no_ssl_error();
	ns_cms_free(der, derlen);
	/* certs-only has no signer */
	certs_only_ok(ID_RSA2048, NULL, &der, &derlen);
	assert_int_equal(ns_cms_verify_detached(der, derlen, pt, ptlen, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_NO_SIGNER);
	assert_no_ssl_error();
	ns_cms_free(der, derlen);

	/* the content inside the signature: not a detached signature */
	b = BIO_new_mem_buf(pt, (int)ptlen);
	assert_non_null(b);
	cms = CMS_sign(CERT(ID_RSA2048), KEY(ID_RSA2048), NULL, b, CMS_BINARY);
	assert_non_null(cms);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(ns_cms_verify_detached(der, (size_t)n, pt, ptlen, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_TYPE);
	assert_no_ssl_error();
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(b);

	/* the signer's certificate left out */
	b = BIO_new_mem_buf(pt, (int)ptlen);
	assert_non_null(b);
	cms = CMS_sign(CERT(ID_RSA2048), KEY(ID_RSA2048), NULL, b,
			CMS_BINARY | CMS_DETACHED | CMS_NOCERTS);
	assert_non_null(cms);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(ns_cms_verify_detached(der, (size_t)n, pt, ptlen, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_NO_SIGNER);
	assert_no_ssl_error();
	assert_int_equal(ns_cms_verify_detached(der, (size_t)n, pt, ptlen, NULL,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_verify_detached(NULL, (size_t)n, pt, ptlen, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_verify_detached(der, (size_t)n, NULL, 1, store,
							 &signer, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(b);
	X509_STORE_free(store);
	assert_no_ssl_error();
}

/* both ways through `openssl cms -sign` / `-verify` */
static void test_cli_sign(void **state)
{
	char err[NS_CMS_ERR_LEN], content[128], sig[128], chain[128];
	unsigned char *der, *fsig;
	size_t derlen, fsiglen;
	STACK_OF(X509) * sk;
	X509_STORE *store;
	X509 *signer;

	if(!g.have_cli)
		skip();
	snprintf(content, sizeof(content), "%s/content.txt", g.dir);
	snprintf(sig, sizeof(sig), "%s/sig.der", g.dir);
	snprintf(chain, sizeof(chain), "%s/inter.crt", g.dir);
	write_file(content, pidf, sizeof(pidf) - 1);
	write_cert_pem(chain, CERT(ID_INTER), NULL);

	/* ours, verified by openssl */
	sk = sk_X509_new_null();
	assert_non_null(sk);
	assert_true(sk_X509_push(sk, CERT(ID_INTER)) > 0);
	sign_ok(ID_SERVER, sk, (const unsigned char *)pidf, sizeof(pidf) - 1, &der,
			&derlen);
	sk_X509_free(sk);
	write_file(sig, der, derlen);
	assert_int_equal(run("openssl cms -verify -binary -inform DER -in %s "
						 "-content %s -CAfile %s -out /dev/null 2>/dev/null",
							 sig, content, cli_cert(ID_ROOT)),
			0);
	/* and openssl refuses it for other content */
	write_file(content, pidf, sizeof(pidf) - 2);
	assert_true(run("openssl cms -verify -binary -inform DER -in %s "
					"-content %s -CAfile %s -out /dev/null 2>/dev/null",
						sig, content, cli_cert(ID_ROOT))
				!= 0);
	write_file(content, pidf, sizeof(pidf) - 1);
	ns_cms_free(der, derlen);

	/* openssl's, verified here */
	assert_int_equal(run("openssl cms -sign -binary -outform DER -in %s "
						 "-out %s -signer %s -inkey %s -certfile %s",
							 content, sig, cli_cert(ID_SERVER),
							 cli_key(ID_SERVER), chain),
			0);
	fsig = read_file(sig, &fsiglen);
	assert_non_null(fsig);
	store = store_of(ID_ROOT);
	assert_int_equal(
			ns_cms_verify_detached(fsig, fsiglen, (const unsigned char *)pidf,
					sizeof(pidf) - 1, store, &signer, err, sizeof(err)),
			NS_CMS_OK);
	assert_no_ssl_error();
	assert_int_equal(X509_cmp(signer, CERT(ID_SERVER)), 0);
	X509_free(signer);
	assert_int_equal(
			ns_cms_verify_detached(fsig, fsiglen, (const unsigned char *)pidf,
					sizeof(pidf) - 2, store, &signer, err, sizeof(err)),
			NS_CMS_ERR_BAD_SIGNATURE);
	assert_no_ssl_error();
	X509_STORE_free(store);
	free(fsig);
	unlink(content);
	unlink(sig);
	unlink(chain);
}

/* ---- certs-only ---------------------------------------------------- */

static int has_cert(STACK_OF(X509) * sk, X509 *x)
{
	int i;

	for(i = 0; i < sk_X509_num(sk); i++) {
		if(X509_cmp(sk_X509_value(sk, i), x) == 0)
			return 1;
	}
	return 0;
}

static void test_certs_only(void **state)
{
	char err[NS_CMS_ERR_LEN], path[128];
	unsigned char *der = NULL, *ref;
	size_t derlen, reflen;
	STACK_OF(X509) * chain, *certs = NULL;
	CMS_ContentInfo *cms;
	ns_cms_type_t type;
	int n, same = 0;

	/* the server's certificate and its intermediate; duplicates skipped */
	chain = sk_X509_new_null();
	assert_non_null(chain);
	assert_true(sk_X509_push(chain, CERT(ID_SERVER)) > 0);
	assert_true(sk_X509_push(chain, CERT(ID_INTER)) > 0);
	assert_true(sk_X509_push(chain, CERT(ID_INTER)) > 0);
	certs_only_ok(ID_SERVER, chain, &der, &derlen);
	sk_X509_free(chain);
	assert_int_equal(ns_cms_content_type(der, derlen, &type), 0);
	assert_int_equal(type, NS_CMS_TYPE_CERTS_ONLY);
	assert_int_equal(
			ns_cms_certs_only_parse(der, derlen, &certs, err, sizeof(err)), 0);
	assert_no_ssl_error();
	/* a DER SET OF: in the order of their encodings, not as added */
	assert_int_equal(sk_X509_num(certs), 2);
	assert_true(has_cert(certs, CERT(ID_SERVER)));
	assert_true(has_cert(certs, CERT(ID_INTER)));
	sk_X509_pop_free(certs, X509_free);
	if(g.have_cli) {
		snprintf(path, sizeof(path), "%s/certs.p7c", g.dir);
		write_file(path, der, derlen);
		assert_int_equal(run("test \"$(openssl pkcs7 -inform DER -in %s "
							 "-print_certs -noout | grep -c '^subject=')\" "
							 "= 2",
								 path),
				0);
		unlink(path);
		/* byte for byte what `openssl crl2pkcs7 -nocrl` makes, given the
		 * certificates in the order DER sorted them in */
		for(n = 0; n < 2; n++) {
			assert_int_equal(run("openssl crl2pkcs7 -nocrl -certfile %s "
								 "-certfile %s -outform DER -out %s",
									 cli_cert(n ? ID_SERVER : ID_INTER),
									 cli_cert(n ? ID_INTER : ID_SERVER), path),
					0);
			ref = read_file(path, &reflen);
			assert_non_null(ref);
			assert_int_equal(reflen, derlen);
			same += memcmp(ref, der, derlen) == 0;
			free(ref);
		}
		assert_int_equal(same, 1);
		unlink(path);
	}
	ns_cms_free(der, derlen);

	certs_only_ok(ID_EC256, NULL, &der, &derlen);
	assert_int_equal(
			ns_cms_certs_only_parse(der, derlen, &certs, err, sizeof(err)), 0);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), CERT(ID_EC256)), 0);
	sk_X509_pop_free(certs, X509_free);
	ns_cms_free(der, derlen);
	assert_no_ssl_error();

	/* a signature has signers */
	sign_ok(ID_EC256, NULL, (const unsigned char *)"x", 1, &der, &derlen);
	certs = (STACK_OF(X509) *)1;
	assert_int_equal(
			ns_cms_certs_only_parse(der, derlen, &certs, err, sizeof(err)),
			NS_CMS_ERR_TYPE);
	assert_null(certs);
	assert_string_equal(err, "signed-data with signers");
	assert_no_ssl_error();
	ns_cms_free(der, derlen);
	/* an enveloped-data */
	encrypt_ok(ID_EC256, NULL, (const unsigned char *)"x", 1, &der, &derlen);
	assert_int_equal(
			ns_cms_certs_only_parse(der, derlen, &certs, err, sizeof(err)),
			NS_CMS_ERR_TYPE);
	assert_no_ssl_error();
	ns_cms_free(der, derlen);
	/* a degenerate SignedData without certificates */
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED);
	assert_non_null(cms);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(
			ns_cms_certs_only_parse(der, (size_t)n, &certs, err, sizeof(err)),
			NS_CMS_ERR_NO_CERTS);
	assert_null(certs);
	assert_no_ssl_error();
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);

	assert_int_equal(ns_cms_certs_only_build(
							 NULL, NULL, &der, &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_certs_only_build(CERT(ID_EC256), NULL, NULL,
							 &derlen, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_certs_only_parse(NULL, 3, &certs, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_certs_only_parse((const unsigned char *)"x", 1,
							 NULL, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_no_ssl_error();
}

/* ---- loading keys and certificates --------------------------------- */

#define PASS "correct horse battery staple"

static void test_load(void **state)
{
	char err[NS_CMS_ERR_LEN];
	const char *chain_pem = tmp_path("chain.pem"), *der_crt = tmp_path("c.der"),
			   *plain = tmp_path("plain.key"), *p8 = tmp_path("p8.key"),
			   *trad = tmp_path("trad.key"), *garbage = tmp_path("garbage"),
			   *empty = tmp_path("empty"), *cut = tmp_path("cut.pem"),
			   *missing = tmp_path("missing");
	unsigned char *buf;
	size_t len;
	STACK_OF(X509) * chain;
	X509 *x;
	EVP_PKEY *k;
	BIO *b;
	size_t i;
	int rc;

	write_cert_pem(chain_pem, CERT(ID_SERVER), CERT(ID_INTER));
	b = BIO_new_file(der_crt, "wb");
	assert_non_null(b);
	assert_int_equal(i2d_X509_bio(b, CERT(ID_RSA2048)), 1);
	BIO_free(b);
	write_key_pem(plain, KEY(ID_SERVER));
	b = BIO_new_file(p8, "wb");
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, KEY(ID_RSA2048),
							 EVP_aes_256_cbc(), NULL, 0, NULL, (void *)PASS),
			1);
	BIO_free(b);
	b = BIO_new_file(trad, "wb");
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, KEY(ID_EC256),
							 EVP_aes_128_cbc(), (unsigned char *)PASS,
							 (int)strlen(PASS), NULL, NULL),
			1);
	BIO_free(b);
	write_file(garbage, "not a certificate\n", 18);
	write_file(empty, "", 0);
	buf = read_file(chain_pem, &len);
	assert_non_null(buf);
	write_file(cut, buf, len - 200); /* the second certificate cut short */
	free(buf);
	assert_no_ssl_error();

	{
		static const struct
		{
			int file; /* index into files[] */
			int rc;
			int id;		/* the certificate expected */
			int nchain; /* and how many follow it */
		} rows[] = {
				{0, NS_CMS_OK, ID_SERVER, 1},
				{1, NS_CMS_OK, ID_RSA2048, 0},
				{2, NS_CMS_ERR_PARSE, 0, 0}, /* a key */
				{5, NS_CMS_ERR_PARSE, 0, 0},
				{6, NS_CMS_ERR_PARSE, 0, 0},
				{7, NS_CMS_ERR_PARSE, 0, 0},
				{8, NS_CMS_ERR_FILE, 0, 0},
		};
		const char *files[] = {chain_pem, der_crt, plain, p8, trad, garbage,
				empty, cut, missing};

		for(i = 0; i < NROWS(rows); i++) {
			x = (X509 *)1;
			chain = (STACK_OF(X509) *)1;
			rc = ns_cms_load_cert(
					files[rows[i].file], &x, &chain, err, sizeof(err));
			if(rc != rows[i].rc)
				fail_msg("cert row %zu: %s (%s)", i, ns_cms_strerror(rc), err);
			assert_no_ssl_error();
			if(rc != NS_CMS_OK) {
				assert_null(x);
				assert_null(chain);
				assert_true(strlen(err) > 0);
				continue;
			}
			assert_int_equal(X509_cmp(x, CERT(rows[i].id)), 0);
			assert_int_equal(sk_X509_num(chain), rows[i].nchain);
			if(rows[i].nchain > 0)
				assert_int_equal(
						X509_cmp(sk_X509_value(chain, 0), CERT(ID_INTER)), 0);
			X509_free(x);
			sk_X509_pop_free(chain, X509_free);
			/* without the chain */
			assert_int_equal(ns_cms_load_cert(files[rows[i].file], &x, NULL,
									 err, sizeof(err)),
					0);
			assert_no_ssl_error();
			X509_free(x);
		}
	}
	{
		static const struct
		{
			int file;
			const char *pass;
			int rc;
			int id; /* whose key it is */
		} rows[] = {
				{2, NULL, NS_CMS_OK, ID_SERVER},
				{2, "ignored", NS_CMS_OK, ID_SERVER},
				{3, PASS, NS_CMS_OK, ID_RSA2048},
				{3, "wrong", NS_CMS_ERR_PASSPHRASE, 0},
				{3, PASS "x", NS_CMS_ERR_PASSPHRASE, 0},
				{3, "", NS_CMS_ERR_PASSPHRASE, 0},
				{3, NULL, NS_CMS_ERR_PASSPHRASE, 0},
				{4, PASS, NS_CMS_OK, ID_EC256},
				{4, "wrong", NS_CMS_ERR_PASSPHRASE, 0},
				{4, NULL, NS_CMS_ERR_PASSPHRASE, 0},
				{0, NULL, NS_CMS_ERR_PARSE, 0}, /* certificates */
				{5, NULL, NS_CMS_ERR_PARSE, 0},
				{6, NULL, NS_CMS_ERR_PARSE, 0},
				{8, NULL, NS_CMS_ERR_FILE, 0},
		};
		const char *files[] = {chain_pem, der_crt, plain, p8, trad, garbage,
				empty, cut, missing};

		for(i = 0; i < NROWS(rows); i++) {
			k = (EVP_PKEY *)1;
			rc = ns_cms_load_key(
					files[rows[i].file], rows[i].pass, &k, err, sizeof(err));
			if(rc != rows[i].rc)
				fail_msg("key row %zu: %s (%s)", i, ns_cms_strerror(rc), err);
			assert_no_ssl_error();
			if(rc != NS_CMS_OK) {
				assert_null(k);
				assert_true(strlen(err) > 0);
				assert_null(strstr(err, PASS));
				continue;
			}
			assert_int_equal(ns_cms_key_matches_cert(CERT(rows[i].id), k), 0);
			assert_int_equal(ns_cms_key_matches_cert(CERT(ID_RSA3072), k),
					NS_CMS_ERR_KEY_MISMATCH);
			assert_no_ssl_error();
			EVP_PKEY_free(k);
		}
	}
	assert_int_equal(
			ns_cms_load_cert(NULL, &x, NULL, err, sizeof(err)), NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_load_cert(chain_pem, NULL, NULL, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_int_equal(
			ns_cms_load_key(NULL, NULL, &k, err, sizeof(err)), NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_load_key(plain, NULL, NULL, err, sizeof(err)),
			NS_CMS_ERR_ARG);
	assert_no_ssl_error();
}

static void test_key_matches_cert(void **state)
{
	static const struct
	{
		int cert, key, rc;
	} rows[] = {
			{ID_RSA2048, ID_RSA2048, NS_CMS_OK},
			{ID_RSA_NOKU, ID_RSA2048, NS_CMS_OK},
			{ID_EC256, ID_EC256, NS_CMS_OK},
			{ID_ED25519, ID_ED25519, NS_CMS_OK},
			{ID_RSA2048, ID_RSA3072, NS_CMS_ERR_KEY_MISMATCH},
			{ID_RSA2048, ID_EC256, NS_CMS_ERR_KEY_MISMATCH},
			{ID_EC256, ID_SERVER, NS_CMS_ERR_KEY_MISMATCH},
			{ID_ED25519, ID_EC256, NS_CMS_ERR_KEY_MISMATCH},
	};
	size_t i;

	for(i = 0; i < NROWS(rows); i++) {
		assert_int_equal(
				ns_cms_key_matches_cert(CERT(rows[i].cert), KEY(rows[i].key)),
				rows[i].rc);
		assert_no_ssl_error();
	}
	assert_int_equal(
			ns_cms_key_matches_cert(NULL, KEY(ID_EC256)), NS_CMS_ERR_ARG);
	assert_int_equal(
			ns_cms_key_matches_cert(CERT(ID_EC256), NULL), NS_CMS_ERR_ARG);
}

/* ---- names and codes ----------------------------------------------- */

static void test_names(void **state)
{
	static const struct
	{
		const char *name;
		int which; /* 0 cipher, 1 padding, 2 kdf */
		int rc, value;
	} rows[] = {
			{"aes128-cbc", 0, 0, NS_CMS_AES128_CBC},
			{"AES256-CBC", 0, 0, NS_CMS_AES256_CBC},
			{"aes128-gcm", 0, 0, NS_CMS_AES128_GCM},
			{"aes256-gcm", 0, 0, NS_CMS_AES256_GCM},
			{"aes256-gc", 0, NS_CMS_ERR_ARG, 0},
			{"aes256-gcmx", 0, NS_CMS_ERR_ARG, 0},
			{"", 0, NS_CMS_ERR_ARG, 0},
			{"des3", 0, NS_CMS_ERR_ARG, 0},
			{"pkcs1", 1, 0, NS_CMS_RSA_PKCS1},
			{"OAEP", 1, 0, NS_CMS_RSA_OAEP},
			{"oaep-sha256", 1, 0, NS_CMS_RSA_OAEP_SHA256},
			{"oaep-sha", 1, NS_CMS_ERR_ARG, 0},
			{"sha256", 2, 0, NS_CMS_KDF_SHA256},
			{"sha1", 2, 0, NS_CMS_KDF_SHA1},
			{"sha512", 2, NS_CMS_ERR_ARG, 0},
	};
	ns_cms_cipher_t c;
	ns_cms_rsa_pad_t p;
	ns_cms_ecdh_kdf_t k;
	size_t i;
	int rc, v = -1;

	for(i = 0; i < NROWS(rows); i++) {
		switch(rows[i].which) {
			case 0:
				rc = ns_cms_cipher_parse(rows[i].name, &c);
				v = (int)c;
				break;
			case 1:
				rc = ns_cms_rsa_pad_parse(rows[i].name, &p);
				v = (int)p;
				break;
			default:
				rc = ns_cms_ecdh_kdf_parse(rows[i].name, &k);
				v = (int)k;
				break;
		}
		if(rc != rows[i].rc)
			fail_msg("row %zu (%s): %d", i, rows[i].name, rc);
		if(rc == 0)
			assert_int_equal(v, rows[i].value);
	}
	assert_int_equal(ns_cms_cipher_parse(NULL, &c), NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_cipher_parse("aes128-cbc", NULL), NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_rsa_pad_parse("oaep", NULL), NS_CMS_ERR_ARG);
	assert_int_equal(ns_cms_ecdh_kdf_parse(NULL, &k), NS_CMS_ERR_ARG);
}

static void test_strerror(void **state)
{
	int a, b;

	for(a = NS_CMS_ERR_LAST; a <= 0; a++) {
		assert_string_not_equal(ns_cms_strerror(a), "unknown error");
		for(b = a + 1; b <= 0; b++)
			assert_string_not_equal(ns_cms_strerror(a), ns_cms_strerror(b));
	}
	assert_string_equal(ns_cms_strerror(1), "unknown error");
	assert_string_equal(ns_cms_strerror(NS_CMS_ERR_LAST - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_roundtrip),
			cmocka_unit_test(test_cli_encrypt),
			cmocka_unit_test(test_encrypt_refused),
			cmocka_unit_test(test_decrypt_wrong_key),
			cmocka_unit_test(test_decrypt_args),
			cmocka_unit_test(test_truncated),
			cmocka_unit_test(test_garbage),
			cmocka_unit_test(test_bitflip),
			cmocka_unit_test(test_short_tag),
			cmocka_unit_test(test_too_big),
			cmocka_unit_test(test_sign_verify),
			cmocka_unit_test(test_sign_verify_refused),
			cmocka_unit_test(test_cli_sign),
			cmocka_unit_test(test_certs_only),
			cmocka_unit_test(test_load),
			cmocka_unit_test(test_key_matches_cert),
			cmocka_unit_test(test_names),
			cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name(
			"notify_smime cms", tests, group_setup, group_teardown);
}
