/* devices.h - which GPUs a build may use, and which one each gpu slot gets.
 *
 * The device list is what --gpu-devices gives, else the entries of the
 * parent's CUDA_VISIBLE_DEVICES (set and empty, or "-1": none), else one
 * device per /dev/nvidiaN node.  An entry is an ordinal ("3"), a GPU UUID
 * ("GPU-8f3...") or a MIG instance ("MIG-..."), kept as written so that a
 * child given it sees the device its parent meant.
 *
 * The gpu pool has --gpus slots (default: one per device, 1 when there are
 * none); slot g is bound to device g mod n as its lane g / n, so several
 * slots may share a device (--gpus 7 on one GPU runs seven jobs on it, the
 * only way to use all of its decoder engines).  A `run` command in the pool
 * gets CUDA_VISIBLE_DEVICES set to its device's entry and VLBUILD_GPU_SLOT
 * to its slot, in an environment of its own (the parent's is never
 * changed); a built-in gets the device's ordinal within the parent's
 * visible set, and its lane.  No CUDA in here: the binding is tested with
 * made-up device lists on machines without a GPU. */
#ifndef VL_GPU_DEVICES_H
#define VL_GPU_DEVICES_H

#include <stddef.h>

#include "util/error.h"

#define VL_GPU_MAX_DEVICES 64

struct vl_gpu_devices {
    char *entries[VL_GPU_MAX_DEVICES]; /* malloc'd, as written */
    size_t n;
    const char *origin; /* "--gpu-devices", "CUDA_VISIBLE_DEVICES", "/dev" or "none" */
};

/* What slot g of the gpu pool runs on. */
struct vl_gpu_binding {
    int slot;
    const char *entry; /* the device's entry, or NULL without devices */
    int ordinal;       /* its index in the parent's visible set, or -1 */
    int lane;          /* how many slots before this one share its device */
};

/* Parses a comma-separated device list ("0,1", "GPU-aa,GPU-bb", "" for
 * none) into out.  Errors: an entry that is empty, holds a space or a
 * character other than [A-Za-z0-9-:/], repeats another, or one too many. */
int vl_gpu_devices_parse(const char *list, const char *origin, struct vl_gpu_devices *out,
                         struct vl_error *err);
/* The default list: cuda_visible (the parent's CUDA_VISIBLE_DEVICES, or
 * NULL when unset) when set ("-1" or "NoDevFiles" give none), else one
 * ordinal per nvidiaN node in dev_dir ("/dev").  Errors as above. */
int vl_gpu_devices_detect(const char *cuda_visible, const char *dev_dir,
                          struct vl_gpu_devices *out, struct vl_error *err);
/* The gpu pool's default depth: one slot per device, 1 when there are none. */
int vl_gpu_default_slots(const struct vl_gpu_devices *d);
/* Fills out with slot's binding (see the top of the file). */
void vl_gpu_bind(const struct vl_gpu_devices *d, int slot, struct vl_gpu_binding *out);
/* A child's environment: env (NULL-terminated, not changed) without its
 * CUDA_VISIBLE_DEVICES and VLBUILD_GPU_SLOT, plus both set from b.  The
 * array and its two new strings are one malloc'd block the caller frees
 * with free(); the other strings are env's. */
char **vl_gpu_child_env(char *const *env, const struct vl_gpu_binding *b);
/* Frees the entries. */
void vl_gpu_devices_release(struct vl_gpu_devices *d);

#endif
