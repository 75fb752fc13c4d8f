/* The server endpoint: one lws context and vhost on one port, serving HTTP
 * (handed to ops->http), server-sent event streams and the node WebSocket
 * protocol. Every lws call happens on the service thread; other threads
 * only set flags and call lws_cancel_service. */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

#define NODE_PROTOCOL "fedc-node"
/* Per connection lws keeps an rx buffer this large (payload is handed over
 * in chunks of at most this); one TLS record is 16 KiB. */
#define RX_CHUNK 16384
#define READ_BUF 65536 /* lws's read buffer, one for all connections */
#define FRAGMENTS_PER_WRITABLE 16 /* fairness: at most 1 MiB per turn */

struct fedc_ws_conn {
    struct lws *wsi;
    fedc_ws_server *srv;
    uint64_t id;
    fedc_ws_rx rx;
    fedc_ws_txq txq;
    void *user;
    char peer[64];
    int open;          /* node_open was called, node_closed not yet */
    int closing;       /* close once the queue is written (or at once) */
    int drain;         /* write the queue before closing */
    char reason[200];
};

typedef struct http_conn {
    struct lws *wsi;
    char method[8];
    char path[512];
    char query[1024];
    char authorization[512], cookie[1024], csrf[160], content_type[128], last_event_id[32];
    char peer[64];
    fedc_buf body_in;
    int body_too_big, awaiting_body;
    /* the response body being written */
    fedc_buf out;
    const uint8_t *out_static;
    size_t out_len, out_off;
    int responding;
    /* a server-sent event stream */
    int streaming;
    void *stream_state;
    fedc_buf sbuf;
    size_t soff;
    struct http_conn *snext, *sprev;
} http_conn;

struct fedc_ws_server {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    const fedc_ws_server_ops *ops;
    void *user;
    int tls;
    char node_path[64];
    size_t max_message;
    uint64_t next_conn_id;
    http_conn *streams;       /* open SSE streams (service thread) */
    lws_sorted_usec_list_t tick;
    /* Recycled message buffers (fedc_ws_server_recycle). */
    pthread_mutex_t pool_mu;
    fedc_buf *pool;
    size_t npool, pool_cap;
    size_t node_conns; /* open node connections; guarded by pool_mu */
    unsigned char scratch[LWS_PRE + FEDC_WS_FRAGMENT_SIZE];
    struct lws_protocols protocols[3];
};

/* ---- helpers ---------------------------------------------------------- */

static void conn_request_close(fedc_ws_conn *c, const char *reason, int drain) {
    if (c->closing) return;
    c->closing = 1;
    c->drain = drain;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    lws_callback_on_writable(c->wsi);
}

