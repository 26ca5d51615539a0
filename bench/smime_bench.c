/*
 * make bench: notify_smime's encryption of one NOTIFY body against the bare
 * OpenSSL floor, in instructions (run under valgrind --tool=callgrind by
 * bench/bench.py, which compiles it against modules/notify_smime/{protect,
 * cms,mime,cert}.c and OpenSSL).
 *
 *   smime_bench MODE KEY ITERS
 *
 * KEY is the watcher's (recipient's) certificate: rsa2048, rsa3072 or p256.
 * MODE is the one path measured, ITERS times:
 *
 *   floor         CMS_encrypt() of the MIME entity "Content-Type:
 *                 application/pidf+xml" CRLF CRLF <pidf> to the watcher's
 *                 certificate (a stack of one, built once), AES-128-CBC,
 *                 CMS_BINARY, from a memory BIO, then i2d_CMS_ContentInfo();
 *                 everything freed: what any implementation must do
 *   encrypt       ns_protect() of the PIDF body (Content-Type
 *                 application/pidf+xml) to the watcher's certificate, no
 *                 signing, default options (AES-128-CBC, RSA PKCS#1 v1.5,
 *                 ECDH sha256 kdf), then ns_protect_out_free(): the
 *                 module's encryption path for one NOTIFY body
 *   sign          ns_protect() signing only, with the server's EC P-256
 *                 certificate (multipart/signed; KEY is not used)
 *   sign-encrypt  ns_protect() signed, then encrypted to the watcher
 *
 * Keys and certificates are made in memory at start: a CA (EC P-256), the
 * watcher's certificate for KEY (keyUsage keyEncipherment for RSA,
 * keyAgreement for EC; subjectAltName URI:sip:bob@example.com) and, for
 * the signing modes, the server's (EC P-256, digitalSignature,
 * emailProtection, URI:sip:ps.example.com).
 *
 * Run with valgrind --tool=callgrind --instr-atstart=no: key generation
 * runs uninstrumented. Then one round of the path, unmeasured and checked
 * (the result decrypted and/or verified back to the PIDF, the MIME entity
 * the module encrypted compared with the floor's, the error queue empty),
 * instrumentation on, one warm-up round (OpenSSL's one-off fetches and
 * caches), CALLGRIND_ZERO_STATS, the ITERS rounds, CALLGRIND_DUMP_STATS_AT
 * with the description "smime_bench MODE KEY ITERS": that dump's Ir /
 * ITERS is the cost of one path. Each path is a noinline function
 * bench_path_<mode> (--toggle-collect=bench_path_* works too). Outside
 * valgrind the client requests do nothing and the program only checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <valgrind/callgrind.h>

#include "cert.h"
#include "cms.h"
#include "protect.h"

#define BENCH_NOINLINE __attribute__((noinline))

#define WATCHER "sip:bob@example.com"

/* a PIDF document of the size presence sends (about 500 bytes) */
static const char pidf[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
		"    xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"\r\n"
		"    xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\"\r\n"
		"    entity=\"sip:alice@example.com\">\r\n"
		"  <tuple id=\"t8a3c2f10\">\r\n"
		"    <status><basic>open</basic></status>\r\n"
		"    <contact priority=\"0.8\">sip:alice@192.0.2.31:5060</contact>\r\n"
		"  </tuple>\r\n"
		"  <dm:person id=\"p1\">\r\n"
		"    <rpid:activities><rpid:on-the-phone/></rpid:activities>\r\n"
		"    <dm:note>On a call until 11:00</dm:note>\r\n"
		"  </dm:person>\r\n"
		"</presence>\r\n";
static const char pidf_ct[] = "application/pidf+xml";

enum bench_mode
{
	MODE_FLOOR = 0,
	MODE_ENCRYPT,
	MODE_SIGN,
	MODE_SIGN_ENCRYPT,
	MODE_COUNT
};

static const char *const mode_names[MODE_COUNT] = {
		"floor", "encrypt", "sign", "sign-encrypt"};

/* what a path needs, made at start */
static struct
{
	EVP_PKEY *ca_key, *rcpt_key, *srv_key;
	X509 *ca, *rcpt, *srv;
	X509_STORE *cas;
	STACK_OF(X509) * rcpts; /* the floor's recipients: rcpt */
	unsigned char *entity;	/* the floor's MIME entity */
	size_t elen;
	long serial;
} g;

static void die(const char *what)
{
	fprintf(stderr, "smime_bench: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if(ext == NULL || X509_add_ext(x, ext, -1) != 1)
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

/* A certificate for `key` issued by `issuer` with `ikey` (NULL: self-
 * signed); extension nids[i] has the value values[i], nids ends with 0. */
static X509 *mk_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		EVP_PKEY *ikey, const int *nids, const char *const *values)
{
	X509 *x;
	X509_NAME *name;
	int i;

	x = X509_new();
	if(x == NULL || X509_set_version(x, X509_VERSION_3) != 1
			|| ASN1_INTEGER_set(X509_get_serialNumber(x), ++g.serial) != 1
			|| X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL
			|| X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) == NULL
			|| X509_set_pubkey(x, key) != 1)
		die("X509 fields");
	name = X509_get_subject_name(x);
	if(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
			   (const unsigned char *)"smime_bench", -1, -1,
			   0) != 1
			|| X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					   (const unsigned char *)cn, -1, -1, 0)
					   != 1)
		die("X509 name");
	if(issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	if(X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1)
		die("X509 issuer");
	for(i = 0; nids[i] != 0; i++)
		add_ext(x, issuer, nids[i], values[i]);
	if(X509_sign(x, ikey, EVP_sha256()) <= 0)
		die("X509_sign");
	return x;
}

