/* kernels_pool.cu - the CUDA backend's pooling: 2-D max / average /
 * adaptive average pooling and pooling over each frame's content area,
 * forward and backward, through the bodies of nn/kern/pool.h.
 *
 * Forward: one thread per output, its window visited in the CPU's order
 * (so its bits).  Backward: one thread per input element gathering the
 * outputs whose window holds it in (oy, ox) order, which is the order the
 * CPU's scatter adds them in: the same bits again, with no atomics.  Max
 * pooling's argmax is the flat index within the plane, as the CPU's; it is
 * device memory.  The content area's vh and vw are host arrays, uploaded
 * into the kernel scratch.  Compiled by nvcc only; never run on a GPU yet. */
#include <cuda_runtime.h>

#include "cuda/nn/kernels.h"

extern "C" {
#include "nn/kern/pool.h"
}

#define ST(ctx) vl_cuda_nn_state_of(ctx)

/* Element-wise shape (kernels.cu's top): output i of planes [n c, oh, ow]
 * is (plane i / (oh ow), oy, ox); argmax[i] for max. */
__global__ static void k_pool_forward(size_t planes, struct vl_nn_pool_geom g, const float *x,
                                      float *y, int *argmax)
{
    size_t per = (size_t)g.oh * g.ow;
    for (size_t i = VL_KERN_FIRST_INDEX; i < planes * per; i += VL_KERN_STRIDE) {
        size_t p = i / per;
        int o = (int)(i % per), at;
        y[i] = vl_nn_kern_pool_at(&g, x + p * g.h * g.w, o / g.ow, o % g.ow, &at);
        if (g.kind == VL_NN_POOL_MAX) argmax[i] = at;
    }
}

/* Element-wise shape: input element i of planes [n c, h, w] gathers its gradient. */
__global__ static void k_pool_backward(size_t planes, struct vl_nn_pool_geom g, const float *dy,
                                       const int *argmax, float *dx)
{
    size_t per = (size_t)g.h * g.w, oper = (size_t)g.oh * g.ow;
    for (size_t i = VL_KERN_FIRST_INDEX; i < planes * per; i += VL_KERN_STRIDE) {
        size_t p = i / per;
        int e = (int)(i % per);
        dx[i] = vl_nn_kern_pool_grad_at(&g, dy + p * oper,
                                        g.kind == VL_NN_POOL_MAX ? argmax + p * oper : NULL,
                                        e / g.w, e % g.w);
    }
}

static void be_pool_forward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g, const float *x,
                            float *y, int *argmax)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    size_t planes = (size_t)g->n * g->c, n = planes * g->oh * g->ow;
    if (g->n <= 0 || g->c <= 0 || g->oh <= 0 || g->ow <= 0) return;
    k_pool_forward<<<vl_cuda_nn_kern_grid(n), VL_KERN_THREADS, 0, st->stream>>>(planes, *g, x, y,
                                                                                argmax);
    vl_cuda_nn_kern_launched(st, "pool forward");
}

static void be_pool_backward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g,
                             const float *dy, const int *argmax, float *dx)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    size_t planes = (size_t)g->n * g->c, n = planes * g->h * g->w;
    if (g->n <= 0 || g->c <= 0 || g->h <= 0 || g->w <= 0) return;
    k_pool_backward<<<vl_cuda_nn_kern_grid(n), VL_KERN_THREADS, 0, st->stream>>>(planes, *g, dy,
                                                                                 argmax, dx);
    vl_cuda_nn_kern_launched(st, "pool backward");
}

/* -- content-area pooling -- */

/* Element-wise shape: cell i of [m c, grid, grid], plane p = i / grid^2 of
 * frame p / c, sample frame / frames; vhw holds vh then vw per sample. */
__global__ static void k_area_forward(struct vl_nn_area_geom g, const int *vhw, int samples,
                                      const float *x, float *y)
{
    size_t per = (size_t)g.grid * g.grid, total = (size_t)g.m * g.c * per;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t p = i / per;
        int cell = (int)(i % per), s = (int)(p / g.c) / g.frames;
        y[i] = vl_nn_kern_area_mean_at(x + p * g.h * g.w, g.w, g.grid, vhw[s], vhw[samples + s],
                                       cell / g.grid, cell % g.grid);
    }
}

/* Element-wise shape: element i of [m c, h, w] gathers its cells' shares. */
__global__ static void k_area_backward(struct vl_nn_area_geom g, const int *vhw, int samples,
                                       const float *dy, float *dx)
{
    size_t per = (size_t)g.h * g.w, cells = (size_t)g.grid * g.grid,
           total = (size_t)g.m * g.c * per;
    for (size_t i = VL_KERN_FIRST_INDEX; i < total; i += VL_KERN_STRIDE) {
        size_t p = i / per;
        int e = (int)(i % per), s = (int)(p / g.c) / g.frames;
        dx[i] = vl_nn_kern_area_grad_at(dy + p * cells, g.grid, vhw[s], vhw[samples + s], e / g.w,
                                        e % g.w);
    }
}

/* Uploads vh and vw of the geometry's samples into the scratch; NULL after
 * a recorded failure. */
static const int *area_upload(struct vl_cuda_nn_state *st, const struct vl_nn_area_geom *g,
                              int *samples)
{
    *samples = (g->m + g->frames - 1) / g->frames;
    size_t bytes = (size_t)*samples * sizeof(int);
    int *d = (int *)vl_cuda_nn_kern_scratch(st, 2 * bytes);
    if (!d || vl_cuda_nn_kern_upload(st, d, g->vh, bytes) < 0 ||
        vl_cuda_nn_kern_upload(st, d + *samples, g->vw, bytes) < 0)
        return NULL;
    return d;
}

static void be_area_forward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g, const float *x,
                            float *y)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (g->m <= 0 || g->c <= 0 || g->grid <= 0 || g->frames <= 0) return;
    int samples;
    const int *vhw = area_upload(st, g, &samples);
    if (!vhw) return;
    struct vl_nn_area_geom k = *g;
    k.vh = k.vw = NULL; /* host pointers: the kernel reads vhw */
    size_t n = (size_t)g->m * g->c * g->grid * g->grid;
    k_area_forward<<<vl_cuda_nn_kern_grid(n), VL_KERN_THREADS, 0, st->stream>>>(k, vhw, samples, x,
                                                                                y);
    vl_cuda_nn_kern_launched(st, "area pool forward");
}

static void be_area_backward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                             const float *dy, float *dx)
{
    struct vl_cuda_nn_state *st = ST(ctx);
    if (g->m <= 0 || g->c <= 0 || g->h <= 0 || g->w <= 0 || g->frames <= 0) return;
    int samples;
    const int *vhw = area_upload(st, g, &samples);
    if (!vhw) return;
    struct vl_nn_area_geom k = *g;
    k.vh = k.vw = NULL;
    size_t n = (size_t)g->m * g->c * g->h * g->w;
    k_area_backward<<<vl_cuda_nn_kern_grid(n), VL_KERN_THREADS, 0, st->stream>>>(k, vhw, samples,
                                                                                 dy, dx);
    vl_cuda_nn_kern_launched(st, "area pool backward");
}

void vl_cuda_nn_fill_kernels_pool(struct vl_nn_backend *b)
{
    b->pool2d_forward = be_pool_forward;
    b->pool2d_backward = be_pool_backward;
    b->area_pool_forward = be_area_forward;
    b->area_pool_backward = be_area_backward;
}
