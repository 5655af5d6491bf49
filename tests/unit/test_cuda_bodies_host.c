/* test_cuda_bodies_host.c - the CUDA table's own bodies and host pieces
 * (src/cuda/ops_bodies.h) run on the host, element by element as the
 * kernels run them, against the CPU table, on 1x1 to 1920x1080 frames:
 * blur (both per-element sweeps of the shared kernel), the DCT ratio
 * (per-block coefficients summed in the CPU's order), all bit-exact; the
 * counter-based noise: the same seed gives the same bytes, its mean and
 * standard deviation on flat grey are those of the CPU's distribution.
 * With them the CUDA table's other host-side flows, on pieces it shares
 * with the CPU (src/ops/kern/): rotate per pixel, colour jitter from
 * channel histograms then the per-pixel body, the yuv tables from the
 * window's Y histogram, the HSV histogram from per-pixel bins, counted.
 * Runs everywhere (no GPU needed): what it cannot check is the device's
 * own execution (test_cuda_ops). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/ops_bodies.h"
#include "ops/kern/features.h"
#include "ops/kern/geometry.h"
#include "ops/kern/jitter.h"
#include "ops/kern/tables.h"
#include "test.h"

static const struct vl_ops *cpu;
static struct vl_ops_ctx *ctx;
static struct vl_error err;

static uint8_t *pixels(int w, int h, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h * 3 + 1);
    if (!p) abort();
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        /* blocks of flat colour, gradients and noise */
        size_t px = i / 3, x = px % (size_t)w, y = px / (size_t)w;
        p[i] = (x / 8 + y / 8) % 3 == 0 ? (uint8_t)(40 * (i % 3)) : (uint8_t)(x + y * 3 + (seed >> 60));
    }
    return p;
}

static void rotate_check(struct vl_frame *f, uint8_t *got, uint8_t *want)
{
    static const double angles[] = {0, 17.5, 90, -33, 180, 271.25};
    struct vl_frame dst = {want, f->width, f->height, VL_MEM_HOST};
    for (size_t a = 0; a < sizeof angles / sizeof *angles; a++) {
        CHECK(cpu->rotate(ctx, f, &dst, angles[a], &err) == 0);
        int64_t c, s;
        vl_kern_fixed_cos_sin(angles[a], &c, &s);
        struct vl_kern_rotation r;
        vl_kern_rotation_init(&r, f->width, f->height, c, s);
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++)
                vl_kern_rotate_pixel(&r, f->rgb, x, y, got + ((size_t)y * f->width + x) * 3);
        CHECK(!memcmp(got, want, (size_t)f->width * f->height * 3));
    }
}

static void blur_check(struct vl_frame *f, uint8_t *got, uint8_t *want)
{
    static const double sigmas[] = {0.5, 0.8, 2.5, 7};
    size_t n = (size_t)f->width * f->height * 3;
    uint8_t *mid = malloc(n);
    if (!mid) abort();
    for (size_t k = 0; k < sizeof sigmas / sizeof *sigmas; k++) {
        memcpy(want, f->rgb, n);
        struct vl_frame dst = {want, f->width, f->height, VL_MEM_HOST};
        CHECK(cpu->gaussian_blur(ctx, &dst, sigmas[k], &err) == 0);
        struct vl_kern_blur_kernel b;
        vl_kern_blur_kernel_of(sigmas[k], &b);
        for (size_t i = 0; i < n; i++) mid[i] = vl_cuda_blur_row_at(f->rgb, f->width, i, &b);
        for (size_t i = 0; i < n; i++)
            got[i] = vl_cuda_blur_column_at(mid, f->width, f->height, i, &b);
        CHECK(!memcmp(got, want, n));
    }
    free(mid);
}

