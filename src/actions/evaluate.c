/* evaluate.c - the `evaluate` built-in: predictions (predict's JSON, format
 * in predict.c) scored against annotations (train/labels.h, the same join
 * by provenance as training: a prediction's "video" is its source).
 * Inputs: the predictions and the annotation files (every input that is not
 * a prediction, read as one set).  With split=test only the videos of the
 * test split count: annotated test, or without an annotated split, in the
 * hash fraction `test` of `seed` as train holds it out.  Predictions of one video
 * (several rules, or one per clip) are merged: their probabilities averaged,
 * weighted by their "clips".  Every prediction must name the same classes in
 * the same order; every video must have a label, and that label must be one
 * of the classes.  A video's predicted class is its most probable (ties:
 * the lowest index); it is in the top k when fewer than k classes rank
 * before its true class (ranked by probability, ties by index).
 *
 * Output 0, the metrics (JSON), version 1:
 *   {"format":"vlbuild.metrics","version":1,
 *    "videos":N,"classes":["a",...],
 *    "accuracy":A,                   top-1, over the videos
 *    "top_k":5,"top_k_accuracy":A5,  k = the `top` parameter, at most the class count
 *    "per_class":[{"class":"a","support":S,"predicted":P,"precision":p,"recall":r},...],
 *    "confusion":[[..],..]}          [true][predicted], counts of videos
 * support: videos of the class; predicted: videos predicted as it; precision
 * is null when nothing was predicted as the class, recall when it has no
 * video.  A reader checks format and version.
 * Output 1 (optional), every video as CSV, sorted by video:
 *   video,label,predicted,probability,correct   (probability: of the predicted class; correct 0|1) */
#include "actions/action.h"
#include "actions/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/labels.h"
#include "train/metrics.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/map.h"

/* One video's merged prediction. */
struct video {
    const char *name; /* in the arena */
    double *probs;    /* K, summed weighted by clips, then divided */
    double clips;
    int label, predicted;
};

struct eval {
    struct vl_arena arena;
    const struct vl_json *classes; /* the first prediction's */
    const char *classes_from;
    int K;
    struct video *videos;
    size_t n_videos;
    struct vl_map by_name; /* name -> struct video index + 1 (as a pointer) */
};

static int same_classes(const struct vl_json *a, const struct vl_json *b)
{
    if (a->type != VL_JSON_ARRAY || b->type != VL_JSON_ARRAY || a->len != b->len) return 0;
    for (size_t i = 0; i < a->len; i++)
        if (a->items[i]->type != VL_JSON_STRING || b->items[i]->type != VL_JSON_STRING ||
            strcmp(a->items[i]->string, b->items[i]->string))
            return 0;
    return 1;
}

/* Reads one prediction file and adds it to its video. */
static int add_prediction(struct eval *e, const char *path, size_t max_videos, struct vl_error *err)
{
    char *text;
    size_t n;
    struct vl_json *root;
    if (vl_read_file(path, &text, &n, err) < 0) return -1;
    int rc = vl_json_parse(&e->arena, path, text, n, &root, err);
    free(text);
    if (rc < 0) return -1;
    if (strcmp(vl_json_string(root, "format", ""), "vlbuild.prediction"))
        return vl_error_set(err, "%s: not a prediction (format vlbuild.prediction)", path);
    if (vl_json_number(root, "version", 0) != 1)
        return vl_error_set(err, "%s: prediction version %g is not 1", path,
                            vl_json_number(root, "version", 0));
    const char *video = vl_json_string(root, "video", NULL);
    const struct vl_json *classes = vl_json_get(root, "classes");
    const struct vl_json *probs = vl_json_get(root, "probabilities");
    double clips = vl_json_number(root, "clips", 0);
    if (!video || !classes || classes->type != VL_JSON_ARRAY || classes->len < 2 || !probs ||
        probs->type != VL_JSON_ARRAY || probs->len != classes->len || !(clips >= 1))
        return vl_error_set(err, "%s: a prediction needs video, clips >= 1, classes and one "
                                 "probability per class",
                            path);
    if (!e->classes) {
        e->classes = classes, e->classes_from = path;
        e->K = (int)classes->len;
    } else if (!same_classes(e->classes, classes)) {
        return vl_error_set(err, "%s and %s name different classes (predictions of different "
                                 "models?)",
                            e->classes_from, path);
    }
    for (size_t c = 0; c < probs->len; c++)
        if (probs->items[c]->type != VL_JSON_NUMBER)
            return vl_error_set(err, "%s: probability %zu is not a number", path, c);
    void *slot = vl_map_get(&e->by_name, video);
    struct video *v;
    if (slot) v = &e->videos[(size_t)(uintptr_t)slot - 1];
    else {
        if (e->n_videos >= max_videos) abort();
        v = &e->videos[e->n_videos++];
        v->name = video;
        v->probs = vl_arena_alloc(&e->arena, (size_t)e->K * sizeof *v->probs);
        memset(v->probs, 0, (size_t)e->K * sizeof *v->probs);
        vl_map_put(&e->by_name, video, (void *)(uintptr_t)e->n_videos);
    }
    for (int c = 0; c < e->K; c++) v->probs[c] += clips * probs->items[c]->number;
    v->clips += clips;
    return 0;
}

