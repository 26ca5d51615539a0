/*
 * notify_smime module: S/MIME protection of presence bodies end to end
 * from the Presence Server to the watcher (3GPP TS 33.141, RFC 3261 23,
 * RFC 8551).
 *
 *  - notify_smime_subscribe(): on a SUBSCRIBE, decides whether NOTIFYs of
 *    the subscription must be encrypted (the presentity's policy through
 *    watcher_auth's bind API, or the script), finds the watcher's
 *    certificate (the SUBSCRIBE's own body, the certificate table, an HTTPS
 *    credential server), checks it and binds it to the subscription;
 *    refuses with 403 when encryption is demanded and there is none.
 *  - notify_smime_notify(): in event_route[tm:local-request], encrypts (and
 *    optionally signs) the NOTIFY presence builds, to the bound
 *    certificate; a NOTIFY that must be encrypted and cannot be leaves
 *    without its body, never in clear.
 *  - notify_smime_decrypt(): S/MIME bodies sent to the server (a PUBLISH)
 *    are decrypted before presence reads them; 493 when they cannot be.
 *
 * The crypto and MIME are in protect.c, cms.c, mime.c and cert.c (no
 * Kamailio headers); the state is in the database (ns_store.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/ut.h"
#include "core/trim.h"
#include "core/pvar.h"
#include "core/data_lump.h"
#include "core/data_lump_rpl.h"
#include "core/msg_translator.h"
#include "core/counters.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/kemi.h"
#include "core/timer.h"
#include "core/timer_ticks.h"
#include "core/locking.h"
#include "core/tcp_options.h"
#include "core/mem/pkg.h"
#include "core/mem/shm_mem.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "core/parser/parse_expires.h"
#include "core/parser/parse_content.h"
#include "core/parser/parse_uri.h"
#include "modules/sl/sl.h"
#include "watcher_auth/api.h"

#include "cert.h"
#include "cms.h"
#include "envelope.h"
#include "mime.h"
#include "protect.h"
#include "ns_store.h"
#include "xcap_fetch.h"
#include "kossl.h"
#include "kreply.h"

MODULE_VERSION

/* Return codes (KEMI); the cfg wrappers turn "replied" into 0, which ends
 * the script. */
#define NS_RC_BOUND 1		   /* subscribe: a certificate is bound */
#define NS_RC_NOT_NEEDED 2	   /* subscribe: no encryption demanded, none */
#define NS_RC_REPLIED (-1)	   /* a reply (400/403/415/493/500) was sent */
#define NS_RC_NOT_REQUEST (-5) /* not the request the function is for */

#define NS_RC_PROTECTED 1 /* notify: encrypted and/or signed */
#define NS_RC_CLEAR 2	  /* notify: left as it was (nothing demanded) */
#define NS_RC_WITHHELD 3  /* notify: body removed (could not encrypt) */
#define NS_RC_ERROR (-1)  /* notify: internal error, body removed */

#define NS_RC_DECRYPTED 1 /* decrypt: body replaced by its content */
#define NS_RC_PLAIN 2	  /* decrypt: not S/MIME, nothing done */

/* grace after a subscription's expiry before its binding is purged */
#define NS_BINDING_GRACE 32
#define NS_CERT_CACHE 256
#define NS_IDENT_MAX 256
#define NS_URL_MAX 1024

/* modparams */
static str _ns_cert_file = STR_NULL;
static str _ns_key_file = STR_NULL;
static str _ns_key_passphrase = STR_NULL;
static str _ns_ca_file = STR_NULL;
static str _ns_ca_dir = STR_NULL;
static str _ns_cipher = str_init("aes128-cbc");
static str _ns_rsa_padding = str_init("pkcs1");
static str _ns_ecdh_kdf = str_init("sha256");
static int _ns_sign = 0;
static int _ns_use_policy = 1;
static str _ns_db_url = str_init(DEFAULT_DB_URL);
static str _ns_cert_table = str_init("smime_cert");
static str _ns_binding_table = str_init("smime_binding");
static str _ns_cert_url = STR_NULL;
static str _ns_cert_url_ca_file = STR_NULL;
static int _ns_cert_url_timeout = 2000;
static int _ns_cert_url_connect_timeout = 1000;
static int _ns_max_body = 65536;
static int _ns_default_expires = 3600;
static int _ns_purge_interval = 60;
static int _ns_binding_cache = 1;
static int _ns_binding_cache_size = 1024;

static ns_cms_opts_t _ns_opts;
static sl_api_t _ns_sl;
static watcher_auth_api_t _ns_wa;
static wa_xcap_client_t *_ns_https = NULL;

/* Keys and CA set of this process; reloaded when the shared generation
 * moves (notify_smime.reload). */
typedef struct ns_keys
{
	X509 *cert;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	X509_STORE *cas;
	int ncas;
	int gen;
	/* loaded in mod_init, before the fork: the objects are in shared
	 * memory and every child holds the same ones; a child must never
	 * free them (the first to do so would pull them from under the
	 * others) */
	int prefork;
} ns_keys_t;
static ns_keys_t _ns_keys;
static int *_ns_gen = NULL;

/*
 * With Kamailio's tls module loaded, OpenSSL allocates from shared memory,
 * and so do its global caches (algorithm and decoder stores), created in
 * the main process: every child sees the same ones and OpenSSL's own
 * locks do not work between processes. Concurrent first uses in several
 * children corrupt them (seen as double frees at start-up). So: the keys
 * are loaded and every algorithm this module needs is used once in
 * mod_init, before the fork (the caches are filled there), and every
 * OpenSSL call of this module runs under one process-shared lock.
 */
static gen_lock_t *_ns_ossl_lock = NULL;
#define NS_OSSL_LOCK() lock_get(_ns_ossl_lock)
#define NS_OSSL_UNLOCK() lock_release(_ns_ossl_lock)

/* Parsed certificates of this process by fingerprint, with the result of
 * their last full check for one identity under one CA generation. */
typedef struct ns_cert_entry
{
	char fp[NS_CERT_FP_LEN + 1];
	X509 *x;
	char ident[NS_IDENT_MAX];
	int gen;
	int rc;
	unsigned long used;
	/* the validity period as time_t, when it converts (times_ok) */
	int times_ok;
	time_t not_before;
	time_t not_after;
} ns_cert_entry_t;
static ns_cert_entry_t _ns_cc[NS_CERT_CACHE];
static unsigned long _ns_cc_clock = 0;

static stat_var *_ns_st_encrypted;
static stat_var *_ns_st_signed;
static stat_var *_ns_st_decrypted;
static stat_var *_ns_st_refused_no_cert;
static stat_var *_ns_st_decrypt_failures;
static stat_var *_ns_st_withheld;
static stat_var *_ns_st_bound;
static stat_var *_ns_st_cert_refused;

static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);
static int w_ns_subscribe(sip_msg_t *msg, char *flags, char *p2);
static int w_ns_notify(sip_msg_t *msg, char *flags, char *p2);
static int w_ns_decrypt(sip_msg_t *msg, char *p1, char *p2);
static void ns_rpc_reload(rpc_t *rpc, void *ctx);
static void ns_rpc_cert(rpc_t *rpc, void *ctx);
static void ns_purge_timer(unsigned int ticks, void *param);

static const char *ns_rpc_reload_doc[2] = {
		"Reload the server's certificate, key and the CA set; on any error"
		" the loaded ones stay in force.",
		0};
static const char *ns_rpc_cert_doc[2] = {
		"Certificates bound to the subscriptions of a watcher AOR: subject,"
		" issuer, validity.",
		0};

