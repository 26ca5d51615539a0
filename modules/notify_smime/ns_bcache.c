/*
 * notify_smime: the bindings in shared memory (see ns_bcache.h). One hash
 * table of singly linked entries, one lock per slot (a lock set), each
 * entry one shm block holding its strings.
 */
#include <string.h>

#include "core/dprint.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/mem/shm.h"

#include "ns_bcache.h"

typedef struct ns_bentry
{
	struct ns_bentry *next;
	str callid;
	str tag;
	str pres_uri;
	str watcher;
	char fp[65];
	char source[NS_SOURCE_MAX];
	int demanded;
	time_t expires;
} ns_bentry_t;

static ns_bentry_t **_ns_bc = NULL;
static gen_lock_set_t *_ns_bc_locks = NULL;
static unsigned int _ns_bc_size = 0;
static int *_ns_bc_count = NULL;

int ns_bcache_init(unsigned int size)
{
	if(size == 0 || (size & (size - 1)) != 0)
		return -1;
	_ns_bc = shm_malloc(size * sizeof(*_ns_bc));
	_ns_bc_count = shm_malloc(sizeof(*_ns_bc_count));
	_ns_bc_locks = lock_set_alloc(size);
	if(!_ns_bc || !_ns_bc_count || !_ns_bc_locks) {
		SHM_MEM_ERROR;
		ns_bcache_destroy();
		return -1;
	}
	if(!lock_set_init(_ns_bc_locks)) {
		LM_ERR("cannot initialise %u binding locks\n", size);
		lock_set_dealloc(_ns_bc_locks);
		_ns_bc_locks = NULL;
		ns_bcache_destroy();
		return -1;
	}
	memset(_ns_bc, 0, size * sizeof(*_ns_bc));
	*_ns_bc_count = 0;
	_ns_bc_size = size;
	return 0;
}

void ns_bcache_destroy(void)
{
	ns_bentry_t *e, *n;
	unsigned int i;

	if(_ns_bc) {
		for(i = 0; i < _ns_bc_size; i++)
			for(e = _ns_bc[i]; e; e = n) {
				n = e->next;
				shm_free(e);
			}
		shm_free(_ns_bc);
	}
	if(_ns_bc_locks) {
		lock_set_destroy(_ns_bc_locks);
		lock_set_dealloc(_ns_bc_locks);
	}
	if(_ns_bc_count)
		shm_free(_ns_bc_count);
	_ns_bc = NULL;
	_ns_bc_locks = NULL;
	_ns_bc_count = NULL;
	_ns_bc_size = 0;
}

static unsigned int ns_bc_slot(str *callid, str *tag)
{
	return core_hash(callid, tag, _ns_bc_size);
}

/* the entry of (callid, tag) in slot i, and the link that points to it */
static ns_bentry_t **ns_bc_find(unsigned int i, str *callid, str *tag)
{
	ns_bentry_t **pe;

	for(pe = &_ns_bc[i]; *pe; pe = &(*pe)->next)
		if((*pe)->callid.len == callid->len && (*pe)->tag.len == tag->len
				&& memcmp((*pe)->callid.s, callid->s, callid->len) == 0
				&& memcmp((*pe)->tag.s, tag->s, tag->len) == 0)
			return pe;
	return NULL;
}

static void ns_bc_str(char **p, str *dst, str *src)
{
	dst->s = *p;
	dst->len = src->len;
	memcpy(*p, src->s, src->len);
	*p += src->len;
}

