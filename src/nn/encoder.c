/* encoder.c - the pre-norm transformer encoder block of the ViT models,
 * composed of layer norm, attention, linear, GELU and dropout layers with
 * two residual connections (see layers.h for the equations). */
#include <stdio.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"

/* Writes "name.part" (or "part" for an empty name) into buf. */
static const char *sub(char *buf, size_t n, const char *name, const char *part)
{
    snprintf(buf, n, "%s%s%s", name && *name ? name : "", name && *name ? "." : "", part);
    return buf;
}

int vl_nn_encoder_block_init(struct vl_nn_encoder_block *l, struct vl_nn_params *reg,
                             const char *name, int dim, int num_heads, int mlp_dim, float dropout,
                             struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    size_t n = strlen(name ? name : "") + 16;
    char buf[n];
    if (vl_nn_layernorm_init(&l->norm1, reg, sub(buf, n, name, "norm1"), dim, err) < 0 ||
        vl_nn_attention_init(&l->self_attn, reg, sub(buf, n, name, "self_attn"), dim, num_heads,
                             rng, err) < 0 ||
        vl_nn_linear_init(&l->linear1, reg, sub(buf, n, name, "linear1"), dim, mlp_dim, 1, rng,
                          err) < 0 ||
        vl_nn_linear_init(&l->linear2, reg, sub(buf, n, name, "linear2"), mlp_dim, dim, 1, rng,
                          err) < 0 ||
        vl_nn_layernorm_init(&l->norm2, reg, sub(buf, n, name, "norm2"), dim, err) < 0)
        return -1;
    vl_nn_activation_init(&l->act, VL_NN_GELU);
    vl_nn_dropout_init(&l->drop_attn, dropout);
    vl_nn_dropout_init(&l->drop_mlp, dropout);
    vl_nn_dropout_init(&l->drop_out, dropout);
    return 0;
}

/* out = a + b, element-wise (same sizes), on ctx's backend. */
static int add(struct vl_nn_ctx *ctx, struct vl_nn_tensor *out, const struct vl_nn_tensor *a,
               const struct vl_nn_tensor *b, struct vl_error *err)
{
    if (vl_nn_tensor_resize_ctx(ctx, out, a->ndim, a->shape, err) < 0) return -1;
    ctx->backend->add(ctx, 1, a->size, a->data, a->size, b->data, b->size, out->data, out->size);
    return 0;
}

int vl_nn_encoder_block_forward(struct vl_nn_ctx *ctx, struct vl_nn_encoder_block *l,
                                const struct vl_nn_tensor *x, const uint8_t *key_padding_mask,
                                struct vl_nn_tensor **y, struct vl_error *err)
{
    struct vl_nn_tensor *t;
    if (vl_nn_layernorm_forward(ctx, &l->norm1, x, &t, err) < 0 ||
        vl_nn_attention_forward(ctx, &l->self_attn, t, key_padding_mask, &t, err) < 0 ||
        vl_nn_dropout_forward(ctx, &l->drop_attn, t, &t, err) < 0 || add(ctx, &l->h, x, t, err) < 0)
        return vl_error_prefix(err, "encoder block");
    if (vl_nn_layernorm_forward(ctx, &l->norm2, &l->h, &t, err) < 0 ||
        vl_nn_linear_forward(ctx, &l->linear1, t, &t, err) < 0 ||
        vl_nn_activation_forward(ctx, &l->act, t, &t, err) < 0 ||
        vl_nn_dropout_forward(ctx, &l->drop_mlp, t, &t, err) < 0 ||
        vl_nn_linear_forward(ctx, &l->linear2, t, &t, err) < 0 ||
        vl_nn_dropout_forward(ctx, &l->drop_out, t, &t, err) < 0 ||
        add(ctx, &l->y, &l->h, t, err) < 0)
        return vl_error_prefix(err, "encoder block");
    *y = &l->y;
    return 0;
}

int vl_nn_encoder_block_backward(struct vl_nn_ctx *ctx, struct vl_nn_encoder_block *l,
                                 const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                                 struct vl_error *err)
{
    struct vl_nn_tensor *t;
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "encoder block: gradient shape differs from the output's");
    if (vl_nn_dropout_backward(ctx, &l->drop_out, dy, &t, err) < 0 ||
        vl_nn_linear_backward(ctx, &l->linear2, t, &t, err) < 0 ||
        vl_nn_dropout_backward(ctx, &l->drop_mlp, t, &t, err) < 0 ||
        vl_nn_activation_backward(ctx, &l->act, t, &t, err) < 0 ||
        vl_nn_linear_backward(ctx, &l->linear1, t, &t, err) < 0 ||
        vl_nn_layernorm_backward(ctx, &l->norm2, t, &t, err) < 0 ||
        add(ctx, &l->dh, dy, t, err) < 0)
        return vl_error_prefix(err, "encoder block");
    if (vl_nn_dropout_backward(ctx, &l->drop_attn, &l->dh, &t, err) < 0 ||
        vl_nn_attention_backward(ctx, &l->self_attn, t, &t, err) < 0)
        return vl_error_prefix(err, "encoder block");
    /* norm1's own gradients are needed even when the input's is not */
    if (vl_nn_layernorm_backward(ctx, &l->norm1, t, dx ? &t : NULL, err) < 0)
        return vl_error_prefix(err, "encoder block");
    if (!dx) return 0;
    if (add(ctx, &l->dx, &l->dh, t, err) < 0) return vl_error_prefix(err, "encoder block");
    *dx = &l->dx;
    return 0;
}

void vl_nn_encoder_block_free(struct vl_nn_encoder_block *l)
{
    vl_nn_layernorm_free(&l->norm1);
    vl_nn_layernorm_free(&l->norm2);
    vl_nn_attention_free(&l->self_attn);
    vl_nn_linear_free(&l->linear1);
    vl_nn_linear_free(&l->linear2);
    vl_nn_activation_free(&l->act);
    vl_nn_dropout_free(&l->drop_attn);
    vl_nn_dropout_free(&l->drop_mlp);
    vl_nn_dropout_free(&l->drop_out);
    vl_nn_tensor_free(&l->h);
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dh);
    vl_nn_tensor_free(&l->dx);
}
