/* labels.h - the labels CSV of a training set and its join with provenance.
 *
 * Format: a header row, then one row per video.  The header names a `label`
 * column and one key column called `file`, `video` or `path`; other columns
 * are ignored.  Fields may be quoted ("a, b" with "" for a quote); blank
 * lines are skipped; CRLF line ends are accepted.  A key is a source video's
 * path (as the rules file names it), a path suffix of it ("left/a.mp4"), its
 * basename ("a.mp4") or its stem ("a"); a key without a '/' also matches
 * a video of the same stem ("a.mp4" labels "a.mkv").  A key given twice with different
 * labels is an error naming both lines. */
#ifndef VL_TRAIN_LABELS_H
#define VL_TRAIN_LABELS_H

#include <stddef.h>

#include "util/error.h"
#include "util/map.h"
#include "util/strbuf.h"

struct vl_label_row {
    char *key, *label;
    int line;
};

struct vl_labels {
    char *path;
    struct vl_label_row *rows;
    size_t n_rows;
    struct vl_map by_key;  /* normalised key -> row */
    struct vl_map by_stem; /* stem of the key's basename -> row, or an "ambiguous" marker */
    char **stems;          /* the keys of by_stem, one per row (NULL for a repeated key) */
};

/* Reads and checks the labels CSV at path.  Errors name path:line. */
int vl_labels_read(const char *path, struct vl_labels *out, struct vl_error *err);
/* Finds the row of the source video `origin` (exact path, then a path
 * suffix, then the basename, then the stem); returns 1 and sets *row, 0 when
 * no row matches, -1 (err set) when the stem matches several rows. */
int vl_labels_find(const struct vl_labels *l, const char *origin, const struct vl_label_row **row,
                   struct vl_error *err);
/* Frees what vl_labels_read allocated. */
void vl_labels_free(struct vl_labels *l);
/* Appends s as one CSV field as the reader takes it back: quoted, with ""
 * for a quote, when it holds a comma, a quote or a line end. */
void vl_labels_add_csv_field(struct vl_strbuf *out, const char *s);

#endif
