/*
 * sip_privacy: HMAC-SHA256 with the keyed state kept per process (see
 * sp_hmac.h).
 */
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sp_hmac.h"

typedef struct sp_hmac_slot
{
	pid_t pid;		  /* the process that made ctx; 0: empty */
	EVP_MAC_CTX *ctx; /* keyed with key */
	size_t klen;
	unsigned char key[SP_HMAC_MAX_KEY];
} sp_hmac_slot_t;

static sp_hmac_slot_t _sp_hmac_slots[SP_HMAC_SLOTS];
static unsigned int _sp_hmac_next;
static EVP_MAC *_sp_hmac_mac;
static pid_t _sp_hmac_mac_pid;

/* The keyed context of this process for key, made when missing. */
static EVP_MAC_CTX *_sp_hmac_ctx(const unsigned char *key, size_t klen)
{
	pid_t pid = getpid();
	OSSL_PARAM params[2];
	sp_hmac_slot_t *s;
	EVP_MAC_CTX *ctx;
	unsigned int i;

	for(i = 0; i < SP_HMAC_SLOTS; i++) {
		s = &_sp_hmac_slots[i];
		if(s->pid == pid && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return s->ctx;
	}
	if(_sp_hmac_mac == NULL || _sp_hmac_mac_pid != pid) {
		/* one of the parent's is left alone (see sp_hmac.h) */
		_sp_hmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
		if(_sp_hmac_mac == NULL)
			return NULL;
		_sp_hmac_mac_pid = pid;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
			OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(_sp_hmac_mac);
	if(ctx == NULL)
		return NULL;
	if(!EVP_MAC_init(ctx, key, klen, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	s = &_sp_hmac_slots[_sp_hmac_next++ % SP_HMAC_SLOTS];
	if(s->pid == pid)
		EVP_MAC_CTX_free(s->ctx);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	s->pid = pid;
	s->ctx = ctx;
	s->klen = klen;
	memcpy(s->key, key, klen);
	return ctx;
}

int sp_hmac_sha256(const unsigned char *key, size_t klen,
		const unsigned char *data, size_t len, unsigned char *out)
{
	EVP_MAC_CTX *ctx;
	size_t outl = 0;

	if(key == NULL || klen == 0 || klen > SP_HMAC_MAX_KEY || out == NULL
			|| (data == NULL && len > 0))
		return -1;
	ctx = _sp_hmac_ctx(key, klen);
	if(ctx == NULL)
		return -1;
	/* no key: HMAC starts again from the key's saved states */
	if(!EVP_MAC_init(ctx, NULL, 0, NULL)
			|| (len > 0 && !EVP_MAC_update(ctx, data, len))
			|| !EVP_MAC_final(ctx, out, &outl, SP_HMAC_LEN)
			|| outl != SP_HMAC_LEN)
		return -1;
	return 0;
}
