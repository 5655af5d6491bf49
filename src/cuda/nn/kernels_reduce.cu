/* kernels_reduce.cu - the CUDA backend's entries that reduce: sum_squares,
 * bias_grad, mean_forward, group_embed_backward, patch_tokens_backward's
 * sums, the row softmax and its backward, layer norm and batch norm.
 *
 * Every sum is in double (the CPU's are in double, or in float where a
 * double sum is closer to the exact one) and in a fixed order that depends
 * on the shape alone: a thread adds its share in index order, then a fixed
 * tree joins the threads (vl_cuda_nn_kern_block_sum, _warp_sum).  No
 * atomics.  The element-wise halves use the bodies of nn/kern/norm.h.
 * Compiled by nvcc only; never run on a GPU yet. */
#include <cuda_runtime.h>
#include <math.h>

#include "cuda/nn/kernels.h"

extern "C" {
#include "nn/kern/norm.h"
}

#define ST(ctx) vl_cuda_nn_state_of(ctx)

/* -- column sums -- */

/* The sums over rows of columns: output (o, k) is the sum over r < rows of
 * x[o o_stride + (r / rin) hi_stride + (r % rin) ld + k] (a row index of
 * two levels covers group_embed's (sample, position) rows); out[o out_ld +
 * k] += (float)sum when accumulate, else = (float)(sum / div).
 * Grid (ceil(cols / 32), min(outer, 65535)), block (32, 8): thread (x, y)
 * owns column blockIdx.x 32 + x of outputs o = blockIdx.y, + gridDim.y, ...;
 * it adds rows y, y + 8, y + 16, ... in order in double; then the 8 rows of
 * threads join in a fixed tree (y adds y + 4, y + 2, y + 1). */
__global__ static void k_col_sum(size_t outer, size_t rows, size_t cols, size_t rin, size_t ld,
                                 size_t hi_stride, size_t o_stride, const float *x, float *out,
                                 size_t out_ld, double div, int accumulate)
{
    __shared__ double sh[8][33];
    size_t k = (size_t)blockIdx.x * 32 + threadIdx.x;
    for (size_t o = blockIdx.y; o < outer; o += gridDim.y) {
        double s = 0.0;
        if (k < cols)
            for (size_t r = threadIdx.y; r < rows; r += 8)
                s += x[o * o_stride + (r / rin) * hi_stride + (r % rin) * ld + k];
        sh[threadIdx.y][threadIdx.x] = s;
        __syncthreads();
        for (int h = 4; h > 0; h >>= 1) {
            if ((int)threadIdx.y < h)
                sh[threadIdx.y][threadIdx.x] += sh[threadIdx.y + h][threadIdx.x];
            __syncthreads();
        }
        if (threadIdx.y == 0 && k < cols) {
            double t = sh[0][threadIdx.x];
            float *dst = out + o * out_ld + k;
            *dst = accumulate ? *dst + (float)t : (float)(t / div);
        }
        __syncthreads();
    }
}

static void col_sum(struct vl_cuda_nn_state *st, const char *what, size_t outer, size_t rows,
                    size_t cols, size_t rin, size_t ld, size_t hi_stride, size_t o_stride,
                    const float *x, float *out, size_t out_ld, double div, int accumulate)
{
    if (!outer || !cols) return;
    if (!rin) rin = 1;
    dim3 grid((unsigned)((cols + 31) / 32), (unsigned)(outer < 65535 ? outer : 65535));
    k_col_sum<<<grid, dim3(32, 8), 0, st->stream>>>(outer, rows, cols, rin, ld, hi_stride, o_stride,
                                                    x, out, out_ld, div, accumulate);
    vl_cuda_nn_kern_launched(st, what);
}

static void be_bias_grad(struct vl_nn_ctx *ctx, size_t rows, int cols, size_t ld, const float *dy,
                         float *db)
{
    if (cols <= 0) return;
    col_sum(ST(ctx), "bias grad", 1, rows, (size_t)cols, rows, ld, 0, 0, dy, db, 0, 1.0, 1);
}

/* The mean of each of outer contiguous runs of len values (mean_forward
 * with inner 1, global average pooling's case): grid ceil(outer / 8), block
 * 256, warp w of block b owning run b 8 + w; lane l adds values l, l + 32,
 * ... in order in double, the warp's fixed tree joins the lanes, and lane 0
 * writes (float)(sum / len). */
