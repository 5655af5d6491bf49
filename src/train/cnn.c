/* cnn.c - the convolutional clip models.
 *
 * naive_cnn: every frame through the same small CNN, the per-frame logits
 * averaged over frames.  It sees one frame at a time, so it cannot tell a
 * motion's direction; it is the baseline that shows what appearance alone
 * gives.  Blocks b = 1..depth (default 2): conv3x3 (hidden, then 2 hidden
 * channels, default hidden 8) + ReLU + max-pool 2; then global average
 * pooling and "head" linear to the classes.
 *   names: block{b}.conv.weight [C_b, C_{b-1}, 3, 3], block{b}.conv.bias,
 *          head.weight [K, C_depth], head.bias [K]
 *
 * variable_ar_cnn: frames of any size (scale's mode=var clips, padded to the
 * largest frame of the set, the true size from each clip's sidecar).
 * Blocks b = 1..depth (default 2): conv3x3 (He-initialised, no bias) +
 * batch norm (momentum 0.1) + ReLU + max-pool 2, channels hidden, 2 hidden,
 * 2 hidden, ... (default hidden 8); then adaptive average pooling of the
 * *true picture area* to a 4x4 grid (padding never enters it, and the grid
 * keeps coarse position, which is what motion is made of); then, for each
 * of the 16 cells, its C features over the T frames go through one shared
 * temporal conv1d (kernel 3, 16 channels) + ReLU and a mean over time (a
 * (2+1)-D factorisation: what changed where), and the "head" linear maps
 * the 16 cells x 16 channels to the classes.  (A direction is the spatial
 * layout of where things appear and disappear, which that head can read.)
 *   names: block{b}.conv.weight, block{b}.bn.{weight,bias,running_mean,
 *          running_var}, temporal.weight [16, C, 3], temporal.bias [16],
 *          head.weight [K, 16 * 16], head.bias [K]
 * Batch statistics do include the padded area of frames smaller than the
 * largest; the pooling that feeds the classifier does not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"
#include "train/model.h"

#define MAX_BLOCKS 6
#define GRID 4
#define TEMPORAL 16

struct block {
    struct vl_nn_conv2d conv;
    struct vl_nn_batchnorm bn;
    struct vl_nn_activation relu;
    struct vl_nn_pool2d pool;
    int has_bn, has_pool;
};

struct cnn {
    int depth, frames, variable;
    struct block blocks[MAX_BLOCKS];
    /* naive */
    struct vl_nn_mean spatial, over_time;
    /* variable */
    struct vl_nn_conv1d temporal;
    struct vl_nn_activation temporal_relu;
    struct vl_nn_mean time_mean;
    struct vl_nn_tensor grid, dgrid_in, seq, dseq; /* masked pooling and the axis swap */
    const struct vl_nn_tensor *pooled_from;
    struct vl_nn_tensor frames_view, per_frame_view, dper_frame_view, cells_view, head_view,
        dhead_view; /* views, never freed */
    int in_h, in_w;             /* frame size of the batch */
    const int *content_h, *content_w;
    int *area_h, area_cap; /* the pooling's valid extents: [N] heights, then [N] widths */
    struct vl_nn_linear head;
};

static int block_init(struct block *b, struct vl_nn_params *reg, int index, int in, int out,
                      int bn, int pool, struct vl_rng *rng, struct vl_error *err)
{
    char name[64];
    snprintf(name, sizeof name, "block%d.conv", index);
    if (vl_nn_conv2d_init(&b->conv, reg, name, in, out, 3, 1, 1, !bn, rng, err) < 0) return -1;
    if (bn) {
        vl_nn_init_kaiming_normal(&b->conv.weight->value, in * 9, rng);
        snprintf(name, sizeof name, "block%d.bn", index);
        if (vl_nn_batchnorm_init(&b->bn, reg, name, out, err) < 0) return -1;
    }
    vl_nn_activation_init(&b->relu, VL_NN_RELU);
    vl_nn_maxpool2d_init(&b->pool, 2, 2, 0);
    b->has_bn = bn;
    b->has_pool = pool;
    return 0;
}

