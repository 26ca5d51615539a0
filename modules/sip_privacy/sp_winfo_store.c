/*
 * sip_privacy: the anonymous subscriptions, in shared memory and in a
 * table through the DB API (see sp_winfo_store.h).
 */
#include <string.h>
#include <strings.h>

#include "core/dprint.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/mem/shm.h"
#include "lib/srdb1/db.h"

#include "kdb_text.h"
#include "sp_winfo_store.h"

#define SP_WS_TABLE_VERSION 1

typedef struct sp_ws_rec
{
	struct sp_ws_rec *next;
	time_t expires;
	str callid; /* the three strings follow the struct, NUL terminated */
	str presentity;
	str watcher;
} sp_ws_rec_t;

typedef struct sp_ws_shared
{
	gen_lock_t lock;
	int count;
	sp_ws_rec_t *slots[]; /* _sp_ws_size lists */
} sp_ws_shared_t;

static sp_ws_shared_t *_sp_ws = NULL;
static unsigned int _sp_ws_size = 0;
static unsigned int _sp_ws_max = 0;
static int _sp_ws_db_lookup = 0; /* a miss in memory looks in the table */

static db_func_t _sp_ws_dbf;
static db1_con_t *_sp_ws_db = NULL;
static str _sp_ws_db_url = STR_NULL;
static str _sp_ws_table = STR_NULL;

static str _sp_ws_col_callid = str_init("callid");
static str _sp_ws_col_presentity = str_init("presentity");
static str _sp_ws_col_watcher = str_init("watcher");
static str _sp_ws_col_expires = str_init("expires");

static unsigned int sp_ws_slot(const char *callid, int len)
{
	str s;

	s.s = (char *)callid;
	s.len = len;
	return core_hash(&s, NULL, _sp_ws_size);
}

/* The record of callid in its list; the caller holds the lock. */
static sp_ws_rec_t *sp_ws_find(const char *callid, int len)
{
	sp_ws_rec_t *r;

	for(r = _sp_ws->slots[sp_ws_slot(callid, len)]; r; r = r->next) {
		if(r->callid.len == len && memcmp(r->callid.s, callid, len) == 0)
			return r;
	}
	return NULL;
}

static void sp_ws_copy(str *dst, char **p, str *src)
{
	dst->s = *p;
	dst->len = src->len;
	memcpy(dst->s, src->s, src->len);
	dst->s[dst->len] = '\0';
	*p += src->len + 1;
}

/* Adds or refreshes a record in memory: SP_WS_OK, SP_WS_FULL, SP_WS_ERR
 * (out of shared memory). The caller holds the lock. */
static int sp_ws_mem_put(
		str *callid, str *presentity, str *watcher, time_t expires)
{
	sp_ws_rec_t *r;
	unsigned int slot;
	char *p;

	r = sp_ws_find(callid->s, callid->len);
	if(r) {
		if(expires > r->expires)
			r->expires = expires;
		return SP_WS_OK;
	}
	if((unsigned int)_sp_ws->count >= _sp_ws_max)
		return SP_WS_FULL;
	r = shm_malloc(
			sizeof(*r) + callid->len + presentity->len + watcher->len + 3);
	if(!r) {
		SHM_MEM_ERROR;
		return SP_WS_ERR;
	}
	memset(r, 0, sizeof(*r));
	p = (char *)(r + 1);
	sp_ws_copy(&r->callid, &p, callid);
	sp_ws_copy(&r->presentity, &p, presentity);
	sp_ws_copy(&r->watcher, &p, watcher);
	r->expires = expires;
	slot = sp_ws_slot(callid->s, callid->len);
	r->next = _sp_ws->slots[slot];
	_sp_ws->slots[slot] = r;
	_sp_ws->count++;
	return SP_WS_OK;
}

/* The callid, presentity and watcher of a row (cols order) into f, its
 * expiry into exp: 0, or -1 when the row is malformed. */
static int sp_ws_row(db_val_t *v, str f[3], time_t *exp)
{
	int k;

	for(k = 0; k < 3; k++) {
		f[k].s = (char *)kdb_val_text(&v[k], &f[k].len);
		if(!f[k].s || f[k].len <= 0 || f[k].len > SP_WS_MAX_FIELD)
			return -1;
	}
	if(VAL_NULL(&v[3]) || VAL_TYPE(&v[3]) != DB1_INT)
		return -1;
	*exp = (time_t)VAL_INT(&v[3]);
	return 0;
}

