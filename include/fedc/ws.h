/* WebSocket transport (OpenSSL 3, libwebsockets 4.1 for HTTP). The server
 * runs node connections on its own network threads (one per core) and
 * hands every other request to libwebsockets; the node runs RFC 6455
 * itself over OpenSSL. Every WebSocket message is one fedc frame
 * (proto.h), sent in fragments of at most FEDC_WS_FRAGMENT_SIZE.
 * Bytes are counted per WebSocket frame, headers included, exactly as
 * fedc_ws_overhead does for the simulation.
 *
 * The pieces:
 *  - fedc_ws_rx / fedc_ws_txq: reassembly and fragmentation of messages,
 *    free of lws so they can be unit-tested and fuzzed;
 *  - fedc_ws_server: one port for HTTP (REST, server-sent events, static
 *    files) and the node endpoint; the server layer plugs in with ops;
 *  - fedc_ws_client: the node's blocking connection (connect, send, recv). */
#ifndef FEDC_WS_H
#define FEDC_WS_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/export.h"

/* ---- Message reassembly ------------------------------------------------ */

/* Collects the chunks of the deframer (never spanning two WebSocket
 * frames) into whole messages, refusing text frames and messages above max. */
typedef struct fedc_ws_rx {
    fedc_buf msg;       /* the message being assembled / just completed */
    size_t max;         /* largest message accepted, bytes */
    int masked;         /* the peer masks its frames (it is a client) */
    size_t frame_len;   /* payload of the current WebSocket frame so far */
    uint64_t wire;      /* wire bytes of the message so far (payload + headers) */
    int complete;       /* msg holds a whole message not yet taken */
} fedc_ws_rx;

FEDC_API void fedc_ws_rx_init(fedc_ws_rx *rx, size_t max, int masked);
FEDC_API void fedc_ws_rx_free(fedc_ws_rx *rx);
/* Feeds one chunk. binary: the frame is binary (or a continuation of a
 * binary message); frame_left: payload bytes still to come in this
 * WebSocket frame (0 = this chunk ends the frame); message_end: the frame
 * carries FIN and this chunk ends it. Returns 1 when a message is complete
 * (rx->msg, rx->wire; take it, then fedc_ws_rx_next), 0 when more is
 * needed, -1 when the input is refused (err says why). */
FEDC_API int fedc_ws_rx_feed(fedc_ws_rx *rx, const uint8_t *data, size_t len, int binary, size_t frame_left,
                             int message_end, fedc_error *err);
/* The same for a client's masked data: data is still masked with mask (a
 * 4-byte key), whose byte phase applies to data[0]; it is unmasked while
 * copied in. mask NULL = fedc_ws_rx_feed. */
FEDC_API int fedc_ws_rx_feed_masked(fedc_ws_rx *rx, const uint8_t *data, size_t len, const uint8_t *mask,
                                    size_t phase, int binary, size_t frame_left, int message_end, fedc_error *err);
/* Starts the next message after a complete one was consumed. */
FEDC_API void fedc_ws_rx_next(fedc_ws_rx *rx);

/* ---- Outgoing messages -------------------------------------------------- */

/* An immutable, reference-counted message: one TRAIN frame is queued to
 * every participant without copies. References may be dropped from any
 * thread. */
typedef struct fedc_ws_payload fedc_ws_payload;
FEDC_API fedc_ws_payload *fedc_ws_payload_copy(const void *data, size_t len);
/* Takes the buffer's memory (b is left empty). */
FEDC_API fedc_ws_payload *fedc_ws_payload_take(fedc_buf *b);
FEDC_API fedc_ws_payload *fedc_ws_payload_ref(fedc_ws_payload *p);
FEDC_API void fedc_ws_payload_unref(fedc_ws_payload *p);
FEDC_API const uint8_t *fedc_ws_payload_data(const fedc_ws_payload *p);
FEDC_API size_t fedc_ws_payload_len(const fedc_ws_payload *p);

/* One connection's queue of messages, written fragment by fragment. */
typedef struct fedc_ws_txq_item {
    fedc_ws_payload *p;
    uint64_t tag;
} fedc_ws_txq_item;

typedef struct fedc_ws_txq {
    fedc_ws_txq_item *items;
    size_t head, count, cap;
    size_t off;           /* bytes of the head message already written */
    size_t fragment_size; /* FEDC_WS_FRAGMENT_SIZE unless a test changes it */
    uint64_t wire;        /* wire bytes of the head message so far */
} fedc_ws_txq;

typedef struct fedc_ws_fragment {
    const uint8_t *data;
    size_t len;
    int first, last; /* first / last fragment of its message */
} fedc_ws_fragment;

FEDC_API void fedc_ws_txq_init(fedc_ws_txq *q);
/* Drops every queued message (their references). */
FEDC_API void fedc_ws_txq_free(fedc_ws_txq *q);
/* Queues a message; takes over the caller's reference. -1: out of memory
 * (the reference is dropped). */
