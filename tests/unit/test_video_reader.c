/* test_video_reader.c - chunks follow the memory budget, the decoder is
 * flushed (no trailing B-frames lost), rotation turns the pixels, a frame
 * index set delivers exactly those frames (seeking over long gaps, same
 * pixels as a full decode), float output, scaling, VFR timestamps. */
#include "test.h"
#include "test_video_fixtures.h"

#include <math.h>

static struct vl_reader *open_or_die(const char *path, const struct vl_reader_opts *o)
{
    struct vl_reader *r;
    struct vl_error err;
    if (vl_reader_open(path, o, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return r;
}

/* Mean absolute difference between two RGB24 pictures. */
static double mad(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static void test_budget_and_flush(const char *dir)
{
    char path[1200];
    struct vl_error err;
    snprintf(path, sizeof path, "%s/b.mp4", dir);
    struct vl_testgen_opts o = {.codec = "libx264", .width = 40, .height = 30, .frames = 50,
                                .bframes = 3};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    struct vl_reader_opts ro = {.memory_budget = 40 * 30 * 3 * 7 + 100};
    struct vl_reader *r = open_or_die(path, &ro);
    CHECK(vl_reader_chunk_capacity(r) == 7);
    struct vl_chunk c;
    int n, chunks = 0, total = 0, bad_sizes = 0, ordered = 1;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        if (total + n < 50 && n != 7) bad_sizes++;
        for (int i = 0; i < n; i++) {
            if (c.index[i] != total + i) ordered = 0;
            if (fabs(c.pts[i] - (total + i) / 25.0) > 1e-3) ordered = 0;
        }
        total += n;
        chunks++;
    }
    CHECK(n == 0);
    CHECK(total == 50 && chunks == 8 && bad_sizes == 0 && ordered);
    struct vl_reader_stats st;
    vl_reader_stats(r, &st);
    CHECK(st.decoded == 50 && st.lost == 0 && st.decode_errors == 0);
    vl_reader_close(r);

    ro.memory_budget = 10; /* less than a frame: one frame a chunk */
    r = open_or_die(path, &ro);
    CHECK(vl_reader_chunk_capacity(r) == 1);
    CHECK(vl_reader_next_chunk(r, &c, &err) == 1);
    vl_reader_close(r);
}

static void test_rotation(const char *dir)
{
    char path[1200];
    struct vl_error err;
    int w = 48, h = 32;
    uint8_t *pat = malloc((size_t)w * h * 3), *turned = malloc((size_t)w * h * 3);
    vl_testgen_pattern(0, w, h, pat);
    int rots[] = {90, 180, 270};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/rot%d.mov", dir, rots[k]);
        struct vl_testgen_opts o = {.codec = "mjpeg", .pix_fmt = "yuvj444p", .width = w,
                                    .height = h, .frames = 2, .rotation = rots[k]};
        CHECK(vl_testgen_write(path, &o, &err) == 0);
        struct vl_reader_opts ro = {0};
        struct vl_reader *r = open_or_die(path, &ro);
        struct vl_chunk c;
        CHECK(vl_reader_next_chunk(r, &c, &err) == 2);
        int sw = rots[k] == 180 ? w : h, sh = rots[k] == 180 ? h : w;
        CHECK(c.width == sw && c.height == sh);
        /* the expected picture: turn the pattern clockwise */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int dx, dy;
                if (rots[k] == 90) dx = h - 1 - y, dy = x;
                else if (rots[k] == 270) dx = y, dy = w - 1 - x;
                else dx = w - 1 - x, dy = h - 1 - y;
                memcpy(turned + ((size_t)dy * sw + dx) * 3, pat + ((size_t)y * w + x) * 3, 3);
            }
        double d = mad(c.data, turned, (size_t)w * h * 3);
        printf("rotation %d: mean abs diff %.2f\n", rots[k], d);
        CHECK(d < 6);
        vl_reader_close(r);
    }
    free(pat);
    free(turned);
}

