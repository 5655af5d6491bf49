/* nn_cuda.h - the CUDA backend of the neural-network core: its per-context
 * state and the pieces of struct vl_nn_backend each file fills.  Private to
 * the module vlbuild-cuda-nn.so (src/gpu/cuda_nn_module.h).
 *
 * One state belongs to one training job on one device (ctx->backend_state).
 * Every entry runs on `stream` (kernels and library calls alike) and only
 * enqueues; a host result (sum_squares' accumulator, the losses) is copied
 * back and waited for by the entry that returns it.  Entries return void, so
 * a failure (a library status, a launch error, an allocation) is recorded
 * once with vl_cuda_nn_fail: the first one wins and the backend's check
 * entry reports it; after a failure entries keep being called and do what
 * they can (results are then garbage, never a crash).
 *
 * Determinism: fixed plans, per-state workspaces, no float atomics,
 * reductions in a fixed order (a block per output, a fixed tree inside it),
 * dropout from the counter-based generator of nn/kern/dropout.h keyed by
 * a seed drawn per call from ctx->rng (which the trainer reseeds per
 * epoch, so a resumed run repeats an uninterrupted one).
 * TF32 is off: cuBLASLt computes in CUBLAS_COMPUTE_32F (no _FAST_TF32) and
 * cuDNN engines with the TENSOR_CORE or DOWN_CONVERT_INPUTS notes are
 * skipped in fp32. */
#ifndef VL_CUDA_NN_CUDA_H
#define VL_CUDA_NN_CUDA_H

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "nn/backend.h"
}

enum vl_cuda_nn_precision {
    VL_CUDA_NN_FP32, /* operands and accumulation in fp32, TF32 off */
    /* gemm and convolution cast their fp32 operands into bf16 copies at each
     * call (bf16.h) and accumulate in fp32 into fp32 results; masters, norms,
     * softmax, losses and the optimiser stay fp32, no loss scaling */
    VL_CUDA_NN_BF16,
};

struct vl_cuda_nn_gemm_cache; /* gemm.cu: cuBLASLt layouts and heuristics per shape */
struct vl_cuda_nn_conv_cache; /* conv.cu: cuDNN execution plans per geometry */
struct vl_cuda_nn_kernels;    /* kernels.cu: its scratch (reduction partials, host results) */

struct vl_cuda_nn_state {
    int device;                  /* the ordinal in vlbuild's visible set */
    enum vl_cuda_nn_precision precision;
    cudaStream_t stream;         /* every entry's work */
    cudaStream_t copy_stream;    /* staged uploads, overlapped with compute */
    cudaEvent_t released[2];     /* stage_release's, per slot (on stream) */
    cudaEvent_t copied[2];       /* a slot's last staged upload (on copy_stream) */
    int was_released[2], was_copied[2];

    cublasLtHandle_t lt;
    void *lt_workspace;          /* cuBLASLt's, fixed size, allocated at init */
    size_t lt_workspace_bytes;
    struct vl_cuda_nn_gemm_cache *gemms;

    cudnnHandle_t dnn;
    void *dnn_workspace;         /* cuDNN plans', grown to the largest a cached plan needs */
    size_t dnn_workspace_bytes;
    struct vl_cuda_nn_conv_cache *convs;

    struct vl_cuda_nn_kernels *kernels;


    /* the first failure since the last check */
    int failed, failed_oom;
    char why[512];
};

/* The state of ctx (ctx->backend_state). */
static inline struct vl_cuda_nn_state *vl_cuda_nn_state_of(struct vl_nn_ctx *ctx)
{
    return (struct vl_cuda_nn_state *)ctx->backend_state;
}

/* Records the first failure of st (later ones are dropped): "cuda nn:
 * <message>"; oom marks an allocation that did not fit. */
void vl_cuda_nn_fail(struct vl_cuda_nn_state *st, int oom, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records rc when it is an error ("WHAT: <runtime message>"), an
 * out-of-memory one as such; returns 0 on success, -1 on an error. */
int vl_cuda_nn_check_rt(struct vl_cuda_nn_state *st, cudaError_t rc, const char *what);
/* Device memory of bytes from the backend's allocator, NULL (recorded as an
 * out-of-memory failure naming what and the bytes asked and free) when it
 * does not fit. */
void *vl_cuda_nn_alloc(struct vl_cuda_nn_state *st, size_t bytes, const char *what);

/* -- the pieces (each file fills its entries of b and owns its part of the
 * state; init returns 0 or -1 with the failure recorded in st) -- */

/* gemm.cu: gemm, gemm_batched (cuBLASLt). */
void vl_cuda_nn_fill_gemm(struct vl_nn_backend *b);
int vl_cuda_nn_gemm_init(struct vl_cuda_nn_state *st);
void vl_cuda_nn_gemm_free(struct vl_cuda_nn_state *st);

/* conv.cu: conv2d_forward, conv2d_backward (cuDNN 9 graph API). */
void vl_cuda_nn_fill_conv(struct vl_nn_backend *b);
int vl_cuda_nn_conv_init(struct vl_cuda_nn_state *st);
void vl_cuda_nn_conv_free(struct vl_cuda_nn_state *st);

/* kernels.cu: every other computing entry (element-wise, reductions,
 * losses, optimiser steps, pooling, norms, activations, softmax, GRU cell,
 * dropout, the ViT layout entries). */
void vl_cuda_nn_fill_kernels(struct vl_nn_backend *b);
int vl_cuda_nn_kernels_init(struct vl_cuda_nn_state *st);
void vl_cuda_nn_kernels_free(struct vl_cuda_nn_state *st);

#endif
