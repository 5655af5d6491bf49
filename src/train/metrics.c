/* metrics.c - loss, accuracy, confusion and ROC AUC. */
#include "train/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vl_metrics_init(struct vl_metrics *m, int n_classes)
{
    memset(m, 0, sizeof *m);
    m->n_classes = n_classes;
    m->confusion = calloc((size_t)n_classes * n_classes, sizeof *m->confusion);
    if (!m->confusion) abort();
}

void vl_metrics_add(struct vl_metrics *m, const float *probs, const int *labels, size_t n,
                    double mean_loss)
{
    int k = m->n_classes;
    m->loss_sum += mean_loss * (double)n;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (p[c] > p[best]) best = c;
        m->correct += best == labels[i];
        m->confusion[(size_t)labels[i] * k + best]++;
        if (k == 2) {
            if (m->n + i >= m->cap) {
                m->cap = m->cap ? m->cap * 2 : 256;
                m->scores = realloc(m->scores, m->cap * sizeof *m->scores);
                m->positive = realloc(m->positive, m->cap);
                if (!m->scores || !m->positive) abort();
            }
            m->scores[m->n + i] = p[1];
            m->positive[m->n + i] = labels[i] == 1;
        }
    }
    m->n += n;
}

double vl_metrics_loss(const struct vl_metrics *m)
{
    return m->n ? m->loss_sum / (double)m->n : 0;
}

double vl_metrics_accuracy(const struct vl_metrics *m)
{
    return m->n ? (double)m->correct / (double)m->n : 0;
}

double vl_metrics_auc(const struct vl_metrics *m)
{
    if (m->n_classes != 2 || m->n == 0) return -1;
    size_t pos = 0;
    for (size_t i = 0; i < m->n; i++) pos += m->positive[i];
    size_t neg = m->n - pos;
    if (!pos || !neg) return -1;
    size_t *order = malloc(m->n * sizeof *order);
    if (!order) abort();
    for (size_t i = 0; i < m->n; i++) order[i] = i;
    /* a stable bottom-up merge sort by score: qsort has no context
     * argument, and a file-local pointer would not be thread-safe */
    for (size_t w = 1; w < m->n; w *= 2) {
        size_t *tmp = malloc(m->n * sizeof *tmp);
        if (!tmp) abort();
        for (size_t lo = 0; lo < m->n; lo += 2 * w) {
            size_t mid = lo + w < m->n ? lo + w : m->n, hi = lo + 2 * w < m->n ? lo + 2 * w : m->n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = m->scores[order[b]] < m->scores[order[a]] ? order[b++] : order[a++];
            while (a < mid) tmp[k++] = order[a++];
            while (b < hi) tmp[k++] = order[b++];
        }
        memcpy(order, tmp, m->n * sizeof *tmp);
        free(tmp);
    }
    /* average ranks over ties, then Mann-Whitney U */
    double rank_sum = 0;
    for (size_t i = 0; i < m->n;) {
        size_t j = i;
        while (j + 1 < m->n && m->scores[order[j + 1]] == m->scores[order[i]]) j++;
        double avg = (double)(i + j) / 2 + 1;
        for (size_t k = i; k <= j; k++)
            if (m->positive[order[k]]) rank_sum += avg;
        i = j + 1;
    }
    free(order);
    double u = rank_sum - (double)pos * (double)(pos + 1) / 2;
    return u / ((double)pos * (double)neg);
}

void vl_metrics_confusion_json(const struct vl_metrics *m, struct vl_strbuf *out)
{
    vl_strbuf_addch(out, '[');
    for (int t = 0; t < m->n_classes; t++) {
        vl_strbuf_adds(out, t ? ",[" : "[");
        for (int p = 0; p < m->n_classes; p++)
            vl_strbuf_addf(out, "%s%zu", p ? "," : "", m->confusion[(size_t)t * m->n_classes + p]);
        vl_strbuf_addch(out, ']');
    }
    vl_strbuf_addch(out, ']');
}

void vl_metrics_reset(struct vl_metrics *m)
{
    m->n = 0;
    m->loss_sum = 0;
    m->correct = 0;
    memset(m->confusion, 0, (size_t)m->n_classes * m->n_classes * sizeof *m->confusion);
}

void vl_metrics_free(struct vl_metrics *m)
{
    free(m->confusion);
    free(m->scores);
    free(m->positive);
    memset(m, 0, sizeof *m);
}

void vl_json_add_float(struct vl_strbuf *out, double v)
{
    if (!isfinite(v)) {
        vl_strbuf_adds(out, "null");
        return;
    }
    char buf[64];
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    vl_strbuf_adds(out, buf);
}
