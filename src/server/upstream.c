/* Hierarchical aggregation: a `fedc server --upstream wss://HOST:PORT`
 * serves its own nodes and is one node of the upstream server. Towards the
 * upstream it is an ordinary node: the node loop (fedc_node_serve: TLS
 * client, credential, WELCOME, TRAIN/UPDATE frames, codecs, reconnects) with
 * a model whose "training" is a round over this server's nodes:
 *
 *   WELCOME (task T)  -> the task for the nodes below (upstream_leaf_task),
 *                        an engine and an active run of this server for it;
 *                        waits for --leaf-min-nodes nodes and joins the
 *                        upstream run declaring the sum of their samples
 *   TRAIN (round r, x) -> fedc_run_relay_round: the same round engine over
 *                        this server's transport with x as the global model;
 *                        the nodes' sample-weighted mean update goes up as
 *                        ONE update whose n_samples is the sum of theirs
 *   run ended         -> the active run ends, the nodes are free again
 *
 * So the upstream's weighted mean over mid-level servers is the weighted
 * mean over all leaf nodes. Nothing of it touches the run store: a relayed
 * run is the upstream's (its rounds, model and checkpoints live there);
 * this server logs each relayed round and shows its totals in
 * GET /api/server ("upstream"). The relay runs on its own thread with a
 * private runner record, beside the server's runners. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/node.h"
#include "server/server_internal.h"

struct upstream {
    fedc_server *s;
    pthread_t thread;
    int started;
    volatile sig_atomic_t stop;
    char url[600], credential[1024];
    int leaf_clients, leaf_min_nodes;
    runner r;           /* private: r.s, r.ar and r.cancel drive the exchange */
    fedc_run *run;      /* the engine of the relayed run */
    fedc_transport *tp;
    fedc_task leaf_task;
    unsigned char *counted; /* per slot below: counted in the sample total declared upstream */
    double declared;
    /* What GET /api/server shows (under s->mu). */
    int64_t run_id;     /* the upstream's run; 0 = none */
    int rounds, last_round, last_participants, last_dropped;
    uint64_t bytes_down, bytes_up;
    char note[300];
};

/* A relayed run's id below: negative, so it never names a run of the store. */
static int64_t relay_id(int64_t upstream_run) { return -upstream_run; }

static void set_note(upstream *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(upstream *u, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&u->s->mu);
    vsnprintf(u->note, sizeof u->note, fmt, ap);
    pthread_mutex_unlock(&u->s->mu);
    va_end(ap);
}

static void drop_relay(upstream *u) {
    if (u->r.ar) runner_deactivate(&u->r);
    if (u->tp) u->tp->ops->destroy(u->tp);
    u->tp = NULL;
    fedc_run_free(u->run);
    u->run = NULL;
    free(u->counted);
    u->counted = NULL;
    u->declared = 0;
    pthread_mutex_lock(&u->s->mu);
    u->run_id = 0;
    pthread_mutex_unlock(&u->s->mu);
}

/* Only the nodes counted when this server joined the upstream run train
 * for it: their samples bound the weight the upstream accepts. */
static void relay_hook(void *ctx, int round, fedc_client_info *info, int n) {
    upstream *u = ctx;
    registry_client_hook(&u->r, round, info, n);
    for (int k = 0; k < n; k++)
        if (!u->counted || !u->counted[k]) info[k].available = 0;
}

static void teardown(void *user, int run_ended) {
    upstream *u = user;
    if (!u->run) return;
    int64_t id;
    pthread_mutex_lock(&u->s->mu);
    id = u->run_id;
    pthread_mutex_unlock(&u->s->mu);
    FEDC_INFO("upstream run %lld %s; this server's nodes are free again", (long long)id,
              run_ended ? "ended" : "left");
    drop_relay(u);
    set_note(u, "upstream run %lld %s", (long long)id, run_ended ? "ended" : "left");
}

/* The task alone decides whether its aggregation splits across levels. */
static int accept_run(void *user, const fedc_node_run_info *info, fedc_error *err) {
    upstream *u = user;
    if (upstream_check_task(info->task, err) == 0) return 0;
    FEDC_ERROR("upstream run %lld: %s", (long long)info->run_id, err->msg);
    set_note(u, "cannot serve upstream run %lld: %.200s", (long long)info->run_id, err->msg);
    return -1;
}

