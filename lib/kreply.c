/*
 * Shared Kamailio glue (lib/): a reply with an optional Warning.
 */
#include <stdio.h>
#include <string.h>

#include "core/dprint.h"
#include "core/data_lump_rpl.h"

#include "kreply.h"

int kreply(sl_api_t *sl, sip_msg_t *msg, int code, char *reason,
		const char *warning)
{
	char hdr[256];
	str r;
	int n;

	if(warning) {
		n = snprintf(hdr, sizeof(hdr), "Warning: 399 %.*s \"%s\"\r\n",
				msg->rcv.bind_address ? msg->rcv.bind_address->address_str.len
									  : 1,
				msg->rcv.bind_address ? msg->rcv.bind_address->address_str.s
									  : "-",
				warning);
		if(n > 0 && (size_t)n < sizeof(hdr))
			add_lump_rpl(msg, hdr, n, LUMP_RPL_HDR);
	}
	r.s = reason;
	r.len = strlen(reason);
	if(sl->freply(msg, code, &r) < 0) {
		LM_ERR("cannot send %d reply\n", code);
		return -1;
	}
	return 0;
}
