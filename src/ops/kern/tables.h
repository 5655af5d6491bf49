/* tables.h - the lookup tables of a colour jitter, made on the host once per
 * frame (host only) by both tables from histograms they count their own way
 * (the CPU in src/ops/cpu_color.c; the CUDA table on the device):
 * - the RGB tone table: brightness v * b, then contrast c * v + (1 - c) *
 *   mean grey, in 1/4096 steps;
 * - the YUV tables at 8 or 10 bits per sample: brightness scales Y - black
 *   and C - mid, contrast blends Y with the window's mean Y and scales
 *   C - mid, saturation scales C - mid; 10 bits are the 8-bit arithmetic
 *   with black, mid and the maximum scaled by 4.
 * The arithmetic is integer on factors rounded once (docs: cpu_color.c). */
#ifndef VL_OPS_KERN_TABLES_H
#define VL_OPS_KERN_TABLES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/kern/hd.h"
#include "ops/kern/jitter.h"
#include "ops/ops.h"

/* t / 4096 rounded half away from zero */
static inline int64_t vl_kern_round_q12(int64_t t)
{
    return t >= 0 ? (t + 2048) >> 12 : -((-t + 2048) >> 12);
}

/* v clamped to 0..max */
static inline int vl_kern_clamp_to(int v, int max)
{
    return v < 0 ? 0 : v > max ? max : v;
}

/* The brightness-then-contrast table of j for a frame of n pixels whose
 * channel histograms are hist (read only when the contrast is not 1). */
static inline void vl_kern_tone_lut(const uint64_t hist[3][256], size_t n,
                                    const struct vl_color_jitter *j, uint8_t lut[256])
{
    int bright[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)(bright[v] = vl_kern_clamp255((int)lround(v * j->brightness)));
    if (j->contrast == 1.0) return;
    /* the mean grey after brightness: grey is linear, so it is the weighted
     * sum of the channel means */
    uint64_t sum[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) sum[c] += hist[c][v] * (uint64_t)bright[v];
    /* mean * 65536 * n, exact in 64 bits for frames below 2^32 pixels */
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

/* 1 when the YUV tables of j read the window's Y histogram (contrast not 1) */
static inline int vl_kern_yuv_tables_need_hist(const struct vl_color_jitter *j)
{
    return llround(j->contrast * 4096.0) != 4096;
}

/* The YUV tables of j at bits per sample (8 or 10) into ylut and clut
 * (1 << bits entries each), for a window of n samples whose Y histogram is
 * yhist (1 << bits counts, read only when vl_kern_yuv_tables_need_hist). */
static inline void vl_kern_yuv_tables(const uint32_t *yhist, uint64_t n, int full_range,
                                      const struct vl_color_jitter *j, int bits, int *ylut,
                                      int *clut)
{
    int levels = 1 << bits, max = levels - 1, scale = 1 << (bits - 8);
    int mid = 128 * scale, black = full_range ? 0 : 16 * scale;
    /* brightness: (Y - black) * b and (C - mid) * b, as v * b in RGB */
    int by[1024], bc[1024];
    int64_t bq = llround(j->brightness * 4096.0);
    for (int v = 0; v < levels; v++) {
        by[v] = vl_kern_clamp_to((int)(black + vl_kern_round_q12(bq * (v - black))), max);
        bc[v] = vl_kern_clamp_to((int)(mid + vl_kern_round_q12(bq * (v - mid))), max);
    }
    /* contrast: blend Y with the window's mean Y after brightness; U and V
     * scale about mid */
    int64_t cq = llround(j->contrast * 4096.0);
    int64_t offset = 0;
    if (cq != 4096) {
        uint64_t sum = 0;
        for (int v = 0; v < levels; v++) sum += (uint64_t)yhist[v] * (uint64_t)by[v];
        double mean = n ? (double)sum / (double)n : 0;
        offset = llround((1.0 - j->contrast) * mean * 4096.0);
    }
    int64_t sq = llround(j->saturation * 4096.0);
    for (int v = 0; v < levels; v++) {
        int64_t t = cq * by[v] + offset;
        t = t < 0 ? 0 : t > (int64_t)max * 4096 ? (int64_t)max * 4096 : t;
        ylut[v] = (int)((t + 2048) >> 12);
        int64_t c = vl_kern_round_q12(cq * (bc[v] - mid));
        c = c < -mid ? -mid : c > mid - 1 ? mid - 1 : c;
        c = vl_kern_round_q12(sq * c);
        clut[v] = vl_kern_clamp_to((int)(mid + c), max);
    }
}

#endif
