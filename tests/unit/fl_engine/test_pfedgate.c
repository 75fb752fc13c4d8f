/* pFedGate (src/fl/strategy/pfedgate.c, gate_blocks.c):
 *  - the block split and the budgeted (knapsack, greedy) choice on hand-
 *    worked cases; the kept size never exceeds floor(sparsity * d), on
 *    random cases too;
 *  - one local step on a tiny model with a hand-computed gate: the gated
 *    model, the model's gradient, the gating layer's SGD step and the
 *    client-level gate kept for the client's sparse model;
 *  - sparsity 1 with a saturated all-ones gate is FedAvg bit for bit
 *    (global model and every client's score), through the whole engine;
 *  - with a budget the clients' sparse models differ from the global one
 *    and every client is scored. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "fedc/rng.h"
#include "fedc/strategy.h"
#include "fl/engine/engine_internal.h"
#include "fl/strategy/gate_blocks.h"
#include "support/engine_fixture.h"
#include "support/synthetic_data.h"

static void test_blocks_and_budget(void **state) {
    (void)state;
    size_t off[2] = {0, 10}, cnt[2] = {10, 4};
    fedc_gate_blocks b;
    assert_int_equal(fedc_gate_blocks_make(&b, off, cnt, 2, 2), 0);
    assert_int_equal(b.n, 4);
    assert_int_equal(b.total, 14);
    size_t want_off[4] = {0, 5, 10, 12}, want_size[4] = {5, 5, 2, 2};
    unsigned char want_first[4] = {1, 0, 1, 0};
    for (int l = 0; l < 4; l++) {
        assert_int_equal(b.off[l], want_off[l]);
        assert_int_equal(b.size[l], want_size[l]);
        assert_int_equal(b.first[l], want_first[l]);
    }
    float score[4] = {0.1f, 0.9f, 0.3f, 0.8f}, keep[4];
    /* budget 7: the two first blocks (5 + 2), nothing else fits */
    assert_int_equal(fedc_gate_budget(&b, 0.5), 7);
    assert_int_equal(fedc_gate_select(&b, score, 0.5, keep), 7);
    float k1[4] = {1, 0, 1, 0};
    assert_memory_equal(keep, k1, sizeof k1);
    /* budget floor(10.5) = 10: first blocks (7), block 1 (0.9, 5) does not
     * fit, block 3 (0.8, 2) does */
    assert_int_equal(fedc_gate_select(&b, score, 0.75, keep), 9);
    float k2[4] = {1, 0, 1, 1};
    assert_memory_equal(keep, k2, sizeof k2);
    /* budget 2: the first block of the first tensor does not fit, the
     * second tensor's does */
    assert_int_equal(fedc_gate_select(&b, score, 0.2, keep), 2);
    float k3[4] = {0, 0, 1, 0};
    assert_memory_equal(keep, k3, sizeof k3);
    /* sparsity 1: everything */
    assert_int_equal(fedc_gate_select(&b, score, 1.0, keep), 14);
    float k4[4] = {1, 1, 1, 1};
    assert_memory_equal(keep, k4, sizeof k4);
    /* the gated model */
    float x[14], out[14], gate[4] = {0.5f, 0.0f, 1.0f, 0.25f};
    for (int j = 0; j < 14; j++) x[j] = (float)(j + 1);
    fedc_gate_apply(&b, gate, x, out);
    for (int j = 0; j < 14; j++) {
        float g = j < 5 ? 0.5f : j < 10 ? 0.0f : j < 12 ? 1.0f : 0.25f;
        assert_true(out[j] == x[j] * g);
    }
    fedc_gate_blocks_free(&b);
    /* one block per parameter at most */
    size_t c1[1] = {3}, o1[1] = {0};
    assert_int_equal(fedc_gate_blocks_make(&b, o1, c1, 1, 10), 0);
    assert_int_equal(b.n, 3);
    fedc_gate_blocks_free(&b);
}

static void test_budget_holds_on_random_cases(void **state) {
    (void)state;
    fedc_rng r = fedc_rng_derive(5, 6, 7);
    for (int it = 0; it < 200; it++) {
        int nt = 1 + (int)fedc_rng_below(&r, 6);
        size_t off[6], cnt[6], at = 0;
        for (int t = 0; t < nt; t++) {
            off[t] = at;
            cnt[t] = 1 + fedc_rng_below(&r, 300);
            at += cnt[t];
        }
        fedc_gate_blocks b;
        assert_int_equal(fedc_gate_blocks_make(&b, off, cnt, nt, 1 + (int)fedc_rng_below(&r, 12)), 0);
        float *score = malloc((size_t)b.n * sizeof *score), *keep = malloc((size_t)b.n * sizeof *keep);
        for (int l = 0; l < b.n; l++) score[l] = fedc_rng_uniform_f(&r);
        double s = fedc_rng_uniform(&r);
        size_t kept = fedc_gate_select(&b, score, s, keep), sum = 0;
        for (int l = 0; l < b.n; l++) {
            assert_true(keep[l] == 0.0f || keep[l] == 1.0f);
            if (keep[l] == 1.0f) sum += b.size[l];
        }
        assert_int_equal(sum, kept);
        assert_true(kept <= (size_t)(s * (double)b.total));
        /* greedy: every block left out is larger than what is left */
        for (int l = 0; l < b.n; l++)
            if (keep[l] == 0.0f) assert_true(b.size[l] > (size_t)(s * (double)b.total) - kept);
        free(score);
        free(keep);
        fedc_gate_blocks_free(&b);
    }
}

