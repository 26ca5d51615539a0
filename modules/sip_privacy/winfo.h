/*
 * sip_privacy: anonymous watchers in watcher information documents
 * (RFC 3857 event package presence.winfo, RFC 3858 format
 * application/watcherinfo+xml). Pure C on libxml2 and OpenSSL, no
 * Kamailio headers.
 *
 * A Presence Server authorizes an anonymous watcher on its asserted
 * identity, but the presentity must never learn it: in the watcherinfo
 * documents it receives, such a watcher appears as SP_WINFO_ANON_URI,
 * without display name, with an opaque id that stays the same for the
 * same subscription (an HMAC of the presentity and the entry's original id,
 * which Kamailio's presence takes from the subscription's Call-ID).
 *
 * Decisions (the module's documentation repeats them):
 *  - Which watchers are anonymous is the caller's answer, per entry, from
 *    the entry's id, URI and the resource of its watcher-list.
 *  - Every element whose local name is "watcher", in any namespace and at
 *    any depth, is an entry: presence puts them in watcher-list elements
 *    of the watcherinfo namespace, but a stray one is not left unexamined.
 *  - An anonymized entry keeps only the attributes that say nothing about
 *    the watcher (status, event, expiration, duration-subscribed) and gets
 *    the opaque id; display-name, xml:lang and any extension attribute
 *    go, and its content (the URI, any child) becomes SP_WINFO_ANON_URI.
 *  - Everything else in the document is left as it was; a document with
 *    no anonymous entry is not re-serialized at all.
 *  - Fail closed: a body that is not a well-formed watcherinfo document
 *    (root element "watcherinfo" in SP_WINFO_NS), has a DTD, is over
 *    SP_WINFO_MAX_BODY, or for which the caller cannot say whether an
 *    entry is anonymous, is an error: the caller must not send it (the
 *    module sends the NOTIFY without a body).
 */
#ifndef _SIP_PRIVACY_WINFO_H_
#define _SIP_PRIVACY_WINFO_H_

#include <stddef.h>

#define SP_WINFO_NS "urn:ietf:params:xml:ns:watcherinfo"
#define SP_WINFO_CTYPE "application/watcherinfo+xml"
#define SP_WINFO_ANON_URI "sip:anonymous@anonymous.invalid"

#define SP_WINFO_MAX_BODY (256 * 1024) /* bytes of a document */
#define SP_WINFO_MAX_FIELD 1024		   /* bytes of a resource or an id hashed */

/* The secret of the opaque ids: 16 to 64 bytes (32 to 128 hex digits). */
#define SP_WINFO_KEY_MIN 16
#define SP_WINFO_KEY_MAX 64

/* An opaque id: HMAC-SHA256 in base64url without padding, and a NUL. */
#define SP_WINFO_ID_LEN 43
#define SP_WINFO_ID_SIZE (SP_WINFO_ID_LEN + 1)

typedef enum sp_winfo_rc
{
	SP_WINFO_OK = 0,
	SP_WINFO_ERR_ARG = -1,		 /* NULL or invalid argument */
	SP_WINFO_ERR_TOO_LONG = -2,	 /* body or field over the bounds */
	SP_WINFO_ERR_PARSE = -3,	 /* not well-formed XML, or with a DTD */
	SP_WINFO_ERR_NOT_WINFO = -4, /* well-formed, not a watcherinfo doc */
	SP_WINFO_ERR_LOOKUP = -5,	 /* the caller could not classify an entry */
	SP_WINFO_ERR_MEM = -6,		 /* out of memory */
	SP_WINFO_ERR_CRYPTO = -7	 /* HMAC failed */
} sp_winfo_rc_t;

typedef struct sp_winfo_key
{
	unsigned char k[SP_WINFO_KEY_MAX];
	size_t len;
} sp_winfo_key_t;

/* One watcher entry, as the caller's predicate sees it. Each string is
 * NUL terminated as well; absent ones are "" with length 0. */
typedef struct sp_winfo_watcher
{
	const char *resource; /* the watcher-list's resource (the presentity) */
	size_t resource_len;
	const char *id; /* the id attribute */
	size_t id_len;
	const char *uri; /* the content, XML whitespace trimmed */
	size_t uri_len;
} sp_winfo_watcher_t;

/* 1: the entry is an anonymous watcher; 0: it is not; < 0: unknown (the
 * rewrite fails with SP_WINFO_ERR_LOOKUP). */
typedef int (*sp_winfo_anon_f)(void *arg, const sp_winfo_watcher_t *w);

typedef struct sp_winfo_out
{
	char *body; /* the rewritten document, or NULL: send the body as is */
	size_t len;
	unsigned int watchers;	 /* entries seen */
	unsigned int anonymized; /* entries rewritten */
} sp_winfo_out_t;

/* A short English text for a return code, for the log. */
const char *sp_winfo_strerror(int rc);

/* A key from `len` bytes of hex digits (ASCII whitespace around them is
 * ignored): SP_WINFO_OK, or SP_WINFO_ERR_ARG (not hex, odd, too short or
 * too long). */
int sp_winfo_key_from_hex(const char *s, size_t len, sp_winfo_key_t *key);

/* The opaque id of the entry `id` of `resource`'s list into out (NUL
 * terminated): base64url(HMAC-SHA256(key, "sp_winfo" 0x00 resource 0x00
 * id)). */
int sp_winfo_opaque_id(const sp_winfo_key_t *key, const char *resource,
		size_t resource_len, const char *id, size_t id_len,
		char out[SP_WINFO_ID_SIZE]);

/* 1 when id is the standard base64 (with padding) of uri: the id
 * Kamailio's presence gives a "waiting" watcher, which has no subscription
 * any more and so no Call-ID. */
int sp_winfo_id_is_b64_of(
		const char *id, size_t id_len, const char *uri, size_t uri_len);

/*
 * Rewrites the watcherinfo document `body` (`len` bytes): every entry for
 * which anon() says 1 is anonymized (see above). SP_WINFO_OK with
 * out->body NULL when no entry was anonymized (the body goes unchanged),
 * else with out->body the new document (free it with sp_winfo_out_free());
 * an error code otherwise, and then out->body is NULL.
 */
int sp_winfo_rewrite(const char *body, size_t len, const sp_winfo_key_t *key,
		sp_winfo_anon_f anon, void *arg, sp_winfo_out_t *out);

void sp_winfo_out_free(sp_winfo_out_t *out);

#endif
