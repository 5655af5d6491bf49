/* test_augment.c - the `augment` action end to end on small generated
 * videos: determinism, each geometric effect on decoded frames (FFV1 clips
 * are lossless, so comparisons are exact), temporal crop and stride, memory
 * under a small budget, and clean failures. */
#include <dirent.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions/action.h"
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

struct clip {
    int n, width, height;
    uint8_t *data; /* n frames, RGB24 (or yuv420p planes: read_planes) */
    int sample_bytes; /* read_yuv: 1, or 2 for 10-bit (16-bit little-endian samples) */
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

/* The log of the last augment() run (its plan: codec, YUV or RGB path). */
static char last_log[1024];

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
    snprintf(last_log, sizeof last_log, "%s", log.len ? log.buf : "");
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

/* 1 when two files have the same bytes (clipwriter muxes bit-exactly).
 * Decoded frames are not compared here: the reader's RGB of some yuv420p
 * widths varied between two reads of one file. */
static int same_bytes(const char *a, const char *b)
{
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int same = x && y, c;
    while (same && (c = fgetc(x)) != EOF) same = c == fgetc(y);
    if (same) same = fgetc(y) == EOF;
    if (x) fclose(x);
    if (y) fclose(y);
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
    CHECK(same_bytes(a, b));
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
    char with_codec[256], rgb[256];
    snprintf(with_codec, sizeof with_codec, "%s codec=ffv1_420", params);
    snprintf(rgb, sizeof rgb, "%s codec=ffv1", params);
    CHECK(augment(src, a, rgb, 0, 0, NULL, &err) == 0);
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

/* The presentation time (seconds) of every frame of path, at most max. */
static int read_times(const char *path, double *times, int max)
{
    struct vl_reader_opts o = {.memory_budget = 1 << 20};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk ch;
    int n, total = 0;
    if (vl_reader_open(path, &o, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    while ((n = vl_reader_next_chunk(r, &ch, &err)) > 0)
        for (int i = 0; i < n && total < max; i++) times[total++] = ch.pts[i];
    vl_reader_close(r);
    return total;
}

/* Index of the source frame at time t (Matroska keeps milliseconds), -1 if none. */
static int time_index(const double *times, int n, double t)
{
    for (int i = 0; i < n; i++)
        if (fabs(times[i] - t) < 0.0006) return i;
    return -1;
}

/* A VFR source (gaps of 40, 40 and 80 ms) starting at 1.5 s: every codec and
 * both paths write each frame at its own time; a temporal crop and a stride
 * keep the kept frames' times (the first is not moved to 0). */
static void test_frames_keep_their_source_times(void)
{
    char src[512], out[512];
    path_of(src, sizeof src, "vfr.mkv");
    path_of(out, sizeof out, "vfr_out.mkv");
    struct vl_testgen_opts o = {.format = "matroska", .codec = "ffv1", .width = 64,
                                .height = 48, .frames = 40, .fps = 25, .vfr = 1, .start = 1.5};
    struct vl_error err = {{0}};
    CHECK(vl_testgen_write(src, &o, &err) == 0);
    double in[64], got[64];
    int n = read_times(src, in, 64);
    CHECK(n == 40 && fabs(in[0] - 1.5) < 1e-9 && fabs(in[3] - in[2] - 0.08) < 1e-9);
    const char *whole[] = {"hflip=1", "hflip=1 rotate=10", "hflip=1 codec=ffv1",
                           "hflip=1 codec=h264"};
    for (size_t k = 0; k < sizeof whole / sizeof *whole; k++) {
        if (strstr(whole[k], "h264") && !vl_testgen_have_encoder("libx264")) continue;
        CHECK(augment(src, out, whole[k], 0, 0, NULL, &err) == 0);
        int m = read_times(out, got, 64), same = m == n;
        for (int i = 0; i < m && same; i++) same = fabs(got[i] - in[i]) < 0.0006;
        if (!same) printf("%s: %d frames, first at %.3f s\n", whole[k], m, m > 0 ? got[0] : -1.0);
        CHECK(same);
    }
    CHECK(augment(src, out, "duration=0.5:0.5 stride=3 seed=11", 0, 0, NULL, &err) == 0);
    int m = read_times(out, got, 64);
    CHECK(m == 7);
    int first = m > 0 ? time_index(in, n, got[0]) : -1, ok = first >= 0;
    for (int k = 1; k < m && ok; k++) ok = time_index(in, n, got[k]) == first + 3 * k;
    CHECK(ok);
    CHECK(m > 0 && got[0] > 1.499); /* the first kept frame's own time, not 0 */
}

/* A fixture of frames x (w x h) bars in FFV1 with these tags ("" untagged). */
static void tagged_source(const char *path, const char *pix_fmt, const char *matrix,
                          const char *range, int w, int h, int frames)
{
    struct vl_testgen_opts o = {.format = "matroska", .codec = "ffv1", .pix_fmt = pix_fmt,
                                .width = w, .height = h, .frames = frames, .fps = 25, .bars = 1};
    if (*matrix) o.matrix = matrix, o.primaries = matrix, o.transfer = "bt709";
    if (*range) o.range = range;
    if (!strcmp(matrix, "bt2020nc")) o.primaries = "bt2020";
    struct vl_error err = {{0}};
    if (vl_testgen_write(path, &o, &err) < 0) fprintf(stderr, "%s\n", err.msg);
}

/* Mean absolute difference of the RGB frames of two clips of one size (-1:
 * not of one size), and the share of samples more than 8 levels apart. */
static double rgb_difference(const char *a, const char *b, double *far)
{
    struct clip x = read_clip(a), y = read_clip(b);
    double diff = -1;
    size_t over = 0, bytes = 1;
    if (x.n > 0 && x.n == y.n && x.width == y.width && x.height == y.height) {
        bytes = (size_t)x.n * x.width * x.height * 3;
        diff = 0;
        for (size_t i = 0; i < bytes; i++) {
            int d = abs((int)x.data[i] - (int)y.data[i]);
            diff += d, over += d > 8;
        }
        diff /= (double)bytes;
    }
    if (far) *far = (double)over / (double)bytes;
    free(x.data), free(y.data);
    return diff;
}

/* The default codec keeps a yuv420p source in yuv420p with its matrix,
 * primaries, transfer and range, on the yuv420p path and on the RGB path;
 * its pictures are those of the lossless RGB clip within 4:2:0 rounding. */
static void test_default_keeps_yuv420p_and_the_colour_tags(void)
{
    static const char *const tags[][2] = {{"bt709", "tv"}, {"bt709", "pc"}, {"bt2020nc", "tv"},
                                          {"smpte170m", "pc"}, {"", ""}};
    static const char *const transforms[] = {
        "hflip=1 seed=4", "hflip=1 rotate=5 seed=4"};
    char src[512], out[512], rgb[512], params[256];
    path_of(src, sizeof src, "tagged.mkv");
    path_of(out, sizeof out, "tagged_out.mkv");
    path_of(rgb, sizeof rgb, "tagged_rgb.mkv");
    struct vl_error err = {{0}};
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++) {
        tagged_source(src, "yuv420p", tags[t][0], tags[t][1], 96, 64, 6);
        struct vl_video_meta in, m;
        CHECK(vl_probe_file(src, &in, &err) == 0);
        for (size_t k = 0; k < 2; k++) {
            CHECK(augment(src, out, transforms[k], 0, 0, NULL, &err) == 0);
            snprintf(params, sizeof params, "%s codec=ffv1", transforms[k]);
            CHECK(augment(src, rgb, params, 0, 0, NULL, &err) == 0);
            CHECK(vl_probe_file(out, &m, &err) == 0);
            CHECK_STR(m.codec, "ffv1");
            CHECK_STR(m.pix_fmt, "yuv420p");
            CHECK_STR(m.matrix, in.matrix);
            CHECK_STR(m.primaries, in.primaries);
            CHECK_STR(m.transfer, in.transfer);
            CHECK_STR(m.range, in.range);
            double far, diff = rgb_difference(out, rgb, &far);
            printf("%s %s, %s path: %.2f levels from the RGB clip, %.1f%% over 8\n",
                   *tags[t][0] ? tags[t][0] : "untagged", *tags[t][1] ? tags[t][1] : "",
                   k ? "RGB" : "yuv420p", diff, 100 * far);
            /* exact on the yuv420p path; 4:2:0 rounding of rotated bars on the
             * RGB path (converting back as BT.601 limited: 9.5 to 19 levels, 35%
             * to 80% of the samples over 8) */
            CHECK(diff >= 0 && diff < (k ? 6.5 : 0.5));
            CHECK(far < (k ? 0.16 : 0.01));
        }
    }
    /* brightness on the yuv420p path scales Y from the range's black (0 in
     * full range): the same picture as the RGB clip's, in both ranges (no
     * crop: the yuv420p path moves its corner to the chroma grid) */
    const char *dim = "brightness=0.5 seed=5";
    for (int full = 0; full < 2; full++) {
        struct vl_testgen_opts o = {.format = "matroska", .codec = "ffv1", .width = 96,
                                    .height = 64, .frames = 6, .fps = 25, .matrix = "bt709",
                                    .range = full ? "pc" : "tv", .bitexact = 1};
        CHECK(vl_testgen_write(src, &o, &err) == 0);
        CHECK(augment(src, out, dim, 0, 0, NULL, &err) == 0);
        snprintf(params, sizeof params, "%s codec=ffv1", dim);
        CHECK(augment(src, rgb, params, 0, 0, NULL, &err) == 0);
        double diff = rgb_difference(out, rgb, NULL);
        printf("brightness, %s range: %.2f levels from the RGB clip\n", full ? "full" : "limited", diff);
        CHECK(diff >= 0 && diff < 1.0); /* 0.72 and 0.48; black at 16 in full range: 3.07 */
    }
}

/* Augments src into out with params and probes out into *m: 1 on success. */
static int clip_format(const char *src, const char *out, const char *params,
                       struct vl_video_meta *m)
{
    struct vl_error err = {{0}};
    if (augment(src, out, params, 0, 0, NULL, &err) == 0 && vl_probe_file(out, m, &err) == 0)
        return 1;
    fprintf(stderr, "%s: %s\n", params, err.msg);
    return 0;
}

/* Where the default cannot keep the source's chroma format it writes
 * lossless RGB FFV1: 4:4:4 sources, an odd `size` (an odd width for 4:2:2);
 * without `size` an odd crop is rounded down to even sides and stays
 * yuv420p. */
static void test_default_falls_back_to_rgb_ffv1(void)
{
    char src[512], out[512];
    path_of(src, sizeof src, "yuv444.mkv");
    path_of(out, sizeof out, "fallback.mkv");
    struct vl_video_meta m;
    tagged_source(src, "yuv444p", "bt709", "tv", 64, 48, 4);
    CHECK(clip_format(src, out, "hflip=1", &m) && !strcmp(m.pix_fmt, "bgr0"));
    /* the reader does not hand out 4:4:4 planes as if they were 4:2:0 */
    struct vl_reader_opts ro = {.layout = VL_FRAMES_YUV_REF};
    struct vl_reader *r = NULL;
    struct vl_chunk ch;
    struct vl_error err = {{0}};
    CHECK(vl_reader_open(src, &ro, &r, &err) == 0 && vl_reader_next_chunk(r, &ch, &err) == -1);
    CHECK_CONTAINS(err.msg, "yuv444.mkv");
    CHECK_CONTAINS(err.msg, "yuv444p frame where");
    vl_reader_close(r);
    /* an odd `size` of a 10-bit source goes to RGB as an 8-bit one's does */
    tagged_source(src, "yuv420p10le", "bt709", "tv", 64, 48, 4);
    CHECK(clip_format(src, out, "hflip=1 size=33x24", &m) && !strcmp(m.pix_fmt, "bgr0"));
    /* 4:2:2 keeps an odd height, not an odd width given by `size` */
    tagged_source(src, "yuv422p", "bt709", "tv", 64, 48, 4);
    CHECK(clip_format(src, out, "hflip=1 size=32x25", &m) && !strcmp(m.pix_fmt, "yuv422p"));
    CHECK(clip_format(src, out, "hflip=1 size=33x24", &m) && !strcmp(m.pix_fmt, "bgr0"));
    tagged_source(src, "yuv420p", "bt709", "tv", 64, 48, 4);
    CHECK(clip_format(src, out, "hflip=1 size=33x24", &m) && !strcmp(m.pix_fmt, "bgr0"));
    CHECK(m.width == 33 && m.height == 24);
    /* sqrt(0.2 * 64 * 48) = 24.8: a 25x25 crop, 24x24 in the default */
    CHECK(clip_format(src, out, "crop=0.2:0.2 ratio=1:1", &m) && !strcmp(m.pix_fmt, "yuv420p"));
    CHECK(m.width == 24 && m.height == 24);
    CHECK(clip_format(src, out, "crop=0.2:0.2 ratio=1:1 codec=ffv1", &m));
    CHECK(m.width == 25 && m.height == 25);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The default's clip of a yuv420p source is the yuv420p path's (within 2%)
 * and at most 0.7x the lossless RGB clip. */
static void test_default_is_the_size_of_the_yuv_clip(void)
{
    char src[512], a[512], b[512], c[512];
    path_of(src, sizeof src, "sizes.mkv");
    path_of(a, sizeof a, "size_auto.mkv"), path_of(b, sizeof b, "size_420.mkv");
    path_of(c, sizeof c, "size_rgb.mkv");
    struct vl_error err = {{0}};
    tagged_source(src, "yuv420p", "bt709", "tv", 320, 240, 12);
    const char *t = "hflip=1 crop=0.64:0.64 ratio=1.3333333333333333:1.3333333333333333 brightness=0.2 seed=2"; /* 256x192 */
    char params[256];
    CHECK(augment(src, a, t, 0, 0, NULL, &err) == 0);
    snprintf(params, sizeof params, "%s codec=ffv1_420", t);
    CHECK(augment(src, b, params, 0, 0, NULL, &err) == 0);
    snprintf(params, sizeof params, "%s codec=ffv1", t);
    CHECK(augment(src, c, params, 0, 0, NULL, &err) == 0);
    long sa = file_size(a), sb = file_size(b), sc = file_size(c);
    printf("clip sizes: default %ld, ffv1_420 %ld, ffv1 (RGB) %ld bytes\n", sa, sb, sc);
    CHECK(sa > 0 && sb > 0 && sc > 0);
    CHECK(sa <= sb * 1.02 && sa < sc * 0.7);
}

/* Every frame of a yuv420p, yuvj420p, yuv422p, yuvj422p, yuv420p10le or
 * yuv422p10le file as its planes, packed (Y, then U and V of (width+1)/2 x
 * *chroma_rows each; samples of c.sample_bytes). */
static struct clip read_yuv(const char *path, int *chroma_rows)
{
    struct clip c = {0};
    struct vl_reader_opts o = {.memory_budget = 1 << 20, .layout = VL_FRAMES_YUV_REF};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk ch;
    *chroma_rows = 0;
    if (vl_reader_open(path, &o, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return c;
    }
    while (vl_reader_next_chunk(r, &ch, &err) > 0) {
        int w = ch.width, h = ch.height, cw = (w + 1) / 2, crows = ch.chroma_height;
        int sb = ch.sample_bytes;
        size_t bytes = ((size_t)w * h + 2 * (size_t)cw * crows) * sb;
        c.width = w, c.height = h, *chroma_rows = crows, c.sample_bytes = sb;
        c.data = realloc(c.data, (size_t)(c.n + 1) * bytes);
        uint8_t *d = c.data + (size_t)c.n * bytes;
        for (int p = 0; p < 3; p++) {
            int pw = (p ? cw : w) * sb, ph = p ? crows : h;
            for (int y = 0; y < ph; y++, d += pw)
                memcpy(d, ch.plane[p] + (size_t)y * ch.stride[p], (size_t)pw);
        }
        c.n++;
    }
    vl_reader_close(r);
    return c;
}

/* 1 when plane p of every frame of out (chroma rows orows) is the window
 * at (x, y) (luma units) of the same frame of in (chroma rows irows),
 * mirrored when flip: 4:2:2 chroma rows are luma rows, 4:2:0 halve them. */
static int planes_window(const struct clip *in, int irows, int x, int y, int flip,
                         const struct clip *out, int orows)
{
    int iw = in->width, ow = out->width, icw = (iw + 1) / 2, ocw = (ow + 1) / 2;
    int full = irows == in->height, sb = in->sample_bytes;
    size_t ib = ((size_t)iw * in->height + 2 * (size_t)icw * irows) * sb;
    size_t ob = ((size_t)ow * out->height + 2 * (size_t)ocw * orows) * sb;
    if (in->n != out->n || in->n == 0 || out->sample_bytes != sb) return 0;
    for (int i = 0; i < in->n; i++)
        for (int p = 0; p < 3; p++) {
            const uint8_t *a = in->data + i * ib, *b = out->data + i * ob;
            int w = ow, h = out->height, as = iw, px = x, py = y;
            if (p > 0) {
                a += ((size_t)iw * in->height + (p - 1) * (size_t)icw * irows) * sb;
                b += ((size_t)ow * out->height + (p - 1) * (size_t)ocw * orows) * sb;
                w = ocw, h = orows, as = icw, px = x / 2, py = full ? y : y / 2;
            }
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                    if (memcmp(b + ((size_t)r * w + c) * sb,
                               a + ((size_t)(py + r) * as + px + (flip ? w - 1 - c : c)) * sb,
                               (size_t)sb))
                        return 0;
        }
    return 1;
}

/* The RGB24 frames that the ffmpeg command line decodes from path through
 * the filter vf (every frame; small clips only) and their byte count in
 * *n; NULL when ffmpeg fails. */
static uint8_t *ffmpeg_frames(const char *path, const char *vf, size_t *n)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -threads 1 -i '%s' -vf '%s' -pix_fmt rgb24 -f rawvideo -",
             path, vf);
    FILE *p = popen(cmd, "r");
    uint8_t *buf = NULL;
    size_t cap = 0, got;
    *n = 0;
    if (!p) return NULL;
    do {
        if (*n + 65536 > cap && !(buf = realloc(buf, cap = 2 * cap + 65536))) abort();
    } while ((got = fread(buf + *n, 1, 65536, p)) > 0 && (*n += got));
    if (pclose(p) != 0 || *n == 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        free(buf);
        return NULL;
    }
    return buf;
}

/* 1 when ffmpeg decodes clip to the pictures of its own filter vf of src:
 * the clip's samples and its colour tags are what ffmpeg would make. */
static int ffmpeg_agrees(const char *src, const char *vf, const char *clip)
{
    size_t na, nb;
    uint8_t *a = ffmpeg_frames(src, vf, &na), *b = ffmpeg_frames(clip, "null", &nb);
    int same = a && b && na == nb && !memcmp(a, b, na);
    free(a), free(b);
    return same;
}

/* A bars fixture of another chroma format: MJPEG (yuvj420p, yuvj422p) in
 * AVI as the quickstart writes it, or FFV1 (yuv422p, yuv420p10le). */
static int format_source(const char *path, const char *pix_fmt, int w, int h, int bars)
{
    int jpeg = !strncmp(pix_fmt, "yuvj", 4);
    struct vl_testgen_opts o = {.format = jpeg ? "avi" : "matroska", .codec = jpeg ? "mjpeg" : "ffv1",
                                .pix_fmt = pix_fmt, .width = w, .height = h, .frames = 6,
                                .fps = 25, .bars = bars, .bitexact = 1};
    struct vl_error err = {{0}};
    if (vl_testgen_write(path, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The default keeps yuvj420p (as yuv420p tagged full range), yuv422p and
 * yuvj422p (as yuv422p): on the YUV path a crop and flip are exact on the
 * planes (a 4:2:2 crop keeps its row) and the pictures are the RGB clip's,
 * ffmpeg decodes the flipped clip to its own flip of the source, a
 * rotation goes through RGB into the same format within chroma rounding,
 * brightness scales from the range's black, and the clip is smaller than
 * the RGB one. */
static void test_default_keeps_yuvj_and_422(void)
{
    static const char *const fmts[][3] = {{"yuvj420p", "yuv420p", "pc"},
                                          {"yuvj422p", "yuv422p", "pc"},
                                          {"yuv422p", "yuv422p", "unknown"}};
    char src[512], out[512], rgb[512];
    int have_ffmpeg = system("ffmpeg -version > /dev/null 2>&1") == 0;
    if (!have_ffmpeg) printf("no ffmpeg command: the comparisons with its flip skipped\n");
    path_of(out, sizeof out, "fmt_out.mkv");
    path_of(rgb, sizeof rgb, "fmt_rgb.mkv");
    struct vl_error err = {{0}};
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        path_of(src, sizeof src, !strncmp(fmts[f][0], "yuvj", 4) ? "fmt_src.avi" : "fmt_src.mkv");
        if (format_source(src, fmts[f][0], 96, 64, 1) < 0) {
            CHECK(0);
            continue;
        }
        struct vl_video_meta in, m;
        CHECK(vl_probe_file(src, &in, &err) == 0);
        CHECK_STR(in.pix_fmt, fmts[f][0]);
        int full422 = strstr(fmts[f][1], "422") != NULL;
        /* no crop where pictures are compared: the YUV path moves its corner
         * to the chroma grid; brightness on a gradient (bars clip in RGB) */
        const char *t[] = {"hflip=1 crop=0.36:0.36 ratio=1.5:1.5 seed=9", "hflip=1 seed=9",
                           "hflip=1 rotate=5 seed=4", "brightness=0.5 seed=5"};
        for (size_t k = 0; k < 4; k++) {
            char params[256];
            if (k == 3 && format_source(src, fmts[f][0], 96, 64, 0) < 0) CHECK(0);
            CHECK(augment(src, out, t[k], 0, 0, NULL, &err) == 0);
            snprintf(params, sizeof params, "%s codec=ffv1", t[k]);
            CHECK(augment(src, rgb, params, 0, 0, NULL, &err) == 0);
            CHECK(vl_probe_file(out, &m, &err) == 0);
            CHECK_STR(m.codec, "ffv1");
            CHECK_STR(m.pix_fmt, fmts[f][1]);
            CHECK_STR(m.range, fmts[f][2]);
            CHECK_STR(m.matrix, in.matrix);
            double far, diff = rgb_difference(out, rgb, &far);
            printf("%s, %s: %.2f levels from the RGB clip, %.1f%% over 8\n", fmts[f][0], t[k],
                   diff, 100 * far);
            /* the YUV path converts the source's own planes: the RGB clip's
             * pictures; through RGB, chroma rounding of rotated bars; a
             * brightening differs where RGB clips (0.5 to 0.9 levels, up
             * to 2% of the samples) */
            if (k > 0) CHECK(diff >= 0 && diff < (k == 2 ? 6.5 : k == 3 ? 1.2 : 0.5));
            if (k > 0) CHECK(far < (k == 2 ? 0.16 : k == 3 ? 0.05 : 0.01));
            if (k == 1 && have_ffmpeg) /* ffmpeg's own flip of the source, as ffmpeg decodes the clip */
                CHECK(ffmpeg_agrees(src, "hflip", out));
            if (k == 0) { /* 0.36 of 96x64 at ratio 1.5 is 58x38: exact planes, the
                           * corner on the chroma grid (4:2:2 keeps an odd row) */
                int irows, orows;
                struct clip a = read_yuv(src, &irows), b = read_yuv(out, &orows);
                CHECK(b.width == 58 && b.height == 38 && orows == (full422 ? 38 : 19));
                int fx = -1, fy = -1;
                for (int y = 0; y + b.height <= a.height && fx < 0; y += full422 ? 1 : 2)
                    for (int x = 0; x + b.width <= a.width && fx < 0; x += 2)
                        if (planes_window(&a, irows, x, y, 1, &b, orows)) fx = x, fy = y;
                printf("%s: crop found at %d,%d\n", fmts[f][0], fx, fy);
                CHECK(fx >= 0);
                free(a.data), free(b.data);
            }
        }
        /* smaller than the lossless RGB clip */
        CHECK(augment(src, out, "hflip=1", 0, 0, NULL, &err) == 0);
        CHECK(augment(src, rgb, "hflip=1 codec=ffv1", 0, 0, NULL, &err) == 0);
        long sa = file_size(out), sr = file_size(rgb);
        printf("%s clip sizes: default %ld, ffv1 (RGB) %ld bytes\n", fmts[f][0], sa, sr);
        CHECK(sa > 0 && sa < sr * 0.8);
    }
}

/* A bit-exact 10-bit FFV1 fixture of 96x64, 6 frames, tagged matrix and
 * range (bars over the gradient when bars, else the gradient). */
static int ten_bit_source(const char *path, const char *pix_fmt, const char *matrix,
                          const char *range, int bars)
{
    struct vl_testgen_opts o = {.format = "matroska", .codec = "ffv1", .pix_fmt = pix_fmt,
                                .width = 96, .height = 64, .frames = 6, .fps = 25, .bars = bars,
                                .matrix = matrix, .primaries = matrix, .transfer = "bt709",
                                .range = range, .bitexact = 1};
    if (!strcmp(matrix, "bt2020nc")) o.primaries = "bt2020";
    struct vl_error err = {{0}};
    if (vl_testgen_write(path, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Samples of a 10-bit clip's planes that an 8-bit one cannot hold (low
 * two bits not 0). */
static size_t finer_than_8_bits(const struct clip *c, int chroma_rows)
{
    size_t n = ((size_t)c->width * c->height + 2 * (size_t)((c->width + 1) / 2) * chroma_rows) *
               (size_t)c->n, finer = 0;
    for (size_t i = 0; c->sample_bytes == 2 && i < n; i++) finer += c->data[2 * i] & 3;
    return finer;
}

/* The default keeps yuv420p10le and yuv422p10le sources in their format
 * and colour tags on the YUV path: a crop and flip are the source's
 * samples exactly (all 10 bits), decoded to RGB the clip is the RGB
 * clip's within 0.5 levels (and a brightening within 1.2, the RGB path
 * clipping at 8 bits), ffmpeg decodes the flipped clip to its own flip of
 * the source, a rotation goes through RGB into the same 10-bit format,
 * and the clip is smaller than the RGB one. */
static void test_default_keeps_10_bit(void)
{
    static const char *const fmts[][3] = {{"yuv420p10le", "bt2020nc", "tv"},
                                          {"yuv422p10le", "bt709", "pc"}};
    char src[512], out[512], rgb[512];
    int have_ffmpeg = system("ffmpeg -version > /dev/null 2>&1") == 0;
    if (!have_ffmpeg) printf("no ffmpeg command: the comparisons with its 10-bit flip skipped\n");
    path_of(src, sizeof src, "ten_src.mkv");
    path_of(out, sizeof out, "ten_out.mkv");
    path_of(rgb, sizeof rgb, "ten_rgb.mkv");
    struct vl_error err = {{0}};
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        int full422 = strstr(fmts[f][0], "422") != NULL;
        const char *t[] = {"hflip=1 crop=0.36:0.36 ratio=1.5:1.5 seed=9", "hflip=1 seed=9",
                           "hflip=1 rotate=5 seed=4", "brightness=0.5 contrast=0.3 seed=5"};
        for (size_t k = 0; k < 4; k++) {
            if (ten_bit_source(src, fmts[f][0], fmts[f][1], fmts[f][2], k != 3) < 0) {
                CHECK(0);
                continue;
            }
            struct vl_video_meta in, m;
            CHECK(vl_probe_file(src, &in, &err) == 0);
            CHECK_STR(in.pix_fmt, fmts[f][0]);
            char params[256];
            CHECK(augment(src, out, t[k], 0, 0, NULL, &err) == 0);
            CHECK_CONTAINS(last_log, k == 2 ? "(RGB path)" : "(yuv path)");
            snprintf(params, sizeof params, "%s codec=ffv1", t[k]);
            CHECK(augment(src, rgb, params, 0, 0, NULL, &err) == 0);
            CHECK(vl_probe_file(out, &m, &err) == 0);
            CHECK_STR(m.codec, "ffv1");
            CHECK_STR(m.pix_fmt, fmts[f][0]);
            CHECK_STR(m.matrix, in.matrix);
            CHECK_STR(m.primaries, in.primaries);
            CHECK_STR(m.transfer, in.transfer);
            CHECK_STR(m.range, fmts[f][2]);
            double far, diff = rgb_difference(out, rgb, &far);
            printf("%s, %s: %.2f levels from the RGB clip, %.1f%% over 8\n", fmts[f][0], t[k],
                   diff, 100 * far);
            if (k > 0) CHECK(diff >= 0 && diff < (k == 2 ? 6.5 : k == 3 ? 1.2 : 0.5));
            if (k > 0) CHECK(far < (k == 2 ? 0.16 : k == 3 ? 0.05 : 0.01));
            if (k == 1 && have_ffmpeg) CHECK(ffmpeg_agrees(src, "hflip", out));
            if (k == 0) { /* 58x38: the source's samples, mirrored, with their 10 bits */
                int irows, orows;
                struct clip a = read_yuv(src, &irows), b = read_yuv(out, &orows);
                CHECK(a.sample_bytes == 2 && b.sample_bytes == 2);
                CHECK(b.width == 58 && b.height == 38 && orows == (full422 ? 38 : 19));
                int fx = -1;
                for (int y = 0; y + b.height <= a.height && fx < 0; y += full422 ? 1 : 2)
                    for (int x = 0; x + b.width <= a.width && fx < 0; x += 2)
                        if (planes_window(&a, irows, x, y, 1, &b, orows)) fx = x;
                size_t finer = finer_than_8_bits(&b, orows);
                printf("%s: crop found at x %d; %zu samples finer than 8 bits\n", fmts[f][0], fx,
                       finer);
                CHECK(fx >= 0 && finer > 0);
                free(a.data), free(b.data);
            }
        }
        CHECK(augment(src, out, "hflip=1", 0, 0, NULL, &err) == 0);
        CHECK(augment(src, rgb, "hflip=1 codec=ffv1", 0, 0, NULL, &err) == 0);
        long sa = file_size(out), sr = file_size(rgb);
        printf("%s clip sizes: default %ld, ffv1 (RGB) %ld bytes\n", fmts[f][0], sa, sr);
        CHECK(sa > 0 && sa < sr);
    }
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
    test_frames_keep_their_source_times();
    test_default_keeps_yuv420p_and_the_colour_tags();
    test_default_falls_back_to_rgb_ffv1();
    test_default_is_the_size_of_the_yuv_clip();
    test_default_keeps_yuvj_and_422();
    test_default_keeps_10_bit();
    free(in.data);
    TEST_DONE();
}
