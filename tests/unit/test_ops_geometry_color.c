/* test_ops_geometry_color.c - the CPU geometry and colour operations on
 * small synthetic frames, against hand-computed values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu.h"
#include "test.h"
#include "util/rng.h"

static struct vl_frame frame_new(int w, int h)
{
    struct vl_frame f = {calloc((size_t)w * h * 3, 1), w, h, VL_MEM_HOST};
    if (!f.rgb) abort();
    return f;
}

static uint8_t *px(const struct vl_frame *f, int x, int y)
{
    return f->rgb + ((size_t)y * f->width + x) * 3;
}

static void fill(struct vl_frame *f, int r, int g, int b)
{
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            uint8_t *p = px(f, x, y);
            p[0] = (uint8_t)r, p[1] = (uint8_t)g, p[2] = (uint8_t)b;
        }
}

static void test_flip_mirrors_a_gradient(void)
{
    struct vl_frame f = frame_new(5, 3);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) px(&f, x, y)[0] = (uint8_t)(x * 50), px(&f, x, y)[1] = (uint8_t)y;
    vl_cpu_flip_horizontal(&f);
    int ok = 1;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) ok &= px(&f, x, y)[0] == (4 - x) * 50 && px(&f, x, y)[1] == y;
    CHECK(ok);
    free(f.rgb);
}

static void test_crop_takes_the_window(void)
{
    struct vl_frame f = frame_new(8, 6), d = frame_new(3, 2);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 8; x++) px(&f, x, y)[0] = (uint8_t)x, px(&f, x, y)[1] = (uint8_t)y;
    vl_cpu_crop(&f, 2, 1, &d);
    int ok = 1;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) ok &= px(&d, x, y)[0] == 2 + x && px(&d, x, y)[1] == 1 + y;
    CHECK(ok);
    free(f.rgb);
    free(d.rgb);
}

static void test_rotate_quarter_turns_move_known_pixels(void)
{
    struct vl_frame f = frame_new(5, 5), d = frame_new(5, 5);
    px(&f, 4, 2)[0] = 255; /* middle of the right edge */
    px(&f, 0, 0)[1] = 200; /* top-left corner */
    vl_cpu_rotate(&f, &d, 90);
    CHECK(px(&d, 2, 0)[0] == 255); /* counter-clockwise: right edge goes to the top */
    CHECK(px(&d, 0, 4)[1] == 200); /* top-left goes to bottom-left */
    CHECK(px(&d, 4, 2)[0] == 0);
    vl_cpu_rotate(&f, &d, 180);
    CHECK(px(&d, 0, 2)[0] == 255);
    CHECK(px(&d, 4, 4)[1] == 200);
    vl_cpu_rotate(&f, &d, -90);
    CHECK(px(&d, 2, 4)[0] == 255);
    vl_cpu_rotate(&f, &d, 0);
    CHECK(memcmp(f.rgb, d.rgb, 75) == 0);
    free(f.rgb);
    free(d.rgb);
}

static void test_rotate_keeps_the_centre_and_blackens_corners(void)
{
    struct vl_frame f = frame_new(41, 41), d = frame_new(41, 41);
    fill(&f, 100, 120, 140);
    vl_cpu_rotate(&f, &d, 30);
    CHECK(px(&d, 20, 20)[0] == 100 && px(&d, 20, 20)[2] == 140);
    CHECK(px(&d, 0, 0)[0] == 0 && px(&d, 40, 40)[1] == 0);
    free(f.rgb);
    free(d.rgb);
}

static void jitter_pixel(const uint8_t in[3], const struct vl_color_jitter *j, uint8_t out[3])
{
    struct vl_frame f = frame_new(1, 1);
    memcpy(f.rgb, in, 3);
    vl_cpu_color_jitter(&f, j);
    memcpy(out, f.rgb, 3);
    free(f.rgb);
}

static int near(int a, int b)
{
    return abs(a - b) <= 1;
}

