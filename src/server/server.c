/* Server set-up and tear-down: the state directory, the CA and TLS
 * certificate (created on first start), the admin token, the run store, the
 * network endpoint and the runner threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fedc/certs.h"
#include "fedc/log.h"
#include "fedc/timer.h"
#include "server/server_internal.h"

#define FULL_CHECK_MAX ((off_t)256 << 20)

static int ensure_dir(const char *path, fedc_error *err) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return fedc_fail(err, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

/* The admin token: given, from the environment, from STATE/admin-token, or new. */
static int load_admin_token(fedc_server *s, fedc_error *err) {
    const char *given = s->cfg.admin_token ? s->cfg.admin_token : getenv("FEDC_ADMIN_TOKEN");
    if (given && given[0]) {
        if (strlen(given) < 16 || strlen(given) >= sizeof s->admin_token)
            return fedc_fail(err, "the admin token must be 16 to %zu characters", sizeof s->admin_token - 1);
        snprintf(s->admin_token, sizeof s->admin_token, "%s", given);
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/admin-token", s->state_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[128] = "";
        if (fgets(buf, sizeof buf, f)) buf[strcspn(buf, "\r\n")] = 0;
        fclose(f);
        if (strlen(buf) < 16 || strlen(buf) >= sizeof s->admin_token)
            return fedc_fail(err, "%s holds no admin token (16 to %zu characters expected)", path,
                             sizeof s->admin_token - 1);
        memcpy(s->admin_token, buf, strlen(buf) + 1);
        return 0;
    }
    char tok[65];
    if (fedc_auth_nonce(tok) != 0) return fedc_fail(err, "no randomness for the admin token");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return fedc_fail(err, "cannot write %s: %s", path, strerror(errno));
    int ok = write(fd, tok, 64) == 64 && write(fd, "\n", 1) == 1;
    close(fd);
    if (!ok) return fedc_fail(err, "cannot write %s", path);
    snprintf(s->admin_token, sizeof s->admin_token, "%s", tok);
    s->token_generated = 1;
    return 0;
}

static void ws_service(void *ctx) { registry_service(ctx); }

static const fedc_ws_server_ops k_ops = {
    .http = http_handle,
    .stream_poll = events_stream_poll,
    .stream_closed = events_stream_closed,
    .node_open = registry_node_open,
    .node_message = registry_node_message,
    .node_sent = registry_node_sent,
    .node_closed = registry_node_closed,
    .service = ws_service,
};

