/*
 * watcher_auth module: digest authentication of the watchers of a
 * presentity, as the presentity's Subscription Authorization Policy (its
 * pres-rules, with the ps:authenticate action) demands (3GPP TS 33.141).
 *
 * Nonces, their expiry and replay protection come from Kamailio's auth
 * module (pre_auth, build_challenge, post_auth). The digest itself is
 * checked here (digest.c): MD5 and SHA-256, compared in constant time,
 * because auth checks one global algorithm with a plain memcmp.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/ut.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/pvar.h"
#include "core/usr_avp.h"
#include "core/data_lump_rpl.h"
#include "core/counters.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/kemi.h"
#include "core/mem/pkg.h"
#include "core/mem/shm_mem.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_uri.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "core/parser/parse_ppi_pai.h"
#include "core/parser/hf.h"
#include "core/parser/digest/digest.h"
#include "modules/auth/api.h"
#include "modules/sl/sl.h"

#include "digest.h"
#include "policy.h"
#include "wa_cache.h"
#include "wa_store.h"
#include "xcap_fetch.h"
#include "kossl.h"
#include "kreply.h"
#include "api.h"

MODULE_VERSION

/* Return codes of watcher_auth_check (KEMI); the cfg wrapper turns every
 * "replied" code into 0, which ends the script. */
#define WA_RC_AUTHENTICATED 1	 /* digest proved the watcher's identity */
#define WA_RC_NOT_REQUIRED 2	 /* the policy demands no authentication */
#define WA_RC_CHALLENGED (-1)	 /* replied 401 */
#define WA_RC_REFUSED (-2)		 /* replied 403 */
#define WA_RC_ERROR (-3)		 /* replied 500 (policy or store error) */
#define WA_RC_BAD_REQUEST (-4)	 /* replied 400 */
#define WA_RC_NOT_SUBSCRIBE (-5) /* nothing sent: not a SUBSCRIBE */

#define WA_REALM_MAX 256
#define WA_SECRET_MAX 256

/* modparams */
static str _wa_db_url = str_init(DEFAULT_DB_URL);
static str _wa_xcap_table = str_init("xcap");
static str _wa_realm = STR_NULL;
static str _wa_challenge_avp = str_init("$avp(digest_challenge)");
static int _wa_offer_md5 = 1;
static int _wa_check_uri = 1;
static int _wa_cache_max_entries = 4096;
static int _wa_cache_max_kbytes = 4096;
static int _wa_cache_ttl = 5;
static int _wa_max_policy_size = 65536;
static int _wa_max_policy_depth = 32;
static int _wa_max_policy_rules = 256;
static str _wa_xcap_root = STR_NULL;
static str _wa_xcap_ca_file = STR_NULL;
static int _wa_xcap_connect_timeout = 300;
static int _wa_xcap_timeout = 1000;
static int _wa_xcap_ttl = 30;
static int _wa_xcap_stale_ttl = 300;

static int _wa_xcap_retry = 2;
static int _wa_auth_retries = 0;

/* wrong answers per attempt (Call-ID + From tag), for auth_retries */
#define WA_FAIL_SLOTS 4096
#define WA_FAIL_WINDOW 300
typedef struct wa_fail
{
	unsigned int hash;
	unsigned int count;
	time_t at;
} wa_fail_t;
static wa_fail_t *_wa_fails = NULL;
static gen_lock_t *_wa_fails_lock = NULL;

static wa_xcap_client_t *_wa_xcap = NULL; /* per process */
/* shm: until when the XCAP server counts as failing, for every worker */
static time_t *_wa_xcap_retry_at = NULL;

static auth_api_s_t _wa_auth;
static sl_api_t _wa_sl;
static int_str _wa_challenge_avp_name;
static unsigned short _wa_challenge_avp_type;

/* statistics */
static stat_var *_wa_st_challenges;
static stat_var *_wa_st_authenticated;
static stat_var *_wa_st_failures;
static stat_var *_wa_st_tls_refused;
static stat_var *_wa_st_not_required;
static stat_var *_wa_st_policy_errors;
static stat_var *_wa_st_store_errors;
static stat_var *_wa_st_cache_hits;
static stat_var *_wa_st_cache_misses;
static stat_var *_wa_st_fetch_errors;

/* what the last checked message decided, for $wauth(...) and the API */
static struct
{
	unsigned int msg_id;
	int pid;
	int authenticated;
	char identity[WA_POLICY_URI_MAX];
	int identity_len;
} _wa_last;

/* One credential of a matching rule, copied out of the shared cache while
 * its lock is held. Holds secrets: wiped after use. */
typedef struct wa_cred_copy
{
	char realm[WA_REALM_MAX];
	int has_realm;
	char password[WA_SECRET_MAX];
	char ha1[WA_DIGEST_HEX_MAX + 1];
	char ha1_sha256[WA_DIGEST_HEX_MAX + 1];
	int tls;
} wa_cred_copy_t;

typedef struct wa_eval
{
	const char *watcher;
	size_t watcher_len;
	time_t now;
	wa_policy_result_t res;
	int ncreds;
	wa_cred_copy_t creds[WA_POLICY_MAX_CREDS];
} wa_eval_t;

static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);
static int w_watcher_auth_check(sip_msg_t *msg, char *flags, char *p2);
static int w_watcher_auth_invalidate(sip_msg_t *msg, char *uri, char *p2);
static int w_watcher_auth_write_begin(sip_msg_t *msg, char *uri, char *p2);
static int w_watcher_auth_write_end(sip_msg_t *msg, char *uri, char *p2);
static int pv_parse_wauth_name(pv_spec_t *sp, str *in);
static int pv_get_wauth(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
static int bind_watcher_auth(watcher_auth_api_t *api);
static void wa_rpc_show(rpc_t *rpc, void *ctx);
static void wa_rpc_reload(rpc_t *rpc, void *ctx);
static void wa_rpc_cache(rpc_t *rpc, void *ctx);

static const char *wa_rpc_show_doc[2] = {
		"Show a presentity's effective policy rules, without secrets.", 0};
static const char *wa_rpc_reload_doc[2] = {
		"Drop cached policies: one presentity's, or all.", 0};
static const char *wa_rpc_cache_doc[2] = {
		"Policy cache entries, bytes and hit/miss counters.", 0};

/* clang-format off */
static cmd_export_t cmds[] = {
	{"watcher_auth_check", (cmd_function)w_watcher_auth_check, 0, 0, 0,
		REQUEST_ROUTE},
	{"watcher_auth_check", (cmd_function)w_watcher_auth_check, 1,
		fixup_spve_null, fixup_free_spve_null, REQUEST_ROUTE},
	{"watcher_auth_invalidate", (cmd_function)w_watcher_auth_invalidate, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"watcher_auth_write_begin", (cmd_function)w_watcher_auth_write_begin, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"watcher_auth_write_end", (cmd_function)w_watcher_auth_write_end, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"bind_watcher_auth", (cmd_function)bind_watcher_auth, 0, 0, 0, 0},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"db_url", PARAM_STR, &_wa_db_url},
	{"xcap_table", PARAM_STR, &_wa_xcap_table},
	{"realm", PARAM_STR, &_wa_realm},
	{"challenge_avp", PARAM_STR, &_wa_challenge_avp},
	{"offer_md5", PARAM_INT, &_wa_offer_md5},
	{"check_uri", PARAM_INT, &_wa_check_uri},
	{"cache_max_entries", PARAM_INT, &_wa_cache_max_entries},
	{"cache_max_kbytes", PARAM_INT, &_wa_cache_max_kbytes},
	{"cache_ttl", PARAM_INT, &_wa_cache_ttl},
	{"max_policy_size", PARAM_INT, &_wa_max_policy_size},
	{"max_policy_depth", PARAM_INT, &_wa_max_policy_depth},
	{"max_policy_rules", PARAM_INT, &_wa_max_policy_rules},
	{"xcap_root", PARAM_STR, &_wa_xcap_root},
	{"xcap_ca_file", PARAM_STR, &_wa_xcap_ca_file},
	{"xcap_connect_timeout", PARAM_INT, &_wa_xcap_connect_timeout},
	{"xcap_timeout", PARAM_INT, &_wa_xcap_timeout},
	{"xcap_ttl", PARAM_INT, &_wa_xcap_ttl},
	{"xcap_stale_ttl", PARAM_INT, &_wa_xcap_stale_ttl},
	{"xcap_retry", PARAM_INT, &_wa_xcap_retry},
	{"auth_retries", PARAM_INT, &_wa_auth_retries},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"wauth", sizeof("wauth") - 1}, PVT_OTHER, pv_get_wauth, 0,
		pv_parse_wauth_name, 0, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