/* A tiny model: two tensors (3 and 2 parameters), inputs of 2 features, a
 * batch of 2; the loss 1/2 |theta_i|^2, so its gradient at theta_i is
 * theta_i itself. */
enum { TD = 5, DIM = 2, NB = 2 };
static const float X[NB * DIM] = {1, 2, 3, -1};

static double sq_grad(void *self, const float *w, float *g) {
    (void)self;
    double l = 0;
    for (int j = 0; j < TD; j++) {
        g[j] = w[j];
        l += 0.5 * w[j] * w[j];
    }
    return l;
}

static const float *batch_x(void *self, int *n, size_t *dim) {
    (void)self;
    *n = NB;
    *dim = DIM;
    return X;
}

static const float *data_x(void *self, size_t start, int *n, size_t *dim) {
    (void)self;
    *dim = DIM;
    *n = start == 0 ? NB : 0;
    return start == 0 ? X : NULL;
}

static double sig(double z) { return 1.0 / (1.0 + exp(-z)); }

static void test_hand_computed_gate_step(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "pfedgate");
    t.strategy.gate_blocks = 1;
    t.strategy.gate_sparsity = 0.7; /* floor(3.5) = 3 parameters: the first tensor */
    t.strategy.gate_init = 0.5;
    t.strategy.gate_lr = 0.1;
    t.local.batch = NB;
    size_t off[2] = {0, 3}, cnt[2] = {3, 2};
    fedc_param_layout lay = {2, off, cnt};
    fedc_strategy_env env = {TD, 1, &lay, NULL, DIM};
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create_env(&t, &env, &err);
    if (!s) fail_msg("%s", err.msg);
    fedc_strategy_info in = fedc_strategy_info_get(s);
    assert_true(in.personal);
    /* [flag | W (2 blocks x 2) | c (2) | gate (2)] */
    assert_int_equal(in.state_floats, 1 + 2 * DIM + 2 + 2);
    float *st = calloc(in.state_floats, sizeof *st), *scratch = calloc(in.scratch_floats, sizeof *scratch);
    const float x0[TD] = {1, 2, 3, 4, 5};
    float w[TD], g[TD];
    memcpy(w, x0, sizeof w);
    fedc_local_oracle o = {.batch_grad = sq_grad, .full_grad = sq_grad, .batch_inputs = batch_x,
                           .data_inputs = data_x};
    fedc_client_ctx c = {.strategy = s, .client = 0, .round = 1, .global = x0, .state = st, .scratch = scratch,
                         .d = TD, .n_samples = NB, .lr = 0.1f, .lr_scale = 1, .oracle = &o};
    fedc_strategy_client_begin(&c);
    double l = sq_grad(NULL, w, g);
    fedc_strategy_client_grad(&c, w, g, l);
    /* gate 0.5 on both blocks (zero weights, bias logit(0.5) = 0); the budget
     * keeps block 0 only: theta_i = (0.5, 1, 1.5, 0, 0) = its gradient G, and
     * the model's gradient is 0.5 G on block 0, 0 elsewhere. */
    const float want_g[TD] = {0.25f, 0.5f, 0.75f, 0, 0};
    for (int j = 0; j < TD; j++) assert_true(fabsf(g[j] - want_g[j]) < 1e-7f);
    /* d/dg_0 = sum theta_j G_j = 1*0.5 + 2*1 + 3*1.5 = 7; d/dz = 7 * 0.25 / 2
     * per sample; W_0 -= 0.1 * 0.875 * (x_1 + x_2); c_0 -= 0.1 * 0.875 * 2.
     * Block 1 is not kept: its gate gets no gradient. */
    const float *W = st + 1, *cb = st + 1 + 2 * DIM;
    assert_true(fabsf(W[0] - (-0.35f)) < 1e-6f && fabsf(W[1] - (-0.0875f)) < 1e-6f);
    assert_true(W[2] == 0.0f && W[3] == 0.0f);
    assert_true(fabsf(cb[0] - (-0.175f)) < 1e-6f && cb[1] == 0.0f);
    /* End of the round: the gate of the local data, mean of the sigmoids,
     * with the same selection, kept for the client's sparse model. */
    for (int j = 0; j < TD; j++) w[j] -= 0.1f * g[j];
    float delta[TD];
    for (int j = 0; j < TD; j++) delta[j] = w[j] - x0[j];
    fedc_strategy_client_end(&c, w, 1, delta, NULL);
    double g0 = 0.5 * (sig(-0.35 * 1 - 0.0875 * 2 - 0.175) + sig(-0.35 * 3 - 0.0875 * -1 - 0.175));
    float model[TD] = {2, 2, 2, 2, 2};
    fedc_client_ctx ce = {.strategy = s, .client = 0, .round = 1, .global = x0, .state = st, .d = TD};
    fedc_strategy_client_personal(&ce, model);
    for (int j = 0; j < 3; j++) assert_true(fabs(model[j] - 2 * g0) < 1e-6);
    assert_true(model[3] == 0.0f && model[4] == 0.0f);
    /* A client that never trained: the initial gate, 0.5 on the kept block. */
    float fresh[TD] = {2, 2, 2, 2, 2};
    fedc_client_ctx cn = {.strategy = s, .client = 1, .round = 1, .global = x0, .state = NULL, .d = TD};
    fedc_strategy_client_personal(&cn, fresh);
    const float want_fresh[TD] = {1, 1, 1, 0, 0};
    assert_memory_equal(fresh, want_fresh, sizeof fresh);
    free(st);
    free(scratch);
    fedc_strategy_free(s);
}

