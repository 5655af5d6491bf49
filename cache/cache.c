/* cache.c - the artifact cache's public face: a lookup asks the local store,
 * then the remote (whose entry and blobs, once verified, warm the local store
 * and are restored from there); a store writes the local store, then uploads.
 * The formats live in local.c, entry.c and remote.c. */
#include "cache/cache.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/entry.h"
#include "cache/local.h"
#include "cache/remote.h"
#include "util/module.h"
#include "util/strbuf.h"

#define DEFAULT_DIR ".vlbuild/cache"

/* linked into the tests; vlbuild loads it from its http module instead */
extern const struct vl_cache_remote_api vl_cache_remote_http __attribute__((weak));

struct vl_cache {
    struct vl_cache_local local;
    struct vl_cache_remote *remote; /* NULL: none */
    const struct vl_cache_remote_api *http; /* its client, set with remote */
    int copy_only;
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    atomic_ulong hits, remote_hits, misses, stores;
};

__attribute__((format(printf, 2, 3))) static void warnf(struct vl_cache *c, const char *fmt, ...)
{
    if (!c->warn) return;
    char msg[VL_ERROR_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->warn(c->warn_ctx, msg);
}

void vl_cache_options_init(struct vl_cache_options *o)
{
    memset(o, 0, sizeof *o);
    const char *dir = getenv("VLBUILD_CACHE_DIR");
    o->dir = dir && *dir ? dir : DEFAULT_DIR;
    const char *url = getenv("VLBUILD_REMOTE_CACHE");
    o->remote_url = url && *url ? url : NULL;
    const char *ro = getenv("VLBUILD_REMOTE_CACHE_READONLY");
    o->remote_readonly = ro && *ro && strcmp(ro, "0") != 0;
    o->auth_header_env = "VLBUILD_REMOTE_CACHE_HEADER";
    o->remote_timeout_s = 60;
}

int vl_cache_open(const struct vl_cache_options *o, struct vl_cache **out, struct vl_error *err)
{
    *out = NULL;
    struct vl_cache *c = calloc(1, sizeof *c);
    if (!c) abort();
    if (vl_cache_local_open(&c->local, o->dir ? o->dir : DEFAULT_DIR, 1, NULL, err) < 0) {
        free(c);
        return -1;
    }
    if (o->remote_url && (!(c->http = vl_module_resolve(&vl_cache_remote_http, "http",
                                                        "vl_cache_remote_http", err)) ||
                          c->http->open(o, &c->remote, err) < 0)) {
        vl_cache_local_close(&c->local);
        free(c);
        return -1;
    }
    c->copy_only = o->copy_only;
    c->warn = o->warn;
    c->warn_ctx = o->warn_ctx;
    atomic_init(&c->hits, 0);
    atomic_init(&c->remote_hits, 0);
    atomic_init(&c->misses, 0);
    atomic_init(&c->stores, 0);
    *out = c;
    return 0;
}

/* Fetches key's entry and the blobs the local store lacks from the remote,
 * installs them locally, then restores as a local hit would.  1 / 0 / -1 as
 * vl_cache_restore. */
static int restore_remote(struct vl_cache *c, const struct vl_hash *key,
                          const char *const *out_paths, size_t n, struct vl_hash *out_hashes,
                          struct vl_error *err)
{
    char hex[33];
    vl_hash_hex(key, hex);
    char *data = NULL;
    size_t len = 0;
    if (c->http->get_entry(c->remote, key, &data, &len) != 1) return 0;
    struct vl_cache_entry e;
    struct vl_error why;
    if (vl_cache_entry_parse(data, len, &e, &why) < 0) {
        warnf(c, "remote cache: entry %s is damaged (%s); ignoring it", hex, why.msg);
        free(data);
        return 0;
    }
    int rc = 1;
    if (e.n != n) rc = 0;
    for (size_t i = 0; i < n && rc; i++)
        rc = strcmp(e.outputs[i].path, out_paths[i]) == 0;
    if (!rc) warnf(c, "remote cache: entry %s names other outputs than the action", hex);

    /* the blobs to download: not in the local store, each once */
    struct vl_hash *want = calloc(n ? n : 1, sizeof *want);
    uint64_t *sizes = calloc(n ? n : 1, sizeof *sizes);
    char **tmps = calloc(n ? n : 1, sizeof *tmps);
    if (!want || !sizes || !tmps) abort();
    size_t n_want = 0;
    for (size_t i = 0; i < n && rc; i++) {
        const struct vl_cache_output *o = &e.outputs[i];
        if (vl_cache_local_has_blob(&c->local, &o->hash, o->size)) continue;
        int dup = 0;
        for (size_t j = 0; j < n_want && !dup; j++)
            dup = vl_hash_equal(&want[j], &o->hash);
        if (dup) continue;
        struct vl_strbuf tmp = VL_STRBUF_INIT;
        vl_cache_local_tmp_path(&c->local, "download", &tmp);
        tmps[n_want] = vl_strbuf_detach(&tmp, NULL);
        sizes[n_want] = o->size;
        want[n_want++] = o->hash;
    }
    if (rc && n_want)
        rc = c->http->get_blobs(c->remote, want, sizes, (const char *const *)tmps, n_want);
    for (size_t i = 0; i < n_want && rc == 1; i++)
        if (vl_cache_local_install_blob(&c->local, tmps[i], &want[i], err) < 0) rc = -1;
    if (rc == 1 && vl_cache_local_write_entry(&c->local, key, data, len, err) < 0) rc = -1;
    if (rc == 1) {
        rc = vl_cache_local_restore(&c->local, &e, out_paths, n, c->copy_only, out_hashes, &why,
                                    err);
        if (rc == 0) warnf(c, "cache: %s", why.msg);
    }
    if (rc != 1)
        for (size_t i = 0; i < n_want; i++)
            unlink(tmps[i]);
    for (size_t i = 0; i < n_want; i++)
        free(tmps[i]);
    free(tmps);
    free(sizes);
    free(want);
    vl_cache_entry_free(&e);
    free(data);
    return rc;
}

int vl_cache_restore(struct vl_cache *c, const struct vl_hash *action_key,
                     const char *const *out_paths, size_t n, struct vl_hash *out_hashes,
                     struct vl_error *err)
{
    struct vl_cache_entry e;
    struct vl_error why;
    int rc = vl_cache_local_read_entry(&c->local, action_key, &e, &why);
    if (rc == 2) warnf(c, "cache: %s", why.msg);
    if (rc == 1) {
        rc = vl_cache_local_restore(&c->local, &e, out_paths, n, c->copy_only, out_hashes, &why,
                                    err);
        vl_cache_entry_free(&e);
        if (rc < 0) return -1;
        if (rc == 1) {
            vl_cache_local_touch_entry(&c->local, action_key);
            atomic_fetch_add(&c->hits, 1);
            return 1;
        }
        warnf(c, "cache: %s", why.msg);
    }
    if (c->remote && c->http->usable(c->remote)) {
        rc = restore_remote(c, action_key, out_paths, n, out_hashes, err);
        if (rc < 0) return -1;
        if (rc == 1) {
            atomic_fetch_add(&c->hits, 1);
            atomic_fetch_add(&c->remote_hits, 1);
            return 1;
        }
    }
    atomic_fetch_add(&c->misses, 1);
    return 0;
}

int vl_cache_store(struct vl_cache *c, const struct vl_hash *action_key,
                   const char *const *out_paths, const struct vl_hash *out_hashes, size_t n,
                   struct vl_error *err)
{
    struct vl_cache_entry e = {calloc(n ? n : 1, sizeof *e.outputs), n};
    char **blob_paths = calloc(n ? n : 1, sizeof *blob_paths);
    if (!e.outputs || !blob_paths) abort();
    struct vl_strbuf text = VL_STRBUF_INIT;
    struct vl_error why;
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++) {
        struct vl_cache_output *o = &e.outputs[i];
        o->hash = out_hashes[i];
        o->path = (char *)out_paths[i]; /* borrowed: e is not freed with entry_free */
        rc = vl_cache_local_put_blob(&c->local, out_paths[i], &out_hashes[i], &o->size, &o->mode,
                                     &why, err);
        struct vl_strbuf blob = VL_STRBUF_INIT;
        vl_cache_local_blob_path(&c->local, &out_hashes[i], &blob);
        blob_paths[i] = vl_strbuf_detach(&blob, NULL);
    }
    if (rc == 1 && vl_cache_entry_format(&e, &text, &why) < 0) rc = 0;
    if (rc == 1 && vl_cache_local_write_entry(&c->local, action_key, text.buf, text.len, err) < 0)
        rc = -1;
    if (rc == 0)
        warnf(c, "cache: not storing the action of %s: %s", n ? out_paths[0] : "(no outputs)",
              why.msg);
    if (rc == 1) {
        atomic_fetch_add(&c->stores, 1);
        if (c->remote && c->http->usable(c->remote))
            c->http->put(c->remote, action_key, out_hashes, (const char *const *)blob_paths, n,
                         text.buf, text.len);
    }
    for (size_t i = 0; i < n; i++)
        free(blob_paths[i]);
    free(blob_paths);
    free(e.outputs);
    vl_strbuf_release(&text);
    return rc < 0 ? -1 : 0;
}

void vl_cache_get_counters(struct vl_cache *c, struct vl_cache_counters *out)
{
    out->hits = atomic_load(&c->hits);
    out->remote_hits = atomic_load(&c->remote_hits);
    out->misses = atomic_load(&c->misses);
    out->stores = atomic_load(&c->stores);
}

void vl_cache_close(struct vl_cache *c)
{
    if (!c) return;
    struct vl_cache_counters k;
    vl_cache_get_counters(c, &k);
    vl_cache_local_append_stats(&c->local, k.hits, k.remote_hits, k.misses, k.stores);
    if (c->remote) c->http->close(c->remote);
    vl_cache_local_close(&c->local);
    free(c);
}
