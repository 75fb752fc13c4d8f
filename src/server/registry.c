/* Node connections on the service thread: the nonce challenge, HELLO
 * authentication, WELCOMEs, resource reports, routing UPDATEs to the
 * exchange of their run, and closing connections that break the protocol.
 * A node serves at most one active run, holding one client slot: a node
 * that reconnects gets its slot back, a Fashion-MNIST partition K/N node
 * gets slot K when N equals the task's client count (so it trains exactly
 * what `fedc sim` gives client K), other nodes a free slot of the oldest
 * active run that has one. A node whose run ends, or that cannot serve its
 * run, is offered to the other active runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/manifest.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "server/server_internal.h"

#define PREAUTH_MAX_MESSAGE (64 * 1024)
#define IDLE_MAX_MESSAGE (1024 * 1024)

static node_session *find_conn(fedc_server *s, fedc_ws_conn *c) { return fedc_ws_conn_user(c); }

static void send_frame(node_session *ns, fedc_msg_type type, json_t *o) {
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return;
    fedc_msg m = {.type = type, .json = text, .json_len = strlen(text)};
    fedc_buf b = {0};
    if (fedc_msg_encode(&m, &b, NULL) == 0) {
        fedc_ws_payload *p = fedc_ws_payload_take(&b);
        if (p) {
            fedc_ws_conn_send(ns->conn, p, UINT64_MAX);
            fedc_ws_payload_unref(p);
        }
    }
    fedc_buf_free(&b);
    free(text);
}

static json_t *node_event_json(const node_session *ns, const char *status) {
    return json_pack("{s:{s:I,s:s,s:s,s:s}}", "node", "id", (json_int_t)ns->node_id, "name", ns->name, "status",
                     status, "address", ns->peer);
}

/* ---- assignment to the active runs (under s->mu) ---- */

active_run *registry_run(fedc_server *s, int64_t id) {
    for (active_run *ar = s->active; id && ar; ar = ar->next)
        if (ar->id == id) return ar;
    return NULL;
}

static int failed_for(const node_session *ns, int64_t run) {
    for (int i = 0; i < NODE_FAILED_MAX; i++)
        if (ns->failed[i] == run) return 1;
    return 0;
}

static void failed_add(node_session *ns, int64_t run) {
    if (failed_for(ns, run)) return;
    ns->failed[ns->failed_next] = run;
    ns->failed_next = (ns->failed_next + 1) % NODE_FAILED_MAX;
}

/* Whether ns can serve ar: any node a built-in model (a node that cannot,
 * says so with an ERROR after WELCOME); for an external model only nodes
 * that train one, with the run's manifest. The first such node of a run
 * without a manifest supplies it (under s->mu). */
static int run_accepts(fedc_server *s, active_run *ar, node_session *ns) {
    (void)s;
    if (!ar->external) return 1;
    if (!ns->cap_external || !ns->manifest) return 0;
    if (ar->manifest_json) {
        if (!strcmp(ar->manifest_json, ns->manifest)) return 1;
        fedc_manifest a, b;
        fedc_error e;
        if (fedc_manifest_parse(ns->manifest, strlen(ns->manifest), &a, &e) == 0) {
            if (fedc_manifest_parse(ar->manifest_json, strlen(ar->manifest_json), &b, &e) == 0) {
                fedc_manifest_compare(&a, &b, &e);
                fedc_manifest_free(&b);
            }
            fedc_manifest_free(&a);
        }
        FEDC_WARN("node %lld \"%s\" cannot serve run %lld: its model does not match the run's manifest: %s",
                  (long long)ns->node_id, ns->name, (long long)ar->id, e.msg);
        failed_add(ns, ar->id);
        return 0;
    }
    if (strlen(ns->manifest) >= sizeof ar->task.model_manifest) return 0;
    char *copy = strdup(ns->manifest);
    if (!copy) return 0;
    fedc_task t = ar->task;
    snprintf(t.model_manifest, sizeof t.model_manifest, "%s", ns->manifest);
    char *tj = fedc_task_to_json(&t, 0);
    if (!tj) {
        free(copy);
        return 0;
    }
    ar->task = t;
    free(ar->task_json);
    ar->task_json = tj;
    ar->manifest_json = copy;
    ar->manifest_new = 1;
    fedc_manifest m;
    if (fedc_manifest_parse(copy, strlen(copy), &m, NULL) == 0) {
        ar->params = m.total;
        fedc_manifest_free(&m);
    }
    active_run_limits(ar);
    FEDC_INFO("run %lld: model manifest supplied by node %lld \"%s\" (%zu parameters)", (long long)ar->id,
              (long long)ns->node_id, ns->name, ar->params);
    return 1;
}

