/*
 * Shared Kamailio glue (lib/): binding a module's database, the text of a
 * string-ish DB API column, and DB API values made from a str or an int.
 */
#include <string.h>

#include "core/dprint.h"
#include "lib/srdb1/db_val.h"

#include "kdb_text.h"

int kdb_bind(const char *param, str *url, db_func_t *dbf, unsigned int caps,
		const char *what)
{
	if(db_bind_mod(url, dbf) < 0) {
		LM_ERR("modparam %s: no database module for '%.*s'\n", param, url->len,
				url->s);
		return -1;
	}
	if(!DB_CAPABILITY(*dbf, caps)) {
		LM_ERR("modparam %s: the database module cannot %s\n", param, what);
		return -1;
	}
	return 0;
}

const char *kdb_val_text(db_val_t *v, int *len)
{
	if(VAL_NULL(v))
		return NULL;
	switch(VAL_TYPE(v)) {
		case DB1_BLOB:
			*len = VAL_BLOB(v).len;
			return VAL_BLOB(v).s;
		case DB1_STR:
			*len = VAL_STR(v).len;
			return VAL_STR(v).s;
		case DB1_STRING:
			*len = VAL_STRING(v) ? strlen(VAL_STRING(v)) : 0;
			return VAL_STRING(v);
		default:
			LM_ERR("unexpected column type %d\n", VAL_TYPE(v));
			return NULL;
	}
}

void kdb_val_set_str(db_val_t *v, str *s)
{
	memset(v, 0, sizeof(*v));
	v->type = DB1_STR;
	v->val.str_val = *s;
}

void kdb_val_set_int(db_val_t *v, int i)
{
	memset(v, 0, sizeof(*v));
	v->type = DB1_INT;
	v->val.int_val = i;
}
