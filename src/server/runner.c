/* The runner threads, one per run that may train at once: each takes the
 * next run from the queue (an interrupted "running" run first; one runner
 * at a time, so no run is taken twice), restores its checkpoint, waits
 * (with a deadline) for enough nodes, drives rounds through the engine over
 * the WebSocket transport, flags nodes whose updates were refused, writes a
 * checkpoint every N rounds and commits each round to the store. A runner
 * beyond the first starts a queued run only when the host has memory to
 * spare and enough free nodes for it (else that run would sit out its
 * connect timeout and fail, where it would have succeeded after waiting in
 * the queue).
 *
 * Progress that cannot be written is never trained past: when a checkpoint,
 * the model file or the round's commit fails (a full disk, no descriptors
 * left, a damaged store), the run pauses with the round held in memory,
 * says why (status "paused" in the API), retries with backoff and goes on
 * by itself once the write succeeds; nothing is lost or counted twice.
 * Ending a run (done, failed, cancelled) is retried the same way, so a run
 * whose end cannot be recorded is not taken again and again. A resumed run
 * whose newest checkpoint is damaged falls back to the newest valid one and
 * says so (log, live feed, the run's "notice"). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fedc/aggregate.h"
#include "fedc/checkpoint.h"
#include "fedc/log.h"
#include "fedc/manifest.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "server/server_internal.h"

#define MAX_ROUND_FAILURES 3
#define RETRY_FIRST_S 0.25 /* storage retries: first wait, doubling up to */
#define RETRY_MAX_S 5.0

static void run_dir(const fedc_server *s, int64_t id, char *out, size_t cap) {
    snprintf(out, cap, "%s/runs/%lld", s->state_dir, (long long)id);
}

static void ckpt_path(const fedc_server *s, int64_t id, int round, char *out, size_t cap) {
    char dir[1024];
    run_dir(s, id, dir, sizeof dir);
    fedc_checkpoint_path(dir, round, out, cap);
}

static void notify(fedc_server *s, int64_t id, const fedc_round_metrics *m, const char *status) {
    if (s->listener) s->listener(s->listener_ctx, id, m, status);
}

static void publish_run(runner *r, int64_t id) {
    json_t *run = store_run_json(&r->db, id, 0);
    if (!run) return;
    runner_overlay(r->s, run);
    events_publish(r->s, "run", id, json_pack("{s:o}", "run", run));
}

/* A notable event of run id: to the live feed, and to the run's event log in
 * the store (GET /api/runs/ID/events), so it is there for the whole run. A
 * log the store cannot take is not worth stopping the run for: it is only
 * reported in the server's log. */
static void publish_log(runner *r, int64_t id, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void publish_log(runner *r, int64_t id, const char *level, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (store_event_add(&r->db, id, level, msg) != 0)
        FEDC_WARN("run %lld: cannot keep an event in the run store: %s", (long long)id, store_fail_msg(&r->db));
    events_publish(r->s, "log", id, json_pack("{s:I,s:s,s:s}", "run", (json_int_t)id, "level", level, "message", msg));
}

typedef struct data_note_ctx {
    runner *r;
    int64_t id;
} data_note_ctx;

static void data_note(void *ctx, const char *msg) {
    data_note_ctx *c = ctx;
    FEDC_INFO("run %lld: %s", (long long)c->id, msg);
    publish_log(c->r, c->id, "info", "%s", msg);
}

/* The server stops (1) or the run was cancelled (2); 0 otherwise. */
static int interrupted(runner *r) {
    pthread_mutex_lock(&r->s->mu);
    int v = r->s->stopping ? 1 : r->cancel ? 2 : 0;
    pthread_mutex_unlock(&r->s->mu);
    return v;
}

/* Waits on the server's condition variable (s->mu held) for at most w
 * seconds; a broadcast (a node ready, a stop, a cancel) ends it sooner. */
static void cv_wait(fedc_server *s, double w) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)w;
    ts.tv_nsec += (long)((w - (double)(long)w) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Sleeps up to s seconds; returns early (with interrupted()) on stop or cancel. */
static int nap(runner *r, double s) {
    fedc_server *srv = r->s;
    double end = fedc_wall_s() + s;
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping && !r->cancel) {
        double left = end - fedc_wall_s();
        if (left <= 0) break;
        cv_wait(srv, left);
    }
    int v = srv->stopping ? 1 : r->cancel ? 2 : 0;
    pthread_mutex_unlock(&srv->mu);
    return v;
}

/* ---- pausing while progress cannot be written ---------------------------- */

typedef struct pause_state {
    int attempts;
    double since, delay;
} pause_state;

/* A write failed with fault f (what: which write and why): the run pauses
 * (first time), says so, and waits before the next attempt. Returns
 * interrupted() if the server stops or the run is cancelled meanwhile. */
