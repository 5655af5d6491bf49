/* test_video_colour.c - colour tags and the sample aspect ratio, against
 * ffmpeg's own conversion.
 *
 * Generated fixtures carry BT.709, BT.2020 10-bit (PQ), full-range VP9,
 * SMPTE 240M, FCC, untagged and yuvj streams.  The reader's RGB (scaled with
 * area and full-resolution chroma, and unscaled with bicubic) must be within
 * mean 0.5 and max 2 levels of `ffmpeg -vf scale=...` with the same flags,
 * which honours the tags; and for every tagged fixture it must differ by
 * more than that from what ffmpeg gives when told to ignore the tags
 * (in_color_matrix=bt601, in_range=tv), so the comparison can fail.  The
 * probe's colour fields, its display size with a sample aspect ratio, the
 * letterbox and crop geometry of non-square pixels, and the timestamps of
 * an AVI with B-frames. */
#include <math.h>
#include <sys/stat.h>

#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

#define FRAMES 3

struct fixture {
    const char *name;
    struct vl_testgen_opts opts;
    const char *matrix, *range; /* expected probe fields */
    const char *rgb_matrix, *rgb_range;
    int tags_matter;            /* ignoring the tags differs from ffmpeg by at least this
                                   much (max levels; FCC is within 2 of BT.601) */
};

static const struct fixture fixtures[] = {
    {"bt709.mp4",
     {.codec = "libx264", .width = 96, .height = 64, .frames = FRAMES, .bars = 1,
      .matrix = "bt709", .range = "tv", .primaries = "bt709", .transfer = "bt709"},
     "bt709", "tv", "bt709", "tv", 3},
    {"bt2020_10bit.mkv",
     {.codec = "libx264", .pix_fmt = "yuv420p10le", .width = 96, .height = 64, .frames = FRAMES,
      .bars = 1, .matrix = "bt2020nc", .range = "tv", .primaries = "bt2020",
      .transfer = "smpte2084"},
     "bt2020nc", "tv", "bt2020nc", "tv", 3},
    {"full_range.webm",
     {.codec = "libvpx-vp9", .width = 96, .height = 64, .frames = FRAMES, .bars = 1,
      .matrix = "bt709", .range = "pc"},
     "bt709", "pc", "bt709", "pc", 3},
    {"smpte240m.mkv",
     {.codec = "libx264", .width = 96, .height = 64, .frames = FRAMES, .bars = 1,
      .matrix = "smpte240m", .range = "tv"},
     "smpte240m", "tv", "smpte240m", "tv", 3},
    {"fcc.mkv",
     {.codec = "libx264", .width = 96, .height = 64, .frames = FRAMES, .bars = 1,
      .matrix = "fcc", .range = "tv"},
     "fcc", "tv", "fcc", "tv", 1},
    {"untagged.mp4", {.codec = "libx264", .width = 96, .height = 64, .frames = FRAMES, .bars = 1},
     "unknown", "unknown", "bt470bg", "tv", 0},
    {"mjpeg.mov", {.codec = "mjpeg", .width = 96, .height = 64, .frames = FRAMES, .bars = 1},
     NULL, "pc", "bt470bg", "pc", 3},
};

/* Reads the whole of path into a malloc'd buffer; NULL when missing. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) abort();
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* ffmpeg's RGB24 frames of path through `-vf scale=<filter>`; NULL on failure. */
static uint8_t *ffmpeg_rgb(const char *dir, const char *path, const char *filter, size_t *size)
{
    char out[1200], cmd[4000];
    snprintf(out, sizeof out, "%s/ffmpeg.rgb", dir);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -threads 1 -filter_threads 1 -i '%s' -vf '%s' "
             "-frames:v %d -pix_fmt rgb24 -f rawvideo '%s'",
             path, filter, FRAMES, out);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        return NULL;
    }
    return slurp(out, size);
}

/* The reader's RGB24 frames of path at w x h (0: unscaled). */
static uint8_t *reader_rgb(const char *path, int w, int h, enum vl_reader_interp interp,
                           enum vl_reader_fit fit, size_t *size, int place[4])
{
    struct vl_reader_opts opts = {.width = w, .height = h, .interp = interp, .fit = fit};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    if (vl_reader_open(path, &opts, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    uint8_t *all = NULL;
    size_t len = 0;
    int n;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        all = realloc(all, len + (size_t)n * c.frame_bytes);
        if (!all) abort();
        memcpy(all + len, c.data, (size_t)n * c.frame_bytes);
        len += (size_t)n * c.frame_bytes;
    }
    if (place) vl_reader_placement(r, place);
    vl_reader_close(r);
    *size = len;
    return all;
}

struct diff {
    double mean;
    int max;
};

static struct diff compare(const uint8_t *a, const uint8_t *b, size_t n)
{
    struct diff d = {0, 0};
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int e = abs((int)a[i] - (int)b[i]);
        sum += e;
        if (e > d.max) d.max = e;
    }
    d.mean = n ? sum / (double)n : 0;
    return d;
}