static int setup(void *user, fedc_node_run_info *info, fedc_error *err) {
    upstream *u = user;
    fedc_server *s = u->s;
    drop_relay(u);
    if (u->stop) return fedc_fail(err, "this server is stopping");
    fedc_task *t = &u->leaf_task;
    if (upstream_leaf_task(info->task, u->leaf_clients, u->leaf_min_nodes, t, err) != 0) {
        FEDC_ERROR("upstream run %lld: %s", (long long)info->run_id, err->msg);
        set_note(u, "cannot serve upstream run %lld: %.200s", (long long)info->run_id, err->msg);
        return -1;
    }
    char dir[1024];
    if (fedc_task_dataset_prepare(t, NULL, dir, sizeof dir, err) != 0) return -1;
    fedc_run_options ro = {.threads = s->cfg.threads, .quiet = 1};
    if (!(u->run = fedc_run_create(t, &ro, err))) return -1;
    if (fedc_run_nparams(u->run) != info->params) {
        fedc_fail(err, "the task's model has %zu parameters here but %zu upstream", fedc_run_nparams(u->run),
                  info->params);
        goto fail;
    }
    u->counted = calloc((size_t)t->clients, 1);
    if (!u->counted || !(u->tp = exchange_transport_create(&u->r))) {
        fedc_fail(err, "out of memory relaying upstream run %lld", (long long)info->run_id);
        goto fail;
    }
    pthread_mutex_lock(&s->mu);
    u->r.cancel = 0;
    u->run_id = info->run_id;
    pthread_mutex_unlock(&s->mu);
    if (runner_activate(&u->r, relay_id(info->run_id), t, u->run) != 0) {
        fedc_fail(err, "out of memory relaying upstream run %lld", (long long)info->run_id);
        goto fail;
    }
    fedc_run_set_client_hook(u->run, relay_hook, u);
    FEDC_INFO("upstream run %lld (client slot %d there): waiting for %d of this server's nodes (%d slots, "
              "--leaf-min-nodes)",
              (long long)info->run_id, info->slot, t->deploy.min_nodes, t->clients);
    set_note(u, "upstream run %lld: waiting for %d nodes", (long long)info->run_id, t->deploy.min_nodes);
    int ready = runner_wait_nodes(&u->r, t->deploy.min_nodes, t->deploy.connect_timeout_s);
    if (ready < t->deploy.min_nodes) {
        fedc_fail(err, "only %d of the %d nodes needed (--leaf-min-nodes) were ready below this server within %.0f s "
                       "(deploy.connect_timeout_s)",
                  ready, t->deploy.min_nodes, t->deploy.connect_timeout_s);
        goto fail;
    }
    runner_gather_nodes(&u->r, t->clients);
    /* The weight this server may claim upstream: its ready nodes' samples. */
    double total = 0, speed = 0;
    int nodes = 0;
    pthread_mutex_lock(&s->mu);
    active_run *ar = u->r.ar;
    for (node_session *ns = s->sessions; ns; ns = ns->next) {
        if (!ns->authed || ns->closing || ns->run_id != ar->id || ns->ready_run != ar->id || ns->slot < 0 ||
            ns->slot >= t->clients)
            continue;
        u->counted[ns->slot] = 1;
        total += ns->declared_samples;
        if (ns->samples_per_s > 0 && (speed == 0 || ns->samples_per_s < speed)) speed = ns->samples_per_s;
        nodes++;
    }
    pthread_mutex_unlock(&s->mu);
    if (total <= 0) {
        fedc_fail(err, "the %d nodes below this server hold no training samples", nodes);
        goto fail;
    }
    u->declared = total;
    info->n_samples = total;
    info->samples_per_s = speed; /* the slowest node bounds a round */
    FEDC_INFO("upstream run %lld: joining with %d nodes holding %.0f samples", (long long)info->run_id, nodes, total);
    set_note(u, "relaying upstream run %lld for %d nodes (%.0f samples)", (long long)info->run_id, nodes, total);
    return 0;
fail:
    drop_relay(u);
    return -1;
}

