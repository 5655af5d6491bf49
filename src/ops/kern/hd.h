/* hd.h - what lets one body of per-pixel or per-block arithmetic compile
 * for the host (gcc) and for a CUDA device (nvcc).
 *
 * VL_HD marks a function both can call: `__host__ __device__` under nvcc,
 * nothing under a C compiler.  VL_FMUL, VL_FADD (float) and VL_DMUL, VL_DADD
 * (double) are products and sums rounded once each: the host's C11 build already keeps every float
 * operation separate (gcc's -std=c11 implies -ffp-contract=off), and on a
 * device __fmul_rn/__fadd_rn stop nvcc from fusing them into FMAs, so a
 * body that uses them gives the same bits on both. */
#ifndef VL_OPS_KERN_HD_H
#define VL_OPS_KERN_HD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define VL_HD __host__ __device__
#else
#define VL_HD
#endif

#ifdef __CUDA_ARCH__
#define VL_FMUL(a, b) __fmul_rn((a), (b))
#define VL_FADD(a, b) __fadd_rn((a), (b))
#define VL_DMUL(a, b) __dmul_rn((a), (b))
#define VL_DADD(a, b) __dadd_rn((a), (b))
#else
#define VL_FMUL(a, b) ((a) * (b))
#define VL_FADD(a, b) ((a) + (b))
#define VL_DMUL(a, b) ((a) * (b))
#define VL_DADD(a, b) ((a) + (b))
#endif

/* v clamped to 0..255 */
VL_HD static inline int vl_kern_clamp255(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

#endif
