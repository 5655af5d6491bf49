/* kernels.cu - the CUDA backend's own kernels, element-wise part: the
 * scratch of struct vl_cuda_nn_kernels (kernels.h), the entry filler, and
 * the entries that are one thread per output value with no reduction: add,
 * axpy, scale, copy, fill, swap_axes, mul, standardize, activations,
 * dropout, the SGD and AdamW steps, the GRU cell, mean_backward and the ViT
 * layout's forward entries.  The reductions are in kernels_reduce.cu, the
 * losses in kernels_loss.cu, pooling in kernels_pool.cu.
 *
 * Every element-wise kernel here has the same shape: a grid of
 * vl_cuda_nn_kern_grid(n) blocks of VL_KERN_THREADS threads, each thread
 * striding over i = first, first + gridDim.x * blockDim.x, ... < n and
 * computing output i alone from the body the CPU runs (src/nn/kern/) or
 * the CPU's one-line expression.  Compiled by nvcc only; never run on a
 * GPU yet. */
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/nn/kernels.h"

extern "C" {
#include "nn/kern/act.h"
#include "nn/kern/dropout.h"
#include "nn/kern/optim.h"
#include "util/rng.h"
}

/* -- scratch -- */

static const size_t DEV_SCRATCH_START = 64 << 10, HOST_SCRATCH_START = 4 << 10;

/* Buffer *buf of *cap bytes grown to hold bytes: start bytes at first,
 * then doubled; pinned host memory or device memory.  A device buffer's old
 * memory is freed in stream order, after the kernels that read it; a pinned
 * one's readers all synchronised before their call returned. */
static void *grow(struct vl_cuda_nn_state *st, void **buf, size_t *cap, size_t start, size_t bytes,
                  int pinned)
{
    if (bytes <= *cap) return *buf;
    size_t want = *cap ? *cap : start;
    while (want < bytes)
        want *= 2;
    void *p = NULL;
    if (pinned) {
        if (vl_cuda_nn_check_rt(st, cudaMallocHost(&p, want), "pinned kernel scratch") < 0)
            return NULL;
    } else if (!(p = vl_cuda_nn_alloc(st, want, "kernel scratch"))) {
        return NULL;
    }
    if (*buf && pinned) (void)cudaFreeHost(*buf);
    if (*buf && !pinned) (void)cudaFreeAsync(*buf, st->stream);
    *buf = p;
    *cap = want;
    return p;
}

void *vl_cuda_nn_kern_scratch(struct vl_cuda_nn_state *st, size_t bytes)
{
    struct vl_cuda_nn_kernels *k = st->kernels;
    return k ? grow(st, &k->dev, &k->dev_bytes, DEV_SCRATCH_START, bytes, 0) : NULL;
}

void *vl_cuda_nn_kern_scratch_host(struct vl_cuda_nn_state *st, size_t bytes)
{
    struct vl_cuda_nn_kernels *k = st->kernels;
    return k ? grow(st, &k->host, &k->host_bytes, HOST_SCRATCH_START, bytes, 1) : NULL;
}

int vl_cuda_nn_kern_upload(struct vl_cuda_nn_state *st, void *dst, const void *src, size_t bytes)
{
    if (!bytes) return 0;
    return vl_cuda_nn_check_rt(
        st, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream), "upload");
}

int vl_cuda_nn_kern_launched(struct vl_cuda_nn_state *st, const char *what)
{
    return vl_cuda_nn_check_rt(st, cudaGetLastError(), what);
}

int vl_cuda_nn_kernels_init(struct vl_cuda_nn_state *st)
{
    st->kernels = (struct vl_cuda_nn_kernels *)calloc(1, sizeof *st->kernels);
    if (!st->kernels) {
        vl_cuda_nn_fail(st, 1, "kernel scratch: out of host memory");
        return -1;
    }
    if (!vl_cuda_nn_kern_scratch(st, DEV_SCRATCH_START) ||
        !vl_cuda_nn_kern_scratch_host(st, HOST_SCRATCH_START))
        return -1;
    return 0;
}

void vl_cuda_nn_kernels_free(struct vl_cuda_nn_state *st)
{
    struct vl_cuda_nn_kernels *k = st->kernels;
    if (!k) return;
    if (k->dev) (void)cudaFreeAsync(k->dev, st->stream);
    if (k->host) {
        if (st->stream) (void)cudaStreamSynchronize(st->stream);
        (void)cudaFreeHost(k->host);
    }
    free(k);
    st->kernels = NULL;
}

