/* test_augment.c - the `augment` action end to end on small generated
 * videos: determinism, each geometric effect on decoded frames (FFV1 clips
 * are lossless, so comparisons are exact), temporal crop and stride, memory
 * under a small budget, and clean failures. */
#include <dirent.h>
#include <math.h>
#include <sys/resource.h>
#include <unistd.h>

#include "actions/action.h"
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

struct clip {
    int n, width, height;
    uint8_t *data; /* n frames, RGB24 (or yuv420p planes: read_planes) */
};

static const char *dir;

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%.400s/%s", dir, name);
}

/* Decodes every frame of path into memory (small clips only), in layout
 * (RGB24, or the yuv420p planes as decoded). */
static struct clip read_clip_as(const char *path, enum vl_frame_layout layout)
{
    struct clip c = {0};
    struct vl_reader_opts o = {.memory_budget = 1 << 20, .layout = layout};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk ch;
    int n;
    if (vl_reader_open(path, &o, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return c;
    }
    while ((n = vl_reader_next_chunk(r, &ch, &err)) > 0) {
        c.width = ch.width, c.height = ch.height;
        c.data = realloc(c.data, (size_t)(c.n + n) * ch.frame_bytes);
        memcpy(c.data + (size_t)c.n * ch.frame_bytes, ch.data, (size_t)n * ch.frame_bytes);
        c.n += n;
    }
    vl_reader_close(r);
    return c;
}

static struct clip read_clip(const char *path)
{
    return read_clip_as(path, VL_FRAMES_RGB24);
}

static struct clip read_planes(const char *path)
{
    return read_clip_as(path, VL_FRAMES_YUV420P);
}

static const uint8_t *frame_at(const struct clip *c, int i)
{
    return c->data + (size_t)i * c->width * c->height * 3;
}

/* Runs augment on input -> output with a space-separated parameter list. */
static int augment(const char *input, const char *output, const char *params, int copy,
                   uint64_t budget, const atomic_int *cancel, struct vl_error *err)
{
    char buf[512], *words[32];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", params);
    for (char *w = strtok(buf, " "); w && n < 32; w = strtok(NULL, " ")) words[n++] = w;
    const struct vl_action_def *def = vl_action_find("augment");
    struct vl_params p;
    int bad;
    if (vl_params_parse(def, (const char *const *)words, n, &p, &bad, err) < 0) return -2;
    struct vl_hash hash = {{0}};
    struct vl_error ignored;
    vl_hash_file(input, &hash, &ignored);
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_action_job job = {.def = def, .params = &p, .inputs = &input,
                                .input_hashes = &hash, .n_inputs = 1, .outputs = &output,
                                .n_outputs = 1, .copy = copy, .memory_budget = budget,
                                .device = -1, .log = &log, .cancel = cancel};
    unlink(output);
    int rc = def->run(&job, err);
    vl_strbuf_release(&log);
    vl_params_release(&p);
    return rc;
}

/* 1 when two clips decode to the same frames.  (Byte identity of the files
 * also needs clipwriter to mux with AVFMT_FLAG_BITEXACT: Matroska otherwise
 * writes random segment and track UIDs.) */
static int same_frames(const char *a, const char *b)
{
    struct clip x = read_clip(a), y = read_clip(b);
    int same = x.n > 0 && x.n == y.n && x.width == y.width && x.height == y.height &&
               !memcmp(x.data, y.data, (size_t)x.n * x.width * x.height * 3);
    free(x.data);
    free(y.data);
    return same;
}

static void test_same_seed_same_frames_other_seed_or_copy_other_frames(const char *src)
{
    const char *params = "hflip=0.5 crop=0.3:1 rotate=15 brightness=0.3 contrast=0.3 "
                         "saturation=0.3 hue=0.1 noise=4 blur=1.5 duration=0.5:1 seed=5";
    char a[512], b[512], c[512], d[512];
    path_of(a, sizeof a, "det_a.mkv"), path_of(b, sizeof b, "det_b.mkv");
    path_of(c, sizeof c, "det_c.mkv"), path_of(d, sizeof d, "det_d.mkv");
    struct vl_error err;
    CHECK(augment(src, a, params, 0, 0, NULL, &err) == 0);
    CHECK(augment(src, b, params, 0, 0, NULL, &err) == 0);
    CHECK(same_frames(a, b));
    CHECK(augment(src, c, "hflip=0.5 crop=0.3:1 rotate=15 brightness=0.3 contrast=0.3 "
                          "saturation=0.3 hue=0.1 noise=4 blur=1.5 duration=0.5:1 seed=6",
                  0, 0, NULL, &err) == 0);
    CHECK(!same_frames(a, c));
    CHECK(augment(src, d, params, 1, 0, NULL, &err) == 0);
    CHECK(!same_frames(a, d));
}

static void test_flip_mirrors_every_frame(const char *src, const struct clip *in)
{
    char out[512];
    path_of(out, sizeof out, "flip.mkv");
    struct vl_error err;
    CHECK(augment(src, out, "hflip=1", 0, 0, NULL, &err) == 0);
    struct clip c = read_clip(out);
    CHECK(c.n == in->n && c.width == in->width && c.height == in->height);
    int ok = c.n == in->n;
    for (int i = 0; i < c.n && ok; i++)
        for (int y = 0; y < c.height; y++)
            for (int x = 0; x < c.width; x++)
                ok &= !memcmp(frame_at(&c, i) + ((size_t)y * c.width + x) * 3,
                              frame_at(in, i) + ((size_t)y * c.width + c.width - 1 - x) * 3, 3);
    CHECK(ok);
    free(c.data);
}

/* 1 when the w x h window at (x, y) of frame a equals frame b. */
static int window_equals(const struct clip *in, int i, int x, int y, const struct clip *out, int j)
{
    for (int r = 0; r < out->height; r++)
        if (memcmp(frame_at(in, i) + ((size_t)(y + r) * in->width + x) * 3,
                   frame_at(out, j) + (size_t)r * out->width * 3, (size_t)out->width * 3))
            return 0;
    return 1;
}

static void test_crop_has_the_size_and_one_window_for_all_frames(const char *src,
                                                                 const struct clip *in)
{
    char out[512];
    path_of(out, sizeof out, "crop.mkv");
    struct vl_error err;
    /* 64x48 = 3072 px; a quarter of it at ratio 1 is 28x28 (sqrt(768) = 27.7) */
    CHECK(augment(src, out, "crop=0.25:0.25 ratio=1:1 seed=3", 0, 0, NULL, &err) == 0);
    struct clip c = read_clip(out);
    CHECK(c.n == in->n && c.width == 28 && c.height == 28);
    int fx = -1, fy = -1;
    for (int y = 0; y + 28 <= in->height && fx < 0; y++)
        for (int x = 0; x + 28 <= in->width && fx < 0; x++)
            if (window_equals(in, 0, x, y, &c, 0)) fx = x, fy = y;
    CHECK(fx >= 0);
    int ok = fx >= 0 && c.n == in->n;
    for (int i = 1; i < c.n && ok; i++) ok &= window_equals(in, i, fx, fy, &c, i);
    CHECK(ok);
    free(c.data);
    /* with an output size the crop is resized */
    CHECK(augment(src, out, "crop=0.25:0.25 ratio=1:1 size=32x16", 0, 0, NULL, &err) == 0);
    c = read_clip(out);
    CHECK(c.n == in->n && c.width == 32 && c.height == 16);
    free(c.data);
}

static void test_temporal_crop_and_stride_keep_the_right_frames(const char *src,
                                                                const struct clip *in)
{
    char out[512];
    path_of(out, sizeof out, "time.mkv");
    struct vl_error err;
    /* 40 frames: half of them from a random start, every third: 7 frames */
    CHECK(augment(src, out, "duration=0.5:0.5 stride=3 seed=11", 0, 0, NULL, &err) == 0);
    struct clip c = read_clip(out);
    CHECK(c.n == 7);
    int first = -1;
    for (int i = 0; i < in->n && first < 0; i++)
        if (c.n > 0 && !memcmp(frame_at(in, i), frame_at(&c, 0), (size_t)c.width * c.height * 3))
            first = i;
    CHECK(first >= 0 && first + 20 <= in->n);
    int ok = first >= 0;
    for (int k = 1; k < c.n && ok; k++)
        ok &= first + 3 * k < in->n &&
              !memcmp(frame_at(in, first + 3 * k), frame_at(&c, k), (size_t)c.width * c.height * 3);
    CHECK(ok);
    free(c.data);
    struct vl_video_meta m;
    CHECK(vl_probe_file(out, &m, &err) == 0);
    CHECK(fabs(m.fps - 25.0 / 3) < 0.01); /* the input's 25 fps / stride */
}

static void test_memory_stays_under_the_budget(void)
{
    /* 256 frames of 480x360 decode to 133 MB; a 1 MiB budget holds one */
    char src[512], out[512];
    path_of(src, sizeof src, "long.mp4");
    path_of(out, sizeof out, "long.mkv");
    struct vl_testgen_opts o = {.codec = "libx264", .width = 480, .height = 360, .frames = 256,
                                .fps = 25, .gop = 50};
    struct vl_error err;
    if (!vl_testgen_have_encoder("libx264")) {
        printf("no libx264: memory test skipped\n");
        return;
    }
    CHECK(vl_testgen_write(src, &o, &err) == 0);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    CHECK(augment(src, out, "stride=8 hflip=1 brightness=0.2", 0, 1 << 20, NULL, &err) == 0);
    getrusage(RUSAGE_SELF, &after);
    long grown_kb = after.ru_maxrss - before.ru_maxrss;
    printf("peak RSS grew by %ld kB over a 1 MiB budget\n", grown_kb);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("(not checked under a sanitizer: its shadow memory and quarantine count in RSS)\n");
#else
    CHECK(grown_kb < 48 * 1024);
#endif
    CHECK(decode_count(out, NULL) == 32);
}

static int leftovers(const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    if (d) closedir(d);
    return n;
}

static void test_bad_input_names_the_file_and_leaves_nothing(void)
{
    char bad[512], out[512];
    path_of(bad, sizeof bad, "bad.mp4");
    path_of(out, sizeof out, "badout.mkv");
    FILE *f = fopen(bad, "w");
    fputs("this is not a video\n", f);
    fclose(f);
    struct vl_error err = {{0}};
    CHECK(augment(bad, out, "hflip=1", 0, 0, NULL, &err) == -1);
    CHECK_CONTAINS(err.msg, "bad.mp4");
    CHECK(leftovers("badout") == 0);
    char missing[512];
    path_of(missing, sizeof missing, "missing.mp4");
    CHECK(augment(missing, out, "hflip=1", 0, 0, NULL, &err) == -1);
    CHECK_CONTAINS(err.msg, "missing.mp4");
    CHECK(leftovers("badout") == 0);
}

static void test_cancel_stops_and_leaves_nothing(const char *src)
{
    char out[512];
    path_of(out, sizeof out, "cancelled.mkv");
    atomic_int cancel = 1;
    struct vl_error err = {{0}};
    CHECK(augment(src, out, "hflip=1", 0, 0, &cancel, &err) == -1);
    CHECK_CONTAINS(err.msg, "interrupted");
    CHECK(leftovers("cancelled") == 0);
}

static void test_parameters_are_checked_when_read(void)
{
    struct vl_error err = {{0}};
    CHECK(augment("x", "y", "hflip=2", 0, 0, NULL, &err) == -2);
    CHECK_CONTAINS(err.msg, "hflip");
    CHECK(augment("x", "y", "crop=0.9:0.5", 0, 0, NULL, &err) == -2);
    CHECK(augment("x", "y", "hue=0.7", 0, 0, NULL, &err) == -2);
    CHECK(augment("x", "y", "codec=vp9", 0, 0, NULL, &err) == -2);
    CHECK(augment("x", "y", "size=32x0", 0, 0, NULL, &err) == -2);
    CHECK_CONTAINS(err.msg, "size");
    CHECK(augment("x", "y", "flip=1", 0, 0, NULL, &err) == -2);
}

/* codec=ffv1_420 stores FFV1 of yuv420p (yuv444p at odd sizes): the same
 * transform as the RGB clip, within the rounding of 4:2:0 chroma. */
static void test_ffv1_420_stores_yuv_close_to_the_rgb_clip(const char *src)
{
    char a[512], b[512], c[512];
    path_of(a, sizeof a, "rgb.mkv"), path_of(b, sizeof b, "yuv.mkv");
    path_of(c, sizeof c, "yuv_odd.mkv");
    struct vl_error err = {{0}};
    const char *params = "hflip=1 brightness=0.2 saturation=0.2 seed=3";
    char with_codec[256];
    snprintf(with_codec, sizeof with_codec, "%s codec=ffv1_420", params);
    CHECK(augment(src, a, params, 0, 0, NULL, &err) == 0);
    CHECK(augment(src, b, with_codec, 0, 0, NULL, &err) == 0);
    struct vl_video_meta m;
    CHECK(vl_probe_file(b, &m, &err) == 0);
    CHECK_STR(m.codec, "ffv1");
    CHECK_STR(m.pix_fmt, "yuv420p");
    struct clip x = read_clip(a), y = read_clip(b);
    CHECK(x.n == 40 && y.n == 40 && x.width == y.width && x.height == y.height);
    size_t bytes = (size_t)x.n * x.width * x.height * 3;
    double diff = 0;
    for (size_t i = 0; i < bytes; i++) diff += abs((int)x.data[i] - (int)y.data[i]);
    diff /= (double)bytes;
    CHECK(diff > 0 && diff < 4); /* lossy chroma, the same picture */
    free(x.data), free(y.data);
    snprintf(with_codec, sizeof with_codec, "%s codec=ffv1_420 size=33x25", params);
    CHECK(augment(src, c, with_codec, 0, 0, NULL, &err) == 0);
    CHECK(vl_probe_file(c, &m, &err) == 0);
    CHECK_STR(m.pix_fmt, "yuv444p");
    CHECK(m.width == 33 && m.height == 25 && m.frames == 40);
}

/* 1 when plane p of frame j of out is the window at (x, y) (luma units, even)
 * of frame i of in, mirrored when flip. */
static int plane_window(const struct clip *in, int i, int x, int y, int flip,
                        const struct clip *out, int j, int p)
{
    int iw = in->width, ih = in->height, ow = out->width, oh = out->height;
    int icw = (iw + 1) / 2, ich = (ih + 1) / 2, ocw = (ow + 1) / 2, och = (oh + 1) / 2;
    size_t ib = (size_t)iw * ih + 2 * (size_t)icw * ich, ob = (size_t)ow * oh + 2 * (size_t)ocw * och;
    const uint8_t *a = in->data + i * ib, *b = out->data + j * ob;
    int w = ow, h = oh, as = iw, bs = ow;
    if (p > 0) {
        a += (size_t)iw * ih + (p - 1) * (size_t)icw * ich;
        b += (size_t)ow * oh + (p - 1) * (size_t)ocw * och;
        w = ocw, h = och, as = icw, bs = ocw, x /= 2, y /= 2;
    }
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++)
            if (b[(size_t)r * bs + c] != a[(size_t)(y + r) * as + x + (flip ? w - 1 - c : c)])
                return 0;
    return 1;
}

