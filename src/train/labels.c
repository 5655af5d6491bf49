/* labels.c - labels CSV reader and the join by provenance (format in labels.h). */
#include "train/labels.h"

#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/strbuf.h"
#include "util/vec.h"

static char ambiguous_marker;

/* Splits one CSV record starting at *pos into fields (malloc'd strings);
 * advances *pos past the line end; *line counts newlines inside quotes too. */
static int split_record(const char *s, size_t n, size_t *pos, int *line, char ***fields,
                        size_t *n_fields, const char *path, struct vl_error *err)
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
            if (*pos < n && s[*pos] != ',' && s[*pos] != '\n' && s[*pos] != '\r') {
                vl_strbuf_release(&f);
                return vl_error_set(err, "%s:%d: text after a closing quote", path, *line);
            }
        } else {
            while (*pos < n && s[*pos] != ',' && s[*pos] != '\n' && s[*pos] != '\r')
                vl_strbuf_addch(&f, s[(*pos)++]);
        }
        VL_PUSH(*fields, *n_fields, cap, vl_strbuf_detach(&f, NULL));
        if (*pos < n && s[*pos] == ',') {
            (*pos)++;
            continue;
        }
        if (*pos < n && s[*pos] == '\r') (*pos)++;
        if (*pos < n && s[*pos] == '\n') (*pos)++;
        (*line)++;
        return 0;
    }
}

static void free_fields(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++) free(fields[i]);
    free(fields);
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

int vl_labels_read(const char *path, struct vl_labels *out, struct vl_error *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t n;
    if (vl_read_file(path, &text, &n, err) < 0) return -1;
    out->path = strdup(path);
    if (!out->path) abort();
    size_t pos = 0, cap = 0;
    int line = 1, rc = 0;
    if (n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) pos = 3; /* a UTF-8 byte-order mark */
    int key_col = -1, label_col = -1;
    size_t n_cols = 0;
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
        rc = split_record(text, n, &pos, &line, &fields, &nf, path, err);
        if (rc < 0) break;
        if (key_col < 0) {
            n_cols = nf;
            for (size_t i = 0; i < nf; i++) {
                const char *h = trim(fields[i]);
                if (!strcmp(h, "label")) label_col = (int)i;
                else if ((!strcmp(h, "file") || !strcmp(h, "video") || !strcmp(h, "path")) &&
                         key_col < 0)
                    key_col = (int)i;
            }
            if (key_col < 0 || label_col < 0)
                rc = vl_error_set(err,
                                  "%s:%d: the header must name a label column and a file, video "
                                  "or path column",
                                  path, at);
            if (key_col < 0) key_col = 0; /* the header has been read */
            free_fields(fields, nf);
            continue;
        }
        if (nf != n_cols) {
            rc = vl_error_set(err, "%s:%d: expected %zu fields as in the header, got %zu", path, at,
                              n_cols, nf);
        } else {
            const char *key = normalise(trim(fields[key_col]));
            const char *label = trim(fields[label_col]);
            if (!*key) rc = vl_error_set(err, "%s:%d: empty file name", path, at);
            else if (!*label) rc = vl_error_set(err, "%s:%d: empty label for %s", path, at, key);
            else {
                struct vl_label_row row = {strdup(key), strdup(label), at};
                if (!row.key || !row.label) abort();
                VL_PUSH(out->rows, out->n_rows, cap, row);
            }
        }
        free_fields(fields, nf);
    }
    free(text);
    if (rc == 0 && key_col < 0) rc = vl_error_set(err, "%s: empty labels file", path);
    if (rc == 0 && out->n_rows == 0) rc = vl_error_set(err, "%s: no label rows", path);
    /* the rows do not move from here on, so the maps may borrow their keys */
    char **stems = calloc(out->n_rows + 1, sizeof *stems);
    if (!stems) abort();
    for (size_t i = 0; i < out->n_rows && rc == 0; i++) {
        struct vl_label_row *r = &out->rows[i];
        struct vl_label_row *prev = vl_map_get(&out->by_key, r->key);
        if (prev) {
            if (strcmp(prev->label, r->label))
                rc = vl_error_set(err, "%s:%d: %s is labelled %s here but %s on line %d", path,
                                  r->line, r->key, r->label, prev->label, prev->line);
            continue;
        }
        vl_map_put(&out->by_key, r->key, r);
        if (strchr(r->key, '/')) continue; /* a path names one file, not a stem */
        stems[i] = stem_of(r->key);
        void *old = vl_map_get(&out->by_stem, stems[i]);
        vl_map_put(&out->by_stem, stems[i], old ? (void *)&ambiguous_marker : r);
    }
    if (rc < 0) {
        for (size_t i = 0; i < out->n_rows; i++) free(stems[i]);
        free(stems);
        vl_labels_free(out);
        return -1;
    }
    out->stems = stems;
    return 0;
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
