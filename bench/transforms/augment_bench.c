/* augment_bench.c - a small driver for bench/transforms/augment.sh (not part
 * of the build): generate the test video, run the `augment` action on it as
 * the scheduler would (one job, this thread, no metadata cache), or decode
 * it to RGB only (the floor any RGB pipeline pays).
 *   augment_bench gen FILE WIDTH HEIGHT FRAMES FPS
 *   augment_bench run IN OUT PARAM=VALUE...
 *   augment_bench decode IN */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "actions/media.h"
#include "video/reader.h"
#include "video/testgen.h"

int main(int argc, char **argv)
{
    struct vl_error err;
    vl_module_init(0); /* as vlbuild does when it loads its media module */
    if (argc == 7 && !strcmp(argv[1], "gen")) {
        struct vl_testgen_opts o = {.codec = "libx264", .width = atoi(argv[3]),
                                    .height = atoi(argv[4]), .frames = atoi(argv[5]),
                                    .fps = atoi(argv[6]), .preset = "veryfast", .bframes = 3,
                                    .gop = 250, .threads = 2};
        if (vl_testgen_write(argv[2], &o, &err) < 0) goto fail;
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "run")) {
        const struct vl_action_def *def = vl_action_find("augment");
        struct vl_params p;
        int bad;
        const char *in = argv[2], *out = argv[3];
        if (vl_params_parse(def, (const char *const *)argv + 4, (size_t)argc - 4, &p, &bad,
                            &err) < 0)
            goto fail;
        struct vl_hash hash;
        if (vl_hash_file(in, &hash, &err) < 0) goto fail;
        struct vl_strbuf log = VL_STRBUF_INIT;
        struct vl_action_job job = {.def = def, .params = &p, .inputs = &in,
                                    .input_hashes = &hash, .n_inputs = 1, .outputs = &out,
                                    .n_outputs = 1, .memory_budget = 256u << 20, .device = -1,
                                    .log = &log};
        int rc = def->run(&job, &err);
        fputs(log.buf ? log.buf : "", stderr);
        vl_strbuf_release(&log);
        vl_params_release(&p);
        if (rc < 0) goto fail;
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "decode")) {
        struct vl_reader_opts o = {0};
        struct vl_reader *r;
        struct vl_chunk c;
        long long total = 0;
        int n;
        if (vl_reader_open(argv[2], &o, &r, &err) < 0) goto fail;
        while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) total += n;
        vl_reader_close(r);
        if (n < 0) goto fail;
        printf("%lld frames\n", total);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of augment_bench.c\n");
    return 2;
fail:
    fprintf(stderr, "augment_bench: %s\n", err.msg);
    return 1;
}