/* clang-format off */
static cmd_export_t cmds[] = {
	{"notify_smime_subscribe", (cmd_function)w_ns_subscribe, 0, 0, 0,
		REQUEST_ROUTE},
	{"notify_smime_subscribe", (cmd_function)w_ns_subscribe, 1,
		fixup_spve_null, fixup_free_spve_null, REQUEST_ROUTE},
	{"notify_smime_notify", (cmd_function)w_ns_notify, 0, 0, 0,
		LOCAL_ROUTE | EVENT_ROUTE},
	{"notify_smime_notify", (cmd_function)w_ns_notify, 1,
		fixup_spve_null, fixup_free_spve_null, LOCAL_ROUTE | EVENT_ROUTE},
	{"notify_smime_decrypt", (cmd_function)w_ns_decrypt, 0, 0, 0,
		REQUEST_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"cert_file", PARAM_STR, &_ns_cert_file},
	{"key_file", PARAM_STR, &_ns_key_file},
	{"key_passphrase", PARAM_STR, &_ns_key_passphrase},
	{"ca_file", PARAM_STR, &_ns_ca_file},
	{"ca_dir", PARAM_STR, &_ns_ca_dir},
	{"cipher", PARAM_STR, &_ns_cipher},
	{"rsa_padding", PARAM_STR, &_ns_rsa_padding},
	{"ecdh_kdf", PARAM_STR, &_ns_ecdh_kdf},
	{"sign", PARAM_INT, &_ns_sign},
	{"use_policy", PARAM_INT, &_ns_use_policy},
	{"db_url", PARAM_STR, &_ns_db_url},
	{"cert_table", PARAM_STR, &_ns_cert_table},
	{"binding_table", PARAM_STR, &_ns_binding_table},
	{"cert_url", PARAM_STR, &_ns_cert_url},
	{"cert_url_ca_file", PARAM_STR, &_ns_cert_url_ca_file},
	{"cert_url_timeout", PARAM_INT, &_ns_cert_url_timeout},
	{"cert_url_connect_timeout", PARAM_INT, &_ns_cert_url_connect_timeout},
	{"max_body", PARAM_INT, &_ns_max_body},
	{"default_expires", PARAM_INT, &_ns_default_expires},
	{"purge_interval", PARAM_INT, &_ns_purge_interval},
	{"binding_cache", PARAM_INT, &_ns_binding_cache},
	{"binding_cache_size", PARAM_INT, &_ns_binding_cache_size},
	{0, 0, 0}
};

static rpc_export_t rpc_cmds[] = {
	{"notify_smime.reload", ns_rpc_reload, ns_rpc_reload_doc, 0},
	{"notify_smime.cert", ns_rpc_cert, ns_rpc_cert_doc, RET_ARRAY},
	{0, 0, 0, 0}
};

static stat_export_t mod_stats[] = {
	{"encrypted", 0, &_ns_st_encrypted},
	{"signed", 0, &_ns_st_signed},
	{"decrypted", 0, &_ns_st_decrypted},
	{"refused_no_cert", 0, &_ns_st_refused_no_cert},
	{"decrypt_failures", 0, &_ns_st_decrypt_failures},
	{"withheld", 0, &_ns_st_withheld},
	{"bound", 0, &_ns_st_bound},
	{"cert_refused", 0, &_ns_st_cert_refused},
	{0, 0, 0}
};

struct module_exports exports = {
	"notify_smime",  /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,            /* cmd (cfg function) exports */
	params,          /* param exports */
	0,               /* RPC method exports: registered in mod_init */
	0,               /* pseudo-variables exports */
	0,               /* response handling function */
	mod_init,        /* module init function */
	child_init,      /* per-child init function */
	mod_destroy      /* module destroy function */
};
/* clang-format on */

/* ---- keys ------------------------------------------------------------ */

static void ns_keys_free(ns_keys_t *k)
{
	X509_free(k->cert);
	if(k->chain)
		sk_X509_pop_free(k->chain, X509_free);
	EVP_PKEY_free(k->key);
	X509_STORE_free(k->cas);
	memset(k, 0, sizeof(*k));
}

/* Loads the configured files into k; -1 with the reason in err. */
static int ns_keys_load(ns_keys_t *k, char *err, size_t errlen)
{
	char e[NS_CMS_ERR_LEN / 2];
	int rc;

	memset(k, 0, sizeof(*k));
	rc = ns_cert_store_load(_ns_ca_file.len > 0 ? _ns_ca_file.s : NULL,
			_ns_ca_dir.len > 0 ? _ns_ca_dir.s : NULL, &k->cas, e, sizeof(e));
	if(rc < 0) {
		snprintf(err, errlen, "CA set (ca_file/ca_dir): %s", e);
		goto error;
	}
	k->ncas = rc;
	if(_ns_cert_file.len <= 0)
		return 0;
	rc = ns_cms_load_cert(_ns_cert_file.s, &k->cert, &k->chain, e, sizeof(e));
	if(rc != NS_CMS_OK) {
		snprintf(err, errlen, "cert_file %s: %s (%s)", _ns_cert_file.s,
				ns_cms_strerror(rc), e);
		goto error;
	}
	rc = ns_cms_load_key(_ns_key_file.s,
			_ns_key_passphrase.len > 0 ? _ns_key_passphrase.s : NULL, &k->key,
			e, sizeof(e));
	if(rc != NS_CMS_OK) {
		snprintf(err, errlen, "key_file %s: %s", _ns_key_file.s,
				ns_cms_strerror(rc));
		goto error;
	}
	if(ns_cms_key_matches_cert(k->cert, k->key) != NS_CMS_OK) {
		snprintf(err, errlen, "key_file %s is not the key of cert_file %s",
				_ns_key_file.s, _ns_cert_file.s);
		goto error;
	}
	return 0;
error:
	ns_keys_free(k);
	ERR_clear_error();
	return -1;
}

/* This process's keys, reloaded first when notify_smime.reload ran. */
static ns_keys_t *ns_keys(void)
{
	ns_keys_t nk;
	char err[NS_CMS_ERR_LEN];
	int gen = *_ns_gen;

	if(_ns_keys.cas && _ns_keys.gen == gen)
		return &_ns_keys;
	if(ns_keys_load(&nk, err, sizeof(err)) < 0) {
		LM_ERR("cannot reload keys, the loaded ones stay in force: %s\n", err);
		_ns_keys.gen = gen; /* not again until the next reload */
		return _ns_keys.cas ? &_ns_keys : NULL;
	}
	if(!_ns_keys.prefork)
		ns_keys_free(&_ns_keys);
	_ns_keys = nk;
	_ns_keys.gen = gen;
	/* every check was made against the old CA set */
	return &_ns_keys;
}

/* ---- certificates ---------------------------------------------------- */

static ns_cert_entry_t *ns_cc_find(const char *fp)
{
	int i;

	for(i = 0; i < NS_CERT_CACHE; i++)
		if(_ns_cc[i].x && strcmp(_ns_cc[i].fp, fp) == 0) {
			_ns_cc[i].used = ++_ns_cc_clock;
			return &_ns_cc[i];
		}
	return NULL;
}

