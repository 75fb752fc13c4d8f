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
 *  - the validator refuses partial participation and lossy codecs;
 *  - the gossip relay (the deployment's exchange: nodes mix, the engine
 *    only routes) leaves every node model bit-identical to the engine's own
 *    mixing, on static and time-varying graphs, its bytes are the frames it
 *    carries, and a node's relay answer is the hand-computed mix and names
 *    the field of a bad step. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/proto.h"
#include "fedc/rng.h"
#include "fedc/strategy.h"
#include "fl/engine/dadao_relay.h"
#include "fl/engine/gossip_relay.h"
#include "fl/strategy/dadao_internal.h"
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

static int g_relay; /* run_task: through the gossip relay */

static void run_task(fixture *f, const fedc_task *t, outcome *o, round_check check, void *ctx) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_run_set_gossip_relay(r, g_relay);
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


/* ---- DADAO through the engine ---------------------------------------------- */

/* Softmax regression (one dense layer: strongly convex with the l2 term):
 * each round the nodes' gradients come from their own data through the
 * transport; the run is reproducible, its nodes draw together, and its
 * bytes are two model frames per communication event. */
static void test_dadao_rounds(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t, "dadao");
    fedc_test_memory_task(&t, "dense:3");
    snprintf(t.strategy.name, sizeof t.strategy.name, "dadao");
    t.clients = t.clients_per_round = NODES;
    t.rounds = 6;
    t.seed = 9;
    t.strategy.strong_convexity = 0.5;
    t.strategy.comm_rate = 10;
    outcome a, b;
    run_task(f, &t, &a, NULL, NULL);
    run_task(f, &t, &b, NULL, NULL);
    assert_int_equal(a.rounds, 6);
    assert_memory_equal(a.models, b.models, (NODES + 1) * a.d * sizeof(float));
    uint64_t g = 0;
    for (int i = 0; i < 6; i++) {
        assert_true(a.m[i].decentral && a.m[i].participants == NODES);
        assert_true(a.m[i].consensus_distance == b.m[i].consensus_distance);
        assert_true(a.m[i].bytes_up == a.m[i].bytes_down && a.m[i].bytes_up > 0);
        for (uint64_t x = a.m[i].bytes_up, y = g; y; ) { /* g = gcd over the rounds */
            uint64_t t2 = x % y;
            x = y;
            y = t2;
            g = x;
        }
        if (!g) g = a.m[i].bytes_up;
    }
    /* Whole model frames (4 d bytes and a header), two per communication event. */
    assert_true(g % 2 == 0 && g / 2 > 4 * a.d && g / 2 < 4 * a.d + 512);
    /* The nodes started from one model; the gradient events pull them
     * apart, the communications back: after six rounds they are closer
     * than after the first. */
    assert_true(a.m[5].consensus_distance < a.m[0].consensus_distance);
    free(a.models), free(b.models);
}

/* ---- The gossip relay ----------------------------------------------------- */

