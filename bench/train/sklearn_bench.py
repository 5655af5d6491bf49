#!/usr/bin/env python3
"""Benchmark vlbuild's logreg and svm against scikit-learn on the same feature files.

make   DIR N D K SEED   writes DIR/train/*.npy + DIR/labels.csv (the training set that
                        vlbuild and scikit-learn both fit) and DIR/test/*.npy + DIR/test.csv
                        (held out from both), from sklearn's make_classification
score  DIR MODEL CKPT   fits scikit-learn's peer on DIR/train (timing fit() alone), scores
                        both it and the vlbuild checkpoint CKPT on DIR/test, prints one JSON line
"""
import csv, json, os, sys, time

import numpy as np


def load(dirname, labels_csv):
    xs, ys = [], []
    with open(labels_csv) as f:
        for row in csv.DictReader(f):
            stem = os.path.splitext(row["video"])[0]
            xs.append(np.load(os.path.join(dirname, stem + ".npy")))
            ys.append(row["label"])
    return np.stack(xs), np.array(ys)


def make(d, n, dim, k, seed):
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=n, n_features=dim, n_informative=dim // 2,
                               n_redundant=dim // 4, n_classes=k, n_clusters_per_class=2,
                               class_sep=1.5, flip_y=0.01, random_state=seed)
    x = (x * 3 + 5).astype(np.float32)  # not standardised: the scaler is part of the job
    n_test = n // 5
    for part, lo, hi, name in (("train", n_test, n, "labels.csv"), ("test", 0, n_test, "test.csv")):
        os.makedirs(os.path.join(d, part), exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write("video,label\n")
            for i in range(lo, hi):
                np.save(os.path.join(d, part, "v%05d.npy" % i), x[i])
                f.write("v%05d.mp4,c%d\n" % (i, y[i]))


def score(d, model, ckpt):
    from safetensors import safe_open
    from safetensors.numpy import load_file
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    xtr, ytr = load(os.path.join(d, "train"), os.path.join(d, "labels.csv"))
    xte, yte = load(os.path.join(d, "test"), os.path.join(d, "test.csv"))
    peer = LogisticRegression(C=1.0, max_iter=1000) if model == "logreg" else LinearSVC(C=1.0)
    pipe = make_pipeline(StandardScaler(), peer)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        pipe.fit(xtr, ytr)
        best = min(best, time.perf_counter() - t0)
    sk_acc = float((pipe.predict(xte) == yte).mean())

    t = load_file(ckpt)
    with safe_open(ckpt, framework="np") as f:
        meta = f.metadata()
    classes = np.array(json.loads(meta["classes"]))
    z = (xte - t["scaler.mean"]) / t["scaler.scale"]
    pred = classes[np.argmax(z @ t["linear.weight"].T + t["linear.bias"], axis=1)]
    vl_acc = float((pred == yte).mean())
    print(json.dumps({"model": model, "peer": type(peer).__name__, "train": len(ytr),
                      "test": len(yte), "dim": xtr.shape[1], "sklearn_fit_s": round(best, 4),
                      "sklearn_acc": round(sk_acc, 4), "vlbuild_acc": round(vl_acc, 4)}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], *(int(a) for a in sys.argv[3:7]))
    else:
        score(*sys.argv[2:5])
