/*
 * notify_smime: certificate store and bindings through the DB API (see
 * ns_store.h).
 */
#include <string.h>

#include "core/dprint.h"
#include "core/mem/pkg.h"
#include "lib/srdb1/db.h"

#include "kdb_text.h"
#include "ns_bcache.h"
#include "ns_store.h"

#define NS_CERT_TABLE_VERSION 1
#define NS_BINDING_TABLE_VERSION 1

static db_func_t _ns_dbf;
static db1_con_t *_ns_db = NULL;
static str _ns_db_url = STR_NULL;
static str _ns_cert_table = STR_NULL;
static str _ns_binding_table = STR_NULL;
static int _ns_cached = 0; /* ns_bcache holds every binding */

static str _ns_col_id = str_init("id");
static str _ns_col_aor = str_init("aor");
static str _ns_col_cert = str_init("cert");
static str _ns_col_callid = str_init("callid");
static str _ns_col_tag = str_init("from_tag");
static str _ns_col_pres_uri = str_init("pres_uri");
static str _ns_col_watcher = str_init("watcher");
static str _ns_col_source = str_init("source");
static str _ns_col_demanded = str_init("demanded");
static str _ns_col_expires = str_init("expires");
static str _ns_col_fp = str_init("cert_sha256");

/* A connection of its own (mod_init), or NULL with a log line. */
static db1_con_t *ns_open(void)
{
	db1_con_t *con = _ns_dbf.init(&_ns_db_url);

	if(!con)
		LM_ERR("cannot open the database '%.*s' (db_url)\n", _ns_db_url.len,
				_ns_db_url.s);
	return con;
}

int ns_store_init(str *db_url, str *cert_table, str *binding_table)
{
	db1_con_t *con;
	int ret = -1;

	_ns_db_url = *db_url;
	_ns_cert_table = *cert_table;
	_ns_binding_table = *binding_table;
	if(kdb_bind("db_url", &_ns_db_url, &_ns_dbf,
			   DB_CAP_QUERY | DB_CAP_INSERT | DB_CAP_DELETE | DB_CAP_UPDATE,
			   "query, insert, update and delete")
			< 0)
		return -1;
	con = ns_open();
	if(!con)
		return -1;
	if(db_check_table_version(
			   &_ns_dbf, con, &_ns_cert_table, NS_CERT_TABLE_VERSION)
					< 0
			|| db_check_table_version(&_ns_dbf, con, &_ns_binding_table,
					   NS_BINDING_TABLE_VERSION)
					   < 0) {
		LM_ERR("tables '%.*s' and '%.*s' (version %d) are needed: create them"
			   " with notify_smime-create.sql\n",
				_ns_cert_table.len, _ns_cert_table.s, _ns_binding_table.len,
				_ns_binding_table.s, NS_BINDING_TABLE_VERSION);
		goto out;
	}
	ret = 0;
out:
	_ns_dbf.close(con);
	return ret;
}

int ns_store_child_init(void)
{
	_ns_db = _ns_dbf.init(&_ns_db_url);
	if(!_ns_db) {
		LM_ERR("cannot connect to the database '%.*s'\n", _ns_db_url.len,
				_ns_db_url.s);
		return -1;
	}
	return 0;
}

void ns_store_destroy(void)
{
	if(_ns_db && _ns_dbf.close)
		_ns_dbf.close(_ns_db);
	_ns_db = NULL;
}

static int ns_use(str *table)
{
	if(!_ns_db) {
		LM_ERR("no database connection in this process\n");
		return -1;
	}
	if(_ns_dbf.use_table(_ns_db, table) < 0) {
		LM_ERR("cannot use table '%.*s'\n", table->len, table->s);
		return -1;
	}
	return 0;
}

int ns_pkg_dup(str *dst, const char *s, int len)
{
	dst->s = pkg_malloc(len + 1);
	if(!dst->s) {
		PKG_MEM_ERROR;
		dst->len = 0;
		return -1;
	}
	memcpy(dst->s, s, len);
	dst->s[len] = '\0';
	dst->len = len;
	return 0;
}

void ns_binding_free(ns_binding_t *b)
{
	if(!b)
		return;
	if(b->pres_uri.s)
		pkg_free(b->pres_uri.s);
	if(b->watcher.s)
		pkg_free(b->watcher.s);
	if(b->pem.s)
		pkg_free(b->pem.s);
	memset(b, 0, sizeof(*b));
}

