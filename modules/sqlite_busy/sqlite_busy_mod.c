/*
 * sqlite_busy module: a bounded busy handler for every SQLite connection.
 *
 * Kamailio 5.6's db_sqlite opens its connections without a busy timeout, so
 * a statement that meets another process's write lock fails at once with
 * "database is locked" and the write is lost. This module registers an
 * SQLite auto-extension, which SQLite runs on every connection the process
 * opens afterwards, db_sqlite's included, and installs a busy handler that
 * retries for at most `busy_timeout` milliseconds. It is registered in
 * mod_register, i.e. while the configuration is parsed and before any module
 * opens a database, whatever the loadmodule order.
 *
 * The same hook refuses (open_check) a database that SQLite could open only
 * read-only, that holds no table or that is not a database at all: SQLite
 * silently falls back to read-only on a write-protected file, and creates
 * an empty one where the file is missing, so Kamailio would otherwise start
 * and then lose every write, or fail later without naming the file.
 */
#include <stdlib.h>
#include <unistd.h>
#include <sqlite3.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/counters.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"

#include "busy_wait.h"

MODULE_VERSION

static int _sqlite_busy_timeout = 5000;
static int _sqlite_busy_registered = 0;
static int _sqlite_busy_open_check = 1;

static stat_var *_sqlite_busy_waits = NULL;
static stat_var *_sqlite_busy_timeouts = NULL;
static stat_var *_sqlite_busy_connections = NULL;

static int mod_init(void);
static void mod_destroy(void);

static int sqlite_busy_handler(void *arg, int count)
{
	int delay;

	if(count == 0 && _sqlite_busy_waits)
		update_stat(_sqlite_busy_waits, 1);
	delay = sqlite_busy_delay(count, _sqlite_busy_timeout);
	if(delay <= 0) {
		if(_sqlite_busy_timeouts)
			update_stat(_sqlite_busy_timeouts, 1);
		LM_ERR("SQLite database still locked after %d ms (busy_timeout):"
			   " the statement fails\n",
				sqlite_busy_waited(count, _sqlite_busy_timeout));
		return 0;
	}
	usleep(delay * 1000);
	return 1;
}

/* A connection this node can write through and that holds a schema; the
 * reason in *err (SQLite's allocation) and an error log line naming the
 * file otherwise. */
