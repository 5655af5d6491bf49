/* disk.h - the file operations the engine's decisions rest on, as a table:
 * stat, hash, remove and make folders.  The planner and the scheduler call
 * them through a struct vl_disk, so that their logic is tested on an
 * in-memory disk (tests/unit/fake_disk.h) where a read fails, a folder
 * cannot be made or a file changes while it is hashed, as ninja's
 * DiskInterface lets its builder be tested.  vl_disk_real() is the file
 * system (util/fs.h).  What actions write, globs, the state database and
 * the cache stay on the real file system. */
#ifndef VL_DISK_H
#define VL_DISK_H

#include <stdatomic.h>

#include "util/error.h"
#include "util/fs.h"

struct vl_disk;

struct vl_disk_ops {
    /* vl_stat_path: a missing file gives exists = 0 and 0; what is not a
     * regular file, or cannot be stat'ed, -1 with a message */
    int (*stat)(const struct vl_disk *d, const char *path, struct vl_stat *st,
                struct vl_error *err);
    /* vl_hash_file_until: the content's XXH3-128, or -1 with a message
     * (unreadable, not a regular file, *cancel set) */
    int (*hash)(const struct vl_disk *d, const char *path, const atomic_int *cancel,
                struct vl_hash *out, struct vl_error *err);
    /* unlink: removes path if it is there; errors are not reported */
    void (*remove)(const struct vl_disk *d, const char *path);
    /* vl_mkdir_parents: makes the folders above path, or -1 with a message */
    int (*make_parents)(const struct vl_disk *d, const char *path, struct vl_error *err);
};

struct vl_disk {
    const struct vl_disk_ops *ops;
};

/* The real file system; never NULL, never freed. */
const struct vl_disk *vl_disk_real(void);
/* d, or the real file system when d is NULL. */
static inline const struct vl_disk *vl_disk_or_real(const struct vl_disk *d)
{
    return d ? d : vl_disk_real();
}

#endif
