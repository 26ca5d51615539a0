/*
 * sip_privacy: the subscriber tables, pure logic (see sp_subs.h).
 */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "sp_subs.h"
#include "sp_text.h"

#define _SP_SUBS_IS_LWS(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

static const struct
{
	const char *name;
	unsigned int bit;
} _sp_meths[] = {{"INVITE", SP_METH_INVITE}, {"ACK", SP_METH_ACK},
		{"BYE", SP_METH_BYE}, {"CANCEL", SP_METH_CANCEL},
		{"OPTIONS", SP_METH_OPTIONS}, {"REGISTER", SP_METH_REGISTER},
		{"PRACK", SP_METH_PRACK}, {"SUBSCRIBE", SP_METH_SUBSCRIBE},
		{"NOTIFY", SP_METH_NOTIFY}, {"PUBLISH", SP_METH_PUBLISH},
		{"INFO", SP_METH_INFO}, {"REFER", SP_METH_REFER},
		{"MESSAGE", SP_METH_MESSAGE}, {"UPDATE", SP_METH_UPDATE}};

#define _SP_NMETHS (sizeof(_sp_meths) / sizeof(_sp_meths[0]))

const char *sp_subs_strerror(int rc)
{
	switch(rc) {
		case SP_SUBS_OK:
			return "ok";
		case SP_SUBS_ERR_ARG:
			return "invalid argument";
		case SP_SUBS_ERR_NOMEM:
			return "out of memory";
		case SP_SUBS_ERR_NAME:
			return "empty or too long username or domain";
		case SP_SUBS_ERR_IDENTITY:
			return "identity is not a valid sip, sips or tel URI";
		case SP_SUBS_ERR_TOO_MANY:
			return "too many identities for one user";
		case SP_SUBS_ERR_DEFAULT:
			return "a second default identity";
		case SP_SUBS_ERR_NO_DEFAULT:
			return "identities but no default one";
		case SP_SUBS_ERR_METHODS:
			return "methods list unreadable";
	}
	return "unknown error";
}

unsigned int sp_meth_bit(const char *s, size_t len)
{
	size_t i;

	if(s == NULL)
		return 0;
	for(i = 0; i < _SP_NMETHS; i++) {
		if(sp_text_ieq(s, len, _sp_meths[i].name, strlen(_sp_meths[i].name)))
			return _sp_meths[i].bit;
	}
	return 0;
}

int sp_meth_blocked(unsigned int mask, const char *s, size_t len)
{
	unsigned int bit;

	if(mask == SP_METH_ANY)
		return 1;
	bit = sp_meth_bit(s, len);
	return bit != 0 && (mask & bit) != 0;
}

int sp_meth_parse(const char *s, size_t len, unsigned int *mask)
{
	size_t i = 0, b, e;
	unsigned int m = 0, bit;

	if(mask == NULL || (s == NULL && len > 0))
		return SP_SUBS_ERR_ARG;
	*mask = 0;
	if(len > SP_SUBS_MAX_METHODS_LEN)
		return SP_SUBS_ERR_METHODS;
	for(;;) {
		while(i < len && _SP_SUBS_IS_LWS(s[i]))
			i++;
		b = i;
		while(i < len && s[i] != ',' && !_SP_SUBS_IS_LWS(s[i]))
			i++;
		e = i;
		while(i < len && _SP_SUBS_IS_LWS(s[i]))
			i++;
		if(e == b || (i < len && s[i] != ','))
			return SP_SUBS_ERR_METHODS; /* empty, or "SUB SCRIBE" */
		if(e - b == 1 && s[b] == '*') {
			m = SP_METH_ANY;
		} else {
			bit = sp_meth_bit(s + b, e - b);
			if(bit == 0)
				return SP_SUBS_ERR_METHODS;
			m |= bit;
		}
		if(i >= len)
			break;
		i++; /* ',' */
	}
	*mask = m;
	return SP_SUBS_OK;
}

