/*
 * sip_privacy: anonymous watchers in watcherinfo documents (see winfo.h
 * for the decisions).
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>


#include "sp_hmac.h"
#include "winfo.h"

#define _SP_WINFO_IS_WS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

/* The HMAC's domain separation label, with its NUL. */
static const char _sp_winfo_label[] = "sp_winfo";

/* The attributes an anonymized entry keeps ("id" is replaced). */
static const char *const _sp_winfo_keep_attrs[] = {
		"status", "event", "expiration", "duration-subscribed"};

typedef struct sp_winfo_walk
{
	const sp_winfo_key_t *key;
	sp_winfo_anon_f anon;
	void *arg;
	sp_winfo_out_t *out;
} sp_winfo_walk_t;

const char *sp_winfo_strerror(int rc)
{
	switch(rc) {
		case SP_WINFO_OK:
			return "ok";
		case SP_WINFO_ERR_ARG:
			return "invalid argument";
		case SP_WINFO_ERR_TOO_LONG:
			return "document or field too long";
		case SP_WINFO_ERR_PARSE:
			return "not well-formed XML (or with a DTD)";
		case SP_WINFO_ERR_NOT_WINFO:
			return "not a watcherinfo document";
		case SP_WINFO_ERR_LOOKUP:
			return "anonymity of a watcher unknown";
		case SP_WINFO_ERR_MEM:
			return "out of memory";
		case SP_WINFO_ERR_CRYPTO:
			return "HMAC failed";
	}
	return "unknown error";
}

