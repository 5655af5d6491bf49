/* test_ops_resize_features.c - the CPU resize and feature operations against
 * values computed by hand on tiny synthetic frames: exact histogram bins, a
 * step edge's edge density, a constant frame's zero sharpness and DCT ratio,
 * a checkerboard's, the motion of a moving square, and swscale resizing that
 * keeps flat colours exact and averages blocks under `area`. */
#include "test.h"

#include <math.h>

#include "ops/cpu.h"

#define MAXW 64

struct img {
    uint8_t rgb[MAXW * MAXW * 3];
    struct vl_frame f;
};

static void img_init(struct img *m, int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    m->f = (struct vl_frame){m->rgb, w, h, VL_MEM_HOST};
    for (int i = 0; i < w * h; i++) m->rgb[3 * i] = r, m->rgb[3 * i + 1] = g, m->rgb[3 * i + 2] = b;
}

static void put(struct img *m, int x, int y, uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t *p = m->rgb + ((size_t)y * m->f.width + x) * 3;
    p[0] = r, p[1] = g, p[2] = b;
}

static void square(struct img *m, int x0, int y0, int side, uint8_t v)
{
    for (int y = y0; y < y0 + side; y++)
        for (int x = x0; x < x0 + side; x++) put(m, x, y, v, v, v);
}

static void test_histogram_bins_exact(void)
{
    struct img m;
    img_init(&m, 8, 8, 0, 0, 0);
    /* quadrants: red, green, blue, white (16 pixels each) */
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            int q = (y >= 4) * 2 + (x >= 4);
            if (q == 0) put(&m, x, y, 255, 0, 0);
            if (q == 1) put(&m, x, y, 0, 255, 0);
            if (q == 2) put(&m, x, y, 0, 0, 255);
            if (q == 3) put(&m, x, y, 255, 255, 255);
        }
    float h[24];
    vl_cpu_hsv_histogram(&m.f, 8, h);
    /* hue: red 0 -> bin 0, green 120/360*8 = 2.67 -> 2, blue 5.33 -> 5, white (grey) -> 0 */
    float want_h[8] = {0.5f, 0, 0.25f, 0, 0, 0.25f, 0, 0};
    /* saturation: the colours 1 -> bin 7, white 0 -> bin 0; value: all 255 -> bin 7 */
    float want_s[8] = {0.25f, 0, 0, 0, 0, 0, 0, 0.75f};
    float want_v[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= h[i] == want_h[i] && h[8 + i] == want_s[i] && h[16 + i] == want_v[i];
    CHECK(ok);
    /* a dark grey: value 100*4/256 = 1.56 -> bin 1 of 4 */
    img_init(&m, 4, 4, 100, 100, 100);
    float g[12];
    vl_cpu_hsv_histogram(&m.f, 4, g);
    CHECK(g[0] == 1 && g[4] == 1 && g[8 + 1] == 1);
}

static void test_constant_frame(struct vl_ops_ctx *ctx)
{
    struct img m;
    img_init(&m, 16, 16, 90, 140, 200);
    CHECK(vl_cpu_laplacian_variance(ctx, &m.f) == 0);
    CHECK(vl_cpu_dct_high_ratio(ctx, &m.f) == 0);
    CHECK(vl_cpu_edge_density(ctx, &m.f, 10) == 0);
    struct vl_motion mo;
    vl_cpu_motion(ctx, &m.f, &m.f, &mo);
    CHECK(mo.mean == 0 && mo.spread == 0 && mo.horizontal == 0 && mo.vertical == 0);
}

static void test_step_edge_density(struct vl_ops_ctx *ctx)
{
    struct img m;
    img_init(&m, 8, 8, 0, 0, 0);
    for (int y = 0; y < 8; y++)
        for (int x = 4; x < 8; x++) put(&m, x, y, 255, 255, 255);
    /* interior is 6x6 = 36 pixels; columns 3 and 4 see gx = 4 * 255 = 1020 */
    CHECK(fabs(vl_cpu_edge_density(ctx, &m.f, 100) - 12.0 / 36) < 1e-12);
    CHECK(vl_cpu_edge_density(ctx, &m.f, 1020) == 0); /* strictly above the threshold */
    CHECK(fabs(vl_cpu_edge_density(ctx, &m.f, 1019) - 12.0 / 36) < 1e-12);
}

static void test_checkerboard(struct vl_ops_ctx *ctx)
{
    struct img m;
    img_init(&m, 8, 8, 0, 0, 0);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            if ((x + y) & 1) put(&m, x, y, 255, 255, 255);
    /* a one-pixel checkerboard: 0.987386 (numpy: C @ p @ C.T with the
     * orthonormal DCT-II matrix C, AC energy with u + v >= 8 over all AC) */
    double r = vl_cpu_dct_high_ratio(ctx, &m.f);
    CHECK(fabs(r - 0.9873864) < 1e-5);
    /* every interior Laplacian is +-1020, half each: variance 1020^2 */
    CHECK(fabs(vl_cpu_laplacian_variance(ctx, &m.f) - 1020.0 * 1020) < 1e-6);
    /* a horizontal ramp is all low frequency */
    img_init(&m, 16, 16, 0, 0, 0);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) put(&m, x, y, x * 16, x * 16, x * 16);
    CHECK(vl_cpu_dct_high_ratio(ctx, &m.f) < 0.01);
}

