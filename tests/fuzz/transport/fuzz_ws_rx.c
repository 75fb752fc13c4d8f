/* Fuzz target: the node endpoint's input path. The input is decoded as a
 * fedc frame as it stands, then cut into chunks (sizes, frame ends and
 * message ends taken from the input) and fed through the WebSocket
 * message reassembly, each completed message decoded again. Invariants:
 * nothing beyond the limit is buffered, wire bytes cover the payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"

#define LIMIT 4096

static void decode(const uint8_t *p, size_t n) {
    fedc_msg m;
    if (fedc_msg_decode(p, n, &m, NULL) == 0) {
        if (strlen(m.json) != m.json_len || m.nblobs < 0 || m.nblobs > FEDC_PROTO_MAX_BLOBS) abort();
        for (int i = 0; i < m.nblobs; i++)
            if (m.blobs[i].data < p || m.blobs[i].data + m.blobs[i].len > p + n) abort();
        fedc_msg_free(&m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode(data, size);
    if (size < 2) return 0;
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, LIMIT, data[0] & 1);
    size_t i = 1;
    while (i < size) {
        uint8_t ctl = data[i++];
        size_t len = (size_t)(ctl & 0x1f) * 7;
        if (len > size - i) len = size - i;
        int binary = (ctl & 0x20) == 0 || (ctl & 0x1f) != 0x1f;
        size_t frame_left = (ctl & 0x40) ? (size_t)(ctl & 0x0f) * 1000 : 0;
        int end = (ctl & 0x80) != 0 && frame_left == 0;
        fedc_error e;
        int r = fedc_ws_rx_feed(&rx, data + i, len, binary, frame_left, end, &e);
        i += len;
        if (rx.msg.len > LIMIT) abort();
        if (r < 0) {
            if (!e.msg[0]) abort(); /* a refusal always says why */
            break;
        }
        if (r == 1) {
            if (rx.wire < rx.msg.len + 2) abort();
            decode(rx.msg.data, rx.msg.len);
            fedc_ws_rx_next(&rx);
        }
    }
    fedc_ws_rx_free(&rx);
    return 0;
}
