/* test_video_clipwriter.c - an FFV1 clip decodes back to the exact RGB bytes
 * written (odd size included); an H.264 clip decodes close to them; nothing
 * appears under the name before close, and abort leaves nothing at all. */
#include "test.h"
#include "test_video_fixtures.h"
#include "video/clipwriter.h"
#include "video/probe.h"

#include <dirent.h>
#include <unistd.h>

static int files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* Writes frames of the pattern, decodes them back; returns the largest
 * per-frame mean absolute difference, or -1. */
static double round_trip(const char *path, enum vl_clip_codec codec, int w, int h, int frames)
{
    struct vl_error err;
    struct vl_clipwriter_opts o = {.codec = codec, .width = w, .height = h, .crf = -1,
                                   .preset = "ultrafast"};
    struct vl_clipwriter *cw;
    if (vl_clipwriter_open(path, &o, &cw, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    size_t fb = (size_t)w * h * 3;
    uint8_t *rgb = malloc(fb);
    for (int i = 0; i < frames; i++) {
        vl_testgen_pattern(i, w, h, rgb);
        CHECK(vl_clipwriter_write(cw, rgb, &err) == 0);
    }
    CHECK(access(path, F_OK) != 0);
    CHECK(vl_clipwriter_close(cw, &err) == 0);
    struct vl_video_meta m;
    CHECK(vl_probe_file(path, &m, &err) == 0);
    CHECK(m.frames == frames && m.width == w && m.height == h);
    CHECK_STR(m.container, "matroska,webm");
    struct vl_reader *r;
    struct vl_reader_opts ro = {0};
    struct vl_chunk c;
    double worst = 0;
    int total = 0, n;
    CHECK(vl_reader_open(path, &ro, &r, &err) == 0);
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        for (int k = 0; k < n; k++) {
            vl_testgen_pattern((int)c.index[k], w, h, rgb);
            double s = 0;
            for (size_t i = 0; i < fb; i++) s += abs((int)c.data[k * fb + i] - (int)rgb[i]);
            if (s / (double)fb > worst) worst = s / (double)fb;
        }
        total += n;
    }
    CHECK(total == frames);
    vl_reader_close(r);
    free(rgb);
    return worst;
}

int main(void)
{
    const char *dir0 = fixture_dir("video_clipwriter");
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s", dir0);
    snprintf(path, sizeof path, "%s/clip.mkv", dir);
    double d = round_trip(path, VL_CLIP_FFV1, 48, 32, 10);
    printf("ffv1: worst mean abs diff %.3f\n", d);
    CHECK(d == 0);
    snprintf(path, sizeof path, "%s/odd.mkv", dir);
    d = round_trip(path, VL_CLIP_FFV1, 33, 17, 5);
    CHECK(d == 0);
    if (vl_testgen_have_encoder("libx264")) {
        snprintf(path, sizeof path, "%s/h264.mkv", dir);
        d = round_trip(path, VL_CLIP_H264, 64, 48, 12);
        printf("h264: worst mean abs diff %.3f\n", d);
        CHECK(d >= 0 && d < 8);
        snprintf(path, sizeof path, "%s/h264_odd.mkv", dir);
        d = round_trip(path, VL_CLIP_H264, 33, 17, 4);
        CHECK(d >= 0 && d < 8);
    }
    int before = files_in(dir);
    struct vl_clipwriter *cw;
    struct vl_error err;
    struct vl_clipwriter_opts o = {.codec = VL_CLIP_FFV1, .width = 16, .height = 16};
    snprintf(path, sizeof path, "%s/aborted.mkv", dir);
    if (vl_clipwriter_open(path, &o, &cw, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        TEST_DONE();
    }
    uint8_t rgb[16 * 16 * 3] = {0};
    CHECK(vl_clipwriter_write(cw, rgb, &err) == 0);
    CHECK(files_in(dir) == before + 1); /* the temporary */
    vl_clipwriter_abort(cw);
    CHECK(files_in(dir) == before);
    o.width = 0;
    CHECK(vl_clipwriter_open(path, &o, &cw, &err) < 0);
    CHECK_CONTAINS(err.msg, "aborted.mkv");
    TEST_DONE();
}