int fedc_ws_conn_send(fedc_ws_conn *c, fedc_ws_payload *p, uint64_t tag) {
    if (c->closing) return -1;
    if (fedc_ws_txq_push(&c->txq, fedc_ws_payload_ref(p), tag) != 0) return -1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

void fedc_ws_conn_close(fedc_ws_conn *c, const char *reason, int send_error) {
    if (c->closing) return;
    /* A plain close (send_error 0) is routine; refusals are worth a warning. */
    fedc_log(send_error ? FEDC_LOG_WARN : FEDC_LOG_INFO, "closing node connection %llu from %s: %s",
             (unsigned long long)c->id, c->peer, reason);
    if (send_error) {
        fedc_buf b = {0};
        if (fedc_ws_error_frame(FEDC_MSG_ERROR, reason, send_error == FEDC_WS_CLOSE_FATAL, &b) == 0) {
            fedc_ws_payload *p = fedc_ws_payload_take(&b);
            if (p) {
                fedc_ws_txq_push(&c->txq, p, UINT64_MAX);
            }
        }
        fedc_buf_free(&b);
    }
    conn_request_close(c, reason, send_error);
}

void fedc_ws_conn_set_max_message(fedc_ws_conn *c, size_t max) { c->rx.max = max; }
void fedc_ws_conn_set_user(fedc_ws_conn *c, void *user) { c->user = user; }
void *fedc_ws_conn_user(const fedc_ws_conn *c) { return c->user; }
uint64_t fedc_ws_conn_id(const fedc_ws_conn *c) { return c->id; }
const char *fedc_ws_conn_peer(const fedc_ws_conn *c) { return c->peer; }
size_t fedc_ws_conn_pending(const fedc_ws_conn *c) { return c->txq.count; }

/* ---- recycled message buffers --------------------------------------- */

void fedc_ws_server_recycle(fedc_ws_server *s, fedc_buf *b) {
    if (!s || !b->data) {
        fedc_buf_free(b);
        return;
    }
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < s->node_conns) {
        if (s->npool == s->pool_cap) {
            size_t ncap = s->pool_cap ? 2 * s->pool_cap : 16;
            fedc_buf *n = realloc(s->pool, ncap * sizeof *n);
            if (n) {
                s->pool = n;
                s->pool_cap = ncap;
            }
        }
        if (s->npool < s->pool_cap) {
            b->len = 0;
            s->pool[s->npool++] = *b;
            memset(b, 0, sizeof *b);
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    fedc_buf_free(b); /* not kept: no-op if it was */
}

/* A recycled buffer for a message that begins and will span chunks. */
static void pool_take(fedc_ws_server *s, fedc_buf *msg) {
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool) *msg = s->pool[--s->npool];
    pthread_mutex_unlock(&s->pool_mu);
}

/* Keeps no more buffers than there are connections to use them. */
static void pool_node_count(fedc_ws_server *s, int delta) {
    pthread_mutex_lock(&s->pool_mu);
    s->node_conns = (size_t)((long)s->node_conns + delta);
    while (s->npool > s->node_conns) fedc_buf_free(&s->pool[--s->npool]);
    pthread_mutex_unlock(&s->pool_mu);
}

static void pool_free(fedc_ws_server *s) {
    for (size_t i = 0; i < s->npool; i++) fedc_buf_free(&s->pool[i]);
    free(s->pool);
    s->pool = NULL;
    s->npool = s->pool_cap = 0;
}

/* ---- the node WebSocket protocol -------------------------------------- */

static int node_writable(fedc_ws_server *s, fedc_ws_conn *c) {
    for (int k = 0; k < FRAGMENTS_PER_WRITABLE; k++) {
        if (c->closing && (!c->drain || c->txq.count == 0)) {
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)c->reason,
                             strlen(c->reason) < 120 ? strlen(c->reason) : 120);
            return -1;
        }
        fedc_ws_fragment f;
        if (!fedc_ws_txq_peek(&c->txq, &f)) return 0;
        memcpy(s->scratch + LWS_PRE, f.data, f.len);
        int flags = lws_write_ws_flags(LWS_WRITE_BINARY, f.first, f.last);
        int n = lws_write(c->wsi, s->scratch + LWS_PRE, f.len, (enum lws_write_protocol)flags);
        if (n < (int)f.len) {
            snprintf(c->reason, sizeof c->reason, "write to the socket failed");
            return -1;
        }
        uint64_t tag = 0, wire = 0;
        if (fedc_ws_txq_advance(&c->txq, 0, &tag, &wire) && tag != UINT64_MAX && s->ops->node_sent)
            s->ops->node_sent(s->user, c, tag, wire);
        if (lws_partial_buffered(c->wsi) || lws_send_pipe_choked(c->wsi)) break;
    }
    if (c->txq.count || c->closing) lws_callback_on_writable(c->wsi);
    return 0;
}

static void node_closed(fedc_ws_server *s, fedc_ws_conn *c, const char *why) {
    if (c->open && s->ops->node_closed) s->ops->node_closed(s->user, c, c->reason[0] ? c->reason : why);
    if (c->open) pool_node_count(s, -1);
    c->open = 0;
    fedc_ws_rx_free(&c->rx);
    fedc_ws_txq_free(&c->txq);
}

static int node_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
    fedc_ws_server *s = lws_context_user(lws_get_context(wsi));
    fedc_ws_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[128];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, s->node_path) != 0) {
            FEDC_WARN("refused a WebSocket upgrade on %s; nodes connect to %s", uri, s->node_path);
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->srv = s;
        c->id = ++s->next_conn_id;
        lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
        fedc_ws_rx_init(&c->rx, s->max_message, 1);
        fedc_ws_txq_init(&c->txq);
        c->open = 1;
        pool_node_count(s, +1);
        if (s->ops->node_open) s->ops->node_open(s->user, c);
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        if (!c || !c->open || c->closing) return 0; /* input after a close decision is ignored */
        fedc_error e;
        size_t frame_left = lws_remaining_packet_payload(wsi);
        int final = lws_is_final_fragment(wsi);
        if (!c->rx.msg.data && (frame_left || !final)) pool_take(s, &c->rx.msg);
        int r = fedc_ws_rx_feed(&c->rx, in, len, lws_frame_is_binary(wsi), frame_left, final, &e);
        if (r < 0) {
            fedc_ws_conn_close(c, e.msg, 1);
            return 0;
        }
        if (r == 1) {
            uint64_t wire = c->rx.wire;
            if (s->ops->node_message) s->ops->node_message(s->user, c, &c->rx.msg, wire);
            fedc_ws_rx_next(&c->rx);
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c || !c->open) return -1;
        return node_writable(s, c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && !c->reason[0]) {
            /* in: 2-byte close code then the peer's reason text */
            if (len > 2)
                snprintf(c->reason, sizeof c->reason, "closed by the node: %.*s", (int)(len - 2 > 150 ? 150 : len - 2),
                         (const char *)in + 2);
            else
                snprintf(c->reason, sizeof c->reason, "closed by the node");
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c && c->wsi == wsi) node_closed(s, c, "connection lost");
        return 0;
    default:
        return 0;
    }
}