fedc_server *fedc_server_start(const fedc_server_config *cfg, fedc_error *err) {
    if (!cfg->state_dir || !cfg->state_dir[0]) {
        fedc_fail(err, "a state directory is required (--state DIR)");
        return NULL;
    }
    fedc_server *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (!s->cfg.bind) s->cfg.bind = "127.0.0.1";
    /* Without TLS the admin token and the models travel in clear text. */
    if (s->cfg.insecure && strncmp(s->cfg.bind, "127.", 4) != 0 && strcmp(s->cfg.bind, "::1") != 0 &&
        strcmp(s->cfg.bind, "localhost") != 0) {
        fedc_fail(err, "--insecure (no TLS) is for loopback only; listen on 127.0.0.1 or ::1, or keep TLS on "
                       "(got %s)",
                  s->cfg.bind);
        free(s);
        return NULL;
    }
    if (s->cfg.checkpoint_every <= 0) s->cfg.checkpoint_every = 1;
    if (s->cfg.max_flags <= 0) s->cfg.max_flags = 3;
    if (s->cfg.hello_timeout_s <= 0) s->cfg.hello_timeout_s = 10;
    if (s->cfg.max_active_runs <= 0) s->cfg.max_active_runs = capacity_auto_runs();
    if (s->cfg.max_active_runs > ACTIVE_RUNS_MAX) s->cfg.max_active_runs = ACTIVE_RUNS_MAX;
    s->started_at = fedc_now_unix();
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->take_mu, NULL);
    pthread_mutex_init(&s->damage_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    events_init(&s->ev);
    snprintf(s->state_dir, sizeof s->state_dir, "%s", cfg->state_dir);
    if (cfg->certs_dir) snprintf(s->certs_dir, sizeof s->certs_dir, "%s", cfg->certs_dir);
    else snprintf(s->certs_dir, sizeof s->certs_dir, "%.880s/certs", s->state_dir);
    char path[1100];
    snprintf(path, sizeof path, "%s/runs", s->state_dir);
    if (ensure_dir(s->state_dir, err) != 0 || ensure_dir(path, err) != 0) goto fail;
    if (!fedc_certs_exist(s->certs_dir)) {
        const char *hosts[1] = {s->cfg.public_host};
        int nh = s->cfg.public_host && s->cfg.public_host[0] && strcmp(s->cfg.public_host, "localhost") &&
                         strcmp(s->cfg.public_host, "127.0.0.1")
                     ? 1
                     : 0;
        if (fedc_certs_init(s->certs_dir, hosts, nh, err) != 0) goto fail;
        FEDC_INFO("created a CA and server certificate in %s", s->certs_dir);
    }
    if (!(s->verifier = fedc_node_verifier_create(s->certs_dir, err))) goto fail;
    if (load_admin_token(s, err) != 0) goto fail;
    snprintf(path, sizeof path, "%s/runs.db", s->state_dir);
    /* A damaged store is not served (nor written to): the admin recovers it.
     * SQLite's quick_check misses an index that disagrees with its table
     * (rows a query would silently skip); the full integrity_check finds
     * that too and takes about a second per 100 MB, so stores up to
     * FULL_CHECK_MAX get it, larger ones quick_check (and --check-store). */
    fedc_buf report = {0};
    struct stat sb;
    int full = stat(path, &sb) == 0 && sb.st_size <= FULL_CHECK_MAX;
    int damaged = store_check_path(path, full, &report, err);
    if (damaged != 0) {
        if (damaged > 0)
            fedc_fail(err, "the run store %s is damaged, so the server will not serve it:\n%.700s"
                           "Recover it with `fedc server --state %s --recover-store` (the damaged file is kept as "
                           "runs.db.damaged-TIME), or check it in full with --check-store",
                      path, report.data ? (const char *)report.data : "", s->state_dir);
        fedc_buf_free(&report);
        goto fail;
    }
    fedc_buf_free(&report);
    if (store_open(&s->db_net, path, err) != 0) goto fail;
    if (!(s->runners = calloc((size_t)s->cfg.max_active_runs, sizeof *s->runners))) {
        fedc_fail(err, "out of memory");
        goto fail;
    }
    s->nrunners = s->cfg.max_active_runs;
    if (!(s->intent = intent_service_create())) {
        fedc_fail(err, "out of memory starting the intent service");
        goto fail;
    }

    char cert[1100], key[1100];
    snprintf(cert, sizeof cert, "%s/server.crt", s->certs_dir);
    snprintf(key, sizeof key, "%s/server.key", s->certs_dir);
    char ca[1100];
    snprintf(ca, sizeof ca, "%s/ca.crt", s->certs_dir);
    /* Nodes may prove their credential with a TLS client certificate (the
     * Python node SDK: its ssl module cannot sign the nonce). */
    fedc_ws_server_config wc = {.bind = s->cfg.bind,
                                .port = s->cfg.port,
                                .tls = !s->cfg.insecure,
                                .cert_path = cert,
                                .key_path = key,
                                .node_path = "/node",
                                .max_message = 64 * 1024,
                                .client_ca_path = ca,
                                .head_timeout_s = s->cfg.header_timeout_s,
                                .body_timeout_s = s->cfg.body_timeout_s,
                                .max_pending_per_address = s->cfg.max_unauth_per_address};
    if (!(s->ws = fedc_ws_server_start(&wc, &k_ops, s, err))) goto fail;
    const char *host = s->cfg.public_host && s->cfg.public_host[0] ? s->cfg.public_host : s->cfg.bind;
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::")) host = "127.0.0.1";
    int port = fedc_ws_server_port(s->ws);
    int v6 = strchr(host, ':') != NULL;
    snprintf(s->dashboard_url, sizeof s->dashboard_url, "%s://%s%s%s:%d/", s->cfg.insecure ? "http" : "https",
             v6 ? "[" : "", host, v6 ? "]" : "", port);
    snprintf(s->node_url, sizeof s->node_url, "%s://%s%s%s:%d/node", s->cfg.insecure ? "ws" : "wss", v6 ? "[" : "",
             host, v6 ? "]" : "", port);
    if (runner_start(s, err) != 0) goto fail;
    if (upstream_start(s, err) != 0) goto fail;
    FEDC_INFO("server listening on %s (%s); up to %d run%s train at once", s->dashboard_url,
              s->cfg.insecure ? "INSECURE: no TLS" : "TLS", s->nrunners, s->nrunners == 1 ? "" : "s");
    return s;
fail:
    fedc_server_stop(s);
    return NULL;
}

