# train_resume: SIGKILL vlbuild in the middle of a training, build again:
# the training resumes from its last epoch's resume file and ends with the
# same checkpoint and metrics log, byte for byte, as a training that was
# never interrupted (docs/training.md, "Determinism and resume").
. "$(dirname "$0")/lib.sh"

write_rules() {
    mkdir -p "$1"
    cat >"$1/vlbuild.rules" <<'RULES'
rule left
    do     synth class=left size=16x16 frames=4 codec=mpeg4 seed=1
    copies 4
    out    data/left/{copy}.mp4
rule right
    do     synth class=right size=16x16 frames=4 codec=mpeg4 seed=2
    copies 4
    out    data/right/{copy}.mp4
rule labels
    in     left right
    run    { echo file,label; for f in $in; do echo "$f,$(basename "$(dirname "$f")")"; done; } > $out
    out    data/labels.csv
rule clips
    each v in left right
    do     scale size=16x16 frames=4
    out    build/{v.dir}/{v.stem}.npy
rule model
    in     clips labels
    do     train model=vit_gru epochs=400 batch=4 val=0.25 seed=1
    out    models/m.safetensors models/m.jsonl
RULES
}

write_rules ref
(cd ref && "$VLBUILD" -q --no-cache >/dev/null 2>&1) || fail "the uninterrupted build failed"

write_rules proj
cd proj
"$VLBUILD" --no-cache -j 2 >run.log 2>&1 &
pid=$!
# wait until an epoch's resume file exists, then kill vlbuild outright
for _ in $(seq 600); do
    [ -f models/m.partial.safetensors ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
[ -f models/m.partial.safetensors ] || fail "no resume file appeared before the build ended"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null || true
expect_no_file models/m.safetensors

vl --no-cache -j 2
expect_rc 0
expect_output "resuming from models/m.partial.safetensors after epoch"
expect_no_file models/m.partial.safetensors
cmp -s models/m.safetensors ../ref/models/m.safetensors ||
    fail "the resumed checkpoint differs from the uninterrupted one"
cmp -s models/m.jsonl ../ref/models/m.jsonl || fail "the resumed metrics log differs"
finish
