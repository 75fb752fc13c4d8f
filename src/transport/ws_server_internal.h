/* The server endpoint's insides, shared by its files:
 *  - ws_server.c       lifecycle, the listening socket, the network threads;
 *  - ws_server_conn.c  one accepted connection: TLS, its first request head,
 *                      then either the node protocol or a relay to lws;
 *  - ws_server_node.c  the WebSocket protocol of a node connection;
 *  - ws_server_http.c  libwebsockets serving HTTP (REST, events, files) on
 *                      the relayed connections.
 *
 * Why the node path is not libwebsockets': Debian's lws 4.1 is built with
 * one service thread (LWS_MAX_SMP=1), reads TLS without read-ahead (two
 * system calls per 16 KiB record) and writes one record per system call;
 * with 100 nodes echoing a 0.8 MB model that thread alone was ~0.10 s of
 * CPU per round. Node connections now run on one network thread per core
 * with read-ahead and batched writes; lws keeps what it is good at.
 *
 * Threads and locks. Each connection belongs to one network thread, which
 * alone touches its socket, TLS state and buffers. Every call into ops
 * (the server layer) is made holding dispatch_mu, from whichever thread,
 * so the server layer sees the one-thread-at-a-time world it was written
 * for. Other threads reach a connection only through fedc_ws_conn_send /
 * _close (under the connection's mu) which wake its thread. Lock order:
 * dispatch_mu, then the server layer's own locks, then a connection's mu,
 * then a thread's mu; pool_mu and peers_mu are leaves. */
#ifndef FEDC_TRANSPORT_WS_SERVER_INTERNAL_H
#define FEDC_TRANSPORT_WS_SERVER_INTERNAL_H

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "fedc/ws.h"
#include "transport/ws_internal.h"

#define NODE_PROTOCOL "fedc-node"
#define HEAD_TIMEOUT_S 10.0    /* default: TLS handshake + request head */
#define BODY_TIMEOUT_S 30.0    /* default: a request body after its head */
#define PENDING_PER_ADDRESS 32 /* default: connections from one address not yet past their first request */
#define PING_AFTER_S 10.0      /* node silence before a keepalive PING */
#define HANGUP_AFTER_S 40.0    /* node silence before it is declared gone */
#define CLOSE_GRACE_S 2.0      /* writing what is queued before a close */
#define OUT_HIGH (256 * 1024)  /* stop producing output above this much unsent */
#define READ_BUDGET (1 << 20)  /* bytes read from one connection per turn */
#define NET_READ_BUF 65536

enum conn_phase { PH_TLS, PH_HEAD, PH_NODE, PH_RELAY, PH_CLOSING };

typedef struct net_thread net_thread;

/* What an epoll event points at: a connection's socket or its relay end. */
typedef struct ep_ref {
    struct fedc_ws_conn *c;
    int relay;
} ep_ref;

struct fedc_ws_conn {
    fedc_ws_server *srv;
    net_thread *nt;
    uint64_t id;
    int fd;
    SSL *ssl;                 /* NULL without TLS */
    char peer[64];
    char *client_cert;        /* PEM of the client's TLS certificate, if it gave one */
    enum conn_phase phase;
    double t_start, t_last_rx, t_close;
    ep_ref ref, relay_ref;
    uint32_t ev_mask, relay_mask; /* what epoll watches now */
    int dead;                 /* destroyed; freed after the thread's event batch */
    struct fedc_ws_conn *grave_next;
    int in_ready;             /* on the thread's list of connections to read again */
    struct fedc_ws_conn *ready_next;
    struct fedc_ws_conn *next, *prev; /* the thread's connections */

    fedc_buf head;            /* the first request head (PH_HEAD) */
    fedc_buf out;             /* bytes for the socket (TLS records, or plain) */
    size_t out_off;
    BIO *wbio;                /* TLS: appends to out */
    int eof;                  /* the peer closed its side */

