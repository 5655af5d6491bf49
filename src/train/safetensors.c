/* safetensors.c - safetensors writer and strict reader (format in safetensors.h).
 *
 * The reader follows the reference implementation's rules: the header is at
 * most 100 MB and starts with '{'; every value except "__metadata__" is a
 * tensor with exactly dtype, shape and data_offsets; metadata values are
 * strings; sorted by offset, the tensors cover DATA exactly, without gaps or
 * overlaps, and each span is the product of its shape times the dtype size. */
#include "train/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/json.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/vec.h"

#define MAX_HEADER (100u * 1000 * 1000)

static const char *dtype_names[] = {"F32", "I64", "U8"};

size_t vl_st_dtype_size(enum vl_st_dtype dtype)
{
    return dtype == VL_ST_F32 ? 4 : dtype == VL_ST_I64 ? 8 : 1;
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

int vl_st_add(struct vl_st_file *f, const char *name, enum vl_st_dtype dtype, const uint64_t *shape,
              int ndim, const void *data, struct vl_error *err)
{
    if (vl_st_find(f, name) || !strcmp(name, "__metadata__") || ndim < 0 || ndim > VL_ST_MAX_DIMS)
        return vl_error_set(err, "tensor %s: duplicate or invalid", name);
    struct vl_st_tensor t = {.name = dup_str(name), .dtype = dtype, .ndim = ndim, .data = data};
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        t.shape[i] = shape[i];
        count *= (size_t)shape[i];
    }
    t.nbytes = count * vl_st_dtype_size(dtype);
    VL_PUSH(f->tensors, f->n_tensors, f->cap_tensors, t);
    return 0;
}

void vl_st_set_meta(struct vl_st_file *f, const char *key, const char *value)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) {
            free(f->meta[i].value);
            f->meta[i].value = dup_str(value);
            return;
        }
    struct vl_st_meta m = {dup_str(key), dup_str(value)};
    VL_PUSH(f->meta, f->n_meta, f->cap_meta, m);
}

static int cmp_meta(const void *a, const void *b)
{
    return strcmp(((const struct vl_st_meta *)a)->key, ((const struct vl_st_meta *)b)->key);
}

int vl_st_write(const struct vl_st_file *f, const char *path, struct vl_error *err)
{
    struct vl_strbuf hdr = VL_STRBUF_INIT;
    vl_strbuf_addch(&hdr, '{');
    if (f->n_meta) {
        struct vl_st_meta *sorted = malloc(f->n_meta * sizeof *sorted);
        if (!sorted) abort();
        memcpy(sorted, f->meta, f->n_meta * sizeof *sorted);
        qsort(sorted, f->n_meta, sizeof *sorted, cmp_meta);
        vl_strbuf_adds(&hdr, "\"__metadata__\":{");
        for (size_t i = 0; i < f->n_meta; i++) {
            if (i) vl_strbuf_addch(&hdr, ',');
            vl_strbuf_add_json_string(&hdr, sorted[i].key);
            vl_strbuf_addch(&hdr, ':');
            vl_strbuf_add_json_string(&hdr, sorted[i].value);
        }
        vl_strbuf_addch(&hdr, '}');
        free(sorted);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const struct vl_st_tensor *t = &f->tensors[i];
        if (f->n_meta || i) vl_strbuf_addch(&hdr, ',');
        vl_strbuf_add_json_string(&hdr, t->name);
        vl_strbuf_addf(&hdr, ":{\"dtype\":\"%s\",\"shape\":[", dtype_names[t->dtype]);
        for (int d = 0; d < t->ndim; d++)
            vl_strbuf_addf(&hdr, "%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
        vl_strbuf_addf(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                       (unsigned long long)(offset + t->nbytes));
        offset += t->nbytes;
    }
    vl_strbuf_addch(&hdr, '}');
    while (hdr.len % 8) vl_strbuf_addch(&hdr, ' ');

    struct vl_strbuf out = VL_STRBUF_INIT;
    vl_strbuf_grow(&out, 8 + hdr.len + offset);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hdr.len >> (8 * i));
    vl_strbuf_add(&out, len8, 8);
    vl_strbuf_add(&out, hdr.buf, hdr.len);
    for (size_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].nbytes) vl_strbuf_add(&out, f->tensors[i].data, f->tensors[i].nbytes);
    int rc = vl_write_file_atomic(path, out.buf, out.len, err);
    vl_strbuf_release(&hdr);
    vl_strbuf_release(&out);
    return rc;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const struct vl_st_tensor *x = *(const struct vl_st_tensor *const *)a;
    const struct vl_st_tensor *y = *(const struct vl_st_tensor *const *)b;
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    return px < py ? -1 : px > py;
}

