/* With f sign-flipped or huge updates among n, every robust rule's output
 * stays near the honest updates' mean where the plain mean fails; the
 * Flag Aggregator's direction barely turns under one huge random vector
 * (its output is a direction scaled by the median norm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg_test_util.h"

enum { K = 500, N = 11, F = 2 };
#define D (2 * K + 2)

typedef struct {
    fedc_arch *arch;
    float **honest;   /* N - F honest updates */
    float *honest_mean;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->arch = agg_test_arch(K);
    assert_int_equal(fedc_arch_nparams(f->arch), D);
    f->honest = agg_test_vectors(N, D);
    f->honest_mean = calloc(D, sizeof(float));
    /* Honest updates: a common direction plus 10% per-client noise. */
    fedc_rng rng = fedc_rng_derive(7, 1, 2);
    float *mu = calloc(D, sizeof(float));
    for (int j = 0; j < D; j++) mu[j] = (float)fedc_rng_normal(&rng);
    for (int i = 0; i < N - F; i++)
        for (int j = 0; j < D; j++) {
            f->honest[i][j] = mu[j] + 0.1f * (float)fedc_rng_normal(&rng);
            f->honest_mean[j] += f->honest[i][j] / (N - F);
        }
    free(mu);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fedc_arch_free(f->arch);
    agg_test_free_vectors(f->honest, N);
    free(f->honest_mean);
    free(f);
    return 0;
}

typedef enum { SIGN_FLIP, HUGE, HUGE_RANDOM } byz_kind;

/* The N updates: honest ones, then F Byzantine ones (placed first, so that
 * no rule can win by looking at the end). */
static float **round_with(const fixture *f, byz_kind kind) {
    float **v = agg_test_vectors(N, D);
    fedc_rng rng = fedc_rng_derive(9, (uint64_t)kind, 3);
    for (int i = 0; i < F; i++)
        for (int j = 0; j < D; j++) {
            float h = f->honest[i][j];
            v[i][j] = kind == SIGN_FLIP ? -h : kind == HUGE ? 1000 * h : 1000 * (float)fedc_rng_normal(&rng);
        }
    for (int i = F; i < N; i++) memcpy(v[i], f->honest[i - F], D * sizeof(float));
    return v;
}

static double relative_error(const fixture *f, const char *agg, byz_kind kind, float *out) {
    fedc_task t;
    agg_test_task(&t, agg, N);
    t.strategy.byzantine_fraction = (double)F / N + 0.01; /* f = 2 of 11 */
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, N, &err);
    if (!c) fail_msg("%s: %s", agg, err.msg);
    float **v = round_with(f, kind);
    assert_int_equal(agg_test_combine(c, v, NULL, N, 1, NULL, out), 0);
    double e = agg_test_dist(out, f->honest_mean, D) / agg_test_norm(f->honest_mean, D);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, N);
    return e;
}

static void test_robust_rules_stay_near_the_honest_mean(void **state) {
    fixture *f = *state;
    static const char *const rules[] = {"median", "trimmed-mean", "krum", "multi-krum", "bulyan", "geomed"};
    static const char *const kinds[] = {"sign-flipped", "x1000", "huge random"};
    float *out = malloc(D * sizeof *out);
    for (int k = SIGN_FLIP; k <= HUGE_RANDOM; k++) {
        double mean_err = relative_error(f, "mean", (byz_kind)k, out);
        print_message("%-12s mean: %.3f", kinds[k], mean_err);
        /* Two sign flips of eleven shrink the mean to 7/11 of the honest
         * one (error 4/11); the huge ones throw it away. */
        assert_true(mean_err > 0.35);
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            double e = relative_error(f, rules[r], (byz_kind)k, out);
            print_message("  %s %.3f", rules[r], e);
            if (e > 0.1) fail_msg("%s with %d %s updates of %d: relative error %.3f", rules[r], F, kinds[k], N, e);
        }
        print_message("\n");
    }
    free(out);
}

