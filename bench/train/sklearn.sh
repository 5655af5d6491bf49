#!/usr/bin/env bash
# sklearn.sh - vlbuild's logreg and svm against scikit-learn on the same feature files.
#   bench/train/sklearn.sh [BUILD_DIR] [N] [D] [K]
#   TRAIN_ARGS="epochs=20 batch=64" sets the train action's schedule (default: none, the
#   action's own defaults, 10 epochs of batch 128 for these models).
# Needs python3 with numpy, scikit-learn and safetensors (pip install numpy scikit-learn
# safetensors).  Fit time is the `train` action's own "trained N epochs in S s" (the
# dataset is read before it) against the best of three sklearn fit() calls (scaler +
# model); accuracy is measured on a held-out test set that neither saw.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
n=${2:-5000} d=${3:-64} k=${4:-4}
args=${TRAIN_ARGS:-}
# one thread for both sides: vlbuild's core runs OpenBLAS single-threaded
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/sklearn_bench.py" make "$work" "$n" "$d" "$k" 0
cd "$work"
cat >vlbuild.rules <<RULES
source feat   = train/*.npy
source labels = labels.csv

rule logreg
    do   train model=logreg $args C=1 val=0 save=end
    in   feat labels
    out  logreg.safetensors logreg.jsonl

rule svm
    do   train model=svm $args C=1 val=0 save=end
    in   feat labels
    out  svm.safetensors svm.jsonl
RULES
for model in logreg svm; do
    fit=1e9
    for run in 1 2 3; do # the best of three, as for sklearn
        "$build/vlbuild" -q clean "$model" >/dev/null
        start=$(date +%s.%N)
        log=$("$build/vlbuild" --no-cache -j 1 -v "$model" 2>&1)
        end=$(date +%s.%N)
        f=$(printf '%s\n' "$log" | sed -n 's/.*trained [0-9]* epochs in \([0-9.]*\) s.*/\1/p')
        fit=$(python3 -c "print(min($fit, $f))")
    done
    result=$(python3 "$here/sklearn_bench.py" score "$work" "$model" "$model.safetensors")
    python3 - "$result" "$fit" "$start" "$end" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
fit, wall = float(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3])
print("%-6s vs %-18s train %d test %d dim %d | accuracy vlbuild %.4f sklearn %.4f (diff %+.2f pt) | "
      "fit vlbuild %.4f s sklearn %.4f s (ratio %.2f) | vlbuild action wall %.3f s"
      % (r["model"], r["peer"], r["train"], r["test"], r["dim"], r["vlbuild_acc"], r["sklearn_acc"],
         100 * (r["vlbuild_acc"] - r["sklearn_acc"]), fit, r["sklearn_fit_s"],
         fit / r["sklearn_fit_s"], wall))
PY
done
