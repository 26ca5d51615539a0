/*
 * Shared Kamailio glue (lib/): the text of a string-ish DB API column.
 */
#ifndef _LIB_KDB_TEXT_H_
#define _LIB_KDB_TEXT_H_

#include "lib/srdb1/db_val.h"

/* The bytes of a STR, STRING or BLOB value and their count in *len, or
 * NULL for NULL and for any other type (logged). */
const char *kdb_val_text(db_val_t *v, int *len);

#endif