static rpc_export_t rpc_cmds[] = {
	{"watcher_auth.show", wa_rpc_show, wa_rpc_show_doc, 0},
	{"watcher_auth.reload", wa_rpc_reload, wa_rpc_reload_doc, 0},
	{"watcher_auth.cache", wa_rpc_cache, wa_rpc_cache_doc, 0},
	{0, 0, 0, 0}
};

static stat_export_t mod_stats[] = {
	{"challenges", 0, &_wa_st_challenges},
	{"authenticated", 0, &_wa_st_authenticated},
	{"auth_failures", 0, &_wa_st_failures},
	{"tls_refused", 0, &_wa_st_tls_refused},
	{"not_required", 0, &_wa_st_not_required},
	{"policy_errors", 0, &_wa_st_policy_errors},
	{"store_errors", 0, &_wa_st_store_errors},
	{"cache_hits", 0, &_wa_st_cache_hits},
	{"cache_misses", 0, &_wa_st_cache_misses},
	{"fetch_errors", 0, &_wa_st_fetch_errors},
	{0, 0, 0}
};

struct module_exports exports = {
	"watcher_auth",  /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,            /* cmd (cfg function) exports */
	params,          /* param exports */
	0,               /* RPC method exports: registered in mod_init */
	mod_pvs,         /* pseudo-variables exports */
	0,               /* response handling function */
	mod_init,        /* module init function */
	child_init,      /* per-child init function */
	mod_destroy      /* module destroy function */
};
/* clang-format on */

static int mod_init(void)
{
	pv_spec_t avp_spec;

	if(_wa_cache_max_entries < 0 || _wa_cache_max_kbytes < 0) {
		LM_ERR("modparams cache_max_entries and cache_max_kbytes must not be"
			   " negative\n");
		return -1;
	}
	if(_wa_cache_ttl < 0) {
		LM_ERR("modparam cache_ttl must not be negative\n");
		return -1;
	}
	if(_wa_max_policy_size <= 0
			|| _wa_max_policy_size > WA_POLICY_MAX_SIZE_CAP) {
		LM_ERR("modparam max_policy_size must be 1..%d\n",
				WA_POLICY_MAX_SIZE_CAP);
		return -1;
	}
	if(_wa_max_policy_depth <= 0 || _wa_max_policy_rules <= 0) {
		LM_ERR("modparams max_policy_depth and max_policy_rules must be"
			   " positive\n");
		return -1;
	}
	if(_wa_auth_retries < 0 || _wa_auth_retries > 10) {
		LM_ERR("modparam auth_retries must be 0..10\n");
		return -1;
	}
	if(_wa_auth_retries > 0) {
		_wa_fails = shm_malloc(sizeof(wa_fail_t) * WA_FAIL_SLOTS);
		_wa_fails_lock = lock_alloc();
		if(!_wa_fails || !_wa_fails_lock) {
			SHM_MEM_ERROR;
			return -1;
		}
		memset(_wa_fails, 0, sizeof(wa_fail_t) * WA_FAIL_SLOTS);
		lock_init(_wa_fails_lock);
	}
	if(_wa_realm.len >= WA_REALM_MAX) {
		LM_ERR("modparam realm is longer than %d\n", WA_REALM_MAX - 1);
		return -1;
	}
	if(pv_parse_spec(&_wa_challenge_avp, &avp_spec) == 0
			|| avp_spec.type != PVT_AVP
			|| pv_get_avp_name(0, &avp_spec.pvp, &_wa_challenge_avp_name,
					   &_wa_challenge_avp_type)
					   != 0) {
		LM_ERR("modparam challenge_avp: '%.*s' is not an AVP\n",
				_wa_challenge_avp.len, _wa_challenge_avp.s);
		return -1;
	}
	if(auth_load_api(&_wa_auth) < 0) {
		LM_ERR("the auth module is needed for nonces\n");
		return -1;
	}
	if(sl_load_api(&_wa_sl) < 0) {
		LM_ERR("the sl module is needed to send replies\n");
		return -1;
	}
	if(_wa_xcap_root.len > 0) {
		char url[1024];
		if(wa_xcap_url(_wa_xcap_root.s, _wa_xcap_root.len, "sip:u@d", 7, url,
				   sizeof(url))
				< 0) {
			LM_ERR("modparam xcap_root must be an https:// URL, not '%.*s'\n",
					_wa_xcap_root.len, _wa_xcap_root.s);
			return -1;
		}
		if(_wa_xcap_ca_file.len <= 0) {
			LM_ERR("modparam xcap_ca_file is required with xcap_root\n");
			return -1;
		}
		if(_wa_xcap_connect_timeout <= 0 || _wa_xcap_timeout <= 0
				|| _wa_xcap_connect_timeout > _wa_xcap_timeout
				|| _wa_xcap_timeout > 10000) {
			LM_ERR("modparams xcap_connect_timeout <= xcap_timeout, 1..10000"
				   " ms\n");
			return -1;
		}
		if(_wa_xcap_ttl < 0 || _wa_xcap_stale_ttl < _wa_xcap_ttl) {
			LM_ERR("modparams xcap_ttl >= 0 and xcap_stale_ttl >= xcap_ttl\n");
			return -1;
		}
		if(_wa_xcap_retry < 0 || _wa_xcap_retry > 3600) {
			LM_ERR("modparam xcap_retry must be 0..3600 s\n");
			return -1;
		}
		_wa_xcap_retry_at = shm_malloc(sizeof(*_wa_xcap_retry_at));
		if(!_wa_xcap_retry_at) {
			SHM_MEM_ERROR;
			return -1;
		}
		*_wa_xcap_retry_at = 0;
		if(wa_xcap_global_init() != 0) {
			LM_ERR("libcurl initialization failed\n");
			return -1;
		}
	} else if(wa_store_init(&_wa_db_url, &_wa_xcap_table) < 0) {
		return -1;
	}
	if(wa_cache_init((unsigned)_wa_cache_max_entries,
			   (size_t)_wa_cache_max_kbytes * 1024,
			   _wa_xcap_root.len > 0
					   ? _wa_xcap_stale_ttl
					   : (_wa_cache_ttl > 60 ? _wa_cache_ttl : 60))
			< 0)
		return -1;
	if(register_module_stats(exports.name, mod_stats) != 0) {
		LM_ERR("cannot register statistics\n");
		return -1;
	}
	if(rpc_register_array(rpc_cmds) != 0) {
		LM_ERR("cannot register RPC commands\n");
		return -1;
	}
	if(_wa_xcap_root.len > 0)
		LM_INFO("policies from %.*s (timeout %d ms, ttl %d s, stale %d s),"
				" cache %d entries / %d KiB, MD5 %s\n",
				_wa_xcap_root.len, _wa_xcap_root.s, _wa_xcap_timeout,
				_wa_xcap_ttl, _wa_xcap_stale_ttl, _wa_cache_max_entries,
				_wa_cache_max_kbytes,
				_wa_offer_md5 ? "offered" : "not offered");
	else
		LM_INFO("policies from table '%.*s', cache %d entries / %d KiB,"
				" version checked %s, MD5 %s\n",
				_wa_xcap_table.len, _wa_xcap_table.s, _wa_cache_max_entries,
				_wa_cache_max_kbytes,
				_wa_cache_ttl > 0 ? "after cache_ttl" : "on every SUBSCRIBE",
				_wa_offer_md5 ? "offered" : "not offered");
	return 0;
}

