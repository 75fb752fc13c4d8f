/* HTTP dispatch: /api/login needs nothing, every other /api/ route needs
 * the admin token or a session (http_auth.c), /api/runs..., /api/nodes...,
 * /api/intent..., /api/searches... and /api/datasets go to their files, other GETs to the
 * embedded web app. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/strategy.h"
#include "fedc/task.h"
#include "server/server_internal.h"

void http_json(fedc_http_response *r, int status, json_t *body) {
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "application/json");
    fedc_buf_clear(&r->body);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    if (!text || fedc_buf_append(&r->body, text, strlen(text)) != 0) {
        /* Out of memory: a 500 (with a body if even that fits), never a cut-off 200. */
        r->status = 500;
        fedc_buf_clear(&r->body);
        if (fedc_buf_append(&r->body, "{\"error\":\"out of memory\"}", 25) != 0) fedc_buf_clear(&r->body);
    }
    free(text);
    fedc_http_add_header(r, "cache-control", "no-store");
}

void http_error(fedc_http_response *r, int status, const char *fmt, ...) {
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_json(r, status, json_pack("{s:s}", "error", msg));
}

void http_store_failed(fedc_server *s, store *st, fedc_http_response *resp) {
    server_store_damaged(s, st);
    char damage[400];
    server_store_damage(s, damage, sizeof damage);
    if (damage[0])
        http_json(resp, 503,
                  json_pack("{s:s,s:s,s:s}", "error",
                            "the run store is damaged, so the server no longer serves it; stop the server and recover "
                            "it (the damaged file is kept)",
                            "damage", damage, "recovery", "fedc server --state STATE --recover-store"));
    else
        http_error(resp, 500, "the run store cannot be read: %s", store_fail_msg(st));
}

static void h_server(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    (void)req;
    http_json(resp, 200, server_info_json(s));
}

static void h_schema(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    (void)s;
    (void)req;
    char *schema = fedc_task_schema_json();
    if (!schema) {
        http_error(resp, 500, "cannot build the task schema");
        return;
    }
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "application/schema+json");
    int ok = fedc_buf_append(&resp->body, schema, strlen(schema)) == 0;
    free(schema);
    if (!ok) http_error(resp, 500, "out of memory");
}

static json_t *issues_json(const fedc_task_issue *iss, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_pack("{s:s,s:s}", "path", iss[i].path, "message", iss[i].msg));
    return a;
}

static void h_validate(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    (void)s;
    fedc_task t;
    fedc_task_issue *iss = NULL;
    int n = fedc_task_from_json_all((const char *)req->body, req->body_len, &t, &iss);
    if (n < 0) {
        http_error(resp, 500, "out of memory validating the task");
        return;
    }
    char *full = fedc_task_to_json(&t, 0);
    json_t *task = full ? json_loads(full, 0, NULL) : NULL;
    free(full);
    http_json(resp, 200, json_pack("{s:b,s:o,s:o}", "valid", n == 0, "task", task ? task : json_object(), "issues",
                                   issues_json(iss, n)));
    free(iss);
}

/* Asynchronous strategies (fedbuff, fedfix, async-fedavg) are deployed with
 * nodes that train continuously (the engine keeps one exchange open), but
 * not beside federated evaluation (an exchange of its own, which cannot run
 * beside the open one; secure aggregation the validator already refuses
 * with them). The decentralised ones are deployed through the gossip relay
 * (the server forwards, the nodes mix): the mixing strategies step by step,
 * pairwise gossip and gossip-vc in waves of disjoint pushes, dadao in waves
 * of its communication events (each node keeps its own vectors). dadao
 * needs strategy.smoothness there: the simulation bounds L from the
 * clients' data, which a server does not see. Refused here, with the field
 * to change, rather than run. */
static int deployment_refuses(const fedc_task *t, json_t **issues, fedc_error *err) {
    if (t->validation > 0) {
        /* The held-out samples are cut from the simulator's partitions; nodes keep their own data. */
        fedc_task_issue iss = {"validation", ""};
        snprintf(iss.msg, sizeof iss.msg,
                 "validation: %g holds out part of the simulated clients' data, which fedc does in simulation "
                 "only (fedc sim, fedc tune); a deployment needs 0",
                 t->validation);
        fedc_fail(err, "the task spec is not valid (1 problem): %s", iss.msg);
        if (issues) *issues = issues_json(&iss, 1);
        return -1;
    }
    fedc_strategy *st = fedc_strategy_create(t, 1, t->clients, err);
    if (!st) return -1;
    fedc_strategy_info info = fedc_strategy_info_get(st);
    int relayed = info.decentral && !info.event_driven; /* relayed whatever their settings */
    fedc_strategy_free(st);
    int async = info.async_buffer > 0 || info.async_window_s > 0;
    if (async && fedc_task_federated_eval(t)) {
        fedc_task_issue iss = {"strategy.name", ""};
        snprintf(iss.msg, sizeof iss.msg,
                 "%s is asynchronous: its nodes train continuously, which a deployment cannot combine with "
                 "federated evaluation; use a synchronous strategy such as fedavg, or evaluate on the server "
                 "(eval.federated false, a built-in model)",
                 t->strategy.name);
        fedc_fail(err, "the task spec is not valid (1 problem): %s", iss.msg);
        if (issues) *issues = issues_json(&iss, 1);
        return -1;
    }
    if (async || !info.decentral || relayed || t->strategy.smoothness > 0) return 0;
    /* What is left is dadao without its smoothness. */
    fedc_task_issue iss = {"strategy.smoothness", ""};
    snprintf(iss.msg, sizeof iss.msg,
             "strategy.smoothness: %s across real nodes needs L, the smoothness of the nodes' losses (the "
             "simulation bounds it from the clients' data, which the server does not see; for softmax "
             "regression on features in [0, 1], mu plus half the largest mean |(a, 1)|^2 of a node's samples)",
             t->strategy.name);
    fedc_fail(err, "the task spec is not valid (1 problem): %s", iss.msg);
    if (issues) *issues = issues_json(&iss, 1);
    return -1;
}

