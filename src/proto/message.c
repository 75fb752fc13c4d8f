/* Frame codec for fedc wire messages: see include/fedc/proto.h. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"

static const char *const k_type_names[FEDC_MSG_TYPE_MAX] = {
    "?",    "hello", "welcome", "train", "update", "bye", "error", "ping",
    "step", "step-reply", "evaluate", "result", "params"};

int fedc_msg_type_known(int t) { return t > 0 && t < FEDC_MSG_TYPE_MAX && k_type_names[t] != NULL; }

const char *fedc_msg_type_name(fedc_msg_type t) { return fedc_msg_type_known((int)t) ? k_type_names[t] : "unknown"; }

int fedc_msg_encode(const fedc_msg *m, fedc_buf *out, fedc_error *err) {
    if (!fedc_msg_type_known((int)m->type))
        return fedc_fail(err, "message type %d is not a known type", (int)m->type);
    if (m->json_len > FEDC_PROTO_MAX_JSON)
        return fedc_fail(err, "message control JSON is %zu bytes; at most %d allowed", m->json_len,
                         FEDC_PROTO_MAX_JSON);
    if (m->nblobs < 0 || m->nblobs > FEDC_PROTO_MAX_BLOBS)
        return fedc_fail(err, "message has %d blobs; at most %d allowed", m->nblobs, FEDC_PROTO_MAX_BLOBS);
    size_t total = 3 + 1 + 1 + 4 + m->json_len + 2;
    for (int i = 0; i < m->nblobs; i++) {
        if (m->blobs[i].len > UINT32_MAX) return fedc_fail(err, "blob %d is larger than 4 GiB", i);
        total += 4 + m->blobs[i].len;
    }
    if (total > FEDC_PROTO_MAX_FRAME)
        return fedc_fail(err, "message of %zu bytes exceeds the frame limit of %zu", total,
                         FEDC_PROTO_MAX_FRAME);
    if (fedc_buf_reserve(out, total) != 0) return fedc_fail(err, "out of memory encoding a message");
    fedc_buf_append(out, "FDC", 3);
    fedc_buf_put_u8(out, FEDC_PROTO_VERSION);
    fedc_buf_put_u8(out, (uint8_t)m->type);
    fedc_buf_put_u32(out, (uint32_t)m->json_len);
    fedc_buf_append(out, m->json, m->json_len);
    fedc_buf_put_u16(out, (uint16_t)m->nblobs);
    for (int i = 0; i < m->nblobs; i++) {
        fedc_buf_put_u32(out, (uint32_t)m->blobs[i].len);
        fedc_buf_append(out, m->blobs[i].data, m->blobs[i].len);
    }
    return 0;
}

int fedc_msg_decode(const uint8_t *frame, size_t len, fedc_msg *m, fedc_error *err) {
    memset(m, 0, sizeof *m);
    fedc_reader r = fedc_reader_make(frame, len);
    const uint8_t *magic;
    uint8_t version, type;
    uint32_t json_len;
    uint16_t nblobs;
    if (len > FEDC_PROTO_MAX_FRAME)
        return fedc_fail(err, "frame of %zu bytes exceeds the limit of %zu", len, FEDC_PROTO_MAX_FRAME);
    if (fedc_read_view(&r, &magic, 3) || memcmp(magic, "FDC", 3) != 0)
        return fedc_fail(err, "frame: bad magic (expected \"FDC\")");
    if (fedc_read_u8(&r, &version) || version != FEDC_PROTO_VERSION)
        return fedc_fail(err, "frame: protocol version %d is not supported (expected %d)",
                         fedc_reader_left(&r) ? version : -1, FEDC_PROTO_VERSION);
    if (fedc_read_u8(&r, &type) || !fedc_msg_type_known(type))
        return fedc_fail(err, "frame: message type %d is not a known type", (int)type);
    if (fedc_read_u32(&r, &json_len)) return fedc_fail(err, "frame: truncated before the JSON length");
    if (json_len > FEDC_PROTO_MAX_JSON)
        return fedc_fail(err, "frame: control JSON length %u exceeds %d", json_len, FEDC_PROTO_MAX_JSON);
    const uint8_t *json;
    if (fedc_read_view(&r, &json, json_len))
        return fedc_fail(err, "frame: truncated inside the control JSON (%u bytes announced, %zu left)",
                         json_len, fedc_reader_left(&r));
    if (fedc_read_u16(&r, &nblobs)) return fedc_fail(err, "frame: truncated before the blob count");
    if (nblobs > FEDC_PROTO_MAX_BLOBS)
        return fedc_fail(err, "frame: %u blobs; at most %d allowed", nblobs, FEDC_PROTO_MAX_BLOBS);
    for (int i = 0; i < nblobs; i++) {
        uint32_t blen;
        if (fedc_read_u32(&r, &blen)) return fedc_fail(err, "frame: truncated before blob %d length", i);
        if (fedc_read_view(&r, &m->blobs[i].data, blen))
            return fedc_fail(err, "frame: blob %d announces %u bytes but %zu remain", i, blen,
                             fedc_reader_left(&r));
        m->blobs[i].len = blen;
    }
    if (fedc_reader_left(&r) != 0)
        return fedc_fail(err, "frame: %zu trailing bytes after the last blob", fedc_reader_left(&r));
    /* The control part must be one JSON object. */
    json_error_t je;
    json_t *root = json_loadb((const char *)json, json_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fedc_fail(err, "frame: control JSON is invalid: %s", je.text);
    int is_obj = json_is_object(root);
    json_decref(root);
    if (!is_obj) return fedc_fail(err, "frame: control JSON must be an object");
    m->json_owned = malloc(json_len + 1);
    if (!m->json_owned) return fedc_fail(err, "out of memory");
    memcpy(m->json_owned, json, json_len);
    m->json_owned[json_len] = 0;
    m->json = m->json_owned;
    m->json_len = json_len;
    m->type = (fedc_msg_type)type;
    m->nblobs = nblobs;
    return 0;
}

void fedc_msg_free(fedc_msg *m) {
    free(m->json_owned);
    m->json_owned = NULL;
    m->json = NULL;
}

/* RFC 6455 section 5.2: 2-byte base header, +2 for 126..65535, +8 beyond,
 * +4 for the client's masking key. */
static size_t ws_header(size_t payload, int masked) {
    size_t h = 2;
    if (payload >= 126) h += payload <= 0xFFFF ? 2 : 8;
    return h + (masked ? 4 : 0);
}

size_t fedc_ws_overhead(size_t payload_len, int masked, size_t fragment_size) {
    if (fragment_size == 0 || payload_len <= fragment_size) return ws_header(payload_len, masked);
    size_t full = payload_len / fragment_size, rest = payload_len % fragment_size;
    return full * ws_header(fragment_size, masked) + (rest ? ws_header(rest, masked) : 0);
}
