/* Reassembly of WebSocket messages from the chunks the deframer hands out.
 * A chunk never spans two WebSocket frames and tells how much of the
 * current frame is still to come, so frame boundaries (and thus the header
 * bytes each frame cost on the wire) are known exactly. A node's frames
 * are unmasked while copied in.
 *
 * A model-sized message arrives in many 64 KiB fragments; growing its
 * buffer by doubling copied it about twice more and touched fresh pages on
 * every step (a tenth of the server's CPU with 100 nodes). The fedc frame
 * it carries announces its tensor lengths in its first bytes, so the
 * buffer is sized once from those, within the connection's limit. */
#include <stdlib.h>
#include <string.h>

#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

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

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A lower bound of the size of the fedc frame (proto.h) that begins with
 * p[0..n): the end of the last blob whose length header is within p; 0 if
 * not even the blob count is there. Only sizes a buffer, never trusted:
 * the decoder checks the frame. */
static uint64_t announced_size(const uint8_t *p, size_t n) {
    if (n < 9 || memcmp(p, "FDC", 3) != 0) return 0;
    uint64_t off = 9 + (uint64_t)le32(p + 5);
    if (off + 2 > n) return 0;
    unsigned nblobs = (unsigned)p[off] | (unsigned)p[off + 1] << 8;
    off += 2;
    for (unsigned i = 0; i < nblobs && i < FEDC_PROTO_MAX_BLOBS && off + 4 <= n; i++)
        off += 4 + (uint64_t)le32(p + off);
    return off;
}

/* Before the buffer grows: make room for all the frame says is coming, up
 * to the limit and at most SPECULATIVE_MAX beyond what is certain (a peer
 * that lies about a length gains little). */
#define SPECULATIVE_MAX ((uint64_t)64 << 20)
static int reserve_announced(fedc_ws_rx *rx, const uint8_t *data, size_t len, const uint8_t *mask, size_t phase,
                             size_t frame_left) {
    size_t need = rx->msg.len + len + frame_left;
    uint64_t want;
    if (rx->msg.len) {
        want = announced_size(rx->msg.data, rx->msg.len);
    } else if (mask) {
        uint8_t head[1024]; /* the lengths are near the start */
        size_t n = len < sizeof head ? len : sizeof head;
        fedc_ws_mask_copy_at(head, data, n, mask, phase);
        want = announced_size(head, n);
    } else {
        want = announced_size(data, len);
    }
    if (want > rx->max) want = rx->max;
    if (want > need + SPECULATIVE_MAX) want = need + SPECULATIVE_MAX;
    if (want < need) want = need;
    /* Exactly this much: the buffer may be kept for the next message. */
    uint8_t *d = realloc(rx->msg.data, (size_t)want);
    if (!d) return -1;
    rx->msg.data = d;
    rx->msg.cap = (size_t)want;
    return 0;
}

int fedc_ws_rx_feed(fedc_ws_rx *rx, const uint8_t *data, size_t len, int binary, size_t frame_left,
                    int message_end, fedc_error *err) {
    return fedc_ws_rx_feed_masked(rx, data, len, NULL, 0, binary, frame_left, message_end, err);
}

int fedc_ws_rx_feed_masked(fedc_ws_rx *rx, const uint8_t *data, size_t len, const uint8_t *mask, size_t phase,
                           int binary, size_t frame_left, int message_end, fedc_error *err) {
    if (rx->complete) fedc_ws_rx_next(rx); /* the caller did not take it: start over */
    if (!binary)
        return fedc_fail(err, "text WebSocket frame refused; the fedc protocol uses binary frames only");
    /* Bound the announced size before buffering anything: a frame header
     * may promise far more than max. */
    if (rx->msg.len + len + frame_left > rx->max || rx->msg.len + len < rx->msg.len)
        return fedc_fail(err, "message of at least %zu bytes exceeds the limit of %zu bytes",
                         rx->msg.len + len + frame_left, rx->max);
    if (rx->msg.len + len + frame_left > rx->msg.cap &&
        reserve_announced(rx, data, len, mask, phase, frame_left) != 0)
        return fedc_fail(err, "out of memory buffering a %zu-byte message", rx->msg.len + len + frame_left);
    if (len && mask) {
        if (fedc_buf_reserve(&rx->msg, len) != 0)
            return fedc_fail(err, "out of memory buffering a %zu-byte message", rx->msg.len + len);
        fedc_ws_mask_copy_at(rx->msg.data + rx->msg.len, data, len, mask, phase);
        rx->msg.len += len;
    } else if (len && fedc_buf_append(&rx->msg, data, len) != 0) {
        return fedc_fail(err, "out of memory buffering a %zu-byte message", rx->msg.len + len);
    }
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
