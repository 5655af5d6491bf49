# reliability_hostile: corpus videos, generated fixtures and hostile copies of
# them (truncated, bytes flipped, empty, random bytes behind video
# extensions) through probe, augment, scale and features under -k 0: each
# action gives a valid output or an error naming its file, the build goes on,
# nothing crashes or hangs, and a rebuild fails the same actions again.
# docs/reliability.md describes it.
#   VL_HOSTILE_SEED     seed of the flipped bytes and random files (default 1)
#   VL_HOSTILE_TIMEOUT  seconds the build may take before it counts as a hang (default 240)
#   VL_CORPUS           the corpus folder (default $VL_SOURCE_DIR/../shared/corpus/video)
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"

seed=${VL_HOSTILE_SEED:-1}
limit=${VL_HOSTILE_TIMEOUT:-240}
corpus=${VL_CORPUS:-$VL_SOURCE_DIR/../shared/corpus/video}
command -v ffmpeg >/dev/null || { echo "SKIPPED: needs the ffmpeg command"; exit 77; }
python3 -c 'import numpy' 2>/dev/null || { echo "SKIPPED: needs python3 with numpy"; exit 77; }

mkdir -p base data
# generated fixtures: the containers and codecs the corpus may lack
for spec in "gen_h264.mp4:-c:v libx264 -pix_fmt yuv420p -bf 2" "gen_mjpeg.mov:-c:v mjpeg" \
    "gen_ffv1.mkv:-c:v ffv1" "gen_vp8.webm:-c:v libvpx -b:v 200k" "gen_mpeg4.avi:-c:v mpeg4"; do
    # shellcheck disable=SC2086
    ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=12:duration=1 ${spec#*:} "base/${spec%%:*}" ||
        fail "ffmpeg could not make ${spec%%:*}"
done
if [ -d "$corpus" ]; then
    cp "$corpus"/* base/
    chmod u+w base/*
else
    echo "note: no corpus at $corpus; generated fixtures only"
fi
python3 "$VL_SOURCE_DIR/tests/reliability/mutate.py" "$seed" data base/*
cp base/* data/

cat >vlbuild.rules <<'RULES'
source vids = data/*

rule meta
    each v in vids
    do   probe
    out  build/meta/{v.name}.json

rule aug
    each v in vids
    do   augment hflip=0.5 crop=0.5:1 brightness=0.2 size=32x32 duration=0.2:0.5 seed=3
    out  build/aug/{v.name}.mkv

rule clip
    each v in vids
    do   scale size=32x32 frames=8 mode=crop
    out  build/clips/{v.name}.npy

rule feat
    each v in vids
    do   features size=32x24
    out  build/feat/{v.name}.npy

rule clipfeat
    each c in clip
    do   features
    out  build/clipfeat/{c.name}.npy
RULES

n=$(ls data | wc -l)
t0=$SECONDS
set +e
timeout -k 10 "$limit" "$VLBUILD" -j 2 -k 0 >build.log 2>&1
rc=$?
set -e
cat build.log >>"$root.log"
echo "$n inputs, $((n * 4)) actions and the clips' features in $((SECONDS - t0)) s (exit status $rc)"
case "$rc" in
0 | 1) ;;
124 | 137) fail "vlbuild did not finish within ${limit}s: a hang"$'\n'"$(tail -n 20 build.log)" ;;
*) fail "vlbuild ended with status $rc (a crash?)"$'\n'"$(tail -n 40 build.log)" ;;
esac
sanitizer_report build.log && fail "sanitizer report:"$'\n'"$(grep -A 30 -m 1 -E 'Sanitizer|runtime error' build.log)"
grep -E '^vlbuild: .* ran, ' build.log || fail "no summary line"
python3 "$VL_SOURCE_DIR/tests/reliability/check_hostile.py" build.log "$corpus/../truth.tsv" \
    $(ls base) || fail "hostile inputs mishandled (above)"

# the same actions fail again, and only they run
failed1=$(grep '^FAILED: ' build.log | sort)
set +e
timeout -k 10 "$limit" "$VLBUILD" -j 2 -k 0 >rebuild.log 2>&1
rc=$?
set -e
cat rebuild.log >>"$root.log"
sanitizer_report rebuild.log && fail "sanitizer report in the rebuild"
failed2=$(grep '^FAILED: ' rebuild.log | sort)
[ "$failed1" = "$failed2" ] || fail "the rebuild failed other actions:"$'\n'"$(diff <(echo "$failed1") <(echo "$failed2"))"
ran=$(sed -n 's/^vlbuild: \([0-9]*\) ran, .*/\1/p' rebuild.log)
[ "$ran" = 0 ] || fail "the rebuild ran $ran actions that had succeeded"
left=$(temporaries build)
[ -z "$left" ] || fail "failed actions left temporaries:"$'\n'"$left"
finish
