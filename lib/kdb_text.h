/*
 * Shared Kamailio glue (lib/): binding a module's database, the text of a
 * string-ish DB API column, and DB API values made from a str or an int.
 */
#ifndef _LIB_KDB_TEXT_H_
#define _LIB_KDB_TEXT_H_

#include "lib/srdb1/db.h"
#include "lib/srdb1/db_val.h"

/* Binds the database module of `url` (modparam `param`) into dbf and checks
 * that it can do `caps` (DB_CAP_ bits, `what` says them in words for the
 * log). 0, or -1 with an error logged. */
int kdb_bind(const char *param, str *url, db_func_t *dbf, unsigned int caps,
		const char *what);

/* The bytes of a STR, STRING or BLOB value and their count in *len, or
 * NULL for NULL and for any other type (logged). */
const char *kdb_val_text(db_val_t *v, int *len);

/* v becomes a non-NULL STR value of s (not copied) / an INT value of i. */
void kdb_val_set_str(db_val_t *v, str *s);
void kdb_val_set_int(db_val_t *v, int i);

#endif
