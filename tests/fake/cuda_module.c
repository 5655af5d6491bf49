/* cuda_module.c - a stand-in for vlbuild-cuda.so, loaded through
 * VLBUILD_CUDA_MODULE by tests on machines without a GPU: it reports
 * VL_FAKE_CUDA_DEVICES usable devices (default 1; 0 gives a reason) and, as
 * the real module today, no operations table. */
#include <stdio.h>
#include <stdlib.h>

#include "gpu/cuda_module.h"

static int probe(char *why, size_t n)
{
    const char *env = getenv("VL_FAKE_CUDA_DEVICES");
    int count = env && *env ? atoi(env) : 1;
    if (count <= 0 && why && n) snprintf(why, n, "no usable cuda device: the fake module has none");
    return count > 0 ? count : 0;
}

__attribute__((visibility("default"))) const struct vl_cuda_module vl_cuda_module = {
    VL_CUDA_MODULE_ABI,
    "fake cuda module for tests",
    probe,
    NULL,
};
