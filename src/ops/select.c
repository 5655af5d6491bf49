/* select.c - which operations table a job runs on: the CPU table, or the
 * CUDA module's when the job's `device` parameter resolved to the GPU at
 * plan time (src/gpu/device_choice.h).  A GPU job never falls back to the
 * CPU table: its action key says GPU, so CPU bytes under it would put
 * CPU outputs in a GPU cache entry. */
#include "ops/ops.h"

#include <string.h>

#include "actions/action.h"
#include "gpu/cuda_loader.h"

/* The job's resolved device ("cpu", "gpu"), "cpu" when it has none. */
static const char *job_device(const struct vl_action_job *job)
{
    const struct vl_params *p = job->params;
    for (size_t i = 0; p && i < p->len; i++)
        if (!strcmp(p->values[i].spec->name, "device")) return p->values[i].text;
    return "cpu";
}

const struct vl_ops *vl_ops_for_job(const struct vl_action_job *job, struct vl_ops_ctx_opts *opts,
                                    struct vl_error *err)
{
    *opts = (struct vl_ops_ctx_opts){
        .device = job->device, .lane = job->gpu_lane, .memory_budget = job->memory_budget};
    if (strcmp(job_device(job), "gpu")) return vl_ops_cpu();
    const char *name = job->def ? job->def->name : "action";
    struct vl_error why;
    const struct vl_cuda_module *m = vl_cuda_load(&why);
    if (!m) {
        vl_error_set(err, "%s: device=gpu, but %s", name, why.msg);
        return NULL;
    }
    if (!m->ops) {
        vl_error_set(err,
                     "%s: device=gpu: %s is not implemented on the GPU yet (the CUDA module "
                     "has no kernels); use device=cpu",
                     name, name);
        return NULL;
    }
    if (job->device < 0) {
        vl_error_set(err,
                     "%s: device=gpu, but the job was given no GPU (its rule is not in the "
                     "gpu pool, or the build has no devices)",
                     name);
        return NULL;
    }
    return m->ops;
}
