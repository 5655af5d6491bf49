/* labels.c - the annotation readers and the join by provenance (formats in labels.h). */
#include "train/labels.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "util/arena.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/vec.h"

static char ambiguous_marker;

static void free_fields(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++) free(fields[i]);
    free(fields);
}

/* Splits one CSV record starting at *pos into fields (malloc'd strings);
 * advances *pos past the line end; *line counts newlines inside quotes too. */
static int split_record(const char *s, size_t n, char delim, size_t *pos, int *line,
                        char ***fields, size_t *n_fields, const char *path, struct vl_error *err)
{
    size_t cap = 0;
    *fields = NULL;
    *n_fields = 0;
    int start_line = *line;
    for (;;) {
        struct vl_strbuf f = VL_STRBUF_INIT;
        if (*pos < n && s[*pos] == '"') {
            (*pos)++;
            for (;;) {
                if (*pos >= n) {
                    vl_strbuf_release(&f);
                    free_fields(*fields, *n_fields);
                    *fields = NULL, *n_fields = 0;
                    return vl_error_set(err, "%s:%d: unterminated quoted field", path, start_line);
                }
                char c = s[(*pos)++];
                if (c == '"') {
                    if (*pos < n && s[*pos] == '"') {
                        vl_strbuf_addch(&f, '"');
                        (*pos)++;
                        continue;
                    }
                    break;
                }
                if (c == '\n') (*line)++;
                vl_strbuf_addch(&f, c);
            }
            if (*pos < n && s[*pos] != delim && s[*pos] != '\n' && s[*pos] != '\r') {
                vl_strbuf_release(&f);
                free_fields(*fields, *n_fields);
                *fields = NULL, *n_fields = 0;
                return vl_error_set(err, "%s:%d: text after a closing quote", path, *line);
            }
        } else {
            while (*pos < n && s[*pos] != delim && s[*pos] != '\n' && s[*pos] != '\r')
                vl_strbuf_addch(&f, s[(*pos)++]);
        }
        VL_PUSH(*fields, *n_fields, cap, vl_strbuf_detach(&f, NULL));
        if (*pos < n && s[*pos] == delim) {
            (*pos)++;
            continue;
        }
        if (*pos < n && s[*pos] == '\r') (*pos)++;
        if (*pos < n && s[*pos] == '\n') (*pos)++;
        (*line)++;
        return 0;
    }
}


/* Trims spaces around a field in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) s[--len] = '\0';
    return s;
}

/* "./a/b" -> "a/b" (points into s). */
static const char *normalise(const char *s)
{
    while (s[0] == '.' && s[1] == '/') s += 2;
    return s;
}

static const char *basename_of(const char *p)
{
    const char *slash = strrchr(p, '/');
    return slash ? slash + 1 : p;
}

/* Returns the stem of p's basename, malloc'd. */
static char *stem_of(const char *p)
{
    const char *b = basename_of(p);
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, b, len);
    s[len] = '\0';
    return s;
}

/* ---- reading one set ---- */

/* One class of an index: its id and name, where it was read. */
struct index_entry {
    long long id;
    char *name;
    const char *file;
    int line;
};

struct reader {
    struct vl_labels *out;
    size_t cap_rows, cap_ids;
    unsigned char *label_is_id; /* per row: the label is a class id to look up */
    struct index_entry *index;
    size_t n_index, cap_index;
};

/* What one file holds, as detected. */
enum kind { K_CSV, K_KINETICS, K_LIST, K_INDEX, K_HMDB, K_STH_LIST, K_STH_LABELS };

static const char *const label_names[] = {"label", "class", "class_name", "category", "target",
                                          "action", NULL};
static const char *const key_names[] = {"file", "filename", "video", "video_id", "video_name",
                                        "path", "id", "stem", "clip", "youtube_id", NULL};
static const char *const split_names[] = {"split", "subset", NULL};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcasecmp(list[i], s)) return 1;
    return 0;
}