/* -- element-wise kernels (shape: see the top of the file) -- */

/* y[r, j] = a[r, j] + b[r, j], i = r cols + j */
__global__ static void k_add(size_t rows, size_t cols, const float *a, size_t lda, const float *b,
                             size_t ldb, float *y, size_t ldy)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < rows * cols; i += VL_KERN_STRIDE) {
        size_t r = i / cols, j = i % cols;
        y[r * ldy + j] = a[r * lda + j] + b[r * ldb + j];
    }
}

/* y[i] += alpha x[i] */
__global__ static void k_axpy(size_t n, float alpha, const float *x, float *y)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        y[i] = __fadd_rn(y[i], __fmul_rn(alpha, x[i])); /* the CPU's two roundings */
}

/* x[i] *= alpha */
__global__ static void k_scale(size_t n, float alpha, float *x)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        x[i] *= alpha;
}

/* y[r, j] = x[r, j] (ldx 0: x's one row), i = r cols + j */
__global__ static void k_copy(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                              size_t ldy)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < rows * cols; i += VL_KERN_STRIDE) {
        size_t r = i / cols, j = i % cols;
        y[r * ldy + j] = x[r * ldx + j];
    }
}

/* x[i] = v */
__global__ static void k_fill(size_t n, float v, float *x)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        x[i] = v;
}

/* dst element i, read as [outer, nb, mid, na, inner], from src
 * [outer, na, mid, nb, inner] */
__global__ static void k_swap_axes(size_t outer, size_t na, size_t mid, size_t nb, size_t inner,
                                   const float *src, float *dst)
{
    size_t n = outer * na * mid * nb * inner;
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE) {
        size_t t = i, k = t % inner;
        t /= inner;
        size_t a = t % na; /* dst's fourth axis */
        t /= na;
        size_t m = t % mid;
        t /= mid;
        size_t b = t % nb;
        size_t o = t / nb;
        dst[i] = src[(((o * na + a) * mid + m) * nb + b) * inner + k];
    }
}

/* y[i] = a[i] b[i] */
__global__ static void k_mul(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        y[i] = a[i] * b[i];
}

/* y[r, k] = (x[r, k] - mean[k]) / scale[k], i = r d + k (IEEE division, as the CPU's) */
__global__ static void k_standardize(size_t rows, int d, const float *x, const float *mean,
                                     const float *scale, float *y)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < rows * (size_t)d; i += VL_KERN_STRIDE) {
        size_t k = i % (size_t)d;
        y[i] = __fdiv_rn(x[i] - mean[k], scale[k]);
    }
}

/* y[i] = f(x[i]) of the kind, through act.h as cpu.c */
__global__ static void k_act_forward(int kind, size_t n, const float *x, float *y)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        y[i] = kind == VL_NN_RELU   ? vl_nn_kern_relu(x[i])
               : kind == VL_NN_GELU ? vl_nn_kern_gelu(x[i])
                                    : tanhf(x[i]);
}

/* dx[i] = f'(x[i]) dy[i] of the kind, as cpu.c */
__global__ static void k_act_backward(int kind, size_t n, const float *x, const float *dy,
                                      float *dx)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        dx[i] = kind == VL_NN_RELU   ? (x[i] > 0.0f ? dy[i] : 0.0f)
                : kind == VL_NN_GELU ? dy[i] * vl_nn_kern_gelu_grad(x[i])
                                     : vl_nn_kern_tanh_backward(x[i], dy[i]);
}

/* mask[i] from the deviate (seed, counter + i); y[i] = x[i] mask[i] */
__global__ static void k_dropout(size_t n, unsigned long long seed, unsigned long long counter,
                                 float p, float keep, const float *x, float *mask, float *y)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE) {
        float m = vl_nn_kern_dropout_mask(vl_nn_kern_uniform_at(seed, counter + i), p, keep);
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

/* w[i] by one SGD step (buf NULL: no momentum buffer, as the CPU's unused) */
__global__ static void k_sgd(size_t n, float *w, const float *g, float *buf, float lr, float wd,
                             float mu, int nesterov, int first)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE) {
        float unused = 0.0f;
        w[i] = vl_nn_kern_sgd(w[i], g[i], buf ? &buf[i] : &unused, lr, wd, mu, nesterov, first);
    }
}

