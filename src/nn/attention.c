/* attention.c - multi-head self-attention (as nn.MultiheadAttention with
 * batch_first) and the ViT patch embedding.
 *
 * Attention keeps the projected q, k, v (the in-projection's output,
 * [N, L, 3E]) and the attention weights [N, H, L, L] for backward; the
 * heads' products are the backend's batched sgemm over one sample's heads
 * (d floats apart in q, k, v), straight on those buffers, so no head is
 * copied out.  The patch embedding's token layout is a backend entry too,
 * its CPU kernel defined here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/cpu.h"
#include "nn/layers.h"

int vl_nn_attention_init(struct vl_nn_attention *l, struct vl_nn_params *reg, const char *name,
                         int embed_dim, int num_heads, struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (embed_dim < 1 || num_heads < 1 || embed_dim % num_heads)
        return vl_error_set(err, "attention %s: embed_dim %d is not a multiple of %d heads", name,
                            embed_dim, num_heads);
    l->embed_dim = embed_dim;
    l->num_heads = num_heads;
    /* in_proj is registered under PyTorch's flat names, not in_proj.weight */
    struct vl_nn_linear *in = &l->in_proj;
    int wshape[2] = {3 * embed_dim, embed_dim}, bshape = 3 * embed_dim;
    in->in_features = embed_dim;
    in->out_features = 3 * embed_dim;
    in->weight = vl_nn_params_add(reg, name, "in_proj_weight", 2, wshape, 1, 1, err);
    if (!in->weight) return -1;
    vl_nn_init_xavier_uniform(&in->weight->value, embed_dim, 3 * embed_dim, rng);
    in->bias = vl_nn_params_add(reg, name, "in_proj_bias", 1, &bshape, 1, 0, err);
    if (!in->bias) return -1;
    size_t len = strlen(name ? name : "") + 16;
    char out_name[len];
    snprintf(out_name, len, "%s%sout_proj", name && *name ? name : "", name && *name ? "." : "");
    if (vl_nn_linear_init(&l->out_proj, reg, out_name, embed_dim, embed_dim, 1, rng, err) < 0)
        return -1;
    vl_nn_tensor_fill(&l->out_proj.bias->value, 0.0f);
    return 0;
}

int vl_nn_attention_forward(struct vl_nn_ctx *ctx, struct vl_nn_attention *l,
                            const struct vl_nn_tensor *x, const uint8_t *key_padding_mask,
                            struct vl_nn_tensor **y, struct vl_error *err)
{
    char b[64];
    int e = l->embed_dim, nh = l->num_heads, d = e / nh;
    if (x->ndim != 3 || x->shape[2] != e)
        return vl_error_set(err, "attention: input %s is not [N, L, %d]",
                            vl_nn_shape_str(x, b, sizeof b), e);
    int n = x->shape[0], len = x->shape[1];
    struct vl_nn_tensor *qkv;
    if (vl_nn_linear_forward(ctx, &l->in_proj, x, &qkv, err) < 0) return -1;
    int pshape[4] = {n, nh, len, len};
    if (vl_nn_tensor_resize_ctx(ctx, &l->probs, 4, pshape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->heads, 3, x->shape, err) < 0)
        return -1;
    float scale = 1.0f / sqrtf((float)d);
    const struct vl_nn_backend *be = ctx->backend;
    size_t pp = (size_t)len * len; /* one head's weights */
    for (int i = 0; i < n; i++) {  /* every head of sample i at once: heads are d apart */
        const float *q = qkv->data + (size_t)i * len * 3 * e, *k = q + e, *v = q + 2 * e;
        float *p = l->probs.data + (size_t)i * nh * pp;
        float *o = l->heads.data + (size_t)i * len * e;
        be->gemm_batched(ctx, 0, 1, len, len, d, scale, q, 3 * e, d, k, 3 * e, d, 0.0f, p, len, pp,
                         nh);
        be->softmax_rows(ctx, (size_t)nh * len, len, p,
                         key_padding_mask ? key_padding_mask + (size_t)i * len : NULL);
        be->gemm_batched(ctx, 0, 0, len, d, len, 1.0f, p, len, pp, v, 3 * e, d, 0.0f, o, e, d, nh);
    }
    l->mask = key_padding_mask;
    l->batch = n;
    l->length = len;
    return vl_nn_linear_forward(ctx, &l->out_proj, &l->heads, y, err);
}

