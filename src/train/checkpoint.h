/* checkpoint.h - model checkpoints: safetensors files with vlbuild's metadata.
 *
 * Version 1.  Tensors: every entry of the model's parameter registry by its
 * PyTorch-style name ("linear.weight" [K, D], "conv1.weight" [C, 3, k, k],
 * buffers such as "scaler.mean" [D] or "bn1.running_mean" [C] included), F32.
 * An in-progress checkpoint (the resume file) adds the optimiser state:
 * "optimizer.m.NAME" (SGD momentum or Adam's first moment) and
 * "optimizer.v.NAME" (Adam's second moment) for each trainable NAME.
 * __metadata__ (all strings, as safetensors requires):
 *   format            "vlbuild.checkpoint"
 *   format_version    "1" (a reader refuses any other)
 *   model             the model name (logreg, svm, naive_cnn, ...)
 *   config            JSON object of the train action's parameters, canonical text
 *   classes           JSON array of the class names; class i is logit i
 *   input             JSON object: {"kind":"features","shape":[D]} or
 *                     {"kind":"clips","shape":[T,H,W,3]} (the largest H, W)
 *   epoch             epochs completed
 *   data_fingerprint  32 hex digits: XXH3-128 over the inputs' fingerprints,
 *                     origins and labels (see dataset.c)
 *   metrics           JSON object of the last epoch (train_loss, val_loss,
 *                     val_accuracy, val_auc, confusion)
 * Resume file only:
 *   optimizer_step    optimiser steps taken
 *   log               the metrics log lines written so far */
#ifndef VL_TRAIN_CHECKPOINT_H
#define VL_TRAIN_CHECKPOINT_H

#include "nn/optim.h"
#include "nn/tensor.h"
#include "train/model.h"
#include "util/error.h"
#include "util/fs.h"

#define VL_CHECKPOINT_VERSION 1

struct vl_checkpoint_info {
    const char *model;
    const char *config;  /* JSON */
    const char *classes; /* JSON */
    const char *input;   /* JSON */
    int epoch;
    struct vl_hash data_fingerprint;
    const char *metrics; /* JSON */
    const char *log;     /* resume file only, else NULL */
};

/* Writes params (and, when optim is not NULL, its state and step) with info
 * to path atomically. */
int vl_checkpoint_write(const char *path, const struct vl_nn_params *params,
                        const struct vl_nn_optim *optim, const struct vl_checkpoint_info *info,
                        struct vl_error *err);

/* Tries to resume from the resume file at path: when it exists, is version
 * 1, and its model, config, data fingerprint and classes equal want's, loads every
 * parameter (and the optimiser state) and returns 1 with *epoch and *log
 * (malloc'd) set.  Returns 0 with a reason in err when there is nothing to
 * resume from (missing, stale or unreadable file); -1 only for failures that
 * must stop training. */
int vl_checkpoint_resume(const char *path, struct vl_nn_params *params, struct vl_nn_optim *optim,
                         const struct vl_checkpoint_info *want, int *epoch, char **log,
                         struct vl_error *err);

/* A final checkpoint loaded for inference. */
struct vl_checkpoint_model {
    struct vl_model model; /* created from the metadata, every tensor loaded */
    int n_classes;
    char **classes;        /* class i is logit i */
    enum vl_data_kind kind;
    size_t dim;               /* features: values per sample */
    int frames, height, width; /* clips: T and the largest H, W of the training set */
};

/* Loads the checkpoint at path for inference: checks its format and version,
 * creates its model from the metadata (model, config, classes, input) and
 * copies every parameter, shapes checked.  Errors name path.  Free with
 * vl_checkpoint_model_free (also after a failure). */
int vl_checkpoint_load(const char *path, struct vl_checkpoint_model *out, struct vl_error *err);
/* Frees what vl_checkpoint_load made. */
void vl_checkpoint_model_free(struct vl_checkpoint_model *cm);

#endif
