/* Optimizers against hand-computed steps (PyTorch update rules). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fedc/nn.h"

/* Runs steps with the given gradients on one parameter starting at 1. */
static void run(const fedc_optim_config *cfg, const float *grads, int steps, const double *expect) {
    float p[2] = {1.0f, -2.0f};
    fedc_optim *o = fedc_optim_create(cfg, 2);
    assert_non_null(o);
    for (int s = 0; s < steps; s++) {
        float g[2] = {grads[s], 0.0f};
        fedc_optim_step(o, p, g);
        if (fabs(p[0] - expect[s]) > 2e-6)
            fail_msg("step %d: %.9g, expected %.9g", s + 1, (double)p[0], expect[s]);
    }
    fedc_optim_free(o);
}

static void test_sgd_plain_and_weight_decay(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_SGD, 0.1f);
    const float g[2] = {0.5f, 0.5f};
    run(&c, g, 2, (const double[]){0.95, 0.90});
    c.weight_decay = 0.1f; /* g + wd*p: 0.6, then 0.5 + 0.094 */
    run(&c, g, 2, (const double[]){0.94, 0.94 - 0.1 * 0.594});
}

static void test_sgd_momentum_and_nesterov(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_SGD, 0.1f);
    c.momentum = 0.9f;
    const float g[2] = {0.5f, 0.5f};
    /* buf = g, then 0.9*0.5 + 0.5 = 0.95 */
    run(&c, g, 2, (const double[]){0.95, 0.855});
    c.nesterov = 1; /* update g + mu*buf: 0.95, then 0.5 + 0.855 */
    run(&c, g, 2, (const double[]){0.905, 0.7695});
    c.nesterov = 0;
    c.weight_decay = 0.1f; /* g' = 0.6 (buf 0.6), then 0.594 (buf 0.54 + 0.594) */
    run(&c, g, 2, (const double[]){0.94, 0.8266});
}

static void test_adam_first_steps(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_ADAM, 0.01f);
    const float g[3] = {0.5f, -0.25f, 0.1f};
    run(&c, g, 3, (const double[]){0.9900000002, 0.9873366298707846, 0.9841841943025716});
    c.weight_decay = 0.1f; /* L2 added to the gradient */
    const float g2[2] = {0.5f, 0.5f};
    run(&c, g2, 2, (const double[]){0.9900000001666667, 0.9800004386015699});
}

static void test_adamw_decoupled_decay(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_ADAMW, 0.01f);
    assert_true(c.weight_decay == 0.01f);
    c.weight_decay = 0.1f; /* p *= 1 - lr*wd, then the plain Adam step */
    const float g[2] = {0.5f, 0.5f};
    run(&c, g, 2, (const double[]){0.9890000002, 0.9780110003998002});
}

static void test_reset_restarts_state(void **state) {
    (void)state;
    fedc_optim_config c = fedc_optim_defaults(FEDC_OPT_SGD, 0.1f);
    c.momentum = 0.9f;
    fedc_optim *o = fedc_optim_create(&c, 1);
    float p = 1.0f, g = 0.5f;
    fedc_optim_step(o, &p, &g);
    fedc_optim_step(o, &p, &g);
    fedc_optim_reset(o);
    p = 1.0f;
    fedc_optim_step(o, &p, &g); /* like a first step again */
    assert_true(fabsf(p - 0.95f) < 1e-7f);
    fedc_optim_free(o);
    fedc_optim_config a = fedc_optim_defaults(FEDC_OPT_ADAM, 0.01f);
    o = fedc_optim_create(&a, 1);
    p = 1.0f;
    fedc_optim_step(o, &p, &g);
    fedc_optim_step(o, &p, &g);
    fedc_optim_reset(o);
    p = 1.0f;
    fedc_optim_step(o, &p, &g);
    assert_true(fabsf(p - 0.99f) < 1e-6f);
    fedc_optim_free(o);
    assert_null(fedc_optim_create(&a, 0));
    fedc_optim_free(NULL);
}

static void test_kind_parse(void **state) {
    (void)state;
    fedc_opt_kind k;
    assert_int_equal(fedc_opt_kind_parse("sgd", &k), 0);
    assert_int_equal(k, FEDC_OPT_SGD);
    assert_int_equal(fedc_opt_kind_parse("Adam", &k), 0);
    assert_int_equal(k, FEDC_OPT_ADAM);
    assert_int_equal(fedc_opt_kind_parse("adamw", &k), 0);
    assert_int_equal(k, FEDC_OPT_ADAMW);
    assert_int_equal(fedc_opt_kind_parse("lion", &k), 0);
    assert_int_equal(k, FEDC_OPT_LION);
    assert_int_equal(fedc_opt_kind_parse("lamb", &k), -1);
    assert_int_equal(fedc_opt_kind_parse("", &k), -1);
    assert_int_equal(fedc_opt_kind_parse(NULL, &k), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain_and_weight_decay),
        cmocka_unit_test(test_sgd_momentum_and_nesterov),
        cmocka_unit_test(test_adam_first_steps),
        cmocka_unit_test(test_adamw_decoupled_decay),
        cmocka_unit_test(test_reset_restarts_state),
        cmocka_unit_test(test_kind_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
