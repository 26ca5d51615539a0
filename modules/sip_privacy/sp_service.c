/*
 * sip_privacy: the RFC 3323 privacy service at the P-CSCF, for every
 * request and response of a dialog (3GPP: "the same anonymity rules shall
 * apply to all messages within a SIP dialog").
 *
 * sp_privacy_apply(), for a request before it is relayed (after
 * loose_route() for one within a dialog), and in the tm onreply_route for
 * a response:
 *  - the privacy that applies: the message's own Privacy headers, the
 *    network-provided blocking of the request's sender (sp_ctx net_privacy,
 *    when it carries no Privacy), and the rule of its dialog when its sender
 *    is the dialog's initiator (sp_dialog.h);
 *  - a dialog-creating request (INVITE, SUBSCRIBE) writes that rule into
 *    this proxy's Record-Route entry (rr add_rr_param(), ";sppriv=ui"); a
 *    later request reads it from its Route (rr get_route_param(), with
 *    rr's ftag telling who the initiator is); a response reads what its
 *    request found, kept with the transaction in two AVPs;
 *  - toward an untrusted hop (the next hop of a request, the previous hop
 *    of the request for a response) it applies the decision of
 *    sp_priv_decide() with the capabilities user, header, id: the sender's
 *    identity (From of a request, To of a response) anonymous with its tag
 *    kept, the user headers removed (and Server in a response), Contact
 *    without user part and display name where modparam anon_contact
 *    allows, P-Asserted-Identity removed for "id" (absent_policy without
 *    Privacy), the Privacy header rewritten and the "privacy" option-tag
 *    removed from Proxy-Require when it goes; "critical" not provided
 *    refuses a request with 500; "header" is left to topos;
 *  - toward a trusted hop nothing is anonymized, but privacy the request
 *    does not carry itself (network-provided blocking, the dialog's rule)
 *    is written as a Privacy header, so that the Presence Server knows the
 *    watcher is anonymous.
 */
#include <string.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/ip_addr.h"
#include "core/mem/mem.h"
#include "core/data_lump.h"
#include "core/counters.h"
#include "core/usr_avp.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "core/parser/contact/parse_contact.h"
#include "modules/rr/api.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "privacy.h"
#include "sp_dialog.h"
#include "sp_ctx.h"
#include "sp_service.h"
#include "sp_mod.h"
#include "sp_trust.h"

/* What the service provides: an anonymous user (From, user headers), no
 * identity toward untrusted hops, topology hiding by topos. */
#define SP_SERVICE_CAPS SP_PRIV_CAPS_DEFAULT

/* The AVPs that carry, from a request to the responses of its
 * transaction, what the responses need: flags and the rule's bits in one
 * integer, the initiator's tag in a string. */
#define SP_AVP_RSP "sip_privacy_rsp"
#define SP_AVP_FTAG "sip_privacy_ftag"
#define SP_RSP_HOP_TRUSTED (1 << 8) /* the request came from a trusted hop */
#define SP_RSP_HAS_RULE (1 << 9)	/* its dialog has a rule */
#define SP_RSP_RULE_MASK 0xff

/* bounds of what is written */
#define SP_TAG_MAX 128
#define SP_HDR_MAX 512

int sp_anon_contact = 0;
str sp_rr_secret = STR_NULL;

/* the key of the rule's MAC: modparam rr_secret, or random bytes */
#define SP_KEY_MAX 256
#define SP_KEY_RANDOM 32
static unsigned char _sp_key[SP_KEY_MAX];
static size_t _sp_klen = 0;

static rr_api_t _sp_rr;
static int _sp_rr_bound = 0;

static stat_var *_sp_st_req_anon;
static stat_var *_sp_st_rsp_anon;

/* clang-format off */
stat_export_t sp_service_stats[] = {
	{"requests_anonymized", 0, &_sp_st_req_anon},
	{"responses_anonymized", 0, &_sp_st_rsp_anon},
	{0, 0, 0}
};
/* clang-format on */

/* the message sp_privacy_apply() last worked on in this process: a second
 * call on it changes nothing (lumps can't be applied twice) */
static struct
{
	unsigned int id;
	int pid;
	int rc;
} _sp_done = {0, 0, 0};

