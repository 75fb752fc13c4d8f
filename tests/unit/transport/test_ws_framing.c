/* Transport framing without sockets: message reassembly (limits, text
 * frames, frame boundaries) and fragmentation, with wire byte counts equal
 * to fedc_ws_overhead -- the figure the simulation reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/proto.h"
#include "fedc/ws.h"

/* Feeds a message as lws would: frames of `frame` bytes, each delivered in
 * chunks of at most `chunk` bytes. Returns what the last feed returned. */
static int feed_message(fedc_ws_rx *rx, const uint8_t *msg, size_t len, size_t frame, size_t chunk) {
    int r = 0;
    size_t off = 0;
    do {
        size_t flen = len - off < frame ? len - off : frame;
        size_t foff = 0;
        do {
            size_t c = flen - foff < chunk ? flen - foff : chunk;
            size_t left = flen - foff - c;
            int end = left == 0 && off + flen == len;
            fedc_error e;
            r = fedc_ws_rx_feed(rx, msg + off + foff, c, 1, left, end, &e);
            if (r != 0) return r;
            foff += c;
        } while (foff < flen);
        off += flen;
    } while (off < len);
    return r;
}

static void test_rx_reassembles_and_counts_frames(void **state) {
    (void)state;
    size_t len = 3 * FEDC_WS_FRAGMENT_SIZE + 1234;
    uint8_t *msg = malloc(len);
    for (size_t i = 0; i < len; i++) msg[i] = (uint8_t)(i * 31 + 7);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, len, 1);
    assert_int_equal(feed_message(&rx, msg, len, FEDC_WS_FRAGMENT_SIZE, 4096), 1);
    assert_int_equal(rx.msg.len, len);
    assert_memory_equal(rx.msg.data, msg, len);
    /* Four frames, masked: the same as the simulation's figure. */
    assert_int_equal(rx.wire, len + fedc_ws_overhead(len, 1, FEDC_WS_FRAGMENT_SIZE));
    assert_int_equal(rx.wire, fedc_ws_wire_bytes(len, 1));
    fedc_ws_rx_next(&rx);
    /* A small message in one frame, one chunk. */
    assert_int_equal(feed_message(&rx, msg, 100, 100, 100), 1);
    assert_int_equal(rx.wire, 100 + 2 + 4);
    fedc_ws_rx_free(&rx);
    free(msg);
}

static void test_rx_refuses_oversized_before_buffering(void **state) {
    (void)state;
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 1000, 1);
    uint8_t chunk[10] = {0};
    fedc_error e;
    /* The frame header announces far more than the limit. */
    assert_int_equal(fedc_ws_rx_feed(&rx, chunk, sizeof chunk, 1, 1u << 30, 0, &e), -1);
    assert_non_null(strstr(e.msg, "exceeds the limit of 1000 bytes"));
    assert_int_equal(rx.msg.len, 0);
    fedc_ws_rx_free(&rx);
    /* Many small frames that together exceed it. */
    fedc_ws_rx_init(&rx, 1000, 1);
    int r = 0;
    for (int i = 0; i < 200 && r == 0; i++) r = fedc_ws_rx_feed(&rx, chunk, sizeof chunk, 1, 0, 0, &e);
    assert_int_equal(r, -1);
    assert_true(rx.msg.len <= 1000);
    fedc_ws_rx_free(&rx);
}

static void test_rx_refuses_text_and_inconsistent_end(void **state) {
    (void)state;
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 1000, 0);
    fedc_error e;
    assert_int_equal(fedc_ws_rx_feed(&rx, (const uint8_t *)"hi", 2, 0, 0, 1, &e), -1);
    assert_non_null(strstr(e.msg, "text WebSocket frame"));
    assert_int_equal(fedc_ws_rx_feed(&rx, (const uint8_t *)"hi", 2, 1, 5, 1, &e), -1);
    fedc_ws_rx_free(&rx);
}

static void test_rx_empty_message(void **state) {
    (void)state;
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 10, 0);
    fedc_error e;
    assert_int_equal(fedc_ws_rx_feed(&rx, NULL, 0, 1, 0, 1, &e), 1);
    assert_int_equal(rx.msg.len, 0);
    assert_int_equal(rx.wire, 2);
    fedc_ws_rx_free(&rx);
}

