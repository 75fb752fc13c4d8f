/* In-process transport for simulation: every participant's TRAIN frame is
 * handed to a trainer in the run's thread pool, and its UPDATE frame comes
 * back through the same callbacks a network transport uses. Byte counts are
 * the frame sizes plus the WebSocket headers a deployment would add. */
#include <stdlib.h>
#include <string.h>

#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/protocol.h"
#include "fedc/state.h"

typedef struct sim_transport {
    fedc_transport base;
    fedc_run *run;
    fedc_trainer **trainers;   /* one per worker thread */
    fedc_state_store *store;   /* per-client records, created on first training, spilled past state.memory_mb */
    fedc_buf *replies;         /* per worker */
    fedc_protocol_client **proto; /* per client: round-protocol state between steps, or NULL */
    int nworkers;
    const fedc_exchange *ex;
    /* Per-client evaluation in progress (client_eval). */
    const float *eval_x;
    int eval_round, eval_failed;
    double *eval_global, *eval_own;
    /* Colluding attackers (alie, ipm): their benign updates per participant
     * slot, and the statistics they pool. */
    fedc_pending_update *pending;
    int n_pending;
    int *deferred, n_deferred, deferred_cap; /* cap: slots of the largest exchange so far */
    const float **benign;
    float *peer_mean, *peer_std;
    fedc_attack_peers peers;
} sim_transport;

static void serve_one(void *ctx, size_t i, int worker) {
    sim_transport *st = ctx;
    const fedc_exchange *ex = st->ex;
    int k = ex->clients[i];
    const fedc_buf *f = &ex->frames[i];
    ex->on_sent(ex->ctx, (int)i, f->len + fedc_ws_overhead(f->len, 0, FEDC_WS_FRAGMENT_SIZE));
    fedc_client_data cd = fedc_run_client_data(st->run, k);
    fedc_error e;
    fedc_buf *reply = &st->replies[worker];
    if (fedc_frame_type(f->data, f->len) == FEDC_MSG_EVALUATE) {
        fedc_client_data test = fedc_run_test_data(st->run, k);
        if (fedc_trainer_evaluate(st->trainers[worker], &test, f->data, f->len, reply, &e) != 0) {
            ex->on_drop(ex->ctx, (int)i, e.msg);
            return;
        }
        ex->on_reply(ex->ctx, (int)i, reply->data, reply->len,
                     reply->len + fedc_ws_overhead(reply->len, 1, FEDC_WS_FRAGMENT_SIZE));
        return;
    }
    fedc_client_mem mem = {.record = fedc_state_acquire(st->store, k, &e),
                           .pending = &st->pending[i],
                           .protocol = st->proto ? &st->proto[k] : NULL};
    int rc = mem.record ? fedc_trainer_handle(st->trainers[worker], k, &cd, &mem, f->data, f->len, reply, &e) : -1;
    if (mem.record) fedc_state_release(st->store, k);
    if (rc == FEDC_TRAINER_DEFERRED) {
        st->deferred[i] = 1; /* its own slot: no other thread writes it */
        return;
    }
    if (rc != 0) {
        FEDC_WARN("client %d failed to train: %s", k, e.msg);
        ex->on_drop(ex->ctx, (int)i, e.msg);
        return;
    }
    ex->on_reply(ex->ctx, (int)i, reply->data, reply->len,
                 reply->len + fedc_ws_overhead(reply->len, 1, FEDC_WS_FRAGMENT_SIZE));
}

/* Second pass for the colluders: each finishes with the pooled statistics. */
static void finish_one(void *ctx, size_t q, int worker) {
    sim_transport *st = ctx;
    const fedc_exchange *ex = st->ex;
    int i = st->deferred[q], k = ex->clients[i];
    fedc_error e;
    fedc_buf *reply = &st->replies[worker];
    fedc_client_mem mem = {.record = fedc_state_acquire(st->store, k, &e),
                           .pending = &st->pending[i],
                           .protocol = st->proto ? &st->proto[k] : NULL};
    int rc = mem.record ? fedc_trainer_finish(st->trainers[worker], k, &mem, &st->peers, reply, &e) : -1;
    if (mem.record) fedc_state_release(st->store, k);
    if (rc != 0) {
        FEDC_WARN("client %d failed to finish its update: %s", k, e.msg);
        ex->on_drop(ex->ctx, i, e.msg);
        return;
    }
    ex->on_reply(ex->ctx, i, reply->data, reply->len,
                 reply->len + fedc_ws_overhead(reply->len, 1, FEDC_WS_FRAGMENT_SIZE));
}

