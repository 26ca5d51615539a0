/*
 * notify_smime: watcher certificate checks (see cert.h).
 *
 * The SIP URI canonicalization is lib/sip_canon.c, which watcher_auth's
 * wa_policy_uri_canon() uses too: the identity the policy was evaluated on
 * and a certificate's subjectAltName URIs are compared the way the policy
 * compares identities.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "sip_canon.h"

const char *ns_cert_strerror(int rc)
{
	switch(rc) {
		case NS_CERT_OK:
			return "ok";
		case NS_CERT_ERR_ARG:
			return "invalid argument";
		case NS_CERT_ERR_IDENTITY:
			return "watcher identity is not a well-formed SIP URI";
		case NS_CERT_ERR_MALFORMED:
			return "certificate malformed";
		case NS_CERT_ERR_KEY_TYPE:
			return "certificate key type or size not usable for encryption";
		case NS_CERT_ERR_NOT_YET_VALID:
			return "certificate not yet valid";
		case NS_CERT_ERR_EXPIRED:
			return "certificate expired";
		case NS_CERT_ERR_UNTRUSTED:
			return "certificate does not chain to a trusted CA";
		case NS_CERT_ERR_KEY_USAGE:
			return "certificate key usage does not allow encryption";
		case NS_CERT_ERR_EXT_KEY_USAGE:
			return "certificate extended key usage lacks emailProtection";
		case NS_CERT_ERR_NO_SAN:
			return "certificate has no subjectAltName";
		case NS_CERT_ERR_NO_SIP_URI:
			return "certificate subjectAltName has no SIP URI";
		case NS_CERT_ERR_URI_MISMATCH:
			return "certificate SIP URI is not the watcher's identity";
		case NS_CERT_ERR_CRYPTO:
			return "crypto library failure";
		case NS_CERT_ERR_LOAD:
			return "CA certificates not loadable";
	}
	return "unknown error";
}

/* ------------------------------------------------------- identities */

/* the identity as the policy was evaluated on it (watcher_auth's
 * wa_policy_uri_canon() with the same lib/sip_canon.c), sip and sips only */
int ns_cert_uri_canon(const char *uri, size_t len, char *out, size_t size)
{
	return sip_canon_uri(uri, len, SIP_CANON_NAMEADDR, out, size, NULL);
}

/* ------------------------------------------------------------ checks */

/* RSA of at least the minimum size, or EC on a named curve. */
static int _ns_cert_key(X509 *cert, int *is_ec)
{
	EVP_PKEY *pk;
	char group[80];
	size_t glen = 0;

	pk = X509_get0_pubkey(cert);
	if(pk == NULL)
		return NS_CERT_ERR_MALFORMED;
	switch(EVP_PKEY_get_base_id(pk)) {
		case EVP_PKEY_RSA:
			if(EVP_PKEY_get_bits(pk) < NS_CERT_RSA_MIN_BITS)
				return NS_CERT_ERR_KEY_TYPE;
			*is_ec = 0;
			return NS_CERT_OK;
		case EVP_PKEY_EC:
			/* explicit curve parameters are refused: only named groups */
			if(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
					   group, sizeof(group), &glen)
							!= 1
					|| glen == 0)
				return NS_CERT_ERR_KEY_TYPE;
			*is_ec = 1;
			return NS_CERT_OK;
	}
	return NS_CERT_ERR_KEY_TYPE;
}

static int _ns_cert_times(X509 *cert, time_t now)
{
	time_t t = now;
	int c;

	c = X509_cmp_time(X509_get0_notBefore(cert), &t);
	if(c == 0)
		return NS_CERT_ERR_MALFORMED;
	if(c > 0)
		return NS_CERT_ERR_NOT_YET_VALID;
	/* -1 when notAfter <= now: the last valid second is notAfter - 1, as
	 * in X509_verify_cert() */
	c = X509_cmp_time(X509_get0_notAfter(cert), &t);
	if(c == 0)
		return NS_CERT_ERR_MALFORMED;
	if(c < 0)
		return NS_CERT_ERR_EXPIRED;
	return NS_CERT_OK;
}