static enum vl_split split_from_word(const char *w)
{
    static const char *const train[] = {"train", "training", NULL};
    static const char *const val[] = {"val", "valid", "validate", "validation", NULL};
    static const char *const test[] = {"test", "testing", NULL};
    if (!*w) return VL_SPLIT_NONE;
    if (in_list(train, w)) return VL_SPLIT_TRAIN;
    if (in_list(val, w)) return VL_SPLIT_VAL;
    if (in_list(test, w)) return VL_SPLIT_TEST;
    return (enum vl_split)-1;
}

/* The split a list or JSON file's name gives (trainlist01.txt, ...-validation.json). */
static enum vl_split split_from_name(const char *path)
{
    char low[256];
    const char *b = basename_of(path);
    size_t i = 0;
    for (; b[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)b[i]);
    low[i] = '\0';
    if (strstr(low, "test")) return VL_SPLIT_TEST;
    if (strstr(low, "train")) return VL_SPLIT_TRAIN;
    if (strstr(low, "val")) return VL_SPLIT_VAL;
    return VL_SPLIT_NONE;
}

/* The class of an HMDB51 split file's name ("brush_hair_test_split1.txt"),
 * malloc'd, or NULL when the name is not of that shape. */
static char *hmdb_class(const char *path)
{
    const char *b = basename_of(path);
    const char *at = strstr(b, "_test_split");
    if (!at || at == b) return NULL;
    const char *p = at + strlen("_test_split");
    if (*p < '0' || *p > '9') return NULL;
    while (*p >= '0' && *p <= '9') p++;
    if (strcmp(p, ".txt")) return NULL;
    return strndup(b, (size_t)(at - b));
}

static void add_row(struct reader *r, const char *key, const char *label, const char *file,
                    int line, enum vl_split split, int label_is_id)
{
    struct vl_labels *out = r->out;
    struct vl_label_row row = {strdup(normalise(key)), strdup(label), file, line, split};
    if (!row.key || !row.label) abort();
    VL_PUSH(out->rows, out->n_rows, r->cap_rows, row);
    size_t n = out->n_rows - 1;
    VL_PUSH(r->label_is_id, n, r->cap_ids, (unsigned char)label_is_id);
}

/* Splits a line of a header-less file into words at runs of spaces and tabs
 * (in place); returns the count, at most max. */
static size_t words_of(char *line, char **words, size_t max)
{
    size_t n = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == max) return max + 1;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

/* Calls each(line text, line number) for every non-blank line of a
 * header-less file; stops at the first error. */
static int each_line(char *text, size_t n, int (*each)(void *, char *, int, struct vl_error *),
                     void *ctx, struct vl_error *err)
{
    int line = 1;
    for (size_t pos = 0; pos < n; line++) {
        size_t end = pos;
        while (end < n && text[end] != '\n') end++;
        size_t stop = end;
        if (stop > pos && text[stop - 1] == '\r') stop--;
        text[stop] = '\0';
        char *l = text + pos;
        pos = end + 1;
        while (*l == ' ' || *l == '\t') l++;
        if (!*l) continue;
        if (each(ctx, l, line, err) < 0) return -1;
    }
    return 0;
}

struct line_ctx {
    struct reader *r;
    const char *path;
    enum kind kind;
    enum vl_split split; /* from the file's name */
    char *hmdb;          /* the class of an HMDB split file */
};

