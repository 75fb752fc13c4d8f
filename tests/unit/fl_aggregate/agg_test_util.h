/* Helpers of the aggregation tests: a combiner over a vector of d
 * parameters (a one-layer model whose size is d), and updates built from
 * plain float arrays. */
#ifndef FEDC_AGG_TEST_UTIL_H
#define FEDC_AGG_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/aggregate.h"
#include "fedc/rng.h"

/* A "dense:2" model on a 1x1xk input has 2k + 2 parameters: the d of a
 * test is 2k + 2 for the k it asks for. */
static inline fedc_arch *agg_test_arch(int k) {
    fedc_error err;
    fedc_shape in = {1, 1, k};
    return fedc_arch_parse("dense:2", in, 2, &err);
}

static inline void agg_test_task(fedc_task *t, const char *aggregator, int clients) {
    fedc_task_defaults(t);
    snprintf(t->strategy.aggregator, sizeof t->strategy.aggregator, "%s", aggregator);
    t->clients = clients;
    t->clients_per_round = clients;
}

/* Combines n vectors of d floats (client i = index i, weight w[i] or 1). */
static inline int agg_test_combine(fedc_combiner *c, float **v, const double *w, int n, int round, const float *x,
                                   float *out) {
    fedc_update *u = calloc((size_t)n, sizeof *u);
    for (int i = 0; i < n; i++) {
        u[i].client = i;
        u[i].weight = w ? w[i] : 1.0;
        u[i].delta = v[i];
    }
    fedc_error err;
    int rc = fedc_combine(c, u, n, round, x, out, &err);
    if (rc != 0) fprintf(stderr, "combine: %s\n", err.msg);
    free(u);
    return rc;
}

static inline double agg_test_dist(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return sqrt(s);
}

static inline double agg_test_norm(const float *a, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)a[j] * a[j];
    return sqrt(s);
}

static inline double agg_test_cos(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)a[j] * b[j];
    return s / (agg_test_norm(a, d) * agg_test_norm(b, d));
}

static inline float **agg_test_vectors(int n, size_t d) {
    float **v = calloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++) v[i] = calloc(d, sizeof(float));
    return v;
}

static inline void agg_test_free_vectors(float **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

#endif
