/*
 * watcher_auth bind API: the policy engine and its cache, for other
 * modules (notify_smime) so that there is one engine and one cache.
 */
#ifndef _WATCHER_AUTH_API_H_
#define _WATCHER_AUTH_API_H_

#include "core/sr_module.h"
#include "core/str.h"
#include "core/parser/msg_parser.h"
#include "policy.h"

/* Results of watcher_auth_api_t.eval */
#define WATCHER_AUTH_POLICY 0		 /* a policy: *res filled */
#define WATCHER_AUTH_NO_POLICY 1	 /* the presentity has no policy */
#define WATCHER_AUTH_BAD_POLICY (-1) /* unparsable policy: fail closed */
#define WATCHER_AUTH_STORE_ERR (-2)	 /* store unreachable: fail closed */

/* Evaluate presentity's policy (AOR, e.g. sip:alice@example.com) for
 * watcher (a URI) at the current time. */
typedef int (*watcher_auth_eval_f)(
		str *presentity, str *watcher, wa_policy_result_t *res);

/* The watcher identity watcher_auth_check() decided for msg: 1 and the
 * identity when the watcher proved it with digest, 0 and the identity the
 * policy was evaluated on otherwise, -1 when msg was not checked. */
typedef int (*watcher_auth_identity_f)(sip_msg_t *msg, str *identity);

typedef struct watcher_auth_api
{
	watcher_auth_eval_f eval;
	watcher_auth_identity_f identity;
} watcher_auth_api_t;

typedef int (*bind_watcher_auth_f)(watcher_auth_api_t *api);

static inline int watcher_auth_load_api(watcher_auth_api_t *api)
{
	bind_watcher_auth_f bind;

	bind = (bind_watcher_auth_f)find_export("bind_watcher_auth", 0, 0);
	if(!bind) {
		LM_ERR("cannot find bind_watcher_auth: load the watcher_auth module"
			   " first\n");
		return -1;
	}
	return bind(api);
}

#endif
