/*
 * watcher_auth: pres-rules from an external XCAP server over HTTPS.
 *
 * One CURL easy handle per client, configured once in wa_xcap_client_new()
 * and reused for every fetch, so that libcurl keeps the connection (and the
 * TLS session) alive between them. Per fetch only the URL, the request
 * headers and the state the callbacks write into change.
 *
 * The body is collected by the write callback, bounded by max_body: a
 * Content-Length over the bound or more bytes than it abort the transfer.
 * The body of any response but a 200 is read and dropped (under the same
 * bound), so that a 404 does not cost the connection.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "xcap_fetch.h"

#define _WA_XCAP_SCHEME "https://"
#define _WA_XCAP_SCHEME_LEN (sizeof(_WA_XCAP_SCHEME) - 1)
#define _WA_XCAP_USER_AGENT "kamailio-watcher_auth"
#define _WA_XCAP_INM "If-None-Match: "

struct wa_xcap_client
{
	CURL *easy;
	char *ca_file;
	size_t max_body;
	int any_content;
	char errbuf[CURL_ERROR_SIZE];
	/* the fetch under way */
	wa_xcap_doc_t *doc;
	size_t cap;	 /* allocated bytes of doc->body */
	size_t seen; /* body bytes received, kept or dropped */
	int too_big;
	int nomem;
};

static int _wa_xcap_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive equality of `len` bytes at `s` with `lit`. */
static int _wa_xcap_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	if(strlen(lit) != len)
		return 0;
	for(i = 0; i < len; i++) {
		if(_wa_xcap_lower((unsigned char)s[i])
				!= _wa_xcap_lower((unsigned char)lit[i]))
			return 0;
	}
	return 1;
}

static int _wa_xcap_is_https(const char *s, size_t len)
{
	return len >= _WA_XCAP_SCHEME_LEN
		   && _wa_xcap_ieq(s, _WA_XCAP_SCHEME_LEN, _WA_XCAP_SCHEME);
}

/* Copies `len` bytes of `s` into `dst` (`size` bytes, NUL-terminated),
 * printable ASCII only: anything else becomes '?'. */