static int list_line(void *ctx, char *l, int line, struct vl_error *err)
{
    struct line_ctx *c = ctx;
    char *w[4];
    size_t nw = words_of(l, w, 3);
    if (c->kind == K_INDEX) {
        if (nw != 2 || !vl_labels_is_integer(w[0]))
            return vl_error_set(err, "%s:%d: a class index line is `ID NAME` (classInd.txt: "
                                     "`1 ApplyEyeMakeup`)",
                                c->path, line);
        struct index_entry e = {strtoll(w[0], NULL, 10), strdup(w[1]), c->path, line};
        if (!e.name) abort();
        VL_PUSH(c->r->index, c->r->n_index, c->r->cap_index, e);
        return 0;
    }
    if (!*normalise(w[0]))
        return vl_error_set(err, "%s:%d: empty file name '%s'", c->path, line, w[0]);
    if (c->kind == K_HMDB) {
        if (nw != 2 || strlen(w[1]) != 1 || w[1][0] < '0' || w[1][0] > '2')
            return vl_error_set(err, "%s:%d: an HMDB51 split line is `name.avi D`, D 1 (train), "
                                     "2 (test) or 0 (unused)",
                                c->path, line);
        static const enum vl_split by_digit[] = {VL_SPLIT_UNUSED, VL_SPLIT_TRAIN, VL_SPLIT_TEST};
        add_row(c->r, w[0], c->hmdb, c->path, line, by_digit[w[1][0] - '0'], 0);
        return 0;
    }
    if (nw > 3)
        return vl_error_set(err, "%s:%d: a list line is `path label` (or `path frames label`); "
                                 "this one has more words (a path with a space?)",
                            c->path, line);
    if (nw == 1) { /* UCF101's testlist: the class is the folder */
        const char *slash = strrchr(w[0], '/');
        if (!slash || slash == w[0])
            return vl_error_set(err, "%s:%d: %s has no label, and no class folder to take it "
                                     "from (a list line is `path label`)",
                                c->path, line, w[0]);
        char *folder = strndup(w[0], (size_t)(slash - w[0]));
        if (!folder) abort();
        size_t len = strlen(folder);
        while (len && folder[len - 1] == '/') folder[--len] = '\0';
        int rc = 0;
        if (!*basename_of(folder))
            rc = vl_error_set(err, "%s:%d: %s has no label, and no class folder to take it "
                                   "from (a list line is `path label`)",
                              c->path, line, w[0]);
        else
            add_row(c->r, w[0], basename_of(folder), c->path, line, c->split, 0);
        free(folder);
        return rc;
    }
    const char *label = w[nw - 1];
    add_row(c->r, w[0], label, c->path, line, c->split, vl_labels_is_integer(label));
    return 0;
}

/* The accepted names, for an error about a header. */
static void add_names(struct vl_strbuf *sb, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) vl_strbuf_addf(sb, "%s%s", i ? ", " : "", list[i]);
}

static int header_error(const char *path, int line, char **fields, size_t nf, char delim,
                        const char *missing, struct vl_error *err)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    for (size_t i = 0; i < nf; i++) {
        if (i) vl_strbuf_addch(&sb, delim);
        vl_strbuf_adds(&sb, fields[i]);
    }
    vl_strbuf_addf(&sb, "'; %s; a label column is one of: ", missing);
    add_names(&sb, label_names);
    vl_strbuf_adds(&sb, "; a key column one of: ");
    add_names(&sb, key_names);
    vl_strbuf_adds(&sb, " (case-insensitive); a header-less `path label` list, Kinetics, UCF101, "
                        "HMDB51 and Something-Something files are read too (docs/datasets.md)");
    int rc = vl_error_set(err, "%s:%d: the header must name a label column and a file, video or "
                               "path column: read '%s",
                          path, line, sb.buf);
    vl_strbuf_release(&sb);
    return rc;
}

static int column_of(char **fields, size_t nf, const char *name)
{
    for (size_t i = 0; i < nf; i++)
        if (!strcasecmp(trim(fields[i]), name)) return (int)i;
    return -1;
}

