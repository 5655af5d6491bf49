/* synth.c - the `synth` built-in: renders one labelled synthetic clip for a
 * four-class motion task, so examples and tests have real data without a
 * download.
 *
 * A clip is a static, dark two-colour gradient with one to `shapes` bright
 * shapes (rectangles, ellipses, diamonds of varied sizes and aspect) that all
 * travel in the direction named by `class` (left, right, up, down), each at
 * its own speed (35% to 75% of the free room over the clip) with a small
 * sideways drift, plus Gaussian noise that changes every frame.  Shapes stay
 * inside the frame, so the class is always visible.
 *
 * Everything random is drawn from xoshiro256** seeded by (seed, class,
 * index, copy), and the picture is drawn with integer arithmetic (positions
 * in 1/256 pixel), so the same parameters give the same frames anywhere. */
#include "actions/action.h"
#include "actions/media.h"

#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "util/rng.h"
#include "video/videowriter.h"

#define MAX_SHAPES 8

enum shape_kind { SHAPE_RECT, SHAPE_ELLIPSE, SHAPE_DIAMOND };

struct shape {
    enum shape_kind kind;
    int64_t half_w, half_h;  /* half sizes, 1/256 pixel */
    int64_t x0, y0, dx, dy;  /* start centre and travel over the clip, 1/256 pixel */
    uint8_t color[3];
};

static const char *const class_names[] = {"left", "right", "up", "down"};

static int class_index(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(class_names[i], name)) return i;
    return 0;
}

static int64_t draw_int(struct vl_rng *r, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)(vl_rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Draws shape s moving in direction cls inside a width x height frame. */
static void draw_shape(struct vl_rng *r, int cls, int width, int height, struct shape *s)
{
    int64_t W = (int64_t)width << 8, H = (int64_t)height << 8;
    int64_t side = (width < height ? width : height) << 8;
    s->kind = (enum shape_kind)draw_int(r, 0, 2);
    s->half_w = draw_int(r, side * 6 / 100, side * 16 / 100);
    s->half_h = draw_int(r, side * 6 / 100, side * 16 / 100);
    for (int k = 0; k < 3; k++) s->color[k] = (uint8_t)draw_int(r, 150, 255);
    s->color[draw_int(r, 0, 2)] = 255;
    int horizontal = cls < 2;
    int sign = cls == 0 || cls == 2 ? -1 : 1;
    /* along the motion: room is the free length; travel 35%..75% of it */
    int64_t along_size = horizontal ? W : H, along_half = horizontal ? s->half_w : s->half_h;
    int64_t across_size = horizontal ? H : W, across_half = horizontal ? s->half_h : s->half_w;
    int64_t room = along_size - 2 * along_half;
    int64_t travel = draw_int(r, room * 35 / 100, room * 75 / 100);
    int64_t start = along_half + draw_int(r, 0, room - travel);
    if (sign < 0) start = along_size - start;
    int64_t across_room = across_size - 2 * across_half;
    int64_t drift = draw_int(r, -travel * 15 / 100, travel * 15 / 100);
    if (drift > across_room) drift = across_room;
    if (drift < -across_room) drift = -across_room;
    int64_t lo = across_half + (drift < 0 ? -drift : 0);
    int64_t hi = across_size - across_half - (drift > 0 ? drift : 0);
    int64_t across = draw_int(r, lo, hi);
    if (horizontal) {
        s->x0 = start, s->dx = sign * travel, s->y0 = across, s->dy = drift;
    } else {
        s->y0 = start, s->dy = sign * travel, s->x0 = across, s->dx = drift;
    }
}

/* 1 when the pixel centre at offset (px, py) from the shape centre, in 1/256
 * pixel, is inside the shape. */
static int inside(const struct shape *s, int64_t px, int64_t py)
{
    int64_t ax = px < 0 ? -px : px, ay = py < 0 ? -py : py;
    switch (s->kind) {
    case SHAPE_RECT: return ax <= s->half_w && ay <= s->half_h;
    case SHAPE_DIAMOND: return ax * s->half_h + ay * s->half_w <= s->half_w * s->half_h;
    case SHAPE_ELLIPSE: break;
    }
    /* (x/a)^2 + (y/b)^2 <= 1, scaled down to pixels to stay within 64 bits */
    int64_t a = s->half_w >> 4, b = s->half_h >> 4, x = px >> 4, y = py >> 4;
    return x * x * b * b + y * y * a * a <= a * a * b * b;
}

static void render(const uint8_t *background, const struct shape *shapes, int n_shapes, int t,
                   int frames, int width, int height, uint8_t *rgb)
{
    memcpy(rgb, background, (size_t)width * height * 3);
    for (int i = 0; i < n_shapes; i++) {
        const struct shape *s = &shapes[i];
        int64_t den = frames > 1 ? frames - 1 : 1;
        int64_t cx = s->x0 + s->dx * t / den, cy = s->y0 + s->dy * t / den;
        int x_lo = (int)((cx - s->half_w) >> 8), x_hi = (int)((cx + s->half_w) >> 8) + 1;
        int y_lo = (int)((cy - s->half_h) >> 8), y_hi = (int)((cy + s->half_h) >> 8) + 1;
        if (x_lo < 0) x_lo = 0;
        if (y_lo < 0) y_lo = 0;
        if (x_hi > width) x_hi = width;
        if (y_hi > height) y_hi = height;
        for (int y = y_lo; y < y_hi; y++)
            for (int x = x_lo; x < x_hi; x++)
                if (inside(s, ((int64_t)x << 8) + 128 - cx, ((int64_t)y << 8) + 128 - cy))
                    memcpy(rgb + ((size_t)y * width + x) * 3, s->color, 3);
    }
}

/* The dark gradient between two random colours along a random axis. */
static void draw_background(struct vl_rng *r, int width, int height, uint8_t *rgb)
{
    int c0[3], c1[3];
    for (int k = 0; k < 3; k++) c0[k] = (int)draw_int(r, 0, 70), c1[k] = (int)draw_int(r, 0, 70);
    int axis = (int)draw_int(r, 0, 2); /* 0 horizontal, 1 vertical, 2 diagonal */
    int span = axis == 0 ? width - 1 : axis == 1 ? height - 1 : width + height - 2;
    if (span < 1) span = 1;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            int pos = axis == 0 ? x : axis == 1 ? y : x + y;
            for (int k = 0; k < 3; k++)
                rgb[((size_t)y * width + x) * 3 + k] =
                    (uint8_t)((c0[k] * (span - pos) + c1[k] * pos + span / 2) / span);
        }
}