static void test_brightness_saturation_hue_on_known_colours(void)
{
    const uint8_t c[3] = {100, 150, 200};
    uint8_t o[3];
    jitter_pixel(c, &(struct vl_color_jitter){1.5, 1, 1, 0}, o);
    CHECK(o[0] == 150 && o[1] == 225 && o[2] == 255);
    /* grey = 0.299*100 + 0.587*150 + 0.114*200 = 140.75 */
    jitter_pixel(c, &(struct vl_color_jitter){1, 1, 0, 0}, o);
    CHECK(near(o[0], 141) && near(o[1], 141) && near(o[2], 141));
    jitter_pixel(c, &(struct vl_color_jitter){1, 1, 2, 0}, o); /* 2v - grey */
    CHECK(near(o[0], 59) && near(o[1], 159) && o[2] == 255);
    jitter_pixel(c, &(struct vl_color_jitter){1, 1, 0.5, 0}, o); /* (v + grey) / 2 */
    CHECK(near(o[0], 120) && near(o[1], 145) && near(o[2], 170));
    const uint8_t red[3] = {255, 0, 0};
    jitter_pixel(red, &(struct vl_color_jitter){1, 1, 1, 1.0 / 3}, o);
    CHECK(o[0] == 0 && o[1] == 255 && o[2] == 0);
    /* (200,100,50): h = 1/18 turn, v = 200, min = 50; +0.5 turn gives (50,150,200) */
    const uint8_t orange[3] = {200, 100, 50};
    jitter_pixel(orange, &(struct vl_color_jitter){1, 1, 1, 0.5}, o);
    CHECK(near(o[0], 50) && near(o[1], 150) && near(o[2], 200));
    jitter_pixel(orange, &(struct vl_color_jitter){1, 1, 1, -0.5}, o);
    CHECK(near(o[0], 50) && near(o[1], 150) && near(o[2], 200));
    const uint8_t grey[3] = {90, 90, 90}; /* no hue: unchanged */
    jitter_pixel(grey, &(struct vl_color_jitter){1, 1, 1, 0.25}, o);
    CHECK(o[0] == 90 && o[1] == 90 && o[2] == 90);
}

static void test_contrast_blends_with_the_mean_grey(void)
{
    /* half the frame (0,0,0), half (200,200,200): mean grey 100 */
    struct vl_frame f = frame_new(4, 1);
    memset(f.rgb + 6, 200, 6);
    vl_cpu_color_jitter(&f, &(struct vl_color_jitter){1, 0.5, 1, 0});
    CHECK(near(f.rgb[0], 50) && near(f.rgb[9], 150));
    /* brightness first: 0.5 -> values 0 and 100, mean 50; contrast 2 -> 0 and 150 */
    memset(f.rgb, 0, 6);
    memset(f.rgb + 6, 200, 6);
    vl_cpu_color_jitter(&f, &(struct vl_color_jitter){0.5, 2, 1, 0});
    CHECK(f.rgb[0] == 0 && near(f.rgb[9], 150));
    free(f.rgb);
}

static void stats(const struct vl_frame *f, double *mean, double *sd)
{
    size_t n = (size_t)f->width * f->height * 3;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += f->rgb[i], s2 += (double)f->rgb[i] * f->rgb[i];
    *mean = s / n;
    *sd = sqrt(s2 / n - *mean * *mean);
}

static void test_noise_has_the_requested_sigma(void)
{
    struct vl_frame f = frame_new(256, 256), g = frame_new(256, 256);
    fill(&f, 128, 128, 128);
    fill(&g, 128, 128, 128);
    vl_cpu_gaussian_noise(&f, 10, 42);
    double mean, sd;
    stats(&f, &mean, &sd);
    CHECK(fabs(mean - 128) < 0.5);
    CHECK(sd > 9.7 && sd < 10.3);
    vl_cpu_gaussian_noise(&g, 10, 42);
    CHECK(memcmp(f.rgb, g.rgb, 256 * 256 * 3) == 0);
    fill(&g, 128, 128, 128);
    vl_cpu_gaussian_noise(&g, 10, 43);
    CHECK(memcmp(f.rgb, g.rgb, 256 * 256 * 3) != 0);
    fill(&g, 128, 128, 128);
    vl_cpu_gaussian_noise(&g, 40, 1);
    stats(&g, &mean, &sd);
    CHECK(sd > 38.8 && sd < 41.2);
    free(f.rgb);
    free(g.rgb);
}

