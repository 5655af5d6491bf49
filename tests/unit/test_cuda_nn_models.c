/* test_cuda_nn_models.c - every model of the zoo trained on the CUDA
 * training backend (vlbuild-cuda-nn.so) against the CPU backend, on a GPU.
 *
 * For each of the six models (logreg, svm, naive_cnn, variable_ar_cnn,
 * vit_gru, vit_transformer; small shapes, one seed) the same weights and
 * the same batch go to a CPU context and to a CUDA one, and one training
 * step runs on each, the trainer's optimisers (SGD with momentum for the
 * linear models, AdamW for the clip models), dropout 0 (the device draws
 * its masks from a counter-based generator, the CPU from ctx->rng: other
 * masks by design).  Compared, as ||gpu - cpu|| / ||cpu||:
 *   - the logits and the loss: <= 1e-5;
 *   - every parameter's gradient: <= 1e-4;
 *   - every parameter and buffer after the optimiser's step: <= 1e-5.
 * AdamW's first step moves an element by about lr * sign(gradient), so an
 * element whose gradient is rounding noise on both sides (attention's key
 * bias: its true gradient is 0, softmax ignores a constant per row) steps
 * by +-lr at random.  Such "noise-level" elements (the two gradients
 * differ by more than 1e-3 of the CPU's) are left out of the step's norm,
 * counted, and held to the bound of that coin flip instead: |gpu - cpu| <=
 * 2 lr (plus a rounding margin).
 * Then each model trains 20 steps on the GPU twice from the same start
 * (the vit models with dropout 0.1, so the device's masks repeat too):
 * every parameter's bytes must be the same (memcmp).  One row per model
 * and check is printed ("| parity MODEL | ...", "| repeat MODEL | ...").
 *
 * --bench instead times one training step (zero_grad, forward, loss,
 * backward, AdamW; synced) of variable_ar_cnn and vit_gru at their default
 * sizes, at the quickstart's shapes (batch 8 of 8x32x32 clips) and at batch
 * 256 of 16x112x112: the median of 20 after 5 warm-ups, fp32 and bf16,
 * printing "| vlbuild cuda step MODEL SHAPE PRECISION | X ms |" rows
 * (nothing asserted; scripts/gpu-check.sh sets them beside PyTorch's,
 * bench/gpu/torch_nn_step.py).  bf16 is "not implemented" when attach
 * refuses it (as it does while src/cuda/nn/gemm.cu and conv.cu compute in
 * fp32 only) or when its first logits are the fp32 run's bytes (a module
 * that takes the precision but runs fp32).
 *
 * Label gpu: skips (77), saying why, without the CUDA training module or a
 * usable device; the module is the build's (beside vlbuild-cuda.so) unless
 * VLBUILD_CUDA_NN_MODULE names one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu/cuda_loader.h"
#include "nn/backend.h"
#include "nn/optim.h"
#include "train/model.h"

#ifdef VL_HAVE_CUDA_NN
#define SEED 11
#define LR 0.003f
#define REPEAT_STEPS 20
#define TOL_OUT 1e-5  /* logits and loss */
#define TOL_GRAD 1e-4 /* gradients */
#define TOL_STEP 1e-5 /* parameters after the step */

static const struct vl_cuda_nn_module *mod;
static int failures;

/* One batch on the host: x, its labels and (clips) content sizes. */
struct input {
    struct vl_nn_tensor x;
    int n, *labels, *content_h, *content_w;
};

/* One model with its optimiser on one context: the CPU's, or a CUDA one. */
struct side {
    struct vl_nn_ctx ctx;
    int on_device, have_model, have_optim;
    struct vl_model m;
    struct vl_nn_optim o;
    struct vl_nn_tensor x, dlogits, loss; /* loss: [1], where the logits are */
    struct vl_nn_tensor *logits;          /* the model's, of the last forward */
    struct vl_batch b;
};

/* Host floats of t (malloc'd; the caller frees). */
static float *host_copy(const struct vl_nn_tensor *t)
{
    float *p = malloc((t->size ? t->size : 1) * sizeof *p);
    if (!p) abort();
    vl_nn_tensor_read(t, p);
    return p;
}

