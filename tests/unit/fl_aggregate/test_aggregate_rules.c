/* Each rule on small cases computed by hand (4 parameters: a dense:2 model
 * on one input feature), with the verdicts each rule gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg_test_util.h"

#define D 4

typedef struct {
    fedc_arch *arch;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->arch = agg_test_arch(1);
    assert_int_equal(fedc_arch_nparams(f->arch), D);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fedc_arch_free(f->arch);
    free(f);
    return 0;
}

/* Rows of D values each, one per update. */
static float **rows(int n, const float (*vals)[D]) {
    float **v = agg_test_vectors(n, D);
    for (int i = 0; i < n; i++) memcpy(v[i], vals[i], sizeof vals[i]);
    return v;
}

static fedc_combiner *make(fixture *f, const char *agg, int n, void (*tweak)(fedc_task *)) {
    fedc_task t;
    agg_test_task(&t, agg, n);
    if (tweak) tweak(&t);
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, n, &err);
    if (!c) fail_msg("%s: %s", agg, err.msg);
    return c;
}

static void expect(const float *out, const float *want) {
    for (int j = 0; j < D; j++)
        if (fabsf(out[j] - want[j]) > 1e-5f * (1 + fabsf(want[j])))
            fail_msg("coordinate %d: got %g, want %g", j, (double)out[j], (double)want[j]);
}

static void test_mean_weighted(void **state) {
    const float vals[2][D] = {{1, 2, 0, -4}, {5, 6, 4, 0}};
    double w[2] = {1, 3};
    float **v = rows(2, vals), out[D];
    fedc_combiner *c = make(*state, "mean", 2, NULL);
    assert_int_equal(agg_test_combine(c, v, w, 2, 1, NULL, out), 0);
    const float want[D] = {4, 5, 3, -1}; /* (1*a + 3*b) / 4 */
    expect(out, want);
    assert_int_equal(fedc_combiner_verdict(c, 0, NULL), FEDC_VERDICT_KEPT);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 2);
}

static void test_median_odd_and_even(void **state) {
    const float vals[4][D] = {{1, 5, 3, 0}, {2, -1, 7, 0}, {0, 0, 0, 0}, {9, 9, 9, 8}};
    float **v = rows(4, vals), out[D];
    fedc_combiner *c = make(*state, "median", 4, NULL);
    /* First three: column medians. */
    assert_int_equal(agg_test_combine(c, v, NULL, 3, 1, NULL, out), 0);
    const float want3[D] = {1, 0, 3, 0};
    expect(out, want3);
    /* All four: the mean of the two middle values. */
    assert_int_equal(agg_test_combine(c, v, NULL, 4, 2, NULL, out), 0);
    const float want4[D] = {1.5f, 2.5f, 5, 0};
    expect(out, want4);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 4);
}

static void frac_0_2(fedc_task *t) { t->strategy.byzantine_fraction = 0.2; }

static void test_trimmed_mean(void **state) {
    /* n = 5, f = floor(0.2 * 5) = 1: drop the largest and smallest. */
    const float vals[5][D] = {{1, 10, 0, 0}, {2, 20, 0, 0}, {3, 30, 0, 0}, {4, 40, 0, 0}, {100, -500, 0, 0}};
    float **v = rows(5, vals), out[D];
    double w[5] = {1, 1, 1, 1, 1000}; /* weights are ignored */
    fedc_combiner *c = make(*state, "trimmed-mean", 5, frac_0_2);
    assert_int_equal(agg_test_combine(c, v, w, 5, 1, NULL, out), 0);
    const float want[D] = {3, 20, 0, 0}; /* mean(2,3,4), mean(10,20,30) */
    expect(out, want);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 5);
}

/* Krum on 0, 1, 2, 10, 11 (n = 5, f = 1, n-f-2 = 2 neighbours): squared
 * distance scores 5, 2, 5, 65, 82. */
static const float krum_vals[5][D] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0}, {10, 0, 0, 0}, {11, 0, 0, 0}};

static void test_krum(void **state) {
    float **v = rows(5, krum_vals), out[D];
    fedc_combiner *c = make(*state, "krum", 5, frac_0_2);
    assert_int_equal(agg_test_combine(c, v, NULL, 5, 1, NULL, out), 0);
    const float want[D] = {1, 0, 0, 0};
    expect(out, want);
    assert_int_equal(fedc_combiner_verdict(c, 1, NULL), FEDC_VERDICT_KEPT);
    for (int i = 0; i < 5; i++)
        if (i != 1) {
            const char *why;
            assert_int_equal(fedc_combiner_verdict(c, i, &why), FEDC_VERDICT_LEFT_OUT);
            assert_non_null(strstr(why, "krum"));
        }
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 5);
}

