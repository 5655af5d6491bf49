/* test_ops_kern.c - the bodies that CUDA kernels share with the host
 * (the headers of src/ops/kern/), run on the host against the CPU table on odd and
 * large sizes: crop/flip index maps, rotation, colour jitter per pixel,
 * grey and the 8x8 DCT block bit-exact; the YUV->RGB pixel against swscale
 * configured as the reader configures it: its coefficients equal swscale's,
 * and its pixels are within a mean absolute difference of 1.0 and a largest
 * of 6 levels (measured: 0.89 and 5; swscale picks its own converter by
 * width: SIMD code that reads about 0.9 levels darker than exact rounding,
 * or C code that places chroma otherwise at odd widths). */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include "ops/cpu.h"
#include "ops/kern/features.h"
#include "ops/kern/geometry.h"
#include "ops/kern/jitter.h"
#include "ops/kern/yuv.h"
#include "util/rng.h"

static const int sizes[][2] = {{1, 1}, {3, 5}, {8, 8}, {37, 23}, {641, 359}, {1920, 1080}};
#define N_SIZES (int)(sizeof sizes / sizeof sizes[0])

/* A frame of noise over smooth gradients: both flat stretches and edges. */
static uint8_t *make_rgb(int w, int h, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h * 3 + 1);
    struct vl_rng r;
    vl_rng_seed(&r, seed);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            uint64_t u = vl_rng_next(&r);
            int noisy = (x / 16 + y / 16) & 1;
            q[0] = (uint8_t)(noisy ? u : (uint64_t)(x * 255 / (w > 1 ? w - 1 : 1)));
            q[1] = (uint8_t)(noisy ? u >> 8 : (uint64_t)(y * 255 / (h > 1 ? h - 1 : 1)));
            q[2] = (uint8_t)(noisy ? u >> 16 : (uint64_t)((x + y) & 255));
        }
    return p;
}

static struct vl_frame frame(uint8_t *p, int w, int h)
{
    return (struct vl_frame){p, w, h, VL_MEM_HOST};
}

/* A context of the CPU table, for a job without a GPU. */
static struct vl_ops_ctx *cpu_ctx(void)
{
    struct vl_ops_ctx *ctx = NULL;
    struct vl_error err;
    struct vl_ops_ctx_opts o = {-1, 0, 0};
    CHECK(vl_ops_cpu()->ctx_new(&o, &ctx, &err) == 0);
    return ctx;
}

static void test_crop_flip(void)
{
    const struct vl_ops *ops = vl_ops_cpu();
    struct vl_error err;
    struct vl_ops_ctx *ctx = cpu_ctx();
    for (int i = 0; i < N_SIZES; i++) {
        int sw = sizes[i][0], sh = sizes[i][1];
        uint8_t *src = make_rgb(sw, sh, (uint64_t)i);
        int w = sw > 2 ? sw - 2 : sw, h = sh > 1 ? sh - 1 : sh, cx = sw - w, cy = sh - h;
        uint8_t *want = malloc((size_t)w * h * 3), *got = malloc((size_t)w * h * 3);
        for (int flip = 0; flip < 2; flip++) {
            struct vl_frame s = frame(src, sw, sh), d = frame(want, w, h);
            CHECK(ops->crop(ctx, &s, cx, cy, &d, &err) == 0);
            if (flip) CHECK(ops->flip_horizontal(ctx, &d, &err) == 0);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    memcpy(got + ((size_t)y * w + x) * 3,
                           src + vl_kern_crop_flip_offset(x, y, cx, cy, w, flip, sw), 3);
            CHECK(memcmp(want, got, (size_t)w * h * 3) == 0);
        }
        free(src), free(want), free(got);
    }
    /* a window outside the frame is an error, not a read past its end */
    uint8_t px[12];
    struct vl_frame s = frame(px, 2, 2), d = frame(px, 2, 2);
    CHECK(ops->crop(ctx, &s, 1, 0, &d, &err) < 0);
    CHECK_CONTAINS(err.msg, "outside the 2x2 frame");
    /* the CPU table refuses device frames */
    d.mem = VL_MEM_DEVICE;
    CHECK(ops->flip_horizontal(ctx, &d, &err) < 0);
    CHECK_CONTAINS(err.msg, "device memory");
    ops->ctx_free(ctx);
}

