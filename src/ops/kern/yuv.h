/* yuv.h - one YUV pixel to RGB, with the stream's matrix and range, as
 * swscale converts it.
 *
 * The coefficients are swscale's own (libswscale/yuv2rgb.c,
 * ff_yuv2rgb_coeffs, what sws_getCoefficients returns; the test checks
 * they are equal), in 16.16 fixed point and for limited range:
 *   R = Y' + crv (V - 128)
 *   G = Y' - cgu (U - 128) - cgv (V - 128)
 *   B = Y' + cbu (U - 128)
 * with Y' = (Y - 16) 255/219 in limited range; in full range Y' = Y and
 * each chroma coefficient is scaled by 224/255, as sws_setColorspaceDetails
 * does.  Rounded to nearest, clamped to 0..255; chroma is that of the 2x2
 * block (replicated, as swscale's unscaled converters do).
 *
 * Exactness: swscale's unscaled yuv420p->RGB24 runs code of its own
 * precision, chosen by width (SIMD code about 0.9 levels darker than exact
 * rounding; C code that places chroma otherwise at odd widths), so this is
 * not bit-exact against the CPU path: tests/unit/test_ops_kern.c holds it
 * to a mean absolute difference of 1.0 and a largest of 6 levels on odd
 * and 1080p sizes with picture-like chroma (measured 0.89 and 5;
 * docs/gpu.md).
 */
#ifndef VL_OPS_KERN_YUV_H
#define VL_OPS_KERN_YUV_H

#include "ops/kern/hd.h"

/* The matrices, numbered as FFmpeg's AVColorSpace (AVCOL_SPC_*). */
enum {
    VL_KERN_SPC_BT709 = 1,
    VL_KERN_SPC_FCC = 4,
    VL_KERN_SPC_BT470BG = 5,
    VL_KERN_SPC_SMPTE170M = 6,
    VL_KERN_SPC_SMPTE240M = 7,
    VL_KERN_SPC_BT2020_NCL = 9,
    VL_KERN_SPC_BT2020_CL = 10,
};

/* 16.16 factors of one conversion. */
struct vl_kern_yuv_coeffs {
    int32_t cy, oy; /* Y' = (Y - oy) * cy */
    int32_t crv, cbu, cgu, cgv;
};

/* swscale's table for matrix (an AVCOL_SPC_* value): crv, cbu, cgu, cgv;
 * BT.601's for the values swscale has none for. */
VL_HD static inline void vl_kern_yuv_table(int matrix, int32_t out[4])
{
    int32_t crv = 104597, cbu = 132201, cgu = 25675, cgv = 53279; /* BT.601 */
    switch (matrix) {
    case VL_KERN_SPC_BT709:
        crv = 117489, cbu = 138438, cgu = 13975, cgv = 34925;
        break;
    case VL_KERN_SPC_FCC:
        crv = 104448, cbu = 132798, cgu = 24759, cgv = 53109;
        break;
    case VL_KERN_SPC_SMPTE240M:
        crv = 117579, cbu = 136230, cgu = 16907, cgv = 35559;
        break;
    case VL_KERN_SPC_BT2020_NCL:
    case VL_KERN_SPC_BT2020_CL:
        crv = 110013, cbu = 140363, cgu = 12277, cgv = 42626;
        break;
    default:
        break;
    }
    out[0] = crv, out[1] = cbu, out[2] = cgu, out[3] = cgv;
}

/* The factors of matrix in full or limited range. */
VL_HD static inline void vl_kern_yuv_coeffs(int matrix, int full_range,
                                            struct vl_kern_yuv_coeffs *c)
{
    int32_t t[4];
    vl_kern_yuv_table(matrix, t);
    if (full_range) {
        c->cy = 1 << 16, c->oy = 0;
        for (int i = 0; i < 4; i++)
            t[i] = (int32_t)((int64_t)t[i] * 224 / 255);
    } else {
        c->cy = (int32_t)(((int64_t)1 << 16) * 255 / 219), c->oy = 16;
    }
    c->crv = t[0], c->cbu = t[1], c->cgu = t[2], c->cgv = t[3];
}

/* One pixel: y, u, v samples (0..255) to rgb[0..2]. */
VL_HD static inline void vl_kern_yuv_to_rgb(const struct vl_kern_yuv_coeffs *c, int y, int u, int v,
                                            uint8_t *rgb)
{
    int64_t yv = (int64_t)(y - c->oy) * c->cy + 32768;
    int du = u - 128, dv = v - 128;
    int64_t r = yv + (int64_t)c->crv * dv;
    int64_t g = yv - (int64_t)c->cgu * du - (int64_t)c->cgv * dv;
    int64_t b = yv + (int64_t)c->cbu * du;
    /* >> on a negative value rounds down, which clamping makes moot */
    rgb[0] = (uint8_t)vl_kern_clamp255((int)(r >> 16));
    rgb[1] = (uint8_t)vl_kern_clamp255((int)(g >> 16));
    rgb[2] = (uint8_t)vl_kern_clamp255((int)(b >> 16));
}

/* Pixel (x, y) of a yuv420p picture given by its planes and strides. */
VL_HD static inline void vl_kern_yuv420p_pixel(const struct vl_kern_yuv_coeffs *c,
                                               const uint8_t *yp, int ys, const uint8_t *up, int us,
                                               const uint8_t *vp, int vs, int x, int y,
                                               uint8_t *rgb)
{
    vl_kern_yuv_to_rgb(c, yp[(size_t)y * ys + x], up[(size_t)(y >> 1) * us + (x >> 1)],
                       vp[(size_t)(y >> 1) * vs + (x >> 1)], rgb);
}

#endif
