/* The node's side of RFC 6455 without sockets: frame headers and masking
 * against the byte count the simulation uses, the deframer on streams cut
 * at every position (control frames between fragments included) and on
 * every kind of frame a server must not send, the opening handshake, and
 * the reassembly buffer sized from the length the fedc frame announces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

/* ---- frame headers and masking ---------------------------------------------- */

static void test_header_matches_overhead(void **state) {
    (void)state;
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000, ((uint64_t)1 << 32) + 5};
    const uint8_t key[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (int masked = 0; masked < 2; masked++) {
            uint8_t h[FEDC_WS_MAX_HEADER];
            size_t n = fedc_ws_frame_header(h, FEDC_WS_OP_BINARY, 1, lens[i], masked ? key : NULL);
            assert_int_equal(n, fedc_ws_overhead((size_t)lens[i], masked, 0));
            assert_int_equal(h[0], 0x82);
            assert_int_equal((h[1] & 0x80) != 0, masked);
            if (masked) assert_memory_equal(h + n - 4, key, 4);
        }
    uint8_t h[FEDC_WS_MAX_HEADER];
    fedc_ws_frame_header(h, FEDC_WS_OP_CONT, 0, 300, NULL);
    assert_int_equal(h[0], 0x00);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 300);
}

static void test_mask_copy(void **state) {
    (void)state;
    const uint8_t key[4] = {0xA5, 0x01, 0xFF, 0x3C};
    uint8_t src[1000], dst[1000], back[1000];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 7 + 3);
    for (size_t len = 0; len < 40; len++) {
        fedc_ws_mask_copy(dst, src, len, key);
        for (size_t i = 0; i < len; i++) assert_int_equal(dst[i], src[i] ^ key[i % 4]);
    }
    fedc_ws_mask_copy(dst, src, sizeof src, key);
    fedc_ws_mask_copy(back, dst, sizeof dst, key);
    assert_memory_equal(back, src, sizeof src);
    memcpy(back, src, sizeof src); /* in place */
    fedc_ws_mask_copy(back, back, sizeof back, key);
    assert_memory_equal(back, dst, sizeof dst);
}

/* ---- the deframer --------------------------------------------------------------- */

typedef struct stream {
    uint8_t *p;
    size_t len, cap;
} stream;

static void put(stream *s, const void *p, size_t n) {
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->p = realloc(s->p, s->cap);
        assert_non_null(s->p);
    }
    if (n) memcpy(s->p + s->len, p, n);
    s->len += n;
}

static void put_frame(stream *s, int op, int fin, const uint8_t *payload, size_t n) {
    uint8_t h[FEDC_WS_MAX_HEADER];
    put(s, h, fedc_ws_frame_header(h, op, fin, n, NULL));
    put(s, payload, n);
}

/* What a stream decodes to: messages (joined), their wire bytes, and the
 * control frames in order as "op:payload" text. */
typedef struct outcome {
    fedc_buf msgs[4];
    uint64_t wire[4];
    int nmsg;
    char control[256];
    int r; /* -1 on refusal */
    char err[FEDC_ERROR_MAX];
} outcome;

static void decode_in_pieces(const stream *s, size_t piece, outcome *o) {
    memset(o, 0, sizeof *o);
    fedc_ws_deframer d;
    fedc_ws_deframer_init(&d);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 1 << 20, 0);
    for (size_t off = 0; off < s->len && o->r == 0; off += piece) {
        const uint8_t *in = s->p + off;
        size_t len = s->len - off < piece ? s->len - off : piece;
        fedc_ws_chunk ch;
        fedc_error e;
        int r;
        while ((r = fedc_ws_deframe(&d, &in, &len, &ch, &e)) == 1) {
            if (ch.opcode == FEDC_WS_OP_BINARY || ch.opcode == FEDC_WS_OP_TEXT) {
                int m = fedc_ws_rx_feed(&rx, ch.data, ch.len, ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left,
                                        ch.message_end, &e);
                if (m < 0) {
                    o->r = -1;
                    snprintf(o->err, sizeof o->err, "%s", e.msg);
                    break;
                }
                if (m == 1) {
                    assert_true(o->nmsg < 4);
                    fedc_buf_append(&o->msgs[o->nmsg], rx.msg.data, rx.msg.len);
                    o->wire[o->nmsg++] = rx.wire;
                    fedc_ws_rx_next(&rx);
                }
            } else {
                size_t at = strlen(o->control);
                snprintf(o->control + at, sizeof o->control - at, "%x:%.*s;", ch.opcode, (int)ch.len,
                         (const char *)ch.data);
            }
        }
        if (r < 0) {
            o->r = -1;
            snprintf(o->err, sizeof o->err, "%s", e.msg);
        } else {
            assert_int_equal(len, 0); /* 0 means all input consumed */
        }
    }
    fedc_ws_rx_free(&rx);
}

