#!/usr/bin/env bash
# `make run`: both roles on loopback, in the foreground; Ctrl-C stops both.
#   scripts/run.sh [RUN_DIR]     (default: ./run)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${1:-$top/run}

"$top/scripts/provision.sh" "$run"
for role in pcscf ps; do
	"$top/scripts/role.sh" $role check "$run" >"$run/$role/check.log" 2>&1 || {
		cat "$run/$role/check.log" >&2
		echo "run: kamailio -c failed for $role" >&2
		exit 1
	}
done

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "run: stopping both roles"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	exit 0
}
trap stop INT TERM EXIT

"$top/scripts/role.sh" pcscf run "$run" &
pids+=($!)
"$top/scripts/role.sh" ps run "$run" &
pids+=($!)

cat <<MSG
run: P-CSCF  sip:${PCSCF_IP:-127.0.0.10}:${SIP_PORT:-5060} (udp, tcp), sips on ${TLS_PORT:-5061}
run: PS      sip:${PS_IP:-127.0.0.20}:${SIP_PORT:-5060} (udp, tcp), sips on ${TLS_PORT:-5061}
run: Ut      https://${PS_IP:-127.0.0.20}:${XCAP_PORT:-5443}/xcap-root/
run: demo CA $run/certs/ca.pem; users alice, bob, carol @example.com (README)
run: Ctrl-C stops both
MSG
# Either role ending ends the run.
wait -n "${pids[@]}" || true
echo "run: a role stopped (see its log above); stopping the other" >&2
stop