void fedc_server_stop(fedc_server *s) {
    if (!s) return;
    upstream_stop(s); /* its relay uses the runners' machinery */
    runner_stop(s);
    fedc_ws_server_stop(s->ws);
    s->ws = NULL;
    intent_service_release(s->intent); /* no HTTP handler runs any more */
    for (node_session *ns = s->sessions, *n; ns; ns = n) {
        n = ns->next;
        free(ns);
    }
    free(s->runners);
    store_close(&s->db_net);
    fedc_node_verifier_free(s->verifier);
    events_free(&s->ev);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->take_mu);
    pthread_mutex_destroy(&s->damage_mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int fedc_server_port(const fedc_server *s) { return fedc_ws_server_port(s->ws); }
const char *fedc_server_admin_token(const fedc_server *s) { return s->admin_token; }
int fedc_server_token_generated(const fedc_server *s) { return s->token_generated; }
const char *fedc_server_dashboard_url(const fedc_server *s) { return s->dashboard_url; }
const char *fedc_server_node_url(const fedc_server *s) { return s->node_url; }

void fedc_server_set_listener(fedc_server *s, fedc_server_listener fn, void *ctx) {
    pthread_mutex_lock(&s->mu);
    s->listener = fn;
    s->listener_ctx = ctx;
    pthread_mutex_unlock(&s->mu);
}

/* Called from the API's own threads: a private store connection each time
 * keeps SQLite connections single-threaded. */
int fedc_server_submit(fedc_server *s, const char *task_json, size_t len, int64_t *run_id, fedc_error *err) {
    store st;
    if (store_open(&st, s->db_net.path, err) != 0) return -1;
    fedc_task t;
    int rc = fedc_task_from_json(task_json, len, &t, err);
    char *full = rc == 0 ? fedc_task_to_json(&t, 0) : NULL;
    if (rc == 0) rc = full ? store_run_create(&st, t.name, full, t.rounds, run_id, err) : fedc_fail(err, "out of memory");
    free(full);
    if (rc == 0) {
        json_t *run = store_run_json(&st, *run_id, 0);
        if (run) events_publish(s, "run", *run_id, json_pack("{s:o}", "run", run));
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    store_close(&st);
    return rc;
}

int fedc_server_run_info_get(fedc_server *s, int64_t id, fedc_server_run_info *out, fedc_error *err) {
    store st;
    if (store_open(&st, s->db_net.path, err) != 0) return -1;
    json_t *r = store_run_json(&st, id, 0);
    if (!r && st.damage[0]) {
        server_store_damaged(s, &st);
        fedc_fail(err, "the run store is damaged: %s", st.damage);
        store_close(&st);
        return -1;
    }
    store_close(&st);
    if (!r) return fedc_fail(err, "run %lld does not exist", (long long)id);
    runner_overlay(s, r);
    memset(out, 0, sizeof *out);
    out->id = id;
    snprintf(out->status, sizeof out->status, "%s", json_string_value(json_object_get(r, "status")));
    out->rounds_done = (int)json_integer_value(json_object_get(r, "rounds_done"));
    out->rounds_total = (int)json_integer_value(json_object_get(r, "rounds_total"));
    out->accuracy = json_number_value(json_object_get(r, "accuracy"));
    out->loss = json_number_value(json_object_get(r, "loss"));
    out->best_accuracy = json_number_value(json_object_get(r, "best_accuracy"));
    out->elapsed_s = json_number_value(json_object_get(r, "elapsed_s"));
    out->bytes_down = (uint64_t)json_integer_value(json_object_get(r, "bytes_down"));
    out->bytes_up = (uint64_t)json_integer_value(json_object_get(r, "bytes_up"));
    const char *e = json_string_value(json_object_get(r, "error"));
    snprintf(out->error, sizeof out->error, "%s", e ? e : "");
    json_decref(r);
    pthread_mutex_lock(&s->mu);
    out->nodes_online = s->online;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void server_store_damaged(fedc_server *s, const store *st) {
    if (!st->damage[0]) return;
    pthread_mutex_lock(&s->damage_mu);
    int first = !s->store_damage[0];
    if (first) snprintf(s->store_damage, sizeof s->store_damage, "%s", st->damage);
    pthread_mutex_unlock(&s->damage_mu);
    if (first)
        FEDC_ERROR("the run store is damaged (%s): the API no longer serves it and runs pause; stop the server and "
                   "run `fedc server --state %s --recover-store`",
                   st->damage, s->state_dir);
}

void server_store_damage(fedc_server *s, char *out, size_t cap) {
    pthread_mutex_lock(&s->damage_mu);
    snprintf(out, cap, "%s", s->store_damage);
    pthread_mutex_unlock(&s->damage_mu);
}

static char *take_report(fedc_buf *b) {
    char *text = malloc(b->len + 1);
    if (text) {
        if (b->len) memcpy(text, b->data, b->len);
        text[b->len] = 0;
    }
    fedc_buf_free(b);
    return text;
}

int fedc_server_check_store(const char *state_dir, int full, char **report, fedc_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/runs.db", state_dir);
    fedc_buf b = {0};
    int rc = store_check_path(path, full, &b, err);
    if (rc < 0) {
        fedc_buf_free(&b);
        return -1;
    }
    *report = take_report(&b);
    return rc;
}

int fedc_server_recover_store(const char *state_dir, char **report, fedc_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/runs.db", state_dir);
    fedc_buf b = {0};
    int rc = store_recover(path, &b, err);
    *report = take_report(&b);
    return rc;
}
