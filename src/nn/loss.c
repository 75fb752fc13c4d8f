/* Softmax cross-entropy, numerically stable (log-sum-exp around the max). */
#include <math.h>

#include "nn/nn_internal.h"

double nn_softmax_xent(const float *logits, const int32_t *y, int n, int classes, float *dlogits,
                       int *correct) {
    double total = 0.0;
    int hits = 0, bad = 0;
    const float inv_n = 1.0f / (float)n;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (l[c] > l[best]) best = c;
        float m = l[best];
        double sum = 0.0;
        for (int c = 0; c < classes; c++) sum += exp((double)(l[c] - m));
        int label = y[i];
        if (label < 0 || label >= classes) {
            bad = 1;
            label = 0; /* keep the gradient finite; the NaN loss reports the error */
        }
        total += (double)m + log(sum) - (double)l[label];
        hits += best == label;
        if (dlogits) {
            float *d = dlogits + (size_t)i * classes;
            float inv_sum = (float)(1.0 / sum);
            for (int c = 0; c < classes; c++) d[c] = expf(l[c] - m) * inv_sum * inv_n;
            d[label] -= inv_n;
        }
    }
    if (correct) *correct = hits;
    return bad ? NAN : total / n;
}
