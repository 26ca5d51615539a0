/*
 * watcher_auth: shared-memory cache of compiled policies, per presentity.
 *
 * A fixed table of slots, each a list under its own lock. An entry holds
 * the presentity URI and the compiled policy as one contiguous shm block
 * (policy.c compiles to offsets, no pointers), or the negative results "no
 * document" and "invalid document", which are cached too so that a
 * presentity without a policy costs no query. Each reader says how old an
 * entry it accepts (the ttl of its source, or the stale bound while an
 * external source is down). Every store evicts the entries of its slot not
 * used for `keep` seconds; when the cache is still at its bound on entries
 * or bytes the new result is simply not cached, so memory stays bounded and
 * behaviour stays correct.
 */
#include <string.h>

#include "core/dprint.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/ut.h"

#include "wa_cache.h"

#define WA_CACHE_SLOTS 256
#define WA_CACHE_ETAG_MAX 128

typedef struct wa_cache_entry
{
	struct wa_cache_entry *next;
	unsigned int hash;
	str uri; /* allocated with the entry */
	wa_doc_status_t status;
	int err;
	wa_policy_t *pol; /* shm block or NULL */
	size_t size;
	time_t loaded;	  /* fetched or last validated */
	unsigned int gen; /* slot generation the load or validation began in */
	char etag[WA_CACHE_ETAG_MAX + 1];
} wa_cache_entry_t;

typedef struct wa_cache_slot
{
	wa_cache_entry_t *first;
	gen_lock_t lock;
	unsigned int gen; /* bumped by every local write of a policy here */
	int writing;	  /* local writes in progress */
	time_t writing_since;
} wa_cache_slot_t;

/* a write that never ended (its script stopped between) expires */
#define WA_CACHE_WRITE_MAX 10

typedef struct wa_cache
{
	wa_cache_slot_t slots[WA_CACHE_SLOTS];
	gen_lock_t count_lock;
	unsigned entries;
	size_t bytes;
	unsigned max_entries;
	size_t max_bytes;
	int keep;
} wa_cache_t;

static wa_cache_t *_wa_cache = NULL;

int wa_cache_init(unsigned max_entries, size_t max_bytes, int keep)
{
	int i;

	_wa_cache = shm_malloc(sizeof(*_wa_cache));
	if(!_wa_cache) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_wa_cache, 0, sizeof(*_wa_cache));
	for(i = 0; i < WA_CACHE_SLOTS; i++)
		lock_init(&_wa_cache->slots[i].lock);
	lock_init(&_wa_cache->count_lock);
	_wa_cache->max_entries = max_entries;
	_wa_cache->max_bytes = max_bytes;
	_wa_cache->keep = keep;
	return 0;
}

static size_t wa_cache_entry_bytes(const wa_cache_entry_t *e)
{
	return sizeof(*e) + e->uri.len + e->size;
}

static void wa_cache_entry_free(wa_cache_entry_t *e)
{
	if(e->pol)
		shm_free(e->pol);
	shm_free(e);
}

static int wa_cache_match(wa_cache_entry_t *e, str *uri, unsigned hash)
{
	return e->hash == hash && e->uri.len == uri->len
		   && memcmp(e->uri.s, uri->s, uri->len) == 0;
}

/* unlink from one slot what matches uri (NULL: all) or, with before > 0,
 * what was loaded before that time; lock held */
static int wa_cache_slot_drop(wa_cache_slot_t *slot, str *uri, unsigned hash,
		time_t before, unsigned *n, size_t *bytes)
{
	wa_cache_entry_t **pe = &slot->first, *e;
	int dropped = 0;

	while((e = *pe) != NULL) {
		if(before > 0 ? e->loaded < before
					  : (uri == NULL || wa_cache_match(e, uri, hash))) {
			*pe = e->next;
			(*n)++;
			*bytes += wa_cache_entry_bytes(e);
			wa_cache_entry_free(e);
			dropped++;
			continue;
		}
		pe = &e->next;
	}
	return dropped;
}

static void wa_cache_uncount(unsigned n, size_t bytes)
{
	if(n == 0)
		return;
	lock_get(&_wa_cache->count_lock);
	_wa_cache->entries -= n;
	_wa_cache->bytes -= bytes;
	lock_release(&_wa_cache->count_lock);
}

void wa_cache_destroy(void)
{
	int i;
	unsigned n = 0;
	size_t bytes = 0;

	if(!_wa_cache)
		return;
	for(i = 0; i < WA_CACHE_SLOTS; i++)
		wa_cache_slot_drop(&_wa_cache->slots[i], NULL, 0, 0, &n, &bytes);
	shm_free(_wa_cache);
	_wa_cache = NULL;
}

/* the entry for uri in its slot, lock held */
static wa_cache_entry_t *wa_cache_find(
		wa_cache_slot_t *slot, str *uri, unsigned hash)
{
	wa_cache_entry_t *e;

	for(e = slot->first; e; e = e->next)
		if(wa_cache_match(e, uri, hash))
			return e;
	return NULL;
}

#define WA_CACHE_SLOT_OF(uri, hash) \
	(hash = core_case_hash(uri, 0, 0), &_wa_cache->slots[hash % WA_CACHE_SLOTS])

int wa_cache_visit(
		str *uri, int max_age, wa_cache_visit_f visit, void *arg, int *ret)
{
	unsigned hash;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);
	wa_cache_entry_t *e;
	time_t now = time(NULL);
	int hit = 0;

	lock_get(&slot->lock);
	e = wa_cache_find(slot, uri, hash);
	if(e && now >= e->loaded && now - e->loaded < max_age) {
		*ret = visit(e->status, e->err, e->pol, arg);
		hit = 1;
	}
	lock_release(&slot->lock);
	return hit;
}