/* A csv, tsv or Kinetics file (see labels.h). */
static int read_csv(struct reader *r, const char *path, const char *text, size_t n, size_t pos,
                    char delim, int kinetics, struct vl_error *err)
{
    int line = 1, rc = 0;
    int key_col = -1, label_col = -1, split_col = -1, start_col = -1, end_col = -1;
    size_t n_cols = 0;
    int have_header = 0;
    while (pos < n && rc == 0) {
        int at = line;
        char **fields;
        size_t nf;
        if (text[pos] == '\n' || text[pos] == '\r') { /* blank line */
            if (text[pos] == '\r') pos++;
            if (pos < n && text[pos] == '\n') pos++;
            line++;
            continue;
        }
        rc = split_record(text, n, delim, &pos, &line, &fields, &nf, path, err);
        if (rc < 0) break;
        if (!have_header) {
            have_header = 1;
            n_cols = nf;
            for (size_t i = 0; i < nf; i++) {
                const char *h = trim(fields[i]);
                if (label_col < 0 && in_list(label_names, h)) label_col = (int)i;
                else if (split_col < 0 && in_list(split_names, h)) split_col = (int)i;
                else if (key_col < 0 && in_list(key_names, h)) key_col = (int)i;
            }
            if (kinetics) {
                key_col = column_of(fields, nf, "youtube_id");
                start_col = column_of(fields, nf, "time_start");
                end_col = column_of(fields, nf, "time_end");
                if (key_col < 0 || start_col < 0 || end_col < 0 || label_col < 0)
                    rc = header_error(path, at, fields, nf, delim,
                                      "Kinetics names label, youtube_id, time_start and time_end",
                                      err);
            } else if (key_col < 0 || label_col < 0) {
                rc = header_error(path, at, fields, nf, delim,
                                  key_col < 0 ? "no key column" : "no label column", err);
            }
            free_fields(fields, nf);
            continue;
        }
        if (nf != n_cols) {
            rc = vl_error_set(err, "%s:%d: expected %zu fields as in the header, got %zu", path, at,
                              n_cols, nf);
        } else {
            const char *key = normalise(trim(fields[key_col]));
            const char *label = trim(fields[label_col]);
            enum vl_split split = split_col < 0 ? VL_SPLIT_NONE
                                                : split_from_word(trim(fields[split_col]));
            char clip[512];
            if (!*key) rc = vl_error_set(err, "%s:%d: empty file name", path, at);
            else if (!*label) rc = vl_error_set(err, "%s:%d: empty label for %s", path, at, key);
            else if ((int)split < 0)
                rc = vl_error_set(err, "%s:%d: split '%s' is not train, val or test", path, at,
                                  fields[split_col]);
            if (rc == 0 && kinetics) {
                const char *s = trim(fields[start_col]), *e = trim(fields[end_col]);
                if (!vl_labels_is_integer(s) || !vl_labels_is_integer(e) || *s == '-' || *e == '-' ||
                    strlen(key) > 256)
                    rc = vl_error_set(err, "%s:%d: time_start '%s' and time_end '%s' must be whole "
                                           "seconds (the clip is named "
                                           "{youtube_id}_{start:06d}_{end:06d})",
                                      path, at, s, e);
                else {
                    snprintf(clip, sizeof clip, "%s_%06lld_%06lld", key, strtoll(s, NULL, 10),
                             strtoll(e, NULL, 10));
                    key = clip;
                }
            }
            if (rc == 0) add_row(r, key, label, path, at, split, 0);
        }
        free_fields(fields, nf);
    }
    if (rc == 0 && !have_header) rc = vl_error_set(err, "%s: empty labels file", path);
    return rc;
}