static int _ns_cert_chain(X509 *cert, STACK_OF(X509) * untrusted,
		X509_STORE *cas, time_t now, int *verr)
{
	X509_STORE_CTX *ctx = NULL;
	int ret = NS_CERT_ERR_CRYPTO;

	ctx = X509_STORE_CTX_new();
	if(ctx == NULL)
		goto out;
	if(X509_STORE_CTX_init(ctx, cas, cert, untrusted) != 1)
		goto out;
	/* the store's flags stay (CRL checks when the operator set them) */
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	if(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY) != 1)
		goto out;
	if(X509_verify_cert(ctx) == 1) {
		ret = NS_CERT_OK;
		goto out;
	}
	*verr = X509_STORE_CTX_get_error(ctx);
	switch(*verr) {
		case X509_V_ERR_CERT_HAS_EXPIRED:
			ret = NS_CERT_ERR_EXPIRED;
			break;
		case X509_V_ERR_CERT_NOT_YET_VALID:
			ret = NS_CERT_ERR_NOT_YET_VALID;
			break;
		case X509_V_ERR_OUT_OF_MEM:
		case X509_V_ERR_UNSPECIFIED:
			ret = NS_CERT_ERR_CRYPTO;
			break;
		default:
			ret = NS_CERT_ERR_UNTRUSTED;
	}
out:
	X509_STORE_CTX_free(ctx);
	return ret;
}

static int _ns_cert_usage(X509 *cert, uint32_t flags, int is_ec)
{
	uint32_t ku, xku;

	if(flags & EXFLAG_KUSAGE) {
		ku = X509_get_key_usage(cert);
		if(is_ec) {
			/* ECDH: the recipient's static key agrees, then deciphers */
			if(!(ku & KU_KEY_AGREEMENT) || (ku & KU_ENCIPHER_ONLY))
				return NS_CERT_ERR_KEY_USAGE;
		} else if(!(ku & KU_KEY_ENCIPHERMENT)) {
			return NS_CERT_ERR_KEY_USAGE;
		}
	}
	if(flags & EXFLAG_XKUSAGE) {
		xku = X509_get_extended_key_usage(cert);
		if(!(xku & (XKU_SMIME | XKU_ANYEKU)))
			return NS_CERT_ERR_EXT_KEY_USAGE;
	}
	return NS_CERT_OK;
}

