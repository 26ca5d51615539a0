#!/usr/bin/env bash
# Provision a cluster's shared state in PostgreSQL: one database per role
# (pcscf, ps) on the server scripts/pg.sh runs, with Kamailio's own schema
# (/usr/share/kamailio/postgres, package kamailio-postgres-modules), this
# project's tables (modules/*/*-create.sql), and the same demo data as
# scripts/provision.sh: users, public identities, alice's pres-rules, the
# S/MIME certificate store. The run folder (certificates, tls.cfg, secrets)
# is made by scripts/provision.sh, which this script runs first; its demo
# rows are copied from the SQLite files it made, so there is one source of
# demo data.
#
#   scripts/provision-pg.sh RUN_DIR PG_DIR
# Environment: as for scripts/provision.sh. Leaves provisioned databases
# alone (RUN_DIR/.provisioned-pg).
set -euo pipefail

run=${1:?usage: provision-pg.sh RUN_DIR PG_DIR}
pgdir=${2:?usage: provision-pg.sh RUN_DIR PG_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
schema=/usr/share/kamailio/postgres
[ -d "$schema" ] || { echo "provision-pg: $schema missing (apt-get install kamailio-postgres-modules)" >&2; exit 1; }

"$top/scripts/provision.sh" "$run" >/dev/null
run=$(cd "$run" && pwd)
[ -f "$run/.provisioned-pg" ] && exit 0

psql_db() { "$top/scripts/pg.sh" psql "$pgdir" "$@" -q >/dev/null; }

# Our tables are written for SQLite, where "INTEGER PRIMARY KEY" is the
# row id that numbers itself; PostgreSQL's equivalent is SERIAL.
ours() { sed 's/\bINTEGER PRIMARY KEY NOT NULL\b/SERIAL PRIMARY KEY NOT NULL/' "$@"; }

# The demo rows of TABLE from a SQLite file, as INSERTs without the id
# column (PostgreSQL numbers them). quote() makes SQL literals of text and
# numbers; a BLOB becomes PostgreSQL's bytea literal '\x...'.
rows() {
	local db=$1 table=$2 cols vals="" c
	cols=$(sqlite3 -batch "$db" "SELECT group_concat(name, ', ') FROM pragma_table_info('$table') WHERE name != 'id';")
	for c in ${cols//,/}; do
		vals+="${vals:+ || ', ' || }CASE typeof($c) WHEN 'blob' THEN '''\\x' || hex($c) || '''' ELSE quote($c) END"
	done
	sqlite3 -batch -bail "$db" "SELECT 'INSERT INTO $table ($cols) VALUES (' || $vals || ');' FROM $table;"
}

# mkdb ROLE "KAMAILIO_SCHEMAS" "OUR_SQL_FILES" "TABLES_TO_COPY"
mkdb() {
	local role=$1 kschemas=$2 ourfiles=$3 tables=$4 s f t
	psql_db postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $role" -c "CREATE DATABASE $role OWNER kamailio"
	{
		echo "SET client_min_messages = warning;"
		echo "SET ROLE kamailio;"
		for s in $kschemas; do cat "$schema/$s-create.sql"; done
		for f in $ourfiles; do ours "$top/$f"; done
		for t in $tables; do rows "$run/$role/$role.db" "$t"; done
	} | psql_db "$role"
}
mkdb pcscf "standard auth_db registrar usrloc topos" \
	"modules/sip_privacy/sip_privacy-create.sql" \
	"subscriber sp_identity sp_blocking"
mkdb ps "standard auth_db presence" \
	"modules/notify_smime/notify_smime-create.sql modules/sip_privacy/sip_privacy-winfo-create.sql" \
	"subscriber smime_cert xcap"

touch "$run/.provisioned-pg"
echo "provision-pg: databases pcscf and ps ready"
