/* local.h - the local store: a folder of blobs and action entries (see local.c).
 * Internal to cache/; callers use cache.h. */
#ifndef VL_CACHE_LOCAL_H
#define VL_CACHE_LOCAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/entry.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define VL_CACHE_LAYOUT_VERSION 1

struct vl_cache_local {
    char *dir;               /* owned */
    unsigned long name_seed; /* makes this handle's temporary names unique */
    atomic_ulong name_counter;
};

/* Opens the store in dir: creates it (VERSION, cas/, ac/, tmp/) when create is
 * set and it is missing; fails when its VERSION names another layout, or when
 * it is missing and create is not set (*missing is then set, if not NULL). */
int vl_cache_local_open(struct vl_cache_local *l, const char *dir, int create, int *missing,
                        struct vl_error *err);
/* Frees what l owns. */
void vl_cache_local_close(struct vl_cache_local *l);

/* Appends DIR/cas/HH/<hex> to sb. */
void vl_cache_local_blob_path(const struct vl_cache_local *l, const struct vl_hash *h,
                              struct vl_strbuf *sb);
/* Appends DIR/ac/HH/<hex> to sb. */
void vl_cache_local_entry_path(const struct vl_cache_local *l, const struct vl_hash *key,
                               struct vl_strbuf *sb);
/* Appends a fresh temporary name DIR/tmp/<pid>-<seed>-<n>.<kind> to sb. */
void vl_cache_local_tmp_path(struct vl_cache_local *l, const char *kind, struct vl_strbuf *sb);

/* 1 when the blob is present with the given size, else 0. */
int vl_cache_local_has_blob(const struct vl_cache_local *l, const struct vl_hash *h, uint64_t size);
/* Copies the file src into the store as blob h, checking on the way that its
 * content still hashes to h; fills *size and *mode from the file.  Returns 1
 * when the blob is in place (perhaps already), 0 when src cannot be stored
 * (unreadable, or changed since fingerprinted: why says so), -1 when the
 * store cannot be written (err). */
int vl_cache_local_put_blob(struct vl_cache_local *l, const char *src, const struct vl_hash *h,
                            uint64_t *size, unsigned *mode, struct vl_error *why,
                            struct vl_error *err);
/* Renames the completed, verified temporary file tmp into place as blob h. */
int vl_cache_local_install_blob(const struct vl_cache_local *l, const char *tmp,
                                const struct vl_hash *h, struct vl_error *err);

/* Reads the entry file path into *data (malloc'd, the caller frees; *n its
 * length): fails (why) when it is not a regular file (a FIFO would block) or
 * holds more than VL_CACHE_ENTRY_MAX bytes, without reading it all. */
int vl_cache_local_read_entry_file(const char *path, char **data, size_t *n,
                                   struct vl_error *why);
/* Reads and parses the entry of key: 1 found, 0 absent, 2 damaged (why says
 * how; the entry is removed).  Fills *e on 1. */
int vl_cache_local_read_entry(const struct vl_cache_local *l, const struct vl_hash *key,
                              struct vl_cache_entry *e, struct vl_error *why);
/* Writes the entry bytes of key atomically (temporary file and rename). */
int vl_cache_local_write_entry(struct vl_cache_local *l, const struct vl_hash *key,
                               const char *data, size_t n, struct vl_error *err);
/* Records now as the last use of key's entry (its mtime), for gc. */
void vl_cache_local_touch_entry(const struct vl_cache_local *l, const struct vl_hash *key);

/* Restores the outputs of e to out_paths (same count and order as e's paths)
 * and fills out_hashes: 1 done, 0 a miss (why says why; a damaged blob is
 * removed; no out_path was touched), -1 a local error (err). */
int vl_cache_local_restore(struct vl_cache_local *l, const struct vl_cache_entry *e,
                           const char *const *out_paths, size_t n, int copy_only,
                           struct vl_hash *out_hashes, struct vl_error *why, struct vl_error *err);

/* Appends one line of counters to DIR/stats.log (best effort). */
void vl_cache_local_append_stats(const struct vl_cache_local *l, unsigned long hits,
                                 unsigned long remote_hits, unsigned long misses,
                                 unsigned long stores);

#endif
