/* RFC 6455 framing for both ends of a node connection: frame headers,
 * masking, and a deframer for what the other end sends. Payload is never
 * copied here: the deframer hands out spans of its input. */
#include <stdint.h>
#include <string.h>

#include "transport/ws_internal.h"

size_t fedc_ws_frame_header(uint8_t out[FEDC_WS_MAX_HEADER], int opcode, int fin, uint64_t len,
                            const uint8_t *mask) {
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[n++] = (uint8_t)(m | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(m | 127);
        for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void fedc_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4]) {
    /* Eight bytes at a time: at offsets that are multiples of 8 the key
     * repeats twice in the word, whatever the byte order. */
    uint32_t k32;
    memcpy(&k32, key, 4);
    uint64_t k64 = ((uint64_t)k32 << 32) | k32;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= k64;
        memcpy(dst + i, &v, 8);
    }
    for (; i < len; i++) dst[i] = src[i] ^ key[i & 3];
}

void fedc_ws_mask_copy_at(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase) {
    const uint8_t k[4] = {key[phase & 3], key[(phase + 1) & 3], key[(phase + 2) & 3], key[(phase + 3) & 3]};
    fedc_ws_mask_copy(dst, src, len, k);
}

void fedc_ws_deframer_init(fedc_ws_deframer *d) {
    memset(d, 0, sizeof *d);
    d->hdr_need = 2;
}

void fedc_ws_deframer_init_server(fedc_ws_deframer *d) {
    fedc_ws_deframer_init(d);
    d->from_client = 1;
}

static void next_frame(fedc_ws_deframer *d) {
    if (d->opcode < 8 && d->fin) d->msg_open = 0;
    d->hdr_have = 0;
    d->hdr_need = 2;
    d->in_payload = 0;
    d->left = 0;
    d->pos = 0;
    d->ctl_len = 0;
}

static const char *op_name(int op) {
    switch (op) {
    case FEDC_WS_OP_CONT: return "continuation";
    case FEDC_WS_OP_TEXT: return "text";
    case FEDC_WS_OP_BINARY: return "binary";
    case FEDC_WS_OP_CLOSE: return "close";
    case FEDC_WS_OP_PING: return "ping";
    case FEDC_WS_OP_PONG: return "pong";
    default: return "reserved";
    }
}

/* The first two header bytes: opcode, flags, and how long the header is. */
static int check_start(fedc_ws_deframer *d, fedc_error *err) {
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    int op = b0 & 0x0f, fin = (b0 & 0x80) != 0, len7 = b1 & 0x7f;
    const char *peer = d->from_client ? "node" : "server";
    if (b0 & 0x70)
        return fedc_fail(err, "WebSocket frame from the %s sets reserved bits 0x%02x; none are allowed (no "
                         "extension was negotiated)", peer, b0 & 0x70);
    if ((b1 & 0x80) && !d->from_client)
        return fedc_fail(err, "masked WebSocket frame from the server; RFC 6455 forbids servers to mask");
    if (!(b1 & 0x80) && d->from_client)
        return fedc_fail(err, "unmasked WebSocket frame from the node; RFC 6455 requires clients to mask");
    switch (op) {
    case FEDC_WS_OP_CONT:
        if (!d->msg_open) return fedc_fail(err, "WebSocket continuation frame without a message to continue");
        break;
    case FEDC_WS_OP_TEXT:
    case FEDC_WS_OP_BINARY:
        if (d->msg_open)
            return fedc_fail(err, "new %s WebSocket message while a fragmented message is unfinished", op_name(op));
        d->msg_open = 1;
        d->msg_opcode = op;
        break;
    case FEDC_WS_OP_CLOSE:
    case FEDC_WS_OP_PING:
    case FEDC_WS_OP_PONG:
        if (!fin) return fedc_fail(err, "fragmented WebSocket %s frame; control frames must not be fragmented",
                                   op_name(op));
        if (len7 > FEDC_WS_MAX_CONTROL)
            return fedc_fail(err, "WebSocket %s frame with a %s length; control frames carry at most %d bytes",
                             op_name(op), len7 == 126 ? "16-bit" : "64-bit", FEDC_WS_MAX_CONTROL);
        break;
    default:
        return fedc_fail(err, "WebSocket frame with reserved opcode 0x%x", op);
    }
    d->opcode = op;
    d->fin = fin;
    d->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (d->from_client ? 4 : 0);
    return 0;
}

/* The whole header is in: the payload length. */
static int check_length(fedc_ws_deframer *d, fedc_error *err) {
    int len7 = d->hdr[1] & 0x7f;
    uint64_t len = (uint64_t)len7;
    if (len7 == 126) {
        len = ((uint64_t)d->hdr[2] << 8) | d->hdr[3];
        if (len < 126)
            return fedc_fail(err, "WebSocket frame length %llu sent in 16 bits; lengths below 126 must use 7",
                             (unsigned long long)len);
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | d->hdr[2 + i];
        if (len >> 63) return fedc_fail(err, "WebSocket frame length has its most significant bit set");
        if (len <= 0xFFFF)
            return fedc_fail(err, "WebSocket frame length %llu sent in 64 bits; lengths up to 65535 must use 16",
                             (unsigned long long)len);
        if (len > (uint64_t)SIZE_MAX)
            return fedc_fail(err, "WebSocket frame of %llu bytes is larger than this machine can address",
                             (unsigned long long)len);
    }
    if (d->from_client) memcpy(d->mask, d->hdr + d->hdr_need - 4, 4);
    d->left = len;
    d->pos = 0;
    d->in_payload = 1;
    d->ctl_len = 0;
    return 0;
}

int fedc_ws_deframe(fedc_ws_deframer *d, const uint8_t **in, size_t *len, fedc_ws_chunk *out, fedc_error *err) {
    if (!d->in_payload) {
        while (d->hdr_have < d->hdr_need && *len) {
            d->hdr[d->hdr_have++] = **in;
            (*in)++;
            (*len)--;
            if (d->hdr_have == 2 && check_start(d, err) != 0) return -1;
        }
        if (d->hdr_have < d->hdr_need) return 0;
        if (check_length(d, err) != 0) return -1;
    }
    size_t take = *len < d->left ? *len : (size_t)d->left;
    if (d->opcode >= 8) {
        /* Control frame: collect it whole (at most 125 bytes). */
        if (take) memcpy(d->ctl + d->ctl_len, *in, take);
        d->ctl_len += take;
        *in += take;
        *len -= take;
        d->left -= take;
        if (d->left) return 0;
        if (d->from_client) fedc_ws_mask_copy(d->ctl, d->ctl, d->ctl_len, d->mask);
        *out = (fedc_ws_chunk){d->opcode, d->ctl, d->ctl_len, 0, 0, NULL, 0};
        next_frame(d);
        return 1;
    }
    /* Data: hand over what is here of this frame; an empty frame still
     * yields one (empty) chunk, since it may end a message. */
    if (take == 0 && d->left) return 0;
    out->opcode = d->msg_opcode;
    out->data = *in;
    out->len = take;
    *in += take;
    *len -= take;
    d->left -= take;
    out->frame_left = (size_t)d->left;
    out->message_end = d->left == 0 && d->fin;
    out->mask = d->from_client ? d->mask : NULL;
    out->mask_phase = (size_t)(d->pos & 3);
    d->pos += take;
    if (d->left == 0) next_frame(d);
    return 1;
}
