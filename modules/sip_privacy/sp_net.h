/*
 * sip_privacy: the trust domain by address (RFC 3325 Spec(T)): IPv4/IPv6
 * addresses and CIDR subnets, as an operator writes them in the modparam
 * "trusted". Pure C, no Kamailio headers.
 *
 * Decisions (the module's documentation repeats them):
 *  - Accepted: an address ("192.0.2.1", "2001:db8::1", also "[2001:db8::1]")
 *    or an address with a prefix length in decimal ("192.0.2.0/24",
 *    "2001:db8::/32"), no spaces anywhere. A bare address is a /32 or /128.
 *  - Refused: a netmask ("/255.255.255.0"), a prefix over 32/128, leading
 *    zeros or signs in the prefix, host bits set below the prefix
 *    ("192.0.2.1/24": probably a typo for a wider or narrower trust than
 *    meant, so the operator is asked to write what she means).
 *  - An IPv4 network matches IPv4 sources only; an IPv4-mapped IPv6
 *    address ("::ffff:192.0.2.1") is matched as the IPv4 address it carries.
 */
#ifndef _SIP_PRIVACY_NET_H_
#define _SIP_PRIVACY_NET_H_

#include <stddef.h>

#define SP_NET_MAX_LEN 64  /* bytes of one written network */
#define SP_NET_STR_SIZE 64 /* sp_net_format() output, NUL included */

/* Return codes: 0 success, a negative value says what was wrong. */
typedef enum sp_net_rc
{
	SP_NET_OK = 0,
	SP_NET_ERR_ARG = -1,	  /* NULL argument */
	SP_NET_ERR_TOO_LONG = -2, /* empty, or over SP_NET_MAX_LEN */
	SP_NET_ERR_ADDR = -3,	  /* not an IPv4 or IPv6 address */
	SP_NET_ERR_PREFIX = -4,	  /* prefix length not 0..32 / 0..128 */
	SP_NET_ERR_HOST_BITS = -5 /* bits set below the prefix */
} sp_net_rc_t;

/* A network: family (4 or 6), address bytes (network order), prefix. */
typedef struct sp_net
{
	int family;				/* 4 or 6 */
	unsigned char addr[16]; /* the first 4 used for IPv4 */
	unsigned int prefix;	/* 0..32 or 0..128 */
} sp_net_t;

/* A short English text for a return code, for the log. */
const char *sp_net_strerror(int rc);

/* Parses one network written as above, `len` bytes at `s` (no NUL needed). */
int sp_net_parse(const char *s, size_t len, sp_net_t *n);

/*
 * 1 when the address of `family` (4 or 6; `addr` 4 or 16 bytes, network
 * order) is inside the network, 0 otherwise (NULL arguments included).
 */
int sp_net_match(const sp_net_t *n, int family, const unsigned char *addr);

/* 1 when the address is inside any of the `count` networks. */
int sp_net_match_any(const sp_net_t *nets, size_t count, int family,
		const unsigned char *addr);

/* The network as "address/prefix" into buf, NUL terminated; its length,
 * or -1 when it does not fit or an argument is invalid. */
int sp_net_format(const sp_net_t *n, char *buf, size_t size);

#endif
