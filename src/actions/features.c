/* features.c - the `features` built-in: float32 feature vectors of a video
 * or of a scaled clip (.npy uint8 [T,H,W,3], by extension), one per clip
 * ([D], the mean over frames) or one per frame ([T,D]).
 *
 * Groups (`set`, columns in the order the groups are listed; definitions at
 * the top of src/ops/cpu_features.c):
 *   hist       3 x bins: HSV histogram, H then S then V, each summing to 1
 *   motion     4: mean and spread of |grey difference| from the previous
 *              frame, and the signed horizontal (+ right) and vertical (+ down)
 *              global translation in pixels per frame; per clip, the mean
 *              over the T - 1 frame pairs; per frame, row 0 is zeros
 *   sharpness  1: variance of the Laplacian of the grey image
 *   edges      1: share of pixels whose Sobel magnitude > edge_threshold
 *   dct        1: share of the 8x8 block-DCT AC energy with u + v >= 8
 * The values depend on the resolution: `size=WxH` computes them on frames
 * stretched to that size (area interpolation) whatever the input's size.
 *
 * Frames stream through in chunks (video) or straight from the mapping
 * (.npy); the buffers are allocated once per job.  per=frame with a video
 * takes T from the metadata cache; a decode that ends early repeats the
 * last row (said in the log and the sidecar).
 *
 * Sidecar JSON (second output, version 1): version, shape, per, columns (D
 * names), set, bins, edge_threshold, width and height the features were
 * computed at, frames (frames read), repeated, input ("video" or "npy"). */
#include "actions/action.h"
#include "actions/media.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ops/ops.h"
#include "video/metacache.h"
#include "video/npy.h"
#include "video/probe.h"
#include "video/reader.h"

enum group { HIST, MOTION, SHARPNESS, EDGES, DCT, N_GROUPS };
static const char *const group_names[N_GROUPS] = {"hist", "motion", "sharpness", "edges", "dct"};

struct featurizer {
    const struct vl_ops *ops;
    struct vl_ops_ctx *ctx;
    enum group order[N_GROUPS];
    int n_groups, bins, dims;
    double edge_threshold;
    int per_frame;
    float *row;        /* the current frame's features */
    double *sum;       /* per clip: their sum */
    int64_t frames, pairs;
    struct vl_npy_writer *writer; /* per frame: rows go straight out */
    int64_t rows_due;             /* per frame: T */
};

static int group_dims(const struct featurizer *fz, enum group g)
{
    return g == HIST ? 3 * fz->bins : g == MOTION ? 4 : 1;
}

/* Parses `set` into the group order; the list was validated at parse time. */
static int parse_set(const char *text, enum group *order, struct vl_error *err)
{
    int n = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        for (int g = 0; g < N_GROUPS; g++) {
            if (strlen(group_names[g]) != len || strncmp(group_names[g], p, len)) continue;
            for (int k = 0; k < n; k++)
                if (order[k] == (enum group)g)
                    return vl_error_set(err, "parameter set: group %s listed twice",
                                        group_names[g]);
            order[n++] = (enum group)g;
        }
        p += len + (p[len] == ',');
    }
    return n;
}

/* Stores a scalar feature once the entry that computes it (rc) has run and
 * its result is valid (after sync). */
static int scalar(struct featurizer *fz, int rc, const double *v, float *out,
                  struct vl_error *err)
{
    if (rc < 0 || fz->ops->sync(fz->ctx, err) < 0) return -1;
    out[0] = (float)*v;
    return 0;
}

