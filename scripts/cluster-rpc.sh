#!/usr/bin/env bash
# One RPC command on every node of a cluster: the fan-out that keeps the
# nodes' shared-memory copies of a database table in step (for example
# sip_privacy.reload after sp_identity or sp_blocking changed, tls.reload
# after new certificates). Each node is one control socket of Kamailio's
# ctl module, as kamcmd takes it: unix:/run/kamailio/pcscf_ctl,
# tcp:10.0.0.2:2049, ...
#
#   scripts/cluster-rpc.sh [-t SECONDS] -n SOCKET [-n SOCKET ...] COMMAND [ARG ...]
#   CLUSTER_NODES="SOCKET SOCKET ..." scripts/cluster-rpc.sh COMMAND [ARG ...]
#
# Every node is asked, one after the other, even when an earlier one failed;
# each answers within SECONDS (default 10). Prints "SOCKET: ok" or
# "SOCKET: failed: WHY" per node, then the node's answer indented.
# Exit status: 0 when every node answered without an RPC error, 1 when one
# or more did not (a node that was down loads the tables at its next start),
# 2 on a usage error.
set -uo pipefail

usage() {
	echo "usage: cluster-rpc.sh [-t SECONDS] -n SOCKET [-n SOCKET ...] COMMAND [ARG ...]" >&2
	echo "       (or the sockets in CLUSTER_NODES, separated by spaces)" >&2
	exit 2
}

secs=10
nodes=()
while getopts "n:t:h" opt; do
	case $opt in
	n) nodes+=("$OPTARG") ;;
	t) secs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "cluster-rpc.sh: -t takes whole seconds, not '$secs'" >&2; exit 2; }
if [ ${#nodes[@]} -eq 0 ]; then
	read -r -a nodes <<<"${CLUSTER_NODES:-}"
fi
[ ${#nodes[@]} -ge 1 ] || { echo "cluster-rpc.sh: no node: give -n SOCKET or CLUSTER_NODES" >&2; exit 2; }
command -v kamcmd >/dev/null || { echo "cluster-rpc.sh: kamcmd not found (apt-get install kamailio)" >&2; exit 2; }

failed=0
for node in "${nodes[@]}"; do
	out=$(timeout "$secs" kamcmd -s "$node" "$@" 2>&1)
	rc=$?
	# kamcmd exits 0 after an RPC fault and prints "error: CODE - TEXT"
	if [ $rc -eq 124 ]; then
		why="no answer within ${secs} s"
	elif [ $rc -ne 0 ]; then
		why="cannot reach the node (kamcmd exit $rc)"
	elif [[ $out == error:* ]]; then
		why=${out%%$'\n'*}
		out=${out#"$why"}
		out=${out#$'\n'}
	else
		why=
	fi
	if [ -n "$why" ]; then
		echo "$node: failed: $why"
		failed=1
	else
		echo "$node: ok"
	fi
	[ -z "$out" ] || sed 's/^/    /' <<<"$out"
done
exit $failed
