/* test_scale.c - the `scale` action: every mode and interpolation against a
 * reference scaled by libswscale directly from the decoded RGB frames
 * (tolerance: mean absolute difference <= 1.5 and 99.9% of samples within
 * 12 levels, measured: means 0.6-1.3, maxima 4-14; the action converts YUV and scales in one pass, the reference
 * converts first, so they differ by rounding and chroma filtering only);
 * rotated input; variable-aspect-ratio geometry; exact sampled indices and
 * repeats for short clips; memory within the budget on a long clip; bad
 * input and bad parameters. */
#include "test.h"
#include "test_transforms_fixtures.h"
#include "test_video_fixtures.h"

#include <math.h>
#include <sys/resource.h>

#include <libswscale/swscale.h>

#include "video/npy.h"

static char dir_buf[1024];

/* dir/name, the same buffer for the same name for the whole test */
static const char *path_in(const char *name)
{
    static char names[64][64], paths[64][1200];
    static int used;
    int i = 0;
    while (i < used && strcmp(names[i], name)) i++;
    if (i == used) {
        if (used == 64) abort();
        snprintf(names[used], sizeof names[used], "%s", name);
        snprintf(paths[used++], sizeof paths[0], "%s/%s", dir_buf, name);
    }
    return paths[i];
}

/* All frames of path at display size, RGB24; *n frames of w x h. */
static uint8_t *decode_all(const char *path, int *n, int *w, int *h)
{
    struct vl_reader_opts o = {.memory_budget = 1 << 20};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    uint8_t *all = NULL;
    size_t size = 0;
    *n = 0;
    if (vl_reader_open(path, &o, &r, &err) < 0) return NULL;
    int k;
    while ((k = vl_reader_next_chunk(r, &c, &err)) > 0) {
        if (!(all = realloc(all, size + (size_t)k * c.frame_bytes))) abort();
        memcpy(all + size, c.data, (size_t)k * c.frame_bytes);
        size += (size_t)k * c.frame_bytes;
        *n += k, *w = c.width, *h = c.height;
    }
    vl_reader_close(r);
    return all;
}

/* The reference: crop rectangle `crop` of an RGB24 frame scaled by swscale
 * (to planar RGB, so no YUV round trip) into rectangle `place` of a black
 * ow x oh frame. */
static void reference(const uint8_t *src, int sw, const int crop[4], const int place[4],
                      int flags, int ow, int oh, uint8_t *out)
{
    struct SwsContext *s = sws_getContext(crop[2], crop[3], AV_PIX_FMT_RGB24, place[2], place[3],
                                          AV_PIX_FMT_GBRP, flags | SWS_ACCURATE_RND, NULL, NULL,
                                          NULL);
    int stride = place[2] + 64;
    uint8_t *planes = malloc((size_t)stride * (place[3] + 2) * 3);
    uint8_t *dst[4] = {planes, planes + (size_t)stride * (place[3] + 2),
                       planes + 2 * (size_t)stride * (place[3] + 2)};
    int dst_stride[4] = {stride, stride, stride};
    const uint8_t *in[4] = {src + ((size_t)crop[1] * sw + crop[0]) * 3};
    int in_stride[4] = {sw * 3};
    sws_scale(s, in, in_stride, 0, crop[3], dst, dst_stride);
    memset(out, 0, (size_t)ow * oh * 3);
    for (int y = 0; y < place[3]; y++)
        for (int x = 0; x < place[2]; x++) {
            uint8_t *o = out + ((size_t)(place[1] + y) * ow + place[0] + x) * 3;
            size_t i = (size_t)y * stride + x;
            o[0] = dst[2][i], o[1] = dst[0][i], o[2] = dst[1][i];
        }
    free(planes);
    sws_freeContext(s);
}

/* Compares an output clip with the reference, frame by frame. */
static int compare(const char *label, const uint8_t *got, const uint8_t *want, size_t bytes)
{
    double sum = 0;
    size_t over = 0;
    int worst = 0;
    for (size_t i = 0; i < bytes; i++) {
        int d = abs((int)got[i] - (int)want[i]);
        sum += d;
        over += d > 12;
        if (d > worst) worst = d;
    }
    double mean = sum / (double)bytes, share = (double)over / (double)bytes;
    printf("  %-28s mean abs diff %.3f, max %d, share > 12: %.5f\n", label, mean, worst, share);
    return mean <= 1.5 && share <= 0.001;
}

