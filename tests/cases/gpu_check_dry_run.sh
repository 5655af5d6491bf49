# gpu_check_dry_run: scripts/gpu-check.sh --dry-run against this build runs
# every stage that needs no device (the bundle's contents and
# size, ldd, the host tests, the plan's refusal of device=gpu, the CPU side
# of the scale benchmark) and says which device stages it skipped and why;
# its verdict is the last line and its tables land in results.md.  Label
# gpu: skipped, saying why, where nvcc is absent or the build has no CUDA.
. "$(dirname "$0")/lib.sh"
build=$(dirname "$VLBUILD")
if ! command -v nvcc >/dev/null; then
    echo "SKIP: nvcc is not on PATH (the CUDA build cannot be checked)"
    exit 77
fi
if [ ! -f "$build/vlbuild-cuda.so" ]; then
    echo "SKIP: $build has no vlbuild-cuda.so (configured without CUDA)"
    exit 77
fi
set +e
# --no-build: the suite runs on the build it was given (ctest's caller built it)
out=$("$VL_SOURCE_DIR/scripts/gpu-check.sh" --dry-run --build-dir "$build" --no-build --out "$root/check" 2>&1)
rc=$?
set -e
printf '%s\n' "$out" >>"$root.log"
expect_rc 0
expect_output "skip  build: --no-build"
expect_output "ok    bundle contents: "
expect_output "ok    libraries: every binary's libraries resolve (ldd -r)"
expect_output "ok    host test test_ops_kern"
expect_output "ok    plan: device=gpu is refused without a device, saying why"
expect_output "ok    scale device=cpu: 24 frames of 320x240 H.264 to 224x224"
expect_output "skip  kernels vs host bodies (test_cuda_kern): no device (--dry-run)"
expect_output "skip  compute-sanitizer memcheck: no device (--dry-run)"
last=$(printf '%s\n' "$out" | tail -n 1)
case "$last" in
"gpu-check: PASS without a device (dry run, "*"; device stages skipped: --dry-run") ;;
*) fail "the verdict is not the last line: '$last'" ;;
esac
expect_file check/results.md
grep -q '^| kernels vs host bodies (test_cuda_kern): no device (--dry-run) | skip |$' check/results.md ||
    fail "results.md lacks the skipped device stage: $(cat check/results.md)"
grep -q '^| scale device=cpu, 320x240 H.264 -> 224x224, one job | [0-9]* frames/s |$' check/results.md ||
    fail "results.md lacks the CPU benchmark row"
finish