/* A subjectAltName URI equal to the canonical identity `id`. */
static int _ns_cert_san(X509 *cert, const char *id, size_t idlen)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	const char *s;
	char buf[NS_CERT_URI_MAX];
	sip_canon_info_t ci;
	int crit = -1, i, n, l, ret;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if(gens == NULL)
		return crit == -1 ? NS_CERT_ERR_NO_SAN : NS_CERT_ERR_MALFORMED;
	ret = NS_CERT_ERR_NO_SIP_URI;
	for(i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if(g == NULL || g->type != GEN_URI)
			continue;
		s = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		l = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if(s == NULL || l <= 0)
			continue;
		/* embedded NULs and any other byte outside the URI grammar make
		 * the canonical form fail: such a name never matches */
		n = sip_canon_uri(s, (size_t)l, 0, buf, sizeof(buf), &ci);
		if(!ci.sip)
			continue;
		ret = NS_CERT_ERR_URI_MISMATCH;
		if(n >= 0 && (size_t)n == idlen && memcmp(buf, id, idlen) == 0) {
			ret = NS_CERT_OK;
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	return ret;
}

int ns_cert_check_ex(X509 *cert, STACK_OF(X509) * untrusted, X509_STORE *cas,
		const char *identity, size_t len, time_t now, int *reason_out,
		int *verify_err_out)
{
	char id[NS_CERT_URI_MAX];
	uint32_t flags;
	int n, is_ec = 0, verr = X509_V_OK, ret = NS_CERT_ERR_ARG;

	ERR_clear_error();
	if(cert == NULL || cas == NULL || identity == NULL)
		goto out;
	n = ns_cert_uri_canon(identity, len, id, sizeof(id));
	if(n < 0) {
		ret = NS_CERT_ERR_IDENTITY;
		goto out;
	}
	/* decodes and caches the extensions; a broken one marks it invalid */
	flags = X509_get_extension_flags(cert);
	if(flags & EXFLAG_INVALID) {
		ret = NS_CERT_ERR_MALFORMED;
		goto out;
	}
	ret = _ns_cert_key(cert, &is_ec);
	if(ret != NS_CERT_OK)
		goto out;
	ret = _ns_cert_times(cert, now);
	if(ret != NS_CERT_OK)
		goto out;
	ret = _ns_cert_chain(cert, untrusted, cas, now, &verr);
	if(ret != NS_CERT_OK)
		goto out;
	ret = _ns_cert_usage(cert, flags, is_ec);
	if(ret != NS_CERT_OK)
		goto out;
	ret = _ns_cert_san(cert, id, (size_t)n);
out:
	/* a refusal is no library failure: nothing for the caller to drain */
	if(ret != NS_CERT_ERR_MALFORMED && ret != NS_CERT_ERR_CRYPTO)
		ERR_clear_error();
	if(reason_out != NULL)
		*reason_out = ret;
	if(verify_err_out != NULL)
		*verify_err_out = verr;
	return ret;
}

int ns_cert_check(X509 *cert, X509_STORE *cas, const char *identity, size_t len,
		time_t now, int *reason_out)
{
	return ns_cert_check_ex(
			cert, NULL, cas, identity, len, now, reason_out, NULL);
}

/* ---------------------------------------------------------- describe */

static int _ns_cert_put_time(BIO *b, const ASN1_TIME *t)
{
	struct tm tm;

	if(t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return BIO_puts(b, "invalid") > 0;
	return BIO_printf(b, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
				   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
		   > 0;
}

static int _ns_cert_put_key(BIO *b, X509 *cert)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	char group[80];
	size_t glen = 0;
	int id;

	if(pk == NULL)
		return BIO_puts(b, "invalid") > 0;
	id = EVP_PKEY_get_base_id(pk);
	if(id == EVP_PKEY_EC
			&& EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
					   group, sizeof(group), &glen)
					   == 1)
		return BIO_printf(b, "EC-%s", group) > 0;
	return BIO_printf(b, "%s-%d", id == EVP_PKEY_RSA ? "RSA" : OBJ_nid2sn(id),
				   EVP_PKEY_get_bits(pk))
		   > 0;
}

/* A SAN value, bytes outside visible ASCII and the separators as %XX. */
static int _ns_cert_put_escaped(BIO *b, const char *tag, const ASN1_STRING *v)
{
	const unsigned char *s = ASN1_STRING_get0_data(v);
	int i, l = ASN1_STRING_length(v);

	if(BIO_puts(b, tag) <= 0)
		return 0;
	for(i = 0; s != NULL && i < l; i++) {
		unsigned char c = s[i];
		if(c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '\\'
				|| c == '%') {
			if(BIO_printf(b, "%%%02X", c) <= 0)
				return 0;
		} else if(BIO_write(b, &c, 1) != 1) {
			return 0;
		}
	}
	return 1;
}

static int _ns_cert_put_san(BIO *b, X509 *cert)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	int crit = -1, i, k = 0, ok = 1;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if(gens == NULL)
		return BIO_puts(b, crit == -1 ? "-" : "invalid") > 0;
	for(i = 0; ok && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if(g == NULL
				|| (g->type != GEN_URI && g->type != GEN_EMAIL
						&& g->type != GEN_DNS))
			continue;
		if(k++ > 0 && BIO_puts(b, ",") <= 0)
			ok = 0;
		else if(g->type == GEN_URI)
			ok = _ns_cert_put_escaped(
					b, "uri:", g->d.uniformResourceIdentifier);
		else if(g->type == GEN_EMAIL)
			ok = _ns_cert_put_escaped(b, "email:", g->d.rfc822Name);
		else
			ok = _ns_cert_put_escaped(b, "dns:", g->d.dNSName);
	}
	if(ok && k == 0)
		ok = BIO_puts(b, "-") > 0;
	GENERAL_NAMES_free(gens);
	return ok;
}

