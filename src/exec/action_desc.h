/* action_desc.h - a built-in action job written to a file and read back, so
 * that another process (`vlbuild exec-action FILE`, on a cluster node) runs
 * exactly the job the scheduler prepared.  The format is described at the top
 * of action_desc.c. */
#ifndef VL_ACTION_DESC_H
#define VL_ACTION_DESC_H

#include "actions/action.h"

/* A job read from a description, with the storage behind its pointers. */
struct vl_action_desc {
    struct vl_action_job job;
    struct vl_params params;
    char **inputs, **outputs, **origins;
    struct vl_hash *hashes;
    char *origin;
    struct vl_hash origin_hash;
    struct vl_strbuf log;
};

/* Writes job's description to path (atomically).  The state path, the
 * cancel flag and the progress callback are not written: the reader has none. */
int vl_action_desc_write(const struct vl_action_job *job, const char *path, struct vl_error *err);

/* Reads the description at path into d (released with vl_action_desc_release,
 * even on failure): the action is looked up by name and its version checked,
 * its parameters validated again.  d->job.log points to d->log. */
int vl_action_desc_read(const char *path, struct vl_action_desc *d, struct vl_error *err);

/* Frees what vl_action_desc_read allocated. */
void vl_action_desc_release(struct vl_action_desc *d);

#endif
