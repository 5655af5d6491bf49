/* cpu.c - the CPU backend of the neural-network core: host memory, OpenBLAS
 * sgemm, the element-wise kernels (activations through nn/kern/act.h,
 * softmax, GRU cell, adds, copies, fills, axis swaps, bias sums, the ViT
 * group embedding), and
 * the table that gathers them with the kernels of conv.c, pool.c, norm.c,
 * attention.c, loss.c and optim.c.
 *
 * OpenBLAS runs on one thread: its multi-threaded sgemm splits work by the
 * thread count, which the machine decides, and the same seed must give the
 * same bits everywhere; vlbuild gets its parallelism from running jobs side
 * by side instead. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu.h"
#include "nn/kern/act.h"

static void cpu_gemm(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k,
                     float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                     float *c, int ldc)
{
    (void)ctx;
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] *= beta;
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void cpu_gemm_batched(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k,
                             float alpha, const float *a, int lda, size_t stride_a, const float *b,
                             int ldb, size_t stride_b, float beta, float *c, int ldc,
                             size_t stride_c, int batch)
{
    for (int i = 0; i < batch; i++)
        cpu_gemm(ctx, trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b,
                 ldb, beta, c + i * stride_c, ldc);
}

/* -- memory: the host's -- */

static void *cpu_alloc(struct vl_nn_ctx *ctx, size_t bytes)
{
    (void)ctx;
    return malloc(bytes ? bytes : 1);
}

static void cpu_free(struct vl_nn_ctx *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void cpu_transfer(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    if (bytes) memcpy(dst, src, bytes);
}

static void cpu_sync(struct vl_nn_ctx *ctx)
{
    (void)ctx;
}

static void cpu_stage_upload(struct vl_nn_ctx *ctx, int slot, void *dst, const void *src,
                             size_t bytes)
{
    (void)slot;
    cpu_transfer(ctx, dst, src, bytes);
}

/* the CPU's entries have finished when they return: nothing to order */
static void cpu_stage_mark(struct vl_nn_ctx *ctx, int slot)
{
    (void)ctx;
    (void)slot;
}

static void cpu_mem_info(struct vl_nn_ctx *ctx, size_t *free_bytes, size_t *total_bytes)
{
    (void)ctx;
    *free_bytes = 0;
    *total_bytes = 0;
}

static int cpu_check(struct vl_nn_ctx *ctx, struct vl_error *err, int *out_of_memory)
{
    (void)ctx;
    (void)err;
    if (out_of_memory) *out_of_memory = 0;
    return 0;
}

/* -- element-wise and reductions -- */

static void cpu_add(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *a, size_t lda,
                    const float *b, size_t ldb, float *y, size_t ldy)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            y[r * ldy + j] = a[r * lda + j] + b[r * ldb + j];
}

static void cpu_axpy(struct vl_nn_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

static void cpu_scale(struct vl_nn_ctx *ctx, size_t n, float alpha, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void cpu_copy(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                     float *y, size_t ldy)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++)
        memcpy(y + r * ldy, x + r * ldx, cols * sizeof *y);
}

static void cpu_fill(struct vl_nn_ctx *ctx, size_t n, float v, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

static void cpu_swap_axes(struct vl_nn_ctx *ctx, size_t outer, size_t na, size_t mid, size_t nb,
                          size_t inner, const float *src, float *dst)
{
    (void)ctx;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < na; i++)
            for (size_t m = 0; m < mid; m++)
                for (size_t j = 0; j < nb; j++) {
                    const float *s = src + ((((o * na + i) * mid + m) * nb + j) * inner);
                    float *d = dst + ((((o * nb + j) * mid + m) * na + i) * inner);
                    memcpy(d, s, inner * sizeof *s);
                }
}