static void test_relay_equals_engine_mixing(void **state) {
    fixture *f = *state;
    static const struct {
        const char *strategy, *kind;
        int q;
    } cases[] = {{"dpsgd", "ring", 2},  {"dfedsam-mgs", "matching", 3},  {"dfedsam", "exponential", 1},
                 {"gossip", "ring", 1}, {"gossip-vc", "erdos-renyi", 1}, {"gossip-vc", "matching", 1},
                 {"gossip", "matching", 1}};
    for (int c = 0; c < 7; c++) {
        fedc_task t;
        base_task(&t, cases[c].strategy);
        if (c == 6) /* an odd matching: one node rests each round, and applies its update alone */
            t.clients = t.clients_per_round = NODES - 1;
        snprintf(t.topology.kind, sizeof t.topology.kind, "%s", cases[c].kind);
        t.strategy.gossip_steps = cases[c].q;
        t.strategy.rho = 0.05;
        t.rounds = 3;
        outcome a, b;
        g_relay = 0;
        run_task(f, &t, &a, NULL, NULL);
        g_relay = 1;
        run_task(f, &t, &b, NULL, NULL);
        g_relay = 0;
        if (memcmp(a.models, b.models, (NODES + 1) * a.d * sizeof(float)) != 0)
            fail_msg("%s on %s: the relay's node models differ from the engine's", cases[c].strategy,
                     cases[c].kind);
        if (c >= 3) {
            /* Pairwise: a node sends its update, then one model per frame it
             * answers (each push's receiver, each sender still holding its
             * update): between 1 and 2 models a node on average. */
            uint64_t fl = 4 * (uint64_t)a.d, n = (uint64_t)t.clients;
            for (int i = 0; i < 3; i++) {
                assert_true(b.m[i].bytes_up > n * fl * 2 && b.m[i].bytes_up < n * fl * 3 + n * 3 * 512);
                assert_true(b.m[i].bytes_per_node == (double)b.m[i].bytes_up / t.clients);
            }
        }
        for (int i = 0; i < 3; i++) {
            assert_true(a.m[i].consensus_distance == b.m[i].consensus_distance);
            assert_true(a.m[i].accuracy == b.m[i].accuracy);
            assert_true(a.m[i].loss == b.m[i].loss);
        }
        if (c == 0) {
            /* Ring, Q = 2: a node receives its TRAIN model, then its row of 3
             * models and 3 updates, then 3 models; it sends its update and
             * one model per step. Frames add headers and JSON, a little. */
            uint64_t fl = 4 * (uint64_t)a.d, n = NODES;
            for (int i = 0; i < 3; i++) {
                uint64_t down = n * fl * (1 + 6 + 3), up = n * fl * (1 + 2);
                assert_true(b.m[i].bytes_down > down && b.m[i].bytes_down < down + n * 4 * 1024);
                assert_true(b.m[i].bytes_up > up && b.m[i].bytes_up < up + n * 3 * 512);
                assert_true(b.m[i].bytes_per_node == (double)b.m[i].bytes_up / NODES);
            }
        }
        free(a.models), free(b.models);
    }
}

/* DADAO relayed: each node plays its own gradient events on its own
 * vectors (kept in its client record) and the server routes only y and z at
 * communications: the nodes' models equal the engine's bit for bit, round
 * after round, on a ring and on the complete graph. */
static void test_dadao_relay_equals_engine(void **state) {
    fixture *f = *state;
    static const char *const kinds[] = {"ring", "complete"};
    for (int c = 0; c < 2; c++) {
        fedc_task t;
        base_task(&t, "dadao");
        fedc_test_memory_task(&t, "dense:3");
        snprintf(t.strategy.name, sizeof t.strategy.name, "dadao");
        snprintf(t.topology.kind, sizeof t.topology.kind, "%s", kinds[c]);
        t.clients = t.clients_per_round = NODES;
        t.rounds = 4;
        t.seed = 9 + (uint64_t)c;
        t.strategy.strong_convexity = 0.5;
        t.strategy.comm_rate = 6;
        outcome a, b;
        g_relay = 0;
        run_task(f, &t, &a, NULL, NULL);
        g_relay = 1;
        run_task(f, &t, &b, NULL, NULL);
        g_relay = 0;
        if (memcmp(a.models, b.models, (NODES + 1) * a.d * sizeof(float)) != 0)
            fail_msg("dadao on %s: the relayed nodes' models differ from the engine's", kinds[c]);
        uint64_t fl = 4 * (uint64_t)a.d;
        for (int i = 0; i < 4; i++) {
            assert_true(a.m[i].consensus_distance == b.m[i].consensus_distance);
            assert_true(a.m[i].accuracy == b.m[i].accuracy && a.m[i].loss == b.m[i].loss);
            assert_true(a.m[i].train_loss == b.m[i].train_loss);
            /* What crossed, from the round's events (the simulation's
             * draws): at each communication each of its two nodes sends its
             * y and z up and gets its peer's down in its next frame; every
             * node sends its x at the round's end (and gets the starting
             * model in round 1). Each frame adds its header and JSON. */
            fedc_error err;
            fedc_strategy *st = fedc_strategy_create(&t, a.d, NODES, &err);
            assert_non_null(st);
            dadao_consts k;
            double mu;
            dadao_event *ev = NULL;
            int count = dadao_round_plan(st, i + 1, 1.0, &k, &mu, &ev, &err);
            assert_true(count > 0);
            uint64_t comms = 0;
            for (int q = 0; q < count; q++) comms += ev[q].j >= 0;
            free(ev);
            fedc_strategy_free(st);
            assert_true(comms > 0);
            uint64_t up = 2 * comms * 2 * fl + NODES * fl, down = 2 * comms * 2 * fl + (i == 0 ? NODES * fl : 0);
            uint64_t frames = 2 * comms + NODES;
            assert_true(a.m[i].bytes_up % (2 * comms) == 0); /* the engine: 2 model frames per communication */
            assert_true(b.m[i].bytes_up > up && b.m[i].bytes_up < up + frames * 128);
            assert_true(b.m[i].bytes_down > down && b.m[i].bytes_down < down + frames * 1024);
            assert_true(b.m[i].bytes_per_node == (double)b.m[i].bytes_up / NODES);
        }
        free(a.models), free(b.models);
    }
}

