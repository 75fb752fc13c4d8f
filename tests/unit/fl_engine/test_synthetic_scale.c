/* A federation of a million clients on dataset synthetic: the task
 * validates, the run generates only the clients it selects (each exactly
 * as the data layer generates it alone), keeps state for those only, and
 * runs rounds; the same task and seed give the same model; Synthetic(0, 0)
 * is learnable. The 1,000-per-round figures are bench/bench_scale.py's. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "fedc/engine.h"
#include "fedc/task.h"

static void synthetic_task(fedc_task *t, int clients, int per_round, int rounds) {
    fedc_task_defaults(t);
    snprintf(t->dataset.name, sizeof t->dataset.name, "synthetic");
    snprintf(t->partition.kind, sizeof t->partition.kind, "natural");
    snprintf(t->model, sizeof t->model, "dense:10"); /* multinomial logistic regression, as FedProx */
    t->clients = clients;
    t->clients_per_round = per_round;
    t->rounds = rounds;
    t->local.batch = 10;
    t->local.max_steps = 20;
    t->local.lr = 0.01;
    t->seed = 12;
}

static void test_validation(void **state) {
    (void)state;
    fedc_task t;
    fedc_error err;
    synthetic_task(&t, 1000000, 1000, 2);
    if (fedc_task_validate(&t, &err) != 0) fail_msg("%s", err.msg);
    t.clients = 1000001;
    assert_int_equal(fedc_task_validate(&t, &err), -1);
    assert_non_null(strstr(err.msg, "clients"));
    synthetic_task(&t, 100, 10, 2);
    snprintf(t.partition.kind, sizeof t.partition.kind, "iid");
    assert_int_equal(fedc_task_validate(&t, &err), -1);
    assert_non_null(strstr(err.msg, "partition.kind"));
    synthetic_task(&t, 100, 10, 2);
    t.validation = 0.1;
    assert_int_equal(fedc_task_validate(&t, &err), -1);
    assert_non_null(strstr(err.msg, "validation"));
}

static void test_million_clients(void **state) {
    (void)state;
    fedc_task t;
    fedc_error err;
    synthetic_task(&t, 1000000, 100, 2);
    fedc_run_options ro = {.threads = 2, .quiet = 1};
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    if (!r) fail_msg("%s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    assert_non_null(tp);
    fedc_round_metrics m;
    for (int round = 1; round <= 2; round++) {
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round %d: %s", round, err.msg);
        assert_int_equal(m.participants, 100);
        assert_int_equal(m.dropped + m.rejected, 0);
        assert_true(m.client_steps > 0);
        /* Each participant trained on exactly its own generated data. */
        for (int i = 0; i < m.participants; i += 37) {
            int k = m.aggregated[i];
            fedc_dataset want;
            assert_int_equal(fedc_synthetic_client(&(fedc_synthetic_config){t.dataset.synthetic_alpha,
                                                                              t.dataset.synthetic_beta, t.clients,
                                                                              t.seed},
                                                   k, 1, &want, &err),
                             0);
            fedc_client_data cd = fedc_run_client_data(r, k);
            assert_int_equal(cd.n, want.n);
            for (size_t j = 0; j < cd.n; j++) {
                assert_memory_equal(cd.data->x + (size_t)cd.index[j] * cd.data->dim, want.x + j * want.dim,
                                    want.dim * sizeof(float));
                assert_int_equal(cd.data->y[cd.index[j]], want.y[j]);
            }
            fedc_dataset_free(&want);
        }
    }
    assert_true(m.evaluated && isfinite(m.accuracy));
    /* State for the participants only: two rounds of 100 clients. */
    fedc_state_stats ss;
    assert_int_equal(fedc_sim_transport_state_stats(tp, &ss), 0);
    assert_true(ss.records <= 200);
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

static void run_model(const fedc_task *t, int rounds, float **out, size_t *d, double *acc) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("%s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    fedc_round_metrics m;
    for (int i = 0; i < rounds; i++)
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("%s", err.msg);
    *d = fedc_run_nparams(r);
    *out = malloc(*d * sizeof(float));
    memcpy(*out, fedc_run_model(r), *d * sizeof(float));
    fedc_run_evaluate(r, acc, &(double){0});
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

static void test_reproducible(void **state) {
    (void)state;
    fedc_task t;
    synthetic_task(&t, 10000, 20, 2);
    float *a, *b;
    size_t da, db;
    double acc;
    run_model(&t, 2, &a, &da, &acc);
    run_model(&t, 2, &b, &db, &acc);
    assert_int_equal(da, db);
    assert_memory_equal(a, b, da * sizeof(float));
    t.seed = 13;
    float *c;
    run_model(&t, 2, &c, &db, &acc);
    assert_memory_not_equal(a, c, da * sizeof(float));
    free(a);
    free(b);
    free(c);
}

/* FedAvg with logistic regression learns Synthetic(0, 0): 30 clients (the
 * paper's count), 10 per round, 30 rounds, from about chance. */
static void test_learns(void **state) {
    (void)state;
    fedc_task t;
    synthetic_task(&t, 30, 10, 30);
    t.dataset.synthetic_alpha = 0;
    t.dataset.synthetic_beta = 0;
    float *x0, *x;
    size_t d;
    double acc0, acc;
    run_model(&t, 1, &x0, &d, &acc0);
    run_model(&t, 30, &x, &d, &acc);
    if (!(acc > acc0 + 0.15 && acc > 0.4)) fail_msg("accuracy %.3f after 30 rounds, %.3f after 1", acc, acc0);
    free(x0);
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_million_clients),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_learns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