static int block_forward(struct vl_nn_ctx *ctx, struct block *b, const struct vl_nn_tensor *x,
                         struct vl_nn_tensor **y, struct vl_error *err)
{
    struct vl_nn_tensor *t;
    if (vl_nn_conv2d_forward(ctx, &b->conv, x, &t, err) < 0) return -1;
    if (b->has_bn && vl_nn_batchnorm_forward(ctx, &b->bn, t, &t, err) < 0) return -1;
    if (vl_nn_activation_forward(ctx, &b->relu, t, &t, err) < 0) return -1;
    if (b->has_pool && vl_nn_pool2d_forward(ctx, &b->pool, t, &t, err) < 0) return -1;
    *y = t;
    return 0;
}

static int block_backward(struct vl_nn_ctx *ctx, struct block *b, const struct vl_nn_tensor *dy,
                          struct vl_nn_tensor **dx, struct vl_error *err)
{
    struct vl_nn_tensor *t = (struct vl_nn_tensor *)dy;
    if (b->has_pool && vl_nn_pool2d_backward(ctx, &b->pool, t, &t, err) < 0) return -1;
    if (vl_nn_activation_backward(ctx, &b->relu, t, &t, err) < 0) return -1;
    if (b->has_bn && vl_nn_batchnorm_backward(ctx, &b->bn, t, &t, err) < 0) return -1;
    return vl_nn_conv2d_backward(ctx, &b->conv, t, dx, err);
}

static void block_free(struct block *b)
{
    vl_nn_conv2d_free(&b->conv);
    if (b->has_bn) vl_nn_batchnorm_free(&b->bn);
    vl_nn_activation_free(&b->relu);
    vl_nn_pool2d_free(&b->pool);
}

static int create(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                  int variable, struct vl_error *err)
{
    struct cnn *c = calloc(1, sizeof *c);
    if (!c) abort();
    m->impl = c;
    c->variable = variable;
    c->frames = cfg->frames;
    c->depth = cfg->depth ? cfg->depth : 2;
    if (c->depth > MAX_BLOCKS) return vl_error_set(err, "depth %d: at most %d", c->depth, MAX_BLOCKS);
    int hidden = cfg->hidden ? cfg->hidden : 8;
    int in = 3, size = cfg->height < cfg->width ? cfg->height : cfg->width;
    for (int b = 0; b < c->depth; b++) {
        int out = b == 0 ? hidden : 2 * hidden;
        if (size < 2)
            return vl_error_set(err, "frames of %dx%d are too small for %d blocks", cfg->width,
                                cfg->height, c->depth);
        if (block_init(&c->blocks[b], &m->params, b + 1, in, out, variable, 1, rng, err) < 0)
            return -1;
        in = out;
        size /= 2;
    }
    vl_nn_tensor_init(&c->grid);
    vl_nn_tensor_init(&c->dgrid_in);
    vl_nn_tensor_init(&c->seq);
    vl_nn_tensor_init(&c->dseq);
    if (!variable) {
        vl_nn_mean_init(&c->spatial, 2, -1);
        vl_nn_mean_init(&c->over_time, 1, 1);
        return vl_nn_linear_init(&c->head, &m->params, "head", in, cfg->n_classes, 1, rng, err);
    }
    if (vl_nn_conv1d_init(&c->temporal, &m->params, "temporal", in, TEMPORAL, 3, 1, 1, 1, rng,
                          err) < 0)
        return -1;
    vl_nn_activation_init(&c->temporal_relu, VL_NN_RELU);
    vl_nn_mean_init(&c->time_mean, 2, 2);
    return vl_nn_linear_init(&c->head, &m->params, "head", GRID * GRID * TEMPORAL,
                             cfg->n_classes, 1, rng, err);
}

static int create_naive(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                        struct vl_error *err)
{
    return create(m, cfg, rng, 0, err);
}

static int create_variable(struct vl_model *m, const struct vl_model_config *cfg,
                           struct vl_rng *rng, struct vl_error *err)
{
    return create(m, cfg, rng, 1, err);
}

/* The valid extent of a feature map of size s for a picture of c in a frame of f. */
static int valid(int s, int c, int f)
{
    int v = (int)(((long)c * s + f - 1) / f);
    return v < 1 ? 1 : v > s ? s : v;
}

/* The geometry of pooling x [M, C, h, w] to [M, C, 4, 4] over each sample's
 * true picture area: its valid extents go to c->area_h, c->area_w. */
