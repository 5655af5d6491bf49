#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default: 60 s, every target)
#
# CMake builds them in build-fuzz/ (or $VL_FUZZ_BUILD_DIR) with clang and
# -DVL_FUZZ=ON -DVL_SANITIZE=ON (tests/fuzz/CMakeLists.txt): each target is
# one file, tests/fuzz/fuzz_NAME.c, built as BUILD/fuzz/fuzz_NAME, whose
# inputs are tests/fuzz/NAME/ (the seeds and the crash-* inputs of earlier
# finds, which ctest's fuzz.replay_NAME also replays with any compiler).
# Inputs the fuzzer finds go to BUILD/fuzz/corpus/NAME (the committed files
# stay as they are); a crash is written to BUILD/fuzz/crashes/NAME-crash-*
# and ends the script with status 1.
# Run as root without clang or libFuzzer's runtime, it installs clang and
# libclang-rt-14-dev with apt-get.  When the fuzzers still cannot be built,
# or a target runs no input, the script says why and exits 1: a fuzz pass
# that did not run never passes.
# VL_FUZZ_SEED=N fixes libFuzzer's random seed: from the committed seeds the
# inputs tried are then the same on every machine, so a short CI run tries a
# prefix of what a longer local run with the same seed has tried.
# VL_FUZZ_RUNS=N runs each target for N inputs instead of SECONDS, so that the
# run is the same whatever the machine's speed (CI uses it with the seed).
# docs/reliability.md describes the targets and what to do with a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${VL_FUZZ_BUILD_DIR:-build-fuzz}

fail() {
    echo "fuzz: FAILED: $*" >&2
    exit 1
}

fuzzer_works() {
    command -v clang >/dev/null 2>&1 || return 1
    local t rc=0
    t=$(mktemp -d)
    printf '#include <stddef.h>\nint LLVMFuzzerTestOneInput(const char *d, size_t n) { return 0; }\n' >"$t/t.c"
    clang -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1 || rc=$?
    rm -rf "$t"
    return $rc
}

if ! fuzzer_works; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: installing clang and libclang-rt-14-dev"
        apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            clang libclang-rt-14-dev >/dev/null || true
    fi
    fuzzer_works || fail "clang cannot link a libFuzzer program (-fsanitize=fuzzer,address,undefined): apt-get install clang libclang-rt-14-dev"
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        targets+=("${n#fuzz_}")
    done
fi
[ ${#targets[@]} -gt 0 ] || fail "no fuzz target in tests/fuzz/"
for t in "${targets[@]}"; do
    [ -f "tests/fuzz/fuzz_$t.c" ] || fail "no target $t (tests/fuzz/fuzz_$t.c)"
done

# -O1 and no NDEBUG: the library's asserts are part of what the fuzzer checks
log="$build/fuzz-build.log"
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="-O1 -g" -DVL_SANITIZE=ON -DVL_FUZZ=ON >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; fail "cmake cannot configure $build (log: $log)"; }
ninja -C "$build" "${targets[@]/#/fuzz_}" >>"$log" 2>&1 ||
    { grep -E 'error|FAILED' "$log" | head -n 20 >&2; fail "the fuzz targets do not build (log: $log)"; }

mkdir -p "$build/fuzz/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
    exe="$build/fuzz/fuzz_$t"
    mkdir -p "$build/fuzz/corpus/$t"
    log="$build/fuzz/$t.log"
    if [ -n "${VL_FUZZ_RUNS:-}" ]; then echo "fuzz: $t for $VL_FUZZ_RUNS inputs"; else echo "fuzz: $t for ${seconds}s"; fi
    limit="-max_total_time=$seconds"
    [ -z "${VL_FUZZ_RUNS:-}" ] || limit="-runs=$VL_FUZZ_RUNS"
    # -timeout: one input taking longer is a hang, reported like a crash
    if "$exe" "$limit" ${VL_FUZZ_SEED:+"-seed=$VL_FUZZ_SEED"} -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz/crashes/$t-" \
        "$build/fuzz/corpus/$t" "tests/fuzz/$t" >"$log" 2>&1; then
        # a fuzzer that exits 0 having run nothing has not fuzzed
        units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        if [ -z "$units" ] || [ "$units" -eq 0 ]; then
            echo "fuzz: $t FAILED: it ran no input (log: $log)"
            status=1
        else
            echo "fuzz: $t: $units inputs run"
        fi
    else
        echo "fuzz: $t FAILED (log: $log):"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 || true
        status=1
    fi
done
exit $status
