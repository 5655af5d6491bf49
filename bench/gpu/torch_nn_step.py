"""PyTorch's training step of vlbuild's variable_ar_cnn and vit_gru, for scripts/gpu-check.sh.

The twins of test_cuda_nn_models --bench: the same two models at vlbuild's default sizes
(variable_ar_cnn's layers from src/train/cnn.c, here; vit_gru's twin is the one that
bench/train/torch_epoch.py builds from src/train/vit.c, imported), 4 classes, dropout 0, on CUDA
in fp32 with TF32 off (cuBLAS and cuDNN) and cuDNN's default algorithm choice
(torch.backends.cudnn.benchmark stays off: vlbuild's backend takes its plans from the libraries'
heuristics too).  One step is what vlbuild's trainer does per batch: zero_grad, forward,
cross-entropy, backward, AdamW (lr 0.003, betas 0.9/0.999, eps 1e-8, weight decay 0.01), then
torch.cuda.synchronize(); the median of 20 steps after 5 warm-ups, at the quickstart's shapes
(batch 8 of 8x32x32 clips) and at batch 256 of 16x112x112.  Every clip is its full frame size,
so variable_ar_cnn's content-area pooling is adaptive average pooling to 4x4.  Prints one table
row per model and shape in the format of test_cuda_nn_models --bench:

    | torch cuda step MODEL SHAPE fp32 | X ms |

Nothing is asserted.  Exits 77 (skipped) without torch, numpy (torch_epoch.py's) or a CUDA
device.

Usage: python3 bench/gpu/torch_nn_step.py
"""
import os
import statistics
import sys
import time

from torch_cuda import torch  # exits 77 without torch or CUDA; TF32 off
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

# vit_gru's twin is torch_epoch.py's (one definition of it)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
try:
    from torch_epoch import build  # noqa: E402
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

CLASSES, WARM, N = 4, 5, 20
SHAPES = (("batch8/8x32x32", 8, 8, 32), ("batch256/16x112x112", 256, 16, 112))


class VariableArCNN(nn.Module):
    """Per frame: (conv3x3 without bias + batch norm + ReLU + max-pool 2) x 2 (8, 16 channels);
    each frame's map pooled to a 4x4 grid; per cell, its 16 channels over the T frames through
    one shared conv1d (kernel 3, 16 channels) + ReLU and a mean over time; the 16 cells x 16
    channels into the head (src/train/cnn.c)."""

    def __init__(self, k, hidden=8, grid=4, temporal=16):
        super().__init__()

        def block(cin, cout):
            conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

        self.grid = grid
        self.block1 = block(3, hidden)
        self.block2 = block(hidden, 2 * hidden)
        self.temporal = nn.Conv1d(2 * hidden, temporal, 3, padding=1)
        self.head = nn.Linear(grid * grid * temporal, k)

    def forward(self, x):  # [N, T, 3, H, W]
        n, t = x.shape[:2]
        y = self.block2(self.block1(x.flatten(0, 1)))
        y = F.adaptive_avg_pool2d(y, self.grid)  # [N*T, C, 4, 4]
        c = y.shape[1]
        # [N, T, C, 16] with axes 1 and 3 exchanged: [N, 16, C, T], one sequence per cell
        y = y.reshape(n, t, c, self.grid * self.grid).permute(0, 3, 2, 1)
        y = y.reshape(n * self.grid * self.grid, c, t)
        y = F.relu(self.temporal(y)).mean(2)  # [N*16, 16]
        return self.head(y.reshape(n, -1))


def step_ms(model, n, t, size):
    """The median wall time in ms of one synced training step of model at n clips of t x size."""
    torch.manual_seed(1)
    net = (VariableArCNN(CLASSES) if model == "variable_ar_cnn"
           else build("vit_gru", CLASSES, t, size, size)).cuda().train()
    opt = torch.optim.AdamW(net.parameters(), lr=0.003, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(n, t, 3, size, size, device="cuda")
    y = torch.arange(n, device="cuda") % CLASSES
    times = []
    for i in range(WARM + N):
        torch.cuda.synchronize()
        start = time.perf_counter()
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
        torch.cuda.synchronize()
        if i >= WARM:
            times.append((time.perf_counter() - start) * 1e3)
    del net, opt, x
    torch.cuda.empty_cache()
    return statistics.median(times)


print(f"torch {torch.__version__} cuda {torch.version.cuda} cudnn "
      f"{torch.backends.cudnn.version()} on {torch.cuda.get_device_name(0)}")
for model in ("variable_ar_cnn", "vit_gru"):
    for name, n, t, size in SHAPES:
        ms = step_ms(model, n, t, size)
        print(f"| torch cuda step {model} {name} fp32 | {ms:.3f} ms |", flush=True)
