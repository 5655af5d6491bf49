/* glob.c - recursive pattern matching over directories with fnmatch(3). */
#include "graph/glob.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/strbuf.h"

static void push(struct vl_glob_result *r, const char *path)
{
    if (r->len == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->paths = realloc(r->paths, r->cap * sizeof *r->paths);
        if (!r->paths) abort();
    }
    r->paths[r->len] = strdup(path);
    if (!r->paths[r->len]) abort();
    r->len++;
}

static int globstar_at(const char *s)
{
    return s[0] == '*' && s[1] == '*' && (s[2] == '/' || s[2] == '\0');
}

static int has_magic(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[') return 1;
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders the walk is in, from the start down: a folder met again below
 * itself (through a symbolic link) would make the walk endless. */
struct trail {
    dev_t *dev;
    ino_t *ino;
    size_t depth, cap;
};

static int walk(struct vl_strbuf *dir, const char *rest, struct vl_glob_result *out,
                struct trail *t, struct vl_error *err);

static void note_cycle(struct vl_glob_result *out, const char *link)
{
    for (size_t i = 0; i < out->n_cycles; i++)
        if (!strcmp(out->cycles[i], link)) return;
    if (out->n_cycles == out->cap_cycles) {
        out->cap_cycles = out->cap_cycles ? out->cap_cycles * 2 : 4;
        out->cycles = realloc(out->cycles, out->cap_cycles * sizeof *out->cycles);
        if (!out->cycles) abort();
    }
    out->cycles[out->n_cycles] = strdup(link);
    if (!out->cycles[out->n_cycles]) abort();
    out->n_cycles++;
}

/* Walks into folder dir (ending with '/') for the segments from rest on,
 * unless it is a folder the walk is already in. */
static int descend(struct vl_strbuf *dir, const char *rest, struct vl_glob_result *out,
                   struct trail *t, struct vl_error *err)
{
    struct stat st;
    if (stat(dir->buf, &st) != 0) return 0;
    for (size_t i = 0; i < t->depth; i++)
        if (t->dev[i] == st.st_dev && t->ino[i] == st.st_ino) {
            dir->buf[dir->len - 1] = '\0'; /* the link's name, without the '/' */
            note_cycle(out, dir->buf);
            dir->buf[dir->len - 1] = '/';
            return 0;
        }
    if (t->depth == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->dev = realloc(t->dev, t->cap * sizeof *t->dev);
        t->ino = realloc(t->ino, t->cap * sizeof *t->ino);
        if (!t->dev || !t->ino) abort();
    }
    t->dev[t->depth] = st.st_dev;
    t->ino[t->depth++] = st.st_ino;
    int rc = walk(dir, rest, out, t, err);
    t->depth--;
    return rc;
}

/* Matches the segments from `rest` on below directory `dir` (which is "" for
 * the current directory, else ends with '/'). */
static int walk(struct vl_strbuf *dir, const char *rest, struct vl_glob_result *out,
                struct trail *t, struct vl_error *err)
{
    const char *slash = strchr(rest, '/');
    size_t seg_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *next = slash ? slash + 1 : NULL;
    size_t dir_len = dir->len;

    if (seg_len == 0) { /* "a//b": ignore the empty segment */
        return next ? walk(dir, next, out, t, err) : 0;
    }
    if (!has_magic(rest, seg_len)) {
        vl_strbuf_add(dir, rest, seg_len);
        int rc = 0;
        if (next) {
            vl_strbuf_addch(dir, '/');
            if (is_dir(dir->buf)) rc = descend(dir, next, out, t, err);
        } else if (is_file(dir->buf)) {
            push(out, dir->buf);
        }
        dir->len = dir_len;
        dir->buf[dir_len] = '\0';
        return rc;
    }
    int globstar = seg_len == 2 && rest[0] == '*' && rest[1] == '*';
    if (globstar && next) {
        /* zero directories: match the rest right here */
        if (walk(dir, next, out, t, err) < 0) return -1;
    }
    char seg[1024];
    if (seg_len >= sizeof seg) return vl_error_set(err, "pattern segment too long: %s", rest);
    memcpy(seg, rest, seg_len);
    seg[seg_len] = '\0';

    DIR *d = opendir(dir_len ? dir->buf : ".");
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return vl_error_set(err, "cannot read directory %s: %s", dir_len ? dir->buf : ".",
                            strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        if (name[0] == '.' && seg[0] != '.') continue;
        if (!globstar && fnmatch(seg, name, FNM_PERIOD) != 0) continue;
        vl_strbuf_adds(dir, name);
        int type = e->d_type;
        if (type == DT_UNKNOWN || type == DT_LNK) {
            struct stat st;
            type = stat(dir->buf, &st) != 0 ? DT_UNKNOWN : S_ISDIR(st.st_mode) ? DT_DIR
                                                         : S_ISREG(st.st_mode) ? DT_REG
                                                                               : DT_UNKNOWN;
        }
        if (globstar) {
            if (type == DT_DIR) {
                vl_strbuf_addch(dir, '/');
                rc = descend(dir, rest, out, t, err); /* "**" again, one level down */
            } else if (!next && type == DT_REG) {
                push(out, dir->buf);
            }
        } else if (next) {
            if (type == DT_DIR) {
                vl_strbuf_addch(dir, '/');
                rc = descend(dir, next, out, t, err);
            }
        } else if (type == DT_REG) {
            push(out, dir->buf);
        }
        dir->len = dir_len;
        dir->buf[dir_len] = '\0';
    }
    closedir(d);
    return rc;
}

int vl_glob(const char *pattern, struct vl_glob_result *out, struct vl_error *err)
{
    struct vl_strbuf dir = VL_STRBUF_INIT, pat = VL_STRBUF_INIT;
    /* "**" then "**" again matches nothing more, and each would walk every
     * folder once more for every folder below it */
    for (const char *p = pattern; *p;) {
        if (globstar_at(p) && pat.len >= 3 && !strcmp(pat.buf + pat.len - 3, "**/") &&
            (pat.len == 3 || pat.buf[pat.len - 4] == '/')) {
            p += p[2] == '/' ? 3 : 2;
            continue;
        }
        vl_strbuf_addch(&pat, *p++);
    }
    const char *rest = pat.len ? pat.buf : "";
    struct trail t = {0};
    struct stat st;
    if (rest[0] == '/') {
        vl_strbuf_addch(&dir, '/');
        rest++;
    }
    while (rest[0] == '.' && rest[1] == '/') rest += 2;
    int rc = 0;
    if (stat(dir.len ? "/" : ".", &st) == 0) {
        t.dev = malloc(sizeof *t.dev);
        t.ino = malloc(sizeof *t.ino);
        if (!t.dev || !t.ino) abort();
        t.cap = 1;
        t.dev[0] = st.st_dev;
        t.ino[t.depth++] = st.st_ino;
    }
    rc = walk(&dir, rest, out, &t, err);
    free(t.dev);
    free(t.ino);
    vl_strbuf_release(&dir);
    vl_strbuf_release(&pat);
    return rc;
}

int vl_glob_match(const char *pattern, const char *path)
{
    if (!*pattern) return !*path;
    const char *slash = strchr(pattern, '/');
    size_t seg_len = slash ? (size_t)(slash - pattern) : strlen(pattern);
    const char *next = slash ? slash + 1 : NULL;
    size_t comp_len = strcspn(path, "/");
    const char *path_next = path[comp_len] == '/' ? path + comp_len + 1 : NULL;
    if (globstar_at(pattern)) {
        /* as the walk does: zero directories, or one more non-hidden one */
        if (next && vl_glob_match(next, path)) return 1;
        if (!*path || path[0] == '.') return 0;
        if (!path_next) return !next; /* a last "**" matches a file at any depth */
        return vl_glob_match(pattern, path_next);
    }
    if (!*path || (!next) != (!path_next)) return 0;
    char seg[1024], comp[1024];
    if (seg_len >= sizeof seg || comp_len >= sizeof comp) return 0;
    memcpy(seg, pattern, seg_len);
    seg[seg_len] = '\0';
    memcpy(comp, path, comp_len);
    comp[comp_len] = '\0';
    if (has_magic(seg, seg_len)) {
        if (comp[0] == '.' && seg[0] != '.') return 0;
        if (fnmatch(seg, comp, FNM_PERIOD) != 0) return 0;
    } else if (strcmp(seg, comp)) {
        return 0;
    }
    return next ? vl_glob_match(next, path_next) : 1;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void vl_glob_sort_unique(struct vl_glob_result *r)
{
    if (r->len < 2) return;
    qsort(r->paths, r->len, sizeof *r->paths, compare_paths);
    size_t w = 1;
    for (size_t i = 1; i < r->len; i++) {
        if (!strcmp(r->paths[i], r->paths[w - 1]))
            free(r->paths[i]);
        else
            r->paths[w++] = r->paths[i];
    }
    r->len = w;
}

void vl_glob_release(struct vl_glob_result *r)
{
    for (size_t i = 0; i < r->len; i++) free(r->paths[i]);
    free(r->paths);
    for (size_t i = 0; i < r->n_cycles; i++) free(r->cycles[i]);
    free(r->cycles);
    memset(r, 0, sizeof *r);
}