int sp_meth_format(unsigned int mask, char *buf, size_t size)
{
	size_t i, pos = 0, n;

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if(mask == SP_METH_ANY) {
		if(size < 2)
			return -1;
		memcpy(buf, "*", 2);
		return 1;
	}
	for(i = 0; i < _SP_NMETHS; i++) {
		if(!(mask & _sp_meths[i].bit))
			continue;
		n = strlen(_sp_meths[i].name);
		if(pos + n + (pos ? 1 : 0) + 1 > size) {
			buf[0] = '\0';
			return -1;
		}
		if(pos)
			buf[pos++] = ',';
		memcpy(buf + pos, _sp_meths[i].name, n);
		pos += n;
		buf[pos] = '\0';
	}
	return (int)pos;
}

/* FNV-1a over the username and the lower-cased domain. */
static size_t _sp_subs_hash(
		const sp_subs_t *t, const sp_str_t *user, const sp_str_t *domain)
{
	unsigned int h = 2166136261u;
	size_t i;

	for(i = 0; i < user->len; i++)
		h = (h ^ (unsigned char)user->s[i]) * 16777619u;
	h = (h ^ '@') * 16777619u;
	for(i = 0; i < domain->len; i++)
		h = (h ^ (unsigned char)sp_text_lower(domain->s[i])) * 16777619u;
	return h & (t->nslots - 1);
}

static int _sp_subs_names_ok(const sp_str_t *user, const sp_str_t *domain)
{
	return user != NULL && domain != NULL && user->s != NULL
		   && domain->s != NULL && user->len > 0
		   && user->len <= SP_SUBS_MAX_USER_LEN && domain->len > 0
		   && domain->len <= SP_SUBS_MAX_DOMAIN_LEN;
}