static int cmp_video(const void *a, const void *b)
{
    return strcmp(((const struct video *)a)->name, ((const struct video *)b)->name);
}

static void add_ratio(struct vl_strbuf *out, size_t num, size_t den)
{
    if (den) vl_json_add_float(out, (double)num / (double)den);
    else vl_strbuf_adds(out, "null");
}

/* The metrics JSON and the predictions CSV of the labelled videos. */
static void write_outputs(const struct eval *e, int k, struct vl_strbuf *json,
                          struct vl_strbuf *csv)
{
    int K = e->K;
    size_t *confusion = calloc((size_t)K * K, sizeof *confusion);
    if (!confusion) abort();
    size_t correct = 0, in_top = 0;
    vl_strbuf_adds(csv, "video,label,predicted,probability,correct\n");
    for (size_t i = 0; i < e->n_videos; i++) {
        const struct video *v = &e->videos[i];
        int before = 0; /* classes ranked before the true one */
        for (int c = 0; c < K; c++)
            before += v->probs[c] > v->probs[v->label] ||
                      (v->probs[c] == v->probs[v->label] && c < v->label);
        correct += v->predicted == v->label;
        in_top += before < k;
        confusion[(size_t)v->label * K + v->predicted]++;
        vl_labels_add_csv_field(csv, v->name);
        vl_strbuf_addch(csv, ',');
        vl_labels_add_csv_field(csv, e->classes->items[v->label]->string);
        vl_strbuf_addch(csv, ',');
        vl_labels_add_csv_field(csv, e->classes->items[v->predicted]->string);
        vl_strbuf_addch(csv, ',');
        vl_json_add_float(csv, v->probs[v->predicted]);
        vl_strbuf_addf(csv, ",%d\n", v->predicted == v->label);
    }
    vl_strbuf_addf(json, "{\"format\":\"vlbuild.metrics\",\"version\":1,\"videos\":%zu,\"classes\":[",
                   e->n_videos);
    for (int c = 0; c < K; c++) {
        if (c) vl_strbuf_addch(json, ',');
        vl_strbuf_add_json_string(json, e->classes->items[c]->string);
    }
    vl_strbuf_adds(json, "],\"accuracy\":");
    add_ratio(json, correct, e->n_videos);
    vl_strbuf_addf(json, ",\"top_k\":%d,\"top_k_accuracy\":", k);
    add_ratio(json, in_top, e->n_videos);
    vl_strbuf_adds(json, ",\"per_class\":[");
    for (int c = 0; c < K; c++) {
        size_t support = 0, predicted = 0, hit = confusion[(size_t)c * K + c];
        for (int o = 0; o < K; o++) {
            support += confusion[(size_t)c * K + o];
            predicted += confusion[(size_t)o * K + c];
        }
        vl_strbuf_adds(json, c ? ",{\"class\":" : "{\"class\":");
        vl_strbuf_add_json_string(json, e->classes->items[c]->string);
        vl_strbuf_addf(json, ",\"support\":%zu,\"predicted\":%zu,\"precision\":", support,
                       predicted);
        add_ratio(json, hit, predicted);
        vl_strbuf_adds(json, ",\"recall\":");
        add_ratio(json, hit, support);
        vl_strbuf_addch(json, '}');
    }
    vl_strbuf_adds(json, "],\"confusion\":[");
    for (int t = 0; t < K; t++) {
        vl_strbuf_adds(json, t ? ",[" : "[");
        for (int p = 0; p < K; p++) vl_strbuf_addf(json, "%s%zu", p ? "," : "", confusion[(size_t)t * K + p]);
        vl_strbuf_addch(json, ']');
    }
    vl_strbuf_adds(json, "]}\n");
    free(confusion);
}

