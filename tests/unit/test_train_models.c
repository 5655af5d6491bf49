/* test_train_models.c - every model of the zoo, end to end: the gradient of
 * the loss with respect to a sample of each parameter tensor agrees with
 * central finite differences (so the glue between layers, views, token
 * selection and masked pooling is right), and a forward in eval mode is a
 * pure function of the weights. */
#include <math.h>

#include "nn/layers.h"
#include "test.h"
#include "train/model.h"

static double loss_of(const struct vl_model_def *def, struct vl_model *m, struct vl_nn_ctx *ctx,
                      const struct vl_batch *b, const int *labels, struct vl_nn_tensor *dlogits,
                      struct vl_error *err)
{
    struct vl_nn_tensor *logits;
    float loss;
    if (def->forward(m, ctx, b, &logits, err) < 0) return NAN;
    if (vl_nn_cross_entropy(ctx, logits, labels, NULL, &loss, dlogits, err) < 0) return NAN;
    return loss;
}

static void check_model(const char *name, int T, int H, int W, const int *content_h,
                        const int *content_w)
{
    const struct vl_model_def *def = vl_model_find(name);
    CHECK(def != NULL);
    if (!def) return;
    struct vl_error err = {{0}};
    struct vl_model_config cfg = {.n_classes = 3, .dim = 5, .frames = T, .height = H, .width = W,
                                  .hidden = 4, .patch = 4, .heads = 2};
    if (def->kind == VL_DATA_CLIPS) cfg.hidden = 4;
    struct vl_rng rng;
    vl_rng_seed(&rng, 3);
    struct vl_model m;
    int rc = vl_model_create(def, &cfg, &rng, &m, &err);
    CHECK(rc == 0);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return;
    }
    int N = 2;
    struct vl_nn_tensor x, dlogits;
    vl_nn_tensor_init(&x);
    vl_nn_tensor_init(&dlogits);
    if (def->kind == VL_DATA_CLIPS)
        vl_nn_tensor_resize(&x, 5, (int[]){N, T, 3, H, W}, &err);
    else
        vl_nn_tensor_resize(&x, 2, (int[]){N, (int)cfg.dim}, &err);
    for (size_t i = 0; i < x.size; i++) x.data[i] = (float)vl_rng_uniform(&rng);
    int labels[2] = {1, 2};
    struct vl_batch b = {.n = N, .x = &x, .content_h = content_h, .content_w = content_w};
    struct vl_nn_ctx ctx;
    vl_nn_ctx_init(&ctx, 1);
    ctx.training = 0; /* batch norm on running statistics: a smooth function of the weights */
    for (size_t i = 0; i < m.params.count; i++) /* nonzero weights for the linear models */
        if (m.params.items[i]->trainable)
            for (size_t k = 0; k < m.params.items[i]->value.size; k++)
                m.params.items[i]->value.data[k] += (float)(0.1 * vl_rng_normal(&rng));
    vl_nn_params_zero_grad(&m.params);
    double base = loss_of(def, &m, &ctx, &b, labels, &dlogits, &err);
    CHECK(isfinite(base));
    CHECK(def->backward(&m, &ctx, &dlogits, &err) == 0);
    double worst = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < m.params.count; i++) {
        struct vl_nn_param *p = m.params.items[i];
        if (!p->trainable) continue;
        for (int probe = 0; probe < 3; probe++) {
            size_t k = (size_t)(vl_rng_next(&rng) % p->value.size);
            float keep = p->value.data[k];
            double h = 1e-3;
            p->value.data[k] = keep + (float)h;
            double up = loss_of(def, &m, &ctx, &b, labels, NULL, &err);
            p->value.data[k] = keep - (float)h;
            double down = loss_of(def, &m, &ctx, &b, labels, NULL, &err);
            p->value.data[k] = keep;
            double numeric = (up - down) / (2 * h), analytic = p->grad.data[k];
            double rel = fabs(numeric - analytic) / fmax(1e-2, fabs(numeric) + fabs(analytic));
            if (getenv("VL_TEST_VERBOSE")) printf("  %s[%zu] numeric %.6f analytic %.6f\n", p->name, k, numeric, analytic);
            if (rel > worst) worst = rel, worst_name = p->name;
        }
    }
    printf("%s: %zu parameters, worst relative gradient error %.2e (%s)\n", name,
           vl_nn_params_trainable_count(&m.params), worst, worst_name);
    CHECK(worst < (strcmp(name, "naive_cnn") ? 5e-2 : 0.15)); /* ReLU and max-pool kinks */
    vl_nn_tensor_free(&x);
    vl_nn_tensor_free(&dlogits);
    vl_nn_ctx_free(&ctx);
    vl_model_destroy(&m);
}

int main(void)
{
    check_model("logreg", 0, 0, 0, NULL, NULL);
    check_model("naive_cnn", 3, 8, 8, NULL, NULL);
    int ch[2] = {8, 5}, cw[2] = {6, 8};
    check_model("variable_ar_cnn", 3, 8, 8, ch, cw);
    check_model("vit_gru", 3, 8, 8, NULL, NULL);
    check_model("vit_transformer", 4, 8, 8, NULL, NULL);
    TEST_DONE();
}
