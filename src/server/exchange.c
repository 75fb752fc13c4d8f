/* The WebSocket implementation of fedc_transport, runner-thread side: one
 * exchange hands each participant's TRAIN frame to the service thread (one
 * shared payload for identical frames), then waits for SENT / REPLY / DROP
 * events until every participant has answered or been dropped, or the
 * round deadline passes. Each active run has its own exchange; events find
 * theirs by generation. Replies are checked by the engine's on_reply in
 * the run's thread pool, never on the network thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "server/server_internal.h"

/* The exchange kept open across rounds (post / collect), if any. */
typedef struct posted {
    int open, n;
    uint64_t gen;
    fedc_ws_payload **payload;
    int *rounds;
    char *pending;      /* posted, not yet answered or dropped */
    double *posted_at;  /* wall clock of the post, for the deadline */
    int *clients;
    double deadline_s;
    void (*on_sent)(void *ctx, int i, uint64_t wire_bytes);
    void (*on_reply)(void *ctx, int i, const uint8_t *frame, size_t len, uint64_t wire_bytes);
    void (*on_drop)(void *ctx, int i, const char *reason);
    void *ctx;
    xevent **batch;
} posted;

typedef struct ws_transport {
    fedc_transport base;
    runner *r;
    posted p;
} ws_transport;

xchg *exchange_find(fedc_server *s, uint64_t gen) {
    for (active_run *ar = s->active; gen && ar; ar = ar->next)
        if (ar->x.active && ar->x.gen == gen) return &ar->x;
    return NULL;
}

void exchange_push(fedc_server *s, xchg *x, int kind, int i, uint64_t wire, fedc_buf *msg, const char *reason) {
    xevent *ev = calloc(1, sizeof *ev);
    if (!ev) return;
    ev->kind = kind;
    ev->i = i;
    ev->wire = wire;
    if (msg) {
        ev->msg = *msg; /* take the buffer */
        memset(msg, 0, sizeof *msg);
    }
    if (reason) snprintf(ev->reason, sizeof ev->reason, "%s", reason);
    if (x->tail) x->tail->next = ev;
    else x->head = ev;
    x->tail = ev;
    pthread_cond_broadcast(&s->cv);
}

/* The updates' memory goes back to the transport, which assembles the next
 * round's updates in it (fresh memory would be faulted in page by page). */
static void free_events(fedc_server *s, xevent *ev) {
    while (ev) {
        xevent *n = ev->next;
        fedc_ws_server_recycle(s->ws, &ev->msg);
        free(ev);
        ev = n;
    }
}

typedef struct reply_batch {
    const fedc_exchange *ex;
    xevent **items;
} reply_batch;

static void check_reply(void *ctx, size_t k, int worker) {
    (void)worker;
    reply_batch *b = ctx;
    xevent *ev = b->items[k];
    b->ex->on_reply(b->ex->ctx, ev->i, ev->msg.data, ev->msg.len, ev->wire);
}

