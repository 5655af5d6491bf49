/* vlvideo_bench.c - a small driver for bench/video/run.sh (not part of the
 * build): generate a test video, probe it, decode it to RGB.
 *   vlvideo_bench gen FILE CODEC WIDTH HEIGHT FRAMES FPS PRESET
 *   vlvideo_bench probe FILE          prints the frame count
 *   vlvideo_bench decode FILE [BUDGET_BYTES]   prints frames and chunk capacity */
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video/probe.h"
#include "video/reader.h"
#include "video/testgen.h"

int main(int argc, char **argv)
{
    struct vl_error err;
    av_log_set_level(AV_LOG_ERROR);
    if (argc == 9 && !strcmp(argv[1], "gen")) {
        struct vl_testgen_opts o = {.codec = argv[3], .width = atoi(argv[4]),
                                    .height = atoi(argv[5]), .frames = atoi(argv[6]),
                                    .fps = atoi(argv[7]), .preset = argv[8], .bframes = 3,
                                    .gop = 250, .threads = 2};
        if (vl_testgen_write(argv[2], &o, &err) < 0) goto fail;
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "probe")) {
        struct vl_video_meta m;
        if (vl_probe_file(argv[2], &m, &err) < 0) goto fail;
        printf("%lld\n", (long long)m.frames);
        return 0;
    }
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "decode")) {
        struct vl_reader_opts o = {.memory_budget = argc == 4 ? strtoull(argv[3], NULL, 10) : 0};
        struct vl_reader *r;
        struct vl_chunk c;
        long long total = 0;
        int n;
        if (vl_reader_open(argv[2], &o, &r, &err) < 0) goto fail;
        while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) total += n;
        int cap = vl_reader_chunk_capacity(r);
        vl_reader_close(r);
        if (n < 0) goto fail;
        printf("%lld frames, %d per chunk\n", total, cap);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of vlvideo_bench.c\n");
    return 2;
fail:
    fprintf(stderr, "vlvideo_bench: %s\n", err.msg);
    return 1;
}
