/* In-process transport for simulation: every participant's TRAIN frame is
 * handed to a trainer in the run's thread pool, and its UPDATE frame comes
 * back through the same callbacks a network transport uses. Byte counts are
 * the frame sizes plus the WebSocket headers a deployment would add. */
#include <stdlib.h>
#include <string.h>

#include "fedc/cluster.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/protocol.h"
#include "fedc/state.h"

/* Under a cluster (cluster.h), what this rank's client answered in one
 * exchange slot, held until the ranks swap their results. */
enum { SLOT_NONE = 0, SLOT_REPLY, SLOT_DROP, SLOT_FAILED };
typedef struct slot_result {
    int status;
    uint64_t wire;
    fedc_buf data; /* the reply frame, or the drop reason with its NUL */
    long row;      /* a colluder's benign update: row of remote_benign, -1 = own pending */
    const uint8_t *view; /* after the swap: the slot's bytes in the gathered buffer */
    size_t view_len;
} slot_result;

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
    /* Spread over ranks (cluster.h); NULL in one process. results has
     * deferred_cap entries; pack / gathered / counts: the swap's buffers. */
    fedc_cluster *cl;
    slot_result *results;
    fedc_buf pack, gathered;
    size_t *counts;
    float *remote_benign; /* the other ranks' colluders' benign updates */
    size_t remote_benign_cap;
    uint64_t served; /* clients this rank trained or evaluated */
} sim_transport;

static int owns(const sim_transport *st, int client) {
    return !st->cl || fedc_cluster_owner(st->cl, client) == st->cl->rank;
}

/* A reply goes to the engine at once in one process; under a cluster it
 * waits in its slot for the swap (share_results), which hands every rank
 * every slot's reply in slot order. */
static void deliver_reply(sim_transport *st, int i, const fedc_buf *reply) {
    uint64_t wire = reply->len + fedc_ws_overhead(reply->len, 1, FEDC_WS_FRAGMENT_SIZE);
    if (!st->cl) {
        st->ex->on_reply(st->ex->ctx, i, reply->data, reply->len, wire);
        return;
    }
    slot_result *s = &st->results[i];
    fedc_buf_clear(&s->data);
    s->wire = wire;
    s->status = fedc_buf_append(&s->data, reply->data, reply->len) == 0 ? SLOT_REPLY : SLOT_FAILED;
}

static void deliver_drop(sim_transport *st, int i, const char *reason) {
    if (!st->cl) {
        st->ex->on_drop(st->ex->ctx, i, reason);
        return;
    }
    slot_result *s = &st->results[i];
    fedc_buf_clear(&s->data);
    s->wire = 0;
    s->status = fedc_buf_append(&s->data, reason, strlen(reason) + 1) == 0 ? SLOT_DROP : SLOT_FAILED;
}

static void serve_one(void *ctx, size_t i, int worker) {
    sim_transport *st = ctx;
    const fedc_exchange *ex = st->ex;
    int k = ex->clients[i];
    const fedc_buf *f = &ex->frames[i];
    /* Every rank counts every slot's bytes, as the single process does. */
    ex->on_sent(ex->ctx, (int)i, f->len + fedc_ws_overhead(f->len, 0, FEDC_WS_FRAGMENT_SIZE));
    if (!owns(st, k)) return;
    __atomic_fetch_add(&st->served, 1, __ATOMIC_RELAXED);
    fedc_client_data cd = fedc_run_client_data(st->run, k);
    fedc_error e;
    fedc_buf *reply = &st->replies[worker];
    if (fedc_frame_type(f->data, f->len) == FEDC_MSG_EVALUATE) {
        fedc_client_data test = fedc_run_test_data(st->run, k);
        if (fedc_trainer_evaluate(st->trainers[worker], &test, f->data, f->len, reply, &e) != 0) {
            deliver_drop(st, (int)i, e.msg);
            return;
        }
        deliver_reply(st, (int)i, reply);
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
        deliver_drop(st, (int)i, e.msg);
        return;
    }
    deliver_reply(st, (int)i, reply);
}

