#!/usr/bin/env bash
# `make fuzz`: every libFuzzer harness in fuzz/ (fuzz/<module>_<name>_fuzz.c),
# built with clang, ASan and UBSan against the module's pure C files, run
# for FUZZ_SECONDS each (default 60) on a copy of fuzz/corpus/<name>/.
# A crash leaves its input in build/fuzz/<harness>/ and fails the run.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-60}
out="$top/build/fuzz"
mkdir -p "$out"

if ! command -v clang >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || { echo "fuzz: needs clang and libclang-rt-14-dev" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev >/dev/null
fi

pkgs="libxml-2.0 openssl libcurl"
rc=0
printf '%-28s %10s %8s %8s %s\n' harness execs cov corpus result
for h in "$top"/fuzz/*_fuzz.c; do
	name=$(basename "$h" _fuzz.c)            # e.g. watcher_auth_policy
	mod=$(ls -d "$top"/modules/*/ | xargs -n1 basename | while read -r m; do
		case "$name" in "$m"_*) echo "$m" ;; esac; done | head -n1)
	what=${name#"$mod"_}                       # e.g. policy
	srcs=$(grep -L '^#include "\(core\|modules\)/' "$top/modules/$mod"/*.c)
	for l in $(sed -n 's/^# lib: *//p' "$top/modules/$mod/Makefile" 2>/dev/null); do
		# Kamailio glue shared in lib/ is not linked into tests
		grep -q '^#include "\(core\|lib/srdb1\)/' "$top/lib/$l.c" || srcs="$srcs $top/lib/$l.c"
	done
	bin="$out/$name"
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$top/modules/$mod" -I"$top/lib" $(pkg-config --cflags $pkgs) -o "$bin" "$h" $srcs \
		$(pkg-config --libs $pkgs) 2>"$bin.build.log"; then
		cat "$bin.build.log"
		printf '%-28s %10s %8s %8s %s\n' "$name" - - - "does not build"
		rc=1
		continue
	fi
	corpus="$out/$name.corpus"
	rm -rf "$corpus" "$out/$name.crash"
	mkdir -p "$corpus" "$out/$name.crash"
	[ -d "$top/fuzz/corpus/$what" ] && cp "$top/fuzz/corpus/$what"/* "$corpus"/ 2>/dev/null
	(cd "$out/$name.crash" && timeout $((secs + 60)) "$bin" -max_total_time="$secs" \
		-print_final_stats=1 "$corpus" >"$out/$name.log" 2>&1)
	r=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -n1 | cut -d' ' -f2)
	n=$(ls "$corpus" | wc -l)
	if [ $r -eq 0 ]; then
		res=ok
	else
		res="FAILED (exit $r; see $out/$name.log, inputs in $out/$name.crash)"
		rc=1
	fi
	printf '%-28s %10s %8s %8s %s\n' "$name" "${execs:-?}" "${cov:-?}" "$n" "$res"
done
exit $rc
