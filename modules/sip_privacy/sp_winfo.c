/*
 * sip_privacy: anonymous watchers at the Presence Server (see sp_winfo.h;
 * the rewriting itself is winfo.c, the records sp_winfo_store.c).
 *
 * How the rewritten body reaches the wire. In event_route[tm:local-request]
 * tm hands the route a message parsed from the NOTIFY it built, and after
 * the route rebuilds the NOTIFY from that message's lumps. A body replaced
 * with lumps would be seen by nothing that runs later in the route:
 * notify_smime_notify() reads the body of the message buffer and would
 * encrypt the original one. So sp_winfo_anonymize() writes the rewritten
 * NOTIFY into a buffer of its own and re-parses the route's message from
 * it (as core's sip_msg_update_buffer() does for a received message, which
 * cannot be used here: it copies into the receive buffer). A lump-less
 * anchor makes tm rebuild the NOTIFY from that buffer even when nothing
 * later changes it. tm never frees the buffer of its local-request message,
 * so each process keeps the last one and frees it at its next rewrite.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/dprint.h"
#include "core/data_lump.h"
#include "core/mem/pkg.h"
#include "core/mod_fix.h"
#include "core/sr_module.h"
#include "core/timer.h"
#include "core/timer_ticks.h"
#include "core/trim.h"
#include "core/ut.h"
#include "core/parser/parse_content.h"
#include "core/parser/parse_expires.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "core/parser/parse_uri.h"

#include "sp_winfo.h"
#include "sp_winfo_store.h"
#include "winfo.h"

/* presence's default Expires of a SUBSCRIBE without one */
#define SP_WINFO_DEFAULT_EXPIRES 3600
/* longest Expires believed (a year) */
#define SP_WINFO_MAX_EXPIRES (365 * 24 * 3600)
#define SP_WINFO_PURGE_INTERVAL 60
#define SP_WINFO_SECRET_FILE_MAX 1024

str sp_winfo_secret = STR_NULL;
str sp_winfo_secret_file = STR_NULL;
str sp_winfo_db_url = STR_NULL;
str sp_winfo_table = str_init("sp_winfo");
int sp_winfo_hash_size = 256;
int sp_winfo_max_entries = 10000;
/* seconds a record outlives its subscription: presence keeps a pending
 * watcher's row (shown as "waiting", by URI) up to 24 hours */
int sp_winfo_linger = 86400;
/* 1: a record missing in this node's memory is looked up in the table
 * (several PS nodes on one database) */
int sp_winfo_db_lookup = 0;

stat_var *sp_winfo_st_anonymized;

const char *sp_winfo_rpc_doc[2] = {
		"Anonymous watchers at this Presence Server: the number of"
		" anonymous subscriptions recorded (no identity is shown).",
		0};

static int _sp_winfo_enabled = 0;
static int _sp_winfo_generated = 0; /* the secret was generated at start */
static sp_winfo_key_t _sp_winfo_key;
static char *_sp_winfo_lbuf = NULL; /* this process's last NOTIFY buffer */

static void sp_winfo_purge_timer(unsigned int ticks, void *param)
{
	int n = sp_ws_purge(time(NULL));

	if(n > 0)
		LM_DBG("%d expired anonymous subscriptions removed\n", n);
}

/* The secret of the opaque ids: winfo_secret, winfo_secret_file, or
 * generated. */
