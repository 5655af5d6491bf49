/* trainer.h - the training loop: mini-batches, the optimiser and schedule,
 * validation metrics, the metrics log, checkpoints and resume.
 *
 * Metrics log (JSON lines, one object per epoch, version 2):
 *   {"epoch":E,"train_loss":L,"val_loss":L,"val_accuracy":A[,"val_auc":U],
 *    "lr":R,"confusion":[[..],..],"classes":[..]}
 * val_* are null with no validation split; val_auc is present with two
 * classes (class 1 positive); confusion is [true][predicted] on the
 * validation split.  No wall-clock time: identical runs write identical
 * logs (version 1 had a "seconds" field; the action's log keeps the time).
 *
 * Determinism: with the same seed and data every run takes the same steps
 * and writes the same checkpoint bytes.  The model's initial weights come
 * from the seed; epoch e shuffles with a generator seeded from (seed, e) and
 * reseeds the dropout generator likewise, so a run resumed after epoch k is
 * bit-identical to one that never stopped.
 *
 * Resume: with save_each_epoch, after every epoch but the last the model,
 * the optimiser state and the log so far go to resume_path (atomically).  A
 * later run with the same model, parameters and data fingerprint continues
 * after the epoch recorded there; anything else is ignored with a message.
 * The resume file is deleted once the final checkpoint is written. */
#ifndef VL_TRAIN_TRAINER_H
#define VL_TRAIN_TRAINER_H

#include <stdatomic.h>
#include <stdint.h>

#include "gpu/cuda_nn_module.h"
#include "nn/optim.h"
#include "train/dataset.h"
#include "train/model.h"
#include "util/error.h"
#include "util/strbuf.h"

struct vl_train_options {
    const struct vl_model_def *model;
    struct vl_model_config model_config; /* n_classes and input sizes are filled from the data */
    int epochs, batch;
    double lr;           /* 0: the model's default */
    enum vl_nn_optim_kind optimizer;
    double momentum;     /* SGD */
    double weight_decay; /* neural models: SGD L2, AdamW decoupled */
    double C;            /* logreg, svm: L2 penalty 1 / (2 n C) ||W||^2 */
    int cosine;          /* 1: cosine decay to 0 over all steps; 0: constant */
    int warmup_epochs;
    double clip;         /* gradient norm clipping; 0: none */
    int save_each_epoch;
    uint64_t seed;
    uint64_t memory_budget; /* bytes for one assembled batch of clips */
    const char *out_path;   /* the checkpoint */
    const char *log_path;   /* the metrics log, or NULL */
    const char *resume_path;
    const char *config_json; /* the parameters, canonical, for checkpoints */
    /* The backend: gpu NULL trains on the CPU; else gpu->attach puts the
     * training context on device gpu_device (an ordinal of vlbuild's visible
     * set) at precision (VL_CUDA_NN_PRECISION_*) and the run goes there (the
     * CUDA training module's, or a test's stand-in). */
    const struct vl_cuda_nn_module *gpu;
    int gpu_device;
    int precision;
    const atomic_int *cancel;
    void (*progress)(void *ctx, const char *text);
    void *progress_ctx;
    struct vl_strbuf *log; /* messages for the user */
};

/* Trains o->model on ds, writes the checkpoint and the metrics log.  Returns
 * -1 with a message on failure or when cancelled (the resume file, if any,
 * is kept). */
int vl_train_run(struct vl_dataset *ds, const struct vl_train_options *o, struct vl_error *err);

/* The resume file of a checkpoint path: "m.safetensors" -> "m.partial.safetensors"
 * (malloc'd). */
char *vl_train_resume_path(const char *out_path);

#endif
