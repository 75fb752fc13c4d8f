/* The methods' identities through the whole round engine (encode -> train ->
 * decode -> aggregate) on a small synthetic task, and a 100,000-client
 * SCAFFOLD run whose per-client state spills to disk yet gives the same
 * model as with unlimited memory:
 *  - SCAFFOLD's first round (zero control variates) is FedAvg's;
 *  - SCAFFOLD with one client and full-batch gradients is gradient descent;
 *  - FedNova with equal local steps, FedAU when everyone takes part every
 *    round, FedAvg-M with beta 1, FedSAM with rho 0 and FedHyper (all
 *    levels) with hypergradient step 0 are FedAvg;
 *  - FedSpeed with rho 0 trains as FedProx (mu = 1/lambda) and, in its first
 *    round with every client taking part, moves the model twice as far
 *    (x + avg(y - x) + (1/N) sum(y - x)). */
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

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, CAP = 4096 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 11, 12);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t, const char *strategy) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->strategy.name, sizeof t->strategy.name, "%s", strategy);
    t->clients = 4;
    t->clients_per_round = 4;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.max_steps = 3; /* equal local steps for every client */
    t->local.lr = 0.1;
    t->seed = 5;
}

static size_t run_task(const fedc_dataset *train, const fedc_dataset *test, const fedc_task *t, float *out,
                       fedc_state_stats *st) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = train, .test_data = test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    if (!tp) fail_msg("transport: %s", err.msg);
    fedc_round_metrics m;
    while (!fedc_run_done(r))
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
    size_t d = fedc_run_nparams(r);
    assert_true(d <= CAP);
    memcpy(out, fedc_run_model(r), d * sizeof(float));
    if (st) assert_int_equal(fedc_sim_transport_state_stats(tp, st), 0);
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return d;
}

static void assert_same(fixture *f, const fedc_task *a, const fedc_task *b, float tol) {
    float ma[CAP], mb[CAP];
    size_t d = run_task(&f->train, &f->test, a, ma, NULL);
    run_task(&f->train, &f->test, b, mb, NULL);
    for (size_t j = 0; j < d; j++) assert_float_equal(ma[j], mb[j], tol * (1.0f + fabsf(ma[j])));
}

static void test_scaffold_first_round_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "scaffold");
    a.rounds = s.rounds = 1;
    assert_same(*state, &a, &s, 1e-7f);
    /* and it does differ afterwards (the control variates act) */
    a.rounds = s.rounds = 3;
    float ma[CAP], ms[CAP];
    fixture *f = *state;
    size_t d = run_task(&f->train, &f->test, &a, ma, NULL);
    run_task(&f->train, &f->test, &s, ms, NULL);
    assert_true(memcmp(ma, ms, d * sizeof(float)) != 0);
}

static void test_scaffold_one_client_full_batch_is_gd(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t, "scaffold");
    t.clients = t.clients_per_round = 1;
    t.local.batch = N_TRAIN; /* one full-batch step per epoch */
    t.local.max_steps = 0;
    t.local.epochs = 2;
    t.rounds = 3;
    float got[CAP], w[CAP], g[CAP];
    size_t d = run_task(&f->train, &f->test, &t, got, NULL);
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(t.model, f->train.shape, CLASSES, &err);
    fedc_rng init = fedc_rng_derive(t.seed, 0x1417, 0);
    fedc_arch_init(a, w, &init);
    fedc_ws *ws = fedc_ws_create(a, N_TRAIN);
    for (int k = 0; k < 6; k++) {
        fedc_nn_grad(a, ws, w, g, f->train.x, f->train.y, N_TRAIN, NULL);
        for (size_t j = 0; j < d; j++) w[j] -= (float)t.local.lr * g[j];
    }
    /* the batch's sample order differs (the trainer shuffles): sums round differently */
    for (size_t j = 0; j < d; j++) assert_float_equal(got[j], w[j], 1e-4f * (1.0f + fabsf(w[j])));
    fedc_ws_free(ws);
    fedc_arch_free(a);
}

/* SCAFFOLD with one full-batch local step: option II's c_i+ = c_i - c +
 * (x - y)/eta = g_i(x) is option I's gradient at x, so the two options give
 * the same models round after round, under partial participation too. This
 * runs option I's pass over all local data (the trainer's full-gradient
 * oracle) against the step's own gradient. */
static void test_scaffold_options_agree_on_one_full_batch_step(void **state) {
    fedc_task a, b;
    base_task(&a, "scaffold");
    a.clients_per_round = 2;
    a.local.batch = N_TRAIN;
    a.local.max_steps = 1;
    a.rounds = 5;
    b = a;
    a.strategy.scaffold_option = 1;
    b.strategy.scaffold_option = 2;
    assert_same(*state, &a, &b, 1e-4f);
}

/* FedAMD with anchor probability 0 and one full-batch local step: round 1
 * makes every client an anchor (x stays, the server holds every grad F_i(x0));
 * round 2 makes every client a miner whose one step is x0 - eta mean grad F_i(x0):
 * two FedAMD rounds are one FedAvg round (equal client sizes). */
