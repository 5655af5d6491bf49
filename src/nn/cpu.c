/* cpu.c - the CPU backend of the neural-network core: OpenBLAS sgemm, the
 * element-wise kernels (activations, softmax, GRU cell), and the table that
 * gathers them with the kernels of conv.c, pool.c and norm.c.
 *
 * OpenBLAS runs on one thread: its multi-threaded sgemm splits work by the
 * thread count, which the machine decides, and the same seed must give the
 * same bits everywhere; vlbuild gets its parallelism from running jobs side
 * by side instead. */
#include <cblas.h>
#include <math.h>

#include "nn/cpu.h"

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

static float gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static float gelu_grad(float x)
{
    float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

static void cpu_activation_forward(struct vl_nn_ctx *ctx, enum vl_nn_act_kind kind, size_t n,
                                   const float *x, float *y)
{
    (void)ctx;
    switch (kind) {
    case VL_NN_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case VL_NN_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = gelu(x[i]);
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
            dx[i] = dy[i] * gelu_grad(x[i]);
        break;
    case VL_NN_TANH:
        for (size_t i = 0; i < n; i++) {
            float t = tanhf(x[i]);
            dx[i] = dy[i] * (1.0f - t * t);
        }
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

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
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
        for (int j = 0; j < hs; j++) {
            float r = sigmoid(i_[j] + h_[j]);
            float z = sigmoid(i_[hs + j] + h_[hs + j]);
            float nn = tanhf(i_[2 * hs + j] + r * h_[2 * hs + j]);
            float prev = hp ? hp[j] : 0.0f;
            g[j] = r;
            g[hs + j] = z;
            g[2 * hs + j] = nn;
            ho[j] = (1.0f - z) * nn + z * prev;
        }
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
            float r = g[j], z = g[hs + j], nn = g[2 * hs + j];
            float prev = hp ? hp[j] : 0.0f;
            float dn = d[j] * (1.0f - z) * (1.0f - nn * nn);
            float dz = d[j] * (prev - nn) * z * (1.0f - z);
            float dr = dn * h_[2 * hs + j] * r * (1.0f - r);
            di[j] = dr;
            di[hs + j] = dz;
            di[2 * hs + j] = dn;
            dg[j] = dr;
            dg[hs + j] = dz;
            dg[2 * hs + j] = dn * r;
            dp[j] = d[j] * z;
        }
    }
}

static const struct vl_nn_backend cpu_backend = {
    .name = "cpu",
    .gemm = cpu_gemm,
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
