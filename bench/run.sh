#!/usr/bin/env bash
# `make bench`: SUBSCRIBE through P-CSCF -> PS under SIPp load, CPU per
# request of each role at a fixed and at the highest sustained rate, and
# callgrind instructions per message; one table, ratios side by side. Then
# an authenticated SUBSCRIBE with stock auth_db against watcher_auth (CPU
# and instructions), watcher_auth's policy cache cold and warm, policies of
# 1, 100 and 1000 rules, and bench/policy_bench.c. Last, without Kamailio,
# bench/smime_bench.c: notify_smime's ns_protect() encryption of one NOTIFY
# body against the bare OpenSSL CMS_encrypt floor (callgrind; `--only smime`
# runs just that part, 45 to 70 s).
# The work is done by bench/bench.py (see bench/README.md); it stops every
# process it started, by PID, also on an error, Ctrl-C or SIGTERM. The
# timeout is only a guard: a normal run takes about 23 minutes, and 5 more
# with PostgreSQL installed (bench/cluster_bench.py).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec timeout --foreground -k 30 2100 /usr/bin/python3 "$top/bench/bench.py" "$@"
