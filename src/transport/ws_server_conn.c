/* One accepted connection, on its network thread: the TLS handshake, the
 * first request head, then either the node WebSocket protocol
 * (ws_server_node.c) or a relay of plain HTTP to libwebsockets over a
 * socket pair. TLS reads ahead (one read() takes many records) and
 * writes are collected (one write() sends many records). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fedc/log.h"
#include "fedc/timer.h"
#include "transport/ws_server_internal.h"

#define RELAY_HIGH (256 * 1024) /* client bytes buffered for lws before reading pauses */

fedc_ws_conn *conn_new(fedc_ws_server *s, int fd, const char *peer) {
    fedc_ws_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->srv = s;
    c->fd = fd;
    c->relay_fd = -1;
    c->id = atomic_fetch_add(&s->next_conn_id, 1) + 1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->phase = PH_TLS;
    c->t_start = c->t_last_rx = fedc_wall_s();
    c->ref = (ep_ref){c, 0};
    c->relay_ref = (ep_ref){c, 1};
    pthread_mutex_init(&c->mu, NULL);
    fedc_ws_txq_init(&c->txq);
    atomic_init(&c->max_message, s->max_message);
    atomic_init(&c->pending, 0);
    fedc_http_framer_init(&c->fr, FEDC_WS_REQUEST_HEAD_MAX, FEDC_HTTP_MAX_BODY);
    if (s->ssl_ctx) {
        c->ssl = SSL_new(s->ssl_ctx);
        BIO *rbio = BIO_new_socket(fd, BIO_NOCLOSE);
        c->wbio = fedc_ws_outbuf_bio(&c->out);
        if (!c->ssl || !rbio || !c->wbio) {
            BIO_free(rbio);
            BIO_free(c->wbio);
            SSL_free(c->ssl);
            fedc_http_framer_free(&c->fr);
            pthread_mutex_destroy(&c->mu);
            free(c);
            return NULL;
        }
        SSL_set_bio(c->ssl, rbio, c->wbio);
        SSL_set_accept_state(c->ssl);
    } else {
        c->phase = PH_HEAD;
    }
    return c;
}

void conn_attach(net_thread *nt, fedc_ws_conn *c) {
    c->nt = nt;
    c->prev = NULL;
    c->next = nt->conns;
    if (nt->conns) nt->conns->prev = c;
    nt->conns = c;
    nt->nconns++;
    c->ev_mask = EPOLLIN;
    struct epoll_event ev = {.events = c->ev_mask, .data.ptr = &c->ref};
    if (epoll_ctl(nt->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        FEDC_WARN("cannot watch the connection from %s: %s", c->peer, strerror(errno));
        conn_destroy(c, "cannot watch the socket");
    }
}

/* ---- byte I/O ----------------------------------------------------------- */

static const char *tls_reason(char *buf, size_t cap, const char *fallback) {
    unsigned long e = ERR_get_error();
    if (!e) return fallback;
    ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

int conn_put(fedc_ws_conn *c, const void *data, size_t len) {
    if (!len) return 0;
    /* An idle connection borrows its thread's output memory; it keeps it
     * only while the socket is full (conn_flush gives it back). */
    if (!c->out.data && c->nt && c->nt->spare_out.data) {
        c->out = c->nt->spare_out;
        memset(&c->nt->spare_out, 0, sizeof c->nt->spare_out);
    }
    if (!c->ssl) return fedc_buf_append(&c->out, data, len);
    /* The BIO takes everything, so SSL_write completes or fails. */
    int n = SSL_write(c->ssl, data, (int)len);
    if (n == (int)len) return 0;
    char eb[160];
    snprintf(c->reason, sizeof c->reason, "TLS write failed: %s", tls_reason(eb, sizeof eb, "error"));
    return -1;
}

int conn_flush(fedc_ws_conn *c) {
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (!c->reason[0]) snprintf(c->reason, sizeof c->reason, "connection lost (%s)", strerror(errno));
        return -1;
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        /* Between messages a connection holds no output memory (hundreds
         * of nodes would each hold one buffer): it goes back to the thread. */
        if (c->nt && c->out.data && !c->nt->spare_out.data) {
            c->nt->spare_out = c->out;
            memset(&c->out, 0, sizeof c->out);
        } else if (c->out.cap > 65536) {
            fedc_buf_free(&c->out);
        }
    } else if (c->out_off > OUT_HIGH) {
        memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
    return 0;
}

static int out_pending(const fedc_ws_conn *c) { return c->out_off < c->out.len; }

/* Reads into buf: >0 bytes, 0 = nothing now, -1 = closed or failed
 * (c->reason set). */
static ssize_t conn_read(fedc_ws_conn *c, uint8_t *buf, size_t cap) {
    if (!c->ssl) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n > 0) return n;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
        if (!c->reason[0])
            snprintf(c->reason, sizeof c->reason, "%s", n == 0 ? "connection lost" : strerror(errno));
        c->eof = 1;
        return -1;
    }
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, (int)cap);
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    char eb[160];
    if (!c->reason[0]) {
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
            snprintf(c->reason, sizeof c->reason, "connection lost");
        else
            snprintf(c->reason, sizeof c->reason, "TLS read failed: %s", tls_reason(eb, sizeof eb, "error"));
    }
    c->eof = 1;
    return -1;
}