__global__ static void k_run_mean(size_t outer, size_t len, const float *x, float *y)
{
    size_t o = (size_t)blockIdx.x * (VL_KERN_THREADS / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (o >= outer) return; /* the whole warp leaves together */
    double s = 0.0;
    for (size_t i = lane; i < len; i += 32)
        s += x[o * len + i];
    s = vl_cuda_nn_kern_warp_sum(s);
    if (lane == 0) y[o] = (float)(s / (double)len);
}

/* inner 1 by runs (one warp each), else by columns (k_col_sum). */
static void be_mean_forward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                            const float *x, float *y)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (inner == 1 && outer) {
        size_t per = VL_KERN_THREADS / 32;
        k_run_mean<<<(unsigned)((outer + per - 1) / per), VL_KERN_THREADS, 0, st->stream>>>(
            outer, len, x, y);
        vl_cuda_nn_kern_launched(st, "mean forward");
        return;
    }
    col_sum(st, "mean forward", outer, len, inner, len, inner, 0, len * inner, x, y, inner,
            (double)len, 0);
}

/* demb[g, c] += the sum over (i, p) of dy[((i groups + g) len + p) e + c]:
 * outputs g, rows i len + p. */
static void be_group_embed_backward(struct vl_nn_ctx *ctx, int n, int groups, int len, int e,
                                    const float *dy, float *demb)
{
    if (n <= 0 || groups <= 0 || len <= 0 || e <= 0) return;
    size_t E = (size_t)e, L = (size_t)len;
    col_sum(ST(ctx), "group embed backward", (size_t)groups, (size_t)n * L, E, L, E,
            (size_t)groups * L * E, L * E, dy, demb, E, 1.0, 1);
}

/* dconv by kernels.cu's kernel; dpos [tokens e] += the sum over samples of
 * dy's [tokens e], dcls [e] += that of dy's token 0. */
static void be_patch_tokens_backward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                     const float *dy, float *dconv, float *dpos, float *dcls)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (n <= 0 || e <= 0 || np + cls <= 0) return;
    size_t row = (size_t)(np + cls) * e;
    col_sum(st, "patch tokens backward", 1, (size_t)n, row, (size_t)n, row, 0, 0, dy, dpos, 0, 1.0,
            1);
    if (cls)
        col_sum(st, "patch tokens backward", 1, (size_t)n, (size_t)e, (size_t)n, row, 0, 0, dy,
                dcls, 0, 1.0, 1);
    vl_cuda_nn_kern_patch_dconv(st, n, np, e, cls, dy, dconv);
}

/* -- sum of squares -- */

static const unsigned SUMSQ_MAX_BLOCKS = 1024, SUMSQ_PER_THREAD = 16;

/* The block count of a sum of squares over n values: a function of n only,
 * so the partials and their order are too. */
static unsigned sumsq_blocks(size_t n)
{
    size_t per_block = (size_t)VL_KERN_THREADS * SUMSQ_PER_THREAD;
    size_t b = (n + per_block - 1) / per_block;
    return b < 1 ? 1u : b > SUMSQ_MAX_BLOCKS ? SUMSQ_MAX_BLOCKS : (unsigned)b;
}

/* Grid sumsq_blocks(n), block VL_KERN_THREADS: block b owns the chunk
 * [b chunk, (b + 1) chunk) of x; thread t adds x[i]^2 (in double) for
 * i = start + t, + 256, ... in order; the block's fixed tree joins them
 * into partial[b]. */
