/*
 * sip_privacy: the topology guard's scan (RFC 3323 "header" privacy made
 * to fail closed). Pure C, no Kamailio headers.
 *
 * Kamailio 5.6's topos sends a message unchanged when it cannot store or
 * find its state (tps_msg_sent() ignores tps_request_sent()'s error). The
 * guard looks at what is about to leave toward a hop outside the trust
 * domain, after topos: the IP literals in its Via, Route, Record-Route and
 * Contact headers (long and compact names, folded lines, several values a
 * line, IPv6 in brackets or bare, received= and maddr= included) are handed
 * to a callback that says whether each may leave. The header names are all
 * it reads of the other headers, and it stops at the blank line before the
 * body; nothing is copied or allocated.
 *
 * REGISTER and PUBLISH transactions (CSeq method) are exempt, as topos
 * leaves them alone (tps_skip_msg()): the Contacts of a REGISTER's 200 are
 * the user's own bindings, whatever address she registered.
 */
#ifndef _SIP_PRIVACY_TOPO_H_
#define _SIP_PRIVACY_TOPO_H_

#include <stddef.h>

typedef enum sp_topo_hdr
{
	SP_TOPO_HDR_NONE = 0,
	SP_TOPO_HDR_VIA,
	SP_TOPO_HDR_ROUTE,
	SP_TOPO_HDR_RECORD_ROUTE,
	SP_TOPO_HDR_CONTACT
} sp_topo_hdr_t;

typedef enum sp_topo_rc
{
	SP_TOPO_CLEAN = 0,	/* no address that must not leave */
	SP_TOPO_LEAK = 1,	/* one found: the hit says which and where */
	SP_TOPO_EXEMPT = 2, /* a REGISTER or PUBLISH transaction */
	SP_TOPO_ERR_ARG = -1
} sp_topo_rc_t;

/* 1 when the address (family 4 or 6; 4 or 16 bytes, network order) must
 * not leave, else 0. */
typedef int (*sp_topo_addr_f)(int family, const unsigned char *addr, void *arg);

typedef struct sp_topo_hit
{
	sp_topo_hdr_t hdr; /* where the first address that must not leave is */
	const char *addr;  /* that address as written, inside the buffer */
	size_t addr_len;
	int reply;	/* the message is a reply */
	int invite; /* its CSeq method is INVITE */
} sp_topo_hit_t;

/* Scans the message of `len` bytes at `buf` (no NUL needed): SP_TOPO_LEAK
 * with *hit filled in, SP_TOPO_CLEAN, SP_TOPO_EXEMPT (whatever it
 * holds), or SP_TOPO_ERR_ARG.
 * hit->reply and hit->invite are set whatever the result. */
int sp_topo_scan(const char *buf, size_t len, sp_topo_addr_f must_hide,
		void *arg, sp_topo_hit_t *hit);

/* The header's name as the log says it ("Via"...). */
const char *sp_topo_hdr_name(sp_topo_hdr_t h);

/* What a reply that must not leave becomes: "SIP/2.0 500 Server Internal
 * Error" with the reply's Via, From, To, Call-ID and CSeq lines (folded
 * lines kept with their header), Content-Length: 0 and nothing else, into
 * out. Its length, or -1 when `buf` is no reply or `size` is short; at most
 * 2 * len + SP_TOPO_REPLY_EXTRA bytes are needed (a line ending in a bare
 * LF gets CR LF). */
#define SP_TOPO_REPLY_EXTRA 64
int sp_topo_error_reply(const char *buf, size_t len, char *out, size_t size);

#endif
