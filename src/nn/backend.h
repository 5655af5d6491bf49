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
#include "util/error.h"

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

/* The geometry of pooling over the content area of each frame: x
 * [m, c, h, w] (m = samples * frames) to [m, c, grid, grid], each cell the
 * mean of its share of the valid extent vh[s] x vw[s] of frame m's sample
 * s = m / frames (cell i covers floor(i v / grid) .. ceil((i + 1) v / grid)).
 * vh and vw are host arrays of one int per sample. */
struct vl_nn_area_geom {
    int m, c, h, w, grid, frames;
    const int *vh, *vw;
};

struct vl_nn_backend {
    const char *name; /* "cpu", "cuda" */

    /* -- memory: where the float arrays of every entry below live (a
     * tensor's mem says which space holds its data) -- */

    /* Returns bytes of the backend's memory, or NULL when out of memory. */
    void *(*alloc)(struct vl_nn_ctx *ctx, size_t bytes);
    /* Frees what alloc returned (NULL is ignored). */
    void (*free)(struct vl_nn_ctx *ctx, void *p);
    /* Copies bytes from host memory src into the backend's dst. */
    void (*upload)(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes);
    /* Copies bytes from the backend's src into host memory dst. */
    void (*download)(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes);
    /* Returns when every entry called so far has finished. */
    void (*sync)(struct vl_nn_ctx *ctx);
    /* Host memory of bytes for stage_upload to copy from (pinned on a
     * device; plain malloc on the CPU); NULL when out of memory. */
    void *(*host_alloc)(struct vl_nn_ctx *ctx, size_t bytes);
    void (*host_free)(struct vl_nn_ctx *ctx, void *p);
    /* Staged uploads through two slots (0, 1), each a host_alloc buffer and
     * a device buffer used in turn, so that the next batch's copy overlaps
     * this one's compute.  stage_release(slot) marks the entries called so
     * far as the last users of slot's device buffer; stage_upload copies
     * bytes from src (host_alloc memory) into dst on a stream of its own,
     * after the work before the slot's last release (none: at once), and
     * every entry called after it waits for the copy; stage_wait(slot)
     * returns once the slot's last copy has run, after which src may be
     * refilled.  The CPU copies at once; its release and wait do nothing. */
    void (*stage_upload)(struct vl_nn_ctx *ctx, int slot, void *dst, const void *src,
                         size_t bytes);
    void (*stage_release)(struct vl_nn_ctx *ctx, int slot);
    void (*stage_wait)(struct vl_nn_ctx *ctx, int slot);
    /* Bytes of the backend's memory free now and in all (the CPU reports 0
     * and 0: no limit it knows of); what decides whether a dataset is
     * uploaded whole. */
    void (*mem_info)(struct vl_nn_ctx *ctx, size_t *free_bytes, size_t *total_bytes);
    /* Entries cannot fail one by one (a device runs them later): the first
     * failure since the last check is kept, and check returns it: 0, or -1
     * with the message (what failed, and for memory the bytes asked and
     * free) in err, and the state cleared.  out_of_memory (may be NULL)
     * is set to 1 when that failure was an allocation.  The CPU never fails. */
    int (*check)(struct vl_nn_ctx *ctx, struct vl_error *err, int *out_of_memory);

    /* -- element-wise and reductions -- */

