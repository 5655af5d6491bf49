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
# a log with accuracy in percent and a loss that starts at 4: charted on the same 0..100% axis
cat >logs/cnn.jsonl <<'JSONL'
{"epoch": 1, "loss": 4.0, "val_loss": 3.6, "val_acc": 40}
{"epoch": 2, "loss": 2.0, "val_loss": 2.5, "val_acc": 72}
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
    "Timeline of this build" "Time per rule" "<polyline" "cnn: training curves" \
    "<td>72.0%</td>" "<td>75.0%</td>" ">100%</text>" "val accuracy (right axis)"; do
    case "$html" in *"$want"*) ;; *) fail "report lacks '$want'" ;; esac
done
case "$html" in *"<script"* | *"http://"* | *"https://"*) fail "report is not self-contained" ;; esac
# each legend swatch has its line's colour, and every accuracy point lies on the percent axis
python3 - build/report.html <<'PY' || fail "report charts: legend or accuracy axis wrong"
import re, sys
html = open(sys.argv[1]).read()
css = dict(re.findall(r"\.((?:span|line)-\d+)\{(?:fill|stroke):(#[0-9a-f]{6})", html))
charts = re.findall(r"<svg[^>]*>.*?</svg>", html, re.S)
curves = [c for c in charts if "training curves" in c]
assert len(curves) == 2, len(curves)
for chart in curves:
    lines = re.findall(r'class="line (line-\d+)" points="([^"]*)"><title>([^<]*)</title>', chart)
    assert len(lines) == 3, lines
    top, bottom = (float(re.search(r'y="([\d.]+)">%s</text>' % t, chart).group(1)) - 4
                   for t in ("100%", "0%"))
    for cls, points, name in lines:
        swatch = re.search(r'<rect class="(span-\d+)"[^>]*/><text class="label"[^>]*>'
                           + re.escape(name), chart).group(1)
        assert css[swatch] == css[cls], (name, swatch, cls)
        if "accuracy" in name:
            ys = [float(p.split(",")[1]) for p in points.split()]
            assert ys and all(top - 0.05 <= y <= bottom + 0.05 for y in ys), (name, ys)
            assert min(ys) < bottom - 0.3 * (bottom - top), ("accuracy flattened", ys)
PY
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