/* Second pass for the colluders: each finishes with the pooled statistics. */
static void finish_one(void *ctx, size_t q, int worker) {
    sim_transport *st = ctx;
    const fedc_exchange *ex = st->ex;
    int i = st->deferred[q], k = ex->clients[i];
    if (!owns(st, k)) return;
    fedc_error e;
    fedc_buf *reply = &st->replies[worker];
    fedc_client_mem mem = {.record = fedc_state_acquire(st->store, k, &e),
                           .pending = &st->pending[i],
                           .protocol = st->proto ? &st->proto[k] : NULL};
    int rc = mem.record ? fedc_trainer_finish(st->trainers[worker], k, &mem, &st->peers, reply, &e) : -1;
    if (mem.record) fedc_state_release(st->store, k);
    if (rc != 0) {
        FEDC_WARN("client %d failed to finish its update: %s", k, e.msg);
        deliver_drop(st, i, e.msg);
        return;
    }
    deliver_reply(st, i, reply);
}

/* Bytes appended as they are in memory: both ends are ranks of the same
 * build on the same kind of machine (mpirun starts one binary). */
static int put(fedc_buf *b, const void *p, size_t n) { return n ? fedc_buf_append(b, p, n) : 0; }

/* Under a cluster the colluders of one exchange are spread over the ranks:
 * every rank learns which slots wait and receives the others' benign
 * updates, so each computes the same pooled statistics in slot order. */
static int share_deferred(sim_transport *st, const fedc_exchange *ex, size_t d, fedc_error *err) {
    fedc_buf_clear(&st->pack);
    for (int i = 0; i < ex->n; i++) {
        st->results[i].row = -1;
        if (!st->deferred[i]) continue;
        uint32_t slot = (uint32_t)i;
        if (put(&st->pack, &slot, sizeof slot) != 0 || put(&st->pack, st->pending[i].update, d * sizeof(float)) != 0)
            return fedc_fail(err, "out of memory sharing the colluders' updates");
    }
    if (st->cl->ops->allgather(st->cl, st->pack.data, st->pack.len, &st->gathered, st->counts, err) != 0) return -1;
    size_t rec = sizeof(uint32_t) + d * sizeof(float), rows = st->gathered.len / rec;
    if (rows * rec != st->gathered.len) return fedc_fail(err, "the ranks' colluder updates do not split into records");
    if (rows > st->remote_benign_cap) {
        float *grown = realloc(st->remote_benign, rows * d * sizeof(float));
        if (!grown) return fedc_fail(err, "out of memory for %zu colluders' updates", rows);
        st->remote_benign = grown;
        st->remote_benign_cap = rows;
    }
    size_t off = 0;
    long row = 0;
    for (int r = 0; r < st->cl->size; r++)
        for (size_t end = off + st->counts[r]; off < end; off += rec) {
            uint32_t slot;
            memcpy(&slot, st->gathered.data + off, sizeof slot);
            if (slot >= (uint32_t)ex->n) return fedc_fail(err, "rank %d sent a colluder in slot %u of %d", r, slot, ex->n);
            if (r == st->cl->rank) continue; /* its own wait in pending */
            st->deferred[slot] = 1;
            memcpy(st->remote_benign + (size_t)row * d, st->gathered.data + off + sizeof slot, d * sizeof(float));
            st->results[slot].row = row++;
        }
    return 0;
}

/* The attackers selected this round pool their benign updates, as the
 * papers' colluders do; nobody else's update is read. */
static int collude(sim_transport *st, const fedc_exchange *ex, fedc_error *err) {
    size_t d = fedc_run_nparams(st->run);
    if (st->cl && share_deferred(st, ex, d, err) != 0) return -1;
    int m = 0;
    for (int i = 0; i < ex->n; i++)
        if (st->deferred[i]) st->deferred[m++] = i; /* compact: deferred[q] = slot */
    st->n_deferred = m;
    if (m == 0) return 0;
    if (!st->peer_mean && (!(st->peer_mean = malloc(d * sizeof(float))) || !(st->peer_std = malloc(d * sizeof(float)))))
        return fedc_fail(err, "out of memory for the colluders' statistics");
    for (int q = 0; q < m; q++) {
        int i = st->deferred[q];
        st->benign[q] = st->cl && st->results[i].row >= 0 ? st->remote_benign + (size_t)st->results[i].row * d
                                                          : st->pending[i].update;
    }
    fedc_attack_peers_compute(st->benign, m, d, st->peer_mean, st->peer_std);
    st->peers = (fedc_attack_peers){st->peer_mean, st->peer_std, m};
    fedc_pool_for(fedc_run_pool(st->run), (size_t)m, finish_one, st);
    return 0;
}

/* Under a cluster, every rank sends the results of the slots it owns and
 * receives the others'; each then hands the engine every slot in slot
 * order, so all ranks aggregate the same updates the same way. */
