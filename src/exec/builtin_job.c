/* builtin_job.c - assembling a built-in action's job from its edge. */
#include "exec/builtin_job.h"

#include <stdlib.h>
#include <string.h>

void vl_builtin_job_prepare(struct vl_builtin_job *bj, const struct vl_edge *e,
                            const struct vl_action_job *base, const char *const *out_paths)
{
    bj->in_paths = calloc(e->n_inputs + 1, sizeof *bj->in_paths);
    bj->in_hashes = calloc(e->n_inputs + 1, sizeof *bj->in_hashes);
    bj->in_origins = calloc(e->n_inputs + 1, sizeof *bj->in_origins);
    if (!bj->in_paths || !bj->in_hashes || !bj->in_origins) abort();
    for (size_t i = 0; i < e->n_inputs; i++) {
        const struct vl_node *in = e->inputs[i];
        bj->in_paths[i] = in->path;
        bj->in_hashes[i] = in->hash;
        bj->in_origins[i] = in->origin ? in->origin->path : in->path;
    }
    const struct vl_node *origin = e->item ? (e->item->origin ? e->item->origin : e->item) : NULL;
    bj->action = *base;
    bj->action.def = e->rule->def;
    bj->action.params = &e->rule->values;
    bj->action.inputs = bj->in_paths;
    bj->action.input_hashes = bj->in_hashes;
    bj->action.input_origins = bj->in_origins;
    bj->action.n_inputs = e->n_inputs;
    bj->action.outputs = out_paths;
    bj->action.n_outputs = e->n_outputs;
    bj->action.origin = origin ? origin->path : NULL;
    bj->action.origin_hash = origin && origin->hash_known ? &origin->hash : NULL;
    bj->action.copy = e->copy;
}

void vl_builtin_job_describe(const struct vl_edge *e, struct vl_strbuf *out)
{
    vl_strbuf_addf(out, "%s ", e->rule->def->name);
    vl_params_canonical(&e->rule->values, out);
}

void vl_builtin_job_release(struct vl_builtin_job *bj)
{
    free(bj->in_paths);
    free(bj->in_hashes);
    free(bj->in_origins);
    memset(bj, 0, sizeof *bj);
}
