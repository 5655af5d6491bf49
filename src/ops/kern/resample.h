/* resample.h - separable resampling of RGB24 frames with 14-bit integer
 * taps: the taps, computed on the host once per geometry, and the per-pixel
 * bodies of the two passes that a device kernel and a host emulation share.
 *
 * The taps follow swscale's filter shapes, not its code: output sample i is
 * centred at (i + 0.5) * s - 0.5 in source samples (s = src / dst); the
 * filter widens by s on downscale (antialiased, as swscale's bilinear,
 * bicubic and area are); bilinear is a triangle, bicubic is swscale's
 * default cubic (B = 0, C = 0.6, i.e. Keys with a = -0.6), area is the
 * overlap of the output sample's box with each source sample (and bilinear
 * on upscale, as swscale's area is).  Weights are rounded to 1/16384 and
 * sum to exactly 16384 (the remainder goes to the largest tap); taps
 * outside the frame read the edge sample.  swscale's own taps differ in
 * details (its fixed-point centres, its coefficient rounding and its
 * vertical 12-bit path), so results are within a tolerance of the CPU
 * table's swscale output, not equal: test_cuda_ops measures it on the host
 * (docs/gpu.md has the figures).
 *
 * Pass one (horizontal) keeps 7 fractional bits, as swscale's 15-bit
 * intermediate does; pass two rounds once to 8 bits and clamps. */
#ifndef VL_OPS_KERN_RESAMPLE_H
#define VL_OPS_KERN_RESAMPLE_H

#include <math.h>
#include <stdlib.h>

#include "ops/kern/hd.h"

#define VL_KERN_TAP_ONE 16384 /* 1.0 in a tap */
#define VL_KERN_MAX_TAPS 4096 /* bicubic from 1000x down; larger factors are refused */

/* kinds, in the order of ops.h's enum vl_interp */
enum { VL_KERN_AREA, VL_KERN_BILINEAR, VL_KERN_BICUBIC };

/* The filter of kind at distance t (source samples) for downscale factor f >= 1. */
static inline double vl_kern_filter_at(int kind, double t, double f)
{
    double x = fabs(t) / f;
    if (kind == VL_KERN_BICUBIC) {
        const double a = -0.6;
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }
    return x < 1 ? 1 - x : 0;
}

/* The number of taps per output sample for src_n -> dst_n samples of kind. */
static inline int vl_kern_resample_ntaps(int kind, int src_n, int dst_n)
{
    double s = (double)src_n / dst_n, f = s > 1 ? s : 1;
    double radius = kind == VL_KERN_BICUBIC ? 2 * f : kind == VL_KERN_AREA && s > 1 ? s / 2 + 0.5 : f;
    return (int)ceil(2 * radius) + 1;
}

/* Fills first[dst_n] (the source index of each output's tap 0, unclamped)
 * and weight[dst_n * ntaps] (sum VL_KERN_TAP_ONE each) for ntaps from
 * vl_kern_resample_ntaps (at most VL_KERN_MAX_TAPS).  Host only. */
static inline void vl_kern_resample_taps(int kind, int src_n, int dst_n, int ntaps, int32_t *first,
                                         int32_t *weight)
{
    double s = (double)src_n / dst_n, f = s > 1 ? s : 1;
    double *w = (double *)malloc(sizeof(double) * (size_t)ntaps);
    if (!w) abort();
    for (int i = 0; i < dst_n; i++) {
        double centre = (i + 0.5) * s - 0.5;
        int j0 = (int)floor(centre - (ntaps - 1) / 2.0);
        double total = 0;
        for (int t = 0; t < ntaps; t++) {
            double d = j0 + t - centre;
            if (kind == VL_KERN_AREA && s > 1) { /* the box [centre - s/2, centre + s/2] */
                double lo = d - 0.5 > -s / 2 ? d - 0.5 : -s / 2;
                double hi = d + 0.5 < s / 2 ? d + 0.5 : s / 2;
                w[t] = hi > lo ? hi - lo : 0;
            } else {
                w[t] = vl_kern_filter_at(kind, d, f);
            }
            total += w[t];
        }
        int32_t sum = 0, *out = weight + (size_t)i * ntaps;
        int big = 0;
        for (int t = 0; t < ntaps; t++) {
            out[t] = (int32_t)lround(w[t] / total * VL_KERN_TAP_ONE);
            sum += out[t];
            if (out[t] > out[big]) big = t;
        }
        out[big] += VL_KERN_TAP_ONE - sum;
        first[i] = j0;
    }
    free(w);
}

/* The roundings of the two passes: a pass-one sum of taps times bytes to
 * 1/128 steps, a pass-two sum of taps times those to a clamped byte. */
VL_HD static inline int32_t vl_kern_resample_round1(int64_t acc)
{
    return (int32_t)((acc + (1 << 6)) >> 7);
}

VL_HD static inline uint8_t vl_kern_resample_round2(int64_t acc)
{
    int64_t v = (acc + ((int64_t)1 << 20)) >> 21;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pass one: channel c of output column x of one source row (src_w pixels
 * of channels interleaved bytes: 3 for RGB24, 1 for a plane), in 1/128
 * steps. */
VL_HD static inline int32_t vl_kern_resample_row(const uint8_t *row, int src_w, int channels,
                                                 const int32_t *first, const int32_t *weight,
                                                 int ntaps, int x, int c)
{
    const int32_t *w = weight + (size_t)x * ntaps;
    int64_t acc = 0;
    for (int t = 0; t < ntaps; t++) {
        int j = first[x] + t;
        j = j < 0 ? 0 : j >= src_w ? src_w - 1 : j;
        acc += (int64_t)w[t] * row[(size_t)j * channels + c];
    }
    return vl_kern_resample_round1(acc);
}

/* Pass two: the byte at output row y of one column of pass one's values
 * (column[k * step] for source row k of src_h). */
VL_HD static inline uint8_t vl_kern_resample_column(const int32_t *column, size_t step, int src_h,
                                                    const int32_t *first, const int32_t *weight,
                                                    int ntaps, int y)
{
    const int32_t *w = weight + (size_t)y * ntaps;
    int64_t acc = 0;
    for (int t = 0; t < ntaps; t++) {
        int j = first[y] + t;
        j = j < 0 ? 0 : j >= src_h ? src_h - 1 : j;
        acc += (int64_t)w[t] * column[(size_t)j * step];
    }
    return vl_kern_resample_round2(acc);
}

#endif
