/* optim.c - SGD with momentum, AdamW, global-norm gradient clipping and the
 * learning-rate schedules (the update rules are written out in optim.h). */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct vl_nn_optim_config vl_nn_optim_defaults(enum vl_nn_optim_kind kind)
{
    struct vl_nn_optim_config c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == VL_NN_ADAMW) c.weight_decay = 0.01f;
    return c;
}

int vl_nn_optim_init(struct vl_nn_optim *o, struct vl_nn_params *params,
                     const struct vl_nn_optim_config *config, struct vl_error *err)
{
    memset(o, 0, sizeof *o);
    const struct vl_nn_optim_config *c = config;
    if (c->weight_decay < 0.0f || c->momentum < 0.0f)
        return vl_error_set(err, "optimiser: negative weight decay or momentum");
    if (c->kind == VL_NN_SGD && c->nesterov && c->momentum <= 0.0f)
        return vl_error_set(err, "optimiser: nesterov needs momentum");
    if (c->kind == VL_NN_ADAMW && (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) ||
                                   !(c->beta2 >= 0.0f && c->beta2 < 1.0f) || c->eps < 0.0f))
        return vl_error_set(err, "optimiser: betas must lie in [0, 1) and eps be non-negative");
    o->config = *c;
    o->params = params;
    o->count = params->count;
    o->state = calloc(o->count ? o->count : 1, sizeof *o->state);
    if (!o->state) abort();
    for (size_t i = 0; i < o->count; i++) {
        const struct vl_nn_param *p = params->items[i];
        if (!p->trainable) continue;
        if ((c->kind == VL_NN_ADAMW || c->momentum > 0.0f) &&
            vl_nn_tensor_zeros(&o->state[i].m, p->value.ndim, p->value.shape, err) < 0)
            return -1;
        if (c->kind == VL_NN_ADAMW &&
            vl_nn_tensor_zeros(&o->state[i].v, p->value.ndim, p->value.shape, err) < 0)
            return -1;
    }
    return 0;
}

static void sgd_step(const struct vl_nn_optim_config *c, struct vl_nn_param *p,
                     struct vl_nn_optim_state *s, float lr, int first)
{
    float *w = p->value.data, *buf = s->m.data;
    const float *g = p->grad.data;
    float wd = p->decay ? c->weight_decay : 0.0f, mu = c->momentum;
    for (size_t i = 0; i < p->value.size; i++) {
        float d = g[i] + wd * w[i];
        if (mu > 0.0f) {
            buf[i] = first ? d : mu * buf[i] + d;
            d = c->nesterov ? d + mu * buf[i] : buf[i];
        }
        w[i] -= lr * d;
    }
}

static void adamw_step(const struct vl_nn_optim_config *c, struct vl_nn_param *p,
                       struct vl_nn_optim_state *s, float lr, long step)
{
    float *w = p->value.data, *m = s->m.data, *v = s->v.data;
    const float *g = p->grad.data;
    float wd = p->decay ? c->weight_decay : 0.0f, b1 = c->beta1, b2 = c->beta2;
    double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = 0; i < p->value.size; i++) {
        w[i] -= lr * wd * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + c->eps);
    }
}

void vl_nn_optim_step(struct vl_nn_optim *o, float lr)
{
    o->step++;
    for (size_t i = 0; i < o->count; i++) {
        struct vl_nn_param *p = o->params->items[i];
        if (!p->trainable) continue;
        if (o->config.kind == VL_NN_SGD)
            sgd_step(&o->config, p, &o->state[i], lr, o->step == 1);
        else
            adamw_step(&o->config, p, &o->state[i], lr, o->step);
    }
}

void vl_nn_optim_free(struct vl_nn_optim *o)
{
    for (size_t i = 0; i < o->count; i++) {
        vl_nn_tensor_free(&o->state[i].m);
        vl_nn_tensor_free(&o->state[i].v);
    }
    free(o->state);
    memset(o, 0, sizeof *o);
}

float vl_nn_clip_grad_norm(struct vl_nn_params *params, float max_norm)
{
    double sq = 0.0;
    for (size_t i = 0; i < params->count; i++) {
        const struct vl_nn_param *p = params->items[i];
        if (!p->trainable) continue;
        for (size_t j = 0; j < p->grad.size; j++)
            sq += (double)p->grad.data[j] * p->grad.data[j];
    }
    float norm = (float)sqrt(sq);
    float scale = max_norm / (norm + 1e-6f);
    if (scale < 1.0f)
        for (size_t i = 0; i < params->count; i++) {
            struct vl_nn_param *p = params->items[i];
            if (!p->trainable) continue;
            for (size_t j = 0; j < p->grad.size; j++)
                p->grad.data[j] *= scale;
        }
    return norm;
}

float vl_nn_schedule_lr(const struct vl_nn_schedule *s, long step)
{
    if (step < 0) step = 0;
    if (s->warmup_steps > 0 && step < s->warmup_steps)
        return s->lr * (float)(step + 1) / (float)s->warmup_steps;
    switch (s->kind) {
    case VL_NN_LR_CONSTANT:
        return s->lr;
    case VL_NN_LR_STEP:
        return s->step_size > 0 ? s->lr * powf(s->gamma, (float)(step / s->step_size)) : s->lr;
    case VL_NN_LR_COSINE: {
        long span = s->total_steps - s->warmup_steps;
        if (span <= 0) return s->lr;
        double t = (double)(step - s->warmup_steps) / (double)span;
        if (t > 1.0) t = 1.0;
        return (float)(s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(M_PI * t)));
    }
    }
    return s->lr;
}
