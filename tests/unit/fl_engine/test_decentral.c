/* Decentralised strategies (dpsgd, gossip, gossip-vc, dfedsam, dfedsam-mgs):
 *  - on the complete graph with uniform weights and one gossip step, D-PSGD
 *    is FedAvg with full participation, bit for bit, on every node, round
 *    after round (FedAvg with clients in id order: the order both sum in);
 *  - DFedSAM(-MGS) with rho = 0 is D-PSGD, and DFedSAM-MGS with Q = 1 is
 *    DFedSAM, bit for bit;
 *  - variance-corrected averaging: a hand-built case matches the paper's
 *    formula exactly, and on independent random models plain averaging
 *    shrinks the variance by the predicted factor 1/m while the corrected
 *    average keeps it;
 *  - a run is reproducible from its task and seed; more gossip steps per
 *    round leave the nodes closer (smaller consensus distance);
 *  - bytes: a ring's D-PSGD node sends 2 models per gossip step, Q steps
 *    cost Q times one; gossip sends one model per node;
 *  - the validator refuses partial participation and lossy codecs. */
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
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, NODES = 8, MAX_ROUNDS = 6 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t, const char *strategy) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->strategy.name, sizeof t->strategy.name, "%s", strategy);
    t->clients = NODES;
    t->clients_per_round = NODES;
    t->rounds = 4;
    t->local.batch = 10;
    t->local.epochs = 1;
    t->local.lr = 0.1;
    t->seed = 9;
}

typedef struct {
    float *models; /* the run's model (the nodes' average), then each node's (zeros without nodes) */
    size_t d;
    fedc_round_metrics m[MAX_ROUNDS];
    int rounds;
} outcome;

/* Runs the task; after every round calls check(ctx, run, round). */
typedef void (*round_check)(void *ctx, fedc_run *r, fedc_transport *tp, int round);

static void run_task(fixture *f, const fedc_task *t, outcome *o, round_check check, void *ctx) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    if (!tp) fail_msg("transport: %s", err.msg);
    memset(o, 0, sizeof *o);
    while (!fedc_run_done(r)) {
        fedc_round_metrics m;
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
        if (o->rounds < MAX_ROUNDS) {
            o->m[o->rounds] = m;
            o->m[o->rounds].node_accuracy = NULL;
        }
        o->rounds++;
        if (check) check(ctx, r, tp, o->rounds);
    }
    o->d = fedc_run_nparams(r);
    o->models = malloc((NODES + 1) * o->d * sizeof(float));
    memcpy(o->models, fedc_run_model(r), o->d * sizeof(float));
    for (int k = 0; k < NODES; k++) {
        const float *xk = fedc_run_node_model(r, k);
        if (xk) memcpy(o->models + (size_t)(k + 1) * o->d, xk, o->d * sizeof(float));
        else memset(o->models + (size_t)(k + 1) * o->d, 0, o->d * sizeof(float));
    }
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

/* ---- D-PSGD on the complete graph is FedAvg ----------------------------- */

typedef struct {
    float *fedavg; /* rounds x d: FedAvg's model after each round */
    size_t d;
} compare_ctx;

static void record_fedavg(void *vctx, fedc_run *r, fedc_transport *tp, int round) {
    (void)tp;
    compare_ctx *c = vctx;
    c->d = fedc_run_nparams(r);
    memcpy(c->fedavg + (size_t)(round - 1) * c->d, fedc_run_model(r), c->d * sizeof(float));
}

static void compare_nodes(void *vctx, fedc_run *r, fedc_transport *tp, int round) {
    (void)tp;
    compare_ctx *c = vctx;
    const float *want = c->fedavg + (size_t)(round - 1) * c->d;
    for (int k = 0; k < NODES; k++) {
        const float *xk = fedc_run_node_model(r, k);
        assert_non_null(xk);
        if (memcmp(xk, want, c->d * sizeof(float)) != 0) fail_msg("round %d: node %d differs from FedAvg", round, k);
    }
}

static void test_dpsgd_complete_uniform_is_fedavg(void **state) {
    fixture *f = *state;
    fedc_task fa, dp;
    base_task(&fa, "fedavg");
    snprintf(fa.scheduling.policy, sizeof fa.scheduling.policy, "round-robin");
    base_task(&dp, "dpsgd");
    snprintf(dp.topology.kind, sizeof dp.topology.kind, "complete");
    snprintf(dp.topology.mixing, sizeof dp.topology.mixing, "uniform");
    dp.strategy.gossip_steps = 1;
    compare_ctx c = {calloc(64 * 1024, sizeof(float)), 0};
    outcome a, b;
    run_task(f, &fa, &a, record_fedavg, &c);
    run_task(f, &dp, &b, compare_nodes, &c);
    assert_int_equal(a.rounds, 4);
    assert_int_equal(b.rounds, 4);
    /* The average of identical models is that model: the same accuracy
     * (the mean over nodes of equal values, up to the sum's rounding). */
    for (int i = 0; i < 4; i++) {
        assert_true(b.m[i].decentral);
        assert_true(b.m[i].consensus_distance == 0);
        assert_true(a.m[i].accuracy == b.m[i].avg_model_accuracy);
        assert_true(fabs(a.m[i].accuracy - b.m[i].accuracy) < 1e-12);
    }
    free(a.models), free(b.models), free(c.fedavg);
}

