/*
 * Shared Kamailio glue (lib/): OpenSSL state that must not cross fork()
 * (see kossl.h).
 */
#include <openssl/crypto.h>

#include "core/dprint.h"

#include "kossl.h"

void kossl_before_fork(void)
{
	/* frees this thread's error queue and other thread-local state; no
	 * child exists yet, so nothing else points to them */
	OPENSSL_thread_stop();
	LM_DBG("OpenSSL thread state of the main process released before fork\n");
}
