#!/usr/bin/env bash
# torch.sh - one epoch of vlbuild's naive_cnn and vit_gru against the same architectures in
# PyTorch on the CPU, single-threaded on both sides, repetitions interleaved.
#   bench/train/torch.sh [BUILD_DIR] [CLIPS] [REPS]
# CLIPS (default 504, the quickstart's count) random clips of the quickstart's shape
# [8, 32, 32, 3] uint8, 4 classes, batch 8, AdamW lr 0.003, val=0.2.  Each repetition runs,
# per model, vlbuild's train action (epochs=2) and then torch_epoch.py (2 epochs) in fresh
# processes; an epoch's time is vlbuild's "epoch E/2: ... (S s)" and torch_epoch.py's, both the
# training batches plus one validation pass.  Prints every measurement, then the medians of
# epoch 1 (cold: first allocations) and epoch 2 and their ratio vlbuild / PyTorch.
# Needs python3 with numpy and torch (pip install torch; the CPU build is enough).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
n=${2:-504} reps=${3:-5}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/torch_epoch.py" make "$work" "$n"
cd "$work"
cat >vlbuild.rules <<RULES
source clips  = clips/*.npy
source labels = labels.csv
rule naive_cnn
    do   train model=naive_cnn epochs=2 batch=8 lr=0.003 save=end
    in   clips labels
    out  naive_cnn.safetensors
rule vit_gru
    do   train model=vit_gru epochs=2 batch=8 lr=0.003 save=end
    in   clips labels
    out  vit_gru.safetensors
RULES
: >times.jsonl
for rep in $(seq "$reps"); do
    for model in naive_cnn vit_gru; do
        "$build/vlbuild" -q clean "$model" >/dev/null
        log=$("$build/vlbuild" --no-cache -j 1 -v "$model" 2>&1)
        split=$(printf '%s\n' "$log" | sed -n 's/.*train \([0-9]*\), validation \([0-9]*\).*/\1 \2/p' |
                head -1)
        printf '%s\n' "$log" | sed -n 's#.*epoch \([0-9]*\)/2: .*(\([0-9.]*\) s).*#\1 \2#p' |
            while read -r epoch secs; do
                printf '{"side": "vlbuild", "model": "%s", "epoch": %s, "seconds": %s}\n' \
                    "$model" "$epoch" "$secs"
            done >>times.jsonl
        # shellcheck disable=SC2086
        python3 "$here/torch_epoch.py" run "$work" "$model" $split 2 8 |
            sed 's/^{/{"side": "torch", /' >>times.jsonl
        tail -4 times.jsonl
    done
done
python3 - "$n" "$reps" "$split" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open("times.jsonl")]
print("clips %s (train/validation %s), batch 8, %s repetitions, medians:" % (
    sys.argv[1], sys.argv[3].replace(" ", "/"), sys.argv[2]))
for model in ("naive_cnn", "vit_gru"):
    for epoch in (1, 2):
        med = {side: statistics.median(r["seconds"] for r in rows if r["side"] == side
                                       and r["model"] == model and r["epoch"] == epoch)
               for side in ("vlbuild", "torch")}
        print("%-9s epoch %d: vlbuild %.3f s, PyTorch %.3f s, ratio vlbuild/PyTorch %.2f" % (
            model, epoch, med["vlbuild"], med["torch"], med["vlbuild"] / med["torch"]))
PY
