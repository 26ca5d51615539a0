/*
 * watcher_auth: the presentity's pres-rules from the xcap table, through
 * Kamailio's DB API: the very document presence_xml reads and xcap_server
 * writes (doc_type 2, pres-rules).
 */
#include <string.h>

#include "core/dprint.h"
#include "core/mem/pkg.h"
#include "lib/srdb1/db.h"

#include "kdb_text.h"
#include "wa_store.h"

#define WA_DOC_TYPE_PRES_RULES 2

static db_func_t _wa_dbf;
static db1_con_t *_wa_db = NULL;
static str _wa_db_url = STR_NULL;
static str _wa_table = STR_NULL;

static str _wa_col_username = str_init("username");
static str _wa_col_domain = str_init("domain");
static str _wa_col_doc_type = str_init("doc_type");
static str _wa_col_doc = str_init("doc");
static str _wa_col_etag = str_init("etag");

int wa_store_init(str *db_url, str *table)
{
	_wa_db_url = *db_url;
	_wa_table = *table;
	return kdb_bind("db_url", &_wa_db_url, &_wa_dbf, DB_CAP_QUERY, "query");
}

int wa_store_child_init(void)
{
	_wa_db = _wa_dbf.init(&_wa_db_url);
	if(!_wa_db) {
		LM_ERR("cannot connect to the policy database\n");
		return -1;
	}
	return 0;
}

void wa_store_destroy(void)
{
	if(_wa_db && _wa_dbf.close)
		_wa_dbf.close(_wa_db);
	_wa_db = NULL;
}

/* SELECT cols FROM xcap WHERE username, domain, doc_type = pres-rules */
static int wa_store_query(
		str *user, str *domain, db_key_t *cols, int ncols, db1_res_t **res)
{
	db_key_t keys[3] = {&_wa_col_username, &_wa_col_domain, &_wa_col_doc_type};
	db_val_t vals[3];

	if(!_wa_db)
		return WA_STORE_ERROR;
	memset(vals, 0, sizeof(vals));
	vals[0].type = DB1_STR;
	vals[0].val.str_val = *user;
	vals[1].type = DB1_STR;
	vals[1].val.str_val = *domain;
	vals[2].type = DB1_INT;
	vals[2].val.int_val = WA_DOC_TYPE_PRES_RULES;

	if(_wa_dbf.use_table(_wa_db, &_wa_table) < 0) {
		LM_ERR("cannot use table '%.*s'\n", _wa_table.len, _wa_table.s);
		return WA_STORE_ERROR;
	}
	if(_wa_dbf.query(_wa_db, keys, 0, vals, cols, 3, ncols, 0, res) < 0
			|| !*res) {
		LM_ERR("policy query for %.*s@%.*s failed\n", user->len, user->s,
				domain->len, domain->s);
		return WA_STORE_ERROR;
	}
	if(RES_ROW_N(*res) <= 0)
		return WA_STORE_NONE;
	if(RES_ROW_N(*res) > 1)
		LM_WARN("%.*s@%.*s has %d pres-rules documents, using the first\n",
				user->len, user->s, domain->len, domain->s, RES_ROW_N(*res));
	return WA_STORE_FOUND;
}

static int wa_store_copy_etag(db_val_t *v, char *etag, size_t size)
{
	const char *s;
	int len = 0;

	s = kdb_val_text(v, &len);
	if(!s || len <= 0 || (size_t)len >= size) {
		etag[0] = '\0';
		return -1;
	}
	memcpy(etag, s, len);
	etag[len] = '\0';
	return 0;
}

int wa_store_etag(str *user, str *domain, char *etag, size_t size)
{
	db_key_t cols[1] = {&_wa_col_etag};
	db1_res_t *res = NULL;
	int ret;

	ret = wa_store_query(user, domain, cols, 1, &res);
	if(ret == WA_STORE_FOUND
			&& wa_store_copy_etag(ROW_VALUES(&RES_ROWS(res)[0]), etag, size)
					   < 0)
		etag[0] = '\0'; /* no usable version: always reloaded */
	if(res)
		_wa_dbf.free_result(_wa_db, res);
	return ret;
}

int wa_store_fetch(str *user, str *domain, str *doc, char *etag, size_t size)
{
	db_key_t cols[2] = {&_wa_col_doc, &_wa_col_etag};
	db1_res_t *res = NULL;
	db_val_t *v;
	const char *s;
	int len = 0, ret;

	ret = wa_store_query(user, domain, cols, 2, &res);
	if(ret != WA_STORE_FOUND)
		goto out;
	v = ROW_VALUES(&RES_ROWS(res)[0]);
	s = kdb_val_text(&v[0], &len);
	if(!s || len <= 0) {
		ret = WA_STORE_NONE;
		goto out;
	}
	doc->s = pkg_malloc(len + 1);
	if(!doc->s) {
		PKG_MEM_ERROR;
		ret = WA_STORE_ERROR;
		goto out;
	}
	memcpy(doc->s, s, len);
	doc->s[len] = '\0';
	doc->len = len;
	if(etag && wa_store_copy_etag(&v[1], etag, size) < 0)
		etag[0] = '\0';
out:
	if(res)
		_wa_dbf.free_result(_wa_db, res);
	return ret;
}