int sp_service_init(void)
{
	if(sp_anon_contact != 0 && sp_anon_contact != 1) {
		LM_ERR("modparam anon_contact must be 0 or 1, not %d\n",
				sp_anon_contact);
		return -1;
	}
	if(sp_rr_secret.len > SP_KEY_MAX) {
		LM_ERR("modparam rr_secret: at most %d bytes\n", SP_KEY_MAX);
		return -1;
	}
	if(sp_rr_secret.len > 0) {
		if(sp_rr_secret.len < 16)
			LM_WARN("modparam rr_secret: %d bytes is short; use 16 or"
					" more random bytes\n",
					sp_rr_secret.len);
		memcpy(_sp_key, sp_rr_secret.s, sp_rr_secret.len);
		_sp_klen = sp_rr_secret.len;
	} else {
		ERR_clear_error();
		if(RAND_bytes(_sp_key, SP_KEY_RANDOM) != 1) {
			LM_ERR("no random bytes for the dialog rule key; set modparam"
				   " rr_secret\n");
			ERR_clear_error();
			return -1;
		}
		_sp_klen = SP_KEY_RANDOM;
		LM_INFO("modparam rr_secret not set: dialogs this node"
				" record-routes keep their privacy rule only until it"
				" restarts, and only on this node\n");
	}
	if(find_export("load_rr", 0, 0) != NULL && load_rr_api(&_sp_rr) == 0) {
		_sp_rr_bound = 1;
		if(!_sp_rr.append_fromtag)
			LM_WARN("rr modparam append_fromtag is off: a dialog's privacy"
					" rule then hides both parties from each other\n");
	} else {
		LM_INFO("rr module not loaded: no per-dialog privacy rule is"
				" written or read\n");
	}
	LM_INFO("Contact user part of anonymous users: %s\n",
			sp_anon_contact ? "removed" : "kept");
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

/* A copy of `len` bytes in pkg memory, for a lump (which owns it). */
static char *sp_pkg_dup(const char *s, int len)
{
	char *p = pkg_malloc(len > 0 ? len : 1);

	if(p == NULL) {
		PKG_MEM_ERROR;
		return NULL;
	}
	memcpy(p, s, len);
	return p;
}

/* Replaces `len` bytes at `s` (inside msg->buf) with `n` bytes at `new`.
 * 0 or -1. */
static int sp_replace(sip_msg_t *msg, char *s, int len, const char *new, int n,
		enum _hdr_types_t type)
{
	struct lump *l;
	char *p;

	l = del_lump(msg, s - msg->buf, len, type);
	if(l == NULL)
		return -1;
	if(n == 0)
		return 0;
	p = sp_pkg_dup(new, n);
	if(p == NULL)
		return -1;
	if(insert_new_lump_after(l, p, n, type) == NULL) {
		pkg_free(p);
		return -1;
	}
	return 0;
}

/* Inserts a whole header line before hf, or at the end of the headers when
 * hf is NULL. 0 or -1. */
static int sp_insert_hdr(sip_msg_t *msg, hdr_field_t *hf, const char *line,
		int n, enum _hdr_types_t type)
{
	struct lump *anchor;
	char *p;

	anchor = anchor_lump(
			msg, (hf ? hf->name.s : msg->unparsed) - msg->buf, 0, type);
	if(anchor == NULL)
		return -1;
	p = sp_pkg_dup(line, n);
	if(p == NULL)
		return -1;
	if(insert_new_lump_before(anchor, p, n, type) == NULL) {
		pkg_free(p);
		return -1;
	}
	return 0;
}

static int sp_del_hdr(sip_msg_t *msg, hdr_field_t *hf)
{
	if(sp_mod_hf_deleted(msg, hf))
		return 0;
	return del_lump(msg, hf->name.s - msg->buf, hf->len, hf->type) ? 0 : -1;
}

/* ---- the rewrites ---------------------------------------------------- */

/* The sender's identity header (From of a request, To of a response) made
 * anonymous, its tag kept and nothing else. 0 or -1. */
static int sp_anon_identity(sip_msg_t *msg, int is_request)
{
	char buf[sizeof(SP_PRIV_ANON_FROM) + sizeof(";tag=") + SP_TAG_MAX];
	hdr_field_t *hf;
	struct to_body *tb;
	int n;

	if(is_request) {
		if(parse_from_header(msg) < 0)
			return -1;
		hf = msg->from;
	} else {
		hf = msg->to;
	}
	if(hf == NULL || (tb = (struct to_body *)hf->parsed) == NULL)
		return -1;
	if(tb->tag_value.len > SP_TAG_MAX) {
		LM_NOTICE("%s tag of %d bytes: refused\n", is_request ? "From" : "To",
				tb->tag_value.len);
		return -1;
	}
	if(tb->tag_value.len > 0)
		n = snprintf(buf, sizeof(buf), "%s;tag=%.*s", SP_PRIV_ANON_FROM,
				tb->tag_value.len, tb->tag_value.s);
	else
		n = snprintf(buf, sizeof(buf), "%s", SP_PRIV_ANON_FROM);
	if(n <= 0 || n >= (int)sizeof(buf))
		return -1;
	return sp_replace(msg, hf->body.s, hf->body.len, buf, n, hf->type);
}

/* Every Contact of the sender without user part and display name. 1 when
 * one changed, 0 when none needed it, -1 error (fail closed: the caller
 * does not deliver). */
static int sp_anon_contacts(sip_msg_t *msg)
{
	char uri[SP_HDR_MAX];
	hdr_field_t *hf;
	contact_t *c;
	int n, changed = 0;

	for(hf = msg->contact; hf; hf = next_sibling_hdr(hf)) {
		if(sp_mod_hf_deleted(msg, hf))
			continue;
		if(hf->parsed == NULL && parse_contact(hf) < 0) {
			LM_NOTICE("Contact unparsable: cannot anonymize it\n");
			return -1;
		}
		for(c = ((contact_body_t *)hf->parsed)->contacts; c; c = c->next) {
			n = sp_uri_strip_user(c->uri.s, c->uri.len, uri, sizeof(uri));
			if(n < 0) {
				LM_NOTICE("a Contact URI is not a sip/sips URI (or over %d"
						  " bytes): cannot anonymize it\n",
						SP_HDR_MAX - 1);
				return -1;
			}
			if(n != c->uri.len
					&& sp_replace(
							   msg, c->uri.s, c->uri.len, uri, n, HDR_CONTACT_T)
							   < 0)
				return -1;
			if(c->name.len > 0
					&& sp_replace(msg, c->name.s, c->name.len, NULL, 0,
							   HDR_CONTACT_T)
							   < 0)
				return -1;
			if(n != c->uri.len || c->name.len > 0)
				changed = 1;
		}
	}
	return changed;
}

/* The headers "user" privacy removes (and Server in a response: what
 * User-Agent is to a request). Their number, or -1. */
static int sp_rm_user_hdrs(sip_msg_t *msg, unsigned int actions)
{
	hdr_field_t *hf;
	int n = 0;

	if(!(actions & SP_PRIV_ACT_RM_USER_HDRS))
		return 0;
	for(hf = msg->headers; hf; hf = hf->next) {
		if(!sp_priv_hdr_remove(actions, hf->name.s, hf->name.len)
				&& !(hf->type == HDR_SERVER_T
						&& msg->first_line.type == SIP_REPLY))
			continue;
		if(sp_mod_hf_deleted(msg, hf))
			continue;
		if(sp_del_hdr(msg, hf) < 0)
			return -1;
		n++;
	}
	return n;
}

/* The Privacy header(s) as the decision says, and the "privacy"
 * option-tag of Proxy-Require with them. 1 changed, 0 not, -1 error. */
static int sp_rewrite_privacy(sip_msg_t *msg, const sp_priv_decision_t *d)
{
	char line[SP_HDR_MAX];
	char val[SP_HDR_MAX];
	hdr_field_t *hf, *first = NULL;
	int n, found;

	if(d->hdr_op == SP_PRIV_HDR_KEEP)
		return 0;
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type != HDR_PRIVACY_T)
			continue;
		if(first == NULL)
			first = hf;
		if(sp_del_hdr(msg, hf) < 0)
			return -1;
	}
	if(d->hdr_op == SP_PRIV_HDR_REPLACE) {
		n = snprintf(line, sizeof(line), "Privacy: %s\r\n", d->value);
		if(n <= 0 || n >= (int)sizeof(line)
				|| sp_insert_hdr(msg, first, line, n, HDR_PRIVACY_T) < 0)
			return -1;
	}
	if(!d->drop_proxy_require)
		return 1;
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->type != HDR_PROXYREQUIRE_T || sp_mod_hf_deleted(msg, hf))
			continue;
		n = sp_optiontag_remove(
				hf->body.s, hf->body.len, "privacy", val, sizeof(val), &found);
		if(n < 0) {
			LM_NOTICE("Proxy-Require unparsable: left as received\n");
			continue;
		}
		if(!found)
			continue;
		if(sp_del_hdr(msg, hf) < 0)
			return -1;
		if(n == 0)
			continue;
		n = snprintf(line, sizeof(line), "%.*s: %s\r\n", hf->name.len,
				hf->name.s, val);
		if(n <= 0 || n >= (int)sizeof(line)
				|| sp_insert_hdr(msg, hf, line, n, HDR_PROXYREQUIRE_T) < 0)
			return -1;
	}
	return 1;
}

