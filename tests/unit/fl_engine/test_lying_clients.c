/* Clients that lie, through the whole round engine: a transport wraps the
 * simulation's and rewrites what chosen clients send, as a hostile node
 * would.
 *  - a client claiming more samples than it holds is refused (the claim
 *    would take almost all of the FedAvg weight), and the others'
 *    aggregate is the one of a round without it;
 *  - an update of huge finite values (each value passes every per-update
 *    check) would drive the model to |w| ~ 1e15: the aggregate is refused,
 *    the model rolled back, the update refused and the rest aggregated;
 *  - under secure aggregation the weight is the sample count a client
 *    states in the protocol's first step: a claim above its holding is
 *    refused there, and the round goes on without it;
 *  - a node's score of its own model (client_acc, per-client evaluation)
 *    outside [0, 1] gets its update refused;
 *  - an honest run is untouched by the checks (bit for bit). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/proto.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, CLIENTS = 4 };

typedef enum { HONEST, INFLATE_SAMPLES, SCALE_VALUES, HUGE_VALUES, INFLATE_STEP_SAMPLES, BAD_CLIENT_ACC } lie;

/* The hostile transport: the simulation's, with client `liar`'s replies rewritten. */
typedef struct liar_transport {
    fedc_transport base;
    fedc_transport *inner;
    int liar;
    lie how;
    const fedc_exchange *ex;
    fedc_exchange wrapped;
} liar_transport;

static void rewrite(liar_transport *lt, int i, const uint8_t *frame, size_t len, uint64_t wire) {
    const fedc_exchange *ex = lt->ex;
    if (ex->clients[i] != lt->liar || lt->how == HONEST) {
        ex->on_reply(ex->ctx, i, frame, len, wire);
        return;
    }
    fedc_msg m;
    fedc_error e;
    if (fedc_msg_decode(frame, len, &m, &e) != 0) fail_msg("decode: %s", e.msg);
    json_t *o = json_loads(m.json, 0, NULL);
    if (m.type == FEDC_MSG_STEP_REPLY || lt->how == INFLATE_STEP_SAMPLES) {
        /* A protocol step's answer: only a stated sample count is changed. */
        if (lt->how == INFLATE_STEP_SAMPLES && m.type == FEDC_MSG_STEP_REPLY && json_object_get(o, "samples")) {
            json_object_set_new(o, "samples", json_real(59999999.0));
            char *sj = json_dumps(o, JSON_COMPACT);
            fedc_msg sm = m;
            sm.json = sj;
            sm.json_len = strlen(sj);
            fedc_buf sb = {0};
            if (fedc_msg_encode(&sm, &sb, &e) != 0) fail_msg("encode: %s", e.msg);
            ex->on_reply(ex->ctx, i, sb.data, sb.len, wire);
            fedc_buf_free(&sb);
            free(sj);
        } else {
            ex->on_reply(ex->ctx, i, frame, len, wire);
        }
        json_decref(o);
        fedc_msg_free(&m);
        return;
    }
    /* Just under the engine's coarse bound (1000 times the training set), as
     * 59,999,999 is for Fashion-MNIST's 60,000. */
    if (lt->how == INFLATE_SAMPLES) json_object_set_new(o, "n_samples", json_integer(N_TRAIN * 1000 - 1));
    if (lt->how == BAD_CLIENT_ACC) json_object_set_new(o, "client_acc", json_real(1.5));
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    uint8_t *blob = malloc(m.blobs[0].len);
    memcpy(blob, m.blobs[0].data, m.blobs[0].len);
    if (lt->how == SCALE_VALUES || lt->how == HUGE_VALUES) {
        /* codec "none": the blob's tail is the raw floats */
        size_t nf = m.blobs[0].len / sizeof(float);
        float big = lt->how == SCALE_VALUES ? 1e15f : 3e38f;
        for (size_t j = 1; j < nf; j++) memcpy(blob + m.blobs[0].len - j * sizeof(float), &big, sizeof big);
    }
    fedc_msg out = {.type = FEDC_MSG_UPDATE, .json = js, .json_len = strlen(js), .nblobs = m.nblobs};
    for (int b = 0; b < m.nblobs; b++) out.blobs[b] = m.blobs[b];
    out.blobs[0].data = blob;
    fedc_buf buf = {0};
    if (fedc_msg_encode(&out, &buf, &e) != 0) fail_msg("encode: %s", e.msg);
    ex->on_reply(ex->ctx, i, buf.data, buf.len, wire);
    fedc_buf_free(&buf);
    free(blob);
    free(js);
    fedc_msg_free(&m);
}

