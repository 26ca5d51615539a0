/*
 * sip_privacy: does a request come from a registered contact? The rule the
 * P-CSCF asserts an identity by (3GPP TS 24.229 5.2.6.3, TS 33.141). Pure
 * C, no Kamailio headers: the glue fills the structures from the message
 * and from usrloc's contacts.
 *
 * Rule (the module's documentation repeats it):
 *  - Over a connection (TCP, TLS, WS, WSS): the contact was registered over
 *    this very connection (its connection id, > 0), or its received
 *    address (where its REGISTER came from, when usrloc recorded one) is
 *    the request's source address, port and transport. The Contact URI's
 *    own port means nothing here: it is a listening port, not the source
 *    port of the connection.
 *  - Otherwise (UDP, SCTP): the contact's received address when usrloc
 *    recorded one, else the host, port and transport of its Contact URI,
 *    equal to the request's source address, port and transport. The URI's
 *    host must be an IP literal (a name is never resolved: DNS is no trust
 *    anchor); the port defaults to 5060 (5061 for TLS); the transport to
 *    UDP (TLS for a sips URI).
 */
#ifndef _SIP_PRIVACY_REG_H_
#define _SIP_PRIVACY_REG_H_

#include "sp_net.h"

typedef enum sp_tp
{
	SP_TP_NONE = 0,
	SP_TP_UDP,
	SP_TP_TCP,
	SP_TP_TLS,
	SP_TP_SCTP,
	SP_TP_WS,
	SP_TP_WSS
} sp_tp_t;

/* Where a request came from. */
typedef struct sp_reg_src
{
	sp_tp_t proto;
	int family;				/* 4 or 6 */
	unsigned char addr[16]; /* network order, the first 4 for IPv4 */
	unsigned int port;
	int conn_id; /* the TCP/TLS connection, <= 0 for none */
} sp_reg_src_t;

/* An address of a contact (its received address or its URI). */
typedef struct sp_reg_ep
{
	int valid; /* an IP literal with a transport and a port */
	sp_tp_t proto;
	sp_net_t addr; /* the host, a /32 or /128 */
	unsigned int port;
} sp_reg_ep_t;

/* A registered contact. */
typedef struct sp_reg_contact
{
	int conn_id;	  /* the connection it registered over, <= 0: none */
	int has_received; /* received set: it is where the REGISTER came from */
	sp_reg_ep_t received;
	sp_reg_ep_t uri;
} sp_reg_contact_t;

/* What matched. */
typedef enum sp_reg_match
{
	SP_REG_NONE = 0,
	SP_REG_CONN,	 /* the connection */
	SP_REG_RECEIVED, /* the received address */
	SP_REG_URI		 /* the Contact URI's address */
} sp_reg_match_t;

/* A short English text for a match, for the log. */
const char *sp_reg_match_str(int m);

/*
 * Fills an endpoint from a URI's host (as written: "192.0.2.1",
 * "[2001:db8::1]"), port (0: the default of the transport) and transport;
 * `ep->valid` is 0 when the host is not an IP literal or the transport is
 * SP_TP_NONE.
 */
void sp_reg_ep_set(sp_reg_ep_t *ep, const char *host, size_t hlen,
		unsigned int port, sp_tp_t proto);

/* 1 for a transport over a connection (TCP, TLS, WS, WSS). */
int sp_reg_tp_stream(sp_tp_t proto);

/* The rule above: SP_REG_NONE or what matched. */
int sp_reg_match(const sp_reg_src_t *src, const sp_reg_contact_t *c);

#endif
