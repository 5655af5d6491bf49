# reliability_hostile_train: hostile .npy, sidecar and safetensors inputs to
# train.  Each lying feature or clip array (shapes larger or smaller than the
# data, overflowing or negative, header lengths past the end of the file,
# huge headers, wrong dtypes, NaN) fails its own train action with an error
# naming it, beside a control that trains; -k 0 keeps going; nothing crashes.
# A damaged resume file (.partial.safetensors) is ignored with a message
# naming it, and the checkpoint equals a clean run's byte for byte.
# docs/reliability.md describes it.
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"
python3 -c 'import numpy' 2>/dev/null || { echo "SKIPPED: needs python3 with numpy"; exit 77; }
gen="$VL_SOURCE_DIR/tests/reliability/hostile_arrays.py"

# labels FILE...: a labels CSV for the given arrays (good_b* are class b)
labels() {
    echo "file,label"
    for f in "$@"; do
        case "$(basename "$f")" in good_b*) echo "$(basename "$f"),b" ;; *) echo "$(basename "$f"),a" ;; esac
    done | sort -u
}

# rule NAME MODEL OUT INPUT...: a train rule
rule() {
    local name=$1 model=$2 out=$3
    shift 3
    printf 'rule %s\n    do   train model=%s epochs=2 seed=1 val=0.25\n    in   %s\n    out  %s\n\n' \
        "$name" "$model" "$*" "$out"
}

# run_and_judge RULES MODEL HOSTILE...: builds RULES with -k 0; the control
# must train, every hostile input must fail its action with its name
run_and_judge() {
    local rules=$1 bad b
    shift
    set +e
    timeout -k 10 120 "$VLBUILD" -f "$rules" -j 2 -k 0 >"$rules.log" 2>&1
    rc=$?
    set -e
    cat "$rules.log" >>"$root.log"
    [ "$rc" = 1 ] || fail "$rules: exit status $rc, expected 1 (failed actions)"$'\n'"$(tail -n 30 "$rules.log")"
    sanitizer_report "$rules.log" && fail "$rules: sanitizer report"$'\n'"$(cat "$rules.log")"
    grep -q "^FAILED: control " "$rules.log" && fail "$rules: the control failed"$'\n'"$(cat "$rules.log")"
    for bad in "$@"; do
        b=$(basename "$bad")
        b=${b%.*}
        if ! grep -qF "$bad" <<<"$(grep -A 3 "^FAILED: t_$b " "$rules.log" || true)"; then
            fail "$rules: $bad did not fail with an error naming it"$'\n'"$(grep -A 3 "t_$b " "$rules.log")"
        fi
        expect_no_file "models/t_$b.safetensors"
    done
}

