/* The node's end of the WebSocket transport: one connection, driven by its
 * own network thread, with a blocking send/recv interface for the node
 * agent, whose thread trains and never touches the socket.
 *
 * The network thread speaks RFC 6455 itself (ws_frame.c, ws_handshake.c)
 * over OpenSSL on a non-blocking socket. libwebsockets 4.1's client parses
 * every received byte through a per-byte state machine (its server has a
 * bulk path, its client none), and its raw-socket mode cannot start TLS on
 * a client connection; with 100 nodes that parser was most of a round's
 * CPU time. Here payload moves in whole spans: TLS records are decrypted
 * into a 64 KiB buffer and copied once into the message being assembled,
 * and outgoing fragments are masked while copied into the frame buffer.
 * The wire format, and so every byte count, is unchanged. */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fedc/log.h"
#include "fedc/proto.h"
#include "fedc/timer.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

#define PROTOCOL "fedc-node"
#define PING_AFTER_S 10.0   /* silence before a keepalive PING (as the server does) */
#define HANGUP_AFTER_S 40.0 /* silence before the server is declared gone */
#define CLOSE_NORMAL 1000
#define READ_CHUNK (64 * 1024)
#define READS_PER_PASS 64 /* then let writes and timers have a turn */
#define OUT_CAP (FEDC_WS_MAX_HEADER + FEDC_WS_FRAGMENT_SIZE)

enum { ST_CONNECTING, ST_OPEN, ST_CLOSED };                 /* what the API threads see */
enum { PH_TCP, PH_TLS, PH_UPGRADE, PH_OPEN, PH_DONE };      /* network thread */
enum { OUT_NONE, OUT_REQUEST, OUT_CONTROL, OUT_CLOSE, OUT_DATA }; /* the frame in `out` */

typedef struct inbox_item {
    fedc_buf msg;
    uint64_t wire;
    double transfer_s;
    struct inbox_item *next;
} inbox_item;

struct fedc_ws_client {
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    int wake_fd; /* eventfd: API threads -> network thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    int close_requested;
    char reason[256];
    fedc_ws_txq txq;               /* guarded by mu */
    inbox_item *in_head, *in_tail; /* guarded by mu */
    fedc_buf spare;                /* guarded by mu: a consumed message's memory, for the next one */

