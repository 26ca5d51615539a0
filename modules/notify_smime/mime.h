/*
 * notify_smime: the MIME around S/MIME bodies in SIP (RFC 3261 23.4,
 * RFC 8551, RFC 2045/2046, RFC 1847). Pure string handling, no Kamailio
 * headers: every input is a pointer and a length, never read past, and
 * every output is bounded by the caller's buffer.
 *
 * Transfer encoding: SIP is 8-bit clean, so what this file builds is
 * "binary" (the inner entity carries none, which RFC 3261 23.4's examples
 * do too; the signature part of a multipart/signed says "binary"). What it
 * parses may be 7bit, 8bit, binary or base64; base64 is decoded.
 */
#ifndef _NOTIFY_SMIME_MIME_H_
#define _NOTIFY_SMIME_MIME_H_

#include <stddef.h>

/* Bounds: longer input is refused with NS_MIME_ERR_TOO_LONG before it is
 * read. */
#define NS_MIME_MAX_LEN (1024 * 1024) /* an entity or multipart body */
#define NS_MIME_MAX_HDRS_LEN 8192	  /* the header block of an entity */
#define NS_MIME_MAX_CTYPE_LEN 1024	  /* a Content-Type value */
#define NS_MIME_MAX_PARAMS 16		  /* parameters of a Content-Type */
#define NS_MIME_MAX_BOUNDARY 70		  /* RFC 2046 5.1.1 */

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum ns_mime_rc
{
	NS_MIME_OK = 0,
	NS_MIME_ERR_ARG = -1,			/* NULL or invalid argument */
	NS_MIME_ERR_TOO_LONG = -2,		/* input over the bounds above */
	NS_MIME_ERR_NOSPACE = -3,		/* output buffer too small */
	NS_MIME_ERR_SYNTAX = -4,		/* Content-Type syntax */
	NS_MIME_ERR_DUPLICATE = -5,		/* a parameter or header given twice */
	NS_MIME_ERR_TOO_MANY = -6,		/* more than NS_MIME_MAX_PARAMS */
	NS_MIME_ERR_HEADER = -7,		/* malformed header line in an entity */
	NS_MIME_ERR_TRUNCATED = -8,		/* headers not ended by an empty line */
	NS_MIME_ERR_NO_CTYPE = -9,		/* entity without Content-Type */
	NS_MIME_ERR_CTE = -10,			/* transfer encoding not supported */
	NS_MIME_ERR_BASE64 = -11,		/* invalid base64 */
	NS_MIME_ERR_BOUNDARY = -12,		/* boundary missing or not RFC 2046 */
	NS_MIME_ERR_NO_DELIMITER = -13, /* no boundary delimiter line */
	NS_MIME_ERR_NO_CLOSE = -14,		/* no close delimiter */
	NS_MIME_ERR_PARTS = -15,		/* not exactly two body parts */
	NS_MIME_ERR_DELIMITER = -16,	/* a line that starts like a delimiter
									   but is none, or junk after one */
	NS_MIME_ERR_NOT_SIGNED = -17,	/* not multipart/signed */
	NS_MIME_ERR_PROTOCOL = -18,		/* protocol is not pkcs7-signature */
	NS_MIME_ERR_SIG_TYPE = -19,		/* 2nd part not pkcs7-signature */
	NS_MIME_ERR_EMPTY = -20,		/* empty signed part or signature */
	NS_MIME_ERR_IN_CONTENT = -21,	/* builder: delimiter inside content */
	NS_MIME_ERR_RANDOM = -22		/* no random bytes for a boundary */
} ns_mime_rc_t;

/* A byte slice, not NUL-terminated. */
typedef struct ns_mime_str
{
	const char *s;
	size_t len;
} ns_mime_str_t;

/* A parameter: name lowercased, value unquoted with quoted-pairs undone
 * and kept verbatim otherwise; both NUL-terminated (a value holds no NUL:
 * the parser refuses one). */
typedef struct ns_mime_param
{
	const char *name;
	const char *value;
	size_t vlen;
} ns_mime_param_t;

/*
 * A parsed Content-Type. type, subtype and the parameters point into
 * `buf`: the struct refers into itself, so do not copy it by value (parse
 * again instead).
 */
typedef struct ns_mime_ctype
{
	const char *type;	 /* lowercased */
	const char *subtype; /* lowercased */
	ns_mime_param_t params[NS_MIME_MAX_PARAMS];
	unsigned int nparams;
	char buf[NS_MIME_MAX_CTYPE_LEN + 2 * NS_MIME_MAX_PARAMS + 2];
} ns_mime_ctype_t;

