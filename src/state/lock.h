/* lock.h - one vlbuild at a time per project. */
#ifndef VL_LOCK_H
#define VL_LOCK_H

#include "util/error.h"

/* Takes the project lock: its folder (flock on the directory), with the
 * holder's pid in the file `path` (created if needed); holds it
 * until the process exits or vl_lock_release.  When another vlbuild holds it,
 * says so through notice() and waits when wait is non-zero, else fails with
 * a message naming the other process.  Returns the lock's descriptor. */
int vl_lock_acquire(const char *path, int wait, void (*notice)(void *ctx, const char *msg),
                    void *ctx, struct vl_error *err);
/* Releases a lock taken by vl_lock_acquire. */
void vl_lock_release(int fd);

#endif
