/*
 * sip_privacy: the subscriber tables through the DB API, cached in shared
 * memory (see sp_db.h). A load builds a whole new table outside the lock
 * and swaps the pointer under it (as the tls module's reload does); readers
 * copy what they need under the lock, so the old table is freed at once.
 */
#include <string.h>

#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/ut.h"
#include "core/parser/parse_uri.h"
#include "lib/srdb1/db.h"

#include "kdb_text.h"
#include "sp_db.h"

#define SP_DB_TABLE_VERSION 1
#define SP_DB_ERR_SIZE 384

str sp_db_url = STR_NULL;
str sp_identity_table = str_init("sp_identity");
str sp_blocking_table = str_init("sp_blocking");

static db_func_t _sp_dbf;
static gen_lock_t *_sp_db_lock = NULL;
static sp_subs_t **_sp_db_cur = NULL; /* shm: the table in force */

static str _sp_col_user = str_init("username");
static str _sp_col_domain = str_init("domain");
static str _sp_col_identity = str_init("identity");
static str _sp_col_default = str_init("is_default");
static str _sp_col_methods = str_init("methods");

const char *sp_rpc_subscriber_doc[2] = {
		"A subscriber's public identities (the default marked) and the"
		" methods with network-provided identity blocking. Parameter: the"
		" AOR (sip:user@domain).",
		0};
const char *sp_rpc_reload_doc[2] = {
		"Reads the identity and blocking tables again; on an error the"
		" tables in force stay.",
		0};

static void *sp_db_shm_alloc(size_t size)
{
	return shm_malloc(size);
}

static void sp_db_shm_free(void *p)
{
	shm_free(p);
}

static int sp_db_int(db_val_t *v)
{
	if(VAL_NULL(v))
		return 0;
	switch(VAL_TYPE(v)) {
		case DB1_INT:
			return VAL_INT(v);
		case DB1_BIGINT:
			return VAL_BIGINT(v) != 0;
		default:
			return -1;
	}
}

/* A text column as a sp_str_t (empty for NULL or another type). */
static void sp_db_text(db_val_t *v, sp_str_t *s)
{
	int len = 0;

	s->s = kdb_val_text(v, &len);
	s->len = s->s ? (size_t)len : 0;
}

/* Reads every row of one table into t; err says which row failed. */
static int sp_db_read(db1_con_t *con, str *table, int blocking, sp_subs_t *t,
		char *err, size_t errsize)
{
	db_key_t icols[4] = {&_sp_col_user, &_sp_col_domain, &_sp_col_identity,
			&_sp_col_default};
	db_key_t bcols[3] = {&_sp_col_user, &_sp_col_domain, &_sp_col_methods};
	db1_res_t *res = NULL;
	db_val_t *v;
	sp_str_t user, domain, val;
	int i, def = 0, rc, ret = -1;

	if(_sp_dbf.use_table(con, table) < 0
			|| _sp_dbf.query(con, 0, 0, 0, blocking ? bcols : icols, 0,
					   blocking ? 3 : 4, 0, &res)
					   < 0
			|| res == NULL) {
		snprintf(err, errsize, "cannot query table '%.*s'", table->len,
				table->s);
		goto out;
	}
	for(i = 0; i < RES_ROW_N(res); i++) {
		v = ROW_VALUES(&RES_ROWS(res)[i]);
		sp_db_text(&v[0], &user);
		sp_db_text(&v[1], &domain);
		sp_db_text(&v[2], &val);
		if(blocking) {
			rc = sp_subs_add_blocking(t, &user, &domain, &val);
		} else {
			def = sp_db_int(&v[3]);
			rc = def < 0 ? SP_SUBS_ERR_ARG
						 : sp_subs_add_identity(t, &user, &domain, &val, def);
		}
		if(rc != SP_SUBS_OK) {
			snprintf(err, errsize, "table '%.*s', row %d (%.*s@%.*s): %s",
					table->len, table->s, i + 1,
					(int)(user.len > 64 ? 64 : user.len), user.s ? user.s : "",
					(int)(domain.len > 64 ? 64 : domain.len),
					domain.s ? domain.s : "",
					def < 0 && !blocking ? "is_default is not an integer"
										 : sp_subs_strerror(rc));
			goto out;
		}
	}
	ret = 0;
out:
	if(res)
		_sp_dbf.free_result(con, res);
	return ret;
}

