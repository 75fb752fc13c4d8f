/* Algorithm identities of the strategies (docs/task-spec.md), checked through the whole round
 * engine (encode -> train -> decode -> aggregate) on a small synthetic task:
 *  - one client = plain local SGD
 *  - K = 1 full-batch local step = FedSGD (x - lr * weighted mean gradient)
 *  - identical client updates -> aggregate independent of the weights
 *  - FedProx mu = 0 == FedAvg; FedAvgM beta = 0, eta_g = 1 == FedAvg
 *  - FedAdam: the first server step matches the hand-computed one
 *  - the same task and seed reproduce bit-identical models. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"
#include "fedc/strategy.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 11, 12);
}

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3"); /* data passed in memory */
    t->clients = 4;
    t->clients_per_round = 4;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 5;
}

/* Runs `rounds` rounds and copies the final model into out (d floats). */
static size_t run_task(fixture *f, const fedc_task *t, float *out, size_t cap) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    assert_non_null(tp);
    fedc_round_metrics m;
    while (!fedc_run_done(r)) {
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
    }
    size_t d = fedc_run_nparams(r);
    assert_true(d <= cap);
    memcpy(out, fedc_run_model(r), d * sizeof(float));
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return d;
}

static void initial_model(fixture *f, const fedc_task *t, float *out) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(t->model, f->train.shape, CLASSES, &err);
    assert_non_null(a);
    fedc_rng init_rng = fedc_rng_derive(t->seed, 0x1417, 0);
    fedc_arch_init(a, out, &init_rng);
    fedc_arch_free(a);
}

#define CAP 4096

static void test_one_client_is_local_sgd(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.clients = t.clients_per_round = 1;
    t.rounds = 1;
    t.local.epochs = 2;
    float got[CAP], w[CAP], g[CAP];
    size_t d = run_task(f, &t, got, CAP);

    /* Independent local SGD with the engine's documented streams. */
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(t.model, f->train.shape, CLASSES, &err);
    initial_model(f, &t, w);
    fedc_ws *ws = fedc_ws_create(a, t.local.batch);
    fedc_rng rng = fedc_rng_derive(t.seed, 1, 0);
    uint32_t perm[N_TRAIN];
    float xb[16 * FEATURES];
    int32_t yb[16];
    for (int e = 0; e < t.local.epochs; e++) {
        for (uint32_t i = 0; i < N_TRAIN; i++) perm[i] = i; /* IID split of 1 client: all samples, shuffled */
        /* The partitioner's order is its own; the trainer shuffles the
         * client's index list, so start from the same list. */
        fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
        fedc_run *r = fedc_run_create(&t, &ro, &err);
        const fedc_partition *p = fedc_run_partition(r);
        memcpy(perm, fedc_partition_client(p, 0), N_TRAIN * sizeof(uint32_t));
        fedc_run_free(r);
        fedc_rng_shuffle_u32(&rng, perm, N_TRAIN);
        for (int b = 0; b < N_TRAIN; b += 16) {
            int nb = N_TRAIN - b < 16 ? N_TRAIN - b : 16;
            fedc_dataset_gather(&f->train, perm + b, (size_t)nb, xb, yb);
            fedc_nn_grad(a, ws, w, g, xb, yb, nb, &rng);
            for (size_t j = 0; j < d; j++) w[j] -= (float)t.local.lr * g[j];
        }
    }
    /* x + (y - x) equals y up to one rounding per coordinate. */
    for (size_t j = 0; j < d; j++) assert_float_equal(got[j], w[j], 1e-5f * (1.0f + fabsf(w[j])));
    fedc_ws_free(ws);
    fedc_arch_free(a);
}

static void test_full_batch_single_step_is_fedsgd(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.rounds = 1;
    t.local.batch = N_TRAIN / 4; /* each client's whole shard in one batch */
    t.local.max_steps = 1;
    float got[CAP], x[CAP], g[CAP], gsum[CAP];
    size_t d = run_task(f, &t, got, CAP);
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(t.model, f->train.shape, CLASSES, &err);
    initial_model(f, &t, x);
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    const fedc_partition *p = fedc_run_partition(r);
    fedc_ws *ws = fedc_ws_create(a, t.local.batch);
    memset(gsum, 0, sizeof gsum);
    float xb[N_TRAIN * FEATURES];
    int32_t yb[N_TRAIN];
    double total = 0;
    for (int k = 0; k < 4; k++) {
        size_t n = fedc_partition_size(p, k);
        fedc_dataset_gather(&f->train, fedc_partition_client(p, k), n, xb, yb);
        fedc_rng rng = fedc_rng_derive(t.seed, 1, (uint64_t)k);
        fedc_nn_grad(a, ws, x, g, xb, yb, (int)n, &rng);
        for (size_t j = 0; j < d; j++) gsum[j] += (float)n * g[j];
        total += (double)n;
    }
    for (size_t j = 0; j < d; j++) {
        float want = x[j] - (float)t.local.lr * gsum[j] / (float)total;
        assert_float_equal(got[j], want, 1e-5f * (1.0f + fabsf(want)));
    }
    fedc_ws_free(ws);
    fedc_run_free(r);
    fedc_arch_free(a);
}

static void test_identical_updates_ignore_weights(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t);
    enum { D = 5 };
    float x[D] = {1, 2, 3, 4, 5}, delta[D] = {0.5f, -1, 0.25f, 0, 2};
    fedc_update u[3] = {{0, 1, 1, 0, 0, delta, NULL}, {1, 100, 1, 0, 0, delta, NULL},
                        {2, 7, 1, 0, 0, delta, NULL}};
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create(&t, D, 3, &err);
    fedc_round_ctx rc = {1, 1, 3, NULL, t.local.lr, t.strategy.server_lr};
    assert_int_equal(fedc_strategy_aggregate(s, x, u, 3, &rc, &err), 0);
    const float want[D] = {1.5f, 1, 3.25f, 4, 7};
    for (int j = 0; j < D; j++) assert_float_equal(x[j], want[j], 1e-6);
    fedc_strategy_free(s);
}

