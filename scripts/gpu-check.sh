#!/usr/bin/env bash
# gpu-check.sh - the one command to run on a GPU machine: checks that the
# CUDA build's libraries load, runs the operations' kernels against the
# host bodies they share (bit-exact), every entry of the CUDA operations
# table against the CPU table (test_cuda_ops: bit-exact where claimed, else
# within docs/gpu.md's tolerances), the training backend against the CPU
# one (test_cuda_nn_models: one step of each model, 20 steps repeated
# bit for bit), these under compute-sanitizer's memcheck where it is
# installed, scale device=gpu against device=cpu and NVDEC's planes against
# the CPU decoder's, then the benchmarks beside PyTorch's on the same GPU,
# and prints a compact verdict last.  Stays under 8 minutes (each stage
# has a time limit).
#
#   scripts/gpu-check.sh [--dry-run] [--build-dir DIR [--no-build]] [--bundle DIR] [--out DIR]
#
# Binaries: from --bundle (default gpu-bundle, made by scripts/gpu-bundle.sh
# on a development machine; unpacked into a temporary folder, its lib/ on
# LD_LIBRARY_PATH), else from --build-dir (brought up to date with ninja
# first, unless --no-build); with neither, from the test build
# ($VL_BUILD_DIR, else build/) when there is one.  --out (default $OUT when set,
# else gpu-check-out): results.md, the tables for bench/RESULTS-gpu.md, and
# log.txt, every stage's output.
#
# --dry-run runs every stage that needs no device (the build when
# --build-dir is given, the bundle's contents and size, library loading
# with ldd, the host tests, the plan of what would run, the CPU side of the
# benchmarks on a small video) and says which stages it skipped for lack of
# a device.  On a machine without a GPU, a run without --dry-run says the
# same of its device stages: nothing claims to have run on a GPU that did not.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dry=0 build="" no_build=0 bundle=gpu-bundle out=${OUT:-gpu-check-out}
while (($#)); do
    case "$1" in
    --dry-run) dry=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    --no-build) no_build=1; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
start=$(date +%s)
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/log.txt results=$out/results.md
: >"$log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -a verdict=()
n_ok=0 n_fail=0 n_skip=0
ok() { verdict+=("ok    $1"); n_ok=$((n_ok + 1)); echo "gpu-check: ok    $1"; }
bad() { verdict+=("FAIL  $1"); n_fail=$((n_fail + 1)); echo "gpu-check: FAIL  $1"; }
skip() { verdict+=("skip  $1"); n_skip=$((n_skip + 1)); echo "gpu-check: skip  $1"; }
# run_stage SECONDS CMD...: runs CMD with its output in the log; its status
run_stage() {
    local limit=$1
    shift
    echo "== $(date +%T) $*" >>"$log"
    timeout "$limit" "$@" >>"$log" 2>&1
}

# -- binaries: the bundle, or a build folder --
# without either, the test build scripts/test.sh makes (VL_BUILD_DIR, else build/)
if [ -z "$build" ] && [ ! -f "$bundle/bundle.tar.xz" ] && [ -f "${VL_BUILD_DIR:-build}/build.ninja" ]; then
    build=${VL_BUILD_DIR:-build}
    echo "gpu-check: no $bundle/bundle.tar.xz: using the build in $build"
fi
if [ -n "$build" ]; then
    [ -d "$build" ] && build=$(cd "$build" && pwd) # the stages run from other folders
    if [ $no_build = 1 ]; then
        skip "build: --no-build (the binaries of $build as they are)"
    elif run_stage 300 ninja -C "$build"; then
        ok "build: ninja -C $build is up to date"
    else
        bad "build: ninja -C $build failed (log.txt)"
    fi
    bin=$build libdir="" testdir=$build/tests
elif [ -f "$bundle/bundle.tar.xz" ]; then
    if run_stage 120 tar -C "$work" -xJf "$bundle/bundle.tar.xz"; then
        ok "bundle: $bundle/bundle.tar.xz unpacked ($(du -sh "$bundle" | cut -f1) packed)"
    else
        bad "bundle: cannot unpack $bundle/bundle.tar.xz"
    fi
    bin=$work/bin libdir=$work/lib testdir=$work/bin
else
    echo "gpu-check: no $bundle/bundle.tar.xz and no --build-dir: run scripts/gpu-bundle.sh first" >&2
    exit 2