/* Something-Something's list of {id, template|label} or its labels object. */
static int read_sthsth(struct reader *r, const char *path, const char *text, size_t n,
                       struct vl_error *err)
{
    struct vl_arena arena = {0};
    struct vl_json *root;
    int rc = vl_json_parse(&arena, path, text, n, &root, err);
    enum vl_split split = split_from_name(path);
    if (rc == 0 && root->type == VL_JSON_OBJECT) { /* {"Holding something": "0", ...} */
        for (size_t i = 0; i < root->len && rc == 0; i++) {
            const struct vl_json *v = root->items[i];
            const char *id = v->type == VL_JSON_STRING ? v->string : NULL;
            char num[32];
            if (v->type == VL_JSON_NUMBER && v->number == (double)(long long)v->number) {
                snprintf(num, sizeof num, "%lld", (long long)v->number);
                id = num;
            }
            if (!id || !vl_labels_is_integer(id)) {
                rc = vl_error_set(err, "%s: class \"%s\" maps to no integer id (a labels JSON maps "
                                       "each class name to its id, \"Holding something\": \"0\")",
                                  path, root->keys[i]);
                break;
            }
            struct index_entry e = {strtoll(id, NULL, 10), strdup(root->keys[i]), path,
                                    (int)i + 1};
            if (!e.name) abort();
            VL_PUSH(r->index, r->n_index, r->cap_index, e);
        }
    } else if (rc == 0 && root->type == VL_JSON_ARRAY) {
        for (size_t i = 0; i < root->len && rc == 0; i++) {
            const struct vl_json *o = root->items[i];
            const struct vl_json *idv = vl_json_get(o, "id");
            const char *tmpl = vl_json_string(o, "template", NULL);
            const char *label = vl_json_string(o, "label", NULL);
            char id[64];
            if (idv && idv->type == VL_JSON_STRING && *idv->string && strlen(idv->string) < sizeof id)
                snprintf(id, sizeof id, "%s", idv->string);
            else if (idv && idv->type == VL_JSON_NUMBER && idv->number >= 0 &&
                     idv->number == (double)(long long)idv->number)
                snprintf(id, sizeof id, "%lld", (long long)idv->number);
            else
                idv = NULL;
            if (!idv || (!tmpl && !label)) {
                rc = vl_error_set(err, "%s: item %zu needs an \"id\" and a \"template\" or "
                                       "\"label\" (Something-Something's "
                                       "{\"id\":\"78687\",\"template\":\"Holding [something]\"})",
                                  path, i + 1);
                break;
            }
            struct vl_strbuf name = VL_STRBUF_INIT;
            for (const char *p = tmpl ? tmpl : label; *p; p++)
                if (!tmpl || (*p != '[' && *p != ']')) vl_strbuf_addch(&name, *p);
            if (!name.len) rc = vl_error_set(err, "%s: item %zu has an empty label", path, i + 1);
            else add_row(r, id, name.buf, path, (int)i + 1, split, 0);
            vl_strbuf_release(&name);
        }
    } else if (rc == 0) {
        rc = vl_error_set(err, "%s: a Something-Something file is a JSON list of videos or an "
                               "object of class ids",
                          path);
    }
    vl_arena_release(&arena);
    return rc;
}

/* 1 when every non-blank line is `INT NAME` with NAME not an integer. */
static int looks_like_index(const char *text, size_t n)
{
    int lines = 0;
    for (size_t pos = 0; pos < n;) {
        size_t end = pos;
        while (end < n && text[end] != '\n') end++;
        char buf[512];
        size_t len = end - pos < sizeof buf - 1 ? end - pos : sizeof buf - 1;
        memcpy(buf, text + pos, len);
        buf[len] = '\0';
        if (len && buf[len - 1] == '\r') buf[len - 1] = '\0';
        pos = end + 1;
        char *w[3];
        size_t nw = words_of(buf, w, 2);
        if (nw == 0) continue;
        if (nw != 2 || !vl_labels_is_integer(w[0]) || vl_labels_is_integer(w[1])) return 0;
        lines++;
    }
    return lines > 0;
}