static int pause_and_wait(runner *r, int64_t id, pause_state *ps, storage_fault f, const char *what) {
    fedc_server *s = r->s;
    if (f == SF_DAMAGED) server_store_damaged(s, &r->db);
    int first = ps->attempts++ == 0;
    if (first) {
        ps->since = fedc_wall_s();
        ps->delay = RETRY_FIRST_S;
    }
    char text[sizeof r->paused];
    snprintf(text, sizeof text, "%s: %s; training is paused until it can be written (attempt %d, next in %.1f s)%s",
             storage_fault_name(f), what, ps->attempts, ps->delay,
             f == SF_DAMAGED ? "; stop the server and run `fedc server --state DIR --recover-store`" : "");
    pthread_mutex_lock(&s->mu);
    snprintf(r->paused, sizeof r->paused, "%s", text);
    pthread_mutex_unlock(&s->mu);
    if (first) {
        FEDC_WARN("run %lld paused: %s", (long long)id, text);
        publish_log(r, id, "warn", "run %lld paused: %s", (long long)id, text);
        notify(s, id, NULL, "paused");
    }
    /* The stored error says why too, if the store takes it (once: the API
     * shows the runner's own account either way). */
    if (first && f != SF_DAMAGED) store_run_set_error(&r->db, id, text);
    if (first || ps->attempts % 8 == 0) publish_run(r, id);
    int why = nap(r, ps->delay);
    ps->delay = ps->delay * 2 > RETRY_MAX_S ? RETRY_MAX_S : ps->delay * 2;
    return why;
}

/* The write succeeded after a pause: the run goes on. */
static void pause_over(runner *r, int64_t id, pause_state *ps) {
    if (!ps->attempts) return;
    fedc_server *s = r->s;
    pthread_mutex_lock(&s->mu);
    r->paused[0] = 0;
    pthread_mutex_unlock(&s->mu);
    store_run_set_error(&r->db, id, NULL);
    double for_s = fedc_wall_s() - ps->since;
    FEDC_INFO("run %lld resumed: its progress is written again (paused %.1f s, %d attempts)", (long long)id, for_s,
              ps->attempts);
    publish_log(r, id, "info", "run %lld resumed: its progress is written again (paused %.1f s, %d attempts)",
                (long long)id, for_s, ps->attempts);
    publish_run(r, id);
    notify(s, id, NULL, "running");
    memset(ps, 0, sizeof *ps);
}

/* A cancel or a shutdown stops a fetch for a run that has not started. */
static int fetch_stop(void *ctx) { return interrupted(ctx) != 0; }

/* Records how a run ended; retried until the store takes it (or the server
 * stops: the run then stays "running" and is resumed at the next start). */
static void set_status(runner *r, int64_t id, const char *status, const char *error) {
    pause_state ps = {0};
    while (store_run_set_status(&r->db, id, status, error) != 0) {
        char what[400];
        snprintf(what, sizeof what, "cannot record that the run is %s: %s", status, store_fail_msg(&r->db));
        storage_fault f = store_fault(&r->db);
        /* A cancel while retrying does not change what is recorded. */
        if (pause_and_wait(r, id, &ps, f == SF_NONE ? SF_IO : f, what) == 1) return;
        pthread_mutex_lock(&r->s->mu);
        r->cancel = 0;
        pthread_mutex_unlock(&r->s->mu);
    }
    pthread_mutex_lock(&r->s->mu);
    r->paused[0] = 0;
    pthread_mutex_unlock(&r->s->mu);
    publish_run(r, id);
    notify(r->s, id, NULL, status);
    if (error) FEDC_WARN("run %lld %s: %s", (long long)id, status, error);
    else FEDC_INFO("run %lld %s", (long long)id, status);
}

