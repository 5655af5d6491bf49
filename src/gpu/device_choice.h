/* device_choice.h - resolves the `device=auto|cpu|gpu` parameter of the
 * video actions and of train at plan time.
 *
 * `cpu` runs on the CPU.  `gpu` runs on the GPU and needs a rule in the
 * `gpu` pool, a device in the build's list (gpu/devices.h) and the action's
 * CUDA module (gpu/cuda_loader.h) reporting a usable device: the video
 * operations module, or for an action whose GPU path is training (struct
 * vl_action_def's gpu_nn, as `train`) the training module; where any of
 * them is missing the plan fails, saying which (no device, the module not
 * built or not loadable, the probe's reason) and what to use instead.
 * `auto` is the GPU exactly when all of that holds and the module's GPU
 * path is verified (an operations table, or a training backend, that is
 * not experimental), else the CPU, silently: a module without kernels
 * leaves auto rules on the CPU, and a `device=gpu` job on it fails when it
 * runs, saying the GPU path is not built (ops/ops.h, vl_ops_for_job).  An
 * action with no GPU implementation at all (struct vl_action_def's
 * gpu_missing) keeps auto on the CPU without loading a module, and
 * device=gpu on it stops the plan, giving that reason.
 *
 * The parameter's text is replaced by the answer, "cpu" or "gpu", so the
 * job reads it (ops/ops.h, vl_ops_for_job; train's options) and the action
 * key takes it: vl_params_canonical leaves `device` out when it is "cpu"
 * (its spec's key_omit), so keys of CPU jobs are those of a build before
 * the parameter existed, and a GPU output never shares a key (or a cache
 * entry) with a CPU one. */
#ifndef VL_GPU_DEVICE_CHOICE_H
#define VL_GPU_DEVICE_CHOICE_H

#include "gpu/devices.h"
#include "parse/rules.h"
#include "util/error.h"

/* Resolves the device parameter of every rule of rules that has one, given
 * the build's device list (NULL: none).  A CUDA module is loaded and probed
 * only when a rule in the gpu pool asks for auto or gpu of an action whose
 * GPU implementation is in it.  Errors: device=gpu where it cannot run,
 * naming the rule (path:line:col) and the reason. */
int vl_device_resolve_rules(struct vl_rules *rules, const struct vl_gpu_devices *devices,
                            struct vl_error *err);

#endif