static struct vl_nn_area_geom area_geom(struct cnn *c, const struct vl_nn_tensor *x)
{
    int M = x->shape[0], h = x->shape[2], w = x->shape[3], N = M / c->frames;
    if (N > c->area_cap) {
        free(c->area_h);
        c->area_h = malloc(2 * (size_t)N * sizeof *c->area_h);
        if (!c->area_h) abort();
        c->area_cap = N;
    }
    int *vh = c->area_h, *vw = c->area_h + N;
    for (int n = 0; n < N; n++) {
        vh[n] = c->content_h ? valid(h, c->content_h[n], c->in_h) : h;
        vw[n] = c->content_w ? valid(w, c->content_w[n], c->in_w) : w;
    }
    return (struct vl_nn_area_geom){.m = M,
                                    .c = x->shape[1],
                                    .h = h,
                                    .w = w,
                                    .grid = GRID,
                                    .frames = c->frames,
                                    .vh = vh,
                                    .vw = vw};
}

/* x [M, C, h, w] -> grid [M, C, 4, 4] averaging the true picture area only. */
static int masked_pool(struct vl_nn_ctx *ctx, struct cnn *c, const struct vl_nn_tensor *x,
                       struct vl_error *err)
{
    int shape[4] = {x->shape[0], x->shape[1], GRID, GRID};
    if (vl_nn_tensor_resize_ctx(ctx, &c->grid, 4, shape, err) < 0) return -1;
    struct vl_nn_area_geom g = area_geom(c, x);
    ctx->backend->area_pool_forward(ctx, &g, x->data, c->grid.data);
    c->pooled_from = x;
    return 0;
}

static int masked_pool_backward(struct vl_nn_ctx *ctx, struct cnn *c,
                                const struct vl_nn_tensor *dgrid, struct vl_error *err)
{
    const struct vl_nn_tensor *x = c->pooled_from;
    if (vl_nn_tensor_resize_ctx(ctx, &c->dgrid_in, 4, x->shape, err) < 0) return -1;
    struct vl_nn_area_geom g = area_geom(c, x);
    ctx->backend->area_pool_backward(ctx, &g, dgrid->data, c->dgrid_in.data);
    return 0;
}

static int forward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_error *err)
{
    struct cnn *c = m->impl;
    const struct vl_nn_tensor *x = b->x;
    int N = x->shape[0], T = x->shape[1];
    c->in_h = x->shape[3];
    c->in_w = x->shape[4];
    c->content_h = c->variable ? b->content_h : NULL;
    c->content_w = c->variable ? b->content_w : NULL;
    int fshape[4] = {N * T, 3, x->shape[3], x->shape[4]};
    /* layers keep a pointer to their input until backward: views live in c */
    c->frames_view = vl_nn_tensor_view(x, 4, fshape);
    struct vl_nn_tensor *t = &c->frames_view;
    for (int i = 0; i < c->depth; i++)
        if (block_forward(ctx, &c->blocks[i], t, &t, err) < 0) return -1;
    if (!c->variable) {
        struct vl_nn_tensor *pooled, *per_frame;
        if (vl_nn_mean_forward(ctx, &c->spatial, t, &pooled, err) < 0 ||
            vl_nn_linear_forward(ctx, &c->head, pooled, &per_frame, err) < 0)
            return -1;
        int s3[3] = {N, T, per_frame->shape[1]};
        c->per_frame_view = vl_nn_tensor_view(per_frame, 3, s3);
        return vl_nn_mean_forward(ctx, &c->over_time, &c->per_frame_view, logits, err);
    }
    if (masked_pool(ctx, c, t, err) < 0) return -1;
    int C = c->grid.shape[1];
    int s4[4] = {N, T, C, GRID * GRID};
    struct vl_nn_tensor ntcg = vl_nn_tensor_view(&c->grid, 4, s4);
    if (vl_nn_tensor_swap_axes_ctx(ctx, &c->seq, &ntcg, 1, 3, err) < 0)
        return -1; /* [N, 16, C, T] */
    int s3[3] = {N * GRID * GRID, C, T};
    c->cells_view = vl_nn_tensor_view(&c->seq, 3, s3);
    struct vl_nn_tensor *y;
    if (vl_nn_conv1d_forward(ctx, &c->temporal, &c->cells_view, &y, err) < 0 ||
        vl_nn_activation_forward(ctx, &c->temporal_relu, y, &y, err) < 0 ||
        vl_nn_mean_forward(ctx, &c->time_mean, y, &y, err) < 0) /* [N*16, 16] */
        return -1;
    int s2[2] = {N, GRID * GRID * TEMPORAL};
    c->head_view = vl_nn_tensor_view(y, 2, s2);
    return vl_nn_linear_forward(ctx, &c->head, &c->head_view, logits, err);
}

