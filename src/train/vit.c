/* vit.c - the transformer clip models (every clip of one size; patch must
 * divide its height and width).
 *
 * vit_gru: each frame through a small ViT, all its output tokens (the class
 * token and the P patch tokens, in place order) each projected to D = 8
 * values by one shared linear layer, the frame's (1+P)D values into a GRU
 * over time, the last hidden state into a linear head.  The GRU sees the
 * token grid, not only the class token, so where things are in each frame,
 * and so how they move, reaches it directly: on small video sets a class
 * token alone memorised the training clips instead.  The shared projection
 * makes every place say the same few things (what is there) and leaves the
 * GRU's input weights to map place to motion; the whole E-wide grid gave it
 * four times the input weights, which fitted the training clips and
 * generalised worse (docs/training.md has the figures).
 *   patch_embed: conv patch x patch -> E (hidden, default 32) + class token
 *   + learned position embedding (std 0.02, as ViT); depth (default 1)
 *   pre-norm encoder blocks (heads default 2, MLP 2E, GELU); norm;
 *   token_proj (E -> D) on every token; every frame's tokens ->
 *   [N, T, (1+P)D]; gru ((1+P)D -> E, PyTorch's init); head (E -> K).
 *   names: patch_embed.{proj.weight [E,3,p,p], proj.bias, cls_token [1,1,E],
 *          pos_embed [1,1+P,E]}, blocks.{i}.{norm1,self_attn,linear1,linear2,
 *          norm2}.*, norm.{weight,bias}, token_proj.{weight [D,E], bias [D]},
 *          gru.{weight_ih_l0 [3E,(1+P)D], weight_hh_l0, bias_ih_l0,
 *          bias_hh_l0}, head.{weight [K,E], bias}
 *
 * vit_transformer: spatio-temporal tubelets, as ViViT's tubelet embedding:
 * tubelet t x patch x patch (t = 2 frames when T is even, else 1) embedded
 * by one conv over the t frames' stacked channels, plus a spatial position
 * embedding and a learned temporal one; depth (default 2) encoder blocks
 * over all T/t x P tokens; norm; mean over tokens; head.
 *   names: patch_embed.{proj.weight [E,3t,p,p], proj.bias, pos_embed
 *          [1,P,E]}, temporal_embed [T/t, E], blocks.{i}.*, norm.*, head.* */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"
#include "train/model.h"

#define MAX_DEPTH 12
#define TOKEN_DIM 8 /* vit_gru: values per token into the GRU */

struct vit {
    int gru_mode, frames, tube, depth;
    struct vl_nn_patch_embed embed;
    struct vl_nn_param *temporal_embed; /* vit_transformer: [T/t, E] */
    struct vl_nn_encoder_block blocks[MAX_DEPTH];
    struct vl_nn_layernorm norm;
    struct vl_nn_gru gru;
    struct vl_nn_mean token_mean;
    struct vl_nn_linear token_proj; /* vit_gru: E -> TOKEN_DIM on every token */
    struct vl_nn_linear head;
    struct vl_nn_tensor frames_view, tokens, tokens_view, pick, dpick, dtokens, seq_view;
};

/* y [A, E] = x[:, index, :] of x [A, L, E]. */
static int select_token(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *x, int index,
                        struct vl_nn_tensor *y, struct vl_error *err)
{
    int A = x->shape[0], L = x->shape[1], E = x->shape[2];
    int shape[2] = {A, E};
    if (vl_nn_tensor_resize_ctx(ctx, y, 2, shape, err) < 0) return -1;
    ctx->backend->copy(ctx, (size_t)A, (size_t)E, x->data + (size_t)index * E, (size_t)L * E,
                       y->data, (size_t)E);
    return 0;
}

/* dx [A, L, E]: zero but dx[:, index, :] = dy. */
static int select_token_backward(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *dy, int L,
                                 int index, struct vl_nn_tensor *dx, struct vl_error *err)
{
    int A = dy->shape[0], E = dy->shape[1];
    int shape[3] = {A, L, E};
    if (vl_nn_tensor_resize_ctx(ctx, dx, 3, shape, err) < 0) return -1;
    ctx->backend->fill(ctx, dx->size, 0.0f, dx->data);
    ctx->backend->copy(ctx, (size_t)A, (size_t)E, dy->data, (size_t)E, dx->data + (size_t)index * E,
                       (size_t)L * E);
    return 0;
}