static int child_init(int rank)
{
	wa_xcap_cfg_t cfg;

	if(rank == PROC_INIT)
		kossl_before_fork();
	if(rank == PROC_INIT || rank == PROC_MAIN || rank == PROC_TCP_MAIN)
		return 0;
	if(_wa_xcap_root.len <= 0)
		return wa_store_child_init();
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca_file = _wa_xcap_ca_file.s;
	cfg.connect_timeout_ms = _wa_xcap_connect_timeout;
	cfg.timeout_ms = _wa_xcap_timeout;
	cfg.max_body = (size_t)_wa_max_policy_size;
	_wa_xcap = wa_xcap_client_new(&cfg);
	if(!_wa_xcap) {
		LM_ERR("cannot create the XCAP client\n");
		return -1;
	}
	return 0;
}

static void mod_destroy(void)
{
	if(_wa_xcap_root.len > 0) {
		wa_xcap_client_free(_wa_xcap);
		_wa_xcap = NULL;
		if(_wa_xcap_retry_at)
			shm_free(_wa_xcap_retry_at);
		_wa_xcap_retry_at = NULL;
	} else {
		wa_store_destroy();
	}
	wa_cache_destroy();
	if(_wa_fails_lock) {
		lock_destroy(_wa_fails_lock);
		lock_dealloc(_wa_fails_lock);
		_wa_fails_lock = NULL;
	}
	if(_wa_fails)
		shm_free(_wa_fails);
	_wa_fails = NULL;
}

/* ---- policy lookup ----------------------------------------------------- */

static void *wa_shm_alloc(size_t n)
{
	return shm_malloc(n);
}

static void wa_creds_wipe(wa_eval_t *ev)
{
	OPENSSL_cleanse(ev->creds, sizeof(ev->creds));
	ev->ncreds = 0;
}

static void wa_copy_field(char *dst, size_t size, const char *src)
{
	size_t n;

	dst[0] = '\0';
	if(!src)
		return;
	n = strlen(src);
	if(n >= size)
		return; /* cannot be a valid credential: left empty */
	memcpy(dst, src, n + 1);
}

/* Evaluate a compiled policy; called with the cache slot lock held on a hit */
static int wa_eval_visit(
		wa_doc_status_t status, int err, const wa_policy_t *pol, void *arg)
{
	wa_eval_t *ev = (wa_eval_t *)arg;
	wa_policy_cred_t c;
	unsigned i;

	if(status != WA_DOC_OK)
		return status;
	if(wa_policy_eval(
			   pol, ev->watcher, ev->watcher_len, NULL, ev->now, &ev->res)
			!= 0)
		return WA_DOC_INVALID;
	ev->ncreds = 0;
	for(i = 0; i < ev->res.ncreds && i < WA_POLICY_MAX_CREDS; i++) {
		wa_cred_copy_t *cc = &ev->creds[ev->ncreds];
		if(wa_policy_cred_get(pol, ev->res.creds[i], &c) != 0)
			continue;
		wa_copy_field(cc->realm, sizeof(cc->realm), c.realm);
		cc->has_realm = c.realm != NULL;
		wa_copy_field(cc->password, sizeof(cc->password), c.password);
		wa_copy_field(cc->ha1, sizeof(cc->ha1), c.ha1);
		wa_copy_field(cc->ha1_sha256, sizeof(cc->ha1_sha256), c.ha1_sha256);
		cc->tls = c.tls;
		ev->ncreds++;
	}
	return WA_DOC_OK;
}

/* The operator's bounds on a policy document (modparams) */
static void wa_limits(wa_policy_limits_t *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_size = (size_t)_wa_max_policy_size;
	lim->max_depth = (unsigned)_wa_max_policy_depth;
	lim->max_rules = (unsigned)_wa_max_policy_rules;
}

/* Compiles a fetched document into the cache and evaluates it */
static int wa_policy_load(str *presentity, str *doc, const char *etag,
		unsigned int gen, wa_eval_t *ev, int *err)
{
	wa_policy_limits_t lim;
	wa_policy_errinfo_t ei;
	wa_policy_t *pol = NULL;
	size_t size = 0;
	int rc, ret;

	wa_limits(&lim);
	memset(&ei, 0, sizeof(ei));
	rc = wa_policy_compile(
			doc->s, doc->len, &lim, wa_shm_alloc, &pol, &size, &ei);
	if(rc != 0) {
		*err = rc;
		LM_ERR("pres-rules of %.*s do not compile: %s (line %d):"
			   " its watchers are not authorized\n",
				presentity->len, presentity->s, wa_policy_strerror(rc),
				ei.line);
		wa_cache_put(presentity, WA_DOC_INVALID, rc, NULL, 0, etag, gen);
		return WA_DOC_INVALID;
	}
	ret = wa_eval_visit(WA_DOC_OK, 0, pol, ev);
	wa_cache_put(
			presentity, WA_DOC_OK, 0, pol, size, etag, gen); /* absorbs pol */
	return ret;
}

/* The policy from the external XCAP server: revalidated with its ETag once
 * older than xcap_ttl; while the server fails, a cached copy is used up to
 * xcap_stale_ttl old, and nothing (closed) after that. */