static void test_blur_keeps_the_mean_and_lowers_the_variance(void)
{
    struct vl_ops_ctx ctx = {0};
    struct vl_error err;
    struct vl_frame f = frame_new(64, 48);
    struct vl_rng r;
    vl_rng_seed(&r, 7);
    for (size_t i = 0; i < 64 * 48 * 3; i++) f.rgb[i] = (uint8_t)(vl_rng_next(&r) >> 56);
    double m0, s0, m1, s1;
    stats(&f, &m0, &s0);
    CHECK(vl_cpu_gaussian_blur(&ctx, &f, 2.0, &err) == 0);
    stats(&f, &m1, &s1);
    CHECK(fabs(m1 - m0) < 1.0);
    CHECK(s1 < s0 * 0.3);
    fill(&f, 77, 88, 99);
    CHECK(vl_cpu_gaussian_blur(&ctx, &f, 5.0, &err) == 0); /* a new kernel, same buffers */
    CHECK(px(&f, 0, 0)[0] == 77 && px(&f, 63, 47)[2] == 99 && px(&f, 30, 20)[1] == 88);
    CHECK(vl_cpu_gaussian_blur(&ctx, &f, 50.0, &err) < 0);
    vl_cpu_filter_free(ctx.filter);
    free(f.rgb);
}

/* The yuv420p crop/flip/table pass against its definition, at every width
 * from 1 to 200 (whole 64-sample blocks of the vector path and every tail),
 * mirrored and not, on random planes and tables. */
static void test_yuv_crop_flip_map_matches_the_definition(void)
{
    enum { SW = 260, SH = 6 };
    struct vl_rng rng;
    vl_rng_seed(&rng, 11);
    uint8_t y[SW * SH], u[SW / 2 * SH / 2], v[SW / 2 * SH / 2], ylut[256], clut[256];
    for (size_t i = 0; i < sizeof y; i++) y[i] = (uint8_t)vl_rng_next(&rng);
    for (size_t i = 0; i < sizeof u; i++) u[i] = (uint8_t)vl_rng_next(&rng);
    for (size_t i = 0; i < sizeof v; i++) v[i] = (uint8_t)vl_rng_next(&rng);
    for (int i = 0; i < 256; i++) ylut[i] = (uint8_t)vl_rng_next(&rng), clut[i] = (uint8_t)vl_rng_next(&rng);
    struct vl_yuv_frame src = {{y, u, v}, {SW, SW / 2, SW / 2}, SW, SH, 0, VL_MEM_HOST, 0};
    uint8_t dy[200 * 4], du[100 * 2], dv[100 * 2];
    int bad = 0;
    for (int w = 1; w <= 200; w++)
        for (int flip = 0; flip < 2; flip++) {
            struct vl_yuv_frame dst = {{dy, du, dv}, {w, (w + 1) / 2, (w + 1) / 2}, w, 4, 0, VL_MEM_HOST, 0};
            int x = 2 * (w % 29), top = 2;
            vl_cpu_yuv_crop_flip_map(&src, x, top, flip, ylut, clut, &dst);
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < w; c++) {
                    int sc = x + (flip ? w - 1 - c : c);
                    bad += dy[r * w + c] != ylut[y[(top + r) * SW + sc]];
                }
            int cw = (w + 1) / 2;
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < cw; c++) {
                    int sc = x / 2 + (flip ? cw - 1 - c : c);
                    bad += du[r * cw + c] != clut[u[(top / 2 + r) * (SW / 2) + sc]];
                    bad += dv[r * cw + c] != clut[v[(top / 2 + r) * (SW / 2) + sc]];
                }
        }
    CHECK(bad == 0);
}

