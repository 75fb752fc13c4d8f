/* fedc_run_relay_round, a mid-level server's round (hierarchical
 * aggregation), through the whole engine on a small synthetic task:
 *  - relaying every client is the flat FedAvg round: x0 + mean equals the
 *    flat round's model bit for bit, and the weight is their samples' sum
 *  - two mid-level relays over halves of the clients, combined by the
 *    top's weighted mean (weights = their sums), give the flat mean within
 *    float summation-order error, and their weights add up exactly
 *  - the model given is the one trained from, the round number the one the
 *    clients see (the run's own model is left alone)
 *  - strategies whose server state does not split across levels are refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/strategy.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, CAP = 4096 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 11, 12);
}

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3"); /* data passed in memory */
    snprintf(t->partition.kind, sizeof t->partition.kind, "dirichlet");
    t->partition.alpha = 0.5; /* unequal client sizes: the weights matter */
    t->clients = 4;
    t->clients_per_round = 4;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 5;
}

typedef struct {
    fedc_run *r;
    fedc_transport *tp;
} engine;

static void open_engine(fixture *f, const fedc_task *t, engine *e) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    e->r = fedc_run_create(t, &ro, &err);
    if (!e->r) fail_msg("run create: %s", err.msg);
    e->tp = fedc_sim_transport_create(e->r, &err);
    assert_non_null(e->tp);
}

static void close_engine(engine *e) {
    e->tp->ops->destroy(e->tp);
    fedc_run_free(e->r);
}

/* A mid-level server holds some of the clients: the others are not online below it. */
typedef struct {
    int first, last;
} holds;

static void hold_only(void *ctx, int round, fedc_client_info *info, int n) {
    const holds *h = ctx;
    (void)round;
    for (int k = 0; k < n; k++)
        if (k < h->first || k > h->last) info[k].available = 0;
}

static void test_relay_of_all_clients_is_the_flat_round(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    fedc_error err;
    fedc_round_metrics m;
    engine flat, mid;
    open_engine(f, &t, &flat);
    open_engine(f, &t, &mid);
    size_t d = fedc_run_nparams(flat.r);
    assert_true(d <= CAP);
    static float x0[CAP], mean[CAP], own[CAP];
    memcpy(x0, fedc_run_model(flat.r), d * sizeof(float));
    /* The relay trains from the model it is given, not its own. */
    float *mx = fedc_run_model(mid.r);
    for (size_t j = 0; j < d; j++) mx[j] = 0.5f;
    if (fedc_run_round(flat.r, flat.tp, &m, &err) != 0) fail_msg("flat round: %s", err.msg);
    double weight = 0;
    if (fedc_run_relay_round(mid.r, mid.tp, 1, x0, mean, &weight, &m, &err) != 0) fail_msg("relay: %s", err.msg);
    assert_int_equal(m.participants, 4);
    assert_int_equal(m.round, 1);
    assert_int_equal(fedc_run_rounds_done(mid.r), 1);
    assert_true(m.bytes_down > 0 && m.bytes_up > 0 && m.bytes_down_total == m.bytes_down);
    double total = 0;
    for (int k = 0; k < 4; k++) total += (double)fedc_run_client_data(mid.r, k).n;
    assert_true(weight == total);
    /* FedAvg with server_lr 1 adds the weighted mean: the same bits. */
    const float *x1 = fedc_run_model(flat.r);
    for (size_t j = 0; j < d; j++)
        if (x0[j] + mean[j] != x1[j]) fail_msg("parameter %zu: %.9g + %.9g != %.9g", j, x0[j], mean[j], x1[j]);
    /* The relay round leaves its run's model as the upstream's. */
    memcpy(own, fedc_run_model(mid.r), d * sizeof(float));
    assert_memory_equal(own, x0, d * sizeof(float));
    /* Round 2 of the upstream, from the flat model after round 1: the
     * clients train round 2's streams, as the flat run's do. */
    memcpy(own, x1, d * sizeof(float));
    if (fedc_run_round(flat.r, flat.tp, &m, &err) != 0) fail_msg("flat round 2: %s", err.msg);
    if (fedc_run_relay_round(mid.r, mid.tp, 2, own, mean, &weight, &m, &err) != 0) fail_msg("relay 2: %s", err.msg);
    const float *x2 = fedc_run_model(flat.r);
    for (size_t j = 0; j < d; j++)
        if (own[j] + mean[j] != x2[j]) fail_msg("round 2, parameter %zu differs", j);
    close_engine(&flat);
    close_engine(&mid);
}