static int wa_policy_lookup_xcap(str *presentity, wa_eval_t *ev, int *err)
{
	char url[1024], etag[WA_XCAP_ETAG_MAX + 1];
	wa_xcap_doc_t xd;
	str doc;
	int rc, ret, have;
	unsigned int gen = wa_cache_gen(presentity);

	have = wa_cache_etag(presentity, etag, sizeof(etag));
	if(wa_xcap_url(_wa_xcap_root.s, _wa_xcap_root.len, presentity->s,
			   presentity->len, url, sizeof(url))
			< 0)
		return WA_DOC_STORE_ERR;
	memset(&xd, 0, sizeof(xd));
	if(time(NULL) < *_wa_xcap_retry_at) {
		/* the server failed a moment ago: do not hold this worker again */
		rc = WA_XCAP_E_CONNECT;
		snprintf(xd.err, sizeof(xd.err), "failed less than %d s ago",
				_wa_xcap_retry);
	} else {
		rc = wa_xcap_fetch(_wa_xcap, url, have ? etag : NULL, &xd);
		if(rc == WA_XCAP_E_CONNECT || rc == WA_XCAP_E_TIMEOUT
				|| rc == WA_XCAP_E_TLS)
			*_wa_xcap_retry_at = time(NULL) + _wa_xcap_retry;
	}
	switch(rc) {
		case WA_XCAP_OK:
			doc.s = xd.body;
			doc.len = (int)xd.len;
			ret = wa_policy_load(presentity, &doc, xd.etag, gen, ev, err);
			break;
		case WA_XCAP_NOT_MODIFIED:
			/* the server confirmed the cached copy is current */
			wa_cache_touch(presentity, gen);
			if(!wa_cache_visit(presentity, INT_MAX, wa_eval_visit, ev, &ret)) {
				LM_ERR("policy of %.*s: 304 from the XCAP server but the"
					   " cached copy is gone: not authorized this time\n",
						presentity->len, presentity->s);
				ret = WA_DOC_STORE_ERR;
			}
			break;
		case WA_XCAP_NOT_FOUND:
			wa_cache_put(presentity, WA_DOC_NONE, 0, NULL, 0, NULL, gen);
			ret = WA_DOC_NONE;
			break;
		default:
			update_stat(_wa_st_fetch_errors, 1);
			if(wa_cache_visit(presentity, _wa_xcap_stale_ttl, wa_eval_visit, ev,
					   &ret)) {
				LM_WARN("policy of %.*s from %s: %s (%s): using the cached"
						" copy\n",
						presentity->len, presentity->s, url,
						wa_xcap_strerror(rc), xd.err);
			} else {
				LM_ERR("policy of %.*s from %s: %s (%s), none cached: its"
					   " watchers are not authorized\n",
						presentity->len, presentity->s, url,
						wa_xcap_strerror(rc), xd.err);
				ret = WA_DOC_STORE_ERR;
			}
			break;
	}
	wa_xcap_doc_free(&xd);
	return ret;
}

/* The policy from the xcap table. A cached copy is used without a query
 * while it is trusted: validated less than cache_ttl seconds ago, and no
 * write of this presentity's policy through the Ut interface of this node
 * since (watcher_auth_write_begin/end around xcaps_put bump the slot's
 * generation). Otherwise the row's etag, which xcap_server changes on every
 * write, is compared with the cached copy's (one small indexed query), and
 * only a new version is fetched and compiled. Writes elsewhere (another
 * node, plain SQL) are therefore seen within cache_ttl seconds; with
 * cache_ttl 0, on the very next SUBSCRIBE. */
static int wa_policy_lookup_db(
		str *presentity, str *user, str *domain, wa_eval_t *ev, int *err)
{
	char etag[WA_STORE_ETAG_MAX + 1], cached[WA_STORE_ETAG_MAX + 1];
	str doc = STR_NULL;
	int ret, rc;
	unsigned int gen = wa_cache_gen(presentity); /* before reading the DB */

	if(_wa_cache_ttl > 0
			&& wa_cache_visit_trusted(
					presentity, _wa_cache_ttl, wa_eval_visit, ev, &ret)) {
		update_stat(_wa_st_cache_hits, 1);
		return ret;
	}
	rc = wa_store_etag(user, domain, etag, sizeof(etag));
	if(rc == WA_STORE_ERROR)
		return WA_DOC_STORE_ERR;
	if(rc == WA_STORE_NONE)
		return WA_DOC_NONE;
	if(etag[0] && wa_cache_etag(presentity, cached, sizeof(cached))
			&& strcmp(etag, cached) == 0) {
		wa_cache_touch(presentity, gen);
		if(wa_cache_visit(presentity, INT_MAX, wa_eval_visit, ev, &ret)) {
			update_stat(_wa_st_cache_hits, 1);
			return ret;
		}
	}
	update_stat(_wa_st_cache_misses, 1);
	rc = wa_store_fetch(user, domain, &doc, etag, sizeof(etag));
	if(rc == WA_STORE_ERROR)
		return WA_DOC_STORE_ERR;
	if(rc == WA_STORE_NONE)
		return WA_DOC_NONE;
	ret = wa_policy_load(presentity, &doc, etag[0] ? etag : NULL, gen, ev, err);
	pkg_free(doc.s);
	return ret;
}

/* Finds and evaluates the policy of presentity (sip:user@domain): returns a
 * wa_doc_status_t; *err gets the compile error of an invalid document. */
static int wa_policy_lookup(
		str *presentity, str *user, str *domain, wa_eval_t *ev, int *err)
{
	int ret, ttl;

	*err = 0;
	if(_wa_xcap_root.len <= 0)
		return wa_policy_lookup_db(presentity, user, domain, ev, err);
	ttl = _wa_xcap_ttl;
	if(ttl > 0 && wa_cache_visit(presentity, ttl, wa_eval_visit, ev, &ret)) {
		update_stat(_wa_st_cache_hits, 1);
		return ret;
	}
	update_stat(_wa_st_cache_misses, 1);
	return wa_policy_lookup_xcap(presentity, ev, err);
}

/* ---- request helpers ----------------------------------------------------- */

/* The canonical AOR of a presentity URI, the key of its cache entry and
 * of its policy: "sip:" user "@" host, the host lowercased (user parts are
 * case-sensitive, host names are not). */
static int wa_aor(
		str *uri, char *buf, size_t size, str *aor, str *user, str *domain)
{
	struct sip_uri puri;
	int n, i;

	if(parse_uri(uri->s, uri->len, &puri) < 0 || puri.user.len <= 0
			|| puri.host.len <= 0) {
		LM_DBG("presentity URI '%.*s' unusable\n", uri->len, uri->s);
		return -1;
	}
	n = snprintf(buf, size, "sip:%.*s@%.*s", puri.user.len, puri.user.s,
			puri.host.len, puri.host.s);
	if(n <= 0 || (size_t)n >= size)
		return -1;
	aor->s = buf;
	aor->len = n;
	user->s = buf + 4;
	user->len = puri.user.len;
	domain->s = buf + 4 + puri.user.len + 1;
	domain->len = puri.host.len;
	for(i = 0; i < domain->len; i++)
		domain->s[i] = (char)tolower((unsigned char)domain->s[i]);
	return 0;
}

/* The presentity: the Request-URI of an initial SUBSCRIBE, the To URI
 * within a dialog. */
static int wa_presentity(sip_msg_t *msg, char *buf, size_t size, str *aor,
		str *user, str *domain)
{
	str uri;

	if(get_to(msg)->tag_value.len > 0) {
		uri = get_to(msg)->uri;
	} else {
		uri = *GET_RURI(msg);
	}
	return wa_aor(&uri, buf, size, aor, user, domain);
}

/* The identity the policy is evaluated on: a P-Asserted-Identity when the
 * script says the previous hop is trusted, the From URI otherwise. A
 * trusted hop's P-Asserted-Identity without a sip/sips URI (a tel URI
 * alone, a value that is no URI) is that identity all the same (refused
 * later as not a SIP URI): never the From URI, which the watcher wrote. */
