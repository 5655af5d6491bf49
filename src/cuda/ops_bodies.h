/* ops_bodies.h - the CUDA table's own per-element bodies and host-side
 * pieces (src/cuda/ops_table.cu), in C that gcc and nvcc both compile, so
 * test_cuda_bodies_host runs them on the host against the CPU table.
 *
 * The host pieces repeat what is static in the CPU files (cpu_geometry.c's
 * 16.16 cos/sin, cpu_color.c's blur kernel, tone table and yuv tables):
 * the same formulas on the same inputs (the histograms come from the
 * device), checked equal to the CPU's results by that test.  The device
 * bodies are the CPU's loops per element (blur), the DCT block as
 * coefficients (summed on the host in the CPU's order), and the noise on
 * counter-based draws. */
#ifndef VL_CUDA_OPS_BODIES_H
#define VL_CUDA_OPS_BODIES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/kern/features.h"
#include "ops/kern/hd.h"
#include "ops/kern/jitter.h"
#include "ops/ops.h"

/* cos and sin of degrees in 16.16, exact at multiples of 90 (cpu_geometry.c) */
static inline void vl_cuda_fixed_cos_sin(double degrees, int64_t *c, int64_t *s)
{
    double turns = fmod(degrees, 360.0);
    if (turns < 0) turns += 360.0;
    if (turns == 0 || turns == 90 || turns == 180 || turns == 270) {
        static const int64_t cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        int q = (int)(turns / 90);
        *c = cs[q][0] * 65536, *s = cs[q][1] * 65536;
        return;
    }
    double rad = turns * (3.14159265358979323846 / 180.0);
    *c = llround(cos(rad) * 65536.0);
    *s = llround(sin(rad) * 65536.0);
}

struct vl_cuda_blur_kernel {
    uint32_t weights[127]; /* 2 * radius + 1 taps, sum 65536 */
    int radius;
};

/* the blur kernel of sigma (cpu_color.c): radius ceil(3 sigma) in 1..63 */
static inline void vl_cuda_blur_kernel_of(double sigma, struct vl_cuda_blur_kernel *b)
{
    int radius = (int)ceil(3.0 * sigma);
    if (radius < 1) radius = 1;
    if (radius > 63) radius = 63;
    double w[127], total = 0;
    for (int i = -radius; i <= radius; i++)
        total += w[i + radius] = exp(-(double)(i * i) / (2.0 * sigma * sigma));
    uint32_t sum = 0;
    for (int i = 0; i <= 2 * radius; i++)
        sum += b->weights[i] = (uint32_t)llround(w[i] / total * 65536.0);
    b->weights[radius] += 65536u - sum; /* the rounding remainder to the centre tap */
    b->radius = radius;
}

/* byte i of the horizontal pass over a w-wide RGB24 frame (edges replicated) */
VL_HD static inline uint8_t vl_cuda_blur_row_at(const uint8_t *in, int w, size_t i,
                                                const struct vl_cuda_blur_kernel *b)
{
    int c = (int)(i % 3), x = (int)(i / 3 % (size_t)w);
    size_t row = i / 3 / (size_t)w * (size_t)w * 3;
    uint32_t acc = 32768;
    for (int t = 0; t <= 2 * b->radius; t++) {
        int xx = x + t - b->radius;
        xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
        acc += b->weights[t] * in[row + (size_t)xx * 3 + (size_t)c];
    }
    return (uint8_t)(acc >> 16);
}

/* byte i of the vertical pass over a w x h RGB24 frame (edges replicated) */
VL_HD static inline uint8_t vl_cuda_blur_column_at(const uint8_t *in, int w, int h, size_t i,
                                                   const struct vl_cuda_blur_kernel *b)
{
    size_t row = (size_t)w * 3;
    int y = (int)(i / row);
    uint32_t acc = 32768;
    for (int t = -b->radius; t <= b->radius; t++) {
        int yy = y + t < 0 ? 0 : y + t >= h ? h - 1 : y + t;
        acc += b->weights[t + b->radius] * in[(size_t)yy * row + i % row];
    }
    return (uint8_t)(acc >> 16);
}

/* The tone table of a jitter from the frame's channel histograms (n
 * pixels): brightness, then contrast about the mean grey (cpu_color.c). */
static inline void vl_cuda_tone_lut(const unsigned hist[3][256], size_t n,
                                    const struct vl_color_jitter *j, uint8_t lut[256])
{
    int bright[256];
    for (int v = 0; v < 256; v++) lut[v] = (uint8_t)(bright[v] = vl_kern_clamp255((int)lround(v * j->brightness)));
    if (j->contrast == 1.0) return;
    uint64_t sum[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) sum[c] += hist[c][v] * (uint64_t)bright[v];
    uint64_t weighted = VL_KERN_GREY_R * sum[0] + VL_KERN_GREY_G * sum[1] + VL_KERN_GREY_B * sum[2];
    double mean = n ? (double)weighted / 65536.0 / (double)n : 0;
    int64_t cq = llround(j->contrast * 4096.0);
    int64_t offset = llround((1.0 - j->contrast) * mean * 4096.0);
    for (int v = 0; v < 256; v++) {
        int64_t t = cq * bright[v] + offset;
        t = t < 0 ? 0 : t > 255 * 4096 ? 255 * 4096 : t;
        lut[v] = (uint8_t)((t + 2048) >> 12);
    }
}

/* t / 4096 rounded half away from zero */
static inline int64_t vl_cuda_round_q12(int64_t t)
{
    return t >= 0 ? (t + 2048) >> 12 : -((-t + 2048) >> 12);
}

/* The yuv jitter tables (cpu_color.c) from the window's Y histogram of n
 * samples (read only when the contrast is not 1). */
