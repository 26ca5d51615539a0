#!/usr/bin/env bash
# `make test`: unit tests (cmocka, ASan/UBSan), then the end-to-end suite
# (pytest driving SIPp, HTTPS and TLS clients against both roles started
# from the real routing script). Last line: "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3 # Debian's, which has python3-pytest

unit_log=$(mktemp)
test/unit/run.sh 2>&1 | tee "$unit_log"
read -r up uf < <(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$unit_log" | tail -n1)
rm -f "$unit_log"
up=${up:-0} uf=${uf:-1}

junit="$top/build/e2e-junit.xml"
rm -f "$junit"
timeout 1200 $PY -m pytest -p no:cacheprovider -q -rfE --junitxml="$junit" \
	test/e2e "$@"
junit_counts() {
	$PY - "$1" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1)
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f)
PYEOF
}
read -r ep ef < <(junit_counts "$junit")

# The cluster suite (test/cluster, issue 7): its own pytest run, since its
# nodes take other addresses of the same TEST_NET. Skipped, with the
# reason, when PostgreSQL or db_postgres is not installed.
cjunit="$top/build/cluster-junit.xml"
rm -f "$cjunit"
if why=$(scripts/pg.sh available); then
	timeout 600 $PY -m pytest -p no:cacheprovider -q -rfE --junitxml="$cjunit" test/cluster
	read -r cp cf < <(junit_counts "$cjunit")
	ep=$((ep + cp)) ef=$((ef + cf))
else
	echo "cluster suite skipped: $why"
fi
passed=$((up + ep))
failed=$((uf + ef))
echo "unit $up passed, $uf failed; end-to-end $ep passed, $ef failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