int vl_action_evaluate_run(struct vl_action_job *job, struct vl_error *err)
{
    /* the annotations: every input that is not a prediction */
    unsigned char *annotation = calloc(job->n_inputs + 1, 1);
    const char **files = calloc(job->n_inputs + 1, sizeof *files);
    if (!annotation || !files) abort();
    vl_labels_mark_annotations(job->inputs, job->n_inputs, annotation);
    size_t n_files = 0;
    for (size_t i = 0; i < job->n_inputs; i++) {
        if (annotation[i]) files[n_files++] = job->inputs[i];
    }
    struct vl_labels labels;
    int fmt = vl_labels_format_from_name(vl_params_get(job->params, "labels_format")->text);
    int rc = n_files ? vl_labels_read_set(files, n_files, (enum vl_labels_format)fmt, &labels, err)
                     : vl_error_set(err, "no labels file among the inputs (a .csv with file,label "
                                         "rows, or another annotation format of docs/datasets.md)");
    free(files);
    if (rc < 0) {
        free(annotation);
        return -1;
    }
    int only_test = !strcmp(vl_params_get(job->params, "split")->text, "test");
    double test = vl_params_get(job->params, "test")->num;
    uint64_t seed = (uint64_t)vl_params_get(job->params, "seed")->num;
    struct eval e = {0};
    e.videos = calloc(job->n_inputs, sizeof *e.videos);
    if (!e.videos) abort();
    for (size_t i = 0; i < job->n_inputs && rc == 0; i++)
        if (!annotation[i]) rc = add_prediction(&e, job->inputs[i], job->n_inputs, err);
    if (rc == 0 && e.n_videos == 0)
        rc = vl_error_set(err, "no predictions among the inputs (predict's .json files)");
    if (rc == 0) qsort(e.videos, e.n_videos, sizeof *e.videos, cmp_video);
    struct vl_strbuf missing = VL_STRBUF_INIT;
    size_t n_missing = 0;
    for (size_t i = 0; i < e.n_videos && rc == 0; i++) {
        struct video *v = &e.videos[i];
        for (int c = 0; c < e.K; c++) v->probs[c] /= v->clips;
        v->predicted = 0;
        for (int c = 1; c < e.K; c++)
            if (v->probs[c] > v->probs[v->predicted]) v->predicted = c;
        const struct vl_label_row *row;
        int found = vl_labels_find(&labels, v->name, &row, err);
        if (found < 0) rc = -1;
        else if (found == 0) {
            if (n_missing++ < 5)
                vl_strbuf_addf(&missing, "%s%s", n_missing > 1 ? ", " : "", v->name);
        } else if (only_test && row->split != VL_SPLIT_TEST &&
                   (row->split != VL_SPLIT_NONE || !vl_labels_hash_test(v->name, test, seed))) {
            v->label = -2; /* not of the test split: left out */
        } else {
            v->label = -1;
            for (int c = 0; c < e.K; c++)
                if (!strcmp(e.classes->items[c]->string, row->label)) v->label = c;
            if (v->label < 0)
                rc = vl_error_set(err, "%s:%d: %s is labelled %s, which is not one of the model's "
                                       "%d classes",
                                  row->file, row->line, v->name, row->label, e.K);
        }
    }
    if (rc == 0 && n_missing)
        rc = vl_error_set(err, "%zu video(s) have no label in %s: %s%s", n_missing,
                          labels.path, missing.buf, n_missing > 5 ? ", ..." : "");
    vl_strbuf_release(&missing);
    if (rc == 0 && only_test) { /* keep the test split's videos */
        size_t kept = 0;
        for (size_t i = 0; i < e.n_videos; i++)
            if (e.videos[i].label != -2) e.videos[kept++] = e.videos[i];
        e.n_videos = kept;
        if (kept == 0)
            rc = vl_error_set(err, "split=test: none of the predicted videos is in the test split "
                                   "of %s",
                              labels.path);
    }
    if (rc == 0) {
        int k = (int)vl_params_get(job->params, "top")->num;
        if (k > e.K) k = e.K;
        struct vl_strbuf json = VL_STRBUF_INIT, rows = VL_STRBUF_INIT;
        write_outputs(&e, k, &json, &rows);
        rc = vl_write_file_atomic(job->outputs[0], json.buf, json.len, err);
        if (rc == 0 && job->n_outputs > 1)
            rc = vl_write_file_atomic(job->outputs[1], rows.buf, rows.len, err);
        vl_strbuf_release(&json);
        vl_strbuf_release(&rows);
    }
    if (rc == 0) {
        size_t correct = 0;
        for (size_t i = 0; i < e.n_videos; i++) correct += e.videos[i].predicted == e.videos[i].label;
        vl_strbuf_addf(job->log, "evaluated %zu videos%s: accuracy %.2f%%\n", e.n_videos,
                       only_test ? " of the test split" : "",
                       100.0 * (double)correct / (double)e.n_videos);
    }
    vl_map_release(&e.by_name);
    vl_arena_release(&e.arena);
    free(e.videos);
    vl_labels_free(&labels);
    free(annotation);
    return rc;
}
