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
	clang-format iproute2 procps
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
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
