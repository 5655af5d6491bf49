/* map.h - a string-keyed hash map (open addressing, linear probing).
 *
 * Keys are borrowed, not copied: they must outlive the map (in practice they
 * live in an arena).  Values are opaque pointers. */
#ifndef VL_MAP_H
#define VL_MAP_H

#include <stddef.h>
#include <stdint.h>

struct vl_map_slot {
    const char *key;
    uint32_t keylen; /* keys are paths and names: far below 4 GiB */
    uint32_t hash;   /* the low half of the key's XXH3, to skip most compares */
    void *value;
};

struct vl_map {
    struct vl_map_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t len;
};

/* Returns the value stored under key, or NULL. */
void *vl_map_get(const struct vl_map *m, const char *key);
/* Like vl_map_get for a key of n bytes that need not be NUL-terminated. */
void *vl_map_getn(const struct vl_map *m, const char *key, size_t n);
/* Stores value under key (borrowed); returns the previous value or NULL. */
void *vl_map_put(struct vl_map *m, const char *key, void *value);
/* Frees the slot array. */
void vl_map_release(struct vl_map *m);

#endif