/* Computes one frame's row and feeds it to the clip sum or the writer. */
static int featurize(struct featurizer *fz, const struct vl_frame *f, const struct vl_frame *prev,
                     struct vl_error *err)
{
    float *out = fz->row;
    double v = 0;
    for (int k = 0; k < fz->n_groups; k++) {
        switch (fz->order[k]) {
        case HIST:
            if (fz->ops->hsv_histogram(fz->ctx, f, fz->bins, out, err) < 0) return -1;
            break;
        case MOTION: {
            struct vl_motion m = {0};
            if (prev && fz->ops->motion(fz->ctx, prev, f, &m, err) < 0) return -1;
            if (fz->ops->sync(fz->ctx, err) < 0) return -1;
            out[0] = (float)m.mean, out[1] = (float)m.spread;
            out[2] = (float)m.horizontal, out[3] = (float)m.vertical;
            break;
        }
        case SHARPNESS:
            if (scalar(fz, fz->ops->laplacian_variance(fz->ctx, f, &v, err), &v, out, err) < 0)
                return -1;
            break;
        case EDGES:
            if (scalar(fz, fz->ops->edge_density(fz->ctx, f, fz->edge_threshold, &v, err), &v,
                       out, err) < 0)
                return -1;
            break;
        case DCT:
            if (scalar(fz, fz->ops->dct_high_ratio(fz->ctx, f, &v, err), &v, out, err) < 0)
                return -1;
            break;
        case N_GROUPS:
            break;
        }
        out += group_dims(fz, fz->order[k]);
    }
    if (fz->ops->sync(fz->ctx, err) < 0) return -1; /* the histogram is written */
    fz->frames++;
    if (prev) fz->pairs++;
    if (fz->per_frame) {
        if (fz->frames > fz->rows_due) return 0; /* more than the metadata said */
        return vl_npy_append(fz->writer, fz->row, (size_t)fz->dims * sizeof(float), err);
    }
    int off = 0;
    for (int k = 0; k < fz->n_groups; k++) {
        int d = group_dims(fz, fz->order[k]);
        if (fz->order[k] != MOTION || prev)
            for (int i = 0; i < d; i++) fz->sum[off + i] += fz->row[off + i];
        off += d;
    }
    return 0;
}

/* The clip row: means over frames (motion: over frame pairs). */
static void clip_row(struct featurizer *fz)
{
    int off = 0;
    for (int k = 0; k < fz->n_groups; k++) {
        int d = group_dims(fz, fz->order[k]);
        int64_t n = fz->order[k] == MOTION ? fz->pairs : fz->frames;
        for (int i = 0; i < d; i++) fz->row[off + i] = n ? (float)(fz->sum[off + i] / n) : 0;
        off += d;
    }
}

static void column_names(const struct featurizer *fz, struct vl_strbuf *sb)
{
    static const char *const motion[4] = {"motion_mean", "motion_spread", "motion_horizontal",
                                          "motion_vertical"};
    int first = 1;
    vl_strbuf_addch(sb, '[');
    for (int k = 0; k < fz->n_groups; k++) {
        enum group g = fz->order[k];
        for (int i = 0; i < group_dims(fz, g); i++) {
            vl_strbuf_adds(sb, first ? "\"" : ",\"");
            first = 0;
            if (g == HIST) vl_strbuf_addf(sb, "hist_%c_%d", "hsv"[i / fz->bins], i % fz->bins);
            else if (g == MOTION) vl_strbuf_adds(sb, motion[i]);
            else if (g == SHARPNESS) vl_strbuf_adds(sb, "laplacian_variance");
            else if (g == EDGES) vl_strbuf_adds(sb, "edge_density");
            else vl_strbuf_adds(sb, "dct_high_ratio");
            vl_strbuf_addch(sb, '"');
        }
    }
    vl_strbuf_addch(sb, ']');
}

