/* cache_step.h - the artifact cache asked and fed off the loop.
 *
 * A lookup restores an action's outputs on a worker thread (a remote cache
 * may take a round trip or a download); on a hit, the loop then records the
 * restored files' fingerprints.  A store copies a finished action's outputs
 * into the cache on a worker, after the job that made them is gone. */
#ifndef VL_CACHE_STEP_H
#define VL_CACHE_STEP_H

#include <uv.h>

#include "graph/graph.h"
#include "state/state.h"
#include "util/error.h"

struct vl_cache;

struct vl_cache_lookup {
    uv_work_t work;
    struct vl_cache *cache;
    struct vl_hash key;
    const char *const *paths; /* the outputs, kept alive by the caller */
    size_t n;
    struct vl_hash *hashes;   /* out: the restored files' fingerprints */
    int rc;                   /* out: 1 a hit, 0 a miss, -1 an error (in err) */
    struct vl_error err;
    /* on the loop, once the lookup ended (a lookup that libuv cancelled
     * before it ran ends as a miss) */
    void (*done)(struct vl_cache_lookup *l);
    void *ctx;
};

/* Queues the lookup of e's key in cache for the outputs paths (e's, n of
 * them): done runs on the loop.  Returns 0, or a negative libuv error when
 * it cannot be queued (done never runs then). */
int vl_cache_lookup_start(uv_loop_t *loop, struct vl_cache_lookup *l, struct vl_cache *cache,
                          const struct vl_edge *e, const char *const *paths,
                          void (*done)(struct vl_cache_lookup *l), void *ctx);
/* After a hit: stats each restored output, sets e's nodes and records the
 * fingerprints in state.  Error: an output that the restore should have
 * made is not there. */
int vl_cache_lookup_apply(const struct vl_cache_lookup *l, struct vl_edge *e,
                          struct vl_state *state, struct vl_error *err);
/* Frees what the lookup holds (not l itself). */
void vl_cache_lookup_release(struct vl_cache_lookup *l);

/* Copies e's outputs (fingerprinted) into cache under e's key on a worker;
 * a failure warns on stderr.  The paths and hashes are copied: e may change. */
void vl_cache_store_start(uv_loop_t *loop, struct vl_cache *cache, const struct vl_edge *e);

#endif
