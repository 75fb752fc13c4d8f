/* Fuzz target: what a node sends the server, through the server's
 * deframer (masked frames) and reassembly with fedc_ws_rx_feed_masked.
 * The first input byte picks how the rest is cut into reads (low 7 bits)
 * and the mode (high bit):
 *  - raw: the rest is the byte stream. Invariants of the node's target
 *    (every input consumed or refused with a reason, data spans inside the
 *    read, control payloads at most 125 bytes, nothing beyond the limit
 *    buffered), and: data chunks carry the frame's key and the phase of
 *    their offset in the frame, what reassembly appends is the chunk
 *    unmasked byte by byte, control payloads come unmasked (no key), and a
 *    message's wire bytes are exactly its frames' payloads and masked
 *    headers;
 *  - built: the rest describes frames (type, length, key, content seed)
 *    that are written as a node would, masked byte by byte, with control
 *    frames between fragments; the stream must decode to exactly those
 *    messages, wire bytes and control payloads, and be refused once its
 *    first frame's mask bit is cleared. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

#define LIMIT 4096

typedef struct expect {
    uint8_t msg[8][LIMIT];
    size_t len[8];
    uint64_t wire[8];
    int nmsg;
    uint8_t ctl[32][FEDC_WS_MAX_CONTROL];
    size_t ctl_len[32];
    int ctl_op[32];
    int nctl;
} expect;

/* Decodes the stream in reads of piece bytes; got (optional) collects
 * what came out, *refused tells whether the stream was refused. */
static void decode(const uint8_t *data, size_t size, size_t piece, expect *got, int *refused) {
    fedc_ws_deframer d;
    fedc_ws_deframer_init_server(&d);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, LIMIT, 1);
    size_t fpos = 0;   /* payload of the current data frame handed over so far */
    uint64_t wire = 0; /* wire bytes of the current message, counted here */
    *refused = 0;
    for (size_t off = 0; off < size; off += piece) {
        const uint8_t *in = data + off, *end = data + (size - off < piece ? size : off + piece);
        size_t len = (size_t)(end - in);
        fedc_ws_chunk ch;
        fedc_error e;
        e.msg[0] = 0;
        int r;
        while ((r = fedc_ws_deframe(&d, &in, &len, &ch, &e)) == 1) {
            if (in > end || in + len != end) abort();
            if (ch.opcode == FEDC_WS_OP_BINARY || ch.opcode == FEDC_WS_OP_TEXT) {
                if (ch.len && (ch.data < data + off || ch.data + ch.len > end)) abort();
                if (!ch.mask || ch.mask_phase != fpos % 4) abort();
                uint8_t key[4];
                memcpy(key, ch.mask, 4);
                size_t before = rx.msg.len;
                int m = fedc_ws_rx_feed_masked(&rx, ch.data, ch.len, ch.mask, ch.mask_phase,
                                               ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left, ch.message_end, &e);
                if (rx.msg.len > LIMIT) abort();
                if (m < 0) {
                    if (!e.msg[0]) abort();
                    *refused = 1;
                    goto out;
                }
                if (rx.msg.len != before + ch.len) abort();
                for (size_t i = 0; i < ch.len; i++)
                    if (rx.msg.data[before + i] != (uint8_t)(ch.data[i] ^ key[(i + ch.mask_phase) % 4])) abort();
                fpos += ch.len;
                if (ch.frame_left == 0) {
                    wire += fpos + fedc_ws_overhead(fpos, 1, 0);
                    fpos = 0;
                }
                if (m == 1) {
                    if (!ch.message_end || rx.wire != wire || rx.wire < rx.msg.len + 6) abort();
                    if (got && got->nmsg < 8) {
                        if (rx.msg.len) memcpy(got->msg[got->nmsg], rx.msg.data, rx.msg.len);
                        got->len[got->nmsg] = rx.msg.len;
                        got->wire[got->nmsg++] = rx.wire;
                    }
                    wire = 0;
                    fedc_ws_rx_next(&rx);
                }
            } else if (ch.len > FEDC_WS_MAX_CONTROL || ch.mask ||
                       (ch.opcode != FEDC_WS_OP_CLOSE && ch.opcode != FEDC_WS_OP_PING &&
                        ch.opcode != FEDC_WS_OP_PONG)) {
                abort();
            } else if (got && got->nctl < 32) {
                memcpy(got->ctl[got->nctl], ch.data, ch.len);
                got->ctl_len[got->nctl] = ch.len;
                got->ctl_op[got->nctl++] = ch.opcode;
            }
        }
        if (r < 0) {
            if (!e.msg[0]) abort(); /* a refusal always says why */
            *refused = 1;
            goto out;
        }
        if (len != 0) abort();
    }
