# reliability_hostile_metacache: the metadata cache in state.db is an input
# too.  A damaged row that claims far more frames than the video has must not
# crash vlbuild, hang, or make an output of that size: scale (frames=0) and
# features (per=frame) give a clear error or the right output within a time
# limit.  A row that claims fewer frames (5 of 12) fails its seal and the
# video is probed again: the outputs have the video's 12 frames.
# docs/reliability.md ("Findings").
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"
command -v ffmpeg >/dev/null || { echo "SKIPPED: needs the ffmpeg command"; exit 77; }

mkdir -p data
ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=12:duration=1 -c:v mpeg4 data/a.avi
cat >vlbuild.rules <<'RULES'
rule meta
    do   probe
    in   data/a.avi
    out  build/a.json

rule clip
    do   scale size=32x32 frames=0
    in   data/a.avi
    out  build/a.npy

rule feat
    do   features per=frame set=hist
    in   data/a.avi
    out  build/f.npy
RULES
vl --no-cache -- meta
expect_rc 0

# claim_frames N: makes the video's metadata row claim N frames instead of 12
claim_frames() {
    python3 - "$1" <<'PY'
import sqlite3, sys
n_frames = int(sys.argv[1])
db = sqlite3.connect(".vlbuild/state.db")
n = db.execute("""update video_meta set frames = ?,
                  json = replace(json, '"frames": 12,', ?)""",
               (n_frames, '"frames": %d,' % n_frames)).rowcount
db.commit()
assert n == 1, n
PY
}

# claims 2e9 frames of a 12-frame video (inside an int, so the reader takes it)
claim_frames 2000000000

for target in build/a.npy build/f.npy; do
    set +e
    out=$(timeout -k 3 10 "$VLBUILD" --no-cache -k 0 "$target" 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out" >>"$root.log"
    case "$rc" in
    0) python3 -c 'import numpy, sys; a = numpy.load(sys.argv[1]); assert a.shape[0] == 12, a.shape' "$target" ||
           fail "$target: built, but not with the video's 12 frames" ;;
    1) grep -q "data/a.avi" <<<"$out" || fail "$target: the error does not name the video"$'\n'"$out" ;;
    124 | 137) fail "$target: no result within 10 s (trusting a frame count of 2e9)" ;;
    *) fail "$target: vlbuild ended with status $rc (a crash)"$'\n'"$(printf '%s\n' "$out" | tail -n 20)" ;;
    esac
    sanitizer_report <(printf '%s\n' "$out") && fail "$target: sanitizer report"
    left=$(temporaries build)
    [ -z "$left" ] || { fail "$target: temporaries left:"$'\n'"$left"; rm -f $left; }
done

# a plausible lie: 5 frames; the seal catches it and the video is probed again
claim_frames 5
rm -rf build
vl --no-cache -- meta build/a.npy
expect_rc 0
grep -q '"frames": 12,' build/a.json || fail "probe believed a damaged row: $(cat build/a.json)"
python3 -c 'import numpy, sys; a = numpy.load(sys.argv[1]); assert a.shape[0] == 12, a.shape' build/a.npy ||
    fail "scale frames=0 believed a damaged row"
finish
