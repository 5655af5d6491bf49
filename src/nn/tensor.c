/* tensor.c - tensors, the parameter registry, initialisers and the
 * execution context of the neural-network core (see tensor.h). */
#include "nn/tensor.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"

void vl_nn_tensor_init(struct vl_nn_tensor *t)
{
    memset(t, 0, sizeof *t);
}

static int shape_size(int ndim, const int *shape, size_t *size)
{
    if (ndim < 1 || ndim > VL_NN_MAX_DIMS) return -1;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1) return -1;
        n *= (size_t)shape[i];
    }
    *size = n;
    return 0;
}

/* Grows a device tensor's buffer to n elements through its owner's backend:
 * the old buffer is freed first (contents are unspecified), so a growth
 * never holds both. */
static int grow_device(struct vl_nn_tensor *t, size_t n, struct vl_error *err)
{
    const struct vl_nn_backend *be = t->owner->backend;
    be->free(t->owner, t->data);
    t->data = NULL;
    t->cap = 0;
    t->data = be->alloc(t->owner, n * sizeof *t->data);
    if (!t->data) {
        t->ndim = 0;
        t->size = 0;
        return vl_error_set(err, "out of %s memory for a tensor of %zu bytes", be->name,
                            n * sizeof *t->data);
    }
    t->cap = n;
    return 0;
}

int vl_nn_tensor_resize(struct vl_nn_tensor *t, int ndim, const int *shape, struct vl_error *err)
{
    size_t n;
    if (shape_size(ndim, shape, &n) < 0) return vl_error_set(err, "bad tensor shape");
    if (n > t->cap) {
        if (!t->cap && t->data) return vl_error_set(err, "a tensor view cannot grow");
        if (t->mem != VL_NN_MEM_HOST) {
            if (!t->owner) return vl_error_set(err, "a device tensor without an owner cannot grow");
            if (grow_device(t, n, err) < 0) return -1;
        } else {
            float *p = realloc(t->data, n * sizeof *p);
            if (!p) abort();
            t->data = p;
            t->cap = n;
        }
    }
    t->ndim = ndim;
    for (int i = 0; i < VL_NN_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 0;
    t->size = n;
    return 0;
}

int vl_nn_tensor_resize_ctx(struct vl_nn_ctx *ctx, struct vl_nn_tensor *t, int ndim,
                            const int *shape, struct vl_error *err)
{
    if (ctx && ctx->mem == VL_NN_MEM_DEVICE && !t->cap && !t->data) {
        t->mem = VL_NN_MEM_DEVICE;
        t->owner = ctx;
    }
    return vl_nn_tensor_resize(t, ndim, shape, err);
}

int vl_nn_tensor_place(struct vl_nn_ctx *ctx, struct vl_nn_tensor *t, struct vl_error *err)
{
    if (!ctx || ctx->mem != VL_NN_MEM_DEVICE || t->mem == VL_NN_MEM_DEVICE) return 0;
    if (!t->cap && t->data) return vl_error_set(err, "a tensor view cannot move");
    float *p = NULL;
    if (t->cap) {
        p = ctx->backend->alloc(ctx, t->cap * sizeof *p);
        if (!p)
            return vl_error_set(err, "out of %s memory for a tensor of %zu bytes",
                                ctx->backend->name, t->cap * sizeof *p);
        ctx->backend->upload(ctx, p, t->data, t->size * sizeof *p);
        free(t->data);
    }
    t->data = p;
    t->mem = VL_NN_MEM_DEVICE;
    t->owner = ctx;
    return 0;
}

void vl_nn_tensor_read(const struct vl_nn_tensor *t, float *out)
{
    if (!t->size) return;
    if (t->mem == VL_NN_MEM_DEVICE)
        t->owner->backend->download(t->owner, out, t->data, t->size * sizeof *out);
    else
        memcpy(out, t->data, t->size * sizeof *out);
}

void vl_nn_tensor_write(struct vl_nn_tensor *t, const float *in)
{
    if (!t->size) return;
    if (t->mem == VL_NN_MEM_DEVICE)
        t->owner->backend->upload(t->owner, t->data, in, t->size * sizeof *in);
    else
        memcpy(t->data, in, t->size * sizeof *in);
}

int vl_nn_tensor_zeros(struct vl_nn_tensor *t, int ndim, const int *shape, struct vl_error *err)
{
    if (vl_nn_tensor_resize(t, ndim, shape, err) < 0) return -1;
    memset(t->data, 0, t->size * sizeof *t->data);
    return 0;
}

struct vl_nn_tensor vl_nn_tensor_view(const struct vl_nn_tensor *t, int ndim, const int *shape)
{
    struct vl_nn_tensor v;
    vl_nn_tensor_init(&v);
    size_t n = 0;
    int bad = shape_size(ndim, shape, &n);
    assert(!bad && n == t->size);
    (void)bad;
    v.data = t->data;
    v.mem = t->mem;
    v.owner = t->owner;
    v.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        v.shape[i] = shape[i];
    v.size = n;
    return v;
}

int vl_nn_tensor_copy(struct vl_nn_tensor *dst, const struct vl_nn_tensor *src,
                      struct vl_error *err)
{
    if (vl_nn_tensor_resize(dst, src->ndim, src->shape, err) < 0) return -1;
    memcpy(dst->data, src->data, src->size * sizeof *src->data);
    return 0;
}

void vl_nn_tensor_fill(struct vl_nn_tensor *t, float v)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = v;
}