static void deadline_ts(struct timespec *ts, double s) {
    clock_gettime(CLOCK_REALTIME, ts);
    double whole = (double)(long)s;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int ws_exchange(fedc_transport *t, const fedc_exchange *ex, fedc_error *err) {
    runner *r = ((ws_transport *)t->self)->r;
    fedc_server *s = r->s;
    active_run *ar = r->ar; /* set and cleared by this thread */
    xchg *x = &ar->x;
    int n = ex->n, rc = 0;
    if (((ws_transport *)t->self)->p.open)
        return fedc_fail(err, "round %d: the run's asynchronous exchange is open; no other exchange can run beside it",
                         ex->round);
    char *done = calloc((size_t)n + 1, 1);
    fedc_ws_payload **payload = calloc((size_t)n + 1, sizeof *payload);
    xevent **batch = calloc((size_t)n + 1, sizeof *batch);
    if (!done || !payload || !batch) {
        free(done);
        free(payload);
        free(batch);
        return fedc_fail(err, "out of memory starting round %d", ex->round);
    }
    /* Identical frames (an exact downlink) share one copy. */
    for (int i = 0; i < n; i++) {
        if (i > 0 && ex->frames[i].data == ex->frames[i - 1].data && ex->frames[i].len == ex->frames[i - 1].len)
            payload[i] = fedc_ws_payload_ref(payload[i - 1]);
        else
            payload[i] = fedc_ws_payload_copy(ex->frames[i].data, ex->frames[i].len);
        if (!payload[i]) {
            for (int j = 0; j < i; j++) fedc_ws_payload_unref(payload[j]);
            free(done);
            free(payload);
            free(batch);
            return fedc_fail(err, "out of memory queueing round %d", ex->round);
        }
    }
    pthread_mutex_lock(&s->mu);
    x->active = 1;
    x->gen = ++s->xgen;
    x->round = ex->round;
    x->n = n;
    x->payload = payload;
    for (int i = 0; i < n; i++) {
        node_session *holder = NULL;
        for (node_session *ns = s->sessions; ns; ns = ns->next)
            if (ns->authed && !ns->closing && ns->run_id == ar->id && ns->slot == ex->clients[i]) holder = ns;
        if (!holder) {
            exchange_push(s, x, XEV_DROP, i, 0, NULL, "no connected node holds this client slot");
            continue;
        }
        if (fedc_frame_type(ex->frames[i].data, ex->frames[i].len) == FEDC_MSG_EVALUATE && !holder->cap_evaluate) {
            /* A node of an earlier version would not know the message. */
            exchange_push(s, x, XEV_DROP, i, 0, NULL, "the node does not do federated evaluation");
            continue;
        }
        holder->out_active = 1;
        holder->out_send = 1;
        holder->out_gen = x->gen;
        holder->out_i = i;
    }
    uint64_t gen = x->gen;
    pthread_mutex_unlock(&s->mu);
    fedc_ws_server_wake(s->ws);

    double t_end = ex->deadline_s > 0 ? fedc_wall_s() + ex->deadline_s : 0;
    int left = n;
    while (left > 0) {
        pthread_mutex_lock(&s->mu);
        while (!x->head && !s->stopping && !r->cancel) {
            if (t_end > 0) {
                double wait = t_end - fedc_wall_s();
                if (wait <= 0) break;
                struct timespec ts;
                deadline_ts(&ts, wait);
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            } else {
                pthread_cond_wait(&s->cv, &s->mu);
            }
        }
        xevent *evs = x->head;
        x->head = x->tail = NULL;
        int stop = s->stopping, cancel = r->cancel;
        pthread_mutex_unlock(&s->mu);
        int nb = 0;
        for (xevent *ev = evs; ev; ev = ev->next) {
            if (ev->i < 0 || ev->i >= n || done[ev->i]) continue;
            if (ev->kind == XEV_SENT) {
                ex->on_sent(ex->ctx, ev->i, ev->wire);
            } else if (ev->kind == XEV_DROP) {
                ex->on_drop(ex->ctx, ev->i, ev->reason);
                FEDC_WARN("run %lld round %d: client slot %d dropped: %s", (long long)ar->id, ex->round,
                          ex->clients[ev->i], ev->reason);
                done[ev->i] = 1;
                left--;
            } else if (ev->kind == XEV_REPLY) {
                batch[nb++] = ev;
                done[ev->i] = 1;
                left--;
            }
        }
        if (nb) {
            /* The checks (decode, lengths, NaN/Inf) run side by side. */
            reply_batch b = {ex, batch};
            if (nb > 1 && ar->pool) fedc_pool_for(ar->pool, (size_t)nb, check_reply, &b);
            else
                for (int k = 0; k < nb; k++) check_reply(&b, (size_t)k, 0);
        }
        free_events(s, evs);
        if (stop || cancel) {
            rc = fedc_fail(err, "round %d abandoned: %s", ex->round, stop ? "the server is stopping" : "run cancelled");
            break;
        }
        if (left > 0 && t_end > 0 && fedc_wall_s() >= t_end) {
            char why[96];
            snprintf(why, sizeof why, "no update within the %.1f s round deadline", ex->deadline_s);
            for (int i = 0; i < n; i++)
                if (!done[i]) {
                    ex->on_drop(ex->ctx, i, why);
                    FEDC_WARN("run %lld round %d: client slot %d dropped: %s", (long long)ar->id, ex->round,
                              ex->clients[i], why);
                }
            break;
        }
    }
    /* Close the exchange: late updates are dropped from now on. */
    pthread_mutex_lock(&s->mu);
    x->active = 0;
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->out_active && ns->out_gen == gen) {
            ns->out_active = 0;
            ns->out_send = 0;
        }
    xevent *rest = x->head;
    x->head = x->tail = NULL;
    x->payload = NULL;
    pthread_mutex_unlock(&s->mu);
    free_events(s, rest);
    /* Queued copies hold their own references. */
    for (int i = 0; i < n; i++) fedc_ws_payload_unref(payload[i]);
    free(payload);
    free(done);
    free(batch);
    return rc;
}

/* ---- The exchange kept open across rounds (asynchronous strategies) ----- */

/* Under s->mu: participant i of the posted exchange is no longer waited
 * for: the node holding it is released (its answer, if it comes, is late)
 * and events of i already queued are discarded, so they cannot be taken
 * for those of the next frame posted at i. */
