/* Synthetic(alpha, beta): determinism, each client the same whichever
 * clients were generated before it and however large the federation, the
 * train/test split, the whole sets agreeing with the per-client data, and
 * the distributions on cases that can be checked by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "fedc/catalog.h"
#include "fedc/data.h"

static fedc_dataset client(const fedc_synthetic_config *c, int k, int train) {
    fedc_dataset d;
    fedc_error err;
    if (fedc_synthetic_client(c, k, train, &d, &err) != 0) fail_msg("client %d: %s", k, err.msg);
    return d;
}

static int same(const fedc_dataset *a, const fedc_dataset *b) {
    return a->n == b->n && a->dim == b->dim && !memcmp(a->x, b->x, a->n * a->dim * sizeof *a->x) &&
           !memcmp(a->y, b->y, a->n * sizeof *a->y);
}

static void test_shape_split_and_determinism(void **state) {
    (void)state;
    fedc_synthetic_config c = {.alpha = 1, .beta = 1, .n_clients = 50, .seed = 7};
    for (int k = 0; k < 50; k++) {
        size_t n = fedc_synthetic_client_size(&c, k);
        assert_true(n >= 50 && n <= FEDC_SYNTHETIC_MAX_SAMPLES);
        fedc_dataset tr = client(&c, k, 1), te = client(&c, k, 0), again = client(&c, k, 1);
        assert_int_equal(tr.n, (size_t)(0.9 * (double)n));
        assert_int_equal(tr.n + te.n, n);
        assert_int_equal(tr.dim, FEDC_SYNTHETIC_FEATURES);
        assert_int_equal(tr.shape.c, 1);
        assert_int_equal(tr.shape.w, FEDC_SYNTHETIC_FEATURES);
        assert_int_equal(tr.n_classes, FEDC_SYNTHETIC_CLASSES);
        for (size_t i = 0; i < tr.n; i++) assert_true(tr.y[i] >= 0 && tr.y[i] < FEDC_SYNTHETIC_CLASSES);
        assert_true(same(&tr, &again));
        fedc_dataset_free(&tr);
        fedc_dataset_free(&te);
        fedc_dataset_free(&again);
    }
    /* Another seed, other data. */
    fedc_synthetic_config c2 = c;
    c2.seed = 8;
    fedc_dataset a = client(&c, 3, 1), b = client(&c2, 3, 1);
    assert_false(a.n == b.n && !memcmp(a.x, b.x, (a.n < b.n ? a.n : b.n) * a.dim * sizeof *a.x));
    fedc_dataset_free(&a);
    fedc_dataset_free(&b);
}

/* Client k depends on (seed, k) only: not on the clients generated before
 * it, nor on the federation's size, nor on alpha for its features (the
 * labels do depend on it). */
static void test_client_independent_of_others(void **state) {
    (void)state;
    fedc_synthetic_config small = {.alpha = 0.5, .beta = 0.5, .n_clients = 10, .seed = 3};
    fedc_synthetic_config big = small;
    big.n_clients = 1000000;
    fedc_dataset first = client(&small, 7, 1);
    for (int k = 0; k < 10; k++) {
        fedc_dataset other = client(&big, 999999 - k, 1);
        fedc_dataset_free(&other);
    }
    fedc_dataset later = client(&big, 7, 1);
    assert_true(same(&first, &later));
    fedc_dataset_free(&later);
    /* The concatenated training set holds exactly each client's samples. */
    fedc_dataset all;
    fedc_error err;
    assert_int_equal(fedc_synthetic_train_set(&small, &all, &err), 0);
    assert_int_equal(all.n_groups, 10);
    size_t at = 0;
    for (int k = 0; k < 10; k++) {
        fedc_dataset d = client(&small, k, 1);
        assert_memory_equal(all.x + at * all.dim, d.x, d.n * d.dim * sizeof *d.x);
        assert_memory_equal(all.y + at, d.y, d.n * sizeof *d.y);
        for (size_t i = 0; i < d.n; i++) assert_int_equal(all.group[at + i], (uint32_t)k);
        at += d.n;
        fedc_dataset_free(&d);
    }
    assert_int_equal(at, all.n);
    fedc_dataset_free(&all);
    /* The test set: the first clients' test samples, in client order. */
    fedc_dataset test;
    assert_int_equal(fedc_synthetic_test_set(&big, &test, &err), 0);
    assert_int_equal(test.n_groups, FEDC_SYNTHETIC_TEST_CLIENTS);
    fedc_dataset t7 = client(&big, 7, 0);
    size_t off = 0;
    for (int k = 0; k < 7; k++) {
        size_t n = fedc_synthetic_client_size(&big, k);
        off += n - fedc_synthetic_train_size(n);
    }
    assert_memory_equal(test.x + off * test.dim, t7.x, t7.n * t7.dim * sizeof *t7.x);
    assert_int_equal(test.group[off], 7);
    fedc_dataset_free(&t7);
    fedc_dataset_free(&test);
    fedc_dataset_free(&first);
}

/* Within a client, feature j (1-based) varies around the client's mean
 * with variance j^-1.2, whatever alpha and beta: pooled over clients the
 * within-client variances must match 1, 2^-1.2, ..., 60^-1.2. */