/* Takes a free slot of ar for ns: its partition's, else one no other
 * candidate node's partition names. -1 if none. */
static int take_slot(fedc_server *s, active_run *ar, node_session *ns) {
    int clients = ar->task.clients;
    if (ns->part_n == clients && ns->part_k >= 0 && ns->part_k < clients && ar->slot_node[ns->part_k] == 0) {
        ar->slot_node[ns->part_k] = ns->node_id;
        return ns->part_k;
    }
    for (int k = 0; k < clients; k++) {
        /* A slot that matches another node's partition is kept for it,
         * unless that node serves another run or cannot serve this one. */
        if (ar->slot_node[k] != 0) continue;
        int reserved = 0;
        for (node_session *o = s->sessions; o; o = o->next)
            if (o != ns && o->authed && o->part_n == clients && o->part_k == k &&
                (o->run_id == 0 || o->run_id == ar->id) && !failed_for(o, ar->id))
                reserved = 1;
        if (reserved) continue;
        ar->slot_node[k] = ns->node_id;
        return k;
    }
    return -1;
}

static void assign(fedc_server *s, node_session *ns) {
    if (!ns->authed) return;
    active_run *cur = registry_run(s, ns->run_id);
    int holds = cur && ns->slot >= 0 && ns->slot < cur->task.clients && cur->slot_node[ns->slot] == ns->node_id;
    if (holds && !failed_for(ns, cur->id)) return;
    active_run *to = NULL;
    int slot = -1;
    for (active_run *ar = s->active; ar && !to; ar = ar->next) {
        if (failed_for(ns, ar->id)) continue;
        for (int k = 0; k < ar->task.clients; k++)
            if (ar->slot_node[k] == ns->node_id && run_accepts(s, ar, ns)) { /* its slot from before a reconnect */
                to = ar;
                slot = k;
                break;
            }
    }
    for (active_run *ar = s->active; ar && !to; ar = ar->next)
        if (!failed_for(ns, ar->id) && run_accepts(s, ar, ns) && (slot = take_slot(s, ar, ns)) >= 0) to = ar;
    if (!to) {
        if (!holds) { /* a node that cannot serve its run stays there if no other run has room */
            ns->run_id = 0;
            ns->slot = -1;
        }
        return;
    }
    if (holds) cur->slot_node[ns->slot] = 0; /* it cannot serve that run: free the slot */
    ns->run_id = to->id;
    ns->slot = slot;
}

void registry_assign_all(fedc_server *s) {
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->authed && !ns->closing) assign(s, ns);
}

int registry_free_count(fedc_server *s) {
    int n = 0;
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->authed && !ns->closing && (!ns->run_id || failed_for(ns, ns->run_id))) n++;
    return n;
}

static void send_welcome(fedc_server *s, node_session *ns) {
    active_run *ar = ns->slot >= 0 ? registry_run(s, ns->run_id) : NULL;
    json_t *o = json_pack("{s:I,s:s}", "node_id", (json_int_t)ns->node_id, "name", ns->name);
    if (ar) {
        json_t *task = json_loads(ar->task_json, 0, NULL);
        json_object_set_new(o, "run", json_integer(ar->id));
        json_object_set_new(o, "slot", json_integer(ns->slot));
        json_object_set_new(o, "task", task ? task : json_object());
        json_object_set_new(o, "shape", json_pack("[i,i,i]", ar->shape.c, ar->shape.h, ar->shape.w));
        json_object_set_new(o, "classes", json_integer(ar->classes));
        json_object_set_new(o, "params", json_integer((json_int_t)ar->params));
        /* Protocol additions (nodes that do not know them ignore them): the
         * tensors, whether to send the initial parameters of an external
         * model, and whether the strategy needs fedc's own trainer. */
        json_t *man = ar->manifest_json ? json_loads(ar->manifest_json, 0, NULL) : NULL;
        if (man) json_object_set_new(o, "manifest", man);
        json_object_set_new(o, "send_params", json_boolean(ar->need_init && !ar->init_params));
        json_object_set_new(o, "client_state", json_boolean(ar->client_state));
        fedc_ws_conn_set_max_message(ns->conn, ar->max_message);
    } else {
        json_object_set_new(o, "run", json_null());
        fedc_ws_conn_set_max_message(ns->conn, IDLE_MAX_MESSAGE);
    }
    ns->welcomed_gen = s->assign_gen;
    ns->welcomed_run = ar ? ar->id : 0;
    ns->welcomed_slot = ar ? ns->slot : -1;
    send_frame(ns, FEDC_MSG_WELCOME, o);
}