static int wa_watcher(sip_msg_t *msg, int trust_pai, str *uri, int *from_pai)
{
	p_id_body_t *pai;
	to_body_t *id, *first = NULL;

	*from_pai = 0;
	if(trust_pai && msg->pai == NULL)
		parse_headers(msg, HDR_PAI_F, 0);
	if(trust_pai && msg->pai) {
		if(parse_pai_header(msg) < 0) {
			LM_DBG("unparsable P-Asserted-Identity\n");
			return -1;
		}
		for(pai = get_pai(msg); pai; pai = pai->next) {
			int k;
			for(k = 0; k < pai->num_ids; k++) {
				id = &pai->id[k];
				if(first == NULL)
					first = id;
				if(id->uri.len > 4
						&& (strncasecmp(id->uri.s, "sip:", 4) == 0
								|| strncasecmp(id->uri.s, "sips:", 5) == 0)) {
					*uri = id->uri;
					*from_pai = 1;
					return 0;
				}
			}
		}
		if(first == NULL || first->uri.len <= 0) {
			LM_DBG("P-Asserted-Identity without a URI\n");
			return -1;
		}
		*uri = first->uri;
		*from_pai = 1;
		return 0;
	}
	if(parse_from_header(msg) < 0)
		return -1;
	*uri = get_from(msg)->uri;
	return 0;
}

static int wa_reply(sip_msg_t *msg, int code, char *reason, const char *warning)
{
	return kreply(&_wa_sl, msg, code, reason, warning);
}

static wa_digest_str_t wa_dstr_of(str *s)
{
	wa_digest_str_t d = {s->s, (size_t)s->len, 0};
	return d;
}

static void wa_dstr_set(wa_digest_str_t *d, const char *s)
{
	size_t n = strlen(s);

	d->s = n ? s : NULL; /* empty: the credential does not hold it */
	d->len = n;
	d->esc = 0;
}

/* The digest view of a copied credential (slices into it) */
static void wa_secret_of(const wa_cred_copy_t *c, wa_digest_secret_t *sec)
{
	memset(sec, 0, sizeof(*sec));
	wa_dstr_set(&sec->password, c->password);
	wa_dstr_set(&sec->ha1, c->ha1);
	wa_dstr_set(&sec->ha1_sha256, c->ha1_sha256);
}

/* A credential without a realm of its own serves the challenge's realm */
static int wa_cred_in_realm(const wa_cred_copy_t *c, str *realm)
{
	return !c->has_realm
		   || (strlen(c->realm) == (size_t)realm->len
				   && memcmp(c->realm, realm->s, realm->len) == 0);
}

/* Which digest algorithms the credentials usable under realm can verify */
static unsigned wa_realm_algs(wa_eval_t *ev, str *realm)
{
	wa_digest_secret_t sec;
	unsigned algs = 0;
	int i;

	for(i = 0; i < ev->ncreds; i++) {
		wa_cred_copy_t *c = &ev->creds[i];
		if(!wa_cred_in_realm(c, realm))
			continue;
		wa_secret_of(c, &sec);
		algs |= wa_digest_secret_algs(&sec);
	}
	if(!_wa_offer_md5)
		algs &= ~WA_DIGEST_ALGS_MD5;
	return algs;
}

/* 401 with one WWW-Authenticate per algorithm: SHA-256 first (RFC 8760) */
static int wa_challenge(sip_msg_t *msg, str *realm, int stale, unsigned algs)
{
	static str alg_sha256 = str_init("SHA-256");
	static str alg_md5 = str_init("MD5");
	str *order[2];
	struct search_state st;
	avp_value_t val;
	avp_t *avp;
	str hfs[2];
	int n = 0, i, got = 0;

	if(algs & WA_DIGEST_ALGS_SHA256)
		order[n++] = &alg_sha256;
	if(_wa_offer_md5 && (algs & WA_DIGEST_ALGS_MD5))
		order[n++] = &alg_md5;
	if(n == 0)
		return -1; /* wa_realm_algs said there is one: cannot happen */
	destroy_avps(_wa_challenge_avp_type, _wa_challenge_avp_name, 1);
	for(i = 0; i < n; i++) {
		if(_wa_auth.build_challenge(
				   msg, stale, realm, NULL, order[i], HDR_AUTHORIZATION_T)
				< 0) {
			LM_ERR("cannot build the %.*s challenge\n", order[i]->len,
					order[i]->s);
			return -1;
		}
	}
	/* the AVP list returns the newest first: put them back in order */
	avp = search_first_avp(
			_wa_challenge_avp_type, _wa_challenge_avp_name, &val, &st);
	while(avp && got < 2) {
		hfs[got++] = val.s;
		avp = search_next_avp(&st, &val);
	}
	for(i = got - 1; i >= 0; i--) {
		if(add_lump_rpl(msg, hfs[i].s, hfs[i].len, LUMP_RPL_HDR) == 0) {
			LM_ERR("cannot add the challenge to the reply\n");
			return -1;
		}
	}
	destroy_avps(_wa_challenge_avp_type, _wa_challenge_avp_name, 1);
	if(got != n)
		return -1;
	update_stat(_wa_st_challenges, 1);
	return wa_reply(msg, 401, "Unauthorized", NULL);
}

/* A 401 with a new challenge, or a 500 when none can be built */
static int wa_rechallenge(sip_msg_t *msg, str *realm, int stale, unsigned algs)
{
	if(wa_challenge(msg, realm, stale, algs) == 0)
		return WA_RC_CHALLENGED;
	wa_reply(msg, 500, "Server Internal Error", NULL);
	return WA_RC_ERROR;
}

/* Checks the Authorization header that pre_auth found against every usable
 * credential: 0 when one verifies. */
static int wa_verify(sip_msg_t *msg, struct hdr_field *h, str *username,
		str *realm, wa_eval_t *ev, int check_uri, const char **why,
		int *mismatch)
{
	wa_digest_cred_t cred;
	wa_digest_secret_t sec;
	wa_digest_str_t method, user, rlm;
	int i, rc, best;

	rc = wa_digest_parse(h->body.s, h->body.len, &cred);
	if(rc != 0) {
		*why = wa_digest_strerror(rc);
		return -1;
	}
	if(cred.qop_type != WA_DIGEST_QOP_AUTH) {
		/* without qop there is no nonce count: replayable until expiry */
		*why = "response without qop=auth (replayable, refused)";
		return -1;
	}
	if(!_wa_offer_md5 && (WA_DIGEST_ALG_BIT(cred.alg) & WA_DIGEST_ALGS_MD5)) {
		*why = "MD5 answer while MD5 is not offered (modparam offer_md5)";
		return -1;
	}
	if(check_uri
			&& !wa_digest_str_equal(&cred.uri, msg->first_line.u.request.uri.s,
					msg->first_line.u.request.uri.len)) {
		*why = "digest uri is not the Request-URI (modparam check_uri)";
		return -1;
	}
	method = wa_dstr_of(&msg->first_line.u.request.method);
	user = wa_dstr_of(username);
	rlm = wa_dstr_of(realm);
	best = WA_DIGEST_ERR_NO_SECRET;
	for(i = 0; i < ev->ncreds; i++) {
		wa_cred_copy_t *c = &ev->creds[i];
		if(!wa_cred_in_realm(c, realm))
			continue;
		wa_secret_of(c, &sec);
		rc = wa_digest_check(&cred, &method, &user, &rlm, &sec);
		if(rc == 0)
			return 0;
		if(best == WA_DIGEST_ERR_NO_SECRET || rc == WA_DIGEST_ERR_MISMATCH)
			best = rc;
	}
	*why = wa_digest_strerror(best);
	*mismatch = best == WA_DIGEST_ERR_MISMATCH; /* a wrong password */
	return -1;
}

/* Counts a wrong answer of this attempt (same Call-ID and From tag, within
 * WA_FAIL_WINDOW s): how many so far, this one included. Two attempts that
 * share a slot reset each other's count; either still needs the password,
 * and every new attempt starts with a fresh challenge anyway. */
