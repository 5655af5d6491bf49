/* trainer.c - the training loop (behaviour and formats in trainer.h). */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/backend.h"
#include "nn/layers.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "util/fs.h"
#include "util/rng.h"

/* Everything one run holds. */
struct run {
    struct vl_dataset *ds;
    const struct vl_train_options *o;
    struct vl_model model;
    struct vl_nn_ctx ctx;
    struct vl_nn_optim optim;
    struct vl_nn_schedule schedule;
    size_t *train_idx, *val_idx;
    size_t n_train, n_val;
    struct vl_nn_tensor x, dlogits, probs;
    int *labels, *content_h, *content_w;
    double l2; /* linear models: 1 / (n C) */
    struct vl_metrics metrics;
    struct vl_strbuf history; /* the metrics log so far */
    char *classes_json, *input_json;
};

/* A generator for one purpose of one epoch, independent of earlier epochs. */
static void epoch_rng(struct vl_rng *r, uint64_t seed, int epoch, uint64_t purpose)
{
    uint64_t x = seed ^ 0x76626c6400000000ull;
    uint64_t a = vl_splitmix64(&x) ^ ((uint64_t)epoch * 0x9e3779b97f4a7c15ull) ^ purpose;
    vl_rng_seed(r, a);
}

/* Fills run->x and labels with the samples idx[0..n) of the dataset. */
static int assemble(struct run *r, const size_t *idx, int n, struct vl_batch *b,
                    struct vl_error *err)
{
    if (vl_model_batch(r->ds, idx, n, &r->x, r->content_h, r->content_w, b, err) < 0) return -1;
    for (int i = 0; i < n; i++) r->labels[i] = r->ds->samples[idx[i]].label;
    return 0;
}

static int loss_of(struct run *r, const struct vl_nn_tensor *logits, float *loss,
                   struct vl_nn_tensor *dlogits, struct vl_error *err)
{
    if (r->model.def->loss == VL_LOSS_SQUARED_HINGE_OVR)
        return vl_nn_squared_hinge_ovr(&r->ctx, logits, r->labels, loss, dlogits, err);
    if (r->model.def->loss == VL_LOSS_HINGE)
        return vl_nn_hinge_loss(&r->ctx, logits, r->labels, NULL, 1.0f, loss, dlogits, err);
    return vl_nn_cross_entropy(&r->ctx, logits, r->labels, NULL, loss, dlogits, err);
}

/* The train split's mean and standard deviation into the scaler buffers. */
static void fit_scaler(struct run *r)
{
    struct vl_nn_param *mean = vl_nn_params_find(&r->model.params, "scaler.mean");
    struct vl_nn_param *scale = vl_nn_params_find(&r->model.params, "scaler.scale");
    if (!mean || !scale || r->ds->kind != VL_DATA_FEATURES) return;
    size_t d = r->ds->dim;
    for (size_t k = 0; k < d; k++) {
        double s = 0, sq = 0;
        for (size_t i = 0; i < r->n_train; i++) s += r->ds->features[r->train_idx[i] * d + k];
        double mu = r->n_train ? s / (double)r->n_train : 0;
        for (size_t i = 0; i < r->n_train; i++) {
            double v = r->ds->features[r->train_idx[i] * d + k] - mu;
            sq += v * v;
        }
        double sd = r->n_train ? sqrt(sq / (double)r->n_train) : 0;
        mean->value.data[k] = (float)mu;
        scale->value.data[k] = sd > 1e-12 ? (float)sd : 1.0f;
    }
}

/* Runs the validation split through the model into r->metrics. */
static int evaluate(struct run *r, struct vl_error *err)
{
    vl_metrics_reset(&r->metrics);
    int bs = r->o->batch;
    for (size_t at = 0; at < r->n_val; at += (size_t)bs) {
        int n = (int)(r->n_val - at < (size_t)bs ? r->n_val - at : (size_t)bs);
        struct vl_batch b;
        struct vl_nn_tensor *logits;
        float loss;
        if (assemble(r, r->val_idx + at, n, &b, err) < 0 ||
            vl_model_infer(&r->model, &r->ctx, &b, &logits, &r->probs, err) < 0 ||
            loss_of(r, logits, &loss, NULL, err) < 0)
            return -1;
        vl_metrics_add(&r->metrics, r->probs.data, r->labels, (size_t)n, loss);
    }
    return 0;
}