static int fit_delta(void *user, const fedc_node_fit_args *args, const float *global, float *delta, size_t n,
                     fedc_node_fit_result *out, fedc_error *err) {
    upstream *u = user;
    fedc_server *s = u->s;
    const fedc_task *t = &u->leaf_task;
    if (!u->run || n != fedc_run_nparams(u->run)) return fedc_fail(err, "no relayed run for this round");
    /* The upstream's deadline runs: wait for a node at most as long as a
     * node below is given for its update. */
    int ready = runner_wait_nodes(&u->r, 1, t->deploy.round_timeout_s);
    if (ready < 1) return fedc_fail(err, "round %d: no node below this server is ready", args->round);
    int counted = 0;
    for (int k = 0; k < t->clients; k++) counted += u->counted[k];
    runner_gather_nodes(&u->r, counted);
    fedc_round_metrics m;
    double weight = 0;
    if (fedc_run_relay_round(u->run, u->tp, args->round, global, delta, &weight, &m, err) != 0) {
        FEDC_WARN("upstream run round %d: %s", args->round, err->msg);
        return -1;
    }
    if (weight > u->declared) /* counted nodes only: cannot happen unless a node's count changed */
        return fedc_fail(err, "round %d: the nodes' samples (%.0f) exceed the %.0f declared upstream", args->round,
                         weight, u->declared);
    out->n_samples = weight;
    out->steps = m.client_steps > 100000000u ? 100000000 : (int)m.client_steps;
    out->loss = m.train_loss;
    pthread_mutex_lock(&s->mu);
    u->rounds++;
    u->last_round = args->round;
    u->last_participants = m.participants;
    u->last_dropped = m.dropped + m.rejected;
    u->bytes_down += m.bytes_down;
    u->bytes_up += m.bytes_up;
    int64_t id = u->run_id;
    pthread_mutex_unlock(&s->mu);
    FEDC_INFO("upstream run %lld round %d: %d of %d nodes answered (%d dropped, %d refused), %.0f samples; "
              "%llu bytes down, %llu up below this server",
              (long long)id, args->round, m.participants, m.selected, m.dropped, m.rejected, weight,
              (unsigned long long)m.bytes_down, (unsigned long long)m.bytes_up);
    return 0;
}

static void *upstream_main(void *arg) {
    upstream *u = arg;
    fedc_node_config cfg = {.server_url = u->url, .credential_path = u->credential, .stop = &u->stop};
    fedc_node_model model = {.user = u,
                             .accept = accept_run,
                             .setup = setup,
                             .teardown = teardown,
                             .fit_delta = fit_delta,
                             .data_label = "mid-level server"};
    fedc_error err;
    if (fedc_node_serve(&cfg, &model, &err) != 0) {
        FEDC_ERROR("upstream %s: %s", u->url, err.msg);
        set_note(u, "stopped: %.250s", err.msg);
    }
    drop_relay(u);
    return NULL;
}

int upstream_start(fedc_server *s, fedc_error *err) {
    const fedc_server_config *c = &s->cfg;
    if (!c->upstream_url) return 0;
    if (!c->upstream_credential) return fedc_fail(err, "--upstream needs --credential (this server's node credential)");
    upstream *u = calloc(1, sizeof *u);
    if (!u) return fedc_fail(err, "out of memory");
    if (strlen(c->upstream_url) >= sizeof u->url || strlen(c->upstream_credential) >= sizeof u->credential) {
        free(u);
        return fedc_fail(err, "--upstream or --credential is too long");
    }
    snprintf(u->url, sizeof u->url, "%s", c->upstream_url);
    snprintf(u->credential, sizeof u->credential, "%s", c->upstream_credential);
    u->leaf_clients = c->leaf_clients;
    u->leaf_min_nodes = c->leaf_min_nodes;
    u->s = s;
    u->r.s = s;
    snprintf(u->note, sizeof u->note, "connecting");
    pthread_mutex_lock(&s->mu);
    s->up = u;
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&u->thread, NULL, upstream_main, u) != 0) return fedc_fail(err, "cannot start the upstream thread");
    u->started = 1;
    FEDC_INFO("mid-level server: one node of %s", u->url);
    return 0;
}

void upstream_stop(fedc_server *s) {
    upstream *u = s->up;
    if (!u) return;
    u->stop = 1;
    pthread_mutex_lock(&s->mu);
    u->r.cancel = 1; /* a round waiting on this server's nodes returns */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (u->started) pthread_join(u->thread, NULL);
    pthread_mutex_lock(&s->mu); /* an API request may be reading it */
    s->up = NULL;
    pthread_mutex_unlock(&s->mu);
    free(u);
}

json_t *upstream_info_json(fedc_server *s) {
    pthread_mutex_lock(&s->mu);
    upstream *u = s->up;
    if (!u) {
        pthread_mutex_unlock(&s->mu);
        return json_null();
    }
    json_t *o = json_pack("{s:s,s:o,s:i,s:o,s:i,s:i,s:I,s:I,s:s}", "url", u->url, "run",
                          u->run_id ? json_integer(u->run_id) : json_null(), "rounds", u->rounds, "last_round",
                          u->last_round ? json_integer(u->last_round) : json_null(), "last_participants",
                          u->last_participants, "last_dropped", u->last_dropped, "bytes_down",
                          (json_int_t)u->bytes_down, "bytes_up", (json_int_t)u->bytes_up, "status", u->note);
    pthread_mutex_unlock(&s->mu);
    return o;
}