typedef enum ns_mime_cte
{
	NS_MIME_CTE_NONE = 0, /* absent: 7bit by RFC 2045, taken as is */
	NS_MIME_CTE_7BIT,
	NS_MIME_CTE_8BIT,
	NS_MIME_CTE_BINARY,
	NS_MIME_CTE_BASE64
} ns_mime_cte_t;

/* A parsed MIME entity (the inner entity of an S/MIME body, or a body part
 * of a multipart). Slices point into the input, `body` into the caller's
 * decode buffer when the entity was base64. Do not copy (see ctype). */
typedef struct ns_mime_entity
{
	ns_mime_ctype_t ctype;
	ns_mime_cte_t cte;
	ns_mime_str_t headers; /* the header lines, each with its CRLF */
	ns_mime_str_t raw;	   /* the body as transmitted */
	ns_mime_str_t body;	   /* the content: raw, or base64-decoded */
} ns_mime_entity_t;

/* What an application/pkcs7-mime body says it holds (smime-type). */
typedef enum ns_mime_smime
{
	NS_MIME_SMIME_NOT_PKCS7 = -1, /* not application/(x-)pkcs7-mime */
	NS_MIME_SMIME_NONE = 0,		  /* pkcs7-mime without smime-type */
	NS_MIME_SMIME_ENVELOPED,	  /* enveloped-data */
	NS_MIME_SMIME_AUTH_ENVELOPED, /* authEnveloped-data (RFC 8551) */
	NS_MIME_SMIME_SIGNED,		  /* signed-data */
	NS_MIME_SMIME_CERTS_ONLY,	  /* certs-only */
	NS_MIME_SMIME_COMPRESSED,	  /* compressed-data */
	NS_MIME_SMIME_OTHER			  /* a value not listed here */
} ns_mime_smime_t;

/* A short English text for a return code, for the log. */
const char *ns_mime_strerror(int rc);

/*
 * Content-Type value (`len` bytes, without the header name), RFC 2045 5.1:
 * type "/" subtype *(";" attribute "=" (token / quoted-string)). Type,
 * subtype and attribute names are case-insensitive (stored lowercased),
 * values are kept as sent. Whitespace and CRLF-folding are allowed between
 * the items; comments are not. A parameter given twice (any case) is
 * NS_MIME_ERR_DUPLICATE; more than NS_MIME_MAX_PARAMS NS_MIME_ERR_TOO_MANY.
 */
int ns_mime_ctype_parse(const char *value, size_t len, ns_mime_ctype_t *ct);

/* The value of parameter `name` (any case, exact name), or NULL. */
const char *ns_mime_ctype_param(const ns_mime_ctype_t *ct, const char *name);

/* type/subtype is exactly `type`/`subtype` (any case): 1 or 0. */
int ns_mime_ctype_is(
		const ns_mime_ctype_t *ct, const char *type, const char *subtype);

/* smime-type of an application/pkcs7-mime (or x-pkcs7-mime), compared as
 * an exact, case-insensitive token. */
ns_mime_smime_t ns_mime_smime_type(const ns_mime_ctype_t *ct);

/*
 * The inner MIME entity of an S/MIME body (RFC 3261 23.4, RFC 8551 3.1):
 * "Content-Type: <ctype>\r\n\r\n<body>". `ctype` (NUL-terminated) must be
 * a valid Content-Type value on one line. Writes *outlen bytes (not
 * NUL-terminated); on NS_MIME_ERR_NOSPACE *outlen is the size needed.
 */
int ns_mime_entity_build(const char *ctype, const char *body, size_t bodylen,
		char *out, size_t outsize, size_t *outlen);

/*
 * The reverse: header lines up to the first empty line (CRLF line ends,
 * folding allowed, at most NS_MIME_MAX_HDRS_LEN bytes), Content-Type
 * required and parsed, Content-Transfer-Encoding 7bit / 8bit / binary /
 * base64 (any case; absent = as is), each at most once; other headers are
 * syntax-checked and ignored. With base64 the content is decoded into
 * `dec` (decsize bytes; ns_mime_b64_maxlen(len) is always enough) and
 * ent->body points there; otherwise `dec` is not used and may be NULL.
 */
int ns_mime_entity_parse(const char *in, size_t len, ns_mime_entity_t *ent,
		char *dec, size_t decsize);

