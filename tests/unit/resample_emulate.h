/* resample_emulate.h - the CUDA table's resize (src/ops/kern/resample.h:
 * host-computed taps, the two passes' bodies) run on the host, and the
 * difference statistics its host tests hold against the CPU table. */
#ifndef VL_TEST_RESAMPLE_EMULATE_H
#define VL_TEST_RESAMPLE_EMULATE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/kern/resample.h"
#include "ops/ops.h"

/* The device's two passes run on the host: sw x sh pixels of channels
 * interleaved bytes at src into dw x dh at dst (equal sizes copy, as the
 * device does). */
static inline void vl_test_resample_plane(const uint8_t *src, int sw, int sh, int channels, uint8_t *dst,
                                   int dw, int dh, int kind)
{
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * channels);
        return;
    }
    int ntx = vl_kern_resample_ntaps(kind, sw, dw), nty = vl_kern_resample_ntaps(kind, sh, dh);
    int32_t *fx = malloc(sizeof(int32_t) * dw), *fy = malloc(sizeof(int32_t) * dh);
    int32_t *wx = malloc(sizeof(int32_t) * dw * ntx), *wy = malloc(sizeof(int32_t) * dh * nty);
    size_t row = (size_t)dw * channels;
    int32_t *mid = malloc(sizeof(int32_t) * row * sh);
    if (!fx || !fy || !wx || !wy || !mid) abort();
    vl_kern_resample_taps(kind, sw, dw, ntx, fx, wx);
    vl_kern_resample_taps(kind, sh, dh, nty, fy, wy);
    for (int y = 0; y < sh; y++)
        for (size_t i = 0; i < row; i++)
            mid[y * row + i] = vl_kern_resample_row(src + (size_t)y * sw * channels, sw, channels,
                                                    fx, wx, ntx, (int)(i / channels),
                                                    (int)(i % channels));
    for (int y = 0; y < dh; y++)
        for (size_t i = 0; i < row; i++)
            dst[y * row + i] = vl_kern_resample_column(mid + i, row, sh, fy, wy, nty, y);
    free(fx), free(fy), free(wx), free(wy), free(mid);
}

/* The same for RGB24 frames. */
static inline void vl_test_resample_emulate(const struct vl_frame *src, struct vl_frame *dst, int kind)
{
    vl_test_resample_plane(src->rgb, src->width, src->height, 3, dst->rgb, dst->width,
                           dst->height, kind);
}

/* The mean, largest and 99.9th-percentile absolute difference of n bytes. */
static inline void vl_test_diff_stats(const uint8_t *want, const uint8_t *got, size_t n, double *mean,
                               int *max, int *p999)
{
    size_t hist[256] = {0};
    double sum = 0;
    *max = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)want[i] - (int)got[i]);
        hist[d]++, sum += d;
        if (d > *max) *max = d;
    }
    size_t seen = 0;
    *p999 = 0;
    while (*p999 < 255 && (seen += hist[*p999]) < n - n / 1000) (*p999)++;
    *mean = n ? sum / (double)n : 0;
}

#endif
