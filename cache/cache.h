/* cache.h - the artifact cache: a content-addressed store of output files and
 * an action cache that maps an action key to the outputs it produced, in a
 * local folder and optionally on an HTTP server with the path layout of
 * Bazel's HTTP cache.  It knows nothing of the graph: an action is a 16-byte
 * key and an ordered list of output paths.
 *
 * The on-disk layout is described at the top of cache/local.c, the action
 * entry format at the top of cache/entry.c, the HTTP protocol at the top of
 * cache/remote.c; docs/cache.md says what is guaranteed.
 *
 * A struct vl_cache may be used by several threads at once; the warn callback
 * may then be called from any of them.  Several processes may share one
 * folder: every file appears by an atomic rename, so nothing needs a lock.
 * Remote failures never fail a call: they warn and count as a miss. */
#ifndef VL_CACHE_H
#define VL_CACHE_H

#include <stddef.h>

#include "util/error.h"
#include "util/fs.h"

struct vl_cache;

struct vl_cache_options {
    const char *dir;                 /* the local store; NULL: .vlbuild/cache */
    const char *remote_url;          /* http(s)://host[:port][/prefix]; NULL: no remote */
    int remote_readonly;             /* look up on the remote, never upload */
    const char *auth_header_env;     /* env var holding a header line, "Authorization: Bearer x" */
    double remote_timeout_s;         /* the most one transfer may take; <= 0: 60 s */
    double remote_connect_timeout_s; /* connecting; <= 0: the smaller of 5 s and the above */
    int copy_only;                   /* restore by copying, never by hard link (writable outputs) */
    void (*warn)(void *ctx, const char *msg); /* lowercase, no full stop; NULL: silent */
    void *warn_ctx;
};

/* Counters of one handle's life, also appended to the store's stats.log by
 * vl_cache_close. */
struct vl_cache_counters {
    unsigned long hits;        /* restores served (locally or remotely) */
    unsigned long remote_hits; /* of those, served by the remote */
    unsigned long misses;
    unsigned long stores;
};

/* Fills o with the defaults, taking from the environment the local folder
 * ($VLBUILD_CACHE_DIR, else .vlbuild/cache), the remote ($VLBUILD_REMOTE_CACHE),
 * read-only mode ($VLBUILD_REMOTE_CACHE_READONLY set and not "0") and the name
 * of the header variable (VLBUILD_REMOTE_CACHE_HEADER).  The strings point into
 * the environment or are literals; command-line options may then override. */
void vl_cache_options_init(struct vl_cache_options *o);

/* Opens (creating it when missing) the local store of o->dir and, when
 * o->remote_url is set, the remote client; o's strings are copied.  Fails when
 * the folder cannot be created or holds a layout of another version.  The
 * caller frees *out with vl_cache_close. */
int vl_cache_open(const struct vl_cache_options *o, struct vl_cache **out, struct vl_error *err);

/* Looks up action_key locally, then on the remote.  On a hit, restores output
 * i (which must be stored under out_paths[i], same count and order) to
 * out_paths[i] (hard link where possible, else copy; through a temporary name
 * and a rename, never a half file), verifies each restored file's XXH3-128
 * against the entry, fills out_hashes[0..n) and returns 1.  Returns 0 on a
 * miss, leaving every out_path untouched (a corrupt blob or entry, or any
 * remote failure, warns and is a miss).  Returns -1 only on a local error that
 * should fail the build (e.g. an output's folder cannot be written). */
int vl_cache_restore(struct vl_cache *c, const struct vl_hash *action_key,
                     const char *const *out_paths, size_t n, struct vl_hash *out_hashes,
                     struct vl_error *err);

/* Stores the n outputs, whose fingerprints the caller already computed, under
 * action_key: blobs into the content store, then the action entry (relative
 * path, fingerprint, size, mode per output), each by an atomic rename; then
 * uploads to the remote unless read-only.  An output whose content no longer
 * matches its hash, a path that cannot be recorded, or any remote failure
 * warns and stores nothing for the action; returns 0 then too.  Returns -1
 * only when the local store cannot be written (disk full, permissions). */
int vl_cache_store(struct vl_cache *c, const struct vl_hash *action_key,
                   const char *const *out_paths, const struct vl_hash *out_hashes, size_t n,
                   struct vl_error *err);

/* The counters of c so far. */
void vl_cache_get_counters(struct vl_cache *c, struct vl_cache_counters *out);

/* Appends c's counters to the store's stats.log and frees c; NULL is a no-op. */
void vl_cache_close(struct vl_cache *c);

/* The subcommand `cache stats | gc --max-size SIZE | verify` with argv[0] =
 * "cache", on the local store of o (remote settings are ignored).  Prints to
 * stdout, errors to stderr; returns the exit status: 0 done, 1 verify found
 * (and removed) damaged files or an error, 2 bad usage. */
int vl_cache_command(int argc, char **argv, const struct vl_cache_options *o);

#endif
