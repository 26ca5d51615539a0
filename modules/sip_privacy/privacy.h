/*
 * sip_privacy: the Privacy header (RFC 3323, plus "id" from RFC 3325) and
 * what a privacy service does about it. Pure logic, no Kamailio headers.
 *
 *   Privacy-hdr = "Privacy" HCOLON priv-value *(";" priv-value)
 *   priv-value  = "header" / "session" / "user" / "none" / "critical"
 *                 / "id" / token
 *
 * Unlike the core's parse_privacy(), which reads the first Privacy header
 * only and fails on an extension value, the parser here reads every
 * Privacy header of a message, keeps unknown extension values (they may
 * belong to another privacy service downstream) and never turns a header it
 * can't read into "no privacy".
 *
 * Decisions (the module's documentation repeats them):
 *  - Tokens are matched exactly, ASCII case-insensitively: "idx" and "i"
 *    are unknown values, not "id". LWS (SP, HTAB, CR, LF: folded lines) is
 *    allowed around every ';' and at both ends of a header value.
 *  - A value repeated (in one header or across several) counts once. RFC
 *    3323 forbids a UA to send duplicates; a receiver can afford to be
 *    lenient because repetition changes nothing.
 *  - An empty value (";;", a leading or trailing ';', an empty header), a
 *    value that is not a token (',', quotes, '=', spaces inside, control
 *    bytes), and anything over the bounds below make the Privacy
 *    "unparsable". So does "none" with any other value, known or not:
 *    RFC 3323 4.2 says a UA MUST NOT send that, and reading it as "none"
 *    would let one stray token switch privacy off.
 *  - An unparsable Privacy asks for every known value that could still be
 *    read plus SP_PRIV_UNPARSABLE_REQUEST (user, header, id): all the
 *    privacy this service gives. Not "session": this proxy can't provide
 *    it, so adding it would only turn a malformed header into a refusal
 *    when "critical" was readable; a readable "session" is kept, though.
 *  - "critical" with an unparsable Privacy refuses the request: the service
 *    can't know that it provides what was asked for (3GPP: "shall not
 *    deliver the message if anonymity is critical and cannot be
 *    provided").
 *  - The rewritten Privacy drops every value the service satisfied, except
 *    "id": trusted nodes downstream must still keep P-Asserted-Identity
 *    from untrusted ones (RFC 3325 9.3). Values not provided (e.g.
 *    "session") and unknown ones stay for a privacy service further on.
 *    "critical" stays while another value stays. When nothing else would
 *    stay the header goes, and with it the "privacy" option-tag of
 *    Proxy-Require (RFC 3323). "none" and an unparsable Privacy are
 *    left as received (RFC 3323 4.2: intermediaries MUST NOT alter
 *    "none"; what can't be read can't be rewritten faithfully).
 */
#ifndef _SIP_PRIVACY_PRIVACY_H_
#define _SIP_PRIVACY_PRIVACY_H_

#include <stddef.h>

/* Bounds of the parser: over them the Privacy is unparsable. */
#define SP_PRIV_MAX_HDRS 16		 /* Privacy headers in one message */
#define SP_PRIV_MAX_HDR_LEN 512	 /* bytes of one Privacy header value */
#define SP_PRIV_MAX_TOKEN_LEN 64 /* bytes of one priv-value */
#define SP_PRIV_MAX_UNKNOWN 8	 /* distinct unknown extension values */

/* The known priv-values, bits of a mask. */
#define SP_PRIV_NONE (1u << 0)
#define SP_PRIV_HEADER (1u << 1)
#define SP_PRIV_SESSION (1u << 2)
#define SP_PRIV_USER (1u << 3)
#define SP_PRIV_ID (1u << 4)
#define SP_PRIV_CRITICAL (1u << 5)

/* The values that ask for a privacy function. */
#define SP_PRIV_FUNCTIONS \
	(SP_PRIV_USER | SP_PRIV_HEADER | SP_PRIV_SESSION | SP_PRIV_ID)

