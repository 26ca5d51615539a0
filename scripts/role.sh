#!/usr/bin/env bash
# Start or check one Kamailio role of the project's routing script.
#
#   scripts/role.sh ROLE ACTION RUN_DIR
#     ROLE    pcscf | ps
#     ACTION  check   kamailio -c with the same defines as a real start
#             run     start in the foreground (-DD -E), exec'ed
#     RUN_DIR a folder made by scripts/provision.sh
#
# Addresses and ports come from the environment, with the demo defaults:
#   PCSCF_IP=127.0.0.10 PS_IP=127.0.0.20 SIP_PORT=5060 TLS_PORT=5061
#   XCAP_PORT=5443 LOG_LEVEL=2 SHM_MB=64 PKG_MB=8 KAMAILIO=kamailio
#   MEM_MANAGER=tlsf (kamailio -x and -X: the shared and private memory
#   manager; "qm" is Kamailio's default, with debugging aids, but its
#   search of the free lists costs more than the rest of a NOTIFY once
#   OpenSSL allocates through it, see bench/README.md)
# EXTRA_DEFINES may add more -A arguments (space separated NAME=value);
# RUN_DEFINES too, for a wrapper around the test suite (whose harness sets
# EXTRA_DEFINES itself): scripts/memcheck.sh passes MEMLOG=1 that way.
# A node of a cluster (README "Running a cluster"): ROLE_DIR its own folder
# (default RUN_DIR/ROLE: pid file, ctl socket, tls.cfg, log) and ROLE_DB_URL the
# shared database (default the role's SQLite file in ROLE_DIR).
# KAMAILIO_WRAPPER runs kamailio under a tool, e.g. "valgrind --tool=callgrind".
# MODULE_DIR is where the project's modules are loaded from (default
# build/modules; scripts/sanitize.sh uses build/san/modules).
set -euo pipefail

role=${1:?usage: role.sh pcscf|ps check|run RUN_DIR}
action=${2:?usage: role.sh pcscf|ps check|run RUN_DIR}
run=${3:?usage: role.sh pcscf|ps check|run RUN_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
run=$(cd "$run" && pwd)

case "$role" in pcscf | ps) ;; *) echo "role.sh: unknown role '$role'" >&2; exit 2 ;; esac

: "${PCSCF_IP:=127.0.0.10}" "${PS_IP:=127.0.0.20}"
: "${SIP_PORT:=5060}" "${TLS_PORT:=5061}" "${XCAP_PORT:=5443}"
: "${LOG_LEVEL:=2}" "${SHM_MB:=64}" "${PKG_MB:=8}" "${KAMAILIO:=kamailio}"
: "${MEM_MANAGER:=tlsf}"
case "$MEM_MANAGER" in qm | fm | tlsf) ;; *) echo "role.sh: MEM_MANAGER must be qm, fm or tlsf" >&2; exit 2 ;; esac

dir=${ROLE_DIR:-$run/$role}
if [ -z "${ROLE_DB_URL:-}" ]; then
	[ -f "$dir/$role.db" ] || { echo "role.sh: $dir/$role.db missing; run scripts/provision.sh $run" >&2; exit 1; }
	ROLE_DB_URL="sqlite://$dir/$role.db"
fi

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
mpath="${MODULE_DIR:-$top/build/modules}:/usr/lib/$multiarch/kamailio/modules"

args=(-f "$top/etc/$role.cfg" -Y "$dir" -m "$SHM_MB" -M "$PKG_MB" -x "$MEM_MANAGER" -X "$MEM_MANAGER"
	-A "PCSCF_IP=$PCSCF_IP" -A "PS_IP=$PS_IP"
	-A "PCSCF_ADDR=\"$PCSCF_IP\"" -A "PS_ADDR=\"$PS_IP\""
	-A "PS_URI=\"sip:$PS_IP:$SIP_PORT\""
	-A "SIP_PORT=$SIP_PORT" -A "TLS_PORT=$TLS_PORT"
	-A "XCAP_PORT=$XCAP_PORT" -A "XCAP_PORT_STR=\"$XCAP_PORT\""
	-A "LOG_LEVEL=$LOG_LEVEL"
	-A "MPATH=\"$mpath\""
	-A "DB_URL=\"$ROLE_DB_URL\""
	-A "TLS_CFG=\"$dir/tls.cfg\""
	-A "CTL_SOCK=\"unix:$dir/kamailio_ctl\""
	-A "SMIME_CERT=\"$run/certs/$role.pem\"" -A "SMIME_KEY=\"$run/certs/$role.key\""
	-A "SMIME_CA=\"$run/certs/ca.pem\"")
# the secret of sip_privacy's opaque winfo ids (made by provision.sh)
if [ "$role" = ps ] && [ -f "$dir/winfo.secret" ]; then
	args+=(-A "WINFO_SECRET_FILE=\"$dir/winfo.secret\"")
fi
for d in ${EXTRA_DEFINES:-} ${RUN_DEFINES:-}; do
	args+=(-A "$d")
done

case "$action" in
check)
	exec "$KAMAILIO" -c "${args[@]}"
	;;
run)
	# shellcheck disable=SC2086 # the wrapper is a command line
	exec ${KAMAILIO_WRAPPER:-} "$KAMAILIO" -DD -E -P "$dir/kamailio.pid" "${args[@]}"
	;;
*)
	echo "role.sh: unknown action '$action'" >&2
	exit 2
	;;
esac