static void m3(fedc_task *t) {
    t->strategy.byzantine_fraction = 0.2;
    t->strategy.krum_m = 3;
}

static void test_multi_krum(void **state) {
    float **v = rows(5, krum_vals), out[D];
    /* m = n - f = 4: the scores 2, 5, 5, 65 -> mean of 1, 0, 2, 10. */
    fedc_combiner *c = make(*state, "multi-krum", 5, frac_0_2);
    assert_int_equal(agg_test_combine(c, v, NULL, 5, 1, NULL, out), 0);
    const float want4[D] = {3.25f, 0, 0, 0};
    expect(out, want4);
    assert_int_equal(fedc_combiner_verdict(c, 4, NULL), FEDC_VERDICT_LEFT_OUT);
    assert_int_equal(fedc_combiner_verdict(c, 3, NULL), FEDC_VERDICT_KEPT);
    fedc_combiner_free(c);
    c = make(*state, "multi-krum", 5, m3);
    assert_int_equal(agg_test_combine(c, v, NULL, 5, 1, NULL, out), 0);
    const float want3[D] = {1, 0, 0, 0}; /* mean of 0, 1, 2 */
    expect(out, want3);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 5);
}

static void frac_0_15(fedc_task *t) { t->strategy.byzantine_fraction = 0.15; }

static void test_bulyan(void **state) {
    /* n = 7, f = 1: theta = 5 recursive Krum picks, beta = 3. On 0, 1.1,
     * 2, 3.3, 4, 10, 1000 Krum picks 2, 1.1, 3.3, then 0 and 4 (equal
     * scores go to the lower index); per coordinate the 3 of
     * {0, 1.1, 2, 3.3, 4} closest to the median 2 are 1.1, 2, 3.3. */
    const float vals[7][D] = {{0, 5, 0, 0}, {1.1f, 5, 0, 0}, {2, 5, 0, 0}, {3.3f, 5, 0, 0},
                              {4, 5, 0, 0}, {10, -7, 0, 0},  {1000, 9, 0, 0}};
    float **v = rows(7, vals), out[D];
    fedc_combiner *c = make(*state, "bulyan", 7, frac_0_15);
    assert_int_equal(agg_test_combine(c, v, NULL, 7, 1, NULL, out), 0);
    const float want[D] = {6.4f / 3, 5, 0, 0};
    expect(out, want);
    assert_int_equal(fedc_combiner_verdict(c, 5, NULL), FEDC_VERDICT_LEFT_OUT);
    assert_int_equal(fedc_combiner_verdict(c, 6, NULL), FEDC_VERDICT_LEFT_OUT);
    for (int i = 0; i < 5; i++) assert_int_equal(fedc_combiner_verdict(c, i, NULL), FEDC_VERDICT_KEPT);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 7);
}

static void many_iters(fedc_task *t) { t->strategy.geomed_iters = 200; }

static void test_geomed(void **state) {
    /* On a line, the geometric median is the (weighted) median. */
    const float vals[3][D] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {10, 0, 0, 0}};
    float **v = rows(3, vals), out[D];
    fedc_combiner *c = make(*state, "geomed", 3, many_iters);
    assert_int_equal(agg_test_combine(c, v, NULL, 3, 1, NULL, out), 0);
    assert_true(fabsf(out[0] - 1) < 1e-3f);
    double w[3] = {1, 1, 5}; /* weight 5 outweighs the other two */
    assert_int_equal(agg_test_combine(c, v, w, 3, 2, NULL, out), 0);
    assert_true(fabsf(out[0] - 10) < 1e-3f);
    fedc_combiner_free(c);
    /* The Fermat point of a triangle with all angles below 120 degrees
     * sees every side under 120 degrees: (0,0), (2,0), (1,1) -> (1, 1/sqrt(3)). */
    const float tri[3][D] = {{0, 0, 0, 0}, {2, 0, 0, 0}, {1, 1, 0, 0}};
    float **t3 = rows(3, tri);
    c = make(*state, "geomed", 3, many_iters);
    assert_int_equal(agg_test_combine(c, t3, NULL, 3, 1, NULL, out), 0);
    /* RFA's stopping rule (objective change below 1e-6 relative) leaves
     * the point about 1e-3 short of the optimum on this slow case. */
    assert_true(fabsf(out[0] - 1) < 1e-4f && fabsf(out[1] - 1 / sqrtf(3)) < 3e-3f);
    fedc_combiner_free(c);
    agg_test_free_vectors(t3, 3);
    agg_test_free_vectors(v, 3);
}

