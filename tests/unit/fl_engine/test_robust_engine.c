/* Robust aggregation and simulated attacks through the whole round engine
 * on a small synthetic task:
 *  - scaling attackers ruin the mean; multi-krum leaves exactly them out,
 *    reports them in the round's lists and keeps the model learning;
 *  - colluding ALIE attackers pool their benign updates in a second
 *    pass of the round, reproducibly;
 *  - FRL learns through the engine: accuracy above chance, the model a
 *    masked copy of fixed weights;
 *  - a run under attack is reproducible bit for bit;
 *  - FedBuff combines each buffer of arrivals through the robust rule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 600, N_TEST = 300 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    t->clients = 10;
    t->clients_per_round = 10;
    t->rounds = 6;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 9;
}

typedef struct {
    double accuracy;
    int attackers_seen, left_out_attackers, left_out_honest;
    float model[1024];
    size_t d;
} outcome;

static void run_task(fixture *f, const fedc_task *t, outcome *o) {
    memset(o, 0, sizeof *o);
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    assert_non_null(tp);
    fedc_round_metrics m;
    while (!fedc_run_done(r)) {
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
        o->attackers_seen += m.n_attackers;
        for (int i = 0; i < m.n_left_out; i++) {
            int is_attacker = 0;
            for (int k = 0; k < m.n_attackers; k++) is_attacker |= m.attackers[k] == m.left_out[i];
            o->left_out_attackers += is_attacker;
            o->left_out_honest += !is_attacker;
        }
    }
    o->accuracy = m.accuracy;
    o->d = fedc_run_nparams(r);
    assert_true(o->d <= 1024);
    memcpy(o->model, fedc_run_model(r), o->d * sizeof(float));
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

static void test_scaling_attackers_and_multi_krum(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    outcome clean, attacked, defended;
    run_task(f, &t, &clean);
    snprintf(t.attack.kind, sizeof t.attack.kind, "scaling");
    run_task(f, &t, &attacked);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "multi-krum");
    t.strategy.byzantine_fraction = 0.2;
    run_task(f, &t, &defended);
    print_message("accuracy: clean %.3f, x100 attackers %.3f, with multi-krum %.3f\n", clean.accuracy,
                  attacked.accuracy, defended.accuracy);
    assert_true(clean.accuracy > 0.7);
    assert_true(attacked.accuracy < clean.accuracy - 0.2);
    assert_true(defended.accuracy > clean.accuracy - 0.05);
    /* 2 attackers of 10 every round; multi-krum (f = 2) leaves out exactly them. */
    assert_int_equal(defended.attackers_seen, 2 * t.rounds);
    assert_int_equal(defended.left_out_attackers, 2 * t.rounds);
    assert_int_equal(defended.left_out_honest, 0);
}

/* ALIE's colluders wait for each other (a second pass of the simulated
 * round): the attack changes the model, every attacker of every round is
 * reported, and the run is reproducible bit for bit. */
static void test_colluders_are_reproducible(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    outcome a, b, clean;
    run_task(f, &t, &clean);
    snprintf(t.attack.kind, sizeof t.attack.kind, "alie");
    t.attack.scale = 1.0;
    run_task(f, &t, &a);
    run_task(f, &t, &b);
    assert_int_equal(a.d, b.d);
    assert_memory_equal(a.model, b.model, a.d * sizeof(float));
    assert_true(memcmp(a.model, clean.model, a.d * sizeof(float)) != 0);
    assert_int_equal(a.attackers_seen, 2 * t.rounds);
}

/* Central DP and secure aggregation hand the strategy one combined update
 * (client -1) through the plain-mean combiner: both runs train, and an
 * attacker's update is sealed by the protocol like any other. */
static void test_combined_update_passes_the_mean(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    outcome dp, sa, sa_attacked;
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "dp-fedavg");
    t.privacy.clip = 10;
    t.privacy.noise_multiplier = 0.001;
    run_task(f, &t, &dp);
    assert_true(dp.accuracy > 0.7);
    snprintf(t.privacy.mode, sizeof t.privacy.mode, "none");
    snprintf(t.secagg.mode, sizeof t.secagg.mode, "secagg+");
    run_task(f, &t, &sa);
    assert_true(sa.accuracy > 0.7);
    snprintf(t.attack.kind, sizeof t.attack.kind, "sign-flip");
    t.attack.scale = 100;
    run_task(f, &t, &sa_attacked);
    assert_int_equal(sa_attacked.attackers_seen, 2 * t.rounds);
    assert_true(sa_attacked.accuracy < sa.accuracy - 0.2);
}

/* FedBuff (asynchronous) aggregates every 5 arrivals through the robust
 * rule: scaling attackers ruin the mean of a buffer, the median of each
 * buffer (at most 2 attackers of 5) keeps the model learning, and the
 * arrivals are reported as the aggregation's participants. */
static void test_fedbuff_with_median(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedbuff");
    t.strategy.buffer_size = 5;
    t.rounds = 12;
    snprintf(t.scheduling.profile, sizeof t.scheduling.profile, "lognormal");
    outcome clean, attacked, defended;
    run_task(f, &t, &clean);
    snprintf(t.attack.kind, sizeof t.attack.kind, "scaling");
    run_task(f, &t, &attacked);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "median");
    run_task(f, &t, &defended);
    print_message("fedbuff accuracy: clean %.3f, x100 attackers %.3f, with median %.3f\n", clean.accuracy,
                  attacked.accuracy, defended.accuracy);
    assert_true(clean.accuracy > 0.7);
    assert_true(attacked.accuracy < clean.accuracy - 0.2);
    assert_true(defended.accuracy > clean.accuracy - 0.1);
    /* Every attacker's arrival is reported; 2 of 10 clients attack. */
    assert_true(defended.attackers_seen > 0);
    assert_true(defended.attackers_seen < 5 * t.rounds);
}

static void test_frl_learns(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "frl");
    snprintf(t.model, sizeof t.model, "dense:64,dense:3");
    t.local.lr = 0.4;
    t.local.momentum = 0.9;
    t.rounds = 8;
    outcome o;
    run_task(f, &t, &o);
    print_message("FRL accuracy after %d rounds: %.3f\n", t.rounds, o.accuracy);
    assert_true(o.accuracy > 0.6); /* chance is about 1/3 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scaling_attackers_and_multi_krum),
        cmocka_unit_test(test_colluders_are_reproducible),
        cmocka_unit_test(test_frl_learns),
        cmocka_unit_test(test_fedbuff_with_median),
        cmocka_unit_test(test_combined_update_passes_the_mean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