static void test_fedamd_fresh_anchors_one_step_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "fedamd");
    a.local.batch = s.local.batch = N_TRAIN;
    a.local.max_steps = s.local.max_steps = 1;
    s.strategy.anchor_prob = 0;
    a.rounds = 1;
    s.rounds = 2;
    assert_same(*state, &a, &s, 1e-5f);
}

static void test_fednova_equal_steps_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "fednova");
    assert_same(*state, &a, &s, 1e-6f);
}

static void test_fedau_full_participation_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "fedau");
    assert_same(*state, &a, &s, 1e-6f);
}

static void test_fedavg_m_beta1_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "fedavg-m");
    s.strategy.client_beta = 1;
    assert_same(*state, &a, &s, 1e-5f);
}

static void test_fedsam_rho0_is_fedavg(void **state) {
    fedc_task a, s;
    base_task(&a, "fedavg");
    base_task(&s, "fedsam");
    s.strategy.rho = 0;
    assert_same(*state, &a, &s, 1e-7f);
}

static void test_fedhyper_step0_is_fixed_lr(void **state) {
    static const char *const levels[] = {"global", "server", "local"};
    for (int i = 0; i < 3; i++) {
        fedc_task a, s;
        base_task(&a, "fedavg");
        base_task(&s, "fedhyper");
        snprintf(s.strategy.hyper_level, sizeof s.strategy.hyper_level, "%s", levels[i]);
        s.strategy.hyper_lr = 0;
        assert_same(*state, &a, &s, 1e-6f);
    }
}

static void test_fedspeed_rho0_is_fedprox_doubled(void **state) {
    fixture *f = *state;
    fedc_task p, s;
    base_task(&p, "fedprox");
    base_task(&s, "fedspeed");
    p.rounds = s.rounds = 1;
    s.strategy.rho = 0;
    s.strategy.lambda = 4;
    p.strategy.mu = 0.25;
    float mp[CAP], ms[CAP], x0[CAP];
    size_t d = run_task(&f->train, &f->test, &p, mp, NULL);
    run_task(&f->train, &f->test, &s, ms, NULL);
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(p.model, f->train.shape, CLASSES, &err);
    fedc_rng init = fedc_rng_derive(p.seed, 0x1417, 0);
    fedc_arch_init(a, x0, &init);
    for (size_t j = 0; j < d; j++) {
        float want = x0[j] + 2.0f * (mp[j] - x0[j]);
        assert_float_equal(ms[j], want, 1e-5f * (1.0f + fabsf(want)));
    }
    fedc_arch_free(a);
}

static void test_100k_clients_scaffold_spills(void **state) {
    (void)state;
    enum { BIG = 100000 };
    fedc_dataset train, test;
    fedc_test_linear_dataset(&train, BIG, FEATURES, CLASSES, 21);
    fedc_test_linear_dataset(&test, 200, FEATURES, CLASSES, 22);
    fedc_task t;
    base_task(&t, "scaffold");
    snprintf(t.model, sizeof t.model, "dense:3");
    t.clients = BIG;
    t.clients_per_round = 500;
    t.rounds = 3;
    t.local.batch = 1;
    t.state.memory_mb = 0.01; /* room for about 60 client records */
    float small[CAP], large[CAP];
    fedc_state_stats st, st_big;
    size_t d = run_task(&train, &test, &t, small, &st);
    t.state.memory_mb = 1024;
    run_task(&train, &test, &t, large, &st_big);
    /* the same model, bit for bit, whether the state spilled or not */
    assert_memory_equal(small, large, d * sizeof(float));
    assert_true(st.records > 1000 && st.records <= 1500); /* clients that trained */
    assert_int_equal(st.records, st_big.records);
    assert_true(st.spill_writes > 0 && st.spill_reads > 0);
    assert_int_equal(st_big.spill_writes, 0);
    size_t budget = (size_t)(0.01 * 1048576.0);
    size_t rec = st.memory_bytes / (st.resident_peak ? st.resident_peak : 1);
    assert_true(st.memory_bytes <= budget + 2 * rec); /* + the records in use by the 2 threads */
    assert_true(st_big.memory_bytes > 10 * st.memory_bytes);
    print_message("100k clients: %llu records, %llu in memory at most (%zu bytes), %llu spill writes, %llu reads\n",
                  (unsigned long long)st.records, (unsigned long long)st.resident_peak, st.memory_bytes,
                  (unsigned long long)st.spill_writes, (unsigned long long)st.spill_reads);
    free(train.x), free(train.y), free(test.x), free(test.y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scaffold_first_round_is_fedavg),
        cmocka_unit_test(test_scaffold_one_client_full_batch_is_gd),
        cmocka_unit_test(test_scaffold_options_agree_on_one_full_batch_step),
        cmocka_unit_test(test_fedamd_fresh_anchors_one_step_is_fedavg),
        cmocka_unit_test(test_fednova_equal_steps_is_fedavg),
        cmocka_unit_test(test_fedau_full_participation_is_fedavg),
        cmocka_unit_test(test_fedavg_m_beta1_is_fedavg),
        cmocka_unit_test(test_fedsam_rho0_is_fedavg),
        cmocka_unit_test(test_fedhyper_step0_is_fixed_lr),
        cmocka_unit_test(test_fedspeed_rho0_is_fedprox_doubled),
        cmocka_unit_test(test_100k_clients_scaffold_spills),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
