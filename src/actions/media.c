/* media.c - the entry points of the media module (vlbuild-media.so, see
 * util/module.h): the bodies of the built-in actions that decode, transform
 * and learn from video.  The engine defines the actions themselves
 * (actions/media_defs.c) and calls these when one runs. */
#include "actions/media.h"

#include <libavutil/log.h>

/* The bodies of the media actions, by name, NULL-terminated. */
const struct vl_media_run vl_media_runs[] = {
    {"probe", vl_action_probe_run},
    {"augment", vl_action_augment_run},
    {"synth", vl_action_synth_run},
    {"scale", vl_action_scale_run},
    {"features", vl_action_features_run},
    {"report", vl_action_report_run},
    {"train", vl_action_train_run},
    {NULL, NULL},
};

/* Called once when the module is loaded: FFmpeg's own log is for -v only,
 * since every failure reaches the user through the action's error. */
void vl_module_init(int verbose);
void vl_module_init(int verbose)
{
    av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_FATAL);
}
