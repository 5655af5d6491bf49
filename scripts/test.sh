#!/usr/bin/env bash
# test.sh - sets up (scripts/setup.sh) and runs the whole test suite under ctest.
# With --sanitize, builds into build-asan/ with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite there; with --tsan, into
# build-tsan/ with ThreadSanitizer.  VL_WERROR=1 (CI) builds with -Werror;
# VL_BUILD_DIR names another build folder; arguments after the mode go to
# ctest (e.g. `scripts/test.sh --sanitize -R scale` runs the tests named so).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/test.sh [--sanitize | --tsan] [CTEST-ARGS...]
  (none)      build into \${VL_BUILD_DIR:-build} and run the suite
  --sanitize  AddressSanitizer and UBSan, into \${VL_BUILD_DIR:-build-asan}
  --tsan      ThreadSanitizer, into \${VL_BUILD_DIR:-build-tsan}
  CTEST-ARGS  passed to ctest, e.g. -R NAME to run some tests only
  VL_WERROR=1 builds with -Werror"
case "${1:-}" in
-h|--help) echo "$usage"; exit 0 ;;
esac
werror=()
[ -z "${VL_WERROR:-}" ] || werror=(-DVL_WERROR=ON)
mode=${1:-}
case "$mode" in --tsan|--sanitize) shift ;; esac
if [ "$mode" = "--tsan" ]; then
    export VL_BUILD_DIR=${VL_BUILD_DIR:-build-tsan}
    # halt_on_error: a race fails its test; second_deadlock_stack for lock reports
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
    scripts/setup.sh -DVL_TSAN=ON "${werror[@]}"
elif [ "$mode" = "--sanitize" ]; then
    export VL_BUILD_DIR=${VL_BUILD_DIR:-build-asan}
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # what FFmpeg's own dependencies leak when vlbuild's media module loads them
    export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
    scripts/setup.sh -DVL_SANITIZE=ON "${werror[@]}"
else
    export VL_BUILD_DIR=${VL_BUILD_DIR:-build}
    scripts/setup.sh "${werror[@]}"
fi
cd "$VL_BUILD_DIR"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --output-on-failure -j2 --timeout 300 "$@" | tee "$log" || status=$?
# A test may skip only for a GPU or the real-video corpus (labels gpu, corpus):
# any other skip is a machine that setup.sh did not prepare, and fails here.
may_skip=$(ctest -N -L '^(gpu|corpus)$' | sed -n 's/^[[:space:]]*Test *#[0-9]*: //p')
bad=$status
while read -r name; do
    [ -n "$name" ] || continue
    if ! grep -qxF "$name" <<<"$may_skip"; then
        echo "test.sh: $name skipped, and only GPU and corpus tests may" >&2
        bad=1
    fi
done < <(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (Skipped)$/\1/p' "$log")
exit $bad
