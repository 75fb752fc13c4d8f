/* Asynchronous strategies in a deployment, on a scripted transport that
 * keeps one exchange open (post / collect) and answers each TRAIN with an
 * update made here (delta: every value = its ticket / 1000):
 *  - every TRAIN carries its own ticket; a node that answers gets the
 *    current model again at once; fedbuff aggregates exactly K updates per
 *    version, in arrival order, each with the staleness of the versions made
 *    since its model and the staleness function's weight;
 *  - the model a version makes is the strategy's aggregate of those updates
 *    (the simulation's code, checked against a strategy applied by hand);
 *  - updates that arrived beyond the buffer wait in it, go into the
 *    checkpoint, and a run resumed from it aggregates each exactly once,
 *    with its original version; tickets continue after the checkpoint's;
 *  - a damaged buffer in a checkpoint is refused with the field named. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "fedc/checkpoint.h"
#include "fedc/codec.h"
#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/proto.h"
#include "fedc/rng.h"
#include "fedc/strategy.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, SLOTS = 3 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

/* ---- The scripted transport ---- */
typedef struct live {
    fedc_transport base;
    size_t d;
    fedc_codec *up;
    int ticket[SLOTS], client[SLOTS], pending[SLOTS];
    int posts;
    /* Per collect call, the slots that answer (-1 ends a list). */
    const int (*script)[SLOTS + 1];
    int step, steps;
    void (*on_reply)(void *, int, const uint8_t *, size_t, uint64_t);
    void (*on_sent)(void *, int, uint64_t);
    void *ctx;
} live;

static int live_post(fedc_transport *t, const fedc_exchange *ex, const char *send, fedc_error *err) {
    live *l = t->self;
    (void)err;
    assert_int_equal(ex->n, SLOTS);
    for (int i = 0; i < ex->n; i++) {
        if (!send[i]) continue;
        assert_false(l->pending[i]);
        l->pending[i] = 1;
        l->ticket[i] = ex->round;
        l->client[i] = ex->clients[i];
        l->posts++;
        ex->on_sent(ex->ctx, i, ex->frames[i].len);
    }
    l->on_reply = ex->on_reply;
    l->ctx = ex->ctx;
    return 0;
}

static void answer(live *l, int i) {
    float *delta = malloc(l->d * sizeof *delta);
    for (size_t j = 0; j < l->d; j++) delta[j] = (float)l->ticket[i] / 1000.0f;
    fedc_buf blob = {0}, frame = {0};
    fedc_error err;
    fedc_rng rng = fedc_rng_derive(1, 2, 3);
    assert_int_equal(fedc_codec_encode(l->up, delta, l->d, NULL, &rng, &blob, &err), 0);
    char json[160];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"n_samples\":%d,\"steps\":1,\"loss\":0.5,\"cpu_s\":0.01}",
                      l->ticket[i], 10 + i);
    fedc_msg m = {.type = FEDC_MSG_UPDATE, .json = json, .json_len = (size_t)jl, .nblobs = 1};
    m.blobs[0] = (fedc_blob){blob.data, blob.len};
    assert_int_equal(fedc_msg_encode(&m, &frame, &err), 0);
    l->pending[i] = 0;
    l->on_reply(l->ctx, i, frame.data, frame.len, frame.len);
    fedc_buf_free(&blob);
    fedc_buf_free(&frame);
    free(delta);
}

static int live_collect(fedc_transport *t, double until_s, fedc_error *err) {
    live *l = t->self;
    (void)until_s;
    if (l->step >= l->steps) return fedc_fail(err, "the script has ended");
    int n = 0;
    for (const int *k = l->script[l->step++]; *k >= 0; k++, n++) {
        assert_true(l->pending[*k]);
        answer(l, *k);
    }
    return n;
}

static void live_close(fedc_transport *t) { (void)t; }
static int live_exchange(fedc_transport *t, const fedc_exchange *ex, fedc_error *err) {
    (void)t;
    (void)ex;
    return fedc_fail(err, "no synchronous exchange here");
}
static void live_destroy(fedc_transport *t) {
    live *l = t->self;
    fedc_codec_free(l->up);
}
static const fedc_transport_ops k_live_ops = {.exchange = live_exchange,
                                              .destroy = live_destroy,
                                              .post = live_post,
                                              .collect = live_collect,
                                              .close_posted = live_close};

