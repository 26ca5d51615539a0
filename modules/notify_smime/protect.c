/*
 * notify_smime: a SIP body protected and unprotected as a whole (see
 * protect.h). Pure logic, no Kamailio headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "mime.h"
#include "protect.h"

static void ns_protect_err(char *err, size_t errlen, const char *what, int rc)
{
	if(err && errlen)
		snprintf(err, errlen, "%s: %s", what, ns_mime_strerror(rc));
}

/* The entity `ctype` CRLF CRLF `body`, OPENSSL_malloc'd. */
static int ns_entity(const char *ctype, const char *body, size_t body_len,
		unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t need = 0;
	int rc;

	rc = ns_mime_entity_build(ctype, body, body_len, NULL, 0, &need);
	if(rc != NS_MIME_ERR_NOSPACE) {
		ns_protect_err(err, errlen, "body entity", rc);
		return NS_PROTECT_ERR_MIME;
	}
	*out = OPENSSL_malloc(need);
	if(*out == NULL)
		return NS_CMS_ERR_CRYPTO;
	rc = ns_mime_entity_build(
			ctype, body, body_len, (char *)*out, need, outlen);
	if(rc != NS_MIME_OK) {
		ns_cms_free(*out, need);
		*out = NULL;
		ns_protect_err(err, errlen, "body entity", rc);
		return NS_PROTECT_ERR_MIME;
	}
	return NS_CMS_OK;
}

/* multipart/signed over `entity`: the body into *out, its Content-Type
 * into ctype. A boundary that occurs in the content is drawn again. */
static int ns_sign_entity(const ns_protect_in_t *in,
		const unsigned char *entity, size_t elen, unsigned char **out,
		size_t *outlen, char *ctype, size_t ctsize, char *err, size_t errlen)
{
	unsigned char *sig = NULL;
	size_t siglen = 0, need = 0;
	char boundary[40];
	int rc, tries;

	rc = ns_cms_sign(entity, elen, in->sign_cert, in->sign_key, in->sign_chain,
			&sig, &siglen, err, errlen);
	if(rc != NS_CMS_OK)
		return rc;
	rc = NS_PROTECT_ERR_MIME;
	for(tries = 0; tries < 4; tries++) {
		if(ns_mime_boundary_gen(boundary, sizeof(boundary)) != NS_MIME_OK) {
			rc = NS_CMS_ERR_CRYPTO;
			break;
		}
		need = 0;
		if(ns_mime_multipart_signed_build((const char *)entity, elen, sig,
				   siglen, boundary, NULL, 0, &need)
				!= NS_MIME_ERR_NOSPACE)
			continue;
		*out = OPENSSL_malloc(need);
		if(*out == NULL) {
			rc = NS_CMS_ERR_CRYPTO;
			break;
		}
		rc = ns_mime_multipart_signed_build((const char *)entity, elen, sig,
				siglen, boundary, (char *)*out, need, outlen);
		if(rc == NS_MIME_OK) {
			if(ns_mime_ctype_signed(boundary, "sha-256", ctype, ctsize) < 0) {
				ns_cms_free(*out, need);
				*out = NULL;
				rc = NS_PROTECT_ERR_MIME;
				break;
			}
			rc = NS_CMS_OK;
			break;
		}
		ns_cms_free(*out, need);
		*out = NULL;
		if(rc != NS_MIME_ERR_IN_CONTENT) {
			ns_protect_err(err, errlen, "multipart/signed", rc);
			rc = NS_PROTECT_ERR_MIME;
			break;
		}
		rc = NS_PROTECT_ERR_MIME;
	}
	ns_cms_free(sig, siglen);
	if(rc == NS_PROTECT_ERR_MIME && err && errlen && err[0] == '\0')
		snprintf(err, errlen, "multipart/signed: no usable boundary");
	return rc;
}