void conn_update_events(fedc_ws_conn *c) {
    uint32_t want = 0;
    if (!c->eof && !(c->phase == PH_RELAY && c->up_off < c->up.len)) want |= EPOLLIN;
    if (out_pending(c)) want |= EPOLLOUT;
    if (want != c->ev_mask) {
        struct epoll_event ev = {.events = want, .data.ptr = &c->ref};
        epoll_ctl(c->nt->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->ev_mask = want;
    }
    if (c->relay_fd >= 0) {
        uint32_t rw = 0;
        if (!c->relay_eof && c->out.len - c->out_off < RELAY_HIGH) rw |= EPOLLIN;
        if (c->up_off < c->up.len) rw |= EPOLLOUT;
        if (rw != c->relay_mask) {
            struct epoll_event ev = {.events = rw, .data.ptr = &c->relay_ref};
            epoll_ctl(c->nt->epfd, EPOLL_CTL_MOD, c->relay_fd, &ev);
            c->relay_mask = rw;
        }
    }
}

/* ---- closing ------------------------------------------------------------ */

void conn_destroy(fedc_ws_conn *c, const char *why) {
    net_thread *nt = c->nt;
    if (c->dead) return;
    c->dead = 1;
    if (c->open) {
        c->open = 0;
        pool_node_count(c->srv, -1);
        fedc_ws_server *s = c->srv;
        const char *reason = c->reason[0] ? c->reason : why;
        dispatch_lock(s);
        if (s->ops->node_closed) s->ops->node_closed(s->user, c, reason);
        dispatch_unlock(s);
    }
    if (nt) {
        epoll_ctl(nt->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        if (c->relay_fd >= 0) epoll_ctl(nt->epfd, EPOLL_CTL_DEL, c->relay_fd, NULL);
        if (c->prev) c->prev->next = c->next;
        else if (nt->conns == c) nt->conns = c->next;
        if (c->next) c->next->prev = c->prev;
        nt->nconns--;
        if (c->in_ready)
            for (fedc_ws_conn **pp = &nt->ready; *pp; pp = &(*pp)->ready_next)
                if (*pp == c) {
                    *pp = c->ready_next;
                    break;
                }
        /* Another thread may have queued it as dirty meanwhile. */
        pthread_mutex_lock(&nt->mu);
        for (fedc_ws_conn **pp = &nt->dirty; *pp; pp = &(*pp)->dirty_next)
            if (*pp == c) {
                *pp = c->dirty_next;
                break;
            }
        pthread_mutex_unlock(&nt->mu);
    }
    if (c->ssl) {
        if (!c->eof && c->phase != PH_TLS) {
            SSL_shutdown(c->ssl); /* close_notify, best effort */
            conn_flush(c);
        }
        SSL_free(c->ssl); /* frees both BIOs */
    }
    close(c->fd);
    if (c->relay_fd >= 0) close(c->relay_fd);
    limits_pending_release(c);
    fedc_ws_rx_free(&c->rx);
    fedc_http_framer_free(&c->fr);
    fedc_buf_free(&c->head);
    fedc_buf_free(&c->out);
    fedc_buf_free(&c->up);
    pthread_mutex_lock(&c->mu);
    fedc_ws_txq_free(&c->txq);
    pthread_mutex_unlock(&c->mu);
    if (nt) {
        c->grave_next = nt->graveyard;
        nt->graveyard = c;
    } else {
        pthread_mutex_destroy(&c->mu);
        free(c->client_cert);
        free(c);
    }
}

void conn_free_dead(net_thread *nt) {
    while (nt->graveyard) {
        fedc_ws_conn *c = nt->graveyard;
        nt->graveyard = c->grave_next;
        pthread_mutex_destroy(&c->mu);
        free(c->client_cert);
        free(c);
    }
}

/* ---- the first request head: node or HTTP ------------------------------- */

/* A request on a relayed connection is refused: no more is read from the
 * client; lws gets what it was due, then end of input, and once it has
 * written its last answer and closed, the refusal goes out. */
static void relay_refuse(fedc_ws_conn *c, int status, const char *why) {
    fedc_log(status == 408 || status >= 500 ? FEDC_LOG_INFO : FEDC_LOG_WARN, "HTTP request from %s refused (%d): %s",
             c->peer, status, why);
    c->refusing = 1;
    c->refuse_status = status;
    snprintf(c->refuse_why, sizeof c->refuse_why, "%s", why);
    c->t_close = fedc_wall_s();
}

static void refuse_head(fedc_ws_conn *c, int status, const char *why) {
    char out[1024];
    int n = fedc_ws_upgrade_refusal(out, sizeof out, status, why);
    if (n > 0 && conn_put(c, out, (size_t)n) == 0) conn_flush(c);
    snprintf(c->reason, sizeof c->reason, "%.190s", why);
    c->phase = PH_CLOSING;
    c->t_close = fedc_wall_s();
}

static void start_relay(fedc_ws_conn *c) {
    int sv[2] = {-1, -1};
    int ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0;
    if (ok && limits_fd_reserved(c->srv, sv[1], 1)) {
        close(sv[0]);
        close(sv[1]);
        ok = 0;
    }
    if (!ok) {
        FEDC_WARN("refused an HTTP request from %s: the server is out of descriptors for connections (the rest "
                  "are kept for its run store and checkpoints)",
                  c->peer);
        refuse_head(c, 503, "the server cannot take more connections now (out of descriptors); try again later");
        return;
    }
    c->relay_fd = sv[0];
    c->phase = PH_RELAY;
    c->up_off = 0;
    c->relay_mask = EPOLLOUT;
    struct epoll_event ev = {.events = c->relay_mask, .data.ptr = &c->relay_ref};
    epoll_ctl(c->nt->epfd, EPOLL_CTL_ADD, c->relay_fd, &ev);
    http_adopt(c->srv, sv[1], c->peer);
    /* What was read so far is the start of the HTTP stream: its first
     * request goes through the framer like every later one. */
    char why[200];
    int st = fedc_http_framer_feed(&c->fr, c->head.data, c->head.len, fedc_wall_s(), &c->up, why, sizeof why);
    fedc_buf_free(&c->head);
    if (st) relay_refuse(c, st, why);
    else if (c->fr.requests) limits_pending_release(c);
}

static void on_head(fedc_ws_conn *c, size_t head_len) {
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    int kind = fedc_ws_upgrade_parse(c->head.data, head_len, NODE_PROTOCOL, &u, &status, &e);
    if (kind == FEDC_WS_HEAD_HTTP) {
        start_relay(c);
        return;
    }
    if (kind == FEDC_WS_HEAD_REFUSED) {
        FEDC_WARN("refused a WebSocket upgrade from %s: %s", c->peer, e.msg);
        refuse_head(c, status, e.msg);
        return;
    }
    if (strcmp(u.path, c->srv->node_path) != 0) {
        for (char *p = u.path; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?'; /* it is logged */
        char why[400];
        snprintf(why, sizeof why, "refused a WebSocket upgrade on %s; nodes connect to %s", u.path,
                 c->srv->node_path);
        FEDC_WARN("%s (from %s)", why, c->peer);
        refuse_head(c, 404, why);
        return;
    }
    const uint8_t *extra = c->head.data + head_len;
    size_t extra_len = c->head.len - head_len;
    node_start(c, &u, extra, extra_len); /* on failure it is closing */
    fedc_buf_free(&c->head);
}

/* -1 if c was destroyed. */
static int read_head(fedc_ws_conn *c) {
    for (;;) {
        if (fedc_buf_reserve(&c->head, 4096) != 0) {
            conn_destroy(c, "out of memory");
            return -1;
        }
        size_t room = c->head.cap - c->head.len;
        if (c->head.len + room > FEDC_WS_REQUEST_HEAD_MAX + 4096) room = FEDC_WS_REQUEST_HEAD_MAX + 4096 - c->head.len;
        ssize_t n = conn_read(c, c->head.data + c->head.len, room);
        if (n < 0) {
            conn_destroy(c, "connection lost");
            return -1;
        }
        if (n == 0) return 0;
        size_t before = c->head.len;
        c->head.len += (size_t)n;
        size_t from = before > 3 ? before - 3 : 0, end = 0;
        size_t hl = fedc_ws_handshake_end(c->head.data + from, c->head.len - from);
        if (hl) end = from + hl;
        if (end) {
            on_head(c, end);
            return 0;
        }
        if (c->head.len > FEDC_WS_REQUEST_HEAD_MAX) {
            /* 414 while even the request line has not ended, else 431. */
            int line_ended = 0;
            for (size_t i = 0; i + 1 < c->head.len && !line_ended; i++)
                line_ended = c->head.data[i] == '\r' && c->head.data[i + 1] == '\n';
            char why[160];
            snprintf(why, sizeof why, "%s longer than %d bytes", line_ended ? "request head" : "request line (URL)",
                     FEDC_WS_REQUEST_HEAD_MAX);
            FEDC_WARN("request from %s refused: %s", c->peer, why);
            refuse_head(c, line_ended ? 431 : 414, why);
            return 0;
        }
    }
}

/* ---- the relay to lws --------------------------------------------------- */

/* The refusal of a relayed request, once lws is done: the relay is closed,
 * the answer written, and the connection closes like a refused head. */
static void relay_answer_refusal(fedc_ws_conn *c) {
    epoll_ctl(c->nt->epfd, EPOLL_CTL_DEL, c->relay_fd, NULL);
    close(c->relay_fd);
    c->relay_fd = -1;
    char out[1024];
    int n = fedc_ws_upgrade_refusal(out, sizeof out, c->refuse_status, c->refuse_why);
    if (n > 0 && conn_put(c, out, (size_t)n) == 0) conn_flush(c);
    snprintf(c->reason, sizeof c->reason, "%s", c->refuse_why);
    c->phase = PH_CLOSING;
    c->t_close = fedc_wall_s();
}

/* Returns -1 when the connection was destroyed. */
static int relay_pump(fedc_ws_conn *c) {
    /* client -> lws */
    while (c->up_off < c->up.len) {
        ssize_t n = send(c->relay_fd, c->up.data + c->up_off, c->up.len - c->up_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->up_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            conn_destroy(c, "the HTTP server closed the connection");
            return -1;
        }
    }
    if (c->up_off == c->up.len) c->up.len = c->up_off = 0;
    while (!c->eof && !c->refusing && c->up.len - c->up_off < RELAY_HIGH) {
        ssize_t n = conn_read(c, c->nt->rbuf, sizeof c->nt->rbuf);
        if (n <= 0) break;
        char why[200];
        int st = fedc_http_framer_feed(&c->fr, c->nt->rbuf, (size_t)n, fedc_wall_s(), &c->up, why, sizeof why);
        if (st) relay_refuse(c, st, why);
        else if (c->fr.requests) limits_pending_release(c);
        if (c->up_off < c->up.len) {
            ssize_t w = send(c->relay_fd, c->up.data + c->up_off, c->up.len - c->up_off, MSG_NOSIGNAL);
            if (w > 0) c->up_off += (size_t)w;
        }
        if (c->up_off == c->up.len) c->up.len = c->up_off = 0;
    }
    if (c->eof && c->up_off == c->up.len && !c->refusing) {
        conn_destroy(c, c->reason[0] ? c->reason : "connection lost");
        return -1;
    }
    /* A refused request: lws gets end of input once it has all it was due. */
    if (c->refusing && !c->relay_shut && c->up_off == c->up.len) {
        shutdown(c->relay_fd, SHUT_WR);
        c->relay_shut = 1;
    }
    /* lws -> client */
    while (!c->relay_eof && c->out.len - c->out_off < RELAY_HIGH) {
        ssize_t n = recv(c->relay_fd, c->nt->rbuf, sizeof c->nt->rbuf, 0);
        if (n > 0) {
            if (conn_put(c, c->nt->rbuf, (size_t)n) != 0) {
                conn_destroy(c, c->reason);
                return -1;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            c->relay_eof = 1; /* lws closed: send what it wrote, then close */
        }
    }
    if (conn_flush(c) != 0) {
        conn_destroy(c, c->reason);
        return -1;
    }
    if (c->relay_eof && !out_pending(c)) {
        if (c->refusing) {
            relay_answer_refusal(c);
            if (conn_flush(c) != 0 || !out_pending(c)) {
                conn_destroy(c, c->refuse_why);
                return -1;
            }
            conn_update_events(c);
            return -1; /* now closing: the caller must not touch the relay */
        }
        conn_destroy(c, "done");
        return -1;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------- */

/* Handshake and head phases: -1 if c is gone. */
static int early_phases(fedc_ws_conn *c) {
    if (c->phase == PH_TLS) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (conn_flush(c) != 0) {
                    conn_destroy(c, "connection lost during the TLS handshake");
                    return -1;
                }
                return 0;
            }
            char eb[160];
            const char *why = tls_reason(eb, sizeof eb, "the client closed the connection");
            FEDC_INFO("TLS handshake with %s failed: %s", c->peer, why);
            conn_flush(c); /* the alert, if any */
            c->eof = 1;
            conn_destroy(c, why);
            return -1;
        }
        c->phase = PH_HEAD;
        X509 *cert = SSL_get1_peer_certificate(c->ssl);
        if (cert) {
            /* Kept as PEM for the server layer (fedc_ws_conn_client_cert). */
            BIO *b = BIO_new(BIO_s_mem());
            char *data = NULL;
            long n = b && PEM_write_bio_X509(b, cert) == 1 ? BIO_get_mem_data(b, &data) : 0;
            if (n > 0 && (c->client_cert = malloc((size_t)n + 1))) {
                memcpy(c->client_cert, data, (size_t)n);
                c->client_cert[n] = 0;
            }
            BIO_free(b);
            X509_free(cert);
            ERR_clear_error();
        }
        if (conn_flush(c) != 0) {
            conn_destroy(c, "connection lost after the TLS handshake");
            return -1;
        }
    }
    if (c->phase == PH_HEAD) return read_head(c);
    return 0;
}

static void node_read(fedc_ws_conn *c) {
    size_t budget = READ_BUDGET;
    while (c->phase == PH_NODE && budget) {
        ssize_t n = conn_read(c, c->nt->rbuf, sizeof c->nt->rbuf);
        if (n <= 0) break;
        c->t_last_rx = fedc_wall_s();
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        if (node_input(c, c->nt->rbuf, (size_t)n) != 0) break;
    }
    if (!budget && c->ssl && SSL_has_pending(c->ssl) && !c->in_ready) {
        c->in_ready = 1;
        c->ready_next = c->nt->ready;
        c->nt->ready = c;
    }
}

/* After any input or output: produce more, write, close when done. */
static void node_settle(fedc_ws_conn *c) {
    /* Produce up to OUT_HIGH, write; again while the socket takes it all
     * (no event would come for the rest of the queue). */
    for (;;) {
        int produced = (c->phase == PH_NODE || c->phase == PH_CLOSING) && node_produce(c);
        if (conn_flush(c) != 0) {
            c->eof = 1;
            conn_destroy(c, "connection lost");
            return;
        }
        if (!produced || out_pending(c)) break;
    }
    if (c->phase == PH_CLOSING && (!out_pending(c) || c->eof)) {
        conn_destroy(c, c->reason[0] ? c->reason : "closed");
        return;
    }
    if (c->eof && c->phase == PH_NODE) {
        conn_destroy(c, c->reason[0] ? c->reason : "connection lost");
        return;
    }
    conn_update_events(c);
}

void conn_on_event(fedc_ws_conn *c, int relay, uint32_t events) {
    if (c->dead) return;
    if (c->phase == PH_TLS || c->phase == PH_HEAD) {
        if (early_phases(c) != 0) return;
        if (c->phase == PH_TLS || c->phase == PH_HEAD) {
            conn_update_events(c);
            return;
        }
    }
    if (c->phase == PH_RELAY) {
        (void)relay;
        if (relay_pump(c) == 0) conn_update_events(c);
        return;
    }
    if (c->phase == PH_NODE && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) node_read(c);
    else if (c->phase == PH_CLOSING && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        /* Whatever the peer still sends is read and dropped. */
        while (conn_read(c, c->nt->rbuf, sizeof c->nt->rbuf) > 0) {
        }
    }
    node_settle(c);
}

void conn_read_more(fedc_ws_conn *c) {
    if (c->dead || c->phase != PH_NODE) return;
    node_read(c);
    node_settle(c);
}

void conn_on_dirty(fedc_ws_conn *c) {
    if (c->dead) return;
    if (c->phase == PH_NODE || c->phase == PH_CLOSING) node_settle(c);
}

void conn_on_timer(fedc_ws_conn *c, double now) {
    fedc_ws_server *s = c->srv;
    if ((c->phase == PH_TLS || c->phase == PH_HEAD) && now - c->t_start > s->head_timeout_s) {
        FEDC_INFO("connection from %s sent no complete %s within %.0f s; closed", c->peer,
                  c->phase == PH_TLS ? "TLS handshake" : "request head", s->head_timeout_s);
        if (c->phase == PH_HEAD) {
            char why[96];
            snprintf(why, sizeof why, "request head not complete within %.0f s", s->head_timeout_s);
            refuse_head(c, 408, why);
        } else {
            conn_destroy(c, "handshake timeout");
        }
        return;
    }
    if (c->phase == PH_CLOSING && now - c->t_close > CLOSE_GRACE_S) {
        conn_destroy(c, c->reason[0] ? c->reason : "closed");
        return;
    }
    if (c->phase == PH_RELAY) {
        char why[200];
        int st = c->refusing ? 0 : fedc_http_framer_overdue(&c->fr, now, s->head_timeout_s, s->body_timeout_s, why,
                                                             sizeof why);
        if (st) {
            relay_refuse(c, st, why);
            if (relay_pump(c) == 0) conn_update_events(c);
            return;
        }
        /* lws did not let go of a refused request: closed all the same. */
        if (c->refusing && now - c->t_close > CLOSE_GRACE_S + 3) conn_destroy(c, c->refuse_why);
        return;
    }
    if (c->phase == PH_NODE) {
        node_timer(c, now);
        node_settle(c);
    }
}