/* A new table read from the database, or NULL with err set. */
static sp_subs_t *sp_db_load(char *err, size_t errsize)
{
	db1_con_t *con = NULL;
	sp_subs_t *t = NULL;

	con = _sp_dbf.init(&sp_db_url);
	if(!con) {
		snprintf(err, errsize, "cannot open the database (db_url)");
		return NULL;
	}
	if(db_check_table_version(
			   &_sp_dbf, con, &sp_identity_table, SP_DB_TABLE_VERSION)
					< 0
			|| db_check_table_version(
					   &_sp_dbf, con, &sp_blocking_table, SP_DB_TABLE_VERSION)
					   < 0) {
		snprintf(err, errsize,
				"tables '%.*s' and '%.*s' (version %d) are needed: create"
				" them with sip_privacy-create.sql",
				sp_identity_table.len, sp_identity_table.s,
				sp_blocking_table.len, sp_blocking_table.s,
				SP_DB_TABLE_VERSION);
		goto error;
	}
	t = sp_subs_new(64, sp_db_shm_alloc, sp_db_shm_free);
	if(!t) {
		snprintf(err, errsize, "out of shared memory");
		goto error;
	}
	if(sp_db_read(con, &sp_identity_table, 0, t, err, errsize) < 0
			|| sp_db_read(con, &sp_blocking_table, 1, t, err, errsize) < 0
			|| sp_subs_check(t, err, errsize) != SP_SUBS_OK)
		goto error;
	_sp_dbf.close(con);
	return t;
error:
	sp_subs_free(t);
	_sp_dbf.close(con);
	return NULL;
}

/* Loads and swaps in a new table: 0, or -1 with err set (the old stays). */
static int sp_db_swap(char *err, size_t errsize)
{
	sp_subs_t *t, *old;

	t = sp_db_load(err, errsize);
	if(!t)
		return -1;
	lock_get(_sp_db_lock);
	old = *_sp_db_cur;
	*_sp_db_cur = t;
	lock_release(_sp_db_lock);
	sp_subs_free(old);
	LM_INFO("subscriber tables loaded: %zu user(s), %zu identity row(s), %zu"
			" blocking row(s)\n",
			t->nusers, t->nids, t->nblocking);
	return 0;
}

int sp_db_init(void)
{
	char err[SP_DB_ERR_SIZE];

	if(sp_db_url.s == NULL || sp_db_url.len == 0) {
		LM_INFO("no db_url: no subscriber tables, sp_assert_identity()"
				" asserts nothing and no network-provided blocking\n");
		return 0;
	}
	if(kdb_bind("db_url", &sp_db_url, &_sp_dbf, DB_CAP_QUERY, "query") < 0)
		return -1;
	_sp_db_lock = lock_alloc();
	_sp_db_cur = shm_malloc(sizeof(*_sp_db_cur));
	if(!_sp_db_lock || !_sp_db_cur || !lock_init(_sp_db_lock)) {
		LM_ERR("out of shared memory\n");
		return -1;
	}
	*_sp_db_cur = NULL;
	if(sp_db_swap(err, sizeof(err)) < 0) {
		LM_ERR("subscriber tables cannot be read, not starting: %s\n", err);
		return -1;
	}
	return 0;
}

void sp_db_destroy(void)
{
	if(_sp_db_cur) {
		sp_subs_free(*_sp_db_cur);
		shm_free(_sp_db_cur);
		_sp_db_cur = NULL;
	}
	if(_sp_db_lock) {
		lock_destroy(_sp_db_lock);
		lock_dealloc(_sp_db_lock);
		_sp_db_lock = NULL;
	}
}