/* Reads one tensor entry of the header into t (data as an offset for now). */
/* 1 when v is an integer that a double holds exactly (below 2^53). */
static int is_size(const struct vl_json *v)
{
    return v->type == VL_JSON_NUMBER && v->number >= 0 && v->number < 9007199254740992.0 &&
           v->number == floor(v->number);
}

static int parse_entry(const char *path, const char *key, const struct vl_json *e,
                       uint64_t data_len, struct vl_st_tensor *t, uint64_t *begin,
                       struct vl_error *err)
{
    if (e->type != VL_JSON_OBJECT)
        return vl_error_set(err, "%s: tensor %s: header entry is not an object", path, key);
    const struct vl_json *dtype = vl_json_get(e, "dtype"), *shape = vl_json_get(e, "shape"),
                         *offs = vl_json_get(e, "data_offsets");
    if (!dtype || !shape || !offs || e->len != 3)
        return vl_error_set(err, "%s: tensor %s: expected exactly dtype, shape and data_offsets",
                            path, key);
    int dt = -1;
    for (int i = 0; i < 3; i++)
        if (dtype->type == VL_JSON_STRING && !strcmp(dtype->string, dtype_names[i])) dt = i;
    if (dt < 0)
        return vl_error_set(err, "%s: tensor %s: unsupported dtype %s (expected F32, I64 or U8)",
                            path, key, dtype->type == VL_JSON_STRING ? dtype->string : "?");
    if (shape->type != VL_JSON_ARRAY || shape->len > VL_ST_MAX_DIMS)
        return vl_error_set(err, "%s: tensor %s: shape must be a list of at most %d sizes", path,
                            key, VL_ST_MAX_DIMS);
    t->dtype = (enum vl_st_dtype)dt;
    t->ndim = (int)shape->len;
    uint64_t count = 1;
    for (size_t i = 0; i < shape->len; i++) {
        const struct vl_json *d = shape->items[i];
        if (!is_size(d))
            return vl_error_set(err, "%s: tensor %s: shape holds a non-integer size", path, key);
        t->shape[i] = (uint64_t)d->number;
        if (t->shape[i] && count > UINT64_MAX / t->shape[i])
            return vl_error_set(err, "%s: tensor %s: shape overflows", path, key);
        count *= t->shape[i];
    }
    if (count > UINT64_MAX / 8)
        return vl_error_set(err, "%s: tensor %s: shape overflows", path, key);
    if (offs->type != VL_JSON_ARRAY || offs->len != 2)
        return vl_error_set(err, "%s: tensor %s: data_offsets must be [begin, end]", path, key);
    for (int i = 0; i < 2; i++)
        if (!is_size(offs->items[i]))
            return vl_error_set(err, "%s: tensor %s: data_offsets must be non-negative integers",
                                path, key);
    uint64_t b = (uint64_t)offs->items[0]->number, en = (uint64_t)offs->items[1]->number;
    if (b > en)
        return vl_error_set(err, "%s: tensor %s: data_offsets [%llu, %llu] end before they begin",
                            path, key, (unsigned long long)b, (unsigned long long)en);
    if (en > data_len)
        return vl_error_set(err,
                            "%s: tensor %s: data_offsets [%llu, %llu] run past the end of the "
                            "data (%llu bytes)",
                            path, key, (unsigned long long)b, (unsigned long long)en,
                            (unsigned long long)data_len);
    uint64_t expect = count * vl_st_dtype_size(t->dtype);
    if (en - b != expect)
        return vl_error_set(err,
                            "%s: tensor %s: shape and dtype need %llu bytes but data_offsets span "
                            "%llu",
                            path, key, (unsigned long long)expect, (unsigned long long)(en - b));
    t->nbytes = (size_t)expect;
    *begin = b;
    return 0;
}