/* ||a - b|| / ||b|| over n values (||a - b|| when b is all zeros). */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - b[i];
        d += e * e;
        r += (double)b[i] * b[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

/* The backend's first failure since the last check, as -1 with err. */
static int backend_ok(struct side *s, const char *what, struct vl_error *err)
{
    struct vl_error why = {{0}};
    if (s->ctx.backend->check(&s->ctx, &why, NULL) == 0) return 0;
    return vl_error_set(err, "%s: %s", what, why.msg);
}

/* A batch of n samples for cfg from seed: features ~ N(1, 4), clips
 * uniform in [0, 1) with (variable-size models) every other clip's
 * content smaller than the frame and zero outside it, as scale pads. */
static void input_make(struct input *in, const struct vl_model_def *def,
                       const struct vl_model_config *cfg, int n, uint64_t seed)
{
    struct vl_rng r;
    vl_rng_seed(&r, seed);
    struct vl_error err = {{0}};
    vl_nn_tensor_init(&in->x);
    in->n = n;
    in->labels = calloc((size_t)n, sizeof *in->labels);
    in->content_h = calloc((size_t)n, sizeof *in->content_h);
    in->content_w = calloc((size_t)n, sizeof *in->content_w);
    if (!in->labels || !in->content_h || !in->content_w) abort();
    for (int i = 0; i < n; i++)
        in->labels[i] = (i * 7 + 1) % cfg->n_classes;
    if (def->kind == VL_DATA_FEATURES) {
        int shape[2] = {n, (int)cfg->dim};
        if (vl_nn_tensor_resize(&in->x, 2, shape, &err) < 0) abort();
        for (size_t i = 0; i < in->x.size; i++)
            in->x.data[i] = (float)(1 + 2 * vl_rng_normal(&r));
        return;
    }
    int T = cfg->frames, H = cfg->height, W = cfg->width;
    int shape[5] = {n, T, 3, H, W};
    if (vl_nn_tensor_resize(&in->x, 5, shape, &err) < 0) abort();
    for (int i = 0; i < n; i++) {
        int ch = def->variable_size && i % 2 ? H - 1 - i % H / 2 : H;
        int cw = def->variable_size && i % 4 == 1 ? W * 2 / 3 : W;
        in->content_h[i] = ch, in->content_w[i] = cw;
        float *p = in->x.data + (size_t)i * T * 3 * H * W;
        for (int f = 0; f < T * 3; f++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    *p++ = y < ch && x < cw ? (float)vl_rng_uniform(&r) : 0.0f;
    }
}

static void input_free(struct input *in)
{
    vl_nn_tensor_free(&in->x);
    free(in->labels), free(in->content_h), free(in->content_w);
}

/* logreg and svm start from zero weights and an identity scaler: a start
 * where every logit is 0 compares nothing, so both get seeded values. */
static void linear_start(struct vl_model *m)
{
    struct vl_rng r;
    vl_rng_seed(&r, SEED + 1);
    static const char *const names[] = {"scaler.mean", "scaler.scale", "linear.weight",
                                        "linear.bias"};
    static const double lo[] = {-0.5, 0.5, -0.3, -0.1}, hi[] = {0.5, 2.0, 0.3, 0.1};
    for (int k = 0; k < 4; k++) {
        struct vl_nn_param *p = vl_nn_params_find(&m->params, names[k]);
        if (!p) abort();
        for (size_t i = 0; i < p->value.size; i++)
            p->value.data[i] = (float)vl_rng_range(&r, lo[k], hi[k]);
    }
}

/* Frees what side_open made, device tensors before the detach. */
static void side_close(struct side *s)
{
    if (s->have_model) vl_model_destroy(&s->m);
    if (s->have_optim) vl_nn_optim_free(&s->o);
    vl_nn_tensor_free(&s->x);
    vl_nn_tensor_free(&s->dlogits);
    vl_nn_tensor_free(&s->loss);
    if (s->on_device) {
        mod->detach(&s->ctx);
        s->ctx.backend = vl_nn_backend_cpu();
        s->ctx.backend_state = NULL;
        s->ctx.mem = VL_NN_MEM_HOST;
    }
    vl_nn_ctx_free(&s->ctx);
    memset(s, 0, sizeof *s);
}

/* def for cfg on the CPU (device 0) or on the GPU at precision, as the
 * trainer sets a run up: the model made on the host from SEED, the
 * optimiser bound, then parameters and moments moved to the device.  No
 * input yet (side_input).  -1 with err; side_close frees either way. */
static int side_open(struct side *s, const struct vl_model_def *def,
                     const struct vl_model_config *cfg, int device, int precision,
                     struct vl_error *err)
{
    memset(s, 0, sizeof *s);
    vl_nn_ctx_init(&s->ctx, SEED);
    vl_nn_tensor_init(&s->x), vl_nn_tensor_init(&s->dlogits), vl_nn_tensor_init(&s->loss);
    if (device) {
        if (mod->attach(&s->ctx, 0, precision, SEED, err) < 0) {
            s->ctx.backend = vl_nn_backend_cpu();
            return -1;
        }
        s->on_device = 1;
        s->ctx.mem = VL_NN_MEM_DEVICE;
    }
    struct vl_rng rng;
    vl_rng_seed(&rng, SEED);
    if (vl_model_create(def, cfg, &rng, &s->m, err) < 0) return -1;
    s->have_model = 1;
    int linear = def->kind == VL_DATA_FEATURES;
    if (linear) linear_start(&s->m);
    struct vl_nn_optim_config oc = vl_nn_optim_defaults(linear ? VL_NN_SGD : VL_NN_ADAMW);
    if (linear) oc.momentum = 0.9f, oc.weight_decay = 0.01f;
    if (vl_nn_optim_init(&s->o, &s->m.params, &oc, err) < 0) return -1;
    s->have_optim = 1;
    vl_nn_optim_bind(&s->o, &s->ctx);
    if (vl_nn_params_place(&s->ctx, &s->m.params, err) < 0) return -1;
    for (size_t i = 0; i < s->o.count; i++)
        if (vl_nn_tensor_place(&s->ctx, &s->o.state[i].m, err) < 0 ||
            vl_nn_tensor_place(&s->ctx, &s->o.state[i].v, err) < 0)
            return -1;
    int one = 1;
    if (vl_nn_tensor_resize_ctx(&s->ctx, &s->loss, 1, &one, err) < 0) return -1;
    return backend_ok(s, "placing the model", err);
}

/* Points s's batch at x (s->x, already where s computes) and in's host arrays. */
static void side_batch(struct side *s, const struct vl_model_def *def, const struct input *in)
{
    int clips = def->kind == VL_DATA_CLIPS;
    s->b = (struct vl_batch){.n = in->n,
                             .x = &s->x,
                             .content_h = clips ? in->content_h : NULL,
                             .content_w = clips ? in->content_w : NULL};
}

/* in's batch copied to where s computes. */
static int side_input(struct side *s, const struct vl_model_def *def, const struct input *in,
                      struct vl_error *err)
{
    if (vl_nn_tensor_copy(&s->x, &in->x, err) < 0 || vl_nn_tensor_place(&s->ctx, &s->x, err) < 0)
        return -1;
    side_batch(s, def, in);
    return backend_ok(s, "uploading the batch", err);
}

/* The batch's gradient, as the trainer's batch_gradient: zeroed, forward,
 * loss into s->loss, backward; labels are a host array. */
static int side_gradient(struct side *s, const int *labels, struct vl_error *err)
{
    const struct vl_model_def *def = s->m.def;
    vl_nn_params_zero_grad_ctx(&s->ctx, &s->m.params);
    if (def->forward(&s->m, &s->ctx, &s->b, &s->logits, err) < 0) return -1;
    int rc =
        def->loss == VL_LOSS_SQUARED_HINGE_OVR
            ? vl_nn_squared_hinge_ovr(&s->ctx, s->logits, labels, s->loss.data, &s->dlogits, err)
            : vl_nn_cross_entropy(&s->ctx, s->logits, labels, NULL, s->loss.data, &s->dlogits, err);
    if (rc < 0 || def->backward(&s->m, &s->ctx, &s->dlogits, err) < 0) return -1;
    return backend_ok(s, "forward and backward", err);
}

/* One whole step: the gradient, then the optimiser's step at LR. */
static int side_step(struct side *s, const int *labels, struct vl_error *err)
{
    if (side_gradient(s, labels, err) < 0) return -1;
    vl_nn_optim_step(&s->o, LR);
    return backend_ok(s, "the optimiser's step", err);
}

/* The worst figure of one kind over the parameters, and whose it is. */
struct worst {
    double value;
    const char *name;
};

static void worst_add(struct worst *w, double v, const char *name)
{
    if (v > w->value || !w->name) w->value = v, w->name = name;
}

/* The step of parameter i (cpu, gpu: values after it; gc, gg: the
 * gradients before it, NULL for a buffer or under SGD) as the header says:
 * the relative difference over the determined elements into *step, the
 * noise-level elements counted into *noise; 0 when one broke the +-lr bound. */
static int step_compare(const float *cpu, const float *gpu, const float *gc, const float *gg,
                        size_t n, double *step, size_t *noise)
{
    double d = 0, r = 0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double e = (double)gpu[i] - cpu[i];
        r += (double)cpu[i] * cpu[i];
        if (gc && fabs((double)gg[i] - gc[i]) > 1e-3 * fabs(gc[i])) {
            (*noise)++;
            if (fabs(e) > 2.01 * LR + 1e-6 * fabs(cpu[i])) ok = 0;
            continue;
        }
        d += e * e;
    }
    *step = r > 0 ? sqrt(d / r) : sqrt(d);
    return ok;
}

/* One step of def on the CPU and on the GPU from the same start: the
 * figures of the header, one row. */
static void parity(const char *name, const struct vl_model_config *cfg, int n)
{
    const struct vl_model_def *def = vl_model_find(name);
    struct vl_error err = {{0}};
    struct input in;
    struct side c, g;
    input_make(&in, def, cfg, n, SEED + 2);
    int rc = side_open(&c, def, cfg, 0, 0, &err);
    if (rc == 0) rc = side_input(&c, def, &in, &err);
    if (rc == 0) rc = side_gradient(&c, in.labels, &err);
    if (rc < 0) {
        printf("| parity %s | FAILED on the cpu: %s |\n", name, err.msg);
        failures++;
        side_close(&c), input_free(&in);
        return;
    }
    rc = side_open(&g, def, cfg, 1, VL_CUDA_NN_PRECISION_FP32, &err);
    if (rc == 0) rc = side_input(&g, def, &in, &err);
    if (rc == 0) rc = side_gradient(&g, in.labels, &err);
    if (rc < 0) {
        printf("| parity %s | FAILED on the gpu: %s |\n", name, err.msg);
        failures++;
        side_close(&g), side_close(&c), input_free(&in);
        return;
    }
    float *lc = host_copy(c.logits), *lg = host_copy(g.logits);
    double logits = g.logits->size == c.logits->size ? rel_diff(lg, lc, c.logits->size) : INFINITY;
    float loss_c, loss_g;
    vl_nn_tensor_read(&c.loss, &loss_c), vl_nn_tensor_read(&g.loss, &loss_g);
    double loss = fabs((double)loss_g - loss_c) / fmax(fabs(loss_c), 1e-30);
    /* the gradients, kept for the step's noise-level test */
    size_t count = c.m.params.count;
    float **grad_c = calloc(count, sizeof *grad_c), **grad_g = calloc(count, sizeof *grad_g);
    if (!grad_c || !grad_g) abort();
    struct worst wg = {0, NULL}, ws = {0, NULL};
    for (size_t i = 0; i < count; i++) {
        const struct vl_nn_param *pc = c.m.params.items[i], *pg = g.m.params.items[i];
        if (!pc->trainable) continue;
        grad_c[i] = host_copy(&pc->grad), grad_g[i] = host_copy(&pg->grad);
        worst_add(&wg, rel_diff(grad_g[i], grad_c[i], pc->grad.size), pc->name);
    }
    vl_nn_optim_step(&c.o, LR), vl_nn_optim_step(&g.o, LR);
    rc = backend_ok(&g, "the optimiser's step", &err);
    size_t noise = 0;
    int bound_ok = rc == 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const struct vl_nn_param *pc = c.m.params.items[i], *pg = g.m.params.items[i];
        float *vc = host_copy(&pc->value), *vg = host_copy(&pg->value);
        int adam = c.o.config.kind == VL_NN_ADAMW && pc->trainable;
        double step;
        bound_ok &= step_compare(vc, vg, adam ? grad_c[i] : NULL, adam ? grad_g[i] : NULL,
                                 pc->value.size, &step, &noise);
        worst_add(&ws, step, pc->name);
        free(vc), free(vg);
    }
    int ok = rc == 0 && bound_ok && logits <= TOL_OUT && loss <= TOL_OUT && wg.value <= TOL_GRAD &&
             ws.value <= TOL_STEP;
    if (rc < 0)
        printf("| parity %s | FAILED on the gpu: %s |\n", name, err.msg);
    else
        printf("| parity %s | logits %.2e | loss %.2e | gradients %.2e (%s) | step %.2e (%s) | "
               "%zu noise-level%s | %s |\n",
               name, logits, loss, wg.value, wg.name ? wg.name : "-", ws.value,
               ws.name ? ws.name : "-", noise, bound_ok ? "" : " (one broke the +-2 lr bound)",
               ok ? "ok" : "MISMATCH");
    failures += !ok;
    for (size_t i = 0; i < count; i++)
        free(grad_c[i]), free(grad_g[i]);
    free(grad_c), free(grad_g), free(lc), free(lg);
    side_close(&g), side_close(&c), input_free(&in);
}