/* An ASN1_TIME as time_t (UTC); -1 when it does not convert. */
static int ns_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if(!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* Caches x (a new reference is taken) under fp. */
static ns_cert_entry_t *ns_cc_put(const char *fp, X509 *x)
{
	int i, lru = 0;

	for(i = 0; i < NS_CERT_CACHE; i++) {
		if(!_ns_cc[i].x) {
			lru = i;
			break;
		}
		if(_ns_cc[i].used < _ns_cc[lru].used)
			lru = i;
	}
	X509_free(_ns_cc[lru].x);
	memset(&_ns_cc[lru], 0, sizeof(_ns_cc[lru]));
	if(X509_up_ref(x) != 1)
		return NULL;
	_ns_cc[lru].x = x;
	strcpy(_ns_cc[lru].fp, fp);
	_ns_cc[lru].gen = -1;
	_ns_cc[lru].times_ok =
			ns_asn1_time(X509_get0_notBefore(x), &_ns_cc[lru].not_before) == 0
			&& ns_asn1_time(X509_get0_notAfter(x), &_ns_cc[lru].not_after) == 0;
	_ns_cc[lru].used = ++_ns_cc_clock;
	return &_ns_cc[lru];
}

/*
 * Is x usable for `identity` now? The chain, key usage and SAN are
 * checked once per identity and CA generation (cached), the validity
 * period every time. Logs which check failed.
 */
static int ns_cert_ok(ns_keys_t *k, ns_cert_entry_t *e, X509 *x,
		STACK_OF(X509) * untrusted, const char *identity, size_t ilen,
		const char *what)
{
	time_t now = time(NULL);
	int rc, verr = X509_V_OK;

	if(e && e->gen == k->gen && ilen < NS_IDENT_MAX && strlen(e->ident) == ilen
			&& memcmp(e->ident, identity, ilen) == 0 && e->rc == NS_CERT_OK) {
		/* as X509_cmp_time: expired from notAfter on */
		if(e->times_ok ? e->not_after <= now
					   : X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
			rc = NS_CERT_ERR_EXPIRED;
			goto refused;
		}
		if(e->times_ok ? e->not_before > now
					   : X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
			rc = NS_CERT_ERR_NOT_YET_VALID;
			goto refused;
		}
		return 1;
	}
	rc = ns_cert_check_ex(
			x, untrusted, k->cas, identity, ilen, now, NULL, &verr);
	if(e && ilen < NS_IDENT_MAX) {
		memcpy(e->ident, identity, ilen);
		e->ident[ilen] = '\0';
		e->gen = k->gen;
		e->rc = rc;
	}
	if(rc == NS_CERT_OK)
		return 1;
refused:
	update_stat(_ns_st_cert_refused, 1);
	LM_NOTICE("%s certificate for %.*s refused: %s%s%s\n", what, (int)ilen,
			identity, ns_cert_strerror(rc), verr != X509_V_OK ? ": " : "",
			verr != X509_V_OK ? X509_verify_cert_error_string(verr) : "");
	ERR_clear_error();
	return 0;
}

/* A bound certificate (fingerprint from the binding, PEM from the binding
 * or, when it came from the cache, the table), parsed once per process. */
static X509 *ns_bound_cert(ns_keys_t *k, ns_binding_t *b, str *callid, str *tag)
{
	ns_cert_entry_t *e;
	X509 *x = NULL;
	char fp[NS_CERT_FP_LEN + 1];

	e = ns_cc_find(b->fp);
	if(!e) {
		if(b->pem.len <= 0
				&& ns_store_binding_pem(callid, tag, &b->pem) != NS_STORE_OK) {
			LM_ERR("bound certificate of %.*s not found in the binding table\n",
					b->watcher.len, b->watcher.s);
			return NULL;
		}
		if(ns_cert_from_pem(b->pem.s, b->pem.len, &x) != NS_CERT_OK
				|| ns_cert_fingerprint(x, fp, sizeof(fp)) != NS_CERT_OK
				|| strcmp(fp, b->fp) != 0) {
			LM_ERR("bound certificate of %.*s is unreadable or does not match"
				   " its fingerprint\n",
					b->watcher.len, b->watcher.s);
			X509_free(x);
			return NULL;
		}
		e = ns_cc_put(b->fp, x);
		X509_free(x);
		if(!e)
			return NULL;
	}
	if(!ns_cert_ok(k, e, e->x, NULL, b->watcher.s, b->watcher.len, "bound"))
		return NULL;
	return e->x;
}

/* ---- module life ----------------------------------------------------- */

/* Every algorithm the module may use, once, in the main process (see
 * _ns_ossl_lock); also proves that the server's key decrypts what is
 * encrypted to its certificate. */
static int ns_warm_up(ns_keys_t *k, char *err, size_t errlen)
{
	static const char body[] = "<presence/>";
	static const char ct[] = "application/pidf+xml";
	ns_protect_in_t in;
	ns_protect_out_t out;
	ns_unprotect_keys_t uk;
	ns_unprotect_out_t u;
	ns_cms_cipher_t c;
	STACK_OF(X509) *certs = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char e[NS_CMS_ERR_LEN / 2];
	int rc, ret = -1;

	if(!k->cert)
		return 0;
	memset(&uk, 0, sizeof(uk));
	uk.cert = k->cert;
	uk.key = k->key;
	uk.cas = k->cas;
	uk.max = 4096;
	for(c = 0; c < NS_CMS_CIPHER_COUNT; c++) {
		ns_cms_opts_t o = _ns_opts;
		o.cipher = c;
		memset(&in, 0, sizeof(in));
		in.ctype = ct;
		in.ctype_len = sizeof(ct) - 1;
		in.body = body;
		in.body_len = sizeof(body) - 1;
		in.rcpt = k->cert;
		in.opts = &o;
		in.sign_cert = k->cert;
		in.sign_key = k->key;
		in.sign_chain = k->chain;
		rc = ns_protect(&in, &out, e, sizeof(e));
		if(rc != NS_CMS_OK) {
			/* a certificate that cannot receive (signing-only key) */
			in.rcpt = NULL;
			rc = ns_protect(&in, &out, e, sizeof(e));
		}
		if(rc != NS_CMS_OK) {
			snprintf(err, errlen, "cert_file %s cannot sign: %s (%s)",
					_ns_cert_file.s, ns_cms_strerror(rc), e);
			return -1;
		}
		rc = ns_unprotect(out.ctype, strlen(out.ctype), (const char *)out.body,
				out.len, &uk, &u, e, sizeof(e));
		ns_protect_out_free(&out);
		ns_unprotect_out_free(&u);
		if(in.rcpt && rc == NS_UNPROTECT_ERR_DECRYPT) {
			snprintf(err, errlen,
					"key_file %s does not decrypt what is encrypted to"
					" cert_file %s: %s",
					_ns_key_file.s, _ns_cert_file.s, e);
			return -1;
		}
	}
	if(ns_cms_certs_only_build(k->cert, k->chain, &der, &len, e, sizeof(e))
					!= NS_CMS_OK
			|| ns_cms_certs_only_parse(der, len, &certs, e, sizeof(e))
					   != NS_CMS_OK) {
		snprintf(err, errlen, "cert_file %s: no certs-only: %s",
				_ns_cert_file.s, e);
		goto out;
	}
	(void)ns_cert_check(
			k->cert, k->cas, "sip:warm-up@invalid", 19, time(NULL), NULL);
	ret = 0;
out:
	ns_cms_free(der, len);
	if(certs)
		sk_X509_pop_free(certs, X509_free);
	/* the direct envelope's per-process objects: freed here, before the
	 * fork; each child makes its own (envelope.h) */
	ns_env_clear();
	ERR_clear_error();
	return ret;
}

/* The configured files exist and can be read by this user. */
static int ns_files_readable(char *err, size_t errlen)
{
	const char *f[4] = {
			_ns_ca_file.s, _ns_ca_dir.s, _ns_cert_file.s, _ns_key_file.s};
	const char *what[4] = {"ca_file", "ca_dir", "cert_file", "key_file"};
	int i;

	for(i = 0; i < 4; i++)
		if(f[i] && f[i][0] && access(f[i], R_OK) != 0) {
			snprintf(err, errlen, "modparam %s: cannot read %s: %s", what[i],
					f[i], strerror(errno));
			return -1;
		}
	return 0;
}

static int mod_init(void)
{
	char err[NS_CMS_ERR_LEN];

	if(ns_cms_cipher_parse(_ns_cipher.s, &_ns_opts.cipher) != NS_CMS_OK
			|| ns_cms_rsa_pad_parse(_ns_rsa_padding.s, &_ns_opts.rsa_pad)
					   != NS_CMS_OK
			|| ns_cms_ecdh_kdf_parse(_ns_ecdh_kdf.s, &_ns_opts.ecdh_kdf)
					   != NS_CMS_OK) {
		LM_ERR("modparams cipher (aes128-cbc, aes256-cbc, aes128-gcm,"
			   " aes256-gcm), rsa_padding (pkcs1, oaep, oaep-sha256) and"
			   " ecdh_kdf (sha256, sha1): '%s', '%s', '%s'\n",
				_ns_cipher.s, _ns_rsa_padding.s, _ns_ecdh_kdf.s);
		return -1;
	}
	if(_ns_ca_file.len <= 0 && _ns_ca_dir.len <= 0) {
		LM_ERR("modparam ca_file or ca_dir is required: the CAs that may"
			   " issue watchers' certificates\n");
		return -1;
	}
	if((_ns_cert_file.len > 0) != (_ns_key_file.len > 0)) {
		LM_ERR("modparams cert_file and key_file go together\n");
		return -1;
	}
	if(_ns_sign && _ns_cert_file.len <= 0) {
		LM_ERR("modparam sign needs cert_file and key_file\n");
		return -1;
	}
	if(_ns_max_body < 1024 || _ns_max_body > NS_MIME_MAX_LEN) {
		LM_ERR("modparam max_body must be 1024..%d\n", NS_MIME_MAX_LEN);
		return -1;
	}
	if(_ns_default_expires <= 0 || _ns_purge_interval <= 0) {
		LM_ERR("modparams default_expires and purge_interval must be"
			   " positive\n");
		return -1;
	}
	/* The files are read now, and every algorithm used once (see
	 * _ns_ossl_lock): a wrong path, key or passphrase stops the start-up,
	 * never a half-working server. */
	if(ns_files_readable(err, sizeof(err)) < 0) {
		LM_ERR("%s\n", err);
		return -1;
	}
	if(ns_keys_load(&_ns_keys, err, sizeof(err)) < 0
			|| ns_warm_up(&_ns_keys, err, sizeof(err)) < 0) {
		LM_ERR("%s\n", err);
		return -1;
	}
	LM_INFO("CA set %s%s%s; server certificate %s; cipher %s, RSA %s, ECDH"
			" kdf %s; signing %s\n",
			_ns_ca_file.len > 0 ? _ns_ca_file.s : "",
			_ns_ca_file.len > 0 && _ns_ca_dir.len > 0 ? " + " : "",
			_ns_ca_dir.len > 0 ? _ns_ca_dir.s : "",
			_ns_cert_file.len > 0 ? _ns_cert_file.s : "none (no decryption)",
			_ns_cipher.s, _ns_rsa_padding.s, _ns_ecdh_kdf.s,
			_ns_sign ? "on" : "off");
	if(_ns_cert_url.len > 0) {
		char url[NS_URL_MAX];
		if(_ns_cert_url.len < 8 || strncasecmp(_ns_cert_url.s, "https://", 8)
				|| !strstr(_ns_cert_url.s, "{aor}")) {
			LM_ERR("modparam cert_url must be an https:// URL holding {aor},"
				   " not '%s'\n",
					_ns_cert_url.s);
			return -1;
		}
		if(_ns_cert_url_ca_file.len <= 0) {
			LM_ERR("modparam cert_url_ca_file is required with cert_url\n");
			return -1;
		}
		if(_ns_cert_url_connect_timeout <= 0 || _ns_cert_url_timeout <= 0
				|| _ns_cert_url_connect_timeout > _ns_cert_url_timeout
				|| _ns_cert_url_timeout > 10000) {
			LM_ERR("modparams cert_url_connect_timeout <= cert_url_timeout,"
				   " 1..10000 ms\n");
			return -1;
		}
		if(snprintf(url, sizeof(url), "%s", _ns_cert_url.s)
				>= (int)sizeof(url)) {
			LM_ERR("modparam cert_url too long\n");
			return -1;
		}
		if(wa_xcap_global_init() != 0) {
			LM_ERR("libcurl initialization failed\n");
			return -1;
		}
	}
	if(_ns_use_policy && watcher_auth_load_api(&_ns_wa) < 0) {
		LM_ERR("use_policy needs the watcher_auth module, loaded before"
			   " notify_smime (or set use_policy to 0)\n");
		return -1;
	}
	if(sl_load_api(&_ns_sl) < 0) {
		LM_ERR("the sl module is needed to send replies\n");
		return -1;
	}
	if(ns_store_init(&_ns_db_url, &_ns_cert_table, &_ns_binding_table) < 0)
		return -1;
	if(_ns_binding_cache_size < 1 || _ns_binding_cache_size > (1 << 20)
			|| (_ns_binding_cache_size & (_ns_binding_cache_size - 1))) {
		LM_ERR("modparam binding_cache_size must be a power of two,"
			   " 1..1048576\n");
		return -1;
	}
	if(_ns_binding_cache && ns_store_cache_init(_ns_binding_cache_size) < 0)
		return -1;
	_ns_gen = shm_malloc(sizeof(*_ns_gen));
	_ns_ossl_lock = lock_alloc();
	if(!_ns_gen || !_ns_ossl_lock) {
		SHM_MEM_ERROR;
		return -1;
	}
	lock_init(_ns_ossl_lock);
	*_ns_gen = 1;
	_ns_keys.gen = 1;
	_ns_keys.prefork = 1;
	if(tcp_get_clone_rcvbuf() == 0)
		LM_WARN("core parameter tcp_clone_rcvbuf is 0: notify_smime_decrypt()"
				" cannot hand a decrypted body to presence (set it to 1)\n");
	/* register_timer() takes seconds (it converts to ticks itself) */
	if(register_timer(ns_purge_timer, 0, _ns_purge_interval) < 0) {
		LM_ERR("cannot register the purge timer\n");
		return -1;
	}
	if(register_module_stats(exports.name, mod_stats) != 0) {
		LM_ERR("cannot register statistics\n");
		return -1;
	}
	if(rpc_register_array(rpc_cmds) != 0) {
		LM_ERR("cannot register RPC commands\n");
		return -1;
	}
	return 0;
}

static int child_init(int rank)
{
	wa_xcap_cfg_t cfg;

	if(rank == PROC_INIT)
		kossl_before_fork();
	if(rank == PROC_INIT || rank == PROC_MAIN || rank == PROC_TCP_MAIN)
		return 0;
	if(ns_store_child_init() < 0)
		return -1;
	if(_ns_cert_url.len > 0) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.ca_file = _ns_cert_url_ca_file.s;
		cfg.connect_timeout_ms = _ns_cert_url_connect_timeout;
		cfg.timeout_ms = _ns_cert_url_timeout;
		cfg.max_body = NS_CERT_PEM_MAX;
		cfg.any_content = 1;
		_ns_https = wa_xcap_client_new(&cfg);
		if(!_ns_https) {
			LM_ERR("cannot create the HTTPS client for cert_url\n");
			return -1;
		}
	}
	return 0;
}

