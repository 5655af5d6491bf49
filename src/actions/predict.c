/* predict.c - the `predict` built-in: a trained checkpoint applied to the
 * clips or features of one video (an `each` rule over the videos, so a new
 * video is predicted alone).  Inputs: exactly one `.safetensors` checkpoint
 * (train's output) and the video's arrays, with their `.json` sidecars where
 * the model reads them (dataset.h); every array must descend from one source
 * video.  The model runs through the training code's inference pass
 * (vl_model_infer, as validation does); the softmax probabilities of the
 * video's clips are averaged (for svm, the softmax of its decision scores).
 *
 * Output 0, the prediction (JSON), version 1:
 *   {"format":"vlbuild.prediction","version":1,
 *    "video":"data/raw/a.mp4",        the source video (provenance)
 *    "checkpoint":"models/m.safetensors","model":"logreg",
 *    "clips":N,                       arrays averaged
 *    "classes":["a","b",...],         the checkpoint's, class i is logit i
 *    "probabilities":[p0,p1,...],     the mean probability of each class
 *    "top":[{"class":"b","index":1,"probability":p},...]}
 * "top" holds the `top` most probable classes (fewer when the model has
 * fewer), by probability, ties by class index.  A reader checks format and
 * version.
 * Output 1 (optional), the same as CSV: a header `video,rank,class,probability`
 * and one row per entry of "top", rank from 1. */
#include "actions/action.h"
#include "actions/media.h"

#include <stdlib.h>
#include <string.h>

#include "nn/tensor.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/labels.h"
#include "train/metrics.h"
#include "train/model.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Checks the arrays against what the checkpoint's model was trained on. */
static int check_shapes(const struct vl_dataset *ds, const struct vl_checkpoint_model *cm,
                        const char *checkpoint, struct vl_error *err)
{
    const char *first = ds->samples[0].path;
    if (cm->kind == VL_DATA_FEATURES && ds->dim != cm->dim)
        return vl_error_set(err, "%s has %zu values, but %s was trained on %zu", first, ds->dim,
                            checkpoint, cm->dim);
    if (cm->kind == VL_DATA_CLIPS &&
        (ds->frames != cm->frames ||
         (!cm->model.def->variable_size && (ds->height != cm->height || ds->width != cm->width))))
        return vl_error_set(err, "%s is %d frames of %dx%d, but %s was trained on %d frames of %dx%d",
                            first, ds->frames, ds->width, ds->height, checkpoint, cm->frames,
                            cm->width, cm->height);
    return 0;
}

/* The mean probabilities of every sample of ds into mean[K]. */
static int average(struct vl_action_job *job, struct vl_checkpoint_model *cm,
                   const struct vl_dataset *ds, double *mean, struct vl_error *err)
{
    size_t per = ds->kind == VL_DATA_FEATURES
                     ? ds->dim
                     : (size_t)ds->frames * 3 * ds->height * ds->width;
    size_t fit = job->memory_budget ? job->memory_budget / (per * sizeof(float) + 1) : 32;
    int batch = fit < 1 ? 1 : fit > 32 ? 32 : (int)fit;
    size_t *idx = calloc(ds->n, sizeof *idx);
    int *content_h = calloc((size_t)batch, sizeof *content_h);
    int *content_w = calloc((size_t)batch, sizeof *content_w);
    if (!idx || !content_h || !content_w) abort();
    for (size_t i = 0; i < ds->n; i++) idx[i] = i;
    struct vl_nn_ctx ctx;
    struct vl_nn_tensor x, probs;
    vl_nn_ctx_init(&ctx, 0);
    vl_nn_tensor_init(&x);
    vl_nn_tensor_init(&probs);
    int rc = 0, K = cm->n_classes;
    for (size_t at = 0; at < ds->n && rc == 0; at += (size_t)batch) {
        if (vl_action_cancelled(job)) {
            rc = vl_error_set(err, "interrupted");
            break;
        }
        int n = (int)(ds->n - at < (size_t)batch ? ds->n - at : (size_t)batch);
        struct vl_batch b;
        struct vl_nn_tensor *logits;
        rc = vl_model_batch(ds, idx + at, n, &x, content_h, content_w, &b, err);
        if (rc == 0) rc = vl_model_infer(&cm->model, &ctx, &b, &logits, &probs, err);
        if (rc == 0 && (probs.ndim != 2 || probs.shape[0] != n || probs.shape[1] != K))
            rc = vl_error_set(err, "the model gave %d outputs, the checkpoint names %d classes",
                              probs.ndim == 2 ? probs.shape[1] : -1, K);
        for (int i = 0; rc == 0 && i < n; i++)
            for (int c = 0; c < K; c++) mean[c] += probs.data[(size_t)i * K + c];
    }
    for (int c = 0; c < K; c++) mean[c] /= (double)ds->n;
    vl_nn_tensor_free(&x);
    vl_nn_tensor_free(&probs);
    vl_nn_ctx_free(&ctx);
    free(idx);
    free(content_h);
    free(content_w);
    return rc;
}