/* REPEAT_STEPS steps of def on the GPU from the start of side_open: every
 * parameter's and buffer's floats into *out (malloc'd, *n of them). */
static int train_on_gpu(const struct vl_model_def *def, const struct vl_model_config *cfg,
                        const struct input *in, float **out, size_t *n, struct vl_error *err)
{
    struct side g;
    *out = NULL, *n = 0;
    int rc = side_open(&g, def, cfg, 1, VL_CUDA_NN_PRECISION_FP32, err);
    if (rc == 0) rc = side_input(&g, def, in, err);
    for (int k = 0; rc == 0 && k < REPEAT_STEPS; k++)
        rc = side_step(&g, in->labels, err);
    if (rc == 0) {
        for (size_t i = 0; i < g.m.params.count; i++)
            *n += g.m.params.items[i]->value.size;
        *out = malloc((*n ? *n : 1) * sizeof **out);
        if (!*out) abort();
        size_t at = 0;
        for (size_t i = 0; i < g.m.params.count; i++) {
            vl_nn_tensor_read(&g.m.params.items[i]->value, *out + at);
            at += g.m.params.items[i]->value.size;
        }
        rc = backend_ok(&g, "reading the parameters", err);
    }
    side_close(&g);
    return rc;
}

/* Twice REPEAT_STEPS steps on the GPU from the same start: the same bytes. */
static void repeat(const char *name, const struct vl_model_config *cfg, int n)
{
    const struct vl_model_def *def = vl_model_find(name);
    struct vl_model_config rc_cfg = *cfg;
    if (!strncmp(name, "vit", 3)) rc_cfg.dropout = 0.1; /* the device's masks repeat too */
    struct vl_error err = {{0}};
    struct input in;
    input_make(&in, def, &rc_cfg, n, SEED + 3);
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (train_on_gpu(def, &rc_cfg, &in, &a, &na, &err) < 0 ||
        train_on_gpu(def, &rc_cfg, &in, &b, &nb, &err) < 0) {
        printf("| repeat %s | FAILED: %s |\n", name, err.msg);
        failures++;
    } else {
        int same = na == nb && !memcmp(a, b, na * sizeof *a);
        printf("| repeat %s | %d steps twice%s | %zu floats | %s |\n", name, REPEAT_STEPS,
               rc_cfg.dropout > 0 ? ", dropout 0.1" : "", na,
               same ? "identical bytes" : "DIFFERENT bytes");
        failures += !same;
    }
    free(a), free(b);
    input_free(&in);
}