/* Upper bound of the bytes base64 text of `len` bytes decodes to. */
size_t ns_mime_b64_maxlen(size_t len);

/*
 * Strict base64 (RFC 2045 6.8 alphabet): CR, LF, SP and HTAB are skipped
 * (line breaks), padding is required and ends the data, anything else is
 * NS_MIME_ERR_BASE64. Writes *outlen bytes.
 */
int ns_mime_b64_decode(
		const char *in, size_t len, char *out, size_t size, size_t *outlen);

/* A boundary is 1..70 of RFC 2046's bchars, not ending in a space. */
int ns_mime_boundary_check(const char *b, size_t len);

/* A fresh boundary: 32 hex digits of RAND_bytes, NUL-terminated into
 * `out` (size >= 33). 0, NS_MIME_ERR_NOSPACE or NS_MIME_ERR_RANDOM. */
int ns_mime_boundary_gen(char *out, size_t size);

/*
 * multipart/signed (RFC 1847, RFC 8551 3.5.3), "binary" signature:
 *   --B CRLF <entity, exactly as signed> CRLF
 *   --B CRLF
 *   Content-Type: application/pkcs7-signature; name=smime.p7s CRLF
 *   Content-Transfer-Encoding: binary CRLF
 *   Content-Disposition: attachment; filename=smime.p7s; handling=required
 *   CRLF CRLF <sig_der> CRLF
 *   --B-- CRLF
 * The result is parsed back before returning: when the boundary occurs in
 * the entity or the signature (so the parts would not come back exactly)
 * it is NS_MIME_ERR_IN_CONTENT; pick another boundary. Writes *outlen
 * bytes (not NUL-terminated); on NS_MIME_ERR_NOSPACE *outlen is the size
 * needed.
 */
int ns_mime_multipart_signed_build(const char *entity, size_t elen,
		const unsigned char *sig_der, size_t siglen, const char *boundary,
		char *out, size_t outsize, size_t *outlen);

/*
 * Parse a multipart/signed body with `boundary` (NUL-terminated, from the
 * Content-Type; see ns_mime_signed_ctype_check()). RFC 2046 5.1.1: an
 * optional preamble, the delimiter "--B" at the start of the body or
 * after a CRLF, transport padding (SP/HTAB) before the line's CRLF,
 * exactly two parts, the close delimiter "--B--", an optional epilogue
 * after it (ignored). A line starting with "--B" that is neither
 * delimiter, or any such line in the epilogue, is NS_MIME_ERR_DELIMITER. *signed_part: the first part's bytes exactly (the
 * CRLF before the next delimiter belongs to the delimiter), what the
 * signature covers; parse it with ns_mime_entity_parse() only after the
 * signature verified. *sig: the second part's content (application/
 * pkcs7-signature or x-pkcs7-signature), decoded into `dec` when base64.
 */
int ns_mime_multipart_signed_parse(const char *body, size_t len,
		const char *boundary, ns_mime_str_t *signed_part, ns_mime_str_t *sig,
		char *dec, size_t decsize);

/* A Content-Type is multipart/signed with protocol application/
 * pkcs7-signature (or x-pkcs7-signature) and a valid boundary:
 * 0 and *boundary, or NS_MIME_ERR_NOT_SIGNED / _PROTOCOL / _BOUNDARY. */
int ns_mime_signed_ctype_check(
		const ns_mime_ctype_t *ct, const char **boundary);

/* A parsed Content-Type written back as one line: type/subtype and every
 * parameter, values quoted when they are not tokens. Returns the length
 * written (NUL-terminated), or NS_MIME_ERR_ARG / NS_MIME_ERR_NOSPACE. */
int ns_mime_ctype_format(const ns_mime_ctype_t *ct, char *out, size_t size);

/* The SIP header values the module sets. */

/* "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m", or
 * smime-type=authEnveloped-data when `auth` is set. */
const char *ns_mime_ctype_enveloped(int auth);

/* "attachment; filename=smime.p7m; handling=required" */
const char *ns_mime_disposition_p7m(void);

/* multipart/signed; protocol="application/pkcs7-signature";
 * micalg=<micalg>; boundary="<boundary>" into out (NUL-terminated).
 * `micalg` is a token (e.g. "sha-256"). Returns the length or a negative
 * NS_MIME_ERR_*. */
int ns_mime_ctype_signed(
		const char *boundary, const char *micalg, char *out, size_t size);

#endif /* _NOTIFY_SMIME_MIME_H_ */
