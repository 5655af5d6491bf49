/* test_nn_golden.c - the CPU bytes of training, pinned: every model of the
 * zoo is created from a fixed seed, trained a few steps on generated data
 * (dropout on, batch norm in training mode, gradient clipping, SGD with
 * momentum and AdamW), and the XXH3-128 of its parameters' bytes, running
 * statistics and optimiser moments included, must equal the value recorded
 * before the neural-network core was split behind its backend table.  Any
 * change to the order of a float operation on the CPU path shows here.
 * The recorded bytes are those of OpenBLAS's kernels for one CPU core type
 * (GOLDEN_CORE); on another core type sgemm rounds differently, and the test
 * checks instead that two runs give the same bytes.
 * VL_GOLDEN_PRINT=1 prints the hashes as table rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/layers.h"
#include "nn/optim.h"
#include "test.h"
#include "train/model.h"
#include "util/fs.h"

#define GOLDEN_CORE "SkylakeX" /* openblas_get_corename() where the table was recorded */

struct golden {
    const char *model;
    enum vl_nn_optim_kind optim;
    int T, H, W;
    const char *hash; /* recorded on the CPU backend before the refactor */
};

/* XXH3-128 over the concatenated bytes of every parameter value, and of the
 * optimiser's moments, in registry order. */
static void params_hash(const struct vl_model *m, const struct vl_nn_optim *o, char hex[33])
{
    size_t total = 0;
    for (size_t i = 0; i < m->params.count; i++) {
        total += m->params.items[i]->value.size;
        if (i < o->count) total += o->state[i].m.size + o->state[i].v.size;
    }
    float *all = malloc((total + 1) * sizeof *all), *w = all;
    for (size_t i = 0; i < m->params.count; i++) {
        const struct vl_nn_tensor *v = &m->params.items[i]->value;
        memcpy(w, v->data, v->size * sizeof *w), w += v->size;
        if (i >= o->count) continue;
        const struct vl_nn_tensor *s[2] = {&o->state[i].m, &o->state[i].v};
        for (int k = 0; k < 2; k++)
            if (s[k]->size) memcpy(w, s[k]->data, s[k]->size * sizeof *w), w += s[k]->size;
    }
    struct vl_hash h = vl_hash_bytes(all, total * sizeof *all);
    vl_hash_hex(&h, hex);
    free(all);
}