static liar_transport *g_lt; /* the callbacks carry the engine's ctx, not ours */

static void w_sent(void *ctx, int i, uint64_t b) { g_lt->ex->on_sent(ctx, i, b); }
static void w_drop(void *ctx, int i, const char *why) { g_lt->ex->on_drop(ctx, i, why); }
static void w_reply(void *ctx, int i, const uint8_t *f, size_t n, uint64_t wire) {
    (void)ctx;
    rewrite(g_lt, i, f, n, wire);
}

static int liar_exchange(fedc_transport *t, const fedc_exchange *ex, fedc_error *err) {
    liar_transport *lt = t->self;
    lt->ex = ex;
    lt->wrapped = *ex;
    lt->wrapped.on_sent = w_sent;
    lt->wrapped.on_reply = w_reply;
    lt->wrapped.on_drop = w_drop;
    g_lt = lt;
    return lt->inner->ops->exchange(lt->inner, &lt->wrapped, err);
}

static void liar_destroy(fedc_transport *t) {
    liar_transport *lt = t->self;
    lt->inner->ops->destroy(lt->inner);
    free(lt);
}

static const fedc_transport_ops k_liar_ops = {.exchange = liar_exchange, .destroy = liar_destroy};

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 11, 12);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    t->clients = CLIENTS;
    t->clients_per_round = CLIENTS;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 5;
}

typedef struct outcome {
    float model[512];
    size_t d;
    fedc_round_metrics m[8];
    fedc_participant p[8][CLIENTS];
    char reason[8][CLIENTS][256];
    int rounds, failed_round;
    char error[FEDC_ERROR_MAX];
} outcome;

/* Runs the task with client `liar` lying (`how`) in every round. */
static void run(fixture *f, const fedc_task *t, int liar, lie how, outcome *out) {
    memset(out, 0, sizeof *out);
    out->failed_round = -1;
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    liar_transport *lt = calloc(1, sizeof *lt);
    lt->base.ops = &k_liar_ops;
    lt->base.self = lt;
    lt->inner = fedc_sim_transport_create(r, &err);
    lt->liar = liar;
    lt->how = how;
    assert_non_null(lt->inner);
    while (!fedc_run_done(r) && out->rounds < 8) {
        fedc_round_metrics m;
        int rc = fedc_run_round(r, &lt->base, &m, &err);
        if (rc != 0) {
            out->failed_round = fedc_run_rounds_done(r) + 1;
            snprintf(out->error, sizeof out->error, "%s", err.msg);
            break;
        }
        out->m[out->rounds] = m;
        for (int i = 0; i < m.selected && i < CLIENTS; i++) {
            fedc_run_participant(r, i, &out->p[out->rounds][i]);
            snprintf(out->reason[out->rounds][i], 256, "%s", out->p[out->rounds][i].reason);
        }
        out->rounds++;
    }
    out->d = fedc_run_nparams(r);
    assert_true(out->d <= 512);
    memcpy(out->model, fedc_run_model(r), out->d * sizeof(float));
    lt->base.ops->destroy(&lt->base);
    fedc_run_free(r);
}

/* The status of client k in round i of an outcome (-9 if it did not take part). */
static int status_of(const outcome *o, int i, int k, const char **reason) {
    for (int j = 0; j < CLIENTS; j++)
        if (o->p[i][j].client == k && o->m[i].selected > j) {
            if (reason) *reason = o->reason[i][j];
            return o->p[i][j].status;
        }
    return -9;
}