static void outcome_free(outcome *o) {
    for (int i = 0; i < 4; i++) fedc_buf_free(&o->msgs[i]);
}

static void test_deframe_any_split(void **state) {
    (void)state;
    uint8_t *big = malloc(70000);
    for (size_t i = 0; i < 70000; i++) big[i] = (uint8_t)(i * 31);
    stream s = {0};
    /* 1: a binary message in three fragments, a PING and a PONG between them. */
    put_frame(&s, FEDC_WS_OP_BINARY, 0, big, 300);
    put_frame(&s, FEDC_WS_OP_PING, 1, (const uint8_t *)"hi", 2);
    put_frame(&s, FEDC_WS_OP_CONT, 0, big + 300, 69000);
    put_frame(&s, FEDC_WS_OP_PONG, 1, NULL, 0);
    put_frame(&s, FEDC_WS_OP_CONT, 1, big + 69300, 700);
    /* 2: a one-byte message; 3: an empty message ended by an empty frame. */
    put_frame(&s, FEDC_WS_OP_BINARY, 1, (const uint8_t *)"x", 1);
    put_frame(&s, FEDC_WS_OP_BINARY, 0, NULL, 0);
    put_frame(&s, FEDC_WS_OP_CONT, 1, NULL, 0);
    /* and a CLOSE with a status and a reason */
    put_frame(&s, FEDC_WS_OP_CLOSE, 1, (const uint8_t *)"\x03\xe8" "bye", 5);
    uint64_t wire0 = 300 + 4 + 69000 + 10 + 700 + 4; /* 69000 needs the 64-bit length */
    static const size_t pieces[] = {1, 2, 3, 7, 13, 4096, 65536, 1 << 20};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        outcome o;
        decode_in_pieces(&s, pieces[k], &o);
        assert_int_equal(o.r, 0);
        assert_int_equal(o.nmsg, 3);
        assert_int_equal(o.msgs[0].len, 70000);
        assert_memory_equal(o.msgs[0].data, big, 70000);
        assert_int_equal(o.wire[0], wire0);
        assert_int_equal(o.msgs[1].len, 1);
        assert_int_equal(o.wire[1], 3);
        assert_int_equal(o.msgs[2].len, 0);
        assert_int_equal(o.wire[2], 4);
        assert_string_equal(o.control, "9:hi;a:;8:\x03\xe8" "bye;");
        outcome_free(&o);
    }
    free(s.p);
    free(big);
}

static void test_deframe_text_reaches_reassembly(void **state) {
    (void)state;
    stream s = {0};
    put_frame(&s, FEDC_WS_OP_TEXT, 1, (const uint8_t *)"{}", 2);
    outcome o;
    decode_in_pieces(&s, 1, &o);
    assert_int_equal(o.r, -1);
    assert_non_null(strstr(o.err, "text WebSocket frame refused"));
    outcome_free(&o);
    free(s.p);
}

static void expect_refusal(const uint8_t *bytes, size_t n, const char *what) {
    stream s = {0};
    put(&s, bytes, n);
    for (size_t piece = 1; piece <= n; piece += n - 1 ? n - 1 : 1) {
        outcome o;
        decode_in_pieces(&s, piece, &o);
        if (o.r != -1 || !strstr(o.err, what)) fail_msg("expected a refusal naming \"%s\", got \"%s\"", what, o.err);
        outcome_free(&o);
    }
    free(s.p);
}

static void test_deframe_refusals(void **state) {
    (void)state;
    expect_refusal((const uint8_t *)"\xC2\x00", 2, "reserved bits 0x40");
    expect_refusal((const uint8_t *)"\x82\x81\x01\x02\x03\x04\x00", 7, "masked");
    expect_refusal((const uint8_t *)"\x83\x00", 2, "reserved opcode 0x3");
    expect_refusal((const uint8_t *)"\x8B\x00", 2, "reserved opcode 0xb");
    expect_refusal((const uint8_t *)"\x09\x00", 2, "fragmented WebSocket ping");
    expect_refusal((const uint8_t *)"\x88\x7E\x00\x80", 4, "at most 125");
    expect_refusal((const uint8_t *)"\x80\x01x", 3, "continuation frame without a message");
    expect_refusal((const uint8_t *)"\x02\x01x\x82\x01y", 6, "new binary WebSocket message while");
    expect_refusal((const uint8_t *)"\x82\x7E\x00\x64", 4, "lengths below 126 must use 7");
    expect_refusal((const uint8_t *)"\x82\x7F\x00\x00\x00\x00\x00\x00\xFF\xFF", 10, "up to 65535 must use 16");
    expect_refusal((const uint8_t *)"\x82\x7F\x80\x00\x00\x00\x00\x00\x00\x00", 10, "most significant bit");
}