/* Applies decision d toward an untrusted hop. SP_APPLY_CHANGED,
 * SP_APPLY_UNCHANGED or SP_APPLY_ERROR. */
static int sp_apply_decision(
		sip_msg_t *msg, const sp_priv_decision_t *d, int is_request)
{
	int anon = 0, removed = 0, rc;

	if(sp_mod_pai_must_go(d->requested)) {
		rc = sp_mod_pai_remove_privacy(msg);
		if(rc < 0)
			return SP_APPLY_ERROR;
		if(rc == 1)
			anon = 1;
	}
	if(d->actions & SP_PRIV_ACT_ANON_FROM) {
		if(sp_anon_identity(msg, is_request) < 0) {
			LM_ERR("cannot anonymize the %s header\n",
					is_request ? "From" : "To");
			return SP_APPLY_ERROR;
		}
		anon = 1;
		if(sp_anon_contact) {
			if(sp_anon_contacts(msg) < 0)
				return SP_APPLY_ERROR;
		}
	}
	removed = sp_rm_user_hdrs(msg, d->actions);
	if(removed < 0) {
		LM_ERR("cannot remove the user headers\n");
		return SP_APPLY_ERROR;
	}
	rc = sp_rewrite_privacy(msg, d);
	if(rc < 0) {
		LM_ERR("cannot rewrite the Privacy header\n");
		return SP_APPLY_ERROR;
	}
	if(anon)
		update_stat(is_request ? _sp_st_req_anon : _sp_st_rsp_anon, 1);
	return (anon || removed > 0 || rc > 0) ? SP_APPLY_CHANGED
										   : SP_APPLY_UNCHANGED;
}

