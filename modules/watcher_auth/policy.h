/*
 * watcher_auth: the presentity's Subscription Authorization Policy.
 *
 * An RFC 5025 pres-rules document (RFC 4745 common-policy) plus this
 * project's actions <ps:authenticate> and <ps:encrypt> (namespace
 * urn:x-presence-security:rules) is parsed with libxml2 under strict limits
 * and compiled into ONE contiguous, pointer-free block: every reference in it
 * is an offset from its start. The caller allocates it (pkg or shm), may
 * memcpy it anywhere, and evaluates it without libxml2.
 *
 * Pure logic, no Kamailio headers.
 */
#ifndef _WATCHER_AUTH_POLICY_H_
#define _WATCHER_AUTH_POLICY_H_

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WA_POLICY_NS_CP "urn:ietf:params:xml:ns:common-policy"
#define WA_POLICY_NS_PR "urn:ietf:params:xml:ns:pres-rules"
#define WA_POLICY_NS_PS "urn:x-presence-security:rules"

/* Defaults used when a limit is 0 (or no limits are given). */
#define WA_POLICY_DEF_MAX_SIZE 65536
#define WA_POLICY_DEF_MAX_DEPTH 32
#define WA_POLICY_DEF_MAX_RULES 256
/* Hard ceiling on max_size, whatever the caller asks for. */
#define WA_POLICY_MAX_SIZE_CAP (16 * 1024 * 1024)

/* Credentials reported by one evaluation (the rest: creds_truncated). */
#define WA_POLICY_MAX_CREDS 8
/* Longest canonical identity (scheme:user@host) that can match. */
#define WA_POLICY_URI_MAX 512

typedef enum wa_policy_err
{
	WA_POLICY_OK = 0,
	WA_POLICY_E_ARG = -1,		/* bad argument */
	WA_POLICY_E_NOMEM = -2,		/* allocator failed */
	WA_POLICY_E_TOO_BIG = -3,	/* document larger than max_size */
	WA_POLICY_E_DTD = -4,		/* DOCTYPE, entity declaration or reference */
	WA_POLICY_E_PARSE = -5,		/* not well-formed XML / not UTF-8 */
	WA_POLICY_E_TOO_DEEP = -6,	/* elements nested deeper than max_depth */
	WA_POLICY_E_ROOT = -7,		/* root element is not cp:ruleset */
	WA_POLICY_E_TOO_MANY = -8,	/* more rules than max_rules */
	WA_POLICY_E_IDENTITY = -9,	/* <one>/<except> id or domain bad or missing */
	WA_POLICY_E_SPHERE = -10,	/* <sphere> without value */
	WA_POLICY_E_VALIDITY = -11, /* bad timestamp, <from> without <until> */
	WA_POLICY_E_AUTH = -12,		/* <ps:authenticate> credential or attr bad */
	WA_POLICY_E_CORRUPT = -13,	/* compiled block fails wa_policy_check() */
} wa_policy_err_t;

/* Where compilation failed: code and the line of the offending element
 * (0 when unknown). Never holds document content. */
typedef struct wa_policy_errinfo
{
	wa_policy_err_t code;
	int line;
} wa_policy_errinfo_t;

typedef struct wa_policy_limits
{
	size_t max_size;	/* document bytes, 0: WA_POLICY_DEF_MAX_SIZE */
	unsigned max_depth; /* element nesting, 0: WA_POLICY_DEF_MAX_DEPTH */
	unsigned max_rules; /* <rule> elements, 0: WA_POLICY_DEF_MAX_RULES */
} wa_policy_limits_t;

/* RFC 5025 sub-handling, ordered so that combining rules is a max(). */
#define WA_POLICY_SUB_NONE (-1) /* no matching rule said anything */
#define WA_POLICY_SUB_BLOCK 0
#define WA_POLICY_SUB_CONFIRM 10
#define WA_POLICY_SUB_POLITE_BLOCK 20
#define WA_POLICY_SUB_ALLOW 30

/* The compiled policy: opaque, one contiguous block of wa_policy_size()
 * bytes holding no pointers (offsets from its start only), so it can be
 * copied as is, e.g. into shared memory, to any address aligned as malloc()
 * (or shm_malloc()) aligns: 8 bytes at least. */
typedef struct wa_policy wa_policy_t;