/* The kind of one file in format fmt (see labels.h, "Auto-detection"). */
static int detect(const char *path, const char *text, size_t n, enum vl_labels_format fmt,
                  enum kind *kind, char *delim, struct vl_error *err)
{
    size_t i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    if (i == n) return vl_error_set(err, "%s: empty labels file", path);
    if (text[i] == '[' || text[i] == '{') {
        *kind = text[i] == '[' ? K_STH_LIST : K_STH_LABELS;
        if (fmt == VL_LABELS_AUTO || fmt == VL_LABELS_STHSTH) return 0;
    } else if (fmt == VL_LABELS_STHSTH) {
        return vl_error_set(err, "%s: labels_format=sthsth reads JSON (a list of videos or an "
                                 "object of class ids); this file is not JSON",
                            path);
    } else {
        /* the first line: a header? */
        size_t end = i;
        while (end < n && text[end] != '\n') end++;
        int has_comma = memchr(text + i, ',', end - i) != NULL;
        int has_tab = memchr(text + i, '\t', end - i) != NULL;
        *delim = has_tab && !has_comma ? '\t' : ',';
        int named = 0, kinetics = 0;
        {
            size_t pos = i;
            int line = 1;
            char **fields;
            size_t nf;
            struct vl_error ignored;
            if (split_record(text, end, *delim, &pos, &line, &fields, &nf, path, &ignored) == 0) {
                for (size_t k = 0; k < nf; k++) {
                    const char *h = trim(fields[k]);
                    named += in_list(label_names, h) || in_list(key_names, h);
                }
                kinetics = column_of(fields, nf, "youtube_id") >= 0 &&
                           column_of(fields, nf, "time_start") >= 0 &&
                           column_of(fields, nf, "time_end") >= 0;
                free_fields(fields, nf);
            }
        }
        char *hmdb = hmdb_class(path);
        int is_hmdb = hmdb != NULL;
        free(hmdb);
        switch (fmt) {
        case VL_LABELS_AUTO:
            if (named || has_comma) *kind = kinetics ? K_KINETICS : K_CSV;
            else if (is_hmdb) *kind = K_HMDB;
            else if (looks_like_index(text + i, n - i)) *kind = K_INDEX;
            else *kind = K_LIST;
            return 0;
        case VL_LABELS_CSV: *kind = K_CSV; return 0;
        case VL_LABELS_KINETICS: *kind = K_KINETICS; return 0;
        case VL_LABELS_LIST: *kind = K_LIST; return 0;
        case VL_LABELS_UCF101:
            *kind = looks_like_index(text + i, n - i) ? K_INDEX : K_LIST;
            return 0;
        case VL_LABELS_HMDB51:
            if (!is_hmdb)
                return vl_error_set(err, "%s: labels_format=hmdb51 reads split files named "
                                         "<class>_test_split<N>.txt (the class is the name's "
                                         "start)",
                                    path);
            *kind = K_HMDB;
            return 0;
        case VL_LABELS_STHSTH: break;
        }
    }
    return vl_error_set(err, "%s: a JSON file is read as Something-Something's; "
                             "labels_format=%s reads text",
                        path, fmt == VL_LABELS_CSV ? "csv" : fmt == VL_LABELS_LIST ? "list"
                              : fmt == VL_LABELS_KINETICS ? "kinetics"
                              : fmt == VL_LABELS_UCF101 ? "ucf101" : "hmdb51");
}

static int read_file_into(struct reader *r, const char *path, enum vl_labels_format fmt,
                          struct vl_error *err)
{
    char *text;
    size_t n;
    if (vl_read_file(path, &text, &n, err) < 0) return -1;
    size_t pos = n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0; /* a byte-order mark */
    enum kind kind = K_CSV;
    char delim = ',';
    int rc = detect(path, text + pos, n - pos, fmt, &kind, &delim, err);
    if (rc == 0) switch (kind) {
        case K_CSV:
        case K_KINETICS:
            rc = read_csv(r, path, text, n, pos, delim, kind == K_KINETICS, err);
            break;
        case K_STH_LIST:
        case K_STH_LABELS: rc = read_sthsth(r, path, text + pos, n - pos, err); break;
        case K_LIST:
        case K_INDEX:
        case K_HMDB: {
            struct line_ctx c = {r, path, kind, split_from_name(path), hmdb_class(path)};
            rc = each_line(text + pos, n - pos, list_line, &c, err);
            free(c.hmdb);
            break;
        }
        }
    free(text);
    return rc;
}