__global__ static void k_sum_squares(size_t n, size_t chunk, const float *x, double *partial)
{
    size_t start = (size_t)blockIdx.x * chunk, end = start + chunk < n ? start + chunk : n;
    double s = 0.0;
    for (size_t i = start + threadIdx.x; i < end; i += VL_KERN_THREADS)
        s += (double)x[i] * x[i];
    s = vl_cuda_nn_kern_block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/* The partials come back to the pinned scratch and are added on the host
 * in block order into *acc (the host's double, as the CPU's). */
static void be_sum_squares(struct vl_nn_ctx *ctx, size_t n, const float *x, double *acc)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!n) return;
    unsigned blocks = sumsq_blocks(n);
    size_t chunk = (n + blocks - 1) / blocks, bytes = blocks * sizeof(double);
    double *dev = (double *)vl_cuda_nn_kern_scratch(st, bytes);
    double *host = (double *)vl_cuda_nn_kern_scratch_host(st, bytes);
    if (!dev || !host) return;
    k_sum_squares<<<blocks, VL_KERN_THREADS, 0, st->stream>>>(n, chunk, x, dev);
    if (vl_cuda_nn_kern_launched(st, "sum of squares") < 0 ||
        vl_cuda_nn_check_rt(st,
                            cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, st->stream),
                            "sum of squares") < 0 ||
        vl_cuda_nn_check_rt(st, cudaStreamSynchronize(st->stream), "sum of squares") < 0)
        return;
    double s = *acc;
    for (unsigned b = 0; b < blocks; b++)
        s += host[b];
    *acc = s;
}

/* -- row softmax -- */

enum { ROWS_PER_BLOCK = VL_KERN_THREADS / 32 };

static unsigned row_blocks(size_t rows)
{
    return (unsigned)((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
}

/* Grid ceil(rows / 8), block 256: warp w of block b owns row b 8 + w; lane
 * l owns columns l, l + 32, ...  The row's max over unmasked columns (order
 * free); an all-masked row becomes zeros; else each column becomes
 * expf(x - max) (0 masked), lane l adds its columns in order in double, the
 * warp's fixed tree sums the lanes, and each column is scaled by
 * (float)(1 / sum), as the CPU does. */
__global__ static void k_softmax_rows(size_t rows, int cols, float *x, const uint8_t *mask)
{
    size_t r = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return; /* the whole warp leaves together */
    float *row = x + r * (size_t)cols;
    float mx = -INFINITY;
    for (int j = lane; j < cols; j += 32)
        if (!(mask && mask[j]) && row[j] > mx) mx = row[j];
    mx = vl_cuda_nn_kern_warp_max(mx);
    if (mx == -INFINITY) {
        for (int j = lane; j < cols; j += 32)
            row[j] = 0.0f;
        return;
    }
    double s = 0.0;
    for (int j = lane; j < cols; j += 32) {
        float v = (mask && mask[j]) ? 0.0f : expf(row[j] - mx);
        row[j] = v;
        s += v;
    }
    float inv = (float)(1.0 / vl_cuda_nn_kern_warp_sum(s));
    for (int j = lane; j < cols; j += 32)
        row[j] *= inv;
}

/* Grid and lanes as k_softmax_rows: dot = sum p dp (double, lane order then
 * the warp's tree), then dx = p (dp - (float)dot) per column; every lane
 * reads its dp before the tree's shuffles, so dx may alias dp. */
__global__ static void k_softmax_backward(size_t rows, int cols, const float *p, const float *dp,
                                          float *dx)
{
    size_t r = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return;
    const float *pr = p + r * (size_t)cols, *dr = dp + r * (size_t)cols;
    float *xr = dx + r * (size_t)cols;
    double dot = 0.0;
    for (int j = lane; j < cols; j += 32)
        dot += (double)pr[j] * dr[j];
    float d = (float)vl_cuda_nn_kern_warp_sum(dot);
    for (int j = lane; j < cols; j += 32)
        xr[j] = pr[j] * (dr[j] - d);
}

/* The mask is device memory (backend memory, as every array of the table
 * but the losses' labels and class weights). */
static void be_softmax_rows(struct vl_nn_ctx *ctx, size_t rows, int cols, float *x,
                            const uint8_t *mask)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!rows || cols <= 0) return;
    k_softmax_rows<<<row_blocks(rows), VL_KERN_THREADS, 0, st->stream>>>(rows, cols, x, mask);
    vl_cuda_nn_kern_launched(st, "softmax rows");
}

static void be_softmax_backward(struct vl_nn_ctx *ctx, size_t rows, int cols, const float *p,
                                const float *dp, float *dx)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!rows || cols <= 0) return;
    k_softmax_backward<<<row_blocks(rows), VL_KERN_THREADS, 0, st->stream>>>(rows, cols, p, dp, dx);
    vl_cuda_nn_kern_launched(st, "softmax rows backward");
}

