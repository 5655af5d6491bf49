/* norm.c - batch norm and layer norm: layers and CPU kernels.  Statistics
 * accumulate in double, in a fixed order, so they are reproducible and do
 * not lose precision over large batches. */
#include <math.h>
#include <string.h>

#include "nn/cpu.h"
#include "nn/layers.h"

void vl_nn_cpu_batchnorm_forward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                 const float *gamma, const float *beta, float *running_mean,
                                 float *running_var, float momentum, float eps, int training,
                                 float *y, float *mean, float *invstd)
{
    (void)ctx;
    size_t m = (size_t)n * s;
    for (int ch = 0; ch < c; ch++) {
        double mu, var;
        if (training) {
            double sum = 0.0, sq = 0.0;
            for (int b = 0; b < n; b++) {
                const float *p = x + ((size_t)b * c + ch) * s;
                for (int i = 0; i < s; i++)
                    sum += p[i];
            }
            mu = sum / (double)m;
            for (int b = 0; b < n; b++) {
                const float *p = x + ((size_t)b * c + ch) * s;
                for (int i = 0; i < s; i++)
                    sq += (p[i] - mu) * (p[i] - mu);
            }
            var = sq / (double)m;
            double unbiased = m > 1 ? sq / (double)(m - 1) : var;
            running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mu);
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
        } else {
            mu = running_mean[ch];
            var = running_var[ch];
        }
        float is = (float)(1.0 / sqrt(var + eps)), mf = (float)mu;
        mean[ch] = mf;
        invstd[ch] = is;
        float gsc = gamma[ch] * is, bsh = beta[ch];
        for (int b = 0; b < n; b++) {
            const float *p = x + ((size_t)b * c + ch) * s;
            float *q = y + ((size_t)b * c + ch) * s;
            for (int i = 0; i < s; i++)
                q[i] = (p[i] - mf) * gsc + bsh;
        }
    }
}

void vl_nn_cpu_batchnorm_backward(struct vl_nn_ctx *ctx, int n, int c, int s, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  int batch_stats, const float *dy, float *dx, float *dgamma,
                                  float *dbeta)
{
    (void)ctx;
    double m = (double)n * s;
    for (int ch = 0; ch < c; ch++) {
        float mu = mean[ch], is = invstd[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (int b = 0; b < n; b++) {
            const float *p = x + ((size_t)b * c + ch) * s, *d = dy + ((size_t)b * c + ch) * s;
            for (int i = 0; i < s; i++) {
                sdy += d[i];
                sdyx += (double)d[i] * ((p[i] - mu) * is);
            }
        }
        dgamma[ch] += (float)sdyx;
        dbeta[ch] += (float)sdy;
        if (!dx) continue;
        float g = gamma[ch] * is;
        float a = batch_stats ? (float)(sdy / m) : 0.0f;
        float bcoef = batch_stats ? (float)(sdyx / m) : 0.0f;
        for (int b = 0; b < n; b++) {
            const float *p = x + ((size_t)b * c + ch) * s, *d = dy + ((size_t)b * c + ch) * s;
            float *q = dx + ((size_t)b * c + ch) * s;
            for (int i = 0; i < s; i++)
                q[i] = g * (d[i] - a - (p[i] - mu) * is * bcoef);
        }
    }
}

void vl_nn_cpu_layernorm_forward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                 const float *gamma, const float *beta, float eps, float *y,
                                 float *mean, float *invstd)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * dim;
        float *q = y + r * dim;
        double sum = 0.0, sq = 0.0;
        for (int i = 0; i < dim; i++)
            sum += p[i];
        double mu = sum / dim;
        for (int i = 0; i < dim; i++)
            sq += (p[i] - mu) * (p[i] - mu);
        float is = (float)(1.0 / sqrt(sq / dim + eps)), mf = (float)mu;
        mean[r] = mf;
        invstd[r] = is;
        for (int i = 0; i < dim; i++)
            q[i] = (p[i] - mf) * is * gamma[i] + beta[i];
    }
}

void vl_nn_cpu_layernorm_backward(struct vl_nn_ctx *ctx, size_t rows, int dim, const float *x,
                                  const float *gamma, const float *mean, const float *invstd,
                                  const float *dy, float *dx, float *dgamma, float *dbeta)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * dim, *d = dy + r * dim;
        float mu = mean[r], is = invstd[r];
        double sg = 0.0, sgx = 0.0;
        for (int i = 0; i < dim; i++) {
            float xh = (p[i] - mu) * is, g = d[i] * gamma[i];
            dgamma[i] += d[i] * xh;
            dbeta[i] += d[i];
            sg += g;
            sgx += (double)g * xh;
        }
        if (!dx) continue;
        float a = (float)(sg / dim), b = (float)(sgx / dim);
        float *q = dx + r * dim;
        for (int i = 0; i < dim; i++) {
            float xh = (p[i] - mu) * is;
            q[i] = is * (d[i] * gamma[i] - a - xh * b);
        }
    }
}

/* -- the layers -- */

static int norm_params(struct vl_nn_params *reg, const char *name, int dim,
                       struct vl_nn_param **weight, struct vl_nn_param **bias, struct vl_error *err)
{
    *weight = vl_nn_params_add(reg, name, "weight", 1, &dim, 1, 0, err);
    if (!*weight) return -1;
    vl_nn_tensor_fill(&(*weight)->value, 1.0f);
    *bias = vl_nn_params_add(reg, name, "bias", 1, &dim, 1, 0, err);
    return *bias ? 0 : -1;
}