static void cpu_mul(struct vl_nn_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

static void cpu_standardize(struct vl_nn_ctx *ctx, size_t rows, int d, const float *x,
                            const float *mean, const float *scale, float *y)
{
    (void)ctx;
    /* four lanes at a time (a scalar division per element was 15% of a
     * logreg's training); IEEE division either way, so the same bits */
    typedef float f4 __attribute__((vector_size(16)));
    for (size_t i = 0; i < rows; i++) {
        const float *restrict xi = x + i * (size_t)d;
        float *restrict out = y + i * (size_t)d;
        size_t k = 0;
        for (; k + 4 <= (size_t)d; k += 4) {
            f4 xv, mv, sv;
            memcpy(&xv, xi + k, sizeof xv), memcpy(&mv, mean + k, sizeof mv);
            memcpy(&sv, scale + k, sizeof sv);
            f4 r = (xv - mv) / sv;
            memcpy(out + k, &r, sizeof r);
        }
        for (; k < (size_t)d; k++)
            out[k] = (xi[k] - mean[k]) / scale[k];
    }
}

static void cpu_sum_squares(struct vl_nn_ctx *ctx, size_t n, const float *x, double *acc)
{
    (void)ctx;
    double sq = *acc;
    for (size_t i = 0; i < n; i++)
        sq += (double)x[i] * x[i];
    *acc = sq;
}

static void cpu_bias_grad(struct vl_nn_ctx *ctx, size_t rows, int cols, size_t ld, const float *dy,
                          float *db)
{
    (void)ctx;
    for (int j = 0; j < cols; j++) {
        double s = 0.0;
        for (size_t r = 0; r < rows; r++)
            s += dy[r * ld + j];
        db[j] += (float)s;
    }
}

static void cpu_group_embed_forward(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                    const float *x, const float *emb, float *y)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int g = 0; g < groups; g++)
            for (int p = 0; p < len; p++) {
                size_t o = (((size_t)i * groups + g) * len + p) * e;
                for (int c = 0; c < e; c++)
                    y[o + c] = x[o + c] + emb[(size_t)g * e + c];
            }
}

static void cpu_group_embed_backward(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                     const float *dy, float *demb)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int g = 0; g < groups; g++)
            for (int p = 0; p < len; p++) {
                const float *row = dy + (((size_t)i * groups + g) * len + p) * e;
                for (int c = 0; c < e; c++)
                    demb[(size_t)g * e + c] += row[c];
            }
}

static void cpu_activation_forward(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                                   const float *x, float *y)
{
    (void)ctx;
    switch (kind) {
    case VL_NN_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = vl_nn_kern_relu(x[i]);
        break;
    case VL_NN_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = vl_nn_kern_gelu(x[i]);
        break;
    case VL_NN_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    }
}

static void cpu_activation_backward(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                                    const float *x, const float *dy, float *dx)
{
    (void)ctx;
    switch (kind) {
    case VL_NN_RELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case VL_NN_GELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * vl_nn_kern_gelu_grad(x[i]);
        break;
    case VL_NN_TANH:
        for (size_t i = 0; i < n; i++)
            dx[i] = vl_nn_kern_tanh_backward(x[i], dy[i]);
        break;
    }
}

static void cpu_softmax_rows(struct vl_nn_ctx *ctx, size_t rows, int cols, float *x,
                             const uint8_t *mask)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * (size_t)cols;
        float mx = -INFINITY;
        for (int j = 0; j < cols; j++)
            if (!(mask && mask[j]) && row[j] > mx) mx = row[j];
        if (mx == -INFINITY) {
            for (int j = 0; j < cols; j++)
                row[j] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int j = 0; j < cols; j++) {
            row[j] = (mask && mask[j]) ? 0.0f : expf(row[j] - mx);
            sum += row[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < cols; j++)
            row[j] *= inv;
    }
}

static void cpu_softmax_rows_backward(struct vl_nn_ctx *ctx, size_t rows, int cols, const float *p,
                                      const float *dp, float *dx)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * (size_t)cols, *dr = dp + r * (size_t)cols;
        float *xr = dx + r * (size_t)cols;
        double dot = 0.0;
        for (int j = 0; j < cols; j++)
            dot += (double)pr[j] * dr[j];
        for (int j = 0; j < cols; j++)
            xr[j] = pr[j] * (dr[j] - (float)dot);
    }
}

static void cpu_gru_cell_forward(struct vl_nn_ctx *ctx, int n, int hs, const float *gi, int ldi,
                                 const float *gh, int ldh, const float *h_prev, int ldp,
                                 float *gates, int ldg, float *h, int ldy)
{
    (void)ctx;
    for (int b = 0; b < n; b++) {
        const float *i_ = gi + (size_t)b * ldi, *h_ = gh + (size_t)b * ldh;
        const float *hp = h_prev ? h_prev + (size_t)b * ldp : NULL;
        float *g = gates + (size_t)b * ldg, *ho = h + (size_t)b * ldy;
        for (int j = 0; j < hs; j++)
            ho[j] = vl_nn_kern_gru_cell(i_[j], i_[hs + j], i_[2 * hs + j], h_[j], h_[hs + j],
                                        h_[2 * hs + j], hp ? hp[j] : 0.0f, &g[j], &g[hs + j],
                                        &g[2 * hs + j]);
    }
}