/* The unexpired rows of the table into memory. */
static int sp_ws_load(db1_con_t *con)
{
	db_key_t cols[4] = {&_sp_ws_col_callid, &_sp_ws_col_presentity,
			&_sp_ws_col_watcher, &_sp_ws_col_expires};
	db1_res_t *res = NULL;
	str f[3];
	time_t now = time(NULL), exp;
	int i, n = 0, bad = 0, full = 0, rc, ret = -1;

	if(_sp_ws_dbf.use_table(con, &_sp_ws_table) < 0
			|| _sp_ws_dbf.query(con, 0, 0, 0, cols, 0, 4, 0, &res) < 0
			|| !res) {
		LM_ERR("cannot read the anonymous subscriptions of table '%.*s'\n",
				_sp_ws_table.len, _sp_ws_table.s);
		return -1;
	}
	for(i = 0; i < RES_ROW_N(res); i++) {
		if(sp_ws_row(ROW_VALUES(&RES_ROWS(res)[i]), f, &exp) < 0) {
			bad++;
			continue;
		}
		if(exp < now)
			continue;
		rc = sp_ws_mem_put(&f[0], &f[1], &f[2], exp);
		if(rc == SP_WS_ERR)
			goto out;
		if(rc == SP_WS_FULL)
			full++;
		else
			n++;
	}
	if(bad)
		LM_ERR("%d malformed rows of table '%.*s' ignored: fix or delete them"
			   " (their watchers may show in watcher information)\n",
				bad, _sp_ws_table.len, _sp_ws_table.s);
	if(full)
		LM_ERR("%d rows of table '%.*s' not loaded: winfo_max_entries reached"
			   " (raise it)\n",
				full, _sp_ws_table.len, _sp_ws_table.s);
	LM_INFO("%d anonymous subscriptions loaded from table '%.*s'\n", n,
			_sp_ws_table.len, _sp_ws_table.s);
	ret = 0;
out:
	_sp_ws_dbf.free_result(con, res);
	return ret;
}

int sp_ws_init(str *db_url, str *table, unsigned int size,
		unsigned int max_entries, int db_lookup)
{
	db1_con_t *con = NULL;
	int ret = -1;

	_sp_ws_db_url = *db_url;
	_sp_ws_table = *table;
	_sp_ws_size = size;
	_sp_ws_max = max_entries;
	_sp_ws_db_lookup = db_lookup;
	if(kdb_bind("winfo_db_url", &_sp_ws_db_url, &_sp_ws_dbf,
			   DB_CAP_QUERY | DB_CAP_INSERT | DB_CAP_DELETE | DB_CAP_UPDATE,
			   "query, insert, update and delete")
			< 0)
		return -1;
	_sp_ws = shm_malloc(sizeof(*_sp_ws) + size * sizeof(sp_ws_rec_t *));
	if(!_sp_ws) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_sp_ws, 0, sizeof(*_sp_ws) + size * sizeof(sp_ws_rec_t *));
	if(!lock_init(&_sp_ws->lock)) {
		LM_ERR("cannot initialize the lock\n");
		shm_free(_sp_ws);
		_sp_ws = NULL;
		return -1;
	}
	con = _sp_ws_dbf.init(&_sp_ws_db_url);
	if(!con) {
		LM_ERR("cannot open the database '%.*s' (winfo_db_url)\n",
				_sp_ws_db_url.len, _sp_ws_db_url.s);
		return -1;
	}
	if(db_check_table_version(
			   &_sp_ws_dbf, con, &_sp_ws_table, SP_WS_TABLE_VERSION)
			< 0) {
		LM_ERR("table '%.*s' (version %d) is needed: create it with"
			   " sip_privacy-winfo-create.sql\n",
				_sp_ws_table.len, _sp_ws_table.s, SP_WS_TABLE_VERSION);
		goto out;
	}
	ret = sp_ws_load(con);
out:
	_sp_ws_dbf.close(con);
	return ret;
}

int sp_ws_child_init(void)
{
	if(!_sp_ws)
		return 0;
	_sp_ws_db = _sp_ws_dbf.init(&_sp_ws_db_url);
	if(!_sp_ws_db) {
		LM_ERR("cannot connect to the database '%.*s' (winfo_db_url)\n",
				_sp_ws_db_url.len, _sp_ws_db_url.s);
		return -1;
	}
	return 0;
}

void sp_ws_destroy(void)
{
	sp_ws_rec_t *r, *next;
	unsigned int i;

	if(_sp_ws_db && _sp_ws_dbf.close)
		_sp_ws_dbf.close(_sp_ws_db);
	_sp_ws_db = NULL;
	if(!_sp_ws)
		return;
	for(i = 0; i < _sp_ws_size; i++) {
		for(r = _sp_ws->slots[i]; r; r = next) {
			next = r->next;
			shm_free(r);
		}
	}
	lock_destroy(&_sp_ws->lock);
	shm_free(_sp_ws);
	_sp_ws = NULL;
}