/* Brightness scales Y from black: Y 16 in limited range, Y 0 in full range
 * (a full-range picture darkened by half keeps black at 0, not 8). */
static void test_yuv_brightness_scales_from_the_range_black(void)
{
    uint8_t y[4 * 2] = {0, 16, 100, 255, 0, 16, 100, 255}, u[2] = {128, 200}, v[2] = {128, 60};
    struct vl_color_jitter half = {0.5, 1, 1, 0};
    uint8_t ylut[256], clut[256];
    struct vl_yuv_frame tv = {{y, u, v}, {4, 2, 2}, 4, 2, 0, VL_MEM_HOST, 0};
    vl_cpu_yuv_jitter_tables(&tv, 0, 0, 4, 2, &half, ylut, clut);
    CHECK(ylut[16] == 16 && ylut[116] == 66 && ylut[0] == 8 && clut[200] == 164);
    struct vl_yuv_frame pc = tv;
    pc.full_range = 1;
    vl_cpu_yuv_jitter_tables(&pc, 0, 0, 4, 2, &half, ylut, clut);
    CHECK(ylut[0] == 0 && ylut[16] == 8 && ylut[100] == 50 && ylut[255] == 128 && clut[200] == 164);
}

/* The 10-bit tables are the 8-bit arithmetic scaled by 4: black 64
 * (limited) or 0 (full), neutral chroma 512, clamped to 1023; no jitter is
 * the identity on all 1024 levels, and each level is close to four times
 * the 8-bit table at a quarter of it (the 8-bit chain rounds up to three
 * times, by up to half a level, 2 at 10 bits, each). */
static void test_yuv10_tables_are_the_8_bit_ones_scaled(void)
{
    uint16_t y[4 * 2] = {0, 64, 400, 1023, 0, 64, 400, 1023}, u[2] = {512, 800}, v[2] = {512, 240};
    struct vl_yuv_frame tv = {{(uint8_t *)y, (uint8_t *)u, (uint8_t *)v}, {8, 4, 4}, 4, 2, 0,
                              VL_MEM_HOST, 0};
    struct vl_color_jitter none = {1, 1, 1, 0}, half = {0.5, 1, 1, 0}, bright = {1.5, 1, 1, 0};
    uint16_t ylut[1024], clut[1024];
    vl_cpu_yuv10_jitter_tables(&tv, 0, 0, 4, 2, &none, ylut, clut);
    int identity = 1;
    for (int i = 0; i < 1024; i++) identity &= ylut[i] == i && clut[i] == i;
    CHECK(identity);
    vl_cpu_yuv10_jitter_tables(&tv, 0, 0, 4, 2, &half, ylut, clut);
    CHECK(ylut[64] == 64 && ylut[464] == 264 && ylut[0] == 32 && clut[512] == 512 &&
          clut[800] == 656);
    vl_cpu_yuv10_jitter_tables(&tv, 0, 0, 4, 2, &bright, ylut, clut);
    CHECK(ylut[1023] == 1023 && ylut[900] == 1023 && clut[1023] == 1023 && clut[0] == 0);
    struct vl_yuv_frame pc = tv;
    pc.full_range = 1;
    vl_cpu_yuv10_jitter_tables(&pc, 0, 0, 4, 2, &half, ylut, clut);
    CHECK(ylut[0] == 0 && ylut[64] == 32 && ylut[1023] == 512);
    /* against the 8-bit tables of the same jitter, contrast and saturation included */
    uint8_t y8[8] = {0, 16, 100, 255, 0, 16, 100, 255}, u8[2] = {128, 200}, v8[2] = {128, 60};
    for (size_t i = 0; i < 8; i++) y[i] = (uint16_t)(4 * y8[i]);
    struct vl_yuv_frame t8 = {{y8, u8, v8}, {4, 2, 2}, 4, 2, 0, VL_MEM_HOST, 0};
    struct vl_color_jitter mix = {1.2, 0.7, 1.4, 0};
    uint8_t l8[256], c8[256];
    int worst = 0;
    for (int full = 0; full < 2; full++) {
        t8.full_range = tv.full_range = full;
        vl_cpu_yuv_jitter_tables(&t8, 0, 0, 4, 2, &mix, l8, c8);
        vl_cpu_yuv10_jitter_tables(&tv, 0, 0, 4, 2, &mix, ylut, clut);
        for (int i = 0; i < 256; i++) {
            int dy = abs(ylut[4 * i] - 4 * l8[i]), dc = abs(clut[4 * i] - 4 * c8[i]);
            worst = dy > worst ? dy : dc > worst ? dc : worst;
        }
    }
    printf("10-bit tables: at most %d from four times the 8-bit ones\n", worst);
    CHECK(worst <= 7); /* 6 here: three 8-bit roundings of 2, and the 10-bit ones */
}

