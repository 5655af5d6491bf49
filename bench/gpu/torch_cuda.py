"""torch_cuda.py - what the GPU benchmarks against PyTorch share: torch on CUDA, TF32 off.

    from torch_cuda import torch   # exits 77 (skip) without torch or a CUDA device

TF32 is turned off for cuBLAS and cuDNN, as vlbuild computes in fp32 without it.
"""
import sys

try:
    import torch
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

if not torch.cuda.is_available():
    print("SKIP: torch sees no CUDA device")
    sys.exit(77)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
