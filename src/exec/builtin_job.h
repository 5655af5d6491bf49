/* builtin_job.h - a built-in action's job assembled from its edge: the
 * paths, fingerprints and origins of its inputs, its parameters, its source
 * item, for a runner to run (actions/action.h). */
#ifndef VL_BUILTIN_JOB_H
#define VL_BUILTIN_JOB_H

#include "actions/action.h"
#include "graph/graph.h"
#include "util/strbuf.h"

struct vl_builtin_job {
    struct vl_action_job action;
    const char **in_paths, **in_origins; /* point into the graph */
    struct vl_hash *in_hashes;
};

/* Fills bj->action for edge e, whose inputs are all fingerprinted, from
 * base (the engine's part: state path, budget, log, cancel flag, progress)
 * and out_paths (e's outputs; the caller keeps it alive while bj lives). */
void vl_builtin_job_prepare(struct vl_builtin_job *bj, const struct vl_edge *e,
                            const struct vl_action_job *base, const char *const *out_paths);
/* Appends "ACTION PARAMS" (canonical) to out: the command shown for e. */
void vl_builtin_job_describe(const struct vl_edge *e, struct vl_strbuf *out);
/* Frees what bj holds. */
void vl_builtin_job_release(struct vl_builtin_job *bj);

#endif
