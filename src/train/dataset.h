/* dataset.h - a training set assembled from the inputs of a `train` job.
 *
 * Inputs are `.npy` arrays, one per clip, plus the annotation files (every
 * other input that is not an array's `.json` sidecar; formats in labels.h,
 * read as one set):
 *   - features: float32 [D] or [T,D]; [T,D] is flattened to T*D (every file
 *     must have the same shape).  Loaded into memory.
 *   - clips: uint8 [T,H,W,3]; memory-mapped, turned into float batches on
 *     demand.  With `variable_size` the frames of different clips may differ
 *     in H and W (T must agree); otherwise every clip has one shape.  A clip
 *     may have a JSON sidecar (the same path with `.json` for `.npy`, as the
 *     `scale` action writes it, version 1) whose "content" {x, y, width,
 *     height} at x = y = 0 gives the true picture size (mode=var); the rest
 *     of the frame is padding, zeroed when batches are assembled.
 * Inputs ending in `.json` are such sidecars and are not samples.
 * Each input's label is found through its provenance (the source video it
 * descends from, job->input_origins[i]).  Inputs whose annotation is in the
 * test split (or unused), and inputs without an annotated split that
 * vl_labels_hash_test puts in the `test` fraction, are left out unread.
 * Validation is the annotations' validation split when any input is in one;
 * else the split is by source, stratified by class: within each class,
 * sources are ordered by a seeded hash of their path and the first
 * round(val * count) go to validation, so augmented copies of one video
 * never fall on both sides and adding a video moves at most one other source
 * of its class. */
#ifndef VL_TRAIN_DATASET_H
#define VL_TRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "video/npy.h"

enum vl_data_kind { VL_DATA_FEATURES, VL_DATA_CLIPS };

struct vl_sample {
    const char *path;   /* borrowed from the job */
    const char *origin; /* borrowed from the job */
    int label;          /* class index */
    int source;         /* index of its origin among the distinct sources */
    int is_val;         /* 1: validation split */
    int frames, height, width;           /* clips: the array's T, H, W */
    int content_height, content_width;   /* clips: the true size (<= H, W) */
};

struct vl_dataset_config {
    enum vl_data_kind kind; /* what the model trains on */
    int variable_size;      /* clips: H and W may differ between clips */
    double val;             /* fraction of sources held out, 0 to 0.9 */
    uint64_t seed;
    int labels_format;      /* enum vl_labels_format (train/labels.h) */
    double test;            /* fraction of sources without an annotated split held out as test */
    /* 1: arrays to predict, no labels file: every input but the sidecars is a
     * sample with label -1, there are no classes, sources or split */
    int unlabelled;
};

struct vl_dataset {
    enum vl_data_kind kind;
    size_t n;
    struct vl_sample *samples;
    int n_classes;
    char **classes; /* label names, by value when all are integers, else by name; index = class */
    size_t n_sources;
    size_t n_test;           /* inputs of the test split, left out unread */
    const char *labels_path; /* the (first) annotation file */
    /* features: n x dim floats, row-major; feature_shape as in the files */
    size_t dim;
    float *features;
    int feature_ndim;
    uint64_t feature_shape[2];
    /* clips: one mapping per sample; frames/height/width of the largest */
    struct vl_npy_array *clips;
    int frames, height, width;
    struct vl_hash fingerprint; /* inputs' fingerprints, origins, labels, classes */
};

/* Builds the dataset from a job's inputs (paths, content fingerprints and
 * origins, n of them, annotations among them).  Reports sizes and class balance into log.
 * Errors name the file (and CSV line): inputs without a label, bad rows,
 * inconsistent shapes, a kind the model cannot train on. */
int vl_dataset_open(const char *const *inputs, const struct vl_hash *hashes,
                    const char *const *origins, size_t n, const struct vl_dataset_config *cfg,
                    struct vl_dataset *ds, struct vl_strbuf *log, struct vl_error *err);
/* Counts the samples of one split (is_val 0 or 1). */
size_t vl_dataset_count(const struct vl_dataset *ds, int is_val);
/* Writes sample i's frames as floats in [0, 1], layout [T, 3, H, W] with the
 * dataset's largest H, W (zero padding right and bottom); out holds
 * frames * 3 * height * width floats. */
void vl_dataset_clip_to_float(const struct vl_dataset *ds, size_t i, float *out);
/* Frees and unmaps everything ds holds. */
void vl_dataset_close(struct vl_dataset *ds);

#endif
