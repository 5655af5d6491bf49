/* cache_step.c - cache lookups and stores on libuv's thread pool. */
#include "exec/cache_step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

static void lookup_run(uv_work_t *w)
{
    struct vl_cache_lookup *l = w->data;
    l->rc = vl_cache_restore(l->cache, &l->key, l->paths, l->n, l->hashes, &l->err);
}

static void lookup_after(uv_work_t *w, int status)
{
    struct vl_cache_lookup *l = w->data;
    if (status != 0) l->rc = 0;
    l->done(l);
}

int vl_cache_lookup_start(uv_loop_t *loop, struct vl_cache_lookup *l, struct vl_cache *cache,
                          const struct vl_edge *e, const char *const *paths,
                          void (*done)(struct vl_cache_lookup *l), void *ctx)
{
    l->cache = cache;
    l->key = e->key;
    l->paths = paths;
    l->n = e->n_outputs;
    l->hashes = calloc(e->n_outputs + 1, sizeof *l->hashes);
    if (!l->hashes) abort();
    l->rc = 0;
    l->done = done;
    l->ctx = ctx;
    l->work.data = l;
    return uv_queue_work(loop, &l->work, lookup_run, lookup_after);
}

int vl_cache_lookup_apply(const struct vl_cache_lookup *l, struct vl_edge *e,
                          struct vl_state *state, struct vl_error *err)
{
    for (size_t i = 0; i < e->n_outputs; i++) {
        /* the fingerprint comes from the cache entry; the stat tuple is
         * taken after the restore, since linking changes a file's ctime */
        struct vl_node *o = e->outputs[i];
        struct vl_file_record rec = {.hash = l->hashes[i], .hashed_at_ns = vl_now_ns()};
        if (vl_stat_path(o->path, &rec.st, err) < 0) return -1;
        if (!rec.st.exists) return vl_error_set(err, "%s is missing after its restore", o->path);
        if (vl_state_put_file(state, o->path, &rec, err) < 0) return -1;
        o->st = rec.st;
        o->hash = rec.hash;
        o->stat_done = o->hash_known = 1;
    }
    return 0;
}

void vl_cache_lookup_release(struct vl_cache_lookup *l)
{
    free(l->hashes);
    l->hashes = NULL;
}

/* Outputs on their way into the cache, after the job that made them is gone. */
struct store_work {
    uv_work_t work;
    struct vl_cache *cache;
    struct vl_hash key;
    char **paths;
    struct vl_hash *hashes;
    size_t n;
};

static void store_run(uv_work_t *w)
{
    struct store_work *s = w->data;
    struct vl_error err;
    if (vl_cache_store(s->cache, &s->key, (const char *const *)s->paths, s->hashes, s->n, &err) < 0)
        fprintf(stderr, "vlbuild: warning: cannot store %s in the cache: %s\n", s->paths[0],
                err.msg);
}

static void store_after(uv_work_t *w, int status)
{
    (void)status;
    struct store_work *s = w->data;
    for (size_t i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s->hashes);
    free(s);
}

void vl_cache_store_start(uv_loop_t *loop, struct vl_cache *cache, const struct vl_edge *e)
{
    struct store_work *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->cache = cache;
    s->key = e->key;
    s->n = e->n_outputs;
    s->paths = calloc(e->n_outputs, sizeof *s->paths);
    s->hashes = calloc(e->n_outputs, sizeof *s->hashes);
    if (!s->paths || !s->hashes) abort();
    for (size_t i = 0; i < e->n_outputs; i++) {
        s->paths[i] = strdup(e->outputs[i]->path);
        if (!s->paths[i]) abort();
        s->hashes[i] = e->outputs[i]->hash;
    }
    s->work.data = s;
    if (uv_queue_work(loop, &s->work, store_run, store_after) < 0) store_after(&s->work, 0);
}
