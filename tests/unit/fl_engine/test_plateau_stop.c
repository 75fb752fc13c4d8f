/* stop.plateau_rounds: a run stops once its monitored accuracy has not
 * risen by more than stop.plateau_delta for that many rounds. Counted in
 * rounds, so every assertion here is on round numbers and accuracies:
 *  - with a rise nothing can reach (delta 1) the first evaluation stays the
 *    best, and the run stops exactly `patience` rounds after it; without
 *    the rule the same run goes to its last round;
 *  - patience is counted at evaluated rounds (eval_every);
 *  - with a validation split the rule watches validation accuracy, never
 *    the test set: test labels rotated on purpose make the two curves
 *    disagree, and the stop round is the one the validation curve gives. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 600, N_TEST = 120, CLIENTS = 5, ROUNDS = 12 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 31, 32);
}

static void make_task(fedc_task *t, int patience, double delta, int eval_every, double validation) {
    fedc_test_memory_task(t, "dense:16,dense:3"); /* data passed in memory */
    t->clients = CLIENTS;
    t->clients_per_round = 3;
    t->rounds = ROUNDS;
    t->local.batch = 16;
    t->local.lr = 0.05;
    t->seed = 4;
    t->eval_every = eval_every;
    t->validation = validation;
    t->stop.plateau_rounds = patience;
    t->stop.plateau_delta = delta;
    fedc_error err;
    if (fedc_task_validate(t, &err) != 0) fail_msg("%s", err.msg);
}

/* Runs until the stopping rule says stop; records each round's figures. */
static int run_until_done(const fedc_task *t, const fedc_dataset *train, const fedc_dataset *test, double *val,
                          double *acc, int *evaluated, int *plateaued) {
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = train, .test_data = test};
    fedc_error err;
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("%s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    if (!tp) fail_msg("%s", err.msg);
    while (!fedc_run_done(r)) {
        fedc_round_metrics m;
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("%s", err.msg);
        if (val) val[m.round] = m.val_accuracy;
        if (acc) acc[m.round] = m.accuracy;
        if (evaluated) evaluated[m.round] = m.evaluated;
    }
    int rounds = fedc_run_rounds_done(r);
    *plateaued = fedc_run_plateaued(r);
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return rounds;
}

/* The round the rule stops at, replayed on a recorded curve; 0 = never. */
static int rule_stop(const double *curve, const int *evaluated, int rounds, int patience, double delta) {
    double best = -INFINITY;
    int best_round = 0;
    for (int k = 1; k <= rounds; k++) {
        if (!evaluated[k]) continue;
        if (curve[k] > best + delta) {
            best = curve[k];
            best_round = k;
        }
        if (k - best_round >= patience) return k;
    }
    return 0;
}

static void test_stops_patience_rounds_after_the_best(void **state) {
    fixture *f = *state;
    fedc_task t;
    int plateaued;
    make_task(&t, 0, 0, 1, 0);
    assert_int_equal(run_until_done(&t, &f->train, &f->test, NULL, NULL, NULL, &plateaued), ROUNDS);
    assert_int_equal(plateaued, 0);
    /* No rise exceeds 1: round 1 stays the best, the run ends at 1 + 3. */
    make_task(&t, 3, 1, 1, 0);
    assert_int_equal(run_until_done(&t, &f->train, &f->test, NULL, NULL, NULL, &plateaued), 4);
    assert_int_equal(plateaued, 1);
    /* A patience the run cannot exhaust leaves it to its last round. */
    make_task(&t, ROUNDS, 1, 1, 0);
    assert_int_equal(run_until_done(&t, &f->train, &f->test, NULL, NULL, NULL, &plateaued), ROUNDS);
    assert_int_equal(plateaued, 0);
}

static void test_counted_at_evaluated_rounds(void **state) {
    fixture *f = *state;
    fedc_task t;
    int plateaued;
    /* Evaluations at rounds 1, 5, 10, 12: two rounds of patience run out at
     * round 5, the first evaluation two or more rounds after round 1. */
    make_task(&t, 2, 1, 5, 0);
    assert_int_equal(run_until_done(&t, &f->train, &f->test, NULL, NULL, NULL, &plateaued), 5);
    assert_int_equal(plateaued, 1);
}

static void test_watches_validation_not_test(void **state) {
    fixture *f = *state;
    fedc_dataset test;
    fedc_test_linear_dataset(&test, N_TEST, FEATURES, CLASSES, 32);
    for (size_t i = 0; i < test.n; i++) test.y[i] = (test.y[i] + 1) % CLASSES; /* a test set that disagrees */
    fedc_task full, t;
    double val[ROUNDS + 1], acc[ROUNDS + 1];
    int ev[ROUNDS + 1] = {0}, plateaued;
    make_task(&full, 0, 0, 1, 0.2);
    assert_int_equal(run_until_done(&full, &f->train, &test, val, acc, ev, &plateaued), ROUNDS);
    const int patience = 2;
    const double delta = 0.01;
    int by_val = rule_stop(val, ev, ROUNDS, patience, delta), by_test = rule_stop(acc, ev, ROUNDS, patience, delta);
    print_message("validation curve stops the rule at round %d; the test curve would at round %d\n", by_val, by_test);
    assert_true(by_test > 0 && by_val != by_test); /* the curves disagree on purpose */
    make_task(&t, patience, delta, 1, 0.2);
    int stopped = run_until_done(&t, &f->train, &test, NULL, NULL, NULL, &plateaued);
    assert_int_equal(stopped, by_val ? by_val : ROUNDS);
    assert_int_equal(plateaued, by_val != 0);
    free(test.x);
    free(test.y);
}

static void test_fields_are_bounded(void **state) {
    (void)state;
    fedc_task t;
    fedc_error err;
    fedc_task_defaults(&t);
    assert_int_equal(t.stop.plateau_rounds, 0);
    assert_int_not_equal(fedc_task_set(&t, "stop.plateau_rounds=-1", &err), 0);
    assert_non_null(strstr(err.msg, "stop.plateau_rounds"));
    assert_int_not_equal(fedc_task_set(&t, "stop.plateau_delta=1.5", &err), 0);
    assert_non_null(strstr(err.msg, "stop.plateau_delta"));
    assert_int_equal(fedc_task_set(&t, "stop.plateau_rounds=5", &err), 0);
    assert_int_equal(t.stop.plateau_rounds, 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stops_patience_rounds_after_the_best),
        cmocka_unit_test(test_counted_at_evaluated_rounds),
        cmocka_unit_test(test_watches_validation_not_test),
        cmocka_unit_test(test_fields_are_bounded),
    };
    return cmocka_run_group_tests(tests, setup, fedc_test_data_pair_teardown);
}