static inline void vl_cuda_yuv_tables(const unsigned yhist[256], uint64_t n, int full_range,
                                      const struct vl_color_jitter *j, uint8_t ylut[256],
                                      uint8_t clut[256])
{
    int by[256], bc[256], black = full_range ? 0 : 16;
    int64_t bq = llround(j->brightness * 4096.0);
    for (int v = 0; v < 256; v++) {
        by[v] = vl_kern_clamp255((int)(black + vl_cuda_round_q12(bq * (v - black))));
        bc[v] = vl_kern_clamp255((int)(128 + vl_cuda_round_q12(bq * (v - 128))));
    }
    int64_t cq = llround(j->contrast * 4096.0), offset = 0;
    if (cq != 4096) {
        uint64_t sum = 0;
        for (int v = 0; v < 256; v++) sum += (uint64_t)yhist[v] * (uint64_t)by[v];
        double mean = n ? (double)sum / (double)n : 0;
        offset = llround((1.0 - j->contrast) * mean * 4096.0);
    }
    int64_t sq = llround(j->saturation * 4096.0);
    for (int v = 0; v < 256; v++) {
        int64_t t = cq * by[v] + offset;
        t = t < 0 ? 0 : t > 255 * 4096 ? 255 * 4096 : t;
        ylut[v] = (uint8_t)((t + 2048) >> 12);
        int64_t c = vl_cuda_round_q12(cq * (bc[v] - 128));
        c = c < -128 ? -128 : c > 127 ? 127 : c;
        c = vl_cuda_round_q12(sq * c);
        clut[v] = (uint8_t)vl_kern_clamp255((int)(128 + c));
    }
}

/* Byte v of element i with noise from seed, k = sigma sqrt(3) in 16.16:
 * the CPU's Irwin-Hall arithmetic (cpu_color.c) on counter-based bits
 * (splitmix64's finaliser of seed and i), so elements draw on their own. */
VL_HD static inline uint8_t vl_cuda_noise_at(uint8_t v, uint64_t seed, uint64_t i, int64_t k)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    uint64_t u = z ^ (z >> 31);
    int64_t s = (int64_t)(u & 0xffff) + (int64_t)((u >> 16) & 0xffff) +
                (int64_t)((u >> 32) & 0xffff) + (int64_t)(u >> 48) - 131070;
    int64_t x = ((int64_t)v << 32) + s * k + ((int64_t)1 << 31);
    return (uint8_t)(x < 0 ? 0 : x >= ((int64_t)256 << 32) ? 255 : x >> 32);
}

#define VL_CUDA_DCT_HIGH 28 /* coefficients with u + v >= 8, u, v >= 1 */

/* One 8x8 block of a grey image: 64 x its AC energy (returned) and, unless
 * flat, its 28 high coefficients in kern/features.h's order (each float
 * operation rounded once), for the host to square and sum. */
VL_HD static inline int64_t vl_cuda_dct_coefs(const uint8_t *g, size_t stride,
                                              const float cs[8][8], float high[VL_CUDA_DCT_HIGH])
{
    int64_t sum = 0, sum_sq = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            int p = g[(size_t)y * stride + (size_t)x];
            sum += p, sum_sq += p * p;
        }
    int64_t ac64 = 64 * sum_sq - sum * sum;
    if (ac64 == 0) return 0;
    float rows[8][8];
    for (int y = 0; y < 8; y++)
        for (int u = 1; u < 8; u++) {
            float acc = 0;
            for (int x = 0; x < 8; x++)
                acc = VL_FADD(acc, VL_FMUL(cs[u][x], (float)g[(size_t)y * stride + (size_t)x]));
            rows[y][u] = acc;
        }
    float *out = high;
    for (int u = 1; u < 8; u++)
        for (int v = 8 - u; v < 8; v++) {
            float coef = 0;
            for (int y = 0; y < 8; y++) coef = VL_FADD(coef, VL_FMUL(cs[v][y], rows[y][u]));
            *out++ = coef;
        }
    return ac64;
}

/* The DCT ratio of nb blocks from their energies and coefficients, summed
 * in the CPU's order (blocks row by row, coefficients in order). */
static inline double vl_cuda_dct_ratio(const int64_t *ac, const float *coef, size_t nb)
{
    double high = 0, total = 0;
    for (size_t b = 0; b < nb; b++) {
        if (ac[b] == 0) continue;
        for (int k = 0; k < VL_CUDA_DCT_HIGH; k++) {
            double c = (double)coef[b * VL_CUDA_DCT_HIGH + (size_t)k];
            high = VL_DADD(high, VL_DMUL(c, c));
        }
        total += (double)ac[b] / 64;
    }
    if (total <= 0) return 0;
    return high < total ? high / total : 1;
}

/* the orthonormal DCT-II basis as the CPU builds it (cpu_features.c) */
static inline void vl_cuda_dct_cosines(float cs[8][8])
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cs[u][x] = (float)((u ? sqrt(2.0 / 8) : sqrt(1.0 / 8)) *
                               cos((2 * x + 1) * u * M_PI / 16));
}

/* The H, S and V bins of one pixel (cpu_features.c's definitions). */
VL_HD static inline void vl_cuda_hsv_bins(int r, int g, int b, int bins, int out[3])
{
    int max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    int delta = max - min;
    int s = max ? delta * bins / max : 0;
    int hue = 0;
    if (delta) {
        int sixths = max == r ? (g >= b ? g - b : 6 * delta + g - b)
                     : max == g ? 2 * delta + b - r
                                : 4 * delta + r - g;
        hue = (int)((int64_t)sixths * bins / (6 * delta));
        if (hue >= bins) hue = bins - 1;
    }
    out[0] = hue, out[1] = s < bins ? s : bins - 1, out[2] = (max * bins) >> 8;
}

#endif
