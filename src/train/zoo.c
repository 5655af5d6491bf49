/* zoo.c - the table of models and their common life cycle. */
#include "train/model.h"

#include <string.h>

#include "nn/layers.h"

extern const struct vl_model_def vl_model_logreg;
extern const struct vl_model_def vl_model_svm;
extern const struct vl_model_def vl_model_naive_cnn;
extern const struct vl_model_def vl_model_variable_ar_cnn;
extern const struct vl_model_def vl_model_vit_gru;
extern const struct vl_model_def vl_model_vit_transformer;

static const struct vl_model_def *const models[] = {
    &vl_model_logreg,
    &vl_model_svm,
    &vl_model_naive_cnn,
    &vl_model_variable_ar_cnn,
    &vl_model_vit_gru,
    &vl_model_vit_transformer,
    NULL,
};

const struct vl_model_def *vl_model_find(const char *name)
{
    for (size_t i = 0; models[i]; i++)
        if (!strcmp(models[i]->name, name)) return models[i];
    return NULL;
}

int vl_model_create(const struct vl_model_def *def, const struct vl_model_config *cfg,
                    struct vl_rng *rng, struct vl_model *m, struct vl_error *err)
{
    memset(m, 0, sizeof *m);
    m->def = def;
    vl_nn_params_init(&m->params);
    if (def->create(m, cfg, rng, err) < 0) {
        vl_model_destroy(m);
        return -1;
    }
    return 0;
}

void vl_model_destroy(struct vl_model *m)
{
    if (m->def && m->def->destroy) m->def->destroy(m);
    vl_nn_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

int vl_model_batch(const struct vl_dataset *ds, const size_t *idx, int n, struct vl_nn_tensor *x,
                   int *content_h, int *content_w, struct vl_batch *b, struct vl_error *err)
{
    if (ds->kind == VL_DATA_FEATURES) {
        int shape[2] = {n, (int)ds->dim};
        if (vl_nn_tensor_resize(x, 2, shape, err) < 0) return -1;
        for (int i = 0; i < n; i++)
            memcpy(x->data + (size_t)i * ds->dim, ds->features + idx[i] * ds->dim,
                   ds->dim * sizeof(float));
    } else {
        int shape[5] = {n, ds->frames, 3, ds->height, ds->width};
        if (vl_nn_tensor_resize(x, 5, shape, err) < 0) return -1;
        size_t per = (size_t)ds->frames * 3 * ds->height * ds->width;
        for (int i = 0; i < n; i++) {
            vl_dataset_clip_to_float(ds, idx[i], x->data + (size_t)i * per);
            content_h[i] = ds->samples[idx[i]].content_height;
            content_w[i] = ds->samples[idx[i]].content_width;
        }
    }
    b->n = n;
    b->x = x;
    b->content_h = ds->kind == VL_DATA_CLIPS ? content_h : NULL;
    b->content_w = ds->kind == VL_DATA_CLIPS ? content_w : NULL;
    return 0;
}

int vl_model_infer(struct vl_model *m, struct vl_nn_ctx *ctx, const struct vl_batch *b,
                   struct vl_nn_tensor **logits, struct vl_nn_tensor *probs,
                   struct vl_error *err)
{
    int training = ctx->training;
    ctx->training = 0;
    int rc = m->def->forward(m, ctx, b, logits, err);
    if (rc == 0) rc = vl_nn_softmax(ctx, *logits, probs, err);
    ctx->training = training;
    return rc;
}
