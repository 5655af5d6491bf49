/* jitter.h - colour jitter of one RGB24 pixel (docs/transforms.md and the
 * top of src/ops/cpu_color.c give the definitions): the tone table applied
 * and the saturation blended with the pixel's grey, then the hue shift in
 * integer HSV.  The CPU table (cpu_color.c) runs these same bodies. */
#ifndef VL_OPS_KERN_JITTER_H
#define VL_OPS_KERN_JITTER_H

#include "ops/kern/hd.h"

#define VL_KERN_GREY_R 19595 /* 0.299 * 65536 */
#define VL_KERN_GREY_G 38470 /* 0.587 * 65536 */
#define VL_KERN_GREY_B 7471  /* 0.114 * 65536; the three sum to 65536 */

/* 0.299 R + 0.587 G + 0.114 B, rounded */
VL_HD static inline int vl_kern_jitter_grey(int r, int g, int b)
{
    return (VL_KERN_GREY_R * r + VL_KERN_GREY_G * g + VL_KERN_GREY_B * b + 32768) >> 16;
}

/* s * v + (1 - s) * grey for each channel after lut, sq = s in 1/4096 steps. */
VL_HD static inline void vl_kern_tone_saturate(uint8_t *p, const uint8_t *lut, int sq)
{
    int gq = 4096 - sq;
    int r = lut[p[0]], g = lut[p[1]], b = lut[p[2]];
    int base = vl_kern_jitter_grey(r, g, b) * gq + 2048;
    int t0 = sq * r + base, t1 = sq * g + base, t2 = sq * b + base;
    t0 = t0 < 0 ? 0 : t0 >> 12;
    t1 = t1 < 0 ? 0 : t1 >> 12;
    t2 = t2 < 0 ? 0 : t2 >> 12;
    p[0] = (uint8_t)(t0 > 255 ? 255 : t0);
    p[1] = (uint8_t)(t1 > 255 ? 255 : t1);
    p[2] = (uint8_t)(t2 > 255 ? 255 : t2);
}

/* Hue shift of one pixel in integer HSV: the hue is a position on the six
 * sectors in 1/4096 steps, shift in the same unit (0 .. 6 * 4096). */
VL_HD static inline void vl_kern_shift_hue(uint8_t *px, int shift)
{
    int r = px[0], g = px[1], b = px[2];
    int max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    int delta = max - min;
    if (delta == 0) return;
    int h;
    if (max == r)
        h = ((g - b) * 4096 + (g >= b ? delta / 2 : -delta / 2)) / delta;
    else if (max == g)
        h = 2 * 4096 + ((b - r) * 4096 + (b >= r ? delta / 2 : -delta / 2)) / delta;
    else
        h = 4 * 4096 + ((r - g) * 4096 + (r >= g ? delta / 2 : -delta / 2)) / delta;
    h += shift;
    h %= 6 * 4096;
    if (h < 0) h += 6 * 4096;
    int sector = h >> 12, frac = h & 4095;
    int rise = min + (delta * frac + 2048) / 4096; /* min -> max within the sector */
    int fall = max - (delta * frac + 2048) / 4096; /* max -> min */
    switch (sector) {
    case 0:
        r = max, g = rise, b = min;
        break;
    case 1:
        r = fall, g = max, b = min;
        break;
    case 2:
        r = min, g = max, b = rise;
        break;
    case 3:
        r = min, g = fall, b = max;
        break;
    case 4:
        r = rise, g = min, b = max;
        break;
    default:
        r = max, g = min, b = fall;
        break;
    }
    px[0] = (uint8_t)r, px[1] = (uint8_t)g, px[2] = (uint8_t)b;
}

/* The whole per-pixel jitter: tone table, then saturation (sq != 4096) or
 * the table alone (tone), then the hue shift (shift != 0). */
VL_HD static inline void vl_kern_jitter_pixel(uint8_t *p, const uint8_t *lut, int tone, int sq,
                                              int shift)
{
    if (sq != 4096)
        vl_kern_tone_saturate(p, lut, sq);
    else if (tone)
        p[0] = lut[p[0]], p[1] = lut[p[1]], p[2] = lut[p[2]];
    if (shift) vl_kern_shift_hue(p, shift);
}

#endif