/* ---- DFedSAM with rho = 0 is D-PSGD ------------------------------------- */

static void test_dfedsam_rho0_is_dpsgd(void **state) {
    fixture *f = *state;
    fedc_task a, b;
    base_task(&a, "dpsgd");
    base_task(&b, "dfedsam-mgs");
    a.strategy.gossip_steps = b.strategy.gossip_steps = 2;
    b.strategy.rho = 0;
    outcome oa, ob;
    run_task(f, &a, &oa, NULL, NULL);
    run_task(f, &b, &ob, NULL, NULL);
    assert_memory_equal(oa.models, ob.models, (NODES + 1) * oa.d * sizeof(float));
    for (int i = 0; i < 4; i++) assert_true(oa.m[i].consensus_distance == ob.m[i].consensus_distance);
    /* With rho > 0 the SAM steps move elsewhere. */
    b.strategy.rho = 0.5;
    outcome oc;
    run_task(f, &b, &oc, NULL, NULL);
    assert_true(memcmp(oa.models, oc.models, oa.d * sizeof(float)) != 0);
    /* DFedSAM-MGS with one gossip step is DFedSAM. */
    fedc_task c1, c2;
    base_task(&c1, "dfedsam");
    base_task(&c2, "dfedsam-mgs");
    c1.strategy.rho = c2.strategy.rho = 0.05;
    c1.strategy.gossip_steps = 3; /* dfedsam ignores it */
    c2.strategy.gossip_steps = 1;
    outcome od, oe;
    run_task(f, &c1, &od, NULL, NULL);
    run_task(f, &c2, &oe, NULL, NULL);
    assert_memory_equal(od.models, oe.models, (NODES + 1) * od.d * sizeof(float));
    free(oa.models), free(ob.models), free(oc.models), free(od.models), free(oe.models);
}

/* ---- Variance-corrected averaging --------------------------------------- */

static double var_of(const float *v, size_t n) {
    double m = 0, s = 0;
    for (size_t j = 0; j < n; j++) m += v[j];
    m /= n;
    for (size_t j = 0; j < n; j++) s += (v[j] - m) * (v[j] - m);
    return s / (n - 1);
}

static void test_variance_correction_hand_built(void **state) {
    (void)state;
    /* Two models of one tensor: (0, 2, 0, 2) and (2, 0, 0, 2), each of
     * variance 4/3. Their mean (1, 1, 0, 2) has variance 2/3, so the paper's
     * correction scales its deviations from the mean 1 by sqrt(2). */
    static const float a[4] = {0, 2, 0, 2}, b[4] = {2, 0, 0, 2};
    const float *models[2] = {a, b};
    float out[4];
    fedc_average_variance_corrected(models, 2, 4, NULL, out);
    double r2 = sqrt(2.0);
    const double want[4] = {1, 1, 1 - r2, 1 + r2};
    for (int j = 0; j < 4; j++) assert_float_equal(out[j], want[j], 1e-6);
    assert_float_equal(var_of(out, 4), 4.0 / 3.0, 1e-6);
    /* Per tensor: a layout of two tensors of 2 keeps each tensor's own. */
    size_t off[2] = {0, 2}, cnt[2] = {2, 2};
    fedc_param_layout lay = {2, off, cnt};
    fedc_average_variance_corrected(models, 2, 4, &lay, out);
    /* Tensor 0: (0, 2) and (2, 0) average to (1, 1), no variance: stays. */
    assert_float_equal(out[0], 1, 1e-7);
    assert_float_equal(out[1], 1, 1e-7);
    /* Tensor 1: (0, 2) and (0, 2) (variance 2): mean (0, 2) already has it. */
    assert_float_equal(out[2], 0, 1e-6);
    assert_float_equal(out[3], 2, 1e-6);
}

static void test_plain_average_shrinks_variance_by_m(void **state) {
    (void)state;
    enum { D = 40000, M = 4 };
    const double sigma2 = 0.02;
    float *models[M], *out = malloc(D * sizeof(float));
    fedc_rng rng;
    fedc_rng_seed(&rng, 77);
    for (int a = 0; a < M; a++) {
        models[a] = malloc(D * sizeof(float));
        for (int j = 0; j < D; j++) models[a][j] = (float)(sqrt(sigma2) * fedc_rng_normal(&rng));
    }
    /* Plain mean of M independent models: variance sigma^2 / M (the
     * vanishing variance). */
    for (int j = 0; j < D; j++) {
        double s = 0;
        for (int a = 0; a < M; a++) s += models[a][j];
        out[j] = (float)(s / M);
    }
    double plain = var_of(out, D);
    assert_true(fabs(plain / (sigma2 / M) - 1) < 0.03);
    /* Corrected: the mean of the models' variances, exactly. */
    double target = 0;
    for (int a = 0; a < M; a++) target += var_of(models[a], D) / M;
    fedc_average_variance_corrected((const float *const *)models, M, D, NULL, out);
    assert_true(fabs(var_of(out, D) / target - 1) < 1e-4);
    assert_true(fabs(target / sigma2 - 1) < 0.03);
    for (int a = 0; a < M; a++) free(models[a]);
    free(out);
}

