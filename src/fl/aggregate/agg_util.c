/* Numerics shared by the rules: exact pairwise distances (in double, so
 * that a huge Byzantine vector cannot drown the honest distances in
 * cancellation), means of subsets, and a small symmetric eigensolver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"

double agg_dot(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)a[j] * b[j];
    return s;
}

void agg_pairwise_sq(const float *const *v, int n, size_t d, double *dist) {
    for (int i = 0; i < n; i++) {
        dist[i * n + i] = 0;
        for (int k = i + 1; k < n; k++) {
            const float *a = v[i], *b = v[k];
            double s = 0;
            for (size_t j = 0; j < d; j++) {
                double t = (double)a[j] - b[j];
                s += t * t;
            }
            dist[i * n + k] = dist[k * n + i] = s;
        }
    }
}

int agg_fit_f(int want, int n, int mult) {
    int most = (n - 3) / mult;
    if (most < 0) most = 0;
    return want < most ? want : most;
}

void agg_sort_small(float *a, int n) {
    for (int i = 1; i < n; i++) {
        float x = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
}

void agg_mean_of(const float *const *v, const int *idx, int m, size_t d, float *out) {
    memset(out, 0, d * sizeof(float));
    if (m <= 0) return;
    float w = 1.0f / (float)m;
    for (int k = 0; k < m; k++) {
        const float *a = v[idx ? idx[k] : k];
        for (size_t j = 0; j < d; j++) out[j] += w * a[j];
    }
}

int agg_mean(const agg_input *in, float *out, agg_output *o, fedc_error *err) {
    (void)o;
    double total = 0;
    for (int i = 0; i < in->n; i++) total += in->weight[i];
    if (!(total > 0)) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    memset(out, 0, in->d * sizeof(float));
    /* In update order, as fedc_weighted_mean does: the same bits as before
     * the robust rules existed, independent of threads. */
    for (int i = 0; i < in->n; i++) {
        float w = (float)(in->weight[i] / total);
        const float *a = in->v[i];
        for (size_t j = 0; j < in->d; j++) out[j] += w * a[j];
    }
    return 0;
}

