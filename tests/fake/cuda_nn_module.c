/* cuda_nn_module.c - a stand-in for vlbuild-cuda-nn.so, loaded through
 * VLBUILD_CUDA_NN_MODULE by tests on machines without a GPU: it reports
 * VL_FAKE_CUDA_NN_DEVICES usable devices (default 1; 0 gives a reason) and
 * is not experimental, so device=auto takes it (VL_FAKE_CUDA_NN_EXPERIMENTAL
 * marks it experimental, as the real module is until verified).  attach
 * puts the context on a copy of the CPU backend's table named
 * "fake-cuda-nn": training runs the device path of the trainer with the
 * CPU's arithmetic, its "device memory" the host's.
 *
 * It links nothing of the engine, and needs none of its symbols: the
 * engine's training code is in vlbuild-media.so, loaded RTLD_LOCAL, so the
 * module could not call vl_nn_backend_cpu by name.  The table it copies is
 * the one the context is on when attached: vl_nn_ctx_init's, the CPU's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_nn_module.h"
#include "nn/backend.h"
#include "util/error.h"

static int probe(char *why, size_t n)
{
    const char *env = getenv("VL_FAKE_CUDA_NN_DEVICES");
    int count = env && *env ? atoi(env) : 1;
    if (count <= 0 && why && n)
        snprintf(why, n, "no usable cuda device: the fake training module has none");
    return count > 0 ? count : 0;
}

/* the copy lives in backend_state, one per attached context (several jobs
 * train at once), freed by detach */
static int attach(struct vl_nn_ctx *ctx, int device, int precision, unsigned long long seed,
                  struct vl_error *err)
{
    const char *bad = NULL;
    if (device < 0) bad = "a negative device";
    else if (precision != VL_CUDA_NN_PRECISION_FP32 && precision != VL_CUDA_NN_PRECISION_BF16)
        bad = "an unknown precision";
    else if (!ctx->backend || strcmp(ctx->backend->name, "cpu"))
        bad = "a context that is not on the cpu backend";
    if (bad) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "the fake cuda training module cannot attach %s (device %d, precision %d)",
                     bad, device, precision);
        return -1;
    }
    struct vl_nn_backend *table = malloc(sizeof *table);
    if (!table) {
        if (err) snprintf(err->msg, sizeof err->msg, "fake cuda nn: out of host memory");
        return -1;
    }
    *table = *ctx->backend;
    table->name = "fake-cuda-nn";
    ctx->backend = table;
    ctx->backend_state = table;
    return 0;
}

static void detach(struct vl_nn_ctx *ctx)
{
    if (!ctx || !ctx->backend_state || ctx->backend != ctx->backend_state) return;
    free(ctx->backend_state);
    ctx->backend = NULL; /* as the real module: the caller puts ctx back on the CPU */
    ctx->backend_state = NULL;
}

__attribute__((visibility("default"))) struct vl_cuda_nn_module vl_cuda_nn_module = {
    VL_CUDA_NN_MODULE_ABI,
    "fake cuda training module for tests",
    probe,
    attach,
    detach,
    0, /* verified: device=auto takes it */
};

__attribute__((constructor)) static void choose_gate(void)
{
    if (getenv("VL_FAKE_CUDA_NN_EXPERIMENTAL")) vl_cuda_nn_module.experimental = 1;
}