    /* PH_NODE (network thread only) */
    int ws;                   /* the upgrade was answered: WebSocket from here */
    fedc_ws_deframer df;
    fedc_ws_rx rx;
    int open;                 /* node_open called, node_closed not yet */
    int ping_out;             /* a keepalive PING is unanswered */
    int close_sent;

    /* PH_RELAY: plain HTTP to and from lws over a socket pair */
    int relay_fd;
    fedc_buf up;              /* from the client, not yet taken by lws */
    size_t up_off;
    int relay_eof;
    fedc_http_framer fr;      /* each request the client sends, before lws sees it */
    int refusing;             /* a request was refused: lws finishes, then the answer goes out */
    int refuse_status, relay_shut;
    char refuse_why[200];

    /* Counted among its address's pending connections (until it completes
     * a request, or authenticates as a node); atomic: the server layer
     * clears it from another thread. */
    atomic_int pending;

    /* A liveness probe the server layer asked for (under mu): a PING, and
     * the connection is closed if nothing comes back in time. */
    double probe_req;         /* seconds to wait; 0 = none asked */
    double probe_sent, probe_deadline; /* network thread only */

    /* Shared with other threads, under mu. */
    pthread_mutex_t mu;
    fedc_ws_txq txq;
    int closing;              /* close once the queue is written (drain) or at once */
    int drain;
    int protocol_error;       /* close code 1002 rather than 1008 */
    char reason[200];
    int dirty;                /* on the thread's dirty list */
    struct fedc_ws_conn *dirty_next;
    atomic_size_t max_message;

    void *user;               /* the server layer's (under dispatch_mu) */
};

struct net_thread {
    fedc_ws_server *srv;
    int index;
    pthread_t thread;
    int started;
    int epfd, evfd;
    ep_ref ev_ref, listen_ref;
    pthread_mutex_t mu;
    fedc_ws_conn *inbox;      /* accepted, not yet registered (under mu) */
    fedc_ws_conn *dirty;      /* have new output or a close request (under mu) */
    fedc_ws_conn *conns;      /* everything this thread owns */
    fedc_ws_conn *ready;      /* read budget used up, more may be buffered */
    fedc_ws_conn *graveyard;  /* destroyed during this batch (epoll may still name them) */
    size_t nconns;
    double accept_paused_until; /* listening thread: out of descriptors until then */
    double last_refusal_log;  /* listening thread: refused connections are logged at most once a second */
    unsigned long refused_since_log;
    fedc_buf spare_out;       /* output memory lent to whichever connection writes next */
    uint8_t rbuf[NET_READ_BUF];
};

typedef struct http_conn http_conn;

struct fedc_ws_server {
    const fedc_ws_server_ops *ops;
    void *user;
    int tls;
    SSL_CTX *ssl_ctx;
    char node_path[64];
    size_t max_message;
    int listen_fd, port;
    atomic_int stop;
    atomic_uint_fast64_t next_conn_id;
    pthread_mutex_t dispatch_mu;

    net_thread *threads;
    int nthreads;
    atomic_uint next_thread;

    /* Limits against one client taking the server's descriptors
     * (ws_server_limits.c). */
    double head_timeout_s, body_timeout_s;
    int max_pending;          /* per address */
    long nofile;              /* the descriptor limit */
    int reserve_fds;          /* kept free for the server's own files */
    pthread_mutex_t addr_mu;
    struct addr_count **addrs; /* hash table of addresses with pending connections */

    /* Recycled message buffers (fedc_ws_server_recycle). */
    pthread_mutex_t pool_mu;
    fedc_buf *pool;
    size_t npool, pool_cap;
    size_t node_conns; /* open node connections; guarded by pool_mu */

