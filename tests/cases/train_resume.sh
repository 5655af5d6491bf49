# train_resume: SIGKILL vlbuild in the middle of a training, build again:
# the training resumes from its last epoch's resume file and ends with the
# same checkpoint and metrics log, byte for byte, as a training that was
# never interrupted (docs/training.md, "Determinism and resume").
. "$(dirname "$0")/lib.sh"

write_rules() {
    mkdir -p "$1"
    {
        synth_rules 4 16x16 4 left:1 right:2
        folder_labels_rule left right
        cat <<'RULES'
rule clips
    each v in left right
    do     scale size=16x16 frames=4
    out    build/{v.dir}/{v.stem}.npy
rule model
    in     clips labels
    do     train model=vit_gru epochs=400 batch=4 val=0.25 seed=1
    out    models/m.safetensors models/m.jsonl
RULES
    } >"$1/vlbuild.rules"
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
