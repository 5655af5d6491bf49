/* act.h - the element-wise activations of the neural-network core and their
 * derivatives, one value at a time: ReLU, the exact (erf) GELU, tanh, the
 * sigmoid, and one GRU cell element (gates r, z, n as in nn/gru.c).  The CPU
 * backend (nn/cpu.c) runs these bodies; a CUDA kernel includes the same
 * header (VL_HD, ops/kern/hd.h). */
#ifndef VL_NN_KERN_ACT_H
#define VL_NN_KERN_ACT_H

#include <math.h>

#include "ops/kern/hd.h"

/* max(x, 0) */
VL_HD static inline float vl_nn_kern_relu(float x)
{
    return x > 0.0f ? x : 0.0f;
}

/* x * Phi(x), Phi the normal CDF through erf (PyTorch's default GELU) */
VL_HD static inline float vl_nn_kern_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* d/dx of vl_nn_kern_gelu: Phi(x) + x phi(x) */
VL_HD static inline float vl_nn_kern_gelu_grad(float x)
{
    float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

/* dy * (1 - tanh(x)^2) */
VL_HD static inline float vl_nn_kern_tanh_backward(float x, float dy)
{
    float t = tanhf(x);
    return dy * (1.0f - t * t);
}

/* 1 / (1 + e^-x) */
VL_HD static inline float vl_nn_kern_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* One GRU element from the pre-activations i_* (input projection) and h_*
 * (recurrent projection, bias included) and the previous state: stores the
 * gates r, z, n and returns h' = (1 - z) n + z prev. */
VL_HD static inline float vl_nn_kern_gru_cell(float i_r, float i_z, float i_n, float h_r, float h_z,
                                              float h_n, float prev, float *r_out, float *z_out,
                                              float *n_out)
{
    float r = vl_nn_kern_sigmoid(i_r + h_r);
    float z = vl_nn_kern_sigmoid(i_z + h_z);
    float nn = tanhf(i_n + r * h_n);
    *r_out = r;
    *z_out = z;
    *n_out = nn;
    return (1.0f - z) * nn + z * prev;
}

/* The GRU element's backward from d = dL/dh': the pre-activation gradients
 * of r, z, n (the input projection's; the recurrent one's n-part is dn * r)
 * and dL/dprev through the z path (d * z; the caller adds dgh W_hh). */
VL_HD static inline void vl_nn_kern_gru_cell_backward(float r, float z, float nn, float h_n,
                                                      float prev, float d, float *dr, float *dz,
                                                      float *dn, float *dprev)
{
    *dn = d * (1.0f - z) * (1.0f - nn * nn);
    *dz = d * (prev - nn) * z * (1.0f - z);
    *dr = *dn * h_n * r * (1.0f - r);
    *dprev = d * z;
}

/* Stores element j's pre-activation gradients into rows of 3 hs: the input
 * projection's (r, z, n) into di, the recurrent one's (r, z, n r) into dg. */
VL_HD static inline void vl_nn_kern_gru_store_grads(int hs, int j, float r, float dr, float dz,
                                                    float dn, float *di, float *dg)
{
    di[j] = dr;
    di[hs + j] = dz;
    di[2 * hs + j] = dn;
    dg[j] = dr;
    dg[hs + j] = dz;
    dg[2 * hs + j] = dn * r;
}

#endif
