#!/bin/bash
# smoke.sh -- fuzz_smoke: every libFuzzer target, built with clang, runs its
# seeds and then fuzzes for a few seconds without a crash, a leak, a
# timeout or a broken invariant. Skips (77) only when clang cannot link
# libFuzzer on this machine (tools/deps.sh test installs it).
# Environment: BUILD (build), FUZZ_SMOKE_SECONDS (3 per target).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_CC=${FUZZ_CC:-clang}

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    >"$probe/probe.c"
if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$probe/probe" "$probe/probe.c" \
    >"$probe/log" 2>&1; then
	cat "$probe/log"
	echo "SKIP: $FUZZ_CC cannot build libFuzzer targets (install clang libclang-rt-14-dev)"
	exit 77
fi

# The GNUmakefile includes fuzz.mk (which guards against a second read);
# naming it here too keeps this script working either way.
make --no-print-directory -f GNUmakefile -f tests/fuzz/fuzz.mk BUILD="$BUILD" \
    FUZZ_CC="$FUZZ_CC" fuzz-build || exit 1

# A scratch corpus of its own: a smoke run keeps nothing.
mkdir -p "$BUILD/fuzz"
scratch=$(mktemp -d "$BUILD/fuzz/smoke.XXXXXX")
trap 'rm -rf "$probe" "$scratch"' EXIT
FUZZ_CORPUS=$scratch BUILD=$BUILD tests/fuzz/fuzz.sh "${FUZZ_SMOKE_SECONDS:-3}"