static void jitter_check(struct vl_frame *f, uint8_t *got, uint8_t *want)
{
    static const struct vl_color_jitter js[] = {
        {1.2, 1, 1, 0}, {0.8, 1.3, 0.6, 0.1}, {1, 0.7, 1, -0.25}, {1, 1, 1.4, 0}, {1, 1, 1, 0}};
    size_t n = (size_t)f->width * f->height;
    uint64_t hist[3][256] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) hist[c][f->rgb[3 * i + c]]++;
    for (size_t k = 0; k < sizeof js / sizeof *js; k++) {
        const struct vl_color_jitter *j = &js[k];
        memcpy(want, f->rgb, 3 * n), memcpy(got, f->rgb, 3 * n);
        struct vl_frame dst = {want, f->width, f->height, VL_MEM_HOST};
        CHECK(cpu->color_jitter(ctx, &dst, j, &err) == 0);
        /* as color_jitter and k_jitter in ops_table.cu */
        int tone = j->brightness != 1.0 || j->contrast != 1.0;
        int sq = (int)llround(j->saturation * 4096.0), shift = (int)llround(j->hue * 6.0 * 4096.0);
        uint8_t lut[256];
        for (int v = 0; v < 256; v++) lut[v] = (uint8_t)v;
        if (tone) vl_kern_tone_lut((const uint64_t(*)[256])hist, n, j, lut);
        if (tone || sq != 4096 || shift)
            for (size_t i = 0; i < n; i++) {
                uint8_t *p = got + 3 * i;
                if (sq == 4096 && !shift) p[0] = lut[p[0]], p[1] = lut[p[1]], p[2] = lut[p[2]];
                else vl_kern_jitter_pixel(p, lut, tone, sq, shift);
            }
        CHECK(!memcmp(got, want, 3 * n));
    }
}

static void yuv_tables_check(int w, int h, uint64_t seed)
{
    uint8_t *y = pixels(w, h, seed); /* a Y plane of stride 3w */
    struct vl_yuv_frame src = {{y, y, y}, {3 * w, 3 * w, 3 * w}, w, h, 0, VL_MEM_HOST, 0};
    static const struct vl_color_jitter js[] = {{1.1, 0.8, 0.7, 0}, {0.9, 1, 1.2, 0}};
    for (int full = 0; full < 2; full++)
        for (size_t k = 0; k < 2; k++) {
            src.full_range = full;
            int x = w >= 4 ? 2 : 0, yy = h >= 4 ? 2 : 0, ww = w - x, hh = h - yy;
            uint8_t ya[256], ca[256];
            int yb[256], cb[256];
            CHECK(cpu->yuv_jitter_tables(ctx, &src, x, yy, ww, hh, &js[k], ya, ca, &err) == 0);
            uint32_t hist[256] = {0};
            for (int r = 0; r < hh; r++)
                for (int i = 0; i < ww; i++) hist[y[(size_t)(yy + r) * 3 * w + x + i]]++;
            vl_kern_yuv_tables(hist, (uint64_t)ww * hh, full, &js[k], 8, yb, cb);
            int same = 1;
            for (int v = 0; v < 256; v++) same &= ya[v] == yb[v] && ca[v] == cb[v];
            CHECK(same);
        }
    free(y);
}