static unsigned int wa_fail_count(sip_msg_t *msg)
{
	str key[2];
	unsigned int h, n;
	wa_fail_t *f;
	time_t now = time(NULL);

	if(!_wa_fails || !msg->callid || parse_from_header(msg) < 0)
		return UINT_MAX;
	key[0] = msg->callid->body;
	key[1] = get_from(msg)->tag_value;
	h = core_hash(&key[0], &key[1], 0) | 1; /* 0 marks a free slot */
	f = &_wa_fails[h % WA_FAIL_SLOTS];
	lock_get(_wa_fails_lock);
	if(f->hash != h || now - f->at > WA_FAIL_WINDOW) {
		f->hash = h;
		f->count = 0;
	}
	f->at = now;
	n = ++f->count;
	lock_release(_wa_fails_lock);
	return n;
}

static void wa_set_last(sip_msg_t *msg, int authenticated, str *identity)
{
	_wa_last.msg_id = msg->id;
	_wa_last.pid = msg->pid;
	_wa_last.authenticated = authenticated;
	_wa_last.identity_len = 0;
	if(identity && identity->len > 0
			&& (size_t)identity->len < sizeof(_wa_last.identity)) {
		memcpy(_wa_last.identity, identity->s, identity->len);
		_wa_last.identity[identity->len] = '\0';
		_wa_last.identity_len = identity->len;
	}
}

/* ---- the check ----------------------------------------------------------- */

static int ki_watcher_auth_check_flags(sip_msg_t *msg, str *flags)
{
	char pbuf[WA_POLICY_URI_MAX], wbuf[WA_POLICY_URI_MAX];
	str presentity, puser, pdomain, wuri, canon, username, realm;
	struct hdr_field *h = NULL;
	auth_result_t ar;
	wa_eval_t ev;
	int trust_pai = 0, ue_tls = 0, topo_hop = 0, from_pai = 0, status, err = 0;
	int check_uri = _wa_check_uri;
	const char *why = "";
	int i, n, ret = WA_RC_ERROR, mismatch = 0;
	unsigned algs, nfail;

	for(i = 0; flags && i < flags->len; i++) {
		switch(flags->s[i]) {
			case 'p':
				trust_pai = 1;
				break;
			case 't':
				ue_tls = 1;
				break;
			case 'h':
				topo_hop = 1;
				break;
			default:
				LM_ERR("unknown flag '%c' in watcher_auth_check()\n",
						flags->s[i]);
				return WA_RC_NOT_SUBSCRIBE;
		}
	}
	if(msg->first_line.type != SIP_REQUEST
			|| msg->first_line.u.request.method_value != METHOD_SUBSCRIBE) {
		LM_ERR("watcher_auth_check() is for SUBSCRIBE requests\n");
		return WA_RC_NOT_SUBSCRIBE;
	}
	memset(&ev, 0, sizeof(ev));
	wa_set_last(msg, 0, NULL);
	/* within a dialog, a topology-hiding previous hop (topos) has replaced
	 * the Request-URI the watcher signed (its own masked Contact) with
	 * ours: the digest uri cannot be the Request-URI there */
	if(topo_hop && parse_to_header(msg) == 0 && get_to(msg)->tag_value.len > 0)
		check_uri = 0;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0 || parse_to_header(msg) < 0
			|| wa_presentity(
					   msg, pbuf, sizeof(pbuf), &presentity, &puser, &pdomain)
					   < 0) {
		wa_reply(msg, 400, "Bad Presentity URI", NULL);
		return WA_RC_BAD_REQUEST;
	}
	if(wa_watcher(msg, trust_pai, &wuri, &from_pai) < 0) {
		wa_reply(msg, 400, "Bad Watcher Identity", NULL);
		return WA_RC_BAD_REQUEST;
	}
	n = wa_policy_uri_canon(wuri.s, wuri.len, wbuf, sizeof(wbuf));
	if(n <= 4 || strncmp(wbuf, "sip:", 4) != 0) {
		LM_NOTICE("watcher identity '%.*s' of a SUBSCRIBE for %.*s from %s"
				  " is not a SIP URI\n",
				wuri.len, wuri.s, presentity.len, presentity.s,
				ip_addr2a(&msg->rcv.src_ip));
		wa_reply(msg, 403, "Forbidden", "watcher identity is not a SIP URI");
		return WA_RC_REFUSED;
	}
	canon.s = wbuf;
	canon.len = n;
	wa_set_last(msg, 0, &canon);

	ev.watcher = canon.s;
	ev.watcher_len = canon.len;
	ev.now = time(NULL);
	status = wa_policy_lookup(&presentity, &puser, &pdomain, &ev, &err);
	switch(status) {
		case WA_DOC_OK:
			break;
		case WA_DOC_NONE:
			update_stat(_wa_st_not_required, 1);
			ret = WA_RC_NOT_REQUIRED;
			goto out;
		case WA_DOC_STORE_ERR:
			update_stat(_wa_st_store_errors, 1);
			LM_ERR("policy store unreachable: SUBSCRIBE of %.*s to %.*s not"
				   " authorized\n",
					canon.len, canon.s, presentity.len, presentity.s);
			wa_reply(msg, 500, "Policy Store Unavailable", NULL);
			ret = WA_RC_ERROR;
			goto out;
		default:
			update_stat(_wa_st_policy_errors, 1);
			LM_ERR("pres-rules of %.*s unusable (%s): SUBSCRIBE of %.*s not"
				   " authorized\n",
					presentity.len, presentity.s,
					err ? wa_policy_strerror(err) : "evaluation failed",
					canon.len, canon.s);
			wa_reply(msg, 500, "Presentity Policy Error", NULL);
			ret = WA_RC_ERROR;
			goto out;
	}
	if(ev.res.auth_unknown_method || ev.res.unknown_action) {
		update_stat(_wa_st_policy_errors, 1);
		LM_ERR("pres-rules of %.*s demand %s: SUBSCRIBE of %.*s not"
			   " authorized\n",
				presentity.len, presentity.s,
				ev.res.auth_unknown_method
						? "an authentication method other than digest"
						: "an action this version does not know",
				canon.len, canon.s);
		wa_reply(msg, 500, "Presentity Policy Error", NULL);
		ret = WA_RC_ERROR;
		goto out;
	}
	if(!ev.res.authenticate) {
		update_stat(_wa_st_not_required, 1);
		ret = WA_RC_NOT_REQUIRED;
		goto out;
	}
	if(ev.res.auth_tls && !ue_tls) {
		update_stat(_wa_st_tls_refused, 1);
		LM_NOTICE("SUBSCRIBE of %.*s to %.*s from %s refused: the policy"
				  " accepts credentials over TLS only\n",
				canon.len, canon.s, presentity.len, presentity.s,
				ip_addr2a(&msg->rcv.src_ip));
		wa_reply(msg, 403, "Forbidden",
				"TLS required by the presentity's policy");
		ret = WA_RC_REFUSED;
		goto out;
	}

	/* realm: the policy's, the operator's, or the presentity's AOR */
	if(ev.ncreds > 0 && ev.creds[0].has_realm) {
		realm.s = ev.creds[0].realm;
		realm.len = strlen(ev.creds[0].realm);
	} else if(_wa_realm.len > 0) {
		realm = _wa_realm;
	} else {
		realm.s = presentity.s + 4;
		realm.len = presentity.len - 4;
	}
	username.s = canon.s + 4;
	username.len = canon.len - 4;
	algs = wa_realm_algs(&ev, &realm);
	if(algs == 0) {
		update_stat(_wa_st_policy_errors, 1);
		LM_ERR("pres-rules of %.*s demand digest but hold no credential for"
			   " realm %.*s usable with the offered algorithms (offer_md5=%d):"
			   " SUBSCRIBE of %.*s not authorized\n",
				presentity.len, presentity.s, realm.len, realm.s, _wa_offer_md5,
				canon.len, canon.s);
		wa_reply(msg, 500, "Presentity Policy Error", NULL);
		ret = WA_RC_ERROR;
		goto out;
	}

	/* malformed digest credentials are the watcher's error: the auth API's
	 * pre_auth() reports them as an internal error (ERROR), so they are
	 * found first with the core's parser, which tells them apart (-3) */
	if(find_credentials(msg, &realm, HDR_AUTHORIZATION_T, &h) == -3) {
		LM_NOTICE(
				"SUBSCRIBE of %.*s to %.*s from %s: malformed Authorization\n",
				canon.len, canon.s, presentity.len, presentity.s,
				ip_addr2a(&msg->rcv.src_ip));
		wa_reply(msg, 400, "Bad Credentials", NULL);
		ret = WA_RC_BAD_REQUEST;
		goto out;
	}
	ar = _wa_auth.pre_auth(msg, &realm, HDR_AUTHORIZATION_T, &h, NULL);
	switch(ar) {
		case DO_AUTHENTICATION:
			break;
		case NO_CREDENTIALS:
		case NOT_AUTHENTICATED:
			ret = wa_rechallenge(msg, &realm, 0, algs);
			goto out;
		case STALE_NONCE:
		case NONCE_REUSED:
			LM_DBG("%s nonce from %.*s\n",
					ar == STALE_NONCE ? "stale" : "reused", canon.len, canon.s);
			ret = wa_rechallenge(msg, &realm, 1, algs);
			goto out;
		case BAD_CREDENTIALS:
			wa_reply(msg, 400, "Bad Credentials", NULL);
			ret = WA_RC_BAD_REQUEST;
			goto out;
		default:
			LM_ERR("auth pre_auth failed (%d) for %.*s\n", ar, canon.len,
					canon.s);
			wa_reply(msg, 500, "Server Internal Error", NULL);
			ret = WA_RC_ERROR;
			goto out;
	}

	if(wa_verify(msg, h, &username, &realm, &ev, check_uri, &why, &mismatch)
			!= 0) {
		update_stat(_wa_st_failures, 1);
		nfail = (mismatch && _wa_auth_retries > 0) ? wa_fail_count(msg)
												   : UINT_MAX;
		LM_WARN("digest authentication of watcher %.*s for presentity %.*s"
				" from %s:%d failed: %s%s\n",
				canon.len, canon.s, presentity.len, presentity.s,
				ip_addr2a(&msg->rcv.src_ip), msg->rcv.src_port, why,
				nfail <= (unsigned)_wa_auth_retries ? " (challenged again)"
													: "");
		if(nfail <= (unsigned)_wa_auth_retries) {
			ret = wa_rechallenge(msg, &realm, 0, algs);
			goto out;
		}
		wa_reply(msg, 403, "Forbidden", NULL);
		ret = WA_RC_REFUSED;
		goto out;
	}
	ar = _wa_auth.post_auth(msg, h, NULL);
	if(ar != AUTHENTICATED) {
		/* post_auth found the nonce stale meanwhile */
		ret = wa_rechallenge(msg, &realm, 1, algs);
		goto out;
	}
	update_stat(_wa_st_authenticated, 1);
	LM_DBG("watcher %.*s authenticated for %.*s\n", canon.len, canon.s,
			presentity.len, presentity.s);
	wa_set_last(msg, 1, &canon);
	ret = WA_RC_AUTHENTICATED;