/* Trains g's model and writes the hash of its bytes into hex. */
static void train_model(const struct golden *g, char hex[33])
{
    const struct vl_model_def *def = vl_model_find(g->model);
    CHECK(def != NULL);
    if (!def) return;
    struct vl_error err = {{0}};
    struct vl_model_config cfg = {.n_classes = 3,
                                  .dim = 6,
                                  .frames = g->T,
                                  .height = g->H,
                                  .width = g->W,
                                  .hidden = 8,
                                  .patch = 4,
                                  .heads = 2,
                                  .dropout = 0.2};
    struct vl_rng rng;
    vl_rng_seed(&rng, 11);
    struct vl_model m;
    if (vl_model_create(def, &cfg, &rng, &m, &err) < 0) {
        fprintf(stderr, "%s: %s\n", g->model, err.msg);
        CHECK(0);
        return;
    }
    struct vl_nn_optim_config oc = vl_nn_optim_defaults(g->optim);
    if (g->optim == VL_NN_SGD) oc.momentum = 0.9f, oc.weight_decay = 1e-4f;
    struct vl_nn_optim o;
    CHECK(vl_nn_optim_init(&o, &m.params, &oc, &err) == 0);
    enum { N = 4, STEPS = 3 };
    struct vl_nn_tensor x, dlogits;
    vl_nn_tensor_init(&x);
    vl_nn_tensor_init(&dlogits);
    if (def->kind == VL_DATA_CLIPS)
        CHECK(vl_nn_tensor_resize(&x, 5, (int[]){N, g->T, 3, g->H, g->W}, &err) == 0);
    else
        CHECK(vl_nn_tensor_resize(&x, 2, (int[]){N, (int)cfg.dim}, &err) == 0);
    int ch[N], cw[N];
    for (int i = 0; i < N; i++) /* variable sizes: content areas smaller than the tensor */
        ch[i] = def->variable_size ? g->H - 2 * (i % 2) : g->H,
        cw[i] = def->variable_size ? g->W - 2 * (i / 2) : g->W;
    struct vl_batch b = {.n = N, .x = &x, .content_h = ch, .content_w = cw};
    struct vl_nn_ctx ctx;
    vl_nn_ctx_init(&ctx, 5);
    ctx.training = 1;
    float losses[STEPS] = {0};
    for (int step = 0; step < STEPS; step++) {
        for (size_t i = 0; i < x.size; i++)
            x.data[i] = (float)vl_rng_uniform(&rng);
        int labels[N];
        for (int i = 0; i < N; i++)
            labels[i] = (int)(vl_rng_next(&rng) % 3);
        struct vl_nn_tensor *logits;
        vl_nn_params_zero_grad(&m.params);
        CHECK(def->forward(&m, &ctx, &b, &logits, &err) == 0);
        int rc =
            def->loss == VL_LOSS_CROSS_ENTROPY
                ? vl_nn_cross_entropy(&ctx, logits, labels, NULL, &losses[step], &dlogits, &err)
                : vl_nn_hinge_loss(&ctx, logits, labels, NULL, 1.0f, &losses[step], &dlogits, &err);
        CHECK(rc == 0);
        CHECK(def->backward(&m, &ctx, &dlogits, &err) == 0);
        vl_nn_clip_grad_norm(&m.params, 1.0f);
        vl_nn_optim_step(&o, def->default_lr > 0 ? (float)def->default_lr : 1e-2f);
    }
    params_hash(&m, &o, hex);
    if (getenv("VL_GOLDEN_PRINT"))
        printf("        {\"%s\", %s, %d, %d, %d, \"%s\"}, /* last loss %.6f */\n", g->model,
               g->optim == VL_NN_SGD ? "VL_NN_SGD" : "VL_NN_ADAMW", g->T, g->H, g->W, hex,
               losses[STEPS - 1]);
    vl_nn_tensor_free(&x);
    vl_nn_tensor_free(&dlogits);
    vl_nn_ctx_free(&ctx);
    vl_nn_optim_free(&o);
    vl_model_destroy(&m);
}

int main(void)
{
    static const struct golden cases[] = {
        {"logreg", VL_NN_SGD, 0, 0, 0, "571ab2e66f80dc8a0c46bd7f025cc367"},
        {"svm", VL_NN_SGD, 0, 0, 0, "4a98af2dd7488e28900e4d29a5d8b7fb"},
        {"logreg", VL_NN_ADAMW, 0, 0, 0, "8e9a66c0bdaf048ff0c202feeb19cb0a"},
        {"naive_cnn", VL_NN_ADAMW, 3, 8, 8, "118ee30600e41735f4e64289074c7fa8"},
        {"naive_cnn", VL_NN_SGD, 3, 8, 8, "6058564275d6ca35d855c1c93d06e0fc"},
        {"variable_ar_cnn", VL_NN_ADAMW, 3, 10, 12, "81560910678ffd013b581d6924cb82b5"},
        {"vit_gru", VL_NN_ADAMW, 3, 8, 8, "84b6f498945481358609bd8e457d7cf8"},
        {"vit_transformer", VL_NN_ADAMW, 4, 8, 12, "3dcd027fea966cda558e1196c23c157a"},
    };
    const char *core = openblas_get_corename();
    int recorded = core && strcmp(core, GOLDEN_CORE) == 0;
    if (!recorded)
        printf("openblas core %s, table recorded on %s: checking that runs repeat instead\n",
               core ? core : "(unknown)", GOLDEN_CORE);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char hex[33], again[33];
        train_model(&cases[i], hex);
        const char *want = cases[i].hash;
        if (!recorded) train_model(&cases[i], again), want = again;
        if (strcmp(hex, want) != 0) {
            fprintf(stderr, "%s: parameter bytes hash %s, expected %s\n", cases[i].model, hex,
                    want);
            CHECK(0);
        }
    }
    TEST_DONE();
}
