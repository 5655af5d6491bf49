/* kernels_loss.cu - the CUDA backend's three losses over logits [n, c]:
 * softmax cross-entropy, the multiclass hinge and the one-vs-rest squared
 * hinge, through the row bodies the CPU runs (nn/kern/loss.h).
 *
 * labels and class_weight are host arrays: each call uploads them into the
 * kernel scratch.  *loss is device memory (written where the logits live),
 * so the batch total never comes back: one thread per row puts the row's
 * term in its own double, and one block sums those in a fixed tree and
 * writes the float.  The CPU adds the rows in order into one double; the
 * device's tree rounds differently in the last places.
 * Compiled by nvcc only; never run on a GPU yet. */
#include <cuda_runtime.h>
#include <string.h>

#include "cuda/nn/kernels.h"

extern "C" {
#include "nn/kern/loss.h"
}

#define ST(ctx) vl_cuda_nn_state_of(ctx)

/* The scratch of one loss call: the uploaded labels and class weights,
 * each row's term and weight, and the weight sum. */
struct loss_scratch {
    int *labels;
    float *class_weight; /* NULL for none */
    double *term, *weight, *wsum;
};

/* Lays the scratch out for n rows and c classes and uploads the host
 * arrays; -1 after a recorded failure. */
static int loss_scratch(struct vl_cuda_nn_state *st, int n, int c, const int *labels,
                        const float *class_weight, struct loss_scratch *s)
{
    size_t lb = vl_cuda_nn_kern_align((size_t)n * sizeof(int));
    size_t wb = class_weight ? vl_cuda_nn_kern_align((size_t)c * sizeof(float)) : 0;
    size_t db = vl_cuda_nn_kern_align((size_t)n * sizeof(double));
    char *base = (char *)vl_cuda_nn_kern_scratch(st, lb + wb + 2 * db + sizeof(double));
    if (!base) return -1;
    s->labels = (int *)base;
    s->class_weight = class_weight ? (float *)(base + lb) : NULL;
    s->term = (double *)(base + lb + wb);
    s->weight = (double *)(base + lb + wb + db);
    s->wsum = (double *)(base + lb + wb + 2 * db);
    if (vl_cuda_nn_kern_upload(st, s->labels, labels, (size_t)n * sizeof(int)) < 0) return -1;
    if (class_weight &&
        vl_cuda_nn_kern_upload(st, s->class_weight, class_weight, (size_t)c * sizeof(float)) < 0)
        return -1;
    return 0;
}

/* Grid 1, block 256: thread t adds term[t], term[t + 256], ... in order,
 * the block's fixed tree joins them; thread 0 writes (float)(sum / div). */
__global__ static void k_loss_total(int n, const double *term, double div, float *loss)
{
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += VL_KERN_THREADS)
        s += term[i];
    s = vl_cuda_nn_kern_block_sum(s);
    if (threadIdx.x == 0) *loss = (float)(s / div);
}

/* -- cross-entropy -- */

/* One thread a row (grid ceil(n / 256)): the row's weight w and w times
 * its cross-entropy. */
__global__ static void k_ce_rows(int n, int c, const float *logits, const int *labels,
                                 const float *class_weight, double *term, double *weight)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double w = class_weight ? class_weight[labels[i]] : 1.0;
    term[i] = w * vl_nn_kern_ce_row_loss(logits + (size_t)i * c, c, labels[i]);
    weight[i] = w;
}

/* Grid 1, block 256: the sums of the terms and of the weights (fixed trees
 * as k_loss_total); thread 0 writes the weighted mean (0 without weight)
 * and keeps the weight sum for the gradient. */
__global__ static void k_ce_total(int n, const double *term, const double *weight, double *wsum,
                                  float *loss)
{
    double t = 0.0, w = 0.0;
    for (int i = threadIdx.x; i < n; i += VL_KERN_THREADS) {
        t += term[i];
        w += weight[i];
    }
    t = vl_cuda_nn_kern_block_sum(t);
    w = vl_cuda_nn_kern_block_sum(w);
    if (threadIdx.x == 0) {
        *loss = w > 0.0 ? (float)(t / w) : 0.0f;
        *wsum = w;
    }
}

/* One thread a row: its gradient at scale w / wsum (0 without weight). */
__global__ static void k_ce_grad(int n, int c, const float *logits, const int *labels,
                                 const double *weight, const double *wsum, float *dlogits)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double ws = *wsum, scale = ws > 0.0 ? weight[i] / ws : 0.0;
    vl_nn_kern_ce_row_grad(logits + (size_t)i * c, c, labels[i], scale, dlogits + (size_t)i * c);
}