static void live_init(live *l, fedc_run *r, const int (*script)[SLOTS + 1], int steps) {
    memset(l, 0, sizeof *l);
    l->base.ops = &k_live_ops;
    l->base.self = l;
    l->d = fedc_run_nparams(r);
    fedc_error err;
    l->up = fedc_codec_parse("none", &err);
    assert_non_null(l->up);
    l->script = script;
    l->steps = steps;
}

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->strategy.name, sizeof t->strategy.name, "fedbuff");
    t->strategy.buffer_size = 2;
    t->clients = SLOTS;
    t->clients_per_round = SLOTS;
    t->rounds = 4;
    t->local.batch = 16;
    t->seed = 5;
}

static fedc_run *new_run(fixture *f, const fedc_task *t) {
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    return r;
}

/* The record of ticket k in the last round, or NULL. */
static const fedc_async_update *record_of(const fedc_run *r, int ticket) {
    const fedc_async_update *u;
    int n = fedc_run_async_updates(r, &u);
    for (int i = 0; i < n; i++)
        if (u[i].ticket == ticket) return &u[i];
    return NULL;
}

/* Tickets 1-3 go to the slots at version 0. Collect 1: slots 0 and 1 answer
 * (tickets 1, 2): version 1 of both, fresh; they get tickets 4, 5 at once.
 * Collect 2: slot 0 (ticket 4): one in the buffer. Collect 3: slot 2
 * (ticket 3, model version 0): version 2 of tickets 4 and 3, the latter
 * one version stale. */
static void test_versions_staleness_and_model(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    fedc_run *r = new_run(f, &t);
    static const int script[][SLOTS + 1] = {{0, 1, -1}, {0, -1}, {2, -1}};
    live l;
    live_init(&l, r, script, 3);
    size_t d = fedc_run_nparams(r);
    float *x0 = malloc(d * sizeof *x0);
    memcpy(x0, fedc_run_model(r), d * sizeof *x0);
    fedc_round_metrics m;
    fedc_error err;
    if (fedc_run_round(r, &l.base, &m, &err) != 0) fail_msg("version 1: %s", err.msg);
    assert_int_equal(m.round, 1);
    assert_int_equal(m.participants, 2);
    assert_int_equal(m.staleness_max, 0);
    assert_int_equal(m.in_flight, 1); /* slot 2; slots 0 and 1 get the new model next round */
    assert_non_null(record_of(r, 1));
    assert_non_null(record_of(r, 2));
    assert_int_equal(record_of(r, 1)->staleness, 0);
    /* The same aggregate by hand: the strategy on the same two updates. */
    fedc_strategy *st = fedc_strategy_create(&t, d, t.clients, &err);
    assert_non_null(st);
    float *d1 = malloc(d * sizeof *d1), *d2 = malloc(d * sizeof *d2);
    for (size_t j = 0; j < d; j++) {
        d1[j] = 0.001f;
        d2[j] = 0.002f;
    }
    fedc_update u[2] = {{.client = 0, .weight = 10, .steps = 1, .loss = 0.5, .delta = d1},
                        {.client = 1, .weight = 11, .steps = 1, .loss = 0.5, .delta = d2}};
    fedc_round_ctx rc = {1, t.rounds, 0, NULL, t.local.lr, fedc_task_server_lr(&t, 1)};
    fedc_strategy_round_begin(st, &rc);
    assert_int_equal(fedc_strategy_aggregate(st, x0, u, 2, &rc, &err), 0);
    assert_memory_equal(x0, fedc_run_model(r), d * sizeof *x0);

    if (fedc_run_round(r, &l.base, &m, &err) != 0) fail_msg("version 2: %s", err.msg);
    assert_int_equal(m.round, 2);
    assert_int_equal(m.participants, 2);
    const fedc_async_update *late = record_of(r, 3), *fresh = record_of(r, 4);
    assert_non_null(late);
    assert_non_null(fresh);
    assert_int_equal(late->version, 0);
    assert_int_equal(late->staleness, 1);
    assert_int_equal(fresh->staleness, 0);
    assert_true(fabs(late->stale_weight - pow(2.0, -0.5)) < 1e-12);
    assert_int_equal(m.staleness_hist[0], 1);
    assert_int_equal(m.staleness_hist[1], 1);
    /* Version 2 by hand: ticket 4 (slot 0, fresh) then ticket 3 (slot 2, stale). */
    for (size_t j = 0; j < d; j++) {
        d1[j] = 0.004f;
        d2[j] = 0.003f;
    }
    fedc_update v[2] = {{.client = 0, .weight = 10, .steps = 1, .loss = 0.5, .delta = d1},
                        {.client = 2, .weight = 12, .steps = 1, .loss = 0.5, .staleness = 1, .delta = d2}};
    rc.round = 2;
    fedc_strategy_round_begin(st, &rc);
    assert_int_equal(fedc_strategy_aggregate(st, x0, v, 2, &rc, &err), 0);
    assert_memory_equal(x0, fedc_run_model(r), d * sizeof *x0);
    assert_true(m.bytes_down > 0 && m.bytes_up > 0);
    fedc_strategy_free(st);
    free(d1);
    free(d2);
    free(x0);
    l.base.ops->destroy(&l.base);
    fedc_run_free(r);
}