/* ---- connection life ---- */

void registry_node_open(void *ctx, fedc_ws_conn *c) {
    fedc_server *s = ctx;
    node_session *ns = calloc(1, sizeof *ns);
    if (!ns) {
        fedc_ws_conn_close(c, "server out of memory", 0);
        return;
    }
    ns->conn = c;
    ns->conn_id = fedc_ws_conn_id(c);
    ns->slot = -1;
    ns->opened_at = fedc_wall_s();
    snprintf(ns->peer, sizeof ns->peer, "%s", fedc_ws_conn_peer(c));
    fedc_ws_conn_set_user(c, ns);
    fedc_ws_conn_set_max_message(c, PREAUTH_MAX_MESSAGE);
    if (fedc_auth_nonce(ns->nonce) != 0) {
        fedc_ws_conn_close(c, "no randomness for the authentication nonce", 0);
        return;
    }
    pthread_mutex_lock(&s->mu);
    ns->next = s->sessions;
    s->sessions = ns;
    pthread_mutex_unlock(&s->mu);
    json_t *o = json_pack("{s:s}", "nonce", ns->nonce);
    send_frame(ns, FEDC_MSG_PING, o);
}

void registry_node_closed(void *ctx, fedc_ws_conn *c, const char *reason) {
    fedc_server *s = ctx;
    node_session *ns = find_conn(s, c);
    if (!ns) return;
    fedc_ws_conn_set_user(c, NULL);
    free(ns->manifest);
    ns->manifest = NULL;
    pthread_mutex_lock(&s->mu);
    for (node_session **pp = &s->sessions; *pp; pp = &(*pp)->next)
        if (*pp == ns) {
            *pp = ns->next;
            break;
        }
    xchg *x = ns->out_active ? exchange_find(s, ns->out_gen) : NULL;
    if (x) {
        char why[256];
        snprintf(why, sizeof why, "disconnected: %.200s", reason);
        exchange_push(s, x, XEV_DROP, ns->out_i, 0, NULL, why);
    }
    if (ns->authed) s->online--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* Closes decided here or by the transport were logged with their reason;
     * this one was not (the peer left, or the WebSocket layer refused a
     * frame-level violation such as an unknown opcode). */
    if (!ns->authed && !ns->closing && !strcmp(reason, "connection lost"))
        FEDC_WARN("connection from %s closed before it authenticated: the peer went away or broke the WebSocket "
                  "framing (e.g. a reserved opcode)",
                  ns->peer);
    if (ns->authed) {
        FEDC_INFO("node %lld \"%s\" disconnected: %s", (long long)ns->node_id, ns->name, reason);
        store_node_seen(&s->db_net, ns->node_id);
        events_publish(s, "node", 0, node_event_json(ns, "offline"));
    }
    free(ns);
}

static void refuse(fedc_server *s, node_session *ns, const char *why, int fatal) {
    (void)s;
    ns->closing = 1;
    fedc_ws_conn_close(ns->conn, why, fatal ? FEDC_WS_CLOSE_FATAL : FEDC_WS_CLOSE_ERROR);
}

static void read_resources(node_session *ns, json_t *res) {
    if (!json_is_object(res)) return;
    json_t *v;
    if ((v = json_object_get(res, "cores")) && json_is_integer(v)) ns->cores = (int)json_integer_value(v);
#define NUM(field, key)                                                                                    \
    if ((v = json_object_get(res, key)) && json_is_number(v) && isfinite(json_number_value(v)) &&          \
        json_number_value(v) >= 0)                                                                         \
        ns->field = json_number_value(v);
    NUM(memory_bytes, "memory_bytes")
    NUM(samples_per_s, "samples_per_s")
    NUM(up_bps, "up_bps")
    NUM(down_bps, "down_bps")
    NUM(n_samples, "n_samples")
#undef NUM
    if ((v = json_object_get(res, "data")) && json_is_string(v))
        snprintf(ns->data, sizeof ns->data, "%s", json_string_value(v));
}