/* w[i], m[i], v[i] by one AdamW step */
__global__ static void k_adamw(size_t n, float *w, const float *g, float *m, float *v, float lr,
                               float wd, float b1, float b2, float eps, float step_size,
                               float bc2_sqrt)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE)
        w[i] = vl_nn_kern_adamw(w[i], g[i], &m[i], &v[i], lr, wd, b1, b2, eps, step_size, bc2_sqrt);
}

/* element (b, j), i = b hs + j, of one GRU step: gates and h (h_prev NULL: zeros) */
__global__ static void k_gru_forward(int n, int hs, const float *gi, int ldi, const float *gh,
                                     int ldh, const float *h_prev, int ldp, float *gates, int ldg,
                                     float *h, int ldy)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < (size_t)n * hs; i += VL_KERN_STRIDE) {
        size_t b = i / (size_t)hs;
        int j = (int)(i % (size_t)hs);
        const float *i_ = gi + b * ldi, *h_ = gh + b * ldh;
        float *g = gates + b * ldg;
        float prev = h_prev ? h_prev[b * ldp + j] : 0.0f;
        h[b * ldy + j] =
            vl_nn_kern_gru_cell(i_[j], i_[hs + j], i_[2 * hs + j], h_[j], h_[hs + j],
                                h_[2 * hs + j], prev, &g[j], &g[hs + j], &g[2 * hs + j]);
    }
}

/* element (b, j) of the GRU step's backward: its three dgi, three dgh and dh_prev */
__global__ static void k_gru_backward(int n, int hs, const float *gh, int ldh, const float *h_prev,
                                      int ldp, const float *gates, int ldg, const float *dh,
                                      float *dgi, int lddi, float *dgh, int lddh, float *dh_prev)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < (size_t)n * hs; i += VL_KERN_STRIDE) {
        size_t b = i / (size_t)hs;
        int j = (int)(i % (size_t)hs);
        const float *h_ = gh + b * ldh, *g = gates + b * ldg;
        float *di = dgi + b * lddi, *dg = dgh + b * lddh;
        float r = g[j], dr, dz, dn;
        vl_nn_kern_gru_cell_backward(r, g[hs + j], g[2 * hs + j], h_[2 * hs + j],
                                     h_prev ? h_prev[b * ldp + j] : 0.0f, dh[b * hs + j], &dr, &dz,
                                     &dn, &dh_prev[b * hs + j]);
        vl_nn_kern_gru_store_grads(hs, j, r, dr, dz, dn, di, dg);
    }
}

/* dx[(o len + l) inner + k] = dy[o inner + k] scale */
__global__ static void k_mean_backward(size_t outer, size_t len, size_t inner, float scale,
                                       const float *dy, float *dx)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < outer * len * inner; i += VL_KERN_STRIDE) {
        size_t k = i % inner, o = i / (len * inner);
        dx[i] = dy[o * inner + k] * scale;
    }
}

/* y[i, t, c] of the token layout, i ((np + cls) e) + t e + c */
__global__ static void k_patch_tokens(int n, int np, int e, int cls, const float *conv,
                                      const float *cls_token, const float *pos, float *y)
{
    size_t tokens = (size_t)np + cls, total = (size_t)n * tokens * e;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t c = i % (size_t)e, t = (i / (size_t)e) % tokens, s = i / (tokens * e);
        float v = cls && t == 0 ? cls_token[c] : conv[(s * e + c) * np + (t - cls)];
        y[i] = v + pos[t * e + c];
    }
}

/* dconv[i, c, p] = dy[i, p + cls, c], element (i e + c) np + p */
__global__ static void k_patch_tokens_dconv(int n, int np, int e, int cls, const float *dy,
                                            float *dconv)
{
    size_t tokens = (size_t)np + cls, total = (size_t)n * e * np;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t p = i % (size_t)np, c = (i / (size_t)np) % (size_t)e, s = i / ((size_t)e * np);
        dconv[i] = dy[(s * tokens + p + cls) * e + c];
    }
}

