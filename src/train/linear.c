/* linear.c - logistic regression and the linear SVM on feature vectors.
 *
 * Both are one linear layer, "linear.weight" [K, D] and "linear.bias" [K],
 * on standardised features: the buffers "scaler.mean" [D] and
 * "scaler.scale" [D] (the train split's mean and standard deviation, 1 where
 * a feature is constant, as sklearn's StandardScaler) are applied in forward,
 * so the checkpoint maps raw features to logits on its own:
 *   logits = ((x - scaler.mean) / scaler.scale) @ linear.weight^T + linear.bias
 * logreg trains softmax cross-entropy (multinomial logistic regression, as
 * sklearn's LogisticRegression); svm trains one-vs-rest squared hinge, the
 * loss of sklearn's LinearSVC: for each class c, max(0, 1 - y_c s_c)^2 with
 * y_c = +1 for the true class and -1 otherwise, summed over classes.
 * Regularisation is sklearn's: C enters as an L2 penalty 1 / (2 n C) ||W||^2
 * on the mean loss over the n training samples (trainer.c). */
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"
#include "train/model.h"

struct linear_model {
    struct vl_nn_linear fc;
    struct vl_nn_param *mean, *scale;
    struct vl_nn_tensor xs; /* the standardised batch */
};

static int create(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                  struct vl_error *err)
{
    struct linear_model *lm = calloc(1, sizeof *lm);
    if (!lm) abort();
    m->impl = lm;
    vl_nn_tensor_init(&lm->xs);
    int d = (int)cfg->dim;
    lm->mean = vl_nn_params_add(&m->params, "scaler", "mean", 1, &d, 0, 0, err);
    lm->scale = lm->mean ? vl_nn_params_add(&m->params, "scaler", "scale", 1, &d, 0, 0, err) : NULL;
    if (!lm->scale) return -1;
    vl_nn_tensor_fill(&lm->scale->value, 1.0f);
    if (vl_nn_linear_init(&lm->fc, &m->params, "linear", d, cfg->n_classes, 1, rng, err) < 0)
        return -1;
    /* start from zero, as sklearn's solvers do: the problem is convex */
    vl_nn_tensor_fill(&lm->fc.weight->value, 0.0f);
    vl_nn_tensor_fill(&lm->fc.bias->value, 0.0f);
    return 0;
}

static int forward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_error *err)
{
    struct linear_model *lm = m->impl;
    if (vl_nn_tensor_resize_ctx(ctx, &lm->xs, 2, b->x->shape, err) < 0) return -1;
    ctx->backend->standardize(ctx, (size_t)b->n, b->x->shape[1], b->x->data, lm->mean->value.data,
                              lm->scale->value.data, lm->xs.data);
    return vl_nn_linear_forward(ctx, &lm->fc, &lm->xs, logits, err);
}

static int backward(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_nn_tensor *dlogits,
                    struct vl_error *err)
{
    struct linear_model *lm = m->impl;
    return vl_nn_linear_backward(ctx, &lm->fc, dlogits, NULL, err);
}

static void destroy(struct vl_model *m)
{
    struct linear_model *lm = m->impl;
    if (!lm) return;
    vl_nn_linear_free(&lm->fc);
    vl_nn_tensor_free(&lm->xs);
    free(lm);
    m->impl = NULL;
}

const struct vl_model_def vl_model_logreg = {
    .name = "logreg",
    .kind = VL_DATA_FEATURES,
    .loss = VL_LOSS_CROSS_ENTROPY,
    .default_lr = 0.1,
    .create = create,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};

const struct vl_model_def vl_model_svm = {
    .name = "svm",
    .kind = VL_DATA_FEATURES,
    .loss = VL_LOSS_SQUARED_HINGE_OVR,
    .default_lr = 0.1,
    .create = create,
    .forward = forward,
    .backward = backward,
    .destroy = destroy,
};