static int cmp_index(const void *a, const void *b)
{
    const struct index_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders the class index, gives the classes and resolves class ids. */
static int resolve_index(struct reader *r, struct vl_error *err)
{
    struct vl_labels *out = r->out;
    if (!r->n_index) return 0;
    qsort(r->index, r->n_index, sizeof *r->index, cmp_index);
    out->classes = calloc(r->n_index + 1, sizeof *out->classes);
    if (!out->classes) abort();
    struct vl_map names = {0};
    int rc = 0;
    for (size_t i = 0; i < r->n_index && rc == 0; i++) {
        struct index_entry *e = &r->index[i];
        if (i && e->id == r->index[i - 1].id)
            rc = vl_error_set(err, "%s:%d: class id %lld is given twice in the class index", e->file,
                              e->line, e->id);
        else if (vl_map_get(&names, e->name))
            rc = vl_error_set(err, "%s:%d: class %s is given twice in the class index", e->file,
                              e->line, e->name);
        vl_map_put(&names, e->name, e);
        out->classes[out->n_classes++] = e->name;
        e->name = NULL; /* owned by out->classes */
    }
    for (size_t i = 0; i < out->n_rows && rc == 0; i++) {
        struct vl_label_row *row = &out->rows[i];
        if (r->label_is_id[i]) {
            struct index_entry key = {.id = strtoll(row->label, NULL, 10)};
            struct index_entry *e = bsearch(&key, r->index, r->n_index, sizeof key, cmp_index);
            if (!e) {
                rc = vl_error_set(err, "%s:%d: class id %s of %s is not in the class index (ids "
                                       "%lld to %lld in %s)",
                                  row->file, row->line, row->label, row->key, r->index[0].id,
                                  r->index[r->n_index - 1].id, r->index[0].file);
                break;
            }
            free(row->label);
            row->label = strdup(out->classes[e - r->index]);
            if (!row->label) abort();
        } else if (!vl_map_get(&names, row->label)) {
            rc = vl_error_set(err, "%s:%d: %s is labelled %s, which is not a class of the index %s",
                              row->file, row->line, row->key, row->label, r->index[0].file);
        }
    }
    vl_map_release(&names);
    return rc;
}

/* Indexes the rows by key and stem; checks repeated keys. */
static int index_rows(struct vl_labels *out, struct vl_error *err)
{
    /* the rows do not move from here on, so the maps may borrow their keys */
    char **stems = calloc(out->n_rows + 1, sizeof *stems);
    if (!stems) abort();
    out->stems = stems;
    for (size_t i = 0; i < out->n_rows; i++) {
        struct vl_label_row *r = &out->rows[i];
        struct vl_label_row *prev = vl_map_get(&out->by_key, r->key);
        if (prev) {
            if (strcmp(prev->label, r->label))
                return vl_error_set(err, "%s:%d: %s is labelled %s here but %s on line %d%s%s",
                                    r->file, r->line, r->key, r->label, prev->label, prev->line,
                                    prev->file != r->file ? " of " : "",
                                    prev->file != r->file ? prev->file : "");
            if (prev->split == VL_SPLIT_NONE) prev->split = r->split;
            else if (r->split != VL_SPLIT_NONE && r->split != prev->split)
                return vl_error_set(err, "%s:%d: %s is in another split here than on line %d of %s",
                                    r->file, r->line, r->key, prev->line, prev->file);
            continue;
        }
        vl_map_put(&out->by_key, r->key, r);
        if (strchr(r->key, '/')) continue; /* a path names one file, not a stem */
        stems[i] = stem_of(r->key);
        void *old = vl_map_get(&out->by_stem, stems[i]);
        vl_map_put(&out->by_stem, stems[i], old ? (void *)&ambiguous_marker : r);
    }
    return 0;
}

static int read_set(const char *const *paths, size_t n, enum vl_labels_format fmt, int resolve,
                    struct vl_labels *out, struct vl_error *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0) return vl_error_set(err, "no labels file");
    out->files = calloc(n, sizeof *out->files);
    if (!out->files) abort();
    for (size_t i = 0; i < n; i++)
        if (!(out->files[out->n_files++] = strdup(paths[i]))) abort();
    out->path = strdup(paths[0]);
    if (!out->path) abort();
    struct reader r = {.out = out};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = read_file_into(&r, out->files[i], fmt, err);
    if (rc == 0 && resolve) rc = resolve_index(&r, err);
    if (rc == 0 && out->n_rows == 0 && (resolve || !r.n_index))
        rc = vl_error_set(err, "%s: no label rows", n == 1 ? out->path : "the labels files");
    if (rc == 0) rc = index_rows(out, err);
    for (size_t i = 0; i < r.n_index; i++) free(r.index[i].name);
    free(r.index);
    free(r.label_is_id);
    if (rc < 0) vl_labels_free(out);
    return rc;
}

int vl_labels_read_set(const char *const *paths, size_t n, enum vl_labels_format fmt,
                       struct vl_labels *out, struct vl_error *err)
{
    return read_set(paths, n, fmt, 1, out, err);
}

int vl_labels_read(const char *path, struct vl_labels *out, struct vl_error *err)
{
    return read_set(&path, 1, VL_LABELS_AUTO, 1, out, err);
}

int vl_labels_check_file(const char *path, enum vl_labels_format fmt, struct vl_error *err)
{
    struct vl_labels l;
    if (read_set(&path, 1, fmt, 0, &l, err) < 0) return -1;
    vl_labels_free(&l);
    return 0;
}

