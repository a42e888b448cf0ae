#!/bin/bash
# fuzz.sh -- runs built libFuzzer targets ($BUILD/fuzz/<target>_fuzz), one
# after another, SECONDS each on their seeds; prints executions, exec/s,
# coverage and corpus per target; exits 1 when any found a crash, a leak,
# a timeout or a broken invariant (the input is kept under artifacts).
# Usage: tests/fuzz/fuzz.sh SECONDS [TARGET...]   (default: every target)
# Environment: BUILD (build), FUZZ_CORPUS (where new inputs go:
# $BUILD/fuzz/corpus), LSAN_OPTIONS (tests/fuzz/lsan.supp is added to it).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
secs=${1:?usage: $0 SECONDS [TARGET...]}
shift
targets=${*:-clienthello routes config confpeek proxyproto gateway}
scratch=${FUZZ_CORPUS:-$BUILD/fuzz/corpus}
# Leaks inside libconfig itself are not ours to fix (lsan.supp says which).
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$PWD/tests/fuzz/lsan.supp

# A smaller ASan quarantine for config: libconfig's own (suppressed) leaks
# make libFuzzer scan the heap for leaks after most inputs, and the scan
# walks the quarantine: 8 MB instead of 256 runs it about 3x faster, and
# one input never frees anywhere near 8 MB, so use-after-free still shows.
target_env() {
	case $1 in
	config) echo "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" ;;
	*) echo "ASAN_OPTIONS=${ASAN_OPTIONS:-}" ;;
	esac
}

# Per-target options: the longest input worth trying, and a dictionary.
target_opts() {
	case $1 in
	clienthello) echo "-max_len=12000" ;;	# the 5.4 KB 11-record seed fits twice
	routes) echo "-max_len=4096" ;;
	config) echo "-max_len=8192 -dict=tests/fuzz/config.dict" ;;
	gateway) echo "-max_len=8192" ;;
	esac
}

failed=0
for t in $targets; do
	bin=$BUILD/fuzz/${t}_fuzz
	seeds=tests/fuzz/corpus/$t
	log=$BUILD/fuzz/logs/$t.log
	art=$BUILD/fuzz/artifacts/$t/
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz: $t: no $bin or no $seeds" >&2
		failed=1
		continue
	fi
	mkdir -p "$scratch/$t" "$art" "$(dirname "$log")"
	# New inputs go to the first directory; the seeds are only read.
	# shellcheck disable=SC2046
	env "$(target_env "$t")" "$bin" $(target_opts "$t") -max_total_time="$secs" -timeout=20 \
	    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	    -artifact_prefix="$art" "$scratch/$t" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	printf '  %-12s %10s execs %7s exec/s  cov %-5s ft %-6s corpus %s\n' "$t" \
	    "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
	if [ $rc -ne 0 ]; then
		failed=1
		echo "  $t FAILED (exit $rc); log $log" >&2
		grep -E 'invariant failed|ERROR: |runtime error|SUMMARY|Test unit written' \
		    "$log" | head -n 8 | sed 's/^/    | /' >&2
	fi
done
exit $failed
