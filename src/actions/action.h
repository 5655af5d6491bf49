/* action.h - the built-in action interface and registry.
 *
 * A built-in action (`do NAME k=v ...` in a rules file) is a C function run
 * on vlbuild's worker pool.  Each one is described by a struct vl_action_def:
 * its name, an implementation version that enters every action key (bump it
 * when the output of the same inputs and parameters changes), the parameters
 * it accepts with their types and ranges (checked when the rules are read),
 * and the function that runs one job.
 *
 * Contract for run(): read job->inputs, write every path of job->outputs
 * completely or not at all (write to a temporary name in the same directory
 * and rename, see vl_write_file_atomic), return 0, or return -1 with a message
 * in err.  run() is called on a worker thread: it must not touch global state,
 * and should poll vl_action_cancelled(job) in long loops. */
#ifndef VL_ACTION_H
#define VL_ACTION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

enum vl_param_type {
    VL_PARAM_INT,    /* integer within [min, max] */
    VL_PARAM_FLOAT,  /* real number within [min, max] */
    VL_PARAM_BOOL,   /* true|false|1|0|yes|no */
    VL_PARAM_STRING, /* any text */
    VL_PARAM_ENUM,   /* one of `choices`, written "a|b|c" */
    VL_PARAM_SIZE,   /* WxH, both within [min, max] */
    VL_PARAM_RANGE,  /* lo:hi with min <= lo <= hi <= max (a single number means lo=hi) */
    VL_PARAM_BYTES,  /* a byte count with an optional K, M, G suffix (powers of 1024) */
    VL_PARAM_LIST,   /* comma-separated words, each one of `choices` */
};

struct vl_param_spec {
    const char *name;
    enum vl_param_type type;
    const char *default_value; /* NULL: the parameter is required */
    double min, max;           /* for numbers, sizes and ranges */
    const char *choices;       /* for enums and lists: "a|b|c" */
    const char *help;
    /* optional: the canonical texts, "a|b" as choices, that leave the
     * parameter out of the action key (and of train's checkpoint config), so
     * that adding a parameter at such a value changes no existing key:
     * device's "auto|cpu" (the plan resolves auto first), precision's
     * "fp32"; NULL: it always enters */
    const char *key_omit;
};

/* One parameter after validation, in spec order, defaults filled in. */
struct vl_param_value {
    const struct vl_param_spec *spec;
    const char *text; /* canonical text, enters the action key */
    double num, num2; /* INT/FLOAT/BOOL/BYTES: num; SIZE: w,h; RANGE: lo,hi */
};

struct vl_params {
    struct vl_param_value *values;
    size_t len;
};

/* The `device` parameter of the actions that may run on a GPU, resolved at
 * plan time to "cpu" or "gpu" (gpu/device_choice.h); it enters the key only
 * as "gpu". */
#define VL_PARAM_DEVICE_SPEC                                                                   \
    {"device", VL_PARAM_ENUM, "auto", 0, 0, "auto|cpu|gpu",                                     \
     "where it runs: auto (the GPU for a rule in the gpu pool where a device and the CUDA "    \
     "module are usable, else the CPU), cpu, or gpu (an error where there is none)",          \
     "auto|cpu"}

struct vl_action_job;