static void mod_destroy(void)
{
	int i;

	for(i = 0; i < NS_CERT_CACHE; i++)
		X509_free(_ns_cc[i].x);
	memset(_ns_cc, 0, sizeof(_ns_cc));
	ns_keys_free(&_ns_keys);
	if(_ns_https)
		wa_xcap_client_free(_ns_https);
	_ns_https = NULL;
	ns_store_destroy();
	ns_store_cache_destroy();
	if(_ns_gen)
		shm_free(_ns_gen);
	_ns_gen = NULL;
	if(_ns_ossl_lock) {
		lock_destroy(_ns_ossl_lock);
		lock_dealloc(_ns_ossl_lock);
	}
	_ns_ossl_lock = NULL;
}

static void ns_purge_timer(unsigned int ticks, void *param)
{
	int n = ns_store_purge(time(NULL));

	if(n > 0)
		LM_DBG("removed %d expired bindings\n", n);
}

/* ---- message helpers ------------------------------------------------- */

/* flags: 'e' encryption demanded, 's' sign, 'n' do not sign */
typedef struct ns_flags
{
	int encrypt;
	int sign;
} ns_flags_t;

static int ns_parse_flags(str *s, ns_flags_t *f)
{
	int i;

	f->encrypt = 0;
	f->sign = _ns_sign;
	for(i = 0; s && i < s->len; i++) {
		switch(s->s[i]) {
			case 'e':
				f->encrypt = 1;
				break;
			case 's':
				f->sign = 1;
				break;
			case 'n':
				f->sign = 0;
				break;
			default:
				LM_ERR("unknown flag '%c' in '%.*s'\n", s->s[i], s->len, s->s);
				return -1;
		}
	}
	if(f->sign && _ns_cert_file.len <= 0) {
		LM_ERR("signing asked for, but no cert_file/key_file\n");
		return -1;
	}
	return 0;
}

/* The message's body and Content-Type value; 0 with body->len 0 when
 * there is none, -1 when it is malformed. */
static int ns_msg_body(sip_msg_t *msg, str *body, str *ctype)
{
	body->s = NULL;
	body->len = 0;
	ctype->s = NULL;
	ctype->len = 0;
	if(parse_headers(msg, HDR_EOH_F, 0) < 0)
		return -1;
	if(msg->content_length == NULL || get_content_length(msg) <= 0)
		return 0;
	body->s = get_body(msg);
	if(!body->s)
		return -1;
	body->len = (int)get_content_length(msg);
	if(body->s + body->len > msg->buf + msg->len)
		return -1;
	if(!msg->content_type)
		return -1;
	*ctype = msg->content_type->body;
	trim(ctype);
	return 0;
}

/* Replaces the Content-Type header and the body (lumps; Content-Length
 * follows when the message is built), adds Content-Disposition when
 * disposition is not NULL. An empty body removes body and Content-Type. */
static int ns_msg_set_body(sip_msg_t *msg, const char *ctype,
		const char *disposition, const unsigned char *body, size_t len)
{
	struct lump *anchor;
	str old, oct;
	char *buf;
	int n, size;

	if(ns_msg_body(msg, &old, &oct) < 0)
		return -1;
	if(msg->content_type
			&& !del_lump(msg, msg->content_type->name.s - msg->buf,
					msg->content_type->len, 0))
		return -1;
	if(old.len > 0 && !del_lump(msg, old.s - msg->buf, old.len, 0))
		return -1;
	if(msg->content_disposition
			&& !del_lump(msg, msg->content_disposition->name.s - msg->buf,
					msg->content_disposition->len, 0))
		return -1;
	if(len == 0)
		return 0;
	anchor = anchor_lump(msg, msg->unparsed - msg->buf, 0, 0);
	if(!anchor)
		return -1;
	size = (int)strlen(ctype) + 17
		   + (disposition ? (int)strlen(disposition) + 23 : 0);
	buf = pkg_malloc(size);
	if(!buf) {
		PKG_MEM_ERROR;
		return -1;
	}
	n = snprintf(buf, size, "Content-Type: %s\r\n%s%s%s", ctype,
			disposition ? "Content-Disposition: " : "",
			disposition ? disposition : "", disposition ? "\r\n" : "");
	if(n <= 0 || n >= size || !insert_new_lump_after(anchor, buf, n, 0)) {
		pkg_free(buf);
		return -1;
	}
	anchor = anchor_lump(
			msg, (old.len > 0 ? old.s : msg->buf + msg->len) - msg->buf, 0, 0);
	if(!anchor)
		return -1;
	buf = pkg_malloc(len);
	if(!buf) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(buf, body, len);
	if(!insert_new_lump_after(anchor, buf, (int)len, 0)) {
		pkg_free(buf);
		return -1;
	}
	return 0;
}

