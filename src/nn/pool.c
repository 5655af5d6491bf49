/* pool.c - 2-D max, average and adaptive average pooling, pooling over the
 * content area of each frame (the variable-aspect-ratio CNN's), the mean
 * over axes (global average pooling, pooling over time) and dropout: the
 * layers, and the CPU backend's kernels for them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu.h"
#include "nn/kern/dropout.h"
#include "nn/kern/pool.h"
#include "nn/layers.h"

void vl_nn_cpu_pool2d_forward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g,
                              const float *x, float *y, int *argmax)
{
    (void)ctx;
    size_t planes = (size_t)g->n * g->c;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * g->h * g->w;
        float *yp = y + p * g->oh * g->ow;
        int *ap = argmax ? argmax + p * g->oh * g->ow : NULL;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                int at;
                yp[oy * g->ow + ox] = vl_nn_kern_pool_at(g, xp, oy, ox, &at);
                if (g->kind == VL_NN_POOL_MAX) ap[oy * g->ow + ox] = at;
            }
    }
}

void vl_nn_cpu_pool2d_backward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g,
                               const float *dy, const int *argmax, float *dx)
{
    (void)ctx;
    size_t planes = (size_t)g->n * g->c;
    memset(dx, 0, planes * g->h * g->w * sizeof *dx);
    for (size_t p = 0; p < planes; p++) {
        float *dxp = dx + p * g->h * g->w;
        const float *dyp = dy + p * g->oh * g->ow;
        const int *ap = argmax ? argmax + p * g->oh * g->ow : NULL;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float d = dyp[oy * g->ow + ox];
                if (g->kind == VL_NN_POOL_MAX) {
                    dxp[ap[oy * g->ow + ox]] += d;
                    continue;
                }
                int y0, y1, x0, x1, div;
                vl_nn_kern_pool_window(g, oy, ox, &y0, &y1, &x0, &x1, &div);
                float share = d / (float)div;
                for (int i = y0; i < y1; i++)
                    for (int j = x0; j < x1; j++)
                        dxp[i * g->w + j] += share;
            }
    }
}

void vl_nn_cpu_mean_forward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                            const float *x, float *y)
{
    (void)ctx;
    for (size_t o = 0; o < outer; o++)
        for (size_t k = 0; k < inner; k++) {
            double s = 0.0;
            for (size_t i = 0; i < len; i++)
                s += x[(o * len + i) * inner + k];
            y[o * inner + k] = (float)(s / (double)len);
        }
}

void vl_nn_cpu_mean_backward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                             const float *dy, float *dx)
{
    (void)ctx;
    float scale = 1.0f / (float)len;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < len; i++)
            for (size_t k = 0; k < inner; k++)
                dx[(o * len + i) * inner + k] = dy[o * inner + k] * scale;
}

void vl_nn_cpu_dropout_forward(struct vl_nn_ctx *ctx, size_t n, float p, const float *x,
                               float *mask, float *y)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = vl_nn_kern_dropout_mask(vl_rng_uniform(&ctx->rng), p, keep);
        y[i] = x[i] * mask[i];
    }
}

/* Cell i of n over a valid extent v: [floor(i v / n), ceil((i + 1) v / n)). */
static void area_cell(int i, int n, int v, int *lo, int *hi)
{
    *lo = i * v / n;
    *hi = ((i + 1) * v + n - 1) / n;
}

void vl_nn_cpu_area_pool_forward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                                 const float *x, float *y)
{
    (void)ctx;
    int C = g->c, h = g->h, w = g->w, G = g->grid;
    for (int m = 0; m < g->m; m++) {
        int vh = g->vh[m / g->frames], vw = g->vw[m / g->frames];
        for (int ch = 0; ch < C; ch++) {
            const float *src = x + ((size_t)m * C + ch) * h * w;
            float *dst = y + ((size_t)m * C + ch) * G * G;
            for (int i = 0; i < G; i++)
                for (int j = 0; j < G; j++) {
                    int y0, y1, x0, x1;
                    area_cell(i, G, vh, &y0, &y1);
                    area_cell(j, G, vw, &x0, &x1);
                    double s = 0;
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++)
                            s += src[(size_t)yy * w + xx];
                    dst[i * G + j] = (float)(s / ((y1 - y0) * (x1 - x0)));
                }
        }
    }
}

void vl_nn_cpu_area_pool_backward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                                  const float *dy, float *dx)
{
    (void)ctx;
    int C = g->c, h = g->h, w = g->w, G = g->grid;
    memset(dx, 0, (size_t)g->m * C * h * w * sizeof *dx);
    for (int m = 0; m < g->m; m++) {
        int vh = g->vh[m / g->frames], vw = g->vw[m / g->frames];
        for (int ch = 0; ch < C; ch++) {
            float *dst = dx + ((size_t)m * C + ch) * h * w;
            const float *gr = dy + ((size_t)m * C + ch) * G * G;
            for (int i = 0; i < G; i++)
                for (int j = 0; j < G; j++) {
                    int y0, y1, x0, x1;
                    area_cell(i, G, vh, &y0, &y1);
                    area_cell(j, G, vw, &x0, &x1);
                    float v = gr[i * G + j] / (float)((y1 - y0) * (x1 - x0));
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++)
                            dst[(size_t)yy * w + xx] += v;
                }
        }
    }
}

