/* glob.c - recursive pattern matching over directories with fnmatch(3).
 *
 * A segment (the text between two '/') may hold brace alternatives,
 * `*.{mp4,MP4}`, which fnmatch does not know: the segment is expanded into
 * its brace-free alternatives once per folder read, and a name matches the
 * segment when it matches one of them, so a file that two alternatives take
 * is found once. */
#include "graph/glob.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/strbuf.h"
#include "util/vec.h"

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
        if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '{') return 1;
    return 0;
}

/* Braces nest at most this deep, and one segment spells at most this many
 * alternatives: `{a,b}{a,b}...` doubles them with every group. */
#define MAX_BRACE_DEPTH 16
#define MAX_ALTERNATIVES 1024

/* The index after the token at s[i]: an escaped character, a bracket
 * expression as fnmatch reads it (an unclosed '[' is an ordinary character),
 * or one character.  Tokens end at a '/'. */
static size_t skip_token(const char *s, size_t n, size_t i)
{
    if (s[i] == '\\') return i + 1 < n && s[i + 1] != '/' ? i + 2 : i + 1;
    if (s[i] != '[') return i + 1;
    size_t k = i + 1;
    if (k < n && (s[k] == '!' || s[k] == '^')) k++;
    if (k < n && s[k] == ']') k++;
    while (k < n && s[k] != '/') {
        if (s[k] == ']') return k + 1;
        if (s[k] == '[' && k + 1 < n && (s[k + 1] == ':' || s[k + 1] == '.' || s[k + 1] == '=')) {
            const char *end = NULL;
            for (size_t j = k + 2; j + 1 < n && s[j] != '/'; j++)
                if (s[j] == s[k + 1] && s[j + 1] == ']') {
                    end = s + j;
                    break;
                }
            if (end) {
                k = (size_t)(end - s) + 2;
                continue;
            }
        }
        k++;
    }
    return i + 1;
}

/* The brace-free alternatives of one segment, malloc'd. */
struct alternatives {
    char **items;
    size_t len, cap;
};

static void alternatives_release(struct alternatives *a)
{
    for (size_t i = 0; i < a->len; i++) free(a->items[i]);
    free(a->items);
    memset(a, 0, sizeof *a);
}

/* Appends to out the alternatives that s[0..n) spells, a segment that
 * vl_glob_check accepts; -1 past MAX_ALTERNATIVES. */
static int expand(const char *s, size_t n, struct alternatives *out)
{
    size_t open = 0, close = 0;
    int depth = 0;
    for (size_t i = 0; i < n; i = skip_token(s, n, i)) {
        if (s[i] == '{' && depth++ == 0) open = i;
        if (s[i] == '}' && depth > 0 && --depth == 0) {
            close = i;
            break;
        }
    }
    if (!close) {
        if (out->len == MAX_ALTERNATIVES) return -1;
        char *copy = strndup(s, n);
        if (!copy) abort();
        VL_PUSH(out->items, out->len, out->cap, copy);
        return 0;
    }
    struct vl_strbuf sb = VL_STRBUF_INIT;
    size_t start = open + 1;
    depth = 0;
    int rc = 0;
    for (size_t i = open + 1; i <= close && rc == 0; i = skip_token(s, n, i)) {
        if (s[i] == '{') depth++;
        if (s[i] == '}' && i < close) depth--;
        if (i == close || (s[i] == ',' && depth == 0)) {
            vl_strbuf_reset(&sb);
            vl_strbuf_add(&sb, s, open);
            vl_strbuf_add(&sb, s + start, i - start);
            vl_strbuf_add(&sb, s + close + 1, n - close - 1);
            rc = expand(sb.buf, sb.len, out);
            start = i + 1;
        }
    }
    vl_strbuf_release(&sb);
    return rc;
}

/* 1 when name matches one of the alternatives; a hidden name (a leading
 * '.') only one that starts with '.'. */
static int alternatives_match(const struct alternatives *a, const char *name)
{
    for (size_t i = 0; i < a->len; i++) {
        if (name[0] == '.' && a->items[i][0] != '.') continue;
        if (fnmatch(a->items[i], name, FNM_PERIOD) == 0) return 1;
    }
    return 0;
}

/* Checks the alternatives of the segment s[0..n): -1 past MAX_ALTERNATIVES. */
static int check_segment(const char *s, size_t n)
{
    if (!memchr(s, '{', n)) return 0;
    struct alternatives a = {0};
    int rc = expand(s, n, &a);
    alternatives_release(&a);
    return rc;
}