/* -- --bench -- */

struct bench_shape {
    const char *name;
    int n, frames, size;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A device batch of sh's clips for s: four distinct host clips repeated
 * (the upload of 256 different clips would only time the host). */
static int bench_input(struct side *s, const struct vl_model_def *def, const struct bench_shape *sh,
                       struct input *in, struct vl_error *err)
{
    enum { DISTINCT = 4 };
    int shape[5] = {sh->n, sh->frames, 3, sh->size, sh->size};
    size_t per = (size_t)sh->frames * 3 * sh->size * sh->size;
    in->n = sh->n;
    in->labels = calloc((size_t)sh->n, sizeof *in->labels);
    in->content_h = calloc((size_t)sh->n, sizeof *in->content_h);
    in->content_w = calloc((size_t)sh->n, sizeof *in->content_w);
    float *host = malloc(DISTINCT * per * sizeof *host);
    if (!in->labels || !in->content_h || !in->content_w || !host) abort();
    struct vl_rng r;
    vl_rng_seed(&r, SEED + 4);
    for (size_t i = 0; i < DISTINCT * per; i++)
        host[i] = (float)vl_rng_uniform(&r);
    for (int i = 0; i < sh->n; i++)
        in->labels[i] = i % 4, in->content_h[i] = in->content_w[i] = sh->size;
    int rc = vl_nn_tensor_resize_ctx(&s->ctx, &s->x, 5, shape, err);
    for (int i = 0; rc == 0 && i < sh->n; i++)
        s->ctx.backend->upload(&s->ctx, s->x.data + (size_t)i * per,
                               host + (size_t)(i % DISTINCT) * per, per * sizeof *host);
    s->ctx.backend->sync(&s->ctx); /* the uploads have read host before it goes */
    free(host);
    if (rc < 0) return -1;
    side_batch(s, def, in);
    return backend_ok(s, "uploading the batch", err);
}

/* Times def's step at sh and precision into *ms (median of 20 after 5
 * warm-ups).  The first step's logits go to *first (malloc'd) when first;
 * with fp32_logits, a first step with those very bytes stops the run:
 * returns 1 (the precision runs fp32).  2 (err set) when attach refuses
 * the precision; 0 when timed; -1 with err. */
static int bench_one(const struct vl_model_def *def, const struct bench_shape *sh, int precision,
                     const float *fp32_logits, float **first, double *ms, struct vl_error *err)
{
    enum { WARM = 5, N = 20 };
    struct vl_model_config cfg = {
        .n_classes = 4, .frames = sh->frames, .height = sh->size, .width = sh->size};
    struct side s;
    struct input in = {.n = 0};
    vl_nn_tensor_init(&in.x);
    double t[N];
    int rc = side_open(&s, def, &cfg, 1, precision, err);
    if (rc < 0 && !s.on_device) rc = 2;
    if (rc == 0) rc = bench_input(&s, def, sh, &in, err);
    for (int k = 0; rc == 0 && k < WARM + N; k++) {
        double t0 = now_ms();
        rc = side_step(&s, in.labels, err);
        s.ctx.backend->sync(&s.ctx);
        if (rc == 0) rc = backend_ok(&s, "the step", err);
        if (k >= WARM) t[k - WARM] = now_ms() - t0;
        if (rc == 0 && k == 0 && (first || fp32_logits)) {
            float *l = host_copy(s.logits);
            if (fp32_logits && !memcmp(l, fp32_logits, s.logits->size * sizeof *l)) rc = 1;
            if (first)
                *first = l;
            else
                free(l);
        }
    }
    if (rc == 0) {
        qsort(t, N, sizeof *t, cmp_double);
        *ms = (t[N / 2 - 1] + t[N / 2]) / 2;
    }
    side_close(&s);
    input_free(&in);
    return rc;
}

/* The rows of --bench; 1 when a run failed. */
static int bench(void)
{
    static const char *const models[] = {"variable_ar_cnn", "vit_gru"};
    static const struct bench_shape shapes[] = {{"batch8/8x32x32", 8, 8, 32},
                                                {"batch256/16x112x112", 256, 16, 112}};
    int failed = 0;
    for (size_t m = 0; m < 2; m++)
        for (size_t k = 0; k < 2; k++) {
            const struct vl_model_def *def = vl_model_find(models[m]);
            const struct bench_shape *sh = &shapes[k];
            struct vl_error err = {{0}};
            float *logits = NULL;
            double ms = 0;
            if (bench_one(def, sh, VL_CUDA_NN_PRECISION_FP32, NULL, &logits, &ms, &err) != 0) {
                printf("| vlbuild cuda step %s %s fp32 | FAILED: %s |\n", models[m], sh->name,
                       err.msg);
                failed = 1;
                free(logits);
                continue;
            }
            printf("| vlbuild cuda step %s %s fp32 | %.3f ms |\n", models[m], sh->name, ms);
            fflush(stdout);
            int rc = bench_one(def, sh, VL_CUDA_NN_PRECISION_BF16, logits, NULL, &ms, &err);
            if (rc == 0)
                printf("| vlbuild cuda step %s %s bf16 | %.3f ms |\n", models[m], sh->name, ms);
            else if (rc == 1)
                printf("| vlbuild cuda step %s %s bf16 | not implemented (runs fp32: the same "
                       "logits bytes) |\n",
                       models[m], sh->name);
            else if (rc == 2)
                printf("| vlbuild cuda step %s %s bf16 | not implemented (attach refuses it: "
                       "%s) |\n",
                       models[m], sh->name, err.msg);
            else
                printf("| vlbuild cuda step %s %s bf16 | FAILED: %s |\n", models[m], sh->name,
                       err.msg);
            failed |= rc < 0;
            fflush(stdout);
            free(logits);
        }
    return failed;
}

/* The build's module, beside vlbuild-cuda.so, unless the environment names one. */
static void default_module_path(void)
{
    if (getenv("VLBUILD_CUDA_NN_MODULE")) return;
    char path[4096];
    snprintf(path, sizeof path, "%s", VL_CUDA_MODULE_PATH);
    char *slash = strrchr(path, '/');
    size_t at = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(path + at, sizeof path - at, "vlbuild-cuda-nn.so");
    setenv("VLBUILD_CUDA_NN_MODULE", path, 1);
}
#endif

int main(int argc, char **argv)
{
    int bench_only = argc > 1 && !strcmp(argv[1], "--bench");
#ifndef VL_HAVE_CUDA_NN
    (void)bench_only;
    printf("SKIP: vlbuild was built without the CUDA training module\n");
    return 77;
#else
    default_module_path();
    struct vl_error err = {{0}};
    mod = vl_cuda_nn_load(&err);
    if (!mod) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    char why[256] = "";
    if (mod->probe(why, sizeof why) <= 0) {
        printf("SKIP: %s (the models are compiled, not run)\n", why);
        return 77;
    }
    printf("cuda nn module: %s\n", mod->build_info);
    if (bench_only) return bench();
    static const struct vl_model_config features = {.n_classes = 5, .dim = 24};
    static const struct vl_model_config clips = {.n_classes = 3,
                                                 .frames = 4,
                                                 .height = 16,
                                                 .width = 16,
                                                 .hidden = 8,
                                                 .patch = 4,
                                                 .heads = 2,
                                                 .dropout = 0};
    static const char *const models[] = {"logreg",          "svm",     "naive_cnn",
                                         "variable_ar_cnn", "vit_gru", "vit_transformer"};
    for (size_t i = 0; i < 6; i++) {
        const struct vl_model_def *def = vl_model_find(models[i]);
        const struct vl_model_config *cfg = def->kind == VL_DATA_FEATURES ? &features : &clips;
        int n = def->kind == VL_DATA_FEATURES ? 16 : 6;
        parity(models[i], cfg, n);
        fflush(stdout);
    }
    for (size_t i = 0; i < 6; i++) {
        const struct vl_model_def *def = vl_model_find(models[i]);
        repeat(models[i], def->kind == VL_DATA_FEATURES ? &features : &clips,
               def->kind == VL_DATA_FEATURES ? 16 : 6);
        fflush(stdout);
    }
    if (failures)
        fprintf(stderr, "FAIL: %d model checks of the cuda backend against the cpu (above)\n",
                failures);
    else
        printf("cuda nn models: every model's step matches the cpu's and repeats bit for bit\n");
    return failures != 0;
#endif
}
