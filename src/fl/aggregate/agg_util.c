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

/* Cyclic Jacobi rotations: exact enough for the n x n Gram matrices of a
 * round's updates (n up to a few hundred), with no LAPACK dependency. */
void agg_sym_eigen(double *a, int n, double *w, double *v) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) v[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, scale = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                if (i != j) off += a[i * n + j] * a[i * n + j];
                scale += a[i * n + j] * a[i * n + j];
            }
        if (off <= 1e-30 * (scale > 0 ? scale : 1)) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    /* Sort descending, moving the eigenvector columns along. */
    for (int i = 0; i < n; i++) w[i] = a[i * n + i];
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best == i) continue;
        double t = w[i];
        w[i] = w[best];
        w[best] = t;
        for (int k = 0; k < n; k++) {
            double x = v[k * n + i];
            v[k * n + i] = v[k * n + best];
            v[k * n + best] = x;
        }
    }
}