static void test_motion_of_a_square(struct vl_ops_ctx *ctx)
{
    struct img a, b;
    img_init(&a, 32, 32, 0, 0, 0);
    img_init(&b, 32, 32, 0, 0, 0);
    square(&a, 10, 12, 8, 255);
    square(&b, 11, 12, 8, 255); /* one pixel to the right */
    struct vl_motion mo;
    vl_cpu_motion(ctx, &a.f, &b.f, &mo);
    /* 8 pixels go dark and 8 go bright, d = 255 each */
    CHECK(fabs(mo.mean - 16.0 * 255 / 1024) < 1e-12);
    double var = 16.0 * 255 * 255 / 1024 - mo.mean * mo.mean;
    CHECK(fabs(mo.spread - sqrt(var)) < 1e-9);
    printf("bright square right 1 px: horizontal %.3f vertical %.3f\n", mo.horizontal,
           mo.vertical);
    CHECK(mo.horizontal > 0.5 && mo.horizontal < 1.5 && fabs(mo.vertical) < 0.05);
    /* a dark square on a bright ground moving up */
    img_init(&a, 32, 32, 200, 200, 200);
    img_init(&b, 32, 32, 200, 200, 200);
    square(&a, 10, 12, 8, 20);
    square(&b, 10, 10, 8, 20);
    vl_cpu_motion(ctx, &a.f, &b.f, &mo);
    printf("dark square up 2 px: horizontal %.3f vertical %.3f\n", mo.horizontal, mo.vertical);
    CHECK(mo.vertical < -0.5 && fabs(mo.horizontal) < 0.05);
    /* a vertical edge moving left: the aperture still gives its normal motion */
    img_init(&a, 32, 32, 0, 0, 0);
    img_init(&b, 32, 32, 0, 0, 0);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            if (x >= 16) put(&a, x, y, 255, 255, 255);
            if (x >= 15) put(&b, x, y, 255, 255, 255);
        }
    vl_cpu_motion(ctx, &a.f, &b.f, &mo);
    CHECK(mo.horizontal < -0.5 && fabs(mo.vertical) < 1e-6);
}

static void test_resize(struct vl_ops_ctx *ctx)
{
    static uint8_t out[MAXW * MAXW * 3];
    struct img m;
    struct vl_error err;
    enum vl_interp kinds[3] = {VL_INTERP_AREA, VL_INTERP_BILINEAR, VL_INTERP_BICUBIC};
    for (int k = 0; k < 3; k++) { /* a flat colour stays exactly that colour */
        img_init(&m, 40, 30, 17, 128, 240);
        struct vl_frame d = {out, 23, 11, VL_MEM_HOST};
        CHECK(vl_cpu_resize(ctx, &m.f, &d, kinds[k], &err) == 0);
        int exact = 1;
        for (int i = 0; i < 23 * 11; i++)
            exact &= out[3 * i] == 17 && out[3 * i + 1] == 128 && out[3 * i + 2] == 240;
        CHECK(exact);
    }
    /* area halving averages 2x2 blocks */
    img_init(&m, 16, 16, 0, 0, 0);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) put(&m, x, y, (x * 37 + y * 11) & 255, x * 8, y * 12);
    struct vl_frame d = {out, 8, 8, VL_MEM_HOST};
    CHECK(vl_cpu_resize(ctx, &m.f, &d, VL_INTERP_AREA, &err) == 0);
    int worst = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        s += m.rgb[((size_t)(2 * y + dy) * 16 + 2 * x + dx) * 3 + c];
                int diff = abs(out[((size_t)y * 8 + x) * 3 + c] - (s + 2) / 4);
                if (diff > worst) worst = diff;
            }
    printf("area halving: worst difference from the 2x2 mean %d\n", worst);
    CHECK(worst <= 1);
    /* same size is a copy; a bad size is an error */
    struct vl_frame same = {out, 16, 16, VL_MEM_HOST};
    CHECK(vl_cpu_resize(ctx, &m.f, &same, VL_INTERP_BICUBIC, &err) == 0);
    CHECK(memcmp(out, m.rgb, 16 * 16 * 3) == 0);
    struct vl_frame bad = {out, 0, 16, VL_MEM_HOST};
    CHECK(vl_cpu_resize(ctx, &m.f, &bad, VL_INTERP_AREA, &err) < 0);
    CHECK_CONTAINS(err.msg, "resize");
}

int main(void)
{
    struct vl_ops_ctx ctx = {0};
    test_histogram_bins_exact();
    test_constant_frame(&ctx);
    test_step_edge_density(&ctx);
    test_checkerboard(&ctx);
    test_motion_of_a_square(&ctx);
    test_resize(&ctx);
    vl_cpu_resize_free(ctx.resize);
    vl_cpu_feature_free(ctx.feature);
    TEST_DONE();
}