static char *resources_text(const node_session *ns) {
    json_t *o = json_pack("{s:i,s:f,s:f,s:f,s:f,s:f,s:s}", "cores", ns->cores, "memory_bytes", ns->memory_bytes,
                          "samples_per_s", ns->samples_per_s, "up_bps", ns->up_bps, "down_bps", ns->down_bps,
                          "n_samples", ns->n_samples, "data", ns->data);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return t;
}

static void on_hello(fedc_server *s, node_session *ns, const fedc_msg *m) {
    json_t *o = json_loads(m->json, 0, NULL);
    const char *cert = NULL, *sig = NULL, *data = NULL, *auth = NULL;
    json_int_t version = 0;
    json_t *res = NULL, *part = NULL, *caps = NULL, *manifest = NULL;
    if (!o || json_unpack(o, "{s:I,s?s,s?s,s?o,s?s,s?o,s?s,s?o,s?o}", "version", &version, "cert", &cert, "sig", &sig,
                          "resources", &res, "data", &data, "partition", &part, "auth", &auth, "caps", &caps,
                          "manifest", &manifest) != 0 ||
        (!(auth && !strcmp(auth, "tls")) && (!cert || !sig))) {
        json_decref(o);
        refuse(s, ns, "hello: fields version (integer), cert and sig (strings) are required, or \"auth\": \"tls\" "
                      "with a TLS client certificate", 1);
        return;
    }
    if (version != FEDC_PROTO_VERSION) {
        char why[128];
        snprintf(why, sizeof why, "hello: protocol version %lld is not supported (expected %d)", (long long)version,
                 FEDC_PROTO_VERSION);
        json_decref(o);
        refuse(s, ns, why, 1);
        return;
    }
    fedc_error e;
    int64_t id;
    char name[FEDC_NODE_NAME_MAX + 1];
    int tls_auth = auth && !strcmp(auth, "tls");
    const char *tls_cert = fedc_ws_conn_client_cert(ns->conn);
    if (tls_auth && !tls_cert) {
        json_decref(o);
        refuse(s, ns, "hello: \"auth\": \"tls\" but the connection presented no client certificate", 1);
        return;
    }
    if (tls_auth ? fedc_node_verify_cert(s->verifier, tls_cert, &id, name, &e) != 0
                 : fedc_node_verify(s->verifier, cert, ns->nonce, sig, &id, name, &e) != 0) {
        FEDC_WARN("node from %s refused: %s", ns->peer, e.msg);
        json_decref(o);
        refuse(s, ns, e.msg, 1);
        return;
    }
    ns->node_id = id;
    snprintf(ns->name, sizeof ns->name, "%s", name);
    for (size_t i = 0; json_is_array(caps) && i < json_array_size(caps) && i < 32; i++) {
        const char *c = json_string_value(json_array_get(caps, i));
        if (c && !strcmp(c, FEDC_CAP_EVALUATE)) ns->cap_evaluate = 1;
        if (c && !strcmp(c, FEDC_CAP_EXTERNAL)) ns->cap_external = 1;
    }
    if (manifest) {
        char *text = json_dumps(manifest, JSON_COMPACT);
        fedc_manifest mf;
        if (!text || fedc_manifest_parse(text, strlen(text), &mf, &e) != 0) {
            char why[FEDC_ERROR_MAX + 16];
            snprintf(why, sizeof why, "hello: %s", text ? e.msg : "out of memory");
            free(text);
            json_decref(o);
            refuse(s, ns, why, 1);
            return;
        }
        free(text);
        ns->manifest = fedc_manifest_to_json(&mf);
        fedc_manifest_free(&mf);
    }
    read_resources(ns, res);
    if (data) snprintf(ns->data, sizeof ns->data, "%s", data);
    ns->part_k = ns->part_n = -1;
    if (json_is_array(part) && json_array_size(part) == 2 && json_is_integer(json_array_get(part, 0)) &&
        json_is_integer(json_array_get(part, 1))) {
        json_int_t k = json_integer_value(json_array_get(part, 0)), n = json_integer_value(json_array_get(part, 1));
        if (n >= 1 && n <= FEDC_PART_MAX_CLIENTS && k >= 0 && k < n) {
            ns->part_k = (int)k;
            ns->part_n = (int)n;
        }
    }
    json_decref(o);

    pthread_mutex_lock(&s->mu);
    /* One connection per node, and the first keeps it: two processes with
     * the same credential would otherwise take the slot from each other
     * round after round. The second is refused (not fatally: a node that
     * restarted before its old connection was noticed dead gets in on its
     * next attempt, once the probe below has found that connection gone). */
    for (node_session *o2 = s->sessions; o2; o2 = o2->next)
        if (o2 != ns && o2->authed && o2->node_id == id && !o2->closing) {
            char why[300];
            snprintf(why, sizeof why,
                     "node %lld \"%s\" is already connected from %s (connection %llu); a second connection with "
                     "the same credential is refused",
                     (long long)id, name, o2->peer, (unsigned long long)o2->conn_id);
            double now = fedc_wall_s();
            int log_it = now - o2->dup_logged >= 10;
            if (log_it) o2->dup_logged = now;
            fedc_ws_conn_probe(o2->conn, 5);
            pthread_mutex_unlock(&s->mu);
            /* Logged at most every 10 s per node: the refused one retries with backoff. */
            if (log_it) FEDC_WARN("%s (this one from %s)", why, ns->peer);
            refuse(s, ns, why, 0);
            return;
        }
    ns->authed = 1;
    fedc_ws_conn_authenticated(ns->conn);
    s->online++;
    assign(s, ns);
    send_welcome(s, ns);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    char *rt = resources_text(ns);
    store_node_upsert(&s->db_net, id, name, ns->peer, rt);
    free(rt);
    FEDC_INFO("node %lld \"%s\" connected from %s (%s)%s", (long long)id, name, ns->peer, ns->data,
              ns->slot >= 0 ? "" : ", idle");
    events_publish(s, "node", 0, node_event_json(ns, "online"));
}