/* ---- the dialog's rule ----------------------------------------------- */

typedef struct sp_dlg_state
{
	int has_rule;
	unsigned int rule;
	str ftag; /* the initiator's tag; len 0 when unknown */
} sp_dlg_state_t;

/* The rule of a request within a dialog, from its Route (after
 * loose_route()): checked against its Call-ID and ftag. A Route of ours
 * without a rule that checks gets every function, with the initiator
 * unknown (both parties hidden). */
static void sp_dlg_from_route(sip_msg_t *msg, sp_dlg_state_t *st)
{
	str name = str_init(SP_DLG_RR_PARAM);
	str ftag = str_init("ftag");
	str val = STR_NULL, tag = STR_NULL;

	memset(st, 0, sizeof(*st));
	if(!_sp_rr_bound || msg->route == NULL || msg->callid == NULL)
		return;
	st->has_rule = 1;
	st->rule = SP_DLG_RULE_CAPS;
	if(_sp_rr.get_route_param(msg, &ftag, &tag) != 0 || tag.s == NULL)
		tag.len = 0;
	if(_sp_rr.get_route_param(msg, &name, &val) != 0 || val.s == NULL) {
		LM_NOTICE("%.*s within a dialog from %s: no privacy rule in the"
				  " Route: every privacy, both parties hidden\n",
				msg->first_line.u.request.method.len,
				msg->first_line.u.request.method.s,
				ip_addr2a(&msg->rcv.src_ip));
		return;
	}
	if(!sp_dlg_param_check(val.s, val.len, tag.s, tag.len, msg->callid->body.s,
			   msg->callid->body.len, _sp_key, _sp_klen, &st->rule)) {
		LM_NOTICE("%.*s within a dialog from %s: the privacy rule in the"
				  " Route does not check (changed, another dialog's or"
				  " another key's): every privacy, both parties hidden\n",
				msg->first_line.u.request.method.len,
				msg->first_line.u.request.method.s,
				ip_addr2a(&msg->rcv.src_ip));
		return;
	}
	st->ftag = tag;
}

