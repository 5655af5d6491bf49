/* test_video_fixtures.h - shared helpers of the video tests: a scratch
 * directory per test and a full decode that counts frames. */
#ifndef VL_TEST_VIDEO_FIXTURES_H
#define VL_TEST_VIDEO_FIXTURES_H

#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/fs.h"
#include "video/reader.h"
#include "video/testgen.h"

/* Returns a fresh directory $VL_TEST_TMP/name (or /tmp/vl-test/name). */
__attribute__((unused)) static const char *fixture_dir(const char *name)
{
    static char dir[1024];
    const char *base = getenv("VL_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/%s", base ? base : "/tmp/vl-test", name);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return NULL;
    struct vl_error err;
    if (vl_mkdir_p(dir, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    av_log_set_level(AV_LOG_QUIET);
    return dir;
}

/* Decodes every frame of path; returns the count or -1 (message printed). */
__attribute__((unused)) static long long decode_count(const char *path, struct vl_reader_stats *stats)
{
    struct vl_reader_opts opts = {.memory_budget = 1 << 20};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    if (vl_reader_open(path, &opts, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    long long total = 0;
    int n;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) total += n;
    if (n < 0) fprintf(stderr, "%s\n", err.msg);
    if (stats) vl_reader_stats(r, stats);
    vl_reader_close(r);
    return n < 0 ? -1 : total;
}

#endif