/* A reply with a Warning (399, this host) when warning is not NULL. */
static int ns_reply(sip_msg_t *msg, int code, char *reason, const char *warning)
{
	kreply(&_ns_sl, msg, code, reason, warning);
	return NS_RC_REPLIED;
}

/* 493 Undecipherable with the server's certificate as certs-only (RFC
 * 3261 23.2), so that the client can encrypt to it next time. */
static int ns_reply_493(sip_msg_t *msg)
{
	static const char hdrs[] =
			"Content-Type: application/pkcs7-mime; smime-type=certs-only;"
			" name=smime.p7c\r\n"
			"Content-Disposition: attachment; filename=smime.p7c;"
			" handling=required\r\n";
	ns_keys_t *k = ns_keys();
	unsigned char *der = NULL;
	size_t len = 0;

	update_stat(_ns_st_decrypt_failures, 1);
	if(k && k->cert
			&& ns_cms_certs_only_build(k->cert, k->chain, &der, &len, NULL, 0)
					   == NS_CMS_OK) {
		if(add_lump_rpl(msg, (char *)hdrs, sizeof(hdrs) - 1, LUMP_RPL_HDR)
				&& add_lump_rpl(msg, (char *)der, (int)len, LUMP_RPL_BODY))
			;
		else
			LM_ERR("cannot add the certificate to the 493\n");
		ns_cms_free(der, len);
	}
	return ns_reply(msg, 493, "Undecipherable", NULL);
}

/* Peels the S/MIME layers of msg's body; replies on failure. */
static int ns_unprotect_msg(sip_msg_t *msg, ns_unprotect_out_t *u)
{
	ns_keys_t *k = ns_keys();
	ns_unprotect_keys_t uk;
	str body, ctype;
	char err[NS_CMS_ERR_LEN];
	int rc;

	memset(u, 0, sizeof(*u));
	if(ns_msg_body(msg, &body, &ctype) < 0) {
		LM_NOTICE("%.*s from %s: malformed body or Content-Type\n",
				msg->first_line.u.request.method.len,
				msg->first_line.u.request.method.s,
				ip_addr2a(&msg->rcv.src_ip));
		return ns_reply(msg, 400, "Bad Request - Malformed Body", NULL);
	}
	if(body.len == 0)
		return NS_UNPROTECT_PLAIN;
	if(body.len > _ns_max_body)
		return ns_reply(msg, 413, "Request Entity Too Large", NULL);
	memset(&uk, 0, sizeof(uk));
	if(k) {
		uk.cert = k->cert;
		uk.key = k->key;
		uk.cas = k->cas;
	}
	uk.max = (size_t)_ns_max_body;
	rc = ns_unprotect(
			ctype.s, ctype.len, body.s, body.len, &uk, u, err, sizeof(err));
	if(rc >= 0)
		return rc;
	LM_NOTICE("%.*s from %s: S/MIME body refused: %s (%s)\n",
			msg->first_line.u.request.method.len,
			msg->first_line.u.request.method.s, ip_addr2a(&msg->rcv.src_ip),
			ns_unprotect_strerror(rc), err);
	switch(rc) {
		case NS_UNPROTECT_ERR_DECRYPT:
			return ns_reply_493(msg);
		case NS_UNPROTECT_ERR_SIGNATURE:
			return ns_reply(
					msg, 403, "Forbidden", "S/MIME signature does not verify");
		case NS_UNPROTECT_ERR_UNSUPPORTED:
			return ns_reply(msg, 415, "Unsupported Media Type", NULL);
		case NS_UNPROTECT_ERR_INTERNAL:
			return ns_reply(msg, 500, "Server Internal Error", NULL);
		default:
			return ns_reply(msg, 400, "Bad Request - Malformed S/MIME", NULL);
	}
}

/* The canonical AOR of a URI ("sip:user@host"), NUL-terminated. */
static int ns_canon(str *uri, char *out, size_t size)
{
	return ns_cert_uri_canon(uri->s, uri->len, out, size);
}

/* ---- SUBSCRIBE ------------------------------------------------------- */

/* Is encryption demanded for watcher by presentity's policy? 1, 0, or -1
 * when the policy cannot be read (fail closed: the caller refuses). */
static int ns_policy_demands(str *presentity, str *watcher)
{
	wa_policy_result_t res;
	int rc;

	if(!_ns_use_policy)
		return 0;
	memset(&res, 0, sizeof(res));
	rc = _ns_wa.eval(presentity, watcher, &res);
	switch(rc) {
		case WATCHER_AUTH_NO_POLICY:
			return 0;
		case WATCHER_AUTH_POLICY:
			if(res.unknown_action)
				return -1;
			return res.encrypt ? 1 : 0;
		default:
			return -1;
	}
}

/* The first certificate of `certs` usable for identity; a new reference
 * or NULL. The others are the untrusted intermediates. */
static X509 *ns_pick(ns_keys_t *k, STACK_OF(X509) * certs, const char *ident,
		size_t ilen, const char *what)
{
	X509 *x;
	int i;

	for(i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if(ns_cert_ok(k, NULL, x, certs, ident, ilen, what)) {
			X509_up_ref(x);
			return x;
		}
	}
	return NULL;
}

/* The operator's table, then the credential server. */
static X509 *ns_lookup_cert(
		ns_keys_t *k, const char *ident, size_t ilen, const char **source)
{
	str aor = {(char *)ident, (int)ilen};
	str pems[NS_STORE_MAX_CERTS];
	X509 *x = NULL;
	int n = 0, i, rc;

	rc = ns_store_certs(&aor, pems, &n);
	for(i = 0; i < n; i++) {
		if(!x && ns_cert_from_pem(pems[i].s, pems[i].len, &x) == NS_CERT_OK
				&& !ns_cert_ok(k, NULL, x, NULL, ident, ilen, "stored")) {
			X509_free(x);
			x = NULL;
		}
		pkg_free(pems[i].s);
	}
	if(x) {
		*source = "store";
		return x;
	}
	if(rc == NS_STORE_ERR)
		LM_ERR("certificate store unreachable for %.*s\n", (int)ilen, ident);
	if(_ns_https) {
		char url[NS_URL_MAX], enc[NS_IDENT_MAX * 3];
		const char *p;
		size_t m, skip;
		wa_xcap_doc_t doc;

		/* {aor} without the scheme, percent-encoded as one segment */
		skip = ilen > 4 && strncmp(ident, "sip:", 4) == 0 ? 4 : 0;
		if(wa_xcap_segment(ident + skip, ilen - skip, enc, sizeof(enc)) < 0)
			return NULL;
		p = strstr(_ns_cert_url.s, "{aor}");
		m = (size_t)(p - _ns_cert_url.s);
		if(snprintf(url, sizeof(url), "%.*s%s%s", (int)m, _ns_cert_url.s, enc,
				   p + 5)
				>= (int)sizeof(url))
			return NULL;
		/* not under the lock: bounded by cert_url_timeout, but long */
		NS_OSSL_UNLOCK();
		rc = wa_xcap_fetch(_ns_https, url, NULL, &doc);
		NS_OSSL_LOCK();
		if(rc == WA_XCAP_OK) {
			if(ns_cert_from_pem(doc.body, doc.len, &x) != NS_CERT_OK) {
				LM_NOTICE("credential server: no PEM certificate for %.*s\n",
						(int)ilen, ident);
			} else if(!ns_cert_ok(k, NULL, x, NULL, ident, ilen,
							  "credential server's")) {
				X509_free(x);
				x = NULL;
			}
		} else if(rc != WA_XCAP_NOT_FOUND) {
			LM_ERR("credential server %s: %s (%s)\n", url, wa_xcap_strerror(rc),
					doc.err);
		}
		wa_xcap_doc_free(&doc);
		if(x) {
			*source = "https";
			return x;
		}
	}
	return NULL;
}