sp_subs_t *sp_subs_new(size_t hint, sp_subs_alloc_f alloc, sp_subs_free_f free)
{
	sp_subs_t *t;
	size_t n = 16;

	if(alloc == NULL || free == NULL)
		return NULL;
	while(n < hint && n < ((size_t)1 << 20))
		n <<= 1;
	t = alloc(sizeof(*t));
	if(t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->alloc = alloc;
	t->free = free;
	t->nslots = n;
	t->slots = alloc(n * sizeof(*t->slots));
	if(t->slots == NULL) {
		free(t);
		return NULL;
	}
	memset(t->slots, 0, n * sizeof(*t->slots));
	return t;
}

static void _sp_sub_free(const sp_subs_t *t, sp_sub_t *s)
{
	size_t i;

	for(i = 0; i < s->nids; i++)
		t->free((void *)s->ids[i].s);
	t->free(s); /* user and domain live behind the entry */
}

void sp_subs_free(sp_subs_t *t)
{
	sp_sub_t *s, *next;
	size_t i;

	if(t == NULL)
		return;
	for(i = 0; i < t->nslots; i++) {
		for(s = t->slots[i]; s; s = next) {
			next = s->next;
			_sp_sub_free(t, s);
		}
	}
	t->free(t->slots);
	t->free(t);
}

const sp_sub_t *sp_subs_find(
		const sp_subs_t *t, const sp_str_t *user, const sp_str_t *domain)
{
	const sp_sub_t *s;

	if(t == NULL || !_sp_subs_names_ok(user, domain))
		return NULL;
	for(s = t->slots[_sp_subs_hash(t, user, domain)]; s; s = s->next) {
		if(s->user.len == user->len
				&& memcmp(s->user.s, user->s, user->len) == 0
				&& sp_text_ieq(
						s->domain.s, s->domain.len, domain->s, domain->len))
			return s;
	}
	return NULL;
}

/* The user's entry, created when new; NULL when out of memory. */
static sp_sub_t *_sp_subs_get(
		sp_subs_t *t, const sp_str_t *user, const sp_str_t *domain)
{
	sp_sub_t *s = (sp_sub_t *)sp_subs_find(t, user, domain);
	char *p;
	size_t slot;

	if(s != NULL)
		return s;
	s = t->alloc(sizeof(*s) + user->len + domain->len);
	if(s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	p = (char *)(s + 1);
	memcpy(p, user->s, user->len);
	s->user.s = p;
	s->user.len = user->len;
	memcpy(p + user->len, domain->s, domain->len);
	s->domain.s = p + user->len;
	s->domain.len = domain->len;
	slot = _sp_subs_hash(t, user, domain);
	s->next = t->slots[slot];
	t->slots[slot] = s;
	t->nusers++;
	return s;
}

int sp_subs_add_identity(sp_subs_t *t, const sp_str_t *user,
		const sp_str_t *domain, const sp_str_t *identity, int is_default)
{
	sp_id_uri_t u;
	sp_sub_t *s;
	char *copy;
	size_t k;

	if(t == NULL || identity == NULL)
		return SP_SUBS_ERR_ARG;
	if(!_sp_subs_names_ok(user, domain))
		return SP_SUBS_ERR_NAME;
	if(identity->s == NULL || identity->len == 0
			|| identity->len > SP_SUBS_MAX_ID_LEN
			|| !sp_id_entry_parse(identity, &u))
		return SP_SUBS_ERR_IDENTITY;
	s = (sp_sub_t *)sp_subs_find(t, user, domain);
	if(s != NULL && s->nids >= SP_SUBS_MAX_IDS)
		return SP_SUBS_ERR_TOO_MANY;
	if(s != NULL && is_default && s->has_default)
		return SP_SUBS_ERR_DEFAULT;
	copy = t->alloc(identity->len);
	if(copy == NULL)
		return SP_SUBS_ERR_NOMEM;
	memcpy(copy, identity->s, identity->len);
	s = _sp_subs_get(t, user, domain);
	if(s == NULL) {
		t->free(copy);
		return SP_SUBS_ERR_NOMEM;
	}
	if(is_default) {
		/* the default first: the others move up by one */
		for(k = s->nids; k > 0; k--)
			s->ids[k] = s->ids[k - 1];
		s->ids[0].s = copy;
		s->ids[0].len = identity->len;
		s->has_default = 1;
	} else {
		s->ids[s->nids].s = copy;
		s->ids[s->nids].len = identity->len;
	}
	s->nids++;
	t->nids++;
	return SP_SUBS_OK;
}

int sp_subs_add_blocking(sp_subs_t *t, const sp_str_t *user,
		const sp_str_t *domain, const sp_str_t *methods)
{
	unsigned int mask;
	sp_sub_t *s;
	int rc;

	if(t == NULL || methods == NULL)
		return SP_SUBS_ERR_ARG;
	if(!_sp_subs_names_ok(user, domain))
		return SP_SUBS_ERR_NAME;
	rc = sp_meth_parse(methods->s, methods->len, &mask);
	if(rc != SP_SUBS_OK)
		return rc == SP_SUBS_ERR_ARG ? SP_SUBS_ERR_METHODS : rc;
	s = _sp_subs_get(t, user, domain);
	if(s == NULL)
		return SP_SUBS_ERR_NOMEM;
	s->blocked |= mask;
	t->nblocking++;
	return SP_SUBS_OK;
}

int sp_subs_check(sp_subs_t *t, char *err, size_t errsize)
{
	const sp_sub_t *s;
	size_t i;

	if(err != NULL && errsize > 0)
		err[0] = '\0';
	if(t == NULL)
		return SP_SUBS_ERR_ARG;
	for(i = 0; i < t->nslots; i++) {
		for(s = t->slots[i]; s; s = s->next) {
			if(s->nids > 0 && !s->has_default) {
				if(err != NULL && errsize > 0)
					snprintf(err, errsize, "%.*s@%.*s: %s", (int)s->user.len,
							s->user.s, (int)s->domain.len, s->domain.s,
							sp_subs_strerror(SP_SUBS_ERR_NO_DEFAULT));
				return SP_SUBS_ERR_NO_DEFAULT;
			}
		}
	}
	return SP_SUBS_OK;
}

void sp_subs_copy(const sp_sub_t *s, sp_sub_copy_t *c)
{
	size_t k;

	c->nids = 0;
	c->blocked = 0;
	if(s == NULL)
		return;
	for(k = 0; k < s->nids && k < SP_SUBS_MAX_IDS; k++) {
		/* bounded by sp_subs_add_identity() */
		memcpy(c->buf[k], s->ids[k].s, s->ids[k].len);
		c->ids[k].s = c->buf[k];
		c->ids[k].len = s->ids[k].len;
	}
	c->nids = k;
	c->blocked = s->blocked;
}
