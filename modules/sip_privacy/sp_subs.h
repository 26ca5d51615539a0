/*
 * sip_privacy: the subscriber tables the P-CSCF asserts identities from
 * and blocks identities by (RFC 3325, 3GPP TS 24.229, TS 33.141). Pure C,
 * no Kamailio headers: the glue reads the rows through the DB API and
 * hands them over; the memory comes from the allocator it gives (shared
 * memory in Kamailio, malloc in the unit tests).
 *
 *  - A user (username, domain) owns up to SP_SUBS_MAX_IDS public
 *    identities, each a sip, sips or tel URI (or a single name-addr /
 *    addr-spec, as identity.c reads an entry), exactly one of them the
 *    default. Usernames compare byte for byte, domains ASCII
 *    case-insensitively.
 *  - Network-provided identity blocking: per user, the methods for which
 *    the network hides the identity, written "SUBSCRIBE,MESSAGE" (method
 *    names ASCII case-insensitive, LWS around the commas) or "*" for every
 *    method, extension methods included. Several rows add up.
 *  - A row that cannot be read (an empty or over-long name, an identity
 *    that is not a valid URI, an unknown method, a second default, more
 *    than SP_SUBS_MAX_IDS identities) fails the whole load, and so does a
 *    user whose identities name no default: the caller keeps what it had
 *    (or does not start), it never runs on a half-read table.
 */
#ifndef _SIP_PRIVACY_SUBS_H_
#define _SIP_PRIVACY_SUBS_H_

#include <stddef.h>

#include "privacy.h"

#define SP_SUBS_MAX_IDS 8			/* public identities of one user */
#define SP_SUBS_MAX_USER_LEN 64		/* bytes of a username */
#define SP_SUBS_MAX_DOMAIN_LEN 128	/* bytes of a domain */
#define SP_SUBS_MAX_ID_LEN 400		/* bytes of an identity entry */
#define SP_SUBS_MAX_METHODS_LEN 256 /* bytes of a methods list */
#define SP_SUBS_ERR_SIZE 256		/* room for an error text, NUL included */

/* Method bits of a blocking list; SP_METH_ANY ("*") is every method. */
#define SP_METH_INVITE (1u << 0)
#define SP_METH_ACK (1u << 1)
#define SP_METH_BYE (1u << 2)
#define SP_METH_CANCEL (1u << 3)
#define SP_METH_OPTIONS (1u << 4)
#define SP_METH_REGISTER (1u << 5)
#define SP_METH_PRACK (1u << 6)
#define SP_METH_SUBSCRIBE (1u << 7)
#define SP_METH_NOTIFY (1u << 8)
#define SP_METH_PUBLISH (1u << 9)
#define SP_METH_INFO (1u << 10)
#define SP_METH_REFER (1u << 11)
#define SP_METH_MESSAGE (1u << 12)
#define SP_METH_UPDATE (1u << 13)
#define SP_METH_ANY 0xffffffffu
#define SP_METH_STR_SIZE 160 /* sp_meth_format() output, NUL included */

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum sp_subs_rc
{
	SP_SUBS_OK = 0,
	SP_SUBS_ERR_ARG = -1,		 /* NULL or invalid argument */
	SP_SUBS_ERR_NOMEM = -2,		 /* the allocator failed */
	SP_SUBS_ERR_NAME = -3,		 /* empty or over-long username or domain */
	SP_SUBS_ERR_IDENTITY = -4,	 /* not a valid identity, or too long */
	SP_SUBS_ERR_TOO_MANY = -5,	 /* more than SP_SUBS_MAX_IDS identities */
	SP_SUBS_ERR_DEFAULT = -6,	 /* a second default identity */
	SP_SUBS_ERR_NO_DEFAULT = -7, /* identities but none of them default */
	SP_SUBS_ERR_METHODS = -8	 /* an unreadable methods list */
} sp_subs_rc_t;

typedef void *(*sp_subs_alloc_f)(size_t size);
typedef void (*sp_subs_free_f)(void *p);

/* One user: its identities (ids[0] the default once the table is
 * checked) and the methods with network-provided blocking. */
typedef struct sp_sub
{
	sp_str_t user;
	sp_str_t domain;
	size_t nids;
	sp_str_t ids[SP_SUBS_MAX_IDS];
	int has_default;
	unsigned int blocked; /* SP_METH_ bits, SP_METH_ANY, or 0 */
	struct sp_sub *next;  /* hash chain */
} sp_sub_t;

typedef struct sp_subs
{
	sp_subs_alloc_f alloc;
	sp_subs_free_f free;
	size_t nslots;
	sp_sub_t **slots;
	size_t nusers, nids, nblocking; /* counts, for the log */
} sp_subs_t;

/* A user's row copied out of the table (for use outside its lock). */
typedef struct sp_sub_copy
{
	size_t nids;
	sp_str_t ids[SP_SUBS_MAX_IDS]; /* into buf */
	unsigned int blocked;
	char buf[SP_SUBS_MAX_IDS][SP_SUBS_MAX_ID_LEN];
} sp_sub_copy_t;

/* A short English text for a return code, for the log. */
const char *sp_subs_strerror(int rc);

/*
 * Parses a methods list (see above) into SP_METH_ bits in *mask. "*",
 * alone or among names, gives SP_METH_ANY.
 */
int sp_meth_parse(const char *s, size_t len, unsigned int *mask);

/* The SP_METH_ bit of a request method (ASCII case-insensitive), 0 for a
 * method this table does not name (an extension method). */
unsigned int sp_meth_bit(const char *s, size_t len);

/* 1 when `mask` blocks the identity for the request method `s`: every
 * method with SP_METH_ANY, the named ones otherwise. */
int sp_meth_blocked(unsigned int mask, const char *s, size_t len);

/* The list as "SUBSCRIBE,MESSAGE", "*" or "" (none) into buf; its length,
 * or -1 when it does not fit. */
int sp_meth_format(unsigned int mask, char *buf, size_t size);

/* An empty table with about `hint` users; NULL when out of memory. */
sp_subs_t *sp_subs_new(size_t hint, sp_subs_alloc_f alloc, sp_subs_free_f free);

/* Frees the table and everything in it (NULL is fine). */
void sp_subs_free(sp_subs_t *t);

/* Adds an identity row. */
int sp_subs_add_identity(sp_subs_t *t, const sp_str_t *user,
		const sp_str_t *domain, const sp_str_t *identity, int is_default);

/* Adds a blocking row: its methods are added to the user's. */
int sp_subs_add_blocking(sp_subs_t *t, const sp_str_t *user,
		const sp_str_t *domain, const sp_str_t *methods);

/*
 * Checks the whole table once every row is in: each user with identities
 * has a default one (put first). On an error `err` (may be NULL) names the
 * user.
 */
int sp_subs_check(sp_subs_t *t, char *err, size_t errsize);

/* The user, or NULL. */
const sp_sub_t *sp_subs_find(
		const sp_subs_t *t, const sp_str_t *user, const sp_str_t *domain);

/* Copies a user's identities and blocking into `c`. */
void sp_subs_copy(const sp_sub_t *s, sp_sub_copy_t *c);

#endif
