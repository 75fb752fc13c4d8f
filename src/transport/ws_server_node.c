/* The WebSocket protocol (RFC 6455) of a node connection, server side:
 * the 101 answer, deframing and unmasking what the node sends into whole
 * messages, answering PINGs and CLOSEs, keepalive, and writing queued
 * messages as fragments of at most FEDC_WS_FRAGMENT_SIZE bytes. Runs on
 * the connection's network thread; fedc_ws_conn_send / _close come from
 * any thread holding the dispatch lock (the server layer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/timer.h"
#include "transport/ws_server_internal.h"

#define CLOSE_NORMAL 1000
#define CLOSE_PROTOCOL 1002
#define CLOSE_POLICY 1008

/* ---- the server layer's side (any thread, dispatch lock held) ------------ */

int fedc_ws_conn_send(fedc_ws_conn *c, fedc_ws_payload *p, uint64_t tag) {
    pthread_mutex_lock(&c->mu);
    int rc = -1;
    if (!c->closing && fedc_ws_txq_push(&c->txq, fedc_ws_payload_ref(p), tag) == 0) {
        net_mark_dirty(c);
        rc = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* c->mu held. */
static void request_close(fedc_ws_conn *c, const char *reason, int drain, int protocol_error) {
    c->closing = 1;
    c->drain = drain;
    c->protocol_error = protocol_error;
    /* The reason is logged and sent in a close frame: cut to the field's size. */
    snprintf(c->reason, sizeof c->reason, "%.*s", (int)sizeof c->reason - 1, reason);
    net_mark_dirty(c);
}

void fedc_ws_conn_close(fedc_ws_conn *c, const char *reason, int send_error) {
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    /* A plain close (send_error 0) is routine; refusals are worth a warning. */
    fedc_log(send_error ? FEDC_LOG_WARN : FEDC_LOG_INFO, "closing node connection %llu from %s: %s",
             (unsigned long long)c->id, c->peer, reason);
    if (send_error) {
        fedc_buf b = {0};
        if (fedc_ws_error_frame(FEDC_MSG_ERROR, reason, send_error == FEDC_WS_CLOSE_FATAL, &b) == 0) {
            fedc_ws_payload *p = fedc_ws_payload_take(&b);
            if (p) fedc_ws_txq_push(&c->txq, p, UINT64_MAX);
        }
        fedc_buf_free(&b);
    }
    request_close(c, reason, send_error, 0);
    pthread_mutex_unlock(&c->mu);
}

void fedc_ws_conn_set_max_message(fedc_ws_conn *c, size_t max) { atomic_store(&c->max_message, max); }

void fedc_ws_conn_probe(fedc_ws_conn *c, double timeout_s) {
    pthread_mutex_lock(&c->mu);
    if (!c->closing && c->probe_req <= 0) {
        c->probe_req = timeout_s > 0 ? timeout_s : 5;
        net_mark_dirty(c);
    }
    pthread_mutex_unlock(&c->mu);
}
void fedc_ws_conn_set_user(fedc_ws_conn *c, void *user) { c->user = user; }
void *fedc_ws_conn_user(const fedc_ws_conn *c) { return c->user; }
uint64_t fedc_ws_conn_id(const fedc_ws_conn *c) { return c->id; }
const char *fedc_ws_conn_peer(const fedc_ws_conn *c) { return c->peer; }

const char *fedc_ws_conn_client_cert(const fedc_ws_conn *c) { return c->client_cert; }

size_t fedc_ws_conn_pending(const fedc_ws_conn *c) {
    fedc_ws_conn *m = (fedc_ws_conn *)c;
    pthread_mutex_lock(&m->mu);
    size_t n = m->txq.count;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- the network thread's side ----------------------------------------- */

void node_fail(fedc_ws_conn *c, const char *reason, int protocol_error) {
    pthread_mutex_lock(&c->mu);
    if (!c->closing) {
        if (protocol_error)
            FEDC_WARN("closing node connection %llu from %s: %s", (unsigned long long)c->id, c->peer, reason);
        request_close(c, reason, 0, protocol_error);
    }
    pthread_mutex_unlock(&c->mu);
}

/* The header goes out with the start of the payload, filling one TLS
 * record (16 KiB): alone it would be a record of its own, and one more
 * decryption on the node, per frame. */
#define TLS_RECORD 16384
static int put_frame(fedc_ws_conn *c, int opcode, int fin, const uint8_t *data, size_t len) {
    uint8_t stage[TLS_RECORD];
    size_t hl = fedc_ws_frame_header(stage, opcode, fin, len, NULL);
    size_t first = len < TLS_RECORD - hl ? len : TLS_RECORD - hl;
    if (first) memcpy(stage + hl, data, first);
    if (conn_put(c, stage, hl + first) != 0) return -1;
    return len > first ? conn_put(c, data + first, len - first) : 0;
}

int node_start(fedc_ws_conn *c, const fedc_ws_upgrade *u, const uint8_t *extra, size_t extra_len) {
    fedc_ws_server *s = c->srv;
    char answer[512];
    int n = fedc_ws_upgrade_answer(answer, sizeof answer, u->key, NODE_PROTOCOL);
    if (n < 0 || conn_put(c, answer, (size_t)n) != 0) {
        node_fail(c, "cannot answer the upgrade", 0);
        c->phase = PH_CLOSING;
        c->t_close = fedc_wall_s();
        return -1;
    }
    c->ws = 1;
    c->phase = PH_NODE;
    c->t_last_rx = fedc_wall_s();
    fedc_ws_deframer_init_server(&c->df);
    fedc_ws_rx_init(&c->rx, atomic_load(&c->max_message), 1);
    c->open = 1;
    pool_node_count(s, +1);
    dispatch_lock(s);
    if (s->ops->node_open) s->ops->node_open(s->user, c);
    dispatch_unlock(s);
    if (extra_len) return node_input(c, extra, extra_len);
    return 0;
}

static int on_control(fedc_ws_conn *c, const fedc_ws_chunk *ch) {
    if (ch->opcode == FEDC_WS_OP_PING) return put_frame(c, FEDC_WS_OP_PONG, 1, ch->data, ch->len);
    if (ch->opcode == FEDC_WS_OP_PONG) {
        c->ping_out = 0;
        return 0;
    }
    /* CLOSE: 2-byte code then the node's reason text */
    char why[200];
    if (ch->len > 2)
        snprintf(why, sizeof why, "closed by the node: %.*s", (int)(ch->len - 2 > 150 ? 150 : ch->len - 2),
                 (const char *)ch->data + 2);
    else
        snprintf(why, sizeof why, "closed by the node");
    for (char *p = why; *p; p++)
        if ((unsigned char)*p < 0x20) *p = '?';
    /* Answer with the same code, then close (nothing more is read). */
    uint8_t code[2] = {0x03, 0xE8};
    if (ch->len >= 2) memcpy(code, ch->data, 2);
    put_frame(c, FEDC_WS_OP_CLOSE, 1, code, 2);
    c->close_sent = 1;
    pthread_mutex_lock(&c->mu);
    if (!c->closing) request_close(c, why, 0, 0);
    pthread_mutex_unlock(&c->mu);
    c->phase = PH_CLOSING;
    c->t_close = fedc_wall_s();
    return -1;
}

int node_input(fedc_ws_conn *c, const uint8_t *data, size_t len) {
    fedc_ws_server *s = c->srv;
    fedc_ws_chunk ch;
    fedc_error e;
    int r;
    while ((r = fedc_ws_deframe(&c->df, &data, &len, &ch, &e)) == 1) {
        if (ch.opcode >= FEDC_WS_OP_CLOSE) {
            if (on_control(c, &ch) != 0) return -1;
            continue;
        }
        pthread_mutex_lock(&c->mu);
        int closing = c->closing;
        pthread_mutex_unlock(&c->mu);
        if (closing) continue; /* input after a close decision is ignored */
        c->rx.max = atomic_load(&c->max_message);
        if (!c->rx.msg.data && (ch.frame_left || !ch.message_end)) pool_take(s, &c->rx.msg);
        int m = fedc_ws_rx_feed_masked(&c->rx, ch.data, ch.len, ch.mask, ch.mask_phase,
                                       ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left, ch.message_end, &e);
        if (m < 0) {
            /* Refused content (too large, text): the node hears why. */
            fedc_ws_conn_close(c, e.msg, FEDC_WS_CLOSE_ERROR);
            return -1;
        }
        if (m == 1) {
            dispatch_lock(s);
            if (s->ops->node_message) s->ops->node_message(s->user, c, &c->rx.msg, c->rx.wire);
            dispatch_unlock(s);
            fedc_ws_rx_next(&c->rx);
        }
    }
    if (r < 0) {
        node_fail(c, e.msg, 1);
        return -1;
    }
    return 0;
}

/* A probe the server layer asked for: PING now; checked in node_timer. */
static void start_probe(fedc_ws_conn *c) {
    pthread_mutex_lock(&c->mu);
    double want = c->probe_req;
    pthread_mutex_unlock(&c->mu);
    if (want <= 0 || c->probe_deadline > 0 || !c->ws) return;
    double now = fedc_wall_s();
    c->probe_sent = now;
    c->probe_deadline = now + want;
    put_frame(c, FEDC_WS_OP_PING, 1, NULL, 0);
}

void node_timer(fedc_ws_conn *c, double now) {
    if (c->probe_deadline > 0 && now >= c->probe_deadline) {
        double waited = c->probe_deadline - c->probe_sent;
        int alive = c->t_last_rx >= c->probe_sent;
        c->probe_deadline = 0;
        pthread_mutex_lock(&c->mu);
        c->probe_req = 0;
        pthread_mutex_unlock(&c->mu);
        if (!alive) {
            char why[120];
            snprintf(why, sizeof why, "no answer to a liveness probe within %.0f s", waited);
            node_fail(c, why, 0);
            return;
        }
    }
    double quiet = now - c->t_last_rx;
    if (quiet > HANGUP_AFTER_S) {
        char why[96];
        snprintf(why, sizeof why, "nothing from the node for %.0f s (not even a pong)", quiet);
        node_fail(c, why, 0);
    } else if (quiet > PING_AFTER_S && !c->ping_out) {
        c->ping_out = 1;
        put_frame(c, FEDC_WS_OP_PING, 1, NULL, 0);
    }
}

int node_produce(fedc_ws_conn *c) {
    fedc_ws_server *s = c->srv;
    int produced = 0;
    if (!c->ws) return 0;
    start_probe(c);
    for (;;) {
        if (c->out.len - c->out_off >= OUT_HIGH) return produced;
        pthread_mutex_lock(&c->mu);
        int closing = c->closing, drain = c->drain, perr = c->protocol_error;
        fedc_ws_fragment f;
        int have = (!closing || drain) && fedc_ws_txq_peek(&c->txq, &f);
        pthread_mutex_unlock(&c->mu);
        if (!have) {
            if (closing && !c->close_sent) {
                /* The close frame: code then reason (at most 123 bytes). */
                uint8_t body[125];
                int code = perr ? CLOSE_PROTOCOL : CLOSE_POLICY;
                body[0] = (uint8_t)(code >> 8);
                body[1] = (uint8_t)code;
                size_t rl = strlen(c->reason);
                if (rl > 120) rl = 120;
                memcpy(body + 2, c->reason, rl);
                put_frame(c, FEDC_WS_OP_CLOSE, 1, body, 2 + rl);
                c->close_sent = 1;
                c->phase = PH_CLOSING;
                c->t_close = fedc_wall_s();
                produced = 1;
            }
            return produced;
        }
        /* The payload is immutable and referenced by the queue: written
         * outside the lock. */
        if (put_frame(c, f.first ? FEDC_WS_OP_BINARY : FEDC_WS_OP_CONT, f.last, f.data, f.len) != 0) {
            node_fail(c, c->reason[0] ? c->reason : "TLS write failed", 0);
            return produced;
        }
        produced = 1;
        uint64_t tag = 0, wire = 0;
        pthread_mutex_lock(&c->mu);
        int done = fedc_ws_txq_advance(&c->txq, 0, &tag, &wire);
        pthread_mutex_unlock(&c->mu);
        if (done && tag != UINT64_MAX && s->ops->node_sent) {
            dispatch_lock(s);
            s->ops->node_sent(s->user, c, tag, wire);
            dispatch_unlock(s);
        }
    }
}