    /* y = a + b over rows x cols with row strides lda, ldb, ldy (y may alias
     * a or b). */
    void (*add)(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *a, size_t lda,
                const float *b, size_t ldb, float *y, size_t ldy);
    /* y += alpha x over n values. */
    void (*axpy)(struct vl_nn_ctx *ctx, size_t n, float alpha, const float *x, float *y);
    /* x *= alpha over n values. */
    void (*scale)(struct vl_nn_ctx *ctx, size_t n, float alpha, float *x);
    /* rows x cols of y (row stride ldy) = those of x (row stride ldx; 0
     * repeats one row, a bias broadcast); no overlap. */
    void (*copy)(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                 float *y, size_t ldy);
    /* x = v over n values. */
    void (*fill)(struct vl_nn_ctx *ctx, size_t n, float v, float *x);
    /* src viewed as [outer, na, mid, nb, inner] -> dst [outer, nb, mid, na,
     * inner] (two axes exchanged); no overlap. */
    void (*swap_axes)(struct vl_nn_ctx *ctx, size_t outer, size_t na, size_t mid, size_t nb,
                      size_t inner, const float *src, float *dst);
    /* y = a * b over n values. */
    void (*mul)(struct vl_nn_ctx *ctx, size_t n, const float *a, const float *b, float *y);
    /* y [rows, d] = (x - mean) / scale, mean and scale [d] per column (the
     * linear models' standardisation). */
    void (*standardize)(struct vl_nn_ctx *ctx, size_t rows, int d, const float *x,
                        const float *mean, const float *scale, float *y);
    /* *acc += sum of x^2 over n values, added in order in double. */
    void (*sum_squares)(struct vl_nn_ctx *ctx, size_t n, const float *x, double *acc);
    /* db[j] += sum over rows of dy[r, j] (row stride ld), each column summed
     * in row order in double. */
    void (*bias_grad)(struct vl_nn_ctx *ctx, size_t rows, int cols, size_t ld, const float *dy,
                      float *db);
    /* Dropout of n values with drop probability p: mask = 0 or 1/(1-p),
     * y = x * mask.  The CPU draws from ctx->rng, one deviate per value in
     * order; a device from a counter-based generator (nn/kern/dropout.h). */
    void (*dropout_forward)(struct vl_nn_ctx *ctx, size_t n, float p, const float *x, float *mask,
                            float *y);
    /* x viewed as [outer, len, inner]: y [outer, inner] = the mean over len
     * (summed in order in double). */
    void (*mean_forward)(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                         const float *x, float *y);
    /* dx [outer, len, inner] = dy [outer, inner] / len. */
    void (*mean_backward)(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                          const float *dy, float *dx);
    /* Pooling over the content area (struct vl_nn_area_geom); backward
     * overwrites dx [m, c, h, w] (zero outside the content area). */
    void (*area_pool_forward)(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                              const float *x, float *y);
    void (*area_pool_backward)(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                               const float *dy, float *dx);
    /* The ViT token layout: conv [n, e, np] (the patch convolution's output)
     * to y [n, np + cls, e], token 0 being cls_token when cls, plus pos
     * [np + cls, e]. */
    void (*patch_tokens_forward)(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                 const float *conv, const float *cls_token, const float *pos,
                                 float *y);
    /* Its backward: dconv [n, e, np] overwritten; dpos and dcls (when cls)
     * accumulate. */
    void (*patch_tokens_backward)(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                  const float *dy, float *dconv, float *dpos, float *dcls);
    /* y [n, groups, len, e] = x + emb[group] (one embedding row per group). */
    void (*group_embed_forward)(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                const float *x, const float *emb, float *y);
    /* demb [groups, e] += the sum of dy over n and len, in that order. */
    void (*group_embed_backward)(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                 const float *dy, float *demb);

    /* -- losses over logits [n, c]; labels (and class_weight [c], NULL for
     * none) are host arrays; *loss is written where the logits live; a NULL
     * dlogits [n, c] is skipped, else it is overwritten -- */

    /* Softmax cross-entropy, the weighted mean sum(w[y] l) / sum(w[y]). */
    void (*cross_entropy)(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                          const int *labels, const float *class_weight, float *loss,
                          float *dlogits);
    /* Multiclass hinge (nn.MultiMarginLoss, p = 1), averaged over n and c. */
    void (*hinge_loss)(struct vl_nn_ctx *ctx, int n, int c, const float *logits, const int *labels,
                       const float *class_weight, float margin, float *loss, float *dlogits);
    /* One-vs-rest squared hinge, LinearSVC's: the batch mean of
     * sum_j max(0, 1 - y_j x_j)^2. */
    void (*squared_hinge_ovr)(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                              const int *labels, float *loss, float *dlogits);

    /* -- optimiser steps over one parameter of n values (nn/kern/optim.h) -- */

    /* SGD; buf (the momentum buffer) is NULL when mu == 0. */
    void (*sgd_step)(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *buf,
                     float lr, float wd, float mu, int nesterov, int first);
    /* AdamW with the step's step_size = lr / (1 - b1^t) and
     * bc2_sqrt = sqrt(1 - b2^t). */
    void (*adamw_step)(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *m,
                       float *v, float lr, float wd, float b1, float b2, float eps, float step_size,
                       float bc2_sqrt);

    /* -- matrix products -- */

    /* c[m, n] = alpha * op(a) op(b) + beta * c; op transposes when trans_*;
     * lda, ldb, ldc are the row strides of a, b, c as stored. */
    void (*gemm)(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
    /* batch products c_i = alpha op(a_i) op(b_i) + beta c_i with a_i = a +
     * i * stride_a (and so on): attention's heads, one call per sample. */
    void (*gemm_batched)(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k,
                         float alpha, const float *a, int lda, size_t stride_a, const float *b,
                         int ldb, size_t stride_b, float beta, float *c, int ldc, size_t stride_c,
                         int batch);

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

    /* Row softmax of rows x cols, in place; mask (cols bytes in the
     * backend's memory, shared by all rows, or NULL): nonzero columns get
     * probability 0; a row with every column masked becomes all zeros. */
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
