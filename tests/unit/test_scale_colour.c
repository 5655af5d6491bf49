/* test_scale_colour.c - the `scale` action end to end (the overlapped
 * every-frame read, the converter, the .npy writer) against ffmpeg's own
 * conversion, on generated fixtures that carry the tags in question.
 *
 * BT.709 limited, full-range VP9 (BT.709), BT.2020 10-bit PQ and an
 * untagged stream scaled to 64x48 with area, and a non-square-pixel stream
 * (340x256, SAR 1024:765, 455x256 on screen) in mode=var: each clip must be
 * within mean 0.5 and max 2 levels of `ffmpeg -vf scale=...:flags=
 * area+full_chroma_int` (issue 18's target; they are in fact identical),
 * and the var clip's picture must be 112x63, the display aspect. */
#include "test.h"
#include "test_transforms_fixtures.h"
#include "test_video_fixtures.h"

#include "video/npy.h"

#define FRAMES 3

static char dir[1024];

/* ffmpeg's rgb24 frames of path through -vf filter, read from its stdout;
 * *size bytes, NULL on failure. */
static uint8_t *ffmpeg_frames(const char *path, const char *filter, size_t *size)
{
    char cmd[4000];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -threads 1 -filter_threads 1 -i '%s' -vf '%s' "
             "-pix_fmt rgb24 -f rawvideo -",
             path, filter);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    while ((got = fread(buf + n, 1, cap - n, p)) > 0)
        if ((n += got) == cap && !(buf = realloc(buf, cap *= 2))) abort();
    if (pclose(p) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}

/* Scales src with words into a clip and compares the picture rectangle
 * (pw x ph at the top-left of each w x h frame) with ffmpeg's frames. */
static void check(const char *label, const char *src, const char *const *words, int n_words,
                  int w, int h, int pw, int ph, const char *filter)
{
    char npy[1200], json[1200];
    snprintf(npy, sizeof npy, "%s/out.npy", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    const char *out[] = {npy, json};
    struct vl_error err;
    int rc = run_action("scale", words, n_words, src, out, 2, 0, &err);
    if (rc < 0) fprintf(stderr, "%s: %s\n", label, err.msg);
    CHECK(rc == 0);
    size_t ref_n = 0;
    uint8_t *ref = ffmpeg_frames(src, filter, &ref_n);
    CHECK(ref && ref_n == (size_t)FRAMES * pw * ph * 3);
    struct vl_npy_array a;
    if (rc < 0 || !ref || ref_n != (size_t)FRAMES * pw * ph * 3 || vl_npy_map(npy, &a, &err) < 0) {
        free(ref);
        CHECK(0);
        return;
    }
    CHECK(a.shape[0] == FRAMES && a.shape[1] == (uint64_t)h && a.shape[2] == (uint64_t)w);
    double sum = 0;
    int max = 0;
    const uint8_t *got = a.data;
    for (int f = 0; f < FRAMES; f++)
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw * 3; x++) {
                int e = abs(got[((size_t)f * h + y) * w * 3 + x] - ref[((size_t)f * ph + y) * pw * 3 + x]);
                sum += e;
                if (e > max) max = e;
            }
    double mean = sum / ((double)FRAMES * pw * ph * 3);
    printf("%s: scale vs ffmpeg %s: mean %.3f max %d\n", label, filter, mean, max);
    CHECK(mean <= 0.5 && max <= 2);
    vl_npy_unmap(&a);
    free(ref);
}

static void make(const char *name, struct vl_testgen_opts o, char *path, size_t size)
{
    struct vl_error err;
    snprintf(path, size, "%s/%s", dir, name);
    if (!vl_testgen_have_encoder(o.codec)) {
        fprintf(stderr, "%s: encoder %s missing from this FFmpeg build\n", name, o.codec);
        CHECK(0);
    } else if (vl_testgen_write(path, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", fixture_dir("scale_colour"));
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) {
        fprintf(stderr, "ffmpeg is not on PATH (scripts/setup.sh installs it)\n");
        return 1;
    }
    char path[1200];
    const char *area[] = {"size=64x48", "interp=area"};
    const char *area_filter = "scale=64:48:flags=area+full_chroma_int";
    struct vl_testgen_opts base = {.codec = "libx264", .width = 96, .height = 64,
                                   .frames = FRAMES, .bars = 1};

    struct vl_testgen_opts o = base;
    o.matrix = "bt709", o.range = "tv", o.primaries = "bt709", o.transfer = "bt709";
    make("bt709.mp4", o, path, sizeof path);
    check("bt709", path, area, 2, 64, 48, 64, 48, area_filter);

    o = base;
    o.codec = "libvpx-vp9", o.matrix = "bt709", o.range = "pc";
    make("full_range.webm", o, path, sizeof path);
    check("full-range vp9", path, area, 2, 64, 48, 64, 48, area_filter);

    o = base;
    o.pix_fmt = "yuv420p10le", o.matrix = "bt2020nc", o.range = "tv", o.primaries = "bt2020",
    o.transfer = "smpte2084";
    make("bt2020_10bit.mkv", o, path, sizeof path);
    check("bt2020 10-bit pq", path, area, 2, 64, 48, 64, 48, area_filter);

    make("untagged.mp4", base, path, sizeof path);
    check("untagged", path, area, 2, 64, 48, 64, 48, area_filter);

    /* 455x256 on screen: fit=112 keeps that aspect, 112x63, padded to 112x64 */
    o = base;
    o.width = 340, o.height = 256, o.sar_num = 1024, o.sar_den = 765;
    make("sar.mp4", o, path, sizeof path);
    const char *var[] = {"fit=112", "interp=area"};
    check("sar 1024:765 var", path, var, 2, 112, 64, 112, 63,
          "scale=112:63:flags=area+full_chroma_int");
    char json[1200];
    snprintf(json, sizeof json, "%s/out.json", dir);
    CHECK_CONTAINS(slurp(json), "\"content\":{\"x\":0,\"y\":0,\"width\":112,\"height\":63}");
    TEST_DONE();
}