static void assert_same_model(fixture *f, const fedc_task *a, const fedc_task *b) {
    float ma[CAP], mb[CAP];
    size_t d = run_task(f, a, ma, CAP);
    run_task(f, b, mb, CAP);
    for (size_t j = 0; j < d; j++) assert_float_equal(ma[j], mb[j], 1e-6f * (1.0f + fabsf(ma[j])));
}

static void test_fedprox_mu0_is_fedavg(void **state) {
    fedc_task avg, prox;
    base_task(&avg);
    base_task(&prox);
    snprintf(prox.strategy.name, sizeof prox.strategy.name, "fedprox");
    prox.strategy.mu = 0;
    assert_same_model(*state, &avg, &prox);
}

static void test_fedprox_mu_pulls_towards_global(void **state) {
    /* With a large mu the local models move less, so the global moves less. */
    fixture *f = *state;
    fedc_task avg, prox;
    base_task(&avg);
    base_task(&prox);
    avg.rounds = prox.rounds = 1;
    snprintf(prox.strategy.name, sizeof prox.strategy.name, "fedprox");
    prox.strategy.mu = 1.0;
    float x0[CAP], ma[CAP], mp[CAP];
    size_t d = run_task(f, &avg, ma, CAP);
    run_task(f, &prox, mp, CAP);
    initial_model(f, &avg, x0);
    double da = 0, dp = 0;
    for (size_t j = 0; j < d; j++) {
        da += (ma[j] - x0[j]) * (ma[j] - x0[j]);
        dp += (mp[j] - x0[j]) * (mp[j] - x0[j]);
    }
    assert_true(dp < da);
}

static void test_fedavgm_beta0_is_fedavg(void **state) {
    fedc_task avg, m;
    base_task(&avg);
    base_task(&m);
    snprintf(m.strategy.name, sizeof m.strategy.name, "fedavgm");
    m.strategy.momentum = 0;
    m.strategy.server_lr = 1;
    assert_same_model(*state, &avg, &m);
}

static void test_fedadam_first_step(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedadam");
    t.strategy.server_lr = 0.1;
    t.strategy.beta1 = 0.9;
    t.strategy.beta2 = 0.99;
    t.strategy.tau = 1e-3;
    enum { D = 3 };
    float x[D] = {0, 0, 0}, d1[D] = {1, -2, 0}, d2[D] = {3, 0, 0};
    fedc_update u[2] = {{0, 1, 1, 0, 0, d1, NULL}, {1, 3, 1, 0, 0, d2, NULL}};
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create(&t, D, 2, &err);
    fedc_round_ctx rc = {1, 1, 2, NULL, t.local.lr, t.strategy.server_lr};
    assert_int_equal(fedc_strategy_aggregate(s, x, u, 2, &rc, &err), 0);
    /* mean = (1*d1 + 3*d2)/4 = {2.5, -0.5, 0}; m = 0.1 mean; v = 0.01 mean^2;
     * x = 0.1 * m / (sqrt(v) + tau). */
    const double mean[D] = {2.5, -0.5, 0};
    for (int j = 0; j < D; j++) {
        double m = 0.1 * mean[j], v = 0.01 * mean[j] * mean[j];
        double want = 0.1 * m / (sqrt(v) + 1e-3);
        assert_float_equal(x[j], want, 1e-5);
    }
    fedc_strategy_free(s);
}

static void test_same_seed_same_model(void **state) {
    fedc_task a, b;
    base_task(&a);
    base_task(&b);
    a.clients = b.clients = 8;
    a.clients_per_round = b.clients_per_round = 3;
    float ma[CAP], mb[CAP];
    size_t d = run_task(*state, &a, ma, CAP);
    run_task(*state, &b, mb, CAP);
    assert_memory_equal(ma, mb, d * sizeof(float));
    /* A different seed gives a different model. */
    b.seed = 6;
    run_task(*state, &b, mb, CAP);
    assert_true(memcmp(ma, mb, d * sizeof(float)) != 0);
}

static void test_learns_synthetic_task(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.rounds = 15;
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    assert_non_null(r);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    fedc_round_metrics m, first = {0};
    while (!fedc_run_done(r)) {
        assert_int_equal(fedc_run_round(r, tp, &m, &err), 0);
        if (m.round == 1) first = m;
        assert_int_equal(m.participants, 4);
        assert_true(m.bytes_down > 4 * fedc_run_nparams(r) * 4);
        assert_true(m.bytes_up > 4 * fedc_run_nparams(r) * 4);
    }
    assert_true(m.accuracy > 0.8);
    assert_true(m.loss < first.loss);
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_client_is_local_sgd),
        cmocka_unit_test(test_full_batch_single_step_is_fedsgd),
        cmocka_unit_test(test_identical_updates_ignore_weights),
        cmocka_unit_test(test_fedprox_mu0_is_fedavg),
        cmocka_unit_test(test_fedprox_mu_pulls_towards_global),
        cmocka_unit_test(test_fedavgm_beta0_is_fedavg),
        cmocka_unit_test(test_fedadam_first_step),
        cmocka_unit_test(test_same_seed_same_model),
        cmocka_unit_test(test_learns_synthetic_task),
    };
    return cmocka_run_group_tests(tests, setup, fedc_test_data_pair_teardown);
}
