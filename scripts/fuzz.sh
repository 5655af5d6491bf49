#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default: 60 s, every target)
#
# The library is built in build-fuzz/ (or $VL_FUZZ_BUILD_DIR) by CMake with
# CC=clang and the fuzzer's instrumentation; each target is one file,
# tests/fuzz/fuzz_NAME.c, whose seed corpus is tests/fuzz/NAME/.  Inputs the
# fuzzer finds go to BUILD/fuzz/corpus/NAME (the seeds stay as committed);
# a crash is written to BUILD/fuzz/crashes/ and ends the script with status 1.
# Without clang (and no way to install it) the script says so and exits 0.
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

fuzzer_works() {
    command -v clang >/dev/null 2>&1 || return 1
    local t
    t=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' >"$t/t.c"
    clang -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$t"
    return $rc
}

if ! fuzzer_works; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: installing clang and libclang-rt-14-dev"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            clang libclang-rt-14-dev >/dev/null || true
    fi
    if ! fuzzer_works; then
        echo "fuzz: SKIPPED: clang with libFuzzer is not available (apt-get install clang libclang-rt-14-dev)"
        exit 0
    fi
fi

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="$flags" >/dev/null
ninja -C "$build" vlcore vlmedia vlcache vlcache_http >/dev/null
# the media and http code linked in (as the tests do), not loaded as modules
libs="-Wl,--undefined=vl_media_runs -Wl,--undefined=vl_cache_remote_http
      $build/libvlmedia.a $build/cache/libvlcache_http.a $build/libvlcore.a
      $build/cache/libvlcache.a $build/libvlcore.a"
# shellcheck disable=SC2046
syslibs=$(pkg-config --libs libuv sqlite3 libxxhash libavformat libavcodec libavutil libswscale openblas libcurl)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        targets+=("${n#fuzz_}")
    done
fi

mkdir -p "$build/fuzz/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
    exe="$build/fuzz/fuzz_$t"
    # shellcheck disable=SC2086
    clang $flags -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc -I. \
        "tests/fuzz/fuzz_$t.c" $libs $syslibs -lm -lpthread -ldl -o "$exe"
    mkdir -p "$build/fuzz/corpus/$t"
    log="$build/fuzz/$t.log"
    if [ -n "${VL_FUZZ_RUNS:-}" ]; then echo "fuzz: $t for $VL_FUZZ_RUNS inputs"; else echo "fuzz: $t for ${seconds}s"; fi
    # -timeout: one input taking longer is a hang, reported like a crash
    # shellcheck disable=SC2086
    limit="-max_total_time=$seconds"
    [ -z "${VL_FUZZ_RUNS:-}" ] || limit="-runs=$VL_FUZZ_RUNS"
    if "$exe" $limit ${VL_FUZZ_SEED:+-seed=$VL_FUZZ_SEED} -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz/crashes/$t-" \
        "$build/fuzz/corpus/$t" "tests/fuzz/$t" >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $t: /" || true
    else
        echo "fuzz: $t FAILED (log: $log):"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
        status=1
    fi
done
exit $status