/* Frames of a mapped .npy clip, resized when size= asks. */
static int run_npy(struct vl_action_job *job, struct featurizer *fz, int want_w, int want_h,
                   int *out_w, int *out_h, struct vl_error *err)
{
    struct vl_npy_array a;
    const char *path = job->inputs[0];
    if (vl_npy_map(path, &a, err) < 0) return -1;
    int rc = 0;
    if (a.dtype != VL_NPY_U8 || a.ndim != 4 || a.shape[3] != 3 || a.shape[0] == 0 ||
        a.shape[1] == 0 || a.shape[2] == 0 || a.shape[1] > 1 << 16 || a.shape[2] > 1 << 16)
        rc = vl_error_set(err, "%s: expected a uint8 clip of shape [T,H,W,3] with T, H, W > 0",
                          path);
    int h = (int)a.shape[1], w = (int)a.shape[2];
    int rw = want_w ? want_w : w, rh = want_h ? want_h : h;
    int resize = rw != w || rh != h;
    uint8_t *bufs = NULL;
    if (rc == 0 && resize && !(bufs = malloc((size_t)rw * rh * 3 * 2))) abort();
    if (rc == 0 && fz->per_frame) {
        uint64_t shape[2] = {a.shape[0], (uint64_t)fz->dims};
        fz->rows_due = (int64_t)a.shape[0];
        rc = vl_npy_open(job->outputs[0], VL_NPY_F32, shape, 2, &fz->writer, err);
    }
    struct vl_frame prev = {0};
    for (uint64_t t = 0; rc == 0 && t < a.shape[0]; t++) {
        struct vl_frame src = {(uint8_t *)a.data + t * (size_t)w * h * 3, w, h, VL_MEM_HOST}, cur = src;
        if (resize) {
            cur = (struct vl_frame){bufs + (t & 1) * (size_t)rw * rh * 3, rw, rh, VL_MEM_HOST};
            rc = fz->ops->resize(fz->ctx, &src, &cur, VL_INTERP_AREA, err);
        }
        if (rc == 0) rc = featurize(fz, &cur, t ? &prev : NULL, err);
        prev = cur;
        if (rc == 0 && (t & 63) == 63 && vl_action_cancelled(job))
            rc = vl_error_set(err, "%s: cancelled", path);
    }
    *out_w = rw, *out_h = rh;
    free(bufs);
    vl_npy_unmap(&a);
    return rc;
}