void vl_nn_tensor_axpy(struct vl_nn_tensor *dst, float alpha, const struct vl_nn_tensor *src)
{
    assert(dst->size == src->size);
    for (size_t i = 0; i < dst->size; i++)
        dst->data[i] += alpha * src->data[i];
}

int vl_nn_tensor_swap_axes_ctx(struct vl_nn_ctx *ctx, struct vl_nn_tensor *dst,
                               const struct vl_nn_tensor *src, int a, int b, struct vl_error *err)
{
    int nd = src->ndim;
    if (a < 0 || b < 0 || a >= nd || b >= nd) return vl_error_set(err, "swap_axes: bad axis");
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    int shape[VL_NN_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        shape[i] = src->shape[i];
    shape[a] = src->shape[b];
    shape[b] = src->shape[a];
    if (vl_nn_tensor_resize(dst, nd, shape, err) < 0) return -1;
    /* src viewed as [outer, A, mid, B, inner] -> dst [outer, B, mid, A, inner] */
    size_t outer = 1, mid = 1, inner = 1;
    for (int i = 0; i < a; i++)
        outer *= (size_t)src->shape[i];
    for (int i = a + 1; i < b; i++)
        mid *= (size_t)src->shape[i];
    for (int i = b + 1; i < nd; i++)
        inner *= (size_t)src->shape[i];
    const struct vl_nn_backend *be = ctx ? ctx->backend : vl_nn_backend_cpu();
    be->swap_axes(ctx, outer, (size_t)src->shape[a], mid, (size_t)src->shape[b], inner, src->data,
                  dst->data);
    return 0;
}

int vl_nn_tensor_swap_axes(struct vl_nn_tensor *dst, const struct vl_nn_tensor *src, int a, int b,
                           struct vl_error *err)
{
    return vl_nn_tensor_swap_axes_ctx(NULL, dst, src, a, b, err);
}

int vl_nn_tensor_same_shape(const struct vl_nn_tensor *a, const struct vl_nn_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *vl_nn_shape_str(const struct vl_nn_tensor *t, char *buf, size_t n)
{
    size_t used = 0;
    if (!n) return buf;
    buf[0] = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? ", " : "", t->shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

void vl_nn_tensor_free(struct vl_nn_tensor *t)
{
    if (t->cap && t->mem == VL_NN_MEM_DEVICE)
        t->owner->backend->free(t->owner, t->data);
    else if (t->cap)
        free(t->data);
    vl_nn_tensor_init(t);
}

/* -- parameters -- */

void vl_nn_params_init(struct vl_nn_params *p)
{
    memset(p, 0, sizeof *p);
}

struct vl_nn_param *vl_nn_params_add(struct vl_nn_params *p, const char *prefix, const char *name,
                                     int ndim, const int *shape, int trainable, int decay,
                                     struct vl_error *err)
{
    size_t len = (prefix ? strlen(prefix) : 0) + strlen(name) + 2;
    char *full = malloc(len);
    if (!full) abort();
    if (prefix && *prefix)
        snprintf(full, len, "%s.%s", prefix, name);
    else
        snprintf(full, len, "%s", name);
    if (vl_nn_params_find(p, full)) {
        vl_error_set(err, "parameter %s registered twice", full);
        free(full);
        return NULL;
    }
    struct vl_nn_param *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->name = full;
    q->trainable = trainable;
    q->decay = decay;
    if (vl_nn_tensor_zeros(&q->value, ndim, shape, err) < 0 ||
        (trainable && vl_nn_tensor_zeros(&q->grad, ndim, shape, err) < 0)) {
        vl_error_prefix(err, "parameter %s", full);
        vl_nn_tensor_free(&q->value);
        free(full);
        free(q);
        return NULL;
    }
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        p->items = realloc(p->items, p->cap * sizeof *p->items);
        if (!p->items) abort();
    }
    p->items[p->count++] = q;
    return q;
}

struct vl_nn_param *vl_nn_params_find(const struct vl_nn_params *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i]->name, name) == 0) return p->items[i];
    return NULL;
}

