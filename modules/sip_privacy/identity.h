/*
 * sip_privacy: network asserted identity at the P-CSCF (RFC 3325, 3GPP TS
 * 24.229 5.2.6.3). Pure logic, no Kamailio headers: a parser for
 * P-Asserted-Identity / P-Preferred-Identity values, the canonical
 * comparison of identities, the assertion decision for a request from the
 * UE side, and whether P-Asserted-Identity may leave toward an untrusted hop.
 *
 *   PAssertedID       = "P-Asserted-Identity" HCOLON PAssertedID-value
 *                       *(COMMA PAssertedID-value)
 *   PAssertedID-value = name-addr / addr-spec
 *   (P-Preferred-Identity alike)
 *
 * Decisions (the module's documentation repeats them):
 *  - Every header of the kind is read; together they hold at most one
 *    sip/sips URI and at most one tel URI (RFC 3325 9.1), no other scheme:
 *    anything else is invalid as a whole.
 *  - An addr-spec holding ';' or '?' must be in angle brackets (RFC 3261
 *    20); a ',' outside brackets always separates values. There are no
 *    header parameters: anything after '>' but LWS and ',' is invalid.
 *  - A sip URI with a password is refused, as watcher_auth refuses one.
 *    A tel URI follows RFC 3966: a local number needs its phone-context.
 *  - Identities compare canonically: same scheme (sip and sips differ,
 *    RFC 3261 19.1.4); sip: the user part byte for byte (case-sensitive,
 *    %-escapes not decoded: an escaped spelling does not match, which only
 *    ever falls back to the default identity), host[:port] ASCII
 *    case-insensitive, URI parameters and headers ignored; tel: global
 *    or local alike, the digits (hex digits, '*', '#' for a local number)
 *    case-insensitive with the visual separators -.() ignored, parameters
 *    ignored except a local number's phone-context, compared
 *    case-insensitively (a local number means nothing without it).
 *  - What is asserted is the user's provisioned identity (the URI of the
 *    entry that matched), never the bytes the UE sent: the UE's display
 *    name and URI parameters are not asserted.
 */
#ifndef _SIP_PRIVACY_IDENTITY_H_
#define _SIP_PRIVACY_IDENTITY_H_

#include <stddef.h>

#include "privacy.h"

/* Bounds of the parser. */
#define SP_ID_MAX_HDR_LEN 1024	  /* bytes of one header value */
#define SP_ID_MAX_URI_LEN 256	  /* bytes of one URI */
#define SP_ID_MAX_DISPLAY_LEN 128 /* bytes of a display-name, quotes included */
#define SP_ID_MAX_VALUES 2		  /* one sip/sips and one tel */

typedef enum sp_id_scheme
{
	SP_ID_SCHEME_NONE = 0,
	SP_ID_SCHEME_SIP,
	SP_ID_SCHEME_SIPS,
	SP_ID_SCHEME_TEL
} sp_id_scheme_t;

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum sp_id_rc
{
	SP_ID_OK = 0,
	SP_ID_ERR_ARG = -1,			/* NULL or invalid argument */
	SP_ID_ERR_TOO_LONG = -2,	/* header, URI or display-name over bounds */
	SP_ID_ERR_EMPTY = -3,		/* no header, an empty header or value */
	SP_ID_ERR_SYNTAX = -4,		/* not a name-addr / addr-spec list */
	SP_ID_ERR_UNBRACKETED = -5, /* addr-spec with ';' or '?' outside <> */
	SP_ID_ERR_SCHEME = -6,		/* not a sip, sips or tel URI */
	SP_ID_ERR_URI = -7,			/* malformed URI */
	SP_ID_ERR_PASSWORD = -8,	/* sip URI with a password */
	SP_ID_ERR_TOO_MANY = -9,	/* a second sip/sips or tel value */
	SP_ID_ERR_NO_IDENTITY = -10 /* registered, but no valid default identity */
} sp_id_rc_t;

/* A parsed sip, sips or tel URI: slices into the input. */
typedef struct sp_id_uri
{
	sp_id_scheme_t scheme;
	sp_str_t uri;  /* the whole URI */
	sp_str_t user; /* sip: user part (s NULL when none); tel: the number as
					  written, '+' included */
	sp_str_t host; /* sip: host[:port]; tel: phone-context of a local number
					  (s NULL for a global one) */
	int global;	   /* tel: a global number */
} sp_id_uri_t;

/* One value of a P-Asserted-Identity / P-Preferred-Identity header. */
typedef struct sp_id_value
{
	sp_id_uri_t uri;
	sp_str_t display; /* display-name as written, quotes included; s NULL
						 when absent */
} sp_id_value_t;