/* A frame larger than the receiver's limit is refused at its first
 * payload byte, from the length its header announces. */
static void test_deframe_oversized_refused_early(void **state) {
    (void)state;
    const uint8_t hdr[] = {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0, 'x'}; /* 2^32 bytes announced */
    fedc_ws_deframer d;
    fedc_ws_deframer_init(&d);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 1 << 20, 0);
    const uint8_t *in = hdr;
    size_t len = sizeof hdr;
    fedc_ws_chunk ch;
    fedc_error e;
    assert_int_equal(fedc_ws_deframe(&d, &in, &len, &ch, &e), 1);
    assert_int_equal(ch.len, 1);
    assert_int_equal(ch.frame_left, ((size_t)1 << 32) - 1);
    assert_int_equal(fedc_ws_rx_feed(&rx, ch.data, ch.len, 1, ch.frame_left, ch.message_end, &e), -1);
    assert_non_null(strstr(e.msg, "exceeds the limit"));
    assert_null(rx.msg.data);
    fedc_ws_rx_free(&rx);
}

/* ---- the opening handshake -------------------------------------------------- */

static void test_handshake_accept_rfc_example(void **state) {
    (void)state;
    char out[29];
    fedc_ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 section 1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char k1[FEDC_WS_KEY_LEN + 1], k2[FEDC_WS_KEY_LEN + 1];
    assert_int_equal(fedc_ws_handshake_key(k1), 0);
    assert_int_equal(fedc_ws_handshake_key(k2), 0);
    assert_int_equal(strlen(k1), FEDC_WS_KEY_LEN);
    assert_string_not_equal(k1, k2);
}