static void posted_release(fedc_server *s, xchg *x, uint64_t gen, int i) {
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->out_active && ns->out_gen == gen && ns->out_i == i) {
            ns->out_active = 0;
            ns->out_send = 0;
        }
    xevent **pp = &x->head, *keep_tail = NULL;
    while (*pp) {
        xevent *ev = *pp;
        if (ev->i == i && ev->kind != XEV_SENT) {
            *pp = ev->next;
            fedc_ws_server_recycle(s->ws, &ev->msg);
            free(ev);
        } else {
            keep_tail = ev;
            pp = &ev->next;
        }
    }
    x->tail = keep_tail;
}

static void posted_free(posted *p) {
    free(p->payload);
    free(p->rounds);
    free(p->pending);
    free(p->posted_at);
    free(p->clients);
    free(p->batch);
    memset(p, 0, sizeof *p);
}

static int posted_open(ws_transport *w, const fedc_exchange *ex, fedc_error *err) {
    posted *p = &w->p;
    int n = ex->n;
    p->payload = calloc((size_t)n + 1, sizeof *p->payload);
    p->rounds = calloc((size_t)n + 1, sizeof *p->rounds);
    p->pending = calloc((size_t)n + 1, 1);
    p->posted_at = calloc((size_t)n + 1, sizeof *p->posted_at);
    p->clients = calloc((size_t)n + 1, sizeof *p->clients);
    p->batch = calloc((size_t)n + 1, sizeof *p->batch);
    if (!p->payload || !p->rounds || !p->pending || !p->posted_at || !p->clients || !p->batch) {
        posted_free(p);
        return fedc_fail(err, "out of memory opening the asynchronous exchange");
    }
    fedc_server *s = w->r->s;
    xchg *x = &w->r->ar->x;
    pthread_mutex_lock(&s->mu);
    x->active = 1;
    x->gen = ++s->xgen;
    x->round = ex->round;
    x->n = n;
    x->payload = p->payload;
    x->rounds = p->rounds;
    p->gen = x->gen;
    pthread_mutex_unlock(&s->mu);
    p->open = 1;
    p->n = n;
    return 0;
}

static int ws_post(fedc_transport *t, const fedc_exchange *ex, const char *send, fedc_error *err) {
    ws_transport *w = t->self;
    posted *p = &w->p;
    runner *r = w->r;
    fedc_server *s = r->s;
    if (p->open && ex->n != p->n)
        return fedc_fail(err, "round %d: the asynchronous exchange has %d participants, not %d", ex->round, p->n,
                         ex->n);
    if (!p->open && posted_open(w, ex, err) != 0) return -1;
    p->deadline_s = ex->deadline_s;
    p->on_sent = ex->on_sent;
    p->on_reply = ex->on_reply;
    p->on_drop = ex->on_drop;
    p->ctx = ex->ctx;
    /* Identical frames (an exact downlink) share one copy. */
    fedc_ws_payload **fresh = calloc((size_t)p->n + 1, sizeof *fresh);
    if (!fresh) return fedc_fail(err, "out of memory queueing round %d", ex->round);
    int last = -1;
    for (int i = 0; i < p->n; i++) {
        if (!send[i]) continue;
        if (last >= 0 && ex->frames[i].data == ex->frames[last].data && ex->frames[i].len == ex->frames[last].len)
            fresh[i] = fedc_ws_payload_ref(fresh[last]);
        else
            fresh[i] = fedc_ws_payload_copy(ex->frames[i].data, ex->frames[i].len);
        if (!fresh[i]) {
            for (int j = 0; j < i; j++)
                if (fresh[j]) fedc_ws_payload_unref(fresh[j]);
            free(fresh);
            return fedc_fail(err, "out of memory queueing round %d", ex->round);
        }
        last = i;
    }
    xchg *x = &r->ar->x;
    double now = fedc_wall_s();
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < p->n; i++) {
        if (!send[i]) continue;
        posted_release(s, x, p->gen, i);
        /* Queued copies hold their own references. */
        if (p->payload[i]) fedc_ws_payload_unref(p->payload[i]);
        p->payload[i] = fresh[i];
        p->rounds[i] = ex->round;
        p->clients[i] = ex->clients[i];
        p->pending[i] = 1;
        p->posted_at[i] = now;
        node_session *holder = NULL;
        for (node_session *ns = s->sessions; ns; ns = ns->next)
            if (ns->authed && !ns->closing && ns->run_id == r->ar->id && ns->slot == ex->clients[i]) holder = ns;
        if (!holder) {
            exchange_push(s, x, XEV_DROP, i, 0, NULL, "no connected node holds this client slot");
            continue;
        }
        holder->out_active = 1;
        holder->out_send = 1;
        holder->out_gen = p->gen;
        holder->out_i = i;
    }
    pthread_mutex_unlock(&s->mu);
    free(fresh);
    fedc_ws_server_wake(s->ws);
    return 0;
}