out:
    fedc_ws_rx_free(&rx);
}

/* Appends a frame as a node writes it: header, key, payload masked byte by byte. */
static size_t put_frame(uint8_t *out, int op, int fin, const uint8_t *payload, size_t n, const uint8_t key[4]) {
    size_t hl = 0;
    out[hl++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        out[hl++] = (uint8_t)(0x80 | n);
    } else {
        out[hl++] = 0x80 | 126;
        out[hl++] = (uint8_t)(n >> 8);
        out[hl++] = (uint8_t)n;
    }
    memcpy(out + hl, key, 4);
    hl += 4;
    for (size_t i = 0; i < n; i++) out[hl + i] = payload[i] ^ key[i % 4];
    return hl + n;
}

#define MAX_FRAMES 24
#define MAX_FRAG 300 /* up to 12 fragments of a message stay within LIMIT */

static void built(const uint8_t *data, size_t size, size_t piece) {
    static expect want, got;
    static uint8_t stream[MAX_FRAMES * 2 * (MAX_FRAG + 8) + 64];
    memset(&want, 0, sizeof want);
    memset(&got, 0, sizeof got);
    size_t slen = 0, frags = 0;
    int open = 0;
    uint8_t payload[MAX_FRAG];
    /* each frame: kind, length (2 bytes), key (4 bytes), content seed */
    for (int f = 0; f < MAX_FRAMES && size >= 8 && want.nmsg < 8; f++, data += 8, size -= 8) {
        int kind = data[0];
        size_t n = ((size_t)data[1] | (size_t)data[2] << 8) % MAX_FRAG;
        const uint8_t *key = data + 3;
        for (size_t i = 0; i < n; i++) payload[i] = (uint8_t)(data[7] + i * 37 + (i >> 3));
        if (kind & 0x40) { /* a control frame first */
            int op = (kind & 0x20) ? FEDC_WS_OP_PONG : FEDC_WS_OP_PING;
            size_t cn = n % (FEDC_WS_MAX_CONTROL + 1);
            slen += put_frame(stream + slen, op, 1, payload, cn, key);
            if (want.nctl < 32) {
                memcpy(want.ctl[want.nctl], payload, cn);
                want.ctl_len[want.nctl] = cn;
                want.ctl_op[want.nctl++] = op;
            }
        }
        int fin = (kind & 0x80) || frags == 11;
        int i = want.nmsg;
        slen += put_frame(stream + slen, open ? FEDC_WS_OP_CONT : FEDC_WS_OP_BINARY, fin, payload, n, key);
        memcpy(want.msg[i] + want.len[i], payload, n);
        want.len[i] += n;
        want.wire[i] += n + fedc_ws_overhead(n, 1, 0);
        open = !fin;
        frags = fin ? 0 : frags + 1;
        if (fin) want.nmsg++;
    }
    if (open) { /* end the last message with an empty frame */
        static const uint8_t key0[4] = {1, 2, 3, 4};
        slen += put_frame(stream + slen, FEDC_WS_OP_CONT, 1, NULL, 0, key0);
        want.wire[want.nmsg++] += 6;
    }
    int refused;
    decode(stream, slen, piece, &got, &refused);
    if (refused || got.nmsg != want.nmsg || got.nctl != want.nctl) abort();
    for (int i = 0; i < want.nmsg; i++)
        if (got.len[i] != want.len[i] || got.wire[i] != want.wire[i] || memcmp(got.msg[i], want.msg[i], want.len[i]))
            abort();
    for (int i = 0; i < want.nctl; i++)
        if (got.ctl_op[i] != want.ctl_op[i] || got.ctl_len[i] != want.ctl_len[i] ||
            memcmp(got.ctl[i], want.ctl[i], want.ctl_len[i]))
            abort();
    /* the same stream with its first frame unmasked is refused */
    if (slen) {
        stream[1] &= 0x7f;
        decode(stream, slen, piece, NULL, &refused);
        if (!refused) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t piece = (size_t)((data[0] & 0x7f) % 17) + 1;
    int build = data[0] & 0x80;
    data++;
    size--;
    if (build) {
        built(data, size, piece);
    } else {
        int refused;
        decode(data, size, piece, NULL, &refused);
    }
    return 0;
}
