#!/usr/bin/env bash
# kamailio -c for every role of the routing script, on a scratch run folder.
#   scripts/check-cfg.sh RUN_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${1:?usage: check-cfg.sh RUN_DIR}
"$top/scripts/provision.sh" "$run" >/dev/null
rc=0
# every role, and every define of the routing script that changes modules
check() {
	local role=$1 defs=$2 name=$1${2:+ ($2)}
	if out=$(EXTRA_DEFINES="$defs" "$top/scripts/role.sh" $role check "$run" 2>&1); then
		echo "kamailio -c $name: ok"
	else
		echo "$out" | grep -E 'ERROR|CRITICAL' >&2
		echo "kamailio -c $name: FAILED" >&2
		rc=1
	fi
}
check pcscf ""
check pcscf "WITHOUT_TOPOS"
check pcscf "WITHOUT_PRIVACY"
check pcscf 'SP_RR_SECRET="check-cfg-key"'
check ps ""
check ps "WITH_XCAP_ROOT XCAP_CA_FILE=\"$run/certs/ca.pem\""
check ps "BENCH_AUTH_DB"
check ps "SMIME_CERT_URL=\"https://127.0.0.1:8443/certs/{aor}.pem\" SMIME_CERT_URL_CA=\"$run/certs/ca.pem\" SMIME_CERT_URL_TIMEOUT=600"
# a node of a cluster (-A CLUSTER): PostgreSQL through db_postgres (package
# kamailio-postgres-modules); kamailio -c does not connect to it
if [ -f "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/kamailio/modules/db_postgres.so" ]; then
	cluster='CLUSTER AUTH_SECRET="check-cfg-secret-0123456789abcdef" SP_RR_SECRET="check-cfg-key"'
	export ROLE_DB_URL="postgres://kamailio:x@127.0.0.1:55432/check"
	check pcscf "$cluster"
	check ps "$cluster"
	unset ROLE_DB_URL
else
	echo "kamailio -c CLUSTER: skipped, db_postgres not installed (apt-get install kamailio-postgres-modules)"
fi
exit $rc
