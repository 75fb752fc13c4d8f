/* Asynchronous strategies (fedbuff, fedfix, async-fedavg):
 *  - staleness weights and aggregation weights applied exactly (a
 *    hand-computed aggregation for each staleness function and weight mode);
 *  - FedBuff with buffer = clients_per_round is synchronous FedAvg, bit for
 *    bit, whatever the clients' speeds (every update arrives fresh);
 *  - FedFix with a window longer than any client's training is FedAvg;
 *  - the simulated clock: a trace of four clients of known speeds gives the
 *    hand-computed arrival times and staleness of every aggregation;
 *  - a run is reproducible from its seed, and K < clients_per_round does
 *    change the model;
 *  - the validator refuses a buffer larger than the clients training at once
 *    and fedfix without a window. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "fedc/strategy.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, CAP = 4096, MAX_ROUNDS = 8 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 11, 12);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t, const char *strategy) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->strategy.name, sizeof t->strategy.name, "%s", strategy);
    t->clients = 8;
    t->clients_per_round = 4;
    t->rounds = 4;
    t->local.batch = 16;
    t->local.epochs = 1;
    t->local.lr = 0.1;
    t->seed = 5;
}

/* Runs the task; the final model into out, the metrics of each round into ms. */
static size_t run_task(fixture *f, const fedc_task *t, float *out, fedc_round_metrics *ms) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    if (!tp) fail_msg("transport: %s", err.msg);
    fedc_round_metrics m;
    int i = 0;
    while (!fedc_run_done(r)) {
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
        if (ms && i < MAX_ROUNDS) ms[i] = m;
        i++;
    }
    size_t d = fedc_run_nparams(r);
    assert_true(d <= CAP);
    memcpy(out, fedc_run_model(r), d * sizeof(float));
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return d;
}

static void assert_bit_identical(fixture *f, const fedc_task *a, const fedc_task *b) {
    static float ma[CAP], mb[CAP];
    size_t d = run_task(f, a, ma, NULL);
    run_task(f, b, mb, NULL);
    assert_memory_equal(ma, mb, d * sizeof(float));
}

/* ---- Hand-computed aggregation ------------------------------------------ */

/* Three updates of a 2-parameter model: client 0 (10 samples, fresh,
 * delta (1, 0)), client 1 (30 samples, 1 version old, (0, 1)), client 3
 * (40 samples, 3 versions old, (1, 1)); the federation holds 10, 30, 20, 40
 * samples (mean 25), 4 clients train at once, eta_g = 0.5. */
static void aggregate_case(const char *staleness, double a, double b, const char *weights, float out[2]) {
    fedc_task t;
    base_task(&t, "fedbuff");
    t.clients = 4;
    snprintf(t.strategy.staleness, sizeof t.strategy.staleness, "%s", staleness);
    t.strategy.staleness_a = a;
    t.strategy.staleness_hinge = b;
    snprintf(t.strategy.async_weights, sizeof t.strategy.async_weights, "%s", weights);
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create(&t, 2, 4, &err);
    if (!s) fail_msg("strategy: %s", err.msg);
    fedc_client_info info[4] = {{.n_samples = 10}, {.n_samples = 30}, {.n_samples = 20}, {.n_samples = 40}};
    static const float d0[2] = {1, 0}, d1[2] = {0, 1}, d3[2] = {1, 1};
    fedc_update u[3] = {
        {.client = 0, .weight = 10, .steps = 1, .staleness = 0, .delta = d0},
        {.client = 1, .weight = 30, .steps = 1, .staleness = 1, .delta = d1},
        {.client = 3, .weight = 40, .steps = 1, .staleness = 3, .delta = d3},
    };
    fedc_round_ctx rc = {.round = 4, .rounds = 10, .n_clients = 4, .clients = info, .local_lr = 0.1, .server_lr = 0.5};
    out[0] = out[1] = 0;
    if (fedc_strategy_aggregate(s, out, u, 3, &rc, &err) != 0) fail_msg("aggregate: %s", err.msg);
    fedc_strategy_free(s);
}

