#!/bin/bash
# bench/video/run.sh - the video layer against ffprobe and ffmpeg (issue 3).
#
# Builds a tiny driver against the static library of a configured build
# (BUILD, default build), generates its own test videos in WORK (default
# /tmp/vl-bench-video), and prints each figure with the exact command.
#   probe:  vlvideo_bench probe  vs  ffprobe -count_frames  and  -count_packets
#   decode: vlvideo_bench decode (RGB24, 1 thread)  vs  ffmpeg -threads 1 ... rawvideo
#   memory: peak RSS of a full decode of a 60 s 3840x2160 clip (default 256 MiB budget)
# Timings are the best of RUNS (default 3) wall-clock runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/vl-bench-video}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
[ -f "$BUILD/libvlmedia.a" ] || ninja -C "$BUILD" vlmedia vlcore vlcache
BIN=$WORK/vlvideo_bench
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/video/vlvideo_bench.c \
   "$BUILD/libvlmedia.a" "$BUILD/libvlcore.a" "$BUILD/cache/libvlcache.a" "$BUILD/libvlcore.a" \
   $(pkg-config --libs libavformat libavcodec libavutil libswscale sqlite3 libxxhash libuv) \
   -lm -lpthread -ldl -o "$BIN"

HD=$WORK/h264_1280x720_60s.mp4
UHD=$WORK/h264_3840x2160_60s.mp4
[ -f "$HD" ] || "$BIN" gen "$HD" libx264 1280 720 1800 30 veryfast
[ -f "$UHD" ] || "$BIN" gen "$UHD" libx264 3840 2160 1800 30 ultrafast

# best wall time of RUNS runs of a command, in seconds
best() {
    local b=""
    for _ in $(seq "$RUNS"); do
        local s e
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        b=$(echo "$s $e ${b:-1e9}" | awk '{t=$2-$1; print (t<$3)?t:$3}')
    done
    echo "$b"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo "file: $HD ($(stat -c %s "$HD") bytes), frames: vl $("$BIN" probe "$HD"), ffprobe $(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$HD")"
echo
t_vl=$(best "$BIN" probe "$HD")
t_cf=$(best ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$HD")
t_cp=$(best ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$HD")
echo "probe 1280x720 60 s (best of $RUNS):"
echo "  vlvideo_bench probe FILE                                   ${t_vl} s"
echo "  ffprobe -select_streams v:0 -count_frames  ...           ${t_cf} s  (vl is $(echo "$t_cf $t_vl" | awk '{printf "%.1fx", $1/$2}') faster)"
echo "  ffprobe -select_streams v:0 -count_packets ...           ${t_cp} s  (vl takes $(echo "$t_vl $t_cp" | awk '{printf "%.2fx", $1/$2}') its time)"
echo
t_dec=$(best "$BIN" decode "$HD")
t_ff=$(best ffmpeg -v error -threads 1 -i "$HD" -pix_fmt rgb24 -f rawvideo -y /dev/null)
echo "decode 1280x720 60 s to RGB24, one thread (best of $RUNS):"
echo "  vlvideo_bench decode FILE                                  ${t_dec} s"
echo "  ffmpeg -threads 1 -i FILE -pix_fmt rgb24 -f rawvideo /dev/null  ${t_ff} s  (vl takes $(echo "$t_dec $t_ff" | awk '{printf "%.2fx", $1/$2}') its time)"
echo
echo "full decode 3840x2160 60 s, default budget 256 MiB:"
/usr/bin/time -v "$BIN" decode "$UHD" 2>"$WORK/time.txt"
grep -E "Maximum resident|Elapsed" "$WORK/time.txt" | sed 's/^\s*/  /'