FEDC_API int fedc_ws_txq_push(fedc_ws_txq *q, fedc_ws_payload *p, uint64_t tag);
/* The next fragment to write; 0 when the queue is empty. */
FEDC_API int fedc_ws_txq_peek(const fedc_ws_txq *q, fedc_ws_fragment *f);
/* The fragment from peek was written. Returns 1 when that completed its
 * message (*tag, *wire: the message's wire bytes with every fragment's
 * header; masked = we are a client), else 0. */
FEDC_API int fedc_ws_txq_advance(fedc_ws_txq *q, int masked, uint64_t *tag, uint64_t *wire);
/* Wire bytes (payload + headers) of a message of len bytes sent by this
 * transport; equals len + fedc_ws_overhead(len, masked, FEDC_WS_FRAGMENT_SIZE). */
FEDC_API uint64_t fedc_ws_wire_bytes(size_t len, int masked);

/* ---- Server endpoint ---------------------------------------------------- */

#define FEDC_HTTP_MAX_BODY ((size_t)1 << 20) /* request bodies (task specs) */
#define FEDC_HTTP_MAX_HEADERS 8

typedef struct fedc_http_header {
    const char *name;  /* without ':' */
    char value[512];
} fedc_http_header;

typedef struct fedc_http_request {
    const char *method;       /* "GET", "POST", "DELETE", "PUT", ... */
    const char *path;         /* URL-decoded, no query */
    const char *query;        /* raw query string without '?', "" if none */
    const char *authorization, *cookie, *csrf, *content_type, *last_event_id;
    const uint8_t *body;
    size_t body_len;
    const char *peer;         /* client address */
    int tls;
    const char *accept_encoding; /* "" if none */
} fedc_http_request;

typedef struct fedc_http_response {
    int status;
    char content_type[96];
    fedc_http_header headers[FEDC_HTTP_MAX_HEADERS];
    int nheaders;
    fedc_buf body;            /* owned by the transport after the handler returns */
    const uint8_t *static_body; /* alternative to body: memory that outlives the response */
    size_t static_len;
    /* Streams (server-sent events): keep the connection open; the server's
     * stream_poll is asked for more data whenever the service thread wakes. */
    int stream;
    void *stream_state;
} fedc_http_response;

/* Finds a query parameter; returns its length (value copied, NUL-ended,
 * URL-decoded) or -1 when absent. */
FEDC_API int fedc_http_query_get(const char *query, const char *name, char *out, size_t cap);
/* Appends a header to a response (ignored beyond FEDC_HTTP_MAX_HEADERS). */
FEDC_API void fedc_http_add_header(fedc_http_response *r, const char *name, const char *fmt, ...)
             __attribute__((format(printf, 3, 4)));

typedef struct fedc_ws_server fedc_ws_server;
typedef struct fedc_ws_conn fedc_ws_conn; /* a node connection */

/* The server layer's callbacks. They come from several threads (network
 * threads, the HTTP thread) but never two at once: every call holds the
 * endpoint's dispatch lock. They must not block. */
typedef struct fedc_ws_server_ops {
    void (*http)(void *ctx, const fedc_http_request *req, fedc_http_response *resp);
    /* Appends what a stream has to send now (0), or -1 to end it. */
    int (*stream_poll)(void *ctx, void *stream_state, fedc_buf *out);
    void (*stream_closed)(void *ctx, void *stream_state);
    void (*node_open)(void *ctx, fedc_ws_conn *c);
    /* A whole message; the callee may take msg's memory (leave it empty). */
    void (*node_message)(void *ctx, fedc_ws_conn *c, fedc_buf *msg, uint64_t wire);
    /* The message queued with tag has been written; wire bytes incl. headers. */
    void (*node_sent)(void *ctx, fedc_ws_conn *c, uint64_t tag, uint64_t wire);
    void (*node_closed)(void *ctx, fedc_ws_conn *c, const char *reason);
    /* After fedc_ws_server_wake from any thread, and about once a second. */
    void (*service)(void *ctx);
} fedc_ws_server_ops;

typedef struct fedc_ws_server_config {
    const char *bind;          /* address; NULL = 127.0.0.1 */
    int port;                  /* 0 = any free port (see fedc_ws_server_port) */
    int tls;
    const char *cert_path, *key_path; /* PEM, with tls */
    const char *node_path;     /* "/node" */
    size_t max_message;        /* initial per-connection limit (before HELLO) */
    int threads;               /* network threads for node connections; 0 = one per core */
    /* With tls: ask clients for a certificate issued by this CA (PEM file);
     * one is optional at the TLS level (browsers have none), and the
     * server layer decides what a presented one is worth
     * (fedc_ws_conn_client_cert). NULL = never ask. */
    const char *client_ca_path;
    /* Against clients that hold connections open (0 = the default each): */
    double head_timeout_s;     /* TLS handshake and a request head, each within this (10) */
    double body_timeout_s;     /* a request body within this after its head (30) */
    int max_pending_per_address; /* connections from one address that have not yet completed a
                                    request or authenticated as a node (32) */
    int reserve_fds;           /* descriptors never given to connections, kept for the server's
                                  own files (a quarter of the limit, 16 to 256) */
} fedc_ws_server_config;