int vl_nn_attention_backward(struct vl_nn_ctx *ctx, struct vl_nn_attention *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err)
{
    int e = l->embed_dim, nh = l->num_heads, d = e / nh, n = l->batch, len = l->length;
    if (!n) return vl_error_set(err, "attention: backward before forward");
    struct vl_nn_tensor *dheads;
    if (vl_nn_linear_backward(ctx, &l->out_proj, dy, &dheads, err) < 0) return -1;
    int qshape[3] = {n, len, 3 * e}, pshape[3] = {nh, len, len};
    if (vl_nn_tensor_resize_ctx(ctx, &l->dqkv, 3, qshape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->dprobs, 3, pshape, err) < 0)
        return -1;
    float scale = 1.0f / sqrtf((float)d);
    const struct vl_nn_backend *be = ctx->backend;
    const float *qkv = l->in_proj.y.data;
    float *dp = l->dprobs.data;
    size_t pp = (size_t)len * len;
    for (int i = 0; i < n; i++) { /* as forward: every head of sample i per call */
        size_t off = (size_t)i * len * 3 * e;
        const float *q = qkv + off, *k = q + e, *v = q + 2 * e;
        float *dq = l->dqkv.data + off, *dk = dq + e, *dv = dq + 2 * e;
        const float *p = l->probs.data + (size_t)i * nh * pp;
        const float *dout = dheads->data + (size_t)i * len * e;
        be->gemm_batched(ctx, 0, 1, len, len, d, 1.0f, dout, e, d, v, 3 * e, d, 0.0f, dp, len, pp,
                         nh);
        be->gemm_batched(ctx, 1, 0, len, d, len, 1.0f, p, len, pp, dout, e, d, 0.0f, dv, 3 * e, d,
                         nh);
        be->softmax_rows_backward(ctx, (size_t)nh * len, len, p, dp, dp);
        be->gemm_batched(ctx, 0, 0, len, d, len, scale, dp, len, pp, k, 3 * e, d, 0.0f, dq, 3 * e,
                         d, nh);
        be->gemm_batched(ctx, 1, 0, len, d, len, scale, dp, len, pp, q, 3 * e, d, 0.0f, dk, 3 * e,
                         d, nh);
    }
    return vl_nn_linear_backward(ctx, &l->in_proj, &l->dqkv, dx, err);
}

void vl_nn_attention_free(struct vl_nn_attention *l)
{
    vl_nn_linear_free(&l->in_proj);
    vl_nn_linear_free(&l->out_proj);
    vl_nn_tensor_free(&l->probs);
    vl_nn_tensor_free(&l->heads);
    vl_nn_tensor_free(&l->dqkv);
    vl_nn_tensor_free(&l->dprobs);
}

/* -- patch embedding -- */

void vl_nn_cpu_patch_tokens_forward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                    const float *conv, const float *cls_token, const float *pos,
                                    float *y)
{
    (void)ctx;
    int tokens = np + cls;
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * tokens * e;
        if (cls)
            for (int c = 0; c < e; c++)
                yi[c] = cls_token[c] + pos[c];
        for (int p = 0; p < np; p++)
            for (int c = 0; c < e; c++)
                yi[(size_t)(p + cls) * e + c] =
                    conv[((size_t)i * e + c) * np + p] + pos[(size_t)(p + cls) * e + c];
    }
}

void vl_nn_cpu_patch_tokens_backward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                     const float *dy, float *dconv, float *dpos, float *dcls)
{
    (void)ctx;
    int tokens = np + cls;
    for (int i = 0; i < n; i++) {
        const float *di = dy + (size_t)i * tokens * e;
        for (size_t j = 0; j < (size_t)tokens * e; j++)
            dpos[j] += di[j];
        if (cls)
            for (int c = 0; c < e; c++)
                dcls[c] += di[c];
        for (int p = 0; p < np; p++)
            for (int c = 0; c < e; c++)
                dconv[((size_t)i * e + c) * np + p] = di[(size_t)(p + cls) * e + c];
    }
}

