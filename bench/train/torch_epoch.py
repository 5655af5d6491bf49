#!/usr/bin/env python3
"""torch_epoch.py - vlbuild's naive_cnn and vit_gru rebuilt in PyTorch, timed per epoch.

    torch_epoch.py make DIR N            # N random clips [8,32,32,3] uint8 + labels.csv, 4 classes
    torch_epoch.py run DIR MODEL NTRAIN NVAL EPOCHS BATCH
        trains MODEL (naive_cnn | vit_gru) on DIR/clips/*.npy for EPOCHS epochs and prints one
        JSON line per epoch: {"model", "epoch", "seconds", "train_loss"}

The layer sizes are vlbuild's defaults (docs/training.md, src/train/cnn.c, src/train/vit.c); the
optimiser is AdamW (lr 0.003, betas 0.9/0.999, eps 1e-8, no weight decay) with a cosine schedule
stepped every batch, as vlbuild's trainer.  An epoch is what vlbuild's "epoch E/N ... (S s)" line
times: the training batches (the clips read from memory-mapped .npy and converted to float in
[0, 1], shuffled), then one pass over the validation clips.  One thread: the caller sets
OMP_NUM_THREADS=1 and this sets torch.set_num_threads(1).  Needs numpy and torch (CPU).
"""
import glob
import json
import math
import os
import sys
import time

import numpy as np

FRAMES, SIZE, CLASSES = 8, 32, ("down", "left", "right", "up")


def make(out, n):
    """Writes n random clips of the quickstart's shape and a labels CSV keyed by file stem."""
    rng = np.random.default_rng(1)
    os.makedirs(os.path.join(out, "clips"), exist_ok=True)
    with open(os.path.join(out, "labels.csv"), "w") as f:
        f.write("file,label\n")
        for i in range(n):
            name = "c%04d" % i
            clip = rng.integers(0, 256, (FRAMES, SIZE, SIZE, 3), dtype=np.uint8)
            np.save(os.path.join(out, "clips", name + ".npy"), clip)
            f.write("%s,%s\n" % (name, CLASSES[i % len(CLASSES)]))


def build(model, k, t, h, w):
    import torch
    from torch import nn

    class NaiveCNN(nn.Module):
        """Per frame: (conv3x3 + ReLU + max-pool 2) x 2 (8, 16 channels), global mean, head;
        the logits averaged over frames."""

        def __init__(self):
            super().__init__()
            self.block1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.block2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.head = nn.Linear(16, k)

        def forward(self, x):  # [N, T, 3, H, W]
            n = x.shape[0]
            y = self.block2(self.block1(x.flatten(0, 1))).mean((2, 3))
            return self.head(y).view(n, t, k).mean(1)

    class VitGRU(nn.Module):
        """Per frame: patch 8 -> 32 + class token + position embedding, one pre-norm encoder
        block (2 heads, MLP 64, GELU), layer norm, every token projected to 8; the frame's
        (1+P)*8 values into a GRU (hidden 32) over time; its last state into the head."""

        def __init__(self, e=32, patch=8, heads=2, token_dim=8):
            super().__init__()
            p = (h // patch) * (w // patch)
            self.proj = nn.Conv2d(3, e, patch, stride=patch)
            self.cls_token = nn.Parameter(torch.randn(1, 1, e) * 0.02)
            self.pos_embed = nn.Parameter(torch.randn(1, 1 + p, e) * 0.02)
            self.block = nn.TransformerEncoderLayer(e, heads, 2 * e, dropout=0.0,
                                                    activation="gelu", batch_first=True,
                                                    norm_first=True)
            self.norm = nn.LayerNorm(e)
            self.token_proj = nn.Linear(e, token_dim)
            self.gru = nn.GRU((1 + p) * token_dim, e, batch_first=True)
            self.head = nn.Linear(e, k)

        def forward(self, x):  # [N, T, 3, H, W]
            n = x.shape[0]
            z = self.proj(x.flatten(0, 1)).flatten(2).transpose(1, 2)  # [N*T, P, E]
            z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], 1) + self.pos_embed
            z = self.token_proj(self.norm(self.block(z)))  # [N*T, 1+P, d]
            _, hn = self.gru(z.reshape(n, t, -1))
            return self.head(hn[0])

    return {"naive_cnn": NaiveCNN, "vit_gru": VitGRU}[model]()


def run(root, model, n_train, n_val, epochs, batch):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(1)
    labels = {}
    with open(os.path.join(root, "labels.csv")) as f:
        next(f)
        for line in f:
            name, label = line.strip().split(",")
            labels[name] = label
    classes = sorted(set(labels.values()))
    files = sorted(glob.glob(os.path.join(root, "clips", "*.npy")))
    clips = [np.load(p, mmap_mode="r") for p in files]
    y_all = np.array([classes.index(labels[os.path.basename(p)[:-4]]) for p in files])
    order = np.random.default_rng(1).permutation(len(files))
    train, val = order[:n_train], order[n_train:n_train + n_val]
    t, h, w, _ = clips[0].shape
    net = build(model, len(classes), t, h, w)
    opt = torch.optim.AdamW(net.parameters(), lr=0.003, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    steps = epochs * math.ceil(len(train) / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    loss_fn = torch.nn.CrossEntropyLoss()

    def batch_of(idx):  # memory-mapped uint8 [T,H,W,3] -> float [N,T,3,H,W] in [0, 1]
        x = np.stack([clips[i] for i in idx]).astype(np.float32) / 255.0
        return torch.from_numpy(x).permute(0, 1, 4, 2, 3).contiguous(), \
            torch.from_numpy(y_all[idx])

    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        perm = np.random.default_rng(epoch).permutation(train)
        total = 0.0
        for b in range(0, len(perm), batch):
            x, y = batch_of(perm[b:b + batch])
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        net.eval()
        with torch.no_grad():
            for b in range(0, len(val), batch):
                x, y = batch_of(val[b:b + batch])
                loss_fn(net(x), y)
        seconds = time.perf_counter() - start
        print(json.dumps({"model": model, "epoch": epoch, "seconds": round(seconds, 4),
                          "train_loss": round(total / math.ceil(len(train) / batch), 4)}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:8]))
    else:
        sys.exit(__doc__)
