/* fs.c - file-system helpers. */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/strbuf.h"

int vl_stat_path(const char *path, struct vl_stat *st, struct vl_error *err)
{
    struct stat s;
    memset(st, 0, sizeof *st);
    if (stat(path, &s) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return vl_error_set(err, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(s.st_mode)) return vl_error_set(err, "%s: %s", path, vl_not_regular(s.st_mode));
    st->dev = (uint64_t)s.st_dev;
    st->ino = (uint64_t)s.st_ino;
    st->size = (uint64_t)s.st_size;
    st->mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
    st->ctime_ns = (int64_t)s.st_ctim.tv_sec * 1000000000 + s.st_ctim.tv_nsec;
    st->exists = 1;
    return 0;
}

const char *vl_not_regular(unsigned mode)
{
    if (S_ISDIR(mode)) return "is a directory, not a file";
    if (S_ISFIFO(mode)) return "is a FIFO, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device, not a regular file";
    if (S_ISSOCK(mode)) return "is a socket, not a regular file";
    return "is not a regular file";
}

int vl_stat_equal(const struct vl_stat *a, const struct vl_stat *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int vl_hash_file(const char *path, struct vl_hash *out, struct vl_error *err)
{
    return vl_hash_file_until(path, NULL, out, err);
}

int vl_hash_file_until(const char *path, const atomic_int *cancel, struct vl_hash *out,
                       struct vl_error *err)
{
    /* O_NONBLOCK: a FIFO put where a file was expected must not block the
     * open; what is not a regular file is refused before a byte is read */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return vl_error_set(err, "cannot open %s: %s", path, strerror(errno));
    struct stat s;
    const char *why = fstat(fd, &s) != 0     ? strerror(errno)
                      : !S_ISREG(s.st_mode) ? vl_not_regular(s.st_mode)
                                            : NULL;
    if (why) {
        close(fd);
        return vl_error_set(err, "%s: %s", path, why);
    }
    XXH3_state_t *state = XXH3_createState();
    if (!state) abort();
    XXH3_128bits_reset(state);
    static __thread char buf[1 << 16];
    int rc = 0;
    for (unsigned chunks = 0;; chunks++) {
        if (cancel && (chunks & 255) == 255 && atomic_load_explicit(cancel, memory_order_relaxed)) {
            rc = vl_error_set(err, "%s: hashing cancelled", path);
            break;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = vl_error_set(err, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        XXH3_128bits_update(state, buf, (size_t)n);
    }
    XXH128_hash_t h = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    close(fd);
    XXH128_canonicalFromHash((XXH128_canonical_t *)out->bytes, h);
    return rc;
}

struct vl_hash vl_hash_bytes(const void *data, size_t n)
{
    struct vl_hash out;
    XXH128_canonicalFromHash((XXH128_canonical_t *)out.bytes, XXH3_128bits(data, n));
    return out;
}

int vl_hash_equal(const struct vl_hash *a, const struct vl_hash *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

void vl_hash_hex(const struct vl_hash *h, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[h->bytes[i] >> 4];
        out[2 * i + 1] = digits[h->bytes[i] & 15];
    }
    out[32] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int vl_hash_parse(const char *hex, struct vl_hash *out)
{
    for (int i = 0; i < 16; i++) {
        int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[32] == '\0' ? 0 : -1;
}

int vl_mkdir_p(const char *dir, struct vl_error *err)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0) return 0;
    if (n >= sizeof path) return vl_error_set(err, "path too long: %s", dir);
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return vl_error_set(err, "cannot create directory %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return vl_error_set(err, "cannot create directory %s: %s", path, strerror(errno));
    return 0;
}

int vl_mkdir_parents(const char *path, struct vl_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char dir[4096];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return vl_error_set(err, "path too long: %s", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat s;
    if (stat(dir, &s) == 0 && S_ISDIR(s.st_mode)) return 0;
    return vl_mkdir_p(dir, err);
}

int vl_check_replaceable(const char *path, struct vl_error *err)
{
    struct stat s;
    if (lstat(path, &s) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0; /* vl_mkdir_parents says why */
        return vl_error_set(err, "cannot write %s: %s", path, strerror(errno));
    }
    if (S_ISLNK(s.st_mode))
        return vl_error_set(err, "cannot write %s: is a symbolic link; vlbuild replaces only "
                                 "regular files (remove it, or name the file it points to)",
                            path);
    if (!S_ISREG(s.st_mode))
        return vl_error_set(err, "cannot write %s: %s; vlbuild replaces only regular files", path,
                            vl_not_regular(s.st_mode));
    return 0;
}

#define NAME_LIMIT 255 /* NAME_MAX of Linux's file systems */

#define SHORT_PREFIX_SIZE 40

/* The start of every short temporary name of the file named base:
 * ".vltmp-<XXH3-64 of base, 16 hex digits>." */
static void short_temp_prefix(const char *base, char out[SHORT_PREFIX_SIZE])
{
    snprintf(out, SHORT_PREFIX_SIZE, "%s%016llx.", VL_SHORT_TEMP_PREFIX,
             (unsigned long long)XXH3_64bits(base, strlen(base)));
}

void vl_temp_name(const char *path, int per_thread, struct vl_strbuf *out)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char suffix[64];
    if (per_thread)
        snprintf(suffix, sizeof suffix, "%ld.%lx", (long)getpid(), (unsigned long)pthread_self());
    else
        snprintf(suffix, sizeof suffix, "%ld", (long)getpid());
    if (strlen(base) + strlen(".vltmp.") + strlen(suffix) <= NAME_LIMIT) {
        vl_strbuf_addf(out, "%s.vltmp.%s", path, suffix);
        return;
    }
    /* too long to carry the whole name: a short one in the same folder */
    char prefix[SHORT_PREFIX_SIZE];
    short_temp_prefix(base, prefix);
    vl_strbuf_add(out, path, (size_t)(base - path));
    vl_strbuf_addf(out, "%s%s", prefix, suffix);
}

int vl_write_file_atomic(const char *path, const void *data, size_t n, struct vl_error *err)
{
    /* checked before the temporary exists; a special file put there between
     * this check and the rename is the rename's to replace, as with mv */
    if (vl_check_replaceable(path, err) < 0) return -1;
    if (vl_mkdir_parents(path, err) < 0) return -1;
    struct vl_strbuf tmp_name = VL_STRBUF_INIT;
    vl_temp_name(path, 0, &tmp_name);
    const char *tmp = tmp_name.buf;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        vl_error_set(err, "cannot create %s: %s", tmp, strerror(errno));
        vl_strbuf_release(&tmp_name);
        return -1;
    }
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            vl_strbuf_release(&tmp_name);
            return vl_error_set(err, "cannot write %s: %s", path, strerror(e));
        }
        p += w;
        n -= (size_t)w;
    }
    int rc = 0;
    if (close(fd) != 0) {
        rc = vl_error_set(err, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = vl_error_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
    vl_strbuf_release(&tmp_name);
    return rc;
}

int vl_read_file(const char *path, char **data, size_t *n, struct vl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return vl_error_set(err, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) abort();
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return vl_error_set(err, "cannot read %s", path);
    }
    buf[len] = '\0';
    *data = buf;
    if (n) *n = len;
    return 0;
}

int64_t vl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t vl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The length of the name name is the temporary of ("a.npy.vltmp.12" -> 5),
 * or 0 when it is no temporary (nor a short one: see vl_temp_name). */
static size_t temporary_owner_len(const char *name)
{
    const char *tmp = strstr(name, ".vltmp.");
    const char *cache = strstr(name, ".vlcache-");
    const char *mark = tmp && (!cache || tmp < cache) ? tmp : cache;
    return mark && mark > name ? (size_t)(mark - name) : 0;
}

/* vl_remove_temporaries_in, removing of the short temporaries those whose
 * name starts with short_prefix ("": all of them). */
static void remove_temporaries(const char *dir, size_t dlen,
                               int (*owned)(void *ctx, const char *path, size_t n), void *ctx,
                               const char *short_prefix)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_strbuf_add(&path, dir, dlen);
    DIR *d = opendir(dlen ? path.buf : ".");
    if (!d) {
        vl_strbuf_release(&path);
        return;
    }
    if (dlen) vl_strbuf_addch(&path, '/');
    size_t dir_part = path.len;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strncmp(e->d_name, VL_SHORT_TEMP_PREFIX, strlen(VL_SHORT_TEMP_PREFIX))) {
            if (strncmp(e->d_name, short_prefix, strlen(short_prefix))) continue;
            path.len = dir_part;
            vl_strbuf_adds(&path, e->d_name);
            unlink(path.buf);
            continue;
        }
        size_t owner = temporary_owner_len(e->d_name);
        if (!owner) continue;
        path.len = dir_part;
        vl_strbuf_add(&path, e->d_name, owner);
        if (!owned(ctx, path.buf, path.len)) continue;
        path.len = dir_part;
        vl_strbuf_adds(&path, e->d_name);
        unlink(path.buf);
    }
    closedir(d);
    vl_strbuf_release(&path);
}

static int is_path(void *ctx, const char *path, size_t n)
{
    return strlen(ctx) == n && memcmp(ctx, path, n) == 0;
}

void vl_remove_temporaries_in(const char *dir, size_t dlen,
                              int (*owned)(void *ctx, const char *path, size_t n), void *ctx)
{
    /* a short temporary names its output by a hash: in a folder swept
     * before any writer starts there, every one is a leftover */
    remove_temporaries(dir, dlen, owned, ctx, "");
}

void vl_remove_temporaries(const char *path)
{
    const char *slash = strrchr(path, '/');
    char prefix[SHORT_PREFIX_SIZE];
    short_temp_prefix(slash ? slash + 1 : path, prefix);
    remove_temporaries(path, slash ? (size_t)(slash - path) : 0, is_path, (void *)path, prefix);
}
