/* The node's end of the WebSocket transport: its own lws context and
 * service thread, with a blocking send/recv interface for the node agent,
 * whose thread trains and never touches lws. */
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "fedc/ws.h"

enum { ST_CONNECTING, ST_OPEN, ST_CLOSED };

typedef struct inbox_item {
    fedc_buf msg;
    uint64_t wire;
    double transfer_s;
    struct inbox_item *next;
} inbox_item;

struct fedc_ws_client {
    struct lws_context *ctx;
    struct lws *wsi;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    int close_requested;
    char reason[256];
    fedc_ws_txq txq;               /* guarded by mu */
    inbox_item *in_head, *in_tail; /* guarded by mu */
    fedc_ws_rx rx;                 /* service thread */
    double rx_first_s;             /* when the message being received began */
    char url[512];
    unsigned char scratch[LWS_PRE + FEDC_WS_FRAGMENT_SIZE];
    struct lws_protocols protocols[2];
};

/* Bounded copy that always terminates (reasons are cut, not overflowed). */
static void copy_text(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void set_closed(fedc_ws_client *c, const char *why) {
    pthread_mutex_lock(&c->mu);
    if (c->state != ST_CLOSED) {
        if (!c->reason[0]) copy_text(c->reason, sizeof c->reason, why);
        c->state = ST_CLOSED;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int client_writable(fedc_ws_client *c) {
    for (int k = 0; k < 16; k++) {
        pthread_mutex_lock(&c->mu);
        if (c->close_requested) {
            pthread_mutex_unlock(&c->mu);
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"node leaving", 12);
            return -1;
        }
        fedc_ws_fragment f;
        if (!fedc_ws_txq_peek(&c->txq, &f)) {
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
        /* The payload is immutable and referenced by the queue, so it can be
         * read without the lock. */
        pthread_mutex_unlock(&c->mu);
        memcpy(c->scratch + LWS_PRE, f.data, f.len);
        int flags = lws_write_ws_flags(LWS_WRITE_BINARY, f.first, f.last);
        if (lws_write(c->wsi, c->scratch + LWS_PRE, f.len, (enum lws_write_protocol)flags) < (int)f.len) {
            set_closed(c, "write to the socket failed");
            return -1;
        }
        pthread_mutex_lock(&c->mu);
        fedc_ws_txq_advance(&c->txq, 1, NULL, NULL);
        int more = c->txq.count > 0;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (!more) return 0;
        if (lws_partial_buffered(c->wsi) || lws_send_pipe_choked(c->wsi)) break;
    }
    lws_callback_on_writable(c->wsi);
    return 0;
}

static int client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len) {
    struct lws_context *lctx = lws_get_context(wsi);
    fedc_ws_client *c = lctx ? lws_context_user(lctx) : NULL;
    (void)user;
    if (!c) return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&c->mu);
        c->state = ST_OPEN;
        int pending = c->txq.count > 0;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (pending) lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[300];
        snprintf(why, sizeof why, "cannot connect to %.120s: %.120s", c->url, in ? (const char *)in : "connection failed");
        c->wsi = NULL;
        set_closed(c, why);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        fedc_error e;
        if (c->rx.msg.len == 0 && c->rx.frame_len == 0) c->rx_first_s = fedc_wall_s();
        int r = fedc_ws_rx_feed(&c->rx, in, len, lws_frame_is_binary(wsi), lws_remaining_packet_payload(wsi),
                                lws_is_final_fragment(wsi), &e);
        if (r < 0) {
            char why[256];
            snprintf(why, sizeof why, "from the server: %.200s", e.msg);
            set_closed(c, why);
            return -1;
        }
        if (r == 1) {
            inbox_item *it = calloc(1, sizeof *it);
            if (!it) {
                set_closed(c, "out of memory receiving a message");
                return -1;
            }
            it->msg = c->rx.msg; /* take the buffer */
            it->wire = c->rx.wire;
            it->transfer_s = fedc_wall_s() - c->rx_first_s;
            memset(&c->rx.msg, 0, sizeof c->rx.msg);
            fedc_ws_rx_next(&c->rx);
            pthread_mutex_lock(&c->mu);
            if (c->in_tail) c->in_tail->next = it;
            else c->in_head = it;
            c->in_tail = it;
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&c->mu);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return client_writable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        pthread_mutex_lock(&c->mu);
        if (!c->reason[0]) {
            if (len > 2)
                snprintf(c->reason, sizeof c->reason, "closed by the server: %.*s", (int)(len - 2 > 200 ? 200 : len - 2),
                         (const char *)in + 2);
            else
                snprintf(c->reason, sizeof c->reason, "closed by the server");
        }
        pthread_mutex_unlock(&c->mu);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED:
        c->wsi = NULL;
        set_closed(c, "connection lost");
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (c->wsi) {
            pthread_mutex_lock(&c->mu);
            int want = c->state == ST_OPEN && (c->txq.count > 0 || c->close_requested);
            pthread_mutex_unlock(&c->mu);
            if (want) lws_callback_on_writable(c->wsi);
        }
        return 0;
    default:
        return 0;
    }
}

