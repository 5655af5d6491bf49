#!/usr/bin/env bash
# run.sh - the Slurm executor against local execution on this machine:
#   1. 1,000 small shell actions (cp), one rule, no cache
#   2. a video pipeline over the quickstart's generated dataset (36 clips,
#      made once with synth): probe, augment (2 copies), scale, features, svm
# Each is built from scratch with the local runner and with --executor slurm
# against a one-node Slurm on loopback (tests/slurm/up.sh), REPEAT times,
# and the outputs of both are compared byte for byte.  Prints one line per
# run and the ratio of the medians.  Needs root (Slurm's daemons).
# Usage: bench/slurm/run.sh [VLBUILD]   (env: REPEAT=3, N=1000, SLURM_OPTS="", ONLY=small|video)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vlbuild=$(realpath "${1:-$repo/build/vlbuild}")
repeat=${REPEAT:-3}
n=${N:-1000}
work=$(mktemp -d /tmp/vlbench-slurm.XXXXXX)
sdir=$work/slurm
trap '"$repo/tests/slurm/down.sh" "$sdir"; rm -rf "$work"' EXIT
export "$("$repo/tests/slurm/up.sh" "$sdir")"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB; load $(cut -d' ' -f1-3 /proc/loadavg); slurm $(sinfo -V)"

# run LABEL DIR ARGS...: builds DIR from scratch, prints and keeps the seconds
run() {
    local label=$1 dir=$2
    shift 2
    rm -rf "$dir/build" "$dir/models" "$dir/.vlbuild"
    local t0 t1
    t0=$(date +%s.%N)
    "$vlbuild" -C "$dir" -q --no-cache "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
    t1=$(date +%s.%N)
    local s
    s=$(echo "$t1 - $t0" | bc)
    printf '%-28s %7.2f s   %s\n' "$label" "$s" "$(tail -n 1 "$work/last.log")"
    echo "$s" >>"$work/$label.times"
}
median() { sort -n "$work/$1.times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ---- 1,000 small actions ----
if [ "${ONLY:-small}" = small ]; then
small=$work/small
mkdir -p "$small/data"
for i in $(seq 1 "$n"); do echo "item $i" >"$small/data/$i.txt"; done
cat >"$small/vlbuild.rules" <<'RULES'
source raw = data/*.txt
rule copy
    each f in raw
    run  cp $in $out
    out  build/{f.stem}.txt
RULES
for _ in $(seq 1 "$repeat"); do
    run small-local "$small"
    cp -r "$small/build" "$work/small-local-build"
    run small-slurm "$small" --executor slurm ${SLURM_OPTS:-}
    diff -r "$work/small-local-build" "$small/build" >/dev/null || { echo "outputs differ"; exit 1; }
    rm -rf "$work/small-local-build"
done
echo "$n small actions: slurm/local = $(echo "scale=2; $(median small-slurm) / $(median small-local)" | bc) (medians $(median small-slurm) s / $(median small-local) s)"
fi
[ "${ONLY:-video}" = video ] || exit 0

# ---- a video pipeline ----
# the quickstart's dataset, generated once (x264 is not bit-exact from run to
# run, so the clips are sources here and everything after them is compared)
gen=$work/gen
mkdir -p "$gen"
cp "$repo/examples/quickstart/dataset.rules" "$repo/examples/quickstart/one-class.rules" "$gen/"
printf 'include dataset.rules\ndefault labels\n' >"$gen/vlbuild.rules"
"$vlbuild" -C "$gen" -q >/dev/null
video=$work/video
mkdir -p "$video"
cp -r "$gen/data" "$video/"
cat >"$video/vlbuild.rules" <<'RULES'
include std.rules
source videos = data/*/*.*
source labels = data/labels.csv
rule meta
    each v in videos
    do   probe
    out  build/meta/{v.stem}.json
rule aug
    each v in videos
    do   augment $std_augment seed=7
    copies 2
    out  build/aug/{v.stem}.{copy}.mkv
rule clips
    each v in videos aug
    do   scale $std_clip
    out  build/clips/{v.stem}.npy build/clips/{v.stem}.json
rule features
    each c in clips:*.npy
    do   features $std_features
    out  build/features/{c.stem}.npy build/features/{c.stem}.json
rule svm
    in   features labels
    do   train model=svm epochs=40 seed=1
    out  models/svm.safetensors models/svm.jsonl
rule all
    in   meta svm
    do   stamp
    out  build/all.stamp
default all
RULES
for _ in $(seq 1 "$repeat"); do
    run video-local "$video"
    mkdir -p "$work/video-local-out"
    cp -r "$video/build" "$video/models" "$work/video-local-out/"
    run video-slurm "$video" --executor slurm ${SLURM_OPTS:-}
    # augment's Matroska files differ from run to run even locally (the muxer's
    # random segment UID); the clips decoded from them are compared
    # all.stamp lists the fingerprint of svm.jsonl, whose "seconds" are wall time
    diff -rq -x aug -x all.stamp -x svm.jsonl "$work/video-local-out/build" "$video/build" ||
        echo "note: the files above differ between the local and the slurm build"
    cmp "$work/video-local-out/models/svm.safetensors" "$video/models/svm.safetensors" ||
        echo "note: the svm checkpoints differ between the local and the slurm build"
    for f in "$work/video-local-out/models/svm.jsonl" "$video/models/svm.jsonl"; do
        sed 's/"seconds":[0-9.]*//' "$f" >"$f.cmp"
    done
    cmp "$work/video-local-out/models/svm.jsonl.cmp" "$video/models/svm.jsonl.cmp" ||
        echo "note: the svm metrics differ between the local and the slurm build"
    rm -f "$video/models/svm.jsonl.cmp"
    rm -rf "$work/video-local-out"
done
echo "video pipeline: slurm/local = $(echo "scale=2; $(median video-slurm) / $(median video-local)" | bc) (medians $(median video-slurm) s / $(median video-local) s)"
