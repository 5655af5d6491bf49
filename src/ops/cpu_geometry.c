/* cpu_geometry.c - crop, horizontal flip and rotation of RGB24 frames (CPU).
 *
 * Integer arithmetic only: rotation maps each output pixel back into the
 * source with 16.16 fixed-point coordinates and 8-bit bilinear weights, so
 * the same angle gives the same bytes on every machine (the sine and cosine
 * are rounded to 16 bits once; multiples of 90 degrees are exact). */
#include "ops/cpu.h"

#include <math.h>
#include <string.h>

#include "ops/kern/geometry.h"

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

void vl_cpu_rotate(const struct vl_frame *src, struct vl_frame *dst, double degrees)
{
    int w = src->width, h = src->height;
    int64_t c, s;
    vl_kern_fixed_cos_sin(degrees, &c, &s);
    /* the picture turns counter-clockwise on screen (y down); the pixel's
     * arithmetic is the one a device runs (kern/geometry.h) */
    struct vl_kern_rotation r;
    vl_kern_rotation_init(&r, w, h, c, s);
    for (int y = 0; y < h; y++) {
        uint8_t *out = dst->rgb + (size_t)y * w * 3;
        for (int x = 0; x < w; x++, out += 3) vl_kern_rotate_pixel(&r, src->rgb, x, y, out);
    }
}