/* Through the engine, on a small synthetic task. */
enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 480, N_TEST = 60, CLIENTS = 6 };

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3"); /* data passed in memory */
    snprintf(t->partition.kind, sizeof t->partition.kind, "shards");
    t->partition.classes_per_client = 2;
    t->partition.test_fraction = 0.25;
    t->clients = CLIENTS;
    t->clients_per_round = 3;
    t->rounds = 4;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 9;
}

typedef fedc_test_sim sim;

static sim start(fedc_dataset *train, fedc_dataset *test, const fedc_task *t) { return fedc_test_sim_run(train, test, t); }

static void stop(sim *s) { fedc_test_sim_free(s); }

static void test_dense_all_ones_gate_is_fedavg(void **state) {
    (void)state;
    fedc_dataset train, test;
    fedc_test_linear_dataset(&train, N_TRAIN, FEATURES, CLASSES, 31);
    fedc_test_linear_dataset(&test, N_TEST, FEATURES, CLASSES, 32);
    fedc_task t;
    base_task(&t);
    sim avg = start(&train, &test, &t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "pfedgate");
    t.strategy.gate_sparsity = 1;
    t.strategy.gate_init = 1;
    t.strategy.gate_lr = 0.5; /* saturated: sigma' = 0, the gate never moves */
    sim gate = start(&train, &test, &t);
    size_t d = fedc_run_nparams(avg.run);
    assert_memory_equal(fedc_run_model(avg.run), fedc_run_model(gate.run), d * sizeof(float));
    for (int k = 0; k < CLIENTS; k++) {
        double g_avg, own_avg, g_gate, own_gate;
        assert_int_equal(fedc_run_client_scores(avg.run, k, &g_avg, &own_avg), 0);
        assert_int_equal(fedc_run_client_scores(gate.run, k, &g_gate, &own_gate), 0);
        assert_true(g_avg == g_gate);
        assert_true(own_gate == g_avg);
    }
    stop(&gate);
    /* A budget: the clients' sparse models are not the global model. */
    t.strategy.gate_sparsity = 0.6;
    t.strategy.gate_init = 0.5;
    t.strategy.gate_lr = 0.05;
    t.strategy.gate_blocks = 4;
    gate = start(&train, &test, &t);
    assert_true(gate.last.client_evaluated);
    assert_int_equal(gate.last.clients_evaluated, CLIENTS);
    assert_true(gate.last.client_acc_mean != gate.last.global_client_acc_mean);
    assert_memory_not_equal(fedc_run_model(avg.run), fedc_run_model(gate.run), d * sizeof(float));
    stop(&gate);
    stop(&avg);
    fedc_test_dataset_free(&train);
    fedc_test_dataset_free(&test);
}

static void test_budget_range_refused(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "pfedgate");
    t.strategy.gate_sparsity = 0.4;
    t.strategy.gate_sparsity_min = 0.6;
    fedc_error err;
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "strategy.gate_sparsity_min"));
    t.strategy.gate_sparsity_min = 0.2;
    assert_int_equal(fedc_task_validate(&t, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_and_budget),
        cmocka_unit_test(test_budget_holds_on_random_cases),
        cmocka_unit_test(test_hand_computed_gate_step),
        cmocka_unit_test(test_dense_all_ones_gate_is_fedavg),
        cmocka_unit_test(test_budget_range_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