int ns_cert_describe(X509 *cert, char *buf, size_t size)
{
	BIO *b = NULL;
	char *p = NULL;
	long n;
	size_t c;
	int ret = -1;

	if(cert == NULL || (buf == NULL && size > 0))
		return -1;
	if(size > 0)
		buf[0] = '\0';
	b = BIO_new(BIO_s_mem());
	if(b == NULL)
		goto out;
	if(BIO_puts(b, "subject=\"") <= 0
			|| X509_NAME_print_ex(
					   b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253)
					   < 0
			|| BIO_puts(b, "\" issuer=\"") <= 0
			|| X509_NAME_print_ex(
					   b, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253)
					   < 0
			|| BIO_puts(b, "\" notBefore=") <= 0
			|| !_ns_cert_put_time(b, X509_get0_notBefore(cert))
			|| BIO_puts(b, " notAfter=") <= 0
			|| !_ns_cert_put_time(b, X509_get0_notAfter(cert))
			|| BIO_puts(b, " key=") <= 0 || !_ns_cert_put_key(b, cert)
			|| BIO_puts(b, " san=") <= 0 || !_ns_cert_put_san(b, cert))
		goto out;
	n = BIO_get_mem_data(b, &p);
	if(n < 0 || n > INT_MAX || p == NULL)
		goto out;
	if(size > 0) {
		c = (size_t)n < size - 1 ? (size_t)n : size - 1;
		memcpy(buf, p, c);
		buf[c] = '\0';
	}
	ret = (int)n;
out:
	BIO_free(b);
	return ret;
}

/* ------------------------------------------------------------ loader */

static void _ns_cert_seterr(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	const char *r;
	size_t n;

	if(err == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	e = ERR_peek_last_error();
	r = e != 0 ? ERR_reason_error_string(e) : NULL;
	n = strlen(err);
	if(r != NULL && n < size)
		snprintf(err + n, size - n, " (%s)", r);
}

static int _ns_cert_load_file(
		X509_STORE *st, const char *path, char *err, size_t errsize)
{
	struct stat sb;

	if(stat(path, &sb) != 0) {
		_ns_cert_seterr(err, errsize, "%s: %s", path, strerror(errno));
		return NS_CERT_ERR_LOAD;
	}
	if(!S_ISREG(sb.st_mode)) {
		_ns_cert_seterr(err, errsize, "%s: not a regular file", path);
		return NS_CERT_ERR_LOAD;
	}
	ERR_clear_error();
	if(X509_STORE_load_file(st, path) != 1) {
		_ns_cert_seterr(
				err, errsize, "%s: no PEM certificate could be read", path);
		return NS_CERT_ERR_LOAD;
	}
	return NS_CERT_OK;
}

static int _ns_cert_load_dir(
		X509_STORE *st, const char *dir, char *err, size_t errsize)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int n, ret = NS_CERT_OK;

	d = opendir(dir);
	if(d == NULL) {
		_ns_cert_seterr(err, errsize, "%s: %s", dir, strerror(errno));
		return NS_CERT_ERR_LOAD;
	}
	while(ret == NS_CERT_OK && (de = readdir(d)) != NULL) {
		if(de->d_name[0] == '.')
			continue; /* ".", "..", hidden files */
		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if(n < 0 || (size_t)n >= sizeof(path)) {
			_ns_cert_seterr(
					err, errsize, "%s/%s: path too long", dir, de->d_name);
			ret = NS_CERT_ERR_LOAD;
		} else if(stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			continue; /* subdirectories and the like */
		} else {
			ret = _ns_cert_load_file(st, path, err, errsize);
		}
	}
	closedir(d);
	return ret;
}

