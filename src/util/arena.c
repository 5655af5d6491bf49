/* arena.c - bump allocation in 64 KiB blocks (larger requests get their own). */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (64 * 1024)

struct vl_arena_block {
    struct vl_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *vl_arena_alloc(struct vl_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    struct vl_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE / 4 ? n : BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b) abort();
        b->used = 0;
        b->cap = cap;
        if (n > BLOCK_SIZE / 4 && a->head) {
            /* keep the partly used head block current */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *vl_arena_strndup(struct vl_arena *a, const char *s, size_t n)
{
    char *p = vl_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *vl_arena_strdup(struct vl_arena *a, const char *s)
{
    return vl_arena_strndup(a, s, strlen(s));
}

char *vl_arena_printf(struct vl_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = vl_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void vl_arena_release(struct vl_arena *a)
{
    struct vl_arena_block *b = a->head;
    while (b) {
        struct vl_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