/* A node's DADAO state across rounds (its client record): round 1 starts
 * from the starting model the server sends; each later round must find the
 * state the previous one left; a round run again (the server's first
 * attempt failed) starts from where it started, so it answers the same;
 * state from elsewhere in the run is refused, saying which round it holds. */
static int node_step(fedc_trainer *tr, const fedc_client_data *cd, fedc_client_mem *mem, size_t d, int round,
                     const float *init, fedc_buf *reply, fedc_error *err) {
    fedc_dadao_step st;
    memset(&st, 0, sizeof st);
    st.round = round;
    st.step = 1;
    st.first = 1;
    st.send_x = 1;
    st.until = 1;
    st.mu = 0.5;
    dadao_constants(0.5, 4.0, 1.0, &st.k);
    st.n_grads = 2;
    st.grads[0] = 0.25;
    st.grads[1] = 0.5;
    st.init = init;
    fedc_buf frame = {0};
    int rc = fedc_dadao_step_encode(&st, d, &frame, err);
    if (rc == 0) rc = fedc_trainer_handle(tr, 0, cd, mem, frame.data, frame.len, reply, err);
    fedc_buf_free(&frame);
    return rc;
}

static void test_dadao_node_state(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t, "dadao");
    fedc_test_memory_task(&t, "dense:3");
    snprintf(t.strategy.name, sizeof t.strategy.name, "dadao");
    t.strategy.strong_convexity = 0.5;
    t.clients = t.clients_per_round = NODES;
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    size_t d = fedc_run_nparams(r);
    fedc_trainer *tr = fedc_trainer_create(fedc_run_task(r), fedc_run_arch(r), &err);
    assert_non_null(tr);
    fedc_client_mem mem = {calloc(1, fedc_trainer_record_size(tr)), 1, NULL, NULL};
    fedc_client_data cd = fedc_run_client_data(r, 0);
    fedc_buf a = {0}, b = {0};
    /* A fresh node cannot take round 2: it holds no state. */
    assert_int_equal(node_step(tr, &cd, &mem, d, 2, NULL, &a, &err), -1);
    assert_non_null(strstr(err.msg, "holds that of round 0"));
    float *x0 = calloc(d, sizeof *x0);
    assert_int_equal(node_step(tr, &cd, &mem, d, 1, x0, &a, &err), 0);
    float *x1 = malloc(d * sizeof *x1);
    int g = 0;
    double cpu = -1;
    assert_int_equal(fedc_dadao_reply_decode(a.data, a.len, 1, 1, d, x1, &g, &cpu, &err), 0);
    assert_true(cpu >= 0);
    assert_int_equal(g, 2);
    assert_true(memcmp(x1, x0, d * sizeof *x0) != 0); /* the gradients moved it */
    assert_int_equal(node_step(tr, &cd, &mem, d, 2, NULL, &a, &err), 0);
    /* Round 2 again: from round 1's end, the same model (its CPU time aside). */
    assert_int_equal(node_step(tr, &cd, &mem, d, 2, NULL, &b, &err), 0);
    float *x2 = malloc(d * sizeof *x2), *x2b = malloc(d * sizeof *x2b);
    assert_int_equal(fedc_dadao_reply_decode(a.data, a.len, 2, 1, d, x2, &g, &cpu, &err), 0);
    assert_int_equal(fedc_dadao_reply_decode(b.data, b.len, 2, 1, d, x2b, &g, &cpu, &err), 0);
    assert_memory_equal(x2, x2b, d * sizeof *x2);
    assert_true(memcmp(x2, x1, d * sizeof *x1) != 0);
    free(x2);
    free(x2b);
    assert_int_equal(node_step(tr, &cd, &mem, d, 4, NULL, &a, &err), -1);
    assert_non_null(strstr(err.msg, "holds that of round 2"));
    fedc_buf_free(&a);
    fedc_buf_free(&b);
    free(x0);
    free(x1);
    fedc_client_mem_free(&mem);
    fedc_trainer_free(tr);
    fedc_run_free(r);
}