/* One conversion of one fixture against ffmpeg honouring the tags and
 * ffmpeg ignoring them. */
static void check_conversion(const char *dir, const struct fixture *fx, const char *path, int w,
                             int h, enum vl_reader_interp interp, const char *flags)
{
    size_t ours_n = 0, ref_n = 0, old_n = 0;
    uint8_t *ours = reader_rgb(path, w, h, interp, VL_READER_STRETCH, &ours_n, NULL);
    int ow = w ? w : fx->opts.width, oh = h ? h : fx->opts.height;
    char filter[256];
    snprintf(filter, sizeof filter, "scale=%d:%d:flags=%s", ow, oh, flags);
    uint8_t *ref = ffmpeg_rgb(dir, path, filter, &ref_n);
    snprintf(filter, sizeof filter, "scale=%d:%d:flags=%s:in_color_matrix=bt601:in_range=tv", ow,
             oh, flags);
    uint8_t *old = ffmpeg_rgb(dir, path, filter, &old_n);
    CHECK(ours && ref && old);
    CHECK(ours_n == (size_t)FRAMES * ow * oh * 3);
    CHECK(ref_n == ours_n && old_n == ours_n);
    if (ours && ref && old && ref_n == ours_n && old_n == ours_n) {
        struct diff d = compare(ours, ref, ours_n), o = compare(old, ref, ours_n);
        printf("%-18s %3dx%-3d %-22s vs ffmpeg: mean %.3f max %d   (tags ignored: mean %.3f max "
               "%d)\n",
               fx->name, ow, oh, flags, d.mean, d.max, o.mean, o.max);
        CHECK(d.mean <= 0.5);
        CHECK(d.max <= 2);
        if (fx->tags_matter) { /* the fixture's tags matter: ignoring them fails */
            struct diff us_old = compare(ours, old, ours_n);
            CHECK(us_old.max >= fx->tags_matter);
        }
    }
    free(ours), free(ref), free(old);
}

static void check_probe(const struct fixture *fx, const char *path)
{
    struct vl_video_meta m;
    struct vl_error err;
    CHECK(vl_probe_file(path, &m, &err) == 0);
    if (fx->matrix) CHECK_STR(m.matrix, fx->matrix);
    CHECK_STR(m.range, fx->range);
    CHECK_STR(m.rgb_matrix, fx->rgb_matrix);
    CHECK_STR(m.rgb_range, fx->rgb_range);
    if (fx->opts.transfer) CHECK_STR(m.transfer, fx->opts.transfer);
    if (fx->opts.primaries) CHECK_STR(m.primaries, fx->opts.primaries);
    CHECK(m.hdr == (fx->opts.transfer && !strcmp(fx->opts.transfer, "smpte2084")));
    struct vl_strbuf json = VL_STRBUF_INIT;
    vl_meta_to_json(&m, &json);
    struct vl_video_meta back;
    CHECK(vl_meta_from_json(json.buf, &back, &err) == 0);
    CHECK_STR(back.matrix, m.matrix);
    CHECK_STR(back.primaries, m.primaries);
    CHECK_STR(back.transfer, m.transfer);
    CHECK_STR(back.range, m.range);
    CHECK_STR(back.rgb_matrix, m.rgb_matrix);
    CHECK_STR(back.rgb_range, m.rgb_range);
    CHECK(back.hdr == m.hdr);
    vl_strbuf_release(&json);
}

/* Version 1 JSON (no colour fields, no SAR in the size) is probed again. */
static void check_old_version_rejected(void)
{
    struct vl_video_meta m;
    struct vl_error err;
    CHECK(vl_meta_from_json("{\"version\": 1, \"width\": 340, \"height\": 256}", &m, &err) < 0);
    CHECK_CONTAINS(err.msg, "version 1");
}

/* 340x256 with SAR 1024:765 is 455x256 on screen: letterbox into 112x112
 * fills 112x63 (not 112x84); a square crop takes 256 of the 455 display
 * columns, 191 stored ones, from the middle; ffmpeg agrees on the pixels. */