static void expect(const char *staleness, double a, double b, const char *weights, double e0, double e1) {
    float x[2];
    aggregate_case(staleness, a, b, weights, x);
    assert_float_equal(x[0], 0.5 * e0, 1e-6);
    assert_float_equal(x[1], 0.5 * e1, 1e-6);
}

static void test_staleness_weights_hand_computed(void **state) {
    (void)state;
    double r2 = sqrt(2.0);
    /* sample weights n_i / 80: 1/8, 3/8, 4/8 */
    expect("constant", 0, 0, "sample", 0.125 + 0.5, 0.375 + 0.5);
    /* polynomial a = 0.5: s = 1, 1/sqrt(2), 1/2 */
    expect("polynomial", 0.5, 0, "sample", 0.125 + 0.25, 0.375 / r2 + 0.25);
    /* polynomial a = 1: s = 1, 1/2, 1/4 */
    expect("polynomial", 1, 0, "sample", 0.125 + 0.125, 0.1875 + 0.125);
    /* hinge a = 2, b = 1: s = 1, 1, 1 / (1 + 2 (3 - 1)) = 1/5 */
    expect("hinge", 2, 1, "sample", 0.125 + 0.1, 0.375 + 0.1);
    /* identical weights 1/3 with FedBuff's 1/sqrt(1 + tau) */
    expect("polynomial", 0.5, 0, "identical", 1.0 / 3 + 1.0 / 6, 1.0 / (3 * r2) + 1.0 / 6);
    /* unbiased: (tau + 1) n_i / (4 x 25) = 0.1, 0.6, 1.6, times s */
    expect("polynomial", 0.5, 0, "unbiased", 0.1 + 0.8, 0.6 / r2 + 0.8);
    expect("constant", 0, 0, "unbiased", 0.1 + 1.6, 0.6 + 1.6);
}

static void test_async_info(void **state) {
    (void)state;
    fedc_error err;
    fedc_task t;
    base_task(&t, "fedbuff");
    fedc_strategy *s = fedc_strategy_create(&t, 2, 8, &err);
    assert_non_null(s);
    assert_int_equal(fedc_strategy_info_get(s).async_buffer, 4); /* 0 = clients_per_round */
    fedc_strategy_free(s);
    t.strategy.buffer_size = 3;
    s = fedc_strategy_create(&t, 2, 8, &err);
    assert_int_equal(fedc_strategy_info_get(s).async_buffer, 3);
    fedc_strategy_free(s);
    base_task(&t, "async-fedavg");
    s = fedc_strategy_create(&t, 2, 8, &err);
    assert_int_equal(fedc_strategy_info_get(s).async_buffer, 1);
    fedc_strategy_free(s);
    base_task(&t, "fedfix");
    t.strategy.window_s = 2.5;
    s = fedc_strategy_create(&t, 2, 8, &err);
    assert_int_equal(fedc_strategy_info_get(s).async_buffer, 0);
    assert_true(fedc_strategy_info_get(s).async_window_s == 2.5);
    fedc_strategy_free(s);
    base_task(&t, "fedavg");
    s = fedc_strategy_create(&t, 2, 8, &err);
    assert_int_equal(fedc_strategy_info_get(s).async_buffer, 0);
    assert_true(fedc_strategy_info_get(s).async_window_s == 0);
    fedc_strategy_free(s);
}

/* ---- Identities through the engine -------------------------------------- */

static void test_fedbuff_full_buffer_is_fedavg(void **state) {
    const char *profiles[] = {"none", "lognormal"};
    for (int p = 0; p < 2; p++) {
        fedc_task a, b;
        base_task(&a, "fedavg");
        base_task(&b, "fedbuff");
        snprintf(a.scheduling.profile, sizeof a.scheduling.profile, "%s", profiles[p]);
        snprintf(b.scheduling.profile, sizeof b.scheduling.profile, "%s", profiles[p]);
        b.strategy.buffer_size = b.clients_per_round;
        assert_bit_identical(*state, &a, &b);
    }
}

static void test_fedfix_long_window_is_fedavg(void **state) {
    fedc_task a, b;
    base_task(&a, "fedavg");
    base_task(&b, "fedfix");
    snprintf(a.scheduling.profile, sizeof a.scheduling.profile, "lognormal");
    snprintf(b.scheduling.profile, sizeof b.scheduling.profile, "lognormal");
    b.strategy.window_s = 1e5; /* longer than any client's round */
    assert_bit_identical(*state, &a, &b);
}

