#!/usr/bin/env bash
# Build and run every unit test under ASan and UBSan.
#   test/unit/<module>/test_*.c links the pure C files of modules/<module>:
#   every .c there that includes no Kamailio header (the glue does).
#   test/unit/lib/test_<name>.c links the shared pure file lib/<name>.c.
# Prints cmocka's output and, last, "unit: N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/unit"
mkdir -p "$out"
CC=${CC:-gcc}
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
PKGS="cmocka sqlite3 libxml-2.0 openssl libcurl"
pkg_cflags=$(pkg-config --cflags $PKGS)
pkg_libs=$(pkg-config --libs $PKGS)

passed=0 failed=0
for t in "$top"/test/unit/*/test_*.c; do
	[ -e "$t" ] || continue
	mod=$(basename "$(dirname "$t")")
	name=$(basename "$t" .c)
	srcs=$(grep -L '^#include "\(core\|modules\)/' "$top/modules/$mod"/*.c 2>/dev/null || true)
	for l in $(sed -n 's/^# lib: *//p' "$top/modules/$mod/Makefile" 2>/dev/null); do
		[ -f "$top/lib/$l.c" ] || continue    # a header-only piece
		# Kamailio glue shared in lib/ is not linked into tests
		grep -q '^#include "\(core\|lib/srdb1\)/' "$top/lib/$l.c" || srcs="$srcs $top/lib/$l.c"
	done
	[ "$mod" = lib ] && srcs="$top/lib/${name#test_}.c"
	bin="$out/$mod-$name"
	if ! $CC $CFLAGS -I"$top/modules/$mod" -I"$top/lib" $pkg_cflags -o "$bin" "$t" $srcs $pkg_libs 2>"$bin.build.log"; then
		cat "$bin.build.log"
		echo "unit: $mod/$name does not build"
		failed=$((failed + 1))
		continue
	fi
	log="$bin.log"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		CMOCKA_MESSAGE_OUTPUT=STDOUT timeout 300 "$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	p=${p:-0} f=${f:-0}
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1 # crashed, sanitizer report or timeout
		echo "unit: $mod/$name exited with $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
