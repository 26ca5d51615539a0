#!/usr/bin/env bash
# `make memcheck`: the end-to-end suite with Kamailio's own memory
# debugging, then every memory summary the processes printed, parsed.
#
#   scripts/memcheck.sh [pytest arguments]    default: test/e2e
#
# TEST_NET and the rest of the environment pass through to the suite.
# Debian's kamailio 5.6.3 is built with DBG_SR_MEMORY (`kamailio -I`), so
# its "qm" allocator (-x qm -X qm, scripts/role.sh MEM_MANAGER) is the
# debugging one: every fragment records the module, file, function and line
# that allocated it and carries guard patterns checked when it is freed (an
# overrun or a bad or double free logs "BUG: qm..." and aborts, or with
# mem_safety=1, the default, logs it and goes on). At exit (SIGTERM) each
# child prints the summary of its private (pkg) memory still in use, and the
# main process its own and that of shared memory (mem_summary=12, the
# default, printed at memlog level: -A MEMLOG=1 through RUN_DEFINES).
# Anything of our modules still allocated then is a leak: the modules free
# their state in child and module destroy.
# Not leaks, and listed as such: a process stopped in the middle of a
# message (its summary carries the message's log prefix) still holds that
# message's memory; sip_privacy holds one buffer per process on purpose.
# Fails when a test fails, a role start has no shm summary, a "BUG" line of
# the allocator names one of our files (or none), or any other memory of one
# of our modules is still in use; "BUG" lines naming only other files (e.g.
# the tls module's) are listed, not failed on.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3 # Debian's, which has python3-pytest
# shellcheck source=scripts/e2e-suite.sh
. "$top/scripts/e2e-suite.sh"
out="$top/build/memcheck"
ours=$(basename -a modules/*/ | tr '\n' ' ')
files=$(basename -a modules/*/*.c lib/*.c | tr '\n' ' ')

make --no-print-directory modules || exit 1
mkdir -p "$out"
export MEM_MANAGER=qm
export RUN_DEFINES="${RUN_DEFINES:-} MEMLOG=1"

suite_run memcheck "$out" "$@"

$PY - "$ours" "$files" "$top"/build/test-run*/*/kamailio.log <<'PYEOF' | tee "$out/report.txt"
import collections, re, sys
ours, files = set(sys.argv[1].split()), set(sys.argv[2].split())
# Held on purpose, at most one fragment per process: sip_privacy keeps the
# last presence.winfo NOTIFY it rewrote, which tm reads after the event
# route, and frees it when it rewrites the next (sp_winfo.c).
RETAINED = {("sip_privacy", "sp_winfo.c: sp_winfo_set_body"): 1}
bad = 0
pkg = shm = starts = refused = 0
# a start the faults suite makes fail (a module's init refuses a broken file)
# exits before cleanup() and prints no summary: each start is a section of
# the log from its "Listening on"; one that logged such an end is not
# expected to have summaries, every other must have its shm one
REFUSED = re.compile(r"error while initializing modules|main_loop\(\): error in init_child")
missing = []
by_mod = collections.Counter()
inflight, retained, elsewhere = [], [], []
for path in sys.argv[3:]:
    name = "/".join(path.split("/")[-3:-1])
    busy = set()  # processes stopped while handling a message
    sections = []  # per start: [refused, has its shm summary]
    for line in open(path, errors="replace"):
        pid = re.search(r"^\s*\d+\((\d+)\)", line)
        pid = pid.group(1) if pid else "?"
        if "Memory still-in-use summary (pkg)" in line:
            pkg += 1
            # the message's log prefix ("[role] {method CSeq Call-ID}") is
            # cleared when receive_msg() ends: here the process was stopped
            # in the middle of a message, whose memory is still in use
            if "] {" in line:
                busy.add(pid)
        elif "Memory still-in-use summary (shm)" in line:
            shm += 1
            if sections:
                sections[-1][1] = True
        if "Listening on" in line:
            starts += 1  # printed once per start, before the sockets
            sections.append([False, False])
        elif sections and REFUSED.search(line):
            sections[-1][0] = True
        m = re.search(r"qm_sums\(\):\s+count=\s*(\d+) size=\s*(\d+) bytes from ([\w.]+): (.*)", line)
        if m:
            n, size, mod, where = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            by_mod[mod] += size
            if mod not in ours:
                continue
            what = f"{name} pid {pid}: {n} fragment(s), {size} bytes from {mod}: {where}"
            func = re.sub(r"\(\d+\)$", "", where)
            if n <= RETAINED.get((mod, func), 0):
                retained.append(what)
            elif pid in busy:
                inflight.append(what)
            else:
                bad += 1
                print("  LEAK " + what)
        if re.search(r"BUG: (qm|bad pointer|freeing already freed)|overwritten", line):
            # ours when the caller, the allocation or the first free is in
            # one of our files (the allocator names each by file)
            named = [f.rsplit("/", 1)[-1] for f in re.findall(
                r"(?:called from|marked by|first free|Exec from) ([\w./-]+)", line)]
            if files & set(named) or not named:
                bad += 1
                print(f"  BUG {name}: {line.strip()[:300]}")
            else:
                elsewhere.append(f"{name}: {line.strip()[:300]}")
    for i, (ref, has) in enumerate(sections, 1):
        refused += ref
        if not ref and not has:
            missing.append(f"{name} start {i}")
for what in elsewhere:
    print("  allocator BUG outside our modules: " + what)
for what in retained:
    print("  retained by design: " + what)
for what in inflight:
    print("  in flight at SIGTERM (process stopped inside a message): " + what)
print(f"role starts: {starts} ({refused} refused at start-up by the faults "
      f"suite: no summary); memory summaries at exit: {shm} shm (main "
      f"processes), {pkg} pkg (every process)")
print("bytes still in use at exit, by module: " +
      ", ".join(f"{m} {b}" for m, b in by_mod.most_common()))
print(f"of our modules ({', '.join(sorted(ours))}): "
      f"{sum(by_mod[m] for m in ours)} bytes ({len(retained)} retained by design, "
      f"{len(inflight)} in flight); leaks, overruns and bad frees: {bad}; "
      f"allocator BUG lines elsewhere: {len(elsewhere)}")
if pkg == 0 or shm == 0 or missing:
    print("memcheck: a role stopped without its memory summaries (see memlog): "
          + ", ".join(missing))
    bad += 1
sys.exit(1 if bad else 0)
PYEOF
suite_verdict memcheck $? "see $out/report.txt"