static void check_sar(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/sar.mp4", dir);
    struct vl_testgen_opts o = {.codec = "libx264", .width = 340, .height = 256,
                                .frames = FRAMES, .bars = 1, .sar_num = 1024, .sar_den = 765};
    struct vl_error err;
    if (vl_testgen_write(path, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return;
    }
    struct vl_video_meta m;
    CHECK(vl_probe_file(path, &m, &err) == 0);
    CHECK(m.width == 455 && m.height == 256);
    CHECK(m.sar_num == 1024 && m.sar_den == 765);
    int pw, ph;
    vl_meta_pixel_size(&m, &pw, &ph);
    CHECK(pw == 340 && ph == 256);

    size_t n = 0, ref_n = 0;
    int place[4];
    uint8_t *lb = reader_rgb(path, 112, 112, VL_READER_AREA, VL_READER_LETTERBOX, &n, place);
    CHECK(lb && n == (size_t)FRAMES * 112 * 112 * 3);
    printf("sar letterbox 112x112: picture %dx%d at %d,%d\n", place[2], place[3], place[0],
           place[1]);
    CHECK(place[0] == 0 && place[1] == 24 && place[2] == 112 && place[3] == 63);
    uint8_t *ref = ffmpeg_rgb(dir, path, "scale=112:63:flags=area+full_chroma_int", &ref_n);
    CHECK(ref && ref_n == (size_t)FRAMES * 112 * 63 * 3);
    if (lb && ref && n == (size_t)FRAMES * 112 * 112 * 3 && ref_n == (size_t)FRAMES * 112 * 63 * 3) {
        double sum = 0;
        int max = 0, bars = 0;
        for (int f = 0; f < FRAMES; f++)
            for (int y = 0; y < 112; y++)
                for (int x = 0; x < 112 * 3; x++) {
                    int v = lb[((size_t)f * 112 + y) * 336 + x];
                    if (y < 24 || y >= 24 + 63) {
                        bars |= v;
                        continue;
                    }
                    int e = abs(v - ref[((size_t)f * 63 + y - 24) * 336 + x]);
                    sum += e;
                    if (e > max) max = e;
                }
        double mean = sum / ((double)FRAMES * 112 * 63 * 3);
        printf("sar letterbox vs ffmpeg scale=112:63: mean %.3f max %d\n", mean, max);
        CHECK(bars == 0);
        CHECK(mean <= 0.5 && max <= 2);
    }
    free(lb), free(ref);
    /* crop to a square: the display is 455x256, so 256x256 of it, i.e.
     * 256 * 765/1024 = 191 stored columns, cut from the middle */
    uint8_t *cr = reader_rgb(path, 64, 64, VL_READER_AREA, VL_READER_CROP, &n, NULL);
    CHECK(cr != NULL);
    uint8_t *cref = ffmpeg_rgb(dir, path, "crop=191:256:74:0:exact=1,scale=64:64:flags=area+full_chroma_int",
                               &ref_n);
    CHECK(cref && ref_n == n);
    if (cr && cref && ref_n == n) {
        struct diff d = compare(cr, cref, n);
        printf("sar crop 64x64 vs ffmpeg crop=191:256:74:0:exact=1,scale: mean %.3f max %d\n", d.mean,
               d.max);
        CHECK(d.mean <= 0.5 && d.max <= 2);
    }
    free(cr), free(cref);
}

/* An AVI with B-frames: libavcodec leaves the last frame without a
 * timestamp (ffprobe shows N/A); it gets the previous one plus a frame. */
static void check_avi_times(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/bframes.avi", dir);
    struct vl_testgen_opts o = {.codec = "mpeg4", .width = 64, .height = 48, .frames = 30,
                                .bframes = 2, .fps = 30};
    struct vl_error err;
    CHECK(vl_testgen_write(path, &o, &err) == 0);
    struct vl_reader_opts opts = {0};
    struct vl_reader *r;
    struct vl_chunk c;
    CHECK(vl_reader_open(path, &opts, &r, &err) == 0);
    double prev = -1, before = -1;
    int total = 0, ordered = 1, n;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0)
        for (int i = 0; i < n; i++, total++) {
            if (!(c.pts[i] > prev)) ordered = 0;
            before = prev, prev = c.pts[i];
        }
    vl_reader_close(r);
    printf("bframes.avi: %d frames, the last two at %.3f and %.3f s\n", total, before, prev);
    CHECK(total == 30);
    CHECK(ordered);
    CHECK(fabs(prev - before - 1.0 / 30) < 1e-6);
}

int main(void)
{
    const char *dir = fixture_dir("video_colour");
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) {
        fprintf(stderr, "ffmpeg is not on PATH (scripts/setup.sh installs it)\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const struct fixture *fx = &fixtures[i];
        if (!vl_testgen_have_encoder(fx->opts.codec)) {
            fprintf(stderr, "%s: encoder %s missing from this FFmpeg build\n", fx->name,
                    fx->opts.codec);
            CHECK(0);
            continue;
        }
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, fx->name);
        struct vl_error err;
        if (vl_testgen_write(path, &fx->opts, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            CHECK(0);
            continue;
        }
        check_probe(fx, path);
        check_conversion(dir, fx, path, 64, 48, VL_READER_AREA, "area+full_chroma_int");
        check_conversion(dir, fx, path, 40, 120, VL_READER_BICUBIC, "bicubic+full_chroma_int");
        check_conversion(dir, fx, path, 0, 0, VL_READER_BICUBIC, "bicubic");
    }
    check_old_version_rejected();
    check_sar(dir);
    check_avi_times(dir);
    TEST_DONE();
}
