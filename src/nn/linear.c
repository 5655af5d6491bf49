/* linear.c - the linear layer (one sgemm over every leading axis at once)
 * and the element-wise activation layer. */
#include <math.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"

int vl_nn_linear_init(struct vl_nn_linear *l, struct vl_nn_params *reg, const char *name,
                      int in_features, int out_features, int bias, struct vl_rng *rng,
                      struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (in_features < 1 || out_features < 1)
        return vl_error_set(err, "linear %s: bad sizes %d -> %d", name, in_features, out_features);
    l->in_features = in_features;
    l->out_features = out_features;
    int wshape[2] = {out_features, in_features};
    l->weight = vl_nn_params_add(reg, name, "weight", 2, wshape, 1, 1, err);
    if (!l->weight) return -1;
    float bound = 1.0f / sqrtf((float)in_features);
    vl_nn_init_uniform(&l->weight->value, bound, rng);
    if (bias) {
        l->bias = vl_nn_params_add(reg, name, "bias", 1, &out_features, 1, 0, err);
        if (!l->bias) return -1;
        vl_nn_init_uniform(&l->bias->value, bound, rng);
    }
    return 0;
}

int vl_nn_linear_forward(struct vl_nn_ctx *ctx, struct vl_nn_linear *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err)
{
    char s[64];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != l->in_features)
        return vl_error_set(err, "linear: input %s does not end in %d",
                            vl_nn_shape_str(x, s, sizeof s), l->in_features);
    int shape[VL_NN_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = l->out_features;
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, x->ndim, shape, err) < 0) return -1;
    int rows = (int)(x->size / (size_t)l->in_features), out = l->out_features;
    if (l->bias)
        ctx->backend->copy(ctx, (size_t)rows, (size_t)out, l->bias->value.data, 0, l->y.data,
                           (size_t)out);
    ctx->backend->gemm(ctx, 0, 1, rows, out, l->in_features, 1.0f, x->data, l->in_features,
                       l->weight->value.data, l->in_features, l->bias ? 1.0f : 0.0f, l->y.data,
                       out);
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_linear_backward(struct vl_nn_ctx *ctx, struct vl_nn_linear *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err)
{
    if (!l->x) return vl_error_set(err, "linear: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "linear: gradient shape differs from the output's");
    int rows = (int)(dy->size / (size_t)l->out_features), in = l->in_features;
    int out = l->out_features;
    /* dW[out, in] += dy^T x */
    ctx->backend->gemm(ctx, 1, 0, out, in, rows, 1.0f, dy->data, out, l->x->data, in, 1.0f,
                       l->weight->grad.data, in);
    if (l->bias)
        ctx->backend->bias_grad(ctx, (size_t)rows, out, (size_t)out, dy->data, l->bias->grad.data);
    if (dx) {
        if (vl_nn_tensor_resize_ctx(ctx, &l->dx, l->x->ndim, l->x->shape, err) < 0) return -1;
        ctx->backend->gemm(ctx, 0, 0, rows, in, out, 1.0f, dy->data, out, l->weight->value.data, in,
                           0.0f, l->dx.data, in);
        *dx = &l->dx;
    }
    return 0;
}

void vl_nn_linear_free(struct vl_nn_linear *l)
{
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}

void vl_nn_activation_init(struct vl_nn_activation *l, enum vl_nn_act_kind kind)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
}

int vl_nn_activation_forward(struct vl_nn_ctx *ctx, struct vl_nn_activation *l,
                             const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                             struct vl_error *err)
{
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, x->ndim, x->shape, err) < 0) return -1;
    ctx->backend->activation_forward(ctx, l->kind, x->size, x->data, l->y.data);
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_activation_backward(struct vl_nn_ctx *ctx, struct vl_nn_activation *l,
                              const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                              struct vl_error *err)
{
    if (!l->x) return vl_error_set(err, "activation: backward before forward");
    if (dy->size != l->x->size)
        return vl_error_set(err, "activation: gradient shape differs from the output's");
    if (!dx) return 0;
    if (vl_nn_tensor_resize_ctx(ctx, &l->dx, l->x->ndim, l->x->shape, err) < 0) return -1;
    ctx->backend->activation_backward(ctx, l->kind, dy->size, l->x->data, dy->data, l->dx.data);
    *dx = &l->dx;
    return 0;
}

void vl_nn_activation_free(struct vl_nn_activation *l)
{
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}