/* Appends the epoch's metrics as JSON, without the time (for checkpoints). */
static void metrics_json(struct run *r, int epoch, double train_loss, float lr,
                         struct vl_strbuf *out)
{
    int val = r->n_val > 0;
    vl_strbuf_addf(out, "{\"epoch\":%d,\"train_loss\":", epoch);
    vl_json_add_float(out, train_loss);
    vl_strbuf_adds(out, ",\"val_loss\":");
    vl_json_add_float(out, val ? vl_metrics_loss(&r->metrics) : NAN);
    vl_strbuf_adds(out, ",\"val_accuracy\":");
    vl_json_add_float(out, val ? vl_metrics_accuracy(&r->metrics) : NAN);
    if (r->ds->n_classes == 2) {
        double auc = vl_metrics_auc(&r->metrics);
        vl_strbuf_adds(out, ",\"val_auc\":");
        vl_json_add_float(out, auc >= 0 ? auc : NAN);
    }
    vl_strbuf_adds(out, ",\"lr\":");
    vl_json_add_float(out, lr);
    vl_strbuf_adds(out, ",\"confusion\":");
    vl_metrics_confusion_json(&r->metrics, out);
    vl_strbuf_adds(out, ",\"classes\":");
    vl_strbuf_adds(out, r->classes_json);
    vl_strbuf_addch(out, '}');
}

static void info_of(struct run *r, int epoch, const char *metrics, const char *log,
                    struct vl_checkpoint_info *info)
{
    *info = (struct vl_checkpoint_info){
        .model = r->model.def->name,
        .config = r->o->config_json,
        .classes = r->classes_json,
        .input = r->input_json,
        .epoch = epoch,
        .data_fingerprint = r->ds->fingerprint,
        .metrics = metrics,
        .log = log,
    };
}

/* One epoch of training; *mean_loss gets the sample-weighted mean loss. */
static int train_epoch(struct run *r, int epoch, double *mean_loss, float *last_lr,
                       struct vl_error *err)
{
    const struct vl_train_options *o = r->o;
    struct vl_rng rng;
    epoch_rng(&rng, o->seed, epoch, 1);
    epoch_rng(&r->ctx.rng, o->seed, epoch, 2);
    /* shuffle from the split's order, so that epoch e's order depends on (seed, e) alone */
    for (size_t i = 0, k = 0; i < r->ds->n; i++)
        if (!r->ds->samples[i].is_val) r->train_idx[k++] = i;
    for (size_t i = r->n_train; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)(vl_rng_next(&rng) % i);
        size_t t = r->train_idx[i - 1];
        r->train_idx[i - 1] = r->train_idx[j];
        r->train_idx[j] = t;
    }
    size_t n_batches = (r->n_train + (size_t)o->batch - 1) / (size_t)o->batch;
    double sum = 0;
    size_t seen = 0;
    for (size_t bi = 0; bi < n_batches; bi++) {
        if (o->cancel && atomic_load_explicit(o->cancel, memory_order_relaxed))
            return vl_error_set(err, "interrupted during epoch %d", epoch);
        size_t at = bi * (size_t)o->batch;
        int n = (int)(r->n_train - at < (size_t)o->batch ? r->n_train - at : (size_t)o->batch);
        struct vl_batch b;
        struct vl_nn_tensor *logits;
        float loss;
        vl_nn_params_zero_grad_ctx(&r->ctx, &r->model.params);
        if (assemble(r, r->train_idx + at, n, &b, err) < 0 ||
            r->model.def->forward(&r->model, &r->ctx, &b, &logits, err) < 0 ||
            loss_of(r, logits, &loss, &r->dlogits, err) < 0 ||
            r->model.def->backward(&r->model, &r->ctx, &r->dlogits, err) < 0)
            return -1;
        if (!isfinite(loss))
            return vl_error_set(err, "the loss diverged (%g) at epoch %d batch %zu; lower lr",
                                (double)loss, epoch, bi + 1);
        if (r->l2 > 0)
            for (size_t i = 0; i < r->model.params.count; i++) {
                struct vl_nn_param *p = r->model.params.items[i];
                if (p->trainable && p->decay)
                    r->ctx.backend->axpy(&r->ctx, p->grad.size, (float)r->l2, p->value.data,
                                         p->grad.data);
            }
        if (o->clip > 0) vl_nn_clip_grad_norm_ctx(&r->ctx, &r->model.params, (float)o->clip);
        *last_lr = vl_nn_schedule_lr(&r->schedule, r->optim.step);
        vl_nn_optim_step(&r->optim, *last_lr);
        sum += (double)loss * n;
        seen += (size_t)n;
        if (o->progress)  {
            char text[128];
            snprintf(text, sizeof text, "epoch %d/%d batch %zu/%zu loss %.4f", epoch, o->epochs,
                     bi + 1, n_batches, sum / (double)seen);
            o->progress(o->progress_ctx, text);
        }
    }
    *mean_loss = seen ? sum / (double)seen : 0;
    return 0;
}