/* Runs scale on path with mode/interp at ow x oh and checks against the
 * reference geometry computed here from the display size. */
static void check_mode(const char *path, const char *mode, const char *interp, int ow, int oh)
{
    int n, sw, sh;
    uint8_t *frames = decode_all(path, &n, &sw, &sh);
    CHECK(frames != NULL && n > 0);
    if (!frames) return;
    char size[64], mode_w[64], interp_w[64];
    snprintf(size, sizeof size, "size=%dx%d", ow, oh);
    snprintf(mode_w, sizeof mode_w, "mode=%s", mode);
    snprintf(interp_w, sizeof interp_w, "interp=%s", interp);
    const char *words[] = {size, mode_w, interp_w};
    const char *out[] = {path_in("mode.npy"), path_in("mode.json")};
    struct vl_error err;
    int rc = run_action("scale", words, 3, path, out, 2, 0, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    int crop[4] = {0, 0, sw, sh}, place[4] = {0, 0, ow, oh};
    if (!strcmp(mode, "crop")) {
        double s = fmax((double)ow / sw, (double)oh / sh);
        crop[2] = (int)lround(ow / s), crop[3] = (int)lround(oh / s);
        crop[0] = (sw - crop[2]) / 2 & ~1, crop[1] = (sh - crop[3]) / 2 & ~1;
    } else if (!strcmp(mode, "letterbox")) {
        double s = fmin((double)ow / sw, (double)oh / sh);
        place[2] = (int)lround(sw * s), place[3] = (int)lround(sh * s);
        place[0] = (ow - place[2]) / 2, place[1] = (oh - place[3]) / 2;
    }
    int flags = !strcmp(interp, "area") ? SWS_AREA : !strcmp(interp, "bilinear") ? SWS_BILINEAR
                                                                                  : SWS_BICUBIC;
    struct vl_npy_array a;
    if (rc == 0 && vl_npy_map(out[0], &a, &err) == 0) {
        CHECK(a.ndim == 4 && a.shape[0] == (uint64_t)n && a.shape[1] == (uint64_t)oh &&
              a.shape[2] == (uint64_t)ow && a.shape[3] == 3);
        size_t fb = (size_t)ow * oh * 3;
        uint8_t *want = malloc(fb * n);
        for (int i = 0; i < n; i++)
            reference(frames + (size_t)i * sw * sh * 3, sw, crop, place, flags, ow, oh,
                      want + i * fb);
        char label[128];
        snprintf(label, sizeof label, "%s %s %dx%d", mode, interp, ow, oh);
        CHECK(compare(label, a.data, want, fb * n));
        if (!strcmp(mode, "letterbox")) { /* the bars are exactly black */
            const uint8_t *f0 = a.data;
            int black = 1;
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    if (x < place[0] || x >= place[0] + place[2] || y < place[1] ||
                        y >= place[1] + place[3])
                        black &= !f0[((size_t)y * ow + x) * 3] && !f0[((size_t)y * ow + x) * 3 + 1];
            CHECK(black);
            char content[128];
            snprintf(content, sizeof content, "\"content\":{\"x\":%d,\"y\":%d,\"width\":%d,",
                     place[0], place[1], place[2]);
            CHECK_CONTAINS(slurp(out[1]), content);
        }
        free(want);
        vl_npy_unmap(&a);
    }
    free(frames);
}

static void test_modes_against_swscale(void)
{
    struct vl_error err;
    const char *path = path_in("ref.mp4");
    struct vl_testgen_opts o = {.codec = "libx264", .width = 176, .height = 100, .frames = 6};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    const char *modes[] = {"stretch", "crop", "letterbox"};
    const char *interps[] = {"area", "bilinear", "bicubic"};
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 3; i++) check_mode(path, modes[m], interps[i], 64, 48);
    check_mode(path, "crop", "area", 40, 64); /* cropping the width, odd offsets rounded */
    /* a display matrix: the rectangles are planned upright, applied turned */
    const char *rot = path_in("rot.mp4");
    struct vl_testgen_opts ro = {.codec = "libx264", .width = 96, .height = 64, .frames = 3,
                                 .rotation = 90};
    CHECK(vl_testgen_write(rot, &ro, &err) == 0);
    check_mode(rot, "crop", "bilinear", 48, 48);
    check_mode(rot, "letterbox", "area", 50, 40);
}

