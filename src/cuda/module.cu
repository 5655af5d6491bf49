/* module.cu - the CUDA module's entry: the vl_cuda_module it exports
 * (src/gpu/cuda_module.h).  Compiled by nvcc into vlbuild-cuda.so only. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "cuda/ops_cuda.h"
#include "cuda/device.h"

extern "C" {
#include "gpu/cuda_module.h"
extern const struct vl_ops vl_cuda_ops; /* ops_table.cu */
}

#define VL_STR2(x) #x
#define VL_STR(x) VL_STR2(x)

extern "C" __attribute__((visibility("default"))) const struct vl_cuda_module vl_cuda_module = {
    VL_CUDA_MODULE_ABI,
    "cuda runtime " VL_STR(CUDART_VERSION) " arch " VL_CUDA_ARCHS,
    vl_cuda_probe,
    &vl_cuda_ops,
    1, /* experimental: never run on a GPU yet (scripts/gpu-check.sh verifies it) */
    vl_cuda_frame_alloc,
    vl_cuda_frame_free,
};