int server_submit_json(fedc_server *s, const char *json, size_t len, int64_t *id, json_t **issues, fedc_error *err) {
    fedc_task t;
    fedc_task_issue *iss = NULL;
    int n = fedc_task_from_json_all(json, len, &t, &iss);
    if (n != 0) {
        if (n < 0) return fedc_fail(err, "out of memory validating the task");
        fedc_fail(err, "the task spec is not valid (%d problem%s)%s%s", n, n == 1 ? "" : "s", n ? ": " : "",
                  n ? iss[0].msg : "");
        if (issues) *issues = issues_json(iss, n);
        free(iss);
        return -1;
    }
    free(iss);
    if (deployment_refuses(&t, issues, err) != 0) return -1;
    char *full = fedc_task_to_json(&t, 0);
    if (!full) return fedc_fail(err, "out of memory");
    int rc = store_run_create(&s->db_net, t.name, full, t.rounds, id, err);
    free(full);
    if (rc != 0) return -1;
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void http_handle(void *ctx, const fedc_http_request *req, fedc_http_response *resp) {
    fedc_server *s = ctx;
    const char *p = req->path;
    if (strncmp(p, "/api/", 5) != 0 && strcmp(p, "/api") != 0) {
        if (http_static_route(s, req, resp)) return;
        http_error(resp, 404, "%s %s: no such page", req->method, p);
        return;
    }
    int get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    if (!strcmp(p, "/api/login")) {
        if (post) http_login(s, req, resp);
        else http_error(resp, 405, "%s %s: use POST", req->method, p);
        return;
    }
    if (http_auth_check(s, req, resp) != 0) return;
    /* Once damage is found the store is not served (nor is anything that
     * reads it); the server's own status says why. */
    char damage[400];
    server_store_damage(s, damage, sizeof damage);
    if (damage[0] && strcmp(p, "/api/server") != 0 && strcmp(p, "/api/session") != 0 && strcmp(p, "/api/logout") != 0) {
        http_store_failed(s, &s->db_net, resp);
        return;
    }
    if (!strcmp(p, "/api/logout")) {
        if (post) http_logout(s, req, resp);
        else http_error(resp, 405, "%s %s: use POST", req->method, p);
    } else if (!strcmp(p, "/api/session") && get) {
        http_session(s, req, resp);
    } else if (!strcmp(p, "/api/server") && get) {
        h_server(s, req, resp);
    } else if (!strcmp(p, "/api/schema") && get) {
        h_schema(s, req, resp);
    } else if (!strcmp(p, "/api/tasks/validate") && post) {
        h_validate(s, req, resp);
    } else if (!strcmp(p, "/api/events") && get) {
        char run[32] = "";
        fedc_http_query_get(req->query, "run", run, sizeof run);
        event_stream *st = events_stream_open(s, strtoll(run, NULL, 10), strtoull(req->last_event_id, NULL, 10));
        if (!st) {
            http_error(resp, 500, "out of memory opening the event stream");
            return;
        }
        resp->status = 200;
        snprintf(resp->content_type, sizeof resp->content_type, "text/event-stream");
        fedc_http_add_header(resp, "cache-control", "no-store");
        resp->stream = 1;
        resp->stream_state = st;
    } else if (!strncmp(p, "/api/runs", 9) && (p[9] == 0 || p[9] == '/')) {
        if (!http_runs_route(s, req, resp, p + 9)) http_error(resp, 404, "%s %s: no such route", req->method, p);
    } else if (!strncmp(p, "/api/nodes", 10) && (p[10] == 0 || p[10] == '/')) {
        if (!http_nodes_route(s, req, resp, p + 10)) http_error(resp, 404, "%s %s: no such route", req->method, p);
    } else if (!strncmp(p, "/api/intent", 11) && (p[11] == 0 || p[11] == '/')) {
        if (!http_intent_route(s, req, resp, p + 11)) http_error(resp, 404, "%s %s: no such route", req->method, p);
    } else if (!strncmp(p, "/api/searches", 13) && (p[13] == 0 || p[13] == '/')) {
        if (!http_searches_route(s, req, resp, p + 13)) http_error(resp, 404, "%s %s: no such route", req->method, p);
    } else if (!strncmp(p, "/api/datasets", 13) && (p[13] == 0 || p[13] == '/')) {
        if (!http_datasets_route(s, req, resp, p + 13)) http_error(resp, 404, "%s %s: no such route", req->method, p);
    } else {
        http_error(resp, 404, "%s %s: no such route (see docs/api.md)", req->method, p);
    }
}