/* -- layer norm -- */

/* Grid ceil(rows / 8), block 256, warp per row and lane per columns as
 * k_softmax_rows: the row's sum (double, lane order then the tree), mu, the
 * sum of (x - mu)^2 the same way, invstd = 1 / sqrt(sq / dim + eps); lane 0
 * stores mean and invstd; each lane normalises its columns. */
__global__ static void k_layernorm_forward(size_t rows, int dim, const float *x, const float *gamma,
                                           const float *beta, float eps, float *y, float *mean,
                                           float *invstd)
{
    size_t r = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return;
    const float *p = x + r * dim;
    float *q = y + r * dim;
    double s = 0.0;
    for (int i = lane; i < dim; i += 32)
        s += p[i];
    double mu = vl_cuda_nn_kern_warp_sum(s) / dim;
    double sq = 0.0;
    for (int i = lane; i < dim; i += 32)
        sq += (p[i] - mu) * (p[i] - mu);
    sq = vl_cuda_nn_kern_warp_sum(sq);
    float is = vl_nn_kern_invstd(sq / dim, eps), mf = (float)mu;
    if (lane == 0) {
        mean[r] = mf;
        invstd[r] = is;
    }
    for (int i = lane; i < dim; i += 32)
        q[i] = vl_nn_kern_ln_apply(p[i], mf, is, gamma[i], beta[i]);
}

/* Grid and lanes as k_layernorm_forward: g = dy gamma, the row's sums of g
 * and g xhat (double, lane order then the tree), then dx per column. */
__global__ static void k_layernorm_dx(size_t rows, int dim, const float *x, const float *gamma,
                                      const float *mean, const float *invstd, const float *dy,
                                      float *dx)
{
    size_t r = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return;
    const float *p = x + r * dim, *d = dy + r * dim;
    float mu = mean[r], is = invstd[r];
    double sg = 0.0, sgx = 0.0;
    for (int i = lane; i < dim; i += 32) {
        float xh = vl_nn_kern_norm_xhat(p[i], mu, is), g = __fmul_rn(d[i], gamma[i]);
        sg += g;
        sgx += vl_nn_kern_dy_xhat(g, xh);
    }
    float a = (float)(vl_cuda_nn_kern_warp_sum(sg) / dim);
    float b = (float)(vl_cuda_nn_kern_warp_sum(sgx) / dim);
    float *q = dx + r * dim;
    for (int i = lane; i < dim; i += 32)
        q[i] = vl_nn_kern_ln_grad(is, d[i], gamma[i], a, vl_nn_kern_norm_xhat(p[i], mu, is), b);
}

/* dgamma[i] += sum over rows of dy xhat, dbeta[i] += sum of dy: grid
 * ceil(dim / 32), block (32, 8), thread (x, y) owning column blockIdx.x 32
 * + x and rows y, y + 8, ... (in order, in double), the 8 rows of threads
 * joined by a fixed tree (y adds y + 4, y + 2, y + 1). */
__global__ static void k_layernorm_params(size_t rows, int dim, const float *x, const float *mean,
                                          const float *invstd, const float *dy, float *dgamma,
                                          float *dbeta)
{
    __shared__ double sg[8][33], sb[8][33];
    int i = blockIdx.x * 32 + threadIdx.x;
    double g = 0.0, b = 0.0;
    if (i < dim)
        for (size_t r = threadIdx.y; r < rows; r += 8) {
            float d = dy[r * dim + i];
            g += (double)d * vl_nn_kern_norm_xhat(x[r * dim + i], mean[r], invstd[r]);
            b += d;
        }
    sg[threadIdx.y][threadIdx.x] = g;
    sb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    for (int h = 4; h > 0; h >>= 1) {
        if ((int)threadIdx.y < h) {
            sg[threadIdx.y][threadIdx.x] += sg[threadIdx.y + h][threadIdx.x];
            sb[threadIdx.y][threadIdx.x] += sb[threadIdx.y + h][threadIdx.x];
        }
        __syncthreads();
    }
    if (threadIdx.y == 0 && i < dim) {
        dgamma[i] += (float)sg[0][threadIdx.x];
        dbeta[i] += (float)sb[0][threadIdx.x];
    }
}

