/* media.c - the entry points of the media module (vlbuild-media.so, see
 * util/module.h): the bodies of the built-in actions that decode, transform
 * and learn from video.  The engine defines the actions themselves
 * (actions/media_defs.c) and calls these when one runs. */
#include "actions/media.h"

#include <libavutil/log.h>
#include <malloc.h>

/* The bodies of the media actions, by name, NULL-terminated. */
const struct vl_media_run vl_media_runs[] = {
    {"probe", vl_action_probe_run},
    {"augment", vl_action_augment_run},
    {"synth", vl_action_synth_run},
    {"scale", vl_action_scale_run},
    {"features", vl_action_features_run},
    {"report", vl_action_report_run},
    {"train", vl_action_train_run},
    {"predict", vl_action_predict_run},
    {"evaluate", vl_action_evaluate_run},
    {NULL, NULL},
};

/* Called once when the module is loaded: FFmpeg's own log is for -v only,
 * since every failure reaches the user through the action's error.
 *
 * It also sets the process's malloc policy for frame-sized buffers.  An
 * encoder hands each packet out in a fresh buffer of a few hundred KB, and
 * with glibc's defaults (mmap from 128 KB up, the heap trimmed as soon as
 * 128 KB are free at its top) every one of them came from the kernel as
 * zeroed pages: FFV1 of 1024x576 took 230 page faults a frame, half of all
 * the kernel time of augment.  Buffers below 4 MB now come from the heap and
 * up to 32 MB of freed heap stay for the next frame (docs/transforms.md). */
void vl_module_init(int verbose)
{
    av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_FATAL);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}
