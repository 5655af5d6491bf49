/* cpu_color.c - colour jitter, Gaussian noise and Gaussian blur of RGB24
 * frames (CPU).
 *
 * Everything per pixel is integer arithmetic on parameters rounded once to
 * fixed point, so a given set of factors (and noise seed) gives the same
 * bytes on every machine and compiler: no floating-point expression whose
 * rounding could change with FMA contraction or vector width.
 *
 * Colour jitter follows torchvision's ColorJitter definitions, applied in a
 * fixed order (brightness, contrast, saturation, hue):
 *   brightness  v * b
 *   contrast    c * v + (1 - c) * mean grey of the frame
 *   saturation  s * v + (1 - s) * grey of the pixel
 *   hue         HSV hue shifted by h turns
 * with grey = 0.299 R + 0.587 G + 0.114 B, rounded to nearest and clamped to
 * 0..255 after each step.  Brightness and contrast are one 256-entry table
 * per frame; saturation and hue share one pass over the pixels.
 *
 * Noise is a sum of four uniform 16-bit draws (Irwin-Hall), scaled to the
 * requested standard deviation: bounded at 3.46 sigma, otherwise close to a
 * Gaussian, and drawn from xoshiro256** so one 64-bit draw gives one sample.
 *
 * Blur is separable with a kernel of radius ceil(3 sigma) whose 16-bit
 * weights sum to exactly 65536; frame edges are extended (replicated). */
#include "ops/cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/kern/blur.h"
#include "ops/kern/jitter.h"
#include "ops/kern/tables.h"
#include "util/rng.h"

/* Blur scratch kept between frames: the kernel of the last sigma and the
 * intermediate rows, grown as needed. */
struct vl_cpu_filter_state {
    double sigma;                      /* the sigma of kernel */
    struct vl_kern_blur_kernel kernel; /* kern/blur.h */
    uint8_t *horizontal;               /* the frame after the horizontal pass */
    uint8_t *padded;                   /* one row extended by radius pixels each side */
    uint32_t *acc;                     /* one row of accumulators */
    size_t frame_cap, pad_cap, acc_cap;
};

/* The brightness-then-contrast table of this frame (kern/tables.h), from
 * its channel histograms when the contrast needs the mean grey. */
static void tone_table(const struct vl_frame *f, const struct vl_color_jitter *j, uint8_t lut[256])
{
    uint64_t hist[3][256] = {{0}};
    size_t n = (size_t)f->width * f->height;
    if (j->contrast != 1.0) {
        const uint8_t *p = f->rgb;
        for (size_t i = 0; i < n; i++, p += 3) {
            hist[0][p[0]]++;
            hist[1][p[1]]++;
            hist[2][p[2]]++;
        }
    }
    vl_kern_tone_lut((const uint64_t(*)[256])hist, n, j, lut);
}

void vl_cpu_color_jitter(struct vl_frame *f, const struct vl_color_jitter *j)
{
    size_t n = (size_t)f->width * f->height;
    uint8_t *p = f->rgb;
    int tone = j->brightness != 1.0 || j->contrast != 1.0;
    uint8_t lut[256];
    if (tone) tone_table(f, j, lut);
    else
        for (int v = 0; v < 256; v++) lut[v] = (uint8_t)v;
    int sq = (int)llround(j->saturation * 4096.0);
    int shift = (int)llround(j->hue * 6.0 * 4096.0);
    if (sq == 4096 && !shift) { /* the table alone: one sweep over the bytes */
        if (tone)
            for (size_t i = 0; i < 3 * n; i++) p[i] = lut[p[i]];
        return;
    }
    /* the pixel's arithmetic is the one a device runs (kern/jitter.h) */
    for (size_t i = 0; i < n; i++) vl_kern_jitter_pixel(p + 3 * i, lut, tone, sq, shift);
}

/* Sample i of a row of bits-deep samples (16-bit ones little-endian). */
static inline int sample_at(const uint8_t *row, int i, int bits)
{
    return bits == 8 ? row[i] : (row[2 * i] | row[2 * i + 1] << 8) & ((1 << bits) - 1);
}

