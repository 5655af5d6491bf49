#!/bin/bash
# bench/video/scale.sh - wall time of `scale` every frame against ffmpeg
# (issue 18 point 7).
#
# Runs the real vlbuild binary of a configured build (BUILD, default build)
# on a video it generates in WORK (default /tmp/vl-bench-scale): 60 s of
# 1280x720 testsrc2 at 30 fps, libx264 veryfast, 3 B-frames, keyframe
# interval 250.  The commands take turns, RUNS (default 5) times, so that
# the machine's load falls on all alike; each figure is the median.
#   vlbuild -j 1 --no-cache s      rule s: do scale size=224x224 interp=area
#   ffmpeg -threads 1 -i F -vf scale=224:224:flags=area -f rawvideo -pix_fmt rgb24 -y /dev/null
#                                  the issue's command (chroma at half the width)
#   ... flags=area+full_chroma_int the same bytes as vlbuild's (checked here with cmp)
# Prints wall and CPU (user + sys) medians and the ratio ffmpeg / vlbuild:
# above 1.0x, vlbuild is the faster.  vlbuild writes a 271 MB .npy; ffmpeg
# writes to /dev/null.  VLBUILD overrides the binary; BASE, another vlbuild
# binary, joins the turns (an A/B of two builds in one run).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/vl-bench-scale}
RUNS=${RUNS:-5}
VLBUILD=${VLBUILD:-$ROOT/$BUILD/vlbuild}
[ -x "$VLBUILD" ] || ninja -C "$BUILD" vlbuild
mkdir -p "$WORK"
HD=$WORK/hd_720p_60s.mp4
[ -f "$HD" ] || ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1280x720:rate=30 -t 60 \
    -c:v libx264 -preset veryfast -bf 3 -g 250 -pix_fmt yuv420p -y "$HD"

# a project whose rule `m` probes the video (built first: the metadata
# cache is warm, as in a pipeline) and whose rule `s` scales it
P=$WORK/proj
rm -rf "$P"
mkdir -p "$P/in"
ln "$HD" "$P/in/" 2>/dev/null || cp "$HD" "$P/in/"
printf 'source v = in/*.mp4\nrule m\n    each x in v\n    do   probe\n    out  meta/{x.stem}.json\n' >"$P/vlbuild.rules"
printf 'rule s\n    each x in v\n    do   scale size=224x224 interp=area\n    out  out/{x.stem}.npy\n' >>"$P/vlbuild.rules"
"$VLBUILD" -C "$P" --no-cache m >/dev/null
if [ -n "${BASE:-}" ]; then # its own copy: builds may differ in state.db's schema
    rm -rf "$P.base"
    mkdir -p "$P.base"
    cp -al "$P/in" "$P/vlbuild.rules" "$P.base/"
    "$BASE" -C "$P.base" --no-cache m >/dev/null
fi

# the outputs agree: vlbuild's .npy data is ffmpeg's full_chroma_int bytes
"$VLBUILD" -C "$P" -j 1 --no-cache s >/dev/null
FF_EXACT=(ffmpeg -v error -nostdin -threads 1 -i "$HD" -vf scale=224:224:flags=area+full_chroma_int
          -f rawvideo -pix_fmt rgb24 -y)
"${FF_EXACT[@]}" "$WORK/ff.rgb"
header=$(( $(stat -c %s "$P/out/hd_720p_60s.npy") - $(stat -c %s "$WORK/ff.rgb") ))
same=$(cmp <(tail -c +$((header + 1)) "$P/out/hd_720p_60s.npy") "$WORK/ff.rgb" >/dev/null && echo identical || echo DIFFERENT)
rm -f "$WORK/ff.rgb"

# timed NAME CMD...: runs it once, appends "wall cpu" to WORK/t_NAME
timed() {
    local name=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>&1
    read -r w u s <"$WORK/time.txt"
    echo "$w $(echo "$u $s" | awk '{print $1+$2}')" >>"$WORK/t_$name"
}
median() { # median COLUMN FILE
    sort -g -k"$1" "$2" | awk -v c="$1" '{v[NR]=$c} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { echo "$1 $2" | awk '{printf "%.2fx", $1/$2}'; }
column() { awk -v c="$1" '{printf "%s ", $c}' "$2"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo "vlbuild: $VLBUILD ($(git -C "$ROOT" rev-parse --short HEAD))"
echo "file: $HD ($(stat -c %s "$HD") bytes, 1800 frames); vlbuild's output vs ffmpeg full_chroma_int: $same"
rm -f "$WORK"/t_*
for _ in $(seq "$RUNS"); do
    rm -rf "$P/out"
    timed vl "$VLBUILD" -C "$P" -j 1 --no-cache s
    timed ff ffmpeg -v error -nostdin -threads 1 -i "$HD" -vf scale=224:224:flags=area \
        -f rawvideo -pix_fmt rgb24 -y /dev/null
    timed ffx "${FF_EXACT[@]}" /dev/null
    if [ -n "${BASE:-}" ]; then
        rm -rf "$P.base/out"
        timed base "$BASE" -C "$P.base" -j 1 --no-cache s
    fi
done
for k in vl ff ffx ${BASE:+base}; do
    eval "w_$k=\$(median 1 \"$WORK/t_$k\") c_$k=\$(median 2 \"$WORK/t_$k\")"
done
echo "medians of $RUNS turns (wall; cpu = user + sys):"
echo "  vlbuild -j 1 --no-cache s (scale size=224x224 interp=area)  wall ${w_vl} s, cpu ${c_vl} s  (walls: $(column 1 "$WORK/t_vl"))"
echo "  ffmpeg -threads 1 ... flags=area                  wall ${w_ff} s, cpu ${c_ff} s  (walls: $(column 1 "$WORK/t_ff"))"
echo "  ffmpeg -threads 1 ... flags=area+full_chroma_int  wall ${w_ffx} s, cpu ${c_ffx} s  (walls: $(column 1 "$WORK/t_ffx"))"
echo "  ffmpeg / vlbuild, the issue's command:  wall $(ratio "$w_ff" "$w_vl"), cpu $(ratio "$c_ff" "$c_vl")  (target: wall at least 1.0x)"
echo "  ffmpeg / vlbuild, the same bytes:       wall $(ratio "$w_ffx" "$w_vl"), cpu $(ratio "$c_ffx" "$c_vl")"
if [ -n "${BASE:-}" ]; then
    echo "  BASE $BASE: wall ${w_base} s, cpu ${c_base} s  (walls: $(column 1 "$WORK/t_base"))"
    echo "  BASE / vlbuild: wall $(ratio "$w_base" "$w_vl"), cpu $(ratio "$c_base" "$c_vl")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
