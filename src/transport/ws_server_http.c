/* libwebsockets serving HTTP: the REST API, server-sent event streams and
 * the web app's files, on connections the network threads relay to it in
 * plain text over socket pairs (they did TLS and saw the request was not
 * a node's upgrade). lws runs on its own thread; every lws call happens
 * there. Calls into the server layer hold the dispatch lock. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fedc/log.h"
#include "transport/ws_server_internal.h"

#define RELAY_CHUNK 16384 /* lws's read buffer for relayed connections */
#define FRAGMENTS_PER_WRITABLE 16 /* fairness: at most 1 MiB per turn */

struct http_conn {
    struct lws *wsi;
    char method[8];
    char path[512];
    char query[1024];
    char authorization[512], cookie[1024], csrf[160], content_type[128], last_event_id[32];
    char accept_encoding[128];
    char peer[64];
    fedc_buf body_in;
    int body_too_big, awaiting_body;
    int head_only;            /* a HEAD request: answered as GET without the body */
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
};

/* Written by network threads before they hand the descriptor over, read
 * here while that descriptor is open (so never reused meanwhile). */
static void peer_set(fedc_ws_server *s, int fd, const char *peer) {
    pthread_mutex_lock(&s->adopt_mu);
    if ((size_t)fd >= s->npeers) {
        size_t n = s->npeers ? s->npeers : 64;
        while (n <= (size_t)fd) n *= 2;
        char(*p)[64] = realloc(s->peers, n * sizeof *p);
        if (p) {
            memset(p + s->npeers, 0, (n - s->npeers) * sizeof *p);
            s->peers = p;
            s->npeers = n;
        }
    }
    if ((size_t)fd < s->npeers) snprintf(s->peers[fd], sizeof s->peers[fd], "%s", peer);
    pthread_mutex_unlock(&s->adopt_mu);
}

static void peer_of(fedc_ws_server *s, int fd, char *out, size_t cap) {
    pthread_mutex_lock(&s->adopt_mu);
    snprintf(out, cap, "%s", fd >= 0 && (size_t)fd < s->npeers ? s->peers[fd] : "");
    pthread_mutex_unlock(&s->adopt_mu);
}

void http_adopt(fedc_ws_server *s, int fd, const char *peer) {
    peer_set(s, fd, peer);
    pthread_mutex_lock(&s->adopt_mu);
    if (s->nadopt == s->adopt_cap) {
        size_t n = s->adopt_cap ? 2 * s->adopt_cap : 16;
        int *a = realloc(s->adopt, n * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&s->adopt_mu);
            close(fd);
            return;
        }
        s->adopt = a;
        s->adopt_cap = n;
    }
    s->adopt[s->nadopt++] = fd;
    pthread_mutex_unlock(&s->adopt_mu);
    lws_cancel_service(s->ctx);
}

/* lws thread */
static void adopt_pending(fedc_ws_server *s) {
    for (;;) {
        pthread_mutex_lock(&s->adopt_mu);
        int fd = s->nadopt ? s->adopt[--s->nadopt] : -1;
        pthread_mutex_unlock(&s->adopt_mu);
        if (fd < 0) return;
        if (!lws_adopt_socket_vhost(s->vhost, fd)) {
            FEDC_WARN("the HTTP server could not take a connection");
            close(fd);
        }
    }
}

