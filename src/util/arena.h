/* arena.h - a bump allocator for everything that lives as long as the graph.
 *
 * Parsed rules, expanded paths and graph nodes are allocated here and freed
 * all at once; nothing allocated from an arena is freed on its own. */
#ifndef VL_ARENA_H
#define VL_ARENA_H

#include <stddef.h>

struct vl_arena_block;

struct vl_arena {
    struct vl_arena_block *head;
    size_t total; /* bytes handed out, for memory reports */
};

/* Returns n zeroed bytes aligned for any type; aborts when out of memory. */
void *vl_arena_alloc(struct vl_arena *a, size_t n);
/* Returns a copy of the n bytes at s, NUL-terminated. */
char *vl_arena_strndup(struct vl_arena *a, const char *s, size_t n);
/* Returns a copy of the NUL-terminated string s. */
char *vl_arena_strdup(struct vl_arena *a, const char *s);
/* Returns a printf-formatted string allocated in the arena. */
char *vl_arena_printf(struct vl_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees every block of the arena. */
void vl_arena_release(struct vl_arena *a);

#define VL_ARENA_NEW(a, type) ((type *)vl_arena_alloc((a), sizeof(type)))
#define VL_ARENA_ARRAY(a, type, n) ((type *)vl_arena_alloc((a), sizeof(type) * (n)))

#endif
