/*
 * Shared Kamailio glue (lib/): a reply sent through the sl API, with an
 * optional Warning naming this host (RFC 3261 20.43, code 399).
 */
#ifndef _LIB_KREPLY_H_
#define _LIB_KREPLY_H_

#include "core/parser/msg_parser.h"
#include "modules/sl/sl.h"

/* Replies `code` `reason` to msg; with `warning` (may be NULL) a header
 * `Warning: 399 <receiving address> "<warning>"`. 0, or -1 (logged) when
 * the reply could not be sent. */
int kreply(sl_api_t *sl, sip_msg_t *msg, int code, char *reason,
		const char *warning);

#endif
