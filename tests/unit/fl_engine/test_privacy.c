/* dp-gaussian: updates are clipped to the L2 bound, noise has the stated
 * standard deviation, "none" leaves updates untouched; and a run with
 * clipping only stays close to plain FedAvg while heavy noise hurts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "fedc/privacy.h"

enum { D = 20000 };

static void test_clip_bounds_norm(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-gaussian");
    t.privacy.clip = 0.5;
    t.privacy.noise_multiplier = 0;
    static float v[D];
    for (int j = 0; j < D; j++) v[j] = (float)((j % 7) - 3);
    fedc_rng r = fedc_rng_derive(1, 2, 3);
    assert_int_equal(fedc_privacy_local(&t, v, D, &r), 1);
    double n2 = 0;
    for (int j = 0; j < D; j++) n2 += (double)v[j] * v[j];
    assert_float_equal(sqrt(n2), 0.5, 1e-4);
    /* An update already inside the bound is not scaled. */
    for (int j = 0; j < D; j++) v[j] = 0;
    v[0] = 0.25f;
    assert_int_equal(fedc_privacy_local(&t, v, D, &r), 1);
    assert_true(v[0] == 0.25f);
}

static void test_noise_has_stated_sd(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-gaussian");
    t.privacy.clip = 2.0;
    t.privacy.noise_multiplier = 0.5;
    static float v[D];
    memset(v, 0, sizeof v);
    fedc_rng r = fedc_rng_derive(4, 5, 6);
    fedc_privacy_local(&t, v, D, &r);
    double s = 0, s2 = 0;
    for (int j = 0; j < D; j++) {
        s += v[j];
        s2 += (double)v[j] * v[j];
    }
    double mean = s / D, sd = sqrt(s2 / D - mean * mean);
    assert_true(fabs(mean) < 0.03);
    assert_true(fabs(sd - 1.0) < 0.03); /* 0.5 x 2.0 */
}

static void test_none_is_identity(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    static float v[D], w[D];
    for (int j = 0; j < D; j++) v[j] = w[j] = (float)j;
    fedc_rng r = fedc_rng_derive(1, 1, 1);
    assert_int_equal(fedc_privacy_local(&t, v, D, &r), 0);
    assert_memory_equal(v, w, sizeof v);
}

/* dp-fedavg without noise: the mean of the clipped updates over the fixed
 * denominator clients_per_round; with noise, the stated sd. */
static void test_central_clip_and_mean(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-fedavg");
    t.clients = 10;
    t.clients_per_round = 4;
    t.privacy.clip = 1.0;
    fedc_error e;
    fedc_privacy *p = fedc_privacy_create(&t, 2, &e);
    assert_non_null(p);
    assert_true(fedc_privacy_central(p) && fedc_privacy_enabled(p));
    float a[2] = {3, 4}, b[2] = {0.5f, 0}, out[2];
    fedc_update u[2] = {{.delta = a}, {.delta = b}};
    fedc_rng r = fedc_rng_derive(1, 2, 3);
    fedc_privacy_combine(p, u, 2, out, &r);
    /* (0.6, 0.8) + (0.5, 0), over 4 expected participants. */
    assert_float_equal(out[0], 1.1 / 4, 1e-6);
    assert_float_equal(out[1], 0.8 / 4, 1e-6);
    assert_true(a[0] == 3 && a[1] == 4); /* inputs untouched */
    fedc_privacy_free(p);

    t.privacy.noise_multiplier = 2.0;
    p = fedc_privacy_create(&t, D, &e);
    static float z[D], o[D];
    memset(z, 0, sizeof z);
    fedc_update uz = {.delta = z};
    fedc_privacy_combine(p, &uz, 1, o, &r);
    double s2 = 0;
    for (int j = 0; j < D; j++) s2 += (double)o[j] * o[j];
    assert_true(fabs(sqrt(s2 / D) - 2.0 / 4) < 0.02); /* z C / m */
    fedc_privacy_free(p);
}

/* Adaptive clipping: with every update far inside the bound the bound
 * shrinks, with every update far outside it grows; by exp(-eta (b - gamma))
 * exactly when the count is not noised. */
static void test_adaptive_clip_moves_towards_quantile(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-fedavg");
    t.clients = 10;
    t.clients_per_round = 2;
    t.privacy.clip = 1.0;
    t.privacy.adaptive_clip = 1;
    t.privacy.clip_lr = 0.2;
    t.privacy.target_quantile = 0.5;
    fedc_error e;
    fedc_privacy *p = fedc_privacy_create(&t, 1, &e);
    float small[1] = {0.1f}, big[1] = {10.0f}, out[1];
    fedc_update in[2] = {{.delta = small}, {.delta = small}};
    fedc_rng r = fedc_rng_derive(9, 9, 9);
    fedc_privacy_combine(p, in, 2, out, &r);
    assert_float_equal(fedc_privacy_clip(p), exp(-0.2 * (1.0 - 0.5)), 1e-12);
    fedc_update outside[2] = {{.delta = big}, {.delta = big}};
    double c0 = fedc_privacy_clip(p);
    fedc_privacy_combine(p, outside, 2, out, &r);
    assert_float_equal(fedc_privacy_clip(p), c0 * exp(-0.2 * (0.0 - 0.5)), 1e-12);
    fedc_privacy_free(p);
}

