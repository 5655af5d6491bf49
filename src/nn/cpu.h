/* cpu.h - the CPU backend's kernels, defined beside the layers that use them
 * and assembled into the table by cpu.c. */
#ifndef VL_NN_CPU_H
#define VL_NN_CPU_H

#include "nn/backend.h"

/* conv.c */
void vl_nn_cpu_conv2d_forward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                              const float *x, const float *w, const float *b, float *y);
void vl_nn_cpu_conv2d_backward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                               const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db);

/* pool.c */
void vl_nn_cpu_pool2d_forward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g,
                              const float *x, float *y, int *argmax);
void vl_nn_cpu_pool2d_backward(struct vl_nn_ctx *ctx, const struct vl_nn_pool_geom *g,
                               const float *dy, const int *argmax, float *dx);

/* norm.c */
void vl_nn_cpu_batchnorm_forward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                 const float *gamma, const float *beta, float *running_mean,
                                 float *running_var, float momentum, float eps, int training,
                                 float *y, float *mean, float *invstd);
void vl_nn_cpu_batchnorm_backward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  int batch_stats, const float *dy, float *dx, float *dgamma,
                                  float *dbeta);
void vl_nn_cpu_layernorm_forward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                 const float *gamma, const float *beta, float eps, float *y,
                                 float *mean, float *invstd);
void vl_nn_cpu_layernorm_backward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  const float *dy, float *dx, float *dgamma, float *dbeta);

#endif