    /* ---- network thread only ---- */
    char url[512], host[256], path[300];
    int port, tls;
    double deadline_s; /* the connection must be open by then */
    struct addrinfo *addrs, *addr;
    int fd, phase;
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    int want_write;       /* the last write (or TLS step) is waiting for POLLOUT */
    fedc_buf tls_out;     /* TLS records not yet written to the socket */
    uint8_t mask_pool[1024]; /* random bytes for masking keys */
    size_t mask_pool_off;    /* starts at sizeof mask_pool: drawn on first use */
    size_t tls_out_off;
    int read_wants_write; /* TLS: a read must wait for POLLOUT */
    /* output: one frame (or the upgrade request) at a time */
    uint8_t *out;
    size_t out_len, out_off;
    int out_kind;
    /* input */
    uint8_t *in;
    uint8_t hs[FEDC_WS_HANDSHAKE_MAX];
    size_t hs_len;
    char key[FEDC_WS_KEY_LEN + 1];
    fedc_ws_deframer df;
    fedc_ws_rx rx;
    double rx_first_s; /* when the message being received began */
    double last_rx_s;  /* when anything last arrived */
    int ping_due, ping_out, pong_due;
    uint8_t pong[FEDC_WS_MAX_CONTROL];
    size_t pong_len;
    int close_due, close_sent, hang_up_after_close;
    uint8_t close_body[FEDC_WS_MAX_CONTROL];
    size_t close_len;
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

/* Ends the connection (network thread): the reason the API reports. */
static void fail(fedc_ws_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(fedc_ws_client *c, const char *fmt, ...) {
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    set_closed(c, why);
    c->phase = PH_DONE;
}

static void wake(fedc_ws_client *c) {
    uint64_t one = 1;
    ssize_t n = write(c->wake_fd, &one, sizeof one);
    (void)n; /* a full counter still wakes the poll */
}

/* The newest OpenSSL error as text, or fallback. */
static const char *tls_error(char *buf, size_t cap, const char *fallback) {
    unsigned long e = ERR_get_error();
    if (!e) return fallback;
    ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* ---- socket I/O ------------------------------------------------------------ */

/* > 0 bytes moved, 0 = would block, -1 = the connection ended (c->phase DONE). */
static ssize_t io_read(fedc_ws_client *c, uint8_t *buf, size_t cap) {
    if (!c->ssl) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n > 0) return n;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
        fail(c, "connection lost%s%s", n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
        return -1;
    }
    /* SSL_get_error reads this thread's error queue and errno. */
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(c->ssl, buf, (int)cap);
    if (n > 0) return n;
    char eb[160];
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ: return 0;
    case SSL_ERROR_WANT_WRITE: c->read_wants_write = 1; return 0;
    case SSL_ERROR_ZERO_RETURN: fail(c, "connection lost (the server ended TLS)"); return -1;
    case SSL_ERROR_SYSCALL:
        fail(c, "connection lost%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    default: fail(c, "connection lost: TLS: %s", tls_error(eb, sizeof eb, "read failed")); return -1;
    }
}

static ssize_t io_write(fedc_ws_client *c, const uint8_t *buf, size_t len) {
    if (!c->ssl) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        fail(c, "write to the socket failed: %s", strerror(errno));
        return -1;
    }
    /* TLS records go to tls_out (tls_flush writes them), so SSL_write
     * completes or fails. */
    ERR_clear_error();
    int n = SSL_write(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
    if (n > 0) return n;
    char eb[160];
    fail(c, "write to the socket failed: TLS: %s", tls_error(eb, sizeof eb, "write failed"));
    return -1;
}

/* Writes buffered TLS records: 0 (c->want_write says if some wait for
 * POLLOUT), -1 when the socket failed. */
static int tls_flush(fedc_ws_client *c) {
    while (c->tls_out_off < c->tls_out.len) {
        ssize_t n = send(c->fd, c->tls_out.data + c->tls_out_off, c->tls_out.len - c->tls_out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->tls_out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->want_write = 1;
            return 0;
        } else {
            if (c->phase != PH_DONE) fail(c, "write to the socket failed: %s", n < 0 ? strerror(errno) : "closed");
            return -1;
        }
    }
    c->tls_out.len = c->tls_out_off = 0; /* the memory is kept for the next message */
    return 0;
}

/* ---- output ---------------------------------------------------------------- */

/* Masking keys come from OpenSSL's CSPRNG as RFC 6455 asks, drawn 1 KiB
 * at a time rather than one call (and DRBG lock) per frame. */
static int next_mask_key(fedc_ws_client *c, uint8_t key[4]) {
    if (c->mask_pool_off + 4 > sizeof c->mask_pool) {
        if (RAND_bytes(c->mask_pool, sizeof c->mask_pool) != 1) return -1;
        c->mask_pool_off = 0;
    }
    memcpy(key, c->mask_pool + c->mask_pool_off, 4);
    c->mask_pool_off += 4;
    return 0;
}

/* Puts one masked frame in the output buffer. */
static int put_frame(fedc_ws_client *c, int kind, int opcode, int fin, const uint8_t *payload, size_t len) {
    uint8_t key[4];
    if (next_mask_key(c, key) != 0) {
        fail(c, "no randomness for a WebSocket masking key");
        return -1;
    }
    size_t h = fedc_ws_frame_header(c->out, opcode, fin, len, key);
    fedc_ws_mask_copy(c->out + h, payload, len, key);
    c->out_len = h + len;
    c->out_off = 0;
    c->out_kind = kind;
    return 0;
}

/* Chooses the next frame to write: 1 = one is in `out`, 0 = nothing to send. */
static int next_output(fedc_ws_client *c) {
    if (c->phase != PH_OPEN || c->close_sent) return 0;
    /* Control frames first; RFC 6455 lets them sit between fragments. */
    if (c->close_due) {
        c->close_due = 0;
        return put_frame(c, OUT_CLOSE, FEDC_WS_OP_CLOSE, 1, c->close_body, c->close_len) == 0;
    }
    if (c->pong_due) {
        c->pong_due = 0;
        return put_frame(c, OUT_CONTROL, FEDC_WS_OP_PONG, 1, c->pong, c->pong_len) == 0;
    }
    if (c->ping_due) {
        c->ping_due = 0;
        c->ping_out = 1;
        return put_frame(c, OUT_CONTROL, FEDC_WS_OP_PING, 1, NULL, 0) == 0;
    }
    pthread_mutex_lock(&c->mu);
    int leaving = c->close_requested;
    fedc_ws_fragment f;
    int have = !leaving && fedc_ws_txq_peek(&c->txq, &f);
    pthread_mutex_unlock(&c->mu);
    if (leaving) {
        static const char why[] = "node leaving";
        c->close_body[0] = CLOSE_NORMAL >> 8;
        c->close_body[1] = CLOSE_NORMAL & 0xff;
        memcpy(c->close_body + 2, why, sizeof why - 1);
        c->close_len = 2 + sizeof why - 1;
        return put_frame(c, OUT_CLOSE, FEDC_WS_OP_CLOSE, 1, c->close_body, c->close_len) == 0;
    }
    if (!have) return 0;
    /* The payload is immutable and referenced by the queue: read unlocked. */
    return put_frame(c, OUT_DATA, f.first ? FEDC_WS_OP_BINARY : FEDC_WS_OP_CONT, f.last, f.data, f.len) == 0;
}

static void output_done(fedc_ws_client *c) {
    switch (c->out_kind) {
    case OUT_DATA:
        pthread_mutex_lock(&c->mu);
        /* Waiters (flush) care about whole messages, not fragments. */
        if (fedc_ws_txq_advance(&c->txq, 1, NULL, NULL)) pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        break;
    case OUT_CLOSE:
        c->close_sent = 1;
        if (c->hang_up_after_close) c->phase = PH_DONE; /* we answered the server's CLOSE */
        break;
    default:
        break;
    }
    c->out_kind = OUT_NONE;
    c->out_len = c->out_off = 0;
}

/* Up to this much TLS output is produced before it is written (one
 * write() for many records instead of one per 16 KiB record). */
#define TLS_OUT_HIGH (256 * 1024)

static void do_writes(fedc_ws_client *c) {
    if (c->phase != PH_UPGRADE && c->phase != PH_OPEN) return;
    c->want_write = 0;
    while (c->phase == PH_UPGRADE || c->phase == PH_OPEN) {
        if (c->ssl && c->tls_out.len - c->tls_out_off >= TLS_OUT_HIGH) {
            if (tls_flush(c) != 0 || c->want_write) return;
        }
        if (c->out_off == c->out_len && !next_output(c)) break;
        ssize_t n = io_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) return;
        if (n == 0) {
            c->want_write = 1;
            return;
        }
        c->out_off += (size_t)n;
        if (c->out_off == c->out_len) output_done(c);
    }
    if (c->ssl) tls_flush(c);
}

/* ---- input ----------------------------------------------------------------- */

static int deliver(fedc_ws_client *c) {
    inbox_item *it = calloc(1, sizeof *it);
    if (!it) {
        fail(c, "out of memory receiving a message");
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
    return 0;
}

/* The server's CLOSE: keep its reason, answer with its status code, hang up. */
static void on_close_frame(fedc_ws_client *c, const fedc_ws_chunk *ch) {
    char why[256] = "closed by the server";
    if (ch->len > 2) {
        /* The peer's text goes into logs: printable characters only. */
        size_t n = strlen(why);
        why[n++] = ':';
        why[n++] = ' ';
        for (size_t i = 2; i < ch->len && n + 1 < sizeof why; i++)
            why[n++] = ch->data[i] >= 0x20 && ch->data[i] < 0x7f ? (char)ch->data[i] : '?';
        why[n] = 0;
    }
    pthread_mutex_lock(&c->mu);
    if (!c->reason[0]) copy_text(c->reason, sizeof c->reason, why);
    pthread_mutex_unlock(&c->mu);
    if (c->close_sent) { /* it answers ours */
        c->phase = PH_DONE;
        return;
    }
    c->close_len = ch->len >= 2 ? 2 : 0;
    memcpy(c->close_body, ch->data, c->close_len);
    c->close_due = 1;
    c->hang_up_after_close = 1;
}

static int on_frames(fedc_ws_client *c, const uint8_t *in, size_t len) {
    fedc_ws_chunk ch;
    fedc_error e;
    int r;
    while ((r = fedc_ws_deframe(&c->df, &in, &len, &ch, &e)) == 1) {
        if (c->hang_up_after_close) continue; /* nothing may follow the server's CLOSE */
        switch (ch.opcode) {
        case FEDC_WS_OP_TEXT:
        case FEDC_WS_OP_BINARY: {
            if (c->close_sent) break; /* leaving: no longer read */
            if (c->rx.msg.len == 0 && c->rx.frame_len == 0) c->rx_first_s = fedc_wall_s();
            if (!c->rx.msg.data && (ch.frame_left || !ch.message_end)) {
                pthread_mutex_lock(&c->mu);
                c->rx.msg = c->spare;
                memset(&c->spare, 0, sizeof c->spare);
                pthread_mutex_unlock(&c->mu);
            }
            int m = fedc_ws_rx_feed(&c->rx, ch.data, ch.len, ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left,
                                    ch.message_end, &e);
            if (m < 0) {
                fail(c, "from the server: %.250s", e.msg);
                return -1;
            }
            if (m == 1 && deliver(c) != 0) return -1;
            break;
        }
        case FEDC_WS_OP_PING:
            memcpy(c->pong, ch.data, ch.len);
            c->pong_len = ch.len;
            c->pong_due = 1;
            break;
        case FEDC_WS_OP_PONG:
            break;
        case FEDC_WS_OP_CLOSE:
            on_close_frame(c, &ch);
            if (c->phase == PH_DONE) return -1;
            break;
        default:
            break;
        }
    }
    if (r < 0) {
        fail(c, "from the server: %.250s", e.msg);
        return -1;
    }
    return 0;
}

/* The upgrade answer, then (in the same read, possibly) the first frames. */
static int on_upgrade_answer(fedc_ws_client *c, const uint8_t *in, size_t len) {
    size_t room = sizeof c->hs - c->hs_len, take = len < room ? len : room;
    memcpy(c->hs + c->hs_len, in, take);
    c->hs_len += take;
    size_t end = fedc_ws_handshake_end(c->hs, c->hs_len);
    if (!end) {
        if (c->hs_len < sizeof c->hs) return 0;
        fail(c, "cannot connect to %.200s: the server's handshake answer exceeds %d bytes", c->url,
             FEDC_WS_HANDSHAKE_MAX);
        return -1;
    }
    fedc_error e;
    if (fedc_ws_handshake_check(c->hs, end, c->key, PROTOCOL, &e) != 0) {
        fail(c, "cannot connect to %.100s: %.190s", c->url, e.msg);
        return -1;
    }
    c->phase = PH_OPEN;
    pthread_mutex_lock(&c->mu);
    c->state = ST_OPEN;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    size_t used_now = end - (c->hs_len - take);
    return on_frames(c, in + used_now, len - used_now);
}

static void do_reads(fedc_ws_client *c) {
    c->read_wants_write = 0;
    for (int k = 0; k < READS_PER_PASS && (c->phase == PH_UPGRADE || c->phase == PH_OPEN); k++) {
        ssize_t n = io_read(c, c->in, READ_CHUNK);
        if (n <= 0) return;
        c->last_rx_s = fedc_wall_s();
        c->ping_out = 0;
        if ((c->phase == PH_UPGRADE ? on_upgrade_answer(c, c->in, (size_t)n) : on_frames(c, c->in, (size_t)n)) != 0)
            return;
    }
}

/* ---- connecting -------------------------------------------------------------- */

static int is_ip_literal(const char *host) {
    unsigned char b[16];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

static int tls_setup(fedc_ws_client *c, const fedc_ws_client_config *cfg, fedc_error *err) {
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx) return fedc_fail(err, "cannot create a TLS context");
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    /* The client's order decides in TLS 1.3: AES-128-GCM first (AES-NI;
     * a model crosses the connection twice per round). */
    SSL_CTX_set_ciphersuites(c->ssl_ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    /* Read whole socket buffers, not one record header at a time. */
    SSL_CTX_set_read_ahead(c->ssl_ctx, 1);
    SSL_CTX_set_default_read_buffer_len(c->ssl_ctx, 4 * 16384 + 1024); /* up to 4 records per read() */
    SSL_CTX_set_mode(c->ssl_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (cfg->ca_pem) {
        BIO *b = BIO_new_mem_buf(cfg->ca_pem, (int)cfg->ca_pem_len);
        STACK_OF(X509_INFO) *infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        int added = 0;
        X509_STORE *store = SSL_CTX_get_cert_store(c->ssl_ctx);
        for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *xi = sk_X509_INFO_value(infos, i);
            if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1) added++;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        ERR_clear_error();
        if (!added) return fedc_fail(err, "the CA certificate given for %s holds no PEM certificate", cfg->url);
    } else if (SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
        return fedc_fail(err, "cannot load the system's CA certificates to check %s", cfg->url);
    }
    return 0;
}

static int tls_start(fedc_ws_client *c) {
    c->ssl = SSL_new(c->ssl_ctx);
    BIO *rbio = c->ssl ? BIO_new_socket(c->fd, BIO_NOCLOSE) : NULL;
    BIO *wbio = rbio ? fedc_ws_outbuf_bio(&c->tls_out) : NULL;
    if (!wbio) {
        BIO_free(rbio);
        fail(c, "cannot connect to %.200s: cannot start TLS", c->url);
        return -1;
    }
    SSL_set_bio(c->ssl, rbio, wbio);
    /* The certificate must name the host we dialled. */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    int ok = is_ip_literal(c->host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->host)
                                    : SSL_set1_host(c->ssl, c->host) && SSL_set_tlsext_host_name(c->ssl, c->host);
    if (ok != 1) {
        fail(c, "cannot connect to %.200s: cannot set the host name to verify", c->url);
        return -1;
    }
    c->phase = PH_TLS;
    return 0;
}

static void tls_handshake(fedc_ws_client *c) {
    c->want_write = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        FEDC_DEBUG("%s: %s, %s", c->url, SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
        c->phase = PH_UPGRADE;
        tls_flush(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        tls_flush(c); /* the handshake messages */
        return;
    }
    tls_flush(c); /* the alert, if any */
    long vr = SSL_get_verify_result(c->ssl);
    char eb[160];
    if (vr != X509_V_OK)
        fail(c, "cannot connect to %.200s: the server's certificate is not trusted: %s", c->url,
             X509_verify_cert_error_string(vr));
    else
        fail(c, "cannot connect to %.200s: TLS handshake failed: %s", c->url,
             tls_error(eb, sizeof eb, e == SSL_ERROR_SYSCALL ? "connection closed" : "protocol error"));
}

/* Starts a non-blocking connect to the next address; 0 started, -1 none left. */
static int tcp_start(fedc_ws_client *c, int *last_errno) {
    for (; c->addr; c->addr = c->addr->ai_next) {
        c->fd = socket(c->addr->ai_family, c->addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, c->addr->ai_protocol);
        if (c->fd < 0) {
            *last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, c->addr->ai_addr, c->addr->ai_addrlen) == 0 || errno == EINPROGRESS) return 0;
        *last_errno = errno;
        close(c->fd);
        c->fd = -1;
    }
    return -1;
}

/* The socket became writable (or failed) while connecting. */
static void tcp_connected(fedc_ws_client *c) {
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) soerr = errno;
    if (soerr) {
        close(c->fd);
        c->fd = -1;
        c->addr = c->addr->ai_next;
        int e = soerr;
        if (tcp_start(c, &e) != 0) fail(c, "cannot connect to %.200s: %s", c->url, strerror(e));
        return;
    }
    if (c->tls) {
        if (tls_start(c) == 0) tls_handshake(c);
    } else {
        c->phase = PH_UPGRADE;
    }
}

static int queue_request(fedc_ws_client *c) {
    int n = fedc_ws_handshake_request((char *)c->out, OUT_CAP, c->host, c->port, c->path, c->key, PROTOCOL);
    if (n < 0) {
        fail(c, "the server address %.200s is too long for the handshake request", c->url);
        return -1;
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->out_kind = OUT_REQUEST;
    return 0;
}

/* ---- the network thread -------------------------------------------------------- */

static void tick(fedc_ws_client *c, double now) {
    if (c->phase < PH_OPEN) {
        if (now >= c->deadline_s) fail(c, "cannot connect to %.200s: no answer within the connect timeout", c->url);
        return;
    }
    if (c->phase != PH_OPEN || c->close_sent || c->hang_up_after_close) return;
    double idle = now - c->last_rx_s;
    if (idle >= HANGUP_AFTER_S)
        fail(c, "the server sent nothing for %.0f s, not even a pong: connection given up", idle);
    else if (idle >= PING_AFTER_S && !c->ping_out && !c->ping_due)
        c->ping_due = 1;
}

static void *network_main(void *arg) {
    fedc_ws_client *c = arg;
    /* A write to a socket the server closed must fail, not kill the process. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    int e = ECONNREFUSED;
    if (tcp_start(c, &e) != 0) fail(c, "cannot connect to %.200s: %s", c->url, strerror(e));
    double next_tick = fedc_wall_s() + 1.0;
    int upgrade_queued = 0;
    while (!atomic_load(&c->stop) && c->phase != PH_DONE) {
        /* Data OpenSSL has already read from the socket is invisible to poll. */
        int pending = c->ssl && c->phase >= PH_UPGRADE && SSL_has_pending(c->ssl);
        short ev = POLLIN;
        if (c->phase == PH_TCP || c->want_write || c->read_wants_write) ev |= POLLOUT;
        double now = fedc_wall_s();
        int timeout = pending ? 0 : (int)((next_tick - now) * 1000) + 1;
        if (timeout < 0) timeout = 0;
        struct pollfd p[2] = {{c->fd, ev, 0}, {c->wake_fd, POLLIN, 0}};
        int n = poll(p, 2, timeout);
        if (n < 0 && errno != EINTR) {
            fail(c, "network wait failed: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[1].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(c->wake_fd, &v, sizeof v);
            (void)r;
        }
        short re = n > 0 ? p[0].revents : 0;
        if (pending) re |= POLLIN;
        switch (c->phase) {
        case PH_TCP:
            if (re & (POLLOUT | POLLERR | POLLHUP)) tcp_connected(c);
            break;
        case PH_TLS:
            if (re) tls_handshake(c);
            break;
        default:
            if (re & (POLLIN | POLLERR | POLLHUP) || c->read_wants_write) do_reads(c);
            break;
        }
        if (c->phase == PH_UPGRADE && !upgrade_queued) {
            if (queue_request(c) != 0) break;
            upgrade_queued = 1;
        }
        now = fedc_wall_s();
        if (now >= next_tick) {
            tick(c, now);
            next_tick = now + 1.0;
        }
        do_writes(c);
    }
    set_closed(c, "connection closed");
    if (c->ssl && c->close_sent) {
        SSL_shutdown(c->ssl); /* close_notify, not waited for */
        tls_flush(c);
    }
    return NULL;
}

/* ---- the blocking interface ---------------------------------------------------- */

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
            /* Let the closing handshake happen, briefly. */
            wake(c);
            struct timespec ts;
            abs_deadline(&ts, 1.0);
            pthread_mutex_lock(&c->mu);
            while (c->state != ST_CLOSED)
                if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) break;
            pthread_mutex_unlock(&c->mu);
        }
        atomic_store(&c->stop, 1);
        wake(c);
        pthread_join(c->thread, NULL);
    }
    if (c->ssl) SSL_free(c->ssl);
    if (c->ssl_ctx) SSL_CTX_free(c->ssl_ctx);
    if (c->fd >= 0) close(c->fd);
    if (c->wake_fd >= 0) close(c->wake_fd);
    if (c->addrs) freeaddrinfo(c->addrs);
    free(c->out);
    fedc_buf_free(&c->tls_out);
    fedc_buf_free(&c->spare);
    free(c->in);
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
    c->fd = c->wake_fd = -1;
    c->mask_pool_off = sizeof c->mask_pool;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    fedc_ws_txq_init(&c->txq);
    fedc_ws_rx_init(&c->rx, cfg->max_message ? cfg->max_message : FEDC_PROTO_MAX_FRAME, 0);
    fedc_ws_deframer_init(&c->df);
    if (strlen(host) >= sizeof c->host || strlen(path ? path : "") + 2 > sizeof c->path) {
        fedc_fail(err, "server URL \"%s\" is too long", cfg->url);
        fedc_ws_client_free(c);
        return NULL;
    }
    snprintf(c->url, sizeof c->url, "%s", cfg->url);
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->path, sizeof c->path, "/%s", path ? path : "");
    c->port = port;
    c->tls = tls;
    double ct = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 10;
    c->out = malloc(OUT_CAP);
    c->in = malloc(READ_CHUNK);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!c->out || !c->in || c->wake_fd < 0) {
        fedc_fail(err, "out of memory (or file descriptors) connecting to %s", cfg->url);
        fedc_ws_client_free(c);
        return NULL;
    }
    if (fedc_ws_handshake_key(c->key) != 0) {
        fedc_fail(err, "no randomness for the WebSocket key");
        fedc_ws_client_free(c);
        return NULL;
    }
    if (tls && tls_setup(c, cfg, err) != 0) {
        fedc_ws_client_free(c);
        return NULL;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(c->host, portstr, &hints, &c->addrs);
    if (gai != 0) {
        fedc_fail(err, "cannot connect to %s: cannot resolve \"%s\": %s", cfg->url, c->host, gai_strerror(gai));
        fedc_ws_client_free(c);
        return NULL;
    }
    c->addr = c->addrs;
    c->phase = PH_TCP;
    c->deadline_s = fedc_wall_s() + ct;
    if (pthread_create(&c->thread, NULL, network_main, c) != 0) {
        fedc_fail(err, "cannot start the network thread");
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
    wake(c);
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
        /* The caller's previous message becomes the next one's memory:
         * fresh memory would be faulted in page by page every round. */
        pthread_mutex_lock(&c->mu);
        if (!c->spare.data && msg->cap >= 65536) {
            c->spare = *msg;
            c->spare.len = 0;
            memset(msg, 0, sizeof *msg);
        }
        pthread_mutex_unlock(&c->mu);
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