static void test_var_geometry(void)
{
    struct vl_error err;
    const char *land = path_in("land.mp4"), *port = path_in("port.mp4");
    struct vl_testgen_opts o = {.codec = "libx264", .width = 160, .height = 90, .frames = 4};
    CHECK(vl_testgen_write(land, &o, &err) == 0);
    o.width = 90, o.height = 160;
    CHECK(vl_testgen_write(port, &o, &err) == 0);
    const char *out[] = {path_in("var.npy"), path_in("var.json")};
    const char *words[] = {"fit=100"};
    CHECK(run_action("scale", words, 1, land, out, 2, 0, &err) == 0);
    /* 160x90 -> 100x56 (56.25 rounded), padded to 112x64 */
    struct vl_npy_array a;
    CHECK(vl_npy_map(out[0], &a, &err) == 0);
    CHECK(a.shape[0] == 4 && a.shape[1] == 64 && a.shape[2] == 112);
    CHECK(a.shape[1] % 16 == 0 && a.shape[2] % 16 == 0);
    const char *json = slurp(out[1]);
    CHECK_CONTAINS(json, "\"mode\":\"var\"");
    CHECK_CONTAINS(json, "\"content\":{\"x\":0,\"y\":0,\"width\":100,\"height\":56}");
    int pad_black = 1, picture_lit = 0;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 112; x++) {
            const uint8_t *p = (const uint8_t *)a.data + ((size_t)y * 112 + x) * 3;
            if (x >= 100 || y >= 56) pad_black &= !p[0] && !p[1] && !p[2];
            else picture_lit |= p[0] | p[1] | p[2];
        }
    CHECK(pad_black && picture_lit);
    vl_npy_unmap(&a);
    /* portrait, another multiple, mode=var spelled out */
    const char *words2[] = {"mode=var", "fit=100", "pad=8"};
    CHECK(run_action("scale", words2, 3, port, out, 2, 0, &err) == 0);
    CHECK(vl_npy_map(out[0], &a, &err) == 0);
    CHECK(a.shape[1] == 104 && a.shape[2] == 56);
    vl_npy_unmap(&a);
    CHECK_CONTAINS(slurp(out[1]), "\"width\":56,\"height\":100}");
    /* without a sidecar the true size would be lost: a clear error */
    CHECK(run_action("scale", words, 1, land, out, 1, 0, &err) < 0);
    CHECK_CONTAINS(err.msg, "second output");
    CHECK(!file_exists(out[0]));
}

