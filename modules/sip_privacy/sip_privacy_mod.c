/*
 * sip_privacy module: the trust domain by address and RFC 3323 / RFC 3325
 * identity privacy at a P-CSCF or edge proxy (3GPP TS 33.141, TS 24.229).
 *
 *  - sp_trusted_src(), sp_trusted_dst(): is the previous hop, is the next
 *    hop inside the trust domain (sp_trust.c: modparams "trusted",
 *    "trusted_socket", "trusted_tls"; sp_set_trusted_src() when the script
 *    vouches for the previous hop, e.g. after permissions'
 *    allow_source_address()).
 *  - sp_strip_pai(): every P-Asserted-Identity of a request from outside
 *    the trust domain is removed before anything reads it (RFC 3325 5).
 *  - sp_privacy_id(): toward an untrusted next hop, P-Asserted-Identity is
 *    withheld when the Privacy asks for "id" (or cannot be read), kept with
 *    "none", and left to modparam "absent_policy" without Privacy; a
 *    "critical" Privacy this proxy cannot satisfy gets 500 and the request
 *    is not delivered.
 *
 * The decisions are in privacy.c, identity.c and sp_net.c (no Kamailio
 * headers, unit-tested); this file reads the message and applies them.
 */
#include <string.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/ip_addr.h"
#include "core/data_lump.h"
#include "core/lump_struct.h"
#include "core/counters.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/kemi.h"
#include "core/parser/msg_parser.h"
#include "modules/sl/sl.h"

#include "privacy.h"
#include "identity.h"
#include "sp_net.h"
#include "sp_mod.h"
#include "sp_db.h"
#include "sp_assert.h"
#include "sp_trust.h"
#include "sp_service.h"
#include "sp_topo_guard.h"
#include "sp_winfo.h"
#include "kossl.h"
#include "kreply.h"

MODULE_VERSION

/* Return codes (KEMI); the cfg wrappers turn SP_RC_REFUSED into 0, which
 * ends the script. */
#define SP_RC_TRUSTED 1		 /* trusted_src / trusted_dst: inside */
#define SP_RC_UNTRUSTED (-1) /* trusted_src / trusted_dst: outside */
#define SP_RC_REMOVED 1		 /* strip_pai / privacy_id: PAI removed */
#define SP_RC_UNCHANGED 2	 /* strip_pai / privacy_id: nothing removed */
#define SP_RC_ERROR (-1)	 /* the message could not be read */
#define SP_RC_REFUSED (-2)	 /* privacy_id: 500 sent, do not deliver */

/* What sp_privacy_id() itself provides: it withholds the identity ("id").
 * "user" (anonymous From) and "header" (topology hiding) are not done by
 * this function, so a "critical" request for them is refused rather than
 * delivered without them; "session" is never provided. */
#define SP_ID_CAPS SP_PRIV_ID

static str _sp_absent_policy = str_init("keep");
static sp_id_absent_policy_t _sp_absent = SP_ID_ABSENT_KEEP;

static sl_api_t _sp_sl;

static stat_var *_sp_st_pai_removed_untrusted;
static stat_var *_sp_st_pai_removed_privacy;
static stat_var *_sp_st_critical_refused;

static int mod_init(void);
static int child_init(int rank);
static int w_sp_trusted_src(sip_msg_t *msg, char *p1, char *p2);
static int w_sp_trusted_dst(sip_msg_t *msg, char *p1, char *p2);
static int w_sp_set_trusted_src(sip_msg_t *msg, char *p1, char *p2);
static int w_sp_strip_pai(sip_msg_t *msg, char *p1, char *p2);
static int w_sp_privacy_id(sip_msg_t *msg, char *p1, char *p2);
static int w_sp_privacy_apply(sip_msg_t *msg, char *p1, char *p2);
static void mod_destroy(void);

