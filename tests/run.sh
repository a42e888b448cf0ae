#!/bin/bash
# run.sh -- runs the unit tests (build/tests/*_test) and the integration
# tests (tests/integration/*.sh); prints one line per test and a summary.
# Usage: tests/run.sh [unit|integration] [NAME-PATTERN]
# Environment: BUILD (build), FUZZ_SMOKE=0 to leave out the libFuzzer smoke run,
# ONCE=0 to leave out the integration tests marked "# once:" (slow checks of
# what a second, sanitized build cannot change: the package build, say),
# PT_EVENTS=epoll or io_uring to run every proxy of the integration tests on
# that event engine (tuning.events; unset: the default, "auto"); the
# conformance tests run on both engines whatever it says (run_per_engine).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
what=${1:-all}
pattern=${2:-}
pass=0 fail=0 skip=0 failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_one() {	# name, command...
	local name=$1; shift
	local log=$logdir/$name.log start end rc
	start=$(date +%s%N)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s%N)
	# Criterion counts a test whose child process leaked or tripped UBSan as
	# passed: any sanitizer report in the output fails it here.
	if [ $rc -eq 0 ] && grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$log"; then
		echo "sanitizer report in the output" >>"$log"
		rc=1
	fi
	local secs=$(( (end - start) / 100000000 ))
	secs="$((secs / 10)).$((secs % 10))"
	case $rc in
	0) pass=$((pass + 1)); printf '  pass  %-50s %6ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf '  SKIP  %-50s %s\n' "$name" "$(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf '  FAIL  %-50s %6ss (exit %d)\n' "$name" "$secs" "$rc"
	   # Every failed check first (the tail may not reach them), then the end.
	   grep -E '^(FAIL|\[FAIL\])|runtime error|Sanitizer' "$log" | head -n 20 | sed 's/^/        ! /'
	   sed 's/^/        | /' "$log" | tail -n 30 ;;
	esac
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	echo "unit tests:"
	for t in "$BUILD"/tests/*_test; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
		run_one "$name" "$t" --jobs=2
	done
	# A few seconds of each libFuzzer target: they keep building and running.
	# They are built with clang's sanitizers whatever SANITIZE says, so a
	# second pass under sanitizers (.ci/run) runs them once: FUZZ_SMOKE=0.
	if [ "${FUZZ_SMOKE:-1}" = 0 ]; then
		echo "  (fuzz_smoke: run by the first pass; the fuzzers are the same here)"
	elif [[ fuzz_smoke == *$pattern* ]]; then
		run_one fuzz_smoke env BUILD="$BUILD" bash tests/fuzz/smoke.sh
	fi
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
	echo "integration tests (event engine: ${PT_EVENTS:-the default}):"
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		# Not tests: helpers the tests source.
		case $name in lib | hostile | netns) continue ;; esac
		[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
		if [ "${ONCE:-1}" = 0 ] && grep -q '^# once:' "$t"; then
			echo "  ($name: run once, by the first pass)"
			continue
		fi
		run_one "$name" env BUILD="$BUILD" bash "$t"
	done
fi
echo "passed $pass, failed $fail, skipped $skip"
if [ $fail -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
exit 0