/* ---- Runs: determinism, consensus, bytes -------------------------------- */

static void test_reproducible_and_consensus(void **state) {
    fixture *f = *state;
    const char *names[] = {"gossip", "gossip-vc", "dpsgd", "dfedsam"};
    for (int i = 0; i < 4; i++) {
        fedc_task t;
        base_task(&t, names[i]);
        snprintf(t.topology.kind, sizeof t.topology.kind, "%s", i % 2 ? "erdos-renyi" : "matching");
        t.topology.p = 0.5;
        t.rounds = 5;
        outcome a, b;
        run_task(f, &t, &a, NULL, NULL);
        run_task(f, &t, &b, NULL, NULL);
        assert_memory_equal(a.models, b.models, (NODES + 1) * a.d * sizeof(float));
        for (int r = 0; r < 5; r++) {
            assert_true(a.m[r].consensus_distance == b.m[r].consensus_distance);
            assert_true(a.m[r].accuracy == b.m[r].accuracy);
            assert_true(a.m[r].consensus_distance >= 0);
        }
        /* Another seed, another run. */
        t.seed = 10;
        outcome c;
        run_task(f, &t, &c, NULL, NULL);
        assert_true(memcmp(a.models, c.models, a.d * sizeof(float)) != 0);
        free(a.models), free(b.models), free(c.models);
    }
}

static void test_gossip_mixes_towards_consensus(void **state) {
    fixture *f = *state;
    /* The same training, more mixing steps per round: the nodes agree more. */
    fedc_task t;
    base_task(&t, "dpsgd");
    t.rounds = 6;
    t.strategy.gossip_steps = 8;
    outcome a;
    run_task(f, &t, &a, NULL, NULL);
    t.strategy.gossip_steps = 1;
    outcome b;
    run_task(f, &t, &b, NULL, NULL);
    for (int r = 0; r < 6; r++) assert_true(a.m[r].consensus_distance < b.m[r].consensus_distance);
    free(a.models), free(b.models);
}

static void test_bytes_per_node(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t, "dpsgd");
    t.rounds = 2;
    outcome q1, q3, g;
    run_task(f, &t, &q1, NULL, NULL);
    t.strategy.gossip_steps = 3;
    run_task(f, &t, &q3, NULL, NULL);
    base_task(&t, "gossip");
    t.rounds = 2;
    run_task(f, &t, &g, NULL, NULL);
    /* Ring: 2 neighbours, so 2 models per node per step, each a whole
     * model frame (more than its 4 d bytes of floats). */
    uint64_t per_model = q1.m[0].bytes_up / (2 * NODES);
    assert_int_equal(q1.m[0].bytes_up % (2 * NODES), 0);
    assert_true(per_model > 4 * q1.d && per_model < 4 * q1.d + 512);
    assert_true(q1.m[0].bytes_per_node == 2.0 * per_model);
    assert_int_equal(q3.m[1].bytes_up, 3 * q1.m[1].bytes_up);
    assert_int_equal(g.m[1].bytes_up, NODES * per_model);
    assert_int_equal(q1.m[0].bytes_down, q1.m[0].bytes_up);
    free(q1.models), free(q3.models), free(g.models);
}

static void test_validator(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t, "gossip");
    snprintf(t.dataset.name, sizeof t.dataset.name, "fashion-mnist");
    snprintf(t.model, sizeof t.model, "mlp");
    fedc_error err;
    assert_int_equal(fedc_task_validate(&t, &err), 0);
    t.clients_per_round = NODES - 1;
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "clients_per_round"));
    t.clients_per_round = NODES;
    snprintf(t.compression.up, sizeof t.compression.up, "q8");
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "compression.up"));
    snprintf(t.compression.up, sizeof t.compression.up, "zstd");
    assert_int_equal(fedc_task_validate(&t, &err), 0);
    snprintf(t.topology.kind, sizeof t.topology.kind, "small-world");
    t.topology.k = 3;
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_true(strncmp(err.msg, "topology.k:", 11) == 0);
    /* The same topology mistake does not matter to a server strategy. */
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedavg");
    assert_int_equal(fedc_task_validate(&t, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpsgd_complete_uniform_is_fedavg),
        cmocka_unit_test(test_dfedsam_rho0_is_dpsgd),
        cmocka_unit_test(test_variance_correction_hand_built),
        cmocka_unit_test(test_plain_average_shrinks_variance_by_m),
        cmocka_unit_test(test_reproducible_and_consensus),
        cmocka_unit_test(test_gossip_mixes_towards_consensus),
        cmocka_unit_test(test_bytes_per_node),
        cmocka_unit_test(test_validator),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