struct vl_action_def {
    const char *name;
    int version;
    const char *summary;
    const struct vl_param_spec *params; /* terminated by an entry with name == NULL */
    int min_inputs, max_inputs;         /* max -1: unbounded */
    int min_outputs, max_outputs;
    /* non-zero when the action reads the build history in state.db: the
     * engine then commits every finished action's record before starting it */
    int reads_history;
    /* optional: checks that span several parameters; err gets the message */
    int (*check)(const struct vl_params *params, struct vl_error *err);
    /* optional: checks input files before the job starts (annotations): the
     * engine calls it when the rules are read with the inputs that are source
     * files, and as soon as a rule has written others with those; paths[0..n)
     * exist; the cost should follow n, not the job's input count; err gets
     * the message, which names the file */
    int (*check_inputs)(const struct vl_params *params, const char *const *paths, size_t n,
                        struct vl_error *err);
    int (*run)(struct vl_action_job *job, struct vl_error *err);
    /* for an action with a `device` parameter: NULL where it has a GPU
     * implementation, else why not ("GPU training is not built yet"):
     * device=auto then stays on the CPU and device=gpu stops the plan with
     * this reason (gpu/device_choice.h) */
    const char *gpu_missing;
    /* non-zero when its GPU implementation is the CUDA training module
     * (gpu/cuda_nn_module.h, as train's) rather than the video operations
     * module: device= is then resolved against that one */
    int gpu_nn;
};

struct vl_action_job {
    const struct vl_action_def *def;
    const struct vl_params *params;
    const char *const *inputs;
    const struct vl_hash *input_hashes; /* content fingerprint of each input */
    const char *const *input_origins;   /* provenance of each input: the source file it
                                           descends from (a source's own path) */
    size_t n_inputs;
    const char *const *outputs;
    size_t n_outputs;
    const char *origin;            /* the source item this job descends from, or NULL */
    const struct vl_hash *origin_hash; /* its fingerprint, or NULL */
    int copy;                      /* the {copy} index of `copies K` rules, else 0 */
    const char *state_path;        /* the project's state.db (metadata cache) */
    int64_t build_start_ns;        /* wall clock when this build started */
    uint64_t memory_budget;        /* bytes a job may hold in decoded frames */
    int device;                    /* -1: no GPU; else the GPU this job's gpu slot is bound to
                                      (an ordinal in vlbuild's visible set, gpu/devices.h) */
    int gpu_lane;                  /* the slot's lane on that device (slots sharing it) */
    struct vl_strbuf *log;         /* messages for the user; kept in state.db */
    const atomic_int *cancel;      /* non-zero once the build is interrupted (set by the loop) */
    /* optional: reports progress ("epoch 3/10 batch 40/120 loss 0.41") for the
     * status line; safe to call from the worker thread, as often as liked */
    void (*progress)(void *progress_ctx, const char *text);
    void *progress_ctx;
};

/* 1 once the build has been interrupted and the job should stop early. */
static inline int vl_action_cancelled(const struct vl_action_job *job)
{
    return job->cancel && atomic_load_explicit(job->cancel, memory_order_relaxed);
}

/* Reports a line of progress for the status line, if the engine listens. */
void vl_action_progress(const struct vl_action_job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns the built-in action called name, or NULL. */
const struct vl_action_def *vl_action_find(const char *name);
/* Returns the NULL-terminated table of every built-in action. */
const struct vl_action_def *const *vl_action_all(void);

/* Validates `name=value` words against def's specs and fills out (allocated
 * with malloc, freed by vl_params_release).  On error returns -1 with a
 * message and sets *bad_index to the offending word (or -1). */
int vl_params_parse(const struct vl_action_def *def, const char *const *words, size_t n_words,
                    struct vl_params *out, int *bad_index, struct vl_error *err);
/* Frees what vl_params_parse allocated. */
void vl_params_release(struct vl_params *p);
/* Returns the validated value of parameter name; aborts if def has no such
 * parameter (a programming error, not a user error). */
const struct vl_param_value *vl_params_get(const struct vl_params *p, const char *name);
/* 1 when the value enters the action key: every one but those whose text
 * is among their spec's key_omit (a `device` that is not "gpu", a
 * `precision` of "fp32"), so CPU keys stay those from before the parameters
 * existed. */
int vl_param_in_key(const struct vl_param_value *v);
/* Appends the canonical "name=value" list of the values that enter the
 * action key (vl_param_in_key), in spec order. */
void vl_params_canonical(const struct vl_params *p, struct vl_strbuf *out);

#endif