# features: float32 [6] arrays for svm
mapfile -t bad < <(python3 "$gen" npy-features feats | sed 's|^|feats/|')
good=(feats/good_*.npy)
labels feats/*.npy >labels.csv
{
    rule control svm models/control.safetensors "${good[@]}" labels.csv
    for f in "${bad[@]}"; do
        rule "t_$(basename "$f" .npy)" svm "models/t_$(basename "$f" .npy).safetensors" "${good[@]}" "$f" labels.csv
    done
} >features.rules
run_and_judge features.rules "${bad[@]}"
grep -qF "bad_dtype_big_endian.npy: unsupported .npy dtype '>f4' (expected" features.rules.log ||
    fail "the dtype error does not quote the dtype alone"$'\n'"$(grep -F 'unsupported .npy dtype' features.rules.log)"
expect_file models/control.safetensors

# clips: uint8 [T,H,W,3] arrays for a clip model
mapfile -t bad < <(python3 "$gen" npy-clips clips | sed 's|^|clips/|')
good=(clips/good_*.npy)
labels clips/*.npy >clip_labels.csv
{
    rule control naive_cnn models/clip_control.safetensors "${good[@]}" clip_labels.csv
    for f in "${bad[@]}"; do
        rule "t_$(basename "$f" .npy)" naive_cnn "models/t_$(basename "$f" .npy).safetensors" "${good[@]}" "$f" clip_labels.csv
    done
} >clips.rules
if grep -q "not built" <<<"$("$VLBUILD" -f clips.rules -n control 2>&1 || true)"; then
    echo "note: naive_cnn is not built here; the clip inputs are not tried"
else
    run_and_judge clips.rules "${bad[@]}"
fi

# sidecars of variable_ar_cnn clips whose content size lies
mkdir -p sidecars
for f in clips/good_*.npy; do
    cp "$f" sidecars/
    echo '{"version":1,"shape":[4,8,8,3],"mode":"var","width":8,"height":8,"content":{"x":0,"y":0,"width":6,"height":8}}' \
        >"sidecars/$(basename "$f" .npy).json"
done
bad=()
for v in 'wide:{"version":1,"content":{"x":0,"y":0,"width":1000,"height":8}}' \
    'negative:{"version":1,"content":{"x":0,"y":0,"width":-5,"height":-8}}' \
    'zero:{"version":1,"content":{"x":0,"y":0,"width":0,"height":0}}' \
    'huge:{"version":1,"content":{"x":0,"y":0,"width":1e300,"height":1e300}}' \
    'truncated:{"version":1,"content":' \
    "deep:$(printf '[%.0s' $(seq 200))"; do
    cp clips/good_a0.npy "sidecars/bad_${v%%:*}.npy"
    printf '%s\n' "${v#*:}" >"sidecars/bad_${v%%:*}.json"
    bad+=("sidecars/bad_${v%%:*}.json")
done
good=(sidecars/good_*)
labels sidecars/*.npy >sidecar_labels.csv
{
    rule control variable_ar_cnn models/var_control.safetensors "${good[@]}" sidecar_labels.csv
    for f in "${bad[@]}"; do
        rule "t_$(basename "$f" .json)" variable_ar_cnn "models/t_$(basename "$f" .json).safetensors" \
            "${good[@]}" "${f%.json}.npy" "$f" sidecar_labels.csv
    done
} >sidecars.rules
if grep -q "not built" <<<"$("$VLBUILD" -f sidecars.rules -n control 2>&1 || true)"; then
    echo "note: variable_ar_cnn is not built here; the sidecars are not tried"
else
    run_and_judge sidecars.rules "${bad[@]}"
fi

# damaged resume files: ignored with a message, the result as a clean run's
mapfile -t bad < <(python3 "$gen" safetensors st)
good=(feats/good_*.npy)
{
    printf 'rule clean\n    do   train model=svm epochs=4 seed=1\n    in   %s labels.csv\n    out  models/clean.safetensors\n\n' "${good[*]}"
    for f in "${bad[@]}"; do
        n=$(basename "$f" .safetensors)
        printf 'rule r_%s\n    do   train model=svm epochs=4 seed=1\n    in   %s labels.csv\n    out  models/r_%s.safetensors\n\n' \
            "$n" "${good[*]}" "$n"
        cp "st/$f" "models/r_$n.partial.safetensors"
    done
} >resume.rules
set +e
timeout -k 10 120 "$VLBUILD" -f resume.rules -j 2 -k 0 >resume.log 2>&1
rc=$?
set -e
cat resume.log >>"$root.log"
[ "$rc" = 0 ] || fail "resume.rules: exit status $rc"$'\n'"$(tail -n 30 resume.log)"
sanitizer_report resume.log && fail "resume.rules: sanitizer report"$'\n'"$(cat resume.log)"
for f in "${bad[@]}"; do
    n=$(basename "$f" .safetensors)
    grep -qF "models/r_$n.partial.safetensors" resume.log ||
        fail "no message about the damaged resume file models/r_$n.partial.safetensors"
    cmp -s models/clean.safetensors "models/r_$n.safetensors" ||
        fail "models/r_$n.safetensors differs from a clean run's"
    expect_no_file "models/r_$n.partial.safetensors"
done
echo "${#bad[@]} damaged resume files ignored"
finish