/* The encoder for codec in a file at path ("auto": from the extension). */
static const char *encoder_name(const char *codec, const char *path)
{
    static const char *const map[][2] = {{"h264", "libx264"}, {"mpeg4", "mpeg4"},
                                         {"ffv1", "ffv1"},    {"vp8", "libvpx"},
                                         {"vp9", "libvpx-vp9"}, {"mjpeg", "mjpeg"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], codec)) return map[i][1];
    const char *dot = strrchr(path, '.');
    if (dot && !strcmp(dot, ".webm")) return "libvpx-vp9";
    if (dot && !strcmp(dot, ".avi")) return "mpeg4";
    return "libx264";
}

int vl_action_synth_run(struct vl_action_job *job, struct vl_error *err)
{
    const struct vl_params *ps = job->params;
    const char *path = job->outputs[0];
    int cls = class_index(vl_params_get(ps, "class")->text);
    int width = (int)vl_params_get(ps, "size")->num, height = (int)vl_params_get(ps, "size")->num2;
    int frames = (int)vl_params_get(ps, "frames")->num;
    double noise = vl_params_get(ps, "noise")->num;
    uint64_t seed = (uint64_t)vl_params_get(ps, "seed")->num;
    uint64_t index = (uint64_t)vl_params_get(ps, "index")->num;

    uint64_t mix = seed;
    uint64_t key = vl_splitmix64(&mix);
    mix = key ^ ((uint64_t)cls + 1) * 0xbf58476d1ce4e5b9ull;
    key = vl_splitmix64(&mix);
    mix = key ^ index;
    key = vl_splitmix64(&mix);
    mix = key ^ (uint64_t)(int64_t)job->copy;
    key = vl_splitmix64(&mix);
    struct vl_rng r;
    vl_rng_seed(&r, key);

    size_t bytes = (size_t)width * height * 3;
    uint8_t *background = malloc(bytes), *rgb = malloc(bytes);
    if (!background || !rgb) abort();
    draw_background(&r, width, height, background);
    struct shape shapes[MAX_SHAPES];
    int n_shapes = (int)draw_int(&r, 1, (int64_t)vl_params_get(ps, "shapes")->num);
    for (int i = 0; i < n_shapes; i++) draw_shape(&r, cls, width, height, &shapes[i]);
    uint64_t noise_seed = vl_rng_next(&r);

    struct vl_videowriter_opts wo = {
        .codec = encoder_name(vl_params_get(ps, "codec")->text, path),
        .width = width,
        .height = height,
        .fps = (int)vl_params_get(ps, "fps")->num,
        .crf = -1,
        .threads = 1,
    };
    struct vl_ops_ctx_opts ctx_opts;
    struct vl_ops_ctx *ctx = NULL;
    const struct vl_ops *ops = vl_ops_for_job(job, &ctx_opts, err);
    if (!ops || ops->ctx_new(&ctx_opts, &ctx, err) < 0) {
        free(background);
        free(rgb);
        return -1;
    }
    struct vl_videowriter *w;
    int rc = vl_videowriter_open(path, &wo, &w, err);
    for (int t = 0; t < frames && rc == 0; t++) {
        if (vl_action_cancelled(job)) {
            vl_videowriter_abort(w);
            w = NULL;
            rc = vl_error_set(err, "%s: interrupted", path);
            break;
        }
        render(background, shapes, n_shapes, t, frames, width, height, rgb);
        struct vl_frame f = {rgb, width, height, VL_MEM_HOST};
        if (noise > 0)
            rc = ops->gaussian_noise(ctx, &f, noise, noise_seed + (uint64_t)t * 0x9e3779b97f4a7c15ull,
                                     err);
        if (rc == 0) rc = ops->sync(ctx, err);
        if (rc == 0) rc = vl_videowriter_write(w, rgb, err);
        if (rc < 0) {
            vl_videowriter_abort(w);
            w = NULL;
        }
    }
    if (rc == 0) rc = vl_videowriter_close(w, err);
    ops->ctx_free(ctx);
    free(background);
    free(rgb);
    return rc;
}