static void test_small_buffer_changes_model_and_reproduces(void **state) {
    fixture *f = *state;
    fedc_task a, b;
    base_task(&a, "fedavg");
    base_task(&b, "fedbuff");
    snprintf(b.scheduling.profile, sizeof b.scheduling.profile, "lognormal");
    b.strategy.buffer_size = 2;
    b.rounds = 8;
    static float ma[CAP], mb[CAP], mc[CAP];
    size_t d = run_task(f, &a, ma, NULL);
    run_task(f, &b, mb, NULL);
    run_task(f, &b, mc, NULL);
    assert_memory_equal(mb, mc, d * sizeof(float));
    assert_true(memcmp(ma, mb, d * sizeof(float)) != 0);
}

/* ---- The simulated clock on a known trace ------------------------------- */

/* Four clients of 60 samples, one epoch: 48, 20, 15, 6 samples/s train in
 * 1.25, 3, 4 and 10 s (links so fast their seconds vanish). All four train
 * at once, K = 2. By hand (t = time, v = version trained on):
 *   1: all start at 0 (v0); arrive c0 1.25, c1 3         -> clock 3,     tau {0,0}
 *   2: c0, c1 start at 3 (v1): c0 4.25, c1 6; arrive c2 4 (v0), c0 4.25
 *                                                          -> clock 4.25,  tau {1,0}
 *   3: c2, c0 start (v2): c2 8.25, c0 5.5; arrive c0 5.5, c1 6 (v1)
 *                                                          -> clock 6,     tau {0,1}
 *   4: c0, c1 start (v3): c0 7.25, c1 9; arrive c0 7.25, c2 8.25 (v2)
 *                                                          -> clock 8.25,  tau {0,1}
 *   5: c0, c2 start (v4): c0 9.5, c2 12.25; arrive c1 9 (v3), c0 9.5
 *                                                          -> clock 9.5,   tau {1,0}
 *   6: c1, c0 start (v5): c1 12, c0 10.75; arrive c3 10 (v0), c0 10.75
 *                                                          -> clock 10.75, tau {5,0} */
static void test_fedbuff_clock_on_trace(void **state) {
    char path[] = "/tmp/fedc-async-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "client,samples_per_s,up_bps,down_bps\n0,48,1e15,1e15\n1,20,1e15,1e15\n2,15,1e15,1e15\n"
                "3,6,1e15,1e15\n");
    fclose(fp);
    fedc_task t;
    base_task(&t, "fedbuff");
    t.clients = t.clients_per_round = 4;
    t.strategy.buffer_size = 2;
    t.rounds = 6;
    snprintf(t.scheduling.profile, sizeof t.scheduling.profile, "%s", path);
    static float x[CAP];
    fedc_round_metrics m[MAX_ROUNDS];
    run_task(*state, &t, x, m);
    unlink(path);
    static const double clock[6] = {3, 4.25, 6, 8.25, 9.5, 10.75};
    static const int started[6] = {4, 2, 2, 2, 2, 2};
    /* staleness histogram buckets 0, 1 and 4-7 */
    static const int h0[6] = {2, 1, 1, 1, 1, 1}, h1[6] = {0, 1, 1, 1, 1, 0}, h4[6] = {0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(m[i].async, 1);
        assert_int_equal(m[i].round, i + 1);
        assert_float_equal(m[i].sim_elapsed_s, clock[i], 1e-6);
        assert_int_equal(m[i].selected, started[i]);
        assert_int_equal(m[i].participants, 2);
        assert_int_equal(m[i].in_flight, 2);
        assert_int_equal(m[i].staleness_hist[0], h0[i]);
        assert_int_equal(m[i].staleness_hist[1], h1[i]);
        assert_int_equal(m[i].staleness_hist[4], h4[i]);
        assert_int_equal(m[i].staleness_max, i == 5 ? 5 : (h1[i] ? 1 : 0));
    }
    assert_float_equal(m[5].staleness_mean, 2.5, 1e-12);
}