int sp_db_enabled(void)
{
	return _sp_db_cur != NULL;
}

int sp_db_lookup(const str *user, const str *domain, sp_sub_copy_t *c)
{
	sp_str_t u, d;
	const sp_sub_t *s;

	if(!_sp_db_cur)
		return -1;
	u.s = user->s;
	u.len = (size_t)user->len;
	d.s = domain->s;
	d.len = (size_t)domain->len;
	lock_get(_sp_db_lock);
	s = sp_subs_find(*_sp_db_cur, &u, &d);
	sp_subs_copy(s, c);
	lock_release(_sp_db_lock);
	return s ? 1 : 0;
}

int sp_db_aor_user(str *aor, char *ubuf, str *user, str *domain)
{
	sip_uri_t u;

	if(aor->s == NULL || aor->len <= 0 || parse_uri(aor->s, aor->len, &u) < 0
			|| (u.type != SIP_URI_T && u.type != SIPS_URI_T) || u.user.len <= 0
			|| u.user.len > SP_SUBS_MAX_USER_LEN || u.host.len <= 0)
		return -1;
	user->s = ubuf;
	user->len = 0;
	if(un_escape(&u.user, user) < 0 || user->len <= 0)
		return -1;
	*domain = u.host;
	return 0;
}

/* ---- RPC ------------------------------------------------------------- */

void sp_rpc_subscriber(rpc_t *rpc, void *ctx)
{
	char ubuf[SP_SUBS_MAX_USER_LEN];
	char meth[SP_METH_STR_SIZE];
	sp_sub_copy_t *c = NULL;
	str aor = STR_NULL, user, domain;
	void *th, *ah, *ih;
	size_t k;
	int rc;

	if(rpc->scan(ctx, "S", &aor) < 1) {
		rpc->fault(ctx, 400, "AOR expected (sip:user@domain)");
		return;
	}
	if(sp_db_aor_user(&aor, ubuf, &user, &domain) < 0) {
		rpc->fault(ctx, 400,
				"malformed AOR: a sip or sips URI with a user"
				" part is expected");
		return;
	}
	c = pkg_malloc(sizeof(*c));
	if(!c) {
		PKG_MEM_ERROR;
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	rc = sp_db_lookup(&user, &domain, c);
	if(rc < 0) {
		rpc->fault(ctx, 500, "no subscriber tables (modparam db_url unset)");
		goto out;
	}
	if(rc == 0) {
		rpc->fault(ctx, 404, "unknown user");
		goto out;
	}
	if(sp_meth_format(c->blocked, meth, sizeof(meth)) < 0) {
		rpc->fault(ctx, 500, "cannot format the blocking methods");
		goto out;
	}
	if(rpc->add(ctx, "{", &th) < 0 || rpc->struct_add(th, "S", "aor", &aor) < 0
			|| rpc->struct_add(th, "[", "identities", &ah) < 0)
		goto out;
	for(k = 0; k < c->nids; k++) {
		if(rpc->array_add(ah, "{", &ih) < 0
				|| rpc->struct_add(ih, "Sd", "uri",
						   &(str){(char *)c->ids[k].s, (int)c->ids[k].len},
						   "default", k == 0 ? 1 : 0)
						   < 0)
			goto out;
	}
	rpc->struct_add(th, "s", "blocking", meth[0] ? meth : "none");
out:
	pkg_free(c);
}

void sp_rpc_reload(rpc_t *rpc, void *ctx)
{
	char err[SP_DB_ERR_SIZE];

	if(!_sp_db_cur) {
		rpc->fault(ctx, 500, "no subscriber tables (modparam db_url unset)");
		return;
	}
	if(sp_db_swap(err, sizeof(err)) < 0) {
		LM_ERR("sip_privacy.reload refused, the tables in force stay: %s\n",
				err);
		rpc->fault(
				ctx, 500, "reload failed, the tables in force stay: %s", err);
		return;
	}
	rpc->rpl_printf(ctx, "ok");
}