/* ---- HTTP --------------------------------------------------------------- */

static void copy_hdr(struct lws *wsi, enum lws_token_indexes h, char *out, size_t cap) {
    out[0] = 0;
    if (lws_hdr_total_length(wsi, h) >= (int)cap || lws_hdr_copy(wsi, out, (int)cap, h) < 0) out[0] = 0;
}

static void copy_custom(struct lws *wsi, const char *name, char *out, size_t cap) {
    out[0] = 0;
    int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));
    if (n <= 0 || n >= (int)cap || lws_hdr_custom_copy(wsi, out, (int)cap, name, (int)strlen(name)) < 0)
        out[0] = 0;
}

static void http_reset(http_conn *h) {
    fedc_buf_free(&h->body_in);
    fedc_buf_free(&h->out);
    h->out_static = NULL;
    h->out_len = h->out_off = 0;
    h->body_too_big = h->awaiting_body = h->responding = 0;
}

static void stream_unlink(fedc_ws_server *s, http_conn *h) {
    if (!h->streaming) return;
    if (h->sprev) h->sprev->snext = h->snext;
    else s->streams = h->snext;
    if (h->snext) h->snext->sprev = h->sprev;
    h->snext = h->sprev = NULL;
    h->streaming = 0;
    if (s->ops->stream_closed) s->ops->stream_closed(s->user, h->stream_state);
    h->stream_state = NULL;
    fedc_buf_free(&h->sbuf);
}

static int send_headers(struct lws *wsi, const fedc_http_response *r, lws_filepos_t content_len) {
    unsigned char hbuf[LWS_PRE + 4096], *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof hbuf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status,
                                    r->content_type[0] ? r->content_type : "application/json", content_len,
                                    &p, end))
        return -1;
    for (int i = 0; i < r->nheaders; i++) {
        char name[80];
        snprintf(name, sizeof name, "%s:", r->headers[i].name);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)r->headers[i].value,
                                        (int)strlen(r->headers[i].value), &p, end))
            return -1;
    }
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static int http_dispatch(fedc_ws_server *s, http_conn *h) {
    fedc_http_request req = {0};
    req.method = h->method;
    req.path = h->path;
    req.query = h->query;
    req.authorization = h->authorization;
    req.cookie = h->cookie;
    req.csrf = h->csrf;
    req.content_type = h->content_type;
    req.last_event_id = h->last_event_id;
    req.body = h->body_in.data;
    req.body_len = h->body_in.len;
    req.peer = h->peer;
    req.tls = s->tls;
    fedc_http_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    if (h->body_too_big) {
        resp.status = 413;
        fedc_ws_json_error(&resp, "request body larger than the limit of %zu bytes", FEDC_HTTP_MAX_BODY);
    } else {
        s->ops->http(s->user, &req, &resp);
    }
    fedc_buf_free(&h->body_in);
    if (resp.stream) {
        if (send_headers(h->wsi, &resp, LWS_ILLEGAL_HTTP_CONTENT_LEN) != 0) {
            if (s->ops->stream_closed) s->ops->stream_closed(s->user, resp.stream_state);
            fedc_buf_free(&resp.body);
            return -1;
        }
        lws_http_mark_sse(h->wsi);
        h->streaming = 1;
        h->stream_state = resp.stream_state;
        h->sbuf = resp.body;
        h->soff = 0;
        h->snext = s->streams;
        h->sprev = NULL;
        if (s->streams) s->streams->sprev = h;
        s->streams = h;
        lws_callback_on_writable(h->wsi);
        return 0;
    }
    h->out = resp.body;
    h->out_static = resp.static_body;
    h->out_len = resp.static_body ? resp.static_len : resp.body.len;
    h->out_off = 0;
    if (send_headers(h->wsi, &resp, h->out_len) != 0) return -1;
    if (h->out_len == 0) {
        http_reset(h);
        return lws_http_transaction_completed(h->wsi) ? -1 : 0;
    }
    h->responding = 1;
    lws_callback_on_writable(h->wsi);
    return 0;
}

