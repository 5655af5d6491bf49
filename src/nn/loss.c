/* loss.c - softmax cross-entropy, multiclass hinge and one-vs-rest squared
 * hinge over logits [N, C], with their gradients, and the softmax itself:
 * the checks here, the CPU backend's loss entries (their per-row math in
 * nn/kern/loss.h) below.  Sums accumulate in double. */
#include <string.h>

#include "nn/cpu.h"
#include "nn/kern/loss.h"
#include "nn/layers.h"

static int check_logits(const char *what, const struct vl_nn_tensor *logits, const int *labels,
                        struct vl_error *err)
{
    char b[64];
    if (logits->ndim != 2)
        return vl_error_set(err, "%s: logits %s are not [N, C]", what,
                            vl_nn_shape_str(logits, b, sizeof b));
    for (int i = 0; i < logits->shape[0]; i++)
        if (labels[i] < 0 || labels[i] >= logits->shape[1])
            return vl_error_set(err, "%s: label %d of sample %d is not in 0..%d", what, labels[i],
                                i, logits->shape[1] - 1);
    return 0;
}

int vl_nn_softmax(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits,
                  struct vl_nn_tensor *probs, struct vl_error *err)
{
    if (vl_nn_tensor_resize_ctx(ctx, probs, logits->ndim, logits->shape, err) < 0) return -1;
    ctx->backend->copy(ctx, 1, logits->size, logits->data, 0, probs->data, 0);
    int cols = logits->shape[logits->ndim - 1];
    ctx->backend->softmax_rows(ctx, logits->size / (size_t)cols, cols, probs->data, NULL);
    return 0;
}

void vl_nn_cpu_cross_entropy(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                             const int *labels, const float *class_weight, float *loss,
                             float *dlogits)
{
    (void)ctx;
    double total = 0.0, wsum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = class_weight ? class_weight[labels[i]] : 1.0;
        total += w * vl_nn_kern_ce_row_loss(logits + (size_t)i * c, c, labels[i]);
        wsum += w;
    }
    *loss = wsum > 0.0 ? (float)(total / wsum) : 0.0f;
    if (!dlogits) return;
    for (int i = 0; i < n; i++) {
        double w = class_weight ? class_weight[labels[i]] : 1.0;
        double scale = wsum > 0.0 ? w / wsum : 0.0;
        vl_nn_kern_ce_row_grad(logits + (size_t)i * c, c, labels[i], scale,
                               dlogits + (size_t)i * c);
    }
}

void vl_nn_cpu_hinge_loss(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                          const int *labels, const float *class_weight, float margin, float *loss,
                          float *dlogits)
{
    (void)ctx;
    if (dlogits) memset(dlogits, 0, (size_t)n * c * sizeof *dlogits);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        int y = labels[i];
        double w = class_weight ? class_weight[y] : 1.0;
        vl_nn_kern_hinge_row(logits + (size_t)i * c, c, y, margin, w / ((double)c * n), &total,
                             dlogits ? dlogits + (size_t)i * c : NULL);
    }
    *loss = (float)total;
}

void vl_nn_cpu_squared_hinge_ovr(struct vl_nn_ctx *ctx, int n, int c, const float *logits,
                                 const int *labels, float *loss, float *dlogits)
{
    (void)ctx;
    double total = 0;
    for (int i = 0; i < n; i++)
        vl_nn_kern_sq_hinge_row(logits + (size_t)i * c, c, labels[i], n, &total,
                                dlogits ? dlogits + (size_t)i * c : NULL);
    *loss = (float)(total / n);
}

int vl_nn_cross_entropy(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                        const float *class_weight, float *loss, struct vl_nn_tensor *dlogits,
                        struct vl_error *err)
{
    if (check_logits("cross_entropy", logits, labels, err) < 0) return -1;
    if (dlogits && vl_nn_tensor_resize_ctx(ctx, dlogits, 2, logits->shape, err) < 0) return -1;
    ctx->backend->cross_entropy(ctx, logits->shape[0], logits->shape[1], logits->data, labels,
                                class_weight, loss, dlogits ? dlogits->data : NULL);
    return 0;
}

int vl_nn_hinge_loss(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                     const float *class_weight, float margin, float *loss,
                     struct vl_nn_tensor *dlogits, struct vl_error *err)
{
    if (check_logits("hinge_loss", logits, labels, err) < 0) return -1;
    if (dlogits && vl_nn_tensor_resize_ctx(ctx, dlogits, 2, logits->shape, err) < 0) return -1;
    ctx->backend->hinge_loss(ctx, logits->shape[0], logits->shape[1], logits->data, labels,
                             class_weight, margin, loss, dlogits ? dlogits->data : NULL);
    return 0;
}

int vl_nn_squared_hinge_ovr(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits,
                            const int *labels, float *loss, struct vl_nn_tensor *dlogits,
                            struct vl_error *err)
{
    if (check_logits("squared_hinge_ovr", logits, labels, err) < 0) return -1;
    if (dlogits && vl_nn_tensor_resize_ctx(ctx, dlogits, 2, logits->shape, err) < 0) return -1;
    ctx->backend->squared_hinge_ovr(ctx, logits->shape[0], logits->shape[1], logits->data, labels,
                                    loss, dlogits ? dlogits->data : NULL);
    return 0;
}
