/* map.c - open-addressing string map hashed with XXH3. */
#include "util/map.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static struct vl_map_slot *find(const struct vl_map *m, const char *key, size_t n, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct vl_map_slot *s = &m->slots[i];
        if (!s->key) return s;
        if (s->hash == (uint32_t)h && s->keylen == n && memcmp(s->key, key, n) == 0) return s;
    }
}

void *vl_map_getn(const struct vl_map *m, const char *key, size_t n)
{
    if (!m->cap) return NULL;
    struct vl_map_slot *s = find(m, key, n, XXH3_64bits(key, n));
    return s->key ? s->value : NULL;
}

void *vl_map_get(const struct vl_map *m, const char *key)
{
    return vl_map_getn(m, key, strlen(key));
}

static void grow(struct vl_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct vl_map_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) abort();
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key) *find(m, old[i].key, old[i].keylen, old[i].hash) = old[i];
    free(old);
}

void *vl_map_put(struct vl_map *m, const char *key, void *value)
{
    if ((m->len + 1) * 4 > m->cap * 3) grow(m);
    size_t n = strlen(key);
    uint64_t h = XXH3_64bits(key, n);
    struct vl_map_slot *s = find(m, key, n, h);
    if (s->key) {
        void *prev = s->value;
        s->value = value;
        return prev;
    }
    *s = (struct vl_map_slot){key, (uint32_t)n, (uint32_t)h, value};
    m->len++;
    return NULL;
}

void vl_map_release(struct vl_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
