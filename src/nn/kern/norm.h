/* norm.h - the per-element arithmetic of batch norm and layer norm, as
 * nn/norm.c's CPU kernels compute it, for a device that gives each element
 * a thread and reduces the statistics in a tree of its own.
 *
 * Each body is one expression of norm.c with every float product and sum
 * rounded on its own (VL_FMUL, VL_FADD, VL_DMUL, VL_DADD, ops/kern/hd.h),
 * so nvcc cannot fuse it into an FMA and a device gives the host's bits for
 * the same statistics; only the order of the statistics' sums differs.
 * norm.c keeps its own loops; test_nn_kern_rows runs these bodies in the
 * CPU's order against the CPU table's entries bit for bit. */
#ifndef VL_NN_KERN_NORM_H
#define VL_NN_KERN_NORM_H

#include <math.h>

#include "ops/kern/hd.h"

/* 1 / sqrt(var + eps) in double, rounded to float. */
VL_HD static inline float vl_nn_kern_invstd(double var, float eps)
{
    return (float)(1.0 / sqrt(var + eps));
}

/* A running statistic after one batch: (1 - momentum) old + momentum stat. */
VL_HD static inline float vl_nn_kern_running(float old, float momentum, double stat)
{
    return (float)VL_DADD(VL_DMUL(1.0 - momentum, (double)old), VL_DMUL((double)momentum, stat));
}

/* Batch norm of one element: (x - mean) gsc + shift (gsc = gamma invstd). */
VL_HD static inline float vl_nn_kern_bn_apply(float x, float mean, float gsc, float shift)
{
    return VL_FADD(VL_FMUL(x - mean, gsc), shift);
}

/* The normalised value (x - mean) invstd, as both norms' backwards use it. */
VL_HD static inline float vl_nn_kern_norm_xhat(float x, float mean, float invstd)
{
    return VL_FMUL(x - mean, invstd);
}

/* dy xhat in double: one term of batch norm's sum(dy xhat). */
VL_HD static inline double vl_nn_kern_dy_xhat(float dy, float xhat)
{
    return VL_DMUL((double)dy, (double)xhat);
}

/* Batch norm's input gradient of one element: g (dy - a - xhat bcoef), g =
 * gamma invstd, a and bcoef the batch means of dy and dy xhat (0 when the
 * running statistics normalised). */
VL_HD static inline float vl_nn_kern_bn_grad(float g, float dy, float a, float x, float mean,
                                             float invstd, float bcoef)
{
    float t = VL_FMUL(vl_nn_kern_norm_xhat(x, mean, invstd), bcoef);
    return VL_FMUL(g, VL_FADD(dy - a, -t));
}

/* Layer norm of one element: (x - mean) invstd gamma + beta. */
VL_HD static inline float vl_nn_kern_ln_apply(float x, float mean, float invstd, float gamma,
                                              float beta)
{
    return VL_FADD(VL_FMUL(VL_FMUL(x - mean, invstd), gamma), beta);
}

/* Layer norm's input gradient of one element: invstd (dy gamma - a - xhat
 * b), a and b the row means of dy gamma and dy gamma xhat. */
VL_HD static inline float vl_nn_kern_ln_grad(float invstd, float dy, float gamma, float a,
                                             float xhat, float b)
{
    float t = VL_FADD(VL_FMUL(dy, gamma), -a);
    return VL_FMUL(invstd, VL_FADD(t, -VL_FMUL(xhat, b)));
}

#endif