static const char *sp_rpc_trusted_doc[2] = {
		"The trust domain, one entry per line: 'net address/prefix'"
		" (modparam trusted), 'socket proto:address:port' (trusted_socket),"
		" 'tls kind:value' (trusted_tls).",
		0};

/* clang-format off */
static cmd_export_t cmds[] = {
	{"sp_trusted_src", (cmd_function)w_sp_trusted_src, 0, 0, 0, ANY_ROUTE},
	{"sp_trusted_dst", (cmd_function)w_sp_trusted_dst, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE},
	{"sp_set_trusted_src", (cmd_function)w_sp_set_trusted_src, 0, 0, 0,
		ANY_ROUTE},
	{"sp_strip_pai", (cmd_function)w_sp_strip_pai, 0, 0, 0,
		REQUEST_ROUTE | ONREPLY_ROUTE},
	{"sp_privacy_id", (cmd_function)w_sp_privacy_id, 0, 0, 0, REQUEST_ROUTE},
	/* identity assertion (sp_assert.c) */
	{"sp_assert_identity", (cmd_function)w_sp_assert_identity, 0, 0, 0,
		REQUEST_ROUTE},
	/* the privacy service for every message of a dialog (sp_service.c) */
	{"sp_privacy_apply", (cmd_function)w_sp_privacy_apply, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE | ONREPLY_ROUTE},
	/* anonymous watchers at the Presence Server (sp_winfo.c) */
	{"sp_winfo_mark", (cmd_function)w_sp_winfo_mark, 0, sp_winfo_fixup_mark,
		0, REQUEST_ROUTE},
	{"sp_winfo_mark", (cmd_function)w_sp_winfo_mark, 1, sp_winfo_fixup_mark,
		sp_winfo_fixup_free_mark, REQUEST_ROUTE},
	{"sp_winfo_anonymize", (cmd_function)w_sp_winfo_anonymize, 0,
		sp_winfo_fixup_anonymize, 0, ANY_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"trusted", PARAM_STRING | PARAM_USE_FUNC, (void *)sp_trust_param_net},
	{"trusted_tls", PARAM_STRING | PARAM_USE_FUNC,
		(void *)sp_trust_param_tls},
	{"trusted_socket", PARAM_STRING | PARAM_USE_FUNC,
		(void *)sp_trust_param_socket},
	{"absent_policy", PARAM_STR, &_sp_absent_policy},
	/* subscriber tables (sp_db.c), identity assertion (sp_assert.c) */
	{"db_url", PARAM_STR, &sp_db_url},
	{"identity_table", PARAM_STR, &sp_identity_table},
	{"blocking_table", PARAM_STR, &sp_blocking_table},
	{"usrloc_domain", PARAM_STR, &sp_usrloc_domain},
	/* the privacy service (sp_service.c) */
	{"anon_contact", PARAM_INT, &sp_anon_contact},
	{"rr_secret", PARAM_STR, &sp_rr_secret},
	/* header privacy fails closed behind topos (sp_topo_guard.c) */
	{"topology_guard", PARAM_INT, &sp_topo_guard},
	/* anonymous watchers at the Presence Server (sp_winfo.c) */
	{"winfo_db_url", PARAM_STR, &sp_winfo_db_url},
	{"winfo_table", PARAM_STR, &sp_winfo_table},
	{"winfo_secret", PARAM_STR, &sp_winfo_secret},
	{"winfo_secret_file", PARAM_STR, &sp_winfo_secret_file},
	{"winfo_hash_size", PARAM_INT, &sp_winfo_hash_size},
	{"winfo_max_entries", PARAM_INT, &sp_winfo_max_entries},
	{"winfo_linger", PARAM_INT, &sp_winfo_linger},
	{"winfo_db_lookup", PARAM_INT, &sp_winfo_db_lookup},
	{0, 0, 0}
};

