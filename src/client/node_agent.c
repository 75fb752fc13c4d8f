/* The node agent's life: connect, authenticate, follow WELCOMEs (task
 * changes), answer each TRAIN with an UPDATE, reconnect with exponential
 * backoff (with jitter) after a lost connection. Training runs on this
 * thread; the WebSocket client's own thread keeps the connection alive. */
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "client/client_internal.h"
#include "fedc/certs.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/protocol.h"
#include "fedc/timer.h"
#include "fedc/ws.h"

#define HELLO_WAIT_S 15.0

typedef struct agent {
    const fedc_node_config *cfg;
    fedc_credential *cred;
    fedc_node_data data;
    node_resources res;
    node_poison poison;
    int poison_round;
    node_attack attack;  /* hostile mode (--attack) */
    node_board board;    /* colluders' folder (--collude) */
    fedc_pending_update pending; /* a colluder's benign update while it waits */
    float *peer_mean, *peer_std;
    /* the current task */
    int64_t run_id;
    int slot;
    fedc_task task;
    int have_task;
    char *task_json;
    fedc_arch *arch;
    fedc_trainer *trainer;
    fedc_client_mem mem;
    fedc_protocol_client *proto; /* round-protocol state between steps (protocol.h) */
    fedc_buf reply;
    float *zeros; /* echo / poison modes: the model-sized zero update */
    int64_t node_id;
} agent;

enum { SESSION_LOST = 0, SESSION_STOP = 1, SESSION_FATAL = -1 };

static int stopping(const agent *a) { return a->cfg->stop && *a->cfg->stop; }