/* The binding of a fetch (a SUBSCRIBE out of dialog with Expires: 0, RFC
 * 6665 4.4.3). presence sends a fetch's one NOTIFY from the process that
 * handles the SUBSCRIBE, within handle_subscribe() (send_fast_notify; a
 * fetch is never stored, so without it there is no NOTIFY at all): the
 * binding is kept in this process only, never in binding_table nor the
 * cache, and ends with that NOTIFY or the next SUBSCRIBE this process
 * handles, at the latest NS_BINDING_GRACE seconds on. */
typedef struct ns_fetch
{
	ns_binding_t b;
	str callid;
	str tag;
	X509 *x;
} ns_fetch_t;

static ns_fetch_t _ns_fetch;

static void ns_fetch_clear(void)
{
	ns_binding_free(&_ns_fetch.b);
	if(_ns_fetch.callid.s)
		pkg_free(_ns_fetch.callid.s);
	if(_ns_fetch.tag.s)
		pkg_free(_ns_fetch.tag.s);
	X509_free(_ns_fetch.x);
	memset(&_ns_fetch, 0, sizeof(_ns_fetch));
}

/* Binds x (a reference taken) to the fetch (callid, tag): 0 or -1. */
static int ns_fetch_bind(str *callid, str *tag, ns_binding_t *b, X509 *x)
{
	ns_fetch_clear();
	if(ns_pkg_dup(&_ns_fetch.callid, callid->s, callid->len) < 0
			|| ns_pkg_dup(&_ns_fetch.tag, tag->s, tag->len) < 0
			|| ns_pkg_dup(&_ns_fetch.b.pres_uri, b->pres_uri.s, b->pres_uri.len)
					   < 0
			|| ns_pkg_dup(&_ns_fetch.b.watcher, b->watcher.s, b->watcher.len)
					   < 0) {
		ns_fetch_clear();
		return -1;
	}
	memcpy(_ns_fetch.b.fp, b->fp, sizeof(b->fp));
	memcpy(_ns_fetch.b.source, b->source, sizeof(b->source));
	_ns_fetch.b.demanded = b->demanded;
	_ns_fetch.b.expires = b->expires;
	X509_up_ref(x);
	_ns_fetch.x = x;
	return 0;
}

/* The fetch binding of (callid, tag) into *b (pkg copies, free with
 * ns_binding_free) and its certificate (borrowed until ns_fetch_clear):
 * NS_STORE_OK, NS_STORE_NONE, NS_STORE_ERR. */
static int ns_fetch_lookup(str *callid, str *tag, ns_binding_t *b, X509 **x)
{
	memset(b, 0, sizeof(*b));
	if(!_ns_fetch.x || _ns_fetch.b.expires < time(NULL)
			|| !STR_EQ(_ns_fetch.callid, *callid)
			|| !STR_EQ(_ns_fetch.tag, *tag))
		return NS_STORE_NONE;
	if(ns_pkg_dup(
			   &b->pres_uri, _ns_fetch.b.pres_uri.s, _ns_fetch.b.pres_uri.len)
					< 0
			|| ns_pkg_dup(&b->watcher, _ns_fetch.b.watcher.s,
					   _ns_fetch.b.watcher.len)
					   < 0) {
		ns_binding_free(b);
		return NS_STORE_ERR;
	}
	memcpy(b->fp, _ns_fetch.b.fp, sizeof(b->fp));
	memcpy(b->source, _ns_fetch.b.source, sizeof(b->source));
	b->demanded = _ns_fetch.b.demanded;
	b->expires = _ns_fetch.b.expires;
	*x = _ns_fetch.x;
	return NS_STORE_OK;
}

static int ns_expires(sip_msg_t *msg)
{
	exp_body_t *e;

	if(parse_headers(msg, HDR_EXPIRES_F, 0) < 0 || !msg->expires)
		return _ns_default_expires;
	if(!msg->expires->parsed && parse_expires(msg->expires) < 0)
		return _ns_default_expires;
	e = (exp_body_t *)msg->expires->parsed;
	if(!e->valid)
		return _ns_default_expires;
	return (int)e->val;
}

static int ns_subscribe(sip_msg_t *msg, str *flags)
{
	ns_flags_t f;
	ns_unprotect_out_t u;
	ns_binding_t b, old;
	ns_keys_t *k;
	str ident, presentity, callid, tag;
	char ibuf[NS_IDENT_MAX], pbuf[NS_IDENT_MAX], pem[NS_CERT_PEM_MAX];
	const char *source = NULL;
	X509 *x = NULL;
	int ilen, plen, demanded, rc, in_dialog, expires, fetch;

	if(msg->first_line.type != SIP_REQUEST
			|| msg->first_line.u.request.method_value != METHOD_SUBSCRIBE)
		return NS_RC_NOT_REQUEST;
	/* the NOTIFY of an earlier fetch has gone (or never will) */
	ns_fetch_clear();
	if(ns_parse_flags(flags, &f) < 0)
		return ns_reply(msg, 500, "Server Internal Error", NULL);
	if(parse_headers(msg, HDR_EOH_F, 0) < 0 || !msg->callid
			|| parse_from_header(msg) < 0 || parse_to_header(msg) < 0
			|| get_from(msg)->tag_value.len <= 0)
		return ns_reply(msg, 400, "Bad Request", NULL);
	callid = msg->callid->body;
	trim(&callid);
	tag = get_from(msg)->tag_value;
	in_dialog = get_to(msg)->tag_value.len > 0;

	/* the identity the policy was evaluated on, never the From alone
	 * when watcher_auth decided another */
	if(!_ns_use_policy || _ns_wa.identity(msg, &ident) < 0)
		ident = get_from(msg)->uri;
	presentity = in_dialog ? get_to(msg)->uri : *GET_RURI(msg);
	ilen = ns_canon(&ident, ibuf, sizeof(ibuf));
	plen = ns_canon(&presentity, pbuf, sizeof(pbuf));
	if(ilen < 0 || plen < 0)
		return ns_reply(msg, 400, "Bad Request - Unusable Identity", NULL);
	ident.s = ibuf;
	ident.len = ilen;
	presentity.s = pbuf;
	presentity.len = plen;

	demanded = f.encrypt;
	if(!demanded) {
		rc = ns_policy_demands(&presentity, &ident);
		if(rc < 0) {
			LM_ERR("policy of %s unreadable for %s: refused\n", pbuf, ibuf);
			return ns_reply(msg, 500, "Server Internal Error", NULL);
		}
		demanded = rc;
	}

	k = ns_keys();
	if(!k)
		return ns_reply(msg, 500, "Server Internal Error", NULL);
	/* 1. the SUBSCRIBE itself */
	rc = ns_unprotect_msg(msg, &u);
	if(rc == NS_RC_REPLIED)
		return rc;
	if(rc == NS_UNPROTECT_OK) {
		if(u.certs)
			x = ns_pick(k, u.certs, ibuf, ilen, "SUBSCRIBE's certs-only");
		if(!x && u.signer
				&& ns_cert_ok(k, NULL, u.signer, NULL, ibuf, ilen,
						"SUBSCRIBE signer's")) {
			x = u.signer;
			X509_up_ref(x);
		}
		if(u.was_encrypted)
			update_stat(_ns_st_decrypted, 1);
		source = "subscribe";
	}
	ns_unprotect_out_free(&u);

	expires = ns_expires(msg);
	if(!x && in_dialog) {
		rc = ns_store_lookup(&callid, &tag, &old);
		if(rc == NS_STORE_ERR)
			return ns_reply(msg, 500, "Server Internal Error", NULL);
		if(rc == NS_STORE_OK) {
			/* the bound certificate stays; its binding lives as long as
			 * the subscription */
			if(ns_store_touch(
					   &callid, &tag, time(NULL) + expires + NS_BINDING_GRACE)
					< 0) {
				ns_binding_free(&old);
				return ns_reply(msg, 500, "Server Internal Error", NULL);
			}
			ns_binding_free(&old);
			return NS_RC_BOUND;
		}
	}
	/* an un-SUBSCRIBE ends the subscription: never refused for want of a
	 * certificate (its final NOTIFY goes without body if it has one); a
	 * fetch is served as a subscription, its certificate bound to its one
	 * NOTIFY */
	fetch = expires == 0 && !in_dialog;
	if(!x && expires == 0 && !fetch)
		return NS_RC_NOT_NEEDED;
	/* 2., 3. the operator's store, the credential server: only when
	 * encryption is demanded */
	if(!x && demanded)
		x = ns_lookup_cert(k, ibuf, ilen, &source);
	if(!x) {
		if(!demanded)
			return NS_RC_NOT_NEEDED;
		update_stat(_ns_st_refused_no_cert, 1);
		LM_NOTICE("SUBSCRIBE of %s to %s refused: encryption demanded and no"
				  " usable certificate\n",
				ibuf, pbuf);
		return ns_reply(msg, 403, "Forbidden",
				"S/MIME certificate required: presence for this watcher is"
				" only sent encrypted");
	}
	memset(&b, 0, sizeof(b));
	b.pres_uri = presentity;
	b.watcher = ident;
	b.demanded = demanded;
	b.expires = time(NULL) + expires + NS_BINDING_GRACE;
	strncpy(b.source, source ? source : "subscribe", NS_SOURCE_MAX - 1);
	rc = ns_cert_to_pem(x, pem, sizeof(pem));
	if(rc <= 0 || ns_cert_fingerprint(x, b.fp, sizeof(b.fp)) != NS_CERT_OK) {
		X509_free(x);
		return ns_reply(msg, 500, "Server Internal Error", NULL);
	}
	b.pem.s = pem;
	b.pem.len = rc;
	rc = fetch ? ns_fetch_bind(&callid, &tag, &b, x)
			   : ns_store_bind(&callid, &tag, &b);
	X509_free(x);
	if(rc < 0)
		return ns_reply(msg, 500, "Server Internal Error", NULL);
	update_stat(_ns_st_bound, 1);
	LM_INFO("%s's certificate %.16s... (%s) bound to the %s to %s\n", ibuf,
			b.fp, b.source, fetch ? "fetch" : "subscription", pbuf);
	return NS_RC_BOUND;
}