/* The "round" an update claims (-1 if none): late updates are told from
 * replies by it; the engine checks it again for the reply it receives. */
static long long update_round(const fedc_msg *m) {
    json_t *o = json_loads(m->json, 0, NULL);
    json_t *r = o ? json_object_get(o, "round") : NULL;
    long long v = json_is_integer(r) ? (long long)json_integer_value(r) : -1;
    json_decref(o);
    return v;
}

/* ---- what a node owes: the rounds of unanswered TRAIN messages ---- */

static void owed_push(node_session *ns, int round) {
    if (ns->owed_n == NODE_OWED_MAX) { /* the oldest is forgotten */
        ns->owed_first = (ns->owed_first + 1) % NODE_OWED_MAX;
        ns->owed_n--;
    }
    ns->owed[(ns->owed_first + ns->owed_n) % NODE_OWED_MAX] = round;
    ns->owed_n++;
}

/* The round of the oldest unanswered TRAIN, removed; -1 if none. */
static int owed_pop(node_session *ns) {
    if (!ns->owed_n) return -1;
    int r = ns->owed[ns->owed_first];
    ns->owed_first = (ns->owed_first + 1) % NODE_OWED_MAX;
    ns->owed_n--;
    return r;
}

/* An UPDATE answers the oldest TRAIN the node has not answered (a node
 * works through its messages in order). */