/* -- pool2d layer -- */

static void pool_init(struct vl_nn_pool2d *l, enum vl_nn_pool_kind kind, int kernel, int stride,
                      int padding, int out_h, int out_w)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->kernel = kernel;
    l->stride = stride;
    l->padding = padding;
    l->out_h = out_h;
    l->out_w = out_w;
}

void vl_nn_maxpool2d_init(struct vl_nn_pool2d *l, int kernel, int stride, int padding)
{
    pool_init(l, VL_NN_POOL_MAX, kernel, stride, padding, 0, 0);
}

void vl_nn_avgpool2d_init(struct vl_nn_pool2d *l, int kernel, int stride, int padding)
{
    pool_init(l, VL_NN_POOL_AVG, kernel, stride, padding, 0, 0);
}

void vl_nn_adaptive_avgpool2d_init(struct vl_nn_pool2d *l, int out_h, int out_w)
{
    pool_init(l, VL_NN_POOL_ADAPTIVE_AVG, 0, 0, 0, out_h, out_w);
}

static int pool_geom(const struct vl_nn_pool2d *l, const int *shape, struct vl_nn_pool_geom *g,
                     struct vl_error *err)
{
    *g = (struct vl_nn_pool_geom){.kind = l->kind,
                                  .n = shape[0],
                                  .c = shape[1],
                                  .h = shape[2],
                                  .w = shape[3],
                                  .kernel = l->kernel,
                                  .stride = l->stride,
                                  .padding = l->padding};
    if (l->kind == VL_NN_POOL_ADAPTIVE_AVG) {
        if (l->out_h < 1 || l->out_w < 1)
            return vl_error_set(err, "adaptive pool: bad output size %dx%d", l->out_h, l->out_w);
        g->oh = l->out_h;
        g->ow = l->out_w;
        return 0;
    }
    if (l->kernel < 1 || l->stride < 1 || l->padding < 0 || 2 * l->padding > l->kernel)
        return vl_error_set(err, "pool: bad kernel %d, stride %d, padding %d", l->kernel, l->stride,
                            l->padding);
    if (g->h + 2 * g->padding < g->kernel || g->w + 2 * g->padding < g->kernel)
        return vl_error_set(err, "pool: input %dx%d is smaller than the kernel %d", g->h, g->w,
                            g->kernel);
    g->oh = (g->h + 2 * g->padding - g->kernel) / g->stride + 1;
    g->ow = (g->w + 2 * g->padding - g->kernel) / g->stride + 1;
    return 0;
}

/* Grows the argmax indices to y's size where y lives: y and argmax are made
 * by the same forward on the same context, so y's owner frees both. */
static int argmax_grow(struct vl_nn_ctx *ctx, struct vl_nn_pool2d *l, struct vl_error *err)
{
    size_t bytes = l->y.size * sizeof *l->argmax;
    if (l->y.mem == VL_NN_MEM_DEVICE) {
        ctx->backend->free(ctx, l->argmax);
        l->argmax_cap = 0;
        l->argmax = ctx->backend->alloc(ctx, bytes);
        if (!l->argmax)
            return vl_error_set(err, "pool: out of %s memory for %zu bytes of indices",
                                ctx->backend->name, bytes);
    } else {
        free(l->argmax);
        l->argmax = malloc(bytes);
        if (!l->argmax) abort();
    }
    l->argmax_cap = l->y.size;
    return 0;
}

int vl_nn_pool2d_forward(struct vl_nn_ctx *ctx, struct vl_nn_pool2d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err)
{
    char b[64];
    struct vl_nn_pool_geom g;
    if (x->ndim != 4)
        return vl_error_set(err, "pool: input %s is not [N, C, H, W]",
                            vl_nn_shape_str(x, b, sizeof b));
    if (pool_geom(l, x->shape, &g, err) < 0) return -1;
    int shape[4] = {g.n, g.c, g.oh, g.ow};
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, 4, shape, err) < 0) return -1;
    if (l->kind == VL_NN_POOL_MAX && l->y.size > l->argmax_cap && argmax_grow(ctx, l, err) < 0)
        return -1;
    ctx->backend->pool2d_forward(ctx, &g, x->data, l->y.data, l->argmax);
    memcpy(l->in_shape, x->shape, sizeof l->in_shape);
    *y = &l->y;
    return 0;
}

