/* conv.c - conv2d and conv1d layers and the CPU convolution kernels:
 * im2col into the context's scratch, then one sgemm per sample.  The columns
 * are rebuilt in backward instead of being kept (a batch's columns are
 * kernel-size times its input), and the samples run in order, so the weight
 * gradient sums in a fixed order. */
#include <math.h>
#include <string.h>

#include "nn/cpu.h"
#include "nn/layers.h"

/* The outputs [*lo, *hi) of a row whose input column ox*sw - pw + j falls
 * inside 0..w-1: the loops below then run without bounds checks. */
static void valid_range(const struct vl_nn_conv_geom *g, int j, int *lo, int *hi)
{
    int first = g->pw - j, last = g->w - 1 + g->pw - j;
    *lo = first > 0 ? (first + g->sw - 1) / g->sw : 0;
    *hi = last >= 0 ? last / g->sw + 1 : 0;
    if (*hi > g->ow) *hi = g->ow;
    if (*lo > *hi) *lo = *hi;
}

/* col[(c*kh + i)*kw + j][oy*ow + ox] = x[c][oy*sh - ph + i][ox*sw - pw + j], or 0 */
static void im2col(const struct vl_nn_conv_geom *g, const float *x, float *col)
{
    int ohw = g->oh * g->ow;
    for (int c = 0; c < g->c; c++)
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                float *row = col + ((size_t)(c * g->kh + i) * g->kw + j) * ohw;
                const float *xc = x + (size_t)c * g->h * g->w;
                int lo, hi;
                valid_range(g, j, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int y = oy * g->sh - g->ph + i;
                    float *r = row + oy * g->ow;
                    if (y < 0 || y >= g->h) {
                        memset(r, 0, (size_t)g->ow * sizeof *r);
                        continue;
                    }
                    /* base may be negative; base + ox*sw is not, for ox in [lo, hi) */
                    long base = (long)y * g->w - g->pw + j;
                    for (int ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (g->sw == 1 && hi > lo)
                        memcpy(r + lo, xc + base + lo, (size_t)(hi - lo) * sizeof *r);
                    else
                        for (int ox = lo; ox < hi; ox++)
                            r[ox] = xc[base + (long)ox * g->sw];
                    for (int ox = hi; ox < g->ow; ox++)
                        r[ox] = 0.0f;
                }
            }
}

/* The adjoint of im2col: dx (zeroed here) += the column entries. */
static void col2im(const struct vl_nn_conv_geom *g, const float *col, float *dx)
{
    int ohw = g->oh * g->ow;
    memset(dx, 0, (size_t)g->c * g->h * g->w * sizeof *dx);
    for (int c = 0; c < g->c; c++)
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const float *row = col + ((size_t)(c * g->kh + i) * g->kw + j) * ohw;
                float *xc = dx + (size_t)c * g->h * g->w;
                int lo, hi;
                valid_range(g, j, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int y = oy * g->sh - g->ph + i;
                    if (y < 0 || y >= g->h) continue;
                    const float *r = row + oy * g->ow;
                    long base = (long)y * g->w - g->pw + j;
                    for (int ox = lo; ox < hi; ox++)
                        xc[base + (long)ox * g->sw] += r[ox];
                }
            }
}

/* A 1x1 convolution with unit stride and no padding reads x as its columns. */
static int is_pointwise(const struct vl_nn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

void vl_nn_cpu_conv2d_forward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                              const float *x, const float *w, const float *b, float *y)
{
    int ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
    int pointwise = is_pointwise(g);
    float *col = pointwise ? NULL : vl_nn_ctx_scratch(ctx, (size_t)ckk * ohw);
    for (int n = 0; n < g->n; n++) {
        const float *xn = x + (size_t)n * g->c * g->h * g->w;
        float *yn = y + (size_t)n * g->k * ohw;
        if (!pointwise) im2col(g, xn, col);
        for (int k = 0; k < g->k; k++) {
            float bias = b ? b[k] : 0.0f;
            for (int p = 0; p < ohw; p++)
                yn[(size_t)k * ohw + p] = bias;
        }
        ctx->backend->gemm(ctx, 0, 0, g->k, ohw, ckk, 1.0f, w, ckk, pointwise ? xn : col, ohw, 1.0f,
                           yn, ohw);
    }
}