static void write_json(struct vl_strbuf *out, const char *video, const char *checkpoint,
                       const struct vl_checkpoint_model *cm, size_t clips, const double *mean,
                       const int *order, int top)
{
    vl_strbuf_adds(out, "{\"format\":\"vlbuild.prediction\",\"version\":1,\"video\":");
    vl_strbuf_add_json_string(out, video);
    vl_strbuf_adds(out, ",\"checkpoint\":");
    vl_strbuf_add_json_string(out, checkpoint);
    vl_strbuf_adds(out, ",\"model\":");
    vl_strbuf_add_json_string(out, cm->model.def->name);
    vl_strbuf_addf(out, ",\"clips\":%zu,\"classes\":[", clips);
    for (int c = 0; c < cm->n_classes; c++) {
        if (c) vl_strbuf_addch(out, ',');
        vl_strbuf_add_json_string(out, cm->classes[c]);
    }
    vl_strbuf_adds(out, "],\"probabilities\":[");
    for (int c = 0; c < cm->n_classes; c++) {
        if (c) vl_strbuf_addch(out, ',');
        vl_json_add_float(out, mean[c]);
    }
    vl_strbuf_adds(out, "],\"top\":[");
    for (int r = 0; r < top; r++) {
        vl_strbuf_adds(out, r ? ",{\"class\":" : "{\"class\":");
        vl_strbuf_add_json_string(out, cm->classes[order[r]]);
        vl_strbuf_addf(out, ",\"index\":%d,\"probability\":", order[r]);
        vl_json_add_float(out, mean[order[r]]);
        vl_strbuf_addch(out, '}');
    }
    vl_strbuf_adds(out, "]}\n");
}

int vl_action_predict_run(struct vl_action_job *job, struct vl_error *err)
{
    size_t ckpt = (size_t)-1;
    for (size_t i = 0; i < job->n_inputs; i++) {
        if (!ends_with(job->inputs[i], ".safetensors")) continue;
        if (ckpt != (size_t)-1)
            return vl_error_set(err, "two checkpoints among the inputs: %s and %s",
                                job->inputs[ckpt], job->inputs[i]);
        ckpt = i;
    }
    if (ckpt == (size_t)-1)
        return vl_error_set(err, "no checkpoint among the inputs (a .safetensors from train)");
    /* the arrays (and sidecars) of one video */
    const char **arrays = calloc(job->n_inputs, sizeof *arrays);
    if (!arrays) abort();
    size_t n = 0;
    const char *video = NULL, *first = NULL;
    int rc = 0;
    for (size_t i = 0; i < job->n_inputs && rc == 0; i++) {
        if (i == ckpt) continue;
        arrays[n++] = job->inputs[i];
        if (ends_with(job->inputs[i], ".json")) continue;
        if (!video) video = job->input_origins[i], first = job->inputs[i];
        else if (strcmp(video, job->input_origins[i]))
            rc = vl_error_set(err,
                              "%s comes from %s but %s from %s: predict takes the arrays of one "
                              "video (write `each` over the videos)",
                              first, video, job->inputs[i], job->input_origins[i]);
    }
    struct vl_checkpoint_model cm;
    struct vl_dataset ds = {0};
    memset(&cm, 0, sizeof cm);
    if (rc == 0) rc = vl_checkpoint_load(job->inputs[ckpt], &cm, err);
    if (rc == 0) {
        struct vl_dataset_config dc = {
            .kind = cm.kind, .variable_size = cm.model.def->variable_size, .unlabelled = 1};
        rc = vl_dataset_open(arrays, NULL, NULL, n, &dc, &ds, job->log, err);
    }
    if (rc == 0) rc = check_shapes(&ds, &cm, job->inputs[ckpt], err);
    double *mean = NULL;
    int *order = NULL;
    if (rc == 0) {
        mean = calloc((size_t)cm.n_classes, sizeof *mean);
        order = calloc((size_t)cm.n_classes, sizeof *order);
        if (!mean || !order) abort();
        rc = average(job, &cm, &ds, mean, err);
    }
    if (rc == 0) {
        int K = cm.n_classes, top = (int)vl_params_get(job->params, "top")->num;
        if (top > K) top = K;
        /* by probability, ties by index: an insertion sort, stable */
        for (int c = 0; c < K; c++) {
            int k = c;
            while (k > 0 && mean[order[k - 1]] < mean[c]) order[k] = order[k - 1], k--;
            order[k] = c;
        }
        struct vl_strbuf out = VL_STRBUF_INIT;
        write_json(&out, video, job->inputs[ckpt], &cm, ds.n, mean, order, top);
        rc = vl_write_file_atomic(job->outputs[0], out.buf, out.len, err);
        if (rc == 0 && job->n_outputs > 1) {
            vl_strbuf_reset(&out);
            vl_strbuf_adds(&out, "video,rank,class,probability\n");
            for (int r = 0; r < top; r++) {
                vl_labels_add_csv_field(&out, video);
                vl_strbuf_addf(&out, ",%d,", r + 1);
                vl_labels_add_csv_field(&out, cm.classes[order[r]]);
                vl_strbuf_addch(&out, ',');
                vl_json_add_float(&out, mean[order[r]]);
                vl_strbuf_addch(&out, '\n');
            }
            rc = vl_write_file_atomic(job->outputs[1], out.buf, out.len, err);
        }
        if (rc == 0)
            vl_strbuf_addf(job->log, "%s: %s (%.3f) from %zu array(s)\n", video,
                           cm.classes[order[0]], mean[order[0]], ds.n);
        vl_strbuf_release(&out);
    }
    free(mean);
    free(order);
    if (ds.samples) vl_dataset_close(&ds);
    vl_checkpoint_model_free(&cm);
    free(arrays);
    return rc;
}