static void be_layernorm_forward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                 const float *gamma, const float *beta, float eps, float *y,
                                 float *mean, float *invstd)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!rows || dim <= 0) return;
    k_layernorm_forward<<<row_blocks(rows), VL_KERN_THREADS, 0, st->stream>>>(
        rows, dim, x, gamma, beta, eps, y, mean, invstd);
    vl_cuda_nn_kern_launched(st, "layernorm forward");
}

static void be_layernorm_backward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  const float *dy, float *dx, float *dgamma, float *dbeta)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (!rows || dim <= 0) return;
    k_layernorm_params<<<(unsigned)((dim + 31) / 32), dim3(32, 8), 0, st->stream>>>(
        rows, dim, x, mean, invstd, dy, dgamma, dbeta);
    if (vl_cuda_nn_kern_launched(st, "layernorm backward") < 0 || !dx) return;
    k_layernorm_dx<<<row_blocks(rows), VL_KERN_THREADS, 0, st->stream>>>(rows, dim, x, gamma, mean,
                                                                         invstd, dy, dx);
    vl_cuda_nn_kern_launched(st, "layernorm backward");
}

/* -- batch norm -- */

/* Grid c, block 256: block ch owns channel ch of x [n, c, s]; thread t
 * visits elements t, t + 256, ... of the channel's n s (sample-major, as
 * the CPU) in order.  Training: the sum (double) by the block's tree, mu,
 * then the sum of (x - mu)^2 the same way, the biased variance normalising
 * and the unbiased one updating the running variance; otherwise the running
 * statistics.  Thread 0 stores mean, invstd and the running ones. */
__global__ static void k_batchnorm_stats(int n, int c, int s, const float *x, float *running_mean,
                                         float *running_var, float momentum, float eps,
                                         int training, float *mean, float *invstd)
{
    int ch = blockIdx.x;
    size_t m = (size_t)n * s;
    double mu, var;
    if (training) {
        double sum = 0.0, sq = 0.0;
        for (size_t t = threadIdx.x; t < m; t += VL_KERN_THREADS)
            sum += x[((t / s) * c + ch) * s + t % s];
        mu = vl_cuda_nn_kern_block_sum(sum) / (double)m;
        for (size_t t = threadIdx.x; t < m; t += VL_KERN_THREADS) {
            double d = x[((t / s) * c + ch) * s + t % s] - mu;
            sq += d * d;
        }
        sq = vl_cuda_nn_kern_block_sum(sq);
        var = sq / (double)m;
        if (threadIdx.x == 0) {
            double unbiased = m > 1 ? sq / (double)(m - 1) : var;
            running_mean[ch] = vl_nn_kern_running(running_mean[ch], momentum, mu);
            running_var[ch] = vl_nn_kern_running(running_var[ch], momentum, unbiased);
        }
    } else {
        mu = running_mean[ch];
        var = running_var[ch];
    }
    if (threadIdx.x == 0) {
        mean[ch] = (float)mu;
        invstd[ch] = vl_nn_kern_invstd(var, eps);
    }
}

/* element i of x [n, c, s], channel (i / s) % c: (x - mean) gamma invstd + beta */
__global__ static void k_batchnorm_apply(int n, int c, int s, const float *x, const float *gamma,
                                         const float *beta, const float *mean, const float *invstd,
                                         float *y)
{
    size_t total = (size_t)n * c * s;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t ch = (i / s) % c;
        y[i] = vl_nn_kern_bn_apply(x[i], mean[ch], __fmul_rn(gamma[ch], invstd[ch]), beta[ch]);
    }
}

/* Grid c, block 256, elements as k_batchnorm_stats: the channel's sums of
 * dy and dy xhat (double, the block's tree); thread 0 adds them to dbeta
 * and dgamma and stores the dx coefficients a = sdy / m, b = sdyx / m (0
 * without batch statistics) in coef[2 ch], coef[2 ch + 1]. */
