#!/usr/bin/env bash
# KAMAILIO_WRAPPER of scripts/role.sh for make bench: runs the rest of its
# command line (kamailio and its arguments, possibly behind valgrind) with
# the extra kamailio arguments of BENCH_KAMAILIO_ARGS appended, one per
# line. bench/bench.py uses it for "-f FILE" (the last -f wins): a role
# started from a generated copy of its cfg. exec: the PID stays the role's
# main PID, so the role's process group and its stop are unchanged.
set -euo pipefail
extra=()
if [ -n "${BENCH_KAMAILIO_ARGS:-}" ]; then
	mapfile -t extra <<<"$BENCH_KAMAILIO_ARGS"
fi
exec "$@" "${extra[@]}"