void vl_nn_cpu_conv2d_backward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                               const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db)
{
    int ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
    int pointwise = is_pointwise(g);
    /* one scratch holds the columns and, after them, their gradient */
    float *col = vl_nn_ctx_scratch(ctx, (size_t)ckk * ohw * (pointwise ? 1 : 2));
    float *dcol = pointwise ? col : col + (size_t)ckk * ohw;
    for (int n = 0; n < g->n; n++) {
        const float *xn = x + (size_t)n * g->c * g->h * g->w;
        const float *dyn = dy + (size_t)n * g->k * ohw;
        if (!pointwise) im2col(g, xn, col);
        ctx->backend->gemm(ctx, 0, 1, g->k, ckk, ohw, 1.0f, dyn, ohw, pointwise ? xn : col, ohw,
                           1.0f, dw, ckk);
        if (db)
            for (int k = 0; k < g->k; k++) {
                double s = 0.0;
                for (int p = 0; p < ohw; p++)
                    s += dyn[(size_t)k * ohw + p];
                db[k] += (float)s;
            }
        if (dx) {
            float *dxn = dx + (size_t)n * g->c * g->h * g->w;
            if (pointwise) {
                ctx->backend->gemm(ctx, 1, 0, ckk, ohw, g->k, 1.0f, w, ckk, dyn, ohw, 0.0f, dxn,
                                   ohw);
            } else {
                ctx->backend->gemm(ctx, 1, 0, ckk, ohw, g->k, 1.0f, w, ckk, dyn, ohw, 0.0f, dcol,
                                   ohw);
                col2im(g, dcol, dxn);
            }
        }
    }
}

/* -- the layers -- */

static int conv_register(struct vl_nn_params *reg, const char *name, int in, int out, int ndim_w,
                         const int *wshape, int fan_in, int bias, struct vl_rng *rng,
                         struct vl_nn_param **weight, struct vl_nn_param **bias_out,
                         struct vl_error *err)
{
    *weight = vl_nn_params_add(reg, name, "weight", ndim_w, wshape, 1, 1, err);
    if (!*weight) return -1;
    float bound = 1.0f / sqrtf((float)fan_in);
    vl_nn_init_uniform(&(*weight)->value, bound, rng);
    *bias_out = NULL;
    if (bias) {
        *bias_out = vl_nn_params_add(reg, name, "bias", 1, &out, 1, 0, err);
        if (!*bias_out) return -1;
        vl_nn_init_uniform(&(*bias_out)->value, bound, rng);
    }
    return 0;
}

int vl_nn_conv2d_init(struct vl_nn_conv2d *l, struct vl_nn_params *reg, const char *name,
                      int in_channels, int out_channels, int kernel, int stride, int padding,
                      int bias, struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || padding < 0)
        return vl_error_set(err, "conv2d %s: bad configuration", name);
    l->in_channels = in_channels;
    l->out_channels = out_channels;
    l->kernel = kernel;
    l->stride = stride;
    l->padding = padding;
    int wshape[4] = {out_channels, in_channels, kernel, kernel};
    return conv_register(reg, name, in_channels, out_channels, 4, wshape,
                         in_channels * kernel * kernel, bias, rng, &l->weight, &l->bias, err);
}

static int conv2d_geom(const struct vl_nn_conv2d *l, const struct vl_nn_tensor *x,
                       struct vl_nn_conv_geom *g, struct vl_error *err)
{
    char s[64];
    if (x->ndim != 4 || x->shape[1] != l->in_channels)
        return vl_error_set(err, "conv2d: input %s is not [N, %d, H, W]",
                            vl_nn_shape_str(x, s, sizeof s), l->in_channels);
    *g = (struct vl_nn_conv_geom){.n = x->shape[0],
                                  .c = x->shape[1],
                                  .h = x->shape[2],
                                  .w = x->shape[3],
                                  .k = l->out_channels,
                                  .kh = l->kernel,
                                  .kw = l->kernel,
                                  .sh = l->stride,
                                  .sw = l->stride,
                                  .ph = l->padding,
                                  .pw = l->padding};
    g->oh = (g->h + 2 * g->ph - g->kh) / g->sh + 1;
    g->ow = (g->w + 2 * g->pw - g->kw) / g->sw + 1;
    if (g->h + 2 * g->ph < g->kh || g->w + 2 * g->pw < g->kw)
        return vl_error_set(err, "conv2d: input %s is smaller than the %dx%d kernel",
                            vl_nn_shape_str(x, s, sizeof s), g->kh, g->kw);
    return 0;
}

