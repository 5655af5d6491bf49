/* The layers, losses and optimisers reach their arithmetic through
 * ctx->backend and nowhere else: every model of the zoo trains three steps
 * on a recording table (the CPU's entries, each counted on its way
 * through), with the optimiser bound to that context and the gradients
 * zeroed and clipped on it. Each entry a model needs must be called, and the
 * parameters and optimiser moments must equal, byte for byte, those of the
 * same steps on the plain CPU table. A loop that bypassed the table would
 * either leave its entry uncounted or, on a device, never run. */
#include <stdio.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/optim.h"
#include "test.h"
#include "train/model.h"

static const struct vl_nn_backend *cpu;

/* calls per entry, in the order of struct calls's fields */
static struct calls {
    long sgd_step, adamw_step, sum_squares, scale, fill, copy, mul, add, cross_entropy,
        squared_hinge_ovr, dropout_forward, mean_forward, mean_backward, area_pool_forward,
        area_pool_backward, patch_tokens_forward, patch_tokens_backward, group_embed_forward,
        group_embed_backward, gemm_batched, swap_axes, standardize, bias_grad;
} calls;

/* rec_NAME counts a call of entry NAME and passes it to the CPU's */
#define REC(name, params, args)                                                                    \
    static void rec_##name params                                                                  \
    {                                                                                              \
        calls.name++;                                                                              \
        cpu->name args;                                                                            \
    }

REC(sgd_step,
    (struct vl_nn_ctx * c, size_t n, float *w, const float *g, float *b, float lr, float wd,
     float mu, int nesterov, int first),
    (c, n, w, g, b, lr, wd, mu, nesterov, first))
REC(adamw_step,
    (struct vl_nn_ctx * c, size_t n, float *w, const float *g, float *m, float *v, float lr,
     float wd, float b1, float b2, float eps, float ss, float bc),
    (c, n, w, g, m, v, lr, wd, b1, b2, eps, ss, bc))
REC(sum_squares, (struct vl_nn_ctx * c, size_t n, const float *x, double *acc), (c, n, x, acc))
REC(scale, (struct vl_nn_ctx * c, size_t n, float a, float *x), (c, n, a, x))
REC(fill, (struct vl_nn_ctx * c, size_t n, float v, float *x), (c, n, v, x))
REC(copy,
    (struct vl_nn_ctx * c, size_t rows, size_t cols, const float *x, size_t ldx, float *y,
     size_t ldy),
    (c, rows, cols, x, ldx, y, ldy))
REC(mul, (struct vl_nn_ctx * c, size_t n, const float *a, const float *b, float *y),
    (c, n, a, b, y))
REC(add,
    (struct vl_nn_ctx * c, size_t rows, size_t cols, const float *a, size_t lda, const float *b,
     size_t ldb, float *y, size_t ldy),
    (c, rows, cols, a, lda, b, ldb, y, ldy))
REC(cross_entropy,
    (struct vl_nn_ctx * c, int n, int k, const float *x, const int *y, const float *w, float *l,
     float *d),
    (c, n, k, x, y, w, l, d))
REC(squared_hinge_ovr,
    (struct vl_nn_ctx * c, int n, int k, const float *x, const int *y, float *l, float *d),
    (c, n, k, x, y, l, d))
REC(dropout_forward, (struct vl_nn_ctx * c, size_t n, float p, const float *x, float *m, float *y),
    (c, n, p, x, m, y))
REC(mean_forward, (struct vl_nn_ctx * c, size_t o, size_t len, size_t in, const float *x, float *y),
    (c, o, len, in, x, y))
REC(mean_backward,
    (struct vl_nn_ctx * c, size_t o, size_t len, size_t in, const float *dy, float *dx),
    (c, o, len, in, dy, dx))
REC(area_pool_forward,
    (struct vl_nn_ctx * c, const struct vl_nn_area_geom *g, const float *x, float *y), (c, g, x, y))
REC(area_pool_backward,
    (struct vl_nn_ctx * c, const struct vl_nn_area_geom *g, const float *dy, float *dx),
    (c, g, dy, dx))
REC(patch_tokens_forward,
    (struct vl_nn_ctx * c, int n, int np, int e, int cls, const float *conv, const float *tok,
     const float *pos, float *y),
    (c, n, np, e, cls, conv, tok, pos, y))
REC(patch_tokens_backward,
    (struct vl_nn_ctx * c, int n, int np, int e, int cls, const float *dy, float *dconv,
     float *dpos, float *dcls),
    (c, n, np, e, cls, dy, dconv, dpos, dcls))
