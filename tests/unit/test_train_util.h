/* test_train_util.h - helpers of the training tests: a scratch directory,
 * synthetic feature sets and running the `train` action as the engine does. */
#ifndef VL_TEST_TRAIN_UTIL_H
#define VL_TEST_TRAIN_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions/action.h"
#include "util/fs.h"
#include "util/rng.h"
#include "util/strbuf.h"
#include "video/npy.h"

static char tt_dir[4096];

static void tt_init(const char *name)
{
    const char *base = getenv("VL_TEST_TMP") ? getenv("VL_TEST_TMP") : "/tmp";
    snprintf(tt_dir, sizeof tt_dir, "%s/%s.%d", base, name, (int)getpid());
    struct vl_error err;
    if (vl_mkdir_p(tt_dir, &err) < 0) abort();
}

static void tt_cleanup(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tt_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tt_dir);
}

static char *tt_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tt_path(const char *fmt, ...)
{
    char name[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    char *p = malloc(strlen(tt_dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", tt_dir, name);
    return p;
}

/* A training set: input paths (the last the labels CSV) and their origins. */
struct tt_set {
    char **inputs;
    char **origins;
    struct vl_hash *hashes;
    size_t n;
};

static inline void tt_set_free(struct tt_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->inputs[i]), free(s->origins[i]);
    free(s->inputs);
    free(s->origins);
    free(s->hashes);
}

/* Starts s as n samples and a labels CSV: the arrays for the n inputs and
 * the CSV, and csv with its header (key column named key). */
static inline void tt_set_begin(struct tt_set *s, int n, const char *key, struct vl_strbuf *csv)
{
    s->n = (size_t)n + 1;
    s->inputs = calloc(s->n, sizeof *s->inputs);
    s->origins = calloc(s->n, sizeof *s->origins);
    s->hashes = calloc(s->n, sizeof *s->hashes);
    *csv = (struct vl_strbuf)VL_STRBUF_INIT;
    vl_strbuf_addf(csv, "%s,label\n", key);
}

/* Ends s: csv written as its last input (TAGlabels.csv), every input
 * hashed, csv released. */
static inline void tt_set_finish(struct tt_set *s, const char *tag, struct vl_strbuf *csv)
{
    struct vl_error err;
    size_t n = s->n - 1;
    s->inputs[n] = tt_path("%slabels.csv", tag);
    s->origins[n] = strdup(s->inputs[n]);
    if (vl_write_file_atomic(s->inputs[n], csv->buf, csv->len, &err) < 0) abort();
    for (size_t i = 0; i < s->n; i++)
        if (vl_hash_file(s->inputs[i], &s->hashes[i], &err) < 0) abort();
    vl_strbuf_release(csv);
}

/* n linearly separable points in dim dimensions (dim >= k) and k classes,
 * separable one class against the rest too (as a one-vs-rest SVM needs):
 * class c is centred on 8 e_c plus an offset, with noise truncated to
 * [-3, 3] in the first k dimensions, so x_c >= 5 for class c and <= 3 for
 * the others.  One .npy per point, each its own source video. */
static inline void tt_make_separable(struct tt_set *s, const char *tag, int n, int dim, int k,
                              double noise, uint64_t seed)
{
    struct vl_rng rng;
    vl_rng_seed(&rng, seed);
    struct vl_strbuf csv;
    tt_set_begin(s, n, "video", &csv);
    struct vl_error err;
    float *x = malloc(sizeof(float) * (size_t)dim);
    for (int i = 0; i < n; i++) {
        int label = (int)(vl_rng_next(&rng) % (uint64_t)k);
        for (int d = 0; d < dim; d++) {
            double e;
            do e = vl_rng_normal(&rng) * noise;
            while (d < k && fabs(e) > 3);
            x[d] = (float)((d == label ? 8 : 0) + e + 2 * d);
        }
        s->inputs[i] = tt_path("%s%04d.npy", tag, i);
        s->origins[i] = malloc(64);
        snprintf(s->origins[i], 64, "data/raw/%s%04d.mp4", tag, i);
        if (vl_npy_write(s->inputs[i], VL_NPY_F32, (uint64_t[]){(uint64_t)dim}, 1, x, &err) < 0)
            abort();
        vl_strbuf_addf(&csv, "%s%04d.mp4,class%d\n", tag, i, label);
    }
    tt_set_finish(s, tag, &csv);
    free(x);
}

struct tt_run {
    atomic_int cancel;
    int cancel_at_epoch; /* set cancel when this epoch starts; 0: never */
    int first_epoch;     /* the first epoch seen in progress */
    char last_progress[256];
};

static void tt_progress(void *ctx, const char *text)
{
    struct tt_run *r = ctx;
    int epoch = 0;
    if (sscanf(text, "epoch %d/", &epoch) == 1) {
        if (!r->first_epoch) r->first_epoch = epoch;
        if (r->cancel_at_epoch && epoch >= r->cancel_at_epoch) r->cancel = 1;
    }
    snprintf(r->last_progress, sizeof r->last_progress, "%s", text);
}

/* Runs `train` with the words as its parameters on set s into out (and log). */
static int tt_train(const char *words_text, const struct tt_set *s, const char *out,
                    const char *log_path, struct tt_run *r, struct vl_strbuf *log,
                    struct vl_error *err)
{
    const struct vl_action_def *def = vl_action_find("train");
    char *copy = strdup(words_text), *save = NULL;
    const char *words[64];
    size_t n = 0;
    for (char *w = strtok_r(copy, " ", &save); w && n < 64; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    struct vl_params params;
    int bad;
    int rc = vl_params_parse(def, words, n, &params, &bad, err);
    if (rc == 0) {
        const char *outputs[2] = {out, log_path};
        struct vl_action_job job = {
            .def = def,
            .params = &params,
            .inputs = (const char *const *)s->inputs,
            .input_hashes = s->hashes,
            .input_origins = (const char *const *)s->origins,
            .n_inputs = s->n,
            .outputs = outputs,
            .n_outputs = log_path ? 2 : 1,
            .memory_budget = 256u << 20,
            .device = -1,
            .log = log,
            .cancel = r ? &r->cancel : NULL,
            .progress = r ? tt_progress : NULL,
            .progress_ctx = r,
        };
        rc = def->run(&job, err);
        vl_params_release(&params);
    }
    free(copy);
    return rc;
}

/* 1 when both files exist and hold the same bytes. */
static inline int tt_same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    struct vl_error err;
    if (vl_read_file(a, &x, &nx, &err) < 0) return 0;
    if (vl_read_file(b, &y, &ny, &err) < 0) {
        free(x);
        return 0;
    }
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

#endif
