/* ops_bodies.h - the CUDA table's own per-element bodies and host pieces
 * (src/cuda/ops_table.cu), in C that gcc and nvcc both compile, so
 * test_cuda_bodies_host runs them on the host against the CPU table.
 *
 * Only what the CPU table does another way lives here: the blur's sweeps
 * per element (the CPU sweeps whole rows), the DCT block as coefficients
 * (summed on the host in the CPU's order) and the noise on counter-based
 * draws (the CPU's stream is sequential).  What both tables share (the
 * 16.16 cos/sin, the blur kernel, the tone and yuv tables, the HSV bins,
 * the DCT basis) is in src/ops/kern/. */
#ifndef VL_CUDA_OPS_BODIES_H
#define VL_CUDA_OPS_BODIES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/kern/blur.h"
#include "ops/kern/hd.h"

/* byte i of the horizontal pass over a w-wide RGB24 frame (edges replicated) */
VL_HD static inline uint8_t vl_cuda_blur_row_at(const uint8_t *in, int w, size_t i,
                                                const struct vl_kern_blur_kernel *b)
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
                                                   const struct vl_kern_blur_kernel *b)
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

#endif