static rpc_export_t rpc_cmds[] = {
	{"sip_privacy.trusted", sp_trust_rpc, sp_rpc_trusted_doc, RET_ARRAY},
	{"sip_privacy.subscriber", sp_rpc_subscriber, sp_rpc_subscriber_doc, 0},
	{"sip_privacy.reload", sp_rpc_reload, sp_rpc_reload_doc, 0},
	{"sip_privacy.winfo", sp_winfo_rpc, sp_winfo_rpc_doc, 0},
	{"sip_privacy.topology_guard", sp_topo_guard_rpc, sp_topo_guard_rpc_doc,
		0},
	{0, 0, 0, 0}
};

static stat_export_t mod_stats[] = {
	{"pai_removed_untrusted", 0, &_sp_st_pai_removed_untrusted},
	{"pai_removed_privacy", 0, &_sp_st_pai_removed_privacy},
	{"critical_refused", 0, &_sp_st_critical_refused},
	{"pai_asserted", 0, &sp_st_pai_asserted},
	{"ppi_refused", 0, &sp_st_ppi_refused},
	{"winfo_anonymized", 0, &sp_winfo_st_anonymized},
	{0, 0, 0}
};

struct module_exports exports = {
	"sip_privacy",   /* module name */
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

/* ---- start-up -------------------------------------------------------- */

static int mod_init(void)
{
	if(_sp_absent_policy.len == 4
			&& strncasecmp(_sp_absent_policy.s, "keep", 4) == 0) {
		_sp_absent = SP_ID_ABSENT_KEEP;
	} else if(_sp_absent_policy.len == 6
			  && strncasecmp(_sp_absent_policy.s, "remove", 6) == 0) {
		_sp_absent = SP_ID_ABSENT_REMOVE;
	} else {
		LM_ERR("modparam absent_policy must be 'keep' or 'remove', not"
			   " '%.*s'\n",
				_sp_absent_policy.len, _sp_absent_policy.s);
		return -1;
	}
	if(sl_load_api(&_sp_sl) < 0) {
		LM_ERR("cannot bind the sl module (load sl.so before"
			   " sip_privacy.so)\n");
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
	if(sp_trust_init() < 0)
		return -1;
	LM_INFO("P-Asserted-Identity toward untrusted hops without Privacy:"
			" %s\n",
			_sp_absent == SP_ID_ABSENT_KEEP ? "kept" : "removed");
	if(sp_db_init() < 0 || sp_assert_init() < 0)
		return -1;
	/* the privacy service (sp_service.c) */
	if(register_module_stats(exports.name, sp_service_stats) != 0) {
		LM_ERR("cannot register statistics\n");
		return -1;
	}
	if(sp_service_init() < 0)
		return -1;
	/* the topology guard (sp_topo_guard.c) */
	if(register_module_stats(exports.name, sp_topo_guard_stats) != 0) {
		LM_ERR("cannot register statistics\n");
		return -1;
	}
	if(sp_topo_guard_init() < 0)
		return -1;
	return sp_winfo_mod_init();
}

static int child_init(int rank)
{
	if(rank == PROC_INIT)
		kossl_before_fork();
	return sp_winfo_child_init(rank);
}

static void mod_destroy(void)
{
	sp_winfo_mod_destroy();
	sp_topo_guard_destroy();
	sp_db_destroy();
}

/* ---- trust (sp_trust.c) -------------------------------------------- */

static int ki_sp_trusted_src(sip_msg_t *msg)
{
	return sp_trust_src(msg) ? SP_RC_TRUSTED : SP_RC_UNTRUSTED;
}

static int ki_sp_trusted_dst(sip_msg_t *msg)
{
	return sp_trust_dst(msg) ? SP_RC_TRUSTED : SP_RC_UNTRUSTED;
}

static int ki_sp_set_trusted_src(sip_msg_t *msg)
{
	sp_trust_set_src(msg);
	return SP_RC_TRUSTED;
}

/* ---- header removal -------------------------------------------------- */

/* 1 when a delete lump already covers hf (a second call on one message). */
static int sp_hf_deleted(sip_msg_t *msg, hdr_field_t *hf)
{
	struct lump *l;
	int off = hf->name.s - msg->buf;

	for(l = msg->add_rm; l; l = l->next) {
		if(l->op == LUMP_DEL && l->u.offset <= off
				&& off < l->u.offset + l->len)
			return 1;
	}
	return 0;
}

/* Removes every header of `type` (HDR_PAI_T or HDR_PPI_T, each with all
 * its values), counts them in `st` (may be NULL) and logs `why`:
 * SP_RC_REMOVED, SP_RC_UNCHANGED (none there) or SP_RC_ERROR. */
int sp_hdr_remove_all(sip_msg_t *msg, int type, stat_var *st, const char *why)
{
	const char *name =
			type == HDR_PPI_T ? "P-Preferred-Identity" : "P-Asserted-Identity";
	hdr_field_t *hf;
	int n = 0;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		LM_ERR("cannot parse the headers\n");
		return SP_RC_ERROR;
	}
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type != type || sp_hf_deleted(msg, hf))
			continue;
		if(del_lump(msg, hf->name.s - msg->buf, hf->len, type) == 0) {
			LM_ERR("cannot remove a %s header\n", name);
			return SP_RC_ERROR;
		}
		n++;
	}
	if(n == 0)
		return SP_RC_UNCHANGED;
	if(st)
		update_stat(st, n);
	LM_DBG("%d %s header(s) removed: %s (source %s:%d)\n", n, name, why,
			ip_addr2a(&msg->rcv.src_ip), (int)msg->rcv.src_port);
	return SP_RC_REMOVED;
}

