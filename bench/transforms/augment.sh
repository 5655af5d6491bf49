#!/bin/bash
# bench/transforms/augment.sh - the `augment` action against ffmpeg (issue 4).
#
# Builds a tiny driver against the static library of a configured build
# (BUILD, default build), makes a 60 s 1280x720 H.264 video (1800 frames at
# 30 fps, libx264 veryfast, 3 B-frames) in WORK (default /tmp/vl-bench-aug),
# and times, one thread each, the median of RUNS (default 3) interleaved runs
# (CONTEXT_RUNS, default RUNS, of the rows vl, ffmpeg-rgb and decode):
#   vl:       augment hflip=1, a fixed 1024x576 crop (80% of each side: area
#             0.64, ratio 16:9), brightness/contrast/saturation jitter -> FFV1
#   vl-420:   the same with codec=ffv1_420 (stays yuv420p: FFV1 of yuv420p)
#   ffmpeg:   the issue's command (hflip, crop 80%, eq) -> FFV1 yuv420p
#   ffmpeg-1: the same with filter and encoder threads pinned to 1 as well
#   ffmpeg-rgb: the same output format as vl (FFV1 version 3, slice CRCs,
#             bgr0 = lossless RGB), i.e. the same encoder work
#   decode:   vl's reader alone (decode + RGB conversion), the floor of vl
# Wall time and CPU time (user+sys) are printed; on a busy machine CPU time
# is the steadier figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/vl-bench-aug}
RUNS=${RUNS:-3}
CONTEXT_RUNS=${CONTEXT_RUNS:-$RUNS}
mkdir -p "$WORK"
[ -f "$BUILD/libvlmedia.a" ] || ninja -C "$BUILD" vlmedia vlcore vlcache
BIN=$WORK/augment_bench
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/transforms/augment_bench.c \
   -Wl,--undefined=vl_media_runs "$BUILD/libvlmedia.a" "$BUILD/libvlcore.a" "$BUILD/cache/libvlcache.a" "$BUILD/libvlcore.a" \
   $(pkg-config --libs libavformat libavcodec libavutil libswscale sqlite3 libxxhash libuv) \
   $(pkg-config --libs openblas 2>/dev/null || true) \
   -lm -lpthread -ldl -o "$BIN"

HD=$WORK/h264_1280x720_60s.mp4
[ -f "$HD" ] || "$BIN" gen "$HD" 1280 720 1800 30

VF="hflip,crop=iw*0.8:ih*0.8,eq=brightness=0.1:contrast=1.1:saturation=1.2"
VL_PARAMS="hflip=1 crop=0.64:0.64 ratio=1.7777777777777777:1.7777777777777777 brightness=0.1 contrast=0.1 saturation=0.2 seed=1"

# timed NAME CMD...: one run of CMD; appends "wall cpu" (user+sys) to $WORK/t_NAME
timed() {
    local name=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$@" >/dev/null 2>&1
    read -r w u s <"$WORK/t"
    echo "$w $(echo "$u $s" | awk '{print $1+$2}')" >>"$WORK/t_$name"
}
# med NAME: "WALL CPU", each the median of NAME's runs
med() {
    local col out=""
    for col in 1 2; do
        out="$out $(sort -g -k$col "$WORK/t_$1" | awk -v c=$col '{v[NR]=$c} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
    done
    echo $out
}

