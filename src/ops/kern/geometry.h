/* geometry.h - where each output pixel of a crop, a horizontal flip and a
 * rotation comes from, for packed RGB24 frames (3 bytes a pixel).
 *
 * The CPU table (src/ops/cpu_geometry.c) rotates through
 * vl_kern_rotate_pixel, so host and device give the same bytes; crop and
 * flip on the CPU are memcpy and swaps, tested against these maps.  The
 * rotation's 16.16 cos/sin is host-only: both tables compute it once per
 * frame on the host. */
#ifndef VL_OPS_KERN_GEOMETRY_H
#define VL_OPS_KERN_GEOMETRY_H

#include <math.h>

#include "ops/kern/hd.h"

/* cos and sin of degrees in 16.16 fixed point; exact at multiples of 90
 * (host only). */
static inline void vl_kern_fixed_cos_sin(double degrees, int64_t *c, int64_t *s)
{
    double turns = fmod(degrees, 360.0);
    if (turns < 0) turns += 360.0;
    if (turns == 0 || turns == 90 || turns == 180 || turns == 270) {
        static const int64_t cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        int q = (int)(turns / 90);
        *c = cs[q][0] * 65536;
        *s = cs[q][1] * 65536;
        return;
    }
    double rad = turns * (3.14159265358979323846 / 180.0);
    *c = llround(cos(rad) * 65536.0);
    *s = llround(sin(rad) * 65536.0);
}

/* The byte offset in a src_w-wide source of pixel (x, y) of the window at
 * (crop_x, crop_y), mirrored left to right within a w-wide window when flip. */
VL_HD static inline size_t vl_kern_crop_flip_offset(int x, int y, int crop_x, int crop_y, int w,
                                                    int flip, int src_w)
{
    int sx = flip ? w - 1 - x : x;
    return ((size_t)(crop_y + y) * (size_t)src_w + (size_t)(crop_x + sx)) * 3;
}

/* A rotation about the centre of a w x h frame: cos and sin in 16.16
 * (exact at multiples of 90 degrees, see cpu_geometry.c) and the centre. */
struct vl_kern_rotation {
    int64_t c, s;   /* cos, sin in 16.16 */
    int64_t cx, cy; /* ((w-1)/2, (h-1)/2) in 16.16 */
    int w, h;
};

VL_HD static inline void vl_kern_rotation_init(struct vl_kern_rotation *r, int w, int h, int64_t c,
                                               int64_t s)
{
    r->c = c, r->s = s, r->w = w, r->h = h;
    r->cx = (int64_t)(w - 1) << 15, r->cy = (int64_t)(h - 1) << 15;
}

/* Output pixel (x, y) of src rotated by r: the source point is (cx + dx c -
 * dy s, cy + dx s + dy c) for (dx, dy) from the centre, read bilinearly
 * with 8-bit weights; black outside the source. */
VL_HD static inline void vl_kern_rotate_pixel(const struct vl_kern_rotation *r, const uint8_t *src,
                                              int x, int y, uint8_t *out)
{
    int w = r->w, h = r->h;
    int64_t dy = ((int64_t)y << 16) - r->cy, dx0 = -r->cx;
    /* the row's start as the CPU's incremental loop has it, plus x steps */
    int64_t sx = r->cx + ((dx0 * r->c - dy * r->s) >> 16) + (int64_t)x * r->c;
    int64_t sy = r->cy + ((dx0 * r->s + dy * r->c) >> 16) + (int64_t)x * r->s;
    int64_t max_x = (int64_t)(w - 1) << 16, max_y = (int64_t)(h - 1) << 16;
    if (sx < 0 || sy < 0 || sx > max_x || sy > max_y) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    size_t stride = (size_t)w * 3;
    int ix = (int)(sx >> 16), iy = (int)(sy >> 16);
    int fx = (int)((sx & 0xffff) >> 8), fy = (int)((sy & 0xffff) >> 8);
    const uint8_t *p00 = src + (size_t)iy * stride + (size_t)ix * 3;
    const uint8_t *p01 = ix + 1 < w ? p00 + 3 : p00;
    const uint8_t *p10 = iy + 1 < h ? p00 + stride : p00;
    const uint8_t *p11 = iy + 1 < h ? p01 + stride : p01;
    int w00 = (256 - fx) * (256 - fy), w01 = fx * (256 - fy);
    int w10 = (256 - fx) * fy, w11 = fx * fy;
    for (int k = 0; k < 3; k++)
        out[k] =
            (uint8_t)((p00[k] * w00 + p01[k] * w01 + p10[k] * w10 + p11[k] * w11 + 32768) >> 16);
}

#endif
