/*
 * sip_privacy: HMAC-SHA256 with the keyed state kept per process. Pure C on
 * OpenSSL, no Kamailio headers.
 *
 * OpenSSL 3's one-shot HMAC() fetches the algorithm and sets the key on
 * every call: about 10 000 instructions, most of what sp_privacy_apply()
 * cost per message (the dialog rule's MAC). Here the keyed context of each
 * key is made once per process and reset for every MAC (HMAC's saved inner
 * and outer states), a few hundred instructions plus the hashing.
 *
 * A few keys are kept (SP_HMAC_SLOTS, least recently made replaced); a
 * context made before a fork is never used nor freed in the child (with
 * Kamailio's tls module OpenSSL allocates in shared memory): the child
 * makes its own.
 */
#ifndef _SIP_PRIVACY_SP_HMAC_H_
#define _SIP_PRIVACY_SP_HMAC_H_

#include <stddef.h>

#define SP_HMAC_LEN 32		 /* bytes of an HMAC-SHA256 */
#define SP_HMAC_SLOTS 4		 /* keys kept per process */
#define SP_HMAC_MAX_KEY 1024 /* longer keys are refused */

/*
 * HMAC-SHA256 of `len` bytes at `data` with the `klen`-byte key into
 * `out` (SP_HMAC_LEN bytes). 0, or -1 on a bad argument (no key, a key over
 * SP_HMAC_MAX_KEY) or an OpenSSL failure.
 */
int sp_hmac_sha256(const unsigned char *key, size_t klen,
		const unsigned char *data, size_t len, unsigned char *out);

#endif