void vl_nn_params_zero_grad(struct vl_nn_params *p)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i]->trainable) vl_nn_tensor_fill(&p->items[i]->grad, 0.0f);
}

void vl_nn_params_zero_grad_ctx(struct vl_nn_ctx *ctx, struct vl_nn_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        struct vl_nn_tensor *g = &p->items[i]->grad;
        if (p->items[i]->trainable) ctx->backend->fill(ctx, g->size, 0.0f, g->data);
    }
}

int vl_nn_params_place(struct vl_nn_ctx *ctx, struct vl_nn_params *p, struct vl_error *err)
{
    for (size_t i = 0; i < p->count; i++) {
        struct vl_nn_param *q = p->items[i];
        if (vl_nn_tensor_place(ctx, &q->value, err) < 0 ||
            vl_nn_tensor_place(ctx, &q->grad, err) < 0)
            return vl_error_prefix(err, "parameter %s", q->name);
    }
    return 0;
}

size_t vl_nn_params_trainable_count(const struct vl_nn_params *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i]->trainable) n += p->items[i]->value.size;
    return n;
}

void vl_nn_params_free(struct vl_nn_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        vl_nn_tensor_free(&p->items[i]->value);
        vl_nn_tensor_free(&p->items[i]->grad);
        free(p->items[i]->name);
        free(p->items[i]);
    }
    free(p->items);
    vl_nn_params_init(p);
}

/* -- initialisation -- */

void vl_nn_init_kaiming_normal(struct vl_nn_tensor *t, int fan_in, struct vl_rng *rng)
{
    double std = sqrt(2.0 / (fan_in > 0 ? fan_in : 1));
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (float)(std * vl_rng_normal(rng));
}

void vl_nn_init_xavier_uniform(struct vl_nn_tensor *t, int fan_in, int fan_out, struct vl_rng *rng)
{
    int fans = fan_in + fan_out;
    vl_nn_init_uniform(t, (float)sqrt(6.0 / (fans > 0 ? fans : 1)), rng);
}

void vl_nn_init_uniform(struct vl_nn_tensor *t, float bound, struct vl_rng *rng)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (float)vl_rng_range(rng, -bound, bound);
}

void vl_nn_init_trunc_normal(struct vl_nn_tensor *t, float std, struct vl_rng *rng)
{
    for (size_t i = 0; i < t->size; i++) {
        double v;
        do
            v = vl_rng_normal(rng);
        while (v < -2.0 || v > 2.0);
        t->data[i] = (float)(std * v);
    }
}

/* -- context -- */

void vl_nn_ctx_init(struct vl_nn_ctx *ctx, uint64_t seed)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->backend = vl_nn_backend_cpu();
    ctx->training = 1;
    vl_rng_seed(&ctx->rng, seed);
}

float *vl_nn_ctx_scratch(struct vl_nn_ctx *ctx, size_t n)
{
    if (n > ctx->scratch_cap) {
        free(ctx->scratch);
        ctx->scratch = malloc(n * sizeof *ctx->scratch);
        if (!ctx->scratch) abort();
        ctx->scratch_cap = n;
    }
    return ctx->scratch;
}

void vl_nn_ctx_free(struct vl_nn_ctx *ctx)
{
    free(ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_cap = 0;
}