static unsigned row_grid(int n)
{
    return n > 0 ? (unsigned)((n + VL_KERN_THREADS - 1) / VL_KERN_THREADS) : 1u;
}

static void be_cross_entropy(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                             const int *labels, const float *class_weight, float *loss,
                             float *dlogits)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    struct loss_scratch s;
    if (n < 0 || c <= 0 || loss_scratch(st, n, c, labels, class_weight, &s) < 0) return;
    k_ce_rows<<<row_grid(n), VL_KERN_THREADS, 0, st->stream>>>(n, c, logits, s.labels,
                                                               s.class_weight, s.term, s.weight);
    if (vl_cuda_nn_kern_launched(st, "cross-entropy") < 0) return;
    k_ce_total<<<1, VL_KERN_THREADS, 0, st->stream>>>(n, s.term, s.weight, s.wsum, loss);
    if (vl_cuda_nn_kern_launched(st, "cross-entropy") < 0 || !dlogits || n == 0) return;
    k_ce_grad<<<row_grid(n), VL_KERN_THREADS, 0, st->stream>>>(n, c, logits, s.labels, s.weight,
                                                               s.wsum, dlogits);
    vl_cuda_nn_kern_launched(st, "cross-entropy");
}

/* -- the hinges -- */

/* One thread a row: its multiclass hinge at scale w / (c n) into term[i],
 * its gradient row zeroed first, then filled (dlogits NULL: none). */
__global__ static void k_hinge_rows(int n, int c, const float *logits, const int *labels,
                                    const float *class_weight, float margin, double *term,
                                    float *dlogits)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int y = labels[i];
    double w = class_weight ? class_weight[y] : 1.0;
    float *d = dlogits ? dlogits + (size_t)i * c : NULL;
    if (d)
        for (int j = 0; j < c; j++)
            d[j] = 0.0f;
    term[i] = 0.0;
    vl_nn_kern_hinge_row(logits + (size_t)i * c, c, y, margin, w / ((double)c * n), &term[i], d);
}

/* One thread a row: its squared hinge into term[i] and its gradient row. */
__global__ static void k_sq_hinge_rows(int n, int c, const float *logits, const int *labels,
                                       double *term, float *dlogits)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    term[i] = 0.0;
    vl_nn_kern_sq_hinge_row(logits + (size_t)i * c, c, labels[i], n, &term[i],
                            dlogits ? dlogits + (size_t)i * c : NULL);
}

static void be_hinge_loss(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                          const int *labels, const float *class_weight, float margin, float *loss,
                          float *dlogits)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    struct loss_scratch s;
    if (n < 0 || c <= 0 || loss_scratch(st, n, c, labels, class_weight, &s) < 0) return;
    k_hinge_rows<<<row_grid(n), VL_KERN_THREADS, 0, st->stream>>>(
        n, c, logits, s.labels, s.class_weight, margin, s.term, dlogits);
    if (vl_cuda_nn_kern_launched(st, "hinge loss") < 0) return;
    k_loss_total<<<1, VL_KERN_THREADS, 0, st->stream>>>(n, s.term, 1.0, loss);
    vl_cuda_nn_kern_launched(st, "hinge loss");
}

/* The mean over the batch, as the CPU's total / n (n 0 gives its NaN). */
static void be_squared_hinge_ovr(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                                 const int *labels, float *loss, float *dlogits)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    struct loss_scratch s;
    if (n < 0 || c <= 0 || loss_scratch(st, n, c, labels, NULL, &s) < 0) return;
    k_sq_hinge_rows<<<row_grid(n), VL_KERN_THREADS, 0, st->stream>>>(n, c, logits, s.labels, s.term,
                                                                     dlogits);
    if (vl_cuda_nn_kern_launched(st, "squared hinge") < 0) return;
    k_loss_total<<<1, VL_KERN_THREADS, 0, st->stream>>>(n, s.term, (double)n, loss);
    vl_cuda_nn_kern_launched(st, "squared hinge");
}

void vl_cuda_nn_fill_kernels_loss(struct vl_nn_backend *b)
{
    b->cross_entropy = be_cross_entropy;
    b->hinge_loss = be_hinge_loss;
    b->squared_hinge_ovr = be_squared_hinge_ovr;
}
