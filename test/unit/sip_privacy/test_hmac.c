/*
 * sp_hmac: HMAC-SHA256 with the keyed state kept per process gives what
 * OpenSSL's one-shot HMAC() gives, for every key length and message, with
 * more keys than slots, in a forked child, and refuses bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sp_hmac.h"

static void reference(const unsigned char *key, size_t klen,
		const unsigned char *data, size_t len, unsigned char *out)
{
	unsigned int n = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)klen, data, len, out, &n));
	assert_int_equal(n, SP_HMAC_LEN);
}

static void fill(unsigned char *b, size_t n, unsigned int seed)
{
	size_t i;

	for(i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 3)) & 0xff);
}

/* RFC 4231 test case 2: key "Jefe". */
static void test_rfc4231(void **state)
{
	static const unsigned char want[SP_HMAC_LEN] = {0x5b, 0xdc, 0xc1, 0x46,
			0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75,
			0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec,
			0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	const char *msg = "what do ya want for nothing?";
	unsigned char out[SP_HMAC_LEN];

	(void)state;
	assert_int_equal(sp_hmac_sha256((const unsigned char *)"Jefe", 4,
							 (const unsigned char *)msg, strlen(msg), out),
			0);
	assert_memory_equal(out, want, SP_HMAC_LEN);
}

/* Key lengths around the block size, messages of many lengths, keys
 * alternating over more than SP_HMAC_SLOTS (every slot replaced). */
static void test_matches_hmac(void **state)
{
	static const size_t klens[] = {1, 16, 32, 63, 64, 65, 128, 1024};
	unsigned char key[SP_HMAC_MAX_KEY], data[300];
	unsigned char got[SP_HMAC_LEN], want[SP_HMAC_LEN];
	size_t k, len;
	unsigned int round;

	(void)state;
	for(round = 0; round < 3; round++) {
		for(k = 0; k < sizeof(klens) / sizeof(klens[0]); k++) {
			fill(key, klens[k], (unsigned int)k);
			for(len = 0; len <= sizeof(data); len += 23) {
				fill(data, len, (unsigned int)(len + round));
				reference(key, klens[k], data, len, want);
				assert_int_equal(
						sp_hmac_sha256(key, klens[k], data, len, got), 0);
				assert_memory_equal(got, want, SP_HMAC_LEN);
			}
		}
	}
}

/* The same key twice in a row, then another key of the same length that
 * differs in its last byte only: never the cached state of the other. */
static void test_keys_told_apart(void **state)
{
	unsigned char k1[40], k2[40], got[SP_HMAC_LEN], want[SP_HMAC_LEN];
	const unsigned char msg[] = "sppriv";

	(void)state;
	fill(k1, sizeof(k1), 1);
	memcpy(k2, k1, sizeof(k2));
	k2[39] ^= 1;
	assert_int_equal(sp_hmac_sha256(k1, sizeof(k1), msg, 6, got), 0);
	assert_int_equal(sp_hmac_sha256(k1, sizeof(k1), msg, 6, got), 0);
	reference(k1, sizeof(k1), msg, 6, want);
	assert_memory_equal(got, want, SP_HMAC_LEN);
	assert_int_equal(sp_hmac_sha256(k2, sizeof(k2), msg, 6, got), 0);
	reference(k2, sizeof(k2), msg, 6, want);
	assert_memory_equal(got, want, SP_HMAC_LEN);
}

/* A child forked after the parent keyed its context computes with its own
 * (the right MAC, the process does not crash). */
static void test_fork(void **state)
{
	unsigned char key[32], got[SP_HMAC_LEN], want[SP_HMAC_LEN];
	const unsigned char msg[] = "after the fork";
	int status = 0;
	pid_t pid;

	(void)state;
	fill(key, sizeof(key), 9);
	assert_int_equal(sp_hmac_sha256(key, sizeof(key), msg, 14, got), 0);
	reference(key, sizeof(key), msg, 14, want);
	pid = fork();
	assert_true(pid >= 0);
	if(pid == 0) {
		if(sp_hmac_sha256(key, sizeof(key), msg, 14, got) != 0
				|| memcmp(got, want, SP_HMAC_LEN) != 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_arguments(void **state)
{
	unsigned char key[SP_HMAC_MAX_KEY + 1], out[SP_HMAC_LEN];

	(void)state;
	memset(key, 'k', sizeof(key));
	assert_int_equal(sp_hmac_sha256(NULL, 4, key, 4, out), -1);
	assert_int_equal(sp_hmac_sha256(key, 0, key, 4, out), -1);
	assert_int_equal(sp_hmac_sha256(key, sizeof(key), key, 4, out), -1);
	assert_int_equal(sp_hmac_sha256(key, 4, NULL, 4, out), -1);
	assert_int_equal(sp_hmac_sha256(key, 4, key, 4, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_rfc4231),
			cmocka_unit_test(test_matches_hmac),
			cmocka_unit_test(test_keys_told_apart),
			cmocka_unit_test(test_fork),
			cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
