/* entry.c - the action entry format, the same bytes in the local store
 * (ac/HH/<key>) and on the remote (/ac/<key>).  It is vlbuild's own text
 * format, not Bazel's ActionResult protobuf:
 *
 *   vlbuild-ac 1\n                          -- magic and format version
 *   <n>\n                                   -- number of outputs, decimal
 *   <hash> <size> <mode> <path>\n           -- n times, in the action's order
 *   end\n
 *
 * <hash> is the 32 lowercase hex digits of the output's XXH3-128 (the name of
 * its blob), <size> its length in bytes (decimal), <mode> 4 octal digits
 * (0755 for an output with an executable bit, else 0644; a restore uses only
 * whether an executable bit is set), <path> the rest of the line: the output path as the
 * caller gave it (relative to the project), never empty, never holding a
 * newline.  A reader refuses any other version, a count that does not match,
 * or a missing `end` line (a truncated upload), and takes the entry for a miss. */
#include "cache/entry.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAGIC "vlbuild-ac 1\n"

int vl_cache_entry_format(const struct vl_cache_entry *e, struct vl_strbuf *sb,
                          struct vl_error *err)
{
    vl_strbuf_adds(sb, ENTRY_MAGIC);
    vl_strbuf_addf(sb, "%zu\n", e->n);
    for (size_t i = 0; i < e->n; i++) {
        const struct vl_cache_output *o = &e->outputs[i];
        if (!o->path[0] || strchr(o->path, '\n'))
            return vl_error_set(err, "output path \"%s\" cannot be recorded in the cache", o->path);
        char hex[33];
        vl_hash_hex(&o->hash, hex);
        vl_strbuf_addf(sb, "%s %" PRIu64 " %04o %s\n", hex, o->size, o->mode & 07777, o->path);
    }
    vl_strbuf_adds(sb, "end\n");
    return 0;
}

/* Copies the line at *p (without its newline) into line and advances *p;
 * -1 at the end of the data or when the line has no newline. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl) return -1;
    *line = *p;
    *len = (size_t)(nl - *p);
    *p = nl + 1;
    return 0;
}

static int parse_output(const char *line, size_t len, struct vl_cache_output *o)
{
    /* "<32 hex> <size> <4 octal> <path>" */
    char hex[33];
    if (len < 32 + 1 + 1 + 1 + 4 + 1 + 1 || line[32] != ' ') return -1;
    memcpy(hex, line, 32);
    hex[32] = '\0';
    if (vl_hash_parse(hex, &o->hash) < 0) return -1;
    const char *p = line + 33, *end = line + len;
    uint64_t size = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9') {
        if (size > (UINT64_MAX - 9) / 10) return -1;
        size = size * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == digits || p >= end || *p++ != ' ') return -1;
    unsigned mode = 0;
    for (int i = 0; i < 4; i++) {
        if (p >= end || *p < '0' || *p > '7') return -1;
        mode = mode * 8 + (unsigned)(*p++ - '0');
    }
    if (p >= end || *p++ != ' ' || p >= end) return -1;
    if (memchr(p, '\0', (size_t)(end - p))) return -1;
    o->size = size;
    o->mode = mode;
    o->path = strndup(p, (size_t)(end - p));
    if (!o->path) abort();
    return 0;
}

int vl_cache_entry_parse(const char *data, size_t n, struct vl_cache_entry *e, struct vl_error *err)
{
    e->outputs = NULL;
    e->n = 0;
    const char *p = data, *end = data + n, *line;
    size_t len;
    if (n > VL_CACHE_ENTRY_MAX) return vl_error_set(err, "entry too large");
    if (n < strlen(ENTRY_MAGIC) || memcmp(data, ENTRY_MAGIC, strlen(ENTRY_MAGIC)) != 0) {
        if (n > 11 && !memcmp(data, "vlbuild-ac ", 11))
            return vl_error_set(err, "entry of another format version");
        return vl_error_set(err, "not an action entry");
    }
    p += strlen(ENTRY_MAGIC);
    if (next_line(&p, end, &line, &len) < 0 || len == 0 || len > 9)
        return vl_error_set(err, "bad output count");
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] < '0' || line[i] > '9') return vl_error_set(err, "bad output count");
        count = count * 10 + (size_t)(line[i] - '0');
    }
    if (count > n / 40 + 1) return vl_error_set(err, "bad output count");
    e->outputs = calloc(count ? count : 1, sizeof *e->outputs);
    if (!e->outputs) abort();
    for (size_t i = 0; i < count; i++) {
        if (next_line(&p, end, &line, &len) < 0 || parse_output(line, len, &e->outputs[i]) < 0) {
            vl_cache_entry_free(e);
            return vl_error_set(err, "bad output line %zu", i + 1);
        }
        e->n = i + 1;
    }
    if (next_line(&p, end, &line, &len) < 0 || len != 3 || memcmp(line, "end", 3) != 0 ||
        p != end) {
        vl_cache_entry_free(e);
        return vl_error_set(err, "truncated entry (no end line)");
    }
    return 0;
}

void vl_cache_entry_free(struct vl_cache_entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->outputs[i].path);
    free(e->outputs);
    e->outputs = NULL;
    e->n = 0;
}