out:
	wa_creds_wipe(&ev);
	(void)from_pai;
	return ret;
}

static int ki_watcher_auth_check(sip_msg_t *msg)
{
	return ki_watcher_auth_check_flags(msg, NULL);
}

static int w_watcher_auth_check(sip_msg_t *msg, char *flags, char *p2)
{
	str f = STR_NULL;
	int ret;

	if(flags && fixup_get_svalue(msg, (gparam_t *)flags, &f) < 0) {
		LM_ERR("cannot get the flags\n");
		return -1;
	}
	ret = ki_watcher_auth_check_flags(msg, flags ? &f : NULL);
	if(ret > 0)
		return ret;
	if(ret == WA_RC_NOT_SUBSCRIBE)
		return -1;
	return 0; /* replied: end the script */
}

#define WA_INVALIDATE 0
#define WA_WRITE_BEGIN 1
#define WA_WRITE_END 2

static int wa_cache_op(str *uri, int op)
{
	static const char *names[] = {"watcher_auth_invalidate",
			"watcher_auth_write_begin", "watcher_auth_write_end"};
	char buf[WA_POLICY_URI_MAX];
	str aor, user, domain;

	if(wa_aor(uri, buf, sizeof(buf), &aor, &user, &domain) < 0) {
		LM_ERR("%s(): '%.*s' is not a presentity URI\n", names[op], uri->len,
				uri->s);
		return -1;
	}
	if(op == WA_WRITE_BEGIN)
		wa_cache_write_begin(&aor);
	else if(op == WA_WRITE_END)
		wa_cache_write_end(&aor);
	else
		wa_cache_invalidate(&aor);
	LM_DBG("%s(%.*s)\n", names[op], aor.len, aor.s);
	return 1;
}

static int ki_watcher_auth_invalidate(sip_msg_t *msg, str *uri)
{
	return wa_cache_op(uri, WA_INVALIDATE);
}

static int ki_watcher_auth_write_begin(sip_msg_t *msg, str *uri)
{
	return wa_cache_op(uri, WA_WRITE_BEGIN);
}

static int ki_watcher_auth_write_end(sip_msg_t *msg, str *uri)
{
	return wa_cache_op(uri, WA_WRITE_END);
}

static int w_watcher_auth_cache_op(sip_msg_t *msg, char *uri, int op)
{
	str u;

	if(fixup_get_svalue(msg, (gparam_t *)uri, &u) < 0) {
		LM_ERR("cannot get the presentity URI\n");
		return -1;
	}
	return wa_cache_op(&u, op);
}

static int w_watcher_auth_invalidate(sip_msg_t *msg, char *uri, char *p2)
{
	return w_watcher_auth_cache_op(msg, uri, WA_INVALIDATE);
}

static int w_watcher_auth_write_begin(sip_msg_t *msg, char *uri, char *p2)
{
	return w_watcher_auth_cache_op(msg, uri, WA_WRITE_BEGIN);
}

static int w_watcher_auth_write_end(sip_msg_t *msg, char *uri, char *p2)
{
	return w_watcher_auth_cache_op(msg, uri, WA_WRITE_END);
}

/* ---- $wauth(identity|authenticated) ------------------------------------- */