/* Keeps what the responses of this request's transaction need. */
static void sp_dlg_keep(sip_msg_t *msg, const sp_dlg_state_t *st)
{
	int_str name, v;

	name.s.s = SP_AVP_RSP;
	name.s.len = sizeof(SP_AVP_RSP) - 1;
	destroy_avps(AVP_NAME_STR, name, 1);
	v.n = (st->rule & SP_RSP_RULE_MASK) | (st->has_rule ? SP_RSP_HAS_RULE : 0)
		  | (sp_trust_src(msg) ? SP_RSP_HOP_TRUSTED : 0);
	if(add_avp(AVP_NAME_STR, name, v) < 0)
		LM_ERR("cannot keep the privacy state for the responses\n");
	name.s.s = SP_AVP_FTAG;
	name.s.len = sizeof(SP_AVP_FTAG) - 1;
	destroy_avps(AVP_NAME_STR | AVP_VAL_STR, name, 1);
	if(st->ftag.len > 0) {
		v.s = st->ftag;
		if(add_avp(AVP_NAME_STR | AVP_VAL_STR, name, v) < 0)
			LM_ERR("cannot keep the privacy state for the responses\n");
	}
}

/* What a response finds of its request (sp_dlg_keep()); without it the
 * hop is untrusted and there is no rule. 1 when the hop is trusted. */
static int sp_dlg_kept(sp_dlg_state_t *st)
{
	int_str name, v;

	memset(st, 0, sizeof(*st));
	name.s.s = SP_AVP_RSP;
	name.s.len = sizeof(SP_AVP_RSP) - 1;
	if(search_first_avp(AVP_NAME_STR, name, &v, 0) == NULL)
		return 0;
	st->has_rule = (v.n & SP_RSP_HAS_RULE) != 0;
	st->rule = v.n & SP_RSP_RULE_MASK;
	if(v.n & SP_RSP_HOP_TRUSTED)
		return 1;
	name.s.s = SP_AVP_FTAG;
	name.s.len = sizeof(SP_AVP_FTAG) - 1;
	if(search_first_avp(AVP_NAME_STR | AVP_VAL_STR, name, &v, 0) != NULL)
		st->ftag = v.s;
	return 0;
}

static int sp_is_dialog_creating(sip_msg_t *msg)
{
	int m = msg->first_line.u.request.method_value;

	return m == METHOD_INVITE || m == METHOD_SUBSCRIBE;
}

/* ---- sp_privacy_apply() ---------------------------------------------- */

