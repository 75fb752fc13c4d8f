/* Reassembly of WebSocket messages from the chunks lws hands the protocol
 * callback. lws never puts two WebSocket frames in one chunk, and tells how
 * much of the current frame is still to come, so frame boundaries (and thus
 * the header bytes each frame cost on the wire) are known exactly. */
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"

void fedc_ws_rx_init(fedc_ws_rx *rx, size_t max, int masked) {
    memset(rx, 0, sizeof *rx);
    rx->max = max;
    rx->masked = masked;
}

void fedc_ws_rx_free(fedc_ws_rx *rx) {
    fedc_buf_free(&rx->msg);
    rx->frame_len = 0;
    rx->wire = 0;
    rx->complete = 0;
}

void fedc_ws_rx_next(fedc_ws_rx *rx) {
    fedc_buf_clear(&rx->msg);
    rx->frame_len = 0;
    rx->wire = 0;
    rx->complete = 0;
}

int fedc_ws_rx_feed(fedc_ws_rx *rx, const uint8_t *data, size_t len, int binary, size_t frame_left,
                    int message_end, fedc_error *err) {
    if (rx->complete) fedc_ws_rx_next(rx); /* the caller did not take it: start over */
    if (!binary)
        return fedc_fail(err, "text WebSocket frame refused; the fedc protocol uses binary frames only");
    /* Bound the announced size before buffering anything: a frame header
     * may promise far more than max. */
    if (rx->msg.len + len + frame_left > rx->max || rx->msg.len + len < rx->msg.len)
        return fedc_fail(err, "message of at least %zu bytes exceeds the limit of %zu bytes",
                         rx->msg.len + len + frame_left, rx->max);
    if (len && fedc_buf_append(&rx->msg, data, len) != 0)
        return fedc_fail(err, "out of memory buffering a %zu-byte message", rx->msg.len + len);
    rx->frame_len += len;
    if (frame_left == 0) {
        rx->wire += rx->frame_len + fedc_ws_overhead(rx->frame_len, rx->masked, 0);
        rx->frame_len = 0;
        if (message_end) {
            rx->complete = 1;
            return 1;
        }
    } else if (message_end) {
        return fedc_fail(err, "message end reported with %zu bytes of the frame still to come",
                         frame_left);
    }
    return 0;
}