fi
export LD_LIBRARY_PATH=${libdir}${libdir:+:}${LD_LIBRARY_PATH:-}
# cuDNN and cuBLASLt do not travel in the bundle: the machine's own, from
# the CUDA toolkit and from its PyTorch's nvidia wheels
for d in /usr/local/cuda/lib64 $(python3 -c 'import os, importlib
for m in ("nvidia.cudnn", "nvidia.cublas"):
    try: print(os.path.join(importlib.import_module(m).__path__[0], "lib"))
    except Exception: pass' 2>/dev/null); do
    [ -d "$d" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
done
export VLBUILD_CUDA_MODULE=$bin/vlbuild-cuda.so VLBUILD_CUDA_NN_MODULE=$bin/vlbuild-cuda-nn.so
vlbuild=$bin/vlbuild

# -- the bundle's size, as scripts/gpu-bundle.sh would pack it --
if [ -n "$build" ]; then
    nb=""
    [ $no_build = 1 ] && nb=--no-build
    if run_stage 120 scripts/gpu-bundle.sh --build-dir "$build" $nb --list; then
        ok "bundle contents: $(tail -n 1 "$log" | sed 's/^gpu-bundle: //')"
    else
        bad "bundle contents: scripts/gpu-bundle.sh --list failed (log.txt)"
    fi
fi

# -- the device --
device=0 device_name="none" why="no nvidia-smi"
if command -v nvidia-smi >/dev/null && nvidia-smi -L >>"$log" 2>&1; then
    device=1
    device_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
else
    command -v nvidia-smi >/dev/null && why="nvidia-smi finds no device"
fi
[ $dry = 1 ] && device=0 why="--dry-run"

# -- libraries load (ldd -r resolves every symbol) --
lib_bad=""
for f in "$vlbuild" "$bin"/vlbuild-*.so "$testdir"/test_cuda_* "$testdir"/test_ops_kern "$testdir"/test_video_reader_table; do
    [ -e "$f" ] || { lib_bad+=" $(basename "$f") (missing)"; continue; }
    ldd -r "$f" >"$work/ldd.txt" 2>&1
    cat "$work/ldd.txt" >>"$log"
    # the driver (libcuda) is loaded at run time by the static CUDA runtime, never linked
    if grep -q "not found" "$work/ldd.txt"; then lib_bad+=" $(basename "$f"): $(grep 'not found' "$work/ldd.txt" | head -n 1 | xargs)"; fi
    if grep -q "undefined symbol" "$work/ldd.txt" && [[ "$f" != *.so ]]; then lib_bad+=" $(basename "$f"): undefined symbols"; fi
done
if [ -z "$lib_bad" ]; then ok "libraries: every binary's libraries resolve (ldd -r)"; else bad "libraries:$lib_bad"; fi
glibc=$(ldd --version 2>/dev/null | head -n 1 | awk '{print $NF}')

# -- host tests: the shared bodies against the CPU table, the loader --
for t in test_ops_kern test_ops_geometry_color test_ops_resize_features test_cuda_loader test_cuda_resample_host test_cuda_convert_host test_video_reader_table test_cuda_bodies_host test_nn_kern; do
    [ -x "$testdir/$t" ] || { skip "host test $t: not in this build"; continue; }
    if run_stage 120 "$testdir/$t"; then ok "host test $t"; else bad "host test $t (log.txt)"; fi
done

# -- device: kernels against the host bodies --
parity_rows="" ops_rows="" nn_parity_rows="" nn_repeat_rows="" nn_rows=""
if [ $device = 1 ]; then
    run_stage 120 "$testdir/test_cuda_kern"
    rc=$?
    parity_rows=$(sed -n '/^== .*test_cuda_kern/,$p' "$log" | grep -E 'bit-exact|MISMATCH' | awk '{printf "| %s | %s | %s |\n", $1, $2, $3}')
    case $rc in
    0) ok "kernels vs host bodies: all bit-exact on $device_name" ;;
    77) bad "kernels vs host bodies: the module finds no device although nvidia-smi does" ;;
    *) bad "kernels vs host bodies: rc $rc (log.txt)" ;;
    esac
    # every entry of the CUDA operations table against the CPU table
    run_stage 180 "$testdir/test_cuda_ops"
    rc=$?
    ops_rows=$(sed -n '/^== .*test_cuda_ops$/,$p' "$log" | grep -E ' (ok|MISMATCH)$|FAILED|^resize |^noise ' | sort | uniq -c | awk '{c=$1; $1=""; printf "| %s | %s |\n", substr($0, 2), c}')
    case $rc in
    0) ok "ops table vs cpu table (test_cuda_ops): every entry as claimed on $device_name" ;;
    77) bad "ops table vs cpu table: the module finds no device although nvidia-smi does" ;;
    *) bad "ops table vs cpu table (test_cuda_ops): rc $rc (log.txt: MISMATCH or FAILED lines)" ;;
    esac
    # the training kernels' element-wise bodies (src/nn/kern) against the host
    run_stage 120 "$testdir/test_cuda_nn_kern"
    case $? in
    0) ok "nn kernels vs host bodies (test_cuda_nn_kern) on $device_name" ;;
    77) bad "nn kernels vs host bodies: the module finds no device although nvidia-smi does" ;;
    *) bad "nn kernels vs host bodies (test_cuda_nn_kern): failed (log.txt)" ;;
    esac
    # every model of the zoo: one step on the CUDA backend against the CPU's
    # (logits and loss 1e-5, gradients 1e-4, the step 1e-5), 20 steps repeated
    # bit for bit; then the step's time beside PyTorch's (90 s in all)
    run_stage 25 "$testdir/test_cuda_nn_models"
    rc=$?
    nn_parity_rows=$(sed -n '/^== .*test_cuda_nn_models$/,$p' "$log" | grep -E '^\| parity ')
    nn_repeat_rows=$(sed -n '/^== .*test_cuda_nn_models$/,$p' "$log" | grep -E '^\| repeat ')
    case $rc in
    0) ok "models on the cuda backend vs the cpu (test_cuda_nn_models): one step within tolerance, 20 steps repeat bit for bit on $device_name" ;;
    77) bad "models on the cuda backend vs the cpu: the test skipped although nvidia-smi finds a device ($(sed -n '/^== .*test_cuda_nn_models$/,$p' "$log" | grep -m 1 '^SKIP' | cut -c7-))" ;;
    124) bad "models on the cuda backend vs the cpu (test_cuda_nn_models): over its 25 s (log.txt)" ;;
    *) bad "models on the cuda backend vs the cpu (test_cuda_nn_models): rc $rc (log.txt: MISMATCH, DIFFERENT or FAILED rows)" ;;
    esac
    run_stage 40 "$testdir/test_cuda_nn_models" --bench
    rc=$?
    nn_rows=$(sed -n '/^== .*test_cuda_nn_models --bench/,$p' "$log" | grep -E '^\| vlbuild cuda step ')
    run_stage 25 python3 "$root/bench/gpu/torch_nn_step.py"
    trc=$?
    nn_rows+=$'\n'$(sed -n '/^== .*torch_nn_step.py/,$p' "$log" | grep -E '^\| torch cuda step ')
    [ $rc = 0 ] || bad "training step benchmark (test_cuda_nn_models --bench): rc $rc (log.txt)"
    case $trc in
    0) ;;
    77) skip "training step in PyTorch (bench/gpu/torch_nn_step.py): $(sed -n '/^== .*torch_nn_step.py/,$p' "$log" | grep -m 1 '^SKIP' | cut -c7-)" ;;
    *) bad "training step in PyTorch (bench/gpu/torch_nn_step.py): rc $trc (log.txt)" ;;
    esac
    # nn_ms WHO MODEL SHAPE PRECISION: the step's milliseconds in nn_rows ("" when not measured)
    nn_ms() {
        awk -F'|' -v key="$1 cuda step $2 $3 $4" '{ k = $2; gsub(/^ +| +$/, "", k) }
            k == key && $3 ~ /^ *[0-9.]+ ms/ { print $3 + 0; exit }' <<<"$nn_rows"
    }
    # nn_target WHAT A B LIMIT SENSE: "met"/"not met" for A/B <= LIMIT (SENSE le)
    # or B/A >= LIMIT (SENSE ge) as a verdict line; a skip when a side is missing
    nn_target() {
        local what=$1 a=$2 b=$3 limit=$4 sense=$5 r met
        if [ -z "$a" ] || [ -z "$b" ] || ! awk -v a="$a" -v b="$b" 'BEGIN { exit !(a > 0 && b > 0) }'; then
            skip "$what: a side did not report (log.txt)"
            return
        fi
        if [ "$sense" = le ]; then
            r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
            met=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r <= l ? "met" : "not met") }')
            ok "$what: ${r}x PyTorch's step time ($a vs $b ms; target <= ${limit}x: $met)"
        else
            r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
            met=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r >= l ? "met" : "not met") }')
            ok "$what: ${r}x as fast as our fp32 ($a vs $b ms; target >= ${limit}x: $met)"
        fi
    }
    for m in variable_ar_cnn vit_gru; do
        nn_target "training step $m, batch 8 of 8x32x32, fp32 vs PyTorch" \
            "$(nn_ms vlbuild $m batch8/8x32x32 fp32)" "$(nn_ms torch $m batch8/8x32x32 fp32)" 0.5 le
        nn_target "training step $m, batch 256 of 16x112x112, fp32 vs PyTorch" \
            "$(nn_ms vlbuild $m batch256/16x112x112 fp32)" "$(nn_ms torch $m batch256/16x112x112 fp32)" 1.25 le
        bf16_row=$(grep -F "| vlbuild cuda step $m batch256/16x112x112 bf16 |" <<<"$nn_rows")
        if grep -q "not implemented" <<<"$bf16_row"; then
            ok "training step $m, batch 256 of 16x112x112, bf16 vs our fp32: bf16 $(awk -F'|' '{ gsub(/^ +| +$/, "", $3); print $3 }' <<<"$bf16_row") (target >= 1.5x: not met)"
        else
            nn_target "training step $m, batch 256 of 16x112x112, bf16 vs our fp32" \
                "$(nn_ms vlbuild $m batch256/16x112x112 bf16)" "$(nn_ms vlbuild $m batch256/16x112x112 fp32)" 1.5 ge
        fi
    done
    sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
    if [ -n "$sanitizer" ]; then
        for t in test_cuda_kern "test_cuda_ops --small" test_cuda_nn_kern; do
            # shellcheck disable=SC2086 # the test and its flag
            if run_stage 240 "$sanitizer" --tool memcheck --error-exitcode 9 $testdir/$t; then
                ok "compute-sanitizer memcheck: $t clean"
            else
                bad "compute-sanitizer memcheck: errors in $t (log.txt)"
            fi
        done
    else
        skip "compute-sanitizer memcheck: compute-sanitizer is not installed"
    fi
