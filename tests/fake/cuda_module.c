/* cuda_module.c - a stand-in for vlbuild-cuda.so, loaded through
 * VLBUILD_CUDA_MODULE by tests on machines without a GPU: it reports
 * VL_FAKE_CUDA_DEVICES usable devices (default 1; 0 gives a reason) and,
 * as the real module today, no operations table; with VL_FAKE_CUDA_OPS set
 * it has one whose contexts cannot be made (a job on it fails, naming the
 * fake), so that device=auto resolves to the GPU; VL_FAKE_CUDA_EXPERIMENTAL
 * marks that table experimental, as the real module's is until verified. */
#include <stdio.h>
#include <stdlib.h>

#include "gpu/cuda_module.h"
#include "ops/ops.h"

static int probe(char *why, size_t n)
{
    const char *env = getenv("VL_FAKE_CUDA_DEVICES");
    int count = env && *env ? atoi(env) : 1;
    if (count <= 0 && why && n) snprintf(why, n, "no usable cuda device: the fake module has none");
    return count > 0 ? count : 0;
}

static int ctx_new(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                   struct vl_error *err)
{
    *out = NULL;
    snprintf(err->msg, sizeof err->msg, "the fake cuda module computes nothing (device %d)",
             opts->device);
    return -1;
}

static const struct vl_ops fake_ops = {.name = "fake-cuda", .ctx_new = ctx_new};

__attribute__((visibility("default"))) struct vl_cuda_module vl_cuda_module = {
    VL_CUDA_MODULE_ABI,
    "fake cuda module for tests",
    probe,
    NULL,
    0, /* a table it is given counts as verified: device=auto takes it */
    NULL,
    NULL,
};

__attribute__((constructor)) static void choose_ops(void)
{
    if (getenv("VL_FAKE_CUDA_OPS")) vl_cuda_module.ops = &fake_ops;
    if (getenv("VL_FAKE_CUDA_EXPERIMENTAL")) vl_cuda_module.ops_experimental = 1;
}