int sp_winfo_key_from_hex(const char *s, size_t len, sp_winfo_key_t *key)
{
	size_t i;
	int hi, lo;

	if(!s || !key)
		return SP_WINFO_ERR_ARG;
	memset(key, 0, sizeof(*key));
	while(len > 0 && _SP_WINFO_IS_WS(*s)) {
		s++;
		len--;
	}
	while(len > 0 && _SP_WINFO_IS_WS(s[len - 1]))
		len--;
	if(len % 2 != 0 || len < 2 * SP_WINFO_KEY_MIN || len > 2 * SP_WINFO_KEY_MAX)
		return SP_WINFO_ERR_ARG;
	for(i = 0; i < len; i += 2) {
		hi = OPENSSL_hexchar2int((unsigned char)s[i]);
		lo = OPENSSL_hexchar2int((unsigned char)s[i + 1]);
		if(hi < 0 || lo < 0) {
			memset(key, 0, sizeof(*key));
			return SP_WINFO_ERR_ARG;
		}
		key->k[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	key->len = len / 2;
	return SP_WINFO_OK;
}

int sp_winfo_opaque_id(const sp_winfo_key_t *key, const char *resource,
		size_t resource_len, const char *id, size_t id_len,
		char out[SP_WINFO_ID_SIZE])
{
	unsigned char msg[sizeof(_sp_winfo_label) + 2 * SP_WINFO_MAX_FIELD + 1];
	unsigned char mac[SP_HMAC_LEN];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	size_t n = 0, i;

	if(!key || key->len < SP_WINFO_KEY_MIN || key->len > SP_WINFO_KEY_MAX
			|| (!resource && resource_len) || (!id && id_len) || !out)
		return SP_WINFO_ERR_ARG;
	if(resource_len > SP_WINFO_MAX_FIELD || id_len > SP_WINFO_MAX_FIELD)
		return SP_WINFO_ERR_TOO_LONG;
	memcpy(msg, _sp_winfo_label, sizeof(_sp_winfo_label));
	n = sizeof(_sp_winfo_label);
	if(resource_len)
		memcpy(msg + n, resource, resource_len);
	n += resource_len;
	msg[n++] = 0;
	if(id_len)
		memcpy(msg + n, id, id_len);
	n += id_len;
	if(sp_hmac_sha256(key->k, key->len, msg, n, mac) < 0)
		return SP_WINFO_ERR_CRYPTO;
	if(EVP_EncodeBlock(b64, mac, SP_HMAC_LEN) != SP_WINFO_ID_LEN + 1)
		return SP_WINFO_ERR_CRYPTO;
	for(i = 0; i < SP_WINFO_ID_LEN; i++) {
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	}
	out[SP_WINFO_ID_LEN] = '\0';
	return SP_WINFO_OK;
}

int sp_winfo_id_is_b64_of(
		const char *id, size_t id_len, const char *uri, size_t uri_len)
{
	unsigned char b64[4 * ((SP_WINFO_MAX_FIELD + 2) / 3) + 1];
	int n;

	if(!id || !uri || uri_len == 0 || uri_len > SP_WINFO_MAX_FIELD)
		return 0;
	n = EVP_EncodeBlock(b64, (const unsigned char *)uri, (int)uri_len);
	return n > 0 && (size_t)n == id_len && memcmp(b64, id, id_len) == 0;
}

static int _sp_winfo_named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name
		   && strcmp((const char *)n->name, name) == 0;
}

static int _sp_winfo_in_ns(xmlNodePtr n)
{
	return n->ns && n->ns->href
		   && strcmp((const char *)n->ns->href, SP_WINFO_NS) == 0;
}

/* The attributes of an anonymized entry: only those of the keep list. */
static void _sp_winfo_strip_attrs(xmlNodePtr w)
{
	xmlAttrPtr a, next;
	size_t i;
	int keep;

	for(a = w->properties; a; a = next) {
		next = a->next;
		keep = 0;
		for(i = 0; !a->ns
				   && i < sizeof(_sp_winfo_keep_attrs)
									  / sizeof(_sp_winfo_keep_attrs[0]);
				i++) {
			if(strcmp((const char *)a->name, _sp_winfo_keep_attrs[i]) == 0)
				keep = 1;
		}
		if(!keep)
			xmlRemoveProp(a);
	}
}

/* One entry: asks the caller, anonymizes it when told to. */
static int _sp_winfo_entry(
		sp_winfo_walk_t *wk, xmlNodePtr w, const xmlChar *resource)
{
	char oid[SP_WINFO_ID_SIZE];
	sp_winfo_watcher_t e;
	xmlChar *id = NULL, *content = NULL;
	const char *u;
	size_t ulen;
	int rc, ret = SP_WINFO_ERR_MEM;

	wk->out->watchers++;
	id = xmlGetNoNsProp(w, BAD_CAST "id");
	content = xmlNodeGetContent(w);
	if(!content)
		goto out;
	u = (const char *)content;
	ulen = strlen(u);
	while(ulen > 0 && _SP_WINFO_IS_WS(*u)) {
		u++;
		ulen--;
	}
	while(ulen > 0 && _SP_WINFO_IS_WS(u[ulen - 1]))
		ulen--;
	memset(&e, 0, sizeof(e));
	e.resource = resource ? (const char *)resource : "";
	e.resource_len = strlen(e.resource);
	e.id = id ? (const char *)id : "";
	e.id_len = strlen(e.id);
	/* the predicate gets a NUL-terminated URI too */
	((char *)u)[ulen] = '\0';
	e.uri = u;
	e.uri_len = ulen;

	rc = wk->anon(wk->arg, &e);
	if(rc < 0) {
		ret = SP_WINFO_ERR_LOOKUP;
		goto out;
	}
	if(rc == 0) {
		ret = SP_WINFO_OK;
		goto out;
	}
	rc = sp_winfo_opaque_id(
			wk->key, e.resource, e.resource_len, e.id, e.id_len, oid);
	if(rc != SP_WINFO_OK) {
		ret = rc;
		goto out;
	}
	_sp_winfo_strip_attrs(w);
	if(!xmlSetProp(w, BAD_CAST "id", BAD_CAST oid))
		goto out;
	/* frees every child: the URI text and anything else in there */
	xmlNodeSetContent(w, BAD_CAST SP_WINFO_ANON_URI);
	wk->out->anonymized++;
	ret = SP_WINFO_OK;
out:
	if(id)
		xmlFree(id);
	if(content)
		xmlFree(content);
	return ret;
}

/* Every "watcher" element below n; resource is the nearest watcher-list's
 * resource attribute. */
static int _sp_winfo_walk(
		sp_winfo_walk_t *wk, xmlNodePtr n, const xmlChar *resource)
{
	xmlChar *res = NULL;
	int rc = SP_WINFO_OK;

	for(; n && rc == SP_WINFO_OK; n = n->next) {
		if(n->type != XML_ELEMENT_NODE)
			continue;
		if(_sp_winfo_named(n, "watcher")) {
			rc = _sp_winfo_entry(wk, n, resource);
			/* a watcher inside a watcher is not left unexamined */
			if(rc == SP_WINFO_OK)
				rc = _sp_winfo_walk(wk, n->children, resource);
			continue;
		}
		if(_sp_winfo_named(n, "watcher-list") && _sp_winfo_in_ns(n)) {
			res = xmlGetNoNsProp(n, BAD_CAST "resource");
			rc = _sp_winfo_walk(wk, n->children, res);
			if(res)
				xmlFree(res);
			res = NULL;
			continue;
		}
		rc = _sp_winfo_walk(wk, n->children, resource);
	}
	return rc;
}

int sp_winfo_rewrite(const char *body, size_t len, const sp_winfo_key_t *key,
		sp_winfo_anon_f anon, void *arg, sp_winfo_out_t *out)
{
	sp_winfo_walk_t wk;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	xmlChar *mem = NULL;
	int size = 0, rc;

	if(!out)
		return SP_WINFO_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if(!body || !key || !anon)
		return SP_WINFO_ERR_ARG;
	if(len > SP_WINFO_MAX_BODY)
		return SP_WINFO_ERR_TOO_LONG;
	if(len == 0)
		return SP_WINFO_ERR_PARSE;
	doc = xmlReadMemory(body, (int)len, NULL, NULL,
			XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if(!doc)
		return SP_WINFO_ERR_PARSE;
	if(doc->intSubset || doc->extSubset) {
		rc = SP_WINFO_ERR_PARSE;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if(!root || !_sp_winfo_named(root, "watcherinfo")
			|| !_sp_winfo_in_ns(root)) {
		rc = SP_WINFO_ERR_NOT_WINFO;
		goto out;
	}
	wk.key = key;
	wk.anon = anon;
	wk.arg = arg;
	wk.out = out;
	rc = _sp_winfo_walk(&wk, root->children, NULL);
	if(rc != SP_WINFO_OK || out->anonymized == 0)
		goto out;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 0);
	if(!mem || size <= 0) {
		rc = SP_WINFO_ERR_MEM;
		goto out;
	}
	out->body = (char *)mem; /* freed by sp_winfo_out_free() */
	out->len = (size_t)size;
	mem = NULL;
out:
	if(mem)
		xmlFree(mem);
	xmlFreeDoc(doc);
	if(rc != SP_WINFO_OK) {
		out->body = NULL;
		out->len = 0;
	}
	return rc;
}

void sp_winfo_out_free(sp_winfo_out_t *out)
{
	if(out && out->body)
		xmlFree(out->body);
	if(out) {
		out->body = NULL;
		out->len = 0;
	}
}
