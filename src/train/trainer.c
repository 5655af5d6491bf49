/* trainer.c - the training loop (behaviour and formats in trainer.h).
 *
 * On a device backend (o->gpu): the context is attached after
 * vl_nn_ctx_init and detached in teardown, after every device tensor is
 * freed.  The model is built and initialised on the host, then its
 * parameters and the optimiser's moments move to the device.  Batches are
 * assembled on the host into one reused staging tensor and uploaded
 * through two slots in turn (pinned buffers, device tensors, the copy on
 * its own stream: the next batch's copy overlaps this one's compute), or,
 * when every sample's floats fit a quarter of the device's free memory,
 * uploaded once and gathered there per batch.  Labels and content sizes
 * stay host arrays.  Step losses stay where the logits are, one slot per
 * batch, and come back once per epoch (the divergence check runs then);
 * validation probabilities come back per batch for the metrics.  The
 * backend's check runs after each step: out of memory halves the
 * micro-batch and the batch's gradient is accumulated over micro-batches
 * (see train_batch). */
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
    /* device runs (on_device): the context is on o->gpu's backend */
    int on_device;
    int micro;                     /* samples per forward and backward, <= o->batch */
    struct vl_nn_tensor stage;     /* host: a batch assembled before its upload */
    void *pinned[2];               /* staged runs: the batch copied here for its upload, the
                                      two slots in turn (the backend's host_alloc, grown only) */
    size_t pinned_cap[2];          /* bytes */
    struct vl_nn_tensor staged[2]; /* device: each slot's batch */
    int turn;                      /* the slot of the last upload */
    struct vl_nn_tensor data;      /* device: every sample assembled, or empty (staged) */
    struct vl_nn_tensor losses;    /* [batches per epoch]: step losses, where the logits are */
    struct vl_nn_tensor loss_tmp;  /* [1]: a micro-batch's or a validation batch's loss */
    float *host_losses;            /* [batches per epoch] */
    float *host_probs;             /* a validation batch's probabilities, downloaded */
    size_t host_probs_cap;
    size_t n_batches;
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

/* Floats of one assembled sample. */
static size_t sample_floats(const struct vl_dataset *ds)
{
    if (ds->kind == VL_DATA_FEATURES) return ds->dim;
    return (size_t)ds->frames * 3 * ds->height * ds->width;
}

/* A device run's batch: gathered from r->data (a backend copy per sample)
 * into r->x, or assembled into the host staging tensor and uploaded
 * through the slot of its turn, into r->staged[slot]. */
static int assemble_device(struct run *r, const size_t *idx, int n, struct vl_batch *b,
                           struct vl_error *err)
{
    struct vl_nn_ctx *ctx = &r->ctx;
    const struct vl_dataset *ds = r->ds;
    if (!r->data.size) {
        if (vl_model_batch(ds, idx, n, &r->stage, r->content_h, r->content_w, b, err) < 0)
            return -1;
        /* two slots in turn, each a pinned host buffer and a device
         * tensor: this batch's copy runs on the backend's copy stream while
         * the previous batch (the other slot) computes, and the host
         * assembles the next one meanwhile; a slot is refilled only after
         * its last copy has run, and copied into only after the work of
         * the batch that used it (stage_release) */
        const struct vl_nn_backend *be = ctx->backend;
        size_t bytes = r->stage.size * sizeof(float);
        int j = r->turn ^= 1;
        be->stage_release(ctx, 1 - j); /* everything so far, the last batch included */
        be->stage_wait(ctx, j);
        if (bytes > r->pinned_cap[j]) {
            be->host_free(ctx, r->pinned[j]);
            r->pinned_cap[j] = 0;
            if (!(r->pinned[j] = be->host_alloc(ctx, bytes)))
                return vl_error_set(err, "out of pinned host memory for a batch of %zu bytes",
                                    bytes);
            r->pinned_cap[j] = bytes;
        }
        memcpy(r->pinned[j], r->stage.data, bytes);
        struct vl_nn_tensor *x = &r->staged[j];
        const float *before = x->data;
        if (vl_nn_tensor_resize_ctx(ctx, x, r->stage.ndim, r->stage.shape, err) < 0) return -1;
        if (x->data != before) be->stage_release(ctx, j); /* the copy after the allocation */
        be->stage_upload(ctx, j, x->data, r->pinned[j], bytes);
        b->x = x;
        return 0;
    }
    int shape[5] = {n, (int)ds->dim}, ndim = 2;
    if (ds->kind == VL_DATA_CLIPS) {
        int clip[5] = {n, ds->frames, 3, ds->height, ds->width};
        memcpy(shape, clip, sizeof shape);
        ndim = 5;
    }
    if (vl_nn_tensor_resize_ctx(ctx, &r->x, ndim, shape, err) < 0) return -1;
    size_t per = sample_floats(ds);
    for (int i = 0; i < n; i++) {
        ctx->backend->copy(ctx, 1, per, r->data.data + idx[i] * per, per,
                           r->x.data + (size_t)i * per, per);
        if (ds->kind == VL_DATA_CLIPS) {
            r->content_h[i] = ds->samples[idx[i]].content_height;
            r->content_w[i] = ds->samples[idx[i]].content_width;
        }
    }
    *b = (struct vl_batch){.n = n,
                           .x = &r->x,
                           .content_h = ds->kind == VL_DATA_CLIPS ? r->content_h : NULL,
                           .content_w = ds->kind == VL_DATA_CLIPS ? r->content_w : NULL};
    return 0;
}

