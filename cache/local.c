/* local.c - the local store, a folder (.vlbuild/cache, or one shared between
 * checkouts and users).  Layout version 1:
 *
 *   DIR/VERSION            "vlbuild-cache 1\n"; a reader refuses any other
 *   DIR/cas/HH/<hash>      a blob: the bytes of an output, named by the 32 hex
 *                          digits of their XXH3-128 (HH: the first two digits).
 *                          Mode 0444; never modified once in place.
 *   DIR/ac/HH/<key>        an action entry (format: entry.c), named by the hex
 *                          of the action key.  Its mtime is the entry's last
 *                          use (set when stored and on every restore): the
 *                          clock of gc's least-recently-used order.
 *   DIR/tmp/<pid>-<seed>-<n>.<kind>
 *                          files being written; each is renamed into cas/ or
 *                          ac/ only once complete and verified.  gc removes
 *                          those older than an hour (left by a crash).
 *   DIR/stats.log          one line per closed handle, "v1 H R M S\n": hits,
 *                          of them remote hits, misses, stores.  Appended with
 *                          a single O_APPEND write, so lines never interleave.
 *
 * Every file appears whole from a complete temporary file on the same file
 * system, so a reader sees a whole file or none and needs no lock: an entry
 * by rename(2) (concurrent writers write equally valid entries; the last
 * rename wins), a blob by link(2), which leaves a blob already there in
 * place (the same content).  A blob replaced by rename would race with a
 * restore: link(2) of a name whose old inode is losing its last link fails
 * with ENOENT, and the restore missed a blob it had just seen.  Blobs are
 * written before the entry that names them.  Outputs restored by hard link share the blob's
 * inode; blobs are read-only so that an edit in place fails rather than
 * corrupting the store (restore verifies the hash anyway). */
#include "cache/local.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define VERSION_TEXT "vlbuild-cache 1\n"
#define BLOB_MODE 0444

/* Says in why what made a lookup or store fall through; always returns 0, the
 * "miss" or "not stored" value. */
__attribute__((format(printf, 2, 3))) static int miss(struct vl_error *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vl_error_setv(why, fmt, ap);
    va_end(ap);
    return 0;
}

int vl_cache_local_open(struct vl_cache_local *l, const char *dir, int create, int *missing,
                        struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (missing) *missing = 0;
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_strbuf_addf(&path, "%s/VERSION", dir);
    char *text = NULL;
    size_t len = 0;
    struct vl_error ignored;
    int rc = 0;
    if (vl_read_file(path.buf, &text, &len, &ignored) == 0) {
        if (len != strlen(VERSION_TEXT) || memcmp(text, VERSION_TEXT, len) != 0) {
            size_t n = strcspn(text, "\n");
            rc = vl_error_set(
                err, "cache %s: layout \"%.*s\" is not this vlbuild's \"vlbuild-cache %d\"", dir,
                (int)(n > 64 ? 64 : n), text, VL_CACHE_LAYOUT_VERSION);
        }
    } else if (!create) {
        if (missing) *missing = 1;
        rc = vl_error_set(err, "no cache in %s", dir);
    } else {
        static const char *const subdirs[] = {"cas", "ac", "tmp"};
        for (size_t i = 0; i < 3 && rc == 0; i++) {
            struct vl_strbuf sub = VL_STRBUF_INIT;
            vl_strbuf_addf(&sub, "%s/%s", dir, subdirs[i]);
            rc = vl_mkdir_p(sub.buf, err);
            vl_strbuf_release(&sub);
        }
        /* Concurrent creators write the same bytes; the last rename wins. */
        if (rc == 0) rc = vl_write_file_atomic(path.buf, VERSION_TEXT, strlen(VERSION_TEXT), err);
        if (rc < 0) vl_error_prefix(err, "cache %s", dir);
    }
    free(text);
    vl_strbuf_release(&path);
    if (rc < 0) return -1;
    l->dir = strdup(dir);
    if (!l->dir) abort();
    l->name_seed = (unsigned long)(vl_mono_ns() ^ (int64_t)(uintptr_t)l) & 0xffffffffUL;
    atomic_init(&l->name_counter, 0);
    return 0;
}

void vl_cache_local_close(struct vl_cache_local *l)
{
    free(l->dir);
    l->dir = NULL;
}