static void test_sampling(void)
{
    struct vl_error err;
    const char *path = path_in("fifty.mp4");
    struct vl_testgen_opts o = {.codec = "libx264", .width = 64, .height = 48, .frames = 50,
                                .bframes = 2, .gop = 10};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    int n, w, h;
    uint8_t *all = decode_all(path, &n, &w, &h);
    CHECK(n == 50 && w == 64 && h == 48);
    const char *out[] = {path_in("s.npy"), path_in("s.json")};
    const char *words[] = {"size=64x48", "frames=7", "interp=bicubic"};
    CHECK(run_action("scale", words, 3, path, out, 2, 0, &err) == 0);
    /* floor(k * 49 / 6) */
    CHECK_CONTAINS(slurp(out[1]), "\"frames\":[0,8,16,24,32,40,49]");
    CHECK_CONTAINS(slurp(out[1]), "\"repeated\":0");
    struct vl_npy_array a;
    CHECK(vl_npy_map(out[0], &a, &err) == 0);
    CHECK(a.shape[0] == 7);
    int idx[7] = {0, 8, 16, 24, 32, 40, 49}, same = 1;
    size_t fb = 64 * 48 * 3;
    for (int k = 0; k < 7 && all; k++) /* same size: the same bytes as a full decode */
        same &= !memcmp((const uint8_t *)a.data + k * fb, all + (size_t)idx[k] * fb, fb);
    CHECK(same);
    vl_npy_unmap(&a);
    free(all);

    /* a clip shorter than T repeats frames: floor(k * 4 / 7) */
    const char *five = path_in("five.mp4");
    o.frames = 5;
    CHECK(vl_testgen_write(five, &o, &err) == 0);
    const char *words8[] = {"size=32x24", "frames=8"};
    CHECK(run_action("scale", words8, 2, five, out, 2, 0, &err) == 0);
    CHECK_CONTAINS(slurp(out[1]), "\"frames\":[0,0,1,1,2,2,3,4]");
    CHECK(vl_npy_map(out[0], &a, &err) == 0);
    fb = 32 * 24 * 3;
    const uint8_t *d = a.data;
    CHECK(a.shape[0] == 8 && !memcmp(d, d + fb, fb) && !memcmp(d + 2 * fb, d + 3 * fb, fb) &&
          memcmp(d + fb, d + 2 * fb, fb));
    vl_npy_unmap(&a);
    /* frames=1 takes the first frame; frames=0 every frame */
    const char *words1[] = {"size=32x24", "frames=1"};
    CHECK(run_action("scale", words1, 2, path, out, 2, 0, &err) == 0);
    CHECK_CONTAINS(slurp(out[1]), "\"frames\":[0]");
    const char *words0[] = {"size=32x24"};
    CHECK(run_action("scale", words0, 1, five, out, 2, 0, &err) == 0);
    CHECK_CONTAINS(slurp(out[1]), "\"frames\":[0,1,2,3,4]");
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_memory_budget(void)
{
    struct vl_error err;
    const char *path = path_in("long.mp4");
    /* 300 frames of 480x270: 117 MB of output frames at full size */
    struct vl_testgen_opts o = {.codec = "libx264", .width = 480, .height = 270, .frames = 300,
                                .gop = 250};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    const char *out[] = {path_in("long.npy")};
    const char *words[] = {"size=480x270"};
    long before = max_rss_kb();
    int rc = run_action("scale", words, 1, path, out, 1, 4u << 20, &err);
    long grown = max_rss_kb() - before;
    printf("  long clip: 117 MB written with a 4 MiB budget, peak RSS grew by %ld kB\n", grown);
    CHECK(rc == 0);
    CHECK(grown < 48 * 1024); /* the budget, the decoder's frames and libraries: tolerant */
    unlink(out[0]);
}

static void test_bad_input_and_params(void)
{
    struct vl_error err;
    const char *bad = path_in("bad.mp4");
    FILE *f = fopen(bad, "w");
    fputs("this is not a video\n", f);
    fclose(f);
    const char *out[] = {path_in("bad.npy"), path_in("bad.json")};
    const char *words[] = {"size=32x32"};
    CHECK(run_action("scale", words, 1, bad, out, 2, 0, &err) < 0);
    printf("  bad input: %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "bad.mp4");
    CHECK(!file_exists(out[0]) && !file_exists(out[1]));
    CHECK(run_action("scale", words, 1, path_in("missing.mp4"), out, 2, 0, &err) < 0);
    CHECK_CONTAINS(err.msg, "missing.mp4");
    CHECK(!file_exists(out[0]));

    struct {
        const char *word, *message;
    } cases[] = {
        {"size=0x10", "out of range"},     {"size=9000x10", "out of range"},
        {"mode=zoom", "expected one of"},  {"interp=nearest", "expected one of"},
        {"frames=-1", "out of range"},     {"frames=2.5", "integer"},
        {"mode=var", "needs fit"},         {"pad=0", "out of range"},
        {"fit=100 mode=crop", "does not combine"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].word);
        const char *w[2] = {buf, NULL};
        char *space = strchr(buf, ' ');
        if (space) *space = '\0', w[1] = space + 1;
        CHECK(run_action("scale", w, space ? 2 : 1, bad, out, 1, 0, &err) == -2);
        CHECK_CONTAINS(err.msg, cases[i].message);
    }
    CHECK(vl_action_find("scale")->version >= 1);
}

int main(void)
{
    const char *dir = fixture_dir("scale");
    if (!dir) return 1;
    snprintf(dir_buf, sizeof dir_buf, "%s", dir);
    test_memory_budget(); /* first, so that the peak RSS is this test's */
    test_modes_against_swscale();
    test_var_geometry();
    test_sampling();
    test_bad_input_and_params();
    TEST_DONE();
}