static void _wa_xcap_copy_text(
		char *dst, size_t size, const char *s, size_t len)
{
	size_t i;

	if(size == 0)
		return;
	for(i = 0; i < len && i < size - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

static void _wa_xcap_set_err(wa_xcap_doc_t *doc, const char *text)
{
	_wa_xcap_copy_text(doc->err, sizeof(doc->err), text, strlen(text));
}

const char *wa_xcap_strerror(int rc)
{
	switch(rc) {
		case WA_XCAP_OK:
			return "ok";
		case WA_XCAP_NOT_MODIFIED:
			return "not modified";
		case WA_XCAP_NOT_FOUND:
			return "no such document";
		case WA_XCAP_E_ARG:
			return "invalid argument";
		case WA_XCAP_E_NOMEM:
			return "out of memory";
		case WA_XCAP_E_CONNECT:
			return "cannot connect to the XCAP server";
		case WA_XCAP_E_TIMEOUT:
			return "XCAP server timed out";
		case WA_XCAP_E_TLS:
			return "TLS handshake or certificate verification failed";
		case WA_XCAP_E_HTTP:
			return "unexpected HTTP status";
		case WA_XCAP_E_TOO_BIG:
			return "document too big";
		case WA_XCAP_E_CONTENT:
			return "response is not an XML document";
		case WA_XCAP_E_OTHER:
			return "transfer failed";
	}
	return "unknown error";
}

int wa_xcap_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void wa_xcap_global_cleanup(void)
{
	curl_global_cleanup();
}

/* RFC 3986 pchar minus pct-encoded: unreserved, sub-delims, ':' and '@'. */
static int _wa_xcap_pchar(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	return strchr("-._~!$&'()*+,;=:@", c) != NULL && c != '\0';
}

int wa_xcap_segment(const char *s, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, pos = 0;

	if(s == NULL || out == NULL || size == 0 || len == 0)
		return -1;
	/* a dot segment would be removed by URL normalisation */
	if(s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')))
		return -1;
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(pos + (_wa_xcap_pchar(c) ? 1 : 3) >= size)
			return -1;
		if(_wa_xcap_pchar(c)) {
			out[pos++] = (char)c;
		} else {
			out[pos++] = '%';
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 0x0f];
		}
	}
	out[pos] = '\0';
	return pos > INT_MAX ? -1 : (int)pos;
}

int wa_xcap_url(const char *root, size_t root_len, const char *aor,
		size_t aor_len, char *out, size_t size)
{
	static const char mid[] = "/pres-rules/users/";
	static const char tail[] = "/index";
	size_t i, pos, need;
	int n;

	if(root == NULL || aor == NULL || out == NULL || size == 0 || aor_len == 0)
		return -1;
	if(!_wa_xcap_is_https(root, root_len))
		return -1;
	for(i = 0; i < root_len; i++) {
		unsigned char c = (unsigned char)root[i];
		if(c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
			return -1;
	}
	while(root_len > _WA_XCAP_SCHEME_LEN && root[root_len - 1] == '/')
		root_len--;
	if(root_len == _WA_XCAP_SCHEME_LEN || root[_WA_XCAP_SCHEME_LEN] == '/')
		return -1; /* no host */

	need = root_len + sizeof(mid) - 1 + sizeof(tail) - 1;
	if(need >= size)
		return -1;
	memcpy(out, root, root_len);
	pos = root_len;
	memcpy(out + pos, mid, sizeof(mid) - 1);
	pos += sizeof(mid) - 1;
	n = wa_xcap_segment(
			aor, aor_len, out + pos, size - pos - (sizeof(tail) - 1));
	if(n < 0)
		return -1;
	pos += (size_t)n;
	memcpy(out + pos, tail, sizeof(tail) - 1);
	pos += sizeof(tail) - 1;
	out[pos] = '\0';
	return pos > INT_MAX ? -1 : (int)pos;
}

static size_t _wa_xcap_write_cb(
		char *ptr, size_t size, size_t nmemb, void *userdata)
{
	wa_xcap_client_t *c = userdata;
	wa_xcap_doc_t *doc = c->doc;
	size_t n = size * nmemb;
	long status = 0;
	curl_off_t clen = -1;
	size_t ncap;
	char *nbody;

	if(n > c->max_body - c->seen) {
		c->too_big = 1;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	c->seen += n;
	if(curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK
			|| status != 200)
		return n; /* not a document: dropped */

	if(doc->body == NULL
			&& curl_easy_getinfo(
					   c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen)
					   == CURLE_OK
			&& clen > 0) {
		if((unsigned long long)clen > c->max_body) {
			c->too_big = 1;
			return 0;
		}
		c->cap = (size_t)clen + 1; /* exact: one allocation */
		doc->body = malloc(c->cap);
		if(doc->body == NULL) {
			c->nomem = 1;
			return 0;
		}
	}
	if(doc->len + n + 1 > c->cap) {
		ncap = c->cap ? c->cap : 4096;
		while(ncap < doc->len + n + 1)
			ncap = ncap > SIZE_MAX / 2 ? doc->len + n + 1 : ncap * 2;
		if(ncap > c->max_body + 1)
			ncap = c->max_body + 1;
		nbody = realloc(doc->body, ncap);
		if(nbody == NULL) {
			c->nomem = 1;
			return 0;
		}
		doc->body = nbody;
		c->cap = ncap;
	}
	memcpy(doc->body + doc->len, ptr, n);
	doc->len += n;
	doc->body[doc->len] = '\0';
	return n;
}

/* Keeps the ETag of the last response (a new status line forgets it). */
static size_t _wa_xcap_header_cb(
		char *buf, size_t size, size_t nitems, void *userdata)
{
	wa_xcap_client_t *c = userdata;
	wa_xcap_doc_t *doc = c->doc;
	size_t n = size * nitems, i, b, e;

	if(n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		doc->etag[0] = '\0';
		return n;
	}
	if(n < 5 || !_wa_xcap_ieq(buf, 5, "etag:"))
		return n;
	b = 5;
	e = n;
	while(b < e && (buf[b] == ' ' || buf[b] == '\t'))
		b++;
	while(e > b
			&& (buf[e - 1] == '\r' || buf[e - 1] == '\n' || buf[e - 1] == ' '
					|| buf[e - 1] == '\t'))
		e--;
	doc->etag[0] = '\0';
	if(e == b || e - b > WA_XCAP_ETAG_MAX)
		return n; /* not kept: a truncated ETag would be a wrong one */
	for(i = b; i < e; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if(ch < 0x21 || ch > 0x7e)
			return n;
	}
	memcpy(doc->etag, buf + b, e - b);
	doc->etag[e - b] = '\0';
	return n;
}

static int _wa_xcap_tchar(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* 1 when a Content-Type value names an XML media type: application/xml,
 * text/xml or any type/subtype+xml, any case, with or without parameters. */
static int _wa_xcap_ct_is_xml(const char *ct)
{
	const char *type, *sub;
	size_t tlen, slen;

	while(*ct == ' ' || *ct == '\t')
		ct++;
	type = ct;
	while(_wa_xcap_tchar((unsigned char)*ct))
		ct++;
	tlen = (size_t)(ct - type);
	if(tlen == 0 || *ct != '/')
		return 0;
	sub = ++ct;
	while(_wa_xcap_tchar((unsigned char)*ct))
		ct++;
	slen = (size_t)(ct - sub);
	while(*ct == ' ' || *ct == '\t')
		ct++;
	if(slen == 0 || (*ct != '\0' && *ct != ';'))
		return 0;
	if(_wa_xcap_ieq(sub, slen, "xml"))
		return _wa_xcap_ieq(type, tlen, "application")
			   || _wa_xcap_ieq(type, tlen, "text");
	return slen > 4 && _wa_xcap_ieq(sub + slen - 4, 4, "+xml");
}

static int _wa_xcap_map_curl(CURLcode res)
{
	switch(res) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			return WA_XCAP_E_CONNECT;
		case CURLE_OPERATION_TIMEDOUT:
			return WA_XCAP_E_TIMEOUT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00
		case CURLE_SSL_CLIENTCERT:
#endif
			return WA_XCAP_E_TLS;
		case CURLE_OUT_OF_MEMORY:
			return WA_XCAP_E_NOMEM;
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			return WA_XCAP_E_ARG;
		default:
			return WA_XCAP_E_OTHER;
	}
}

wa_xcap_client_t *wa_xcap_client_new(const wa_xcap_cfg_t *cfg)
{
	wa_xcap_client_t *c = NULL;
	long cto, to;
	int ok;

	if(cfg == NULL || cfg->ca_file == NULL || cfg->ca_file[0] == '\0'
			|| cfg->connect_timeout_ms < 0 || cfg->timeout_ms < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if(c == NULL)
		return NULL;
	c->ca_file = strdup(cfg->ca_file);
	c->easy = curl_easy_init();
	if(c->ca_file == NULL || c->easy == NULL)
		goto error;
	c->max_body = cfg->max_body ? cfg->max_body : WA_XCAP_DEF_MAX_BODY;
	c->any_content = cfg->any_content;
	if(c->max_body == (size_t)-1)
		c->max_body--; /* room for the NUL */
	cto = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
								  : WA_XCAP_DEF_CONNECT_TIMEOUT_MS;
	to = cfg->timeout_ms ? cfg->timeout_ms : WA_XCAP_DEF_TIMEOUT_MS;

	/* every option once, for the handle's life; any failure is fatal */
	ok = curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 1L) == CURLE_OK
#if LIBCURL_VERSION_NUM >= 0x075500
		 && curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "https")
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_REDIR_PROTOCOLS_STR, "https")
					== CURLE_OK
#else
		 && curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS)
					== CURLE_OK
		 && curl_easy_setopt(
					c->easy, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS)
					== CURLE_OK
#endif
		 && curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_MAXREDIRS, 0L) == CURLE_OK
		 /* "": no proxy, whatever the environment says */
		 && curl_easy_setopt(c->easy, CURLOPT_PROXY, "") == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_CAINFO, c->ca_file) == CURLE_OK
		 /* the configured CA file is the only trust anchor */
		 && curl_easy_setopt(c->easy, CURLOPT_CAPATH, NULL) == CURLE_OK
		 && curl_easy_setopt(
					c->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, cto)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, to) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L) == CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_USERAGENT, _WA_XCAP_USER_AGENT)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, _wa_xcap_write_cb)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c) == CURLE_OK
		 && curl_easy_setopt(
					c->easy, CURLOPT_HEADERFUNCTION, _wa_xcap_header_cb)
					== CURLE_OK
		 && curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c) == CURLE_OK;
	if(!ok)
		goto error;
	return c;