int ns_store_certs(str *aor, str *pems, int *n)
{
	db_key_t keys[1] = {&_ns_col_aor};
	db_key_t cols[1] = {&_ns_col_cert};
	db_val_t vals[1];
	db1_res_t *res = NULL;
	const char *s;
	int i, len = 0, rows, ret = NS_STORE_ERR;

	*n = 0;
	if(ns_use(&_ns_cert_table) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], aor);
	if(_ns_dbf.query(_ns_db, keys, 0, vals, cols, 1, 1, &_ns_col_id, &res) < 0
			|| !res) {
		LM_ERR("certificate query for %.*s failed\n", aor->len, aor->s);
		return NS_STORE_ERR;
	}
	rows = RES_ROW_N(res);
	/* newest (highest id) first */
	for(i = rows - 1; i >= 0 && *n < NS_STORE_MAX_CERTS; i--) {
		s = kdb_val_text(ROW_VALUES(&RES_ROWS(res)[i]), &len);
		if(!s || len <= 0)
			continue;
		if(ns_pkg_dup(&pems[*n], s, len) < 0)
			goto out;
		(*n)++;
	}
	ret = *n > 0 ? NS_STORE_OK : NS_STORE_NONE;
out:
	if(ret == NS_STORE_ERR)
		for(i = 0; i < *n; i++)
			pkg_free(pems[i].s);
	_ns_dbf.free_result(_ns_db, res);
	return ret;
}

int ns_store_unbind(str *callid, str *tag)
{
	db_key_t keys[2] = {&_ns_col_callid, &_ns_col_tag};
	db_val_t vals[2];

	/* never used again, whatever the table says */
	if(_ns_cached)
		ns_bcache_del(callid, tag);
	if(ns_use(&_ns_binding_table) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], tag);
	if(_ns_dbf.delete(_ns_db, keys, 0, vals, 2) < 0) {
		LM_ERR("cannot delete the binding of Call-ID %.*s\n", callid->len,
				callid->s);
		return NS_STORE_ERR;
	}
	return NS_STORE_OK;
}

int ns_store_bind(str *callid, str *tag, ns_binding_t *b)
{
	db_key_t cols[9] = {&_ns_col_callid, &_ns_col_tag, &_ns_col_pres_uri,
			&_ns_col_watcher, &_ns_col_source, &_ns_col_demanded,
			&_ns_col_expires, &_ns_col_fp, &_ns_col_cert};
	db_val_t vals[9];
	str src = {b->source, (int)strlen(b->source)};
	str fp = {b->fp, (int)strlen(b->fp)};

	if(ns_store_unbind(callid, tag) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], tag);
	kdb_val_set_str(&vals[2], &b->pres_uri);
	kdb_val_set_str(&vals[3], &b->watcher);
	kdb_val_set_str(&vals[4], &src);
	kdb_val_set_int(&vals[5], b->demanded);
	kdb_val_set_int(&vals[6], (int)b->expires);
	kdb_val_set_str(&vals[7], &fp);
	kdb_val_set_str(&vals[8], &b->pem);
	if(_ns_dbf.insert(_ns_db, cols, vals, 9) < 0) {
		LM_ERR("cannot store the binding of Call-ID %.*s\n", callid->len,
				callid->s);
		return NS_STORE_ERR;
	}
	if(_ns_cached && ns_bcache_put(callid, tag, b) < 0) {
		/* the NOTIFYs must find it: undone, the caller refuses */
		ns_store_unbind(callid, tag);
		return NS_STORE_ERR;
	}
	return NS_STORE_OK;
}

/* row -> binding; -1 on a missing column or memory */
static int ns_row_binding(db_val_t *v, ns_binding_t *b)
{
	const char *s;
	int len = 0;

	memset(b, 0, sizeof(*b));
	s = kdb_val_text(&v[0], &len);
	if(!s || ns_pkg_dup(&b->pres_uri, s, len) < 0)
		goto error;
	s = kdb_val_text(&v[1], &len);
	if(!s || ns_pkg_dup(&b->watcher, s, len) < 0)
		goto error;
	s = kdb_val_text(&v[2], &len);
	if(!s || len <= 0 || len >= NS_SOURCE_MAX)
		goto error;
	memcpy(b->source, s, len);
	b->source[len] = '\0';
	b->demanded = VAL_NULL(&v[3]) ? 1 : VAL_INT(&v[3]);
	b->expires = VAL_NULL(&v[4]) ? 0 : (time_t)VAL_INT(&v[4]);
	s = kdb_val_text(&v[5], &len);
	if(!s || len != 64)
		goto error;
	memcpy(b->fp, s, len);
	b->fp[len] = '\0';
	s = kdb_val_text(&v[6], &len);
	if(!s || len <= 0 || ns_pkg_dup(&b->pem, s, len) < 0)
		goto error;
	return 0;
error:
	ns_binding_free(b);
	return -1;
}

