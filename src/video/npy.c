/* npy.c - NumPy .npy writer and reader.
 *
 * File layout (NumPy format version 1.0):
 *   "\x93NUMPY" 0x01 0x00  HEADER_LEN (uint16, little-endian)
 *   HEADER: "{'descr': '|u1', 'fortran_order': False, 'shape': (T, H, W, 3), }"
 *           padded with spaces and ended by '\n' so that the data start at a
 *           multiple of 64 bytes (as numpy itself writes it)
 *   DATA:   the elements in C order, little-endian
 * uint8 is written '|u1' as numpy.save writes it; the reader accepts '<u1',
 * '|u1' and 'u1' for it, and '<f4' for float32. */
#include "video/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/strbuf.h"

struct vl_npy_writer {
    FILE *f;
    char *path, *tmp;
    uint64_t expected, written; /* data bytes */
};

static size_t dtype_size(enum vl_npy_dtype t)
{
    return t == VL_NPY_F32 ? 4 : 1;
}

static void build_header(enum vl_npy_dtype dtype, const uint64_t *shape, int ndim,
                         struct vl_strbuf *sb)
{
    struct vl_strbuf dict = VL_STRBUF_INIT;
    vl_strbuf_addf(&dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   dtype == VL_NPY_F32 ? "<f4" : "|u1");
    for (int i = 0; i < ndim; i++)
        vl_strbuf_addf(&dict, "%llu,%s", (unsigned long long)shape[i], i + 1 < ndim ? " " : "");
    if (ndim > 1) dict.len--, dict.buf[dict.len] = '\0'; /* (a, b) but (a,) */
    vl_strbuf_adds(&dict, "), }");
    size_t total = 10 + dict.len + 1;
    size_t padded = (total + 63) / 64 * 64;
    vl_strbuf_add(sb, "\x93NUMPY\x01\x00", 8);
    uint16_t hlen = (uint16_t)(padded - 10);
    vl_strbuf_addch(sb, (char)(hlen & 0xff));
    vl_strbuf_addch(sb, (char)(hlen >> 8));
    vl_strbuf_add(sb, dict.buf, dict.len);
    while (sb->len < padded - 1) vl_strbuf_addch(sb, ' ');
    vl_strbuf_addch(sb, '\n');
    vl_strbuf_release(&dict);
}

int vl_npy_open(const char *path, enum vl_npy_dtype dtype, const uint64_t *shape, int ndim,
                struct vl_npy_writer **out, struct vl_error *err)
{
    *out = NULL;
    if (ndim < 0 || ndim > VL_NPY_MAX_DIMS)
        return vl_error_set(err, "%s: %d dimensions, at most %d supported", path, ndim,
                            VL_NPY_MAX_DIMS);
    if (vl_mkdir_parents(path, err) < 0) return -1;
    struct vl_npy_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->expected = dtype_size(dtype);
    for (int i = 0; i < ndim; i++) w->expected *= shape[i];
    w->path = strdup(path);
    struct vl_strbuf tmp = VL_STRBUF_INIT;
    vl_temp_name(path, 1, &tmp);
    w->tmp = vl_strbuf_detach(&tmp, NULL);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        vl_error_set(err, "cannot create %s: %s", w->tmp, strerror(errno));
        free(w->path), free(w->tmp), free(w);
        return -1;
    }
    struct vl_strbuf hdr = VL_STRBUF_INIT;
    build_header(dtype, shape, ndim, &hdr);
    int ok = fwrite(hdr.buf, 1, hdr.len, w->f) == hdr.len;
    vl_strbuf_release(&hdr);
    if (!ok) {
        vl_error_set(err, "cannot write %s: %s", path, strerror(errno));
        vl_npy_abort(w);
        return -1;
    }
    *out = w;
    return 0;
}

int vl_npy_append(struct vl_npy_writer *w, const void *data, size_t n, struct vl_error *err)
{
    if (w->written + n > w->expected)
        return vl_error_set(err, "%s: %llu bytes of data exceed the shape's %llu", w->path,
                            (unsigned long long)(w->written + n),
                            (unsigned long long)w->expected);
    if (fwrite(data, 1, n, w->f) != n)
        return vl_error_set(err, "cannot write %s: %s", w->path, strerror(errno));
    w->written += n;
    return 0;
}

