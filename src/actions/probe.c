/* probe.c - the `probe` built-in: writes a video's metadata as JSON (the
 * fields are described in video/probe.c).  The metadata cache in state.db
 * answers first, keyed by the input's content fingerprint, so a video is
 * probed once whatever its name; a miss probes and fills the cache. */
#include "actions/action.h"
#include "actions/media.h"
#include "video/metacache.h"

int vl_action_probe_run(struct vl_action_job *job, struct vl_error *err)
{
    struct vl_strbuf json = VL_STRBUF_INIT;
    int hit = 0;
    int rc = vl_video_meta_lookup(job->state_path, job->inputs[0], &job->input_hashes[0], &json,
                                  &hit, err);
    if (rc == 0) rc = vl_write_file_atomic(job->outputs[0], json.buf, json.len, err);
    vl_strbuf_release(&json);
    return rc;
}