int sp_pai_remove_untrusted(sip_msg_t *msg, const char *why)
{
	return sp_hdr_remove_all(msg, HDR_PAI_T, _sp_st_pai_removed_untrusted, why);
}

static int ki_sp_strip_pai(sip_msg_t *msg)
{
	if(sp_trust_src(msg))
		return SP_RC_UNCHANGED;
	return sp_pai_remove_untrusted(msg, "untrusted source");
}

/* ---- privacy toward an untrusted hop --------------------------------- */

/* Reads every Privacy header into p (see privacy.h: never "no privacy"
 * for a header it cannot read). 0, or -1 when the message is unreadable. */
int sp_privacy_read(sip_msg_t *msg, sp_priv_t *p)
{
	sp_str_t vals[SP_PRIV_MAX_HDRS];
	hdr_field_t *hf;
	size_t n = 0;
	int rc;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		LM_ERR("cannot parse the headers\n");
		return -1;
	}
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type != HDR_PRIVACY_T)
			continue;
		if(n < SP_PRIV_MAX_HDRS) {
			vals[n].s = hf->body.s;
			vals[n].len = (size_t)hf->body.len;
		}
		n++; /* counted beyond the bound: the parser refuses so many */
	}
	rc = sp_priv_parse(n ? vals : NULL, n, p);
	if(rc != SP_PRIV_OK)
		LM_NOTICE("%zu Privacy header(s) unparsable (%s): read as asking"
				  " for all the privacy the service gives\n",
				n, sp_priv_strerror(rc));
	return 0;
}

static int ki_sp_privacy_id(sip_msg_t *msg)
{
	sp_priv_t p;
	sp_priv_decision_t d;

	if(msg->first_line.type != SIP_REQUEST) {
		LM_ERR("sp_privacy_id() is for requests\n");
		return SP_RC_ERROR;
	}
	if(sp_privacy_read(msg, &p) < 0)
		return SP_RC_ERROR;
	if(sp_priv_decide(&p, SP_ID_CAPS, &d) != SP_PRIV_OK) {
		LM_ERR("no privacy decision\n");
		return SP_RC_ERROR;
	}
	if(d.refuse) {
		sp_mod_refuse(msg, d.reason);
		return SP_RC_REFUSED;
	}
	if(!sp_id_pai_remove(sp_priv_requested(&p), _sp_absent))
		return SP_RC_UNCHANGED;
	return sp_mod_pai_remove_privacy(msg);
}