static void on_update(fedc_server *s, node_session *ns, long long round, fedc_buf *msg, uint64_t wire) {
    pthread_mutex_lock(&s->mu);
    int answers = owed_pop(ns);
    if (answers < 0) {
        pthread_mutex_unlock(&s->mu);
        refuse(s, ns, "update without a pending train message (out of order)", 0);
        return;
    }
    xchg *x = ns->out_active ? exchange_find(s, ns->out_gen) : NULL;
    int current = x && xchg_round(x, ns->out_i) == answers;
    if (round == answers && current) {
        ns->out_active = 0;
        exchange_push(s, x, XEV_REPLY, ns->out_i, wire, msg, NULL);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (round == answers) {
        /* The answer to a round that ended without it: late, dropped, not
         * held against the node. */
        pthread_mutex_unlock(&s->mu);
        FEDC_WARN("node %lld: update for round %lld arrived after its round ended; dropped", (long long)ns->node_id,
                  round);
        return;
    }
    /* The answer to the TRAIN of round `answers` claims another round: a
     * replay of an update sent before, or a made-up round. As the answer
     * to the round under way it is refused at once (the engine names both
     * rounds and the node is flagged), so its slot does not wait out the
     * round deadline; as the answer to an ended round it is dropped and the
     * node flagged here. */
    if (current) {
        ns->out_active = 0;
        exchange_push(s, x, XEV_REPLY, ns->out_i, wire, msg, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    char why[200];
    snprintf(why, sizeof why, "answered the train message of round %d with an update for round %lld (a replay?)",
             answers, round);
    FEDC_WARN("node %lld \"%s\": %s; refused", (long long)ns->node_id, ns->name, why);
    if (!current) store_node_flag(&s->db_net, ns->node_id, why);
}

/* PARAMS: an external run's initial model, from one of its nodes. The
 * first valid one is kept; later ones (other nodes asked at the same time)
 * are ignored. */
static void on_params(fedc_server *s, node_session *ns, const fedc_msg *m) {
    pthread_mutex_lock(&s->mu);
    active_run *ar = registry_run(s, ns->run_id);
    int wanted = ar && ar->external && ar->need_init && !ar->init_params && ar->params > 0;
    size_t d = wanted ? ar->params : 0;
    pthread_mutex_unlock(&s->mu);
    if (!wanted) return;
    fedc_error e;
    float *x = malloc(d * sizeof *x);
    fedc_codec *none = fedc_codec_parse("none", &e);
    int ok = x && none && m->nblobs == 1 && fedc_codec_decode(none, m->blobs[0].data, m->blobs[0].len, x, d, &e) == 0;
    fedc_codec_free(none);
    if (!ok) {
        char why[FEDC_ERROR_MAX + 64];
        snprintf(why, sizeof why, "params: %s", m->nblobs != 1 ? "one blob (the parameters, codec none) expected" : e.msg);
        free(x);
        refuse(s, ns, why, 0);
        return;
    }
    pthread_mutex_lock(&s->mu);
    ar = registry_run(s, ns->run_id);
    if (ar && ar->need_init && !ar->init_params && ar->params == d) {
        ar->init_params = x;
        ar->init_n = d;
        x = NULL;
        FEDC_INFO("run %lld: initial parameters (%zu values) from node %lld \"%s\"", (long long)ar->id, d,
                  (long long)ns->node_id, ns->name);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(x);
}

void registry_node_message(void *ctx, fedc_ws_conn *c, fedc_buf *msg, uint64_t wire) {
    fedc_server *s = ctx;
    node_session *ns = find_conn(s, c);
    if (!ns || ns->closing) return;
    fedc_msg m;
    fedc_error e;
    if (fedc_msg_decode(msg->data, msg->len, &m, &e) != 0) {
        char why[FEDC_ERROR_MAX + 32];
        snprintf(why, sizeof why, "malformed message: %s", e.msg);
        refuse(s, ns, why, 0);
        return;
    }
    if (!ns->authed) {
        if (m.type != FEDC_MSG_HELLO) {
            char why[96];
            snprintf(why, sizeof why, "expected hello first, got %s (out of order)", fedc_msg_type_name(m.type));
            refuse(s, ns, why, 0);
        } else {
            on_hello(s, ns, &m);
        }
        fedc_msg_free(&m);
        return;
    }
    json_t *o = NULL;
    switch (m.type) {
    case FEDC_MSG_UPDATE:
    case FEDC_MSG_RESULT:     /* the reply to an EVALUATE */
    case FEDC_MSG_STEP_REPLY: { /* the reply to a TRAIN; a round protocol's answers travel like updates */
        long long round = update_round(&m);
        fedc_msg_free(&m);
        on_update(s, ns, round, msg, wire);
        return;
    }
    case FEDC_MSG_PARAMS:
        on_params(s, ns, &m);
        break;
    case FEDC_MSG_PING: /* a resource report; after a WELCOME it also means "ready" */
        o = json_loads(m.json, 0, NULL);
        if (o) {
            read_resources(ns, json_object_get(o, "resources"));
            json_t *run = json_object_get(o, "run");
            pthread_mutex_lock(&s->mu);
            if (json_is_integer(run) && json_integer_value(run) == ns->run_id && ns->run_id) {
                /* Joining the run: its sample count is declared now, and
                 * later reports cannot raise the weight of its updates. */
                if (ns->ready_run != ns->run_id) ns->declared_samples = ns->n_samples;
                ns->ready_run = ns->run_id;
            }
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            if (json_object_get(o, "resources")) {
                char *rt = resources_text(ns);
                store_node_upsert(&s->db_net, ns->node_id, ns->name, ns->peer, rt);
                free(rt);
            }
        }
        break;
    case FEDC_MSG_ERROR: {
        o = json_loads(m.json, 0, NULL);
        const char *reason = o ? json_string_value(json_object_get(o, "reason")) : NULL;
        char why[256];
        snprintf(why, sizeof why, "node error: %.200s", reason ? reason : "(no reason)");
        pthread_mutex_lock(&s->mu);
        /* An error about a round is its answer to that round's TRAIN. */
        if (json_is_integer(json_object_get(o, "round")) && ns->owed_n &&
            json_integer_value(json_object_get(o, "round")) == ns->owed[ns->owed_first])
            owed_pop(ns);
        xchg *x = ns->out_active ? exchange_find(s, ns->out_gen) : NULL;
        if (x) {
            ns->out_active = 0;
            exchange_push(s, x, XEV_DROP, ns->out_i, 0, NULL, why);
        } else if (ns->run_id) {
            /* It cannot serve this run: leave it out, and offer it to another. */
            int64_t was = ns->run_id;
            failed_add(ns, was);
            assign(s, ns);
            if (ns->run_id != was) send_welcome(s, ns);
        }
        pthread_mutex_unlock(&s->mu);
        FEDC_WARN("node %lld \"%s\": %s", (long long)ns->node_id, ns->name, why);
        break;
    }
    case FEDC_MSG_BYE:
        ns->closing = 1;
        fedc_ws_conn_close(c, "the node said bye", 0);
        break;
    default: {
        char why[96];
        snprintf(why, sizeof why, "a node may not send %s messages (out of order)", fedc_msg_type_name(m.type));
        refuse(s, ns, why, 0);
        break;
    }
    }
    json_decref(o);
    fedc_msg_free(&m);
}

void registry_node_sent(void *ctx, fedc_ws_conn *c, uint64_t tag, uint64_t wire) {
    fedc_server *s = ctx;
    (void)c;
    pthread_mutex_lock(&s->mu);
    int i = (int)(tag & 0xFFFFFF);
    xchg *x = exchange_find(s, tag >> 24);
    if (x) exchange_push(s, x, XEV_SENT, i, wire, NULL, NULL);
    pthread_mutex_unlock(&s->mu);
}

void registry_kick(fedc_server *s, int64_t id, const char *reason) {
    pthread_mutex_lock(&s->mu);
    for (node_session *ns = s->sessions; ns; ns = ns->next)
        if (ns->authed && ns->node_id == id && !ns->closing) {
            ns->closing = 1;
            fedc_ws_conn_close(ns->conn, reason, FEDC_WS_CLOSE_FATAL);
        }
    pthread_mutex_unlock(&s->mu);
}

/* Service-thread work: pending TRAIN sends and WELCOMEs, HELLO deadlines,
 * revocations made with `fedc certs revoke` while the node is online. */
void registry_service(void *ctx) {
    fedc_server *s = ctx;
    double now = fedc_wall_s();
    int check_revoked = now - s->last_revocation_check >= 2.0;
    if (check_revoked) s->last_revocation_check = now;
    pthread_mutex_lock(&s->mu);
    for (node_session *ns = s->sessions; ns; ns = ns->next) {
        if (ns->closing) continue;
        if (!ns->authed) {
            if (now - ns->opened_at > s->cfg.hello_timeout_s) {
                char why[96];
                snprintf(why, sizeof why, "no hello within %.0f s of connecting", s->cfg.hello_timeout_s);
                refuse(s, ns, why, 0);
            }
            continue;
        }
        if (check_revoked && fedc_node_revoked(s->verifier, ns->node_id)) {
            char why[96];
            snprintf(why, sizeof why, "node %lld is revoked", (long long)ns->node_id);
            FEDC_WARN("%s: disconnecting it", why);
            refuse(s, ns, why, 1);
            xchg *x = ns->out_active ? exchange_find(s, ns->out_gen) : NULL;
            if (x) {
                ns->out_active = 0;
                exchange_push(s, x, XEV_DROP, ns->out_i, 0, NULL, why);
            }
            continue;
        }
        if (ns->welcomed_gen != s->assign_gen) {
            /* A run started or ended: a node whose run changed (or that is
             * idle) is told; nodes staying in their run are left alone. */
            ns->welcomed_gen = s->assign_gen;
            assign(s, ns);
            if (!ns->run_id || ns->run_id != ns->welcomed_run || ns->slot != ns->welcomed_slot) send_welcome(s, ns);
        }
        if (ns->out_send) {
            ns->out_send = 0;
            /* A node still not reading earlier messages would make its queue
             * (and the models it references) grow round after round. */
            size_t backlog = fedc_ws_conn_pending(ns->conn);
            xchg *x = exchange_find(s, ns->out_gen);
            if (x && backlog >= 2) {
                char why[128];
                snprintf(why, sizeof why, "the node is not reading: %zu earlier messages still unsent", backlog);
                ns->out_active = 0;
                exchange_push(s, x, XEV_DROP, ns->out_i, 0, NULL, why);
            } else if (x && fedc_ws_conn_send(ns->conn, x->payload[ns->out_i],
                                              (ns->out_gen << 24) | (uint64_t)ns->out_i) != 0) {
                ns->out_active = 0;
                exchange_push(s, x, XEV_DROP, ns->out_i, 0, NULL, "connection closing");
            } else if (x) {
                owed_push(ns, xchg_round(x, ns->out_i));
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
}

int registry_ready_count(fedc_server *s, const active_run *ar) {
    int n = 0;
    for (node_session *ns = s->sessions; ar && ns; ns = ns->next)
        if (ns->authed && !ns->closing && ns->run_id == ar->id && ns->ready_run == ar->id && !failed_for(ns, ar->id) &&
            ns->slot >= 0 && ar->flags[ns->slot] < s->cfg.max_flags)
            n++;
    return n;
}

int registry_joined_count(fedc_server *s, const active_run *ar) {
    int n = 0;
    for (node_session *ns = s->sessions; ar && ns; ns = ns->next)
        if (ns->authed && !ns->closing && ns->run_id == ar->id && !failed_for(ns, ar->id) && ns->slot >= 0 &&
            ar->flags[ns->slot] < s->cfg.max_flags)
            n++;
    return n;
}

void registry_client_hook(void *ctx, int round, fedc_client_info *info, int n) {
    runner *r = ctx;
    fedc_server *s = r->s;
    (void)round;
    pthread_mutex_lock(&s->mu);
    for (int k = 0; k < n; k++) info[k].available = 0;
    active_run *ar = r->ar;
    for (node_session *ns = s->sessions; ar && ns; ns = ns->next) {
        if (!ns->authed || ns->closing || ns->run_id != ar->id || ns->ready_run != ar->id ||
            failed_for(ns, ar->id) || ns->slot < 0 || ns->slot >= n || ar->flags[ns->slot] >= s->cfg.max_flags)
            continue;
        fedc_client_info *ci = &info[ns->slot];
        ci->available = 1;
        /* A node holding this slot's own partition of the task's data has
         * exactly its size (the engine's); another node has what it
         * declared when it joined. Either bounds its updates' n_samples. */
        int own_partition = ns->part_n == n && ns->part_k == ns->slot && !strchr(ns->data, ',');
        if (!own_partition && ns->declared_samples > 0) ci->n_samples = (size_t)ns->declared_samples;
        if (ns->samples_per_s > 0) ci->samples_per_s = ns->samples_per_s;
        if (ns->up_bps > 0) ci->up_bps = ns->up_bps;
        if (ns->down_bps > 0) ci->down_bps = ns->down_bps;
    }
    pthread_mutex_unlock(&s->mu);
}

void registry_node_live(fedc_server *s, int64_t id, json_t *node) {
    for (node_session *ns = s->sessions; ns; ns = ns->next) {
        if (!ns->authed || ns->node_id != id || ns->closing) continue;
        json_object_set_new(node, "status", json_string("online"));
        json_object_set_new(node, "address", json_string(ns->peer));
        json_t *res = json_pack("{s:i,s:f,s:f,s:f,s:f,s:f,s:s}", "cores", ns->cores, "memory_bytes", ns->memory_bytes,
                                "samples_per_s", ns->samples_per_s, "up_bps", ns->up_bps, "down_bps", ns->down_bps,
                                "n_samples", ns->n_samples, "data", ns->data);
        json_object_set_new(node, "resources", res);
        if (registry_run(s, ns->run_id) && ns->slot >= 0)
            json_object_set_new(node, "run", json_pack("{s:I,s:i}", "id", (json_int_t)ns->run_id, "slot", ns->slot));
        json_object_set_new(node, "last_seen", json_real(fedc_now_unix()));
    }
}