int ns_protect(const ns_protect_in_t *in, ns_protect_out_t *out, char *err,
		size_t errlen)
{
	char ctype[NS_MIME_MAX_CTYPE_LEN + 1];
	char sctype[NS_PROTECT_CTYPE_MAX];
	unsigned char *entity = NULL, *signd = NULL, *inner = NULL;
	size_t elen = 0, slen = 0, ilen = 0;
	int sign, rc;
	ns_cms_cipher_t cipher;

	if(err && errlen)
		err[0] = '\0';
	if(in == NULL || out == NULL)
		return NS_CMS_ERR_ARG;
	memset(out, 0, sizeof(*out));
	sign = in->sign_cert != NULL && in->sign_key != NULL;
	if((!sign && in->rcpt == NULL) || in->ctype == NULL
			|| (in->body == NULL && in->body_len > 0))
		return NS_CMS_ERR_ARG;
	if(in->ctype_len == 0 || in->ctype_len > NS_MIME_MAX_CTYPE_LEN
			|| memchr(in->ctype, '\0', in->ctype_len)) {
		ns_protect_err(err, errlen, "Content-Type", NS_MIME_ERR_SYNTAX);
		return NS_PROTECT_ERR_MIME;
	}
	memcpy(ctype, in->ctype, in->ctype_len);
	ctype[in->ctype_len] = '\0';

	rc = ns_entity(ctype, in->body, in->body_len, &entity, &elen, err, errlen);
	if(rc != NS_CMS_OK)
		return rc;
	inner = entity;
	ilen = elen;
	if(sign) {
		rc = ns_sign_entity(in, entity, elen, &signd, &slen, sctype,
				sizeof(sctype), err, errlen);
		if(rc != NS_CMS_OK)
			goto done;
		out->signed_ = 1;
		if(in->rcpt == NULL) {
			/* signed only: the multipart/signed is the SIP body */
			out->body = signd;
			out->len = slen;
			signd = NULL;
			strcpy(out->ctype, sctype);
			rc = NS_CMS_OK;
			goto done;
		}
		/* signed, then encrypted: the multipart/signed is the entity */
		rc = ns_entity(
				sctype, (const char *)signd, slen, &inner, &ilen, err, errlen);
		if(rc != NS_CMS_OK) {
			inner = NULL;
			goto done;
		}
	}
	rc = ns_cms_encrypt(inner, ilen, in->rcpt, in->opts, &out->body, &out->len,
			err, errlen);
	if(rc != NS_CMS_OK)
		goto done;
	cipher = in->opts ? in->opts->cipher : NS_CMS_AES128_CBC;
	strcpy(out->ctype, ns_mime_ctype_enveloped(cipher == NS_CMS_AES128_GCM
											   || cipher == NS_CMS_AES256_GCM));
	out->disposition = ns_mime_disposition_p7m();
	out->encrypted = 1;
done:
	if(inner != entity)
		ns_cms_free(inner, ilen);
	ns_cms_free(entity, elen);
	ns_cms_free(signd, slen);
	if(rc != NS_CMS_OK) {
		ns_protect_out_free(out);
	}
	return rc;
}

void ns_protect_out_free(ns_protect_out_t *out)
{
	if(out == NULL)
		return;
	ns_cms_free(out->body, out->len);
	memset(out, 0, sizeof(*out));
}

/* ---------------------------------------------------------- unprotect */

const char *ns_unprotect_strerror(int rc)
{
	switch(rc) {
		case NS_UNPROTECT_PLAIN:
			return "not S/MIME";
		case NS_UNPROTECT_OK:
			return "ok";
		case NS_UNPROTECT_ERR_MIME:
			return "malformed MIME";
		case NS_UNPROTECT_ERR_DECRYPT:
			return "cannot decrypt";
		case NS_UNPROTECT_ERR_SIGNATURE:
			return "signature does not verify";
		case NS_UNPROTECT_ERR_UNSUPPORTED:
			return "unsupported S/MIME type";
		case NS_UNPROTECT_ERR_NESTING:
			return "too many S/MIME layers";
		case NS_UNPROTECT_ERR_INTERNAL:
			return "internal error";
	}
	return "unknown error";
}

void ns_unprotect_out_free(ns_unprotect_out_t *out)
{
	if(out == NULL)
		return;
	if(out->body)
		ns_cms_free(out->body, out->len + 1);
	X509_free(out->signer);
	if(out->certs)
		sk_X509_pop_free(out->certs, X509_free);
	memset(out, 0, sizeof(*out));
}

/* Replace the current content with a copy of `s` (NUL-terminated). */
static int ns_set_current(
		ns_unprotect_out_t *out, const char *s, size_t len, const char *ctype)
{
	unsigned char *b;

	b = OPENSSL_malloc(len + 1);
	if(b == NULL)
		return -1;
	if(len)
		memcpy(b, s, len);
	b[len] = '\0';
	if(out->body)
		ns_cms_free(out->body, out->len + 1);
	out->body = b;
	out->len = len;
	if(ctype != out->ctype) {
		strncpy(out->ctype, ctype, sizeof(out->ctype) - 1);
		out->ctype[sizeof(out->ctype) - 1] = '\0';
	}
	return 0;
}