void http_wake(fedc_ws_server *s) {
    if (s->ctx) lws_cancel_service(s->ctx);
}


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
    if (s->ops->stream_closed) {
        dispatch_lock(s);
        s->ops->stream_closed(s->user, h->stream_state);
        dispatch_unlock(s);
    }
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
    /* HEAD is GET without the body (RFC 9110 9.3.2): the handlers see GET. */
    req.method = h->head_only ? "GET" : h->method;
    req.path = h->path;
    req.query = h->query;
    req.authorization = h->authorization;
    req.cookie = h->cookie;
    req.csrf = h->csrf;
    req.content_type = h->content_type;
    req.last_event_id = h->last_event_id;
    req.accept_encoding = h->accept_encoding;
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
        dispatch_lock(s);
        s->ops->http(s->user, &req, &resp);
        dispatch_unlock(s);
    }
    fedc_buf_free(&h->body_in);
    if (resp.stream && h->head_only) {
        /* The head of a stream, and no stream. */
        dispatch_lock(s);
        if (s->ops->stream_closed) s->ops->stream_closed(s->user, resp.stream_state);
        dispatch_unlock(s);
        fedc_buf_free(&resp.body);
        if (send_headers(h->wsi, &resp, 0) != 0) return -1;
        http_reset(h);
        return lws_http_transaction_completed(h->wsi) ? -1 : 0;
    }
    if (resp.stream) {
        if (send_headers(h->wsi, &resp, LWS_ILLEGAL_HTTP_CONTENT_LEN) != 0) {
            dispatch_lock(s);
            if (s->ops->stream_closed) s->ops->stream_closed(s->user, resp.stream_state);
            dispatch_unlock(s);
            fedc_buf_free(&resp.body);
            return -1;
        }
        /* An event stream lives as long as the client keeps it open. On an
         * h2 substream lws_http_mark_sse() makes the stream immortal; on an
         * HTTP/1.1 connection (no TLS, or no ALPN h2) it would log "not h2
         * substream" as an error, so the same is done by hand: drop the
         * header storage and the pending timeout. */
        if (lws_get_network_wsi(h->wsi) != h->wsi) {
            lws_http_mark_sse(h->wsi);
        } else {
            lws_http_headers_detach(h->wsi);
            lws_set_timeout(h->wsi, NO_PENDING_TIMEOUT, 0);
        }
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
    if (h->out_len == 0 || h->head_only) {
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
            dispatch_lock(s);
            int sr = s->ops->stream_poll(s->user, h->stream_state, &h->sbuf);
            dispatch_unlock(s);
            if (sr != 0) return -1;
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
    adopt_pending(s);
    if (s->ops->service) {
        dispatch_lock(s);
        s->ops->service(s->user);
        dispatch_unlock(s);
    }
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
        h->head_only = m == LWSHUMETH_HEAD;
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
        copy_hdr(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, h->accept_encoding, sizeof h->accept_encoding);
        peer_of(s, lws_get_socket_fd(wsi), h->peer, sizeof h->peer);
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


static void *lws_main(void *arg) {
    fedc_ws_server *s = arg;
    while (!atomic_load(&s->stop))
        if (lws_service(s->ctx, 0) < 0) break;
    return NULL;
}

static struct lws_protocols k_protocols[] = {
    {"http", http_callback, sizeof(http_conn), RELAY_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int http_start(fedc_ws_server *s, fedc_error *err) {
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* No listener of its own: it serves what the network threads adopt. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = k_protocols;
    info.user = s;
    info.timeout_secs = 20;
    /* Above the framer's own limit on a head (FEDC_WS_REQUEST_HEAD_MAX): a
     * head it lets through always fits here, so lws never drops one. */
    info.max_http_header_data = 2 * FEDC_WS_REQUEST_HEAD_MAX;
    info.pt_serv_buf_size = LWS_PRE + 65536;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) return fedc_fail(err, "cannot start the HTTP server");
    s->vhost = lws_get_vhost_by_name(s->ctx, "default");
    if (!s->vhost) {
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        return fedc_fail(err, "cannot start the HTTP server (no vhost)");
    }
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, LWS_US_PER_SEC);
    if (pthread_create(&s->lws_thread, NULL, lws_main, s) != 0) {
        lws_sul_cancel(&s->tick);
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        return fedc_fail(err, "cannot start the HTTP service thread");
    }
    s->lws_started = 1;
    return 0;
}

void http_stop(fedc_ws_server *s) {
    if (!s->ctx) return;
    atomic_store(&s->stop, 1);
    if (s->lws_started) {
        lws_cancel_service(s->ctx);
        pthread_join(s->lws_thread, NULL);
    }
    lws_sul_cancel(&s->tick);
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    pthread_mutex_lock(&s->adopt_mu);
    for (size_t i = 0; i < s->nadopt; i++) close(s->adopt[i]);
    s->nadopt = 0;
    pthread_mutex_unlock(&s->adopt_mu);
}