static void test_handshake_request(void **state) {
    (void)state;
    char req[512];
    int n = fedc_ws_handshake_request(req, sizeof req, "127.0.0.1", 8443, "/node", "KEY", "fedc-node");
    assert_true(n > 0 && (size_t)n == strlen(req));
    assert_non_null(strstr(req, "GET /node HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "\r\nHost: 127.0.0.1:8443\r\n"));
    assert_non_null(strstr(req, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(req, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(req, "\r\nSec-WebSocket-Key: KEY\r\n"));
    assert_non_null(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(req, "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n"));
    assert_int_equal(fedc_ws_handshake_end((const uint8_t *)req, (size_t)n), (size_t)n);
    assert_int_equal(fedc_ws_handshake_end((const uint8_t *)req, (size_t)n - 1), 0);
    fedc_ws_handshake_request(req, sizeof req, "::1", 80, "/", "K", "p");
    assert_non_null(strstr(req, "Host: [::1]:80\r\n"));
    assert_int_equal(fedc_ws_handshake_request(req, 40, "127.0.0.1", 8443, "/node", "KEY", "fedc-node"), -1);
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static int check(const char *resp, fedc_error *e) {
    return fedc_ws_handshake_check((const uint8_t *)resp, strlen(resp), KEY, "fedc-node", e);
}

static void expect_check_fails(const char *resp, const char *what) {
    fedc_error e;
    if (check(resp, &e) != -1 || !strstr(e.msg, what))
        fail_msg("expected a refusal naming \"%s\" for:\n%s", what, resp);
}

static void test_handshake_check(void **state) {
    (void)state;
    fedc_error e;
    assert_int_equal(check("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                           &e),
                     0);
    /* Names and the Upgrade value are case-insensitive; Connection is a list. */
    assert_int_equal(check("HTTP/1.1 101\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
                           "sec-websocket-accept:" ACCEPT "  \r\nsec-websocket-protocol: fedc-node\r\n\r\n",
                           &e),
                     0);
    expect_check_fails("HTTP/1.1 403 Forbidden\r\n\r\n", "\"HTTP/1.1 403 Forbidden\" instead of switching");
    expect_check_fails("SSH-2.0-OpenSSH\r\n\r\n", "instead of switching");
    expect_check_fails("HTTP/1.1 101 x\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                       "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                       "Upgrade: websocket");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Accept: " ACCEPT
                       "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                       "Connection: Upgrade");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA"
                       "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                       "does not answer our key");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Protocol: fedc-node\r\n\r\n",
                       "lacks Sec-WebSocket-Accept");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                       "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                       "subprotocol \"chat\"");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                       "\r\n\r\n",
                       "does not confirm subprotocol");
    expect_check_fails("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                       "\r\nSec-WebSocket-Protocol: fedc-node\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                       "extension \"permessage-deflate\"");
    expect_check_fails("HTTP/1.1 101 x\r\nno colon here\r\n\r\n", "malformed header line \"no colon here\"");
    /* Control characters from the peer never reach the message as they are. */
    expect_check_fails("HTTP/1.1 500 \x1b[31mred\r\n\r\n", "500 ?[31mred");
}

/* ---- buffer sized from the announced frame length ------------------------------ */

/* A fedc frame with one blob of n bytes. */
static void make_frame(fedc_buf *out, size_t n) {
    uint8_t *blob = calloc(n ? n : 1, 1);
    fedc_msg m = {.type = FEDC_MSG_UPDATE, .json = "{\"round\":1}", .json_len = 11, .nblobs = 1};
    m.blobs[0] = (fedc_blob){blob, n};
    assert_int_equal(fedc_msg_encode(&m, out, NULL), 0);
    free(blob);
}

static void test_rx_sized_once_from_announced_length(void **state) {
    (void)state;
    fedc_buf f = {0};
    make_frame(&f, 800000);
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 4 << 20, 1);
    fedc_error e;
    /* 64 KiB fragments delivered in 16 KiB chunks, as a TLS server reads them. */
    size_t off = 0, caps_seen = 0, last_cap = 0;
    while (off < f.len) {
        size_t frag = f.len - off < FEDC_WS_FRAGMENT_SIZE ? f.len - off : FEDC_WS_FRAGMENT_SIZE;
        for (size_t k = 0; k < frag; k += 16384) {
            size_t n = frag - k < 16384 ? frag - k : 16384;
            int last = off + k + n == f.len;
            int r = fedc_ws_rx_feed(&rx, f.data + off + k, n, 1, frag - k - n, last, &e);
            assert_int_equal(r, last ? 1 : 0);
            if (rx.msg.cap != last_cap) {
                caps_seen++;
                last_cap = rx.msg.cap;
            }
        }
        off += frag;
    }
    assert_int_equal(caps_seen, 1);
    assert_int_equal(rx.msg.cap, f.len);
    assert_memory_equal(rx.msg.data, f.data, f.len);
    assert_int_equal(rx.wire, fedc_ws_wire_bytes(f.len, 1));
    fedc_ws_rx_free(&rx);

    /* A length the limit does not allow: sized to the limit, then refused
     * when the data really exceeds it. */
    fedc_ws_rx_init(&rx, 100000, 1);
    assert_int_equal(fedc_ws_rx_feed(&rx, f.data, 16384, 1, FEDC_WS_FRAGMENT_SIZE - 16384, 0, &e), 0);
    assert_int_equal(rx.msg.cap, 100000);
    assert_int_equal(fedc_ws_rx_feed(&rx, f.data + 16384, FEDC_WS_FRAGMENT_SIZE - 16384, 1, 0, 0, &e), 0);
    assert_int_equal(fedc_ws_rx_feed(&rx, f.data + FEDC_WS_FRAGMENT_SIZE, 16384, 1, FEDC_WS_FRAGMENT_SIZE - 16384, 0,
                                     &e),
                     -1);
    assert_non_null(strstr(e.msg, "exceeds the limit of 100000"));
    fedc_ws_rx_free(&rx);
    fedc_buf_free(&f);
}

/* A peer announcing far more than it sends gains at most 64 MiB of room,
 * and the message it really sends still arrives intact. */
static void test_rx_announced_length_is_not_trusted(void **state) {
    (void)state;
    fedc_buf f = {0};
    make_frame(&f, 1000);
    /* claim a 900 MB blob */
    uint32_t json_len = (uint32_t)f.data[5] | (uint32_t)f.data[6] << 8;
    size_t at = 9 + json_len + 2;
    uint32_t lie = 900u << 20;
    for (int i = 0; i < 4; i++) f.data[at + (size_t)i] = (uint8_t)(lie >> (8 * i));
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, (size_t)1 << 30, 0);
    fedc_error e;
    assert_int_equal(fedc_ws_rx_feed(&rx, f.data, 100, 1, 0, 0, &e), 0);
    assert_true(rx.msg.cap <= 100 + ((size_t)64 << 20));
    assert_int_equal(fedc_ws_rx_feed(&rx, f.data + 100, f.len - 100, 1, 0, 1, &e), 1);
    assert_int_equal(rx.msg.len, f.len);
    assert_memory_equal(rx.msg.data, f.data, f.len);
    fedc_ws_rx_free(&rx);
    fedc_buf_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_matches_overhead),
        cmocka_unit_test(test_mask_copy),
        cmocka_unit_test(test_deframe_any_split),
        cmocka_unit_test(test_deframe_text_reaches_reassembly),
        cmocka_unit_test(test_deframe_refusals),
        cmocka_unit_test(test_deframe_oversized_refused_early),
        cmocka_unit_test(test_handshake_accept_rfc_example),
        cmocka_unit_test(test_handshake_request),
        cmocka_unit_test(test_handshake_check),
        cmocka_unit_test(test_rx_sized_once_from_announced_length),
        cmocka_unit_test(test_rx_announced_length_is_not_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