int ns_cert_store_load(const char *file, const char *dir, X509_STORE **out,
		char *err, size_t errsize)
{
	STACK_OF(X509_OBJECT) * objs;
	X509_STORE *st = NULL;
	int i, count = 0, ret = NS_CERT_ERR_ARG;

	if(err != NULL && errsize > 0)
		err[0] = '\0';
	if(file != NULL && file[0] == '\0')
		file = NULL;
	if(dir != NULL && dir[0] == '\0')
		dir = NULL;
	if(out == NULL || (file == NULL && dir == NULL)) {
		_ns_cert_seterr(err, errsize, "neither a CA file nor a CA directory");
		goto out;
	}
	*out = NULL;
	ERR_clear_error();
	st = X509_STORE_new();
	if(st == NULL) {
		_ns_cert_seterr(err, errsize, "X509_STORE_new failed");
		ret = NS_CERT_ERR_CRYPTO;
		goto out;
	}
	if(file != NULL) {
		ret = _ns_cert_load_file(st, file, err, errsize);
		if(ret != NS_CERT_OK)
			goto out;
	}
	if(dir != NULL) {
		ret = _ns_cert_load_dir(st, dir, err, errsize);
		if(ret != NS_CERT_OK)
			goto out;
	}
	objs = X509_STORE_get0_objects(st);
	for(i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if(X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
			count++;
	if(count == 0) {
		_ns_cert_seterr(err, errsize, "%s%s%s: no CA certificate",
				file ? file : "", file && dir ? ", " : "", dir ? dir : "");
		ret = NS_CERT_ERR_LOAD;
		goto out;
	}
	*out = st; /* handed over to the caller */
	st = NULL;
	ret = count;
out:
	X509_STORE_free(st);
	if(ret < 0)
		ERR_clear_error(); /* the reason is in err */
	return ret;
}

int ns_cert_from_pem(const char *pem, size_t len, X509 **out)
{
	BIO *b;

	if(pem == NULL || out == NULL || len == 0 || len > NS_CERT_PEM_MAX)
		return NS_CERT_ERR_ARG;
	*out = NULL;
	ERR_clear_error();
	b = BIO_new_mem_buf(pem, (int)len);
	if(b == NULL)
		return NS_CERT_ERR_CRYPTO;
	*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if(*out == NULL) {
		ERR_clear_error();
		return NS_CERT_ERR_MALFORMED;
	}
	return NS_CERT_OK;
}

int ns_cert_to_pem(X509 *cert, char *out, size_t size)
{
	BIO *b;
	char *p;
	long n;
	int ret = NS_CERT_ERR_CRYPTO;

	if(cert == NULL || out == NULL || size == 0)
		return NS_CERT_ERR_ARG;
	b = BIO_new(BIO_s_mem());
	if(b == NULL)
		return NS_CERT_ERR_CRYPTO;
	if(PEM_write_bio_X509(b, cert) == 1) {
		n = BIO_get_mem_data(b, &p);
		if(n > 0 && (size_t)n < size) {
			memcpy(out, p, (size_t)n);
			out[n] = '\0';
			ret = (int)n;
		} else {
			ret = NS_CERT_ERR_ARG;
		}
	}
	BIO_free(b);
	ERR_clear_error();
	return ret;
}

int ns_cert_fingerprint(X509 *cert, char *hex, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	static const char digits[] = "0123456789abcdef";

	if(cert == NULL || hex == NULL || size < NS_CERT_FP_LEN + 1)
		return NS_CERT_ERR_ARG;
	if(X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32) {
		ERR_clear_error();
		return NS_CERT_ERR_CRYPTO;
	}
	for(i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
	return NS_CERT_OK;
}
