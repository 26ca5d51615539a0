/*
 * sip_privacy: the per-message context (see sp_ctx.h).
 */
#include <string.h>

/* glue: named here so that test/unit/run.sh does not link this file */
#include "core/parser/msg_parser.h"

#include "sp_ctx.h"

static sp_msg_ctx_t _sp_ctx;

sp_msg_ctx_t *sp_ctx(sip_msg_t *msg)
{
	if(_sp_ctx.msg_id != msg->id || _sp_ctx.msg_pid != msg->pid) {
		memset(&_sp_ctx, 0, sizeof(_sp_ctx));
		_sp_ctx.msg_id = msg->id;
		_sp_ctx.msg_pid = msg->pid;
	}
	return &_sp_ctx;
}
