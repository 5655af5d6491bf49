/* model.h - the model zoo: what the `train` action can train.
 *
 * A model is a struct vl_model_def (a name, the data it trains on, its loss)
 * whose create() registers its parameters in m->params (PyTorch's names and
 * shapes, so a checkpoint loads into the PyTorch twin) and whose forward and
 * backward run a batch on the core of src/nn.  The trainer (trainer.c) owns
 * the loop, the optimiser and the checkpoints; a model only maps a batch to
 * logits [N, K] and their gradient back to its parameters. */
#ifndef VL_TRAIN_MODEL_H
#define VL_TRAIN_MODEL_H

#include "nn/tensor.h"
#include "train/dataset.h"
#include "util/error.h"
#include "util/rng.h"

struct vl_model_config {
    int n_classes;
    size_t dim;                /* features: values per sample */
    int frames, height, width; /* clips: T and the largest H, W */
    int hidden;                /* channels or embedding width; 0: the model's default */
    int depth;                 /* blocks or layers; 0: the model's default */
    int patch;                 /* ViT patch side in pixels */
    int heads;                 /* attention heads */
    double dropout;
};

/* One mini-batch as the trainer hands it to a model. */
struct vl_batch {
    int n;
    const struct vl_nn_tensor *x; /* features [n, D]; clips [n, T, 3, H, W] in [0, 1] */
    const int *content_h, *content_w; /* clips: the true picture size of each (top-left) */
};

struct vl_model {
    const struct vl_model_def *def;
    struct vl_nn_params params;
    void *impl;
};

enum vl_model_loss {
    VL_LOSS_CROSS_ENTROPY,     /* softmax cross-entropy */
    VL_LOSS_HINGE,             /* multiclass hinge, PyTorch's MultiMarginLoss */
    VL_LOSS_SQUARED_HINGE_OVR, /* one-vs-rest squared hinge, sklearn's LinearSVC */
};

struct vl_model_def {
    const char *name;
    enum vl_data_kind kind;
    int variable_size; /* clips of different H, W */
    enum vl_model_loss loss;
    double default_lr; /* when the rules give lr=0 */
    /* registers and initialises the parameters from rng */
    int (*create)(struct vl_model *m, const struct vl_model_config *cfg, struct vl_rng *rng,
                  struct vl_error *err);
    /* b -> logits [n, K] (model-owned, valid until the next forward) */
    int (*forward)(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_error *err);
    /* accumulates the parameters' gradients from d loss / d logits */
    int (*backward)(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_nn_tensor *dlogits,
                    struct vl_error *err);
    /* frees impl (not the registry) */
    void (*destroy)(struct vl_model *m);
};

/* Returns the model called name, or NULL. */
const struct vl_model_def *vl_model_find(const char *name);
/* Creates model def for cfg into m (registry initialised here); frees what it
 * made on failure. */
int vl_model_create(const struct vl_model_def *def, const struct vl_model_config *cfg,
                    struct vl_rng *rng, struct vl_model *m, struct vl_error *err);
/* Frees the model and its parameter registry. */
void vl_model_destroy(struct vl_model *m);

/* Fills x (resized here) with the samples idx[0..n) of ds as the models take
 * them (features [n, D]; clips [n, T, 3, H, W] in [0, 1] with their content
 * sizes in content_h and content_w, n entries each) and points b at them. */
int vl_model_batch(const struct vl_dataset *ds, const size_t *idx, int n, struct vl_nn_tensor *x,
                   int *content_h, int *content_w, struct vl_batch *b, struct vl_error *err);
/* The inference pass, the same for validation and for prediction: b's
 * logits in evaluation mode (no dropout, batch norm from its running
 * statistics) into *logits (model-owned) and their softmax into probs
 * [n, K] (resized here).  ctx->training is restored. */
int vl_model_infer(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_nn_tensor *probs,
                   struct vl_error *err);

#endif