/* FedFix on the same trace with a 3.5 s window: arrivals by window end. */
static void test_fedfix_windows_on_trace(void **state) {
    char path[] = "/tmp/fedc-async-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "client,samples_per_s,up_bps,down_bps\n0,48,1e15,1e15\n1,20,1e15,1e15\n2,15,1e15,1e15\n"
                "3,6,1e15,1e15\n");
    fclose(fp);
    fedc_task t;
    base_task(&t, "fedfix");
    t.clients = t.clients_per_round = 4;
    t.strategy.window_s = 3.5;
    t.rounds = 3;
    snprintf(t.scheduling.profile, sizeof t.scheduling.profile, "%s", path);
    static float x[CAP];
    fedc_round_metrics m[MAX_ROUNDS];
    run_task(*state, &t, x, m);
    unlink(path);
    /* window 1 (0, 3.5]: c0 1.25, c1 3 arrive (fresh); c2 4, c3 10 keep training.
     * window 2 (3.5, 7]: c0 (3.5 + 1.25), c1 (3.5 + 3) fresh, c2 4 one window old.
     * window 3 (7, 10.5]: c0 8.25 and c1 10 fresh, c3 10 (v0, tau 2); c2 (7 + 4 = 11) not yet. */
    assert_int_equal(m[0].participants, 2);
    assert_int_equal(m[0].staleness_hist[0], 2);
    assert_int_equal(m[1].participants, 3);
    assert_int_equal(m[1].staleness_hist[0], 2);
    assert_int_equal(m[1].staleness_hist[1], 1);
    assert_int_equal(m[2].participants, 3);
    assert_int_equal(m[2].staleness_hist[0], 2);
    assert_int_equal(m[2].staleness_hist[2], 1);
    assert_int_equal(m[2].in_flight, 1);
    for (int i = 0; i < 3; i++) assert_float_equal(m[i].sim_elapsed_s, 3.5 * (i + 1), 1e-9);
}

/* The JSONL line of an asynchronous round carries version, in_flight and the
 * staleness histogram; a synchronous one does not. */
static void test_metrics_jsonl(void **state) {
    (void)state;
    fedc_round_metrics m = {0};
    m.round = 7;
    m.async = 1;
    m.in_flight = 3;
    m.staleness_max = 5;
    m.staleness_mean = 1.5;
    m.staleness_hist[0] = 2;
    m.staleness_hist[4] = 1;
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    fedc_metrics_write_jsonl(f, &m);
    fclose(f);
    assert_non_null(strstr(buf, "\"version\":7,\"in_flight\":3,\"staleness_mean\":1.5000,\"staleness_max\":5,"
                                "\"staleness_hist\":[2,0,0,0,1,0,0,0]}"));
    m.async = 0;
    memset(buf, 0, sizeof buf);
    f = fmemopen(buf, sizeof buf - 1, "w");
    fedc_metrics_write_jsonl(f, &m);
    fclose(f);
    assert_null(strstr(buf, "staleness"));
}

static void test_validator(void **state) {
    (void)state;
    fedc_task t;
    fedc_error err;
    base_task(&t, "fedbuff");
    t.strategy.buffer_size = 5;
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "strategy.buffer_size"));
    t.strategy.buffer_size = 4;
    assert_int_equal(fedc_task_validate(&t, &err), 0);
    base_task(&t, "fedfix");
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "strategy.window_s"));
    t.strategy.window_s = 1;
    assert_int_equal(fedc_task_validate(&t, &err), 0);
    snprintf(t.strategy.staleness, sizeof t.strategy.staleness, "linear");
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "strategy.staleness"));
    base_task(&t, "async-fedavg");
    snprintf(t.secagg.mode, sizeof t.secagg.mode, "secagg+");
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staleness_weights_hand_computed),
        cmocka_unit_test(test_async_info),
        cmocka_unit_test(test_validator),
        cmocka_unit_test(test_metrics_jsonl),
        cmocka_unit_test_setup_teardown(test_fedbuff_full_buffer_is_fedavg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fedfix_long_window_is_fedavg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_buffer_changes_model_and_reproduces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fedbuff_clock_on_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fedfix_windows_on_trace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
