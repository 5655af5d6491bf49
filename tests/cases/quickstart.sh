# The quickstart end to end, small (2 clips per class and format, 2 epochs):
# a clean build; a no-op; one clip added (only its chain, the labels, the
# training, the test predictions and score and the report rerun); one
# augmentation parameter changed (only the actions that depend on it rerun).  Each step is asserted from
# vlbuild's own summary line.
. "$(dirname "$0")/lib.sh"
cp -r "$VL_SOURCE_DIR/examples/quickstart/." .
rm -rf build data models .vlbuild
small=(per_class=2 test_per_class=1 epochs=2 --no-cache)

vl -j2 "${small[@]}"
expect_rc 0
# 24 clips: 24 synth + labels + 24 meta + 24 aug + 48 clips + 48 var_clips
# + 48 features + 3 models + report; 4 test clips: 4 synth + 4 test_clips +
# 4 test_features + 4 predict + evaluate
expect_summary 238 0 0
for f in models/svm.safetensors models/vit_gru.safetensors models/variable_ar_cnn.safetensors \
    models/vit_gru.jsonl build/report.html data/labels.csv; do
    expect_file "$f"
done
grep -q "vit_gru: training curves" build/report.html || fail "report lacks the vit_gru curves"
grep -q "<h2>Evaluation</h2>" build/report.html || fail "report lacks the test score"
python3 - <<'PY' || fail "the test score is not of the 4 test videos"
import json
m = json.load(open("build/eval/metrics.json"))
assert m["format"] == "vlbuild.metrics" and m["videos"] == 4, m
acc = "%.1f%%" % (m["accuracy"] * 100)
assert ('class="accuracy">' + acc) in open("build/report.html").read(), acc
PY

vl -j2 "${small[@]}"
expect_summary 0 238 0

# one more clip: synth, meta, 1 aug, 2 clips, 2 var_clips, 2 features,
# the labels, the 3 models, the 4 test predictions, evaluate and the report
sed -i 's/^var videos = /var videos = extra /' dataset.rules
sed -i '/^var videos = /i rule extra\n    do   synth class=left size=64x48 frames=24 fps=12 codec=h264 seed=9\n    out  data/left/left-extra.mp4\n' dataset.rules
vl -j2 "${small[@]}"
expect_rc 0
expect_summary 19 228 0
expect_output "extra data/left/left-extra.mp4"

# another augmentation: the 25 augmented clips, their 25 clips, 25
# var_clips and 25 features, the 3 models, the 4 test predictions,
# evaluate and the report; nothing else
vl -j2 "${small[@]}" std_augment="crop=0.6:1 brightness=0.3"
expect_rc 0
expect_summary 109 138 0
finish