/* codec=ffv1_420 of a yuv420p source never leaves yuv420p: a flip and a crop
 * are exact on the planes, the window's corner on the chroma grid. */
static void test_ffv1_420_flips_and_crops_the_planes_exactly(const char *src)
{
    char out[512];
    path_of(out, sizeof out, "yuv_crop.mkv");
    struct vl_error err = {{0}};
    struct clip in = read_planes(src);
    CHECK(in.n == 40);
    CHECK(augment(src, out, "hflip=1 crop=0.25:0.25 ratio=1:1 seed=3 codec=ffv1_420", 0, 0, NULL,
                  &err) == 0);
    struct clip c = read_planes(out);
    CHECK(c.n == in.n && c.width == 28 && c.height == 28);
    int fx = -1, fy = -1;
    for (int y = 0; y + 28 <= in.height && fx < 0; y += 2)
        for (int x = 0; x + 28 <= in.width && fx < 0; x += 2)
            if (plane_window(&in, 0, x, y, 1, &c, 0, 0)) fx = x, fy = y;
    CHECK(fx >= 0);
    int ok = fx >= 0 && c.n == in.n;
    for (int i = 0; i < c.n && ok; i++)
        for (int p = 0; p < 3; p++) ok &= plane_window(&in, i, fx, fy, 1, &c, i, p);
    CHECK(ok);
    free(c.data);
    free(in.data);
}

int main(void)
{
    dir = fixture_dir("augment");
    char src[512];
    path_of(src, sizeof src, "src.mkv");
    struct vl_error err;
    struct vl_testgen_opts o = {.codec = "ffv1", .width = 64, .height = 48, .frames = 40,
                                .fps = 25};
    if (vl_testgen_write(src, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct clip in = read_clip(src);
    CHECK(in.n == 40);
    test_parameters_are_checked_when_read();
    test_same_seed_same_frames_other_seed_or_copy_other_frames(src);
    test_flip_mirrors_every_frame(src, &in);
    test_ffv1_420_stores_yuv_close_to_the_rgb_clip(src);
    test_ffv1_420_flips_and_crops_the_planes_exactly(src);
    test_crop_has_the_size_and_one_window_for_all_frames(src, &in);
    test_temporal_crop_and_stride_keep_the_right_frames(src, &in);
    test_bad_input_names_the_file_and_leaves_nothing();
    test_cancel_stops_and_leaves_nothing(src);
    test_memory_stays_under_the_budget();
    free(in.data);
    TEST_DONE();
}
