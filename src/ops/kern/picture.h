/* picture.h - the samples of a decoded picture (struct vl_picture's planar
 * and semi-planar 4:2:0 layouts) and the pieces of the CUDA table's
 * converter, shared with its host test:
 *   1. the crop window's luma and its chroma window (vl_kern_chroma_window)
 *      are fetched as 8-bit planes;
 *   2. the luma plane is resized to the placement size and the two chroma
 *      planes to vl_kern_chroma_target's (kern/resample.h), as swscale
 *      scales planes before it converts;
 *   3. each output pixel goes through yuv.h's conversion.
 * The device runs the three steps fused, one thread per output pixel
 * (vl_kern_convert_pixel), with the same sums and roundings.
 *
 * 16-bit layouts are brought to 8 bits by rounding (a 10-bit value v to
 * (v + 2) >> 2, a P016 sample s to (s + 128) >> 8, clamped), then
 * converted as 8-bit; swscale converts them at full depth and dithers, so
 * this is within a level of it rather than equal. */
#ifndef VL_OPS_KERN_PICTURE_H
#define VL_OPS_KERN_PICTURE_H

#include <stdint.h>

#include "ops/kern/resample.h"
#include "ops/kern/yuv.h"

/* the layouts, numbered as ops.h's enum vl_picture_format */
enum {
    VL_KERN_PIC_YUV420P = 1,
    VL_KERN_PIC_YUV420P10 = 2,
    VL_KERN_PIC_NV12 = 3,
    VL_KERN_PIC_P016 = 4,
};

/* a 16-bit little-endian sample at byte offset off of p */
VL_HD static inline int vl_kern_u16_at(const uint8_t *p, size_t off)
{
    return p[off] | p[off + 1] << 8;
}

VL_HD static inline int vl_kern_ten_to_8(int v)
{
    v = (v + 2) >> 2;
    return v > 255 ? 255 : v;
}

VL_HD static inline int vl_kern_p016_to_8(int s)
{
    s = (s + 128) >> 8;
    return s > 255 ? 255 : s;
}

/* The 8-bit luma sample (x, y) of a picture of layout format (planes p,
 * strides s in bytes); -1 for a layout it does not know. */
VL_HD static inline int vl_kern_picture_luma(int format, const uint8_t *const p[3], const int s[3],
                                             int x, int y)
{
    size_t o = (size_t)y * s[0];
    switch (format) {
    case VL_KERN_PIC_YUV420P:
    case VL_KERN_PIC_NV12:
        return p[0][o + x];
    case VL_KERN_PIC_YUV420P10:
        return vl_kern_ten_to_8(vl_kern_u16_at(p[0], o + 2 * (size_t)x));
    case VL_KERN_PIC_P016:
        return vl_kern_p016_to_8(vl_kern_u16_at(p[0], o + 2 * (size_t)x));
    default:
        return -1;
    }
}

/* The 8-bit chroma samples (cx, cy) (chroma coordinates) into *u, *v. */
VL_HD static inline void vl_kern_picture_chroma(int format, const uint8_t *const p[3],
                                                const int s[3], int cx, int cy, int *u, int *v)
{
    size_t o1 = (size_t)cy * s[1], o2 = (size_t)cy * s[2];
    switch (format) {
    case VL_KERN_PIC_YUV420P:
        *u = p[1][o1 + cx], *v = p[2][o2 + cx];
        break;
    case VL_KERN_PIC_YUV420P10:
        *u = vl_kern_ten_to_8(vl_kern_u16_at(p[1], o1 + 2 * (size_t)cx));
        *v = vl_kern_ten_to_8(vl_kern_u16_at(p[2], o2 + 2 * (size_t)cx));
        break;
    case VL_KERN_PIC_NV12:
        *u = p[1][o1 + 2 * (size_t)cx], *v = p[1][o1 + 2 * (size_t)cx + 1];
        break;
    case VL_KERN_PIC_P016:
        *u = vl_kern_p016_to_8(vl_kern_u16_at(p[1], o1 + 4 * (size_t)cx));
        *v = vl_kern_p016_to_8(vl_kern_u16_at(p[1], o1 + 4 * (size_t)cx + 2));
        break;
    default:
        *u = *v = 128;
        break;
    }
}

/* The chroma window of the luma window (x0, y0, w, h) of a pic_w x pic_h
 * picture, x0 and y0 even: win[4] = cx0, cy0, cw, ch. */
VL_HD static inline void vl_kern_chroma_window(int x0, int y0, int w, int h, int pic_w, int pic_h,
                                               int win[4])
{
    int cx0 = x0 >> 1, cy0 = y0 >> 1, cw = (w + 1) >> 1, ch = (h + 1) >> 1;
    int pcw = (pic_w + 1) >> 1, pch = (pic_h + 1) >> 1;
    win[0] = cx0, win[1] = cy0;
    win[2] = cx0 + cw > pcw ? pcw - cx0 : cw;
    win[3] = cy0 + ch > pch ? pch - cy0 : ch;
}

