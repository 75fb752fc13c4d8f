/* Eigen-decomposition of small symmetric matrices, for the aggregation rules
 * and strategies that work on the Gram matrix of a round's updates (Flag
 * Aggregator, FedLD). */
#include "core/sym_eigen.h"

#include <math.h>

/* Cyclic Jacobi rotations: exact enough for the n x n Gram matrices of a
 * round's updates (n up to a few hundred), with no LAPACK dependency. */
void sym_eigen_jacobi(double *a, int n, double *w, double *v) {
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