__global__ static void k_batchnorm_grad_sums(int n, int c, int s, const float *x, const float *mean,
                                             const float *invstd, int batch_stats, const float *dy,
                                             float *dgamma, float *dbeta, float *coef)
{
    int ch = blockIdx.x;
    size_t m = (size_t)n * s;
    float mu = mean[ch], is = invstd[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (size_t t = threadIdx.x; t < m; t += VL_KERN_THREADS) {
        size_t at = ((t / s) * c + ch) * s + t % s;
        sdy += dy[at];
        sdyx += vl_nn_kern_dy_xhat(dy[at], vl_nn_kern_norm_xhat(x[at], mu, is));
    }
    sdy = vl_cuda_nn_kern_block_sum(sdy);
    sdyx = vl_cuda_nn_kern_block_sum(sdyx);
    if (threadIdx.x == 0) {
        dgamma[ch] += (float)sdyx;
        dbeta[ch] += (float)sdy;
        coef[2 * ch] = batch_stats ? (float)(sdy / (double)m) : 0.0f;
        coef[2 * ch + 1] = batch_stats ? (float)(sdyx / (double)m) : 0.0f;
    }
}

/* element i of dx [n, c, s], channel (i / s) % c, from its coefficients */
__global__ static void k_batchnorm_dx(int n, int c, int s, const float *x, const float *gamma,
                                      const float *mean, const float *invstd, const float *coef,
                                      const float *dy, float *dx)
{
    size_t total = (size_t)n * c * s;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t ch = (i / s) % c;
        float g = __fmul_rn(gamma[ch], invstd[ch]);
        dx[i] = vl_nn_kern_bn_grad(g, dy[i], coef[2 * ch], x[i], mean[ch], invstd[ch],
                                   coef[2 * ch + 1]);
    }
}

static void be_batchnorm_forward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                 const float *gamma, const float *beta, float *running_mean,
                                 float *running_var, float momentum, float eps, int training,
                                 float *y, float *mean, float *invstd)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (c <= 0 || n < 0 || s < 0) return;
    k_batchnorm_stats<<<(unsigned)c, VL_KERN_THREADS, 0, st->stream>>>(
        n, c, s, x, running_mean, running_var, momentum, eps, training, mean, invstd);
    if (vl_cuda_nn_kern_launched(st, "batchnorm forward") < 0) return;
    size_t total = (size_t)n * c * s;
    if (!total) return;
    k_batchnorm_apply<<<vl_cuda_nn_kern_grid(total), VL_KERN_THREADS, 0, st->stream>>>(
        n, c, s, x, gamma, beta, mean, invstd, y);
    vl_cuda_nn_kern_launched(st, "batchnorm forward");
}

static void be_batchnorm_backward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  int batch_stats, const float *dy, float *dx, float *dgamma,
                                  float *dbeta)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (c <= 0 || n < 0 || s < 0) return;
    float *coef = (float *)vl_cuda_nn_kern_scratch(st, 2 * (size_t)c * sizeof(float));
    if (!coef) return;
    k_batchnorm_grad_sums<<<(unsigned)c, VL_KERN_THREADS, 0, st->stream>>>(
        n, c, s, x, mean, invstd, batch_stats, dy, dgamma, dbeta, coef);
    if (vl_cuda_nn_kern_launched(st, "batchnorm backward") < 0 || !dx) return;
    size_t total = (size_t)n * c * s;
    if (!total) return;
    k_batchnorm_dx<<<vl_cuda_nn_kern_grid(total), VL_KERN_THREADS, 0, st->stream>>>(
        n, c, s, x, gamma, mean, invstd, coef, dy, dx);
    vl_cuda_nn_kern_launched(st, "batchnorm backward");
}

void vl_cuda_nn_fill_kernels_reduce(struct vl_nn_backend *b)
{
    b->sum_squares = be_sum_squares;
    b->bias_grad = be_bias_grad;
    b->mean_forward = be_mean_forward;
    b->group_embed_backward = be_group_embed_backward;
    b->patch_tokens_backward = be_patch_tokens_backward;
    b->softmax_rows = be_softmax_rows;
    b->softmax_rows_backward = be_softmax_backward;
    b->layernorm_forward = be_layernorm_forward;
    b->layernorm_backward = be_layernorm_backward;
    b->batchnorm_forward = be_batchnorm_forward;
    b->batchnorm_backward = be_batchnorm_backward;
}
