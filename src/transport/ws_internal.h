/* Private helpers of the transport layer. */
#ifndef FEDC_TRANSPORT_WS_INTERNAL_H
#define FEDC_TRANSPORT_WS_INTERNAL_H

#include "fedc/buf.h"
#include "fedc/proto.h"
#include "fedc/ws.h"

/* Encodes an ERROR or BYE frame {"reason": reason[, "fatal": true]} into out. */
int fedc_ws_error_frame(fedc_msg_type type, const char *reason, int fatal, fedc_buf *out);
/* Sets a JSON error body {"error": "..."} on a response (status unchanged). */
void fedc_ws_json_error(fedc_http_response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- The node's side of RFC 6455, free of lws (ws_frame.c, ws_handshake.c) ----
 * libwebsockets 4.1's client parses every received byte through its state
 * machine (its server has a bulk path, its client none), which made the
 * nodes' receive path the largest CPU cost of a round. The node therefore
 * runs the WebSocket protocol itself over an lws raw TLS connection, with
 * these pieces: a frame deframer that hands payload over in whole spans,
 * frame header writing, masking, and the opening handshake. */

enum {
    FEDC_WS_OP_CONT = 0x0,
    FEDC_WS_OP_TEXT = 0x1,
    FEDC_WS_OP_BINARY = 0x2,
    FEDC_WS_OP_CLOSE = 0x8,
    FEDC_WS_OP_PING = 0x9,
    FEDC_WS_OP_PONG = 0xA,
};
#define FEDC_WS_MAX_HEADER 14    /* 2 + 8 (64-bit length) + 4 (mask) */
#define FEDC_WS_MAX_CONTROL 125  /* payload of a control frame */

/* Writes the header of a frame (minimal length encoding, as
 * fedc_ws_overhead counts it); mask: 4-byte key, or NULL for an unmasked
 * (server-to-client) frame. Returns the header length, 2..14. */
size_t fedc_ws_frame_header(uint8_t out[FEDC_WS_MAX_HEADER], int opcode, int fin, uint64_t len,
                            const uint8_t *mask);
/* dst[i] = src[i] ^ key[i % 4] for i < len; dst may equal src. */
void fedc_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4]);
/* The same from byte phase of the key on: dst[i] = src[i] ^ key[(i + phase) % 4]. */
void fedc_ws_mask_copy_at(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);

/* Splits the byte stream one end sends into frames. Payload is handed
 * over as spans of the input (never spanning two frames), so reassembly
 * costs one copy (unmasking on the way for a client's frames); control
 * frames are collected whole and unmasked. Everything RFC 6455 forbids the
 * peer to send is refused: frames masked the wrong way for its role
 * (servers never mask, clients always do), reserved bits or opcodes,
 * fragmented or oversized control frames, continuation without a message,
 * a new message inside a fragmented one, non-minimal lengths. */
typedef struct fedc_ws_deframer {
    uint8_t hdr[FEDC_WS_MAX_HEADER];
    size_t hdr_have, hdr_need;
    int in_payload; /* the header is complete */
    int from_client; /* the peer is a client: its frames must be masked */
    int opcode, fin;
    uint8_t mask[4]; /* the current frame's masking key (from_client) */
    uint64_t pos;   /* payload bytes of the current frame already handed over */
    uint64_t left;  /* payload bytes of the current frame still to come */
    int msg_open;   /* a data message has begun and its FIN frame not ended */
    int msg_opcode; /* TEXT or BINARY: the open message's type */
    uint8_t ctl[FEDC_WS_MAX_CONTROL];
    size_t ctl_len;
} fedc_ws_deframer;

typedef struct fedc_ws_chunk {
    int opcode;         /* TEXT or BINARY for data (continuations report their message's), else CLOSE/PING/PONG */
    const uint8_t *data;
    size_t len;
    size_t frame_left;  /* data: payload bytes of this frame still to come */
    int message_end;    /* data: this chunk ends the frame and the frame has FIN */
    const uint8_t *mask; /* data from a client: the frame's key (data is still masked), else NULL */
    size_t mask_phase;  /* data from a client: offset of data[0] in the frame's payload, mod 4 */
} fedc_ws_chunk;

/* The node's deframer (the peer is the server). */
void fedc_ws_deframer_init(fedc_ws_deframer *d);
/* The server's deframer (the peer is a node, a client). */
void fedc_ws_deframer_init_server(fedc_ws_deframer *d);
/* Consumes input (advancing *in, *len) until one chunk is ready: 1 = *out
 * filled (data spans point into the input, control payloads into d),
 * 0 = all input consumed, -1 = protocol violation (err says which). */
int fedc_ws_deframe(fedc_ws_deframer *d, const uint8_t **in, size_t *len, fedc_ws_chunk *out, fedc_error *err);

#define FEDC_WS_KEY_LEN 24            /* base64 of 16 random bytes */
#define FEDC_WS_HANDSHAKE_MAX 8192    /* largest response header block accepted */
/* A fresh Sec-WebSocket-Key (NUL-terminated). -1 if no randomness. */
int fedc_ws_handshake_key(char key[FEDC_WS_KEY_LEN + 1]);
/* The Sec-WebSocket-Accept a server must answer key with (28 chars + NUL). */
void fedc_ws_handshake_accept(const char *key, char out[29]);
/* The upgrade request for path on host:port asking for subprotocol
 * protocol. Returns its length, or -1 if it does not fit in cap. */