REC(group_embed_forward,
    (struct vl_nn_ctx * c, int n, int g, int len, int e, const float *x, const float *emb,
     float *y),
    (c, n, g, len, e, x, emb, y))
REC(group_embed_backward,
    (struct vl_nn_ctx * c, int n, int g, int len, int e, const float *dy, float *demb),
    (c, n, g, len, e, dy, demb))
REC(gemm_batched,
    (struct vl_nn_ctx * c, int ta, int tb, int m, int n, int k, float alpha, const float *a,
     int lda, size_t sa, const float *b, int ldb, size_t sb, float beta, float *y, int ldy,
     size_t sy, int batch),
    (c, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, y, ldy, sy, batch))
REC(swap_axes,
    (struct vl_nn_ctx * c, size_t o, size_t na, size_t mid, size_t nb, size_t in, const float *src,
     float *dst),
    (c, o, na, mid, nb, in, src, dst))
REC(standardize,
    (struct vl_nn_ctx * c, size_t rows, int d, const float *x, const float *mean,
     const float *scale, float *y),
    (c, rows, d, x, mean, scale, y))
REC(bias_grad, (struct vl_nn_ctx * c, size_t rows, int cols, size_t ld, const float *dy, float *db),
    (c, rows, cols, ld, dy, db))

static struct vl_nn_backend recording(void)
{
    struct vl_nn_backend t = *cpu;
    t.name = "recording";
    t.sgd_step = rec_sgd_step, t.adamw_step = rec_adamw_step, t.sum_squares = rec_sum_squares;
    t.scale = rec_scale, t.fill = rec_fill, t.copy = rec_copy, t.mul = rec_mul, t.add = rec_add;
    t.cross_entropy = rec_cross_entropy, t.squared_hinge_ovr = rec_squared_hinge_ovr;
    t.dropout_forward = rec_dropout_forward, t.mean_forward = rec_mean_forward;
    t.mean_backward = rec_mean_backward, t.area_pool_forward = rec_area_pool_forward;
    t.area_pool_backward = rec_area_pool_backward;
    t.patch_tokens_forward = rec_patch_tokens_forward;
    t.patch_tokens_backward = rec_patch_tokens_backward;
    t.group_embed_forward = rec_group_embed_forward;
    t.group_embed_backward = rec_group_embed_backward, t.gemm_batched = rec_gemm_batched;
    t.swap_axes = rec_swap_axes, t.standardize = rec_standardize, t.bias_grad = rec_bias_grad;
    return t;
}

/* 3 classes, 9 features, clips of 4 frames of 8x8, dropout 0.3 */
static const struct vl_model_config small = {.n_classes = 3,
                                             .dim = 9,
                                             .frames = 4,
                                             .height = 8,
                                             .width = 8,
                                             .hidden = 8,
                                             .patch = 4,
                                             .heads = 2,
                                             .dropout = 0.3};

/* A model's parameters and optimiser moments after three steps on table
 * be, concatenated into out (*n floats; room for cap). */