static int ki_ns_subscribe_flags(sip_msg_t *msg, str *flags)
{
	int rc;

	NS_OSSL_LOCK();
	rc = ns_subscribe(msg, flags);
	NS_OSSL_UNLOCK();
	return rc;
}

static int ki_ns_subscribe(sip_msg_t *msg)
{
	return ki_ns_subscribe_flags(msg, NULL);
}

/* ---- NOTIFY ---------------------------------------------------------- */

/* $subs(name) of the NOTIFY presence is sending, or an empty string */
static void ns_subs(sip_msg_t *msg, const char *name, str *out)
{
	char buf[40];
	str pvn;
	pv_spec_t *sp;
	pv_value_t v;

	out->s = NULL;
	out->len = 0;
	pvn.len = snprintf(buf, sizeof(buf), "$subs(%s)", name);
	pvn.s = buf;
	sp = pv_cache_get(&pvn);
	if(!sp || pv_get_spec_value(msg, sp, &v) != 0 || !(v.flags & PV_VAL_STR)
			|| (v.flags & PV_VAL_NULL))
		return;
	*out = v.rs;
}

static int ns_terminated(sip_msg_t *msg)
{
	hdr_field_t *h;
	str v;

	for(h = msg->headers; h; h = h->next) {
		if(h->name.len == 18
				&& strncasecmp(h->name.s, "Subscription-State", 18) == 0) {
			v = h->body;
			trim(&v);
			return v.len >= 10 && strncasecmp(v.s, "terminated", 10) == 0;
		}
	}
	return 0;
}

static int ns_withhold(sip_msg_t *msg, const char *who, const char *why)
{
	update_stat(_ns_st_withheld, 1);
	LM_NOTICE("NOTIFY to %s sent without its body: %s\n", who, why);
	if(ns_msg_set_body(msg, NULL, NULL, NULL, 0) < 0) {
		LM_ERR("cannot remove the NOTIFY body (-1: the script drops it)\n");
		return NS_RC_ERROR;
	}
	return NS_RC_WITHHELD;
}

static int ns_notify(sip_msg_t *msg, str *flags)
{
	ns_flags_t f;
	ns_binding_t b;
	ns_protect_in_t in;
	ns_protect_out_t out;
	ns_keys_t *k;
	str callid, tag, body, ctype, wu, wd, pres, ident;
	char ibuf[NS_IDENT_MAX], pbuf[NS_IDENT_MAX], tmp[NS_IDENT_MAX];
	char err[NS_CMS_ERR_LEN];
	X509 *x = NULL, *fx = NULL;
	int have_b = 0, demanded, rc, ret, n;

	if(msg->first_line.type != SIP_REQUEST
			|| msg->first_line.u.request.method_value != METHOD_NOTIFY)
		return NS_RC_NOT_REQUEST;
	if(ns_parse_flags(flags, &f) < 0)
		f.encrypt = 1, f.sign = 0; /* fail closed */
	if(parse_headers(msg, HDR_EOH_F, 0) < 0 || !msg->callid
			|| parse_to_header(msg) < 0 || get_to(msg)->tag_value.len <= 0) {
		LM_ERR("NOTIFY without Call-ID or To tag\n");
		return ns_withhold(msg, "?", "unparsable NOTIFY");
	}
	callid = msg->callid->body;
	trim(&callid);
	tag = get_to(msg)->tag_value;
	if(ns_msg_body(msg, &body, &ctype) < 0)
		return ns_withhold(msg, "?", "malformed body");

	/* a fetch's binding (this process's), else the subscription's */
	rc = ns_fetch_lookup(&callid, &tag, &b, &fx);
	if(rc == NS_STORE_NONE)
		rc = ns_store_lookup(&callid, &tag, &b);
	have_b = rc == NS_STORE_OK;
	/* who and whose: what the binding says (the identity the policy was
	 * evaluated on at SUBSCRIBE), else the subscription presence is
	 * notifying ($subs) */
	wu.len = wd.len = pres.len = 0;
	wu.s = wd.s = pres.s = NULL;
	if(!have_b || b.watcher.len >= (int)sizeof(ibuf)
			|| b.pres_uri.len >= (int)sizeof(pbuf)) {
		ns_subs(msg, "watcher_username", &wu);
		ns_subs(msg, "watcher_domain", &wd);
		ns_subs(msg, "pres_uri", &pres);
	}
	n = -1;
	if(wu.len > 0 && wd.len > 0) {
		n = snprintf(
				tmp, sizeof(tmp), "sip:%.*s@%.*s", wu.len, wu.s, wd.len, wd.s);
		if(n > 0 && n < (int)sizeof(tmp)) {
			ident.s = tmp;
			ident.len = n;
			n = ns_canon(&ident, ibuf, sizeof(ibuf));
		} else {
			n = -1;
		}
	} else if(have_b && b.watcher.len < (int)sizeof(ibuf)) {
		memcpy(ibuf, b.watcher.s, b.watcher.len);
		ibuf[b.watcher.len] = '\0';
		n = b.watcher.len;
	}
	ident.s = ibuf;
	ident.len = n;
	if(pres.len > 0) {
		n = ns_canon(&pres, pbuf, sizeof(pbuf));
	} else if(have_b && b.pres_uri.len < (int)sizeof(pbuf)) {
		memcpy(pbuf, b.pres_uri.s, b.pres_uri.len);
		pbuf[b.pres_uri.len] = '\0';
		n = b.pres_uri.len;
	} else {
		n = -1;
	}
	pres.s = pbuf;
	pres.len = n;

	if(rc == NS_STORE_ERR) {
		/* the store is unreachable: nothing is known, nothing leaves */
		ret = body.len > 0 ? ns_withhold(msg, ident.len > 0 ? ibuf : "?",
					  "binding store unreachable")
						   : NS_RC_CLEAR;
		goto done;
	}
	if(body.len == 0) {
		ret = NS_RC_CLEAR;
		goto done;
	}
	demanded = f.encrypt || (have_b && b.demanded);
	if(!demanded) {
		if(ident.len <= 0 || pres.len <= 0) {
			demanded = _ns_use_policy; /* policy unknowable: closed */
		} else {
			rc = ns_policy_demands(&pres, &ident);
			demanded = rc != 0; /* -1: unreadable policy, closed */
		}
	}
	k = ns_keys();
	if(fx)
		x = fx;
	else if(have_b && k)
		x = ns_bound_cert(k, &b, &callid, &tag);
	if(!x && (demanded || have_b)) {
		ret = ns_withhold(msg, ident.len > 0 ? ibuf : "?",
				have_b ? "its bound certificate is no longer usable"
					   : "encryption demanded and no certificate bound");
		goto done;
	}
	if(!x && !f.sign) {
		ret = NS_RC_CLEAR;
		goto done;
	}
	memset(&in, 0, sizeof(in));
	in.ctype = ctype.s;
	in.ctype_len = ctype.len;
	in.body = body.s;
	in.body_len = body.len;
	in.rcpt = x;
	in.opts = &_ns_opts;
	if(f.sign && k) {
		in.sign_cert = k->cert;
		in.sign_key = k->key;
		in.sign_chain = k->chain;
	}
	rc = ns_protect(&in, &out, err, sizeof(err));
	if(rc != NS_CMS_OK) {
		LM_ERR("cannot protect the NOTIFY to %s: %s (%s)\n",
				ident.len > 0 ? ibuf : "?", ns_cms_strerror(rc), err);
		ret = x ? ns_withhold(
					  msg, ident.len > 0 ? ibuf : "?", "encryption failed")
				: NS_RC_CLEAR;
		goto done;
	}
	if(ns_msg_set_body(msg, out.ctype, out.disposition, out.body, out.len)
			< 0) {
		ns_protect_out_free(&out);
		LM_ERR("cannot replace the NOTIFY body\n");
		ret = NS_RC_ERROR;
		goto done;
	}
	if(out.encrypted)
		update_stat(_ns_st_encrypted, 1);
	if(out.signed_)
		update_stat(_ns_st_signed, 1);
	LM_DBG("NOTIFY to %s %s%s\n", ibuf, out.signed_ ? "signed " : "",
			out.encrypted ? "encrypted" : "");
	ns_protect_out_free(&out);
	ret = NS_RC_PROTECTED;
done:
	if(fx)
		ns_fetch_clear(); /* a fetch has one NOTIFY */
	else if(have_b && ns_terminated(msg))
		ns_store_unbind(&callid, &tag);
	if(have_b)
		ns_binding_free(&b);
	return ret;
}