/* Builds a relay step by hand and returns the node's answer in out (0) or
 * the error (-1). */
static int relay_answer(const char *json, const float *models, size_t mlen, const float *deltas, size_t dlen,
                        size_t d, float *out, fedc_error *err) {
    fedc_msg m = {.type = FEDC_MSG_STEP, .json = json, .json_len = strlen(json), .nblobs = deltas ? 2 : 1};
    m.blobs[0].data = (const uint8_t *)models;
    m.blobs[0].len = mlen;
    m.blobs[1].data = (const uint8_t *)deltas;
    m.blobs[1].len = dlen;
    fedc_buf frame = {0}, reply = {0};
    fedc_msg dec;
    int rc = -1;
    if (fedc_msg_encode(&m, &frame, err) != 0 || fedc_msg_decode(frame.data, frame.len, &dec, err) != 0) goto out;
    rc = fedc_relay_answer(d, &dec, &reply, err);
    fedc_msg_free(&dec);
    if (rc == 0) rc = fedc_relay_reply_decode(reply.data, reply.len, 2, 1, d, out, err);
out:
    fedc_buf_free(&frame);
    fedc_buf_free(&reply);
    return rc;
}

static void test_relay_answer_hand_computed(void **state) {
    (void)state;
    /* Node 5 between 4 and 6, weights 1/4, 1/2, 1/4; models x4 = (1, 2),
     * x5 = (3, 4), x6 = (5, 8); node 6 trained delta (2, -4), the others did
     * not. x5 + 1/4 (x4 - x5) + 1/4 ((x6 - x5) + d6) = (3, 4) + (-0.5, -0.5)
     * + 1/4 (4, 0) = (3.5, 3.5). */
    float x[6] = {1, 2, 3, 4, 5, 8}, dl[2] = {2, -4}, out[2];
    fedc_error err;
    const char *ok = "{\"round\":2,\"gossip_step\":1,\"self\":1,\"nodes\":[4,5,6],\"weights\":[0.25,0.5,0.25],"
                     "\"updates\":[0,0,1]}";
    assert_int_equal(relay_answer(ok, x, sizeof x, dl, sizeof dl, 2, out, &err), 0);
    assert_true(out[0] == 3.5f && out[1] == 3.5f);
    /* Bad steps are refused, naming the field. */
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"round\":0,\"gossip_step\":1,\"self\":1,\"nodes\":[4,5,6],\"weights\":[0.25,0.5,0.25],\"updates\":[0,0,1]}",
         "\"round\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":3,\"nodes\":[4,5,6],\"weights\":[0.25,0.5,0.25],\"updates\":[0,0,1]}",
         "\"self\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":1,\"nodes\":[4,5,6],\"weights\":[0.25,1.5,0.25],\"updates\":[0,0,1]}",
         "\"weights\"[1]"},
        {"{\"round\":2,\"gossip_step\":1,\"self\":1,\"nodes\":[4,5,6],\"weights\":[0.25,0.5],\"updates\":[0,0,1]}",
         "\"weights\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":1,\"nodes\":[4,5,6],\"weights\":[0.25,0.5,0.25],\"updates\":[0,2,1]}",
         "\"updates\"[1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(relay_answer(bad[i].json, x, sizeof x, dl, sizeof dl, 2, out, &err), 0);
        if (!strstr(err.msg, bad[i].field)) fail_msg("case %zu: \"%s\" does not name %s", i, err.msg, bad[i].field);
    }
    /* A models blob one model short, an update missing, a value not finite. */
    assert_int_not_equal(relay_answer(ok, x, 4 * sizeof(float), dl, sizeof dl, 2, out, &err), 0);
    assert_non_null(strstr(err.msg, "the models"));
    assert_int_not_equal(relay_answer(ok, x, sizeof x, NULL, 0, 2, out, &err), 0);
    assert_non_null(strstr(err.msg, "blobs"));
    dl[1] = INFINITY;
    assert_int_not_equal(relay_answer(ok, x, sizeof x, dl, sizeof dl, 2, out, &err), 0);
    assert_non_null(strstr(err.msg, "not finite"));
}

