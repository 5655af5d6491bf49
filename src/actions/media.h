/* media.h - the media module's side of the media actions (their
 * definitions are the engine's, in actions/media_defs.c): one body per
 * action, each in its own file, and the table the engine finds them by. */
#ifndef VL_ACTIONS_MEDIA_H
#define VL_ACTIONS_MEDIA_H

#include "actions/action.h"

/* One action's body, by the action's name. */
struct vl_media_run {
    const char *name;
    int (*run)(struct vl_action_job *job, struct vl_error *err);
};

/* The bodies; each follows the contract of vl_action_def.run. */
int vl_action_probe_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_augment_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_synth_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_scale_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_features_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_report_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_train_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_predict_run(struct vl_action_job *job, struct vl_error *err);
int vl_action_evaluate_run(struct vl_action_job *job, struct vl_error *err);

/* train's epochs and batch, the model's defaults where the rule says 0
 * (actions/media_defs.c: the engine checks warmup against them). */
int vl_train_epochs(const struct vl_params *p);
int vl_train_batch(const struct vl_params *p);

/* Called by util/module.c once the module is loaded (a program that links
 * the media code statically calls it itself): sets FFmpeg's log level
 * (verbose: warnings, else nothing) and the process's malloc policy. */
void vl_module_init(int verbose);

#endif