/* The entity in `s` becomes the current content: its body and its
 * Content-Type. */
static int ns_take_entity(ns_unprotect_out_t *out, const char *s, size_t len,
		char *err, size_t errlen)
{
	ns_mime_entity_t *ent;
	char *dec = NULL, ctype[sizeof(out->ctype)];
	size_t declen = ns_mime_b64_maxlen(len) + 1;
	int rc, ret = NS_UNPROTECT_ERR_INTERNAL;

	ent = malloc(sizeof(*ent));
	dec = malloc(declen);
	if(ent == NULL || dec == NULL)
		goto done;
	rc = ns_mime_entity_parse(s, len, ent, dec, declen);
	if(rc == NS_MIME_OK)
		rc = ns_mime_ctype_format(&ent->ctype, ctype, sizeof(ctype)) < 0
					 ? NS_MIME_ERR_NOSPACE
					 : NS_MIME_OK;
	if(rc != NS_MIME_OK) {
		ns_protect_err(err, errlen, "inner entity", rc);
		ret = NS_UNPROTECT_ERR_MIME;
		goto done;
	}
	ret = ns_set_current(out, ent->body.s, ent->body.len, ctype) < 0
				  ? NS_UNPROTECT_ERR_INTERNAL
				  : NS_UNPROTECT_OK;
done:
	if(dec) {
		OPENSSL_cleanse(dec, declen);
		free(dec);
	}
	free(ent);
	return ret;
}

/* One layer off the current content; NS_UNPROTECT_PLAIN when it is no
 * S/MIME layer. */
static int ns_peel(const ns_unprotect_keys_t *keys, ns_unprotect_out_t *out,
		char *err, size_t errlen)
{
	ns_mime_ctype_t *ct;
	ns_mime_str_t part, sig;
	const char *boundary;
	char *dec = NULL;
	unsigned char *plain = NULL;
	size_t plen = 0, declen = 0;
	X509 *signer = NULL;
	STACK_OF(X509) *certs = NULL;
	int rc, ret = NS_UNPROTECT_ERR_INTERNAL;

	ct = malloc(sizeof(*ct));
	if(ct == NULL)
		return NS_UNPROTECT_ERR_INTERNAL;
	rc = ns_mime_ctype_parse(out->ctype, strlen(out->ctype), ct);
	if(rc != NS_MIME_OK) {
		ns_protect_err(err, errlen, "Content-Type", rc);
		ret = NS_UNPROTECT_ERR_MIME;
		goto done;
	}
	if(ns_mime_ctype_is(ct, "multipart", "signed")) {
		rc = ns_mime_signed_ctype_check(ct, &boundary);
		if(rc != NS_MIME_OK) {
			ns_protect_err(err, errlen, "multipart/signed", rc);
			ret = NS_UNPROTECT_ERR_MIME;
			goto done;
		}
		declen = ns_mime_b64_maxlen(out->len) + 1;
		dec = malloc(declen);
		if(dec == NULL)
			goto done;
		rc = ns_mime_multipart_signed_parse((const char *)out->body, out->len,
				boundary, &part, &sig, dec, declen);
		if(rc != NS_MIME_OK) {
			ns_protect_err(err, errlen, "multipart/signed", rc);
			ret = NS_UNPROTECT_ERR_MIME;
			goto done;
		}
		if(keys->cas == NULL) {
			snprintf(err, errlen, "no CA set to verify a signature");
			ret = NS_UNPROTECT_ERR_SIGNATURE;
			goto done;
		}
		rc = ns_cms_verify_detached((const unsigned char *)sig.s, sig.len,
				(const unsigned char *)part.s, part.len, keys->cas, &signer,
				err, errlen);
		if(rc != NS_CMS_OK) {
			ret = rc == NS_CMS_ERR_CRYPTO ? NS_UNPROTECT_ERR_INTERNAL
										  : NS_UNPROTECT_ERR_SIGNATURE;
			goto done;
		}
		X509_free(out->signer);
		out->signer = signer;
		out->was_signed = 1;
		/* part points into out->body: copy before it is replaced */
		plen = part.len;
		plain = OPENSSL_malloc(plen ? plen : 1);
		if(plain == NULL)
			goto done;
		memcpy(plain, part.s, plen);
		ret = ns_take_entity(out, (const char *)plain, plen, err, errlen);
		goto done;
	}
	switch(ns_mime_smime_type(ct)) {
		case NS_MIME_SMIME_NOT_PKCS7:
			ret = NS_UNPROTECT_PLAIN;
			goto done;
		case NS_MIME_SMIME_ENVELOPED:
		case NS_MIME_SMIME_AUTH_ENVELOPED:
			if(keys->key == NULL || keys->cert == NULL) {
				snprintf(err, errlen, "no server key to decrypt with");
				ret = NS_UNPROTECT_ERR_DECRYPT;
				goto done;
			}
			rc = ns_cms_decrypt(out->body, out->len, keys->cert, keys->key,
					keys->max, &plain, &plen, NULL, err, errlen);
			if(rc != NS_CMS_OK) {
				ret = rc == NS_CMS_ERR_CRYPTO ? NS_UNPROTECT_ERR_INTERNAL
											  : NS_UNPROTECT_ERR_DECRYPT;
				plen = 0;
				goto done;
			}
			out->was_encrypted = 1;
			ret = ns_take_entity(out, (const char *)plain, plen, err, errlen);
			plen++; /* ns_cms_decrypt NUL-terminates */
			goto done;
		case NS_MIME_SMIME_CERTS_ONLY:
			rc = ns_cms_certs_only_parse(
					out->body, out->len, &certs, err, errlen);
			if(rc != NS_CMS_OK) {
				ret = rc == NS_CMS_ERR_CRYPTO ? NS_UNPROTECT_ERR_INTERNAL
											  : NS_UNPROTECT_ERR_MIME;
				goto done;
			}
			if(out->certs)
				sk_X509_pop_free(out->certs, X509_free);
			out->certs = certs;
			ret = ns_set_current(out, "", 0, out->ctype) < 0
						  ? NS_UNPROTECT_ERR_INTERNAL
						  : NS_UNPROTECT_PLAIN;
			goto done;
		default:
			snprintf(err, errlen, "application/pkcs7-mime of a type not taken");
			ret = NS_UNPROTECT_ERR_UNSUPPORTED;
			goto done;
	}
done:
	if(plain)
		ns_cms_free(plain, plen);
	if(dec) {
		OPENSSL_cleanse(dec, declen);
		free(dec);
	}
	free(ct);
	return ret;
}

