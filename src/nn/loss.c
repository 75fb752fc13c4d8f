/* Softmax cross-entropy, numerically stable (log-sum-exp around the max). */
#include <math.h>

#include "nn/nn_internal.h"

/* One row: its loss, its argmax (*best) and sum(exp(l - max)) (*sum). */
static double row_xent(const float *l, int classes, int label, int *best, double *sum) {
    int b = 0;
    for (int c = 1; c < classes; c++)
        if (l[c] > l[b]) b = c;
    float m = l[b];
    double s = 0.0;
    for (int c = 0; c < classes; c++) s += exp((double)(l[c] - m));
    *best = b;
    *sum = s;
    return (double)m + log(s) - (double)l[label];
}

double nn_softmax_xent(const float *logits, const int32_t *y, int n, int classes, float *dlogits,
                       int *correct) {
    double total = 0.0;
    int hits = 0, bad = 0;
    const float inv_n = 1.0f / (float)n;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        int label = y[i];
        if (label < 0 || label >= classes) {
            bad = 1;
            label = 0; /* keep the gradient finite; the NaN loss reports the error */
        }
        int best;
        double sum;
        total += row_xent(l, classes, label, &best, &sum);
        hits += best == label;
        if (dlogits) {
            float *d = dlogits + (size_t)i * classes;
            float m = l[best], inv_sum = (float)(1.0 / sum);
            for (int c = 0; c < classes; c++) d[c] = expf(l[c] - m) * inv_sum * inv_n;
            d[label] -= inv_n;
        }
    }
    if (correct) *correct = hits;
    return bad ? NAN : total / n;
}

int nn_xent_accumulate(const float *logits, const int32_t *y, int n, int classes, double *total, size_t *hits) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int label = y[i];
        if (label < 0 || label >= classes) {
            bad = 1;
            label = 0;
        }
        int best;
        double sum;
        *total += row_xent(logits + (size_t)i * classes, classes, label, &best, &sum);
        *hits += best == label;
    }
    return bad ? -1 : 0;
}