/* The tables of a jitter at bits per sample (8 or 10) into ylut and clut
 * (1 << bits entries each; kern/tables.h), the window's Y histogram counted
 * when the contrast needs its mean: four histograms interleaved so that
 * increments do not wait on each other. */
static void jitter_tables(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                          const struct vl_color_jitter *j, int bits, int *ylut, int *clut)
{
    uint32_t yhist[1024] = {0};
    if (vl_kern_yuv_tables_need_hist(j)) {
        uint32_t hist[4][1024] = {{0}};
        int step = bits == 8 ? 1 : 2;
        for (int r = 0; r < h; r++) {
            const uint8_t *p = src->plane[0] + (size_t)(y + r) * src->stride[0] + (size_t)x * step;
            int i = 0;
            if (bits == 8)
                for (; i + 4 <= w; i += 4) {
                    hist[0][p[i]]++, hist[1][p[i + 1]]++;
                    hist[2][p[i + 2]]++, hist[3][p[i + 3]]++;
                }
            for (; i < w; i++) hist[i & 3][sample_at(p, i, bits)]++;
        }
        for (int v = 0; v < 1 << bits; v++)
            yhist[v] = hist[0][v] + hist[1][v] + hist[2][v] + hist[3][v];
    }
    vl_kern_yuv_tables(yhist, (uint64_t)w * h, src->full_range, j, bits, ylut, clut);
}

void vl_cpu_yuv_jitter_tables(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                              const struct vl_color_jitter *j, uint8_t ylut[256],
                              uint8_t clut[256])
{
    int yl[256], cl[256];
    jitter_tables(src, x, y, w, h, j, 8, yl, cl);
    for (int v = 0; v < 256; v++) ylut[v] = (uint8_t)yl[v], clut[v] = (uint8_t)cl[v];
}

void vl_cpu_yuv10_jitter_tables(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                                const struct vl_color_jitter *j, uint16_t ylut[1024],
                                uint16_t clut[1024])
{
    int yl[1024], cl[1024];
    jitter_tables(src, x, y, w, h, j, 10, yl, cl);
    for (int v = 0; v < 1024; v++) ylut[v] = (uint16_t)yl[v], clut[v] = (uint16_t)cl[v];
}

/* One row: n samples of s (read backwards when flip) through lut into d. */
static void map_row_scalar(const uint8_t *restrict s, int n, int flip, const uint8_t *restrict lut,
                           uint8_t *restrict d)
{
    if (flip)
        for (int i = 0; i < n; i++) d[i] = lut[s[n - 1 - i]];
    else
        for (int i = 0; i < n; i++) d[i] = lut[s[i]];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* map_row with AVX-512 VBMI: 64 samples at a time, the 256-entry table as
 * two 128-byte two-register permutes picked by each sample's top bit, the
 * mirror as one byte permute.  Same bytes as map_row_scalar. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
map_row_vbmi(const uint8_t *restrict s, int n, int flip, const uint8_t *restrict lut,
             uint8_t *restrict d)
{
    const __m512i t0 = _mm512_loadu_si512(lut), t1 = _mm512_loadu_si512(lut + 64);
    const __m512i t2 = _mm512_loadu_si512(lut + 128), t3 = _mm512_loadu_si512(lut + 192);
    __m512i reverse = _mm512_set_epi64(0x0001020304050607, 0x08090a0b0c0d0e0f,
                                       0x1011121314151617, 0x18191a1b1c1d1e1f,
                                       0x2021222324252627, 0x28292a2b2c2d2e2f,
                                       0x3031323334353637, 0x38393a3b3c3d3e3f);
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x;
        if (flip)
            x = _mm512_permutexvar_epi8(reverse, _mm512_loadu_si512(s + n - 64 - i));
        else
            x = _mm512_loadu_si512(s + i);
        __m512i low = _mm512_permutex2var_epi8(t0, x, t1);  /* samples 0..127 */
        __m512i high = _mm512_permutex2var_epi8(t2, x, t3); /* samples 128..255 */
        _mm512_storeu_si512(d + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low, high));
    }
    if (i < n) map_row_scalar(flip ? s : s + i, n - i, flip, lut, d + i);
}

