/* loss.h - the per-row math of the three classification losses over logits
 * rows of c values (definitions in docs/nn.md and train/trainer.c):
 * softmax cross-entropy, the multiclass hinge (nn.MultiMarginLoss, p = 1)
 * and one-vs-rest squared hinge (LinearSVC's).  Each row function adds its
 * terms into a double accumulator the caller passes, so the CPU backend,
 * which runs them row after row into one sum, keeps its order of addition;
 * a device kernel gives each row its own accumulator and sums those in a
 * fixed order. */
#ifndef VL_NN_KERN_LOSS_H
#define VL_NN_KERN_LOSS_H

#include <math.h>

#include "ops/kern/hd.h"

/* The largest of row[0..c) (c >= 1). */
VL_HD static inline float vl_nn_kern_row_max(const float *row, int c)
{
    float mx = row[0];
    for (int j = 1; j < c; j++)
        if (row[j] > mx) mx = row[j];
    return mx;
}

/* sum_j exp(row[j] - mx), in double. */
VL_HD static inline double vl_nn_kern_row_sumexp(const float *row, int c, float mx)
{
    double sum = 0.0;
    for (int j = 0; j < c; j++)
        sum += exp((double)row[j] - mx);
    return sum;
}

/* The cross-entropy of one row: log-sum-exp minus the label's logit. */
VL_HD static inline double vl_nn_kern_ce_row_loss(const float *row, int c, int label)
{
    float mx = vl_nn_kern_row_max(row, c);
    double lse = mx + log(vl_nn_kern_row_sumexp(row, c, mx));
    return lse - row[label];
}

/* The cross-entropy gradient of one row into d: scale * (softmax - onehot),
 * scale being the row's weight over the batch's weight sum. */
VL_HD static inline void vl_nn_kern_ce_row_grad(const float *row, int c, int label, double scale,
                                                float *d)
{
    float mx = vl_nn_kern_row_max(row, c);
    double sum = vl_nn_kern_row_sumexp(row, c, mx);
    for (int j = 0; j < c; j++) {
        double p = exp((double)row[j] - mx) / sum;
        d[j] = (float)(scale * (p - (j == label)));
    }
}

/* The multiclass hinge of one row with true class y: adds
 * scale * max(0, margin - x_y + x_j) over j != y into *total and, when d
 * (the row's gradient, zeroed before) is not NULL, +-scale per active term. */
VL_HD static inline void vl_nn_kern_hinge_row(const float *row, int c, int y, float margin,
                                              double scale, double *total, float *d)
{
    for (int j = 0; j < c; j++) {
        if (j == y) continue;
        double m = (double)margin - row[y] + row[j];
        if (m <= 0.0) continue;
        *total += scale * m;
        if (d) {
            d[j] += (float)scale;
            d[y] -= (float)scale;
        }
    }
}

/* One-vs-rest squared hinge of one row of a batch of n: adds
 * max(0, 1 - y_j x_j)^2 (y_j = +1 for the label, else -1) into *total and,
 * when d is not NULL, writes the gradient of the batch mean. */
VL_HD static inline void vl_nn_kern_sq_hinge_row(const float *row, int c, int label, int n,
                                                 double *total, float *d)
{
    for (int j = 0; j < c; j++) {
        double y = j == label ? 1.0 : -1.0;
        double m = 1.0 - y * row[j];
        *total += m > 0 ? m * m : 0;
        if (d) d[j] = m > 0 ? (float)(-2.0 * y * m / n) : 0;
    }
}

#endif