/* ---- Pairwise gossip in waves ------------------------------------------ */

static void test_waves_play_the_sequence(void **state) {
    (void)state;
    /* A hand-made sequence: pushes touching disjoint nodes share a wave. */
    int from0[] = {0, 2, 1, 4, 5, 3}, to0[] = {1, 3, 2, 5, 0, 2}, last[8], wave[8];
    assert_int_equal(fedc_gossip_waves(from0, to0, 6, 8, last, wave), 3);
    int want[] = {1, 1, 2, 1, 2, 3};
    assert_memory_equal(wave, want, sizeof want);
    /* Random sequences over random models: playing the waves, every push of a
     * wave reading the models as the wave found them, gives the sequence's
     * models bit for bit, with either merge. */
    enum { N = 12, D = 40, NP = 30 };
    size_t off[2] = {0, 25}, cnt[2] = {25, 15};
    fedc_param_layout lay = {2, off, cnt};
    fedc_rng rng = fedc_rng_derive(5, 6, 7);
    for (int trial = 0; trial < 40; trial++) {
        int corrected = trial % 2, from[NP], to[NP], wv[NP], lst[N];
        static float seq[N * D], byw[N * D], before[N * D], tmp[D];
        for (int j = 0; j < N * D; j++) seq[j] = byw[j] = (float)fedc_rng_normal(&rng);
        for (int q = 0; q < NP; q++) {
            from[q] = (int)fedc_rng_below(&rng, N);
            to[q] = (int)((from[q] + 1 + fedc_rng_below(&rng, N - 1)) % N);
        }
        for (int q = 0; q < NP; q++) {
            fedc_gossip_merge(seq + to[q] * D, seq + from[q] * D, D, &lay, corrected, tmp);
            memcpy(seq + to[q] * D, tmp, sizeof tmp);
        }
        int waves = fedc_gossip_waves(from, to, NP, N, lst, wv);
        assert_true(waves >= 1 && waves <= NP);
        for (int w = 1; w <= waves; w++) {
            unsigned char used[N] = {0};
            memcpy(before, byw, sizeof before);
            for (int q = NP - 1; q >= 0; q--) { /* a wave's pushes in any order */
                if (wv[q] != w) continue;
                assert_false(used[from[q]] || used[to[q]]); /* pairwise disjoint */
                used[from[q]] = used[to[q]] = 1;
                fedc_gossip_merge(before + to[q] * D, before + from[q] * D, D, &lay, corrected, byw + to[q] * D);
            }
        }
        if (memcmp(seq, byw, sizeof seq) != 0) fail_msg("trial %d: the waves differ from the sequence", trial);
    }
}

/* relay_answer with a third blob: the layout of a variance-corrected push. */
static int relay_answer_vc(const char *json, const float *models, size_t mlen, const float *deltas, size_t dlen,
                           const uint64_t *layout, size_t llen, size_t d, float *out, fedc_error *err) {
    fedc_msg m = {.type = FEDC_MSG_STEP, .json = json, .json_len = strlen(json), .nblobs = 0};
    m.blobs[m.nblobs++] = (fedc_blob){(const uint8_t *)models, mlen};
    if (deltas) m.blobs[m.nblobs++] = (fedc_blob){(const uint8_t *)deltas, dlen};
    m.blobs[m.nblobs++] = (fedc_blob){(const uint8_t *)layout, llen};
    fedc_buf frame = {0}, reply = {0};
    fedc_msg dec;
    int rc = -1;
    if (fedc_msg_encode(&m, &frame, err) != 0 || fedc_msg_decode(frame.data, frame.len, &dec, err) != 0) goto out;
    rc = fedc_relay_answer(d, &dec, &reply, err);
    fedc_msg_free(&dec);
    if (rc == 0) rc = fedc_relay_reply_decode(reply.data, reply.len, 2, 1, d, out, err);
out:
    fedc_buf_free(&frame);
    fedc_buf_free(&reply);
    return rc;
}

