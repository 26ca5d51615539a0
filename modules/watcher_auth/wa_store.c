/*
 * watcher_auth: the presentity's pres-rules from the xcap table, through
 * Kamailio's DB API: the very document presence_xml reads and xcap_server
 * writes (doc_type 2, pres-rules).
 */
#include <string.h>

#include "core/dprint.h"
#include "core/mem/pkg.h"
#include "lib/srdb1/db.h"

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

int wa_store_init(str *db_url, str *table)
{
	_wa_db_url = *db_url;
	_wa_table = *table;
	if(db_bind_mod(&_wa_db_url, &_wa_dbf) < 0) {
		LM_ERR("modparam db_url: no database module for '%.*s'\n",
				_wa_db_url.len, _wa_db_url.s);
		return -1;
	}
	if(!DB_CAPABILITY(_wa_dbf, DB_CAP_QUERY)) {
		LM_ERR("modparam db_url: the database module cannot query\n");
		return -1;
	}
	return 0;
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

int wa_store_fetch(str *user, str *domain, str *doc)
{
	db_key_t keys[3] = {&_wa_col_username, &_wa_col_domain, &_wa_col_doc_type};
	db_key_t cols[1] = {&_wa_col_doc};
	db_val_t vals[3];
	db1_res_t *res = NULL;
	db_val_t *v;
	const char *s = NULL;
	int len = 0, ret = WA_STORE_ERROR;

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
	if(_wa_dbf.query(_wa_db, keys, 0, vals, cols, 3, 1, 0, &res) < 0 || !res) {
		LM_ERR("policy query for %.*s@%.*s failed\n", user->len, user->s,
				domain->len, domain->s);
		return WA_STORE_ERROR;
	}
	if(RES_ROW_N(res) <= 0) {
		ret = WA_STORE_NONE;
		goto out;
	}
	if(RES_ROW_N(res) > 1)
		LM_WARN("%.*s@%.*s has %d pres-rules documents, using the first\n",
				user->len, user->s, domain->len, domain->s, RES_ROW_N(res));
	v = ROW_VALUES(&RES_ROWS(res)[0]);
	if(VAL_NULL(v)) {
		ret = WA_STORE_NONE;
		goto out;
	}
	switch(VAL_TYPE(v)) {
		case DB1_BLOB:
			s = VAL_BLOB(v).s;
			len = VAL_BLOB(v).len;
			break;
		case DB1_STR:
			s = VAL_STR(v).s;
			len = VAL_STR(v).len;
			break;
		case DB1_STRING:
			s = VAL_STRING(v);
			len = s ? strlen(s) : 0;
			break;
		default:
			LM_ERR("unexpected type %d of column doc\n", VAL_TYPE(v));
			goto out;
	}
	if(!s || len <= 0) {
		ret = WA_STORE_NONE;
		goto out;
	}
	doc->s = pkg_malloc(len + 1);
	if(!doc->s) {
		PKG_MEM_ERROR;
		goto out;
	}
	memcpy(doc->s, s, len);
	doc->s[len] = '\0';
	doc->len = len;
	ret = WA_STORE_FOUND;
out:
	_wa_dbf.free_result(_wa_db, res);
	return ret;
}
