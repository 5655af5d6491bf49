/* remote.h - the HTTP client of the remote cache (see remote.c).  Internal to
 * cache/.  Every function here reports failures through the options' warn
 * callback and returns "absent" / "not done": nothing here fails a build. */
#ifndef VL_CACHE_REMOTE_H
#define VL_CACHE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"

struct vl_cache_remote;

/* The client's functions, reached through one table: the client lives in
 * vlbuild's http module (util/module.h), loaded only when a remote is set,
 * so that a build without one never loads libcurl. */
struct vl_cache_remote_api {
    /* Sets up the client for o->remote_url (copied); fails on a URL that is
     * not http:// or https://.  Free with close. */
    int (*open)(const struct vl_cache_options *o, struct vl_cache_remote **out,
                struct vl_error *err);
    /* Frees r; NULL is a no-op. */
    void (*close)(struct vl_cache_remote *r);
    /* 0 once the server has failed (unreachable, too slow, errors): from then
     * on the handle stops asking it, so one dead server costs one timeout per run. */
    int (*usable)(struct vl_cache_remote *r);
    /* GET /ac/<key>: 1 found (*data, *n: a malloc'd copy the caller frees), 0
     * absent or failed. */
    int (*get_entry)(struct vl_cache_remote *r, const struct vl_hash *key, char **data,
                     size_t *n);
    /* GET /cas/<hashes[i]> into the new files paths[i], in parallel, each
     * checked against its digest and the size its entry declares (sizes[i]: a
     * download stops once it passes it, so a server cannot fill the disk): 1
     * when all arrived intact, else 0 (and every file of paths is removed). */
    int (*get_blobs)(struct vl_cache_remote *r, const struct vl_hash *hashes,
                     const uint64_t *sizes, const char *const *paths, size_t n);
    /* Uploads the blobs the server lacks (HEAD /cas/<h>, then PUT, in
     * parallel) from blob_paths, then PUT /ac/<key> with the entry bytes, only
     * if every blob is there: 1 done, 0 failed or read-only. */
    int (*put)(struct vl_cache_remote *r, const struct vl_hash *key, const struct vl_hash *hashes,
               const char *const *blob_paths, size_t n, const char *entry, size_t entry_n);
};

/* The HTTP client (remote.c), in the http module as `vl_cache_remote_http`. */
extern const struct vl_cache_remote_api vl_cache_remote_http;

#endif