static void hashed_path(const char *dir, const char *kind, const struct vl_hash *h,
                        struct vl_strbuf *sb)
{
    char hex[33];
    vl_hash_hex(h, hex);
    vl_strbuf_addf(sb, "%s/%s/%.2s/%s", dir, kind, hex, hex);
}

void vl_cache_local_blob_path(const struct vl_cache_local *l, const struct vl_hash *h,
                              struct vl_strbuf *sb)
{
    hashed_path(l->dir, "cas", h, sb);
}

void vl_cache_local_entry_path(const struct vl_cache_local *l, const struct vl_hash *key,
                               struct vl_strbuf *sb)
{
    hashed_path(l->dir, "ac", key, sb);
}

static unsigned long next_name(struct vl_cache_local *l)
{
    return atomic_fetch_add(&l->name_counter, 1);
}

void vl_cache_local_tmp_path(struct vl_cache_local *l, const char *kind, struct vl_strbuf *sb)
{
    vl_strbuf_addf(sb, "%s/tmp/%ld-%lx-%lu.%s", l->dir, (long)getpid(), l->name_seed, next_name(l),
                   kind);
}

/* Publishes the complete file tmp as blob (see the top of the file); tmp
 * is gone after success.  Where the file system has no hard links, falls
 * back to rename.  Returns 0, or -1 with errno. */
static int publish_blob(const char *tmp, const char *blob)
{
    if (link(tmp, blob) == 0 || errno == EEXIST) {
        unlink(tmp);
        return 0;
    }
    if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == EMLINK)
        return rename(tmp, blob);
    return -1;
}

int vl_cache_local_has_blob(const struct vl_cache_local *l, const struct vl_hash *h, uint64_t size)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_cache_local_blob_path(l, h, &path);
    struct stat st;
    int ok = stat(path.buf, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
    vl_strbuf_release(&path);
    return ok;
}

/* Copies in to out: a reflink (FICLONE) where the file system shares extents,
 * else a read/write loop.  *hashed is set when h was computed on the way.
 * Returns 0, -1 on a read error (errno) or -2 on a write error (errno). */
static int copy_fd(int in, int out, struct vl_hash *h, int *hashed)
{
    *hashed = 0;
    if (ioctl(out, FICLONE, in) == 0) return 0;
    if (lseek(in, 0, SEEK_SET) < 0 || ftruncate(out, 0) < 0) return -1;
    XXH3_state_t *state = XXH3_createState();
    if (!state) abort();
    XXH3_128bits_reset(state);
    static __thread char buf[1 << 17];
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        XXH3_128bits_update(state, buf, (size_t)r);
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(out, buf + done, (size_t)(r - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                rc = -2;
                goto out;
            }
            done += w;
        }
    }
out:;
    int saved = errno;
    XXH128_canonicalFromHash((XXH128_canonical_t *)h->bytes, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    *hashed = rc == 0;
    errno = saved;
    return rc;
}

int vl_cache_local_put_blob(struct vl_cache_local *l, const char *src, const struct vl_hash *h,
                            uint64_t *size, unsigned *mode, struct vl_error *why,
                            struct vl_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return miss(why, "cannot open %s: %s", src, strerror(errno));
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return miss(why, "%s is not a regular file", src);
    }
    *size = (uint64_t)st.st_size;
    /* Only the executable bit is restored (place_blob), so only it is
     * recorded: no setuid or world-writable bits travel to a remote. */
    *mode = st.st_mode & 0111 ? 0755 : 0644;
    if (vl_cache_local_has_blob(l, h, *size)) {
        close(in);
        return 1;
    }

    struct vl_strbuf tmp = VL_STRBUF_INIT, blob = VL_STRBUF_INIT;
    vl_cache_local_tmp_path(l, "blob", &tmp);
    int rc = 1;
    int out = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = vl_error_set(err, "cannot create %s: %s", tmp.buf, strerror(errno));
        goto done;
    }
    struct vl_hash got;
    int hashed;
    int c = copy_fd(in, out, &got, &hashed);
    int saved = errno;
    if (fchmod(out, BLOB_MODE) != 0 && c == 0) c = -2, saved = errno;
    if (close(out) != 0 && c == 0) c = -2, saved = errno;
    if (c == -1) {
        vl_error_set(why, "cannot read %s: %s", src, strerror(saved));
        rc = 0;
    } else if (c == -2) {
        rc = vl_error_set(err, "cannot write %s: %s", tmp.buf, strerror(saved));
    } else if (!hashed && vl_hash_file(tmp.buf, &got, err) < 0) {
        rc = -1;
    } else if (!vl_hash_equal(&got, h)) {
        vl_error_set(why, "%s changed after it was fingerprinted", src);
        rc = 0;
    } else {
        vl_cache_local_blob_path(l, h, &blob);
        if (vl_mkdir_parents(blob.buf, err) < 0)
            rc = -1;
        else if (publish_blob(tmp.buf, blob.buf) != 0)
            rc = vl_error_set(err, "cannot store %s as %s: %s", tmp.buf, blob.buf, strerror(errno));
    }
    if (rc != 1) unlink(tmp.buf);
