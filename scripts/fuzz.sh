#!/usr/bin/env bash
# `make fuzz`: every libFuzzer harness in fuzz/ (fuzz/<module>_<name>_fuzz.c),
# built with clang, ASan and UBSan against the module's pure C files, run
# for FUZZ_SECONDS each (default 60) on a copy of fuzz/corpus/<name>/.
# A crash leaves its input in build/fuzz/<harness>/ and fails the run.
#
# FUZZ_ONLY (a shell pattern, e.g. "sip_privacy_*") runs only those.
#
# Columns: execs and exec/s of the run; cov and ft, libFuzzer's covered
# edges (PCs) and features at the end; edges and funcs, the coverage by the
# final corpus (replayed with -print_coverage=1) of the project files the
# harness reaches (modules/ and lib/ files with a function run at all; the
# harness itself and the libraries left out): covered/instrumented edges,
# functions run/all functions of those files; corpus, inputs kept. Then,
# per pure file of the modules, the harness that covers most of it: a file
# no harness reaches says "(none)". Tables also in build/fuzz/summary.txt.
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
row() { printf '%-26s %10s %7s %5s %6s %13s %9s %6s %s\n' "$@" | tee -a "$out/summary.txt"; }
: >"$out/summary.txt"
row harness execs exec/s cov ft edges funcs corpus result
for h in "$top"/fuzz/*_fuzz.c; do
	name=$(basename "$h" _fuzz.c)            # e.g. watcher_auth_policy
	# shellcheck disable=SC2254 # FUZZ_ONLY is a pattern
	case "$name" in ${FUZZ_ONLY:-*}) ;; *) continue ;; esac
	mod=$(ls -d "$top"/modules/*/ | xargs -n1 basename | while read -r m; do
		case "$name" in "$m"_*) echo "$m" ;; esac; done | head -n1)
	what=${name#"$mod"_}                       # e.g. policy
	srcs=$(grep -L '^#include "\(core\|modules\)/' "$top/modules/$mod"/*.c)
	for l in $(sed -n 's/^# lib: *//p' "$top/modules/$mod/Makefile" 2>/dev/null); do
		[ -f "$top/lib/$l.c" ] || continue    # a header-only piece
		# Kamailio glue shared in lib/ is not linked into tests
		grep -q '^#include "\(core\|lib/srdb1\)/' "$top/lib/$l.c" || srcs="$srcs $top/lib/$l.c"
	done
	bin="$out/$name"
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$top/modules/$mod" -I"$top/lib" $(pkg-config --cflags $pkgs) -o "$bin" "$h" $srcs \
		$(pkg-config --libs $pkgs) 2>"$bin.build.log"; then
		cat "$bin.build.log"
		row "$name" - - - - - - - "does not build"
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
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$name.log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -n1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$out/$name.log" | tail -n1 | cut -d' ' -f2)
	n=$(ls "$corpus" | wc -l)
	# COVERED_FUNC: hits: N edges: a/b func /path/file.c:line, one per function
	(cd "$out/$name.crash" && timeout 300 "$bin" -runs=0 -print_coverage=1 "$corpus" \
		>"$out/$name.cov" 2>&1)
	awk -v top="$top/" -v h="$name" '
		/^(UN)?COVERED_FUNC:/ {
			f = $NF; sub(/:[0-9]+$/, "", f)
			if (index(f, top "modules/") != 1 && index(f, top "lib/") != 1) next
			f = substr(f, length(top) + 1)
			split($5, e, "/"); ce[f] += e[1]; te[f] += e[2]; tf[f]++
			if ($1 == "COVERED_FUNC:") cf[f]++
		}
		END { for (f in te) printf "%s %s %d %d %d %d\n", f, h, ce[f], te[f], cf[f], tf[f] }
	' "$out/$name.cov" | sort >"$out/$name.files"
	# the harness'"'"'s target: the files of which it reaches a function
	read -r edges funcs < <(awk '$5 > 0 { ce += $3; te += $4; cf += $5; tf += $6 }
		END { if (te) printf "%d/%d=%d%% %d/%d\n", ce, te, 100 * ce / te, cf, tf
		      else print "? ?" }' "$out/$name.files")
	if [ $r -eq 0 ]; then
		res=ok
	else
		res="FAILED (exit $r; see $out/$name.log, inputs in $out/$name.crash)"
		rc=1
	fi
	row "$name" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$edges" "$funcs" "$n" "$res"
done
# Per pure file of the modules: the harness that covers most of its edges.
echo
printf '%-36s %-26s %13s %9s\n' file "best harness" edges funcs | tee -a "$out/summary.txt"
for f in "$top"/modules/*/*.c "$top"/lib/*.c; do
	grep -q '^#include "\(core\|modules\|lib/srdb1\)/' "$f" && continue
	echo "${f#"$top"/}"
done | sort -u | while read -r f; do
	awk -v f="$f" '$1 == f && $3 > 0' "$out"/*.files 2>/dev/null | sort -k3,3nr | head -n1 |
		awk -v f="$f" '{ printf "%-36s %-26s %13s %9s\n", f, $2,
			sprintf("%d/%d=%d%%", $3, $4, $4 ? 100 * $3 / $4 : 0), $5 "/" $6 }
			END { if (!NR) printf "%-36s %-26s %13s %9s\n", f, "(none)", "-", "-" }'
done | tee -a "$out/summary.txt"
exit $rc
