/*
 * Shared pure C (lib/): the canonical form of a SIP identity, used by
 * every identity comparison of watcher_auth (the presentity's policy) and
 * notify_smime (the certificate's subjectAltName against the identity the
 * policy was evaluated on), so that both compare alike. No Kamailio header.
 */
#ifndef _LIB_SIP_CANON_H_
#define _LIB_SIP_CANON_H_

#include <stddef.h>

/* sip_canon_uri() flags */
/* surrounding whitespace, a quoted display name and <...> are accepted
 * (a name-addr); without it the bytes must be a bare URI */
#define SIP_CANON_NAMEADDR 0x1
/* a scheme other than sip/sips is canonical as the lowercased scheme, ":"
 * and the rest verbatim; without it such a URI is refused */
#define SIP_CANON_OTHER_SCHEME 0x2

typedef struct sip_canon_info
{
	/* 1 once the scheme is sip or sips, even when the rest is malformed */
	int sip;
	/* on success with sip/sips: the offset of the host in out; else -1 */
	int host;
} sip_canon_info_t;

/*
 * Canonical form of a SIP URI (RFC 3261 19.1.4 comparison):
 * "sip:" user "@" host, where the scheme sips is written "sip" (a sips
 * identity is the same identity), the user part is percent-decoded (a byte
 * that may not stand unescaped in a user part stays escaped, hex in upper
 * case, so that the canonical form is canonical again; a decoded control
 * character, space, '@', ':', '<', '>' or '"' is malformed) and kept
 * case-sensitive, the host is lowercased and one trailing dot removed (an
 * empty label is malformed: "a..b", "a.."), port, URI parameters and
 * headers are dropped; a userinfo with a password (user:password@) is
 * malformed. Other schemes: see SIP_CANON_OTHER_SCHEME.
 * Writes a NUL-terminated string into out (size bytes, at least 8);
 * returns its length, or -1 when the URI is malformed, of a scheme refused
 * or does not fit (never truncated). info (may be NULL) is filled even on
 * failure.
 */
int sip_canon_uri(const char *uri, size_t len, unsigned flags, char *out,
		size_t size, sip_canon_info_t *info);

/*
 * Host (RFC 3261 hostname / IPv4 / [IPv6]) starting at p, before e:
 * lowercased into out (size bytes, NUL-terminated), one trailing dot
 * dropped, an empty label refused; *olen gets its length. Returns the end
 * of the host in the input, or NULL.
 */
const char *sip_canon_host(
		const char *p, const char *e, char *out, size_t size, size_t *olen);

#endif