static void setup(const char *key)
{
	static const int ca_nids[] = {NID_basic_constraints, NID_key_usage,
			NID_subject_key_identifier, 0};
	static const char *const ca_vals[] = {
			"critical,CA:TRUE", "critical,keyCertSign,cRLSign", "hash"};
	static const int ee_nids[] = {NID_basic_constraints, NID_key_usage,
			NID_subject_alt_name, NID_subject_key_identifier,
			NID_authority_key_identifier, 0};
	static const char *const rsa_vals[] = {"critical,CA:FALSE",
			"critical,keyEncipherment", "URI:" WATCHER, "hash", "keyid:always"};
	static const char *const ec_vals[] = {"critical,CA:FALSE",
			"critical,keyAgreement", "URI:" WATCHER, "hash", "keyid:always"};
	static const int srv_nids[] = {NID_basic_constraints, NID_key_usage,
			NID_ext_key_usage, NID_subject_alt_name, NID_subject_key_identifier,
			NID_authority_key_identifier, 0};
	static const char *const srv_vals[] = {"critical,CA:FALSE",
			"critical,digitalSignature", "emailProtection",
			"URI:sip:ps.example.com", "hash", "keyid:always"};
	const char *const *vals = rsa_vals;
	static const char hdr[] = "Content-Type: ";
	const size_t clen = sizeof(pidf_ct) - 1, blen = sizeof(pidf) - 1;
	int reason = 0;

	g.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if(g.ca_key == NULL)
		die("CA key");
	g.ca = mk_cert(g.ca_key, "smime_bench CA", NULL, NULL, ca_nids, ca_vals);
	if(strcmp(key, "rsa2048") == 0) {
		g.rcpt_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	} else if(strcmp(key, "rsa3072") == 0) {
		g.rcpt_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	} else if(strcmp(key, "p256") == 0) {
		g.rcpt_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		vals = ec_vals;
	} else {
		fprintf(stderr, "smime_bench: unknown key %s\n", key);
		exit(2);
	}
	if(g.rcpt_key == NULL)
		die("recipient key");
	g.rcpt = mk_cert(g.rcpt_key, "bob", g.ca, g.ca_key, ee_nids, vals);
	g.srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if(g.srv_key == NULL)
		die("server key");
	g.srv = mk_cert(
			g.srv_key, "ps.example.com", g.ca, g.ca_key, srv_nids, srv_vals);

	g.cas = X509_STORE_new();
	if(g.cas == NULL || X509_STORE_add_cert(g.cas, g.ca) != 1)
		die("CA store");
	/* the watcher's certificate passes the module's own checks */
	if(ns_cert_check(
			   g.rcpt, g.cas, WATCHER, strlen(WATCHER), time(NULL), &reason)
			!= NS_CERT_OK) {
		fprintf(stderr, "smime_bench: recipient certificate refused: %s\n",
				ns_cert_strerror(reason));
		exit(2);
	}
	g.rcpts = sk_X509_new_null();
	if(g.rcpts == NULL || sk_X509_push(g.rcpts, g.rcpt) <= 0)
		die("recipient stack");

	/* the floor's entity, "Content-Type: " ctype CRLF CRLF body: the bytes
	 * the module encrypts (check() compares them) */
	g.elen = sizeof(hdr) - 1 + clen + 4 + blen;
	g.entity = malloc(g.elen);
	if(g.entity == NULL)
		die("malloc");
	memcpy(g.entity, hdr, sizeof(hdr) - 1);
	memcpy(g.entity + sizeof(hdr) - 1, pidf_ct, clen);
	memcpy(g.entity + sizeof(hdr) - 1 + clen, "\r\n\r\n", 4);
	memcpy(g.entity + sizeof(hdr) - 1 + clen + 4, pidf, blen);
}