static int sp_winfo_load_secret(void)
{
	char buf[SP_WINFO_SECRET_FILE_MAX];
	size_t n;
	FILE *f;
	int rc;

	if(sp_winfo_secret.len > 0 && sp_winfo_secret_file.len > 0) {
		LM_ERR("modparams winfo_secret and winfo_secret_file: set one, not"
			   " both\n");
		return -1;
	}
	if(sp_winfo_secret.len > 0) {
		rc = sp_winfo_key_from_hex(
				sp_winfo_secret.s, sp_winfo_secret.len, &_sp_winfo_key);
		OPENSSL_cleanse(sp_winfo_secret.s, sp_winfo_secret.len);
		if(rc != SP_WINFO_OK) {
			LM_ERR("modparam winfo_secret must be %d to %d hex digits (%d to"
				   " %d random bytes)\n",
					2 * SP_WINFO_KEY_MIN, 2 * SP_WINFO_KEY_MAX,
					SP_WINFO_KEY_MIN, SP_WINFO_KEY_MAX);
			return -1;
		}
		return 0;
	}
	if(sp_winfo_secret_file.len > 0) {
		f = fopen(sp_winfo_secret_file.s, "r");
		if(!f) {
			LM_ERR("modparam winfo_secret_file: cannot open '%.*s'\n",
					sp_winfo_secret_file.len, sp_winfo_secret_file.s);
			return -1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		rc = n < sizeof(buf) ? sp_winfo_key_from_hex(buf, n, &_sp_winfo_key)
							 : SP_WINFO_ERR_ARG;
		OPENSSL_cleanse(buf, sizeof(buf));
		if(rc != SP_WINFO_OK) {
			LM_ERR("modparam winfo_secret_file: '%.*s' must hold %d to %d hex"
				   " digits (e.g. openssl rand -hex 32)\n",
					sp_winfo_secret_file.len, sp_winfo_secret_file.s,
					2 * SP_WINFO_KEY_MIN, 2 * SP_WINFO_KEY_MAX);
			return -1;
		}
		return 0;
	}
	_sp_winfo_key.len = 32;
	if(RAND_bytes(_sp_winfo_key.k, (int)_sp_winfo_key.len) != 1) {
		LM_ERR("cannot generate the winfo secret\n");
		return -1;
	}
	_sp_winfo_generated = 1;
	LM_NOTICE("no winfo_secret or winfo_secret_file: a secret was generated;"
			  " the ids of anonymous watchers change when the server"
			  " restarts\n");
	return 0;
}

int sp_winfo_mod_init(void)
{
	unsigned int size = (unsigned int)sp_winfo_hash_size;

	if(sp_winfo_db_url.len <= 0) {
		LM_INFO("no winfo_db_url: anonymous watchers (sp_winfo_*) not in"
				" use\n");
		return 0;
	}
	if(sp_winfo_hash_size < 16 || sp_winfo_hash_size > 65536
			|| (size & (size - 1)) != 0) {
		LM_ERR("modparam winfo_hash_size must be a power of two, 16..65536\n");
		return -1;
	}
	if(sp_winfo_max_entries < 1 || sp_winfo_max_entries > 10000000) {
		LM_ERR("modparam winfo_max_entries must be 1..10000000\n");
		return -1;
	}
	if(sp_winfo_linger < 0 || sp_winfo_linger > 30 * 86400) {
		LM_ERR("modparam winfo_linger must be 0..2592000 seconds\n");
		return -1;
	}
	if(sp_winfo_table.len <= 0) {
		LM_ERR("modparam winfo_table must not be empty\n");
		return -1;
	}
	if(sp_winfo_db_lookup != 0 && sp_winfo_db_lookup != 1) {
		LM_ERR("modparam winfo_db_lookup must be 0 or 1\n");
		return -1;
	}
	if(sp_winfo_load_secret() < 0)
		return -1;
	if(sp_ws_init(&sp_winfo_db_url, &sp_winfo_table, size,
			   (unsigned int)sp_winfo_max_entries, sp_winfo_db_lookup)
			< 0)
		return -1;
	/* register_timer() takes seconds (it converts to ticks itself) */
	if(register_timer(sp_winfo_purge_timer, 0, SP_WINFO_PURGE_INTERVAL) < 0) {
		LM_ERR("cannot register the winfo purge timer\n");
		return -1;
	}
	_sp_winfo_enabled = 1;
	LM_INFO("anonymous watchers: table '%.*s', up to %d records, kept %d s"
			" after their subscription%s\n",
			sp_winfo_table.len, sp_winfo_table.s, sp_winfo_max_entries,
			sp_winfo_linger,
			sp_winfo_db_lookup ? "; a record missing in memory is looked up"
								 " in the table (winfo_db_lookup)"
							   : "");
	return 0;
}

int sp_winfo_child_init(int rank)
{
	if(!_sp_winfo_enabled || rank == PROC_INIT || rank == PROC_MAIN
			|| rank == PROC_TCP_MAIN)
		return 0;
	return sp_ws_child_init();
}

void sp_winfo_mod_destroy(void)
{
	sp_ws_destroy();
	OPENSSL_cleanse(&_sp_winfo_key, sizeof(_sp_winfo_key));
	_sp_winfo_enabled = 0;
}

/* ---- fixups ---------------------------------------------------------- */

/* The functions are refused by `kamailio -c` when winfo is not in use. */
static int sp_winfo_fixup_enabled(const char *fn)
{
	if(sp_winfo_db_url.len <= 0) {
		LM_ERR("%s() needs modparam winfo_db_url (and the table of"
			   " sip_privacy-winfo-create.sql)\n",
				fn);
		return -1;
	}
	return 0;
}

int sp_winfo_fixup_mark(void **param, int param_no)
{
	if(sp_winfo_fixup_enabled("sp_winfo_mark") < 0)
		return -1;
	return param_no == 1 ? fixup_spve_null(param, 1) : 0;
}

int sp_winfo_fixup_free_mark(void **param, int param_no)
{
	return param_no == 1 ? fixup_free_spve_null(param, 1) : 0;
}

int sp_winfo_fixup_anonymize(void **param, int param_no)
{
	return sp_winfo_fixup_enabled("sp_winfo_anonymize");
}

/* ---- sp_winfo_mark() ------------------------------------------------- */

/* "sip:user@host" of uri as presence writes a watcher or presentity
 * (uandd_to_uri()), into out (NUL terminated): its length or -1. */
static int sp_winfo_canon(str *uri, char *out, int size)
{
	struct sip_uri u;
	int n;

	if(uri->len <= 0 || parse_uri(uri->s, uri->len, &u) < 0 || u.host.len <= 0)
		return -1;
	if(u.user.len > 0)
		n = snprintf(out, size, "sip:%.*s@%.*s", u.user.len, u.user.s,
				u.host.len, u.host.s);
	else
		n = snprintf(out, size, "sip:%.*s", u.host.len, u.host.s);
	return n > 0 && n < size ? n : -1;
}

static int sp_winfo_expires(sip_msg_t *msg)
{
	exp_body_t *e;

	if(!msg->expires)
		return SP_WINFO_DEFAULT_EXPIRES;
	if(!msg->expires->parsed && parse_expires(msg->expires) < 0)
		return SP_WINFO_MAX_EXPIRES; /* unreadable: kept the longest */
	e = (exp_body_t *)msg->expires->parsed;
	if(!e->valid || e->val > SP_WINFO_MAX_EXPIRES)
		return SP_WINFO_MAX_EXPIRES;
	return (int)e->val;
}

int ki_sp_winfo_mark_watcher(sip_msg_t *msg, str *watcher)
{
	char pbuf[SP_WS_MAX_FIELD + 1], wbuf[SP_WS_MAX_FIELD + 1];
	str callid, pres, wat, *puri, *wuri;
	sp_priv_t p;
	int known, asked, in_dialog, rc;

	if(!_sp_winfo_enabled) {
		LM_ERR("sp_winfo_mark() needs modparam winfo_db_url\n");
		return SP_WINFO_RC_ERROR;
	}
	if(msg->first_line.type != SIP_REQUEST
			|| msg->first_line.u.request.method_value != METHOD_SUBSCRIBE) {
		LM_ERR("sp_winfo_mark() is for SUBSCRIBE requests\n");
		return SP_WINFO_RC_ERROR;
	}
	if(parse_headers(msg, HDR_EOH_F, 0) < 0 || !msg->callid
			|| parse_from_header(msg) < 0 || parse_to_header(msg) < 0) {
		LM_ERR("SUBSCRIBE without a readable Call-ID, From or To\n");
		return SP_WINFO_RC_ERROR;
	}
	callid = msg->callid->body;
	trim(&callid);
	if(callid.len <= 0 || callid.len > SP_WS_MAX_FIELD) {
		LM_NOTICE("SUBSCRIBE from %s: Call-ID of %d bytes cannot be"
				  " recorded\n",
				ip_addr2a(&msg->rcv.src_ip), callid.len);
		return SP_WINFO_RC_ERROR;
	}
	if(sp_privacy_read(msg, &p) < 0)
		return SP_WINFO_RC_ERROR;
	asked = (sp_priv_requested(&p) & (SP_PRIV_ID | SP_PRIV_USER)) != 0;
	in_dialog = get_to(msg)->tag_value.len > 0;
	/* the same anonymity for every request of the dialog, marked on this
	 * node or (winfo_db_lookup) on another one */
	known = (in_dialog && !asked) ? sp_ws_lookup_callid(callid.s, callid.len)
								  : sp_ws_has_callid(callid.s, callid.len);
	if(known < 0) {
		LM_ERR("SUBSCRIBE from %s within a dialog: whether it is anonymous"
			   " cannot be read (table '%.*s'): refused\n",
				ip_addr2a(&msg->rcv.src_ip), sp_winfo_table.len,
				sp_winfo_table.s);
		return SP_WINFO_RC_ERROR;
	}
	if(!asked && !known)
		return SP_WINFO_RC_NOT_ANONYMOUS;

	if(in_dialog) {
		puri = &get_to(msg)->uri;
	} else {
		if(parse_sip_msg_uri(msg) < 0) {
			LM_ERR("SUBSCRIBE with an unparsable Request-URI\n");
			return SP_WINFO_RC_ERROR;
		}
		puri = GET_RURI(msg);
	}
	wuri = (watcher && watcher->len > 0) ? watcher : &get_from(msg)->uri;
	pres.len = sp_winfo_canon(puri, pbuf, sizeof(pbuf));
	wat.len = sp_winfo_canon(wuri, wbuf, sizeof(wbuf));
	if(pres.len < 0 || wat.len < 0) {
		LM_NOTICE("SUBSCRIBE from %s: presentity or watcher URI unusable:"
				  " not recorded\n",
				ip_addr2a(&msg->rcv.src_ip));
		return SP_WINFO_RC_ERROR;
	}
	pres.s = pbuf;
	wat.s = wbuf;
	rc = sp_ws_put(&callid, &pres, &wat,
			time(NULL) + sp_winfo_expires(msg) + sp_winfo_linger);
	if(rc == SP_WS_FULL) {
		LM_ERR("anonymous SUBSCRIBE to %s not recorded: winfo_max_entries"
			   " (%d) reached\n",
				pbuf, sp_winfo_max_entries);
		return SP_WINFO_RC_ERROR;
	}
	if(rc != SP_WS_OK)
		return SP_WINFO_RC_ERROR;
	LM_DBG("%s subscription to %s recorded as anonymous\n",
			known ? "known" : "new", pbuf);
	return SP_WINFO_RC_ANONYMOUS;
}

int ki_sp_winfo_mark(sip_msg_t *msg)
{
	return ki_sp_winfo_mark_watcher(msg, NULL);
}

int w_sp_winfo_mark(sip_msg_t *msg, char *watcher, char *p2)
{
	str w = STR_NULL;

	if(watcher && get_str_fparam(&w, msg, (fparam_t *)watcher) < 0) {
		LM_ERR("cannot evaluate the watcher parameter\n");
		return SP_WINFO_RC_ERROR;
	}
	return ki_sp_winfo_mark_watcher(msg, &w);
}

/* ---- sp_winfo_anonymize() -------------------------------------------- */

/* The predicate of winfo.c: the entry of an anonymous subscription (its
 * Call-ID), or presence's "waiting" entry (id = base64 of the URI) of a
 * watcher who subscribed anonymously to that presentity; -1 when the
 * table could not be read (winfo_db_lookup): the body is withheld. */
static int sp_winfo_is_anon(void *arg, const sp_winfo_watcher_t *w)
{
	int rc;

	if(w->id_len > 0 && w->id_len <= SP_WS_MAX_FIELD) {
		rc = sp_ws_lookup_callid(w->id, (int)w->id_len);
		if(rc != 0)
			return rc;
	}
	if(w->uri_len > SP_WS_MAX_FIELD || w->resource_len > SP_WS_MAX_FIELD)
		return 0;
	if(!sp_winfo_id_is_b64_of(w->id, w->id_len, w->uri, w->uri_len))
		return 0;
	return sp_ws_lookup_watcher(
			w->resource, (int)w->resource_len, w->uri, (int)w->uri_len);
}

/* 1 when the header field body's first token (up to ';') is `name`. */
static int sp_winfo_hf_is(hdr_field_t *hf, const char *name)
{
	str v;
	char *semi;

	if(!hf)
		return 0;
	v = hf->body;
	semi = memchr(v.s, ';', v.len);
	if(semi)
		v.len = (int)(semi - v.s);
	trim(&v);
	return v.len == (int)strlen(name) && strncasecmp(v.s, name, v.len) == 0;
}

/* One replacement of [from, to) of the message by `with`. */
typedef struct sp_winfo_edit
{
	int from, to;
	const char *with;
	int len;
} sp_winfo_edit_t;

/*
 * Makes msg (a local request in tm:local-request) the same NOTIFY with
 * `body` (len bytes; 0: no body and no Content-Type), Content-Length
 * following. See the top of this file.
 */
static int sp_winfo_set_body(sip_msg_t *msg, const char *body, int len)
{
	sp_winfo_edit_t e[3], t;
	sip_msg_t tmp;
	char clen[INT2STR_MAX_LEN];
	char *b, *nbuf, *p;
	int n = 0, i, j, pos, nlen, clen_len;

	if(msg->add_rm || msg->body_lumps) {
		LM_ERR("sp_winfo_anonymize() must come before anything that changes"
			   " the NOTIFY in tm:local-request\n");
		return -1;
	}
	b = get_body(msg);
	if(!msg->content_length || !b || b < msg->buf || b > msg->buf + msg->len)
		return -1;
	p = int2str((unsigned long)len, &clen_len);
	memcpy(clen, p, clen_len);
	e[n].from = (int)(msg->content_length->body.s - msg->buf);
	e[n].to = e[n].from + msg->content_length->body.len;
	e[n].with = clen;
	e[n++].len = clen_len;
	if(len == 0 && msg->content_type) {
		e[n].from = (int)(msg->content_type->name.s - msg->buf);
		e[n].to = e[n].from + msg->content_type->len;
		e[n].with = "";
		e[n++].len = 0;
	}
	e[n].from = (int)(b - msg->buf);
	e[n].to = msg->len;
	e[n].with = body;
	e[n++].len = len;
	for(i = 0; i < n; i++) {
		for(j = i + 1; j < n; j++) {
			if(e[j].from < e[i].from) {
				t = e[i];
				e[i] = e[j];
				e[j] = t;
			}
		}
	}
	nlen = msg->len;
	for(i = 0; i < n; i++) {
		if(e[i].to < e[i].from || (i > 0 && e[i].from < e[i - 1].to))
			return -1;
		nlen += e[i].len - (e[i].to - e[i].from);
	}
	nbuf = pkg_malloc(nlen + 1);
	if(!nbuf) {
		PKG_MEM_ERROR;
		return -1;
	}
	for(i = 0, pos = 0, p = nbuf; i < n; i++) {
		memcpy(p, msg->buf + pos, e[i].from - pos);
		p += e[i].from - pos;
		memcpy(p, e[i].with, e[i].len);
		p += e[i].len;
		pos = e[i].to;
	}
	memcpy(p, msg->buf + pos, msg->len - pos);
	nbuf[nlen] = '\0';

	/* the message re-parsed from the new buffer; what tm set on it kept */
	memcpy(&tmp, msg, sizeof(tmp));
	msg->dst_uri.s = NULL;
	msg->dst_uri.len = 0;
	msg->path_vec.s = NULL;
	msg->path_vec.len = 0;
	free_sip_msg(msg);
	memset(msg, 0, sizeof(*msg));
	msg->id = tmp.id;
	msg->pid = tmp.pid;
	msg->rcv = tmp.rcv;
	msg->set_global_address = tmp.set_global_address;
	msg->set_global_port = tmp.set_global_port;
	msg->flags = tmp.flags;
	msg->msg_flags = tmp.msg_flags;
	memcpy(msg->xflags, tmp.xflags, sizeof(msg->xflags));
	msg->hash_index = tmp.hash_index;
	msg->force_send_socket = tmp.force_send_socket;
	msg->fwd_send_flags = tmp.fwd_send_flags;
	msg->rpl_send_flags = tmp.rpl_send_flags;
	msg->dst_uri = tmp.dst_uri;
	msg->path_vec = tmp.path_vec;
	msg->buf = nbuf;
	msg->len = nlen;
	if(_sp_winfo_lbuf)
		pkg_free(_sp_winfo_lbuf);
	_sp_winfo_lbuf = nbuf;
	if(parse_msg(msg->buf, msg->len, msg) != 0
			|| parse_headers(msg, HDR_EOH_F, 0) < 0) {
		LM_ERR("the rewritten NOTIFY does not parse\n");
		return -2;
	}
	/* tm rebuilds the NOTIFY from this buffer only when it has lumps */
	if(!anchor_lump(msg, (int)(msg->headers->name.s - msg->buf), 0, 0)) {
		LM_ERR("cannot add an anchor lump\n");
		return -2;
	}
	return 0;
}

/* The NOTIFY without its body: SP_WINFO_RC_WITHHELD or, when even that
 * fails, SP_WINFO_RC_ERROR (the script drops the NOTIFY). */
static int sp_winfo_withhold(sip_msg_t *msg, const char *why)
{
	LM_NOTICE("presence.winfo NOTIFY sent without its body: %s\n", why);
	if(sp_winfo_set_body(msg, "", 0) < 0) {
		LM_ERR("cannot remove the winfo body (-1: the script drops the"
			   " NOTIFY)\n");
		return SP_WINFO_RC_ERROR;
	}
	return SP_WINFO_RC_WITHHELD;
}

int ki_sp_winfo_anonymize(sip_msg_t *msg)
{
	sp_winfo_out_t out;
	char *b;
	int blen, rc;

	if(!_sp_winfo_enabled) {
		LM_ERR("sp_winfo_anonymize() needs modparam winfo_db_url\n");
		return SP_WINFO_RC_ERROR;
	}
	if(msg->first_line.type != SIP_REQUEST
			|| msg->first_line.u.request.method_value != METHOD_NOTIFY)
		return SP_WINFO_RC_UNCHANGED;
	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		LM_ERR("cannot parse the NOTIFY\n");
		return SP_WINFO_RC_ERROR; /* cannot tell its event: not sent */
	}
	if(!sp_winfo_hf_is(msg->event, "presence.winfo"))
		return SP_WINFO_RC_UNCHANGED;
	blen = msg->content_length ? (int)get_content_length(msg) : 0;
	if(blen <= 0)
		return SP_WINFO_RC_UNCHANGED;
	/* nobody to hide: the common case, no parsing (unless another node may
	 * have marked one: winfo_db_lookup) */
	if(sp_ws_count() == 0 && !sp_ws_db_lookup())
		return SP_WINFO_RC_UNCHANGED;
	b = get_body(msg);
	if(!b || b + blen > msg->buf + msg->len)
		return sp_winfo_withhold(msg, "malformed body");
	if(!sp_winfo_hf_is(msg->content_type, SP_WINFO_CTYPE))
		return sp_winfo_withhold(msg, "not application/watcherinfo+xml");
	rc = sp_winfo_rewrite(
			b, (size_t)blen, &_sp_winfo_key, sp_winfo_is_anon, NULL, &out);
	if(rc != SP_WINFO_OK) {
		LM_ERR("watcherinfo body unusable (%s)\n", sp_winfo_strerror(rc));
		return sp_winfo_withhold(msg, sp_winfo_strerror(rc));
	}
	if(!out.body)
		return SP_WINFO_RC_UNCHANGED;
	rc = sp_winfo_set_body(msg, out.body, (int)out.len);
	sp_winfo_out_free(&out);
	if(rc == -1)
		return sp_winfo_withhold(msg, "cannot replace the body");
	if(rc < 0)
		return SP_WINFO_RC_ERROR;
	update_stat(sp_winfo_st_anonymized, out.anonymized);
	LM_DBG("%u of %u watchers anonymized\n", out.anonymized, out.watchers);
	return SP_WINFO_RC_REWRITTEN;
}

int w_sp_winfo_anonymize(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sp_winfo_anonymize(msg);
}

/* ---- RPC ------------------------------------------------------------- */

void sp_winfo_rpc(rpc_t *rpc, void *ctx)
{
	void *th;

	if(rpc->add(ctx, "{", &th) < 0)
		return;
	rpc->struct_add(th, "sdds", "enabled", _sp_winfo_enabled ? "yes" : "no",
			"anonymous_subscriptions", sp_ws_count(), "max_entries",
			sp_winfo_max_entries, "secret",
			!_sp_winfo_enabled	  ? "none"
			: _sp_winfo_generated ? "generated at start-up"
								  : "configured");
}
