/* nn_kern.cu - device kernels of the neural-network core built from the
 * element-wise bodies the CPU backend runs (src/nn/kern/), and a parity
 * check of them against the same bodies on the host.
 *
 * These are not a backend: no struct vl_nn_backend is filled on the device
 * yet (docs/nn.md, "For the CUDA backend").  vl_cuda_nn_kern_parity
 * (exported like vl_cuda_kern_parity, found with vl_cuda_symbol) runs the
 * erf GELU forward and backward, one SGD (momentum, Nesterov) and one AdamW
 * step, the cross-entropy, multiclass hinge and squared hinge of rows of 1,
 * 3 and 11 classes, one GRU cell step and counter-based dropout on device 0 and compares them with
 * the host: dropout masks bit for bit (integer arithmetic and one comparison), the rest within a
 * relative 1e-5 (a device's erff, expf and exp may differ from glibc's in
 * the last place, and nvcc fuses products and sums into FMAs).  It has
 * never run on a GPU. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "nn/kern/act.h"
#include "nn/kern/dropout.h"
#include "nn/kern/loss.h"
#include "nn/kern/optim.h"
}

#define THREADS 256

static unsigned blocks_for(size_t n)
{
    return (unsigned)((n + THREADS - 1) / THREADS);
}

__global__ static void gelu_forward(size_t n, const float *x, float *y)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = vl_nn_kern_gelu(x[i]);
}

__global__ static void gelu_backward(size_t n, const float *x, const float *dy, float *dx)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[i] = dy[i] * vl_nn_kern_gelu_grad(x[i]);
}

__global__ static void sgd_step(size_t n, float *w, const float *g, float *buf, float lr, float wd,
                                float mu, int nesterov, int first)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) w[i] = vl_nn_kern_sgd(w[i], g[i], &buf[i], lr, wd, mu, nesterov, first);
}

__global__ static void adamw_step(size_t n, float *w, const float *g, float *m, float *v, float lr,
                                  float wd, float b1, float b2, float eps, float step_size,
                                  float bc2_sqrt)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        w[i] = vl_nn_kern_adamw(w[i], g[i], &m[i], &v[i], lr, wd, b1, b2, eps, step_size, bc2_sqrt);
}

/* one thread a row: its loss term and its gradient at scale 1 / rows */
__global__ static void cross_entropy_rows(int rows, int c, const float *logits, const int *labels,
                                          double *row_loss, float *dlogits)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float *row = logits + (size_t)i * c;
    row_loss[i] = vl_nn_kern_ce_row_loss(row, c, labels[i]);
    vl_nn_kern_ce_row_grad(row, c, labels[i], 1.0 / rows, dlogits + (size_t)i * c);
}

/* one thread a row: the multiclass hinge (margin 1, scale 1 / (c rows)) and
 * the one-vs-rest squared hinge, each row into its own total; dh and dsq
 * zeroed before */
__global__ static void hinge_rows(int rows, int c, const float *logits, const int *labels,
                                  double *hinge_total, float *dh, double *sq_total, float *dsq)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float *row = logits + (size_t)i * c;
    hinge_total[i] = 0.0, sq_total[i] = 0.0;
    vl_nn_kern_hinge_row(row, c, labels[i], 1.0f, 1.0 / ((double)c * rows), &hinge_total[i],
                         dh + (size_t)i * c);
    vl_nn_kern_sq_hinge_row(row, c, labels[i], rows, &sq_total[i], dsq + (size_t)i * c);
}

/* one thread an element (row b, unit j) of a GRU step of hs units */
__global__ static void gru_cell(int rows, int hs, const float *gi, const float *gh,
                                const float *prev, float *gates, float *h)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= rows * hs) return;
    int b = k / hs, j = k % hs;
    const float *i_ = gi + (size_t)b * 3 * hs, *h_ = gh + (size_t)b * 3 * hs;
    float *g = gates + (size_t)b * 3 * hs;
    h[k] = vl_nn_kern_gru_cell(i_[j], i_[hs + j], i_[2 * hs + j], h_[j], h_[hs + j], h_[2 * hs + j],
                               prev[k], &g[j], &g[hs + j], &g[2 * hs + j]);
}

__global__ static void dropout_counter(size_t n, unsigned long long seed, float p, float keep,
                                       const float *x, float *mask, float *y)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    mask[i] = vl_nn_kern_dropout_mask(vl_nn_kern_uniform_at(seed, i), p, keep);
    y[i] = x[i] * mask[i];
}

/* What one parity run found: the text so far, the worst relative error,
 * and the checks that failed. */
struct parity {
    char *text;
    size_t cap, len;
    int failures;
};