static int sp_apply_request(sip_msg_t *msg, sp_priv_t *p)
{
	sp_priv_decision_t d;
	sp_dlg_state_t st;
	struct to_body *from;
	char prm[sizeof(";" SP_DLG_RR_PARAM "=") + SP_DLG_PARAM_SIZE];
	char line[64];
	unsigned int net, extra;
	str s;
	int n, m, initiator;

	if(parse_from_header(msg) < 0 || msg->to == NULL) {
		LM_ERR("From or To unparsable\n");
		return SP_APPLY_ERROR;
	}
	from = get_from(msg);
	net = sp_ctx(msg)->net_privacy;
	if(get_to(msg)->tag_value.len == 0) {
		/* initial: its own privacy makes the rule of its dialog */
		memset(&st, 0, sizeof(st));
		st.ftag = from->tag_value;
		st.rule = (sp_priv_requested(p) | (p->headers ? 0 : net))
				  & SP_DLG_RULE_CAPS;
		if(sp_is_dialog_creating(msg) && _sp_rr_bound) {
			/* every dialog this proxy record-routes gets its rule, "-" for
			 * none: a Route of ours without one is a changed one */
			st.has_rule = 1;
			n = sizeof(";" SP_DLG_RR_PARAM "=") - 1;
			memcpy(prm, ";" SP_DLG_RR_PARAM "=", n);
			m = msg->callid ? sp_dlg_param_make(st.rule, st.ftag.s, st.ftag.len,
						msg->callid->body.s, msg->callid->body.len, _sp_key,
						_sp_klen, prm + n, sizeof(prm) - n)
							: -1;
			if(m < 0) {
				LM_NOTICE("%.*s: no privacy rule for its dialog (Call-ID or"
						  " From tag over %d/%d bytes)\n",
						msg->first_line.u.request.method.len,
						msg->first_line.u.request.method.s, SP_DLG_MAX_CALLID,
						SP_DLG_MAX_TAG);
				return SP_APPLY_ERROR;
			}
			s.s = prm;
			s.len = n + m;
			if(_sp_rr.add_rr_param(msg, &s) < 0) {
				LM_ERR("cannot add the privacy rule to Record-Route\n");
				return SP_APPLY_ERROR;
			}
		}
		initiator = 1;
		/* the rule is the request's own privacy: nothing extra */
		extra = sp_dlg_extra(1, p->headers, net, 0, 0, 1);
	} else {
		sp_dlg_from_route(msg, &st);
		initiator = sp_dlg_sender_is_initiator(
				from->tag_value.s, from->tag_value.len, st.ftag.s, st.ftag.len);
		extra = sp_dlg_extra(
				1, p->headers, net, st.has_rule, st.rule, initiator);
	}
	sp_dlg_keep(msg, &st);

	if(sp_trust_dst_all(msg)) {
		/* inside the trust domain: the privacy asked for on the sender's
		 * behalf is written down for the next node, nothing hidden */
		if(p->headers > 0 || extra == 0)
			return SP_APPLY_UNCHANGED;
		n = sizeof("Privacy: ") - 1;
		memcpy(line, "Privacy: ", n);
		m = sp_priv_mask_format(extra, line + n, sizeof(line) - n - 2);
		if(m <= 0)
			return SP_APPLY_UNCHANGED;
		memcpy(line + n + m, "\r\n", 2);
		if(sp_insert_hdr(msg, NULL, line, n + m + 2, HDR_PRIVACY_T) < 0) {
			LM_ERR("cannot add the Privacy header\n");
			return SP_APPLY_ERROR;
		}
		return SP_APPLY_CHANGED;
	}

	if(sp_dlg_decide(p, extra, SP_SERVICE_CAPS, &d) != SP_PRIV_OK) {
		LM_ERR("no privacy decision\n");
		return SP_APPLY_ERROR;
	}
	if(d.refuse) {
		sp_mod_refuse(msg, d.reason);
		return SP_APPLY_REFUSED;
	}
	LM_DBG("request toward an untrusted hop: requested %#x extra %#x"
		   " actions %#x (sender %s the initiator)\n",
			d.requested, extra, d.actions, initiator ? "is" : "is not");
	return sp_apply_decision(msg, &d, 1);
}

static int sp_apply_reply(sip_msg_t *msg, sp_priv_t *p)
{
	sp_priv_decision_t d;
	sp_dlg_state_t st;
	struct to_body *to;
	unsigned int extra;
	int initiator;

	if(sp_dlg_kept(&st)) {
		LM_DBG("response toward a trusted hop: unchanged\n");
		return SP_APPLY_UNCHANGED;
	}
	if(msg->to == NULL || (to = get_to(msg)) == NULL) {
		LM_ERR("To unparsable\n");
		return SP_APPLY_ERROR;
	}
	initiator = sp_dlg_sender_is_initiator(
			to->tag_value.s, to->tag_value.len, st.ftag.s, st.ftag.len);
	extra = sp_dlg_extra(0, p->headers, 0, st.has_rule, st.rule, initiator);
	if(sp_dlg_decide(p, extra, SP_SERVICE_CAPS, &d) != SP_PRIV_OK) {
		LM_ERR("no privacy decision\n");
		return SP_APPLY_ERROR;
	}
	if(d.refuse) /* a response can't be refused: it goes with the rest */
		LM_NOTICE("%d response: %s; forwarded with the privacy this service"
				  " gives\n",
				msg->first_line.u.reply.statuscode, d.reason);
	return sp_apply_decision(msg, &d, 0);
}

int ki_sp_privacy_apply(sip_msg_t *msg)
{
	sp_priv_t p;
	int rc;

	if(_sp_done.id == msg->id && _sp_done.pid == msg->pid) {
		LM_DBG("privacy already applied to this message\n");
		return _sp_done.rc == SP_APPLY_REFUSED ? SP_APPLY_REFUSED
											   : SP_APPLY_UNCHANGED;
	}
	if(sp_mod_privacy_read(msg, &p) < 0)
		return SP_APPLY_ERROR;
	if(msg->first_line.type == SIP_REQUEST)
		rc = sp_apply_request(msg, &p);
	else
		rc = sp_apply_reply(msg, &p);
	if(rc != SP_APPLY_ERROR) {
		_sp_done.id = msg->id;
		_sp_done.pid = msg->pid;
		_sp_done.rc = rc;
	}
	return rc;
}
