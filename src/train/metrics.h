/* metrics.h - classification metrics of one evaluation pass: loss,
 * accuracy, the confusion matrix and, for two classes, ROC AUC. */
#ifndef VL_TRAIN_METRICS_H
#define VL_TRAIN_METRICS_H

#include <stddef.h>

#include "util/strbuf.h"

struct vl_metrics {
    size_t n;          /* samples seen */
    int n_classes;
    double loss_sum;   /* sum of per-batch mean losses times batch sizes */
    size_t correct;
    size_t *confusion; /* n_classes x n_classes: [true][predicted] */
    /* two classes: the positive-class probability and truth of each sample */
    float *scores;
    unsigned char *positive;
    size_t cap;
};

/* Starts an empty pass over n_classes classes. */
void vl_metrics_init(struct vl_metrics *m, int n_classes);
/* Adds a batch: probabilities [n, n_classes] (softmax of the logits), the
 * labels and the batch's mean loss. */
void vl_metrics_add(struct vl_metrics *m, const float *probs, const int *labels, size_t n,
                    double mean_loss);
/* The mean loss over the samples added (0 when none). */
double vl_metrics_loss(const struct vl_metrics *m);
/* The fraction classified correctly (0 when none). */
double vl_metrics_accuracy(const struct vl_metrics *m);
/* ROC AUC of the positive class (class 1), ties counted half (the
 * Mann-Whitney statistic, as sklearn's roc_auc_score); -1 when there are not
 * two classes or one of them has no sample. */
double vl_metrics_auc(const struct vl_metrics *m);
/* Appends the confusion matrix as a JSON array of rows. */
void vl_metrics_confusion_json(const struct vl_metrics *m, struct vl_strbuf *out);
/* Empties m for the next pass, keeping n_classes. */
void vl_metrics_reset(struct vl_metrics *m);
/* Frees m. */
void vl_metrics_free(struct vl_metrics *m);

/* Appends v as JSON: the shortest "%.*g" that reads back as the same float,
 * or null when v is not finite. */
void vl_json_add_float(struct vl_strbuf *out, double v);

#endif
