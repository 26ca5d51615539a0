/*
 * sip_privacy: the same privacy for every message of a dialog (3GPP: "the
 * same anonymity rules shall apply to all messages within a SIP dialog"),
 * and the small rewrites the privacy service makes. Pure logic, no
 * Kamailio headers.
 *
 * The dialog's rule. The privacy decided on the request that creates a
 * dialog (INVITE, SUBSCRIBE) is written into this proxy's Record-Route
 * entry as the URI parameter SP_DLG_RR_PARAM, so that every node of the
 * proxy reads it back from the Route of each later request, without
 * state. Its value is one letter per privacy function, in this order:
 *   'u' user, 'h' header, 'i' id        e.g. ";sppriv=ui"
 * The party the rule hides is the dialog's initiator, the one whose tag
 * Kamailio's rr module writes as "ftag" (modparam rr append_fromtag=1).
 *
 * Decisions (the module's documentation repeats them):
 *  - The rule holds the functions the initial request asked for, or the
 *    network asked for on its sender's behalf (network-provided identity
 *    blocking), that this service can provide: user, header, id. Not
 *    "session" (never provided; a request that asked for it critically was
 *    refused) and not "critical" (only the message that carries it can be
 *    refused). "none", or no privacy at all, writes no rule.
 *  - A value that is not such a string (empty, an unknown or repeated
 *    letter, too long) reads as every function a rule can hold: a rule that
 *    can't be read never switches privacy off. A missing parameter is no
 *    rule (the dialog asked for nothing).
 *  - The rule applies to a message whose sender is the initiator: a
 *    request whose From tag is ftag, a response whose To tag is ftag (the
 *    response to a request of the other party). Those are exactly the
 *    messages that travel toward the party that must not learn the
 *    initiator's identity, and in each of them the identity to hide is its
 *    sender's: From of a request, To of a response, Contact,
 *    P-Asserted-Identity and the user headers. Without ftag (append_fromtag
 *    off) or without the sender's tag, it applies (fail closed: both
 *    parties are then hidden from each other).
 *  - A message's own Privacy adds to the rule: the decision is the union of
 *    the actions of both. A refusal ("critical") and the rewriting of the
 *    Privacy header come from the message's own Privacy only.
 */
#ifndef _SIP_PRIVACY_SP_DIALOG_H_
#define _SIP_PRIVACY_SP_DIALOG_H_

#include <stddef.h>

#include "privacy.h"

/* The Record-Route URI parameter that carries the dialog's rule:
 *   sppriv=<rule>.<mac>
 * <rule> is the letters below, or "-" for a dialog that asked for no
 * privacy; <mac> is SP_DLG_MAC_LEN lowercase hex digits, the first bytes
 * of HMAC-SHA256 under the proxy's secret (modparam rr_secret) over, each
 * preceded by its length as 4 bytes big-endian: "sppriv", the rule, the
 * initiator's tag (rr's ftag), the Call-ID. The UA at the other end of the
 * dialog echoes the Record-Route in its responses, which makes the route
 * set of the initiator; a rule it removed, changed or moved to another
 * dialog fails the check, and a rule that fails it reads as every
 * function, with the initiator unknown (both parties hidden): fail closed.
 * Every Record-Route entry this proxy writes for a dialog-creating request
 * carries the parameter, so a Route of ours without it fails as well. */
#define SP_DLG_MAC_LEN 24
#define SP_DLG_MAX_TAG 128	  /* bytes of a tag the rule can bind */
#define SP_DLG_MAX_CALLID 256 /* bytes of a Call-ID the rule can bind */
#define SP_DLG_PARAM_SIZE (SP_DLG_RULE_SIZE + 1 + SP_DLG_MAC_LEN + 1)
/* The Record-Route URI parameter that carries the dialog's rule. */
#define SP_DLG_RR_PARAM "sppriv"
/* What a rule may hold. */
#define SP_DLG_RULE_CAPS (SP_PRIV_USER | SP_PRIV_HEADER | SP_PRIV_ID)
/* A rule's letters, terminating NUL included. */
#define SP_DLG_RULE_SIZE 4