static void sleep_s(const agent *a, double s) {
    double end = fedc_wall_s() + s;
    while (!stopping(a) && fedc_wall_s() < end) {
        double left = end - fedc_wall_s();
        if (left > 0.1) left = 0.1;
        if (left <= 0) break;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* ---- The node's own copy of its client state (--state DIR) ----
 * One file per (run, slot): a header naming the task it belongs to, then the
 * trainer's client record. Written after every round the node trains and
 * before the update leaves, replaced atomically, so a node restarted (even
 * by kill -9) comes back with the state the server's model agrees with. */
typedef struct state_file_header {
    char magic[8];        /* "FEDCCST1" */
    uint64_t task_hash;   /* FNV-1a of the task JSON */
    uint64_t record_bytes;
} state_file_header;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void state_path(const agent *a, char *out, size_t cap) {
    snprintf(out, cap, "%s/client-state-run%lld-slot%d.bin", a->cfg->state_dir, (long long)a->run_id, a->slot);
}

static int state_save(agent *a, fedc_error *err) {
    if (!a->cfg->state_dir || !a->mem.record) return 0;
    char path[1200], tmp[1300];
    state_path(a, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    state_file_header h = {{'F', 'E', 'D', 'C', 'C', 'S', 'T', '1'}, fnv1a(a->task_json),
                           fedc_trainer_record_size(a->trainer)};
    FILE *f = fopen(tmp, "wb");
    if (!f) return fedc_fail(err, "cannot write %s: %s", tmp, strerror(errno));
    int bad = fwrite(&h, sizeof h, 1, f) != 1 || fwrite(a->mem.record, h.record_bytes, 1, f) != 1;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return fedc_fail(err, "cannot save the client state to %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Loads the saved state of this run and slot if it belongs to this task. */
static void state_restore(agent *a) {
    if (!a->cfg->state_dir || !a->mem.record) return;
    char path[1200];
    state_path(a, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    state_file_header h;
    size_t want = fedc_trainer_record_size(a->trainer);
    int ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, "FEDCCST1", 8) == 0 &&
             h.task_hash == fnv1a(a->task_json) && h.record_bytes == want;
    void *tmp = ok ? malloc(want) : NULL;
    ok = tmp && fread(tmp, want, 1, f) == 1 && fgetc(f) == EOF;
    fclose(f);
    if (ok) {
        memcpy(a->mem.record, tmp, want);
        FEDC_INFO("run %lld slot %d: client state restored from %s (last trained round %d)", (long long)a->run_id,
                  a->slot, path, fedc_trainer_record_round(a->mem.record));
    } else {
        FEDC_WARN("%s is not this task's client state; starting from zeros", path);
    }
    free(tmp);
}

static void drop_task(agent *a) {
    fedc_trainer_free(a->trainer);
    a->trainer = NULL;
    fedc_arch_free(a->arch);
    a->arch = NULL;
    fedc_client_mem_free(&a->mem);
    if (a->proto) a->proto->free_state(a->proto);
    a->proto = NULL;
    free(a->zeros);
    a->zeros = NULL;
    free(a->peer_mean);
    free(a->peer_std);
    a->peer_mean = a->peer_std = NULL;
    fedc_pending_free(&a->pending);
    free(a->task_json);
    a->task_json = NULL;
    a->have_task = 0;
    a->run_id = 0;
    a->slot = -1;
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

static int report_resources(agent *a, fedc_ws_client *c, fedc_error *err) {
    /* Sent after each WELCOME: "run" tells the server the node is ready for it. */
    json_t *o = json_pack("{s:o,s:I}", "resources", node_resources_json(&a->res, a->data.spec), "run",
                          (json_int_t)a->run_id);
    return send_json(c, FEDC_MSG_PING, o, err);
}

/* WELCOME: who we are, and the task of the run we serve (or none). */
static int on_welcome(agent *a, fedc_ws_client *c, const fedc_msg *m, fedc_error *err) {
    json_t *o = json_loads(m->json, 0, NULL);
    json_t *jid = o ? json_object_get(o, "node_id") : NULL;
    if (!json_is_integer(jid)) {
        json_decref(o);
        return fedc_fail(err, "welcome: node_id (integer) is required");
    }
    json_int_t node_id = json_integer_value(jid);
    /* run is null (or absent) while the node has no run to serve. */
    json_t *task = json_object_get(o, "task"), *shape = json_object_get(o, "shape");
    json_int_t run = json_integer_value(json_object_get(o, "run"));
    json_int_t slot = json_is_integer(json_object_get(o, "slot")) ? json_integer_value(json_object_get(o, "slot")) : -1;
    json_int_t classes = json_integer_value(json_object_get(o, "classes"));
    json_int_t params = json_integer_value(json_object_get(o, "params"));
    a->node_id = node_id;
    if (!task || !json_is_object(task)) {
        if (a->have_task) FEDC_INFO("run %lld ended; waiting for the next one", (long long)a->run_id);
        if (a->have_task && a->cfg->state_dir) {
            char path[1200];
            state_path(a, path, sizeof path);
            unlink(path);
        }
        drop_task(a);
        json_decref(o);
        return 0;
    }
    char *tj = json_dumps(task, JSON_COMPACT | JSON_SORT_KEYS);
    int same = a->have_task && a->run_id == run && a->slot == slot && tj && a->task_json && !strcmp(tj, a->task_json);
    if (same) {
        /* Reconnected to the run it serves (e.g. after a server restart):
         * keep the trainer and client state, say it is ready again. */
        free(tj);
        json_decref(o);
        return report_resources(a, c, err);
    }
    drop_task(a);
    int rc = -1;
    fedc_task t;
    fedc_shape in = {1, 1, 1};
    if (!tj || fedc_task_from_json(tj, strlen(tj), &t, err) != 0) {
        fedc_fail_prefix(err, "welcome: task: ");
        goto out;
    }
    /* The server's attack section is never followed; a hostile node puts its own. */
    if (node_attack_apply(&a->attack, a->board.colluders, &t, err) != 0) goto out;
    if (!json_is_array(shape) || json_array_size(shape) != 3 || classes < 2 || classes > 65536 || slot < 0 ||
        slot >= t.clients) {
        fedc_fail(err, "welcome: shape [c,h,w], classes >= 2 and a slot in [0, clients) are required with a task");
        goto out;
    }
    in.c = (int)json_integer_value(json_array_get(shape, 0));
    in.h = (int)json_integer_value(json_array_get(shape, 1));
    in.w = (int)json_integer_value(json_array_get(shape, 2));
    if (!(a->arch = fedc_arch_parse(t.model, in, (int)classes, err))) {
        fedc_fail_prefix(err, "welcome: model: ");
        goto out;
    }
    if ((json_int_t)fedc_arch_nparams(a->arch) != params) {
        fedc_fail(err, "welcome: the model has %zu parameters here but %lld on the server", fedc_arch_nparams(a->arch),
                  (long long)params);
        goto out;
    }
    if (!a->cfg->echo) {
        if (fedc_node_data_prepare(&a->data, &t, err) != 0) goto out;
        if (a->data.ds.dim != fedc_arch_input_size(a->arch)) {
            fedc_fail(err, "local data has %zu values per sample; the task's model takes %zu", a->data.ds.dim,
                      fedc_arch_input_size(a->arch));
            goto out;
        }
        for (size_t i = 0; i < a->data.n; i++)
            if (a->data.ds.y[i] < 0 || a->data.ds.y[i] >= classes) {
                fedc_fail(err, "local data: label %d of sample %zu is outside the task's %lld classes",
                          a->data.ds.y[i], i, (long long)classes);
                goto out;
            }
        if (!(a->trainer = fedc_trainer_create(&t, a->arch, err))) goto out;
        fedc_trainer_keep_undo(a->trainer, 1);
        fedc_trainer_secret_noise(a->trainer, 1);
        fedc_trainer_report_client_acc(a->trainer, 1);
        a->mem.record = calloc(1, fedc_trainer_record_size(a->trainer));
        a->mem.owned = 1;
        a->mem.pending = &a->pending;
        a->mem.protocol = &a->proto;
        if (!a->mem.record) {
            fedc_fail(err, "out of memory for the client state");
            goto out;
        }
        a->res.n_samples = a->data.n;
        a->res.samples_per_s = node_measure_speed(a->arch, &a->data, t.local.batch);
    }
    a->task = t;
    a->have_task = 1;
    a->run_id = run;
    a->slot = (int)slot;
    a->task_json = tj;
    tj = NULL;
    if (a->trainer) state_restore(a);
    FEDC_INFO("node %lld: run %lld, client slot %d, %s, %zu local samples", (long long)a->node_id, (long long)run,
              a->slot, fedc_arch_spec(a->arch), a->data.n);
    rc = report_resources(a, c, err);
out:
    free(tj);
    json_decref(o);
    if (rc != 0) drop_task(a);
    return rc;
}

/* A colluding attacker's benign update waits for the others' (see
 * node_collude.c), then the attack completes the reply. */
static int collude(agent *a, int round, fedc_error *err) {
    size_t d = fedc_arch_nparams(a->arch);
    if ((!a->peer_mean && !(a->peer_mean = malloc(d * sizeof(float)))) ||
        (!a->peer_std && !(a->peer_std = malloc(d * sizeof(float)))))
        return fedc_fail(err, "out of memory for the colluders' statistics");
    int count = 0;
    if (node_collude(&a->board, a->run_id, round, a->node_id, a->pending.update, d, a->peer_mean, a->peer_std, &count,
                     a->cfg->stop, err) != 0)
        return -1;
    if (count < 2) FEDC_WARN("round %d: %s sees only its own update (no other colluder)", round, a->attack.kind);
    fedc_attack_peers p = {a->peer_mean, a->peer_std, count};
    return fedc_trainer_finish(a->trainer, a->slot, &a->mem, &p, &a->reply, err);
}

static int on_train(agent *a, fedc_ws_client *c, const fedc_buf *frame, double transfer_s, uint64_t wire,
                    fedc_error *err) {
    int round = node_train_round(frame->data, frame->len);
    if (!a->have_task) {
        char j[128];
        snprintf(j, sizeof j, "{\"reason\":\"no task: the node has not received one\",\"round\":%d}", round);
        return send_msg(c, FEDC_MSG_ERROR, j, err);
    }
    if (transfer_s > 0.01 && wire > 256 * 1024) a->res.down_bps = (double)wire * 8.0 / transfer_s;
    fedc_error e;
    int rc;
    int poisoned = a->poison != NODE_POISON_NONE && (a->poison_round == 0 || a->poison_round == round);
    if (a->cfg->echo || poisoned) {
        size_t d = fedc_arch_nparams(a->arch);
        if (!a->zeros && !(a->zeros = calloc(d, sizeof(float)))) {
            fedc_fail(&e, "out of memory for an update of %zu values", d);
            rc = -1;
        } else {
            rc = node_build_update(&a->task, d, round, poisoned ? a->poison : NODE_POISON_NONE, a->zeros, &a->reply,
                                   &e);
        }
    } else {
        fedc_client_data cd = {.data = &a->data.ds, .index = a->data.index, .n = a->data.n,
                               .test_index = a->data.test_index, .test_n = a->data.test_n};
        rc = fedc_trainer_handle(a->trainer, a->slot, &cd, &a->mem, frame->data, frame->len, &a->reply, &e);
        if (rc == FEDC_TRAINER_DEFERRED) rc = collude(a, round, &e);
        if (rc == 0) rc = state_save(a, &e);
    }
    if (rc != 0) {
        FEDC_WARN("round %d: cannot train: %s", round, e.msg);
        json_t *o = json_pack("{s:s,s:i}", "reason", e.msg, "round", round);
        return send_json(c, FEDC_MSG_ERROR, o, err);
    }
    if (a->cfg->delay_s > 0) sleep_s(a, a->cfg->delay_s);
    double t0 = fedc_wall_s();
    uint64_t up_wire = 0;
    if (fedc_ws_client_send(c, a->reply.data, a->reply.len, &up_wire, err) != 0) return -1;
    if (a->reply.len > 256 * 1024 && fedc_ws_client_flush(c, 60, NULL) == 0) {
        double dt = fedc_wall_s() - t0;
        if (dt > 0.01) a->res.up_bps = (double)up_wire * 8.0 / dt;
    }
    return 0;
}

/* --exit-at STEP[@ROUND] (tests): a node lost in the middle of a round, as
 * a crash would lose it: no goodbye, the connection just closes. */
static void exit_if_asked(const agent *a, const fedc_msg *m) {
    const char *want = a->cfg->exit_at;
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

static int session(agent *a, fedc_ws_client *c, int *welcomed, fedc_error *err) {
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
    char *sig = fedc_credential_sign(a->cred, nonce, err);
    fedc_msg_free(&m);
    if (!sig) {
        result = SESSION_FATAL;
        goto out;
    }
    json_t *hello = json_pack("{s:i,s:s,s:s,s:o,s:s}", "version", FEDC_PROTO_VERSION, "cert",
                              fedc_credential_cert_pem(a->cred), "sig", sig, "resources",
                              node_resources_json(&a->res, a->data.spec), "data", a->data.spec);
    free(sig);
    if (hello && a->data.kind == FEDC_NODE_DATA_CATALOG)
        json_object_set_new(hello, "partition", json_pack("[i,i]", a->data.part_k, a->data.part_n));
    if (send_json(c, FEDC_MSG_HELLO, hello, err) != 0) goto out;

    /* 2. Serve. */
    for (;;) {
        if (stopping(a)) {
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
            rc = on_welcome(a, c, &m, err);
            if (rc != 0) {
                /* Tell the server why this node cannot serve the run. */
                json_t *e = json_pack("{s:s}", "reason", err->msg);
                send_json(c, FEDC_MSG_ERROR, e, NULL);
                FEDC_ERROR("%s", err->msg);
                rc = 0;
            }
        } else if (type == FEDC_MSG_TRAIN || type == FEDC_MSG_STEP) { /* STEP: a round protocol's step */
            exit_if_asked(a, &m);
            fedc_msg_free(&m);
            rc = on_train(a, c, &msg, transfer, wire, err);
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

int fedc_node_run(const fedc_node_config *cfg, fedc_error *err) {
    agent a;
    memset(&a, 0, sizeof a);
    a.cfg = cfg;
    a.slot = -1;
    /* One training thread per node; BLAS threads would only compete. */
    openblas_set_num_threads(1);
    if (cfg->poison && node_poison_parse(cfg->poison, &a.poison, &a.poison_round, err) != 0) return -1;
    if (cfg->attack && node_attack_parse(cfg->attack, &a.attack, err) != 0) return -1;
    if (cfg->collude_dir) {
        if (!cfg->attack) return fedc_fail(err, "--collude needs --attack alie or ipm");
        if (strlen(cfg->collude_dir) >= sizeof a.board.dir) return fedc_fail(err, "--collude: the path is too long");
        snprintf(a.board.dir, sizeof a.board.dir, "%s", cfg->collude_dir);
    }
    a.board.colluders = cfg->colluders;
    a.board.wait_s = cfg->collude_wait_s > 0 ? cfg->collude_wait_s : 5;
    if (a.attack.on)
        FEDC_WARN("hostile mode: this node attacks (%s) every run it serves", cfg->attack);
    if (fedc_node_data_parse(cfg->echo ? (cfg->data_spec ? cfg->data_spec : "none") : cfg->data_spec, &a.data, err) !=
        0)
        return -1;
    if (a.data.kind == FEDC_NODE_DATA_NONE && !cfg->echo) return fedc_fail(err, "--data none needs echo mode");
    if (!(a.cred = fedc_credential_load(cfg->credential_path, err))) return -1;
    node_resources_detect(&a.res);
    char url[600];
    node_url(cfg->server_url, url, sizeof url);
    double max_backoff = cfg->max_backoff_s > 0 ? cfg->max_backoff_s : 30, backoff = 1;
    int failures = 0, rc = 0;
    unsigned jitter_seed = (unsigned)(fedc_credential_node_id(a.cred) * 2654435761u) ^ (unsigned)time(NULL);
    FEDC_INFO("node %lld \"%s\" connecting to %s", (long long)fedc_credential_node_id(a.cred),
              fedc_credential_name(a.cred), url);
    while (!stopping(&a)) {
        fedc_ws_client_config wc = {url, fedc_credential_ca_pem(a.cred), strlen(fedc_credential_ca_pem(a.cred)),
                                    FEDC_PROTO_MAX_FRAME, cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 10};
        fedc_error e;
        fedc_ws_client *c = fedc_ws_client_connect(&wc, &e);
        int welcomed = 0, res = SESSION_LOST;
        if (c) {
            res = session(&a, c, &welcomed, &e);
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
        sleep_s(&a, wait);
        backoff = backoff * 2 > max_backoff ? max_backoff : backoff * 2;
    }
    drop_task(&a);
    fedc_node_data_free(&a.data);
    fedc_buf_free(&a.reply);
    fedc_credential_free(a.cred);
    return rc;
}
