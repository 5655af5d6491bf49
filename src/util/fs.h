/* fs.h - file-system helpers: stat tuples, content hashes, directories and
 * atomic writes.  Paths are relative to the project directory (vlbuild
 * chdir()s there first) or absolute. */
#ifndef VL_FS_H
#define VL_FS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vl_strbuf;

/* XXH3-128 of a file's content: the fingerprint of every artifact. */
struct vl_hash {
    uint8_t bytes[16];
};

/* What stat(2) says of a file; a change in any field means "re-hash". */
struct vl_stat {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    int exists; /* 0 when the file is missing (or not a regular file) */
};

/* Fills st for path (following symbolic links); a missing path gives
 * exists=0 and returns 0.  Other failures (permission; a directory, FIFO,
 * device or socket: not a regular file) return -1 with a message. */
int vl_stat_path(const char *path, struct vl_stat *st, struct vl_error *err);
/* Why a file of mode (st_mode) is not a regular file: "is a FIFO, not a
 * regular file". */
const char *vl_not_regular(unsigned mode);
/* 1 when both stat tuples describe the same, unchanged file. */
int vl_stat_equal(const struct vl_stat *a, const struct vl_stat *b);
/* Hashes the whole content of path with XXH3-128.  Error: path cannot be
 * read, or is not a regular file (a FIFO never blocks the open). */
int vl_hash_file(const char *path, struct vl_hash *out, struct vl_error *err);
/* vl_hash_file that gives up with an error once *cancel is set (checked
 * every 16 MiB read; cancel may be NULL). */
int vl_hash_file_until(const char *path, const atomic_int *cancel, struct vl_hash *out,
                       struct vl_error *err);
/* Hashes n bytes of memory with XXH3-128. */
struct vl_hash vl_hash_bytes(const void *data, size_t n);
/* 1 when two hashes are equal. */
int vl_hash_equal(const struct vl_hash *a, const struct vl_hash *b);
/* Writes the 32 lowercase hex digits of h and a NUL into out. */
void vl_hash_hex(const struct vl_hash *h, char out[33]);
/* Parses 32 hex digits; returns 0 or -1. */
int vl_hash_parse(const char *hex, struct vl_hash *out);
/* Creates dir and its missing parents (mode 0777 before umask). */
int vl_mkdir_p(const char *dir, struct vl_error *err);
/* Creates the missing parent directories of the file path. */
int vl_mkdir_parents(const char *path, struct vl_error *err);
/* 0 when vlbuild may replace path by a file of its own: nothing is there,
 * or a regular file (not a symbolic link).  Else -1 with a message naming
 * path: a FIFO, a device, a socket, a directory or a link is never replaced
 * (as root, renaming onto /dev/full would destroy the device node). */
int vl_check_replaceable(const char *path, struct vl_error *err);
/* The prefix of a short temporary name (vl_temp_name). */
#define VL_SHORT_TEMP_PREFIX ".vltmp-"
/* Appends to out the name of the temporary that a writer of path writes
 * before its rename: "<path>.vltmp.<pid>" (".<thread>" more with
 * per_thread), or, where that name would pass the file system's 255-byte
 * limit, "<folder>/.vltmp-<XXH3-64 of the name>.<pid>[.<thread>]".
 * vl_remove_temporaries_in removes both kinds. */
void vl_temp_name(const char *path, int per_thread, struct vl_strbuf *out);
/* Writes data to path through a temporary file in the same directory and a
 * rename, so that readers see either the old or the complete new file.
 * Refuses (vl_check_replaceable) a path that holds anything but a regular
 * file; on failure the temporary is removed and path is left as it was. */
int vl_write_file_atomic(const char *path, const void *data, size_t n, struct vl_error *err);
/* Removes what a killed writer may have left beside path: the files of its
 * folder named "<name of path>.vltmp.*" (the writers' temporary names) or
 * "<name>.vlcache-*" (the cache's, while restoring).  Errors are ignored: a
 * temporary that cannot be removed is never taken for an output. */
void vl_remove_temporaries(const char *path);
/* Removes those temporaries from the folder dir (dlen bytes; 0: ".") where
 * owned(ctx, p, n) says yes for p, the path (n bytes, not NUL-terminated)
 * of the file each one is the temporary of: one scan of the folder.  Every
 * short temporary (vl_temp_name) in dir goes too: call it before any
 * writer starts in dir. */
void vl_remove_temporaries_in(const char *dir, size_t dlen,
                              int (*owned)(void *ctx, const char *path, size_t n), void *ctx);
/* Reads a whole file into a malloc'd, NUL-terminated buffer the caller frees. */
int vl_read_file(const char *path, char **data, size_t *n, struct vl_error *err);
/* The wall clock in nanoseconds since the epoch. */
int64_t vl_now_ns(void);
/* A monotonic clock in nanoseconds. */
int64_t vl_mono_ns(void);

#endif