/* a row of _ns_binding_rows -> its key and binding; -1 when malformed */
static int ns_row_keyed(db_val_t *v, str *callid, str *tag, ns_binding_t *b)
{
	int len = 0;

	callid->s = (char *)kdb_val_text(&v[7], &len);
	callid->len = len;
	len = 0;
	tag->s = (char *)kdb_val_text(&v[8], &len);
	tag->len = len;
	if(!callid->s || !tag->s || callid->len <= 0 || tag->len <= 0)
		return -1;
	return ns_row_binding(v, b);
}

static db_key_t _ns_binding_cols[7] = {&_ns_col_pres_uri, &_ns_col_watcher,
		&_ns_col_source, &_ns_col_demanded, &_ns_col_expires, &_ns_col_fp,
		&_ns_col_cert};
/* whole rows: the binding's columns (as ns_row_binding reads them), then
 * its key */
static db_key_t _ns_binding_rows[9] = {&_ns_col_pres_uri, &_ns_col_watcher,
		&_ns_col_source, &_ns_col_demanded, &_ns_col_expires, &_ns_col_fp,
		&_ns_col_cert, &_ns_col_callid, &_ns_col_tag};

int ns_store_lookup(str *callid, str *tag, ns_binding_t *b)
{
	db_key_t keys[2] = {&_ns_col_callid, &_ns_col_tag};
	db_val_t vals[2];
	db1_res_t *res = NULL;
	int ret;

	memset(b, 0, sizeof(*b));
	if(_ns_cached)
		return ns_bcache_get(callid, tag, b);
	if(ns_use(&_ns_binding_table) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], tag);
	if(_ns_dbf.query(_ns_db, keys, 0, vals, _ns_binding_cols, 2, 7, 0, &res) < 0
			|| !res) {
		LM_ERR("binding query for Call-ID %.*s failed\n", callid->len,
				callid->s);
		return NS_STORE_ERR;
	}
	if(RES_ROW_N(res) <= 0) {
		ret = NS_STORE_NONE;
	} else if(ns_row_binding(ROW_VALUES(&RES_ROWS(res)[0]), b) < 0) {
		LM_ERR("binding of Call-ID %.*s is malformed in table '%.*s'\n",
				callid->len, callid->s, _ns_binding_table.len,
				_ns_binding_table.s);
		ret = NS_STORE_ERR;
	} else {
		ret = NS_STORE_OK;
	}
	_ns_dbf.free_result(_ns_db, res);
	return ret;
}

int ns_store_touch(str *callid, str *tag, time_t expires)
{
	db_key_t keys[2] = {&_ns_col_callid, &_ns_col_tag};
	db_key_t ucols[1] = {&_ns_col_expires};
	db_val_t vals[2], uvals[1];

	if(ns_use(&_ns_binding_table) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], tag);
	kdb_val_set_int(&uvals[0], (int)expires);
	if(_ns_dbf.update(_ns_db, keys, 0, vals, ucols, uvals, 2, 1) < 0) {
		LM_ERR("cannot refresh the binding of Call-ID %.*s\n", callid->len,
				callid->s);
		return NS_STORE_ERR;
	}
	if(_ns_cached)
		ns_bcache_touch(callid, tag, expires);
	return NS_STORE_OK;
}

int ns_store_purge(time_t now)
{
	db_key_t keys[1] = {&_ns_col_expires};
	db_op_t ops[1] = {OP_LT};
	db_val_t vals[1];
	int n = 0;

	if(_ns_cached)
		n = ns_bcache_purge(now);
	if(ns_use(&_ns_binding_table) < 0)
		return -1;
	kdb_val_set_int(&vals[0], (int)now);
	if(_ns_dbf.delete(_ns_db, keys, ops, vals, 1) < 0) {
		LM_ERR("cannot remove expired bindings\n");
		return -1;
	}
	if(_ns_cached)
		return n;
	return _ns_dbf.affected_rows ? _ns_dbf.affected_rows(_ns_db) : 0;
}