int vl_labels_format_from_name(const char *name)
{
    static const char *const names[] = {"auto", "csv", "list", "kinetics", "ucf101", "hmdb51",
                                        "sthsth", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* 1 when the .json at path is a prediction (predict.c writes its format first). */
static int is_prediction(const char *path)
{
    char head[64] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    return strstr(head, "\"vlbuild.prediction\"") != NULL;
}

void vl_labels_mark_annotations(const char *const *inputs, size_t n, unsigned char *is_annotation)
{
    struct vl_map arrays = {0};
    for (size_t i = 0; i < n; i++)
        if (ends_with(inputs[i], ".npy")) vl_map_put(&arrays, inputs[i], (void *)inputs[i]);
    struct vl_strbuf sibling = VL_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *p = inputs[i];
        int annotation = !ends_with(p, ".npy") && !ends_with(p, ".safetensors");
        if (annotation && ends_with(p, ".json")) {
            vl_strbuf_reset(&sibling);
            vl_strbuf_add(&sibling, p, strlen(p) - 5);
            vl_strbuf_adds(&sibling, ".npy");
            annotation = !vl_map_get(&arrays, sibling.buf) && !is_prediction(p);
        }
        is_annotation[i] = (unsigned char)annotation;
    }
    vl_strbuf_release(&sibling);
    vl_map_release(&arrays);
}

int vl_labels_is_annotation_file(const char *path)
{
    if (ends_with(path, ".npy") || ends_with(path, ".safetensors")) return 0;
    if (!ends_with(path, ".json")) return 1;
    struct vl_strbuf sibling = VL_STRBUF_INIT;
    vl_strbuf_add(&sibling, path, strlen(path) - 5);
    vl_strbuf_adds(&sibling, ".npy");
    struct vl_stat st;
    struct vl_error ignored;
    int sidecar = vl_stat_path(sibling.buf, &st, &ignored) == 0 && st.exists;
    vl_strbuf_release(&sibling);
    return !sidecar && !is_prediction(path);
}

int vl_labels_is_integer(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int vl_labels_hash_test(const char *origin, double test, uint64_t seed)
{
    if (test <= 0) return 0;
    const char *o = normalise(origin);
    uint64_t h = XXH3_64bits_withSeed(o, strlen(o), seed ^ 0x7465737473706c74ull);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) < test;
}
int vl_labels_find(const struct vl_labels *l, const char *origin, const struct vl_label_row **row,
                   struct vl_error *err)
{
    const char *o = normalise(origin);
    /* the whole path, then each suffix after a '/' (the last is the basename) */
    for (const char *p = o; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
        struct vl_label_row *r = vl_map_get(&l->by_key, p);
        if (r) {
            *row = r;
            return 1;
        }
    }
    char *stem = stem_of(o);
    void *r = vl_map_get(&l->by_stem, stem);
    int rc = 0;
    if (r == &ambiguous_marker) {
        rc = vl_error_set(err, "%s: several rows have the stem %s of %s; give its path instead",
                          l->path, stem, origin);
    } else if (r) {
        *row = r;
        rc = 1;
    }
    free(stem);
    return rc;
}

void vl_labels_free(struct vl_labels *l)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        free(l->rows[i].key);
        free(l->rows[i].label);
        if (l->stems) free(l->stems[i]);
    }
    for (size_t i = 0; i < l->n_files; i++) free(l->files[i]);
    for (size_t i = 0; i < l->n_classes; i++) free(l->classes[i]);
    free(l->files);
    free(l->classes);
    free(l->stems);
    free(l->rows);
    free(l->path);
    vl_map_release(&l->by_key);
    vl_map_release(&l->by_stem);
    memset(l, 0, sizeof *l);
}

void vl_labels_add_csv_field(struct vl_strbuf *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        vl_strbuf_adds(out, s);
        return;
    }
    vl_strbuf_addch(out, '"');
    for (; *s; s++) {
        if (*s == '"') vl_strbuf_addch(out, '"');
        vl_strbuf_addch(out, *s);
    }
    vl_strbuf_addch(out, '"');
}