fps() { awk -v t="$1" 'BEGIN{printf "%.1f", 1800/t}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo "file: $HD ($(stat -c %s "$HD") bytes, 1800 frames)"
echo

# the commands take turns, RUNS times, so that the machine's load falls on
# all of them alike; every figure is the median of its runs
rm -f "$WORK"/t_*
# (the rows that only explain, the RGB clip, ffmpeg writing RGB and the
# decode alone, run in the first CONTEXT_RUNS turns only: a busy machine
# makes a turn of all six last minutes)
for turn in $(seq "$RUNS"); do
    timed v4 "$BIN" run "$HD" "$WORK/vl420.mkv" $VL_PARAMS codec=ffv1_420
    timed ff ffmpeg -v error -threads 1 -i "$HD" -vf "$VF" -c:v ffv1 -f matroska -y /dev/null
    timed f1 ffmpeg -v error -threads 1 -i "$HD" -filter_threads 1 -vf "$VF" -c:v ffv1 -threads 1 -f matroska -y /dev/null
    [ "$turn" -le "$CONTEXT_RUNS" ] || continue
    timed vl "$BIN" run "$HD" "$WORK/vl.mkv" $VL_PARAMS
    timed rgb ffmpeg -v error -threads 1 -i "$HD" -filter_threads 1 -vf "$VF,format=bgr0" -c:v ffv1 -level 3 -slicecrc 1 -threads 1 -f matroska -y /dev/null
    timed dec "$BIN" decode "$HD"
done
read -r w_vl c_vl < <(med vl)
read -r w_v4 c_v4 < <(med v4)
read -r w_ff c_ff < <(med ff)
read -r w_f1 c_f1 < <(med f1)
read -r w_rgb c_rgb < <(med rgb)
read -r w_dec c_dec < <(med dec)

row() { printf "  %-11s wall %6.2f s (%6s fps)  cpu %6.2f s (%6s fps)  %s\n" "$1" "$2" "$(fps "$2")" "$3" "$(fps "$3")" "$4"; }
echo "augment 1280x720 60 s -> 1024x576 FFV1, one thread (median of $RUNS interleaved runs, $CONTEXT_RUNS for vl, ffmpeg-rgb, decode; load after: $(cut -d' ' -f1-3 /proc/loadavg)):"
row vl "$w_vl" "$c_vl" "augment_bench run FILE OUT $VL_PARAMS"
row vl-420 "$w_v4" "$c_v4" "augment_bench run FILE OUT $VL_PARAMS codec=ffv1_420"
row ffmpeg "$w_ff" "$c_ff" "ffmpeg -threads 1 -i FILE -vf \"$VF\" -c:v ffv1 -f matroska /dev/null"
row ffmpeg-1 "$w_f1" "$c_f1" "... -filter_threads 1 ... -c:v ffv1 -threads 1 ..."
row ffmpeg-rgb "$w_rgb" "$c_rgb" "... -vf \"$VF,format=bgr0\" -c:v ffv1 -level 3 -slicecrc 1 -threads 1 ..."
row decode "$w_dec" "$c_dec" "augment_bench decode FILE (vl_reader to RGB24)"
echo
awk -v a="$c_vl" -v b="$c_ff" -v c="$c_f1" -v d="$c_rgb" -v wa="$w_vl" -v wb="$w_ff" -v wd="$w_rgb" -v a4="$c_v4" -v wa4="$w_v4" 'BEGIN{
  printf "vl codec=ffv1_420 / ffmpeg (issue command): cpu %.2fx  wall %.2fx\n", b/a4, wb/wa4;
  printf "vl codec=ffv1_420 / ffmpeg (1 thread pinned): cpu %.2fx\n", c/a4;
  printf "vl throughput / ffmpeg (issue command):  cpu %.2fx  wall %.2fx\n", b/a, wb/wa;
  printf "vl throughput / ffmpeg (1 thread pinned): cpu %.2fx\n", c/a;
  printf "vl throughput / ffmpeg (same RGB FFV1):   cpu %.2fx  wall %.2fx\n", d/a, wd/wa }'
ffprobe -v error -show_entries stream=codec_name,pix_fmt,width,height -of csv=p=0 "$WORK/vl.mkv" | sed 's/^/vl output: /'
ffprobe -v error -show_entries stream=codec_name,pix_fmt,width,height -of csv=p=0 "$WORK/vl420.mkv" | sed 's/^/vl-420 output: /'