static int sp_ws_use(void)
{
	if(!_sp_ws_db) {
		LM_ERR("no database connection in this process\n");
		return -1;
	}
	if(_sp_ws_dbf.use_table(_sp_ws_db, &_sp_ws_table) < 0) {
		LM_ERR("cannot use table '%.*s'\n", _sp_ws_table.len, _sp_ws_table.s);
		return -1;
	}
	return 0;
}

/* The unexpired rows whose column `col` is `val` (and, when wat is not
 * NULL, whose watcher is wat, ASCII case-insensitive) into this node's
 * memory: 1 when there is one, 0 when not, -1 when the table cannot be
 * read or such a row is malformed (the caller cannot tell: it fails
 * closed). */
static int sp_ws_db_fetch(
		str *col, const char *val, int vlen, const char *wat, int wlen)
{
	db_key_t cols[4] = {&_sp_ws_col_callid, &_sp_ws_col_presentity,
			&_sp_ws_col_watcher, &_sp_ws_col_expires};
	db_key_t keys[2] = {col, &_sp_ws_col_expires};
	db_op_t ops[2] = {OP_EQ, OP_GEQ};
	db_val_t vals[2];
	db1_res_t *res = NULL;
	str v, f[3];
	time_t now = time(NULL), exp;
	int i, rc, found = 0;

	if(sp_ws_use() < 0)
		return -1;
	v.s = (char *)val;
	v.len = vlen;
	kdb_val_set_str(&vals[0], &v);
	kdb_val_set_int(&vals[1], (int)now);
	if(_sp_ws_dbf.query(_sp_ws_db, keys, ops, vals, cols, 2, 4, 0, &res) < 0
			|| !res) {
		LM_ERR("cannot read table '%.*s' (winfo_db_lookup): the watcher is"
			   " taken as anonymous\n",
				_sp_ws_table.len, _sp_ws_table.s);
		return -1;
	}
	for(i = 0; i < RES_ROW_N(res) && found >= 0; i++) {
		if(sp_ws_row(ROW_VALUES(&RES_ROWS(res)[i]), f, &exp) < 0) {
			LM_ERR("malformed row in table '%.*s' (winfo_db_lookup): fix or"
				   " delete it; the watcher is taken as anonymous\n",
					_sp_ws_table.len, _sp_ws_table.s);
			found = -1;
			break;
		}
		if(exp < now
				|| (wat
						&& (f[2].len != wlen
								|| strncasecmp(f[2].s, wat, wlen) != 0)))
			continue;
		lock_get(&_sp_ws->lock);
		rc = sp_ws_mem_put(&f[0], &f[1], &f[2], exp);
		lock_release(&_sp_ws->lock);
		if(rc != SP_WS_OK)
			LM_WARN("anonymous subscription of table '%.*s' not cached in"
					" memory (winfo_max_entries reached or out of shared"
					" memory): it is read from the table again\n",
					_sp_ws_table.len, _sp_ws_table.s);
		found = 1;
	}
	_sp_ws_dbf.free_result(_sp_ws_db, res);
	return found;
}

/* The row of callid: its expiry set, inserted when `insert`. */
static int sp_ws_db_write(
		str *callid, str *presentity, str *watcher, time_t expires, int insert)
{
	db_key_t keys[4] = {&_sp_ws_col_callid, &_sp_ws_col_presentity,
			&_sp_ws_col_watcher, &_sp_ws_col_expires};
	db_key_t ucols[1] = {&_sp_ws_col_expires};
	db_val_t vals[4];

	if(sp_ws_use() < 0)
		return -1;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], presentity);
	kdb_val_set_str(&vals[2], watcher);
	kdb_val_set_int(&vals[3], (int)expires);
	if(insert)
		return _sp_ws_dbf.insert(_sp_ws_db, keys, vals, 4) < 0 ? -1 : 0;
	return _sp_ws_dbf.update(_sp_ws_db, keys, 0, vals, ucols, &vals[3], 1, 1)
						   < 0
				   ? -1
				   : 0;
}