int vl_nn_conv2d_forward(struct vl_nn_ctx *ctx, struct vl_nn_conv2d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err)
{
    struct vl_nn_conv_geom g;
    if (conv2d_geom(l, x, &g, err) < 0) return -1;
    int shape[4] = {g.n, g.k, g.oh, g.ow};
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, 4, shape, err) < 0) return -1;
    ctx->backend->conv2d_forward(ctx, &g, x->data, l->weight->value.data,
                                 l->bias ? l->bias->value.data : NULL, l->y.data);
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_conv2d_backward(struct vl_nn_ctx *ctx, struct vl_nn_conv2d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err)
{
    struct vl_nn_conv_geom g;
    if (!l->x) return vl_error_set(err, "conv2d: backward before forward");
    if (conv2d_geom(l, l->x, &g, err) < 0) return -1;
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "conv2d: gradient shape differs from the output's");
    if (dx && vl_nn_tensor_resize_ctx(ctx, &l->dx, 4, l->x->shape, err) < 0) return -1;
    ctx->backend->conv2d_backward(ctx, &g, l->x->data, l->weight->value.data, dy->data,
                                  dx ? l->dx.data : NULL, l->weight->grad.data,
                                  l->bias ? l->bias->grad.data : NULL);
    if (dx) *dx = &l->dx;
    return 0;
}

void vl_nn_conv2d_free(struct vl_nn_conv2d *l)
{
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}

int vl_nn_conv1d_init(struct vl_nn_conv1d *l, struct vl_nn_params *reg, const char *name,
                      int in_channels, int out_channels, int kernel, int stride, int padding,
                      int bias, struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || padding < 0)
        return vl_error_set(err, "conv1d %s: bad configuration", name);
    l->in_channels = in_channels;
    l->out_channels = out_channels;
    l->kernel = kernel;
    l->stride = stride;
    l->padding = padding;
    int wshape[3] = {out_channels, in_channels, kernel};
    return conv_register(reg, name, in_channels, out_channels, 3, wshape, in_channels * kernel,
                         bias, rng, &l->weight, &l->bias, err);
}

/* [N, C, T] is [N, C, 1, T] with a 1 x k kernel. */
static int conv1d_geom(const struct vl_nn_conv1d *l, const struct vl_nn_tensor *x,
                       struct vl_nn_conv_geom *g, struct vl_error *err)
{
    char s[64];
    if (x->ndim != 3 || x->shape[1] != l->in_channels)
        return vl_error_set(err, "conv1d: input %s is not [N, %d, T]",
                            vl_nn_shape_str(x, s, sizeof s), l->in_channels);
    if (x->shape[2] + 2 * l->padding < l->kernel)
        return vl_error_set(err, "conv1d: input %s is shorter than the kernel %d",
                            vl_nn_shape_str(x, s, sizeof s), l->kernel);
    *g = (struct vl_nn_conv_geom){.n = x->shape[0],
                                  .c = x->shape[1],
                                  .h = 1,
                                  .w = x->shape[2],
                                  .k = l->out_channels,
                                  .kh = 1,
                                  .kw = l->kernel,
                                  .sh = 1,
                                  .sw = l->stride,
                                  .ph = 0,
                                  .pw = l->padding,
                                  .oh = 1};
    g->ow = (g->w + 2 * g->pw - g->kw) / g->sw + 1;
    return 0;
}

int vl_nn_conv1d_forward(struct vl_nn_ctx *ctx, struct vl_nn_conv1d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err)
{
    struct vl_nn_conv_geom g;
    if (conv1d_geom(l, x, &g, err) < 0) return -1;
    int shape[3] = {g.n, g.k, g.ow};
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, 3, shape, err) < 0) return -1;
    ctx->backend->conv2d_forward(ctx, &g, x->data, l->weight->value.data,
                                 l->bias ? l->bias->value.data : NULL, l->y.data);
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_conv1d_backward(struct vl_nn_ctx *ctx, struct vl_nn_conv1d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err)
{
    struct vl_nn_conv_geom g;
    if (!l->x) return vl_error_set(err, "conv1d: backward before forward");
    if (conv1d_geom(l, l->x, &g, err) < 0) return -1;
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "conv1d: gradient shape differs from the output's");
    if (dx && vl_nn_tensor_resize_ctx(ctx, &l->dx, 3, l->x->shape, err) < 0) return -1;
    ctx->backend->conv2d_backward(ctx, &g, l->x->data, l->weight->value.data, dy->data,
                                  dx ? l->dx.data : NULL, l->weight->grad.data,
                                  l->bias ? l->bias->grad.data : NULL);
    if (dx) *dx = &l->dx;
    return 0;
}

void vl_nn_conv1d_free(struct vl_nn_conv1d *l)
{
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}
