/* labels.h - the annotations of a training set and their join with provenance.
 *
 * One annotation set is read from one or more files (the labels inputs of a
 * `train` or `evaluate` job), each in one of these formats, detected by
 * content or named by `labels_format` (docs/datasets.md shows each):
 *   csv       a header row, then one row per video, comma- or tab-separated
 *             (tab when the header holds a tab and no comma).  Column names
 *             are case-insensitive: the label is `label`, `class`,
 *             `class_name`, `category`, `target` or `action`; the key is
 *             `file`, `filename`, `video`, `video_id`, `video_name`, `path`,
 *             `id`, `stem`, `clip` or `youtube_id` (the first such column);
 *             an optional `split` or `subset` column gives the split.
 *             Fields may be quoted ("a, b" with "" for a quote).
 *   kinetics  a csv whose header holds youtube_id, time_start and time_end
 *             (label,youtube_id,time_start,time_end,split): the key is the
 *             clip name {youtube_id}_{time_start:06d}_{time_end:06d}.
 *   list      no header; each line `path label` separated by spaces or a
 *             tab (mmaction2's convention); the label may be a class index.
 *   ucf101    a class index (classInd.txt: lines `1 ApplyEyeMakeup`) and
 *             list files: `Class/v_x.avi 1` (trainlist, the index's id) or
 *             `Class/v_x.avi` (testlist: the class is the folder).
 *   hmdb51    split files `<class>_test_split<N>.txt` of lines `name.avi D`,
 *             D 1 train, 2 test, 0 unused; the class is the file's name
 *             before `_test_split`.
 *   sthsth    Something-Something JSON: a list of objects with an `id` and a
 *             `template` (its [brackets] removed, as the dataset's own code
 *             does) or a `label`; and the labels JSON, an object mapping
 *             class names to ids ("Holding something": "0"), a class index.
 * Auto-detection: `[`: sthsth list, `{`: sthsth labels; a first line that
 * names a label and a key column: csv or kinetics; a file name ending in
 * `_test_split<N>.txt` of `name D` lines: hmdb51; every line `INT NAME`:
 * a class index; else a list (one or two fields a line).
 * Splits: a split column (train|training, val|valid|validate|validation,
 * test|testing), HMDB's D, or, for list and JSON files, the file's name
 * holding `test`, `val` or `train` (trainlist01.txt, ...-validation.json).
 * Class index: an integer label of a list file is looked up among the ids of
 * the class index when there is one; with an index the classes are the
 * index's, in id order (declared classes, so class i is logit i).
 * Blank lines are skipped; CRLF and a UTF-8 byte-order mark are accepted.
 * A key is a source video's path (as the rules file names it), a path suffix
 * of it ("left/a.mp4"), its basename ("a.mp4") or its stem ("a"); a key
 * without a '/' also matches a video of the same stem ("a.mp4" labels
 * "a.mkv").  A key given twice with different labels is an error naming
 * both lines; a key given twice with different splits takes the last
 * file's split only when the first said none. */
#ifndef VL_TRAIN_LABELS_H
#define VL_TRAIN_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/map.h"
#include "util/strbuf.h"

enum vl_labels_format {
    VL_LABELS_AUTO,
    VL_LABELS_CSV,
    VL_LABELS_LIST,
    VL_LABELS_KINETICS,
    VL_LABELS_UCF101,
    VL_LABELS_HMDB51,
    VL_LABELS_STHSTH,
};

/* The `labels_format` parameter's choices, in enum order. */
#define VL_LABELS_FORMAT_CHOICES "auto|csv|list|kinetics|ucf101|hmdb51|sthsth"

enum vl_split { VL_SPLIT_NONE, VL_SPLIT_TRAIN, VL_SPLIT_VAL, VL_SPLIT_TEST, VL_SPLIT_UNUSED };

struct vl_label_row {
    char *key, *label;
    const char *file; /* the file it was read from (the set's) */
    int line;
    enum vl_split split;
};

struct vl_labels {
    char *path; /* the first file's path, for messages */
    char **files;
    size_t n_files;
    struct vl_label_row *rows;
    size_t n_rows;
    char **classes;        /* a class index's names in id order, or NULL */
    size_t n_classes;
    struct vl_map by_key;  /* normalised key -> row */
    struct vl_map by_stem; /* stem of the key's basename -> row, or an "ambiguous" marker */
    char **stems;          /* the keys of by_stem, one per row (NULL for a repeated key) */
};

/* Reads and checks the annotation set of files paths[0..n) in format fmt
 * (AUTO: each file's own, detected).  Errors name path:line and, for a
 * header not understood, the header read and the names accepted. */
int vl_labels_read_set(const char *const *paths, size_t n, enum vl_labels_format fmt,
                       struct vl_labels *out, struct vl_error *err);
/* Reads one file in any format (vl_labels_read_set of one, AUTO). */
int vl_labels_read(const char *path, struct vl_labels *out, struct vl_error *err);
/* Checks one file alone in format fmt, as vl_labels_read_set would read it
 * (a list's class ids are not resolved: its index may be another file). */
int vl_labels_check_file(const char *path, enum vl_labels_format fmt, struct vl_error *err);
/* The format called name (one of VL_LABELS_FORMAT_CHOICES), or -1. */
int vl_labels_format_from_name(const char *name);
/* Marks in is_annotation[i] (n entries) whether inputs[i] of a job is an
 * annotation file rather than an array or an array's sidecar: not `.npy`,
 * not `.safetensors`, not a `.json` whose `.npy` sibling is an input, and
 * not a `.json` prediction (predict's, which names its format first). */
void vl_labels_mark_annotations(const char *const *inputs, size_t n, unsigned char *is_annotation);
/* 1 when the existing file at path looks like an annotation file, by its
 * name and at most a stat and its first bytes: not `.npy` or `.safetensors`,
 * not a `.json` with a `.npy` sibling on disk (a sidecar), not a prediction.
 * For checks before a job, which see a few of its inputs at a time. */
int vl_labels_is_annotation_file(const char *path);
/* Finds the row of the source video `origin` (exact path, then a path
 * suffix, then the basename, then the stem); returns 1 and sets *row, 0 when
 * no row matches, -1 (err set) when the stem matches several rows. */
int vl_labels_find(const struct vl_labels *l, const char *origin, const struct vl_label_row **row,
                   struct vl_error *err);
/* 1 when a source without an annotated split falls in the held-out test
 * fraction `test` for seed: a hash of its path alone, so the same sources are
 * test whatever else the set holds (train and evaluate agree). */
int vl_labels_hash_test(const char *origin, double test, uint64_t seed);
/* 1 when s is an integer: an optional sign and one or more ASCII digits. */
int vl_labels_is_integer(const char *s);
/* Frees what vl_labels_read_set allocated. */
void vl_labels_free(struct vl_labels *l);
/* Appends s as one CSV field as the reader takes it back: quoted, with ""
 * for a quote, when it holds a comma, a quote or a line end. */
void vl_labels_add_csv_field(struct vl_strbuf *out, const char *s);

#endif
