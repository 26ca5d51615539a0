/*
 * libFuzzer harness: watcher_auth's Authorization header parser and digest
 * verification (modules/watcher_auth/digest.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Imodules/watcher_auth fuzz/watcher_auth_digest_fuzz.c \
 *     modules/watcher_auth/digest.c $(pkg-config --cflags --libs openssl) \
 *     -o build/watcher_auth_digest_fuzz
 *
 * The input is the header value, exactly `size` bytes (libFuzzer's buffer
 * ends there, so ASan sees any read past it). Besides memory errors, the
 * harness aborts when an invariant of the API breaks: return codes in
 * range, slices inside the input, a parsed response of the algorithm's
 * length, and wa_digest_check() agreeing with wa_digest_response().
 * Seeds: RFC 7616 3.9.1's headers; the secret is its password.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "digest.h"

#define FUZZ_PASS "Circle of Life"

static void fuzz_check_slice(
		const wa_digest_str_t *v, const char *in, size_t size, int mandatory)
{
	char buf[WA_DIGEST_MAX_VALUE_LEN + 1];
	int n;

	if(v->s == NULL) {
		if(mandatory || v->len != 0)
			abort();
		return;
	}
	if(v->s < in || v->len > size || (size_t)(v->s - in) > size - v->len)
		abort();
	if(v->len > WA_DIGEST_MAX_VALUE_LEN)
		abort();
	n = wa_digest_unq(v, buf, sizeof(buf));
	if(n < 0 || (size_t)n > v->len || (!v->esc && (size_t)n != v->len))
		abort();
	if(!wa_digest_str_equal(v, buf, (size_t)n))
		abort();
}

static int fuzz_hex_ieq(const wa_digest_str_t *a, const wa_digest_hex_t *b)
{
	size_t i;

	if(a->len != b->len)
		return 0;
	for(i = 0; i < a->len; i++) {
		char c = a->s[i];
		if(c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if(c != b->s[i])
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_digest_str_t method = {"GET", 3, 0};
	const char *in = (const char *)data;
	char user[WA_DIGEST_MAX_VALUE_LEN + 1], realm[WA_DIGEST_MAX_VALUE_LEN + 1];
	wa_digest_cred_t cred;
	wa_digest_alg_t alg;
	wa_digest_str_t u, r, ha1s;
	wa_digest_secret_t sec;
	wa_digest_hex_t ha1, want;
	wa_digest_calc_t calc;
	int rc, ulen, rlen, verdict;

	rc = wa_digest_alg_parse(in, size, &alg);
	if(rc != WA_DIGEST_OK && rc != WA_DIGEST_ERR_BAD_ALGORITHM)
		abort();

	rc = wa_digest_parse(in, size, &cred);
	if(rc > 0 || rc < WA_DIGEST_ERR_MISMATCH)
		abort();
	if(rc != WA_DIGEST_OK) {
		if(cred.username.s != NULL || cred.response.s != NULL)
			abort();
		return 0;
	}

	fuzz_check_slice(&cred.username, in, size, 1);
	fuzz_check_slice(&cred.realm, in, size, 1);
	fuzz_check_slice(&cred.nonce, in, size, 1);
	fuzz_check_slice(&cred.uri, in, size, 1);
	fuzz_check_slice(&cred.response, in, size, 1);
	fuzz_check_slice(&cred.algorithm, in, size, 0);
	fuzz_check_slice(&cred.cnonce, in, size, 0);
	fuzz_check_slice(&cred.opaque, in, size, 0);
	fuzz_check_slice(&cred.qop, in, size, 0);
	fuzz_check_slice(&cred.nc, in, size, 0);
	if(cred.response.len != wa_digest_alg_hexlen(cred.alg))
		abort();
	if(cred.qop_type == WA_DIGEST_QOP_AUTH
			&& (cred.cnonce.s == NULL || cred.nc.len != 8))
		abort();
	if(cred.qop_type == WA_DIGEST_QOP_NONE && cred.qop.s != NULL)
		abort();

	/* expect the identity and realm the header claims, so that the
	 * verification runs to the end */
	ulen = wa_digest_unq(&cred.username, user, sizeof(user));
	rlen = wa_digest_unq(&cred.realm, realm, sizeof(realm));
	if(ulen < 0 || rlen < 0)
		abort();
	u = (wa_digest_str_t){user, (size_t)ulen, 0};
	r = (wa_digest_str_t){realm, (size_t)rlen, 0};

	memset(&sec, 0, sizeof(sec));
	sec.password = (wa_digest_str_t){FUZZ_PASS, sizeof(FUZZ_PASS) - 1, 0};
	verdict = wa_digest_check(&cred, &method, &u, &r, &sec);
	if(verdict > 0 || verdict < WA_DIGEST_ERR_MISMATCH)
		abort();

	/* the same through the lower layers must agree */
	if(!cred.userhash) {
		if(wa_digest_ha1(cred.alg, &u, &r, &sec.password, &ha1) != 0)
			abort();
		calc.alg = cred.alg;
		calc.nonce = cred.nonce;
		calc.nc = cred.nc;
		calc.cnonce = cred.cnonce;
		calc.qop = cred.qop;
		calc.method = method;
		calc.uri = cred.uri;
		ha1s = (wa_digest_str_t){ha1.s, ha1.len, 0};
		if(wa_digest_response(&calc, &ha1s, &want) != 0)
			abort();
		if((verdict == WA_DIGEST_OK) != fuzz_hex_ieq(&cred.response, &want))
			abort();
		if(verdict != WA_DIGEST_OK && verdict != WA_DIGEST_ERR_MISMATCH)
			abort();
		/* the same HA1 stored instead of the password */
		memset(&sec, 0, sizeof(sec));
		if(wa_digest_alg_hexlen(cred.alg) == 32)
			sec.ha1 = ha1s;
		else
			sec.ha1_sha256 = ha1s;
		if(wa_digest_check(&cred, &method, &u, &r, &sec) != verdict)
			abort();
		wa_digest_hex_wipe(&ha1);
		wa_digest_hex_wipe(&want);
	}
	if(verdict == WA_DIGEST_OK && ERR_peek_error() != 0)
		abort();
	ERR_clear_error();
	return 0;
}
