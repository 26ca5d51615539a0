/*
 * A document over HTTPS with libcurl, shared by the modules (lib/): for
 * watcher_auth a presentity's pres-rules from an external XCAP server
 * (RFC 4825, RFC 5025), for notify_smime a watcher's certificate from a
 * credential server (cfg.any_content).
 *
 * Pure C, no Kamailio headers, nothing logged: every failure is a return
 * code plus a short text in the document for the caller to log.
 *
 * Transport policy, not configurable: https only (no plain http, no other
 * protocol, redirects never followed), the peer's chain verified against the
 * configured CA file alone and its name against the URL's host, no proxy
 * from the environment, no signals (safe in a multi-process server), a
 * connect and a total timeout, and a bound on the body.
 *
 * Use: wa_xcap_global_init() once in the main process before forking, one
 * wa_xcap_client_t per process (it keeps the connection alive between
 * fetches; never share it between processes or threads), and
 * wa_xcap_global_cleanup() at the very end.
 */
#ifndef _WATCHER_AUTH_XCAP_FETCH_H_
#define _WATCHER_AUTH_XCAP_FETCH_H_

#include <stddef.h>

/* An ETag longer than this is not kept (the xcap table's etag column is
 * VARCHAR(128)). */
#define WA_XCAP_ETAG_MAX 128
/* Room for the error text, NUL included (curl's CURL_ERROR_SIZE). */
#define WA_XCAP_ERR_SIZE 256

/* Defaults used when a configuration value is 0. */
#define WA_XCAP_DEF_CONNECT_TIMEOUT_MS 1000
#define WA_XCAP_DEF_TIMEOUT_MS 2000
#define WA_XCAP_DEF_MAX_BODY 65536

/* Return codes of wa_xcap_fetch(): >= 0 the server answered as XCAP says a
 * server may, < 0 no usable answer. */
typedef enum wa_xcap_rc
{
	WA_XCAP_OK = 0,			  /* 200 with an XML body */
	WA_XCAP_NOT_MODIFIED = 1, /* 304: the caller's copy (etag) is current */
	WA_XCAP_NOT_FOUND = 2,	  /* 404: the presentity has no policy */
	WA_XCAP_E_ARG = -1,		  /* bad argument (URL not https, bad ETag) */
	WA_XCAP_E_NOMEM = -2,	  /* out of memory */
	WA_XCAP_E_CONNECT = -3,	  /* refused, unreachable, unresolvable */
	WA_XCAP_E_TIMEOUT = -4,	  /* connect or total timeout */
	WA_XCAP_E_TLS = -5,		  /* certificate verification or handshake */
	WA_XCAP_E_HTTP = -6,	  /* any other status (3xx, 5xx, ...) */
	WA_XCAP_E_TOO_BIG = -7,	  /* body over max_body */
	WA_XCAP_E_CONTENT = -8,	  /* 200 with an empty body or not XML */
	WA_XCAP_E_OTHER = -9	  /* anything else (connection lost, ...) */
} wa_xcap_rc_t;

typedef struct wa_xcap_cfg
{
	/* PEM file of the CA(s) that may issue the XCAP server's certificate:
	 * required, the only trust anchors (the system store is not used) */
	const char *ca_file;
	long connect_timeout_ms; /* TCP + TLS handshake; 0: default */
	long timeout_ms;		 /* the whole request; 0: default */
	size_t max_body;		 /* bytes; 0: default */
	/* 0: a 200 must carry XML (an XCAP document); 1: any non-empty body,
	 * whose content the caller checks (e.g. a PEM certificate) */
	int any_content;
} wa_xcap_cfg_t;

/* One fetch's outcome. Zero it (or let wa_xcap_fetch do it) before use and
 * release it with wa_xcap_doc_free(). */
typedef struct wa_xcap_doc
{
	char *body; /* malloc'd, NUL-terminated (not counted in len); OK only */
	size_t len;
	/* the response's ETag as received, quotes (and W/) kept, "" when absent,
	 * longer than WA_XCAP_ETAG_MAX or not visible ASCII */
	char etag[WA_XCAP_ETAG_MAX + 1];
	long status; /* HTTP status, 0 when no response was received */
	/* for the log when rc < 0: curl's error text or the reason, printable
	 * ASCII only; "" on success */
	char err[WA_XCAP_ERR_SIZE];
} wa_xcap_doc_t;

typedef struct wa_xcap_client wa_xcap_client_t;

/* curl_global_init(CURL_GLOBAL_DEFAULT): once, before fork. 0 or -1. */
int wa_xcap_global_init(void);
void wa_xcap_global_cleanup(void);

/*
 * The document URL of a presentity's pres-rules (RFC 5025 section 9.5):
 *   <root>/pres-rules/users/<aor>/index
 * `root` (root_len bytes) is the XCAP root URI, with or without trailing
 * slashes; it must begin with "https://" (any case), name a host, and hold
 * no space, control character, '?' or '#'. The AOR becomes one path segment:
 * ':' '@' and RFC 3986 unreserved and sub-delims characters are kept, every
 * other byte percent-encoded ('/', '?', '#', '%', space, non-ASCII, ...); an
 * empty AOR, "." or ".." is refused. Writes a NUL-terminated URL into `out`
 * and returns its length, or -1 on bad input or when it does not fit.
 */
int wa_xcap_url(const char *root, size_t root_len, const char *aor,
		size_t aor_len, char *out, size_t size);

/*
 * `s` (len bytes) as one URL path segment: RFC 3986 pchar kept (unreserved,
 * sub-delims, ':' and '@'), every other byte percent-encoded; an empty
 * segment, "." and ".." are refused. Writes a NUL-terminated segment and
 * returns its length, or -1 on bad input or when it does not fit.
 */
int wa_xcap_segment(const char *s, size_t len, char *out, size_t size);

/* A client for one process; `cfg` is copied. NULL when cfg->ca_file is
 * missing or memory or curl fails. */
wa_xcap_client_t *wa_xcap_client_new(const wa_xcap_cfg_t *cfg);
void wa_xcap_client_free(wa_xcap_client_t *c);

/*
 * GET `url` (https only). With a non-empty `etag` (as a previous fetch
 * returned it) the request is conditional (If-None-Match) and a 304 gives
 * WA_XCAP_NOT_MODIFIED. `out` is overwritten (a body it held is NOT freed:
 * free it first); on WA_XCAP_OK it owns the body. A 200 is only OK with a
 * non-empty body whose Content-Type is application/auth-policy+xml,
 * application/xml, text/xml or another type/subtype+xml (any case,
 * parameters allowed). Blocks for at most the configured timeout.
 */
int wa_xcap_fetch(wa_xcap_client_t *c, const char *url, const char *etag,
		wa_xcap_doc_t *out);

/* Frees the body and clears the document. */
void wa_xcap_doc_free(wa_xcap_doc_t *doc);

/* A short English text for a return code. */
const char *wa_xcap_strerror(int rc);

#endif