/* The attackers selected this round pool their benign updates, as the
 * papers' colluders do; nobody else's update is read. */
static int collude(sim_transport *st, const fedc_exchange *ex, fedc_error *err) {
    size_t d = fedc_run_nparams(st->run);
    int m = 0;
    for (int i = 0; i < ex->n; i++)
        if (st->deferred[i]) st->deferred[m++] = i; /* compact: deferred[q] = slot */
    st->n_deferred = m;
    if (m == 0) return 0;
    if (!st->peer_mean && (!(st->peer_mean = malloc(d * sizeof(float))) || !(st->peer_std = malloc(d * sizeof(float)))))
        return fedc_fail(err, "out of memory for the colluders' statistics");
    for (int q = 0; q < m; q++) st->benign[q] = st->pending[st->deferred[q]].update;
    fedc_attack_peers_compute(st->benign, m, d, st->peer_mean, st->peer_std);
    st->peers = (fedc_attack_peers){st->peer_mean, st->peer_std, m};
    fedc_pool_for(fedc_run_pool(st->run), (size_t)m, finish_one, st);
    return 0;
}

static int sim_exchange(fedc_transport *t, const fedc_exchange *ex, fedc_error *err) {
    sim_transport *st = t->self;
    /* A federated-evaluation exchange may ask more clients than a training
     * round (eval.clients), so the per-slot flags grow to the exchange. */
    if (ex->n > st->deferred_cap) {
        int *grown = realloc(st->deferred, (size_t)ex->n * sizeof *grown);
        if (!grown) return fedc_fail(err, "out of memory for %d exchange slots", ex->n);
        st->deferred = grown;
        st->deferred_cap = ex->n;
    }
    st->ex = ex;
    memset(st->deferred, 0, (size_t)ex->n * sizeof *st->deferred);
    fedc_pool_for(fedc_run_pool(st->run), (size_t)ex->n, serve_one, st);
    int rc = collude(st, ex, err);
    st->ex = NULL;
    return rc;
}

/* Per-client evaluation of client i on worker `worker`: a client that never
 * trained holds no record (and none is made for it). */
static void eval_one(void *ctx, size_t i, int worker) {
    sim_transport *st = ctx;
    int k = (int)i;
    fedc_client_data cd = fedc_run_client_data(st->run, k);
    if (cd.split_n == 0) return;
    fedc_error e;
    void *record = NULL;
    if (fedc_state_has(st->store, k) && !(record = fedc_state_acquire(st->store, k, &e))) {
        FEDC_WARN("client %d: per-client evaluation without its state: %s", k, e.msg);
        st->eval_failed = 1;
        return;
    }
    if (fedc_trainer_client_eval(st->trainers[worker], k, st->eval_round, &cd, record, st->eval_x,
                                 fedc_run_client_model(st->run, k), &st->eval_global[k], &st->eval_own[k], &e) != 0) {
        FEDC_WARN("client %d: per-client evaluation failed: %s", k, e.msg);
        st->eval_failed = 1;
    }
    if (record) fedc_state_release(st->store, k);
}

static int sim_client_eval(void *ctx, const float *x, int round, double *acc_global, double *acc_own,
                           fedc_error *err) {
    sim_transport *st = ctx;
    st->eval_x = x;
    st->eval_round = round;
    st->eval_global = acc_global;
    st->eval_own = acc_own;
    st->eval_failed = 0;
    fedc_pool_for(fedc_run_pool(st->run), (size_t)fedc_run_task(st->run)->clients, eval_one, st);
    if (st->eval_failed) return fedc_fail(err, "some clients could not be evaluated (see the warnings)");
    return 0;
}

