/* fault_disk.h - a struct vl_disk for the engine's tests: the real file
 * system, with faults put in by path.  A hash that fails (an unreadable
 * file), folders that cannot be made (a full disk), a file that grows while
 * it is hashed; and a count of the hashes taken, to check the stat fast
 * path.  Header-only; one per test. */
#ifndef VL_FAULT_DISK_H
#define VL_FAULT_DISK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/disk.h"

struct fault_disk {
    struct vl_disk base;
    const char *fail_hash;    /* hashing this path fails with EIO */
    const char *fail_mkdir;   /* making the folders of this path fails with ENOSPC */
    const char *grow_on_hash; /* a byte is appended to this file as it is hashed */
    atomic_int hashes;        /* hashes taken (workers hash too) */
};

static int fault_stat(const struct vl_disk *d, const char *path, struct vl_stat *st,
                      struct vl_error *err)
{
    return vl_disk_real()->ops->stat(vl_disk_real(), path, st, err);
}

static int fault_hash(const struct vl_disk *d, const char *path, const atomic_int *cancel,
                      struct vl_hash *out, struct vl_error *err)
{
    struct fault_disk *f = (struct fault_disk *)d;
    atomic_fetch_add(&f->hashes, 1);
    if (f->fail_hash && !strcmp(path, f->fail_hash))
        return vl_error_set(err, "cannot read %s: %s", path, strerror(EIO));
    int rc = vl_disk_real()->ops->hash(vl_disk_real(), path, cancel, out, err);
    if (f->grow_on_hash && !strcmp(path, f->grow_on_hash)) {
        FILE *file = fopen(path, "a");
        if (file) fputc('+', file), fclose(file);
    }
    return rc;
}

static void fault_remove(const struct vl_disk *d, const char *path)
{
    vl_disk_real()->ops->remove(vl_disk_real(), path);
}

static int fault_make_parents(const struct vl_disk *d, const char *path, struct vl_error *err)
{
    const struct fault_disk *f = (const struct fault_disk *)d;
    if (f->fail_mkdir && !strcmp(path, f->fail_mkdir))
        return vl_error_set(err, "cannot create the folder of %s: %s", path, strerror(ENOSPC));
    return vl_disk_real()->ops->make_parents(vl_disk_real(), path, err);
}

static const struct vl_disk_ops fault_disk_ops = {fault_stat, fault_hash, fault_remove,
                                                  fault_make_parents};

/* A fault disk with no faults yet. */
static inline void fault_disk_init(struct fault_disk *f)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &fault_disk_ops;
}

#endif
