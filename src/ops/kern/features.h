/* features.h - per-pixel and per-block bodies of the features (definitions
 * at the top of src/ops/cpu_features.c): the integer grey of a pixel, the
 * HSV bins of a pixel, the DCT-II basis (host only) and the DCT energies of
 * one 8x8 block.  The CPU table runs these same bodies, and
 * every floating-point operation of the block is rounded once (VL_FMUL,
 * VL_FADD, VL_DMUL, VL_DADD),
 * so a device computes the same bits. */
#ifndef VL_OPS_KERN_FEATURES_H
#define VL_OPS_KERN_FEATURES_H

#include <math.h>

#include "ops/kern/hd.h"

/* BT.601 luma in integers, (4899 R + 9617 G + 1868 B + 8192) >> 14. */
VL_HD static inline uint8_t vl_kern_grey(const uint8_t *rgb)
{
    return (uint8_t)((4899 * rgb[0] + 9617 * rgb[1] + 1868 * rgb[2] + 8192) >> 14);
}

/* The H, S and V bins of pixel (r, g, b) among bins per channel, in out[3]. */
VL_HD static inline void vl_kern_hsv_bins(int r, int g, int b, int bins, int out[3])
{
    int max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    int delta = max - min;
    int s = max ? delta * bins / max : 0;
    int hue = 0;
    if (delta) {
        /* hue in sixths of a turn: sextant * delta + numerator over 6 delta */
        int sixths = max == r ? (g >= b ? g - b : 6 * delta + g - b)
                     : max == g ? 2 * delta + b - r
                                : 4 * delta + r - g;
        hue = (int)((int64_t)sixths * bins / (6 * delta));
        if (hue >= bins) hue = bins - 1;
    }
    out[0] = hue, out[1] = s < bins ? s : bins - 1, out[2] = (max * bins) >> 8;
}

/* The orthonormal DCT-II basis cosines[u][x] in float (host only). */
static inline void vl_kern_dct_cosines(float cosines[8][8])
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cosines[u][x] = (float)((u ? sqrt(2.0 / 8) : sqrt(1.0 / 8)) *
                                    cos((2 * x + 1) * u * M_PI / 16));
}

/* One 8x8 block of a grey image (rows stride bytes apart): 64 x its AC
 * energy, exact (returned; 0 for a flat block), and the energy of its
 * DCT-II coefficients with u + v >= 8 in *high, from the orthonormal basis
 * cosines[u][x] (float, as the CPU builds it).  *high is left alone for a
 * flat block. */
VL_HD static inline int64_t vl_kern_dct_block(const uint8_t *grey, size_t stride,
                                              const float cosines[8][8], double *high)
{
    int64_t sum = 0, sum_sq = 0;
    for (int y = 0; y < 8; y++) {
        const uint8_t *p = grey + (size_t)y * stride;
        for (int x = 0; x < 8; x++)
            sum += p[x], sum_sq += p[x] * p[x];
    }
    int64_t ac64 = 64 * sum_sq - sum * sum; /* Parseval: sum p^2 - (sum p)^2 / 64 */
    if (ac64 == 0) return 0;
    float rows[8][8]; /* rows[y][u]: the DCT along each row, u >= 1 */
    for (int y = 0; y < 8; y++) {
        const uint8_t *p = grey + (size_t)y * stride;
        for (int u = 1; u < 8; u++) {
            float acc = 0;
            for (int x = 0; x < 8; x++)
                acc = VL_FADD(acc, VL_FMUL(cosines[u][x], (float)p[x]));
            rows[y][u] = acc;
        }
    }
    double h = *high;
    for (int u = 1; u < 8; u++) {
        for (int v = 8 - u; v < 8; v++) {
            float coef = 0;
            for (int y = 0; y < 8; y++)
                coef = VL_FADD(coef, VL_FMUL(cosines[v][y], rows[y][u]));
            h = VL_DADD(h, VL_DMUL((double)coef, (double)coef));
        }
    }
    *high = h;
    return ac64;
}

#endif
