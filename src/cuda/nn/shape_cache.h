/* shape_cache.h - a small fixed-capacity cache keyed by a shape struct, for
 * the CUDA backend's library plans (gemm.cu's cuBLASLt descriptors and
 * heuristic per product shape, conv.cu's cuDNN execution plans per
 * geometry).  Host-only C, usable from C and from nvcc's C++.
 *
 * A key is a plain struct of at most VL_CUDA_NN_CACHE_KEY_MAX bytes compared
 * byte for byte: the caller zeroes it before filling it and gives it no
 * padding (integer fields of one width), so two equal shapes are equal
 * bytes.  Values are the caller's (never NULL); the cache only holds them.
 * When it is full, storing a new key evicts the least recently used entry
 * and hands its value back for the caller to destroy: a training step's
 * shapes fit, so eviction only costs a rebuild, never a wrong plan.
 * vl_cuda_nn_cache_get is the lookup the backend uses: find, or make and
 * store. */
#ifndef VL_CUDA_NN_SHAPE_CACHE_H
#define VL_CUDA_NN_SHAPE_CACHE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VL_CUDA_NN_CACHE_KEY_MAX 128
#define VL_CUDA_NN_CACHE_CAPACITY_MAX 128

struct vl_cuda_nn_cache_entry {
    uint64_t hash; /* FNV-1a of the key bytes, to skip most compares */
    uint64_t used; /* the cache's clock at the last find or store */
    void *value;   /* NULL: the entry is free */
    unsigned char key[VL_CUDA_NN_CACHE_KEY_MAX];
};

struct vl_cuda_nn_cache {
    size_t key_bytes;
    int capacity; /* 1 .. VL_CUDA_NN_CACHE_CAPACITY_MAX */
    int count;
    uint64_t clock;
    struct vl_cuda_nn_cache_entry entries[VL_CUDA_NN_CACHE_CAPACITY_MAX];
};

/* FNV-1a over the n bytes of key. */
static inline uint64_t vl_cuda_nn_cache_hash(const void *key, size_t n)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Makes c empty, for keys of key_bytes (<= VL_CUDA_NN_CACHE_KEY_MAX) and at
 * most capacity entries (1 .. VL_CUDA_NN_CACHE_CAPACITY_MAX). */
static inline void vl_cuda_nn_cache_init(struct vl_cuda_nn_cache *c, size_t key_bytes, int capacity)
{
    assert(key_bytes > 0 && key_bytes <= VL_CUDA_NN_CACHE_KEY_MAX);
    assert(capacity >= 1 && capacity <= VL_CUDA_NN_CACHE_CAPACITY_MAX);
    memset(c, 0, sizeof *c);
    c->key_bytes = key_bytes;
    c->capacity = capacity;
}

/* The value stored under key (key_bytes bytes), or NULL; a hit counts as a
 * use. */
static inline void *vl_cuda_nn_cache_find(struct vl_cuda_nn_cache *c, const void *key)
{
    uint64_t h = vl_cuda_nn_cache_hash(key, c->key_bytes);
    for (int i = 0; i < c->capacity; i++) {
        struct vl_cuda_nn_cache_entry *e = &c->entries[i];
        if (e->value && e->hash == h && memcmp(e->key, key, c->key_bytes) == 0) {
            e->used = ++c->clock;
            return e->value;
        }
    }
    return NULL;
}

/* Stores value (not NULL) under key, which must not be stored yet.  Returns
 * NULL, or, when c was full, the value of the least recently used entry,
 * which it replaced: the caller destroys it. */
static inline void *vl_cuda_nn_cache_put(struct vl_cuda_nn_cache *c, const void *key, void *value)
{
    assert(value);
    struct vl_cuda_nn_cache_entry *slot = NULL;
    for (int i = 0; i < c->capacity && !slot; i++)
        if (!c->entries[i].value) slot = &c->entries[i];
    void *evicted = NULL;
    if (!slot) {
        slot = &c->entries[0];
        for (int i = 1; i < c->capacity; i++)
            if (c->entries[i].used < slot->used) slot = &c->entries[i];
        evicted = slot->value;
    } else {
        c->count++;
    }
    slot->hash = vl_cuda_nn_cache_hash(key, c->key_bytes);
    slot->used = ++c->clock;
    slot->value = value;
    memcpy(slot->key, key, c->key_bytes);
    return evicted;
}

/* The value stored under key, or else the one make(context, key) returns,
 * stored (the value it evicts, if any, goes to destroy); NULL, with nothing
 * stored, when make returns NULL. */
static inline void *vl_cuda_nn_cache_get(struct vl_cuda_nn_cache *c, const void *key,
                                         void *(*make)(void *context, const void *key),
                                         void (*destroy)(void *value), void *context)
{
    void *value = vl_cuda_nn_cache_find(c, key);
    if (value) return value;
    value = make(context, key);
    if (!value) return NULL;
    void *evicted = vl_cuda_nn_cache_put(c, key, value);
    if (evicted) destroy(evicted);
    return value;
}

/* Removes one entry and returns its value, or NULL when c is empty: what a
 * free loop drains the cache with. */
static inline void *vl_cuda_nn_cache_pop(struct vl_cuda_nn_cache *c)
{
    for (int i = 0; i < c->capacity; i++) {
        struct vl_cuda_nn_cache_entry *e = &c->entries[i];
        if (e->value) {
            void *v = e->value;
            e->value = NULL;
            c->count--;
            return v;
        }
    }
    return NULL;
}

#endif