int vl_nn_patch_embed_init(struct vl_nn_patch_embed *l, struct vl_nn_params *reg, const char *name,
                           int in_channels, int img_h, int img_w, int patch, int embed_dim,
                           int cls_token, struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (patch < 1 || img_h < patch || img_w < patch || img_h % patch || img_w % patch)
        return vl_error_set(err, "patch_embed %s: %dx%d is not a whole number of %d-pixel patches",
                            name, img_h, img_w, patch);
    l->embed_dim = embed_dim;
    l->patch = patch;
    l->grid_h = img_h / patch;
    l->grid_w = img_w / patch;
    l->cls = !!cls_token;
    size_t len = strlen(name ? name : "") + 8;
    char proj_name[len];
    snprintf(proj_name, len, "%s%sproj", name && *name ? name : "", name && *name ? "." : "");
    if (vl_nn_conv2d_init(&l->proj, reg, proj_name, in_channels, embed_dim, patch, patch, 0, 1, rng,
                          err) < 0)
        return -1;
    int tokens = l->grid_h * l->grid_w + l->cls;
    if (l->cls) {
        int cshape[3] = {1, 1, embed_dim};
        l->cls_token = vl_nn_params_add(reg, name, "cls_token", 3, cshape, 1, 0, err);
        if (!l->cls_token) return -1;
        vl_nn_init_trunc_normal(&l->cls_token->value, 0.02f, rng);
    }
    int pshape[3] = {1, tokens, embed_dim};
    l->pos_embed = vl_nn_params_add(reg, name, "pos_embed", 3, pshape, 1, 0, err);
    if (!l->pos_embed) return -1;
    vl_nn_init_trunc_normal(&l->pos_embed->value, 0.02f, rng);
    return 0;
}

int vl_nn_patch_embed_forward(struct vl_nn_ctx *ctx, struct vl_nn_patch_embed *l,
                              const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                              struct vl_error *err)
{
    char b[64];
    if (x->ndim != 4 || x->shape[2] != l->grid_h * l->patch || x->shape[3] != l->grid_w * l->patch)
        return vl_error_set(err, "patch_embed: input %s is not [N, C, %d, %d]",
                            vl_nn_shape_str(x, b, sizeof b), l->grid_h * l->patch,
                            l->grid_w * l->patch);
    struct vl_nn_tensor *conv;
    if (vl_nn_conv2d_forward(ctx, &l->proj, x, &conv, err) < 0) return -1;
    int n = x->shape[0], e = l->embed_dim, np = l->grid_h * l->grid_w, tokens = np + l->cls;
    int shape[3] = {n, tokens, e};
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, 3, shape, err) < 0) return -1;
    ctx->backend->patch_tokens_forward(ctx, n, np, e, l->cls, conv->data,
                                       l->cls ? l->cls_token->value.data : NULL,
                                       l->pos_embed->value.data, l->y.data);
    *y = &l->y;
    return 0;
}

int vl_nn_patch_embed_backward(struct vl_nn_ctx *ctx, struct vl_nn_patch_embed *l,
                               const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                               struct vl_error *err)
{
    if (!l->proj.x) return vl_error_set(err, "patch_embed: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "patch_embed: gradient shape differs from the output's");
    int n = dy->shape[0], e = l->embed_dim, np = l->grid_h * l->grid_w;
    if (vl_nn_tensor_resize_ctx(ctx, &l->dconv, 4, l->proj.y.shape, err) < 0) return -1;
    ctx->backend->patch_tokens_backward(ctx, n, np, e, l->cls, dy->data, l->dconv.data,
                                        l->pos_embed->grad.data,
                                        l->cls ? l->cls_token->grad.data : NULL);
    return vl_nn_conv2d_backward(ctx, &l->proj, &l->dconv, dx, err);
}

void vl_nn_patch_embed_free(struct vl_nn_patch_embed *l)
{
    vl_nn_conv2d_free(&l->proj);
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dconv);
}