/* y[i, g, p, c] = x[...] + emb[g, c], element ((i groups + g) len + p) e + c */
__global__ static void k_group_embed(int n, int groups, int len, int e, const float *x,
                                     const float *emb, float *y)
{
    size_t total = (size_t)n * groups * len * e;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t c = i % (size_t)e, g = (i / ((size_t)len * e)) % (size_t)groups;
        y[i] = x[i] + emb[g * e + c];
    }
}

/* -- the entries -- */

#define ST(ctx) vl_cuda_nn_state_of(ctx)
#define LAUNCH(st, what, n, kernel, ...)                                                           \
    do {                                                                                           \
        kernel<<<vl_cuda_nn_kern_grid(n), VL_KERN_THREADS, 0, (st)->stream>>>(__VA_ARGS__);        \
        vl_cuda_nn_kern_launched((st), what);                                                      \
    } while (0)

static void be_add(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *a, size_t lda,
                   const float *b, size_t ldb, float *y, size_t ldy)
{
    if (!rows || !cols) return;
    LAUNCH(ST(ctx), "add", rows * cols, k_add, rows, cols, a, lda, b, ldb, y, ldy);
}

static void be_axpy(struct vl_nn_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    if (!n) return;
    LAUNCH(ST(ctx), "axpy", n, k_axpy, n, alpha, x, y);
}

static void be_scale(struct vl_nn_ctx *ctx, size_t n, float alpha, float *x)
{
    if (!n) return;
    LAUNCH(ST(ctx), "scale", n, k_scale, n, alpha, x);
}

/* Whole rows: one copy engine transfer (contiguous or pitched); a
 * broadcast row (ldx 0): the kernel. */
static void be_copy(struct vl_nn_ctx *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                    float *y, size_t ldy)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!rows || !cols) return;
    size_t w = cols * sizeof(float);
    if (rows == 1 || (ldx == cols && ldy == cols)) {
        vl_cuda_nn_check_rt(
            st, cudaMemcpyAsync(y, x, rows * w, cudaMemcpyDeviceToDevice, st->stream), "copy");
    } else if (ldx >= cols && ldy >= cols) {
        vl_cuda_nn_check_rt(st,
                            cudaMemcpy2DAsync(y, ldy * sizeof(float), x, ldx * sizeof(float), w,
                                              rows, cudaMemcpyDeviceToDevice, st->stream),
                            "copy");
    } else {
        LAUNCH(st, "copy", rows * cols, k_copy, rows, cols, x, ldx, y, ldy);
    }
}

static void be_fill(struct vl_nn_ctx *ctx, size_t n, float v, float *x)
{
    if (!n) return;
    LAUNCH(ST(ctx), "fill", n, k_fill, n, v, x);
}

static void be_swap_axes(struct vl_nn_ctx *ctx, size_t outer, size_t na, size_t mid, size_t nb,
                         size_t inner, const float *src, float *dst)
{
    size_t n = outer * na * mid * nb * inner;
    if (!n) return;
    LAUNCH(ST(ctx), "swap axes", n, k_swap_axes, outer, na, mid, nb, inner, src, dst);
}

static void be_mul(struct vl_nn_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    if (!n) return;
    LAUNCH(ST(ctx), "mul", n, k_mul, n, a, b, y);
}

static void be_standardize(struct vl_nn_ctx *ctx, size_t rows, int d, const float *x,
                           const float *mean, const float *scale, float *y)
{
    if (!rows || d <= 0) return;
    LAUNCH(ST(ctx), "standardize", rows * (size_t)d, k_standardize, rows, d, x, mean, scale, y);
}

static void be_act_forward(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                           const float *x, float *y)
{
    if (!n) return;
    LAUNCH(ST(ctx), "activation forward", n, k_act_forward, (int)kind, n, x, y);
}

static void be_act_backward(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                            const float *x, const float *dy, float *dx)
{
    if (!n) return;
    LAUNCH(ST(ctx), "activation backward", n, k_act_backward, (int)kind, n, x, dy, dx);
}

/* The deviates of this call are (seed, i) for a seed drawn from the
 * context's generator, which the trainer reseeds from (seed, epoch): the
 * masks of epoch e then depend on e alone, so a run resumed after an epoch
 * draws what an uninterrupted one draws. */
static void be_dropout(struct vl_nn_ctx *ctx, size_t n, float p, const float *x, float *mask,
                       float *y)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!n) return;
    float keep = 1.0f / (1.0f - p);
    unsigned long long seed = (unsigned long long)vl_rng_next(&ctx->rng);
    LAUNCH(st, "dropout", n, k_dropout, n, seed, 0ull, p, keep, x, mask, y);
}

