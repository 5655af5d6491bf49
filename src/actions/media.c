/* media.c - the entry points of the media module (vlbuild-media.so, see
 * util/module.h): the built-in actions that decode, transform and learn from
 * video.  The engine finds them through vl_action_find. */
#include "actions/action.h"

#include <libavutil/log.h>

extern const struct vl_action_def vl_action_probe;
extern const struct vl_action_def vl_action_augment;
extern const struct vl_action_def vl_action_synth;
extern const struct vl_action_def vl_action_scale;
extern const struct vl_action_def vl_action_features;
extern const struct vl_action_def vl_action_report;
extern const struct vl_action_def vl_action_train;

/* The media actions, NULL-terminated. */
const struct vl_action_def *const vl_media_actions[] = {
    &vl_action_probe,
    &vl_action_augment,
    &vl_action_synth,
    &vl_action_scale,
    &vl_action_features,
    &vl_action_report,
    &vl_action_train,
    NULL,
};

/* Called once when the module is loaded: FFmpeg's own log is for -v only,
 * since every failure reaches the user through the action's error. */
void vl_module_init(int verbose);
void vl_module_init(int verbose)
{
    av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_FATAL);
}