/* All values of the headers of one kind, in order. */
typedef struct sp_id_list
{
	sp_id_value_t v[SP_ID_MAX_VALUES];
	size_t n;
} sp_id_list_t;

/* Why an assertion came out as it did. */
typedef enum sp_id_why
{
	SP_ID_WHY_UNREGISTERED = 0, /* not from a registered contact: nothing */
	SP_ID_WHY_PREFERRED,		/* P-Preferred-Identity among the user's */
	SP_ID_WHY_DEFAULT			/* the default identity */
} sp_id_why_t;

/*
 * The P-Asserted-Identity to insert at the P-CSCF. Whatever it says, the
 * caller removes every P-Preferred-Identity and every P-Asserted-Identity
 * the request brought from the UE side, then inserts `pai` (if any).
 */
typedef struct sp_id_assertion
{
	sp_id_why_t why;
	size_t n;						/* 0 to SP_ID_MAX_VALUES */
	sp_str_t pai[SP_ID_MAX_VALUES]; /* URIs: slices of the identities */
	int ppi_present;				/* the request had P-Preferred-Identity */
	int ppi_rc;					/* its parse result (0 when absent or valid) */
	unsigned int ppi_unmatched; /* its values not among the identities */
} sp_id_assertion_t;

/* What to do with P-Asserted-Identity toward an untrusted hop when the
 * Privacy does not ask for "id" (absent, or other values only). */
typedef enum sp_id_absent_policy
{
	SP_ID_ABSENT_KEEP = 0, /* forward it (RFC 3325 default) */
	SP_ID_ABSENT_REMOVE	   /* remove it anyway */
} sp_id_absent_policy_t;

/* A short English text for a return code, for the log. */
const char *sp_id_strerror(int rc);

/* Parses one sip, sips or tel URI, `len` bytes at `s`. */
int sp_id_uri_parse(const char *s, size_t len, sp_id_uri_t *u);

/* 1 when two parsed URIs name the same identity (see above), 0 otherwise. */
int sp_id_uri_equal(const sp_id_uri_t *a, const sp_id_uri_t *b);

/*
 * Parses the values of all `n` headers of one kind (P-Asserted-Identity or
 * P-Preferred-Identity), each `len` bytes at `s` (no NUL needed, none read
 * past `len`). SP_ID_OK and `l` filled (slices into the headers), or an
 * error and `l` empty: one bad value makes the whole set invalid. No header
 * at all (n 0) is SP_ID_ERR_EMPTY.
 */
int sp_id_parse(const sp_str_t *hdrs, size_t n, sp_id_list_t *l);

/*
 * One entry of a user's identity table: a plain URI (its parameters
 * allowed, it is alone) or a single name-addr / addr-spec. 1 and `u` set
 * (slices of `id`), or 0 when it is not a valid identity.
 */
int sp_id_entry_parse(const sp_str_t *id, sp_id_uri_t *u);

/*
 * The assertion of the P-CSCF for a request from the UE side.
 *  registered: the request came from a registered contact (its source
 *    address, port, transport or connection matched);
 *  ids, nids: the user's public identities, each one a URI (plain, its
 *    parameters allowed, or a single name-addr / addr-spec), ids[0] the
 *    default one; an invalid entry other than the default is skipped;
 *  ppi, nppi: the P-Preferred-Identity header values (0 when none).
 * Not registered: nothing asserted. Registered: the public identities that
 * the PPI values name (canonical comparison), in PPI order, when at least
 * one does; else (no PPI, an invalid PPI, or none of its values the
 * user's) the default identity. SP_ID_OK, SP_ID_ERR_ARG, or
 * SP_ID_ERR_NO_IDENTITY when registered without a valid default identity
 * (then nothing is asserted: the caller rejects or forwards unasserted).
 */
int sp_id_assert(int registered, const sp_str_t *ids, size_t nids,
		const sp_str_t *ppi, size_t nppi, sp_id_assertion_t *a);

/*
 * The P-Asserted-Identity header value of an assertion into `buf`, NUL
 * terminated: "<uri>" or "<uri>, <uri>". Its length, or -1 when nothing
 * is asserted or `size` is too small.
 */
int sp_id_pai_format(const sp_id_assertion_t *a, char *buf, size_t size);

/*
 * 1 when P-Asserted-Identity must be removed before forwarding to an
 * untrusted hop, 0 when it may go. `requested` is what the Privacy asks for
 * (sp_priv_requested(): an unparsable one includes "id"): "id" removes
 * it; "none" alone keeps it (RFC 3323: no privacy function "regardless of
 * ... default behavior of the service"); otherwise `policy` decides, and a
 * policy out of range removes it.
 */
int sp_id_pai_remove(unsigned int requested, sp_id_absent_policy_t policy);

#endif