int vl_glob_check(const char *pattern, size_t *at, struct vl_error *err)
{
    size_t open[MAX_BRACE_DEPTH], commas[MAX_BRACE_DEPTH], depth = 0, n = strlen(pattern);
    size_t segment = 0;
    for (size_t i = 0; i <= n; i = i < n ? skip_token(pattern, n, i) : n + 1) {
        char c = pattern[i];
        if (c == '{') {
            if (depth == MAX_BRACE_DEPTH) {
                *at = i;
                return vl_error_set(err, "braces nested more than %d deep", MAX_BRACE_DEPTH);
            }
            open[depth] = i;
            commas[depth++] = 0;
        } else if (c == ',' && depth) {
            commas[depth - 1]++;
        } else if (c == '}') {
            if (!depth) {
                *at = i;
                return vl_error_set(err, "'}' without '{' (write \\} for a brace in a file name)");
            }
            if (!commas[--depth]) {
                *at = open[depth];
                return vl_error_set(err, "'{%.*s}' has no ',': braces hold alternatives such as "
                                         "{mp4,MP4} (write \\{ for a brace in a file name)",
                                    (int)(i - open[depth] - 1), pattern + open[depth] + 1);
            }
        } else if (c == '/' || c == '\0') {
            if (depth) {
                *at = open[depth - 1];
                return c ? vl_error_set(err, "'/' inside '{...}': alternatives lie within one "
                                             "path segment (write {a,b}/x, not {a/x,b/x})")
                         : vl_error_set(err, "'{' without '}'");
            }
            if (check_segment(pattern + segment, i - segment) < 0) {
                *at = (size_t)((const char *)memchr(pattern + segment, '{', i - segment) - pattern);
                return vl_error_set(err, "more than %d alternatives in one path segment",
                                    MAX_ALTERNATIVES);
            }
            segment = i + 1;
        }
    }
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

/* The type of a folder entry, following a symbolic link. */
static int entry_type(const char *path, int type)
{
    if (type != DT_UNKNOWN && type != DT_LNK) return type;
    struct stat st;
    return stat(path, &st) != 0 ? DT_UNKNOWN : S_ISDIR(st.st_mode) ? DT_DIR
                                             : S_ISREG(st.st_mode) ? DT_REG
                                                                   : DT_UNKNOWN;
}

static void push_other(struct vl_glob_result *r, const char *path)
{
    char *copy = strdup(path);
    if (!copy) abort();
    VL_PUSH(r->others, r->n_others, r->cap_others, copy);
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
    if (seg_len >= 1024) return vl_error_set(err, "pattern segment too long: %s", rest);
    struct alternatives alts = {0};
    if (!globstar && expand(rest, seg_len, &alts) < 0) {
        alternatives_release(&alts);
        return vl_error_set(err, "more than %d alternatives in one path segment: %s",
                            MAX_ALTERNATIVES, rest);
    }

    DIR *d = opendir(dir_len ? dir->buf : ".");
    if (!d) {
        alternatives_release(&alts);
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return vl_error_set(err, "cannot read directory %s: %s", dir_len ? dir->buf : ".",
                            strerror(errno));
    }
    /* the files of a folder whose names the last segment is matched against
     * and that it does not take: out->wanted may ask for some of them */
    int near_misses = !globstar && !next && out->wanted;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        if (globstar ? name[0] == '.' : !alternatives_match(&alts, name)) {
            if (near_misses && name[0] != '.' && out->wanted(name)) {
                vl_strbuf_adds(dir, name);
                if (entry_type(dir->buf, e->d_type) == DT_REG) push_other(out, dir->buf);
                dir->len = dir_len;
                dir->buf[dir_len] = '\0';
            }
            continue;
        }
        vl_strbuf_adds(dir, name);
        int type = entry_type(dir->buf, e->d_type);
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
    alternatives_release(&alts);
    return rc;
}

int vl_glob(const char *pattern, struct vl_glob_result *out, struct vl_error *err)
{
    size_t at;
    if (vl_glob_check(pattern, &at, err) < 0)
        return vl_error_prefix(err, "'%s', byte %zu", pattern, at + 1);
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
    char comp[1024];
    if (seg_len >= 1024 || comp_len >= sizeof comp) return 0;
    memcpy(comp, path, comp_len);
    comp[comp_len] = '\0';
    if (!memchr(pattern, '{', seg_len) && has_magic(pattern, seg_len)) {
        char seg[1024]; /* no alternatives: nothing to allocate */
        memcpy(seg, pattern, seg_len);
        seg[seg_len] = '\0';
        if (comp[0] == '.' && seg[0] != '.') return 0;
        if (fnmatch(seg, comp, FNM_PERIOD) != 0) return 0;
    } else if (has_magic(pattern, seg_len)) {
        /* as the walk matches a folder's entries */
        struct alternatives alts = {0};
        int match = expand(pattern, seg_len, &alts) == 0 && alternatives_match(&alts, comp);
        alternatives_release(&alts);
        if (!match) return 0;
    } else if (seg_len != comp_len || memcmp(pattern, comp, comp_len)) {
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
    for (size_t i = 0; i < r->n_others; i++) free(r->others[i]);
    free(r->others);
    memset(r, 0, sizeof *r);
}
