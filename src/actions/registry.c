/* registry.c - the table of built-in actions.  Adding an action means
 * defining its struct vl_action_def (in its own file, or in media_defs.c
 * when its body needs the media module's libraries, with the body in the
 * module: actions/media.h) and listing it here. */
#include "actions/action.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct vl_action_def vl_action_stamp;
extern const struct vl_action_def vl_action_probe;
extern const struct vl_action_def vl_action_augment;
extern const struct vl_action_def vl_action_synth;
extern const struct vl_action_def vl_action_scale;
extern const struct vl_action_def vl_action_features;
extern const struct vl_action_def vl_action_report;
extern const struct vl_action_def vl_action_train;
extern const struct vl_action_def vl_action_predict;
extern const struct vl_action_def vl_action_evaluate;

static const struct vl_action_def *const actions[] = {
    &vl_action_stamp,
    &vl_action_probe,
    &vl_action_augment,
    &vl_action_synth,
    &vl_action_scale,
    &vl_action_features,
    &vl_action_report,
    &vl_action_train,
    &vl_action_predict,
    &vl_action_evaluate,
    NULL,
};

const struct vl_action_def *vl_action_find(const char *name)
{
    for (size_t i = 0; actions[i]; i++)
        if (strcmp(actions[i]->name, name) == 0) return actions[i];
    return NULL;
}

const struct vl_action_def *const *vl_action_all(void)
{
    return actions;
}

void vl_action_progress(const struct vl_action_job *job, const char *fmt, ...)
{
    if (!job->progress) return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    job->progress(job->progress_ctx, text);
}