int vl_nn_pool2d_backward(struct vl_nn_ctx *ctx, struct vl_nn_pool2d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err)
{
    struct vl_nn_pool_geom g;
    if (!l->in_shape[0]) return vl_error_set(err, "pool: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "pool: gradient shape differs from the output's");
    if (!dx) return 0;
    if (pool_geom(l, l->in_shape, &g, err) < 0) return -1;
    if (vl_nn_tensor_resize_ctx(ctx, &l->dx, 4, l->in_shape, err) < 0) return -1;
    ctx->backend->pool2d_backward(ctx, &g, dy->data, l->argmax, l->dx.data);
    *dx = &l->dx;
    return 0;
}

void vl_nn_pool2d_free(struct vl_nn_pool2d *l)
{
    if (l->y.mem == VL_NN_MEM_DEVICE)
        l->y.owner->backend->free(l->y.owner, l->argmax);
    else
        free(l->argmax);
    l->argmax = NULL;
    l->argmax_cap = 0;
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}

/* -- mean over axes -- */

void vl_nn_mean_init(struct vl_nn_mean *l, int first, int last)
{
    memset(l, 0, sizeof *l);
    l->first = first;
    l->last = last;
}

/* x as [outer, len, inner] with len the product of the averaged axes. */
static int mean_split(const struct vl_nn_mean *l, int ndim, const int *shape, int *first, int *last,
                      size_t *outer, size_t *len, size_t *inner, struct vl_error *err)
{
    *first = l->first < 0 ? ndim + l->first : l->first;
    *last = l->last < 0 ? ndim + l->last : l->last;
    if (*first < 0 || *last >= ndim || *first > *last || *last - *first + 1 >= ndim)
        return vl_error_set(err, "mean: axes %d..%d do not fit a %d-d input", l->first, l->last,
                            ndim);
    *outer = *len = *inner = 1;
    for (int i = 0; i < ndim; i++) {
        size_t d = (size_t)shape[i];
        if (i < *first)
            *outer *= d;
        else if (i <= *last)
            *len *= d;
        else
            *inner *= d;
    }
    return 0;
}

int vl_nn_mean_forward(struct vl_nn_ctx *ctx, struct vl_nn_mean *l, const struct vl_nn_tensor *x,
                       struct vl_nn_tensor **y, struct vl_error *err)
{
    int first, last, shape[VL_NN_MAX_DIMS], nd = 0;
    size_t outer, len, inner;
    if (mean_split(l, x->ndim, x->shape, &first, &last, &outer, &len, &inner, err) < 0) return -1;
    for (int i = 0; i < x->ndim; i++)
        if (i < first || i > last) shape[nd++] = x->shape[i];
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, nd, shape, err) < 0) return -1;
    ctx->backend->mean_forward(ctx, outer, len, inner, x->data, l->y.data);
    l->in_ndim = x->ndim;
    memcpy(l->in_shape, x->shape, sizeof l->in_shape);
    *y = &l->y;
    return 0;
}

int vl_nn_mean_backward(struct vl_nn_ctx *ctx, struct vl_nn_mean *l, const struct vl_nn_tensor *dy,
                        struct vl_nn_tensor **dx, struct vl_error *err)
{
    int first, last;
    size_t outer, len, inner;
    if (!l->in_ndim) return vl_error_set(err, "mean: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "mean: gradient shape differs from the output's");
    if (!dx) return 0;
    if (mean_split(l, l->in_ndim, l->in_shape, &first, &last, &outer, &len, &inner, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->dx, l->in_ndim, l->in_shape, err) < 0)
        return -1;
    ctx->backend->mean_backward(ctx, outer, len, inner, dy->data, l->dx.data);
    *dx = &l->dx;
    return 0;
}

void vl_nn_mean_free(struct vl_nn_mean *l)
{
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}

/* -- dropout -- */

void vl_nn_dropout_init(struct vl_nn_dropout *l, float p)
{
    memset(l, 0, sizeof *l);
    l->p = p;
}

int vl_nn_dropout_forward(struct vl_nn_ctx *ctx, struct vl_nn_dropout *l,
                          const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                          struct vl_error *err)
{
    if (!(l->p >= 0.0f && l->p < 1.0f))
        return vl_error_set(err, "dropout: probability %g is outside [0, 1)", l->p);
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, x->ndim, x->shape, err) < 0) return -1;
    l->active = ctx->training && l->p > 0.0f;
    if (!l->active) {
        ctx->backend->copy(ctx, 1, x->size, x->data, 0, l->y.data, 0);
    } else {
        if (vl_nn_tensor_resize_ctx(ctx, &l->mask, x->ndim, x->shape, err) < 0) return -1;
        ctx->backend->dropout_forward(ctx, x->size, l->p, x->data, l->mask.data, l->y.data);
    }
    *y = &l->y;
    return 0;
}

int vl_nn_dropout_backward(struct vl_nn_ctx *ctx, struct vl_nn_dropout *l,
                           const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                           struct vl_error *err)
{
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "dropout: gradient shape differs from the output's");
    if (!dx) return 0;
    if (vl_nn_tensor_resize_ctx(ctx, &l->dx, dy->ndim, dy->shape, err) < 0) return -1;
    if (l->active)
        ctx->backend->mul(ctx, dy->size, dy->data, l->mask.data, l->dx.data);
    else
        ctx->backend->copy(ctx, 1, dy->size, dy->data, 0, l->dx.data, 0);
    *dx = &l->dx;
    return 0;
}

void vl_nn_dropout_free(struct vl_nn_dropout *l)
{
    vl_nn_tensor_free(&l->mask);
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}