static void *service_main(void *arg) {
    fedc_ws_client *c = arg;
    while (!atomic_load(&c->stop))
        if (lws_service(c->ctx, 0) < 0) break;
    return NULL;
}

static void abs_deadline(struct timespec *ts, double s) {
    clock_gettime(CLOCK_REALTIME, ts);
    double whole = (double)(long)s;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void fedc_ws_client_free(fedc_ws_client *c) {
    if (!c) return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        int open = c->state == ST_OPEN;
        if (open) c->close_requested = 1;
        pthread_mutex_unlock(&c->mu);
        if (open) {
            /* Let the close frame go out, briefly. */
            lws_cancel_service(c->ctx);
            struct timespec ts;
            abs_deadline(&ts, 1.0);
            pthread_mutex_lock(&c->mu);
            while (c->state != ST_CLOSED)
                if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) break;
            pthread_mutex_unlock(&c->mu);
        }
        atomic_store(&c->stop, 1);
        lws_cancel_service(c->ctx);
        pthread_join(c->thread, NULL);
    }
    if (c->ctx) lws_context_destroy(c->ctx);
    fedc_ws_txq_free(&c->txq);
    fedc_ws_rx_free(&c->rx);
    for (inbox_item *it = c->in_head, *n; it; it = n) {
        n = it->next;
        fedc_buf_free(&it->msg);
        free(it);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

fedc_ws_client *fedc_ws_client_connect(const fedc_ws_client_config *cfg, fedc_error *err) {
    fedc_ws_log_setup();
    char parsed[512];
    snprintf(parsed, sizeof parsed, "%s", cfg->url);
    const char *prot = NULL, *host = NULL, *path = NULL;
    int port = 0;
    if (strlen(cfg->url) >= sizeof parsed || lws_parse_uri(parsed, &prot, &host, &port, &path) != 0 || !host[0]) {
        fedc_fail(err, "server URL \"%s\" is not valid; expected ws://HOST:PORT/node or wss://HOST:PORT/node",
                  cfg->url);
        return NULL;
    }
    int tls;
    if (!strcmp(prot, "wss") || !strcmp(prot, "https")) tls = 1;
    else if (!strcmp(prot, "ws") || !strcmp(prot, "http")) tls = 0;
    else {
        fedc_fail(err, "server URL \"%s\": scheme \"%s\" is not supported; allowed: wss, ws", cfg->url, prot);
        return NULL;
    }
    fedc_ws_client *c = calloc(1, sizeof *c);
    if (!c) {
        fedc_fail(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    snprintf(c->url, sizeof c->url, "%s", cfg->url);
    fedc_ws_txq_init(&c->txq);
    fedc_ws_rx_init(&c->rx, cfg->max_message ? cfg->max_message : FEDC_PROTO_MAX_FRAME, 0);
    c->protocols[0] = (struct lws_protocols){"fedc-node", client_callback, 0, 65536, 0, NULL, 65536};

    static const lws_retry_bo_t retry = {.secs_since_valid_ping = 10, .secs_since_valid_hangup = 40};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = c->protocols;
    info.user = c;
    info.retry_and_idle_policy = &retry;
    double ct = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 10;
    info.connect_timeout_secs = (unsigned int)(ct < 1 ? 1 : ct);
    info.timeout_secs = info.connect_timeout_secs;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        if (cfg->ca_pem) {
            info.client_ssl_ca_mem = cfg->ca_pem;
            info.client_ssl_ca_mem_len = (unsigned int)cfg->ca_pem_len;
        }
    }
    c->ctx = lws_create_context(&info);
    if (!c->ctx) {
        fedc_fail(err, "cannot create the network context%s", tls ? " (TLS set-up failed: bad CA certificate?)" : "");
        fedc_ws_client_free(c);
        return NULL;
    }
    char pathbuf[300];
    snprintf(pathbuf, sizeof pathbuf, "/%s", path ? path : "");
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = host;
    ci.port = port;
    ci.path = pathbuf;
    ci.host = host;
    ci.origin = host;
    ci.protocol = "fedc-node";
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.pwsi = &c->wsi;
    ci.retry_and_idle_policy = &retry;
    if (!lws_client_connect_via_info(&ci) && c->state != ST_CLOSED) {
        fedc_fail(err, "cannot connect to %s", cfg->url);
        fedc_ws_client_free(c);
        return NULL;
    }
    if (pthread_create(&c->thread, NULL, service_main, c) != 0) {
        fedc_fail(err, "cannot start the network service thread");
        fedc_ws_client_free(c);
        return NULL;
    }
    c->thread_started = 1;
    struct timespec ts;
    abs_deadline(&ts, ct + 1);
    pthread_mutex_lock(&c->mu);
    while (c->state == ST_CONNECTING)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) break;
    int st = c->state;
    char why[256];
    copy_text(why, sizeof why, c->reason);
    pthread_mutex_unlock(&c->mu);
    if (st != ST_OPEN) {
        if (st == ST_CONNECTING) fedc_fail(err, "cannot connect to %s: no answer within %.0f s", cfg->url, ct);
        else fedc_fail(err, "%s", why);
        fedc_ws_client_free(c);
        return NULL;
    }
    return c;
}

int fedc_ws_client_send(fedc_ws_client *c, const void *data, size_t len, uint64_t *wire, fedc_error *err) {
    fedc_ws_payload *p = fedc_ws_payload_copy(data, len);
    if (!p) return fedc_fail(err, "out of memory queueing a %zu-byte message", len);
    pthread_mutex_lock(&c->mu);
    if (c->state != ST_OPEN) {
        pthread_mutex_unlock(&c->mu);
        fedc_ws_payload_unref(p);
        return fedc_fail(err, "connection closed: %s", c->reason[0] ? c->reason : "not connected");
    }
    int rc = fedc_ws_txq_push(&c->txq, p, 0);
    pthread_mutex_unlock(&c->mu);
    if (rc != 0) return fedc_fail(err, "out of memory queueing a %zu-byte message", len);
    if (wire) *wire = fedc_ws_wire_bytes(len, 1);
    lws_cancel_service(c->ctx);
    return 0;
}

int fedc_ws_client_flush(fedc_ws_client *c, double timeout_s, fedc_error *err) {
    struct timespec ts;
    abs_deadline(&ts, timeout_s);
    pthread_mutex_lock(&c->mu);
    while (c->txq.count > 0 && c->state == ST_OPEN)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) break;
    int left = (int)c->txq.count;
    int st = c->state;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) return 0;
    if (st != ST_OPEN) return fedc_fail(err, "connection closed with %d message(s) unsent: %s", left, c->reason);
    return fedc_fail(err, "%d message(s) still unsent after %.1f s", left, timeout_s);
}

int fedc_ws_client_recv(fedc_ws_client *c, fedc_buf *msg, uint64_t *wire, double *transfer_s, double timeout_s,
                        fedc_error *err) {
    struct timespec ts;
    if (timeout_s >= 0) abs_deadline(&ts, timeout_s);
    pthread_mutex_lock(&c->mu);
    while (!c->in_head && c->state == ST_OPEN) {
        if (timeout_s < 0) pthread_cond_wait(&c->cv, &c->mu);
        else if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) break;
    }
    inbox_item *it = c->in_head;
    if (it) {
        c->in_head = it->next;
        if (!c->in_head) c->in_tail = NULL;
    }
    int st = c->state;
    char why[256];
    copy_text(why, sizeof why, c->reason);
    pthread_mutex_unlock(&c->mu);
    if (it) {
        fedc_buf_free(msg);
        *msg = it->msg;
        if (wire) *wire = it->wire;
        if (transfer_s) *transfer_s = it->transfer_s;
        free(it);
        return 1;
    }
    if (st != ST_OPEN) {
        fedc_fail(err, "%s", why[0] ? why : "connection closed");
        return -1;
    }
    return 0;
}