/* ---- the paths --------------------------------------------------------- */

/* the floor: one EnvelopedData of the entity, as DER; *der for the check
 * (NULL: freed here) */
static BENCH_NOINLINE int bench_path_floor(unsigned char **der, int *derlen)
{
	CMS_ContentInfo *cms = NULL;
	unsigned char *out = NULL;
	BIO *bin;
	int n = 0;

	bin = BIO_new_mem_buf(g.entity, (int)g.elen);
	if(bin == NULL)
		return -1;
	cms = CMS_encrypt(g.rcpts, bin, EVP_aes_128_cbc(), CMS_BINARY);
	if(cms != NULL)
		n = i2d_CMS_ContentInfo(cms, &out);
	CMS_ContentInfo_free(cms);
	BIO_free(bin);
	if(n <= 0) {
		OPENSSL_free(out);
		return -1;
	}
	if(der != NULL) {
		*der = out;
		*derlen = n;
	} else {
		OPENSSL_free(out);
	}
	return 0;
}

/* ns_protect(): encrypt, sign or both; `keep` (NULL: freed here) receives
 * the result for the check */
static int bench_protect(int mode, ns_protect_out_t *keep)
{
	ns_protect_in_t in;
	ns_protect_out_t out;
	char err[NS_CMS_ERR_LEN];
	int rc;

	memset(&in, 0, sizeof(in));
	in.ctype = pidf_ct;
	in.ctype_len = sizeof(pidf_ct) - 1;
	in.body = pidf;
	in.body_len = sizeof(pidf) - 1;
	if(mode != MODE_SIGN)
		in.rcpt = g.rcpt;
	if(mode != MODE_ENCRYPT) {
		in.sign_cert = g.srv;
		in.sign_key = g.srv_key;
	}
	rc = ns_protect(&in, &out, err, sizeof(err));
	if(rc != NS_CMS_OK) {
		fprintf(stderr, "smime_bench: ns_protect: %d %s\n", rc, err);
		return -1;
	}
	if(keep != NULL)
		*keep = out;
	else
		ns_protect_out_free(&out);
	return 0;
}

static BENCH_NOINLINE int bench_path_encrypt(ns_protect_out_t *keep)
{
	return bench_protect(MODE_ENCRYPT, keep);
}

static BENCH_NOINLINE int bench_path_sign(ns_protect_out_t *keep)
{
	return bench_protect(MODE_SIGN, keep);
}

static BENCH_NOINLINE int bench_path_sign_encrypt(ns_protect_out_t *keep)
{
	return bench_protect(MODE_SIGN_ENCRYPT, keep);
}

static int bench_path(int mode)
{
	switch(mode) {
		case MODE_FLOOR:
			return bench_path_floor(NULL, NULL);
		case MODE_ENCRYPT:
			return bench_path_encrypt(NULL);
		case MODE_SIGN:
			return bench_path_sign(NULL);
		default:
			return bench_path_sign_encrypt(NULL);
	}
}

/* ---- the check --------------------------------------------------------- */

/* The first round: decrypted and/or verified back to the PIDF; the entity
 * the module encrypts is the floor's, byte for byte. Returns the size of
 * the body the path produced. */
