/* lock.c - the project lock: flock(2) on the state directory (.vlbuild),
 * with the holder's pid in the file .vlbuild/lock (for the message a second
 * vlbuild prints).  The kernel drops the lock when the holder dies, even by
 * SIGKILL, so it can never go stale.
 *
 * The directory, not the file, is what is locked: a lock on a file is lost
 * with its name (`rm .vlbuild/lock` during a build let a second vlbuild
 * create a new file, lock it and run the same actions at once), while the
 * directory cannot be removed without removing the state with it.  Where a
 * file system cannot flock a directory (some network file systems), the
 * file is locked, and the lock is kept only once the file still bears the
 * name it was opened by. */
#include "state/lock.h"

#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the pid file at path: a regular file, never through a link, never
 * blocking on a FIFO.  Returns its fd, -2 when it cannot be written here (a
 * read-only checkout: the lock goes on without a pid), or -1 with a message. */
static int open_pid_file(const char *path, struct vl_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
    if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT) return -2;
    }
    if (fd < 0 && errno == ELOOP) return vl_check_replaceable(path, err);
    if (fd < 0) return vl_error_set(err, "cannot open lock %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vl_check_replaceable(path, err) < 0
                   ? -1
                   : vl_error_set(err, "cannot use lock %s: not a regular file", path);
    }
    return fd;
}

/* flock(LOCK_EX) on fd; when another holds it, fails (no wait) or says so
 * and waits.  0, or -1 with a message; errno is kept when the file system
 * cannot lock fd at all (EBADF, ENOLCK, EOPNOTSUPP, EINVAL): *unsupported. */
static int take(int fd, int pid_fd, const char *path, int wait,
                void (*notice)(void *ctx, const char *msg), void *ctx, int *unsupported,
                struct vl_error *err)
{
    *unsupported = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK) {
        *unsupported = errno == EBADF || errno == ENOLCK || errno == EOPNOTSUPP || errno == EINVAL;
        return vl_error_set(err, "cannot lock %s: %s", path, strerror(errno));
    }
    char pid[32] = "";
    ssize_t n = pid_fd >= 0 ? pread(pid_fd, pid, sizeof pid - 1, 0) : 0;
    if (n > 0) pid[n] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    if (!wait)
        return vl_error_set(err, "another vlbuild (pid %s) is building this project; try "
                                 "again when it has finished",
                            *pid ? pid : "unknown");
    char msg[128];
    snprintf(msg, sizeof msg, "waiting for another vlbuild (pid %s) to finish",
             *pid ? pid : "unknown");
    if (notice) notice(ctx, msg);
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) return vl_error_set(err, "cannot lock %s: %s", path, strerror(errno));
    return 0;
}

/* 1 when fd is still the file named path (not removed nor replaced). */
static int still_named(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int vl_lock_acquire(const char *path, int wait, void (*notice)(void *ctx, const char *msg),
                    void *ctx, struct vl_error *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    for (;;) {
        int pid_fd = open_pid_file(path, err);
        if (pid_fd == -1) return -1;
        int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int unsupported = 0, held = dir_fd;
        if (dir_fd < 0 ||
            take(dir_fd, pid_fd, dir, wait, notice, ctx, &unsupported, err) < 0) {
            if (dir_fd >= 0) close(dir_fd);
            if (dir_fd >= 0 && !unsupported) {
                if (pid_fd >= 0) close(pid_fd);
                return -1;
            }
            /* no lock on the folder here: lock the file, by its name */
            held = pid_fd;
            if (pid_fd < 0) return vl_error_set(err, "cannot lock %s: %s", dir, strerror(errno));
            if (take(pid_fd, pid_fd, path, wait, notice, ctx, &unsupported, err) < 0) {
                close(pid_fd);
                return -1;
            }
            if (!still_named(pid_fd, path)) { /* removed while we waited: again */
                close(pid_fd);
                continue;
            }
        }
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (pid_fd >= 0 && ftruncate(pid_fd, 0) == 0 && pwrite(pid_fd, pid, (size_t)len, 0) < 0) {
            /* the pid is only informative */
        }
        if (pid_fd >= 0 && pid_fd != held) close(pid_fd);
        return held;
    }
}

void vl_lock_release(int fd)
{
    if (fd >= 0) close(fd);
}