    /* libwebsockets, for HTTP (ws_server_http.c) */
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    pthread_t lws_thread;
    int lws_started;
    http_conn *streams;       /* open event streams */
    lws_sorted_usec_list_t tick;
    pthread_mutex_t adopt_mu;
    int *adopt;               /* relay ends waiting to be adopted by lws */
    size_t nadopt, adopt_cap;
    char (*peers)[64];        /* client address by relay-end descriptor */
    size_t npeers;
    unsigned char scratch[LWS_PRE + FEDC_WS_FRAGMENT_SIZE];
};

/* ws_server.c */
void net_wake(net_thread *nt);
void net_mark_dirty(fedc_ws_conn *c);
void pool_take(fedc_ws_server *s, fedc_buf *msg);
void pool_node_count(fedc_ws_server *s, int delta);
void dispatch_lock(fedc_ws_server *s);
void dispatch_unlock(fedc_ws_server *s);

/* ws_server_conn.c */
fedc_ws_conn *conn_new(fedc_ws_server *s, int fd, const char *peer);
/* Registers an accepted connection with its thread (that thread only). */
void conn_attach(net_thread *nt, fedc_ws_conn *c);
void conn_on_event(fedc_ws_conn *c, int relay, uint32_t events);
/* Reads more of a connection whose last turn used up its budget. */
void conn_read_more(fedc_ws_conn *c);
/* New output queued or a close requested by another thread. */
void conn_on_dirty(fedc_ws_conn *c);
void conn_on_timer(fedc_ws_conn *c, double now);
/* Closes (the node layer hears node_closed with why); the memory is freed
 * by conn_free_dead once no event of the batch can name it. */
void conn_destroy(fedc_ws_conn *c, const char *why);
void conn_free_dead(net_thread *nt);
/* Hands bytes to TLS (or the plain output): 0, or -1 after a TLS failure. */
int conn_put(fedc_ws_conn *c, const void *data, size_t len);
/* Writes out what is buffered; -1 when the socket failed. */
int conn_flush(fedc_ws_conn *c);
/* Watches for input/output as the connection's state asks. */
void conn_update_events(fedc_ws_conn *c);

/* ws_server_node.c */
/* The upgrade was accepted: answer 101, then node_open. */
int node_start(fedc_ws_conn *c, const fedc_ws_upgrade *u, const uint8_t *extra, size_t extra_len);
/* Decrypted bytes from a node. -1: the connection is to close (reason set). */
int node_input(fedc_ws_conn *c, const uint8_t *data, size_t len);
/* Produces frames from the queue while output is below OUT_HIGH; begins the
 * close handshake once a close was requested and the queue is written.
 * Returns 1 if it produced anything. */
int node_produce(fedc_ws_conn *c);
void node_timer(fedc_ws_conn *c, double now);
/* Requests a close from the network thread itself. */
void node_fail(fedc_ws_conn *c, const char *reason, int protocol_error);

/* ws_server_limits.c */
int limits_init(fedc_ws_server *s, const fedc_ws_server_config *cfg);
void limits_free(fedc_ws_server *s);
/* A new connection from peer: 0 (counted as pending), or -1 if that
 * address already has its limit of pending connections. */
int limits_pending_take(fedc_ws_server *s, const char *peer);
/* Gives back what limits_pending_take took for peer. */
void limits_pending_give(fedc_ws_server *s, const char *peer);
/* The connection is no longer pending (first request done, node
 * authenticated, or closed); once per connection. */
void limits_pending_release(fedc_ws_conn *c);
/* 1 if descriptor fd eats into the reserve kept for the server's own files
 * (the run store, checkpoints): the connection it belongs to is refused. */
int limits_fd_reserved(const fedc_ws_server *s, int fd, int relay);

/* ws_server_http.c */
int http_start(fedc_ws_server *s, fedc_error *err);
void http_stop(fedc_ws_server *s);
/* Gives lws one end of a socket pair carrying a client's plain HTTP. */
void http_adopt(fedc_ws_server *s, int fd, const char *peer);
void http_wake(fedc_ws_server *s);

#endif