/* The 10-bit crop/flip/table pass against its definition: 16-bit
 * little-endian samples, 4:2:2 (chroma rows = luma rows), the top 6 bits
 * of a sample ignored by the table. */
static void test_yuv10_crop_flip_map_matches_the_definition(void)
{
    enum { SW = 40, SH = 6 };
    struct vl_rng rng;
    vl_rng_seed(&rng, 12);
    uint16_t y[SW * SH], u[SW / 2 * SH], v[SW / 2 * SH], ylut[1024], clut[1024];
    for (size_t i = 0; i < SW * SH; i++) y[i] = (uint16_t)vl_rng_next(&rng);
    for (size_t i = 0; i < SW / 2 * SH; i++)
        u[i] = (uint16_t)vl_rng_next(&rng), v[i] = (uint16_t)vl_rng_next(&rng);
    for (int i = 0; i < 1024; i++)
        ylut[i] = (uint16_t)(vl_rng_next(&rng) & 1023), clut[i] = (uint16_t)(vl_rng_next(&rng) & 1023);
    struct vl_yuv_frame src = {{(uint8_t *)y, (uint8_t *)u, (uint8_t *)v}, {2 * SW, SW, SW}, SW,
                               SH, 0, VL_MEM_HOST, 1};
    uint16_t dy[30 * 4], du[15 * 4], dv[15 * 4];
    int bad = 0;
    for (int w = 1; w <= 30; w++)
        for (int flip = 0; flip < 2; flip++) {
            int cw = (w + 1) / 2, x = 2 * (w % 5), top = 1;
            struct vl_yuv_frame dst = {{(uint8_t *)dy, (uint8_t *)du, (uint8_t *)dv},
                                       {2 * w, 2 * cw, 2 * cw}, w, 4, 0, VL_MEM_HOST, 1};
            vl_cpu_yuv10_crop_flip_map(&src, x, top, flip, ylut, clut, &dst);
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < w; c++)
                    bad += dy[r * w + c] != ylut[y[(top + r) * SW + x + (flip ? w - 1 - c : c)] & 1023];
                for (int c = 0; c < cw; c++) {
                    int sc = (top + r) * (SW / 2) + x / 2 + (flip ? cw - 1 - c : c);
                    bad += du[r * cw + c] != clut[u[sc] & 1023];
                    bad += dv[r * cw + c] != clut[v[sc] & 1023];
                }
            }
        }
    CHECK(bad == 0);
}

int main(void)
{
    test_yuv10_tables_are_the_8_bit_ones_scaled();
    test_yuv10_crop_flip_map_matches_the_definition();
    test_yuv_brightness_scales_from_the_range_black();
    test_flip_mirrors_a_gradient();
    test_crop_takes_the_window();
    test_rotate_quarter_turns_move_known_pixels();
    test_rotate_keeps_the_centre_and_blackens_corners();
    test_brightness_saturation_hue_on_known_colours();
    test_contrast_blends_with_the_mean_grey();
    test_noise_has_the_requested_sigma();
    test_blur_keeps_the_mean_and_lowers_the_variance();
    test_yuv_crop_flip_map_matches_the_definition();
    TEST_DONE();
}
