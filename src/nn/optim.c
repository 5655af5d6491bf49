/* optim.c - SGD with momentum, AdamW, global-norm gradient clipping and the
 * learning-rate schedules (the update rules are written out in optim.h).
 * The steps and the clipping run through the backend's entries; the CPU's
 * optimiser entries are defined here, their per-element bodies in
 * nn/kern/optim.h. */
#include "nn/optim.h"

#include "nn/cpu.h"
#include "nn/kern/optim.h"

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

void vl_nn_cpu_sgd_step(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *buf,
                        float lr, float wd, float mu, int nesterov, int first)
{
    (void)ctx;
    float unused = 0.0f;
    for (size_t i = 0; i < n; i++)
        w[i] = vl_nn_kern_sgd(w[i], g[i], buf ? &buf[i] : &unused, lr, wd, mu, nesterov, first);
}

void vl_nn_cpu_adamw_step(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *m,
                          float *v, float lr, float wd, float b1, float b2, float eps,
                          float step_size, float bc2_sqrt)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        w[i] = vl_nn_kern_adamw(w[i], g[i], &m[i], &v[i], lr, wd, b1, b2, eps, step_size, bc2_sqrt);
}

/* The backend of ctx, or the CPU's for a NULL ctx. */
static const struct vl_nn_backend *backend_of(struct vl_nn_ctx *ctx)
{
    return ctx ? ctx->backend : vl_nn_backend_cpu();
}

void vl_nn_optim_bind(struct vl_nn_optim *o, struct vl_nn_ctx *ctx)
{
    o->ctx = ctx;
}

void vl_nn_optim_step(struct vl_nn_optim *o, float lr)
{
    const struct vl_nn_optim_config *c = &o->config;
    const struct vl_nn_backend *be = backend_of(o->ctx);
    o->step++;
    /* AdamW's bias corrections depend on the step alone: once per step, on the host */
    double bc1 = 1.0 - pow(c->beta1, (double)o->step), bc2 = 1.0 - pow(c->beta2, (double)o->step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = 0; i < o->count; i++) {
        struct vl_nn_param *p = o->params->items[i];
        struct vl_nn_optim_state *s = &o->state[i];
        if (!p->trainable) continue;
        float wd = p->decay ? c->weight_decay : 0.0f;
        if (c->kind == VL_NN_SGD)
            be->sgd_step(o->ctx, p->value.size, p->value.data, p->grad.data,
                         c->momentum > 0.0f ? s->m.data : NULL, lr, wd, c->momentum, c->nesterov,
                         o->step == 1);
        else
            be->adamw_step(o->ctx, p->value.size, p->value.data, p->grad.data, s->m.data, s->v.data,
                           lr, wd, c->beta1, c->beta2, c->eps, step_size, bc2_sqrt);
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

float vl_nn_clip_grad_norm_ctx(struct vl_nn_ctx *ctx, struct vl_nn_params *params, float max_norm)
{
    const struct vl_nn_backend *be = backend_of(ctx);
    double sq = 0.0;
    for (size_t i = 0; i < params->count; i++) {
        const struct vl_nn_param *p = params->items[i];
        if (p->trainable) be->sum_squares(ctx, p->grad.size, p->grad.data, &sq);
    }
    float norm = (float)sqrt(sq);
    float scale = max_norm / (norm + 1e-6f);
    if (scale < 1.0f)
        for (size_t i = 0; i < params->count; i++) {
            struct vl_nn_param *p = params->items[i];
            if (p->trainable) be->scale(ctx, p->grad.size, scale, p->grad.data);
        }
    return norm;
}

float vl_nn_clip_grad_norm(struct vl_nn_params *params, float max_norm)
{
    return vl_nn_clip_grad_norm_ctx(NULL, params, max_norm);
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