int ns_unprotect(const char *ctype, size_t ctype_len, const char *body,
		size_t body_len, const ns_unprotect_keys_t *keys,
		ns_unprotect_out_t *out, char *err, size_t errlen)
{
	char ct[NS_MIME_MAX_CTYPE_LEN + 1];
	int layers, rc;

	if(err && errlen)
		err[0] = '\0';
	if(out == NULL)
		return NS_UNPROTECT_ERR_INTERNAL;
	memset(out, 0, sizeof(*out));
	if(keys == NULL || ctype == NULL || (body == NULL && body_len > 0))
		return NS_UNPROTECT_ERR_INTERNAL;
	if(ctype_len == 0 || ctype_len > NS_MIME_MAX_CTYPE_LEN
			|| memchr(ctype, '\0', ctype_len)) {
		ns_protect_err(err, errlen, "Content-Type", NS_MIME_ERR_SYNTAX);
		return NS_UNPROTECT_ERR_MIME;
	}
	if(body_len > NS_MIME_MAX_LEN) {
		ns_protect_err(err, errlen, "body", NS_MIME_ERR_TOO_LONG);
		return NS_UNPROTECT_ERR_MIME;
	}
	memcpy(ct, ctype, ctype_len);
	ct[ctype_len] = '\0';
	if(ns_set_current(out, body ? body : "", body_len, ct) < 0)
		return NS_UNPROTECT_ERR_INTERNAL;
	for(layers = 0;; layers++) {
		rc = ns_peel(keys, out, err, errlen);
		if(rc == NS_UNPROTECT_PLAIN)
			break;
		if(rc != NS_UNPROTECT_OK) {
			ns_unprotect_out_free(out);
			return rc;
		}
		if(layers + 1 >= NS_UNPROTECT_MAX_LAYERS) {
			/* the next layer would be one too many only if S/MIME */
			rc = ns_peel(keys, out, err, errlen);
			if(rc == NS_UNPROTECT_PLAIN)
				break;
			ns_unprotect_out_free(out);
			if(rc == NS_UNPROTECT_OK) {
				snprintf(err, errlen, "more than %d S/MIME layers",
						NS_UNPROTECT_MAX_LAYERS);
				return NS_UNPROTECT_ERR_NESTING;
			}
			return rc;
		}
	}
	if(!out->was_encrypted && !out->was_signed && out->certs == NULL) {
		ns_unprotect_out_free(out);
		return NS_UNPROTECT_PLAIN;
	}
	return NS_UNPROTECT_OK;
}