typedef void map_row_fn(const uint8_t *restrict, int, int, const uint8_t *restrict,
                        uint8_t *restrict);

/* map_row_vbmi where the CPU has it, else map_row_scalar. */
static map_row_fn *pick_map_row(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw")
               ? map_row_vbmi
               : map_row_scalar;
}
#endif

static void map_row(const uint8_t *restrict s, int n, int flip, const uint8_t *restrict lut,
                    uint8_t *restrict d)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static map_row_fn *_Atomic impl;
    map_row_fn *f = impl;
    if (!f) impl = f = pick_map_row();
    f(s, n, flip, lut, d);
#else
    map_row_scalar(s, n, flip, lut, d);
#endif
}

/* One row of n samples through a table, mirrored when flip. */
typedef void row_map_fn(const uint8_t *restrict s, int n, int flip, const void *restrict lut,
                        uint8_t *restrict d);

static void map_row8(const uint8_t *restrict s, int n, int flip, const void *restrict lut,
                     uint8_t *restrict d)
{
    map_row(s, n, flip, lut, d);
}

/* One row of 16-bit little-endian samples: n of s (read backwards when
 * flip) through lut (1024 uint16_t, the sample's low 10 bits) into d. */
static void map_row16(const uint8_t *restrict s, int n, int flip, const void *restrict lut,
                      uint8_t *restrict d)
{
    const uint16_t *t = lut;
    for (int i = 0; i < n; i++) {
        int k = flip ? n - 1 - i : i;
        unsigned v = t[(s[2 * k] | s[2 * k + 1] << 8) & 1023];
        d[2 * i] = (uint8_t)v, d[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

/* The window at (x, y) of src into dst, every row through row (Y with
 * ylut, U and V with clut), samples of bytes each. */
static void map_window(const struct vl_yuv_frame *src, int x, int y, int flip, const void *ylut,
                       const void *clut, struct vl_yuv_frame *dst, size_t bytes, row_map_fn *row)
{
    /* 4:2:2 chroma has a row per luma row, 4:2:0 one per two */
    int full = src->chroma_full_height;
    int cw = (dst->width + 1) / 2, ch = full ? dst->height : (dst->height + 1) / 2;
    int cy = full ? y : y / 2;
    for (int r = 0; r < dst->height; r++)
        row(src->plane[0] + (size_t)(y + r) * src->stride[0] + (size_t)x * bytes, dst->width,
            flip, ylut, dst->plane[0] + (size_t)r * dst->stride[0]);
    for (int p = 1; p < 3; p++)
        for (int r = 0; r < ch; r++)
            row(src->plane[p] + (size_t)(cy + r) * src->stride[p] + (size_t)(x / 2) * bytes, cw,
                flip, clut, dst->plane[p] + (size_t)r * dst->stride[p]);
}

void vl_cpu_yuv_crop_flip_map(const struct vl_yuv_frame *src, int x, int y, int flip,
                              const uint8_t ylut[256], const uint8_t clut[256],
                              struct vl_yuv_frame *dst)
{
    map_window(src, x, y, flip, ylut, clut, dst, 1, map_row8);
}

void vl_cpu_yuv10_crop_flip_map(const struct vl_yuv_frame *src, int x, int y, int flip,
                                const uint16_t ylut[1024], const uint16_t clut[1024],
                                struct vl_yuv_frame *dst)
{
    map_window(src, x, y, flip, ylut, clut, dst, 2, map_row16);
}

void vl_cpu_gaussian_noise(struct vl_frame *f, double sigma, uint64_t seed)
{
    /* The sum of four uniforms on 0..65535 has mean 131070 and standard
     * deviation 65536 / sqrt(3); scale by sigma * sqrt(3) / 65536 in 16.16. */
    int64_t k = llround(sigma * sqrt(3.0) * 65536.0);
    if (k == 0) return;
    struct vl_rng rng;
    vl_rng_seed(&rng, seed);
    size_t n = (size_t)f->width * f->height * 3;
    uint8_t *p = f->rgb;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = vl_rng_next(&rng);
        int64_t s = (int64_t)(u & 0xffff) + (int64_t)((u >> 16) & 0xffff) +
                    (int64_t)((u >> 32) & 0xffff) + (int64_t)(u >> 48) - 131070;
        /* s * k is at most 2^17 * 2^26 / 2^32 after the shift: no overflow */
        int64_t noise = s * k;
        int64_t v = ((int64_t)p[i] << 32) + noise + ((int64_t)1 << 31);
        p[i] = (uint8_t)(v < 0 ? 0 : v >= ((int64_t)256 << 32) ? 255 : v >> 32);
    }
}

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    void *q = realloc(*p, need * elem);
    if (!q) abort();
    *p = q;
    *cap = need;
}

int vl_cpu_gaussian_blur(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err)
{
    if (sigma <= 0) return 0;
    if (sigma > 20) return vl_error_set(err, "blur sigma %g is above 20 pixels", sigma);
    if (!ctx->filter) {
        ctx->filter = calloc(1, sizeof *ctx->filter);
        if (!ctx->filter) abort();
    }
    struct vl_cpu_filter_state *s = ctx->filter;
    if (s->sigma != sigma) vl_kern_blur_kernel_of(sigma, &s->kernel), s->sigma = sigma;
    int w = f->width, h = f->height, r = s->kernel.radius;
    size_t row = (size_t)w * 3;
    grow((void **)&s->horizontal, &s->frame_cap, row * h, 1);
    grow((void **)&s->padded, &s->pad_cap, row + (size_t)2 * r * 3, 1);
    grow((void **)&s->acc, &s->acc_cap, row, sizeof *s->acc);
    const uint32_t *wt = s->kernel.weights;
    uint32_t *acc = s->acc;
    uint8_t *pad = s->padded;
    /* horizontal: each row extended by r edge pixels a side, then one
     * multiply-add sweep per tap over the whole row (vectorisable) */
    for (int y = 0; y < h; y++) {
        const uint8_t *in = f->rgb + (size_t)y * row;
        for (int i = 0; i < r; i++) {
            memcpy(pad + (size_t)i * 3, in, 3);
            memcpy(pad + row + (size_t)(r + i) * 3, in + row - 3, 3);
        }
        memcpy(pad + (size_t)r * 3, in, row);
        for (size_t i = 0; i < row; i++) acc[i] = 32768;
        for (int t = 0; t <= 2 * r; t++) {
            const uint8_t *src = pad + (size_t)t * 3;
            uint32_t wk = wt[t];
            for (size_t i = 0; i < row; i++) acc[i] += wk * src[i];
        }
        uint8_t *out = s->horizontal + (size_t)y * row;
        for (size_t i = 0; i < row; i++) out[i] = (uint8_t)(acc[i] >> 16);
    }
    /* vertical: the same sweep over rows, edges replicated */
    for (int y = 0; y < h; y++) {
        for (size_t i = 0; i < row; i++) acc[i] = 32768;
        for (int t = -r; t <= r; t++) {
            int yy = y + t < 0 ? 0 : y + t >= h ? h - 1 : y + t;
            const uint8_t *src = s->horizontal + (size_t)yy * row;
            uint32_t wk = wt[t + r];
            for (size_t i = 0; i < row; i++) acc[i] += wk * src[i];
        }
        uint8_t *out = f->rgb + (size_t)y * row;
        for (size_t i = 0; i < row; i++) out[i] = (uint8_t)(acc[i] >> 16);
    }
    return 0;
}

void vl_cpu_filter_free(struct vl_cpu_filter_state *s)
{
    if (!s) return;
    free(s->horizontal);
    free(s->padded);
    free(s->acc);
    free(s);
}