static void features_check(struct vl_frame *f)
{
    int w = f->width, h = f->height;
    size_t n = (size_t)w * h;
    /* DCT: per-block coefficients, the host's sum */
    if (w >= 8 && h >= 8) {
        uint8_t *grey = malloc(n);
        int bw = w / 8, bh = h / 8;
        size_t nb = (size_t)bw * bh;
        int64_t *ac = malloc(nb * sizeof *ac);
        float *coef = malloc(nb * VL_CUDA_DCT_HIGH * sizeof *coef);
        if (!grey || !ac || !coef) abort();
        for (size_t i = 0; i < n; i++) grey[i] = vl_kern_grey(f->rgb + 3 * i);
        float cs[8][8];
        vl_kern_dct_cosines(cs);
        for (size_t b = 0; b < nb; b++)
            ac[b] = vl_cuda_dct_coefs(grey + (b / bw) * 8 * (size_t)w + (b % bw) * 8, (size_t)w,
                                      (const float(*)[8])cs, coef + b * VL_CUDA_DCT_HIGH);
        double want, got = vl_cuda_dct_ratio(ac, coef, nb);
        CHECK(cpu->dct_high_ratio(ctx, f, &want, &err) == 0);
        CHECK(!memcmp(&want, &got, sizeof want));
        free(grey), free(ac), free(coef);
    }
    /* HSV: per-pixel bins, counted */
    static const int bin_counts[] = {1, 8, 32, 256};
    for (size_t k = 0; k < 4; k++) {
        int bins = bin_counts[k];
        float want[3 * 256], got[3 * 256];
        unsigned counts[3 * 256] = {0};
        CHECK(cpu->hsv_histogram(ctx, f, bins, want, &err) == 0);
        for (size_t i = 0; i < n; i++) {
            int b[3];
            vl_kern_hsv_bins(f->rgb[3 * i], f->rgb[3 * i + 1], f->rgb[3 * i + 2], bins, b);
            counts[b[0]]++, counts[bins + b[1]]++, counts[2 * bins + b[2]]++;
        }
        for (int c = 0; c < 3 * bins; c++) got[c] = (float)((double)counts[c] / (double)n);
        CHECK(!memcmp(want, got, 3 * (size_t)bins * sizeof *got));
    }
}

static void noise_check(void)
{
#ifdef __SANITIZE_THREAD__
    const size_t n = (size_t)641 * 359 * 3; /* as main's sizes */
#else
    const size_t n = (size_t)1920 * 1080 * 3;
#endif
    const double sigma = 10;
    int64_t k = llround(sigma * sqrt(3.0) * 65536.0);
    double sum = 0, sq = 0;
    size_t same_as_other_seed = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = vl_cuda_noise_at(128, 42, i, k);
        CHECK(a == vl_cuda_noise_at(128, 42, i, k));
        same_as_other_seed += a == vl_cuda_noise_at(128, 43, i, k);
        sum += a - 128.0, sq += (a - 128.0) * (a - 128.0);
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    printf("counter-based noise, sigma %.0f: mean %.4f sd %.4f; %.1f %% equal under another seed\n",
           sigma, mean, sd, 100.0 * same_as_other_seed / n);
    CHECK(fabs(mean) <= 0.05 * sigma);
    CHECK(fabs(sd - sigma) <= 0.02 * sigma);
    CHECK(same_as_other_seed < n / 5);
}

int main(void)
{
    cpu = vl_ops_cpu();
    CHECK(cpu->ctx_new(&(struct vl_ops_ctx_opts){.device = -1}, &ctx, &err) == 0);
    static const int sizes[][2] = {{1, 1}, {3, 5}, {17, 9}, {37, 23}, {641, 359}, {1920, 1080}};
    size_t n_sizes = sizeof sizes / sizeof *sizes;
#ifdef __SANITIZE_THREAD__
    /* one thread only: ThreadSanitizer has nothing to find here and runs the
     * per-pixel loops ~50x slower, past the suite's timeout at 1080p */
    n_sizes--;
    printf("(ThreadSanitizer: up to 641x359 only)\n");
#endif
    for (size_t s = 0; s < n_sizes; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        struct vl_frame f = {pixels(w, h, s + 7), w, h, VL_MEM_HOST};
        uint8_t *got = malloc((size_t)w * h * 3 + 1), *want = malloc((size_t)w * h * 3 + 1);
        if (!got || !want) abort();
        rotate_check(&f, got, want);
        blur_check(&f, got, want);
        jitter_check(&f, got, want);
        yuv_tables_check(w, h, s + 11);
        features_check(&f);
        free(f.rgb), free(got), free(want);
    }
    noise_check();
    cpu->ctx_free(ctx);
    printf("the cuda table's bodies and host pieces match the cpu table on the host\n");
    TEST_DONE();
}