int vl_st_parse(const char *path, char *buf, size_t n, struct vl_st_file *f, struct vl_error *err)
{
    memset(f, 0, sizeof *f);
    f->buf = buf;
    if (n < 8) {
        vl_st_free(f);
        return vl_error_set(err, "%s: too short for a safetensors file (%zu bytes)", path, n);
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(uint8_t)buf[i] << (8 * i);
    if (hlen > MAX_HEADER || hlen > n - 8) {
        vl_st_free(f);
        return vl_error_set(err, "%s: header length %llu runs past the end of the file (%zu bytes)",
                            path, (unsigned long long)hlen, n);
    }
    if (hlen < 2 || buf[8] != '{') {
        vl_st_free(f);
        return vl_error_set(err, "%s: header is not a JSON object", path);
    }
    struct vl_arena arena = {0};
    struct vl_json *root;
    char name[4200];
    snprintf(name, sizeof name, "%s header", path);
    if (vl_json_parse(&arena, name, buf + 8, (size_t)hlen, &root, err) < 0) {
        vl_arena_release(&arena);
        vl_st_free(f);
        return -1;
    }
    const char *data = buf + 8 + hlen;
    uint64_t data_len = n - 8 - hlen;
    int rc = 0;
    for (size_t i = 0; i < root->len && rc == 0; i++) {
        const struct vl_json *e = root->items[i];
        const char *key = root->keys[i];
        for (size_t k = 0; k < i && rc == 0; k++)
            if (!strcmp(root->keys[k], key))
                rc = vl_error_set(err, "%s: header names %s twice", path, key);
        if (rc < 0) break;
        if (!strcmp(key, "__metadata__")) {
            if (e->type != VL_JSON_OBJECT) {
                rc = vl_error_set(err, "%s: __metadata__ is not an object", path);
                break;
            }
            for (size_t k = 0; k < e->len; k++) {
                if (e->items[k]->type != VL_JSON_STRING) {
                    rc = vl_error_set(err, "%s: __metadata__ value %s is not a string", path,
                                      e->keys[k]);
                    break;
                }
                vl_st_set_meta(f, e->keys[k], e->items[k]->string);
            }
            continue;
        }
        struct vl_st_tensor t = {0};
        uint64_t begin = 0;
        rc = parse_entry(path, key, e, data_len, &t, &begin, err);
        if (rc == 0) {
            t.name = dup_str(key);
            t.data = data + begin;
            VL_PUSH(f->tensors, f->n_tensors, f->cap_tensors, t);
        }
    }
    vl_arena_release(&arena);
    if (rc == 0) {
        /* sorted by offset, the spans must tile DATA exactly */
        const struct vl_st_tensor **order = calloc(f->n_tensors + 1, sizeof *order);
        if (!order) abort();
        for (size_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
        qsort(order, f->n_tensors, sizeof *order, cmp_by_offset);
        uint64_t pos = 0;
        for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
            uint64_t b = (uint64_t)((const char *)order[i]->data - data);
            if (b != pos)
                rc = vl_error_set(err,
                                  "%s: tensor %s: data begins at byte %llu, expected %llu "
                                  "(%s)",
                                  path, order[i]->name, (unsigned long long)b,
                                  (unsigned long long)pos,
                                  b < pos ? "overlaps the previous tensor" : "leaves a gap");
            pos = b + order[i]->nbytes;
        }
        if (rc == 0 && pos != data_len)
            rc = vl_error_set(err, "%s: %llu bytes of data after the last tensor", path,
                              (unsigned long long)(data_len - pos));
        free(order);
    }
    if (rc < 0) vl_st_free(f);
    return rc;
}

int vl_st_read(const char *path, struct vl_st_file *f, struct vl_error *err)
{
    char *buf;
    size_t n;
    memset(f, 0, sizeof *f);
    if (vl_read_file(path, &buf, &n, err) < 0) return -1;
    return vl_st_parse(path, buf, n, f, err);
}

const struct vl_st_tensor *vl_st_find(const struct vl_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *vl_st_get_meta(const struct vl_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

int vl_st_copy_f32(const struct vl_st_file *f, const char *path, const char *name,
                   const uint64_t *shape, int ndim, float *dst, struct vl_error *err)
{
    const struct vl_st_tensor *t = vl_st_find(f, name);
    if (!t) return vl_error_set(err, "%s: no tensor %s", path, name);
    int same = t->dtype == VL_ST_F32 && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        struct vl_strbuf want = VL_STRBUF_INIT, got = VL_STRBUF_INIT;
        for (int i = 0; i < ndim; i++)
            vl_strbuf_addf(&want, "%s%llu", i ? "," : "", (unsigned long long)shape[i]);
        for (int i = 0; i < t->ndim; i++)
            vl_strbuf_addf(&got, "%s%llu", i ? "," : "", (unsigned long long)t->shape[i]);
        vl_error_set(err, "%s: tensor %s is %s [%s], expected F32 [%s]", path, name,
                     dtype_names[t->dtype], got.buf, want.buf);
        vl_strbuf_release(&want);
        vl_strbuf_release(&got);
        return -1;
    }
    if (t->nbytes) memcpy(dst, t->data, t->nbytes);
    return 0;
}

void vl_st_free(struct vl_st_file *f)
{
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    free(f->buf);
    memset(f, 0, sizeof *f);
}