static void test_feature_covariance(void **state) {
    (void)state;
    fedc_synthetic_config c = {.alpha = 0, .beta = 0, .n_clients = 400, .seed = 11};
    double ss[FEDC_SYNTHETIC_FEATURES] = {0};
    size_t dof = 0;
    for (int k = 0; k < c.n_clients; k++) {
        fedc_dataset d = client(&c, k, 1);
        double mean[FEDC_SYNTHETIC_FEATURES] = {0};
        for (size_t i = 0; i < d.n; i++)
            for (int j = 0; j < FEDC_SYNTHETIC_FEATURES; j++) mean[j] += d.x[i * d.dim + (size_t)j];
        for (int j = 0; j < FEDC_SYNTHETIC_FEATURES; j++) mean[j] /= (double)d.n;
        for (size_t i = 0; i < d.n; i++)
            for (int j = 0; j < FEDC_SYNTHETIC_FEATURES; j++) {
                double e = d.x[i * d.dim + (size_t)j] - mean[j];
                ss[j] += e * e;
            }
        dof += d.n - 1;
        fedc_dataset_free(&d);
    }
    assert_true(dof > 20000);
    for (int j = 0; j < FEDC_SYNTHETIC_FEATURES; j++) {
        double var = ss[j] / (double)dof, want = pow(j + 1.0, -1.2);
        if (fabs(var / want - 1) > 0.05) fail_msg("feature %d: variance %g, expected %g", j + 1, var, want);
    }
}

/* Across clients: beta spreads the feature means. A client's average over
 * all its features and samples is B_k + (mean of 60 N(0,1)) + noise, so
 * its variance across clients is beta^2 + 1/60 + a little. */
static double spread_of_client_means(double beta, int clients) {
    fedc_synthetic_config c = {.alpha = 0, .beta = beta, .n_clients = clients, .seed = 5};
    double s = 0, s2 = 0;
    for (int k = 0; k < clients; k++) {
        fedc_dataset d = client(&c, k, 0);
        double m = 0;
        for (size_t i = 0; i < d.n * d.dim; i++) m += d.x[i];
        m /= (double)(d.n * d.dim);
        s += m;
        s2 += m * m;
        fedc_dataset_free(&d);
    }
    double mean = s / clients;
    return s2 / clients - mean * mean;
}

static void test_beta_spreads_feature_means(void **state) {
    (void)state;
    double v3 = spread_of_client_means(3.0, 800), v0 = spread_of_client_means(0.0, 800);
    assert_true(v3 > 9 * 0.8 && v3 < 9 * 1.2);
    assert_true(v0 < 0.05); /* 1/60 plus the samples' noise */
}

/* Sizes: floor(exp(4 + 2z)) + 50, so at least 50 and with median
 * floor(e^4) + 50 = 104; test samples are the last tenth. */
static void test_sizes(void **state) {
    (void)state;
    enum { K = 20001 };
    fedc_synthetic_config c = {.alpha = 1, .beta = 1, .n_clients = K, .seed = 2};
    static size_t n[K];
    size_t below = 0;
    for (int k = 0; k < K; k++) {
        n[k] = fedc_synthetic_client_size(&c, k);
        assert_true(n[k] >= 50);
        below += n[k] < 104;
    }
    /* Half the clients lie below the median: binomial(20001, 0.5) within 4%. */
    assert_true(below > K * 0.46 && below < K * 0.54);
    assert_int_equal(fedc_synthetic_train_size(104), 93);
    assert_int_equal(fedc_synthetic_train_size(50), 45);
}

/* Every class occurs in the test set of Synthetic(1, 1). */
static void test_labels_cover_classes(void **state) {
    (void)state;
    fedc_synthetic_config c = {.alpha = 1, .beta = 1, .n_clients = 200, .seed = 9};
    fedc_dataset test;
    fedc_error err;
    assert_int_equal(fedc_synthetic_test_set(&c, &test, &err), 0);
    int seen[FEDC_SYNTHETIC_CLASSES] = {0};
    for (size_t i = 0; i < test.n; i++) seen[test.y[i]]++;
    for (int o = 0; o < FEDC_SYNTHETIC_CLASSES; o++) assert_true(seen[o] > 0);
    fedc_dataset_free(&test);
}

static void test_bad_input(void **state) {
    (void)state;
    fedc_dataset d;
    fedc_error err;
    fedc_synthetic_config c = {.alpha = -1, .beta = 1, .n_clients = 5};
    assert_int_equal(fedc_synthetic_client(&c, 0, 1, &d, &err), -1);
    assert_non_null(strstr(err.msg, "alpha"));
    c.alpha = 1;
    assert_int_equal(fedc_synthetic_client(&c, 5, 1, &d, &err), -1);
    assert_non_null(strstr(err.msg, "client 5"));
    c.n_clients = 1000000;
    assert_int_equal(fedc_synthetic_train_set(&c, &d, &err), -1);
    assert_non_null(strstr(err.msg, "when it is used"));
}

/* By name: the catalog entry needs no files and loads through the spec. */
static void test_catalog_load(void **state) {
    (void)state;
    const fedc_catalog_entry *e = fedc_catalog_builtin("synthetic");
    assert_non_null(e);
    assert_int_equal(e->nfiles, 0);
    assert_int_equal(e->natural, 1);
    fedc_dataset_spec s = {.name = "synthetic",
                           .fetch = FEDC_FETCH_NEVER,
                           .synthetic = {.alpha = 0.5, .beta = 0.5, .n_clients = 20, .seed = 4}};
    fedc_dataset tr, te, want;
    fedc_error err;
    if (fedc_dataset_load(&s, 1, &tr, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_dataset_load(&s, 0, &te, &err), 0);
    assert_int_equal(tr.n_groups, 20);
    assert_int_equal(fedc_synthetic_test_set(&s.synthetic, &want, &err), 0);
    assert_true(same(&te, &want));
    fedc_dataset_free(&tr);
    fedc_dataset_free(&te);
    fedc_dataset_free(&want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_split_and_determinism),
        cmocka_unit_test(test_client_independent_of_others),
        cmocka_unit_test(test_feature_covariance),
        cmocka_unit_test(test_beta_spreads_feature_means),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_labels_cover_classes),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_catalog_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
