#!/usr/bin/env bash
# Install from Debian's archive whatever the build, `make run` and the tests
# need and the machine does not have yet. Cheap when nothing is missing.
set -euo pipefail

pkgs=(
	kamailio kamailio-presence-modules kamailio-tls-modules
	kamailio-sqlite-modules kamailio-xml-modules kamailio-utils-modules
	kamailio-extra-modules
	build-essential dpkg-dev bison flex pkg-config
	libssl-dev libxml2-dev libcurl4-openssl-dev libcmocka-dev libsqlite3-dev
	openssl sqlite3 curl sip-tester python3 python3-pytest valgrind
	clang-format iproute2 procps nginx
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as nginx start a system service on install, listening on
# all addresses: the tests start their own servers on loopback instead.
norc=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	norc=1
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
[ $norc = 1 ] && rm -f /usr/sbin/policy-rc.d
true