static int pv_parse_wauth_name(pv_spec_t *sp, str *in)
{
	if(in->len == 8 && strncmp(in->s, "identity", 8) == 0)
		sp->pvp.pvn.u.isname.name.n = 0;
	else if(in->len == 13 && strncmp(in->s, "authenticated", 13) == 0)
		sp->pvp.pvn.u.isname.name.n = 1;
	else {
		LM_ERR("unknown $wauth(%.*s): identity or authenticated\n", in->len,
				in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	return 0;
}

static int pv_get_wauth(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	str s;

	if(msg == NULL || _wa_last.msg_id != msg->id || _wa_last.pid != msg->pid)
		return pv_get_null(msg, param, res);
	if(param->pvn.u.isname.name.n == 1)
		return pv_get_sintval(msg, param, res, _wa_last.authenticated);
	if(_wa_last.identity_len <= 0)
		return pv_get_null(msg, param, res);
	s.s = _wa_last.identity;
	s.len = _wa_last.identity_len;
	return pv_get_strval(msg, param, res, &s);
}

/* ---- bind API ------------------------------------------------------------ */

static int wa_api_eval(str *presentity, str *watcher, wa_policy_result_t *res)
{
	char buf[WA_POLICY_URI_MAX];
	str aor, user, domain;
	wa_eval_t ev;
	int err, status;

	if(wa_aor(presentity, buf, sizeof(buf), &aor, &user, &domain) < 0)
		return WATCHER_AUTH_BAD_POLICY;
	memset(&ev, 0, sizeof(ev));
	ev.watcher = watcher->s;
	ev.watcher_len = watcher->len;
	ev.now = time(NULL);
	status = wa_policy_lookup(&aor, &user, &domain, &ev, &err);
	wa_creds_wipe(&ev);
	switch(status) {
		case WA_DOC_OK:
			*res = ev.res;
			return WATCHER_AUTH_POLICY;
		case WA_DOC_NONE:
			return WATCHER_AUTH_NO_POLICY;
		case WA_DOC_STORE_ERR:
			return WATCHER_AUTH_STORE_ERR;
		default:
			return WATCHER_AUTH_BAD_POLICY;
	}
}

static int wa_api_identity(sip_msg_t *msg, str *identity)
{
	if(_wa_last.msg_id != msg->id || _wa_last.pid != msg->pid)
		return -1;
	identity->s = _wa_last.identity;
	identity->len = _wa_last.identity_len;
	return _wa_last.authenticated;
}

static int bind_watcher_auth(watcher_auth_api_t *api)
{
	if(!api)
		return -1;
	api->eval = wa_api_eval;
	api->identity = wa_api_identity;
	return 0;
}

/* ---- RPC ----------------------------------------------------------------- */

/* The presentity's document from whichever source is configured, as a pkg
 * copy; WA_STORE_FOUND, WA_STORE_NONE or WA_STORE_ERROR. */
static int wa_doc_fetch(str *user, str *domain, str *doc)
{
	char aor[WA_POLICY_URI_MAX], url[1024];
	wa_xcap_doc_t xd;
	int n, rc, ret = WA_STORE_ERROR;

	if(_wa_xcap_root.len <= 0)
		return wa_store_fetch(user, domain, doc, NULL, 0);
	n = snprintf(aor, sizeof(aor), "sip:%.*s@%.*s", user->len, user->s,
			domain->len, domain->s);
	if(n <= 0 || (size_t)n >= sizeof(aor)
			|| wa_xcap_url(_wa_xcap_root.s, _wa_xcap_root.len, aor, n, url,
					   sizeof(url))
					   < 0)
		return WA_STORE_ERROR;
	memset(&xd, 0, sizeof(xd));
	rc = wa_xcap_fetch(_wa_xcap, url, NULL, &xd);
	if(rc == WA_XCAP_NOT_FOUND) {
		ret = WA_STORE_NONE;
	} else if(rc == WA_XCAP_OK) {
		doc->s = pkg_malloc(xd.len + 1);
		if(doc->s) {
			memcpy(doc->s, xd.body, xd.len);
			doc->s[xd.len] = '\0';
			doc->len = (int)xd.len;
			ret = WA_STORE_FOUND;
		}
	}
	wa_xcap_doc_free(&xd);
	return ret;
}

static void wa_rpc_show(rpc_t *rpc, void *ctx)
{
	char buf[WA_POLICY_URI_MAX];
	str aor, user, domain;
	str uri, doc = STR_NULL;
	wa_policy_limits_t lim;
	wa_policy_errinfo_t ei;
	wa_policy_t *pol = NULL;
	size_t size = 0;
	char *desc = NULL;
	int rc, len;

	if(rpc->scan(ctx, "S", &uri) < 1) {
		rpc->fault(ctx, 400, "Presentity URI expected");
		return;
	}
	if(wa_aor(&uri, buf, sizeof(buf), &aor, &user, &domain) < 0) {
		rpc->fault(ctx, 400, "Invalid presentity URI");
		return;
	}
	rc = wa_doc_fetch(&user, &domain, &doc);
	if(rc == WA_STORE_ERROR) {
		rpc->fault(ctx, 500, "Policy store unreachable");
		return;
	}
	if(rc == WA_STORE_NONE) {
		rpc->fault(ctx, 404, "No policy for this presentity");
		return;
	}
	wa_limits(&lim);
	rc = wa_policy_compile(doc.s, doc.len, &lim, NULL, &pol, &size, &ei);
	pkg_free(doc.s);
	if(rc != 0) {
		rpc->fault(ctx, 500, "Policy does not compile: %s (line %d)",
				wa_policy_strerror(rc), ei.line);
		return;
	}
	len = wa_policy_describe(pol, NULL, 0);
	desc = pkg_malloc(len + 1);
	if(!desc) {
		free(pol);
		rpc->fault(ctx, 500, "Out of memory");
		return;
	}
	wa_policy_describe(pol, desc, len + 1);
	rpc->rpl_printf(ctx, "%s", desc);
	pkg_free(desc);
	free(pol);
}

static void wa_rpc_reload(rpc_t *rpc, void *ctx)
{
	str uri = STR_NULL;
	int n;

	char buf[WA_POLICY_URI_MAX];
	str aor, user, domain;

	if(rpc->scan(ctx, "*S", &uri) < 1)
		uri.s = NULL;
	if(uri.s && wa_aor(&uri, buf, sizeof(buf), &aor, &user, &domain) < 0) {
		rpc->fault(ctx, 400, "Invalid presentity URI");
		return;
	}
	n = wa_cache_invalidate(uri.s ? &aor : NULL);
	if(_wa_xcap_retry_at)
		*_wa_xcap_retry_at = 0; /* and ask the XCAP server again at once */
	rpc->rpl_printf(ctx, "dropped %d cached policies", n);
}

static void wa_rpc_cache(rpc_t *rpc, void *ctx)
{
	unsigned entries;
	size_t bytes;
	void *th;

	wa_cache_counts(&entries, &bytes);
	if(rpc->add(ctx, "{", &th) < 0) {
		rpc->fault(ctx, 500, "Internal error creating reply");
		return;
	}
	rpc->struct_add(th, "ddddd", "entries", (int)entries, "bytes", (int)bytes,
			"max_entries", _wa_cache_max_entries, "hits",
			(int)get_stat_val(_wa_st_cache_hits), "misses",
			(int)get_stat_val(_wa_st_cache_misses));
}

/* ---- KEMI ---------------------------------------------------------------- */

/* clang-format off */
static sr_kemi_t sr_kemi_watcher_auth_exports[] = {
	{ str_init("watcher_auth"), str_init("check"),
		SR_KEMIP_INT, ki_watcher_auth_check,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("watcher_auth"), str_init("check_flags"),
		SR_KEMIP_INT, ki_watcher_auth_check_flags,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("watcher_auth"), str_init("invalidate"),
		SR_KEMIP_INT, ki_watcher_auth_invalidate,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("watcher_auth"), str_init("write_begin"),
		SR_KEMIP_INT, ki_watcher_auth_write_begin,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("watcher_auth"), str_init("write_end"),
		SR_KEMIP_INT, ki_watcher_auth_write_end,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_watcher_auth_exports);
	return 0;
}