static void test_two_mid_levels_give_the_flat_mean(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    fedc_error err;
    fedc_round_metrics m;
    engine all, a, b;
    open_engine(f, &t, &all);
    open_engine(f, &t, &a);
    open_engine(f, &t, &b);
    holds ha = {0, 1}, hb = {2, 3};
    fedc_run_set_client_hook(a.r, hold_only, &ha);
    fedc_run_set_client_hook(b.r, hold_only, &hb);
    size_t d = fedc_run_nparams(all.r);
    static float x[CAP], flat[CAP], ma[CAP], mb[CAP], top[CAP];
    memcpy(x, fedc_run_model(all.r), d * sizeof(float));
    for (int round = 1; round <= 3; round++) {
        double wall = 0, wa = 0, wb = 0;
        if (fedc_run_relay_round(all.r, all.tp, round, x, flat, &wall, &m, &err) != 0) fail_msg("%s", err.msg);
        if (fedc_run_relay_round(a.r, a.tp, round, x, ma, &wa, &m, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(m.participants, 2);
        if (fedc_run_relay_round(b.r, b.tp, round, x, mb, &wb, &m, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(m.participants, 2);
        assert_true(wa + wb == wall);
        /* The top's aggregation of its two nodes' updates. */
        fedc_update u[2] = {{.client = 0, .weight = wa, .delta = ma}, {.client = 1, .weight = wb, .delta = mb}};
        assert_true(fedc_weighted_mean(u, 2, d, top) == wall);
        double worst = 0, scale = 0;
        for (size_t j = 0; j < d; j++) {
            double diff = fabs((double)top[j] - flat[j]);
            if (diff > worst) worst = diff;
            if (fabs(flat[j]) > scale) scale = fabs(flat[j]);
        }
        /* Float32 sums in another order: a few units in the last place. */
        if (worst > 4 * 1.2e-7 * scale + 1e-12) fail_msg("round %d: |top - flat| %.3g (scale %.3g)", round, worst, scale);
        for (size_t j = 0; j < d; j++) x[j] += flat[j];
    }
    close_engine(&all);
    close_engine(&a);
    close_engine(&b);
}

static void test_unsplittable_strategies_refused(void **state) {
    fixture *f = *state;
    const char *names[] = {"scaffold", "fedbuff"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        fedc_task t;
        base_task(&t);
        snprintf(t.strategy.name, sizeof t.strategy.name, "%s", names[i]);
        engine e;
        open_engine(f, &t, &e);
        static float x[CAP], mean[CAP];
        memcpy(x, fedc_run_model(e.r), fedc_run_nparams(e.r) * sizeof(float));
        double w = -1;
        fedc_round_metrics m;
        fedc_error err;
        assert_int_equal(fedc_run_relay_round(e.r, e.tp, 1, x, mean, &w, &m, &err), -1);
        assert_non_null(strstr(err.msg, names[i]));
        assert_non_null(strstr(err.msg, "does not split across levels"));
        close_engine(&e);
    }
}

static void test_bad_model_refused(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    engine e;
    open_engine(f, &t, &e);
    static float x[CAP], mean[CAP];
    size_t d = fedc_run_nparams(e.r);
    memcpy(x, fedc_run_model(e.r), d * sizeof(float));
    x[3] = NAN;
    double w;
    fedc_round_metrics m;
    fedc_error err;
    assert_int_equal(fedc_run_relay_round(e.r, e.tp, 1, x, mean, &w, &m, &err), -1);
    assert_non_null(strstr(err.msg, "value 3 is not finite"));
    x[3] = 0;
    assert_int_equal(fedc_run_relay_round(e.r, e.tp, 0, x, mean, &w, &m, &err), -1);
    close_engine(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_of_all_clients_is_the_flat_round),
        cmocka_unit_test(test_two_mid_levels_give_the_flat_mean),
        cmocka_unit_test(test_unsplittable_strategies_refused),
        cmocka_unit_test(test_bad_model_refused),
    };
    return cmocka_run_group_tests(tests, setup, fedc_test_data_pair_teardown);
}