static int ki_ns_notify_flags(sip_msg_t *msg, str *flags)
{
	int rc;

	NS_OSSL_LOCK();
	rc = ns_notify(msg, flags);
	NS_OSSL_UNLOCK();
	return rc;
}

static int ki_ns_notify(sip_msg_t *msg)
{
	return ki_ns_notify_flags(msg, NULL);
}

/* ---- PUBLISH and other requests to the server ------------------------ */

static int ns_decrypt(sip_msg_t *msg)
{
	ns_unprotect_out_t u;
	int rc;

	if(msg->first_line.type != SIP_REQUEST)
		return NS_RC_NOT_REQUEST;
	rc = ns_unprotect_msg(msg, &u);
	if(rc == NS_RC_REPLIED)
		return rc;
	if(rc != NS_UNPROTECT_OK)
		return NS_RC_PLAIN;
	if(u.len == 0) {
		/* certs-only: nothing for presence to read */
		ns_unprotect_out_free(&u);
		return ns_reply(msg, 415, "Unsupported Media Type", NULL);
	}
	if(ns_msg_set_body(msg, u.ctype, NULL, u.body, u.len) < 0
			|| sip_msg_apply_changes(msg) < 0) {
		OPENSSL_cleanse(u.body, u.len);
		ns_unprotect_out_free(&u);
		LM_ERR("cannot replace the decrypted body\n");
		return ns_reply(msg, 500, "Server Internal Error", NULL);
	}
	if(u.was_encrypted)
		update_stat(_ns_st_decrypted, 1);
	ns_unprotect_out_free(&u);
	return NS_RC_DECRYPTED;
}

static int ki_ns_decrypt(sip_msg_t *msg)
{
	int rc;

	NS_OSSL_LOCK();
	rc = ns_decrypt(msg);
	NS_OSSL_UNLOCK();
	return rc;
}

/* ---- cfg wrappers ---------------------------------------------------- */

static int ns_cfg_rc(int rc)
{
	return rc == NS_RC_REPLIED ? 0 : rc;
}

static int w_ns_subscribe(sip_msg_t *msg, char *flags, char *p2)
{
	str f = STR_NULL;

	if(flags && fixup_get_svalue(msg, (gparam_t *)flags, &f) < 0) {
		LM_ERR("cannot get the flags\n");
		return -1;
	}
	return ns_cfg_rc(ki_ns_subscribe_flags(msg, flags ? &f : NULL));
}

static int w_ns_notify(sip_msg_t *msg, char *flags, char *p2)
{
	str f = STR_NULL;

	if(flags && fixup_get_svalue(msg, (gparam_t *)flags, &f) < 0) {
		LM_ERR("cannot get the flags: encryption is demanded\n");
		f.s = "e";
		f.len = 1;
	}
	/* never 0: that would drop the NOTIFY, whose transaction exists */
	return ki_ns_notify_flags(msg, (flags || f.s) ? &f : NULL);
}

static int w_ns_decrypt(sip_msg_t *msg, char *p1, char *p2)
{
	return ns_cfg_rc(ki_ns_decrypt(msg));
}

/* ---- RPC ------------------------------------------------------------- */

static void ns_rpc_reload(rpc_t *rpc, void *ctx)
{
	ns_keys_t k;
	char err[NS_CMS_ERR_LEN];
	int rc;

	NS_OSSL_LOCK();
	rc = ns_keys_load(&k, err, sizeof(err));
	if(rc == 0 && ns_warm_up(&k, err, sizeof(err)) < 0)
		rc = -1;
	NS_OSSL_UNLOCK();
	if(rc < 0) {
		LM_ERR("notify_smime.reload refused, the loaded keys stay: %s\n", err);
		rpc->fault(ctx, 500, "%s", err);
		return;
	}
	rpc->rpl_printf(ctx,
			"reloaded: %d CA certificate(s), server certificate"
			" %s",
			k.ncas, k.cert ? "loaded" : "none");
	NS_OSSL_LOCK();
	ns_keys_free(&k);
	NS_OSSL_UNLOCK();
	(*_ns_gen)++;
}

typedef struct ns_rpc_ctx
{
	rpc_t *rpc;
	void *ctx;
} ns_rpc_ctx_t;

static void ns_rpc_cert_row(void *p, str *callid, str *tag, ns_binding_t *b)
{
	ns_rpc_ctx_t *c = p;
	X509 *x = NULL;
	char desc[1024];
	void *th;

	NS_OSSL_LOCK();
	if(ns_cert_from_pem(b->pem.s, b->pem.len, &x) != NS_CERT_OK
			|| ns_cert_describe(x, desc, sizeof(desc)) < 0)
		snprintf(desc, sizeof(desc), "(unreadable certificate)");
	X509_free(x);
	NS_OSSL_UNLOCK();
	if(c->rpc->add(c->ctx, "{", &th) < 0)
		return;
	c->rpc->struct_add(th, "SSSssdds", "callid", callid, "presentity",
			&b->pres_uri, "watcher", &b->watcher, "source", b->source, "sha256",
			b->fp, "demanded", b->demanded, "expires", (int)b->expires,
			"certificate", desc);
}

static void ns_rpc_cert(rpc_t *rpc, void *ctx)
{
	str aor = STR_NULL;
	char buf[NS_IDENT_MAX];
	ns_rpc_ctx_t c = {rpc, ctx};
	int n;

	if(rpc->scan(ctx, "S", &aor) < 1) {
		rpc->fault(ctx, 400, "watcher AOR expected");
		return;
	}
	n = ns_canon(&aor, buf, sizeof(buf));
	if(n < 0) {
		rpc->fault(ctx, 400, "invalid SIP URI");
		return;
	}
	aor.s = buf;
	aor.len = n;
	if(ns_store_watcher_bindings(&aor, 100, ns_rpc_cert_row, &c) < 0)
		rpc->fault(ctx, 500, "binding store unreachable");
}

/* ---- KEMI ------------------------------------------------------------ */

/* clang-format off */
static sr_kemi_t sr_kemi_notify_smime_exports[] = {
	{ str_init("notify_smime"), str_init("subscribe"),
		SR_KEMIP_INT, ki_ns_subscribe,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("notify_smime"), str_init("subscribe_flags"),
		SR_KEMIP_INT, ki_ns_subscribe_flags,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("notify_smime"), str_init("notify"),
		SR_KEMIP_INT, ki_ns_notify,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("notify_smime"), str_init("notify_flags"),
		SR_KEMIP_INT, ki_ns_notify_flags,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("notify_smime"), str_init("decrypt"),
		SR_KEMIP_INT, ki_ns_decrypt,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_notify_smime_exports);
	return 0;
}