static void train(const char *model, const struct vl_nn_backend *be, float *out, size_t cap,
                  size_t *n)
{
    const struct vl_model_def *def = vl_model_find(model);
    struct vl_error err = {{0}};
    struct vl_model_config cfg = small;
    struct vl_rng rng;
    vl_rng_seed(&rng, 3);
    struct vl_model m;
    *n = 0;
    if (!def || vl_model_create(def, &cfg, &rng, &m, &err) < 0) {
        fprintf(stderr, "%s: %s\n", model, def ? err.msg : "no such model");
        CHECK(0);
        return;
    }
    struct vl_nn_ctx ctx;
    vl_nn_ctx_init(&ctx, 9);
    ctx.backend = be;
    struct vl_nn_optim_config oc =
        vl_nn_optim_defaults(def->kind == VL_DATA_CLIPS ? VL_NN_ADAMW : VL_NN_SGD);
    oc.momentum = def->kind == VL_DATA_CLIPS ? 0.0f : 0.9f;
    struct vl_nn_optim o;
    CHECK(vl_nn_optim_init(&o, &m.params, &oc, &err) == 0);
    vl_nn_optim_bind(&o, &ctx);
    struct vl_nn_tensor x, dlogits;
    vl_nn_tensor_init(&x), vl_nn_tensor_init(&dlogits);
    int clip_shape[5] = {2, 4, 3, 8, 8}, feat_shape[2] = {2, 9};
    CHECK(def->kind == VL_DATA_CLIPS ? vl_nn_tensor_resize(&x, 5, clip_shape, &err) == 0
                                     : vl_nn_tensor_resize(&x, 2, feat_shape, &err) == 0);
    int ch[2] = {8, 6}, cw[2] = {5, 8}, labels[2] = {2, 0};
    struct vl_batch b = {.n = 2,
                         .x = &x,
                         .content_h = def->variable_size ? ch : NULL,
                         .content_w = def->variable_size ? cw : NULL};
    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < x.size; i++)
            x.data[i] = (float)vl_rng_uniform(&rng);
        struct vl_nn_tensor *logits;
        float loss;
        vl_nn_params_zero_grad_ctx(&ctx, &m.params);
        CHECK(def->forward(&m, &ctx, &b, &logits, &err) == 0);
        CHECK((def->loss == VL_LOSS_SQUARED_HINGE_OVR
                   ? vl_nn_squared_hinge_ovr(&ctx, logits, labels, &loss, &dlogits, &err)
                   : vl_nn_cross_entropy(&ctx, logits, labels, NULL, &loss, &dlogits, &err)) == 0);
        CHECK(def->backward(&m, &ctx, &dlogits, &err) == 0);
        vl_nn_clip_grad_norm_ctx(&ctx, &m.params, 0.05f); /* small: the scaling runs */
        vl_nn_optim_step(&o, 0.01f);
    }
    for (size_t i = 0; i < m.params.count; i++) {
        const struct vl_nn_tensor *t[3] = {&m.params.items[i]->value, &o.state[i].m, &o.state[i].v};
        for (int k = 0; k < 3; k++)
            if (*n + t[k]->size <= cap && t[k]->size)
                memcpy(out + *n, t[k]->data, t[k]->size * sizeof *out), *n += t[k]->size;
    }
    vl_nn_tensor_free(&x), vl_nn_tensor_free(&dlogits);
    vl_nn_optim_free(&o);
    vl_nn_ctx_free(&ctx);
    vl_model_destroy(&m);
}

/* Trains model on both tables: the same bytes, and *seen the calls made. */
static void same_bytes(const char *model, struct calls *seen)
{
    static float want[1 << 18], got[1 << 18];
    size_t nw, ng;
    struct vl_nn_backend rec = recording();
    train(model, cpu, want, sizeof want / sizeof *want, &nw);
    memset(&calls, 0, sizeof calls);
    train(model, &rec, got, sizeof got / sizeof *got, &ng);
    *seen = calls;
    CHECK(nw > 0 && nw == ng && memcmp(want, got, nw * sizeof *want) == 0);
    if (nw != ng || memcmp(want, got, nw * sizeof *want))
        fprintf(stderr, "%s: the recording table gave other bytes\n", model);
}

int main(void)
{
    struct vl_nn_ctx probe;
    vl_nn_ctx_init(&probe, 1);
    cpu = probe.backend;
    struct calls c;
    same_bytes("svm", &c); /* SGD with momentum, squared hinge, standardisation */
    CHECK(c.sgd_step && c.squared_hinge_ovr && c.standardize && c.copy && c.bias_grad);
    CHECK(c.fill && c.sum_squares && c.scale && !c.adamw_step && !c.cross_entropy);
    same_bytes("logreg", &c);
    CHECK(c.cross_entropy && c.standardize && c.sgd_step);
    same_bytes("naive_cnn", &c); /* means over space and time */
    CHECK(c.adamw_step && c.mean_forward && c.mean_backward && c.cross_entropy);
    same_bytes("variable_ar_cnn", &c); /* content-area pooling, axis swaps */
    CHECK(c.area_pool_forward && c.area_pool_backward && c.swap_axes >= 6 && c.mean_forward);
    same_bytes("vit_transformer", &c); /* tokens, temporal embedding, heads, dropout, residuals */
    CHECK(c.patch_tokens_forward && c.patch_tokens_backward && c.group_embed_forward);
    CHECK(c.group_embed_backward && c.gemm_batched && c.dropout_forward && c.mul && c.add);
    same_bytes("vit_gru", &c); /* the last token, GRU's carried gradient and bias rows */
    CHECK(c.patch_tokens_forward && c.gemm_batched && c.copy && c.add && c.fill);
    CHECK(!c.group_embed_forward && !c.area_pool_forward);
    vl_nn_ctx_free(&probe);
    TEST_DONE();
}