static void test_inflated_sample_count_is_refused(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    static outcome lied;
    run(f, &t, 2, INFLATE_SAMPLES, &lied);
    assert_int_equal(lied.rounds, 3);
    for (int i = 0; i < 3; i++) {
        const char *why = NULL;
        assert_int_equal(status_of(&lied, i, 2, &why), -2);
        assert_non_null(strstr(why, "n_samples 239999 is more than the 60 samples client 2 holds"));
        assert_int_equal(lied.m[i].rejected, 1);
        assert_int_equal(lied.m[i].participants, 3);
        assert_int_equal(status_of(&lied, i, 0, NULL), 1);
    }
    for (size_t j = 0; j < lied.d; j++) assert_true(isfinite(lied.model[j]) && fabsf(lied.model[j]) < 100);
}

static void test_client_accuracy_out_of_range_is_refused(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    static outcome lied;
    run(f, &t, 3, BAD_CLIENT_ACC, &lied);
    assert_int_equal(lied.rounds, 3);
    for (int i = 0; i < 3; i++) {
        const char *why = NULL;
        assert_int_equal(status_of(&lied, i, 3, &why), -2);
        assert_non_null(strstr(why, "client_acc must be a number in [0, 1]"));
        assert_int_equal(lied.m[i].participants, 3);
    }
}

static void test_scaled_update_does_not_diverge_the_model(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    static outcome lied;
    run(f, &t, 1, SCALE_VALUES, &lied);
    assert_int_equal(lied.rounds, 3);
    for (int i = 0; i < 3; i++) {
        const char *why = NULL;
        assert_int_equal(status_of(&lied, i, 1, &why), -2);
        assert_non_null(strstr(why, "times the median"));
        assert_int_equal(lied.m[i].participants, 3);
        assert_int_equal(lied.m[i].rejected, 1);
        assert_true(isfinite(lied.m[i].loss) && lied.m[i].loss < 10);
        assert_true(isfinite(lied.m[i].train_loss));
    }
    float maxabs = 0;
    for (size_t j = 0; j < lied.d; j++) {
        assert_true(isfinite(lied.model[j]));
        if (fabsf(lied.model[j]) > maxabs) maxabs = fabsf(lied.model[j]);
    }
    assert_true(maxabs < 100);
}

/* The only participant sends values near the float limit that the
 * server's step (learning rate 10) takes past it: the aggregate is not
 * finite, the round fails (a deployment retries it), the model is untouched. */
static void test_nonfinite_aggregate_fails_the_round(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.clients = 1;
    t.clients_per_round = 1;
    t.strategy.server_lr = 10;
    static outcome lied;
    run(f, &t, 0, HUGE_VALUES, &lied);
    assert_int_equal(lied.failed_round, 1);
    assert_non_null(strstr(lied.error, "not finite"));
    for (size_t j = 0; j < lied.d; j++) assert_true(isfinite(lied.model[j]));
}

/* Secure aggregation: the liar states 59,999,999 samples in the key step
 * (its weight in the masked sum); that answer is refused, the client is out
 * of the round, and the others' rounds go on. */
static void test_inflated_sample_count_in_secure_aggregation_is_refused(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.secagg.mode, sizeof t.secagg.mode, "secagg+");
    static outcome lied;
    run(f, &t, 3, INFLATE_STEP_SAMPLES, &lied);
    assert_int_equal(lied.rounds, 3);
    for (int i = 0; i < 3; i++) {
        const char *why = NULL;
        assert_int_equal(status_of(&lied, i, 3, &why), -2);
        assert_non_null(strstr(why, "samples 59999999 is more than the 60 samples client 3 holds"));
        assert_int_equal(lied.m[i].participants, 3);
        assert_int_equal(status_of(&lied, i, 0, NULL), 1);
    }
    for (size_t j = 0; j < lied.d; j++) assert_true(isfinite(lied.model[j]) && fabsf(lied.model[j]) < 100);
}

/* With nothing to refuse, the checks change nothing: two runs agree bit for bit. */
static void test_honest_runs_are_untouched(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    static outcome a, b;
    run(f, &t, -1, HONEST, &a);
    run(f, &t, -1, HONEST, &b);
    assert_int_equal(a.rounds, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a.m[i].rejected, 0);
        assert_int_equal(a.m[i].participants, CLIENTS);
    }
    assert_memory_equal(a.model, b.model, a.d * sizeof(float));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inflated_sample_count_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_accuracy_out_of_range_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaled_update_does_not_diverge_the_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonfinite_aggregate_fails_the_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflated_sample_count_in_secure_aggregation_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_honest_runs_are_untouched, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
