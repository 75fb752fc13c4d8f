/* Wire messages between the server and nodes (and, byte for byte, between
 * the simulation's server and its in-process clients).
 *
 * Frame layout (little-endian):
 *   "FDC" | version u8 | type u8 | json_len u32 | json (UTF-8 object) |
 *   nblobs u16 | nblobs x (len u32 | bytes)
 * The JSON carries small control fields; blobs carry encoded tensors. The
 * decoder bounds every length (FEDC_PROTO_MAX_*), requires the frame to be
 * consumed exactly, and checks the fields each type needs. */
#ifndef FEDC_PROTO_H
#define FEDC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/export.h"

#define FEDC_PROTO_VERSION 1
#define FEDC_PROTO_MAX_JSON (64 * 1024)
#define FEDC_PROTO_MAX_BLOBS 8
#define FEDC_PROTO_MAX_FRAME ((size_t)1 << 30)

typedef enum {
    FEDC_MSG_HELLO = 1,   /* node -> server: credential, resources */
    FEDC_MSG_WELCOME,     /* server -> node: node id, task spec */
    FEDC_MSG_TRAIN,       /* server -> node: round, model (+ strategy extras) */
    FEDC_MSG_UPDATE,      /* node -> server: round, encoded update, stats */
    FEDC_MSG_BYE,         /* either way: reason */
    FEDC_MSG_ERROR,       /* either way: reason */
    FEDC_MSG_PING,
    FEDC_MSG_STEP,          /* server -> node: one step of a multi-step round protocol */
    FEDC_MSG_STEP_REPLY,    /* node -> server: its answer to that step */
    FEDC_MSG_EVALUATE = 10, /* server -> node: round, global model to score on local test data */
    FEDC_MSG_RESULT,        /* node -> server: round, loss, accuracy, examples of an EVALUATE */
    FEDC_MSG_PARAMS,        /* node -> server: initial parameters of an external model */
    FEDC_MSG_TYPE_MAX
} fedc_msg_type;

/* Capabilities a node lists in its HELLO ("caps"): the server sends a node
 * only the message types it declared, so older nodes keep working. */
#define FEDC_CAP_EVALUATE "evaluate" /* answers EVALUATE with RESULT */
#define FEDC_CAP_EXTERNAL "external" /* trains external models (model "external") */

typedef struct fedc_blob {
    const uint8_t *data; /* points into the frame (decode) or caller memory (encode) */
    size_t len;
} fedc_blob;

typedef struct fedc_msg {
    fedc_msg_type type;
    const char *json;  /* control object; for decode, points into an owned copy */
    size_t json_len;
    int nblobs;
    fedc_blob blobs[FEDC_PROTO_MAX_BLOBS];
    char *json_owned;  /* decode: NUL-terminated copy of the JSON */
} fedc_msg;

/* Appends the frame for m to out. */
FEDC_API int fedc_msg_encode(const fedc_msg *m, fedc_buf *out, fedc_error *err);
/* Decodes a frame; blobs point into `frame` (keep it alive). */
FEDC_API int fedc_msg_decode(const uint8_t *frame, size_t len, fedc_msg *m, fedc_error *err);
FEDC_API void fedc_msg_free(fedc_msg *m);
FEDC_API const char *fedc_msg_type_name(fedc_msg_type t);
/* 1 if t is a message type of this protocol version. */
FEDC_API int fedc_msg_type_known(int t);

/* Bytes a WebSocket (RFC 6455) message of payload_len adds in frame headers
 * when sent in fragments of at most fragment_size bytes (0 = one frame);
 * masked = client-to-server. Used so simulated byte counts equal those a
 * deployment puts on the wire. */
FEDC_API size_t fedc_ws_overhead(size_t payload_len, int masked, size_t fragment_size);
/* A fragment with its header (8 bytes masked, 4 unmasked) fits in 64 KiB:
 * exactly four 16 KiB TLS records, none holding just a header's spill. */
#define FEDC_WS_FRAGMENT_SIZE ((size_t)64 * 1024 - 8)

#endif
