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
	SP_NET_ERR_ARG = -1,	   /* NULL argument */
	SP_NET_ERR_TOO_LONG = -2,  /* empty, or over SP_NET_MAX_LEN */
	SP_NET_ERR_ADDR = -3,	   /* not an IPv4 or IPv6 address */
	SP_NET_ERR_PREFIX = -4,	   /* prefix length not 0..32 / 0..128 */
	SP_NET_ERR_HOST_BITS = -5, /* bits set below the prefix */
	SP_NET_ERR_PROTO = -6,	   /* socket: not udp, tcp, tls or sctp */
	SP_NET_ERR_PORT = -7	   /* socket: port missing or not 1..65535 */
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

/*
 * A listening socket as the operator writes it in the modparam
 * "trusted_socket": "proto:address:port", with proto one of udp, tcp, tls,
 * sctp (case-insensitive), the address an IPv4 address or an IPv6 address
 * in brackets ("tls:[2001:db8::1]:5061"), the port decimal 1..65535 without
 * sign or leading zero. No name (a socket is matched by what it is bound
 * to), no prefix, no space. Whether Kamailio listens there is for the glue
 * to check.
 */
typedef enum sp_sock_proto
{
	SP_SOCK_UDP = 1,
	SP_SOCK_TCP,
	SP_SOCK_TLS,
	SP_SOCK_SCTP
} sp_sock_proto_t;

typedef struct sp_sock
{
	sp_sock_proto_t proto;
	sp_net_t addr; /* a single address: prefix 32 or 128 */
	unsigned int port;
} sp_sock_t;

#define SP_SOCK_STR_SIZE 64 /* sp_sock_format() output, NUL included */

/* SP_NET_OK or SP_NET_ERR_*: SP_NET_ERR_PROTO for an unknown protocol,
 * SP_NET_ERR_PORT for a missing or invalid port, SP_NET_ERR_ADDR for an
 * address that is not one IPv4 / bracketed IPv6 address. */
int sp_sock_parse(const char *s, size_t len, sp_sock_t *k);

/* The socket as "proto:address:port" (IPv6 in brackets) into buf; its
 * length, or -1. */
int sp_sock_format(const sp_sock_t *k, char *buf, size_t size);

/* The protocol's lower-case name ("udp"...), "?" for an invalid one. */
const char *sp_sock_proto_name(sp_sock_proto_t proto);

#endif
