/* Fuzz target: what a server sends a node, through the node's deframer and
 * message reassembly. The first input byte picks how the rest is cut into
 * reads. Invariants: every input is either consumed or refused with a
 * reason, data spans lie inside the input, control payloads are at most
 * 125 bytes, nothing beyond the limit is buffered, and a completed
 * message's wire bytes cover its payload and headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

#define LIMIT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t piece = (size_t)(data[0] % 17) + 1;
    data++;
    size--;
    fedc_ws_deframer d;
    fedc_ws_deframer_init(&d);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, LIMIT, 0);
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
                if (ch.len && (ch.data < data || ch.data + ch.len > end)) abort();
                int m = fedc_ws_rx_feed(&rx, ch.data, ch.len, ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left,
                                        ch.message_end, &e);
                if (rx.msg.len > LIMIT) abort();
                if (m < 0) {
                    if (!e.msg[0]) abort();
                    goto out;
                }
                if (m == 1) {
                    if (rx.wire < rx.msg.len + 2) abort();
                    fedc_ws_rx_next(&rx);
                }
            } else if (ch.len > FEDC_WS_MAX_CONTROL || (ch.opcode != FEDC_WS_OP_CLOSE && ch.opcode != FEDC_WS_OP_PING &&
                                                         ch.opcode != FEDC_WS_OP_PONG)) {
                abort();
            }
        }
        if (r < 0) {
            if (!e.msg[0]) abort(); /* a refusal always says why */
            goto out;
        }
        if (len != 0) abort();
    }
out:
    fedc_ws_rx_free(&rx);
    return 0;
}
