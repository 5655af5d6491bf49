/* build.h - running the planned actions on libuv. */
#ifndef VL_BUILD_H
#define VL_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "exec/plan.h"

struct vl_cache;
struct vl_runner;
struct vl_gpu_devices;
struct vl_slurm_config;

struct vl_build_options {
    int jobs;            /* depth of the cpu pool (-j) */
    int keep_going;      /* stop starting actions after this many failures; 0: never (-k) */
    int dry_run;         /* print what would run, run nothing (-n) */
    int verbose, quiet;  /* -v, -q */
    const char *trace_path;  /* --trace: Chrome trace JSON, or NULL */
    const char *state_path;  /* the state database, for built-in actions */
    const char *tmp_dir;     /* scratch files ($in_list, long commands) */
    const char *self_exe;    /* this program: Slurm jobs run it as `vlbuild exec-action` */
    uint64_t memory_budget;  /* per built-in job, in bytes */
    int64_t start_ns;        /* wall clock when this vlbuild started */
    int64_t start_mono_ns;   /* monotonic clock then: the summary's time counts from
                                it, start-up and planning included (0: from the call) */
    struct vl_cache *cache;  /* the artifact cache, or NULL */
    /* --executor slurm: actions run as Slurm jobs with this configuration
     * (exec/slurm.h); NULL: they run here */
    const struct vl_slurm_config *slurm;
    /* where the actions run, on its loop; NULL: the local runner (or Slurm's,
     * with slurm set) on the default loop.  The caller keeps and closes it:
     * the engine's tests pass a fake runner here. */
    struct vl_runner *runner;
    /* the GPUs the gpu pool's slots are bound to (gpu/devices.h); NULL: none */
    const struct vl_gpu_devices *gpu_devices;
};

/* Cache lookups in flight at once, besides -j running actions: the worker
 * pool (UV_THREADPOOL_SIZE) needs room for both. */
#define VL_BUILD_MAX_LOOKUPS 16

struct vl_build_summary {
    size_t ran, restored, up_to_date, failed, not_run;
    int interrupted;
    double seconds;
};

/* Runs every dirty action of the plan, in dependency order, as many at once
 * as the pools allow; decides actions waiting on rebuilt inputs by content
 * (early cutoff); restores an action's outputs from the cache instead of
 * running it when the cache has its key, and stores what ran; records each
 * success in state; removes the outputs of failed or interrupted actions.  Returns 0 when the build ran (see summary
 * for failures), -1 on an internal error. */
int vl_build_execute(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                     const struct vl_build_options *opts, struct vl_build_summary *summary,
                     struct vl_error *err);

#endif