/* What an unparsable Privacy asks for, on top of the values read. */
#define SP_PRIV_UNPARSABLE_REQUEST (SP_PRIV_USER | SP_PRIV_HEADER | SP_PRIV_ID)

/* What this proxy provides: it anonymizes From and removes the user
 * headers, hides its topology, keeps P-Asserted-Identity in the trust
 * domain; it does not anonymize media. */
#define SP_PRIV_CAPS_DEFAULT (SP_PRIV_USER | SP_PRIV_HEADER | SP_PRIV_ID)

/* The From header value "user" privacy puts in place; the caller keeps the
 * original tag parameter. */
#define SP_PRIV_ANON_FROM "\"Anonymous\" <sip:anonymous@anonymous.invalid>"

/* The reason phrase of a refusal: the prefix, then the values not provided
 * separated by ", ", known ones first by name, then unknown ones as
 * received, then SP_PRIV_REASON_UNPARSABLE when that is why. */
#define SP_PRIV_REASON_PREFIX "Privacy Not Provided: "
#define SP_PRIV_REASON_UNPARSABLE "unparsable Privacy header"
#define SP_PRIV_REFUSE_CODE 500

/* Sizes of the decision's strings, terminating NUL included: they hold the
 * longest possible output, so building them never truncates. */
#define SP_PRIV_VALUE_SIZE                     \
	(sizeof("user;header;session;id;critical") \
			+ SP_PRIV_MAX_UNKNOWN * (1 + SP_PRIV_MAX_TOKEN_LEN))
#define SP_PRIV_REASON_SIZE                                           \
	(sizeof(SP_PRIV_REASON_PREFIX                                     \
			 "user, header, session, id, " SP_PRIV_REASON_UNPARSABLE) \
			+ SP_PRIV_MAX_UNKNOWN * (2 + SP_PRIV_MAX_TOKEN_LEN))

/* Actions of a decision, bits of a mask:
 *  ANON_FROM      user: From becomes SP_PRIV_ANON_FROM, its tag kept;
 *  RM_USER_HDRS   user: remove the headers sp_priv_hdr_remove() names;
 *  HIDE_TOPOLOGY  header: hide Via, Record-Route, Contact (topos);
 *  PAI_PRIVATE    id: no P-Asserted-Identity toward an untrusted hop;
 *  ANON_SESSION   session: only when the caps include a media anonymizer. */
#define SP_PRIV_ACT_ANON_FROM (1u << 0)
#define SP_PRIV_ACT_RM_USER_HDRS (1u << 1)
#define SP_PRIV_ACT_HIDE_TOPOLOGY (1u << 2)
#define SP_PRIV_ACT_PAI_PRIVATE (1u << 3)
#define SP_PRIV_ACT_ANON_SESSION (1u << 4)

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum sp_priv_rc
{
	SP_PRIV_OK = 0,
	SP_PRIV_ERR_ARG = -1,		 /* NULL or invalid argument */
	SP_PRIV_ERR_TOO_LONG = -2,	 /* a header value or a token over bounds */
	SP_PRIV_ERR_TOO_MANY = -3,	 /* too many headers or unknown values */
	SP_PRIV_ERR_EMPTY = -4,		 /* an empty priv-value or header */
	SP_PRIV_ERR_SYNTAX = -5,	 /* a priv-value that is not a token */
	SP_PRIV_ERR_NONE_MIXED = -6, /* "none" with another value */
	SP_PRIV_ERR_SPACE = -7		 /* output would not fit (never expected) */
} sp_priv_rc_t;

/* A byte slice, not NUL terminated. */
typedef struct sp_str
{
	const char *s;
	size_t len;
} sp_str_t;