static int backward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_nn_tensor *dlogits,
                    struct vl_error *err)
{
    struct cnn *c = m->impl;
    struct vl_nn_tensor *d;
    if (!c->variable) {
        struct vl_nn_tensor *dseq;
        if (vl_nn_mean_backward(ctx, &c->over_time, dlogits, &dseq, err) < 0) return -1;
        int s2[2] = {dseq->shape[0] * dseq->shape[1], dseq->shape[2]};
        c->dper_frame_view = vl_nn_tensor_view(dseq, 2, s2);
        if (vl_nn_linear_backward(ctx, &c->head, &c->dper_frame_view, &d, err) < 0 ||
            vl_nn_mean_backward(ctx, &c->spatial, d, &d, err) < 0)
            return -1;
    } else {
        if (vl_nn_linear_backward(ctx, &c->head, dlogits, &d, err) < 0) return -1;
        int s2[2] = {d->shape[0] * GRID * GRID, TEMPORAL};
        c->dhead_view = vl_nn_tensor_view(d, 2, s2);
        if (vl_nn_mean_backward(ctx, &c->time_mean, &c->dhead_view, &d, err) < 0 ||
            vl_nn_activation_backward(ctx, &c->temporal_relu, d, &d, err) < 0 ||
            vl_nn_conv1d_backward(ctx, &c->temporal, d, &d, err) < 0)
            return -1;
        /* [N*16, C, T] = [N, 16, C, T] -> [N, T, C, 16] = [M, C, 4, 4] */
        int N = c->seq.shape[0];
        int sc[4] = {N, GRID * GRID, d->shape[1], d->shape[2]};
        struct vl_nn_tensor dcells = vl_nn_tensor_view(d, 4, sc);
        if (vl_nn_tensor_swap_axes_ctx(ctx, &c->dseq, &dcells, 1, 3, err) < 0) return -1;
        int s4[4] = {c->grid.shape[0], c->grid.shape[1], GRID, GRID};
        struct vl_nn_tensor dgrid = vl_nn_tensor_view(&c->dseq, 4, s4);
        if (masked_pool_backward(ctx, c, &dgrid, err) < 0) return -1;
        d = &c->dgrid_in;
    }
    for (int i = c->depth - 1; i >= 0; i--)
        if (block_backward(ctx, &c->blocks[i], d, i ? &d : NULL, err) < 0) return -1;
    return 0;
}

static void destroy(struct vl_model *m)
{
    struct cnn *c = m->impl;
    if (!c) return;
    for (int i = 0; i < c->depth && i < MAX_BLOCKS; i++) block_free(&c->blocks[i]);
    if (c->variable) {
        vl_nn_conv1d_free(&c->temporal);
        vl_nn_activation_free(&c->temporal_relu);
        vl_nn_mean_free(&c->time_mean);
    } else {
        vl_nn_mean_free(&c->spatial);
        vl_nn_mean_free(&c->over_time);
    }
    free(c->area_h);
    vl_nn_tensor_free(&c->grid);
    vl_nn_tensor_free(&c->dgrid_in);
    vl_nn_tensor_free(&c->seq);
    vl_nn_tensor_free(&c->dseq);
    vl_nn_linear_free(&c->head);
    free(c);
    m->impl = NULL;
}

const struct vl_model_def vl_model_naive_cnn = {
    .name = "naive_cnn",
    .kind = VL_DATA_CLIPS,
    .loss = VL_LOSS_CROSS_ENTROPY,
    .default_lr = 0.003,
    .create = create_naive,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};

const struct vl_model_def vl_model_variable_ar_cnn = {
    .name = "variable_ar_cnn",
    .kind = VL_DATA_CLIPS,
    .variable_size = 1,
    .loss = VL_LOSS_CROSS_ENTROPY,
    .default_lr = 0.003,
    .create = create_variable,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};