static void line(struct parity *r, const char *what, size_t n, double worst, int ok)
{
    if (r->len + 1 >= r->cap) return;
    int k = snprintf(r->text + r->len, r->cap - r->len, "%s n=%zu: %s (largest relative %.3g)\n",
                     what, n, ok ? "ok" : "MISMATCH", worst);
    if (k > 0) r->len += (size_t)k < r->cap - r->len ? (size_t)k : r->cap - r->len - 1;
    r->failures += !ok;
}

/* The largest |a - b| / max(|b|, 1e-6) over n values. */
static double worst_rel(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), s = fabs((double)b[i]);
        double rel = d / (s > 1e-6 ? s : 1e-6);
        if (rel > worst || rel != rel) worst = rel;
    }
    return worst;
}

/* n deterministic values in [-s, s) */
static void fill(float *x, size_t n, float s, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * vl_nn_kern_uniform_at(seed, i) - 1.0) * s);
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        if ((call) != cudaSuccess) goto fail;                                                      \
    } while (0)

/* One size through every element-wise kernel; -1 on a CUDA error. */
static int check_size(struct parity *r, size_t n)
{
    size_t bytes = n * sizeof(float);
    float *h = (float *)malloc(8 * bytes);
    float *d[5] = {0};
    if (!h) return -1;
    float *x = h, *g = h + n, *w = h + 2 * n, *m = h + 3 * n, *v = h + 4 * n, *want = h + 5 * n,
          *got = h + 6 * n, *aux = h + 7 * n;
    fill(x, n, 4.0f, 1), fill(g, n, 1.0f, 2), fill(w, n, 1.0f, 3), fill(m, n, 0.1f, 4);
    for (size_t i = 0; i < n; i++)
        v[i] = 0.01f + fabsf(g[i]) * 0.1f;
    for (int k = 0; k < 5; k++)
        OK(cudaMalloc(&d[k], bytes));
    OK(cudaMemcpy(d[0], x, bytes, cudaMemcpyHostToDevice));
    OK(cudaMemcpy(d[1], g, bytes, cudaMemcpyHostToDevice));

    gelu_forward<<<blocks_for(n), THREADS>>>(n, d[0], d[2]);
    OK(cudaMemcpy(got, d[2], bytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        want[i] = vl_nn_kern_gelu(x[i]);
    line(r, "gelu forward", n, worst_rel(got, want, n), worst_rel(got, want, n) <= 1e-5);
    gelu_backward<<<blocks_for(n), THREADS>>>(n, d[0], d[1], d[2]);
    OK(cudaMemcpy(got, d[2], bytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        want[i] = g[i] * vl_nn_kern_gelu_grad(x[i]);
    line(r, "gelu backward", n, worst_rel(got, want, n), worst_rel(got, want, n) <= 1e-5);

    /* SGD with momentum and Nesterov, then AdamW at step 3, from the same w */
    OK(cudaMemcpy(d[2], w, bytes, cudaMemcpyHostToDevice));
    OK(cudaMemcpy(d[3], m, bytes, cudaMemcpyHostToDevice));
    sgd_step<<<blocks_for(n), THREADS>>>(n, d[2], d[1], d[3], 0.05f, 0.01f, 0.9f, 1, 0);
    OK(cudaMemcpy(got, d[2], bytes, cudaMemcpyDeviceToHost));
    memcpy(aux, m, bytes);
    for (size_t i = 0; i < n; i++)
        want[i] = vl_nn_kern_sgd(w[i], g[i], &aux[i], 0.05f, 0.01f, 0.9f, 1, 0);
    line(r, "sgd step", n, worst_rel(got, want, n), worst_rel(got, want, n) <= 1e-5);
    {
        double bc1 = 1.0 - pow(0.9, 3.0), bc2 = 1.0 - pow(0.999, 3.0);
        float step_size = (float)(1e-3 / bc1), bc2_sqrt = (float)sqrt(bc2);
        OK(cudaMemcpy(d[2], w, bytes, cudaMemcpyHostToDevice));
        OK(cudaMemcpy(d[3], m, bytes, cudaMemcpyHostToDevice));
        OK(cudaMemcpy(d[4], v, bytes, cudaMemcpyHostToDevice));
        adamw_step<<<blocks_for(n), THREADS>>>(n, d[2], d[1], d[3], d[4], 1e-3f, 0.01f, 0.9f,
                                               0.999f, 1e-8f, step_size, bc2_sqrt);
        OK(cudaMemcpy(got, d[2], bytes, cudaMemcpyDeviceToHost));
        memcpy(aux, m, bytes);
        float *vv = want; /* want's values are rewritten below, after v's copy is used */
        memcpy(vv, v, bytes);
        for (size_t i = 0; i < n; i++)
            vv[i] = vl_nn_kern_adamw(w[i], g[i], &aux[i], &vv[i], 1e-3f, 0.01f, 0.9f, 0.999f, 1e-8f,
                                     step_size, bc2_sqrt);
        line(r, "adamw step", n, worst_rel(got, vv, n), worst_rel(got, vv, n) <= 1e-5);
    }

    /* counter-based dropout: the masks bit for bit */
    dropout_counter<<<blocks_for(n), THREADS>>>(n, 42ull, 0.3f, 1.0f / 0.7f, d[0], d[2], d[3]);
    OK(cudaMemcpy(got, d[2], bytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        want[i] = vl_nn_kern_dropout_mask(vl_nn_kern_uniform_at(42ull, i), 0.3f, 1.0f / 0.7f);
    line(r, "dropout mask", n, worst_rel(got, want, n), memcmp(got, want, bytes) == 0);
    OK(cudaGetLastError());
    for (int k = 0; k < 5; k++)
        cudaFree(d[k]);
    free(h);
    return 0;
fail:
    for (int k = 0; k < 5; k++)
        cudaFree(d[k]);
    free(h);
    return -1;
}

/* One GRU step of 3 rows of 11 units: the gates and the new state. */
static int check_gru(struct parity *r)
{
    enum { ROWS = 3, HS = 11, G = ROWS * 3 * HS, S = ROWS * HS };
    float gi[G], gh[G], prev[S], gwant[G], hwant[S], ggot[G], hgot[S];
    float *d[5] = {0};
    fill(gi, G, 2.0f, 7), fill(gh, G, 2.0f, 8), fill(prev, S, 1.0f, 9);
    for (int b = 0; b < ROWS; b++)
        for (int j = 0; j < HS; j++) {
            const float *i_ = gi + b * 3 * HS, *h_ = gh + b * 3 * HS;
            float *g = gwant + b * 3 * HS;
            hwant[b * HS + j] = vl_nn_kern_gru_cell(i_[j], i_[HS + j], i_[2 * HS + j], h_[j],
                                                    h_[HS + j], h_[2 * HS + j], prev[b * HS + j],
                                                    &g[j], &g[HS + j], &g[2 * HS + j]);
        }
    OK(cudaMalloc(&d[0], sizeof gi));
    OK(cudaMalloc(&d[1], sizeof gh));
    OK(cudaMalloc(&d[2], sizeof prev));
    OK(cudaMalloc(&d[3], sizeof ggot));
    OK(cudaMalloc(&d[4], sizeof hgot));
    OK(cudaMemcpy(d[0], gi, sizeof gi, cudaMemcpyHostToDevice));
    OK(cudaMemcpy(d[1], gh, sizeof gh, cudaMemcpyHostToDevice));
    OK(cudaMemcpy(d[2], prev, sizeof prev, cudaMemcpyHostToDevice));
    gru_cell<<<1, S>>>(ROWS, HS, d[0], d[1], d[2], d[3], d[4]);
    OK(cudaMemcpy(ggot, d[3], sizeof ggot, cudaMemcpyDeviceToHost));
    OK(cudaMemcpy(hgot, d[4], sizeof hgot, cudaMemcpyDeviceToHost));
    {
        double wg = worst_rel(ggot, gwant, G), wh = worst_rel(hgot, hwant, S);
        double worst = wg > wh ? wg : wh;
        line(r, "gru cell", S, worst, worst <= 1e-5);
    }
    for (int k = 0; k < 5; k++)
        cudaFree(d[k]);
    return 0;
fail:
    for (int k = 0; k < 5; k++)
        cudaFree(d[k]);
    return -1;
}

/* Cross-entropy rows of c classes: each row's loss term and gradient. */
static int check_loss(struct parity *r, int c)
{
    enum { ROWS = 33 };
    float logits[ROWS * 11], dwant[ROWS * 11], dgot[ROWS * 11];
    int labels[ROWS];
    double lwant[ROWS], lgot[ROWS];
    float *dl = NULL, *dd = NULL;
    int *dlab = NULL;
    double *dloss = NULL;
    size_t nv = (size_t)ROWS * c;
    fill(logits, nv, 3.0f, 5 + (unsigned long long)c);
    for (int i = 0; i < ROWS; i++) {
        labels[i] = (i * 7 + 3) % c;
        lwant[i] = vl_nn_kern_ce_row_loss(logits + (size_t)i * c, c, labels[i]);
        vl_nn_kern_ce_row_grad(logits + (size_t)i * c, c, labels[i], 1.0 / ROWS,
                               dwant + (size_t)i * c);
    }
    OK(cudaMalloc(&dl, nv * sizeof(float)));
    OK(cudaMalloc(&dd, nv * sizeof(float)));
    OK(cudaMalloc(&dlab, sizeof labels));
    OK(cudaMalloc(&dloss, sizeof lgot));
    OK(cudaMemcpy(dl, logits, nv * sizeof(float), cudaMemcpyHostToDevice));
    OK(cudaMemcpy(dlab, labels, sizeof labels, cudaMemcpyHostToDevice));
    cross_entropy_rows<<<1, ROWS>>>(ROWS, c, dl, dlab, dloss, dd);
    OK(cudaMemcpy(dgot, dd, nv * sizeof(float), cudaMemcpyDeviceToHost));
    OK(cudaMemcpy(lgot, dloss, sizeof lgot, cudaMemcpyDeviceToHost));
    {
        double worst = 0.0;
        for (int i = 0; i < ROWS; i++) {
            double rel = fabs(lgot[i] - lwant[i]) / (fabs(lwant[i]) > 1e-6 ? fabs(lwant[i]) : 1e-6);
            if (rel > worst || rel != rel) worst = rel;
        }
        double wd = worst_rel(dgot, dwant, nv);
        line(r,
             c == 1   ? "cross-entropy, 1 class"
             : c == 3 ? "cross-entropy, 3 classes"
                      : "cross-entropy, 11 classes",
             nv, worst > wd ? worst : wd, worst <= 1e-5 && wd <= 1e-5);
    }
    {
        double hwant[ROWS], swant[ROWS], hgot[ROWS], sgot[ROWS];
        float hdwant[ROWS * 11] = {0}, sdwant[ROWS * 11], hdgot[ROWS * 11], sdgot[ROWS * 11];
        float *ddsq = NULL;
        double *dsq = NULL;
        for (int i = 0; i < ROWS; i++) {
            hwant[i] = swant[i] = 0.0;
            vl_nn_kern_hinge_row(logits + (size_t)i * c, c, labels[i], 1.0f,
                                 1.0 / ((double)c * ROWS), &hwant[i], hdwant + (size_t)i * c);
            vl_nn_kern_sq_hinge_row(logits + (size_t)i * c, c, labels[i], ROWS, &swant[i],
                                    sdwant + (size_t)i * c);
        }
        int ok = cudaMalloc(&ddsq, nv * sizeof(float)) == cudaSuccess &&
                 cudaMalloc(&dsq, sizeof sgot) == cudaSuccess &&
                 cudaMemset(dd, 0, nv * sizeof(float)) == cudaSuccess;
        if (ok) {
            hinge_rows<<<1, ROWS>>>(ROWS, c, dl, dlab, dloss, dd, dsq, ddsq);
            ok = cudaMemcpy(hgot, dloss, sizeof hgot, cudaMemcpyDeviceToHost) == cudaSuccess &&
                 cudaMemcpy(sgot, dsq, sizeof sgot, cudaMemcpyDeviceToHost) == cudaSuccess &&
                 cudaMemcpy(hdgot, dd, nv * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess &&
                 cudaMemcpy(sdgot, ddsq, nv * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess;
        }
        cudaFree(ddsq), cudaFree(dsq);
        if (!ok) goto fail;
        double worst = 0.0;
        for (int i = 0; i < ROWS; i++) {
            double a = fabs(hgot[i] - hwant[i]) / (fabs(hwant[i]) > 1e-6 ? fabs(hwant[i]) : 1e-6);
            double b = fabs(sgot[i] - swant[i]) / (fabs(swant[i]) > 1e-6 ? fabs(swant[i]) : 1e-6);
            if (a > worst || a != a) worst = a;
            if (b > worst || b != b) worst = b;
        }
        double wh = worst_rel(hdgot, hdwant, nv), ws = worst_rel(sdgot, sdwant, nv);
        double all = worst > wh ? worst : wh;
        all = all > ws ? all : ws;
        line(r, "hinge and squared hinge rows", nv, all, all <= 1e-5);
    }
    cudaFree(dl), cudaFree(dd), cudaFree(dlab), cudaFree(dloss);
    return 0;
fail:
    cudaFree(dl), cudaFree(dd), cudaFree(dlab), cudaFree(dloss);
    return -1;
}

/* Runs the shared nn bodies on device 0 against the host; a line per check
 * in text (n bytes).  0: all within tolerance; 1: a mismatch; 77: no usable
 * device; -1: a CUDA error. */
extern "C" __attribute__((visibility("default"))) int vl_cuda_nn_kern_parity(char *text, size_t n)
{
    struct parity r = {text, n, 0, 0};
    if (n) text[0] = '\0';
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count < 1) {
        (void)cudaGetLastError();
        if (n) snprintf(text, n, "no usable cuda device\n");
        return 77;
    }
    static const size_t sizes[] = {1, 7, 33, 1001, (1u << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (check_size(&r, sizes[i]) < 0) return -1;
    static const int classes[] = {1, 3, 11};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
        if (check_loss(&r, classes[i]) < 0) return -1;
    if (check_gru(&r) < 0) return -1;
    return r.failures ? 1 : 0;
}