static size_t check(int mode)
{
	ns_unprotect_keys_t keys = {g.rcpt, g.rcpt_key, g.cas, 65536};
	ns_unprotect_out_t u;
	ns_protect_out_t p;
	unsigned char *der = NULL, *plain = NULL;
	size_t plen = 0, len;
	char err[NS_CMS_ERR_LEN];
	int n = 0, rc;

	if(mode == MODE_FLOOR) {
		if(bench_path_floor(&der, &n) != 0)
			die("floor: CMS_encrypt failed");
		if(ns_cms_decrypt(der, (size_t)n, g.rcpt, g.rcpt_key, 65536, &plain,
				   &plen, NULL, err, sizeof(err))
						!= NS_CMS_OK
				|| plen != g.elen || memcmp(plain, g.entity, plen) != 0)
			die("floor: does not decrypt to the entity");
		ns_cms_free(plain, plen + 1);
		OPENSSL_free(der);
		if(ERR_peek_error() != 0)
			die("floor: error queue not empty");
		return (size_t)n;
	}
	rc = mode == MODE_ENCRYPT ? bench_path_encrypt(&p)
		 : mode == MODE_SIGN  ? bench_path_sign(&p)
							  : bench_path_sign_encrypt(&p);
	if(rc != 0)
		die("ns_protect failed");
	if(ERR_peek_error() != 0)
		die("ns_protect: error queue not empty");
	if(p.encrypted != (mode != MODE_SIGN)
			|| p.signed_ != (mode != MODE_ENCRYPT))
		die("ns_protect: not what was asked for");
	if(mode == MODE_ENCRYPT) {
		if(ns_cms_decrypt(p.body, p.len, g.rcpt, g.rcpt_key, 65536, &plain,
				   &plen, NULL, err, sizeof(err))
						!= NS_CMS_OK
				|| plen != g.elen || memcmp(plain, g.entity, plen) != 0)
			die("encrypt: the entity is not the floor's");
		ns_cms_free(plain, plen + 1);
	}
	rc = ns_unprotect(p.ctype, strlen(p.ctype), (const char *)p.body, p.len,
			&keys, &u, err, sizeof(err));
	if(rc != NS_UNPROTECT_OK || u.was_encrypted != p.encrypted
			|| u.was_signed != p.signed_ || strcmp(u.ctype, pidf_ct) != 0
			|| u.len != sizeof(pidf) - 1 || memcmp(u.body, pidf, u.len) != 0) {
		fprintf(stderr, "smime_bench: %s: %d %s\n", mode_names[mode], rc, err);
		die("the body does not come back");
	}
	ns_unprotect_out_free(&u);
	len = p.len;
	ns_protect_out_free(&p);
	if(ERR_peek_error() != 0)
		die("ns_unprotect: error queue not empty");
	return len;
}

int main(int argc, char **argv)
{
	char desc[128];
	size_t len;
	int mode, iters, i;

	if(argc != 4 || (iters = atoi(argv[3])) <= 0) {
		fprintf(stderr,
				"usage: %s floor|encrypt|sign|sign-encrypt "
				"rsa2048|rsa3072|p256 ITERS\n",
				argv[0]);
		return 2;
	}
	for(mode = 0; mode < MODE_COUNT; mode++)
		if(strcmp(argv[1], mode_names[mode]) == 0)
			break;
	if(mode == MODE_COUNT) {
		fprintf(stderr, "smime_bench: unknown mode %s\n", argv[1]);
		return 2;
	}
	setup(argv[2]);
	len = check(mode);

	CALLGRIND_START_INSTRUMENTATION;
	if(bench_path(mode) != 0) /* warm-up, not counted */
		die("warm-up failed");
	CALLGRIND_ZERO_STATS;
	for(i = 0; i < iters; i++)
		if(bench_path(mode) != 0)
			die("path failed");
	snprintf(desc, sizeof(desc), "smime_bench %s %s %d", mode_names[mode],
			argv[2], iters);
	CALLGRIND_DUMP_STATS_AT(desc);
	CALLGRIND_STOP_INSTRUMENTATION;

	printf("%s %s: %d iterations, body %zu bytes, entity %zu bytes, "
		   "result %zu bytes\n",
			mode_names[mode], argv[2], iters, sizeof(pidf) - 1, g.elen, len);
	X509_STORE_free(g.cas);
	sk_X509_free(g.rcpts);
	X509_free(g.ca);
	X509_free(g.rcpt);
	X509_free(g.srv);
	EVP_PKEY_free(g.ca_key);
	EVP_PKEY_free(g.rcpt_key);
	EVP_PKEY_free(g.srv_key);
	free(g.entity);
	return 0;
}