/* The budget: a task whose planned rounds exceed target_epsilon is refused
 * with on_exceed refuse and accepted with stop; the stop rule fires before
 * the round that would cross it; local DP composes over participations. */
static void test_budget_refuse_and_stop(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-fedavg");
    t.clients = 100;
    t.clients_per_round = 10;
    t.rounds = 128;
    t.privacy.noise_multiplier = 1.2;
    t.privacy.target_epsilon = 3.0;
    fedc_error e;
    assert_int_equal(fedc_task_validate(&t, &e), 0);
    snprintf(t.privacy.on_exceed, sizeof t.privacy.on_exceed, "refuse");
    assert_int_equal(fedc_task_validate(&t, &e), -1);
    assert_non_null(strstr(e.msg, "privacy.target_epsilon: the 128 planned rounds would spend epsilon"));
    t.rounds = 16;
    assert_int_equal(fedc_task_validate(&t, &e), 0);
    /* q 0.1, z 1.2: epsilon(16) = 2.746 < 3 < epsilon(32) = 3.497. */
    fedc_privacy *p = fedc_privacy_create(&t, 1, &e);
    double eps, delta;
    fedc_privacy_account(p, 16, 0, &eps, &delta);
    assert_float_equal(eps, fedc_dp_epsilon(0.1, 1.2, 16, 1e-5), 1e-12);
    assert_float_equal(delta, 1e-5, 0);
    int stop_at = 0;
    for (int k = 0; k < 64 && !stop_at; k++)
        if (fedc_privacy_would_exceed(p, k, 0)) stop_at = k;
    assert_true(fedc_dp_epsilon(0.1, 1.2, stop_at, 1e-5) <= 3.0);
    assert_true(fedc_dp_epsilon(0.1, 1.2, stop_at + 1, 1e-5) > 3.0);
    fedc_privacy_free(p);

    /* Local: no amplification, sensitivity 2C, over participations. */
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-gaussian");
    t.privacy.target_epsilon = 0;
    p = fedc_privacy_create(&t, 1, &e);
    fedc_privacy_account(p, 16, 5, &eps, &delta);
    assert_float_equal(eps, fedc_dp_epsilon(1.0, 0.6, 5, 1e-5), 1e-12);
    fedc_privacy_free(p);

    /* Settings that do not fit together are refused by name. */
    fedc_task_defaults(&t);
    t.privacy.adaptive_clip = 1;
    assert_int_equal(fedc_task_validate(&t, &e), -1);
    assert_non_null(strstr(e.msg, "privacy.adaptive_clip"));
    fedc_task_defaults(&t);
    t.privacy.target_epsilon = 1;
    assert_int_equal(fedc_task_validate(&t, &e), -1);
    assert_non_null(strstr(e.msg, "privacy.target_epsilon: a budget needs differential privacy"));
    fedc_task_defaults(&t);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-fedavg");
    t.privacy.adaptive_clip = 1;
    t.privacy.noise_multiplier = 1.0; /* s_b = 10/20 = 0.5: 2 s_b = 1 is not > 1 */
    assert_int_equal(fedc_task_validate(&t, &e), -1);
    assert_non_null(strstr(e.msg, "privacy.count_noise"));
}

/* Simulation noise is reproducible from the task seed; deployment noise is
 * not derivable from it. */
static void test_noise_stream_secret_in_deployment(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    fedc_rng a = fedc_privacy_noise_rng(&t, 3, 4, 0), b = fedc_privacy_noise_rng(&t, 3, 4, 0);
    assert_true(fedc_rng_u64(&a) == fedc_rng_u64(&b));
    fedc_rng c = fedc_privacy_noise_rng(&t, 3, 4, 1), d = fedc_privacy_noise_rng(&t, 3, 4, 1);
    fedc_rng e = fedc_privacy_noise_rng(&t, 3, 4, 0);
    uint64_t vc = fedc_rng_u64(&c), vd = fedc_rng_u64(&d), ve = fedc_rng_u64(&e);
    assert_true(vc != vd && vc != ve && vd != ve);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_bounds_norm),
        cmocka_unit_test(test_noise_has_stated_sd),
        cmocka_unit_test(test_none_is_identity),
        cmocka_unit_test(test_central_clip_and_mean),
        cmocka_unit_test(test_adaptive_clip_moves_towards_quantile),
        cmocka_unit_test(test_budget_refuse_and_stop),
        cmocka_unit_test(test_noise_stream_secret_in_deployment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