static int setup(struct run *r, struct vl_error *err)
{
    const struct vl_train_options *o = r->o;
    struct vl_dataset *ds = r->ds;
    r->train_idx = calloc(ds->n + 1, sizeof *r->train_idx);
    r->val_idx = calloc(ds->n + 1, sizeof *r->val_idx);
    r->labels = calloc((size_t)o->batch, sizeof *r->labels);
    r->content_h = calloc((size_t)o->batch, sizeof *r->content_h);
    r->content_w = calloc((size_t)o->batch, sizeof *r->content_w);
    if (!r->train_idx || !r->val_idx || !r->labels || !r->content_h || !r->content_w) abort();
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->samples[i].is_val) r->val_idx[r->n_val++] = i;
        else r->train_idx[r->n_train++] = i;
    }
    if (r->n_train == 0) return vl_error_set(err, "no training samples after the split");
    if (ds->kind == VL_DATA_CLIPS) {
        double bytes = (double)o->batch * ds->frames * 3 * ds->height * ds->width * sizeof(float);
        if (o->memory_budget && bytes > (double)o->memory_budget)
            return vl_error_set(err,
                                "a batch of %d clips of %dx%dx%d needs %.0f MiB as floats, over "
                                "the memory budget of %.0f MiB; lower batch",
                                o->batch, ds->frames, ds->width, ds->height, bytes / 1048576.0,
                                (double)o->memory_budget / 1048576.0);
    }
    struct vl_model_config mc = o->model_config;
    mc.n_classes = ds->n_classes;
    mc.dim = ds->dim;
    mc.frames = ds->frames;
    mc.height = ds->height;
    mc.width = ds->width;
    struct vl_rng init;
    vl_rng_seed(&init, o->seed);
    vl_nn_ctx_init(&r->ctx, o->seed);
    if (vl_model_create(o->model, &mc, &init, &r->model, err) < 0) return -1;
    fit_scaler(r);
    int linear = o->model->kind == VL_DATA_FEATURES;
    r->l2 = linear && o->C > 0 ? 1.0 / ((double)r->n_train * o->C) : 0;
    struct vl_nn_optim_config oc = vl_nn_optim_defaults(o->optimizer);
    oc.weight_decay = linear ? 0.0f : (float)o->weight_decay;
    if (o->optimizer == VL_NN_SGD) oc.momentum = (float)o->momentum;
    if (vl_nn_optim_init(&r->optim, &r->model.params, &oc, err) < 0) return -1;
    vl_nn_optim_bind(&r->optim, &r->ctx);
    long per_epoch = (long)((r->n_train + (size_t)o->batch - 1) / (size_t)o->batch);
    r->schedule = (struct vl_nn_schedule){
        .kind = o->cosine ? VL_NN_LR_COSINE : VL_NN_LR_CONSTANT,
        .lr = (float)(o->lr > 0 ? o->lr : o->model->default_lr),
        .warmup_steps = per_epoch * o->warmup_epochs,
        .total_steps = per_epoch * o->epochs,
        .min_lr = 0,
    };
    vl_metrics_init(&r->metrics, ds->n_classes);
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_strbuf_addch(&sb, '[');
    for (int c = 0; c < ds->n_classes; c++) {
        if (c) vl_strbuf_addch(&sb, ',');
        vl_strbuf_add_json_string(&sb, ds->classes[c]);
    }
    vl_strbuf_addch(&sb, ']');
    r->classes_json = vl_strbuf_detach(&sb, NULL);
    if (ds->kind == VL_DATA_FEATURES)
        vl_strbuf_addf(&sb, "{\"kind\":\"features\",\"shape\":[%zu]}", ds->dim);
    else
        vl_strbuf_addf(&sb, "{\"kind\":\"clips\",\"shape\":[%d,%d,%d,3]}", ds->frames, ds->height,
                       ds->width);
    r->input_json = vl_strbuf_detach(&sb, NULL);
    vl_strbuf_addf(o->log, "model %s: %zu trainable parameters\n", o->model->name,
                   vl_nn_params_trainable_count(&r->model.params));
    return 0;
}