static void cpu_gru_cell_backward(struct vl_nn_ctx *ctx, int n, int hs, const float *gh, int ldh,
                                  const float *h_prev, int ldp, const float *gates, int ldg,
                                  const float *dh, float *dgi, int lddi, float *dgh, int lddh,
                                  float *dh_prev)
{
    (void)ctx;
    for (int b = 0; b < n; b++) {
        const float *h_ = gh + (size_t)b * ldh, *g = gates + (size_t)b * ldg;
        const float *hp = h_prev ? h_prev + (size_t)b * ldp : NULL;
        const float *d = dh + (size_t)b * hs;
        float *di = dgi + (size_t)b * lddi, *dg = dgh + (size_t)b * lddh;
        float *dp = dh_prev + (size_t)b * hs;
        for (int j = 0; j < hs; j++) {
            float r = g[j], dr, dz, dn;
            vl_nn_kern_gru_cell_backward(r, g[hs + j], g[2 * hs + j], h_[2 * hs + j],
                                         hp ? hp[j] : 0.0f, d[j], &dr, &dz, &dn, &dp[j]);
            vl_nn_kern_gru_store_grads(hs, j, r, dr, dz, dn, di, dg);
        }
    }
}

static const struct vl_nn_backend cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_transfer,
    .download = cpu_transfer,
    .sync = cpu_sync,
    .host_alloc = cpu_alloc, /* the host's memory is all the CPU has */
    .host_free = cpu_free,
    .stage_upload = cpu_stage_upload,
    .stage_release = cpu_stage_mark,
    .stage_wait = cpu_stage_mark,
    .mem_info = cpu_mem_info,
    .check = cpu_check,
    .add = cpu_add,
    .axpy = cpu_axpy,
    .scale = cpu_scale,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .swap_axes = cpu_swap_axes,
    .mul = cpu_mul,
    .standardize = cpu_standardize,
    .sum_squares = cpu_sum_squares,
    .bias_grad = cpu_bias_grad,
    .dropout_forward = vl_nn_cpu_dropout_forward,
    .mean_forward = vl_nn_cpu_mean_forward,
    .mean_backward = vl_nn_cpu_mean_backward,
    .area_pool_forward = vl_nn_cpu_area_pool_forward,
    .area_pool_backward = vl_nn_cpu_area_pool_backward,
    .patch_tokens_forward = vl_nn_cpu_patch_tokens_forward,
    .patch_tokens_backward = vl_nn_cpu_patch_tokens_backward,
    .group_embed_forward = cpu_group_embed_forward,
    .group_embed_backward = cpu_group_embed_backward,
    .cross_entropy = vl_nn_cpu_cross_entropy,
    .hinge_loss = vl_nn_cpu_hinge_loss,
    .squared_hinge_ovr = vl_nn_cpu_squared_hinge_ovr,
    .sgd_step = vl_nn_cpu_sgd_step,
    .adamw_step = vl_nn_cpu_adamw_step,
    .gemm = cpu_gemm,
    .gemm_batched = cpu_gemm_batched,
    .conv2d_forward = vl_nn_cpu_conv2d_forward,
    .conv2d_backward = vl_nn_cpu_conv2d_backward,
    .pool2d_forward = vl_nn_cpu_pool2d_forward,
    .pool2d_backward = vl_nn_cpu_pool2d_backward,
    .batchnorm_forward = vl_nn_cpu_batchnorm_forward,
    .batchnorm_backward = vl_nn_cpu_batchnorm_backward,
    .layernorm_forward = vl_nn_cpu_layernorm_forward,
    .layernorm_backward = vl_nn_cpu_layernorm_backward,
    .activation_forward = cpu_activation_forward,
    .activation_backward = cpu_activation_backward,
    .softmax_rows = cpu_softmax_rows,
    .softmax_rows_backward = cpu_softmax_rows_backward,
    .gru_cell_forward = cpu_gru_cell_forward,
    .gru_cell_backward = cpu_gru_cell_backward,
};

const struct vl_nn_backend *vl_nn_backend_cpu(void)
{
    /* Idempotent and cheap; see the top of the file for why one thread. */
    openblas_set_num_threads(1);
    return &cpu_backend;
}