static int share_results(sim_transport *st, const fedc_exchange *ex, fedc_error *err) {
    fedc_buf_clear(&st->pack);
    for (int i = 0; i < ex->n; i++) {
        if (!owns(st, ex->clients[i])) continue;
        slot_result *s = &st->results[i];
        if (s->status == SLOT_FAILED) return fedc_fail(err, "out of memory keeping client %d's reply", ex->clients[i]);
        if (s->status != SLOT_REPLY && s->status != SLOT_DROP)
            return fedc_fail(err, "client %d (exchange slot %d) gave no result", ex->clients[i], i);
        uint32_t head[2] = {(uint32_t)i, (uint32_t)s->status};
        uint64_t meta[2] = {s->wire, s->data.len};
        if (put(&st->pack, head, sizeof head) != 0 || put(&st->pack, meta, sizeof meta) != 0 ||
            put(&st->pack, s->data.data, s->data.len) != 0)
            return fedc_fail(err, "out of memory sending the rank's results");
    }
    if (st->cl->ops->allgather(st->cl, st->pack.data, st->pack.len, &st->gathered, st->counts, err) != 0) return -1;
    for (int i = 0; i < ex->n; i++) st->results[i].view = NULL;
    fedc_reader rd = fedc_reader_make(st->gathered.data, st->gathered.len);
    while (fedc_reader_left(&rd) > 0) {
        uint32_t head[2];
        uint64_t meta[2];
        const uint8_t *p;
        if (fedc_read_bytes(&rd, head, sizeof head) != 0 || fedc_read_bytes(&rd, meta, sizeof meta) != 0 ||
            meta[1] > fedc_reader_left(&rd) || fedc_read_view(&rd, &p, (size_t)meta[1]) != 0)
            return fedc_fail(err, "the ranks' results are truncated");
        if (head[0] >= (uint32_t)ex->n || st->results[head[0]].view ||
            (head[1] != SLOT_REPLY && head[1] != SLOT_DROP) || meta[1] == 0 ||
            (head[1] == SLOT_DROP && p[meta[1] - 1] != 0))
            return fedc_fail(err, "the ranks' results hold a malformed record for slot %u", head[0]);
        slot_result *s = &st->results[head[0]];
        s->status = (int)head[1];
        s->wire = meta[0];
        s->view = p;
        s->view_len = (size_t)meta[1];
    }
    for (int i = 0; i < ex->n; i++)
        if (!st->results[i].view) return fedc_fail(err, "no rank answered for client %d (slot %d)", ex->clients[i], i);
    for (int i = 0; i < ex->n; i++) {
        const slot_result *s = &st->results[i];
        if (s->status == SLOT_REPLY) ex->on_reply(ex->ctx, i, s->view, s->view_len, s->wire);
        else ex->on_drop(ex->ctx, i, (const char *)s->view);
    }
    return 0;
}

/* A rank that cannot take its part in a collective would leave the others
 * waiting for it forever: the whole job stops, saying why. */
static int cluster_failed(sim_transport *st, fedc_error *err) {
    if (st->cl) st->cl->ops->abort(st->cl, err->msg);
    return -1;
}

static int sim_exchange(fedc_transport *t, const fedc_exchange *ex, fedc_error *err) {
    sim_transport *st = t->self;
    /* A federated-evaluation exchange may ask more clients than a training
     * round (eval.clients), so the per-slot flags grow to the exchange. */
    if (ex->n > st->deferred_cap) {
        int *grown = realloc(st->deferred, (size_t)ex->n * sizeof *grown);
        if (!grown) {
            fedc_fail(err, "out of memory for %d exchange slots", ex->n);
            return cluster_failed(st, err);
        }
        st->deferred = grown;
        if (st->cl) {
            slot_result *more = realloc(st->results, (size_t)ex->n * sizeof *more);
            if (!more) {
                fedc_fail(err, "out of memory for %d exchange slots", ex->n);
                return cluster_failed(st, err);
            }
            memset(more + st->deferred_cap, 0, (size_t)(ex->n - st->deferred_cap) * sizeof *more);
            st->results = more;
        }
        st->deferred_cap = ex->n;
    }
    st->ex = ex;
    memset(st->deferred, 0, (size_t)ex->n * sizeof *st->deferred);
    if (st->cl)
        for (int i = 0; i < ex->n; i++) st->results[i].status = SLOT_NONE;
    fedc_pool_for(fedc_run_pool(st->run), (size_t)ex->n, serve_one, st);
    int rc = collude(st, ex, err);
    if (rc == 0 && st->cl) rc = share_results(st, ex, err);
    st->ex = NULL;
    return rc == 0 ? 0 : cluster_failed(st, err);
}

