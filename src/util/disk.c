/* disk.c - the real file system behind struct vl_disk. */
#include "util/disk.h"

#include <unistd.h>

static int real_stat(const struct vl_disk *d, const char *path, struct vl_stat *st,
                     struct vl_error *err)
{
    (void)d;
    return vl_stat_path(path, st, err);
}

static int real_hash(const struct vl_disk *d, const char *path, const atomic_int *cancel,
                     struct vl_hash *out, struct vl_error *err)
{
    (void)d;
    return vl_hash_file_until(path, cancel, out, err);
}

static void real_remove(const struct vl_disk *d, const char *path)
{
    (void)d;
    unlink(path);
}

static int real_make_parents(const struct vl_disk *d, const char *path, struct vl_error *err)
{
    (void)d;
    return vl_mkdir_parents(path, err);
}

static const struct vl_disk_ops real_ops = {real_stat, real_hash, real_remove, real_make_parents};
static const struct vl_disk real_disk = {&real_ops};

const struct vl_disk *vl_disk_real(void)
{
    return &real_disk;
}
