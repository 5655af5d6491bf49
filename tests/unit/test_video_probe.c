/* test_video_probe.c - the probe's frame count equals a full decode on
 * generated fixtures in several codecs and containers, with B-frames
 * (edit lists), rotation, odd sizes, 10-bit, VFR and an audio stream; the
 * other fields and the JSON round trip. */
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

struct fixture {
    const char *name;
    struct vl_testgen_opts opts;
};

static const struct fixture fixtures[] = {
    {"bframes.mp4", {.codec = "libx264", .width = 64, .height = 48, .frames = 30, .bframes = 2}},
    {"bframes.mkv", {.codec = "libx264", .width = 64, .height = 48, .frames = 40, .bframes = 3}},
    {"odd_rot90.mov", {.codec = "mjpeg", .width = 33, .height = 17, .frames = 20, .rotation = 90}},
    {"mpeg4.avi", {.codec = "mpeg4", .width = 64, .height = 48, .frames = 25, .bframes = 2}},
    {"ffv1_audio.mkv", {.codec = "ffv1", .width = 31, .height = 15, .frames = 13, .audio = 1}},
    {"vp8.webm", {.codec = "libvpx", .width = 64, .height = 48, .frames = 10}},
    {"vfr.mkv", {.codec = "libx264", .width = 64, .height = 48, .frames = 30, .vfr = 1}},
    {"ten_bit.mp4", {.codec = "libx264", .pix_fmt = "yuv420p10le", .width = 32, .height = 32,
                     .frames = 12, .bframes = 1}},
    {"rot270_audio.mp4", {.codec = "libx264", .width = 64, .height = 48, .frames = 30,
                          .bframes = 3, .rotation = 270, .audio = 1}},
    {"mpeg4_rot180.mp4", {.codec = "mpeg4", .width = 48, .height = 32, .frames = 17,
                          .bframes = 2, .rotation = 180, .gop = 5}},
};

int main(void)
{
    const char *dir = fixture_dir("video_probe");
    char path[1200];
    struct vl_error err;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const struct fixture *fx = &fixtures[i];
        if (!vl_testgen_have_encoder(fx->opts.codec)) {
            printf("note: no %s encoder, %s not tested\n", fx->opts.codec, fx->name);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, fx->name);
        if (vl_testgen_write(path, &fx->opts, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            CHECK(0);
            continue;
        }
        struct vl_video_meta m;
        if (vl_probe_file(path, &m, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            CHECK(0);
            continue;
        }
        long long decoded = decode_count(path, NULL);
        printf("%s: probe %lld, decoded %lld\n", fx->name, (long long)m.frames, decoded);
        CHECK(m.frames == fx->opts.frames);
        CHECK(decoded == m.frames);
        int swap = fx->opts.rotation == 90 || fx->opts.rotation == 270;
        CHECK(m.rotation == fx->opts.rotation);
        CHECK(m.coded_width == fx->opts.width && m.coded_height == fx->opts.height);
        CHECK(m.width == (swap ? fx->opts.height : fx->opts.width));
        CHECK(m.height == (swap ? fx->opts.width : fx->opts.height));
        CHECK(m.vfr == fx->opts.vfr);
        CHECK(m.audio_streams == fx->opts.audio);
        CHECK(m.video_streams == 1);
        CHECK(m.keyframes >= 1 && m.max_keyframe_interval >= 1);
        if (fx->opts.bframes) CHECK(m.has_b_frames);
        CHECK(m.bit_depth == (fx->opts.pix_fmt ? 10 : 8));
        CHECK(m.duration > 0 && m.fps > 0);

        struct vl_strbuf json = VL_STRBUF_INIT;
        struct vl_video_meta back;
        vl_meta_to_json(&m, &json);
        CHECK(vl_meta_from_json(json.buf, &back, &err) == 0);
        CHECK(back.frames == m.frames && back.rotation == m.rotation && back.vfr == m.vfr);
        CHECK_STR(back.codec, m.codec);
        CHECK_STR(back.pix_fmt, m.pix_fmt);
        CHECK(back.avg_fps_num == m.avg_fps_num && back.sar_den == m.sar_den);
        vl_strbuf_release(&json);
    }
    CHECK(vl_meta_from_json("{\"version\": 99}", &(struct vl_video_meta){0}, &err) < 0);
    CHECK_CONTAINS(err.msg, "version 99");
    CHECK(vl_meta_from_json("{\"frames\": ", &(struct vl_video_meta){0}, &err) < 0);
    TEST_DONE();
}
