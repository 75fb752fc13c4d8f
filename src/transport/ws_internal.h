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

/* Splits the byte stream a server sends into frames. Payload is handed
 * over as spans of the input (never spanning two frames), so reassembly
 * costs one copy; control frames are collected whole. Everything RFC 6455
 * forbids a server to send is refused: masked frames, reserved bits or
 * opcodes, fragmented or oversized control frames, continuation without a
 * message, a new message inside a fragmented one, non-minimal lengths. */
typedef struct fedc_ws_deframer {
    uint8_t hdr[FEDC_WS_MAX_HEADER];
    size_t hdr_have, hdr_need;
    int in_payload; /* the header is complete */
    int opcode, fin;
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
} fedc_ws_chunk;

void fedc_ws_deframer_init(fedc_ws_deframer *d);
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

#endif