done:
    close(in);
    vl_strbuf_release(&tmp);
    vl_strbuf_release(&blob);
    return rc;
}

int vl_cache_local_install_blob(const struct vl_cache_local *l, const char *tmp,
                                const struct vl_hash *h, struct vl_error *err)
{
    struct vl_strbuf blob = VL_STRBUF_INIT;
    vl_cache_local_blob_path(l, h, &blob);
    int rc = 0;
    if (chmod(tmp, BLOB_MODE) != 0)
        rc = vl_error_set(err, "cannot chmod %s: %s", tmp, strerror(errno));
    else if (vl_mkdir_parents(blob.buf, err) < 0)
        rc = -1;
    else if (publish_blob(tmp, blob.buf) != 0)
        rc = vl_error_set(err, "cannot store %s as %s: %s", tmp, blob.buf, strerror(errno));
    vl_strbuf_release(&blob);
    return rc;
}

int vl_cache_local_read_entry_file(const char *path, char **data, size_t *n,
                                   struct vl_error *why)
{
    *data = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return vl_error_set(why, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = vl_error_set(why, "cache entry %s is not a regular file", path);
    else if ((uint64_t)st.st_size > VL_CACHE_ENTRY_MAX)
        rc = vl_error_set(why, "cache entry %s has %" PRIu64 " bytes, more than the %u an entry may have",
                          path, (uint64_t)st.st_size, VL_CACHE_ENTRY_MAX);
    /* one byte more than fstat said: a file that grew reads as damaged */
    size_t cap = rc == 0 ? (size_t)st.st_size + 1 : 0, len = 0;
    char *buf = rc == 0 ? malloc(cap + 1) : NULL;
    if (rc == 0 && !buf) abort();
    while (rc == 0 && len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = vl_error_set(why, "cannot read %s: %s", path, strerror(errno));
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return 0;
}

int vl_cache_local_read_entry(const struct vl_cache_local *l, const struct vl_hash *key,
                              struct vl_cache_entry *e, struct vl_error *why)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_cache_local_entry_path(l, key, &path);
    char *data = NULL;
    size_t n = 0;
    int rc;
    if (access(path.buf, F_OK) != 0) {
        rc = 0;
    } else if (vl_cache_local_read_entry_file(path.buf, &data, &n, why) < 0) {
        rc = 2;
    } else if (vl_cache_entry_parse(data, n, e, why) < 0) {
        vl_error_prefix(why, "cache entry %s", path.buf);
        unlink(path.buf);
        rc = 2;
    } else {
        rc = 1;
    }
    free(data);
    vl_strbuf_release(&path);
    return rc;
}

/* Writes data to final through a fresh temporary file of l and a rename. */
static int write_atomic(struct vl_cache_local *l, const char *final, const char *data, size_t n,
                        struct vl_error *err)
{
    struct vl_strbuf tmp = VL_STRBUF_INIT;
    vl_cache_local_tmp_path(l, "entry", &tmp);
    int rc = 0;
    int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = vl_error_set(err, "cannot create %s: %s", tmp.buf, strerror(errno));
        goto out;
    }
    for (size_t done = 0; done < n && rc == 0;) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
            rc = vl_error_set(err, "cannot write %s: %s", tmp.buf, strerror(errno));
        else
            done += (size_t)w;
    }
    if (close(fd) != 0 && rc == 0)
        rc = vl_error_set(err, "cannot write %s: %s", tmp.buf, strerror(errno));
    if (rc == 0 && vl_mkdir_parents(final, err) < 0) rc = -1;
    if (rc == 0 && rename(tmp.buf, final) != 0)
        rc = vl_error_set(err, "cannot rename %s to %s: %s", tmp.buf, final, strerror(errno));
    if (rc < 0) unlink(tmp.buf);