int wa_cache_visit_trusted(
		str *uri, int max_age, wa_cache_visit_f visit, void *arg, int *ret)
{
	unsigned hash;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);
	wa_cache_entry_t *e;
	time_t now = time(NULL);
	int hit = 0;

	lock_get(&slot->lock);
	if(slot->writing > 0 && now - slot->writing_since > WA_CACHE_WRITE_MAX)
		slot->writing = 0;
	e = slot->writing > 0 ? NULL : wa_cache_find(slot, uri, hash);
	if(e && e->gen == slot->gen && now >= e->loaded
			&& now - e->loaded < max_age) {
		*ret = visit(e->status, e->err, e->pol, arg);
		hit = 1;
	}
	lock_release(&slot->lock);
	return hit;
}

unsigned int wa_cache_gen(str *uri)
{
	unsigned hash, gen;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);

	lock_get(&slot->lock);
	gen = slot->gen;
	lock_release(&slot->lock);
	return gen;
}

static void wa_cache_write(str *uri, int begin)
{
	unsigned hash, n = 0;
	size_t bytes = 0;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);

	lock_get(&slot->lock);
	slot->gen++;
	if(begin) {
		slot->writing++;
		slot->writing_since = time(NULL);
	} else if(slot->writing > 0) {
		slot->writing--;
	}
	wa_cache_slot_drop(slot, uri, hash, 0, &n, &bytes);
	lock_release(&slot->lock);
	wa_cache_uncount(n, bytes);
}

void wa_cache_write_begin(str *uri)
{
	wa_cache_write(uri, 1);
}

void wa_cache_write_end(str *uri)
{
	wa_cache_write(uri, 0);
}

int wa_cache_etag(str *uri, char *etag, size_t size)
{
	unsigned hash;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);
	wa_cache_entry_t *e;
	int found = 0;

	lock_get(&slot->lock);
	e = wa_cache_find(slot, uri, hash);
	if(e && e->etag[0] && strlen(e->etag) < size) {
		strcpy(etag, e->etag);
		found = 1;
	}
	lock_release(&slot->lock);
	return found;
}

int wa_cache_touch(str *uri, unsigned int gen)
{
	unsigned hash;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);
	wa_cache_entry_t *e;

	lock_get(&slot->lock);
	e = wa_cache_find(slot, uri, hash);
	if(e) {
		e->loaded = time(NULL);
		e->gen = gen;
	}
	lock_release(&slot->lock);
	return e != NULL;
}

void wa_cache_put(str *uri, wa_doc_status_t status, int err, wa_policy_t *pol,
		size_t size, const char *etag, unsigned int gen)
{
	unsigned hash;
	wa_cache_slot_t *slot = WA_CACHE_SLOT_OF(uri, hash);
	wa_cache_entry_t *e;
	unsigned n = 0;
	size_t bytes = 0, need = sizeof(*e) + uri->len + size;
	int room;

	/* replace what was there, and make room among this slot's old entries */
	lock_get(&slot->lock);
	wa_cache_slot_drop(slot, uri, hash, 0, &n, &bytes);
	wa_cache_slot_drop(slot, NULL, 0, time(NULL) - _wa_cache->keep, &n, &bytes);
	lock_release(&slot->lock);
	wa_cache_uncount(n, bytes);

	lock_get(&_wa_cache->count_lock);
	room = _wa_cache->entries < _wa_cache->max_entries
		   && _wa_cache->bytes + need <= _wa_cache->max_bytes;
	if(room) {
		_wa_cache->entries++;
		_wa_cache->bytes += need;
	}
	lock_release(&_wa_cache->count_lock);
	if(!room) {
		LM_DBG("policy cache full, %.*s not cached\n", uri->len, uri->s);
		goto drop;
	}

	e = shm_malloc(sizeof(*e) + uri->len);
	if(!e) {
		SHM_MEM_ERROR;
		wa_cache_uncount(1, need);
		goto drop;
	}
	memset(e, 0, sizeof(*e));
	e->uri.s = (char *)(e + 1);
	memcpy(e->uri.s, uri->s, uri->len);
	e->uri.len = uri->len;
	e->hash = hash;
	e->status = status;
	e->err = err;
	e->pol = pol; /* absorbed by the entry */
	e->size = size;
	e->loaded = time(NULL);
	e->gen = gen;
	if(etag && strlen(etag) <= WA_CACHE_ETAG_MAX)
		strcpy(e->etag, etag);

	lock_get(&slot->lock);
	e->next = slot->first;
	slot->first = e;
	lock_release(&slot->lock);
	return;

drop:
	if(pol)
		shm_free(pol);
}

int wa_cache_invalidate(str *uri)
{
	unsigned n = 0, hash, i;
	size_t bytes = 0;
	wa_cache_slot_t *slot;

	if(uri) {
		slot = WA_CACHE_SLOT_OF(uri, hash);
		lock_get(&slot->lock);
		slot->gen++;
		wa_cache_slot_drop(slot, uri, hash, 0, &n, &bytes);
		lock_release(&slot->lock);
	} else {
		for(i = 0; i < WA_CACHE_SLOTS; i++) {
			slot = &_wa_cache->slots[i];
			lock_get(&slot->lock);
			slot->gen++;
			wa_cache_slot_drop(slot, NULL, 0, 0, &n, &bytes);
			lock_release(&slot->lock);
		}
	}
	wa_cache_uncount(n, bytes);
	return (int)n;
}

void wa_cache_counts(unsigned *entries, size_t *bytes)
{
	lock_get(&_wa_cache->count_lock);
	*entries = _wa_cache->entries;
	*bytes = _wa_cache->bytes;
	lock_release(&_wa_cache->count_lock);
}
