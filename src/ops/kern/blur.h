/* blur.h - the Gaussian blur's kernel, as both tables build it on the host
 * (host only): radius ceil(3 sigma) clamped to 1..63, 16-bit weights of
 * exp(-i^2 / 2 sigma^2) rounded to sum exactly 65536 (the rounding
 * remainder on the centre tap).  The sweeps that apply it are the tables'
 * own (src/ops/cpu_color.c; per element in src/cuda/ops_bodies.h). */
#ifndef VL_OPS_KERN_BLUR_H
#define VL_OPS_KERN_BLUR_H

#include <math.h>
#include <stdint.h>

struct vl_kern_blur_kernel {
    uint32_t weights[127]; /* 2 * radius + 1 taps, sum 65536 */
    int radius;
};

/* Fills b with the kernel of sigma (> 0). */
static inline void vl_kern_blur_kernel_of(double sigma, struct vl_kern_blur_kernel *b)
{
    int radius = (int)ceil(3.0 * sigma);
    if (radius < 1) radius = 1;
    if (radius > 63) radius = 63;
    double w[127], total = 0;
    for (int i = -radius; i <= radius; i++)
        total += w[i + radius] = exp(-(double)(i * i) / (2.0 * sigma * sigma));
    uint32_t sum = 0;
    for (int i = 0; i <= 2 * radius; i++)
        sum += b->weights[i] = (uint32_t)llround(w[i] / total * 65536.0);
    b->weights[radius] += 65536u - sum; /* the rounding remainder goes to the centre tap */
    b->radius = radius;
}

#endif