/* The Privacy headers of a message, parsed. */
typedef struct sp_priv
{
	unsigned int mask;	  /* known values read, SP_PRIV_ bits */
	unsigned int unknown; /* unknown values read, each occurrence */
	unsigned int nunk;	  /* distinct unknown values, in unk[] */
	sp_str_t unk[SP_PRIV_MAX_UNKNOWN]; /* slices into the headers, first
										  spelling seen */
	size_t headers;					   /* Privacy headers given */
	int unparsable;	   /* anything but SP_PRIV_OK from the parser */
	int contradictory; /* "none" with another value */
} sp_priv_t;

/* What to do with the Privacy header(s) when forwarding. */
typedef enum sp_priv_hdr_op
{
	SP_PRIV_HDR_KEEP = 0, /* leave them as received (or absent) */
	SP_PRIV_HDR_REPLACE,  /* remove them all, add one holding `value` */
	SP_PRIV_HDR_REMOVE	  /* remove them all, and the "privacy" option-tag
							 from Proxy-Require (drop_proxy_require) */
} sp_priv_hdr_op_t;

/* The decision of a privacy service about one request. */
typedef struct sp_priv_decision
{
	unsigned int requested; /* sp_priv_requested() */
	unsigned int provided;	/* requested functions the service performs */
	unsigned int missing;	/* requested functions it cannot perform */
	unsigned int actions;	/* SP_PRIV_ACT_ bits */
	int refuse;				/* reply SP_PRIV_REFUSE_CODE with `reason` */
	char reason[SP_PRIV_REASON_SIZE]; /* "" unless refuse */
	sp_priv_hdr_op_t hdr_op;
	char value[SP_PRIV_VALUE_SIZE]; /* the new Privacy value for REPLACE,
									   "" otherwise */
	int drop_proxy_require;			/* remove "privacy" from Proxy-Require */
} sp_priv_decision_t;

/* A short English text for a return code, for the log. */
const char *sp_priv_strerror(int rc);

/* The name of one known value ("id"), NULL for anything else. */
const char *sp_priv_value_name(unsigned int bit);

/*
 * Parses the values of all `n` Privacy headers of a message, each `len`
 * bytes at `s` (no NUL needed, none read past `len`); `hdrs` may be NULL
 * when `n` is 0 (no Privacy header). `p` is always filled, best effort: the
 * known values and distinct unknown values (slices into the headers) of
 * every well-formed priv-value, even when another one is malformed; only
 * the first SP_PRIV_MAX_HDRS headers are read. Returns SP_PRIV_OK or the
 * first error met, and then p->unparsable is set.
 */
int sp_priv_parse(const sp_str_t *hdrs, size_t n, sp_priv_t *p);

/*
 * What the Privacy of a message asks for, SP_PRIV_ bits: 0 without a
 * Privacy header; the values read when it parsed ("none" alone when it was
 * "none"); for an unparsable one the known values read, without "none",
 * plus SP_PRIV_UNPARSABLE_REQUEST. NULL asks for as much (fail safe).
 */
unsigned int sp_priv_requested(const sp_priv_t *p);

/*
 * Decides what a privacy service that can perform `caps` (SP_PRIV_ bits of
 * functions, e.g. SP_PRIV_CAPS_DEFAULT) does with a request whose Privacy
 * parsed into `p`: the actions of the functions requested and provided; a
 * refusal when "critical" was asked for and a function is missing, an
 * unknown value is present or the Privacy was unparsable, with the reason
 * phrase; the Privacy header to forward. SP_PRIV_OK or SP_PRIV_ERR_ARG.
 */
int sp_priv_decide(
		const sp_priv_t *p, unsigned int caps, sp_priv_decision_t *d);

/*
 * 1 when a header of this name (`len` bytes, no colon, no spaces) is one
 * that "user" privacy removes: Subject (compact form "s"), Call-Info,
 * Organization, User-Agent, Reply-To, In-Reply-To, ASCII case-insensitive,
 * exact. 0 otherwise.
 */
int sp_priv_user_hdr(const char *name, size_t len);

/* 1 when a decision with `actions` removes the header of this name. */
int sp_priv_hdr_remove(unsigned int actions, const char *name, size_t len);

#endif