int ns_bcache_put(str *callid, str *tag, ns_binding_t *b)
{
	ns_bentry_t *e, **pe;
	unsigned int i;
	char *p;

	e = shm_malloc(sizeof(*e) + callid->len + tag->len + b->pres_uri.len
				   + b->watcher.len);
	if(!e) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(e, 0, sizeof(*e));
	p = (char *)(e + 1);
	ns_bc_str(&p, &e->callid, callid);
	ns_bc_str(&p, &e->tag, tag);
	ns_bc_str(&p, &e->pres_uri, &b->pres_uri);
	ns_bc_str(&p, &e->watcher, &b->watcher);
	memcpy(e->fp, b->fp, sizeof(e->fp));
	e->fp[sizeof(e->fp) - 1] = '\0';
	memcpy(e->source, b->source, sizeof(e->source));
	e->source[sizeof(e->source) - 1] = '\0';
	e->demanded = b->demanded;
	e->expires = b->expires;

	i = ns_bc_slot(callid, tag);
	lock_set_get(_ns_bc_locks, i);
	pe = ns_bc_find(i, callid, tag);
	if(pe) {
		e->next = (*pe)->next;
		shm_free(*pe);
		*pe = e;
	} else {
		e->next = _ns_bc[i];
		_ns_bc[i] = e;
		__atomic_add_fetch(_ns_bc_count, 1, __ATOMIC_RELAXED);
	}
	lock_set_release(_ns_bc_locks, i);
	return 0;
}

int ns_bcache_get(str *callid, str *tag, ns_binding_t *b)
{
	ns_bentry_t **pe;
	unsigned int i;
	int ret = NS_STORE_NONE;

	memset(b, 0, sizeof(*b));
	i = ns_bc_slot(callid, tag);
	lock_set_get(_ns_bc_locks, i);
	pe = ns_bc_find(i, callid, tag);
	if(pe) {
		if(ns_pkg_dup(&b->pres_uri, (*pe)->pres_uri.s, (*pe)->pres_uri.len) < 0
				|| ns_pkg_dup(&b->watcher, (*pe)->watcher.s, (*pe)->watcher.len)
						   < 0) {
			ret = NS_STORE_ERR;
		} else {
			memcpy(b->fp, (*pe)->fp, sizeof(b->fp));
			memcpy(b->source, (*pe)->source, sizeof(b->source));
			b->demanded = (*pe)->demanded;
			b->expires = (*pe)->expires;
			ret = NS_STORE_OK;
		}
	}
	lock_set_release(_ns_bc_locks, i);
	if(ret == NS_STORE_ERR)
		ns_binding_free(b);
	return ret;
}

void ns_bcache_touch(str *callid, str *tag, time_t expires)
{
	ns_bentry_t **pe;
	unsigned int i;

	i = ns_bc_slot(callid, tag);
	lock_set_get(_ns_bc_locks, i);
	pe = ns_bc_find(i, callid, tag);
	if(pe)
		(*pe)->expires = expires;
	lock_set_release(_ns_bc_locks, i);
}

void ns_bcache_del(str *callid, str *tag)
{
	ns_bentry_t **pe, *e;
	unsigned int i;

	i = ns_bc_slot(callid, tag);
	lock_set_get(_ns_bc_locks, i);
	pe = ns_bc_find(i, callid, tag);
	if(pe) {
		e = *pe;
		*pe = e->next;
		shm_free(e);
		__atomic_add_fetch(_ns_bc_count, -1, __ATOMIC_RELAXED);
	}
	lock_set_release(_ns_bc_locks, i);
}

int ns_bcache_purge(time_t now)
{
	ns_bentry_t **pe, *e;
	unsigned int i;
	int n = 0;

	for(i = 0; i < _ns_bc_size; i++) {
		lock_set_get(_ns_bc_locks, i);
		for(pe = &_ns_bc[i]; *pe;) {
			if((*pe)->expires < now) {
				e = *pe;
				*pe = e->next;
				shm_free(e);
				n++;
			} else {
				pe = &(*pe)->next;
			}
		}
		lock_set_release(_ns_bc_locks, i);
	}
	if(n)
		__atomic_add_fetch(_ns_bc_count, -n, __ATOMIC_RELAXED);
	return n;
}

int ns_bcache_count(void)
{
	return _ns_bc_count ? __atomic_load_n(_ns_bc_count, __ATOMIC_RELAXED) : 0;
}
