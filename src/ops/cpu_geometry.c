/* cpu_geometry.c - crop, horizontal flip and rotation of RGB24 frames (CPU).
 *
 * Integer arithmetic only: rotation maps each output pixel back into the
 * source with 16.16 fixed-point coordinates and 8-bit bilinear weights, so
 * the same angle gives the same bytes on every machine (the sine and cosine
 * are rounded to 16 bits once; multiples of 90 degrees are exact). */
#include "ops/cpu.h"

#include <math.h>
#include <string.h>

void vl_cpu_crop(const struct vl_frame *src, int x, int y, struct vl_frame *dst)
{
    size_t row = (size_t)dst->width * 3;
    for (int r = 0; r < dst->height; r++)
        memcpy(dst->rgb + (size_t)r * row, src->rgb + ((size_t)(y + r) * src->width + x) * 3, row);
}

void vl_cpu_flip_horizontal(struct vl_frame *f)
{
    for (int y = 0; y < f->height; y++) {
        uint8_t *a = f->rgb + (size_t)y * f->width * 3;
        uint8_t *b = a + (size_t)(f->width - 1) * 3;
        for (; a < b; a += 3, b -= 3) {
            uint8_t t0 = a[0], t1 = a[1], t2 = a[2];
            a[0] = b[0], a[1] = b[1], a[2] = b[2];
            b[0] = t0, b[1] = t1, b[2] = t2;
        }
    }
}

/* cos and sin of degrees in 16.16 fixed point; exact at multiples of 90. */
static void fixed_cos_sin(double degrees, int64_t *c, int64_t *s)
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

void vl_cpu_rotate(const struct vl_frame *src, struct vl_frame *dst, double degrees)
{
    int w = src->width, h = src->height;
    int64_t c, s;
    fixed_cos_sin(degrees, &c, &s);
    /* The centre in 16.16: ((w-1)/2, (h-1)/2).  For an output pixel at
     * (dx, dy) from the centre the source is (cx + dx c - dy s, cy + dx s +
     * dy c): the picture turns counter-clockwise on screen (y down). */
    int64_t cx = (int64_t)(w - 1) << 15, cy = (int64_t)(h - 1) << 15;
    int64_t max_x = (int64_t)(w - 1) << 16, max_y = (int64_t)(h - 1) << 16;
    size_t stride = (size_t)w * 3;
    for (int y = 0; y < h; y++) {
        int64_t dy = ((int64_t)y << 16) - cy;
        int64_t dx0 = -cx;
        /* (dx c - dy s) >> 16 with dx in 16.16: products are 32.32 */
        int64_t sx = cx + ((dx0 * c - dy * s) >> 16);
        int64_t sy = cy + ((dx0 * s + dy * c) >> 16);
        uint8_t *out = dst->rgb + (size_t)y * stride;
        for (int x = 0; x < w; x++, sx += c, sy += s, out += 3) {
            if (sx < 0 || sy < 0 || sx > max_x || sy > max_y) {
                out[0] = out[1] = out[2] = 0;
                continue;
            }
            int ix = (int)(sx >> 16), iy = (int)(sy >> 16);
            int fx = (int)((sx & 0xffff) >> 8), fy = (int)((sy & 0xffff) >> 8);
            const uint8_t *p00 = src->rgb + (size_t)iy * stride + (size_t)ix * 3;
            const uint8_t *p01 = ix + 1 < w ? p00 + 3 : p00;
            const uint8_t *p10 = iy + 1 < h ? p00 + stride : p00;
            const uint8_t *p11 = iy + 1 < h ? p01 + stride : p01;
            int w00 = (256 - fx) * (256 - fy), w01 = fx * (256 - fy);
            int w10 = (256 - fx) * fy, w11 = fx * fy;
            for (int k = 0; k < 3; k++)
                out[k] = (uint8_t)((p00[k] * w00 + p01[k] * w01 + p10[k] * w10 + p11[k] * w11 +
                                    32768) >> 16);
        }
    }
}