static void test_rotate(void)
{
    static const double angles[] = {0, 90, -90, 180, 30, -17.5, 123.25};
    for (int i = 0; i < N_SIZES; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        if ((size_t)w * h > 700 * 400) continue; /* 1080p adds nothing to the arithmetic */
        uint8_t *src = make_rgb(w, h, 7 + (uint64_t)i);
        uint8_t *want = malloc((size_t)w * h * 3), *got = malloc((size_t)w * h * 3);
        for (size_t a = 0; a < sizeof angles / sizeof *angles; a++) {
            struct vl_frame s = frame(src, w, h), d = frame(want, w, h);
            vl_cpu_rotate(&s, &d, angles[a]);
            double rad = angles[a] * (3.14159265358979323846 / 180.0);
            int64_t c = llround(cos(rad) * 65536.0), sn = llround(sin(rad) * 65536.0);
            if (fmod(angles[a], 90) == 0) /* exact at multiples of 90, as the CPU's */
                c = (int64_t)lround(cos(rad)) * 65536, sn = (int64_t)lround(sin(rad)) * 65536;
            struct vl_kern_rotation r;
            vl_kern_rotation_init(&r, w, h, c, sn);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    vl_kern_rotate_pixel(&r, src, x, y, got + ((size_t)y * w + x) * 3);
            CHECK(memcmp(want, got, (size_t)w * h * 3) == 0);
        }
        free(src), free(want), free(got);
    }
}

static void test_jitter(void)
{
    static const struct vl_color_jitter js[] = {
        {1.3, 1, 1, 0}, {1, 1, 0.4, 0}, {1, 1, 1, 0.21}, {0.8, 1, 1.7, -0.33}, {1.1, 1, 0, 0.5}};
    for (int i = 0; i < N_SIZES; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        size_t n = (size_t)w * h;
        uint8_t *src = make_rgb(w, h, 11 + (uint64_t)i), *want = malloc(n * 3),
                *got = malloc(n * 3);
        for (size_t k = 0; k < sizeof js / sizeof *js; k++) {
            const struct vl_color_jitter *j = &js[k];
            memcpy(want, src, n * 3);
            memcpy(got, src, n * 3);
            struct vl_frame f = frame(want, w, h);
            vl_cpu_color_jitter(&f, j);
            /* contrast 1: the tone table is the brightness's alone */
            uint8_t lut[256];
            for (int v = 0; v < 256; v++)
                lut[v] = (uint8_t)vl_kern_clamp255((int)lround(v * j->brightness));
            int tone = j->brightness != 1.0;
            int sq = (int)llround(j->saturation * 4096.0),
                shift = (int)llround(j->hue * 6.0 * 4096.0);
            for (size_t p = 0; p < n; p++)
                vl_kern_jitter_pixel(got + 3 * p, lut, tone, sq, shift);
            CHECK(memcmp(want, got, n * 3) == 0);
        }
        free(src), free(want), free(got);
    }
}

static void test_features(void)
{
    const struct vl_ops *ops = vl_ops_cpu();
    struct vl_error err;
    struct vl_ops_ctx *ctx = cpu_ctx();
    float cosines[8][8];
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cosines[u][x] =
                (float)((u ? sqrt(2.0 / 8) : sqrt(1.0 / 8)) * cos((2 * x + 1) * u * M_PI / 16));
    for (int i = 0; i < N_SIZES; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *src = make_rgb(w, h, 23 + (uint64_t)i), *grey = malloc((size_t)w * h);
        for (size_t p = 0; p < (size_t)w * h; p++)
            grey[p] = vl_kern_grey(src + 3 * p);
        double high = 0, total = 0;
        for (int by = 0; by + 8 <= h; by += 8)
            for (int bx = 0; bx + 8 <= w; bx += 8) {
                int64_t ac = vl_kern_dct_block(grey + (size_t)by * w + bx, (size_t)w,
                                               (const float(*)[8])cosines, &high);
                if (ac) total += (double)ac / 64;
            }
        double want = 0, got = total > 0 ? (high < total ? high / total : 1) : 0;
        struct vl_frame f = frame(src, w, h);
        CHECK(ops->dct_high_ratio(ctx, &f, &want, &err) == 0);
        CHECK(want == got);                           /* the same bits */
        if (w >= 37) CHECK(got > 0.05 && got < 0.95); /* noise and gradients: neither extreme */
        free(src), free(grey);
    }
    ops->ctx_free(ctx);
}

/* swscale's unscaled yuv420p -> RGB24 with the matrix and range set as the
 * reader sets them (src/video: sws_setColorspaceDetails with the table of
 * the matrix both ways, the input range, the output range swscale's). */
