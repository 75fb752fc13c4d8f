/* Topologies and mixing matrices:
 *  - every kind, both mixings, several sizes: W symmetric, non-negative,
 *    rows and columns summing to 1 (doubly stochastic), its support the
 *    graph plus the diagonal, the graph connected;
 *  - the spectral gap of a ring of n nodes is the closed form
 *    1 - (1 + 2 cos(2 pi / n)) / 3; the complete graph's is 1;
 *  - shapes: torus 4 x 4 is 4-regular, exponential of 8 nodes is 5-regular,
 *    small-world with p = 0 is the k-regular lattice;
 *  - random graphs and matchings follow topology.seed (and the round);
 *  - bad settings give errors naming the field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/topology.h"

static fedc_topology *make(const char *kind, const char *mixing, int n, double p, int k, uint64_t seed) {
    fedc_topology_config c = {{0}, {0}, p, k, seed};
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    snprintf(c.mixing, sizeof c.mixing, "%s", mixing);
    fedc_error err;
    fedc_topology *t = fedc_topology_create(&c, n, &err);
    if (!t) fail_msg("%s/%s n=%d: %s", kind, mixing, n, err.msg);
    return t;
}

/* Dense copy of round's W, checked doubly stochastic and symmetric. */
static void check_doubly_stochastic(fedc_topology *t, int round) {
    fedc_mixing m = fedc_topology_mixing(t, round);
    int n = m.n;
    double *w = calloc((size_t)n * n, sizeof *w);
    for (int i = 0; i < n; i++) {
        int self = 0, prev = -1;
        for (int q = m.start[i]; q < m.start[i + 1]; q++) {
            assert_true(m.col[q] > prev); /* increasing, no duplicates */
            prev = m.col[q];
            self += m.col[q] == i;
            assert_true(m.w[q] >= 0);
            w[(size_t)i * n + m.col[q]] = m.w[q];
        }
        assert_int_equal(self, 1);
    }
    for (int i = 0; i < n; i++) {
        double row = 0, col = 0;
        for (int j = 0; j < n; j++) {
            row += w[(size_t)i * n + j];
            col += w[(size_t)j * n + i];
            assert_true(fabs(w[(size_t)i * n + j] - w[(size_t)j * n + i]) < 1e-15);
        }
        assert_true(fabs(row - 1) < 1e-12);
        assert_true(fabs(col - 1) < 1e-12);
    }
    free(w);
}

static void test_every_kind_doubly_stochastic(void **state) {
    (void)state;
    const char *kinds[] = {"ring", "torus", "complete", "erdos-renyi", "small-world", "exponential", "matching"};
    const char *mixings[] = {"metropolis-hastings", "uniform"};
    const int sizes[] = {5, 12, 16, 31};
    for (size_t a = 0; a < 7; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t c = 0; c < 4; c++) {
                fedc_topology *t = make(kinds[a], mixings[b], sizes[c], 0.4, 4, 7);
                for (int round = 1; round <= 3; round++) check_doubly_stochastic(t, round);
                fedc_topology_stats st;
                fedc_error err;
                assert_int_equal(fedc_topology_stats_get(t, &st, &err), 0);
                assert_int_equal(st.n, sizes[c]);
                /* Connected (every static kind; matching's expected W): a gap > 0. */
                assert_true(st.spectral_gap > 1e-9);
                assert_true(st.spectral_gap <= 1 + 1e-12);
                fedc_topology_free(t);
            }
}

static void test_ring_gap_closed_form(void **state) {
    (void)state;
    for (int n = 3; n <= 64; n++) {
        for (int mix = 0; mix < 2; mix++) {
            fedc_topology *t = make("ring", mix ? "uniform" : "metropolis-hastings", n, 0, 4, 1);
            fedc_topology_stats st;
            fedc_error err;
            assert_int_equal(fedc_topology_stats_get(t, &st, &err), 0);
            double want = fedc_ring_spectral_gap(n);
            if (fabs(st.spectral_gap - want) > 1e-10) fail_msg("ring n=%d: gap %.12f, closed form %.12f", n, st.spectral_gap, want);
            assert_int_equal(st.degree_min, 2);
            assert_int_equal(st.degree_max, 2);
            assert_int_equal(st.edges, n);
            fedc_topology_free(t);
        }
    }
    /* 2/3 (1 - cos(2 pi / n)) written out for n = 4: 2/3. */
    assert_true(fabs(fedc_ring_spectral_gap(4) - 2.0 / 3.0) < 1e-15);
    fedc_topology *t = make("complete", "uniform", 10, 0, 4, 1);
    fedc_topology_stats st;
    fedc_error err;
    assert_int_equal(fedc_topology_stats_get(t, &st, &err), 0);
    assert_true(fabs(st.spectral_gap - 1) < 1e-12);
    assert_int_equal(st.edges, 45);
    fedc_topology_free(t);
}

static void degrees(fedc_topology *t, int *lo, int *hi) {
    fedc_topology_stats st;
    fedc_error err;
    assert_int_equal(fedc_topology_stats_get(t, &st, &err), 0);
    *lo = st.degree_min;
    *hi = st.degree_max;
}