/* Collect 1: all three answer (tickets 1-3): version 1 takes tickets 1 and
 * 2, ticket 3 stays in the buffer and in the checkpoint. The resumed run
 * aggregates ticket 3 (version 0, so one version stale) in its first
 * version with the next arrival, once; its new tickets follow the
 * checkpoint's. The uninterrupted run does the same. */
static void test_buffer_survives_a_restart(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/fedc-async-live-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ckpt.bin", dir);
    static const int first[][SLOTS + 1] = {{0, 1, 2, -1}};
    fedc_run *a = new_run(f, &t);
    live la;
    live_init(&la, a, first, 1);
    fedc_round_metrics m;
    fedc_error err;
    if (fedc_run_round(a, &la.base, &m, &err) != 0) fail_msg("version 1: %s", err.msg);
    assert_int_equal(m.participants, 2);
    const int *tickets, *clients;
    assert_int_equal(fedc_run_async_buffered(a, &tickets, &clients), 1);
    assert_int_equal(tickets[0], 3);
    assert_int_equal(clients[0], la.client[2]);
    assert_int_equal(fedc_run_checkpoint_save(a, path, &err), 0);

    /* Resumed: slots 0-2 start afresh with tickets 4-6; slot 1 answers. */
    static const int after[][SLOTS + 1] = {{1, -1}};
    fedc_run *b = new_run(f, &t);
    if (fedc_run_checkpoint_load(b, path, &err) != 0) fail_msg("load: %s", err.msg);
    assert_int_equal(fedc_run_rounds_done(b), 1);
    live lb;
    live_init(&lb, b, after, 1);
    if (fedc_run_round(b, &lb.base, &m, &err) != 0) fail_msg("resumed version 2: %s", err.msg);
    assert_int_equal(m.participants, 2);
    const fedc_async_update *held = record_of(b, 3), *next = record_of(b, 5);
    assert_non_null(held);
    assert_non_null(next);
    assert_int_equal(held->status, 1);
    assert_int_equal(held->version, 0);
    assert_int_equal(held->staleness, 1);
    assert_int_equal(next->version, 1);
    assert_int_equal(lb.ticket[0], 4);
    assert_int_equal(fedc_run_async_buffered(b, &tickets, &clients), 0);

    /* The uninterrupted run: slots 0 and 1 get tickets 4, 5; slot 1 answers. */
    static const int cont[][SLOTS + 1] = {{1, -1}};
    la.script = cont;
    la.step = 0;
    if (fedc_run_round(a, &la.base, &m, &err) != 0) fail_msg("version 2: %s", err.msg);
    assert_non_null(record_of(a, 3));
    assert_non_null(record_of(a, 5));
    assert_memory_equal(fedc_run_model(a), fedc_run_model(b), fedc_run_nparams(a) * sizeof(float));

    /* A damaged buffer is refused, naming it (the checksum made to match). */
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc((size_t)n);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    /* The buffered update's client (first u32 after the section's next
     * ticket and count) beyond the clients. The section ends with its one
     * update, just before the checksum. */
    size_t entry = 4 * 4 + 3 * 8 + 8 + fedc_run_nparams(a) * 4 + 4;
    size_t section = (size_t)n - 4 - entry - 8;
    uint32_t next_ticket, bad = 99;
    memcpy(&next_ticket, buf + section, 4);
    assert_int_equal(next_ticket, 4);
    memcpy(buf + section + 8, &bad, 4);
    uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)(n - 4));
    memcpy(buf + n - 4, &crc, 4);
    fp = fopen(path, "wb");
    fwrite(buf, 1, (size_t)n, fp);
    fclose(fp);
    free(buf);
    fedc_run *c = new_run(f, &t);
    assert_int_not_equal(fedc_run_checkpoint_load(c, path, &err), 0);
    if (!strstr(err.msg, "asynchronous buffer")) fail_msg("%s", err.msg);
    assert_int_equal(fedc_run_rounds_done(c), 0);
    fedc_run_free(c);

    la.base.ops->destroy(&la.base);
    lb.base.ops->destroy(&lb.base);
    fedc_run_free(a);
    fedc_run_free(b);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions_staleness_and_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_survives_a_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
