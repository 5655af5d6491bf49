"""PyTorch's equivalent of vlbuild's GPU converter, for scripts/gpu-check.sh.

A device-resident 1080p NV12 picture (as NVDEC leaves it) to 224x224 RGB24:
float YUV to RGB (BT.709, limited range, chroma upsampled by repetition),
then interpolate(antialias=True), rounded back to uint8, the way a PyTorch
pipeline without a fused kernel does it.  TF32 is off.  Prints one table row
in the format of test_cuda_ops --bench; nothing is asserted.

Usage: python3 bench/gpu/torch_convert.py   (needs torch with CUDA)
"""
from torch_cuda import torch  # exits 77 without torch or CUDA; TF32 off
import torch.nn.functional as F  # noqa: E402
W, H, DW, DH, WARM, N = 1920, 1080, 224, 224, 10, 200
g = torch.Generator(device="cuda").manual_seed(1)
y = torch.randint(16, 236, (H, W), dtype=torch.uint8, device="cuda", generator=g)
uv = torch.randint(16, 241, (H // 2, W // 2, 2), dtype=torch.uint8, device="cuda", generator=g)


def convert():
    yf = (y.float() - 16.0) * (255.0 / 219.0)
    u = uv[..., 0].float().repeat_interleave(2, 0).repeat_interleave(2, 1) - 128.0
    v = uv[..., 1].float().repeat_interleave(2, 0).repeat_interleave(2, 1) - 128.0
    r = yf + 1.7927 * v
    gr = yf - 0.2132 * u - 0.5329 * v
    b = yf + 2.1124 * u
    rgb = torch.stack((r, gr, b)).clamp_(0, 255).unsqueeze(0)
    out = F.interpolate(rgb, size=(DH, DW), mode="bilinear", antialias=True, align_corners=False)
    return out.round_().to(torch.uint8).squeeze(0).permute(1, 2, 0).contiguous()


for _ in range(WARM):
    convert()
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize()
start.record()
for _ in range(N):
    convert()
end.record()
torch.cuda.synchronize()
us = start.elapsed_time(end) * 1000.0 / N
print(f"| torch: float yuv->rgb + interpolate(antialias) 1920x1080 -> 224x224 | {us:.1f} us/frame | "
      f"{1e6 / us:.0f} frames/s |")
