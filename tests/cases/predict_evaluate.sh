# predict_evaluate: a small project trains a logreg on the features of its
# training videos, predicts each held-out video alone (`each` over them),
# and evaluates the predictions against the held-out labels; the metrics
# JSON agrees with the per-video predictions.  Adding a held-out video runs
# its chain, one more prediction and the evaluation, nothing else
# (docs/training.md, "Predict and evaluate").
. "$(dirname "$0")/lib.sh"
cat >vlbuild.rules <<'RULES'
rule left
    do     synth class=left size=16x16 frames=4 codec=mpeg4 seed=1
    copies 4
    out    data/train/left/{copy}.mp4
rule right
    do     synth class=right size=16x16 frames=4 codec=mpeg4 seed=2
    copies 4
    out    data/train/right/{copy}.mp4
rule test_left
    do     synth class=left size=16x16 frames=4 codec=mpeg4 seed=3
    copies 2
    out    data/test/left-{copy}.mp4
rule test_right
    do     synth class=right size=16x16 frames=4 codec=mpeg4 seed=4
    copies 2
    out    data/test/right-{copy}.mp4
rule train_labels
    in     left right
    run    { echo file,label; for f in $in; do echo "$f,$(basename "$(dirname "$f")")"; done; } > $out
    out    data/train.csv
rule test_labels
    in     test_left test_right
    run    { echo file,label; for f in $in; do echo "$f,$(basename "$f" | cut -d- -f1)"; done; } > $out
    out    data/test.csv
rule clips
    each v in left right
    do     scale size=16x16 frames=4
    out    build/clips/{v.dir}/{v.stem}.npy
rule test_clips
    each v in test_left test_right
    do     scale size=16x16 frames=4
    out    build/test_clips/{v.stem}.npy
rule feat
    each c in clips
    do     features
    out    build/feat/{c.dir}/{c.stem}.npy
rule test_feat
    each c in test_clips
    do     features
    out    build/test_feat/{c.stem}.npy
rule model
    in     feat train_labels
    do     train model=logreg epochs=20 val=0 seed=1
    out    models/m.safetensors
rule pred
    each f in test_feat
    in     models/m.safetensors
    do     predict top=2
    out    build/pred/{f.stem}.json build/pred/{f.stem}.csv
rule score
    in     pred:*.json test_labels
    do     evaluate
    out    build/metrics.json build/predictions.csv
RULES

vl -j2 --no-cache
expect_rc 0
# 12 synth + 2 labels + 12 clips + 12 features + model + 4 predictions + evaluate
expect_summary 44 0 0
expect_file build/pred/left-0.json
expect_file build/pred/right-1.csv
python3 - <<'PY' || fail "the predictions or the metrics are not as documented"
import csv, json
m = json.load(open("build/metrics.json"))
assert m["format"] == "vlbuild.metrics" and m["version"] == 1, m
assert m["videos"] == 4 and m["classes"] == ["left", "right"], m
preds = [json.load(open(f"build/pred/{n}.json")) for n in ("left-0", "left-1", "right-0", "right-1")]
right = 0
for p in preds:
    assert p["format"] == "vlbuild.prediction" and p["version"] == 1 and p["clips"] == 1, p
    assert abs(sum(p["probabilities"]) - 1) < 1e-5, p
    assert p["top"][0]["probability"] >= p["top"][1]["probability"], p
    truth = p["video"].split("/")[-1].split("-")[0]
    right += p["top"][0]["class"] == truth
assert abs(m["accuracy"] - right / 4) < 1e-12, (m["accuracy"], right)
assert m["top_k"] == 2 and m["top_k_accuracy"] == 1, m
assert sum(map(sum, m["confusion"])) == 4, m
rows = list(csv.DictReader(open("build/predictions.csv")))
assert [r["video"] for r in rows] == [p["video"] for p in preds], rows
assert sum(int(r["correct"]) for r in rows) == right, rows
PY

vl -j2 --no-cache
expect_summary 0 44 0

# one more held-out video: its synth, clip, features and prediction, the
# held-out labels and the evaluation
sed -i '/^rule test_left/,/^rule/ s/copies 2/copies 3/' vlbuild.rules
vl -j2 --no-cache
expect_rc 0
expect_summary 6 42 0
[ "$(ran_lines | grep -c '^pred ')" -eq 1 ] || fail "expected one prediction to run:"$'\n'"$out"
expect_output "pred build/pred/left-2.json"
python3 -c 'import json; m = json.load(open("build/metrics.json")); assert m["videos"] == 5, m' ||
    fail "the metrics do not count the new video"
finish
