/* test_video_reader.c - chunks follow the memory budget, the decoder is
 * flushed (no trailing B-frames lost), rotation turns the pixels, a frame
 * index set delivers exactly those frames (seeking over long gaps, same
 * pixels as a full decode), float output, scaling, VFR timestamps; a scaled
 * frame has exactly the bytes of one swscale call to RGB24 (whichever way
 * the reader converts). */
#include "test.h"
#include "test_video_fixtures.h"

#include <math.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

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

    /* the last frame of every fifth keyframe interval, as uniform sampling
     * often lands: each is drained out of the decoder as soon as its packet
     * is in, so no packet after it is decoded (with B-frames, those
     * displayed before it but not needed, and the next keyframe) */
    int64_t ends[] = {9, 59, 109, 159};
    ro.indices = ends;
    ro.n_indices = 4;
    r = open_or_die(path, &ro);
    got = 0, same = 1;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0)
        for (int i = 0; i < n; i++, got++)
            if (got >= 4 || c.index[i] != ends[got] ||
                memcmp(c.data + i * fb, all + (size_t)ends[got] * fb, fb))
                same = 0;
    vl_reader_stats(r, &st);
    printf("%s: GOP ends: delivered %d, seeks %lld, packets %lld, decoded %lld\n", name, got,
           (long long)st.seeks, (long long)st.packets, (long long)st.decoded);
    CHECK(n == 0 && got == 4 && same && st.seeks == 3 && st.missing == 0);
    CHECK(st.packets <= 4 * 10); /* never one of the next interval */
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

/* Decodes every frame of path with libavcodec and converts each with one
 * sws_scale call to RGB24 at w x h (flags | full-width chroma), as the
 * reader did before it converted through planar GBR; returns n frames. */
static uint8_t *reference_frames(const char *path, int w, int h, int flags, int *n)
{
    AVFormatContext *fmt = NULL;
    CHECK(avformat_open_input(&fmt, path, NULL, NULL) == 0);
    CHECK(avformat_find_stream_info(fmt, NULL) >= 0);
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    CHECK(idx >= 0 && codec);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[idx]->codecpar);
    dec->thread_count = 1;
    CHECK(avcodec_open2(dec, codec, NULL) == 0);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    struct SwsContext *sws = NULL;
    size_t bytes = (size_t)w * h * 3, cap = 0;
    uint8_t *out = NULL;
    *n = 0;
    for (int eof = 0; !eof;) {
        if (av_read_frame(fmt, pkt) < 0) {
            eof = 1;
            avcodec_send_packet(dec, NULL);
        } else {
            if (pkt->stream_index == idx) avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }
        while (avcodec_receive_frame(dec, f) == 0) {
            if ((size_t)*n == cap) {
                cap = cap ? 2 * cap : 16;
                out = realloc(out, cap * bytes + (size_t)w * 3 + 256); /* swscale's row overrun */
                CHECK(out != NULL);
            }
            sws = sws_getCachedContext(sws, f->width, f->height, f->format, w, h,
                                       AV_PIX_FMT_RGB24, flags | SWS_FULL_CHR_H_INT, NULL, NULL,
                                       NULL);
            uint8_t *dst[4] = {out + (size_t)*n * bytes};
            int stride[4] = {w * 3};
            sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
            (*n)++;
            av_frame_unref(f);
        }
    }
    sws_freeContext(sws);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return out;
}

/* Downscaling goes through planar GBR (faster), upscaling stays packed:
 * either way the bytes are those of one swscale call to RGB24. */
static void test_scale_exact(const char *dir)
{
    char path[1200];
    struct vl_error err;
    snprintf(path, sizeof path, "%s/exact.mp4", dir);
    struct vl_testgen_opts o = {.codec = "libx264", .width = 192, .height = 108, .frames = 6};
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    static const struct {
        int w, h;
        enum vl_reader_interp interp;
        int flags;
    } cases[] = {
        {64, 36, VL_READER_AREA, SWS_AREA},            /* 3x down */
        {56, 56, VL_READER_BICUBIC, SWS_BICUBIC},      /* stretched down */
        {75, 31, VL_READER_BILINEAR, SWS_BILINEAR},    /* odd sizes */
        {96, 54, VL_READER_AREA, SWS_AREA},            /* 2x down */
        {300, 170, VL_READER_BILINEAR, SWS_BILINEAR},  /* up */
        {250, 140, VL_READER_AREA, SWS_AREA},          /* up */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int n_ref = 0, total = 0, same = 1;
        uint8_t *want = reference_frames(path, cases[k].w, cases[k].h, cases[k].flags, &n_ref);
        struct vl_reader_opts ro = {.width = cases[k].w, .height = cases[k].h,
                                    .interp = cases[k].interp, .memory_budget = 1};
        struct vl_reader *r = open_or_die(path, &ro);
        struct vl_chunk c;
        int n;
        while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
            for (int i = 0; i < n && total + i < n_ref; i++)
                if (memcmp(c.data + (size_t)i * c.frame_bytes,
                           want + (size_t)(total + i) * c.frame_bytes, c.frame_bytes))
                    same = 0;
            total += n;
        }
        if (!same || total != n_ref)
            fprintf(stderr, "case %dx%d: %d of %d frames, same %d\n", cases[k].w, cases[k].h,
                    total, n_ref, same);
        CHECK(n == 0 && total == 6 && n_ref == 6 && same);
        struct vl_reader_stats st;
        vl_reader_stats(r, &st);
        CHECK(st.planar == (cases[k].w < 192 ? 6 : 0)); /* down: the fast path; up: packed */
        vl_reader_close(r);
        free(want);
    }
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
    test_scale_exact(dir);
    TEST_DONE();
}