out:
    vl_strbuf_release(&tmp);
    return rc;
}

int vl_cache_local_write_entry(struct vl_cache_local *l, const struct vl_hash *key,
                               const char *data, size_t n, struct vl_error *err)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_cache_local_entry_path(l, key, &path);
    int rc = write_atomic(l, path.buf, data, n, err);
    vl_strbuf_release(&path);
    return rc;
}

void vl_cache_local_touch_entry(const struct vl_cache_local *l, const struct vl_hash *key)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_cache_local_entry_path(l, key, &path);
    /* Best effort: in a folder shared between users, another user's entry may
     * not be ours to touch; gc then sees it as older than it is. */
    (void)utimensat(AT_FDCWD, path.buf, NULL, 0);
    vl_strbuf_release(&path);
}

/* Puts blob at tmp, by hard link when allowed, else by copy; fills *h when
 * the copy computed it.  The entry's mode is not trusted (a shared folder or
 * a remote wrote it): only whether it has an executable bit counts.  A copy
 * is created 0666 or 0777 under the umask, never with setuid, setgid or
 * sticky bits; a link is kept only when the blob has exactly BLOB_MODE (a
 * blob chmod'ed by someone else would hand its bits to the output).
 * Returns 1 placed, 0 the blob is missing or unreadable (why), 2 the name
 * tmp is too long (ENAMETOOLONG: the caller tries a shorter one), -1 tmp
 * cannot be written (err). */
static int place_blob(const char *blob, const char *tmp, unsigned mode, int copy_only,
                      struct vl_hash *h, int *hashed, struct vl_error *why, struct vl_error *err)
{
    *hashed = 0;
    int executable = (mode & 0111) != 0;
    /* Executable outputs are copied: the blob (0444) is shared by every
     * output with this content, whatever its mode. */
    if (!copy_only && !executable) {
        if (link(blob, tmp) == 0) {
            struct stat st;
            if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == BLOB_MODE)
                return 1;
            unlink(tmp); /* the blob has other bits: copy it instead */
        } else if (errno == ENOENT) {
            return miss(why, "blob %s is missing", blob);
        } else if (errno == ENAMETOOLONG) {
            return 2;
        }
        /* EXDEV, EMLINK, EPERM and friends: fall back to a copy */
    }
    int in = open(blob, O_RDONLY | O_CLOEXEC);
    if (in < 0) return miss(why, "cannot open blob %s: %s", blob, strerror(errno));
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0777 : 0666);
    if (out < 0) {
        int e = errno;
        close(in);
        if (e == ENAMETOOLONG) return 2;
        return vl_error_set(err, "cannot create %s: %s", tmp, strerror(e));
    }
    int c = copy_fd(in, out, h, hashed);
    int saved = errno;
    if (close(out) != 0 && c == 0) c = -2, saved = errno;
    close(in);
    if (c == 0) return 1;
    unlink(tmp);
    if (c == -2) return vl_error_set(err, "cannot write %s: %s", tmp, strerror(saved));
    vl_error_set(why, "cannot read blob %s: %s", blob, strerror(saved));
    return 0;
}

/* A fresh temporary name beside out (malloc'd): "<out>.vlcache-<pid>-<seed>-<n>",
 * or, when that would pass NAME_MAX or short_name is set, the fixed short
 * "<folder>/.vlcache-<pid>-<seed>-<n>", so an output whose name is near the
 * 255-byte limit is still restored through a temporary in its own folder. */
static char *restore_tmp_name(struct vl_cache_local *l, const char *out, int short_name)
{
    char suffix[96];
    snprintf(suffix, sizeof suffix, ".vlcache-%ld-%lx-%lu", (long)getpid(), l->name_seed,
             next_name(l));
    const char *slash = strrchr(out, '/');
    size_t folder = slash ? (size_t)(slash - out) + 1 : 0;
    struct vl_strbuf sb = VL_STRBUF_INIT;
    if (!short_name && strlen(out + folder) + strlen(suffix) <= NAME_MAX) {
        vl_strbuf_adds(&sb, out);
    } else {
        vl_strbuf_add(&sb, out, folder);
    }
    vl_strbuf_adds(&sb, suffix);
    return vl_strbuf_detach(&sb, NULL);
}