static void teardown(struct run *r)
{
    vl_model_destroy(&r->model);
    vl_nn_optim_free(&r->optim);
    vl_nn_ctx_free(&r->ctx);
    vl_nn_tensor_free(&r->x);
    vl_nn_tensor_free(&r->dlogits);
    vl_nn_tensor_free(&r->probs);
    vl_metrics_free(&r->metrics);
    vl_strbuf_release(&r->history);
    free(r->train_idx);
    free(r->val_idx);
    free(r->labels);
    free(r->content_h);
    free(r->content_w);
    free(r->classes_json);
    free(r->input_json);
}

int vl_train_run(struct vl_dataset *ds, const struct vl_train_options *o, struct vl_error *err)
{
    struct run r = {.ds = ds, .o = o, .history = VL_STRBUF_INIT};
    vl_nn_tensor_init(&r.x);
    vl_nn_tensor_init(&r.dlogits);
    vl_nn_tensor_init(&r.probs);
    int rc = setup(&r, err);
    int start = 0;
    /* a resume file's write that was killed leaves a temporary beside it:
     * the engine removes the outputs' temporaries, this side file is ours */
    if (o->resume_path) vl_remove_temporaries(o->resume_path);
    if (rc == 0 && o->save_each_epoch) {
        struct vl_checkpoint_info want;
        struct vl_error why = {{0}};
        char *log = NULL;
        info_of(&r, 0, NULL, NULL, &want);
        if (vl_checkpoint_resume(o->resume_path, &r.model.params, &r.optim, &want, &start, &log,
                                 &why) == 1) {
            vl_strbuf_addf(o->log, "resuming from %s after epoch %d of %d\n", o->resume_path,
                           start, o->epochs);
            vl_strbuf_adds(&r.history, log);
        } else if (strncmp(why.msg, "no resume file", 14) != 0) {
            vl_strbuf_addf(o->log, "%s\n", why.msg);
        }
        free(log);
    }
    struct vl_strbuf metrics = VL_STRBUF_INIT;
    int64_t t_start = vl_mono_ns();
    for (int epoch = start + 1; rc == 0 && epoch <= o->epochs; epoch++) {
        int64_t t0 = vl_mono_ns();
        double train_loss = 0;
        float lr = 0;
        rc = train_epoch(&r, epoch, &train_loss, &lr, err);
        if (rc == 0) rc = evaluate(&r, err);
        if (rc < 0) break;
        vl_strbuf_reset(&metrics);
        metrics_json(&r, epoch, train_loss, lr, &metrics);
        double secs = (double)(vl_mono_ns() - t0) / 1e9;
        /* no wall-clock time in the log: the same inputs give the same bytes,
         * so caches can share it and what reads it is not rebuilt for nothing */
        vl_strbuf_add(&r.history, metrics.buf, metrics.len);
        vl_strbuf_addch(&r.history, '\n');
        vl_strbuf_addf(o->log, "epoch %d/%d: train loss %.4f", epoch, o->epochs, train_loss);
        if (r.n_val)
            vl_strbuf_addf(o->log, ", val loss %.4f, val accuracy %.2f%%",
                           vl_metrics_loss(&r.metrics), 100 * vl_metrics_accuracy(&r.metrics));
        vl_strbuf_addf(o->log, " (%.2f s)\n", secs);
        if (o->save_each_epoch && epoch < o->epochs) {
            struct vl_checkpoint_info info;
            info_of(&r, epoch, metrics.buf, r.history.buf, &info);
            rc = vl_checkpoint_write(o->resume_path, &r.model.params, &r.optim, &info, err);
        }
    }
    if (rc == 0) {
        struct vl_checkpoint_info info;
        info_of(&r, o->epochs, metrics.buf, NULL, &info);
        rc = vl_checkpoint_write(o->out_path, &r.model.params, NULL, &info, err);
        if (rc == 0 && o->log_path)
            rc = vl_write_file_atomic(o->log_path, r.history.buf, r.history.len, err);
        if (rc == 0 && o->save_each_epoch) unlink(o->resume_path);
        if (rc == 0)
            vl_strbuf_addf(o->log, "trained %d epochs in %.3f s\n", o->epochs - start,
                           (double)(vl_mono_ns() - t_start) / 1e9);
    }
    vl_strbuf_release(&metrics);
    teardown(&r);
    return rc;
}

char *vl_train_resume_path(const char *out_path)
{
    size_t n = strlen(out_path);
    const char *ext = ".safetensors";
    size_t e = strlen(ext);
    size_t stem = n >= e && !strcmp(out_path + n - e, ext) ? n - e : n;
    char *p = malloc(stem + 32);
    if (!p) abort();
    memcpy(p, out_path, stem);
    strcpy(p + stem, ".partial.safetensors");
    return p;
}
