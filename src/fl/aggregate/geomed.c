/* Geometric median by the smoothed Weiszfeld algorithm, as RFA (Pillutla,
 * Kakade, Harchaoui, "Robust Aggregation for Federated Learning", IEEE TSP
 * 2022): start at the weighted mean, then repeat
 *     beta_i = alpha_i / max(nu, |z - v_i|),   z = sum beta_i v_i / sum beta_i
 * with alpha_i the sample weights and nu = 1e-6, until the objective
 * sum alpha_i |z - v_i| improves by less than 1e-6 (relative) or the
 * iteration budget (strategy.geomed_iters) is spent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"

#define NU 1e-6
#define FTOL 1e-6

static double dist_to(const float *z, const float *v, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (double)z[j] - v[j];
        s += t * t;
    }
    return sqrt(s);
}

int agg_geomed(const agg_input *in, int iters, float *out, agg_output *o, fedc_error *err) {
    (void)o;
    int n = in->n;
    size_t d = in->d;
    double *alpha = malloc((size_t)n * sizeof *alpha), *beta = malloc((size_t)n * sizeof *beta);
    double *acc = malloc(d * sizeof *acc);
    if (!alpha || !beta || !acc) {
        free(alpha), free(beta), free(acc);
        return fedc_fail(err, "aggregation: out of memory for geomed");
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += in->weight[i] > 0 ? in->weight[i] : 0;
    for (int i = 0; i < n; i++) alpha[i] = total > 0 ? (in->weight[i] > 0 ? in->weight[i] : 0) / total : 1.0 / n;
    memset(acc, 0, d * sizeof *acc);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) acc[j] += alpha[i] * in->v[i][j];
    for (size_t j = 0; j < d; j++) out[j] = (float)acc[j];
    double prev = 0;
    for (int i = 0; i < n; i++) prev += alpha[i] * dist_to(out, in->v[i], d);
    for (int t = 0; t < iters; t++) {
        double bsum = 0;
        for (int i = 0; i < n; i++) {
            double dist = dist_to(out, in->v[i], d);
            beta[i] = alpha[i] / (dist > NU ? dist : NU);
            bsum += beta[i];
        }
        memset(acc, 0, d * sizeof *acc);
        for (int i = 0; i < n; i++) {
            double b = beta[i] / bsum;
            const float *v = in->v[i];
            for (size_t j = 0; j < d; j++) acc[j] += b * v[j];
        }
        for (size_t j = 0; j < d; j++) out[j] = (float)acc[j];
        double obj = 0;
        for (int i = 0; i < n; i++) obj += alpha[i] * dist_to(out, in->v[i], d);
        if (fabs(prev - obj) <= FTOL * obj) break;
        prev = obj;
    }
    free(alpha), free(beta), free(acc);
    return 0;
}