static void sim_destroy(fedc_transport *t) {
    if (!t) return;
    sim_transport *st = t->self;
    fedc_run_set_client_evaluator(st->run, NULL, NULL);
    for (int i = 0; i < st->nworkers; i++) {
        fedc_trainer_free(st->trainers[i]);
        fedc_buf_free(&st->replies[i]);
    }
    fedc_state_free(st->store);
    if (st->pending)
        for (int i = 0; i < st->n_pending; i++) fedc_pending_free(&st->pending[i]);
    free(st->pending);
    free(st->deferred);
    free(st->benign);
    free(st->peer_mean);
    free(st->peer_std);
    if (st->proto)
        for (int k = 0; k < fedc_run_task(st->run)->clients; k++)
            if (st->proto[k]) st->proto[k]->free_state(st->proto[k]);
    free(st->proto);
    free(st->trainers);
    free(st->replies);
    free(st);
}

static const fedc_transport_ops k_sim_ops = {.exchange = sim_exchange, .destroy = sim_destroy};

fedc_transport *fedc_sim_transport_create(fedc_run *r, fedc_error *err) {
    if (!fedc_run_arch(r)) {
        fedc_fail(err, "model external: the nodes' own model trains only in a deployment (fedc server and nodes); "
                       "a simulation needs a built-in model");
        return NULL;
    }
    sim_transport *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->base.ops = &k_sim_ops;
    st->base.self = st;
    st->run = r;
    st->nworkers = fedc_pool_size(fedc_run_pool(r));
    st->trainers = calloc((size_t)st->nworkers, sizeof *st->trainers);
    st->replies = calloc((size_t)st->nworkers, sizeof *st->replies);
    st->n_pending = fedc_run_task(r)->clients_per_round + 1;
    st->pending = calloc((size_t)st->n_pending, sizeof *st->pending);
    st->deferred = calloc((size_t)st->n_pending, sizeof *st->deferred);
    st->deferred_cap = st->n_pending;
    st->benign = calloc((size_t)st->n_pending, sizeof *st->benign);
    if (fedc_protocol_for_task(fedc_run_task(r)))
        st->proto = calloc((size_t)fedc_run_task(r)->clients, sizeof *st->proto);
    if (!st->trainers || !st->replies || !st->pending || !st->deferred || !st->benign ||
        (fedc_protocol_for_task(fedc_run_task(r)) && !st->proto)) {
        fedc_fail(err, "out of memory creating the simulation transport");
        sim_destroy(&st->base);
        return NULL;
    }
    for (int i = 0; i < st->nworkers; i++) {
        st->trainers[i] = fedc_trainer_create(fedc_run_task(r), fedc_run_arch(r), err);
        if (!st->trainers[i]) {
            sim_destroy(&st->base);
            return NULL;
        }
    }
    const fedc_task *t = fedc_run_task(r);
    fedc_state_config sc = {fedc_trainer_record_size(st->trainers[0]), (size_t)(t->state.memory_mb * 1048576.0),
                            t->state.spill_dir};
    if (!(st->store = fedc_state_create(&sc, t->clients, err))) {
        sim_destroy(&st->base);
        return NULL;
    }
    fedc_run_set_client_evaluator(r, sim_client_eval, st);
    return &st->base;
}

int fedc_sim_transport_state_stats(fedc_transport *t, fedc_state_stats *out) {
    if (!t || t->ops != &k_sim_ops) return -1;
    sim_transport *st = t->self;
    fedc_state_stats_get(st->store, out);
    return 0;
}

/* Reads one client's record through the first trainer (all share a layout). */
static int peek_record(fedc_transport *t, int client, void **record) {
    if (!t || t->ops != &k_sim_ops) return -1;
    sim_transport *st = t->self;
    if (client < 0 || client >= fedc_run_task(st->run)->clients) return -1;
    fedc_error e;
    *record = fedc_state_acquire(st->store, client, &e);
    return *record ? 0 : -1;
}

long fedc_sim_transport_local_params(fedc_transport *t, int client, float *out, size_t cap) {
    void *record;
    if (peek_record(t, client, &record) != 0) return -1;
    sim_transport *st = t->self;
    long n = fedc_trainer_record_local_params(st->trainers[0], record, out, cap);
    fedc_state_release(st->store, client);
    return n;
}

long long fedc_sim_transport_optim_steps(fedc_transport *t, int client) {
    void *record;
    if (peek_record(t, client, &record) != 0) return -1;
    sim_transport *st = t->self;
    long long n = fedc_trainer_record_optim_steps(st->trainers[0], record);
    fedc_state_release(st->store, client);
    return n;
}