int ns_store_binding_pem(str *callid, str *tag, str *pem)
{
	db_key_t keys[2] = {&_ns_col_callid, &_ns_col_tag};
	db_key_t cols[1] = {&_ns_col_cert};
	db_val_t vals[2];
	db1_res_t *res = NULL;
	const char *s;
	int len = 0, ret = NS_STORE_NONE;

	pem->s = NULL;
	pem->len = 0;
	if(ns_use(&_ns_binding_table) < 0)
		return NS_STORE_ERR;
	kdb_val_set_str(&vals[0], callid);
	kdb_val_set_str(&vals[1], tag);
	if(_ns_dbf.query(_ns_db, keys, 0, vals, cols, 2, 1, 0, &res) < 0 || !res) {
		LM_ERR("certificate query of the binding of Call-ID %.*s failed\n",
				callid->len, callid->s);
		return NS_STORE_ERR;
	}
	if(RES_ROW_N(res) > 0) {
		s = kdb_val_text(ROW_VALUES(&RES_ROWS(res)[0]), &len);
		if(s && len > 0)
			ret = ns_pkg_dup(pem, s, len) < 0 ? NS_STORE_ERR : NS_STORE_OK;
	}
	_ns_dbf.free_result(_ns_db, res);
	return ret;
}

int ns_store_cache_init(unsigned int size)
{
	db_key_t *cols = _ns_binding_rows;
	db1_con_t *con;
	db1_res_t *res = NULL;
	ns_binding_t b;
	str callid, tag;
	time_t now = time(NULL);
	int i, n = 0, bad = 0, ret = -1;

	if(ns_bcache_init(size) < 0) {
		LM_ERR("modparam binding_cache_size must be a power of two\n");
		return -1;
	}
	con = ns_open();
	if(!con)
		return -1;
	if(_ns_dbf.use_table(con, &_ns_binding_table) < 0
			|| _ns_dbf.query(con, 0, 0, 0, cols, 0, 9, 0, &res) < 0 || !res) {
		LM_ERR("cannot read the bindings of table '%.*s'\n",
				_ns_binding_table.len, _ns_binding_table.s);
		goto out;
	}
	for(i = 0; i < RES_ROW_N(res); i++) {
		if(ns_row_keyed(ROW_VALUES(&RES_ROWS(res)[i]), &callid, &tag, &b) < 0) {
			bad++;
			continue;
		}
		if(b.expires >= now) {
			if(ns_bcache_put(&callid, &tag, &b) < 0) {
				ns_binding_free(&b);
				goto out;
			}
			n++;
		}
		ns_binding_free(&b);
	}
	if(bad)
		LM_WARN("%d malformed rows of table '%.*s' ignored (their NOTIFYs"
				" go without body when encryption is demanded)\n",
				bad, _ns_binding_table.len, _ns_binding_table.s);
	LM_INFO("%d subscription bindings loaded from table '%.*s'\n", n,
			_ns_binding_table.len, _ns_binding_table.s);
	_ns_cached = 1;
	ret = 0;
out:
	if(res)
		_ns_dbf.free_result(con, res);
	_ns_dbf.close(con);
	return ret;
}

void ns_store_cache_destroy(void)
{
	_ns_cached = 0;
	ns_bcache_destroy();
}

int ns_store_watcher_bindings(str *aor, int max, ns_store_visit_f f, void *ctx)
{
	db_key_t keys[1] = {&_ns_col_watcher};
	db_key_t *cols = _ns_binding_rows;
	db_val_t vals[1];
	db1_res_t *res = NULL;
	ns_binding_t b;
	str callid, tag;
	int i, n = 0;

	if(ns_use(&_ns_binding_table) < 0)
		return -1;
	kdb_val_set_str(&vals[0], aor);
	if(_ns_dbf.query(_ns_db, keys, 0, vals, cols, 1, 9, 0, &res) < 0 || !res)
		return -1;
	for(i = 0; i < RES_ROW_N(res) && n < max; i++) {
		if(ns_row_keyed(ROW_VALUES(&RES_ROWS(res)[i]), &callid, &tag, &b) < 0)
			continue;
		f(ctx, &callid, &tag, &b);
		ns_binding_free(&b);
		n++;
	}
	_ns_dbf.free_result(_ns_db, res);
	return n;
}