int vl_npy_close(struct vl_npy_writer *w, struct vl_error *err)
{
    int rc = 0;
    if (w->written != w->expected)
        rc = vl_error_set(err, "%s: %llu bytes of data written, the shape needs %llu", w->path,
                          (unsigned long long)w->written, (unsigned long long)w->expected);
    if (rc == 0) {
        /* fclose releases the stream even when its last flush fails (a full
         * disk shows here): the handle is gone either way, and abort must
         * not close it again */
        int closed = fclose(w->f);
        w->f = NULL;
        if (closed != 0) rc = vl_error_set(err, "cannot write %s: %s", w->path, strerror(errno));
    }
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = vl_error_set(err, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (rc < 0) {
        vl_npy_abort(w);
        return rc;
    }
    free(w->path), free(w->tmp), free(w);
    return 0;
}

void vl_npy_abort(struct vl_npy_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    unlink(w->tmp);
    free(w->path), free(w->tmp), free(w);
}

int vl_npy_write(const char *path, enum vl_npy_dtype dtype, const uint64_t *shape, int ndim,
                 const void *data, struct vl_error *err)
{
    struct vl_npy_writer *w;
    if (vl_npy_open(path, dtype, shape, ndim, &w, err) < 0) return -1;
    uint64_t n = w->expected;
    if (vl_npy_append(w, data, (size_t)n, err) < 0) {
        vl_npy_abort(w);
        return -1;
    }
    return vl_npy_close(w, err);
}

/* --- reader */

/* Finds 'key': in the header dict and returns the text after the colon. */
static const char *dict_value(const char *hdr, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s':", key);
    const char *p = strstr(hdr, quoted);
    if (!p) return NULL;
    p += strlen(quoted);
    while (*p == ' ') p++;
    return p;
}

static int parse_header(const char *path, const char *hdr, struct vl_npy_array *arr,
                        struct vl_error *err)
{
    const char *d = dict_value(hdr, "descr");
    if (!d) return vl_error_set(err, "%s: .npy header has no 'descr'", path);
    if (!strncmp(d, "'<u1'", 5) || !strncmp(d, "'|u1'", 5) || !strncmp(d, "'u1'", 4))
        arr->dtype = VL_NPY_U8;
    else if (!strncmp(d, "'<f4'", 5))
        arr->dtype = VL_NPY_F32;
    else {
        /* quote the dtype only, never past the header's end (it may hold a NUL) */
        size_t avail = strlen(d), len = avail ? strcspn(d + 1, "',}") + 2 : 0;
        return vl_error_set(err, "%s: unsupported .npy dtype %.*s (expected uint8 or <f4)", path,
                            (int)(len < avail ? len : avail), d);
    }
    const char *fo = dict_value(hdr, "fortran_order");
    if (!fo || strncmp(fo, "False", 5))
        return vl_error_set(err, "%s: .npy array is not in C order", path);
    const char *s = dict_value(hdr, "shape");
    if (!s || *s != '(') return vl_error_set(err, "%s: .npy header has no shape", path);
    s++;
    arr->ndim = 0;
    arr->count = 1;
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ')') break;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || errno || *s == '-')
            return vl_error_set(err, "%s: malformed .npy shape", path);
        if (arr->ndim == VL_NPY_MAX_DIMS)
            return vl_error_set(err, "%s: .npy array has too many dimensions", path);
        arr->shape[arr->ndim++] = v;
        if (v && arr->count > UINT64_MAX / v)
            return vl_error_set(err, "%s: .npy shape overflows", path);
        arr->count *= v;
        s = end;
        while (*s == ' ') s++;
        if (*s == ',') s++;
        else if (*s != ')') return vl_error_set(err, "%s: malformed .npy shape", path);
    }
    return 0;
}

int vl_npy_map(const char *path, struct vl_npy_array *arr, struct vl_error *err)
{
    memset(arr, 0, sizeof *arr);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vl_error_set(err, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 12) {
        close(fd);
        return vl_error_set(err, "%s: too short to be a .npy file", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return vl_error_set(err, "cannot map %s: %s", path, strerror(errno));
    const unsigned char *b = map;
    int rc = 0;
    size_t hlen = 0, data_off = 0;
    if (memcmp(b, "\x93NUMPY", 6) != 0) {
        rc = vl_error_set(err, "%s: not a .npy file (bad magic)", path);
    } else if (b[6] == 1 && b[7] == 0) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        data_off = 10 + hlen;
    } else if (b[6] == 2 && b[7] == 0 && size >= 12) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        data_off = 12 + hlen;
    } else {
        rc = vl_error_set(err, "%s: unsupported .npy version %d.%d", path, b[6], b[7]);
    }
    if (rc == 0 && (data_off > size || hlen == 0 || b[data_off - 1] != '\n'))
        rc = vl_error_set(err, "%s: .npy header is truncated or malformed", path);
    if (rc == 0) {
        char *hdr = strndup((const char *)b + data_off - hlen, hlen);
        if (!hdr) abort();
        rc = parse_header(path, hdr, arr, err);
        free(hdr);
    }
    if (rc == 0) {
        uint64_t need = arr->count * dtype_size(arr->dtype);
        if (arr->count > UINT64_MAX / 4 || need != size - data_off)
            rc = vl_error_set(err, "%s: .npy shape needs %llu data bytes, the file holds %llu",
                              path, (unsigned long long)need,
                              (unsigned long long)(size - data_off));
    }
    if (rc < 0) {
        munmap(map, size);
        memset(arr, 0, sizeof *arr);
        return rc;
    }
    arr->map = map;
    arr->map_size = size;
    arr->data = b + data_off;
    return 0;
}

void vl_npy_unmap(struct vl_npy_array *arr)
{
    if (arr->map) munmap(arr->map, arr->map_size);
    memset(arr, 0, sizeof *arr);
}
