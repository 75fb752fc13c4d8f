/* Synthetic(alpha, beta) of the FedProx paper (data.h), generated per
 * client from (seed, client) so that a client's data exists only while it
 * is used. The distributions follow the paper's reference generator
 * (data/synthetic_1_1/generate_synthetic.py in the FedProx repository), including where it
 * differs from the paper's text: alpha and beta are the standard
 * deviations of u_k and B_k (numpy's normal takes a scale), b_k has mean
 * u_k like W_k, and client sizes are floor(lognormal(4, 2)) + 50. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "fedc/rng.h"

#define F FEDC_SYNTHETIC_FEATURES
#define C FEDC_SYNTHETIC_CLASSES

/* Stream id of the generator: its draws never meet another consumer's. */
#define STREAM_SYNTHETIC 0x53594e5448455449ull
/* Per client: b = 0 draws size and model, b = j + 1 draws sample j. */
static fedc_rng client_stream(const fedc_synthetic_config *c, int k, uint64_t b) {
    return fedc_rng_derive(c->seed ^ STREAM_SYNTHETIC, (uint64_t)k, b);
}

static size_t size_from(fedc_rng *rng) {
    double z = fedc_rng_normal(rng);
    double v = floor(exp(4.0 + 2.0 * z)) + 50.0;
    return v >= (double)FEDC_SYNTHETIC_MAX_SAMPLES ? (size_t)FEDC_SYNTHETIC_MAX_SAMPLES : (size_t)v;
}

size_t fedc_synthetic_client_size(const fedc_synthetic_config *c, int k) {
    fedc_rng rng = client_stream(c, k, 0);
    return size_from(&rng);
}

size_t fedc_synthetic_train_size(size_t n) { return (size_t)(0.9 * (double)n); }

/* Client k's feature mean v (F), model W (F x C, row-major by feature) and
 * bias b (C), drawn after its size from the same stream. */
typedef struct client_model {
    size_t n;
    double v[F], w[F * C], b[C];
} client_model;

static void draw_model(const fedc_synthetic_config *c, int k, client_model *m) {
    fedc_rng rng = client_stream(c, k, 0);
    m->n = size_from(&rng);
    double u = c->alpha * fedc_rng_normal(&rng);
    double big_b = c->beta * fedc_rng_normal(&rng);
    for (int i = 0; i < F; i++) m->v[i] = big_b + fedc_rng_normal(&rng);
    for (int i = 0; i < F * C; i++) m->w[i] = u + fedc_rng_normal(&rng);
    for (int i = 0; i < C; i++) m->b[i] = u + fedc_rng_normal(&rng);
}

/* Standard deviations of the features: Sigma_jj = j^-1.2 for j = 1..60. */
static void feature_sd(double sd[F]) {
    for (int i = 0; i < F; i++) sd[i] = sqrt(pow((double)(i + 1), -1.2));
}

/* Sample j of client k into x (F floats) and *y. */
static void draw_sample(const fedc_synthetic_config *c, int k, const client_model *m, const double sd[F], size_t j,
                        float *x, int32_t *y) {
    fedc_rng rng = client_stream(c, k, (uint64_t)j + 1);
    double xd[F], logit[C];
    for (int i = 0; i < F; i++) {
        xd[i] = m->v[i] + sd[i] * fedc_rng_normal(&rng);
        x[i] = (float)xd[i];
    }
    for (int o = 0; o < C; o++) logit[o] = m->b[o];
    for (int i = 0; i < F; i++)
        for (int o = 0; o < C; o++) logit[o] += xd[i] * m->w[i * C + o];
    int best = 0; /* the first of equal maxima, as numpy's argmax */
    for (int o = 1; o < C; o++)
        if (logit[o] > logit[best]) best = o;
    *y = best;
}

static const fedc_shape k_shape = {1, 1, F};

static int check_config(const fedc_synthetic_config *c, int k, fedc_error *err) {
    if (!(c->alpha >= 0) || !(c->beta >= 0) || !isfinite(c->alpha) || !isfinite(c->beta))
        return fedc_fail(err, "synthetic: alpha %g and beta %g must be finite and >= 0", c->alpha, c->beta);
    if (c->n_clients < 1 || k < 0 || k >= c->n_clients)
        return fedc_fail(err, "synthetic: client %d is not one of the %d clients", k, c->n_clients);
    return 0;
}

/* Samples [lo, hi) of client k (model m) into out at row `at`, group k. */
static void fill(const fedc_synthetic_config *c, int k, const client_model *m, size_t lo, size_t hi,
                 fedc_dataset *out, size_t at) {
    double sd[F];
    feature_sd(sd);
    for (size_t j = lo; j < hi; j++, at++) {
        draw_sample(c, k, m, sd, j, out->x + at * F, &out->y[at]);
        if (out->group) out->group[at] = (uint32_t)k;
    }
}

int fedc_synthetic_client(const fedc_synthetic_config *c, int k, int train, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (check_config(c, k, err) != 0) return -1;
    client_model m;
    draw_model(c, k, &m);
    size_t ntr = fedc_synthetic_train_size(m.n), lo = train ? 0 : ntr, hi = train ? ntr : m.n;
    if (data_alloc(out, hi - lo, k_shape, C, "synthetic", err) != 0) return -1;
    fill(c, k, &m, lo, hi, out, 0);
    return 0;
}

/* Clients [0, nk): their training or test parts, concatenated. */
static int concat(const fedc_synthetic_config *c, int nk, int train, size_t cap, fedc_dataset *out,
                  fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (check_config(c, 0, err) != 0) return -1;
    size_t total = 0;
    for (int k = 0; k < nk; k++) {
        size_t n = fedc_synthetic_client_size(c, k), ntr = fedc_synthetic_train_size(n);
        total += train ? ntr : n - ntr;
        if (total > cap)
            return fedc_fail(err, "synthetic: the %s samples of %d clients are more than %zu; a run generates "
                                  "each client's data when it is used instead",
                             train ? "training" : "test", nk, cap);
    }
    if (data_alloc(out, total, k_shape, C, "synthetic", err) != 0) return -1;
    if (!(out->group = malloc(total * sizeof *out->group))) {
        fedc_dataset_free(out);
        return fedc_fail(err, "synthetic: out of memory for %zu samples' clients", total);
    }
    out->n_groups = (uint32_t)nk;
    size_t at = 0;
    for (int k = 0; k < nk; k++) {
        client_model m;
        draw_model(c, k, &m);
        size_t ntr = fedc_synthetic_train_size(m.n), lo = train ? 0 : ntr, hi = train ? ntr : m.n;
        fill(c, k, &m, lo, hi, out, at);
        at += hi - lo;
    }
    return 0;
}

int fedc_synthetic_test_set(const fedc_synthetic_config *c, fedc_dataset *out, fedc_error *err) {
    int nk = c->n_clients < FEDC_SYNTHETIC_TEST_CLIENTS ? c->n_clients : FEDC_SYNTHETIC_TEST_CLIENTS;
    return concat(c, nk, 0, FEDC_SYNTHETIC_MAX_TOTAL, out, err);
}

int fedc_synthetic_train_set(const fedc_synthetic_config *c, fedc_dataset *out, fedc_error *err) {
    return concat(c, c->n_clients, 1, FEDC_SYNTHETIC_MAX_TOTAL, out, err);
}