/* Fills run->x and labels with the samples idx[0..n) of the dataset. */
static int assemble(struct run *r, const size_t *idx, int n, struct vl_batch *b,
                    struct vl_error *err)
{
    if (r->on_device ? assemble_device(r, idx, n, b, err) < 0
                     : vl_model_batch(r->ds, idx, n, &r->x, r->content_h, r->content_w, b, err) < 0)
        return -1;
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

/* After a pass over n samples that returned rc (a device run): 0 when it
 * and the backend's check went well; 1 when the device ran out of memory
 * and the micro-batch was halved (run the pass again), with a warning
 * naming the batch in the log; else -1 with err set (the check's message,
 * or the pass's own error).  At a micro-batch of 1 running out is an
 * error that says what was asked for. */
static int device_outcome(struct run *r, int rc, int epoch, const char *what, size_t index, int n,
                          struct vl_error *err)
{
    struct vl_error why = {{0}};
    int oom = 0;
    if (r->ctx.backend->check(&r->ctx, &why, &oom) == 0) return rc < 0 ? -1 : 0;
    if (!oom) return vl_error_set(err, "epoch %d %s %zu: %s", epoch, what, index + 1, why.msg);
    int cur = r->micro < n ? r->micro : n;
    if (cur <= 1)
        return vl_error_set(err,
                            "out of device memory at epoch %d %s %zu even with micro-batches of "
                            "one sample: %s",
                            epoch, what, index + 1, why.msg);
    r->micro = cur / 2;
    vl_strbuf_addf(r->o->log,
                   "warning: out of device memory at epoch %d %s %zu (%s): micro-batches of %d "
                   "from now on, gradients accumulated over each batch of %d; batch norm sees "
                   "micro-batch statistics\n",
                   epoch, what, index + 1, why.msg, r->micro, r->o->batch);
    return 1;
}

/* Where the host reads t: t's data, or a device tensor downloaded into a
 * buffer of the run's that grows to the largest batch once. */
static const float *probs_on_host(struct run *r, const struct vl_nn_tensor *t)
{
    if (t->mem != VL_NN_MEM_DEVICE) return t->data;
    if (t->size > r->host_probs_cap) {
        free(r->host_probs);
        r->host_probs = malloc(t->size * sizeof *r->host_probs);
        if (!r->host_probs) abort();
        r->host_probs_cap = t->size;
    }
    vl_nn_tensor_read(t, r->host_probs);
    return r->host_probs;
}

/* Runs the validation split through the model into r->metrics, in batches
 * of o->batch (of the micro-batch once the device has run out of memory). */
static int evaluate(struct run *r, int epoch, struct vl_error *err)
{
    vl_metrics_reset(&r->metrics);
    size_t at = 0;
    for (size_t bi = 0; at < r->n_val; bi++) {
        int bs = r->micro;
        int n = (int)(r->n_val - at < (size_t)bs ? r->n_val - at : (size_t)bs);
        struct vl_batch b;
        struct vl_nn_tensor *logits;
        float loss, *loss_at = r->on_device ? r->loss_tmp.data : &loss;
        int rc = 0;
        if (assemble(r, r->val_idx + at, n, &b, err) < 0 ||
            vl_model_infer(&r->model, &r->ctx, &b, &logits, &r->probs, err) < 0 ||
            loss_of(r, logits, loss_at, NULL, err) < 0)
            rc = -1;
        if (!r->on_device && rc < 0) return -1;
        if (r->on_device) {
            rc = device_outcome(r, rc, epoch, "validation batch", bi, n, err);
            if (rc < 0) return -1;
            if (rc > 0) continue;
            vl_nn_tensor_read(&r->loss_tmp, &loss);
        }
        vl_metrics_add(&r->metrics, probs_on_host(r, &r->probs), r->labels, (size_t)n, loss);
        at += (size_t)n;
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

/* One micro-batch idx[0..n) of a batch of total samples: forward, loss into
 * *loss (where the logits are), and backward with the loss's gradient
 * scaled by the micro-batch's share n / total (losses are batch means), so
 * that the micro-batches' gradients add up to the batch's. */
static int micro_batch(struct run *r, const size_t *idx, int n, int total, float *loss,
                       struct vl_error *err)
{
    struct vl_batch b;
    struct vl_nn_tensor *logits;
    if (assemble(r, idx, n, &b, err) < 0 ||
        r->model.def->forward(&r->model, &r->ctx, &b, &logits, err) < 0 ||
        loss_of(r, logits, loss, &r->dlogits, err) < 0)
        return -1;
    if (n < total)
        r->ctx.backend->scale(&r->ctx, r->dlogits.size, (float)n / (float)total, r->dlogits.data);
    return r->model.def->backward(&r->model, &r->ctx, &r->dlogits, err);
}

/* The gradient of the batch idx[0..n) (zeroed first, then accumulated over
 * micro-batches of r->micro samples) and its loss into *loss: the whole
 * batch at once unless the device ran out of memory. */
static int batch_gradient(struct run *r, const size_t *idx, int n, float *loss,
                          struct vl_error *err)
{
    vl_nn_params_zero_grad_ctx(&r->ctx, &r->model.params);
    if (r->micro >= n) return micro_batch(r, idx, n, n, loss, err);
    const struct vl_nn_backend *be = r->ctx.backend;
    be->fill(&r->ctx, 1, 0.0f, loss);
    for (int at = 0; at < n; at += r->micro) {
        int k = n - at < r->micro ? n - at : r->micro;
        if (micro_batch(r, idx + at, k, n, r->loss_tmp.data, err) < 0) return -1;
        be->axpy(&r->ctx, 1, (float)k / (float)n, r->loss_tmp.data, loss);
    }
    return 0;
}

/* One training step over idx[0..n), batch bi of the epoch: the gradient
 * (again, with half the micro-batch, while the device runs out of memory),
 * the L2 term, clipping and the optimiser's step.  The optimiser steps only
 * after a gradient that the backend's check passed. */
static int train_batch(struct run *r, int epoch, size_t bi, const size_t *idx, int n,
                       float *lr, struct vl_error *err)
{
    const struct vl_train_options *o = r->o;
    float *loss = r->losses.data + bi;
    for (;;) {
        int rc = batch_gradient(r, idx, n, loss, err);
        if (!r->on_device) {
            if (rc < 0) return -1;
            break;
        }
        rc = device_outcome(r, rc, epoch, "batch", bi, n, err);
        if (rc < 0) return -1;
        if (rc == 0) break;
    }
    if (!r->on_device && !isfinite(*loss))
        return vl_error_set(err, "the loss diverged (%g) at epoch %d batch %zu; lower lr",
                            (double)*loss, epoch, bi + 1);
    if (r->l2 > 0)
        for (size_t i = 0; i < r->model.params.count; i++) {
            struct vl_nn_param *p = r->model.params.items[i];
            if (p->trainable && p->decay)
                r->ctx.backend->axpy(&r->ctx, p->grad.size, (float)r->l2, p->value.data,
                                     p->grad.data);
        }
    if (o->clip > 0) vl_nn_clip_grad_norm_ctx(&r->ctx, &r->model.params, (float)o->clip);
    *lr = vl_nn_schedule_lr(&r->schedule, r->optim.step);
    vl_nn_optim_step(&r->optim, *lr);
    struct vl_error why = {{0}};
    if (r->on_device && r->ctx.backend->check(&r->ctx, &why, NULL) < 0)
        return vl_error_set(err, "epoch %d batch %zu, the optimiser's step: %s", epoch, bi + 1,
                            why.msg);
    return 0;
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
    size_t n_batches = r->n_batches;
    double sum = 0;
    size_t seen = 0;
    for (size_t bi = 0; bi < n_batches; bi++) {
        if (o->cancel && atomic_load_explicit(o->cancel, memory_order_relaxed))
            return vl_error_set(err, "interrupted during epoch %d", epoch);
        size_t at = bi * (size_t)o->batch;
        int n = (int)(r->n_train - at < (size_t)o->batch ? r->n_train - at : (size_t)o->batch);
        if (train_batch(r, epoch, bi, r->train_idx + at, n, last_lr, err) < 0) return -1;
        char text[128];
        if (!r->on_device) { /* the loss is on the host: a running mean */
            sum += (double)r->losses.data[bi] * n;
            seen += (size_t)n;
            snprintf(text, sizeof text, "epoch %d/%d batch %zu/%zu loss %.4f", epoch, o->epochs,
                     bi + 1, n_batches, sum / (double)seen);
        } else {
            snprintf(text, sizeof text, "epoch %d/%d batch %zu/%zu", epoch, o->epochs, bi + 1,
                     n_batches);
        }
        if (o->progress) o->progress(o->progress_ctx, text);
    }
    if (r->on_device) { /* the epoch's losses come back at once */
        struct vl_error why = {{0}};
        vl_nn_tensor_read(&r->losses, r->host_losses);
        if (r->ctx.backend->check(&r->ctx, &why, NULL) < 0)
            return vl_error_set(err,
                                "epoch %d: the device failed during the epoch (reported when "
                                "its losses came back): %s",
                                epoch, why.msg);
        for (size_t bi = 0; bi < n_batches; bi++) {
            size_t at = bi * (size_t)o->batch;
            size_t n = r->n_train - at < (size_t)o->batch ? r->n_train - at : (size_t)o->batch;
            if (!isfinite(r->host_losses[bi]))
                return vl_error_set(err, "the loss diverged (%g) at epoch %d batch %zu; lower lr",
                                    (double)r->host_losses[bi], epoch, bi + 1);
            sum += (double)r->host_losses[bi] * (double)n;
            seen += n;
        }
    }
    *mean_loss = seen ? sum / (double)seen : 0;
    return 0;
}

/* Every sample assembled once into r->data on the device when their floats
 * fit a quarter of the free device memory that mem_info reports (0: it
 * knows of none, so never); else batches are staged.  Which one is logged. */
static int place_data(struct run *r, struct vl_error *err)
{
    struct vl_nn_ctx *ctx = &r->ctx;
    const struct vl_dataset *ds = r->ds;
    size_t per = sample_floats(ds), free_bytes = 0, total_bytes = 0;
    double bytes = (double)ds->n * (double)per * sizeof(float);
    ctx->backend->mem_info(ctx, &free_bytes, &total_bytes);
    if (!free_bytes || bytes > (double)free_bytes / 4 || ds->n > (size_t)INT32_MAX ||
        per > (size_t)INT32_MAX) {
        vl_strbuf_addf(r->o->log,
                       "data: staged batch by batch (all %zu samples are %.1f MiB as floats; "
                       "%.1f MiB of device memory free)\n",
                       ds->n, bytes / 1048576.0, (double)free_bytes / 1048576.0);
        return 0;
    }
    int shape[2] = {(int)ds->n, (int)per};
    struct vl_error why = {{0}};
    if (vl_nn_tensor_resize_ctx(ctx, &r->data, 2, shape, err) < 0) {
        ctx->backend->check(ctx, &why, NULL); /* clears the failure: staging needs less */
        vl_nn_tensor_free(&r->data);
        vl_strbuf_addf(r->o->log, "data: staged batch by batch (%s)\n", why.msg);
        return 0;
    }
    size_t chunk = (size_t)r->o->batch;
    size_t *idx = malloc(chunk * sizeof *idx);
    if (!idx) abort();
    for (size_t at = 0; at < ds->n; at += chunk) {
        int n = (int)(ds->n - at < chunk ? ds->n - at : chunk);
        struct vl_batch b;
        for (int i = 0; i < n; i++) idx[i] = at + (size_t)i;
        if (vl_model_batch(ds, idx, n, &r->stage, r->content_h, r->content_w, &b, err) < 0) {
            free(idx);
            return -1;
        }
        ctx->backend->upload(ctx, r->data.data + at * per, r->stage.data,
                             r->stage.size * sizeof(float));
    }
    free(idx);
    if (ctx->backend->check(ctx, &why, NULL) < 0)
        return vl_error_set(err, "uploading the data: %s", why.msg);
    vl_strbuf_addf(r->o->log,
                   "data: all %zu samples (%.1f MiB as floats) uploaded to the device once, "
                   "batches gathered there\n",
                   ds->n, bytes / 1048576.0);
    return 0;
}

/* A device run's placement: the parameters, the optimiser's moments, the
 * step losses and the data on the device. */
static int place_on_device(struct run *r, struct vl_error *err)
{
    struct vl_nn_ctx *ctx = &r->ctx;
    int one = 1, batches = (int)r->n_batches;
    int rc = vl_nn_params_place(ctx, &r->model.params, err);
    for (size_t i = 0; rc == 0 && i < r->optim.count; i++)
        if (vl_nn_tensor_place(ctx, &r->optim.state[i].m, err) < 0 ||
            vl_nn_tensor_place(ctx, &r->optim.state[i].v, err) < 0)
            rc = vl_error_prefix(err, "the optimiser's state of %s",
                                 r->model.params.items[i]->name);
    if (rc == 0 && (vl_nn_tensor_resize_ctx(ctx, &r->losses, 1, &batches, err) < 0 ||
                    vl_nn_tensor_resize_ctx(ctx, &r->loss_tmp, 1, &one, err) < 0))
        rc = vl_error_prefix(err, "the step losses");
    struct vl_error why = {{0}};
    if (rc < 0) {
        if (ctx->backend->check(ctx, &why, NULL) < 0) vl_error_prefix(err, "%s", why.msg);
        return vl_error_prefix(err, "the model does not fit on the device");
    }
    return place_data(r, err);
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
    r->micro = o->batch;
    r->n_batches = (r->n_train + (size_t)o->batch - 1) / (size_t)o->batch;
    if (o->gpu) {
        if (o->gpu->attach(&r->ctx, o->gpu_device, o->precision, o->seed, err) < 0) return -1;
        r->on_device = 1;
        r->ctx.mem = VL_NN_MEM_DEVICE;
        r->host_losses = calloc(r->n_batches, sizeof *r->host_losses);
        if (!r->host_losses) abort();
        vl_strbuf_addf(o->log, "device: training on backend %s, device %d\n",
                       r->ctx.backend->name, o->gpu_device);
    } else {
        int batches = (int)r->n_batches;
        if (vl_nn_tensor_resize(&r->losses, 1, &batches, err) < 0) return -1;
    }
    if (vl_model_create(o->model, &mc, &init, &r->model, err) < 0) return -1;
    fit_scaler(r);
    int linear = o->model->kind == VL_DATA_FEATURES;
    r->l2 = linear && o->C > 0 ? 1.0 / ((double)r->n_train * o->C) : 0;
    struct vl_nn_optim_config oc = vl_nn_optim_defaults(o->optimizer);
    oc.weight_decay = linear ? 0.0f : (float)o->weight_decay;
    if (o->optimizer == VL_NN_SGD) oc.momentum = (float)o->momentum;
    if (vl_nn_optim_init(&r->optim, &r->model.params, &oc, err) < 0) return -1;
    vl_nn_optim_bind(&r->optim, &r->ctx);
    if (r->on_device && place_on_device(r, err) < 0) return -1;
    long per_epoch = (long)r->n_batches;
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

/* Frees the run; a device context is detached only after every tensor it
 * owns is freed, and goes back to the CPU backend. */
static void teardown(struct run *r)
{
    vl_model_destroy(&r->model);
    vl_nn_optim_free(&r->optim);
    vl_nn_tensor_free(&r->x);
    vl_nn_tensor_free(&r->dlogits);
    vl_nn_tensor_free(&r->probs);
    vl_nn_tensor_free(&r->stage);
    vl_nn_tensor_free(&r->data);
    vl_nn_tensor_free(&r->losses);
    vl_nn_tensor_free(&r->loss_tmp);
    for (int i = 0; i < 2; i++) {
        vl_nn_tensor_free(&r->staged[i]);
        if (r->pinned[i]) {
            r->ctx.backend->stage_wait(&r->ctx, i);
            r->ctx.backend->host_free(&r->ctx, r->pinned[i]);
        }
        r->pinned[i] = NULL, r->pinned_cap[i] = 0;
    }
    if (r->on_device) {
        r->o->gpu->detach(&r->ctx);
        r->ctx.backend = vl_nn_backend_cpu();
        r->ctx.backend_state = NULL;
        r->ctx.mem = VL_NN_MEM_HOST;
        r->on_device = 0;
    }
    vl_nn_ctx_free(&r->ctx);
    free(r->host_losses);
    free(r->host_probs);
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

/* The checkpoint (or resume file) at path.  On a device the parameters are
 * downloaded while it is written; a failure the backend's check reports
 * then removes the file, so a bad download never stands as a checkpoint. */
static int write_checkpoint(struct run *r, const char *path, const struct vl_nn_optim *optim,
                            const struct vl_checkpoint_info *info, struct vl_error *err)
{
    if (vl_checkpoint_write(path, &r->model.params, optim, info, err) < 0) return -1;
    struct vl_error why = {{0}};
    if (r->on_device && r->ctx.backend->check(&r->ctx, &why, NULL) < 0) {
        unlink(path);
        return vl_error_set(err, "%s: downloading the model: %s", path, why.msg);
    }
    return 0;
}

int vl_train_run(struct vl_dataset *ds, const struct vl_train_options *o, struct vl_error *err)
{
    struct run r = {.ds = ds, .o = o, .history = VL_STRBUF_INIT};
    vl_nn_tensor_init(&r.x);
    vl_nn_tensor_init(&r.dlogits);
    vl_nn_tensor_init(&r.probs);
    vl_nn_tensor_init(&r.stage);
    vl_nn_tensor_init(&r.staged[0]);
    vl_nn_tensor_init(&r.staged[1]);
    vl_nn_tensor_init(&r.data);
    vl_nn_tensor_init(&r.losses);
    vl_nn_tensor_init(&r.loss_tmp);
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
        if (rc == 0) rc = evaluate(&r, epoch, err);
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
            rc = write_checkpoint(&r, o->resume_path, &r.optim, &info, err);
        }
    }
    if (rc == 0) {
        struct vl_checkpoint_info info;
        info_of(&r, o->epochs, metrics.buf, NULL, &info);
        rc = write_checkpoint(&r, o->out_path, NULL, &info, err);
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
