# labels_splits: annotations are checked before training starts work, and
# their test split is never read by training.
#  - a labels file that is a source is checked when the rules are read:
#    `vlbuild -n` reports it with the header it read, and nothing runs;
#  - a labels file that a rule writes is checked as soon as it is written,
#    before any train job starts: the rule fails, no model is made;
#  - a split column: the test videos' arrays are not even arrays, training
#    succeeds without reading them (its log counts them), predict runs over
#    every video and evaluate split=test scores the test videos only
#    (docs/datasets.md, "Splits");
#  - without a split column, train test=F holds out the sources that a hash
#    of their path picks, and evaluate split=test with the same test and
#    seed scores exactly those.
. "$(dirname "$0")/lib.sh"
{
    echo 'source labels = data/labels.csv'
    synth_rules 4 16x16 4 left:1 right:2
    cat <<'RULES'
rule tests
    do     synth class=left size=16x16 frames=4 codec=mpeg4 seed=3
    copies 2
    out    data/test/t{copy}.mp4
rule feat
    each v in left right
    do     features
    out    build/feat/{v.dir}/{v.stem}.npy
rule bad_feat                 # the test videos' "arrays": garbage
    each v in tests
    run    echo not an array > $out
    out    build/feat/test/{v.stem}.npy
rule model
    in     feat bad_feat labels
    do     train model=logreg epochs=5 val=0.25 seed=1
    out    models/m.safetensors
rule pred
    each f in feat
    in     models/m.safetensors
    do     predict top=1
    out    build/pred/{f.dir}/{f.stem}.json
rule score
    in     pred labels
    do     evaluate split=test
    out    build/metrics.json
RULES
} >vlbuild.rules
mkdir -p data
printf 'data/left/0.mp4,left\n' >data/labels.csv
vl -n
expect_rc 2
expect_output "vlbuild.rules:22:6: rule model: data/labels.csv:1: the header must name a label column and a file, video or path column: read 'data/left/0.mp4,left'; no key column"
expect_output "a key column one of: file, filename, video"
vl
expect_rc 2
expect_no_file data/left/0.mp4

# a header with a split column: left/3 and right/3 are test, so are the garbage arrays
{
    echo "Video,Class,Split"
    for i in 0 1 2; do echo "data/left/$i.mp4,left,train"; echo "data/right/$i.mp4,right,train"; done
    echo "data/left/3.mp4,left,test"
    echo "data/right/3.mp4,right,test"
    echo "data/test/t0.mp4,left,test"
    echo "data/test/t1.mp4,left,test"
} >data/labels.csv
vl -v
expect_rc 0
expect_output "train 4, validation 2, test 4 (held out, not read)"
expect_file build/pred/build/feat/data/left/3.json
python3 - <<'PY' || fail "evaluate split=test did not score the test videos alone"
import json
m = json.load(open("build/metrics.json"))
assert m["format"] == "vlbuild.metrics" and m["videos"] == 2, m
assert m["classes"] == ["left", "right"], m
PY

# the hash test split: train and evaluate pick the same videos
rm -rf build models .vlbuild
mkdir -p hash && cd hash
{
    echo 'source labels = labels.csv'
    synth_rules 10 16x16 4 left:1 right:2
    cat <<'RULES'
rule feat
    each v in left right
    do     features
    out    build/feat/{v.dir}/{v.stem}.npy
rule model
    in     feat labels
    do     train model=logreg epochs=5 val=0 test=0.3 seed=5
    out    models/m.safetensors
rule pred
    each f in feat
    in     models/m.safetensors
    do     predict top=1
    out    build/pred/{f.dir}/{f.stem}.json
rule score
    in     pred labels
    do     evaluate split=test test=0.3 seed=5
    out    build/metrics.json
RULES
} >vlbuild.rules
{ echo "file,label"; for i in $(seq 0 9); do echo "data/left/$i.mp4,left"; echo "data/right/$i.mp4,right"; done; } >labels.csv
vl -v
expect_rc 0
held_out=$(printf '%s\n' "$out" | sed -n 's/.*, test \([0-9]*\) (held out, not read).*/\1/p')
[ -n "$held_out" ] && [ "$held_out" -gt 0 ] && [ "$held_out" -lt 20 ] ||
    fail "expected train test=0.3 to hold some videos out:"$'\n'"$out"
python3 - "$held_out" <<'PY' || fail "evaluate split=test did not score the videos train held out"
import json, sys
m = json.load(open("build/metrics.json"))
assert m["videos"] == int(sys.argv[1]), (m["videos"], sys.argv[1])
PY
cd ..

# a labels file that a rule writes is checked before training starts on it
sed -i 's|^source labels = data/labels.csv$||' vlbuild.rules
cat >>vlbuild.rules <<'RULES'
rule labels
    in     left right
    run    for f in $in; do echo "$f $(basename "$(dirname "$f")") extra words"; done > $out
    out    data/labels.csv
RULES
rm -rf models
vl -j1
expect_rc 1
expect_output "FAILED: labels data/labels.csv"
expect_output "rule model: data/labels.csv:1: a list line is \`path label\`"
expect_no_output "model models/m.safetensors"
expect_no_file models/m.safetensors
finish