error:
	wa_xcap_client_free(c);
	return NULL;
}

void wa_xcap_client_free(wa_xcap_client_t *c)
{
	if(c == NULL)
		return;
	if(c->easy)
		curl_easy_cleanup(c->easy);
	free(c->ca_file);
	free(c);
}

void wa_xcap_doc_free(wa_xcap_doc_t *doc)
{
	if(doc == NULL)
		return;
	free(doc->body);
	memset(doc, 0, sizeof(*doc));
}

/* 1 when `etag` may go into If-None-Match as is: visible ASCII, bounded. */
static int _wa_xcap_etag_ok(const char *etag)
{
	size_t i;

	for(i = 0; etag[i] != '\0'; i++) {
		if(i >= WA_XCAP_ETAG_MAX)
			return 0;
		if((unsigned char)etag[i] < 0x21 || (unsigned char)etag[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* What a completed transfer's status means. */
static int _wa_xcap_map_status(
		wa_xcap_client_t *c, wa_xcap_doc_t *doc, int conditional)
{
	char *ct = NULL;
	char text[WA_XCAP_ERR_SIZE];

	switch(doc->status) {
		case 200:
			break;
		case 304:
			if(conditional)
				return WA_XCAP_NOT_MODIFIED;
			_wa_xcap_set_err(doc, "HTTP 304 to an unconditional request");
			return WA_XCAP_E_HTTP;
		case 404:
			return WA_XCAP_NOT_FOUND;
		default:
			snprintf(text, sizeof(text), "HTTP %ld", doc->status);
			_wa_xcap_set_err(doc, text);
			return WA_XCAP_E_HTTP;
	}
	if(doc->body == NULL || doc->len == 0) {
		_wa_xcap_set_err(doc, "empty body");
		return WA_XCAP_E_CONTENT;
	}
	if(curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK
			|| ct == NULL) {
		_wa_xcap_set_err(doc, "no Content-Type");
		return WA_XCAP_E_CONTENT;
	}
	if(!c->any_content && !_wa_xcap_ct_is_xml(ct)) {
		snprintf(text, sizeof(text), "Content-Type is not XML: %.64s", ct);
		_wa_xcap_set_err(doc, text);
		return WA_XCAP_E_CONTENT;
	}
	return WA_XCAP_OK;
}

int wa_xcap_fetch(wa_xcap_client_t *c, const char *url, const char *etag,
		wa_xcap_doc_t *out)
{
	char inm[sizeof(_WA_XCAP_INM) + WA_XCAP_ETAG_MAX];
	struct curl_slist *hdrs = NULL;
	int conditional, ret = WA_XCAP_E_OTHER;
	long status = 0;
	CURLcode res;

	if(out == NULL)
		return WA_XCAP_E_ARG;
	memset(out, 0, sizeof(*out));
	if(c == NULL || url == NULL || !_wa_xcap_is_https(url, strlen(url))) {
		_wa_xcap_set_err(out, "URL is not https");
		return WA_XCAP_E_ARG;
	}
	conditional = etag != NULL && etag[0] != '\0';
	if(conditional) {
		if(!_wa_xcap_etag_ok(etag)) {
			_wa_xcap_set_err(out, "ETag is not a valid entity-tag");
			return WA_XCAP_E_ARG;
		}
		snprintf(inm, sizeof(inm), "%s%s", _WA_XCAP_INM, etag);
		hdrs = curl_slist_append(NULL, inm);
		if(hdrs == NULL) {
			_wa_xcap_set_err(out, "out of memory");
			return WA_XCAP_E_NOMEM;
		}
	}

	c->doc = out;
	c->cap = 0;
	c->seen = 0;
	c->too_big = 0;
	c->nomem = 0;
	c->errbuf[0] = '\0';
	if(curl_easy_setopt(c->easy, CURLOPT_URL, url) != CURLE_OK
			|| curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs)
					   != CURLE_OK) {
		_wa_xcap_set_err(out, "cannot set the request");
		ret = WA_XCAP_E_NOMEM;
		goto out;
	}

	res = curl_easy_perform(c->easy);
	if(curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		out->status = status;

	if(c->nomem) {
		_wa_xcap_set_err(out, "out of memory");
		ret = WA_XCAP_E_NOMEM;
	} else if(c->too_big && out->status == 200) {
		_wa_xcap_set_err(out, "body over max_body");
		ret = WA_XCAP_E_TOO_BIG;
	} else if(c->too_big) {
		/* an oversized error page: its status is the answer */
		ret = _wa_xcap_map_status(c, out, conditional);
	} else if(res != CURLE_OK) {
		_wa_xcap_set_err(
				out, c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
		ret = _wa_xcap_map_curl(res);
	} else {
		ret = _wa_xcap_map_status(c, out, conditional);
	}

out:
	/* the handle must not point at the list or the document any more */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	c->doc = NULL;
	if(ret != WA_XCAP_OK) {
		free(out->body);
		out->body = NULL;
		out->len = 0;
	}
	return ret;
}
