# shellcheck shell=bash
# Sourced by scripts/sanitize.sh and scripts/memcheck.sh: the end-to-end
# suite run once from fresh run folders (their logs are read afterwards),
# and the verdict of a run. Needs $top.

# suite_run NAME OUT [pytest arguments]: runs test/e2e (or the arguments),
# output also in OUT/pytest.log; sets suite_summary, pytest's last line.
suite_run() {
	local name=$1 out=$2 start
	shift 2
	rm -rf "$top"/build/test-run*
	start=$(date +%s)
	timeout 3600 /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE \
		"${@:-test/e2e}" 2>&1 | tee "$out/pytest.log"
	suite_summary=$(tail -n1 "$out/pytest.log")
	echo "$name: suite took $(($(date +%s) - start))s: $suite_summary"
}

# suite_verdict NAME REPORT_RC WHY: fails on a failed test, then on a
# report (REPORT_RC not 0, WHY says where to look).
suite_verdict() {
	local name=$1 rep=$2 why=$3
	if ! grep -qE '^[0-9]+ passed' <<<"$suite_summary" \
		|| grep -qE 'failed|error' <<<"$suite_summary"; then
		echo "$name: FAILED (test failures)"
		return 1
	fi
	[ "$rep" -eq 0 ] || { echo "$name: FAILED ($why)"; return 1; }
	echo "$name: ok"
}
