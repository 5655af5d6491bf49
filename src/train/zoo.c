/* zoo.c - the table of models and their common life cycle. */
#include "train/model.h"

#include <string.h>

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
