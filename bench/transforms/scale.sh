#!/bin/bash
# bench/transforms/scale.sh - the `scale` action against ffmpeg (issue 4).
#
# Runs the real vlbuild binary of a configured build (BUILD, default build)
# on videos it generates in WORK (default /tmp/vl-bench-transforms) with the
# ffmpeg CLI, and prints each figure with the exact command.  Every command
# is one thread: vlbuild -j 1 (the reader decodes with one thread), ffmpeg
# -threads 1.  Timings are the best of RUNS (default 3) runs, wall clock and
# CPU (user + sys, which the load of other processes does not inflate).
#   every frame: scale size=224x224 interp=area   vs  ffmpeg ... scale=224:224:flags=area
#   sampled:     scale size=224x224 frames=16      vs  the every-frame run
# Videos: 60 s of 1280x720 testsrc2 at 30 fps, libx264 veryfast, 3 B-frames,
# keyframe interval 250 (x264's default) and 30 (1 s, as streaming encodes).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/vl-bench-transforms}
RUNS=${RUNS:-3}
VLBUILD=$ROOT/$BUILD/vlbuild
[ -x "$VLBUILD" ] || ninja -C "$BUILD" vlbuild
mkdir -p "$WORK"

gen() { # gen FILE GOP
    [ -f "$1" ] || ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1280x720:rate=30 -t 60 \
        -c:v libx264 -preset veryfast -bf 3 -g "$2" -pix_fmt yuv420p -y "$1"
}
gen "$WORK/hd_gop250.mp4" 250
gen "$WORK/hd_gop30.mp4" 30

# project PROJ VIDEO PARAMS...: a project whose rule `s` scales VIDEO and
# whose rule `m` probes it; `m` is built first so that the metadata cache is
# warm, as it is in a pipeline (a cache miss inside a worker waits for the
# engine's batched state.db commit, up to 0.5 s of wall time)
project() {
    local proj=$1 video=$2
    shift 2
    rm -rf "$proj"
    mkdir -p "$proj/in"
    ln "$video" "$proj/in/" 2>/dev/null || cp "$video" "$proj/in/"
    printf 'source v = in/*.mp4\nrule m\n    each x in v\n    do   probe\n    out  meta/{x.stem}.json\n' >"$proj/vlbuild.rules"
    printf 'rule s\n    each x in v\n    do   scale %s\n    out  out/{x.stem}.npy\n' "$*" >>"$proj/vlbuild.rules"
    "$VLBUILD" -C "$proj" --no-cache m >/dev/null
}

# best RUNS of a command: prints "wall cpu" in seconds; PREP runs before each
best() {
    local bw="" bc=""
    for _ in $(seq "$RUNS"); do
        eval "${PREP:-true}"
        /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>&1
        read -r w u s <"$WORK/time.txt"
        local c
        c=$(echo "$u $s" | awk '{print $1+$2}')
        bw=$(echo "$w ${bw:-1e9}" | awk '{print ($1<$2)?$1:$2}')
        bc=$(echo "$c ${bc:-1e9}" | awk '{print ($1<$2)?$1:$2}')
    done
    echo "$bw $bc"
}
ratio() { echo "$1 $2" | awk '{printf "%.2fx", $1/$2}'; }
fps() { echo "$1 $2" | awk '{printf "%.0f", $1/$2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo

for gop in 250 30; do
    HD=$WORK/hd_gop$gop.mp4
    frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$HD")
    echo "== $HD: $frames frames, keyframe interval $gop, $(stat -c %s "$HD") bytes"
    project "$WORK/p_all" "$HD" size=224x224 interp=area
    project "$WORK/p_16" "$HD" size=224x224 interp=area frames=16
    PREP="rm -rf $WORK/p_all/out"
    read -r w_all c_all < <(best "$VLBUILD" -C "$WORK/p_all" -j 1 --no-cache s)
    PREP="rm -rf $WORK/p_16/out"
    read -r w_16 c_16 < <(best "$VLBUILD" -C "$WORK/p_16" -j 1 --no-cache s)
    PREP=true
    read -r w_ff c_ff < <(best ffmpeg -v error -nostdin -threads 1 -i "$HD" -vf scale=224:224:flags=area -pix_fmt rgb24 -f rawvideo -y /dev/null)
    echo "  vlbuild -j 1 --no-cache s (scale size=224x224 interp=area)         wall ${w_all} s ($(fps "$frames" "$w_all") frames/s), cpu ${c_all} s"
    echo "  ffmpeg -threads 1 -i F -vf scale=224:224:flags=area -pix_fmt rgb24 -f rawvideo /dev/null"
    echo "                                                          wall ${w_ff} s ($(fps "$frames" "$w_ff") frames/s), cpu ${c_ff} s"
    echo "  scale throughput / ffmpeg's: wall $(ratio "$w_ff" "$w_all"), cpu $(ratio "$c_ff" "$c_all")  (target: at least 1.0x)"
    echo "  vlbuild -j 1 --no-cache s (scale size=224x224 interp=area frames=16) wall ${w_16} s, cpu ${c_16} s"
    echo "  16 sampled frames vs every frame: wall $(ratio "$w_all" "$w_16") faster, cpu $(ratio "$c_all" "$c_16")  (target: at least 10x)"
    echo
done
