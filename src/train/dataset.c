/* dataset.c - inputs + labels CSV -> samples, classes and a split by source. */
#include "train/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "train/labels.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/map.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A .json input is the sidecar of a clip or feature array (read beside it). */
static int is_sidecar(const char *path)
{
    return ends_with(path, ".json");
}

static void shape_text(const struct vl_npy_array *a, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->ndim && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%llu", i ? "," : "",
                                (unsigned long long)a->shape[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Integers by value, of any length (no overflow: by sign, then by the
 * digits' count without leading zeros, then digit by digit); equal values
 * written differently ("01", "1", "+1") by their text, so the order is total. */
static int cmp_integer(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    int neg_a = *a == '-', neg_b = *b == '-';
    const char *da = a + (*a == '-' || *a == '+'), *db = b + (*b == '-' || *b == '+');
    while (*da == '0' && da[1]) da++;
    while (*db == '0' && db[1]) db++;
    if (!strcmp(da, "0")) neg_a = 0;
    if (!strcmp(db, "0")) neg_b = 0;
    int c;
    if (neg_a != neg_b) c = neg_a ? -1 : 1;
    else {
        size_t la = strlen(da), lb = strlen(db);
        c = la != lb ? (la < lb ? -1 : 1) : strcmp(da, db);
        if (neg_a) c = -c;
    }
    return c ? c : strcmp(a, b);
}

/* Reads the sidecar of a clip (the same path with .json for .npy), when
 * there is one, for the true content size (scale's mode=var). */
static int read_sidecar(const char *npy_path, struct vl_sample *s, struct vl_error *err)
{
    size_t len = strlen(npy_path);
    char *side = malloc(len + 2);
    if (!side) abort();
    memcpy(side, npy_path, len - 4);
    strcpy(side + len - 4, ".json");
    struct vl_stat st;
    int rc = 0;
    if (vl_stat_path(side, &st, err) == 0 && st.exists) {
        char *text;
        size_t n;
        struct vl_arena arena = {0};
        struct vl_json *root;
        rc = vl_read_file(side, &text, &n, err);
        if (rc == 0) {
            rc = vl_json_parse(&arena, side, text, n, &root, err);
            free(text);
        }
        const struct vl_json *c = rc == 0 ? vl_json_get(root, "content") : NULL;
        if (rc == 0 && vl_json_number(root, "version", 1) != 1)
            rc = vl_error_set(err, "%s: sidecar version %g is not 1", side,
                              vl_json_number(root, "version", 1));
        if (rc == 0 && c && vl_json_number(c, "x", 0) == 0 && vl_json_number(c, "y", 0) == 0) {
            double w = vl_json_number(c, "width", -1), h = vl_json_number(c, "height", -1);
            if (w < 1 || h < 1 || w > s->width || h > s->height || w != floor(w) || h != floor(h))
                rc = vl_error_set(err, "%s: content size %gx%g does not fit the %dx%d frames", side,
                                  w, h, s->width, s->height);
            else
                s->content_width = (int)w, s->content_height = (int)h;
        }
        vl_arena_release(&arena);
    }
    free(side);
    return rc;
}

/* Maps input i and checks it against the dataset's kind and earlier inputs. */
static int load_input(struct vl_dataset *ds, const struct vl_dataset_config *cfg, size_t i,
                      const char *path, struct vl_npy_array *a, const char **first_path,
                      struct vl_error *err)
{
    char shape[128], first[128];
    if (vl_npy_map(path, a, err) < 0) return -1;
    shape_text(a, shape, sizeof shape);
    int is_clip = a->dtype == VL_NPY_U8 && a->ndim == 4 && a->shape[3] == 3;
    int is_feat = a->dtype == VL_NPY_F32 && (a->ndim == 1 || a->ndim == 2);
    if (cfg->kind == VL_DATA_FEATURES && !is_feat)
        return vl_error_set(err,
                            "%s: [%s] %s is not a feature array (float32 [D] or [T,D]); this "
                            "model trains on features",
                            path, shape, a->dtype == VL_NPY_U8 ? "uint8" : "float32");
    if (cfg->kind == VL_DATA_CLIPS && !is_clip)
        return vl_error_set(err,
                            "%s: [%s] %s is not a clip (uint8 [T,H,W,3]); this model trains on "
                            "scaled clips",
                            path, shape, a->dtype == VL_NPY_U8 ? "uint8" : "float32");
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] == 0 || a->shape[d] > (1u << 24))
            return vl_error_set(err, "%s: [%s]: empty or implausibly large dimension", path,
                                shape);
    struct vl_sample *s = &ds->samples[i];
    if (is_clip) {
        s->frames = (int)a->shape[0];
        s->height = (int)a->shape[1];
        s->width = (int)a->shape[2];
        s->content_height = s->height;
        s->content_width = s->width;
        if (read_sidecar(path, s, err) < 0) return -1;
    }
    if (!*first_path) {
        *first_path = path;
        return 0;
    }
    const struct vl_npy_array *f = ds->kind == VL_DATA_CLIPS ? &ds->clips[0] : NULL;
    int same;
    struct vl_npy_array ref;
    if (f) ref = *f;
    else {
        ref.ndim = ds->feature_ndim;
        ref.shape[0] = ds->feature_shape[0];
        ref.shape[1] = ds->feature_shape[1];
    }
    same = ref.ndim == a->ndim;
    for (int d = 0; same && d < a->ndim; d++)
        same = ref.shape[d] == a->shape[d] ||
               (is_clip && cfg->variable_size && (d == 1 || d == 2));
    if (!same) {
        shape_text(&ref, first, sizeof first);
        return vl_error_set(err,
                            "inconsistent shapes: %s is [%s] but %s is [%s]%s", path, shape,
                            *first_path, first,
                            is_clip && !cfg->variable_size
                                ? " (only variable_ar_cnn takes clips of different sizes)"
                                : "");
    }
    return 0;
}

/* Stratified split by source (see dataset.h). */
static void split(struct vl_dataset *ds, const int *source_label, const char **source_path,
                  const struct vl_dataset_config *cfg, int *source_val)
{
    uint64_t *keys = calloc(ds->n_sources + 1, sizeof *keys);
    size_t *order = calloc(ds->n_sources + 1, sizeof *order);
    if (!keys || !order) abort();
    for (int c = 0; c < ds->n_classes; c++) {
        size_t m = 0;
        for (size_t s = 0; s < ds->n_sources; s++) {
            if (source_label[s] != c) continue;
            keys[s] = XXH3_64bits_withSeed(source_path[s], strlen(source_path[s]), cfg->seed);
            order[m++] = s;
        }
        /* insertion sort by (hash, path): m is a class's source count */
        for (size_t a = 1; a < m; a++) {
            size_t v = order[a], b = a;
            while (b > 0 && (keys[order[b - 1]] > keys[v] ||
                             (keys[order[b - 1]] == keys[v] &&
                              strcmp(source_path[order[b - 1]], source_path[v]) > 0))) {
                order[b] = order[b - 1];
                b--;
            }
            order[b] = v;
        }
        size_t n_val = (size_t)floor(cfg->val * (double)m + 0.5);
        if (m > 0 && n_val >= m) n_val = m - 1;
        for (size_t k = 0; k < m; k++) source_val[order[k]] = k < n_val;
    }
    free(keys);
    free(order);
}

static void report(const struct vl_dataset *ds, struct vl_strbuf *log)
{
    size_t n_val = vl_dataset_count(ds, 1);
    if (ds->kind == VL_DATA_FEATURES)
        vl_strbuf_addf(log, "dataset: %zu feature arrays of %zu values", ds->n, ds->dim);
    else
        vl_strbuf_addf(log, "dataset: %zu clips of %d frames, up to %dx%d", ds->n, ds->frames,
                       ds->width, ds->height);
    vl_strbuf_addf(log, " from %zu sources, %d classes; train %zu, validation %zu", ds->n_sources,
                   ds->n_classes, ds->n - n_val, n_val);
    if (ds->n_test) vl_strbuf_addf(log, ", test %zu (held out, not read)", ds->n_test);
    vl_strbuf_addch(log, '\n');
    for (int c = 0; c < ds->n_classes; c++) {
        size_t t = 0, v = 0;
        for (size_t i = 0; i < ds->n; i++)
            if (ds->samples[i].label == c) ds->samples[i].is_val ? v++ : t++;
        vl_strbuf_addf(log, "  class %s: train %zu, validation %zu\n", ds->classes[c], t, v);
    }
}

/* Maps every sample's array, checking kinds and shapes: clips stay mapped,
 * features are copied into ds->features. */
static int load_arrays(struct vl_dataset *ds, const struct vl_dataset_config *cfg,
                       struct vl_error *err)
{
    int rc = 0;
    const char *first_path = NULL;
    for (size_t i = 0; i < ds->n && rc == 0; i++) {
        if (ds->kind == VL_DATA_CLIPS) {
            rc = load_input(ds, cfg, i, ds->samples[i].path, &ds->clips[i], &first_path, err);
            if (rc == 0) {
                struct vl_sample *s = &ds->samples[i];
                if (s->frames > ds->frames) ds->frames = s->frames;
                if (s->height > ds->height) ds->height = s->height;
                if (s->width > ds->width) ds->width = s->width;
            }
            continue;
        }
        struct vl_npy_array a = {0};
        rc = load_input(ds, cfg, i, ds->samples[i].path, &a, &first_path, err);
        if (rc == 0 && !ds->features) {
            ds->feature_ndim = a.ndim;
            ds->feature_shape[0] = a.shape[0];
            ds->feature_shape[1] = a.ndim == 2 ? a.shape[1] : 0;
            ds->dim = (size_t)a.count;
            ds->features = malloc(ds->n * ds->dim * sizeof(float) + 1);
            if (!ds->features) abort();
        }
        if (rc == 0) {
            memcpy(ds->features + i * ds->dim, a.data, ds->dim * sizeof(float));
            for (size_t k = 0; k < ds->dim && rc == 0; k++)
                if (!isfinite(ds->features[i * ds->dim + k]))
                    rc = vl_error_set(err, "%s: value %zu is not finite", ds->samples[i].path, k);
        }
        if (a.map) vl_npy_unmap(&a);
    }
    return rc;
}

/* The inputs as samples without labels (see vl_dataset_config.unlabelled). */
static int open_unlabelled(const char *const *inputs, size_t n,
                           const struct vl_dataset_config *cfg, struct vl_dataset *ds,
                           struct vl_error *err)
{
    ds->samples = calloc(n + 1, sizeof *ds->samples);
    ds->clips = calloc(n + 1, sizeof *ds->clips);
    if (!ds->samples || !ds->clips) abort();
    for (size_t i = 0; i < n; i++) {
        if (is_sidecar(inputs[i])) continue;
        ds->samples[ds->n].path = inputs[i];
        ds->samples[ds->n].label = -1;
        ds->n++;
    }
    int rc = ds->n ? load_arrays(ds, cfg, err) : vl_error_set(err, "no arrays among the inputs");
    if (rc < 0) vl_dataset_close(ds);
    return rc;
}

/* The classes: a class index's when the labels declare one, else the
 * distinct labels of the samples, by value when every one is an integer
 * (class id i is then logit i), else by name. */
static int make_classes(struct vl_dataset *ds, const struct vl_labels *labels,
                        const struct vl_label_row **rows, struct vl_error *err)
{
    struct vl_map seen = {0};
    size_t cap = labels->n_classes ? labels->n_classes : ds->n;
    char **names = calloc(cap + 1, sizeof *names);
    if (!names) abort();
    if (labels->n_classes) {
        for (size_t c = 0; c < labels->n_classes; c++)
            if (!(names[ds->n_classes++] = strdup(labels->classes[c]))) abort();
    } else {
        for (size_t i = 0; i < ds->n; i++)
            if (!vl_map_get(&seen, rows[i]->label)) {
                vl_map_put(&seen, rows[i]->label, names);
                if (!(names[ds->n_classes++] = strdup(rows[i]->label))) abort();
            }
        int all_integers = 1;
        for (int c = 0; c < ds->n_classes && all_integers; c++) all_integers = vl_labels_is_integer(names[c]);
        qsort(names, (size_t)ds->n_classes, sizeof *names, all_integers ? cmp_integer : cmp_str);
        vl_map_release(&seen);
    }
    ds->classes = names;
    struct vl_map index = {0};
    for (int c = 0; c < ds->n_classes; c++) vl_map_put(&index, names[c], &names[c]);
    for (size_t i = 0; i < ds->n; i++) {
        char **at = vl_map_get(&index, rows[i]->label);
        ds->samples[i].label = at ? (int)(at - names) : 0;
    }
    vl_map_release(&index);
    if (ds->n_classes < 2)
        return vl_error_set(err, "%s: the inputs have one class (%s); training needs two or more",
                            ds->labels_path, ds->n_classes ? names[0] : "none");
    return 0;
}

int vl_dataset_open(const char *const *inputs, const struct vl_hash *hashes,
                    const char *const *origins, size_t n, const struct vl_dataset_config *cfg,
                    struct vl_dataset *ds, struct vl_strbuf *log, struct vl_error *err)
{
    memset(ds, 0, sizeof *ds);
    ds->kind = cfg->kind;
    if (cfg->unlabelled) return open_unlabelled(inputs, n, cfg, ds, err);
    unsigned char *annotation = calloc(n + 1, 1);
    const char **files = calloc(n + 1, sizeof *files);
    if (!annotation || !files) abort();
    vl_labels_mark_annotations(inputs, n, annotation);
    size_t n_files = 0;
    for (size_t i = 0; i < n; i++)
        if (annotation[i]) files[n_files++] = inputs[i];
    struct vl_labels labels;
    int rc = 0;
    if (n_files == 0)
        rc = vl_error_set(err, "no labels file among the inputs (a .csv with file,label rows, or "
                               "another annotation format of docs/datasets.md)");
    else if (n_files == n)
        rc = vl_error_set(err, "no training data besides %s", inputs[0]);
    else
        rc = vl_labels_read_set(files, n_files, cfg->labels_format, &labels, err);
    free(files);
    if (rc < 0) {
        free(annotation);
        return -1;
    }
    for (size_t i = 0; i < n && !ds->labels_path; i++)
        if (annotation[i]) ds->labels_path = inputs[i];

    ds->samples = calloc(n, sizeof *ds->samples);
    ds->clips = calloc(n, sizeof *ds->clips);
    const struct vl_label_row **rows = calloc(n, sizeof *rows);
    unsigned char *is_sample = calloc(n + 1, 1);
    if (!ds->samples || !ds->clips || !rows || !is_sample) abort();
    struct vl_strbuf missing = VL_STRBUF_INIT;
    size_t n_missing = 0;
    int annotated_val = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (annotation[i] || is_sidecar(inputs[i])) continue;
        const struct vl_label_row *row;
        int found = vl_labels_find(&labels, origins[i], &row, err);
        if (found < 0) rc = -1;
        else if (found == 0) {
            if (n_missing++ < 5)
                vl_strbuf_addf(&missing, "%s%s (from %s)", n_missing > 1 ? ", " : "", inputs[i],
                               origins[i]);
            continue;
        }
        if (rc < 0) break;
        /* the held-out test split is never read */
        if (row->split == VL_SPLIT_TEST || row->split == VL_SPLIT_UNUSED ||
            (row->split == VL_SPLIT_NONE && vl_labels_hash_test(origins[i], cfg->test, cfg->seed))) {
            ds->n_test += row->split != VL_SPLIT_UNUSED;
            continue;
        }
        annotated_val |= row->split == VL_SPLIT_VAL;
        rows[ds->n] = row;
        is_sample[i] = 1;
        ds->samples[ds->n].path = inputs[i];
        ds->samples[ds->n].origin = origins[i];
        ds->n++;
    }
    if (rc == 0 && n_missing)
        rc = vl_error_set(err, "%zu input(s) have no label in %s: %s%s", n_missing,
                          ds->labels_path, missing.buf, n_missing > 5 ? ", ..." : "");
    vl_strbuf_release(&missing);
    if (rc == 0 && ds->n == 0)
        rc = vl_error_set(err, "every input is in the test split of %s: nothing to train on",
                          ds->labels_path);

    if (rc == 0) rc = make_classes(ds, &labels, rows, err);
    if (rc == 0) rc = load_arrays(ds, cfg, err);

    /* sources, the split and the fingerprint */
    if (rc == 0) {
        struct vl_map by_origin = {0};
        const char **source_path = calloc(ds->n + 1, sizeof *source_path);
        int *source_label = calloc(ds->n + 1, sizeof *source_label);
        int *source_val = calloc(ds->n + 1, sizeof *source_val);
        size_t *ids = calloc(ds->n + 1, sizeof *ids);
        if (!source_path || !source_label || !source_val || !ids) abort();
        for (size_t i = 0; i < ds->n; i++) {
            size_t *id = vl_map_get(&by_origin, ds->samples[i].origin);
            if (!id) {
                ids[ds->n_sources] = ds->n_sources;
                id = &ids[ds->n_sources];
                source_path[ds->n_sources] = ds->samples[i].origin;
                source_label[ds->n_sources] = ds->samples[i].label;
                vl_map_put(&by_origin, ds->samples[i].origin, id);
                ds->n_sources++;
            }
            ds->samples[i].source = (int)*id;
        }
        /* validation: the annotations' when they name one, else by hash */
        if (annotated_val)
            for (size_t i = 0; i < ds->n; i++) source_val[ds->samples[i].source] = rows[i]->split == VL_SPLIT_VAL;
        else
            split(ds, source_label, source_path, cfg, source_val);
        for (size_t i = 0; i < ds->n; i++) ds->samples[i].is_val = source_val[ds->samples[i].source];
        vl_map_release(&by_origin);
        free(source_path);
        free(source_label);
        free(source_val);
        free(ids);

        XXH3_state_t *h = XXH3_createState();
        if (!h) abort();
        XXH3_128bits_reset(h);
        XXH3_128bits_update(h, "vlbuild-dataset-1", 17);
        for (size_t i = 0, k = 0; i < n; i++) {
            XXH3_128bits_update(h, hashes[i].bytes, sizeof hashes[i].bytes);
            XXH3_128bits_update(h, origins[i], strlen(origins[i]) + 1);
            if (is_sample[i]) {
                const char *label = ds->classes[ds->samples[k++].label];
                XXH3_128bits_update(h, label, strlen(label) + 1);
            }
        }
        XXH128_hash_t d = XXH3_128bits_digest(h);
        XXH3_freeState(h);
        XXH128_canonical_t canon;
        XXH128_canonicalFromHash(&canon, d);
        memcpy(ds->fingerprint.bytes, canon.digest, 16);
        report(ds, log);
    }
    free(rows);
    free(is_sample);
    free(annotation);
    vl_labels_free(&labels);
    if (rc < 0) vl_dataset_close(ds);
    return rc;
}