static void be_sgd(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *buf, float lr,
                   float wd, float mu, int nesterov, int first)
{
    if (!n) return;
    LAUNCH(ST(ctx), "sgd step", n, k_sgd, n, w, g, buf, lr, wd, mu, nesterov, first);
}

static void be_adamw(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *m, float *v,
                     float lr, float wd, float b1, float b2, float eps, float step_size,
                     float bc2_sqrt)
{
    if (!n) return;
    LAUNCH(ST(ctx), "adamw step", n, k_adamw, n, w, g, m, v, lr, wd, b1, b2, eps, step_size,
           bc2_sqrt);
}

static void be_gru_forward(struct vl_nn_ctx *ctx, int n, int hs, const float *gi, int ldi,
                           const float *gh, int ldh, const float *h_prev, int ldp, float *gates,
                           int ldg, float *h, int ldy)
{
    if (n <= 0 || hs <= 0) return;
    LAUNCH(ST(ctx), "gru cell forward", (size_t)n * hs, k_gru_forward, n, hs, gi, ldi, gh, ldh,
           h_prev, ldp, gates, ldg, h, ldy);
}

static void be_gru_backward(struct vl_nn_ctx *ctx, int n, int hs, const float *gh, int ldh,
                            const float *h_prev, int ldp, const float *gates, int ldg,
                            const float *dh, float *dgi, int lddi, float *dgh, int lddh,
                            float *dh_prev)
{
    if (n <= 0 || hs <= 0) return;
    LAUNCH(ST(ctx), "gru cell backward", (size_t)n * hs, k_gru_backward, n, hs, gh, ldh, h_prev,
           ldp, gates, ldg, dh, dgi, lddi, dgh, lddh, dh_prev);
}

static void be_mean_backward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                             const float *dy, float *dx)
{
    size_t n = outer * len * inner;
    if (!n) return;
    LAUNCH(ST(ctx), "mean backward", n, k_mean_backward, outer, len, inner, 1.0f / (float)len, dy,
           dx);
}

static void be_patch_tokens_forward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                    const float *conv, const float *cls_token, const float *pos,
                                    float *y)
{
    if (n <= 0 || np + cls <= 0 || e <= 0) return;
    size_t total = (size_t)n * (size_t)(np + cls) * (size_t)e;
    LAUNCH(ST(ctx), "patch tokens forward", total, k_patch_tokens, n, np, e, cls, conv, cls_token,
           pos, y);
}

static void be_group_embed_forward(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                   const float *x, const float *emb, float *y)
{
    if (n <= 0 || groups <= 0 || len <= 0 || e <= 0) return;
    LAUNCH(ST(ctx), "group embed forward", (size_t)n * groups * len * e, k_group_embed, n, groups,
           len, e, x, emb, y);
}

void vl_cuda_nn_kern_patch_dconv(struct vl_cuda_nn_state *st, int n, int np, int e, int cls,
                                 const float *dy, float *dconv)
{
    size_t total = (size_t)n * e * np;
    if (n <= 0 || e <= 0 || np <= 0) return;
    LAUNCH(st, "patch tokens backward", total, k_patch_tokens_dconv, n, np, e, cls, dy, dconv);
}

void vl_cuda_nn_fill_kernels(struct vl_nn_backend *b)
{
    b->add = be_add;
    b->axpy = be_axpy;
    b->scale = be_scale;
    b->copy = be_copy;
    b->fill = be_fill;
    b->swap_axes = be_swap_axes;
    b->mul = be_mul;
    b->standardize = be_standardize;
    b->dropout_forward = be_dropout;
    b->mean_backward = be_mean_backward;
    b->patch_tokens_forward = be_patch_tokens_forward;
    b->group_embed_forward = be_group_embed_forward;
    b->sgd_step = be_sgd;
    b->adamw_step = be_adamw;
    b->activation_forward = be_act_forward;
    b->activation_backward = be_act_backward;
    b->gru_cell_forward = be_gru_forward;
    b->gru_cell_backward = be_gru_backward;
    vl_cuda_nn_fill_kernels_reduce(b);
    vl_cuda_nn_fill_kernels_loss(b);
    vl_cuda_nn_fill_kernels_pool(b);
}