/* Deletes checkpoints other than `keep` and `prev`. */
static void prune_checkpoints(const fedc_server *s, int64_t id, int keep, int prev) {
    char dir[1024];
    run_dir(s, id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int r;
        if (sscanf(e->d_name, "ckpt-%d.bin", &r) != 1 || r == keep || r == prev) continue;
        if (strstr(e->d_name, ".tmp")) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* The model as safetensors, replaced atomically so downloads never see half a file. */
static int save_model(fedc_server *s, fedc_run *run, int64_t id, fedc_error *err) {
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/runs/%lld/model.safetensors", s->state_dir, (long long)id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    errno = 0;
    if (fedc_run_save_model(run, tmp, err) != 0) return -1;
    if (rename(tmp, path) != 0) {
        int e = errno;
        fedc_fail(err, "cannot rename %s: %s", tmp, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

void active_run_limits(active_run *ar) {
    const fedc_task *t = &ar->task;
    /* The largest legitimate update: the uplink codec's bound for the model,
     * the strategy's floats, the control JSON and framing. */
    size_t bound = ar->params * sizeof(float) * 2;
    fedc_codec *up = fedc_codec_parse(t->compression.up, NULL);
    if (up && fedc_codec_max_encoded_size(up, ar->params) > 0) bound = fedc_codec_max_encoded_size(up, ar->params);
    fedc_codec_free(up);
    fedc_strategy *st = ar->params ? fedc_strategy_create(t, ar->params, 1, NULL) : NULL;
    fedc_strategy_info si = st ? fedc_strategy_info_get(st) : (fedc_strategy_info){0};
    size_t extra = st ? si.extra_up * sizeof(float) : ar->params * sizeof(float);
    /* dadao's nodes answer a communication with two vectors (y and z). */
    if (st && si.event_driven) extra += 2 * ar->params * sizeof(float);
    ar->client_state = st && (si.extra_up || si.extra_down || si.state_floats);
    fedc_strategy_free(st);
    ar->max_message = bound + extra + FEDC_PROTO_MAX_JSON + 64 * (FEDC_PROTO_MAX_BLOBS + 1);
    if (ar->max_message > FEDC_PROTO_MAX_FRAME) ar->max_message = FEDC_PROTO_MAX_FRAME;
}

/* Makes the run active (its nodes assignable); -1 when out of memory. run
 * is NULL for an external model whose tensors are not known yet: the first
 * node supplies them (registry), then the runner creates the engine. */
int runner_activate(runner *r, int64_t id, const fedc_task *t, fedc_run *run) {
    fedc_server *s = r->s;
    active_run *ar = calloc(1, sizeof *ar);
    char *tj = fedc_task_to_json(t, 0);
    if (ar) {
        ar->slot_node = calloc((size_t)t->clients, sizeof *ar->slot_node);
        ar->flags = calloc((size_t)t->clients, sizeof *ar->flags);
    }
    if (!ar || !tj || !ar->slot_node || !ar->flags) {
        if (ar) {
            free(ar->slot_node);
            free(ar->flags);
        }
        free(ar);
        free(tj);
        return -1;
    }
    ar->id = id;
    ar->task = *t;
    ar->task_json = tj;
    ar->external = fedc_task_external(t);
    ar->shape = (fedc_shape){1, 1, 1};
    ar->classes = 2;
    if (run && fedc_run_arch(run)) {
        ar->shape = fedc_arch_input(fedc_run_arch(run));
        ar->classes = fedc_arch_nclasses(fedc_run_arch(run));
    }
    ar->params = run ? fedc_run_nparams(run) : 0;
    if (run && !(ar->manifest_json = fedc_manifest_to_json(fedc_run_manifest(run)))) {
        free(ar->slot_node);
        free(ar->flags);
        free(ar);
        free(tj);
        return -1;
    }
    ar->need_init = ar->external && (!run || fedc_run_needs_initial_model(run));
    active_run_limits(ar);
    ar->pool = run ? fedc_run_pool(run) : NULL;
    pthread_mutex_lock(&s->mu);
    active_run **pp = &s->active;
    while (*pp && (*pp)->id < id) pp = &(*pp)->next;
    ar->next = *pp;
    *pp = ar;
    r->ar = ar;
    s->assign_gen++;
    registry_assign_all(s);
    pthread_mutex_unlock(&s->mu);
    fedc_ws_server_wake(s->ws);
    return 0;
}

/* The run's nodes become free and are offered to the other active runs. */
void runner_deactivate(runner *r) {
    fedc_server *s = r->s;
    pthread_mutex_lock(&s->mu);
    active_run *ar = r->ar;
    for (active_run **pp = &s->active; ar && *pp; pp = &(*pp)->next)
        if (*pp == ar) {
            *pp = ar->next;
            break;
        }
    r->ar = NULL;
    for (node_session *ns = s->sessions; ar && ns; ns = ns->next)
        if (ns->run_id == ar->id) {
            ns->run_id = 0;
            ns->slot = -1;
        }
    s->assign_gen++;
    registry_assign_all(s);
    pthread_mutex_unlock(&s->mu);
    fedc_ws_server_wake(s->ws);
    if (ar) {
        free(ar->manifest_json);
        free(ar->init_params);
        free(ar->task_json);
        free(ar->slot_node);
        free(ar->flags);
        free(ar);
    }
}

/* Waits until `need` nodes are ready, the deadline passes, or the run is
 * cancelled / the server stops. Returns the number ready. */
int runner_wait_nodes(runner *r, int need, double timeout_s) {
    fedc_server *s = r->s;
    double end = fedc_wall_s() + timeout_s;
    pthread_mutex_lock(&s->mu);
    int ready;
    while ((ready = registry_ready_count(s, r->ar)) < need && !s->stopping && !r->cancel) {
        double left = end - fedc_wall_s();
        if (left <= 0) break;
        cv_wait(s, left < 0.5 ? left : 0.5);
    }
    pthread_mutex_unlock(&s->mu);
    return ready;
}

/* Once a round has the nodes it needs, it waits up to ROUND_GATHER_S more
 * for nodes that hold a slot of the run but are still setting up the task
 * (they connected just before, or the run has just started), until
 * clients_per_round of them are ready: otherwise the first node to finish
 * setting up would train round 1 alone while the others were a moment
 * away. Nodes that are not connected are not waited for. */
#define ROUND_GATHER_S 10.0

int runner_gather_nodes(runner *r, int want) {
    fedc_server *s = r->s;
    double end = fedc_wall_s() + ROUND_GATHER_S;
    pthread_mutex_lock(&s->mu);
    int ready;
    for (;;) {
        ready = registry_ready_count(s, r->ar);
        int joined = registry_joined_count(s, r->ar);
        int goal = joined < want ? joined : want;
        double left = end - fedc_wall_s();
        if (ready >= goal || s->stopping || r->cancel || left <= 0) break;
        cv_wait(s, left < 0.25 ? left : 0.25);
    }
    pthread_mutex_unlock(&s->mu);
    return ready;
}

/* Waits (under s->mu, bounded) until ready(ar) holds, the deadline
 * passes, the run is cancelled or the server stops. Returns ready(ar). */
static int wait_for(runner *r, int (*ready)(const active_run *), double timeout_s) {
    fedc_server *s = r->s;
    double end = fedc_wall_s() + timeout_s;
    pthread_mutex_lock(&s->mu);
    int ok;
    while (!(ok = ready(r->ar)) && !s->stopping && !r->cancel) {
        double left = end - fedc_wall_s();
        if (left <= 0) break;
        cv_wait(s, left < 0.5 ? left : 0.5);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int has_manifest(const active_run *ar) { return ar->manifest_json != NULL; }
static int has_init(const active_run *ar) { return ar->init_params != NULL; }
/* Records each participant's outcome and flags nodes whose update was
 * refused (counted towards leaving the node out of the run) or judged by
 * the robust aggregator (shown, not counted: a rule's judgement is not
 * proof, and Multi-Krum leaves out f updates every round). */
static int collect_participants(runner *r, fedc_run *run, int64_t id, const fedc_round_metrics *m,
                                store_participant *p) {
    fedc_server *s = r->s;
    active_run *ar = r->ar;
    int np = 0;
    for (int i = 0; i < m->selected; i++) {
        fedc_participant fp;
        if (fedc_run_participant(run, i, &fp) != 0) break;
        store_participant *sp = &p[np++];
        memset(sp, 0, sizeof *sp);
        sp->slot = fp.client;
        int valid = fp.client >= 0 && fp.client < ar->task.clients;
        pthread_mutex_lock(&s->mu);
        sp->node_id = valid ? ar->slot_node[fp.client] : 0;
        if (fp.status == -2 && valid) ar->flags[fp.client]++;
        int flags = fp.status == -2 && valid ? ar->flags[fp.client] : 0;
        pthread_mutex_unlock(&s->mu);
        sp->status = fp.status == 1 ? "ok" : fp.status == -2 ? "rejected" : "dropped";
        sp->reason = fp.reason;
        /* The robust aggregator's judgement of an accepted update: left out
         * (or malicious) is "flagged"; unreliable stays "ok" with its reason. */
        int judged = fp.status == 1 && fp.verdict != FEDC_VERDICT_KEPT;
        if (judged) {
            if (fp.verdict == FEDC_VERDICT_LEFT_OUT || fp.verdict == FEDC_VERDICT_MALICIOUS) sp->status = "flagged";
            sp->reason = fp.verdict_reason;
        }
        if (judged && sp->node_id) {
            char why[400];
            snprintf(why, sizeof why, "round %d: %.300s", m->round, fp.verdict_reason);
            store_node_flag(&r->db, sp->node_id, why);
            publish_log(r, id, "warn", "round %d: node %lld flagged by the aggregator: %s", m->round,
                        (long long)sp->node_id, fp.verdict_reason);
            FEDC_INFO("run %lld round %d: node %lld flagged by the aggregator: %s", (long long)id, m->round,
                      (long long)sp->node_id, fp.verdict_reason);
        }
        sp->bytes_down = fp.bytes_down;
        sp->bytes_up = fp.bytes_up;
        sp->cpu_s = fp.cpu_s;
        sp->loss = fp.loss;
        sp->n_samples = fp.n_samples;
        if (fp.status != 1 && fp.status != -2)
            publish_log(r, id, "warn", "round %d: node %lld dropped: %s", m->round, (long long)sp->node_id,
                        fp.reason && fp.reason[0] ? fp.reason : "no update in time");
        if (fp.status == -2 && sp->node_id) {
            char why[400];
            snprintf(why, sizeof why, "round %d: %.300s", m->round, fp.reason);
            store_node_flag(&r->db, sp->node_id, why);
            publish_log(r, id, "warn", "round %d: update from node %lld refused, node flagged: %s", m->round,
                        (long long)sp->node_id, fp.reason);
            if (flags >= s->cfg.max_flags)
                publish_log(r, id, "warn", "node %lld had %d updates refused; it is left out of the rest of run %lld",
                            (long long)sp->node_id, flags, (long long)id);
        }
    }
    return np;
}

/* An asynchronous round: the node updates it finished, by ticket, and the
 * tickets left in the buffer. Refused updates flag their nodes as in a
 * synchronous round. Returns the number of records (into *out, grown). */
static int collect_async(runner *r, fedc_run *run, int64_t id, const fedc_round_metrics *m, store_async_update **out,
                         int *cap, store_async_round *ar_out) {
    fedc_server *s = r->s;
    active_run *ar = r->ar;
    const fedc_async_update *u;
    int n = fedc_run_async_updates(run, &u);
    if (n > *cap) {
        store_async_update *g = realloc(*out, (size_t)n * sizeof *g);
        if (!g) return -1;
        *out = g;
        *cap = n;
    }
    for (int i = 0; i < n; i++) {
        store_async_update *su = &(*out)[i];
        int valid = u[i].client >= 0 && u[i].client < ar->task.clients;
        pthread_mutex_lock(&s->mu);
        int64_t node = valid ? ar->slot_node[u[i].client] : 0;
        if (u[i].status == -2 && valid) ar->flags[u[i].client]++;
        int flags = u[i].status == -2 && valid ? ar->flags[u[i].client] : 0;
        pthread_mutex_unlock(&s->mu);
        *su = (store_async_update){.slot = u[i].client, .ticket = u[i].ticket, .status = u[i].status,
                                   .version = u[i].version, .staleness = u[i].staleness, .node_id = node,
                                   .reason = u[i].reason, .stale_weight = u[i].stale_weight,
                                   .n_samples = u[i].n_samples, .loss = u[i].loss, .cpu_s = u[i].cpu_s,
                                   .bytes_up = u[i].bytes_up};
        if (u[i].status == -1)
            publish_log(r, id, "warn", "round %d: node %lld dropped (ticket %d): %s", m->round, (long long)node,
                        u[i].ticket, u[i].reason && u[i].reason[0] ? u[i].reason : "no update in time");
        if (u[i].status == -2 && node) {
            char why[400];
            snprintf(why, sizeof why, "ticket %d: %.300s", u[i].ticket, u[i].reason);
            store_node_flag(&r->db, node, why);
            publish_log(r, id, "warn", "round %d: update from node %lld refused, node flagged: %s", m->round,
                        (long long)node, u[i].reason);
            if (flags >= s->cfg.max_flags)
                publish_log(r, id, "warn", "node %lld had %d updates refused; it is left out of the rest of run %lld",
                            (long long)node, flags, (long long)id);
        }
    }
    const int *clients;
    ar_out->u = *out;
    ar_out->n = n;
    ar_out->nbuffered = fedc_run_async_buffered(run, &ar_out->buffered, &clients);
    return n;
}

/* A store write that may have to wait for room: retried (with the run
 * paused) until it succeeds. 0 once done; else interrupted()'s answer. */
typedef int (*store_step)(runner *r, int64_t id, const void *arg);
static int retry_store(runner *r, int64_t id, pause_state *ps, store_step step, const void *arg, const char *what) {
    while (step(r, id, arg) != 0) {
        char text[700];
        snprintf(text, sizeof text, "%s: %s", what, store_fail_msg(&r->db));
        storage_fault f = store_fault(&r->db);
        int why = pause_and_wait(r, id, ps, f == SF_NONE ? SF_IO : f, text);
        if (why) return why;
    }
    pause_over(r, id, ps);
    return 0;
}

static int step_notice(runner *r, int64_t id, const void *notice) {
    return store_run_set_notice(&r->db, id, notice);
}

static int step_rollback(runner *r, int64_t id, const void *round) {
    return store_run_rollback(&r->db, id, *(const int *)round);
}

static int step_set_task(runner *r, int64_t id, const void *task_json) {
    return store_run_set_task(&r->db, id, task_json);
}

/* An external run: its tensors from the first node (kept in the store, so
 * a restart knows them; the write is retried, paused, like a round's), then
 * the engine. NULL on failure (error set) or when interrupted. */
static fedc_run *external_engine(runner *r, int64_t id, fedc_task *t, fedc_error *err) {
    fedc_server *s = r->s;
    if (!wait_for(r, has_manifest, t->deploy.connect_timeout_s)) {
        fedc_fail(err, "no node with an external model joined within %.0f s (deploy.connect_timeout_s) to supply "
                       "the model's manifest",
                  t->deploy.connect_timeout_s);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    *t = r->ar->task;
    char *tj = strdup(r->ar->task_json);
    r->ar->manifest_new = 0;
    pthread_mutex_unlock(&s->mu);
    if (!tj) {
        fedc_fail(err, "out of memory recording the model's manifest");
        return NULL;
    }
    pause_state ps = {0};
    int why = retry_store(r, id, &ps, step_set_task, tj, "cannot record the model's manifest in the run store");
    free(tj);
    if (why) {
        fedc_fail(err, "interrupted while recording the model's manifest");
        return NULL;
    }
    fedc_run_options ro = {.threads = s->cfg.threads, .quiet = 1};
    fedc_run *run = fedc_run_create(t, &ro, err);
    if (!run) return NULL;
    fedc_run_set_secret_noise(run, 1);
    fedc_run_set_gossip_relay(run, 1); /* decentralised rounds: the server only relays */
    pthread_mutex_lock(&s->mu);
    r->ar->pool = fedc_run_pool(run);
    pthread_mutex_unlock(&s->mu);
    return run;
}

/* An external run's initial model comes from a node (asked in WELCOME). */
static int external_init(runner *r, fedc_run *run, const fedc_task *t, fedc_error *err) {
    fedc_server *s = r->s;
    if (!fedc_run_needs_initial_model(run)) {
        pthread_mutex_lock(&s->mu);
        r->ar->need_init = 0;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    if (!wait_for(r, has_init, t->deploy.connect_timeout_s))
        return fedc_fail(err, "no node sent the external model's initial parameters within %.0f s",
                         t->deploy.connect_timeout_s);
    pthread_mutex_lock(&s->mu);
    int rc = fedc_run_set_initial_model(run, r->ar->init_params, r->ar->init_n, err);
    free(r->ar->init_params);
    r->ar->init_params = NULL;
    r->ar->need_init = 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* What a completed round still needs written. */
typedef struct pending_round {
    int ckpt_due, ckpt_done, model_done;
} pending_round;

/* Writes the round's checkpoint (when due), the model file and commits the
 * round. SF_NONE once all are done; else the fault, with what failed. */
static storage_fault persist_round(runner *r, fedc_run *run, int64_t id, const fedc_round_metrics *m,
                                   const store_participant *parts, int np, const store_async_round *async,
                                   pending_round *pr, char *what, size_t cap) {
    fedc_server *s = r->s;
    fedc_error err;
    /* Damage found anywhere in the store (a reader, another runner): nothing
     * more is written to it until it is recovered. */
    char damage[400];
    server_store_damage(s, damage, sizeof damage);
    if (damage[0]) {
        snprintf(what, cap, "cannot record round %d: the run store is damaged (%s)", m->round, damage);
        return SF_DAMAGED;
    }
    if (pr->ckpt_due && !pr->ckpt_done) {
        char p[1100];
        ckpt_path(s, id, m->round, p, sizeof p);
        errno = 0;
        if (fedc_run_checkpoint_save(run, p, &err) != 0) {
            storage_fault f = storage_fault_of_errno(errno);
            snprintf(what, cap, "cannot write the checkpoint of round %d: %s", m->round, err.msg);
            return f == SF_NONE ? SF_IO : f;
        }
        pr->ckpt_done = 1;
    }
    if (pr->ckpt_due && !pr->model_done) {
        if (save_model(s, run, id, &err) != 0) {
            storage_fault f = storage_fault_of_errno(errno);
            snprintf(what, cap, "cannot write the model file of round %d: %s", m->round, err.msg);
            return f == SF_NONE ? SF_IO : f;
        }
        pr->model_done = 1;
    }
    double best = 0;
    json_t *rj = store_run_json(&r->db, id, 0);
    if (!rj) {
        snprintf(what, cap, "cannot read run %lld back: %s", (long long)id, store_fail_msg(&r->db));
        storage_fault f = store_fault(&r->db);
        return f == SF_NONE ? SF_IO : f;
    }
    json_t *b = json_object_get(rj, "best_accuracy");
    best = json_is_number(b) ? json_number_value(b) : 0;
    json_decref(rj);
    if (m->evaluated && m->accuracy > best) best = m->accuracy;
    if (!m->evaluated && m->fed_evaluated && m->fed_accuracy > best) best = m->fed_accuracy; /* external models */
    if (store_round_commit_async(&r->db, id, m, parts, np, async, best, pr->ckpt_due ? m->round : -1, &err) != 0) {
        snprintf(what, cap, "%s", err.msg);
        storage_fault f = store_fault(&r->db);
        return f == SF_NONE ? SF_IO : f;
    }
    return SF_NONE;
}

/* Restores the newest valid checkpoint not after the store's, and says so
 * when it is not the store's own. Returns the round restored. */
static int restore(runner *r, fedc_run *run, int64_t id, int ckpt_round) {
    fedc_server *s = r->s;
    if (ckpt_round <= 0) return 0;
    char dir[1024], why[800];
    run_dir(s, id, dir, sizeof dir);
    int used = 0;
    fedc_error err;
    if (fedc_run_checkpoint_load_newest(run, dir, ckpt_round, &used, why, sizeof why, &err) != 0)
        snprintf(why, sizeof why, "%.700s", err.msg);
    if (used == ckpt_round) return used;
    char notice[1200];
    char again[64];
    if (ckpt_round == used + 1) snprintf(again, sizeof again, "round %d is run again", ckpt_round);
    else snprintf(again, sizeof again, "rounds %d to %d are run again", used + 1, ckpt_round);
    if (used > 0)
        snprintf(notice, sizeof notice, "resumed from the checkpoint of round %d, the newest valid one: %s; %s", used,
                 why, again);
    else
        snprintf(notice, sizeof notice, "no valid checkpoint is left (%s): the run starts again from round 1", why);
    FEDC_WARN("run %lld: %s", (long long)id, notice);
    publish_log(r, id, "warn", "run %lld: %s", (long long)id, notice);
    pause_state ps = {0};
    retry_store(r, id, &ps, step_notice, notice, "cannot record the checkpoint notice");
    return used;
}

/* Trains run id; returns -1 when the store could not even start it (it
 * waited, paused, per *start; the runner tries again), else 0. */
static int run_one(runner *r, int64_t id, pause_state *start) {
    fedc_server *s = r->s;
    char *task_json = NULL, status[16];
    int ckpt_round = 0;
    pause_state ps = {0};
    if (store_run_load(&r->db, id, &task_json, &ckpt_round, status) != 0) {
        char what[600];
        snprintf(what, sizeof what, "cannot read run %lld: %s", (long long)id, store_fail_msg(&r->db));
        storage_fault f = store_fault(&r->db);
        pause_and_wait(r, id, start, f == SF_NONE ? SF_IO : f, what);
        return -1;
    }
    /* Atomic: a run cancelled while it was being taken stays cancelled. */
    int started = store_run_start(&r->db, id);
    if (started != 0) {
        free(task_json);
        if (started == -1) return 0;
        char what[600];
        snprintf(what, sizeof what, "cannot start run %lld: %s", (long long)id, store_fail_msg(&r->db));
        storage_fault f = store_fault(&r->db);
        pause_and_wait(r, id, start, f == SF_NONE ? SF_IO : f, what);
        return -1;
    }
    pause_over(r, id, start);
    fedc_task t;
    fedc_error err;
    if (fedc_task_from_json(task_json, strlen(task_json), &t, &err) != 0) {
        free(task_json);
        set_status(r, id, "failed", err.msg);
        return 0;
    }
    free(task_json);
    char dir[1024];
    run_dir(s, id, dir, sizeof dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        char why[1200];
        snprintf(why, sizeof why, "cannot create the run folder %s: %s", dir, strerror(errno));
        set_status(r, id, "failed", why);
        return 0;
    }
    int resumed = strcmp(status, "running") == 0;
    publish_run(r, id);
    notify(s, id, NULL, "running");
    /* The server's own copy of the data: fetched here, before the run
     * starts, with each file's source and destination in the run's log. */
    fedc_fetch_options fo = {.note = data_note, .note_ctx = &(data_note_ctx){r, id}, .stop = fetch_stop,
                             .stop_ctx = r};
    char data_dir[1024];
    if (fedc_task_dataset_prepare(&t, &fo, data_dir, sizeof data_dir, &err) != 0) {
        int why = interrupted(r);
        if (why == 1) return 0; /* shutting down: the run resumes at the next start */
        set_status(r, id, why == 2 ? "cancelled" : "failed", why == 2 ? NULL : err.msg);
        return 0;
    }
    fedc_run_options ro = {.threads = s->cfg.threads, .quiet = 1};
    /* An external model without a manifest gets its engine once a node
     * has supplied one. */
    int pending = fedc_task_external(&t) && !t.model_manifest[0];
    fedc_run *run = pending ? NULL : fedc_run_create(&t, &ro, &err);
    if (run) fedc_run_set_secret_noise(run, 1);
    if (run) fedc_run_set_gossip_relay(run, 1); /* decentralised rounds: the server only relays */
    if (!run && !pending) {
        set_status(r, id, "failed", err.msg);
        return 0;
    }
    int restored = run ? restore(r, run, id, ckpt_round) : 0;
    /* An external model restored from a checkpoint needs no initial
     * parameters from a node: the checkpoint's model is them. */
    if (run && restored > 0 && fedc_run_needs_initial_model(run) &&
        fedc_run_set_initial_model(run, fedc_run_model(run), fedc_run_nparams(run), &err) != 0) {
        fedc_run_free(run);
        set_status(r, id, "failed", err.msg);
        return 0;
    }
    if (resumed || restored != ckpt_round) {
        /* Rounds after the checkpoint are run again, not counted twice. */
        int why = retry_store(r, id, &ps, step_rollback, &restored, "cannot forget the rounds after the checkpoint");
        if (why) {
            fedc_run_free(run);
            if (why == 2) set_status(r, id, "cancelled", NULL);
            return 0; /* stopping: the run is taken again at the next start */
        }
        if (resumed) {
            FEDC_INFO("run %lld resumed from round %d", (long long)id, restored);
            publish_log(r, id, "info", "run %lld resumed after a restart from its checkpoint at round %d",
                        (long long)id, restored);
        }
    }
    fedc_transport *tp = exchange_transport_create(r);
    if (!tp) {
        fedc_run_free(run);
        set_status(r, id, "failed", "out of memory creating the transport");
        return 0;
    }
    store_participant *parts = calloc((size_t)t.clients_per_round + 1, sizeof *parts);
    if (!parts || runner_activate(r, id, &t, run) != 0) {
        free(parts);
        tp->ops->destroy(tp);
        fedc_run_free(run);
        set_status(r, id, "failed", "out of memory starting the run");
        return 0;
    }
    /* An external model: the engine once a node has given the manifest, the
     * initial parameters once a node has sent them. */
    if ((!run && !(run = external_engine(r, id, &t, &err))) ||
        (fedc_task_external(&t) && external_init(r, run, &t, &err) != 0)) {
        int why = interrupted(r);
        runner_deactivate(r);
        tp->ops->destroy(tp);
        free(parts);
        if (why != 1) set_status(r, id, why == 2 ? "cancelled" : "failed", why == 2 ? NULL : err.msg);
        fedc_run_free(run);
        return 0;
    }
    fedc_run_set_client_hook(run, registry_client_hook, r);
    int start_round = fedc_run_rounds_done(run), failures = 0, last_ckpt = restored, prev_ckpt = restored;
    store_async_update *async_rows = NULL;
    int async_cap = 0;
    const char *final = NULL;
    char error[1200] = "";
    fedc_round_metrics m;
    while (!fedc_run_done(run)) {
        int why = interrupted(r);
        if (why == 1) break;
        if (why == 2) {
            final = "cancelled";
            break;
        }
        /* min_nodes for the first round of this session, then enough for min_updates. */
        int need = fedc_run_rounds_done(run) == start_round ? t.deploy.min_nodes : t.deploy.min_updates;
        if (need < 1) need = 1;
        int ready = runner_wait_nodes(r, need, t.deploy.connect_timeout_s);
        if (ready >= need) runner_gather_nodes(r, t.clients_per_round);
        why = interrupted(r);
        if (why == 1) break;
        if (why == 2) {
            final = "cancelled";
            break;
        }
        if (ready < need) {
            final = "failed";
            snprintf(error, sizeof error,
                     "round %d: only %d of the %d nodes needed were connected and ready within %.0f s "
                     "(deploy.connect_timeout_s)",
                     fedc_run_rounds_done(run) + 1, ready, need, t.deploy.connect_timeout_s);
            break;
        }
        int rc = fedc_run_round(run, tp, &m, &err);
        /* An asynchronous round records its updates by ticket instead. */
        store_async_round async = {0};
        int np = m.async ? 0 : collect_participants(r, run, id, &m, parts);
        if (rc == 0 && m.async && collect_async(r, run, id, &m, &async_rows, &async_cap, &async) < 0) {
            final = "failed";
            snprintf(error, sizeof error, "round %d: out of memory recording its updates", m.round);
            break;
        }
        if (rc != 0) {
            why = interrupted(r);
            if (why == 1) break;
            if (why == 2) {
                final = "cancelled";
                break;
            }
            failures++;
            publish_log(r, id, "warn", "%s (attempt %d of %d)", err.msg, failures, MAX_ROUND_FAILURES);
            FEDC_WARN("run %lld: %s", (long long)id, err.msg);
            if (failures >= MAX_ROUND_FAILURES) {
                final = "failed";
                snprintf(error, sizeof error, "%s; failed %d times in a row", err.msg, failures);
                break;
            }
            continue;
        }
        failures = 0;
        int every = s->cfg.checkpoint_every > 0 ? s->cfg.checkpoint_every : 1;
        pending_round pr = {m.round % every == 0 || fedc_run_done(run), 0, 0};
        /* The round stays in memory until all of it is written. */
        storage_fault f;
        char what[1200];
        while ((f = persist_round(r, run, id, &m, parts, np, m.async ? &async : NULL, &pr, what, sizeof what)) !=
               SF_NONE) {
            why = pause_and_wait(r, id, &ps, f, what);
            if (why) break;
        }
        if (f != SF_NONE) {
            /* Stopping or cancelled while paused: the round was never
             * committed; a restart runs it again from the checkpoint. */
            if (why == 2) final = "cancelled";
            break;
        }
        pause_over(r, id, &ps);
        if (pr.ckpt_due) {
            prev_ckpt = last_ckpt;
            last_ckpt = m.round;
            prune_checkpoints(s, id, last_ckpt, prev_ckpt);
        }
        events_publish(s, "round", id,
                       json_pack("{s:I,s:o}", "run", (json_int_t)id, "round", store_round_json_one(&m)));
        notify(s, id, &m, "running");
    }
    if (!final && fedc_run_done(run)) final = "done";
    free(parts);
    free(async_rows);
    /* Nodes still training for an asynchronous run are not waited for. */
    if (tp->ops->close_posted) tp->ops->close_posted(tp);
    runner_deactivate(r);
    tp->ops->destroy(tp);
    if (final && !strcmp(final, "failed")) publish_log(r, id, "error", "run %lld failed: %s", (long long)id, error);
    if (final) set_status(r, id, final, error[0] ? error : NULL);
    fedc_run_free(run);
    return 0;
}

/* Another run (beyond the first) starts only with memory to spare and, for
 * a queued run, enough free nodes for its deploy.min_nodes. */
static int room_for(runner *r, int64_t id) {
    fedc_server *s = r->s;
    double avail = capacity_mem_available();
    if (avail >= 0 && avail < (double)(1u << 30)) {
        if (!s->low_memory) FEDC_INFO("run %lld waits: only %.0f MiB of memory available (1 GiB needed to start "
                                      "another run)", (long long)id, avail / (1 << 20));
        s->low_memory = 1;
        return 0;
    }
    s->low_memory = 0;
    char *task_json = NULL, status[16];
    int ckpt_round = 0;
    if (store_run_load(&r->db, id, &task_json, &ckpt_round, status) != 0) return 0;
    int need = 1;
    if (!strcmp(status, "queued")) {
        json_t *o = json_loads(task_json, 0, NULL);
        json_t *mn = json_object_get(json_object_get(o, "deploy"), "min_nodes");
        if (json_is_integer(mn) && json_integer_value(mn) > 1) need = (int)json_integer_value(mn);
        json_decref(o);
    } else {
        need = 0; /* interrupted: it was training beside the others */
    }
    free(task_json);
    pthread_mutex_lock(&s->mu);
    int free_nodes = registry_free_count(s);
    pthread_mutex_unlock(&s->mu);
    return free_nodes >= need;
}

/* Takes the next run no other runner holds; 0 if none (or no room for it). */
static int64_t take_next(runner *r) {
    fedc_server *s = r->s;
    int64_t skip[ACTIVE_RUNS_MAX];
    int n = 0;
    pthread_mutex_lock(&s->take_mu);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nrunners; i++)
        if (s->runners[i].claimed) skip[n++] = s->runners[i].claimed;
    pthread_mutex_unlock(&s->mu);
    int64_t id = store_run_next(&r->db, skip, n);
    if (id && n > 0 && !room_for(r, id)) id = 0;
    if (id) {
        pthread_mutex_lock(&s->mu);
        r->claimed = id;
        r->cancel = 0;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&s->take_mu);
    return id;
}

int runner_cancel(fedc_server *s, int64_t id) {
    for (int i = 0; i < s->nrunners; i++)
        if (s->runners[i].claimed == id) {
            s->runners[i].cancel = 1;
            pthread_cond_broadcast(&s->cv);
            return 1;
        }
    return 0;
}

static void *runner_main(void *arg) {
    runner *r = arg;
    fedc_server *s = r->s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        int64_t id = take_next(r);
        if (id > 0) {
            /* A run the store cannot start is retried (paused) by this
             * runner, with backoff inside run_one, not dropped and retaken
             * in a hot loop. */
            pause_state start = {0};
            while (run_one(r, id, &start) != 0) {
                int why = interrupted(r);
                if (why == 2) set_status(r, id, "cancelled", NULL);
                if (why) break;
            }
            pthread_mutex_lock(&s->mu);
            r->claimed = 0;
            r->cancel = 0;
            r->paused[0] = 0;
            pthread_cond_broadcast(&s->cv); /* a slot is free: another runner may take a run */
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        if (!s->stopping) {
            cv_wait(s, 1.0);
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

int runner_start(fedc_server *s, fedc_error *err) {
    for (int i = 0; i < s->nrunners; i++) {
        runner *r = &s->runners[i];
        r->s = s;
        if (store_open(&r->db, s->db_net.path, err) != 0) return -1;
        if (pthread_create(&r->thread, NULL, runner_main, r) != 0)
            return fedc_fail(err, "cannot start runner thread %d", i + 1);
        r->started = 1;
    }
    return 0;
}

void runner_stop(fedc_server *s) {
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; s->runners && i < s->nrunners; i++) {
        runner *r = &s->runners[i];
        if (r->started) pthread_join(r->thread, NULL);
        r->started = 0;
        store_close(&r->db);
    }
}

void runner_overlay(fedc_server *s, json_t *run) {
    json_int_t id = json_integer_value(json_object_get(run, "id"));
    const char *st = json_string_value(json_object_get(run, "status"));
    if (!id || !st || (strcmp(st, "running") != 0 && strcmp(st, "queued") != 0)) return;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nrunners; i++) {
        runner *r = &s->runners[i];
        if (r->claimed == id && r->paused[0]) {
            json_object_set_new(run, "status", json_string("paused"));
            json_object_set_new(run, "error", json_string(r->paused));
        }
    }
    pthread_mutex_unlock(&s->mu);
}