int fedc_ws_handshake_request(char *out, size_t cap, const char *host, int port, const char *path,
                              const char *key, const char *protocol);
/* Length of the response header block (through the blank line) if buf
 * holds all of it, else 0. */
size_t fedc_ws_handshake_end(const uint8_t *buf, size_t len);
/* Checks a complete response header block: status 101, Upgrade: websocket,
 * Connection: Upgrade, the Accept that matches key, the subprotocol, and
 * no extension (none was offered). */
int fedc_ws_handshake_check(const uint8_t *resp, size_t len, const char *key, const char *protocol,
                            fedc_error *err);

/* ---- The server's side of the opening handshake (ws_handshake.c) ----
 * Every connection's first request head is read by the server's network
 * threads: an upgrade to the node endpoint becomes a node connection, any
 * other request goes to the HTTP server. */
#define FEDC_WS_REQUEST_HEAD_MAX 8192 /* largest request head accepted */
typedef struct fedc_ws_upgrade {
    char path[256];                  /* request target without the query */
    char key[FEDC_WS_KEY_LEN + 1];   /* Sec-WebSocket-Key */
} fedc_ws_upgrade;
enum { FEDC_WS_HEAD_HTTP = 0, FEDC_WS_HEAD_UPGRADE = 1, FEDC_WS_HEAD_REFUSED = -1 };
/* Classifies a complete request head (through its blank line):
 * FEDC_WS_HEAD_HTTP (not a WebSocket upgrade: hand it to the HTTP server),
 * FEDC_WS_HEAD_UPGRADE (a valid RFC 6455 upgrade offering subprotocol
 * protocol: u filled), or FEDC_WS_HEAD_REFUSED (an upgrade that breaks RFC
 * 6455 or does not offer protocol: *status is the HTTP status to answer,
 * err says why, quoting the offending header). */
int fedc_ws_upgrade_parse(const uint8_t *head, size_t len, const char *protocol, fedc_ws_upgrade *u, int *status,
                          fedc_error *err);
/* The 101 answer accepting key with protocol. Returns its length, or -1 if
 * it does not fit in cap. */
int fedc_ws_upgrade_answer(char *out, size_t cap, const char *key, const char *protocol);
/* A short refusal: the status, a JSON body {"error": why}, Connection:
 * close. Returns its length, or -1 if it does not fit in cap. */
int fedc_ws_upgrade_refusal(char *out, size_t cap, int status, const char *why);

/* One header line of a request or response head: the whole line, its name
 * (up to the colon; name_len 0 = no "name:" at all) and its value without
 * surrounding blanks. */
typedef struct fedc_http_header_line {
    const uint8_t *line, *value;
    size_t len, name_len, value_len;
} fedc_http_header_line;
/* Reads the header line at *pos of a head: 1 (h filled, *pos past it), 0
 * at the blank line or where buf ends without a complete line. */
int fedc_http_header_next(const uint8_t *buf, size_t len, size_t *pos, fedc_http_header_line *h);

/* ---- The request framer of relayed HTTP connections (http_framer.c) ----
 * Sees every request a client sends on a connection before the HTTP server
 * does: deadlines for heads and bodies, limits with a status, chunked
 * bodies de-chunked. */
typedef struct fedc_http_framer {
    int state;
    fedc_buf head;            /* the request head being read */
    fedc_buf body;            /* a chunked body, de-chunked */
    uint64_t left;            /* bytes left of the body, or of the current chunk */
    char linebuf[256];        /* a chunk-size or trailer line */
    size_t line;
    double t_head, t_body;    /* when the head began / ended */
    unsigned requests;        /* complete requests passed on */
    size_t max_head, max_body;
} fedc_http_framer;
void fedc_http_framer_init(fedc_http_framer *f, size_t max_head, size_t max_body);
void fedc_http_framer_free(fedc_http_framer *f);
/* Takes len bytes from the client (now: the time they arrived); appends
 * to out what the HTTP server should read. 0, or the HTTP status to answer
 * before closing (why says what was wrong). */
int fedc_http_framer_feed(fedc_http_framer *f, const uint8_t *in, size_t len, double now, fedc_buf *out, char *why,
                          size_t cap);
/* 408 (why set) if the request being read is overdue: its head not
 * complete head_s after it began, or its body body_s after its head; else 0. */
int fedc_http_framer_overdue(const fedc_http_framer *f, double now, double head_s, double body_s, char *why,
                             size_t cap);
/* 1 while a request is partly read. */
int fedc_http_framer_busy(const fedc_http_framer *f);

/* ---- TLS output buffering (ws_outbuf.c) ----
 * A write-only OpenSSL BIO that appends everything OpenSSL writes to a
 * buffer; the caller sends the buffer with one write() per many TLS
 * records (a socket BIO makes one system call per 16 KiB record). */
typedef struct bio_st BIO;
BIO *fedc_ws_outbuf_bio(fedc_buf *target);

#endif