int sp_ws_put(str *callid, str *presentity, str *watcher, time_t expires)
{
	int known, rc, db_rc;

	if(!_sp_ws || callid->len <= 0 || callid->len > SP_WS_MAX_FIELD
			|| presentity->len > SP_WS_MAX_FIELD
			|| watcher->len > SP_WS_MAX_FIELD)
		return SP_WS_ERR;
	lock_get(&_sp_ws->lock);
	known = sp_ws_find(callid->s, callid->len) != NULL;
	rc = !known && (unsigned int)_sp_ws->count >= _sp_ws_max;
	lock_release(&_sp_ws->lock);
	if(rc)
		return SP_WS_FULL;
	/* the table first: the durable copy (a row of another node or a
	 * failed earlier insert makes the insert fail: then an update) */
	db_rc = sp_ws_db_write(callid, presentity, watcher, expires, !known);
	if(db_rc < 0 && !known)
		db_rc = sp_ws_db_write(callid, presentity, watcher, expires, 0);
	if(db_rc < 0)
		LM_ERR("cannot write the anonymous subscription to table '%.*s':"
			   " the SUBSCRIBE is refused (its Call-ID stays anonymous in"
			   " this node's memory)\n",
				_sp_ws_table.len, _sp_ws_table.s);
	lock_get(&_sp_ws->lock);
	rc = sp_ws_mem_put(callid, presentity, watcher, expires);
	lock_release(&_sp_ws->lock);
	if(rc != SP_WS_OK)
		return rc;
	return db_rc < 0 ? SP_WS_ERR : SP_WS_OK;
}

int sp_ws_has_callid(const char *callid, int len)
{
	int found;

	if(!_sp_ws || len <= 0)
		return 0;
	lock_get(&_sp_ws->lock);
	found = sp_ws_find(callid, len) != NULL;
	lock_release(&_sp_ws->lock);
	return found;
}

int sp_ws_lookup_callid(const char *callid, int len)
{
	if(sp_ws_has_callid(callid, len))
		return 1;
	if(!_sp_ws || !_sp_ws_db_lookup || len <= 0 || len > SP_WS_MAX_FIELD)
		return 0;
	return sp_ws_db_fetch(&_sp_ws_col_callid, callid, len, NULL, 0);
}

int sp_ws_lookup_watcher(
		const char *presentity, int plen, const char *watcher, int wlen)
{
	if(sp_ws_has_watcher(presentity, plen, watcher, wlen))
		return 1;
	if(!_sp_ws || !_sp_ws_db_lookup || plen <= 0 || plen > SP_WS_MAX_FIELD
			|| wlen <= 0 || wlen > SP_WS_MAX_FIELD)
		return 0;
	return sp_ws_db_fetch(
			&_sp_ws_col_presentity, presentity, plen, watcher, wlen);
}

int sp_ws_db_lookup(void)
{
	return _sp_ws_db_lookup;
}

int sp_ws_has_watcher(
		const char *presentity, int plen, const char *watcher, int wlen)
{
	sp_ws_rec_t *r;
	unsigned int i;
	int found = 0;

	if(!_sp_ws || wlen <= 0)
		return 0;
	lock_get(&_sp_ws->lock);
	for(i = 0; i < _sp_ws_size && !found; i++) {
		for(r = _sp_ws->slots[i]; r && !found; r = r->next) {
			found = r->watcher.len == wlen && r->presentity.len == plen
					&& strncasecmp(r->watcher.s, watcher, wlen) == 0
					&& strncasecmp(r->presentity.s, presentity, plen) == 0;
		}
	}
	lock_release(&_sp_ws->lock);
	return found;
}

int sp_ws_count(void)
{
	int n;

	if(!_sp_ws)
		return 0;
	lock_get(&_sp_ws->lock);
	n = _sp_ws->count;
	lock_release(&_sp_ws->lock);
	return n;
}

int sp_ws_purge(time_t now)
{
	db_key_t keys[1] = {&_sp_ws_col_expires};
	db_op_t ops[1] = {OP_LT};
	db_val_t vals[1];
	sp_ws_rec_t **pp, *r;
	unsigned int i;
	int n = 0;

	if(!_sp_ws)
		return 0;
	lock_get(&_sp_ws->lock);
	for(i = 0; i < _sp_ws_size; i++) {
		pp = &_sp_ws->slots[i];
		while((r = *pp) != NULL) {
			if(r->expires < now) {
				*pp = r->next;
				shm_free(r);
				_sp_ws->count--;
				n++;
			} else {
				pp = &r->next;
			}
		}
	}
	lock_release(&_sp_ws->lock);
	if(sp_ws_use() < 0)
		return -1;
	kdb_val_set_int(&vals[0], (int)now);
	if(_sp_ws_dbf.delete(_sp_ws_db, keys, ops, vals, 1) < 0) {
		LM_ERR("cannot remove expired anonymous subscriptions from table"
			   " '%.*s'\n",
				_sp_ws_table.len, _sp_ws_table.s);
		return -1;
	}
	return n;
}
