/* The node loop behind fedc_node_serve: connect, authenticate, follow
 * WELCOMEs (run changes), answer each TRAIN with an UPDATE and each
 * EVALUATE with a RESULT, send an external model's initial parameters when
 * asked, reconnect with exponential backoff (with jitter) after a lost
 * connection. The model's callbacks run on this thread; the WebSocket
 * client's own thread keeps the connection alive. */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "fedc/certs.h"
#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "fedc/ws.h"

#define HELLO_WAIT_S 15.0

typedef struct loop {
    const fedc_node_config *cfg;
    const fedc_node_model *model;
    fedc_credential *cred;
    node_resources res;
    /* the current run */
    int have_run;
    int64_t run_id, node_id;
    int slot;
    char *task_json;
    fedc_task task;
    fedc_manifest manifest;
    node_params params; /* parameter-level models (fit/evaluate callbacks) */
    fedc_buf reply;
} loop;

enum { SESSION_LOST = 0, SESSION_STOP = 1, SESSION_FATAL = -1 };

static int stopping(const loop *l) { return l->cfg->stop && *l->cfg->stop; }

void node_sleep(volatile sig_atomic_t *stop, double s) {
    double end = fedc_wall_s() + s;
    while (!(stop && *stop) && fedc_wall_s() < end) {
        double left = end - fedc_wall_s();
        if (left > 0.1) left = 0.1;
        if (left <= 0) break;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void drop_run(loop *l, int ended) {
    if (l->have_run && l->model->teardown) l->model->teardown(l->model->user, ended);
    node_params_free(&l->params);
    fedc_manifest_free(&l->manifest);
    free(l->task_json);
    l->task_json = NULL;
    l->have_run = 0;
    l->run_id = 0;
    l->slot = -1;
}

static int send_msg(fedc_ws_client *c, fedc_msg_type type, const char *json, fedc_error *err) {
    fedc_buf b = {0};
    fedc_msg m = {.type = type, .json = json, .json_len = strlen(json)};
    int rc = fedc_msg_encode(&m, &b, err);
    if (rc == 0) rc = fedc_ws_client_send(c, b.data, b.len, NULL, err);
    fedc_buf_free(&b);
    return rc;
}

static int send_json(fedc_ws_client *c, fedc_msg_type type, json_t *o, fedc_error *err) {
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) return fedc_fail(err, "out of memory encoding a message");
    int rc = send_msg(c, type, s, err);
    free(s);
    return rc;
}

static int report_resources(loop *l, fedc_ws_client *c, fedc_error *err) {
    /* Sent after each WELCOME: "run" tells the server the node is ready for it. */
    json_t *o = json_pack("{s:o,s:I}", "resources", node_resources_json(&l->res, l->model->data_label), "run",
                          (json_int_t)l->run_id);
    return send_json(c, FEDC_MSG_PING, o, err);
}

/* WELCOME: who we are, and the task of the run we serve (or none). */
static int on_welcome(loop *l, fedc_ws_client *c, const fedc_msg *m, fedc_error *err) {
    json_t *o = json_loads(m->json, 0, NULL);
    json_t *jid = o ? json_object_get(o, "node_id") : NULL;
    if (!json_is_integer(jid)) {
        json_decref(o);
        return fedc_fail(err, "welcome: node_id (integer) is required");
    }
    l->node_id = json_integer_value(jid);
    json_t *task = json_object_get(o, "task"), *shape = json_object_get(o, "shape");
    json_int_t run = json_integer_value(json_object_get(o, "run"));
    json_int_t slot = json_is_integer(json_object_get(o, "slot")) ? json_integer_value(json_object_get(o, "slot")) : -1;
    json_int_t classes = json_integer_value(json_object_get(o, "classes"));
    json_int_t params = json_integer_value(json_object_get(o, "params"));
    json_t *manifest = json_object_get(o, "manifest");
    int send_params = json_is_true(json_object_get(o, "send_params"));
    int client_state = json_is_true(json_object_get(o, "client_state"));
    if (!task || !json_is_object(task)) {
        if (l->have_run) FEDC_INFO("run %lld ended; waiting for the next one", (long long)l->run_id);
        drop_run(l, 1);
        json_decref(o);
        return 0;
    }
    char *tj = json_dumps(task, JSON_COMPACT | JSON_SORT_KEYS);
    int same = l->have_run && l->run_id == run && l->slot == slot && tj && l->task_json && !strcmp(tj, l->task_json);
    if (same) {
        /* Reconnected to the run it serves (e.g. after a server restart):
         * keep the model's state, say it is ready again. */
        free(tj);
        json_decref(o);
        return report_resources(l, c, err);
    }
    drop_run(l, 0);
    int rc = -1;
    fedc_node_run_info info;
    memset(&info, 0, sizeof info);
    if (!tj || fedc_task_from_json(tj, strlen(tj), &l->task, err) != 0) {
        fedc_fail_prefix(err, "welcome: task: ");
        goto out;
    }
    if (!json_is_array(shape) || json_array_size(shape) != 3 || classes < 2 || classes > 65536 || slot < 0 ||
        slot >= l->task.clients || params < 1) {
        fedc_fail(err, "welcome: shape [c,h,w], classes >= 2, params >= 1 and a slot in [0, clients) are required "
                       "with a task");
        goto out;
    }
    if (manifest) {
        char *text = json_dumps(manifest, JSON_COMPACT);
        int bad = !text || fedc_manifest_parse(text, strlen(text), &l->manifest, err) != 0;
        free(text);
        if (bad) {
            fedc_fail_prefix(err, "welcome: ");
            goto out;
        }
        if (l->manifest.total != (size_t)params) {
            fedc_fail(err, "welcome: the manifest has %zu values but params is %lld", l->manifest.total,
                      (long long)params);
            goto out;
        }
    }
    info.node_id = l->node_id;
    info.run_id = run;
    info.slot = (int)slot;
    info.task_json = tj;
    info.task = &l->task;
    info.shape.c = (int)json_integer_value(json_array_get(shape, 0));
    info.shape.h = (int)json_integer_value(json_array_get(shape, 1));
    info.shape.w = (int)json_integer_value(json_array_get(shape, 2));
    info.classes = (int)classes;
    info.params = (size_t)params;
    info.manifest = manifest ? &l->manifest : NULL;
    info.client_state = client_state;
    if (l->model->accept && l->model->accept(l->model->user, &info, err) != 0) goto out;
    if (!l->model->handle_frame && node_params_setup(&l->params, &info, err) != 0) goto out;
    if (l->model->setup && l->model->setup(l->model->user, &info, err) != 0) goto out;
    l->have_run = 1;
    l->run_id = run;
    l->slot = (int)slot;
    l->task_json = tj;
    tj = NULL;
    l->res.n_samples = (size_t)(info.n_samples > 0 ? info.n_samples : 0);
    l->res.samples_per_s = info.samples_per_s;
    FEDC_INFO("node %lld: run %lld, client slot %d, %zu parameters, %zu local samples", (long long)l->node_id,
              (long long)run, l->slot, info.params, l->res.n_samples);
    if (send_params && !l->model->handle_frame) {
        /* The run's initial model comes from the first nodes to join. */
        if (node_params_initial(&l->params, l->model, &l->reply, err) != 0 ||
            fedc_ws_client_send(c, l->reply.data, l->reply.len, NULL, err) != 0)
            goto out;
    }
    rc = report_resources(l, c, err);
out:
    free(tj);
    json_decref(o);
    if (rc != 0) drop_run(l, 0);
    return rc;
}

/* --exit-at STEP[@ROUND] (tests): a node lost in the middle of a round, as
 * a crash would lose it: no goodbye, the connection just closes. */
static void exit_if_asked(const loop *l, const fedc_msg *m) {
    const char *want = l->cfg->exit_at;
    if (!want) return;
    json_t *o = json_loads(m->json, 0, NULL);
    const char *step = m->type == FEDC_MSG_TRAIN ? "train" : NULL;
    json_int_t round = -1;
    if (o) json_unpack(o, "{s?s,s?I}", "step", &step, "round", &round);
    const char *at = strchr(want, '@');
    size_t nlen = at ? (size_t)(at - want) : strlen(want);
    int hit = step && strlen(step) == nlen && !strncmp(step, want, nlen) && (!at || atoll(at + 1) == round);
    json_decref(o);
    if (!hit) return;
    FEDC_WARN("--exit-at %s: exiting at step %.*s of round %lld", want, (int)nlen, want, (long long)round);
    fflush(NULL);
    _exit(3);
}

/* TRAIN, STEP or EVALUATE: the model answers; a failure is reported as ERROR. */
static int on_request(loop *l, fedc_ws_client *c, const fedc_buf *frame, int type, double transfer_s, uint64_t wire,
                      fedc_error *err) {
    int round = node_frame_round(frame->data, frame->len);
    if (!l->have_run) {
        char j[128];
        snprintf(j, sizeof j, "{\"reason\":\"no task: the node has not received one\",\"round\":%d}", round);
        return send_msg(c, FEDC_MSG_ERROR, j, err);
    }
    if (type == FEDC_MSG_TRAIN && transfer_s > 0.01 && wire > 256 * 1024) l->res.down_bps = (double)wire * 8.0 / transfer_s;
    fedc_error e;
    int rc;
    if (l->model->handle_frame)
        rc = l->model->handle_frame(l->model->user, frame->data, frame->len, &l->reply, &e);
    else if (type == FEDC_MSG_STEP) /* a relayed gossip step (the validator keeps secure aggregation away) */
        rc = node_params_relay(&l->params, frame->data, frame->len, &l->reply, &e);
    else if (type == FEDC_MSG_TRAIN)
        rc = node_params_train(&l->params, l->model, frame->data, frame->len, &l->reply, &e);
    else
        rc = node_params_evaluate(&l->params, l->model, frame->data, frame->len, &l->reply, &e);
    if (rc != 0) {
        FEDC_WARN("round %d: cannot %s: %s", round, type == FEDC_MSG_EVALUATE ? "evaluate" : "train", e.msg);
        json_t *o = json_pack("{s:s,s:i}", "reason", e.msg, "round", round);
        return send_json(c, FEDC_MSG_ERROR, o, err);
    }
    if (type != FEDC_MSG_EVALUATE && l->cfg->delay_s > 0) node_sleep(l->cfg->stop, l->cfg->delay_s);
    double t0 = fedc_wall_s();
    uint64_t up_wire = 0;
    if (fedc_ws_client_send(c, l->reply.data, l->reply.len, &up_wire, err) != 0) return -1;
    if (l->reply.len > 256 * 1024 && fedc_ws_client_flush(c, 60, NULL) == 0) {
        double dt = fedc_wall_s() - t0;
        if (dt > 0.01) l->res.up_bps = (double)up_wire * 8.0 / dt;
    }
    return 0;
}

static int session(loop *l, fedc_ws_client *c, int *welcomed, fedc_error *err) {
    fedc_buf msg = {0};
    int result = SESSION_LOST;
    uint64_t wire;
    double transfer;
    /* 1. The server's nonce. */
    int r = fedc_ws_client_recv(c, &msg, &wire, &transfer, HELLO_WAIT_S, err);
    fedc_msg m;
    json_t *o = NULL;
    if (r <= 0 || fedc_msg_decode(msg.data, msg.len, &m, err) != 0) {
        if (r == 0) fedc_fail(err, "the server sent no greeting within %.0f s", HELLO_WAIT_S);
        goto out;
    }
    const char *nonce = NULL;
    o = m.type == FEDC_MSG_PING ? json_loads(m.json, 0, NULL) : NULL;
    if (!o || json_unpack(o, "{s:s}", "nonce", &nonce) != 0 || strlen(nonce) != 64) {
        fedc_fail(err, "the server's first message is not a PING with a 64-hex nonce (got %s)",
                  fedc_msg_type_name(m.type));
        fedc_msg_free(&m);
        goto out;
    }
    char *sig = fedc_credential_sign(l->cred, nonce, err);
    fedc_msg_free(&m);
    if (!sig) {
        result = SESSION_FATAL;
        goto out;
    }
    const fedc_node_model *md = l->model;
    json_t *hello = json_pack("{s:i,s:s,s:s,s:o,s:s}", "version", FEDC_PROTO_VERSION, "cert",
                              fedc_credential_cert_pem(l->cred), "sig", sig, "resources",
                              node_resources_json(&l->res, md->data_label), "data",
                              md->data_label ? md->data_label : "");
    free(sig);
    if (hello && md->part_n > 0)
        json_object_set_new(hello, "partition", json_pack("[i,i]", md->part_k, md->part_n));
    if (hello) {
        json_t *caps = json_array();
        if (md->handle_frame || md->evaluate) json_array_append_new(caps, json_string(FEDC_CAP_EVALUATE));
        if (md->manifest_json) json_array_append_new(caps, json_string(FEDC_CAP_EXTERNAL));
        json_object_set_new(hello, "caps", caps);
        json_t *man = md->manifest_json ? json_loads(md->manifest_json, 0, NULL) : NULL;
        if (man) json_object_set_new(hello, "manifest", man);
    }
    if (send_json(c, FEDC_MSG_HELLO, hello, err) != 0) goto out;

    /* 2. Serve. */
    for (;;) {
        if (stopping(l)) {
            send_msg(c, FEDC_MSG_BYE, "{\"reason\":\"node stopping\"}", NULL);
            fedc_ws_client_flush(c, 2, NULL);
            result = SESSION_STOP;
            goto out;
        }
        r = fedc_ws_client_recv(c, &msg, &wire, &transfer, 0.25, err);
        if (r < 0) goto out;
        if (r == 0) continue;
        if (fedc_msg_decode(msg.data, msg.len, &m, err) != 0) {
            fedc_fail_prefix(err, "from the server: ");
            goto out;
        }
        fedc_msg_type type = m.type;
        json_t *ctl = json_loads(m.json, 0, NULL);
        const char *reason = NULL;
        int fatal = 0;
        if (ctl) json_unpack(ctl, "{s?s,s?b}", "reason", &reason, "fatal", &fatal);
        if (type == FEDC_MSG_ERROR || type == FEDC_MSG_BYE) {
            fedc_fail(err, "%s from the server: %s", type == FEDC_MSG_BYE ? "bye" : "error", reason ? reason : "?");
            json_decref(ctl);
            fedc_msg_free(&m);
            if (fatal) result = SESSION_FATAL;
            goto out;
        }
        json_decref(ctl);
        int rc = 0;
        if (type == FEDC_MSG_WELCOME) {
            *welcomed = 1;
            rc = on_welcome(l, c, &m, err);
            if (rc != 0) {
                /* Tell the server why this node cannot serve the run. */
                json_t *e = json_pack("{s:s}", "reason", err->msg);
                send_json(c, FEDC_MSG_ERROR, e, NULL);
                FEDC_ERROR("%s", err->msg);
                rc = 0;
            }
        } else if (type == FEDC_MSG_TRAIN || type == FEDC_MSG_STEP || type == FEDC_MSG_EVALUATE) {
            exit_if_asked(l, &m);
            fedc_msg_free(&m);
            rc = on_request(l, c, &msg, type, transfer, wire, err);
        } else if (type != FEDC_MSG_PING) {
            fedc_fail(err, "unexpected %s message from the server", fedc_msg_type_name(type));
            rc = -1;
        }
        fedc_msg_free(&m);
        if (rc != 0) goto out;
    }
out:
    json_decref(o);
    fedc_buf_free(&msg);
    return result;
}

/* "wss://h:p" -> "wss://h:p/node"; a URL with a path is kept. */
static void node_url(const char *in, char *out, size_t cap) {
    const char *p = strstr(in, "://");
    p = p ? p + 3 : in;
    if (strchr(p, '/')) snprintf(out, cap, "%s", in);
    else snprintf(out, cap, "%s/node", in);
}

int fedc_node_serve(const fedc_node_config *cfg, const fedc_node_model *model, fedc_error *err) {
    loop l;
    memset(&l, 0, sizeof l);
    l.cfg = cfg;
    l.model = model;
    l.slot = -1;
    if (!model || (!model->handle_frame && !model->fit && !model->fit_delta))
        return fedc_fail(err, "node model: a fit callback (or fit_delta, or handle_frame) is required");
    if (model->manifest_json) {
        fedc_manifest mf;
        if (fedc_manifest_parse(model->manifest_json, strlen(model->manifest_json), &mf, err) != 0) return -1;
        fedc_manifest_free(&mf);
        if (!model->get_parameters)
            return fedc_fail(err, "node model: an external model (manifest_json) needs get_parameters");
    }
    /* One training thread per node; BLAS threads would only compete. */
    openblas_set_num_threads(1);
    if (!(l.cred = fedc_credential_load(cfg->credential_path, err))) return -1;
    node_resources_detect(&l.res);
    char url[600];
    node_url(cfg->server_url, url, sizeof url);
    double max_backoff = cfg->max_backoff_s > 0 ? cfg->max_backoff_s : 30, backoff = 1;
    int failures = 0, rc = 0;
    unsigned jitter_seed = (unsigned)(fedc_credential_node_id(l.cred) * 2654435761u) ^ (unsigned)time(NULL);
    FEDC_INFO("node %lld \"%s\" connecting to %s", (long long)fedc_credential_node_id(l.cred),
              fedc_credential_name(l.cred), url);
    while (!stopping(&l)) {
        fedc_ws_client_config wc = {url, fedc_credential_ca_pem(l.cred), strlen(fedc_credential_ca_pem(l.cred)),
                                    FEDC_PROTO_MAX_FRAME, cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 10};
        fedc_error e;
        fedc_ws_client *c = fedc_ws_client_connect(&wc, &e);
        int welcomed = 0, res = SESSION_LOST;
        if (c) {
            res = session(&l, c, &welcomed, &e);
            fedc_ws_client_free(c);
        }
        if (res == SESSION_STOP) break;
        if (res == SESSION_FATAL) {
            rc = fedc_fail(err, "%s", e.msg);
            break;
        }
        if (welcomed) {
            failures = 0;
            backoff = 1;
        } else {
            failures++;
        }
        if (cfg->max_attempts > 0 && failures >= cfg->max_attempts) {
            rc = fedc_fail(err, "giving up after %d failed attempts; last: %s", failures, e.msg);
            break;
        }
        /* Full jitter keeps many nodes from reconnecting in lockstep. */
        double wait = backoff * (0.5 + 0.5 * (double)(rand_r(&jitter_seed) % 1000) / 1000.0);
        FEDC_WARN("%s; reconnecting in %.1f s", e.msg, wait);
        node_sleep(cfg->stop, wait);
        backoff = backoff * 2 > max_backoff ? max_backoff : backoff * 2;
    }
    drop_run(&l, 0);
    fedc_buf_free(&l.reply);
    fedc_credential_free(l.cred);
    return rc;
}
