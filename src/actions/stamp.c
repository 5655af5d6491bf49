/* touch.c - the `stamp` built-in: writes one line naming its inputs and their
 * fingerprints.  The smallest real action; it exercises the worker pool and
 * is handy as a phony-like aggregate ("everything up to here is built"). */
#include "actions/action.h"

static int run_stamp(struct vl_action_job *job, struct vl_error *err)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    const struct vl_param_value *label = vl_params_get(job->params, "label");
    vl_strbuf_addf(&sb, "%s\n", label->text);
    for (size_t i = 0; i < job->n_inputs; i++) {
        char hex[33];
        vl_hash_hex(&job->input_hashes[i], hex);
        vl_strbuf_addf(&sb, "%s %s\n", hex, job->inputs[i]);
    }
    int rc = 0;
    for (size_t i = 0; i < job->n_outputs && rc == 0; i++)
        rc = vl_write_file_atomic(job->outputs[i], sb.buf, sb.len, err);
    vl_strbuf_release(&sb);
    return rc;
}

static const struct vl_param_spec stamp_params[] = {
    {"label", VL_PARAM_STRING, "stamp", 0, 0, NULL, "first line of the stamp file"},
    {0},
};

const struct vl_action_def vl_action_stamp = {
    .name = "stamp",
    .version = 1,
    .summary = "write a stamp file listing the inputs and their fingerprints",
    .params = stamp_params,
    .min_inputs = 0,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = -1,
    .run = run_stamp,
};
