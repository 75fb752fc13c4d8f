/* The RDP accountant against published values of the two reference
 * implementations, each with its own order list and conversion:
 *   Opacus (opacus/tests/accountants_test.py, test_rdp_accountant):
 *     sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> epsilon 7.32911117143
 *     over orders 1.1 .. 10.9 (step 0.1) and 12 .. 63.
 *   TF-Privacy (compute_dp_sgd_privacy_test.py), orders 1.25 .. 4.5, 5 .. 63,
 *     128, 256, 512; steps = ceil(epochs n / batch), q = batch / n:
 *     n 60000, batch 150, sigma 1.3, 15 epochs, delta 1e-5 -> 0.7242234026109595 (order 19)
 *     n 100000, batch 100, sigma 1.0, 30 epochs, delta 1e-7 -> 1.4154988495444845 (order 13)
 *     n 1e8, batch 1024, sigma 0.1, 10 epochs, delta 1e-7 -> 5907982.31138195 (order 1.25)
 * The issue asks for 2 decimals; we hold the accountant to 1e-6 relative. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fedc/privacy.h"

static double eps_over(const double *orders, int n, double q, double sigma, long steps, double delta,
                       double *best) {
    double rdp[256];
    for (int i = 0; i < n; i++) rdp[i] = (double)steps * fedc_rdp_sampled_gaussian(q, sigma, orders[i]);
    return fedc_rdp_to_epsilon(orders, rdp, n, delta, best);
}

static int opacus_orders(double *o) {
    int n = 0;
    for (int x = 1; x < 100; x++) o[n++] = 1 + x / 10.0;
    for (int a = 12; a < 64; a++) o[n++] = a;
    return n;
}

static int tf_orders(double *o) {
    static const double small[] = {1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5};
    int n = 0;
    for (int i = 0; i < 10; i++) o[n++] = small[i];
    for (int a = 5; a < 64; a++) o[n++] = a;
    o[n++] = 128;
    o[n++] = 256;
    o[n++] = 512;
    return n;
}

static void assert_close(double got, double want) {
    assert_true(fabs(got - want) <= 1e-6 * fabs(want));
    /* The criterion, stated as such. */
    assert_true(fabs(round(got * 100) - round(want * 100)) < 0.5);
}

static void test_opacus_published(void **state) {
    (void)state;
    double o[256], best;
    int n = opacus_orders(o);
    assert_close(eps_over(o, n, 0.04, 1.5, 2250, 1e-5, &best), 7.32911117143);
}

static void test_tf_privacy_published(void **state) {
    (void)state;
    double o[256], best;
    int n = tf_orders(o);
    assert_close(eps_over(o, n, 150.0 / 60000, 1.3, (long)ceil(15 * 60000.0 / 150), 1e-5, &best),
                 0.7242234026109595);
    assert_true(best == 19.0);
    assert_close(eps_over(o, n, 100.0 / 100000, 1.0, (long)ceil(30 * 100000.0 / 100), 1e-7, &best),
                 1.4154988495444845);
    assert_true(best == 13.0);
    /* Fractional order 1.25 wins: exercises the two-sided series. */
    assert_close(eps_over(o, n, 1024.0 / 1e8, 0.1, (long)ceil(10 * 1e8 / 1024), 1e-7, &best),
                 5907982.31138195);
    assert_true(best == 1.25);
}

static void test_limits(void **state) {
    (void)state;
    /* q = 1 is the plain Gaussian mechanism: RDP alpha / (2 sigma^2). */
    assert_float_equal(fedc_rdp_sampled_gaussian(1.0, 2.0, 3.0), 3.0 / 8.0, 1e-12);
    assert_float_equal(fedc_rdp_sampled_gaussian(0.0, 1.0, 3.0), 0.0, 0);
    assert_true(isinf(fedc_rdp_sampled_gaussian(0.1, 0.0, 3.0)));
    assert_true(isnan(fedc_rdp_sampled_gaussian(0.1, 1.0, 1.0)));
    /* Fractional and integer paths agree where they meet. */
    double a = fedc_rdp_sampled_gaussian(0.01, 1.2, 8.0);
    double b = fedc_rdp_sampled_gaussian(0.01, 1.2, 8.0 + 1e-9);
    assert_true(fabs(a - b) < 1e-6 * a);
    /* epsilon grows with steps and shrinks with noise and a smaller rate. */
    double e1 = fedc_dp_epsilon(0.1, 1.0, 10, 1e-5), e2 = fedc_dp_epsilon(0.1, 1.0, 100, 1e-5);
    assert_true(e2 > e1 && e1 > 0);
    assert_true(fedc_dp_epsilon(0.1, 2.0, 100, 1e-5) < e2);
    assert_true(fedc_dp_epsilon(0.05, 1.0, 100, 1e-5) < e2);
    assert_true(isinf(fedc_dp_epsilon(0.1, 0.0, 10, 1e-5)));
    assert_float_equal(fedc_dp_epsilon(0.1, 1.0, 0, 1e-5), 0.0, 0);
    /* The default orders reproduce the Opacus figure (they include its
     * optimum) to the published digits. */
    assert_close(fedc_dp_epsilon(0.04, 1.5, 2250, 1e-5), 7.32911117143);
}

static void test_clip_l2(void **state) {
    (void)state;
    float v[4] = {3, 4, 0, 0};
    assert_float_equal(fedc_clip_l2(v, 4, 1.0), 5.0, 1e-6);
    double n = sqrt((double)v[0] * v[0] + (double)v[1] * v[1]);
    assert_true(n <= 1.0 && n > 1.0 - 1e-6);
    float w[2] = {0.3f, 0.4f};
    fedc_clip_l2(w, 2, 1.0);
    assert_true(w[0] == 0.3f && w[1] == 0.4f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opacus_published),
        cmocka_unit_test(test_tf_privacy_published),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_clip_l2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