static int create(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                  int gru_mode, struct vl_error *err)
{
    struct vit *v = calloc(1, sizeof *v);
    if (!v) abort();
    m->impl = v;
    v->gru_mode = gru_mode;
    v->frames = cfg->frames;
    v->tube = gru_mode || cfg->frames % 2 ? 1 : 2;
    v->depth = cfg->depth ? cfg->depth : gru_mode ? 1 : 2;
    int E = cfg->hidden ? cfg->hidden : 32;
    int heads = cfg->heads ? cfg->heads : 2;
    int patch = cfg->patch ? cfg->patch : 8;
    if (v->depth > MAX_DEPTH) return vl_error_set(err, "depth %d: at most %d", v->depth, MAX_DEPTH);
    if (cfg->height % patch || cfg->width % patch)
        return vl_error_set(err, "patch %d does not divide the %dx%d frames; set patch=", patch,
                            cfg->width, cfg->height);
    if (E % heads)
        return vl_error_set(err, "hidden %d is not a multiple of heads %d", E, heads);
    vl_nn_tensor_init(&v->tokens);
    vl_nn_tensor_init(&v->pick);
    vl_nn_tensor_init(&v->dpick);
    vl_nn_tensor_init(&v->dtokens);
    if (vl_nn_patch_embed_init(&v->embed, &m->params, "patch_embed", 3 * v->tube, cfg->height,
                               cfg->width, patch, E, gru_mode, rng, err) < 0)
        return -1;
    if (!gru_mode) {
        int shape[2] = {cfg->frames / v->tube, E};
        v->temporal_embed = vl_nn_params_add(&m->params, NULL, "temporal_embed", 2, shape, 1, 0,
                                             err);
        if (!v->temporal_embed) return -1;
        vl_nn_init_trunc_normal(&v->temporal_embed->value, 0.02f, rng);
    }
    for (int i = 0; i < v->depth; i++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d", i);
        if (vl_nn_encoder_block_init(&v->blocks[i], &m->params, name, E, heads, 2 * E,
                                     (float)cfg->dropout, rng, err) < 0)
            return -1;
    }
    if (vl_nn_layernorm_init(&v->norm, &m->params, "norm", E, err) < 0) return -1;
    int tokens = 1 + (cfg->height / patch) * (cfg->width / patch);
    if (gru_mode && (vl_nn_linear_init(&v->token_proj, &m->params, "token_proj", E, TOKEN_DIM, 1,
                                       rng, err) < 0 ||
                     vl_nn_gru_init(&v->gru, &m->params, "gru", tokens * TOKEN_DIM, E, rng, err) < 0))
        return -1;
    vl_nn_mean_init(&v->token_mean, 1, 1);
    return vl_nn_linear_init(&v->head, &m->params, "head", E, cfg->n_classes, 1, rng, err);
}

static int create_gru(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                      struct vl_error *err)
{
    return create(m, cfg, rng, 1, err);
}

static int create_transformer(struct vl_model *m, const struct vl_model_config *cfg,
                              struct vl_rng *rng, struct vl_error *err)
{
    return create(m, cfg, rng, 0, err);
}

static int forward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_error *err)
{
    struct vit *v = m->impl;
    const struct vl_nn_tensor *x = b->x;
    int N = x->shape[0], T = x->shape[1], H = x->shape[3], W = x->shape[4];
    int groups = T / v->tube;
    int fshape[4] = {N * groups, 3 * v->tube, H, W};
    v->frames_view = vl_nn_tensor_view(x, 4, fshape);
    struct vl_nn_tensor *t;
    if (vl_nn_patch_embed_forward(ctx, &v->embed, &v->frames_view, &t, err) < 0) return -1;
    int E = t->shape[2], L = t->shape[1];
    if (!v->gru_mode) { /* [N*G, P, E] + temporal embedding -> [N, G*P, E] */
        int shape[3] = {N, groups * L, E};
        if (vl_nn_tensor_resize_ctx(ctx, &v->tokens, 3, shape, err) < 0) return -1;
        ctx->backend->group_embed_forward(ctx, N, groups, L, E, t->data,
                                          v->temporal_embed->value.data, v->tokens.data);
        t = &v->tokens;
    }
    for (int i = 0; i < v->depth; i++)
        if (vl_nn_encoder_block_forward(ctx, &v->blocks[i], t, NULL, &t, err) < 0) return -1;
    if (vl_nn_layernorm_forward(ctx, &v->norm, t, &t, err) < 0) return -1;
    if (!v->gru_mode) {
        if (vl_nn_mean_forward(ctx, &v->token_mean, t, &t, err) < 0) return -1;
        return vl_nn_linear_forward(ctx, &v->head, t, logits, err);
    }
    if (vl_nn_linear_forward(ctx, &v->token_proj, t, &t, err) < 0) return -1;
    int s3[3] = {N, T, L * TOKEN_DIM}; /* every frame's tokens, [N*T, L, D] -> [N, T, L*D] */
    v->seq_view = vl_nn_tensor_view(t, 3, s3);
    if (vl_nn_gru_forward(ctx, &v->gru, &v->seq_view, &t, err) < 0) return -1;
    if (select_token(ctx, t, T - 1, &v->pick, err) < 0) return -1; /* h_n [N, E] */
    return vl_nn_linear_forward(ctx, &v->head, &v->pick, logits, err);
}