static void test_shapes(void **state) {
    (void)state;
    int lo, hi, nb[16];
    fedc_topology *t = make("torus", "metropolis-hastings", 16, 0, 4, 1);
    degrees(t, &lo, &hi);
    assert_int_equal(lo, 4);
    assert_int_equal(hi, 4);
    /* Node 5 = (1, 1) of a 4 x 4 grid: 1, 4, 6, 9. */
    assert_int_equal(fedc_topology_neighbours(t, 1, 5, nb, 16), 4);
    assert_int_equal(nb[0], 1);
    assert_int_equal(nb[1], 4);
    assert_int_equal(nb[2], 6);
    assert_int_equal(nb[3], 9);
    fedc_topology_free(t);
    t = make("exponential", "metropolis-hastings", 8, 0, 4, 1);
    degrees(t, &lo, &hi);
    assert_int_equal(lo, 5); /* +-1, +-2, 4 */
    assert_int_equal(hi, 5);
    fedc_topology_free(t);
    t = make("small-world", "uniform", 20, 0.0, 6, 3);
    degrees(t, &lo, &hi);
    assert_int_equal(lo, 6);
    assert_int_equal(hi, 6);
    fedc_topology_free(t);
    /* Metropolis-Hastings on a star-like irregular graph still sums to 1
     * (covered above); uniform weights on a regular graph are 1/(d+1). */
    t = make("ring", "uniform", 9, 0, 4, 1);
    fedc_mixing m = fedc_topology_mixing(t, 1);
    for (int q = m.start[0]; q < m.start[1]; q++) assert_true(fabs(m.w[q] - 1.0 / 3.0) < 1e-15);
    fedc_topology_free(t);
}

static int same_graph(fedc_topology *a, fedc_topology *b, int round) {
    fedc_mixing x = fedc_topology_mixing(a, round), y = fedc_topology_mixing(b, round);
    if (x.n != y.n || x.start[x.n] != y.start[y.n]) return 0;
    return !memcmp(x.col, y.col, (size_t)x.start[x.n] * sizeof(int));
}

static void test_seeded(void **state) {
    (void)state;
    fedc_topology *a = make("erdos-renyi", "metropolis-hastings", 30, 0.3, 4, 11);
    fedc_topology *b = make("erdos-renyi", "metropolis-hastings", 30, 0.3, 4, 11);
    fedc_topology *c = make("erdos-renyi", "metropolis-hastings", 30, 0.3, 4, 12);
    assert_true(same_graph(a, b, 1));
    assert_false(same_graph(a, c, 1));
    fedc_topology_free(a), fedc_topology_free(b), fedc_topology_free(c);
    a = make("matching", "metropolis-hastings", 10, 0, 4, 5);
    b = make("matching", "metropolis-hastings", 10, 0, 4, 5);
    assert_true(fedc_topology_time_varying(a));
    assert_true(same_graph(a, b, 4));
    int nb[10];
    for (int i = 0; i < 10; i++) assert_int_equal(fedc_topology_neighbours(a, 4, i, nb, 10), 1);
    /* A fresh matching each round. */
    fedc_mixing r4 = fedc_topology_mixing(a, 4);
    int *c4 = malloc((size_t)r4.start[10] * sizeof(int));
    memcpy(c4, r4.col, (size_t)r4.start[10] * sizeof(int));
    fedc_mixing r5 = fedc_topology_mixing(a, 5);
    assert_true(memcmp(c4, r5.col, (size_t)r5.start[10] * sizeof(int)) != 0);
    free(c4);
    /* Odd n: exactly one node rests. */
    fedc_topology *o = make("matching", "uniform", 9, 0, 4, 5);
    int alone = 0;
    for (int i = 0; i < 9; i++) alone += fedc_topology_neighbours(o, 2, i, nb, 9) == 0;
    assert_int_equal(alone, 1);
    fedc_topology_free(o);
    fedc_topology_free(a), fedc_topology_free(b);
}

static void expect_error(const char *kind, const char *mixing, int n, double p, int k, const char *prefix) {
    fedc_topology_config c = {{0}, {0}, p, k, 1};
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    snprintf(c.mixing, sizeof c.mixing, "%s", mixing);
    fedc_error err;
    fedc_topology *t = fedc_topology_create(&c, n, &err);
    if (t) fail_msg("%s n=%d accepted", kind, n);
    if (strncmp(err.msg, prefix, strlen(prefix))) fail_msg("error \"%s\" does not start with %s", err.msg, prefix);
}

static void test_errors_name_the_field(void **state) {
    (void)state;
    expect_error("erdos-renyi", "uniform", 60, 0.001, 4, "topology.p:");
    expect_error("erdos-renyi", "uniform", 10, 0, 4, "topology.p:");
    expect_error("small-world", "uniform", 10, 0.1, 3, "topology.k:");
    expect_error("small-world", "uniform", 10, 0.1, 10, "topology.k:");
    expect_error("hypercube", "uniform", 10, 0.1, 4, "topology.kind:");
    expect_error("ring", "max-degree", 10, 0.1, 4, "topology.mixing:");
    expect_error("complete", "uniform", 5000, 0.1, 4, "topology.kind:");
}

static void test_eigenvalues_known_matrix(void **state) {
    (void)state;
    /* [[2, 1], [1, 2]]: 1 and 3. */
    double a[4] = {2, 1, 1, 2}, ev[2];
    fedc_error err;
    assert_int_equal(fedc_sym_eigenvalues(a, 2, ev, &err), 0);
    assert_true(fabs(ev[0] - 1) < 1e-12);
    assert_true(fabs(ev[1] - 3) < 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_doubly_stochastic),
        cmocka_unit_test(test_ring_gap_closed_form),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_eigenvalues_known_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