static void test_krum_family_leaves_the_byzantine_out(void **state) {
    fixture *f = *state;
    static const char *const rules[] = {"krum", "multi-krum", "bulyan"};
    float *out = malloc(D * sizeof *out);
    for (size_t r = 0; r < 3; r++) {
        fedc_task t;
        agg_test_task(&t, rules[r], N);
        t.strategy.byzantine_fraction = (double)F / N + 0.01;
        fedc_error err;
        fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, N, &err);
        float **v = round_with(f, HUGE);
        assert_int_equal(agg_test_combine(c, v, NULL, N, 1, NULL, out), 0);
        for (int i = 0; i < F; i++) assert_int_equal(fedc_combiner_verdict(c, i, NULL), FEDC_VERDICT_LEFT_OUT);
        fedc_combiner_free(c);
        agg_test_free_vectors(v, N);
    }
    free(out);
}

/* Flag Aggregator: one huge random Byzantine vector among honest ones
 * turns its output by a small angle, while the mean points almost
 * entirely along the Byzantine vector. */
static void test_flag_barely_turns(void **state) {
    fixture *f = *state;
    int n = N - F + 1;
    float **v = agg_test_vectors(n, D);
    fedc_rng rng = fedc_rng_derive(5, 5, 5);
    for (int j = 0; j < D; j++) v[0][j] = 1000 * (float)fedc_rng_normal(&rng);
    for (int i = 1; i < n; i++) memcpy(v[i], f->honest[i - 1], D * sizeof(float));
    float *out = malloc(D * sizeof *out), *clean = malloc(D * sizeof *clean);
    fedc_task t;
    agg_test_task(&t, "flag", n);
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, n, &err);
    assert_int_equal(agg_test_combine(c, v + 1, NULL, n - 1, 1, NULL, clean), 0);
    assert_int_equal(agg_test_combine(c, v, NULL, n, 2, NULL, out), 0);
    double flag_cos = agg_test_cos(out, clean, D), flag_mean_cos = agg_test_cos(out, f->honest_mean, D);
    /* Its size is the honest ones': the median norm of the updates. */
    double flag_size = agg_test_norm(out, D) / agg_test_norm(f->honest_mean, D);
    fedc_combiner_free(c);
    agg_test_task(&t, "mean", n);
    c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, n, &err);
    assert_int_equal(agg_test_combine(c, v, NULL, n, 1, NULL, out), 0);
    double mean_cos = agg_test_cos(out, f->honest_mean, D);
    print_message("cosine to the clean output: flag %.4f (to the honest mean %.4f); mean %.4f\n", flag_cos,
                  flag_mean_cos, mean_cos);
    assert_true(flag_cos > 0.99);
    assert_true(flag_mean_cos > 0.99);
    assert_true(mean_cos < 0.2);
    assert_true(fabs(flag_size - 1) < 0.3);
    fedc_combiner_free(c);
    free(out);
    free(clean);
    agg_test_free_vectors(v, n);
}

/* Sign flips lie in the honest updates' subspace, so Flag keeps the
 * honest direction (shortened), as its authors' projection does. */
static void test_flag_keeps_the_direction_under_sign_flips(void **state) {
    fixture *f = *state;
    fedc_task t;
    agg_test_task(&t, "flag", N);
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, N, &err);
    float **v = round_with(f, SIGN_FLIP), *out = malloc(D * sizeof *out);
    assert_int_equal(agg_test_combine(c, v, NULL, N, 1, NULL, out), 0);
    assert_true(agg_test_cos(out, f->honest_mean, D) > 0.99);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, N);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_robust_rules_stay_near_the_honest_mean),
        cmocka_unit_test(test_krum_family_leaves_the_byzantine_out),
        cmocka_unit_test(test_flag_barely_turns),
        cmocka_unit_test(test_flag_keeps_the_direction_under_sign_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
