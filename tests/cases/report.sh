# The report action: one self-contained HTML file with the dataset, the
# models' curves and confusion matrices, and the build.  When Chromium is
# installed, the page is rendered headless and must have no console errors.
. "$(dirname "$0")/lib.sh"
command -v ffmpeg >/dev/null || { echo "SKIPPED: ffmpeg not installed"; exit 77; }
mkdir -p data logs
ffmpeg -loglevel error -nostdin -f lavfi -i testsrc2=size=64x48:rate=10:duration=1 data/left1.mp4
ffmpeg -loglevel error -nostdin -f lavfi -i testsrc2=size=64x48:rate=10:duration=2 data/left2.mp4
ffmpeg -loglevel error -nostdin -f lavfi -i testsrc2=size=80x48:rate=10:duration=1 data/right1.mp4
printf 'file,label\nleft1.mp4,left\nleft2.mp4,left\nright1.mp4,right\n' >data/labels.csv
cat >logs/svm.jsonl <<'JSONL'
{"epoch": 1, "train_loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.5}
{"epoch": 2, "train_loss": 0.4, "val_loss": 0.5, "val_accuracy": 0.75, "classes": ["left", "right"], "confusion": [[3, 1], [0, 4]]}
JSONL
cat >vlbuild.rules <<'RULES'
source videos = data/*.mp4
source labels = data/labels.csv
source logs = logs/*.jsonl
rule meta
    each v in videos
    do   probe
    out  build/meta/{v.stem}.json
rule report
    in   meta labels logs
    do   report title="Test <report>"
    out  build/report.html
RULES
vl -j2
expect_rc 0
expect_summary 4 0 0
html=$(cat build/report.html)
for want in "<title>Test &lt;report&gt;</title>" "3 clips" "Clips per class" ">left<" ">right<" \
    "64x48" "80x48" "svm: training curves" "svm: confusion matrix (validation)" \
    "Timeline of this build" "Time per rule" "<polyline"; do
    case "$html" in *"$want"*) ;; *) fail "report lacks '$want'" ;; esac
done
case "$html" in *"<script"* | *"http://"* | *"https://"*) fail "report is not self-contained" ;; esac
vl
expect_summary 0 4 0

if command -v chromium >/dev/null; then
    timeout 120 chromium --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --screenshot="$root/shot.png" --window-size=1000,1600 "file://$root/build/report.html" \
        >chromium.log 2>&1 || fail "chromium could not render the report: $(tail -5 chromium.log)"
    [ -s "$root/shot.png" ] || fail "no screenshot"
    if grep -q "CONSOLE" chromium.log; then fail "console messages: $(grep CONSOLE chromium.log)"; fi
    python3 - "$root/shot.png" <<'PY' || fail "the screenshot is blank"
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
# a rendered page with charts has far more distinct bytes than a blank one
assert len(set(data)) > 200, "blank page"
PY
else
    echo "SKIPPED (browser part): chromium not installed"
fi
finish
