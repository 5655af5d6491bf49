/* lock.c - the project lock, .vlbuild/lock: flock(2) on a file that holds the
 * holder's pid (for the message a second vlbuild prints).  The kernel drops
 * the lock when the holder dies, even by SIGKILL, so it can never go stale. */
#include "state/lock.h"

#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int vl_lock_acquire(const char *path, int wait, void (*notice)(void *ctx, const char *msg),
                    void *ctx, struct vl_error *err)
{
    /* never through a link, never blocking on a FIFO: what is there must be
     * a regular file (the pid is written into it) */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
    if (fd < 0 && errno == ELOOP) return vl_check_replaceable(path, err);
    if (fd < 0) return vl_error_set(err, "cannot open lock %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vl_check_replaceable(path, err) < 0
                   ? -1
                   : vl_error_set(err, "cannot use lock %s: not a regular file", path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            close(fd);
            return vl_error_set(err, "cannot lock %s: %s", path, strerror(errno));
        }
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        if (n > 0) pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (!wait) {
            close(fd);
            return vl_error_set(err, "another vlbuild (pid %s) is building this project; try "
                                     "again when it has finished",
                                *pid ? pid : "unknown");
        }
        char msg[128];
        snprintf(msg, sizeof msg, "waiting for another vlbuild (pid %s) to finish",
                 *pid ? pid : "unknown");
        if (notice) notice(ctx, msg);
        while (flock(fd, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            close(fd);
            return vl_error_set(err, "cannot lock %s: %s", path, strerror(errno));
        }
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) {
        /* the pid is only informative */
    }
    return fd;
}

void vl_lock_release(int fd)
{
    if (fd >= 0) close(fd);
}