size_t vl_dataset_count(const struct vl_dataset *ds, int is_val)
{
    size_t c = 0;
    for (size_t i = 0; i < ds->n; i++) c += ds->samples[i].is_val == is_val;
    return c;
}

void vl_dataset_clip_to_float(const struct vl_dataset *ds, size_t i, float *out)
{
    const struct vl_sample *s = &ds->samples[i];
    const uint8_t *src = ds->clips[i].data;
    size_t H = (size_t)ds->height, W = (size_t)ds->width, plane = H * W;
    memset(out, 0, (size_t)ds->frames * 3 * plane * sizeof *out);
    for (int t = 0; t < s->frames; t++) {
        float *dst = out + (size_t)t * 3 * plane;
        const uint8_t *f = src + (size_t)t * s->height * s->width * 3;
        for (int y = 0; y < s->content_height; y++)
            for (int x = 0; x < s->content_width; x++) {
                const uint8_t *px = f + ((size_t)y * s->width + x) * 3;
                size_t o = (size_t)y * W + x;
                dst[o] = px[0] * (1.0f / 255);
                dst[plane + o] = px[1] * (1.0f / 255);
                dst[2 * plane + o] = px[2] * (1.0f / 255);
            }
    }
}

void vl_dataset_close(struct vl_dataset *ds)
{
    if (ds->clips)
        for (size_t i = 0; i < ds->n; i++)
            if (ds->clips[i].map) vl_npy_unmap(&ds->clips[i]);
    for (int c = 0; c < ds->n_classes; c++) free(ds->classes[c]);
    free(ds->classes);
    free(ds->clips);
    free(ds->samples);
    free(ds->features);
    memset(ds, 0, sizeof *ds);
}