int vl_cache_local_restore(struct vl_cache_local *l, const struct vl_cache_entry *e,
                           const char *const *out_paths, size_t n, int copy_only,
                           struct vl_hash *out_hashes, struct vl_error *why, struct vl_error *err)
{
    if (e->n != n) return miss(why, "the entry has %zu outputs, the action %zu", e->n, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e->outputs[i].path, out_paths[i]) != 0)
            return miss(why, "the entry is for %s, not %s", e->outputs[i].path, out_paths[i]);

    /* All outputs go to temporary names first; only when every one is in
     * place and verified are they renamed, so a miss touches no output. */
    char **tmps = calloc(n ? n : 1, sizeof *tmps);
    if (!tmps) abort();
    size_t placed = 0;
    int rc = 1;
    struct vl_strbuf blob = VL_STRBUF_INIT;
    for (size_t i = 0; i < n && rc == 1; i++) {
        const struct vl_cache_output *o = &e->outputs[i];
        tmps[i] = restore_tmp_name(l, out_paths[i], 0);
        if (vl_mkdir_parents(out_paths[i], err) < 0) {
            rc = -1;
            break;
        }
        vl_strbuf_reset(&blob);
        vl_cache_local_blob_path(l, &o->hash, &blob);
        struct vl_hash got;
        int hashed;
        rc = place_blob(blob.buf, tmps[i], o->mode, copy_only, &got, &hashed, why, err);
        if (rc == 2) { /* the file system's NAME_MAX is below 255: the short name */
            free(tmps[i]);
            tmps[i] = restore_tmp_name(l, out_paths[i], 1);
            rc = place_blob(blob.buf, tmps[i], o->mode, copy_only, &got, &hashed, why, err);
        }
        if (rc == 2)
            rc = miss(why, "no temporary name fits beside %s: %s", out_paths[i],
                      strerror(ENAMETOOLONG));
        if (rc != 1) break;
        placed = i + 1;
        if (!hashed && vl_hash_file(tmps[i], &got, why) < 0) {
            rc = 0;
            break;
        }
        /* Only a blob whose content does not hash to its name is removed:
         * an entry that lies about a size must not destroy a good blob. */
        struct stat st = {0};
        if (!vl_hash_equal(&got, &o->hash)) {
            char hex[33];
            vl_hash_hex(&got, hex);
            vl_error_set(why, "blob %s is damaged (its content hashes to %s); removed it", blob.buf,
                         hex);
            unlink(blob.buf);
            rc = 0;
            break;
        }
        if (stat(tmps[i], &st) != 0 || (uint64_t)st.st_size != o->size) {
            vl_error_set(why,
                         "the entry says %s has %" PRIu64 " bytes, but its blob %s has %" PRIu64
                         " (the entry is wrong; the blob is kept)",
                         o->path, o->size, blob.buf, (uint64_t)st.st_size);
            rc = 0;
            break;
        }
        out_hashes[i] = got;
    }
    if (rc == 1) {
        for (size_t i = 0; i < n; i++) {
            if (rename(tmps[i], out_paths[i]) != 0) {
                rc = vl_error_set(err, "cannot rename %s to %s: %s", tmps[i], out_paths[i],
                                  strerror(errno));
                for (size_t j = i; j < n; j++)
                    unlink(tmps[j]);
                placed = 0;
                break;
            }
        }
    }
    if (rc != 1)
        for (size_t i = 0; i < placed; i++)
            unlink(tmps[i]);
    for (size_t i = 0; i < n; i++)
        free(tmps[i]);
    free(tmps);
    vl_strbuf_release(&blob);
    return rc;
}

void vl_cache_local_append_stats(const struct vl_cache_local *l, unsigned long hits,
                                 unsigned long remote_hits, unsigned long misses,
                                 unsigned long stores)
{
    if (!hits && !misses && !stores) return;
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_strbuf_addf(&path, "%s/stats.log", l->dir);
    char line[128];
    int len =
        snprintf(line, sizeof line, "v1 %lu %lu %lu %lu\n", hits, remote_hits, misses, stores);
    int fd = open(path.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)len); /* one write: lines never interleave */
        (void)w;
        close(fd);
    }
    vl_strbuf_release(&path);
}
