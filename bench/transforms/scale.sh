#!/bin/bash
# bench/transforms/scale.sh - the `scale` action against ffmpeg (issue 4).
#
# Runs the real vlbuild binary of a configured build (BUILD, default build)
# on videos it generates in WORK (default /tmp/vl-bench-transforms) with the
# ffmpeg CLI, and prints each figure with the exact command.  Every command
# is one thread: vlbuild -j 1 (the reader decodes with one thread), ffmpeg
# -threads 1 (its scale filter may still slice over filter threads).  Wall clock and
# CPU (user + sys, which the load of other processes inflates less).  The
# commands take turns, RUNS (default 5) times; each figure is the median.
#   every frame: scale size=224x224 interp=area   vs  ffmpeg ... scale=224:224:flags=area
#   sampled:     scale size=224x224 frames=16      vs  the every-frame run
# Videos: 60 s of 1280x720 testsrc2 at 30 fps, libx264 veryfast, 3 B-frames,
# keyframe interval 250 (x264's default) and 30 (1 s, as streaming encodes).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/vl-bench-transforms}
RUNS=${RUNS:-5}
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

# time CMD...: runs it once (PREP first), appends "wall cpu" (seconds; cpu is
# user + sys) to the file named by TIMES
timed() {
    eval "${PREP:-true}"
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>&1
    read -r w u s <"$WORK/time.txt"
    echo "$w $(echo "$u $s" | awk '{print $1+$2}')" >>"$TIMES"
}
# median COLUMN FILE: the median of a column (1 wall, 2 cpu)
median() {
    sort -g -k"$1" "$2" | awk -v c="$1" '{v[NR]=$c} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { echo "$1 $2" | awk '{printf "%.2fx", $1/$2}'; }
fps() { echo "$1 $2" | awk '{printf "%.0f", $1/$2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo "vlbuild: $(git -C "$ROOT" rev-parse --short HEAD)"
echo

for gop in 250 30; do
    HD=$WORK/hd_gop$gop.mp4
    frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$HD")
    echo "== $HD: $frames frames, keyframe interval $gop, $(stat -c %s "$HD") bytes"
    project "$WORK/p_all" "$HD" size=224x224 interp=area
    project "$WORK/p_16" "$HD" size=224x224 interp=area frames=16
    # the three commands take turns, RUNS times, so that the machine's load
    # falls on all of them alike; each figure is the median of its runs
    rm -f "$WORK"/t_all "$WORK"/t_16 "$WORK"/t_ff
    for _ in $(seq "$RUNS"); do
        PREP="rm -rf $WORK/p_all/out" TIMES=$WORK/t_all timed "$VLBUILD" -C "$WORK/p_all" -j 1 --no-cache s
        PREP="rm -rf $WORK/p_16/out" TIMES=$WORK/t_16 timed "$VLBUILD" -C "$WORK/p_16" -j 1 --no-cache s
        PREP=true TIMES=$WORK/t_ff timed ffmpeg -v error -nostdin -threads 1 -i "$HD" -vf scale=224:224:flags=area -pix_fmt rgb24 -f rawvideo -y /dev/null
    done
    for k in all 16 ff; do
        eval "w_$k=\$(median 1 \"$WORK/t_$k\") c_$k=\$(median 2 \"$WORK/t_$k\")"
    done
    echo "  vlbuild -j 1 --no-cache s (scale size=224x224 interp=area)         wall ${w_all} s ($(fps "$frames" "$w_all") frames/s), cpu ${c_all} s"
    echo "  ffmpeg -threads 1 -i F -vf scale=224:224:flags=area -pix_fmt rgb24 -f rawvideo /dev/null"
    echo "                                                          wall ${w_ff} s ($(fps "$frames" "$w_ff") frames/s), cpu ${c_ff} s"
    echo "  scale throughput / ffmpeg's: wall $(ratio "$w_ff" "$w_all"), cpu $(ratio "$c_ff" "$c_all")  (target: at least 1.0x)"
    echo "  vlbuild -j 1 --no-cache s (scale size=224x224 interp=area frames=16) wall ${w_16} s, cpu ${c_16} s"
    echo "  16 sampled frames vs every frame: wall $(ratio "$w_all" "$w_16") faster, cpu $(ratio "$c_all" "$c_16")  (target: at least 10x)"
    echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
done
