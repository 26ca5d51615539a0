#!/usr/bin/env bash
# `make sanitize`: the end-to-end suite against Debian's kamailio with the
# project's modules built with ASan and UBSan (`make SANITIZE=1 modules`,
# into build/san/modules) and Debian's libasan preloaded into every
# kamailio process (scripts/role.sh's MODULE_DIR and KAMAILIO_WRAPPER).
#
#   scripts/sanitize.sh [pytest arguments]    default: test/e2e
#
# TEST_NET and the rest of the environment pass through to the suite.
# ASan sees the memory of libc's allocator: our modules' own mallocs and
# those of libxml2, libcurl and of OpenSSL where it is not on Kamailio's
# shared memory. Kamailio's pkg and shm memory is one big block to ASan (its
# own allocators hand out pieces): scripts/memcheck.sh covers those.
# Every process writes its reports to build/san/logs/san.<pid> (or its
# kamailio.log). UBSan instruments our modules only: each of its reports is
# ours. Kamailio is built with -fno-strict-overflow (-fwrapv), so signed
# overflow is defined there and not reported.
# The run fails when a test fails or a report names one of our modules
# (a frame in build/san/, where they are built); reports from elsewhere are listed too.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3 # Debian's, which has python3-pytest
# shellcheck source=scripts/e2e-suite.sh
. "$top/scripts/e2e-suite.sh"

make --no-print-directory SANITIZE=1 modules || exit 1
san="$top/build/san"
logs="$san/logs"
rm -rf "$logs"
mkdir -p "$logs"

libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "sanitize: gcc's libasan not found" >&2; exit 1; }
export MODULE_DIR="$san/modules"
# The ASan runtime must come first; only kamailio gets it, not pytest.
export KAMAILIO_WRAPPER="env LD_PRELOAD=$libasan"
# detect_leaks: LeakSanitizer runs at exit() only, i.e. in the main process
# of each role (the children end with _exit() on SIGTERM); full malloc
# stacks (Debian's kamailio has no frame pointers) to attribute each leak.
export ASAN_OPTIONS="log_path=$logs/san:detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=30:print_suppressions=0"
# gcc's libasan holds UBSan's runtime too and reads both variables: one
# log_path for both; a report made before the log file opens goes to
# stderr, i.e. the role's kamailio.log, which is read as well.
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/san"

suite_run sanitize "$san" "$@"

$PY - "$san/" "$logs"/* "$top"/build/test-run*/*/kamailio.log <<'PYEOF' | tee "$san/report.txt"
import collections, glob, os, re, sys
ours = sys.argv[1]
groups = collections.OrderedDict()


def add(key, head, path):
    g = groups.setdefault(key, [0, 0, set()])
    g[0] += 1
    m = re.search(r"(\d+) byte\(s\)", head)
    g[1] += int(m.group(1)) if m else 0
    g[2].add(os.path.relpath(path, os.path.dirname(ours.rstrip("/"))))


for path in sys.argv[2:]:
    if not os.path.isfile(path):
        continue
    text = open(path, errors="replace").read()
    # one entry per report: UBSan "runtime error" lines, ASan errors, and
    # each leak of a LeakSanitizer report on its own
    parts = re.split(r"\n(?=\S.*runtime error:|==\d+==ERROR:|Direct leak|Indirect leak)", "\n" + text)
    for p in parts:
        head = p.strip().splitlines()[0] if p.strip() else ""
        if not re.search(r"runtime error:|ERROR: AddressSanitizer|leak of", head):
            continue
        # the first frame in our code, else in kamailio, names the caller
        frames = [l.strip() for l in p.splitlines() if re.match(r"\s*#\d+ ", l)]
        frame = next((l for l in frames if ours in l),
                     next((l for l in frames if "kamailio" in l),
                          frames[0] if frames else ""))
        what = re.sub(r"==\d+==|\d+ byte\(s\) in \d+ object\(s\)|0x[0-9a-f]+", "", head).strip()
        where = re.sub(r"^#\d+ 0x[0-9a-f]+ ", "", frame)
        mine = ours in p or "runtime error:" in head
        if "leak of" in head:
            # a leaked block is the code's that made it and kept it: seen
            # from the allocation, the innermost frame that is ours or
            # Kamailio's (system libraries and ASan's interceptors skipped).
            # E.g. db_sqlite drops the handle sqlite3_open_v2() returns when
            # the open fails (no sqlite3_close(), dbase.c): its block (and
            # the blocks reachable from it, the indirect leaks), also when
            # our mod_init asked for the connection.
            owner = next((l for l in frames if ours in l or "kamailio" in l), frame)
            mine = ours in owner
            where = re.sub(r"^#\d+ 0x[0-9a-f]+ ", "", owner)
        add(("OURS" if mine else "elsewhere", what, where), head, path)
bad = sum(v[0] for k, v in groups.items() if k[0] == "OURS")
print(f"sanitizer reports: {sum(v[0] for v in groups.values())} "
      f"({bad} attributable to our modules)")
for (who, what, where), (n, size, files) in groups.items():
    print(f"  {who:9} {n:4}x {what[:70]}" + (f" ({size} bytes)" if size else ""))
    print(f"            at {where[:110]}  [{', '.join(sorted(files))}]")
sys.exit(1 if bad else 0)
PYEOF
suite_verdict sanitize $? "reports in our modules, see $logs"