/* ---- lent to the privacy service (sp_mod.h) -------------------------- */

int sp_mod_privacy_read(sip_msg_t *msg, sp_priv_t *p)
{
	return sp_privacy_read(msg, p);
}

int sp_mod_pai_must_go(unsigned int requested)
{
	return sp_id_pai_remove(requested, _sp_absent);
}

int sp_mod_pai_remove_privacy(sip_msg_t *msg)
{
	int rc, withdrawn;

	/* the one this module asserted goes too (counted with the others) */
	withdrawn = sp_assert_withdraw(msg);
	if(withdrawn)
		update_stat(_sp_st_pai_removed_privacy, 1);
	rc = sp_hdr_remove_all(msg, HDR_PAI_T, _sp_st_pai_removed_privacy,
			"privacy toward an untrusted hop");
	return (withdrawn && rc == SP_RC_UNCHANGED) ? SP_RC_REMOVED : rc;
}

int sp_mod_hf_deleted(sip_msg_t *msg, hdr_field_t *hf)
{
	return sp_hf_deleted(msg, hf);
}

void sp_mod_refuse(sip_msg_t *msg, const char *reason)
{
	update_stat(_sp_st_critical_refused, 1);
	LM_NOTICE("%.*s from %s refused: critical privacy not provided (%s)\n",
			msg->first_line.u.request.method.len,
			msg->first_line.u.request.method.s, ip_addr2a(&msg->rcv.src_ip),
			reason);
	/* not delivered even when the reply could not be sent */
	kreply(&_sp_sl, msg, SP_PRIV_REFUSE_CODE, (char *)reason, NULL);
}

/* ---- cfg wrappers ---------------------------------------------------- */

static int w_sp_trusted_src(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_trusted_src(msg);
}

static int w_sp_trusted_dst(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_trusted_dst(msg);
}

static int w_sp_set_trusted_src(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_set_trusted_src(msg);
}

static int w_sp_strip_pai(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_strip_pai(msg);
}

static int w_sp_privacy_id(sip_msg_t *msg, char *p1, char *p2)
{
	int rc = ki_sp_privacy_id(msg);

	return rc == SP_RC_REFUSED ? 0 : rc;
}

static int w_sp_privacy_apply(sip_msg_t *msg, char *p1, char *p2)
{
	int rc = ki_sp_privacy_apply(msg);

	return rc == SP_APPLY_REFUSED ? 0 : rc;
}

/* ---- KEMI ------------------------------------------------------------ */

/* clang-format off */
static sr_kemi_t sr_kemi_sip_privacy_exports[] = {
	{ str_init("sip_privacy"), str_init("sp_trusted_src"),
		SR_KEMIP_INT, ki_sp_trusted_src,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_trusted_dst"),
		SR_KEMIP_INT, ki_sp_trusted_dst,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_set_trusted_src"),
		SR_KEMIP_INT, ki_sp_set_trusted_src,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_strip_pai"),
		SR_KEMIP_INT, ki_sp_strip_pai,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_privacy_id"),
		SR_KEMIP_INT, ki_sp_privacy_id,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_assert_identity"),
		SR_KEMIP_INT, ki_sp_assert_identity,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_privacy_apply"),
		SR_KEMIP_INT, ki_sp_privacy_apply,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_winfo_mark"),
		SR_KEMIP_INT, ki_sp_winfo_mark,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_winfo_mark_watcher"),
		SR_KEMIP_INT, ki_sp_winfo_mark_watcher,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sip_privacy"), str_init("sp_winfo_anonymize"),
		SR_KEMIP_INT, ki_sp_winfo_anonymize,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_sip_privacy_exports);
	return 0;
}