int vl_nn_batchnorm_init(struct vl_nn_batchnorm *l, struct vl_nn_params *reg, const char *name,
                         int channels, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (channels < 1) return vl_error_set(err, "batchnorm %s: bad channel count", name);
    l->channels = channels;
    l->momentum = 0.1f;
    l->eps = 1e-5f;
    if (norm_params(reg, name, channels, &l->weight, &l->bias, err) < 0) return -1;
    l->running_mean = vl_nn_params_add(reg, name, "running_mean", 1, &channels, 0, 0, err);
    if (!l->running_mean) return -1;
    l->running_var = vl_nn_params_add(reg, name, "running_var", 1, &channels, 0, 0, err);
    if (!l->running_var) return -1;
    vl_nn_tensor_fill(&l->running_var->value, 1.0f);
    return 0;
}

static int batchnorm_dims(const struct vl_nn_batchnorm *l, const struct vl_nn_tensor *x, int *n,
                          int *s, struct vl_error *err)
{
    char b[64];
    if (x->ndim < 2 || x->shape[1] != l->channels)
        return vl_error_set(err, "batchnorm: input %s is not [N, %d, ...]",
                            vl_nn_shape_str(x, b, sizeof b), l->channels);
    *n = x->shape[0];
    *s = (int)(x->size / ((size_t)x->shape[0] * x->shape[1]));
    return 0;
}

int vl_nn_batchnorm_forward(struct vl_nn_ctx *ctx, struct vl_nn_batchnorm *l,
                            const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                            struct vl_error *err)
{
    int n, s, c = l->channels;
    if (batchnorm_dims(l, x, &n, &s, err) < 0) return -1;
    if ((size_t)n * s < 2 && ctx->training)
        return vl_error_set(err, "batchnorm: training needs more than one value per channel");
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, x->ndim, x->shape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->mean, 1, &c, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->invstd, 1, &c, err) < 0)
        return -1;
    ctx->backend->batchnorm_forward(ctx, n, c, s, x->data, l->weight->value.data,
                                    l->bias->value.data, l->running_mean->value.data,
                                    l->running_var->value.data, l->momentum, l->eps, ctx->training,
                                    l->y.data, l->mean.data, l->invstd.data);
    l->batch_stats = ctx->training;
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_batchnorm_backward(struct vl_nn_ctx *ctx, struct vl_nn_batchnorm *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err)
{
    int n, s;
    if (!l->x) return vl_error_set(err, "batchnorm: backward before forward");
    if (batchnorm_dims(l, l->x, &n, &s, err) < 0) return -1;
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "batchnorm: gradient shape differs from the output's");
    if (dx && vl_nn_tensor_resize_ctx(ctx, &l->dx, l->x->ndim, l->x->shape, err) < 0) return -1;
    ctx->backend->batchnorm_backward(
        ctx, n, l->channels, s, l->x->data, l->weight->value.data, l->mean.data, l->invstd.data,
        l->batch_stats, dy->data, dx ? l->dx.data : NULL, l->weight->grad.data, l->bias->grad.data);
    if (dx) *dx = &l->dx;
    return 0;
}

void vl_nn_batchnorm_free(struct vl_nn_batchnorm *l)
{
    vl_nn_tensor_free(&l->mean);
    vl_nn_tensor_free(&l->invstd);
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}

int vl_nn_layernorm_init(struct vl_nn_layernorm *l, struct vl_nn_params *reg, const char *name,
                         int dim, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (dim < 1) return vl_error_set(err, "layernorm %s: bad size", name);
    l->dim = dim;
    l->eps = 1e-5f;
    return norm_params(reg, name, dim, &l->weight, &l->bias, err);
}

int vl_nn_layernorm_forward(struct vl_nn_ctx *ctx, struct vl_nn_layernorm *l,
                            const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                            struct vl_error *err)
{
    char b[64];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != l->dim)
        return vl_error_set(err, "layernorm: input %s does not end in %d",
                            vl_nn_shape_str(x, b, sizeof b), l->dim);
    int rows = (int)(x->size / (size_t)l->dim);
    if (vl_nn_tensor_resize_ctx(ctx, &l->y, x->ndim, x->shape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->mean, 1, &rows, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->invstd, 1, &rows, err) < 0)
        return -1;
    ctx->backend->layernorm_forward(ctx, (size_t)rows, l->dim, x->data, l->weight->value.data,
                                    l->bias->value.data, l->eps, l->y.data, l->mean.data,
                                    l->invstd.data);
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_layernorm_backward(struct vl_nn_ctx *ctx, struct vl_nn_layernorm *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err)
{
    if (!l->x) return vl_error_set(err, "layernorm: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "layernorm: gradient shape differs from the output's");
    if (dx && vl_nn_tensor_resize_ctx(ctx, &l->dx, l->x->ndim, l->x->shape, err) < 0) return -1;
    ctx->backend->layernorm_backward(
        ctx, l->x->size / (size_t)l->dim, l->dim, l->x->data, l->weight->value.data, l->mean.data,
        l->invstd.data, dy->data, dx ? l->dx.data : NULL, l->weight->grad.data, l->bias->grad.data);
    if (dx) *dx = &l->dx;
    return 0;
}

void vl_nn_layernorm_free(struct vl_nn_layernorm *l)
{
    vl_nn_tensor_free(&l->mean);
    vl_nn_tensor_free(&l->invstd);
    vl_nn_tensor_free(&l->y);
    vl_nn_tensor_free(&l->dx);
}