FEDC_API fedc_ws_server *fedc_ws_server_start(const fedc_ws_server_config *cfg, const fedc_ws_server_ops *ops,
                                              void *ctx, fedc_error *err);
/* Stops the network and HTTP threads and closes every connection
 * (node_closed and stream_closed are called on the stopping thread). */
FEDC_API void fedc_ws_server_stop(fedc_ws_server *s);
FEDC_API int fedc_ws_server_port(const fedc_ws_server *s);
/* Any thread: has ops->service called soon and the event streams polled. */
FEDC_API void fedc_ws_server_wake(fedc_ws_server *s);
/* Any thread: hands back the memory of a message taken in node_message
 * once it is consumed (b is left empty). Large messages are assembled in
 * it again (at most one kept per open node connection); fresh memory is
 * faulted in page by page, which with every node uploading each round cost
 * a fifth of the server's CPU. */
FEDC_API void fedc_ws_server_recycle(fedc_ws_server *s, fedc_buf *b);

/* From the server layer's callbacks (the dispatch lock held); a connection
 * stays valid until its node_closed returns. */
/* Queues a message (takes a reference of p). -1 if the connection is closing. */
FEDC_API int fedc_ws_conn_send(fedc_ws_conn *c, fedc_ws_payload *p, uint64_t tag);
/* Closes with a reason, logged; send_error: 0 = just close, FEDC_WS_CLOSE_ERROR
 * = send ERROR {"reason"} first, FEDC_WS_CLOSE_FATAL = also "fatal": true (the
 * node must not retry, e.g. its credential is refused). */
#define FEDC_WS_CLOSE_ERROR 1
#define FEDC_WS_CLOSE_FATAL 2
FEDC_API void fedc_ws_conn_close(fedc_ws_conn *c, const char *reason, int send_error);
FEDC_API void fedc_ws_conn_set_max_message(fedc_ws_conn *c, size_t max);
/* The node authenticated: its connection no longer counts against its
 * address's limit of pending connections. */
FEDC_API void fedc_ws_conn_authenticated(fedc_ws_conn *c);
/* Checks that the peer is still there: a PING now, and the connection is
 * closed if nothing at all comes back within timeout_s (a node answers
 * PINGs even while it trains). */
FEDC_API void fedc_ws_conn_probe(fedc_ws_conn *c, double timeout_s);
FEDC_API void fedc_ws_conn_set_user(fedc_ws_conn *c, void *user);
FEDC_API void *fedc_ws_conn_user(const fedc_ws_conn *c);
FEDC_API uint64_t fedc_ws_conn_id(const fedc_ws_conn *c);
FEDC_API const char *fedc_ws_conn_peer(const fedc_ws_conn *c);
/* The certificate (PEM) the client presented in the TLS handshake, whose key
 * the handshake proved it holds; NULL if none (or no TLS). Not yet checked
 * against any CA. */
FEDC_API const char *fedc_ws_conn_client_cert(const fedc_ws_conn *c);
/* Messages queued and not yet fully written. */
FEDC_API size_t fedc_ws_conn_pending(const fedc_ws_conn *c);

/* ---- Client endpoint (edge node) ---------------------------------------- */

typedef struct fedc_ws_client fedc_ws_client;

typedef struct fedc_ws_client_config {
    const char *url;          /* ws://HOST:PORT/PATH or wss://... */
    const char *ca_pem;       /* trusted CA (PEM text) for wss; NULL = system store */
    size_t ca_pem_len;
    size_t max_message;       /* largest message accepted from the server */
    double connect_timeout_s;
} fedc_ws_client_config;

/* Connects (blocking, bounded by connect_timeout_s). */
FEDC_API fedc_ws_client *fedc_ws_client_connect(const fedc_ws_client_config *cfg, fedc_error *err);
/* Queues one message; *wire (optional) receives its wire bytes. -1 if the
 * connection is closed. */
FEDC_API int fedc_ws_client_send(fedc_ws_client *c, const void *data, size_t len, uint64_t *wire,
                                 fedc_error *err);
/* Waits until everything queued is written, at most timeout_s. 0 done, -1 not. */
FEDC_API int fedc_ws_client_flush(fedc_ws_client *c, double timeout_s, fedc_error *err);
/* Next message: 1 (msg filled, *wire, *transfer_s = seconds from its
 * first to its last byte; both optional), 0 on timeout, -1 when the
 * connection closed (err says why). timeout_s < 0 waits until a message
 * arrives or the connection closes (a dead peer is detected by WebSocket
 * pings within a minute). */
FEDC_API int fedc_ws_client_recv(fedc_ws_client *c, fedc_buf *msg, uint64_t *wire, double *transfer_s,
                                 double timeout_s, fedc_error *err);
/* Closes (if open) and frees. */
FEDC_API void fedc_ws_client_free(fedc_ws_client *c);

/* Logging: routes lws's own log lines into fedc_log (warnings and errors). */
FEDC_API void fedc_ws_log_setup(void);

#endif
