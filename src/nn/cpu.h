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

/* pool.c */
void vl_nn_cpu_dropout_forward(struct vl_nn_ctx *ctx, size_t n, float p, const float *x,
                               float *mask, float *y);
void vl_nn_cpu_mean_forward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                            const float *x, float *y);
void vl_nn_cpu_mean_backward(struct vl_nn_ctx *ctx, size_t outer, size_t len, size_t inner,
                             const float *dy, float *dx);
void vl_nn_cpu_area_pool_forward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                                 const float *x, float *y);
void vl_nn_cpu_area_pool_backward(struct vl_nn_ctx *ctx, const struct vl_nn_area_geom *g,
                                  const float *dy, float *dx);

/* attention.c */
void vl_nn_cpu_patch_tokens_forward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                    const float *conv, const float *cls_token, const float *pos,
                                    float *y);
void vl_nn_cpu_patch_tokens_backward(struct vl_nn_ctx *ctx, int n, int np, int e, int cls,
                                     const float *dy, float *dconv, float *dpos, float *dcls);

/* loss.c */
void vl_nn_cpu_cross_entropy(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                             const int *labels, const float *class_weight, float *loss,
                             float *dlogits);
void vl_nn_cpu_hinge_loss(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                          const int *labels, const float *class_weight, float margin, float *loss,
                          float *dlogits);
void vl_nn_cpu_squared_hinge_ovr(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                                 const int *labels, float *loss, float *dlogits);

/* optim.c */
void vl_nn_cpu_sgd_step(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *buf,
                        float lr, float wd, float mu, int nesterov, int first);
void vl_nn_cpu_adamw_step(struct vl_nn_ctx *ctx, size_t n, float *w, const float *g, float *m,
                          float *v, float lr, float wd, float b1, float b2, float eps,
                          float step_size, float bc2_sqrt);

#endif
