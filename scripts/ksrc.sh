#!/usr/bin/env bash
# Fetch Debian's source package of exactly the installed kamailio version
# and configure it the way debian/rules does, so that modules built against
# it pass the module version and compile-flags check of Debian's binary.
#
#   scripts/ksrc.sh BUILD_DIR
#
# Prints nothing and does nothing when BUILD_DIR/ksrc/.configured matches the
# installed version. Nothing here is ever committed: BUILD_DIR is git-ignored.
set -euo pipefail

build=${1:?usage: ksrc.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd)
ver=$(dpkg-query -W -f='${Version}' kamailio)
stamp="$build/ksrc/.configured"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ]; then
	exit 0
fi

# A deb-src entry for the suites the installed package comes from.
if ! apt-get source --print-uris -q "kamailio=$ver" >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "ksrc: no deb-src entry for kamailio $ver; run as root once" >&2
		exit 1
	fi
	. /etc/os-release
	cat >/etc/apt/sources.list.d/presence-security-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME} ${VERSION_CODENAME}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: ${VERSION_CODENAME}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -q
fi

rm -rf "$build/ksrc.tmp"
mkdir -p "$build/ksrc.tmp"
(cd "$build/ksrc.tmp" && apt-get source -q "kamailio=$ver" >fetch.log 2>&1) || {
	cat "$build/ksrc.tmp/fetch.log" >&2
	echo "ksrc: could not fetch Debian's source of kamailio $ver" >&2
	exit 1
}
src=$(find "$build/ksrc.tmp" -maxdepth 1 -mindepth 1 -type d -name 'kamailio-*' | head -n1)
[ -n "$src" ] || { echo "ksrc: source tree not found after apt-get source" >&2; exit 1; }

# Debian's configure step (debian/rules, configure-stamp), same flags.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cc_extra="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
ld_extra="$(dpkg-buildflags --get LDFLAGS)"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
make -C "$src" cfg quiet=verbose prefix=/usr cfg_prefix="$build/ksrc.tmp/inst" \
	cfg_target=/etc/kamailio/ FLAVOUR=kamailio BASEDIR="$build/ksrc.tmp/inst" \
	CC_EXTRA_OPTS="$cc_extra" LD_EXTRA_OPTS="$ld_extra" \
	LIBDIR="lib/$multiarch" group_include=kstandard >"$build/ksrc.tmp/cfg.log" 2>&1 || {
	tail -n 30 "$build/ksrc.tmp/cfg.log" >&2
	echo "ksrc: 'make cfg' failed" >&2
	exit 1
}

rm -rf "$build/ksrc"
mv "$src" "$build/ksrc"
rm -rf "$build/ksrc.tmp"
echo "$ver" >"$stamp"
echo "ksrc: kamailio $ver source configured in $build/ksrc"
