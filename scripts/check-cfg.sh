#!/usr/bin/env bash
# kamailio -c for every role of the routing script, on a scratch run folder.
#   scripts/check-cfg.sh RUN_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${1:?usage: check-cfg.sh RUN_DIR}
"$top/scripts/provision.sh" "$run" >/dev/null
rc=0
for role in pcscf ps; do
	if out=$("$top/scripts/role.sh" $role check "$run" 2>&1); then
		echo "kamailio -c $role: ok"
	else
		echo "$out" | grep -E 'ERROR|CRITICAL' >&2
		echo "kamailio -c $role: FAILED" >&2
		rc=1
	fi
done
exit $rc