typedef struct wa_policy_result
{
	/* rules whose conditions all evaluated TRUE */
	unsigned matched;
	/* rules with no FALSE condition but an undecidable one (unknown
	 * condition element, <sphere> with no sphere given, <many> with an
	 * unknown extension child): RFC 4745 says they do not match, so they
	 * grant nothing (no sub-handling, not counted in matched), but their
	 * demands (authenticate, encrypt, unknown action) are applied anyway:
	 * an undecidable condition must not switch a demand off */
	unsigned undecided;
	/* max over matched rules; WA_POLICY_SUB_NONE when no matched rule had
	 * <pr:sub-handling>: the caller applies its default */
	int sub_handling;
	/* a matched rule held a sub-handling value outside RFC 5025's four
	 * tokens; it was counted as block */
	int sub_handling_unknown;
	/* the watcher URI was given and canonicalized (wa_policy_uri_canon) */
	int identity_ok;
	/* a matching rule demands authentication */
	int authenticate;
	/* ... with a method other than "digest": the caller must fail closed */
	int auth_unknown_method;
	/* ... and one demanding rule says transport="tls" */
	int auth_tls;
	/* a matching rule demands S/MIME encryption */
	int encrypt;
	/* a matching rule holds an element of the ps: namespace this version
	 * does not know (maybe a newer demand): the caller must fail closed */
	int unknown_action;
	/* credentials of the demanding rules, in document order: indices for
	 * wa_policy_cred_get() */
	unsigned ncreds;
	int creds_truncated; /* more than WA_POLICY_MAX_CREDS */
	uint32_t creds[WA_POLICY_MAX_CREDS];
} wa_policy_result_t;

/* One <ps:authenticate method="digest"> credential. Strings point into the
 * compiled block and are NUL-terminated; NULL when absent. */
typedef struct wa_policy_cred
{
	const char *rule_id;	/* "" when the rule had no id */
	const char *password;	/* secret */
	const char *ha1;		/* 32 lowercase hex, secret */
	const char *ha1_sha256; /* 64 lowercase hex, secret */
	const char *realm;		/* NULL: the caller's default realm */
	int tls;				/* transport="tls" */
} wa_policy_cred_t;

/*
 * Parse and compile a policy document of `len` bytes (need not be
 * NUL-terminated). `lim` may be NULL for defaults, `alloc` NULL for malloc.
 * On success *out is one block of *size bytes from `alloc`, owned by the
 * caller (free it with the matching free). Returns 0 or a negative
 * wa_policy_err_t; `err` (may be NULL) gets the code and line.
 */
int wa_policy_compile(const char *xml, size_t len,
		const wa_policy_limits_t *lim, void *(*alloc)(size_t),
		wa_policy_t **out, size_t *size, wa_policy_errinfo_t *err);

/* Bytes of the compiled block (what to memcpy). */
size_t wa_policy_size(const wa_policy_t *p);

/* Number of <rule> elements compiled. */
unsigned wa_policy_rule_count(const wa_policy_t *p);

/* Check that `size` bytes at `blk` are a well-formed compiled block (every
 * offset and index in range, strings terminated): 0 or WA_POLICY_E_CORRUPT. */
int wa_policy_check(const void *blk, size_t size);

/*
 * Evaluate the policy for one watcher. `watcher_uri` (len bytes, may be
 * NULL/0 for an unauthenticated watcher) is canonicalized as
 * wa_policy_uri_canon() does; `sphere` is the presentity's current sphere
 * (NULL: unknown); `now` the time for <validity>. Fills *res. Returns 0 or
 * WA_POLICY_E_ARG.
 */
int wa_policy_eval(const wa_policy_t *p, const char *watcher_uri, size_t len,
		const char *sphere, time_t now, wa_policy_result_t *res);

/* Credential `idx` (from wa_policy_result_t.creds): 0 or WA_POLICY_E_ARG. */
int wa_policy_cred_get(
		const wa_policy_t *p, uint32_t idx, wa_policy_cred_t *cred);

/*
 * Canonical identity used for every identity comparison (lib/sip_canon.c,
 * with which notify_smime compares a certificate's subjectAltName):
 *  - display name and <...> dropped, surrounding whitespace trimmed;
 *  - sip and sips: "sip:" user "@" host, where the scheme is written "sip"
 *    (a sips identity is the same identity), the user part is
 *    percent-decoded (a byte that may not stand unescaped in a user part
 *    stays escaped, hex in upper case, so that the canonical form is
 *    canonical again) and kept case-sensitive (RFC 3261), port, URI
 *    parameters and headers are dropped, the host is lowercased and a
 *    trailing dot removed (an empty label is malformed: "a..b", "a..");
 *    a URI with a password (user:password@) is malformed: it matches no
 *    identity;
 *  - any other scheme (tel, ...): lowercased scheme, ":" and the rest
 *    verbatim (such identities have no domain for <many domain>).
 * Writes a NUL-terminated string; returns its length, or -1 when the URI is
 * malformed or does not fit (a malformed watcher matches no identity).
 */
int wa_policy_uri_canon(const char *uri, size_t len, char *out, size_t size);

/*
 * Describe the policy for an operator (RPC "show"): one line per rule with
 * its id, conditions, and actions; credential kinds, never their values.
 * snprintf semantics: returns the length of the full description; the
 * output is truncated (and NUL-terminated when size > 0) if it is >= size.
 */
int wa_policy_describe(const wa_policy_t *p, char *buf, size_t size);

const char *wa_policy_strerror(int err);
const char *wa_policy_sub_handling_str(int sub_handling);

#endif
