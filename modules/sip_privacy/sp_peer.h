/*
 * sip_privacy: the trust domain by TLS peer certificate (RFC 3325 Spec(T)):
 * the identities an operator writes in the modparam "trusted_tls" and their
 * match against the names of a verified peer certificate. Pure C, no
 * Kamailio or OpenSSL headers: the glue extracts the names.
 *
 * Decisions (the module's documentation repeats them):
 *  - Written as "kind:value", kind case-insensitive:
 *      dns:peer.example.com      a subjectAltName dNSName
 *      uri:sip:peer.example.com  a subjectAltName uniformResourceIdentifier
 *      ip:192.0.2.1 / ip:2001:db8::1   a subjectAltName iPAddress
 *      cn:peer.example.com       the subject's commonName (each of them)
 *  - Exact matches only: no wildcard is expanded (a certificate for
 *    "*.example.com" matches no "dns:" value but "dns:*.example.com",
 *    which is refused at start-up), no suffix or prefix match, no subnet.
 *    DNS names and CNs compare case-insensitively (ASCII), URIs byte for
 *    byte except the scheme, IP addresses as the 4 or 16 octets (an IPv4
 *    value never matches an IPv6 SAN, IPv4-mapped included).
 *  - A certificate name with a NUL or control byte in it never matches.
 *  - Values are checked when read: a dns value must be a host name
 *    (labels of letters, digits and '-', 1..63 bytes each, no leading or
 *    trailing '-', no trailing dot), a uri value "scheme:rest" with no
 *    space or control byte, an ip value one IPv4/IPv6 address.
 */
#ifndef _SIP_PRIVACY_PEER_H_
#define _SIP_PRIVACY_PEER_H_

#include <stddef.h>

#define SP_PEER_MAX_LEN 255	 /* bytes of a value, kind excluded */
#define SP_PEER_STR_SIZE 264 /* sp_peer_format() output, NUL included */

typedef enum sp_peer_rc
{
	SP_PEER_OK = 0,
	SP_PEER_ERR_ARG = -1,	   /* NULL argument */
	SP_PEER_ERR_KIND = -2,	   /* no "kind:" or an unknown kind */
	SP_PEER_ERR_TOO_LONG = -3, /* empty value, or over SP_PEER_MAX_LEN */
	SP_PEER_ERR_VALUE = -4	   /* the value is not what its kind holds */
} sp_peer_rc_t;

typedef enum sp_peer_kind
{
	SP_PEER_DNS = 1,
	SP_PEER_URI,
	SP_PEER_IP,
	SP_PEER_CN
} sp_peer_kind_t;

/* A trusted identity as configured. */
typedef struct sp_peer_id
{
	sp_peer_kind_t kind;
	size_t len;							/* value bytes (IP: 4 or 16) */
	unsigned char val[SP_PEER_MAX_LEN]; /* text, or IP address octets */
} sp_peer_id_t;

/* One name of a peer certificate, as the certificate holds it: text for
 * DNS, URI and CN (UTF-8 for CN), the raw octets for IP. */
typedef struct sp_peer_name
{
	sp_peer_kind_t kind;
	const unsigned char *s;
	size_t len;
} sp_peer_name_t;

const char *sp_peer_strerror(int rc);

/* Parses one identity written as above, `len` bytes at `s`. */
int sp_peer_parse(const char *s, size_t len, sp_peer_id_t *id);

/* 1 when the certificate name is the configured identity, else 0. */
int sp_peer_match(const sp_peer_id_t *id, const sp_peer_name_t *name);

/* 1 when any of the names is any of the identities. */
int sp_peer_match_any(const sp_peer_id_t *ids, size_t nids,
		const sp_peer_name_t *names, size_t nnames);

/* The identity as "kind:value" into buf; its length, or -1. */
int sp_peer_format(const sp_peer_id_t *id, char *buf, size_t size);

#endif
