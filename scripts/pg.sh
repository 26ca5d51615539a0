#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the cluster tests and `make run` of
# several nodes: made with initdb in DIR, run as the `postgres` user
# (PostgreSQL refuses root), listening on one loopback address and a
# non-default port only, stopped by its own PID. Never the system's service.
#
#   scripts/pg.sh start DIR   initdb when DIR has no cluster yet, then start;
#                             prints the URL prefix postgres://USER:PW@IP:PORT
#   scripts/pg.sh stop DIR    stop the postmaster of DIR (pg_ctl stop -D)
#   scripts/pg.sh url DIR     the URL prefix again
#   scripts/pg.sh psql DIR DB [psql args]   a superuser psql on DB
#   scripts/pg.sh available   exit 0 when PostgreSQL 15+ and db_postgres are
#                             installed (else says what is missing)
#
# Environment: PG_IP (default 127.0.0.50), PG_PORT (default 55432).
# Authentication: the superuser `postgres` over DIR's unix socket only
# (trust); everything else over TCP from loopback with a password
# (scram-sha-256): user `kamailio`, password in DIR/kamailio.pw.
set -euo pipefail

action=${1:?usage: pg.sh start|stop|url|psql|available DIR}
: "${PG_IP:=127.0.0.50}" "${PG_PORT:=55432}"

pgbin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && echo "$d"
	done | sort -V | tail -n1
}
bin=$(pgbin)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

if [ "$action" = available ]; then
	[ -n "$bin" ] || { echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
	[ -f "/usr/lib/$multiarch/kamailio/modules/db_postgres.so" ] ||
		{ echo "pg.sh: db_postgres is not installed (apt-get install kamailio-postgres-modules)"; exit 1; }
	[ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ] ||
		{ echo "pg.sh: needs root (to run PostgreSQL as postgres)"; exit 1; }
	exit 0
fi

dir=${2:?usage: pg.sh $action DIR}
[ -n "$bin" ] || { echo "pg.sh: PostgreSQL is not installed" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# PostgreSQL runs as postgres: its data, socket and log folder must be
# reachable by that user. When DIR is not (a checkout under /root, mode
# 700), they go to a folder of their own under /tmp, named in DIR/pgroot.
pgroot=$dir
if [ -f "$dir/pgroot" ]; then
	read -r pgroot <"$dir/pgroot"
elif [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
	pgroot=$(mktemp -d /tmp/presence-security-pg.XXXXXX)
	echo "$pgroot" >"$dir/pgroot"
fi
data="$pgroot/data"
sock="$pgroot/sock"
# the address of an existing cluster is the one it was made with
if [ -f "$dir/addr" ]; then
	read -r PG_IP PG_PORT <"$dir/addr"
fi

# as the postgres user when we are root
aspg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$action" in
start)
	if [ ! -f "$data/PG_VERSION" ]; then
		umask 077
		openssl rand -hex 16 >"$dir/kamailio.pw"
		echo "$PG_IP $PG_PORT" >"$dir/addr"
		mkdir -p "$data" "$sock"
		if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir" "$pgroot"; fi
		aspg "$bin/initdb" -D "$data" -U postgres --auth-local=trust \
			--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$data/postgresql.conf" <<CONF
# scripts/pg.sh: loopback only, own port and socket folder
listen_addresses = '$PG_IP'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
		# only loopback, with a password; the superuser only on the socket
		cat >"$data/pg_hba.conf" <<HBA
local all postgres trust
host all kamailio 127.0.0.0/8 scram-sha-256
HBA
	fi
	if ! aspg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		aspg "$bin/pg_ctl" -D "$data" -l "$pgroot/postgres.log" -w -t 30 start >/dev/null ||
			{ tail -n 20 "$pgroot/postgres.log" >&2; exit 1; }
	fi
	pw=$(cat "$dir/kamailio.pw")
	aspg "$bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kamailio') THEN
    CREATE ROLE kamailio LOGIN;
  END IF;
END \$\$;
ALTER ROLE kamailio PASSWORD '$pw';
SQL
	echo "postgres://kamailio:$pw@$PG_IP:$PG_PORT"
	;;
stop)
	if [ -f "$data/postmaster.pid" ]; then
		aspg "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
	fi
	;;
url)
	echo "postgres://kamailio:$(cat "$dir/kamailio.pw")@$PG_IP:$PG_PORT"
	;;
psql)
	db=${3:?usage: pg.sh psql DIR DB [psql args]}
	shift 3
	aspg "$bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
	;;
*)
	echo "pg.sh: unknown action '$action'" >&2
	exit 2
	;;
esac