else
    skip "kernels vs host bodies (test_cuda_kern): no device ($why)"
    skip "ops table vs cpu table (test_cuda_ops): no device ($why)"
    skip "nn kernels vs host bodies (test_cuda_nn_kern): no device ($why)"
    skip "models on the cuda backend vs the cpu (test_cuda_nn_models): no device ($why)"
    skip "training step vs PyTorch (test_cuda_nn_models --bench, bench/gpu/torch_nn_step.py; targets: <= 0.5x at batch 8, <= 1.25x at batch 256, bf16 >= 1.5x our fp32): no device ($why)"
    skip "compute-sanitizer memcheck: no device ($why)"
fi

# -- scale device=gpu against device=cpu, on a video synth makes --
proj=$work/project
mkdir -p "$proj"
frames=300 size=1920x1080
[ $device = 1 ] || frames=24 size=320x240 # the stage's CPU side, small
# two rules files: device=gpu where it cannot run stops the whole plan
cat >"$proj/vlbuild.rules" <<RULES
rule video
    do   synth class=left size=$size frames=$frames noise=2 codec=h264
    out  v.mp4
rule cpu
    do   scale size=224x224 frames=0 mode=stretch interp=area device=cpu
    in   video
    out  cpu.npy
RULES
{ sed -n '1,3p' "$proj/vlbuild.rules"; cat <<RULES
rule gpu
    do   scale size=224x224 frames=0 mode=stretch interp=area device=gpu
    in   video
    out  gpu.npy
    pool gpu
RULES
} >"$proj/gpu.rules"
cpu_fps=""
if (cd "$proj" && run_stage 300 "$vlbuild" --no-cache -j 1 video); then
    t0=$(date +%s.%N)
    if (cd "$proj" && run_stage 300 "$vlbuild" --no-cache -j 1 cpu); then
        t1=$(date +%s.%N)
        cpu_fps=$(awk -v n=$frames -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
        ok "scale device=cpu: $frames frames of $size H.264 to 224x224 at $cpu_fps frames/s (one job)"
    else
        bad "scale device=cpu failed (log.txt)"
    fi
else
    bad "synth of the test video failed (log.txt)"
fi
# npy_diff A B: "mean M max X p99.9 P" of the absolute byte differences of
# two .npy files of one shape (numpy, which the GPU machine's PyTorch has)
npy_diff() {
    python3 - "$1" "$2" <<'PY' 2>>"$log"
import sys
import numpy as np
a, b = (np.load(p).astype(np.int16) for p in sys.argv[1:3])
if a.shape != b.shape:
    print("shape %s vs %s" % (a.shape, b.shape)); sys.exit(1)
d = np.abs(a - b).ravel()
print("mean %.3f max %d p99.9 %d" % (d.mean(), d.max(), np.percentile(d, 99.9)))
PY
}
gpu_fps="" slots_fps=""
if [ $device = 1 ]; then
    # one job: NVDEC decodes, the CUDA table converts (device=gpu takes the
    # table although it is marked experimental)
    t0=$(date +%s.%N)
    if (cd "$proj" && run_stage 120 "$vlbuild" -f gpu.rules --no-cache -j 1 -v gpu); then
        t1=$(date +%s.%N)
        gpu_fps=$(awk -v n=$frames -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
        diff=$(npy_diff "$proj/cpu.npy" "$proj/gpu.npy")
        # the converter's tolerance (docs/gpu.md), on a whole video
        if awk -v d="$diff" 'BEGIN { split(d, f, " "); exit !(f[2] <= 1.0 && f[6] <= 3) }'; then
            ok "scale device=gpu vs cpu: $diff (within mean 1.0, p99.9 3); $gpu_fps frames/s (one job)"
        else
            bad "scale device=gpu vs cpu: ${diff:-no comparison} (tolerance: mean 1.0, p99.9 3)"
        fi
        # NVDEC's planes against the CPU decoder's: the same conversion from
        # CPU-decoded frames gives the same bytes when the planes are equal
        n_nvdec=$(grep -o '[0-9]* frames decoded with NVDEC' "$log" | tail -n 1 | cut -d' ' -f1)
        mv "$proj/gpu.npy" "$proj/gpu-nvdec.npy"
        if [ -z "$n_nvdec" ]; then
            bad "NVDEC: the job decoded on the CPU ($(grep -o 'NVDEC[^;]*;\|cannot open cuda device[^;]*' "$log" | tail -n 1))"
        elif (cd "$proj" && VLBUILD_NVDEC=0 run_stage 120 "$vlbuild" -f gpu.rules --no-cache -j 1 gpu) &&
            cmp -s "$proj/gpu-nvdec.npy" "$proj/gpu.npy"; then
            ok "NVDEC frames vs CPU-decoded frames: $n_nvdec frames, identical after the same conversion"
        else
            bad "NVDEC frames vs CPU-decoded frames: differ ($(npy_diff "$proj/gpu.npy" "$proj/gpu-nvdec.npy"))"
        fi
        # seven slots on the one GPU (its NVDEC engines), seven jobs on one video
        { sed -n '1,3p' "$proj/vlbuild.rules"
          for k in 1 2 3 4 5 6 7; do printf 'rule g%s\n    do   scale size=224x224 frames=0 mode=stretch interp=area device=gpu\n    in   video\n    out  g%s.npy\n    pool gpu\n' $k $k; done
        } >"$proj/slots.rules"
        t0=$(date +%s.%N)
        if (cd "$proj" && run_stage 180 "$vlbuild" -f slots.rules --no-cache -j 8 --gpus 7 g1 g2 g3 g4 g5 g6 g7); then
            t1=$(date +%s.%N)
            slots_fps=$(awk -v n=$((frames * 7)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
            ok "scale device=gpu, 7 slots: $slots_fps frames/s in all"
        else
            bad "scale device=gpu with 7 slots failed (log.txt)"
        fi
    else
        bad "scale device=gpu failed (log.txt)"
    fi
else
    # the plan refuses device=gpu here, naming the reason
    (cd "$proj" && run_stage 60 "$vlbuild" -f gpu.rules --no-cache -n gpu)
    if grep -q "device=gpu, but" "$log"; then ok "plan: device=gpu is refused without a device, saying why"
    else bad "plan: device=gpu was not refused without a device (log.txt)"; fi
    skip "scale device=gpu vs cpu: no device ($why)"
    skip "NVDEC frames vs CPU-decoded frames: no device ($why)"
fi

# -- benchmarks --
bench_rows=""
if [ $device = 1 ]; then
    run_stage 120 "$testdir/test_cuda_kern" --bench
    bench_rows=$(sed -n '/^== .*test_cuda_kern --bench/,$p' "$log" | grep -E '^\| (pinned|pageable)')
    [ -n "$bench_rows" ] && ok "copy bandwidth measured (results.md)" || skip "copy bandwidth: not reported"
    # the converter against PyTorch's float conversion + antialiased resize
    run_stage 60 "$testdir/test_cuda_ops" --bench
    conv_row=$(sed -n '/^== .*test_cuda_ops --bench/,$p' "$log" | grep -E '^\| convert ' | head -n 1)
    run_stage 120 python3 "$root/bench/gpu/torch_convert.py"
    torch_row=$(sed -n '/^== .*torch_convert.py/,$p' "$log" | grep -E '^\| torch' | head -n 1)
    bench_rows+=$'\n'"$conv_row"$'\n'"$torch_row"
    ours=$(awk -F'|' '{print $3+0}' <<<"$conv_row") theirs=$(awk -F'|' '{print $3+0}' <<<"$torch_row")
    if [ -n "$conv_row" ] && [ -n "$torch_row" ] && awk -v a="$ours" 'BEGIN { exit !(a > 0) }'; then
        ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1f", b / a }')
        met=$(awk -v r="$ratio" 'BEGIN { print (r >= 5 ? "met" : "not met") }')
        ok "YUV->RGB + resize vs PyTorch: ${ratio}x PyTorch's speed (target 5x: $met)"
    else
        skip "YUV->RGB + resize vs PyTorch: a side did not report (log.txt)"
    fi
else
    skip "copy bandwidth, fused YUV->RGB + resize vs PyTorch: no device ($why)"
fi

# -- results --
elapsed=$(($(date +%s) - start))
{
    echo "# gpu-check $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "- command: scripts/gpu-check.sh$([ $dry = 1 ] && echo ' --dry-run')$([ -n "$build" ] && echo " --build-dir $build")"
    echo "- device: $device_name; glibc $glibc; host $(uname -srm); $(nproc) cores; $elapsed s"
    echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo "| stage | verdict |"
    echo "| --- | --- |"
    for v in "${verdict[@]}"; do echo "| ${v:6} | ${v%% *} |"; done
    if [ -n "$ops_rows" ]; then
        echo
        echo "| ops table vs cpu table (test_cuda_ops) | lines |"
        echo "| --- | --- |"
        echo "$ops_rows"
    fi
    if [ -n "$parity_rows" ]; then
        echo
        echo "| kernel | size | against the host bodies |"
        echo "| --- | --- | --- |"
        echo "$parity_rows"
    fi
    if [ -n "$nn_parity_rows" ]; then
        echo
        echo "| one step, cuda vs cpu (test_cuda_nn_models) | logits | loss | worst gradient | worst step | AdamW noise-level elements | verdict |"
        echo "| --- | --- | --- | --- | --- | --- | --- |"
        echo "$nn_parity_rows"
    fi
    if [ -n "$nn_repeat_rows" ]; then
        echo
        echo "| repeated on the gpu (test_cuda_nn_models) | steps | floats | parameters |"
        echo "| --- | --- | --- | --- |"
        echo "$nn_repeat_rows"
    fi
    echo
    echo "| benchmark | figure |"
    echo "| --- | --- |"
    [ -n "$cpu_fps" ] && echo "| scale device=cpu, $size H.264 -> 224x224, one job | $cpu_fps frames/s |"
    [ -n "$gpu_fps" ] && echo "| scale device=gpu, $size H.264 -> 224x224, one job (target 500) | $gpu_fps frames/s |"
    [ -n "$slots_fps" ] && echo "| scale device=gpu, 7 slots on one GPU (target 3000) | $slots_fps frames/s |"
    [ -n "$bench_rows" ] && echo "$bench_rows"
    [ -n "$nn_rows" ] && grep -v '^$' <<<"$nn_rows"
} >"$results"

echo
echo "gpu-check: results in $results, log in $log"
for v in "${verdict[@]}"; do echo "  $v"; done
mode=$([ $dry = 1 ] && echo "dry run" || echo "run")
if [ $n_fail -gt 0 ]; then state=FAIL; elif [ $device = 0 ]; then state="PASS without a device"; else state=PASS; fi
echo "gpu-check: $state ($mode, $elapsed s): $n_ok ok, $n_fail failed, $n_skip skipped$([ $device = 0 ] && echo "; device stages skipped: $why")"
[ $n_fail -eq 0 ]