static void test_relay_push_answer(void **state) {
    (void)state;
    /* Receiver x0 = (1, 2), sender x1 = (3, 8) with update (1, 2): the node
     * answers 1/2 ((1, 2) + (4, 10)) = (2.5, 6). */
    float x[4] = {1, 2, 3, 8}, dl[2] = {1, 2}, out[2];
    fedc_error err;
    assert_int_equal(relay_answer("{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3,7],\"updates\":[0,1],"
                                  "\"merge\":\"average\",\"tensors\":0}",
                                  x, sizeof x, dl, sizeof dl, 2, out, &err),
                     0);
    assert_true(out[0] == 2.5f && out[1] == 6.0f);
    /* A node alone takes its update: (1, 2) + (1, 2). */
    uint64_t one[2] = {0, 2}, outside[2] = {1, 2};
    assert_int_equal(relay_answer_vc("{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3],\"updates\":[1],"
                                     "\"merge\":\"average-vc\",\"tensors\":1}",
                                     x, 2 * sizeof(float), dl, sizeof dl, one, sizeof one, 2, out, &err),
                     0);
    assert_true(out[0] == 2.0f && out[1] == 4.0f);
    /* The variance-corrected merge is gossip-vc's. */
    float want[2];
    size_t off = 0, cnt = 2;
    fedc_param_layout lay = {1, &off, &cnt};
    float y1[2] = {4, 10};
    fedc_gossip_merge(x, y1, 2, &lay, 1, want);
    const char *vc = "{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3,7],\"updates\":[0,1],"
                     "\"merge\":\"average-vc\",\"tensors\":1}";
    assert_int_equal(relay_answer_vc(vc, x, sizeof x, dl, sizeof dl, one, sizeof one, 2, out, &err), 0);
    assert_memory_equal(out, want, sizeof want);
    /* A tensor outside the model, a layout blob of the wrong size. */
    assert_int_not_equal(relay_answer_vc(vc, x, sizeof x, dl, sizeof dl, outside, sizeof outside, 2, out, &err), 0);
    assert_non_null(strstr(err.msg, "layout"));
    assert_int_not_equal(relay_answer_vc(vc, x, sizeof x, dl, sizeof dl, one, sizeof one / 2, 2, out, &err), 0);
    assert_non_null(strstr(err.msg, "layout"));
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3,7],\"updates\":[0,1],\"merge\":\"sum\","
         "\"tensors\":0}",
         "\"merge\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":1,\"nodes\":[3,7],\"updates\":[0,1],\"merge\":\"average\","
         "\"tensors\":0}",
         "\"self\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3,7],\"updates\":[0,1],\"merge\":\"average\","
         "\"tensors\":-1}",
         "\"tensors\""},
        {"{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[3,7],\"updates\":[0],\"merge\":\"average\","
         "\"tensors\":0}",
         "\"updates\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(relay_answer(bad[i].json, x, sizeof x, dl, sizeof dl, 2, out, &err), 0);
        if (!strstr(err.msg, bad[i].field)) fail_msg("case %zu: \"%s\" does not name %s", i, err.msg, bad[i].field);
    }
    /* Three nodes in a push. */
    float x3[6] = {1, 2, 3, 4, 5, 6};
    assert_int_not_equal(relay_answer("{\"round\":2,\"gossip_step\":1,\"self\":0,\"nodes\":[1,2,3],"
                                      "\"updates\":[0,0,0],\"merge\":\"average\",\"tensors\":0}",
                                      x3, sizeof x3, NULL, 0, 2, out, &err),
                     0);
    assert_non_null(strstr(err.msg, "1 or 2"));
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
        cmocka_unit_test(test_dadao_rounds),
        cmocka_unit_test(test_dadao_relay_equals_engine),
        cmocka_unit_test(test_dadao_node_state),
        cmocka_unit_test(test_relay_equals_engine_mixing),
        cmocka_unit_test(test_relay_answer_hand_computed),
        cmocka_unit_test(test_waves_play_the_sequence),
        cmocka_unit_test(test_relay_push_answer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
