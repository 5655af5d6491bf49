/* backend.h - the compute kernels of the neural-network core, behind one
 * dispatch table.
 *
 * Layers (layers.h) keep shapes, parameters and caches; every heavy kernel
 * they run goes through ctx->backend, an entry of struct vl_nn_backend on
 * raw float pointers, so a CUDA backend (cuBLAS for gemm, cuDNN for
 * convolution, pooling, normalisation and activations, its own kernels for
 * the GRU cell, masked softmax and optimiser steps) fills the same table and
 * parity tests run one body against both.  vl_nn_backend_cpu() returns the
 * CPU table: OpenBLAS sgemm and plain C loops, single-threaded and
 * accumulating in a fixed order, so the same inputs give the same bits.
 *
 * All arrays are row-major and contiguous unless a leading dimension says
 * otherwise.  Kernels that take gradient outputs named d<param> accumulate
 * (+=) into them; d<input> outputs are overwritten; a NULL d<input> is
 * skipped. */
#ifndef VL_NN_BACKEND_H
#define VL_NN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "nn/layers.h"
#include "nn/tensor.h"

/* The geometry of one 2-D convolution (conv1d is the case h = kh = 1). */
struct vl_nn_conv_geom {
    int n, c, h, w;     /* input */
    int k, kh, kw;      /* output channels, kernel */
    int sh, sw, ph, pw; /* stride, zero padding */
    int oh, ow;         /* output */
};

/* The geometry of one 2-D pooling. */
struct vl_nn_pool_geom {
    enum vl_nn_pool_kind kind;
    int n, c, h, w;
    int kernel, stride, padding; /* MAX, AVG */
    int oh, ow;
};

struct vl_nn_backend {
    const char *name; /* "cpu", "cuda" */

    /* c[m, n] = alpha * op(a) op(b) + beta * c; op transposes when trans_*;
     * lda, ldb, ldc are the row strides of a, b, c as stored. */
    void (*gemm)(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

    /* y = conv(x, w) + b (b may be NULL). */
    void (*conv2d_forward)(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g, const float *x,
                           const float *w, const float *b, float *y);
    /* dx = conv^T(dy, w); dw += dy * x; db += sum(dy) (db may be NULL). */
    void (*conv2d_backward)(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g, const float *x,
                            const float *w, const float *dy, float *dx, float *dw, float *db);

    /* Pooling; argmax receives, for MAX, the flat input index of each output. */
    void (*pool2d_forward)(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g, const float *x,
                           float *y, int *argmax);
    void (*pool2d_backward)(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g, const float *dy,
                            const int *argmax, float *dx);

    /* Batch norm over x [n, c, s] (s = spatial size).  training: normalise by
     * batch statistics, store them in mean/invstd, update the running ones;
     * else normalise by the running ones (mean/invstd receive them too). */
    void (*batchnorm_forward)(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                              const float *gamma, const float *beta, float *running_mean,
                              float *running_var, float momentum, float eps, int training, float *y,
                              float *mean, float *invstd);
    void (*batchnorm_backward)(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                               const float *gamma, const float *mean, const float *invstd,
                               int batch_stats, const float *dy, float *dx, float *dgamma,
                               float *dbeta);

    /* Layer norm of each of rows rows of dim values. */
    void (*layernorm_forward)(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                              const float *gamma, const float *beta, float eps, float *y,
                              float *mean, float *invstd);
    void (*layernorm_backward)(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                               const float *gamma, const float *mean, const float *invstd,
                               const float *dy, float *dx, float *dgamma, float *dbeta);

    /* Element-wise activation of n values and its backward (from x). */
    void (*activation_forward)(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                               const float *x, float *y);
    void (*activation_backward)(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                                const float *x, const float *dy, float *dx);

    /* Row softmax of rows x cols, in place; mask (cols bytes, shared by all
     * rows, or NULL): nonzero columns get probability 0; a row with every
     * column masked becomes all zeros. */
    void (*softmax_rows)(struct vl_nn_ctx *ctx, size_t rows, int cols, float *x,
                         const uint8_t *mask);
    /* dx = p * (dp - sum(dp * p)) per row; dx may alias dp. */
    void (*softmax_rows_backward)(struct vl_nn_ctx *ctx, size_t rows, int cols, const float *p,
                                  const float *dp, float *dx);

    /* One GRU step for n rows of hidden size hs: gi, gh [n, 3hs] rows with
     * strides ldi, ldh; h_prev, h [n, hs] with strides ldp, ldy; gates
     * [n, 3hs] (stride ldg) receives r, z, n. */
    void (*gru_cell_forward)(struct vl_nn_ctx *ctx, int n, int hs, const float *gi, int ldi,
                             const float *gh, int ldh, const float *h_prev, int ldp, float *gates,
                             int ldg, float *h, int ldy);
    /* Its backward from dh [n, hs]: dgi, dgh [n, 3hs] (pre-activation
     * gradients, overwritten); dh_prev [n, hs] = dh * z (overwritten; the
     * caller adds dgh W_hh). */
    void (*gru_cell_backward)(struct vl_nn_ctx *ctx, int n, int hs, const float *gh, int ldh,
                              const float *h_prev, int ldp, const float *gates, int ldg,
                              const float *dh, float *dgi, int lddi, float *dgh, int lddh,
                              float *dh_prev);
};

/* Returns the CPU backend (static storage). */
const struct vl_nn_backend *vl_nn_backend_cpu(void);

#endif