static int ws_collect(fedc_transport *t, double until_s, fedc_error *err) {
    ws_transport *w = t->self;
    posted *p = &w->p;
    runner *r = w->r;
    fedc_server *s = r->s;
    if (!p->open) return fedc_fail(err, "no asynchronous exchange is open");
    xchg *x = &r->ar->x;
    int finished = 0;
    for (;;) {
        /* The earliest participant deadline bounds the wait too. */
        double wake = until_s;
        for (int i = 0; p->deadline_s > 0 && i < p->n; i++)
            if (p->pending[i] && p->posted_at[i] + p->deadline_s < wake) wake = p->posted_at[i] + p->deadline_s;
        pthread_mutex_lock(&s->mu);
        while (!x->head && !s->stopping && !r->cancel) {
            double left = wake - fedc_wall_s();
            if (left <= 0) break;
            struct timespec ts;
            deadline_ts(&ts, left);
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        xevent *evs = x->head;
        x->head = x->tail = NULL;
        int stop = s->stopping, cancel = r->cancel;
        pthread_mutex_unlock(&s->mu);
        int nb = 0;
        for (xevent *ev = evs; ev; ev = ev->next) {
            if (ev->i < 0 || ev->i >= p->n) continue;
            if (ev->kind == XEV_SENT) {
                p->on_sent(p->ctx, ev->i, ev->wire);
            } else if (p->pending[ev->i]) {
                p->pending[ev->i] = 0;
                finished++;
                if (ev->kind == XEV_DROP) {
                    p->on_drop(p->ctx, ev->i, ev->reason);
                    FEDC_WARN("run %lld round %d: client slot %d dropped: %s", (long long)r->ar->id, p->rounds[ev->i],
                              p->clients[ev->i], ev->reason);
                } else {
                    p->batch[nb++] = ev;
                }
            }
        }
        if (nb) {
            fedc_exchange ex = {.on_reply = p->on_reply, .ctx = p->ctx};
            reply_batch b = {&ex, p->batch};
            if (nb > 1 && r->ar->pool) fedc_pool_for(r->ar->pool, (size_t)nb, check_reply, &b);
            else
                for (int k = 0; k < nb; k++) check_reply(&b, (size_t)k, 0);
        }
        free_events(s, evs);
        if (stop || cancel)
            return fedc_fail(err, "asynchronous exchange abandoned: %s",
                             stop ? "the server is stopping" : "run cancelled");
        double now = fedc_wall_s();
        for (int i = 0; p->deadline_s > 0 && i < p->n; i++) {
            if (!p->pending[i] || now < p->posted_at[i] + p->deadline_s) continue;
            char why[96];
            snprintf(why, sizeof why, "no update within %.1f s (deploy.round_timeout_s)", p->deadline_s);
            pthread_mutex_lock(&s->mu);
            posted_release(s, x, p->gen, i);
            pthread_mutex_unlock(&s->mu);
            p->pending[i] = 0;
            finished++;
            p->on_drop(p->ctx, i, why);
            FEDC_WARN("run %lld round %d: client slot %d dropped: %s", (long long)r->ar->id, p->rounds[i],
                      p->clients[i], why);
        }
        if (finished > 0 || now >= until_s) return finished;
    }
}

static void ws_close_posted(fedc_transport *t) {
    ws_transport *w = t->self;
    posted *p = &w->p;
    if (!p->open) return;
    fedc_server *s = w->r->s;
    xchg *x = &w->r->ar->x;
    pthread_mutex_lock(&s->mu);
    x->active = 0;
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->out_active && ns->out_gen == p->gen) {
            ns->out_active = 0;
            ns->out_send = 0;
        }
    xevent *rest = x->head;
    x->head = x->tail = NULL;
    x->payload = NULL;
    x->rounds = NULL;
    pthread_mutex_unlock(&s->mu);
    free_events(s, rest);
    for (int i = 0; i < p->n; i++)
        if (p->payload[i]) fedc_ws_payload_unref(p->payload[i]);
    posted_free(p);
}

static void ws_destroy(fedc_transport *t) {
    if (!t) return;
    ws_close_posted(t);
    free(t->self);
}

static const fedc_transport_ops k_ws_ops = {.exchange = ws_exchange,
                                            .destroy = ws_destroy,
                                            .post = ws_post,
                                            .collect = ws_collect,
                                            .close_posted = ws_close_posted};

fedc_transport *exchange_transport_create(runner *r) {
    ws_transport *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->base.ops = &k_ws_ops;
    w->base.self = w;
    w->r = r;
    return &w->base;
}