/* Per-client evaluation of client i on worker `worker`: a client that never
 * trained holds no record (and none is made for it). */
static void eval_one(void *ctx, size_t i, int worker) {
    sim_transport *st = ctx;
    int k = (int)i;
    if (!owns(st, k)) return; /* its state, if any, lives on its owner */
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

/* Under a cluster each rank evaluated the clients it owns: the ranks swap
 * their scores (and whether any failed), so all hold every client's. */
static int share_client_scores(sim_transport *st, int n, fedc_error *err) {
    fedc_buf_clear(&st->pack);
    uint32_t failed = (uint32_t)st->eval_failed;
    if (put(&st->pack, &failed, sizeof failed) != 0) return fedc_fail(err, "out of memory sending client scores");
    for (int k = st->cl->rank; k < n; k += st->cl->size) {
        double v[2] = {st->eval_global[k], st->eval_own[k]};
        if (put(&st->pack, v, sizeof v) != 0) return fedc_fail(err, "out of memory sending client scores");
    }
    if (st->cl->ops->allgather(st->cl, st->pack.data, st->pack.len, &st->gathered, st->counts, err) != 0) return -1;
    const uint8_t *p = st->gathered.data;
    for (int r = 0; r < st->cl->size; r++) {
        size_t owned = r < n ? (size_t)((n - 1 - r) / st->cl->size + 1) : 0;
        if (st->counts[r] != sizeof failed + owned * 2 * sizeof(double))
            return fedc_fail(err, "rank %d sent %zu bytes of client scores, %zu expected", r, st->counts[r],
                             sizeof failed + owned * 2 * sizeof(double));
        memcpy(&failed, p, sizeof failed);
        if (failed) st->eval_failed = 1;
        p += sizeof failed;
        for (int k = r; k < n; k += st->cl->size, p += 2 * sizeof(double)) {
            double v[2];
            memcpy(v, p, sizeof v);
            st->eval_global[k] = v[0];
            st->eval_own[k] = v[1];
        }
    }
    return 0;
}

static int sim_client_eval(void *ctx, const float *x, int round, double *acc_global, double *acc_own,
                           fedc_error *err) {
    sim_transport *st = ctx;
    st->eval_x = x;
    st->eval_round = round;
    st->eval_global = acc_global;
    st->eval_own = acc_own;
    st->eval_failed = 0;
    int n = fedc_run_task(st->run)->clients;
    fedc_pool_for(fedc_run_pool(st->run), (size_t)n, eval_one, st);
    if (st->cl && share_client_scores(st, n, err) != 0) return cluster_failed(st, err);
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
    if (st->results)
        for (int i = 0; i < st->deferred_cap; i++) fedc_buf_free(&st->results[i].data);
    free(st->results);
    fedc_buf_free(&st->pack);
    fedc_buf_free(&st->gathered);
    free(st->counts);
    free(st->remote_benign);
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

int fedc_sim_transport_set_cluster(fedc_transport *t, fedc_cluster *c, fedc_error *err) {
    if (!t || t->ops != &k_sim_ops) return fedc_fail(err, "not a simulation transport");
    sim_transport *st = t->self;
    if (!c || c->size < 1 || c->rank < 0 || c->rank >= c->size)
        return fedc_fail(err, "a cluster needs 0 <= rank < size (rank %d, size %d)", c ? c->rank : -1, c ? c->size : 0);
    if (st->cl) return fedc_fail(err, "the simulation transport already runs over a cluster");
    st->results = calloc((size_t)st->deferred_cap, sizeof *st->results);
    st->counts = calloc((size_t)c->size, sizeof *st->counts);
    if (!st->results || !st->counts) {
        free(st->results);
        free(st->counts);
        st->results = NULL;
        st->counts = NULL;
        return fedc_fail(err, "out of memory for a cluster of %d ranks", c->size);
    }
    st->cl = c;
    return 0;
}

uint64_t fedc_sim_transport_served(fedc_transport *t) {
    if (!t || t->ops != &k_sim_ops) return 0;
    return ((sim_transport *)t->self)->served;
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
    if (client < 0 || client >= fedc_run_task(st->run)->clients || !owns(st, client)) return -1;
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