/* Frames of a video, decoded in chunks (scaled by the reader when size= asks). */
static int run_video(struct vl_action_job *job, struct featurizer *fz, int want_w, int want_h,
                     int *out_w, int *out_h, struct vl_error *err)
{
    const char *path = job->inputs[0];
    struct vl_reader_opts opts = {.memory_budget = job->memory_budget, .width = want_w,
                                  .height = want_h, .interp = VL_READER_AREA};
    struct vl_reader *r = NULL;
    if (fz->per_frame) { /* T comes from the metadata cache; never decode to count */
        struct vl_video_meta meta;
        if (vl_video_meta_get(job->state_path, path, &job->input_hashes[0], &meta, err) < 0)
            return -1;
        fz->rows_due = meta.frames;
    }
    if (vl_reader_open(path, &opts, &r, err) < 0) return -1;
    int w, h, rc = 0, n;
    vl_reader_geometry(r, &w, &h, NULL);
    if (fz->per_frame) {
        uint64_t shape[2] = {(uint64_t)fz->rows_due, (uint64_t)fz->dims};
        rc = vl_npy_open(job->outputs[0], VL_NPY_F32, shape, 2, &fz->writer, err);
    }
    size_t frame_bytes = (size_t)w * h * 3;
    uint8_t *held = malloc(frame_bytes); /* the previous chunk's last frame */
    if (!held) abort();
    struct vl_chunk c;
    while (rc == 0 && (n = vl_reader_next_chunk(r, &c, err)) > 0) {
        for (int i = 0; i < n && rc == 0; i++) {
            struct vl_frame cur = {c.data + (size_t)i * c.frame_bytes, w, h, VL_MEM_HOST};
            struct vl_frame prev = {i ? cur.rgb - c.frame_bytes : held, w, h, VL_MEM_HOST};
            rc = featurize(fz, &cur, fz->frames ? &prev : NULL, err);
        }
        memcpy(held, c.data + (size_t)(n - 1) * c.frame_bytes, frame_bytes);
        if (rc == 0 && vl_action_cancelled(job)) rc = vl_error_set(err, "%s: cancelled", path);
    }
    if (rc == 0 && n < 0) rc = -1;
    if (rc == 0 && fz->frames == 0) rc = vl_error_set(err, "%s: no frame could be decoded", path);
    /* a decode that fell far short of the metadata's count: correct the
     * count rather than pad; within a few frames, repeat the last row */
    if (rc == 0 && fz->frames < fz->rows_due)
        rc = vl_video_meta_check_decoded(job->state_path, path, &job->input_hashes[0],
                                         fz->rows_due, fz->frames, err);
    for (int64_t t = fz->frames; rc == 0 && fz->per_frame && t < fz->rows_due; t++)
        rc = vl_npy_append(fz->writer, fz->row, (size_t)fz->dims * sizeof(float), err);
    if (rc == 0 && fz->per_frame && fz->frames < fz->rows_due)
        vl_strbuf_addf(job->log, "%s: decoded %lld of %lld frames; the last row is repeated\n",
                       path, (long long)fz->frames, (long long)fz->rows_due);
    *out_w = w, *out_h = h;
    free(held);
    vl_reader_close(r);
    return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

int vl_action_features_run(struct vl_action_job *job, struct vl_error *err)
{
    const struct vl_params *params = job->params;
    struct vl_ops_ctx_opts ctx_opts;
    struct featurizer fz = {.ops = vl_ops_for_job(job, &ctx_opts, err)};
    if (!fz.ops) return -1;
    const struct vl_param_value *size = vl_params_get(params, "size");
    fz.bins = (int)vl_params_get(params, "bins")->num;
    fz.edge_threshold = vl_params_get(params, "edge_threshold")->num;
    fz.per_frame = !strcmp(vl_params_get(params, "per")->text, "frame");
    fz.n_groups = parse_set(vl_params_get(params, "set")->text, fz.order, err);
    if (fz.n_groups < 0) return -1;
    for (int k = 0; k < fz.n_groups; k++) fz.dims += group_dims(&fz, fz.order[k]);
    fz.row = calloc((size_t)fz.dims, sizeof *fz.row);
    fz.sum = calloc((size_t)fz.dims, sizeof *fz.sum);
    if (!fz.row || !fz.sum) abort();
    int is_npy = has_suffix(job->inputs[0], ".npy"), w = 0, h = 0;
    int rc = fz.ops->ctx_new(&ctx_opts, &fz.ctx, err);
    if (rc == 0)
        rc = (is_npy ? run_npy : run_video)(job, &fz, (int)size->num, (int)size->num2, &w, &h,
                                            err);
    if (rc == 0 && fz.per_frame) {
        rc = vl_npy_close(fz.writer, err);
        fz.writer = NULL;
    } else if (rc == 0) {
        clip_row(&fz);
        uint64_t shape[1] = {(uint64_t)fz.dims};
        rc = vl_npy_write(job->outputs[0], VL_NPY_F32, shape, 1, fz.row, err);
    }
    if (rc == 0 && job->n_outputs > 1) {
        struct vl_strbuf json = VL_STRBUF_INIT;
        int64_t rows = fz.per_frame ? fz.rows_due : 0;
        vl_strbuf_adds(&json, "{\"version\":1,\"shape\":");
        if (fz.per_frame) vl_strbuf_addf(&json, "[%lld,%d]", (long long)rows, fz.dims);
        else vl_strbuf_addf(&json, "[%d]", fz.dims);
        vl_strbuf_addf(&json, ",\"per\":\"%s\",\"columns\":", fz.per_frame ? "frame" : "clip");
        column_names(&fz, &json);
        vl_strbuf_adds(&json, ",\"set\":");
        vl_strbuf_add_json_string(&json, vl_params_get(params, "set")->text);
        vl_strbuf_addf(&json, ",\"bins\":%d,\"edge_threshold\":%s,\"width\":%d,\"height\":%d",
                       fz.bins, vl_params_get(params, "edge_threshold")->text, w, h);
        vl_strbuf_addf(&json, ",\"frames\":%lld,\"repeated\":%lld,\"input\":\"%s\"}\n",
                       (long long)fz.frames,
                       (long long)(rows > fz.frames ? rows - fz.frames : 0),
                       is_npy ? "npy" : "video");
        rc = vl_write_file_atomic(job->outputs[1], json.buf, json.len, err);
        vl_strbuf_release(&json);
        if (rc < 0) unlink(job->outputs[0]);
    }
    vl_npy_abort(fz.writer);
    if (fz.ctx) fz.ops->ctx_free(fz.ctx);
    free(fz.row);
    free(fz.sum);
    return rc;
}
