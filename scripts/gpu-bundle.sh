#!/usr/bin/env bash
# gpu-bundle.sh - prepares gpu-bundle/ (ignored by git), what a GPU machine
# needs to check vlbuild's CUDA build with no network and no package
# installs: the CUDA build (vlbuild, its modules, the GPU and host tests of
# the operations) and the shared libraries they load, found with ldd, in one
# tar.xz.  Left out: the driver's libraries (libcuda, libnvcuvid,
# libnvidia-*), which come with the GPU, and glibc, libgcc_s and libstdc++,
# which every Linux has in a version at least as new as this machine's
# (symbol versioning keeps them backward compatible; docs/gpu.md).
#
#   scripts/gpu-bundle.sh [--build-dir DIR] [--no-build] [--out DIR] [--list]
#
# --build-dir: the CUDA build to bundle (default build-gpu, configured here
# with -DVL_CUDA=ON -DVL_WERROR=ON when it does not exist, and brought up to
# date with ninja unless --no-build).  --out: the bundle folder (default gpu-bundle).  --list:
# only print what would go in and its unpacked size; nothing is packed.
#
# The folder holds bundle.tar.xz (bin/, lib/ and share/vlbuild/rules/) and
# MANIFEST (one line per file: size and name).  It is refused, and removed,
# above 60 MiB: the GPU machine's copy of the tree and the bundle must fit
# in 64 MiB together.  scripts/gpu-check.sh unpacks and uses it.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-gpu out=gpu-bundle list=0 no_build=0
while (($#)); do
    case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --list) list=1; shift ;;
    --no-build) no_build=1; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "gpu-bundle: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
limit=$((60 * 1024 * 1024))

if [ $no_build = 0 ]; then
    command -v nvcc >/dev/null || { echo "gpu-bundle: nvcc is not on PATH: the CUDA build needs the CUDA toolkit" >&2; exit 1; }
    if [ ! -f "$build/build.ninja" ]; then
        echo "gpu-bundle: configuring the CUDA build in $build"
        cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVL_CUDA=ON -DVL_WERROR=ON >/dev/null
    fi
    ninja -C "$build" >/dev/null || { echo "gpu-bundle: the build in $build failed (ninja -C $build)" >&2; exit 1; }
fi
[ -f "$build/vlbuild-cuda.so" ] || { echo "gpu-bundle: $build has no vlbuild-cuda.so (configured with -DVL_CUDA=OFF?)" >&2; exit 1; }

# what goes into bin/: the executable, its modules, the tests gpu-check runs
bins=("$build/vlbuild" "$build"/vlbuild-*.so)
for t in test_cuda_kern test_cuda_ops test_cuda_nn_kern test_cuda_nn_models test_nn_kern test_cuda_resample_host test_cuda_convert_host test_video_reader_table test_cuda_bodies_host test_cuda_loader test_ops_kern test_ops_geometry_color test_ops_resize_features; do
    [ -x "$build/tests/$t" ] && bins+=("$build/tests/$t")
done

# 0 for a library that stays behind: the driver's, glibc's, the compiler's
# runtime, and cuDNN and cuBLAS (hundreds of MB: the GPU machine's own are
# used, under /usr/local/cuda and its PyTorch's nvidia wheels)
bundled() {
    case "$(basename "$1")" in
    libcudnn*.so* | libcublas*.so* | \
    libcuda.so* | libnvcuvid.so* | libnvidia-* | ld-linux* | linux-vdso* | libc.so* | libm.so* | \
        libpthread.so* | libdl.so* | librt.so* | libresolv.so* | libutil.so* | libanl.so* | \
        libnss_* | libmvec.so* | libgcc_s.so* | libstdc++.so*) return 1 ;;
    esac
    return 0
}

declare -A libs=()
missing=""
for b in "${bins[@]}"; do
    while read -r name arrow path _; do
        [ "$arrow" = "=>" ] || continue
        if [ "$path" = "not" ]; then missing+=" $name (needed by $(basename "$b"))"; continue; fi
        bundled "$path" && libs["$(readlink -f "$path")"]=$(basename "$path")
    done < <(LD_LIBRARY_PATH="$build" ldd "$b" 2>/dev/null)
done
[ -z "$missing" ] || { echo "gpu-bundle: ldd finds no$missing" >&2; exit 1; }

total=0
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
for b in "${bins[@]}"; do
    s=$(stat -c %s "$b"); total=$((total + s)); echo "$s bin/$(basename "$b")" >>"$manifest"
done
for real in "${!libs[@]}"; do
    s=$(stat -c %s "$real"); total=$((total + s)); echo "$s lib/${libs[$real]}" >>"$manifest"
done
sort -k2 -o "$manifest" "$manifest"
count=$(wc -l <"$manifest")
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
if [ $list = 1 ]; then
    cat "$manifest"
    echo "gpu-bundle: $count files, $(mib $total) unpacked (${#bins[@]} from $build, ${#libs[@]} libraries); not packed (--list)"
    exit 0
fi

rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -f "$manifest"; rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp "${bins[@]}" "$stage/bin/"
strip --strip-debug "$stage"/bin/* # host debug sections only: the device code keeps its line info
for real in "${!libs[@]}"; do cp "$real" "$stage/lib/${libs[$real]}"; done
mkdir -p "$stage/share/vlbuild"
cp -r rules "$stage/share/vlbuild/rules" # where an installed vlbuild looks
echo "gpu-bundle: packing $count files, $(mib $total) unpacked (xz -9, a few minutes on two cores)"
tar -C "$stage" -cf - bin lib share | xz -9 -T0 >"$out/bundle.tar.xz"
cp "$manifest" "$out/MANIFEST"
size=$(du -sb "$out" | cut -f1)
if [ "$size" -gt "$limit" ]; then
    rm -rf "$out"
    echo "gpu-bundle: the bundle is $(mib "$size"), above the 60 MiB limit; removed (docs/gpu.md: stub the unused codec libraries)" >&2
    exit 1
fi
echo "gpu-bundle: $out/bundle.tar.xz, $(mib "$size") ($count files, $(mib $total) unpacked)"