static void swscale_rgb(const uint8_t *const planes[3], const int strides[3], int w, int h,
                        int matrix, int full, uint8_t *out)
{
    struct SwsContext *sws = sws_getContext(w, h, AV_PIX_FMT_YUV420P, w, h, AV_PIX_FMT_RGB24,
                                            SWS_BILINEAR, NULL, NULL, NULL);
    CHECK(sws != NULL);
    int *inv, *table, src_full, dst_full, brightness, contrast, saturation;
    CHECK(sws_getColorspaceDetails(sws, &inv, &src_full, &table, &dst_full, &brightness, &contrast,
                                   &saturation) >= 0);
    inv = table = (int *)sws_getCoefficients(matrix);
    sws_setColorspaceDetails(sws, inv, full, table, dst_full, brightness, contrast, saturation);
    int out_stride[4] = {w * 3, 0, 0, 0};
    uint8_t *dst[4] = {out, NULL, NULL, NULL};
    sws_scale(sws, planes, strides, 0, h, dst, out_stride);
    sws_freeContext(sws);
}

static void test_yuv(void)
{
    static const int matrices[] = {VL_KERN_SPC_BT709,     VL_KERN_SPC_FCC,
                                   VL_KERN_SPC_BT470BG,   VL_KERN_SPC_SMPTE170M,
                                   VL_KERN_SPC_SMPTE240M, VL_KERN_SPC_BT2020_NCL};
    for (size_t m = 0; m < sizeof matrices / sizeof *matrices; m++) {
        int32_t t[4];
        vl_kern_yuv_table(matrices[m], t);
        const int *s = sws_getCoefficients(matrices[m]);
        CHECK(t[0] == s[0] && t[1] == s[1] && t[2] == s[2] && t[3] == s[3]);
    }
    static const int yuv_sizes[][2] = {{2, 2}, {17, 9}, {37, 23}, {640, 360}, {1921, 1081}};
    for (size_t i = 0; i < sizeof yuv_sizes / sizeof *yuv_sizes; i++) {
        int w = yuv_sizes[i][0], h = yuv_sizes[i][1], cw = (w + 1) / 2, ch = (h + 1) / 2;
        int ys = w + 32, cs = cw + 32; /* strides wider than the rows, as decoders give */
        uint8_t *y = malloc((size_t)ys * h), *u = malloc((size_t)cs * ch),
                *v = malloc((size_t)cs * ch);
        struct vl_rng r;
        vl_rng_seed(&r, 99 + i);
        for (int yy = 0; yy < h; yy++)
            for (int x = 0; x < ys; x++)
                y[(size_t)yy * ys + x] =
                    (uint8_t)(x < w ? (x * 7 + yy * 3 + (vl_rng_next(&r) & 15)) : 0);
        for (int yy = 0; yy < ch; yy++)
            for (int x = 0; x < cs; x++) {
                /* triangle waves: chroma that changes by at most a
                 * quarter level a sample, as in pictures, where the
                 * CPU's converters differ in how they place chroma */
                int tu = ((x + yy) / 4) & 127, tv = ((3 * x + 2 * yy + 50) / 4) & 127;
                u[(size_t)yy * cs + x] = (uint8_t)(64 + (tu < 64 ? tu : 127 - tu) * 2);
                v[(size_t)yy * cs + x] = (uint8_t)(192 - (tv < 64 ? tv : 127 - tv) * 2);
            }
        const uint8_t *planes[3] = {y, u, v};
        int strides[3] = {ys, cs, cs};
        uint8_t *want = malloc((size_t)w * h * 3 + 64), *got = malloc((size_t)w * h * 3);
        for (int full = 0; full < 2; full++)
            for (size_t m = 0; m < sizeof matrices / sizeof *matrices; m += 2) {
                swscale_rgb(planes, strides, w, h, matrices[m], full, want);
                struct vl_kern_yuv_coeffs c;
                vl_kern_yuv_coeffs(matrices[m], full, &c);
                for (int yy = 0; yy < h; yy++)
                    for (int x = 0; x < w; x++)
                        vl_kern_yuv420p_pixel(&c, y, ys, u, cs, v, cs, x, yy,
                                              got + ((size_t)yy * w + x) * 3);
                size_t n = (size_t)w * h * 3, diff_sum = 0;
                int worst = 0;
                for (size_t k = 0; k < n; k++) {
                    int d = abs((int)want[k] - (int)got[k]);
                    diff_sum += (size_t)d;
                    if (d > worst) worst = d;
                }
                double mad = (double)diff_sum / (double)n;
                if (mad > 1.0 || worst > 6)
                    fprintf(stderr, "yuv %dx%d matrix %d full %d: mean %.3f, largest %d\n", w, h,
                            matrices[m], full, mad, worst);
                CHECK(mad <= 1.0);
                CHECK(worst <= 6);
            }
        free(y), free(u), free(v), free(want), free(got);
    }
}

int main(void)
{
    test_crop_flip();
    test_rotate();
    test_jitter();
    test_features();
    test_yuv();
    TEST_DONE();
}