static void test_indices(const char *dir, const char *name, int bframes)
{
    char path[1200];
    struct vl_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct vl_testgen_opts o = {.codec = "libx264", .width = 32, .height = 24, .frames = 200,
                                .gop = 10, .bframes = bframes};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    size_t fb = 32 * 24 * 3;
    uint8_t *all = malloc(200 * fb);
    struct vl_reader_opts ro = {0};
    struct vl_reader *r = open_or_die(path, &ro);
    struct vl_chunk c;
    int n, total = 0;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        memcpy(all + (size_t)total * fb, c.data, (size_t)n * fb);
        total += n;
    }
    CHECK(total == 200);
    vl_reader_close(r);

    int64_t want[] = {0, 5, 6, 150, 151, 197, 199, 250};
    ro.indices = want;
    ro.n_indices = 8;
    ro.memory_budget = fb * 3;
    r = open_or_die(path, &ro);
    int got = 0, same = 1, right = 1;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        for (int i = 0; i < n; i++, got++) {
            if (got >= 7 || c.index[i] != want[got]) {
                printf("%s: got index %lld at %d\n", name, (long long)c.index[i], got);
                right = 0;
            } else if (memcmp(c.data + i * fb, all + (size_t)want[got] * fb, fb)) {
                printf("%s: index %lld differs from the full decode\n", name,
                       (long long)want[got]);
                same = 0;
            }
        }
    }
    struct vl_reader_stats st;
    vl_reader_stats(r, &st);
    printf("%s: delivered %d, seeks %lld, decoded %lld, missing %lld\n", name, got,
           (long long)st.seeks, (long long)st.decoded, (long long)st.missing);
    CHECK(got == 7 && right && same);
    CHECK(st.seeks >= 1 && st.decoded < 200 && st.missing == 1);
    vl_reader_close(r);
    free(all);
}

static void test_float_scale_vfr(const char *dir)
{
    char path[1200];
    struct vl_error err;
    snprintf(path, sizeof path, "%s/vfr.mkv", dir);
    struct vl_testgen_opts o = {.codec = "libx264", .width = 40, .height = 30, .frames = 12,
                                .vfr = 1, .bframes = 2};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    struct vl_reader_opts ro = {0};
    struct vl_reader *r = open_or_die(path, &ro);
    struct vl_chunk c;
    CHECK(vl_reader_next_chunk(r, &c, &err) == 12);
    uint8_t first[40 * 30 * 3];
    memcpy(first, c.data, sizeof first);
    int increasing = 1;
    double gaps[2] = {1, 0};
    for (int i = 1; i < 12; i++) {
        double g = c.pts[i] - c.pts[i - 1];
        if (g <= 0) increasing = 0;
        if (g < gaps[0]) gaps[0] = g;
        if (g > gaps[1]) gaps[1] = g;
    }
    CHECK(increasing && gaps[1] > 1.5 * gaps[0]); /* the timestamps keep the irregular gaps */
    vl_reader_close(r);

    ro.layout = VL_FRAMES_F32_PLANAR;
    r = open_or_die(path, &ro);
    CHECK(vl_reader_next_chunk(r, &c, &err) == 12);
    CHECK(c.frame_bytes == 40 * 30 * 3 * sizeof(float));
    const float *planes = (const float *)c.data;
    int match = 1;
    for (int i = 0; i < 40 * 30; i++)
        for (int ch = 0; ch < 3; ch++)
            if (fabsf(planes[ch * 1200 + i] - first[3 * i + ch] / 255.0f) > 1e-6f) match = 0;
    CHECK(match);
    vl_reader_close(r);

    ro.layout = VL_FRAMES_RGB24;
    ro.width = 20;
    ro.height = 16;
    r = open_or_die(path, &ro);
    CHECK(vl_reader_next_chunk(r, &c, &err) == 12);
    CHECK(c.width == 20 && c.height == 16 && c.frame_bytes == 20 * 16 * 3);
    vl_reader_close(r);
}

int main(void)
{
    const char *dir0 = fixture_dir("video_reader");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", dir0);
    if (!vl_testgen_have_encoder("libx264") || !vl_testgen_have_encoder("mjpeg"))
        TEST_SKIP("no libx264 or mjpeg encoder");
    test_budget_and_flush(dir);
    test_rotation(dir);
    test_indices(dir, "seek.mp4", 0);
    test_indices(dir, "seek_b.mp4", 3);
    test_indices(dir, "seek_b.mkv", 2);
    test_float_scale_vfr(dir);
    TEST_DONE();
}