/* The size the chroma window (cw x ch) is resized to for a pw x ph
 * placement, as swscale converts: scaled (the crop's size differs from
 * the placement's), chroma is interpolated to the full output size
 * (SWS_FULL_CHR_H_INT); unscaled, swscale's unscaled yuv420p converter
 * replicates each chroma sample over its 2x2 block (tw x th = cw x ch),
 * and its scaler, which the other layouts go through, replicates
 * horizontally and interpolates vertically (cw x ph).  An output pixel
 * (x, y) then reads chroma (x, y), with x halved when tw < pw and y halved
 * when th < ph. */
VL_HD static inline void vl_kern_chroma_target(int format, int scaled, int pw, int ph, int cw,
                                               int ch, int *tw, int *th)
{
    *tw = scaled ? pw : cw;
    *th = scaled || format != VL_KERN_PIC_YUV420P ? ph : ch;
}

/* The taps of one plane's resampling (resample.h): a sw x sh window of
 * samples to dw x dh; fx NULL when the sizes are equal (the samples
 * themselves, as the resize entry copies then). */
struct vl_kern_plane_taps {
    int sw, sh, dw, dh, ntx, nty;
    const int32_t *fx, *wx, *fy, *wy;
};

/* Sample (x, y) of plane (0: Y, 1: U, 2: V) of the window at (x0, y0)
 * (chroma coordinates for U and V), 8-bit. */
VL_HD static inline int vl_kern_window_sample(int format, const uint8_t *const p[3],
                                              const int s[3], int plane, int x0, int y0, int x,
                                              int y)
{
    if (plane == 0) return vl_kern_picture_luma(format, p, s, x0 + x, y0 + y);
    int u, v;
    vl_kern_picture_chroma(format, p, s, x0 + x, y0 + y, &u, &v);
    return plane == 1 ? u : v;
}

/* Output sample (ox, oy) of the window's plane resampled by t: resample.h's
 * two passes, pass one computed for just the source rows this output
 * reads, with the same sums and roundings, so the bytes are those of
 * fetching the plane and resizing it (test_cuda_convert_host checks). */
VL_HD static inline uint8_t vl_kern_plane_resampled(int format, const uint8_t *const p[3],
                                                    const int s[3], int plane, int x0, int y0,
                                                    const struct vl_kern_plane_taps *t, int ox,
                                                    int oy)
{
    if (!t->fx) return (uint8_t)vl_kern_window_sample(format, p, s, plane, x0, y0, ox, oy);
    const int32_t *wx = t->wx + (size_t)ox * t->ntx, *wy = t->wy + (size_t)oy * t->nty;
    int64_t acc = 0;
    for (int r = 0; r < t->nty; r++) {
        int j = t->fy[oy] + r;
        j = j < 0 ? 0 : j >= t->sh ? t->sh - 1 : j;
        int64_t h = 0;
        for (int c = 0; c < t->ntx; c++) {
            int i = t->fx[ox] + c;
            i = i < 0 ? 0 : i >= t->sw ? t->sw - 1 : i;
            h += (int64_t)wx[c] * vl_kern_window_sample(format, p, s, plane, x0, y0, i, j);
        }
        acc += (int64_t)wy[r] * vl_kern_resample_round1(h);
    }
    return vl_kern_resample_round2(acc);
}

/* Output pixel (x, y) of the placement, fused: luma resampled by tl from
 * the window at (x0, y0), chroma by tc from the chroma window at (cx0, cy0)
 * at vl_kern_chroma_target's index (tw x th), converted by c into rgb. */
VL_HD static inline void vl_kern_convert_pixel(const struct vl_kern_yuv_coeffs *c, int format,
                                               const uint8_t *const p[3], const int s[3], int x0,
                                               int y0, int cx0, int cy0,
                                               const struct vl_kern_plane_taps *tl,
                                               const struct vl_kern_plane_taps *tc, int x, int y,
                                               uint8_t *rgb)
{
    int cx = tc->dw < tl->dw ? x >> 1 : x, cy = tc->dh < tl->dh ? y >> 1 : y;
    int Y = vl_kern_plane_resampled(format, p, s, 0, x0, y0, tl, x, y);
    int U = vl_kern_plane_resampled(format, p, s, 1, cx0, cy0, tc, cx, cy);
    int V = vl_kern_plane_resampled(format, p, s, 2, cx0, cy0, tc, cx, cy);
    vl_kern_yuv_to_rgb(c, Y, U, V, rgb);
}

/* The bytes of plane i's rows (the row count, bytes per row) of a w x h
 * picture of layout format; 0 rows for a plane the layout lacks. */
VL_HD static inline void vl_kern_picture_plane(int format, int i, int w, int h, size_t *rows,
                                               size_t *row_bytes)
{
    int cw = (w + 1) / 2, ch = (h + 1) / 2, wide = format == VL_KERN_PIC_YUV420P10 ||
                                                   format == VL_KERN_PIC_P016;
    int semi = format == VL_KERN_PIC_NV12 || format == VL_KERN_PIC_P016;
    *rows = 0, *row_bytes = 0;
    if (i == 0) *rows = (size_t)h, *row_bytes = (size_t)w << wide;
    else if (i == 1) *rows = (size_t)ch, *row_bytes = (size_t)cw << (wide + semi);
    else if (!semi) *rows = (size_t)ch, *row_bytes = (size_t)cw << wide;
}

#endif