static void flag_r1(fedc_task *t) {
    t->strategy.flag_rank = 1;
    t->strategy.flag_iters = 20;
}

static void test_flag(void **state) {
    /* {e1, e1, e2}, norms 2: the rank-1 flag median is e1 (objective
     * 0 + 0 + 1 against 3 sqrt(1/2) for the diagonal). fedc's scale: the
     * mean projection times the median norm = (1 + 1 + 0) / 3 * 2. */
    const float vals[3][D] = {{2, 0, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0}};
    float **v = rows(3, vals), out[D];
    fedc_combiner *c = make(*state, "flag", 3, flag_r1);
    assert_int_equal(agg_test_combine(c, v, NULL, 3, 1, NULL, out), 0);
    const float want[D] = {4.0f / 3, 0, 0, 0};
    for (int j = 0; j < D; j++) assert_true(fabsf(out[j] - want[j]) < 1e-3f);
    fedc_combiner_free(c);
    /* Identical updates come back unchanged. */
    const float same[3][D] = {{1, -2, 3, 0.5f}, {1, -2, 3, 0.5f}, {1, -2, 3, 0.5f}};
    float **s = rows(3, same);
    c = make(*state, "flag", 3, NULL);
    assert_int_equal(agg_test_combine(c, s, NULL, 3, 1, NULL, out), 0);
    for (int j = 0; j < D; j++) assert_true(fabsf(out[j] - same[0][j]) < 1e-4f);
    fedc_combiner_free(c);
    agg_test_free_vectors(s, 3);
    agg_test_free_vectors(v, 3);
}

static void bound_1(fedc_task *t) { t->strategy.norm_bound = 1.0; }

static void test_norm_bound(void **state) {
    /* (3, 4) has norm 5: scaled to (0.6, 0.8); (0.3, 0.4) stays. */
    const float vals[2][D] = {{3, 4, 0, 0}, {0.3f, 0.4f, 0, 0}};
    float **v = rows(2, vals), out[D];
    fedc_combiner *c = make(*state, "mean", 2, bound_1);
    assert_int_equal(agg_test_combine(c, v, NULL, 2, 1, NULL, out), 0);
    const float want[D] = {0.45f, 0.6f, 0, 0};
    expect(out, want);
    assert_int_equal(fedc_combiner_clipped(c), 1);
    /* The caller's vectors are never written. */
    assert_true(v[0][0] == 3 && v[0][1] == 4);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 2);
}

static void test_clients_outside_are_left_out(void **state) {
    const float vals[2][D] = {{1, 0, 0, 0}, {1000, 0, 0, 0}};
    float **v = rows(2, vals), out[D];
    fedc_combiner *c = make(*state, "mean", 1, NULL); /* a federation of one */
    fedc_update u[2] = {{.client = 0, .weight = 1, .delta = v[0]}, {.client = 7, .weight = 1, .delta = v[1]}};
    fedc_error err;
    assert_int_equal(fedc_combine(c, u, 2, 1, NULL, out, &err), 0);
    assert_true(out[0] == 1);
    const char *why;
    assert_int_equal(fedc_combiner_verdict(c, 1, &why), FEDC_VERDICT_LEFT_OUT);
    assert_non_null(strstr(why, "outside"));
    /* No usable update: an error, out untouched. */
    out[0] = 42;
    assert_int_equal(fedc_combine(c, u + 1, 1, 2, NULL, out, &err), -1);
    assert_true(out[0] == 42);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 2);
}

static void test_unknown_aggregator(void **state) {
    fixture *f = *state;
    fedc_task t;
    agg_test_task(&t, "mean", 3);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "avg");
    fedc_error err;
    assert_null(fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, 3, &err));
    assert_non_null(strstr(err.msg, "strategy.aggregator"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_weighted),   cmocka_unit_test(test_median_odd_and_even),
        cmocka_unit_test(test_trimmed_mean),    cmocka_unit_test(test_krum),
        cmocka_unit_test(test_multi_krum),      cmocka_unit_test(test_bulyan),
        cmocka_unit_test(test_geomed),          cmocka_unit_test(test_flag),
        cmocka_unit_test(test_norm_bound),      cmocka_unit_test(test_clients_outside_are_left_out),
        cmocka_unit_test(test_unknown_aggregator),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
