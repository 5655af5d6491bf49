/* test_transforms_fixtures.h - shared helpers of the scale and features
 * tests: run a built-in action as the scheduler would (parameters validated
 * by vl_params_parse, one job on this thread, no metadata cache), and read
 * small files back. */
#ifndef VL_TEST_TRANSFORMS_FIXTURES_H
#define VL_TEST_TRANSFORMS_FIXTURES_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actions/action.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* Runs action name with the parameter words on input -> outputs.  Returns
 * run()'s result, or -2 when the parameters are refused (err says why). */
__attribute__((unused)) static int run_action(const char *name, const char *const *words,
                                              size_t n_words, const char *input,
                                              const char *const *outputs, size_t n_outputs,
                                              uint64_t budget, struct vl_error *err)
{
    const struct vl_action_def *def = vl_action_find(name);
    struct vl_params params;
    int bad;
    if (!def) return vl_error_set(err, "no action %s", name), -2;
    if (vl_params_parse(def, words, n_words, &params, &bad, err) < 0) return -2;
    struct vl_hash hash = {{0}};
    struct vl_error ignored;
    vl_hash_file(input, &hash, &ignored); /* a missing input keeps a zero hash */
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_action_job job = {
        .def = def,
        .params = &params,
        .inputs = &input,
        .input_hashes = &hash,
        .n_inputs = 1,
        .outputs = outputs,
        .n_outputs = n_outputs,
        .memory_budget = budget ? budget : 64u << 20,
        .device = -1,
        .log = &log,
    };
    for (size_t i = 0; i < n_outputs; i++) unlink(outputs[i]); /* as the scheduler does */
    int rc = def->run(&job, err);
    if (log.len) printf("  log: %s", log.buf);
    vl_strbuf_release(&log);
    vl_params_release(&params);
    return rc;
}

/* 1 when path exists. */
__attribute__((unused)) static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Reads path into a static buffer (small JSON sidecars); "" when missing. */
__attribute__((unused)) static const char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

#endif
