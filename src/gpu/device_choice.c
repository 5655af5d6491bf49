/* device_choice.c - device=auto|cpu|gpu resolved at plan time (see
 * device_choice.h). */
#include "gpu/device_choice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "gpu/cuda_loader.h"

/* Whether GPU jobs on one of the two CUDA modules can run here, found once
 * per resolution. */
struct usable {
    int known, yes;
    int verified;           /* the module's GPU path is verified: auto takes it */
    char why[VL_ERROR_MAX]; /* when not: the reason */
};

/* u for the video operations module (nn 0) or the training module (nn 1) */
static void find_usable(struct usable *u, int nn, const struct vl_gpu_devices *devices)
{
    if (u->known) return;
    u->known = 1;
    if (!devices || devices->n == 0) {
        snprintf(u->why, sizeof u->why,
                 "the build has no GPU (--gpu-devices, CUDA_VISIBLE_DEVICES and /dev/nvidia* "
                 "name none)");
        return;
    }
    struct vl_error e;
    int (*probe)(char *why, size_t n);
    int verified;
    /* the verified gate: an experimental table or backend (not yet checked
     * on a GPU by scripts/gpu-check.sh) is for device=gpu only */
    if (nn) {
        const struct vl_cuda_nn_module *m = vl_cuda_nn_load(&e);
        if (!m) {
            snprintf(u->why, sizeof u->why, "%s", e.msg);
            return;
        }
        probe = m->probe;
        verified = !m->experimental;
    } else {
        const struct vl_cuda_module *m = vl_cuda_load(&e);
        if (!m) {
            snprintf(u->why, sizeof u->why, "%s", e.msg);
            return;
        }
        probe = m->probe;
        verified = m->ops != NULL && !m->ops_experimental;
    }
    char reason[256] = "";
    if (probe(reason, sizeof reason) <= 0) {
        snprintf(u->why, sizeof u->why, "%s", reason[0] ? reason : "no usable cuda device");
        return;
    }
    u->yes = 1;
    u->verified = verified;
}

static void set_text(struct vl_param_value *v, const char *text)
{
    char *copy = strdup(text);
    if (!copy) abort();
    free((char *)v->text);
    v->text = copy;
}

int vl_device_resolve_rules(struct vl_rules *rules, const struct vl_gpu_devices *devices,
                            struct vl_error *err)
{
    struct usable modules[2] = {{0}}; /* the operations module's, the training module's */
    for (size_t i = 0; i < rules->n_rules; i++) {
        struct vl_rule_decl *r = rules->rules[i];
        if (r->kind != VL_RULE_DO) continue;
        struct vl_param_value *v = NULL;
        for (size_t k = 0; k < r->values.len; k++)
            if (!strcmp(r->values.values[k].spec->name, "device")) v = &r->values.values[k];
        if (!v || !strcmp(v->text, "cpu")) continue;
        int asked = !strcmp(v->text, "gpu");
        /* an action without a GPU implementation is as a module without
         * verified operations: auto stays on the CPU, gpu cannot run */
        if (r->def->gpu_missing) {
            if (asked)
                return vl_error_set(err,
                                    "%s:%d:%d: rule %s: device=gpu, but %s (%s has no GPU "
                                    "implementation); use device=auto or device=cpu",
                                    r->loc.path, r->loc.line, r->loc.col, r->name,
                                    r->def->gpu_missing, r->def->name);
            set_text(v, "cpu");
            continue;
        }
        int in_gpu_pool = r->pool.text && !strcmp(r->pool.text, "gpu");
        struct usable *u = &modules[r->def->gpu_nn ? 1 : 0];
        if (in_gpu_pool) find_usable(u, r->def->gpu_nn, devices);
        /* auto takes the GPU only where it has verified code to run: an
         * operations module without a table, or an experimental table or
         * training backend, leaves auto rules on the CPU */
        if (in_gpu_pool && u->yes && (asked || u->verified)) {
            set_text(v, "gpu");
            continue;
        }
        if (asked)
            return vl_error_set(err,
                                "%s:%d:%d: rule %s: device=gpu, but %s; use device=auto or "
                                "device=cpu",
                                r->loc.path, r->loc.line, r->loc.col, r->name,
                                in_gpu_pool ? u->why
                                            : "the rule is not in the gpu pool (add `pool gpu`: "
                                              "a GPU job holds a gpu slot)");
        set_text(v, "cpu");
    }
    return 0;
}