static int backward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_nn_tensor *dlogits,
                    struct vl_error *err)
{
    struct vit *v = m->impl;
    struct vl_nn_tensor *d;
    if (vl_nn_linear_backward(ctx, &v->head, dlogits, &d, err) < 0) return -1;
    if (v->gru_mode) {
        int T = v->seq_view.shape[1];
        if (select_token_backward(ctx, d, T, T - 1, &v->dpick, err) < 0 ||
            vl_nn_gru_backward(ctx, &v->gru, &v->dpick, &d, err) < 0)
            return -1;
        int L = v->norm.y.shape[1];
        int s3[3] = {d->shape[0] * d->shape[1], L, d->shape[2] / L};
        v->tokens_view = vl_nn_tensor_view(d, 3, s3);
        if (vl_nn_linear_backward(ctx, &v->token_proj, &v->tokens_view, &d, err) < 0) return -1;
    } else if (vl_nn_mean_backward(ctx, &v->token_mean, d, &d, err) < 0) {
        return -1;
    }
    if (vl_nn_layernorm_backward(ctx, &v->norm, d, &d, err) < 0) return -1;
    for (int i = v->depth - 1; i >= 0; i--)
        if (vl_nn_encoder_block_backward(ctx, &v->blocks[i], d, &d, err) < 0) return -1;
    if (!v->gru_mode) { /* the temporal embedding's gradient; d passes on unchanged */
        int N = d->shape[0], groups = v->temporal_embed->value.shape[0], E = d->shape[2];
        int L = d->shape[1] / groups;
        ctx->backend->group_embed_backward(ctx, N, groups, L, E, d->data,
                                           v->temporal_embed->grad.data);
        int s3[3] = {N * groups, L, E};
        v->tokens_view = vl_nn_tensor_view(d, 3, s3);
        d = &v->tokens_view;
    }
    return vl_nn_patch_embed_backward(ctx, &v->embed, d, NULL, err);
}

static void destroy(struct vl_model *m)
{
    struct vit *v = m->impl;
    if (!v) return;
    vl_nn_patch_embed_free(&v->embed);
    for (int i = 0; i < v->depth && i < MAX_DEPTH; i++) vl_nn_encoder_block_free(&v->blocks[i]);
    vl_nn_layernorm_free(&v->norm);
    if (v->gru_mode) {
        vl_nn_linear_free(&v->token_proj);
        vl_nn_gru_free(&v->gru);
    }
    vl_nn_mean_free(&v->token_mean);
    vl_nn_linear_free(&v->head);
    vl_nn_tensor_free(&v->tokens);
    vl_nn_tensor_free(&v->pick);
    vl_nn_tensor_free(&v->dpick);
    vl_nn_tensor_free(&v->dtokens);
    free(v);
    m->impl = NULL;
}

const struct vl_model_def vl_model_vit_gru = {
    .name = "vit_gru",
    .kind = VL_DATA_CLIPS,
    .loss = VL_LOSS_CROSS_ENTROPY,
    .default_lr = 0.003,
    .create = create_gru,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};

const struct vl_model_def vl_model_vit_transformer = {
    .name = "vit_transformer",
    .kind = VL_DATA_CLIPS,
    .loss = VL_LOSS_CROSS_ENTROPY,
    .default_lr = 0.003,
    .create = create_transformer,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};