/*
 * Writes the rule for `mask` (SP_PRIV_ bits; those outside
 * SP_DLG_RULE_CAPS are ignored) into `buf`, NUL terminated. Its length (0:
 * no rule to write), or -1 when `buf` is NULL or `size` too small.
 */
int sp_dlg_rule_encode(unsigned int mask, char *buf, size_t size);

/*
 * The SP_PRIV_ bits of a rule read from a Route parameter (`len` bytes at
 * `s`, no NUL needed). A value that is not a rule reads as
 * SP_DLG_RULE_CAPS.
 */
unsigned int sp_dlg_rule_decode(const char *s, size_t len);

/*
 * The value of the Record-Route parameter for `rule` (SP_PRIV_ bits) in a
 * dialog whose initiator's tag is `ftag` and Call-ID `cid`, under `key`,
 * NUL terminated in `out` (SP_DLG_PARAM_SIZE bytes at least). Its length,
 * or -1 (a tag or Call-ID over bounds, an empty key, no room, HMAC
 * failure).
 */
int sp_dlg_param_make(unsigned int rule, const char *ftag, size_t flen,
		const char *cid, size_t clen, const unsigned char *key, size_t klen,
		char *out, size_t size);

/*
 * Reads a Record-Route parameter value made by sp_dlg_param_make() for the
 * dialog of `ftag` and `cid`: 1 and `*rule` set when it checks, 0 when it
 * does not (malformed, another dialog's, another key's, changed); then
 * `*rule` is SP_DLG_RULE_CAPS. The MAC is compared in constant time.
 */
int sp_dlg_param_check(const char *val, size_t len, const char *ftag,
		size_t flen, const char *cid, size_t clen, const unsigned char *key,
		size_t klen, unsigned int *rule);

/*
 * 1 when the sender of a message is the dialog's initiator: `tag` is the
 * From tag of a request or the To tag of a response, `ftag` the
 * initiator's tag from the Route. 1 as well when either is unknown (NULL
 * or empty): fail closed.
 */
int sp_dlg_sender_is_initiator(
		const char *tag, size_t tlen, const char *ftag, size_t flen);

/*
 * The privacy asked for on the sender's behalf, on top of its own Privacy:
 * `net` (network-provided blocking, considered for a request without a
 * Privacy header only: own_hdrs == 0), and the dialog's `rule` when
 * `has_rule` and the sender is the initiator. SP_PRIV_ bits.
 */
unsigned int sp_dlg_extra(int is_request, size_t own_hdrs, unsigned int net,
		int has_rule, unsigned int rule, int sender_is_initiator);

/*
 * The decision for one message: sp_priv_decide() on its own Privacy `p`,
 * with the actions of the privacy `extra` asks for (sp_dlg_extra()) added.
 * `requested`, `provided`, `missing` and `actions` grow; the refusal and
 * the Privacy header operation stay those of the message's own Privacy.
 * SP_PRIV_OK or the error of sp_priv_decide().
 */
int sp_dlg_decide(const sp_priv_t *p, unsigned int extra, unsigned int caps,
		sp_priv_decision_t *d);

/*
 * A Privacy header value for `mask` ("id;user;header", that order, only
 * those three), NUL terminated in `buf`. Its length (0 for none of them),
 * or -1 when `buf` is NULL or `size` too small.
 */
int sp_priv_mask_format(unsigned int mask, char *buf, size_t size);

/*
 * The URI of a Contact without its user part: "sip:bob@h:5060;ob" ->
 * "sip:h:5060;ob" (sip and sips, scheme case-insensitive; the userinfo
 * ends at the last '@', which no other part of a SIP URI holds). Into
 * `out` NUL terminated; its length (== len when there was no user part),
 * -1 for another scheme, a URI with nothing after '@', or no room.
 */
int sp_uri_strip_user(const char *uri, size_t len, char *out, size_t size);

/*
 * A Proxy-Require / Require header value without the option-tag `tag`
 * (exact, ASCII case-insensitive): the other option-tags separated by
 * ", ". Into `out` NUL terminated; its length (0: no option-tag left, the
 * header goes), or -1 when a tag is not a token, the value is empty, or
 * there is no room. `*found` says whether `tag` was there.
 */
int sp_optiontag_remove(const char *val, size_t len, const char *tag, char *out,
		size_t size, int *found);

#endif