static int sqlite_busy_check_open(sqlite3 *db, char **err)
{
	const char *file = sqlite3_db_filename(db, "main");
	sqlite3_stmt *st = NULL;
	int tables = -1;

	if(!file || !file[0])
		return SQLITE_OK; /* in-memory or temporary */
	if(sqlite3_db_readonly(db, "main") == 1) {
		LM_ERR("SQLite database %s can be opened read-only only (file"
			   " write-protected?): refused, its writes would be lost\n",
				file);
		*err = sqlite3_mprintf("%s is read-only", file);
		return SQLITE_READONLY;
	}
	if(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st,
			   NULL) == SQLITE_OK
			&& sqlite3_step(st) == SQLITE_ROW)
		tables = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if(tables < 0) {
		LM_ERR("SQLite database %s unreadable: %s\n", file, sqlite3_errmsg(db));
		*err = sqlite3_mprintf("%s unreadable", file);
		return SQLITE_ERROR;
	}
	if(tables == 0) {
		LM_ERR("SQLite database %s holds no table (missing, and created"
			   " empty?): refused, create its schema first\n",
				file);
		*err = sqlite3_mprintf("%s holds no table", file);
		return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

/* A connection refused here makes sqlite3_open_v2() fail, and SQLite hands
 * the caller a handle still to be closed with sqlite3_close(); db_sqlite
 * drops it (5.6.3 dbase.c). The refused ones are kept and closed when the
 * process exits (a refused start-up: right away) or at module destroy. */
#define SQLITE_BUSY_REFUSED_MAX 16
static sqlite3 *_sqlite_busy_refused[SQLITE_BUSY_REFUSED_MAX];
static int _sqlite_busy_nrefused = 0;

static void sqlite_busy_close_refused(void)
{
	while(_sqlite_busy_nrefused > 0)
		sqlite3_close_v2(_sqlite_busy_refused[--_sqlite_busy_nrefused]);
}

static void sqlite_busy_keep_refused(sqlite3 *db)
{
	static int at_exit = 0;

	if(!at_exit)
		at_exit = atexit(sqlite_busy_close_refused) == 0;
	if(_sqlite_busy_nrefused < SQLITE_BUSY_REFUSED_MAX)
		_sqlite_busy_refused[_sqlite_busy_nrefused++] = db;
}

static int sqlite_busy_on_open(
		sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
	sqlite3_busy_handler(db, sqlite_busy_handler, NULL);
	if(_sqlite_busy_open_check
			&& sqlite_busy_check_open(db, err) != SQLITE_OK) {
		sqlite_busy_keep_refused(db);
		return SQLITE_ERROR;
	}
	if(_sqlite_busy_connections)
		update_stat(_sqlite_busy_connections, 1);
	LM_DBG("busy handler set on SQLite connection %p\n", (void *)db);
	return SQLITE_OK;
}

static void sqlite_busy_rpc_show(rpc_t *rpc, void *ctx)
{
	void *th;

	if(rpc->add(ctx, "{", &th) < 0) {
		rpc->fault(ctx, 500, "Internal error creating reply");
		return;
	}
	rpc->struct_add(th, "dddd", "busy_timeout", _sqlite_busy_timeout, "waits",
			(int)get_stat_val(_sqlite_busy_waits), "timeouts",
			(int)get_stat_val(_sqlite_busy_timeouts), "connections",
			(int)get_stat_val(_sqlite_busy_connections));
}

static const char *sqlite_busy_rpc_show_doc[2] = {
		"Show the busy timeout and how often statements waited or gave up.", 0};

/* clang-format off */
static param_export_t params[] = {
	{"busy_timeout", PARAM_INT, &_sqlite_busy_timeout},
	{"open_check", PARAM_INT, &_sqlite_busy_open_check},
	{0, 0, 0}
};

static rpc_export_t rpc_cmds[] = {
	{"sqlite_busy.show", sqlite_busy_rpc_show, sqlite_busy_rpc_show_doc, 0},
	{0, 0, 0, 0}
};

static stat_export_t mod_stats[] = {
	{"busy_waits", 0, &_sqlite_busy_waits},
	{"busy_timeouts", 0, &_sqlite_busy_timeouts},
	{"connections", 0, &_sqlite_busy_connections},
	{0, 0, 0}
};

struct module_exports exports = {
	"sqlite_busy",   /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	0,               /* cmd (cfg function) exports */
	params,          /* param exports */
	0,               /* RPC method exports */
	0,               /* pseudo-variables exports */
	0,               /* response handling function */
	mod_init,        /* module init function */
	0,               /* per-child init function */
	mod_destroy      /* module destroy function */
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	if(sqlite3_auto_extension((void (*)(void))sqlite_busy_on_open)
			!= SQLITE_OK) {
		LM_ERR("cannot register the SQLite auto-extension\n");
		return -1;
	}
	_sqlite_busy_registered = 1;
	return 0;
}

static int mod_init(void)
{
	if(_sqlite_busy_timeout < 0 || _sqlite_busy_timeout > 60000) {
		LM_ERR("modparam busy_timeout must be 0..60000 ms, not %d\n",
				_sqlite_busy_timeout);
		return -1;
	}
	if(_sqlite_busy_open_check != 0 && _sqlite_busy_open_check != 1) {
		LM_ERR("modparam open_check must be 0 or 1, not %d\n",
				_sqlite_busy_open_check);
		return -1;
	}
	if(!_sqlite_busy_registered) {
		LM_ERR("SQLite auto-extension not registered\n");
		return -1;
	}
	if(register_module_stats(exports.name, mod_stats) != 0) {
		LM_ERR("cannot register statistics\n");
		return -1;
	}
	if(rpc_register_array(rpc_cmds) != 0) {
		LM_ERR("cannot register RPC commands\n");
		return -1;
	}
	LM_INFO("SQLite connections wait up to %d ms on a locked database"
			" (SQLite %s)\n",
			_sqlite_busy_timeout, sqlite3_libversion());
	return 0;
}

static void mod_destroy(void)
{
	sqlite_busy_close_refused();
}