static int http_writable(fedc_ws_server *s, http_conn *h) {
    if (h->streaming) {
        if (h->soff == h->sbuf.len) {
            fedc_buf_clear(&h->sbuf);
            h->soff = 0;
            if (s->ops->stream_poll(s->user, h->stream_state, &h->sbuf) != 0) return -1;
        }
        while (h->soff < h->sbuf.len) {
            size_t n = h->sbuf.len - h->soff;
            if (n > FEDC_WS_FRAGMENT_SIZE) n = FEDC_WS_FRAGMENT_SIZE;
            memcpy(s->scratch + LWS_PRE, h->sbuf.data + h->soff, n);
            if (lws_write(h->wsi, s->scratch + LWS_PRE, n, LWS_WRITE_HTTP) < (int)n) return -1;
            h->soff += n;
            if (lws_partial_buffered(h->wsi) || lws_send_pipe_choked(h->wsi)) {
                lws_callback_on_writable(h->wsi);
                break;
            }
        }
        return 0;
    }
    if (!h->responding) return 0;
    const uint8_t *src = h->out_static ? h->out_static : h->out.data;
    for (int k = 0; k < FRAGMENTS_PER_WRITABLE; k++) {
        size_t n = h->out_len - h->out_off;
        if (n > FEDC_WS_FRAGMENT_SIZE) n = FEDC_WS_FRAGMENT_SIZE;
        int last = h->out_off + n == h->out_len;
        memcpy(s->scratch + LWS_PRE, src + h->out_off, n);
        if (lws_write(h->wsi, s->scratch + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
            return -1;
        h->out_off += n;
        if (last) {
            http_reset(h);
            return lws_http_transaction_completed(h->wsi) ? -1 : 0;
        }
        if (lws_partial_buffered(h->wsi) || lws_send_pipe_choked(h->wsi)) break;
    }
    lws_callback_on_writable(h->wsi);
    return 0;
}

static void server_service(fedc_ws_server *s) {
    if (s->ops->service) s->ops->service(s->user);
    for (http_conn *h = s->streams; h; h = h->snext) lws_callback_on_writable(h->wsi);
}

static void tick_cb(lws_sorted_usec_list_t *sul) {
    fedc_ws_server *s = lws_container_of(sul, fedc_ws_server, tick);
    server_service(s);
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, LWS_US_PER_SEC);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
    struct lws_context *lctx = lws_get_context(wsi);
    fedc_ws_server *s = lctx ? lws_context_user(lctx) : NULL;
    http_conn *h = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s) server_service(s);
        return 0;
    case LWS_CALLBACK_HTTP: {
        if (h->streaming) stream_unlink(s, h);
        http_reset(h);
        h->wsi = wsi;
        char *uri = NULL;
        int ulen = 0, m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
        static const char *const names[] = {"GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD"};
        if (m < 0 || m > LWSHUMETH_HEAD) {
            lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
            return -1;
        }
        snprintf(h->method, sizeof h->method, "%s", names[m]);
        /* in: the URL-decoded path */
        snprintf(h->path, sizeof h->path, "%.*s", (int)(len < sizeof h->path ? len : sizeof h->path - 1),
                 (const char *)in);
        h->query[0] = 0;
        size_t qlen = 0;
        char frag[512];
        for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
            int w = snprintf(h->query + qlen, sizeof h->query - qlen, "%s%s", qlen ? "&" : "", frag);
            if (w < 0 || (size_t)w >= sizeof h->query - qlen) break;
            qlen += (size_t)w;
        }
        copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, h->authorization, sizeof h->authorization);
        copy_hdr(wsi, WSI_TOKEN_HTTP_COOKIE, h->cookie, sizeof h->cookie);
        copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, h->content_type, sizeof h->content_type);
        copy_custom(wsi, "x-fedc-csrf:", h->csrf, sizeof h->csrf);
        copy_custom(wsi, "last-event-id:", h->last_event_id, sizeof h->last_event_id);
        lws_get_peer_simple(wsi, h->peer, sizeof h->peer);
        char cl[32];
        copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
        int has_body = (m == LWSHUMETH_POST || m == LWSHUMETH_PUT || m == LWSHUMETH_PATCH) &&
                       (cl[0] ? strtoull(cl, NULL, 10) > 0 : 0);
        if (cl[0] && strtoull(cl, NULL, 10) > FEDC_HTTP_MAX_BODY) h->body_too_big = 1;
        if (has_body && !h->body_too_big) {
            h->awaiting_body = 1;
            return 0;
        }
        return http_dispatch(s, h);
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (!h->awaiting_body) return 0;
        if (h->body_in.len + len > FEDC_HTTP_MAX_BODY) {
            h->body_too_big = 1;
            fedc_buf_free(&h->body_in);
        } else if (!h->body_too_big && fedc_buf_append(&h->body_in, in, len) != 0) {
            return -1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!h->awaiting_body) return 0;
        h->awaiting_body = 0;
        return http_dispatch(s, h);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writable(s, h);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (h && s) {
            stream_unlink(s, h);
            http_reset(h);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

static void *service_main(void *arg) {
    fedc_ws_server *s = arg;
    while (!atomic_load(&s->stop))
        if (lws_service(s->ctx, 0) < 0) break;
    return NULL;
}

fedc_ws_server *fedc_ws_server_start(const fedc_ws_server_config *cfg, const fedc_ws_server_ops *ops,
                                     void *user, fedc_error *err) {
    fedc_ws_log_setup();
    fedc_ws_server *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory starting the server");
        return NULL;
    }
    s->ops = ops;
    s->user = user;
    s->tls = cfg->tls;
    pthread_mutex_init(&s->pool_mu, NULL);
    s->max_message = cfg->max_message ? cfg->max_message : 65536;
    snprintf(s->node_path, sizeof s->node_path, "%s", cfg->node_path ? cfg->node_path : "/node");
    s->protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(http_conn), 0, 0, NULL, 0};
    s->protocols[1] =
        (struct lws_protocols){NODE_PROTOCOL, node_callback, sizeof(fedc_ws_conn), RX_CHUNK, 0, NULL,
                               FEDC_WS_FRAGMENT_SIZE};

    static const lws_retry_bo_t retry = {.secs_since_valid_ping = 10, .secs_since_valid_hangup = 40};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    info.port = cfg->port;
    info.iface = bind;
    info.protocols = s->protocols;
    info.user = s;
    info.alpn = "http/1.1";
    info.retry_and_idle_policy = &retry;
    info.timeout_secs = 20;
    info.max_http_header_data = 8192;
    /* lws reads each connection into this buffer: at the default 4 KiB a
     * 16 KiB TLS record took four reads and four service passes. */
    info.pt_serv_buf_size = LWS_PRE + READ_BUF;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (strchr(bind, '.') && !strchr(bind, ':')) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->cert_path;
        info.ssl_private_key_filepath = cfg->key_path;
        /* lws makes the server's order decide: AES-128-GCM first (AES-NI;
         * every round moves a model per node each way through it). */
        info.tls1_3_plus_cipher_list = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        fedc_fail(err, "cannot listen on %s:%d%s (port in use, bad address, or unreadable certificate %s)", bind,
                  cfg->port, cfg->tls ? " with TLS" : "", cfg->tls ? cfg->cert_path : "");
        pthread_mutex_destroy(&s->pool_mu);
        free(s);
        return NULL;
    }
    s->vhost = lws_get_vhost_by_name(s->ctx, "default");
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, LWS_US_PER_SEC);
    if (pthread_create(&s->thread, NULL, service_main, s) != 0) {
        fedc_fail(err, "cannot start the network service thread");
        lws_context_destroy(s->ctx);
        pthread_mutex_destroy(&s->pool_mu);
        free(s);
        return NULL;
    }
    s->thread_started = 1;
    return s;
}

int fedc_ws_server_port(const fedc_ws_server *s) { return s->vhost ? lws_get_vhost_listen_port(s->vhost) : -1; }

void fedc_ws_server_wake(fedc_ws_server *s) {
    if (s && s->ctx) lws_cancel_service(s->ctx);
}

void fedc_ws_server_stop(fedc_ws_server *s) {
    if (!s) return;
    atomic_store(&s->stop, 1);
    if (s->thread_started) {
        lws_cancel_service(s->ctx);
        pthread_join(s->thread, NULL);
    }
    lws_sul_cancel(&s->tick);
    lws_context_destroy(s->ctx);
    pool_free(s);
    pthread_mutex_destroy(&s->pool_mu);
    free(s);
}
