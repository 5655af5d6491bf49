/* loss.c - softmax cross-entropy and multiclass hinge loss over logits
 * [N, C], with their gradients, and the softmax itself.  Sums accumulate in
 * double. */
#include <math.h>
#include <string.h>

#include "nn/backend.h"
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
    if (vl_nn_tensor_copy(probs, logits, err) < 0) return -1;
    int cols = logits->shape[logits->ndim - 1];
    ctx->backend->softmax_rows(ctx, logits->size / (size_t)cols, cols, probs->data, NULL);
    return 0;
}

int vl_nn_cross_entropy(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                        const float *class_weight, float *loss, struct vl_nn_tensor *dlogits,
                        struct vl_error *err)
{
    (void)ctx;
    if (check_logits("cross_entropy", logits, labels, err) < 0) return -1;
    int n = logits->shape[0], c = logits->shape[1];
    if (dlogits && vl_nn_tensor_resize(dlogits, 2, logits->shape, err) < 0) return -1;
    double total = 0.0, wsum = 0.0;
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * c;
        double w = class_weight ? class_weight[labels[i]] : 1.0;
        float mx = row[0];
        for (int j = 1; j < c; j++)
            if (row[j] > mx) mx = row[j];
        double sum = 0.0;
        for (int j = 0; j < c; j++)
            sum += exp((double)row[j] - mx);
        double lse = mx + log(sum);
        total += w * (lse - row[labels[i]]);
        wsum += w;
    }
    *loss = wsum > 0.0 ? (float)(total / wsum) : 0.0f;
    if (!dlogits) return 0;
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * c;
        float *d = dlogits->data + (size_t)i * c;
        double w = class_weight ? class_weight[labels[i]] : 1.0;
        double scale = wsum > 0.0 ? w / wsum : 0.0;
        float mx = row[0];
        for (int j = 1; j < c; j++)
            if (row[j] > mx) mx = row[j];
        double sum = 0.0;
        for (int j = 0; j < c; j++)
            sum += exp((double)row[j] - mx);
        for (int j = 0; j < c; j++) {
            double p = exp((double)row[j] - mx) / sum;
            d[j] = (float)(scale * (p - (j == labels[i])));
        }
    }
    return 0;
}

int vl_nn_hinge_loss(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                     const float *class_weight, float margin, float *loss,
                     struct vl_nn_tensor *dlogits, struct vl_error *err)
{
    (void)ctx;
    if (check_logits("hinge_loss", logits, labels, err) < 0) return -1;
    int n = logits->shape[0], c = logits->shape[1];
    if (dlogits && vl_nn_tensor_zeros(dlogits, 2, logits->shape, err) < 0) return -1;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * c;
        int y = labels[i];
        double w = class_weight ? class_weight[y] : 1.0;
        double scale = w / ((double)c * n);
        for (int j = 0; j < c; j++) {
            if (j == y) continue;
            double m = (double)margin - row[y] + row[j];
            if (m <= 0.0) continue;
            total += scale * m;
            if (dlogits) {
                dlogits->data[(size_t)i * c + j] += (float)scale;
                dlogits->data[(size_t)i * c + y] -= (float)scale;
            }
        }
    }
    *loss = (float)total;
    return 0;
}