static void test_txq_fragments_and_counts(void **state) {
    (void)state;
    size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 65537, 3 * 65536, 200003};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int masked = 0; masked < 2; masked++) {
            size_t len = sizes[k];
            uint8_t *d = malloc(len + 1);
            for (size_t i = 0; i < len; i++) d[i] = (uint8_t)i;
            fedc_ws_txq q;
            fedc_ws_txq_init(&q);
            assert_int_equal(fedc_ws_txq_push(&q, fedc_ws_payload_copy(d, len), 42), 0);
            uint8_t *back = malloc(len + 1);
            size_t got = 0, frames = 0;
            uint64_t tag = 0, wire = 0;
            int done = 0;
            fedc_ws_fragment f;
            while (!done && fedc_ws_txq_peek(&q, &f)) {
                assert_true(f.len <= FEDC_WS_FRAGMENT_SIZE);
                assert_int_equal(f.first, frames == 0);
                memcpy(back + got, f.data, f.len);
                got += f.len;
                frames++;
                done = fedc_ws_txq_advance(&q, masked, &tag, &wire);
                assert_int_equal(done, f.last);
            }
            assert_true(done);
            assert_int_equal(got, len);
            if (len) assert_memory_equal(back, d, len);
            assert_int_equal(tag, 42);
            assert_int_equal(wire, len + fedc_ws_overhead(len, masked, FEDC_WS_FRAGMENT_SIZE));
            assert_int_equal(wire, fedc_ws_wire_bytes(len, masked));
            assert_int_equal(q.count, 0);
            fedc_ws_txq_free(&q);
            free(d);
            free(back);
        }
    }
}

static void test_txq_shares_payloads_and_keeps_order(void **state) {
    (void)state;
    fedc_ws_payload *p = fedc_ws_payload_copy("abc", 3);
    fedc_ws_txq a, b;
    fedc_ws_txq_init(&a);
    fedc_ws_txq_init(&b);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(fedc_ws_txq_push(&a, fedc_ws_payload_ref(p), (uint64_t)i), 0);
        assert_int_equal(fedc_ws_txq_push(&b, fedc_ws_payload_ref(p), (uint64_t)i), 0);
    }
    fedc_ws_payload_unref(p);
    for (int i = 0; i < 10; i++) {
        uint64_t tag, wire;
        assert_int_equal(fedc_ws_txq_advance(&a, 0, &tag, &wire), 1);
        assert_int_equal(tag, (uint64_t)i);
        assert_int_equal(wire, 5);
    }
    /* The second queue still holds valid references; freeing drops them. */
    fedc_ws_fragment f;
    assert_int_equal(fedc_ws_txq_peek(&b, &f), 1);
    assert_memory_equal(f.data, "abc", 3);
    fedc_ws_txq_free(&b);
    fedc_ws_txq_free(&a);
}

static void test_query_and_headers(void **state) {
    (void)state;
    char v[16];
    assert_int_equal(fedc_http_query_get("run=12&since=3", "since", v, sizeof v), 1);
    assert_string_equal(v, "3");
    assert_int_equal(fedc_http_query_get("run=12&since=3", "run", v, sizeof v), 2);
    assert_string_equal(v, "12");
    assert_int_equal(fedc_http_query_get("runx=1", "run", v, sizeof v), -1);
    assert_int_equal(fedc_http_query_get("", "run", v, sizeof v), -1);
    assert_int_equal(fedc_http_query_get("flag", "flag", v, sizeof v), 0);
    assert_int_equal(fedc_http_query_get("a=0123456789012345678", "a", v, sizeof v), 15);
    fedc_http_response r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < FEDC_HTTP_MAX_HEADERS + 3; i++) fedc_http_add_header(&r, "x-n", "%d", i);
    assert_int_equal(r.nheaders, FEDC_HTTP_MAX_HEADERS);
    assert_string_equal(r.headers[2].value, "2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_reassembles_and_counts_frames),
        cmocka_unit_test(test_rx_refuses_oversized_before_buffering),
        cmocka_unit_test(test_rx_refuses_text_and_inconsistent_end),
        cmocka_unit_test(test_rx_empty_message),
        cmocka_unit_test(test_txq_fragments_and_counts),
        cmocka_unit_test(test_txq_shares_payloads_and_keeps_order),
        cmocka_unit_test(test_query_and_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
