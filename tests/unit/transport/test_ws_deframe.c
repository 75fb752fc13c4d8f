/* The node's side of RFC 6455 without sockets: frame headers and masking
 * against the byte count the simulation uses, the deframer on streams cut
 * at every position (control frames between fragments included) and on
 * every kind of frame a server must not send, the opening handshake, and
 * the reassembly buffer sized from the length the fedc frame announces.
 * The server's side too: a node's masked frames (data handed out still
 * masked, with the key and phase; control payloads unmasked), unmasking
 * from any phase, and masked reassembly. */
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

/* A client's frame: the header written by hand (so the tests do not rely
 * on fedc_ws_frame_header for the masked layout) and the payload masked
 * byte by byte, as RFC 6455 section 5.3 defines it. */
static void put_masked_frame(stream *s, int op, int fin, const uint8_t *payload, size_t n, const uint8_t key[4]) {
    uint8_t h[FEDC_WS_MAX_HEADER];
    size_t hl = 0;
    h[hl++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        h[hl++] = (uint8_t)(0x80 | n);
    } else if (n <= 0xFFFF) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(h + hl, key, 4);
    hl += 4;
    put(s, h, hl);
    uint8_t *m = malloc(n ? n : 1);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) m[i] = payload[i] ^ key[i % 4];
    put(s, m, n);
    free(m);
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

/* A deframer and reassembly for one role. The server's decoder unmasks
 * data with fedc_ws_rx_feed_masked and checks every data chunk's mask and
 * mask phase against the chunk's offset in its frame. */
typedef struct decoder {
    fedc_ws_deframer d;
    fedc_ws_rx rx;
    int server;
    size_t fpos; /* payload of the current data frame handed over so far */
    outcome *o;
} decoder;

static void dec_init(decoder *dc, int server, outcome *o) {
    memset(o, 0, sizeof *o);
    memset(dc, 0, sizeof *dc);
    dc->server = server;
    dc->o = o;
    if (server)
        fedc_ws_deframer_init_server(&dc->d);
    else
        fedc_ws_deframer_init(&dc->d);
    fedc_ws_rx_init(&dc->rx, 1 << 20, server);
}

/* Feeds one read; stops at the first refusal (o->r = -1). */
static void dec_feed(decoder *dc, const uint8_t *in, size_t len) {
    outcome *o = dc->o;
    if (o->r) return;
    fedc_ws_chunk ch;
    fedc_error e;
    int r;
    while ((r = fedc_ws_deframe(&dc->d, &in, &len, &ch, &e)) == 1) {
        if (ch.opcode == FEDC_WS_OP_BINARY || ch.opcode == FEDC_WS_OP_TEXT) {
            if (dc->server) {
                assert_non_null(ch.mask);
                assert_int_equal(ch.mask_phase, dc->fpos % 4);
            } else {
                assert_null(ch.mask);
            }
            dc->fpos = ch.frame_left ? dc->fpos + ch.len : 0;
            int m = fedc_ws_rx_feed_masked(&dc->rx, ch.data, ch.len, ch.mask, ch.mask_phase,
                                           ch.opcode == FEDC_WS_OP_BINARY, ch.frame_left, ch.message_end, &e);
            if (m < 0) {
                o->r = -1;
                snprintf(o->err, sizeof o->err, "%s", e.msg);
                return;
            }
            if (m == 1) {
                assert_true(o->nmsg < 4);
                fedc_buf_append(&o->msgs[o->nmsg], dc->rx.msg.data, dc->rx.msg.len);
                o->wire[o->nmsg++] = dc->rx.wire;
                fedc_ws_rx_next(&dc->rx);
            }
        } else {
            assert_null(ch.mask); /* control payloads arrive unmasked */
            assert_true(ch.len <= FEDC_WS_MAX_CONTROL);
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

static void dec_free(decoder *dc) { fedc_ws_rx_free(&dc->rx); }

static void decode_role(const stream *s, size_t piece, int server, outcome *o) {
    decoder dc;
    dec_init(&dc, server, o);
    for (size_t off = 0; off < s->len && o->r == 0; off += piece)
        dec_feed(&dc, s->p + off, s->len - off < piece ? s->len - off : piece);
    dec_free(&dc);
}

static void decode_in_pieces(const stream *s, size_t piece, outcome *o) { decode_role(s, piece, 0, o); }

/* The stream in two reads, cut at byte cut. */
static void decode_split(const stream *s, size_t cut, int server, outcome *o) {
    decoder dc;
    dec_init(&dc, server, o);
    dec_feed(&dc, s->p, cut);
    dec_feed(&dc, s->p + cut, s->len - cut);
    dec_free(&dc);
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

/* ---- the server's deframer: a node's masked frames ------------------------------ */

static const uint8_t KEY_A[4] = {0x37, 0xFA, 0x21, 0x3D}; /* the key of RFC 6455 section 5.7 */
static const uint8_t KEY_B[4] = {0x00, 0xFF, 0x5A, 0xC3};
static const uint8_t KEY_C[4] = {0x81, 0x7E, 0x01, 0x40};

static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 131 + seed + (i >> 8));
    return p;
}

/* The RFC's own example (section 5.7): a masked "Hello" as a node sends
 * it; the chunk is handed out still masked, with the frame's key. */
static void test_server_deframe_rfc_example(void **state) {
    (void)state;
    const uint8_t frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    fedc_ws_deframer d;
    fedc_ws_deframer_init_server(&d);
    const uint8_t *in = frame;
    size_t len = sizeof frame;
    fedc_ws_chunk ch;
    fedc_error e;
    assert_int_equal(fedc_ws_deframe(&d, &in, &len, &ch, &e), 1);
    assert_int_equal(len, 0);
    assert_int_equal(ch.opcode, FEDC_WS_OP_TEXT);
    assert_int_equal(ch.len, 5);
    assert_ptr_equal(ch.data, frame + 6);
    assert_int_equal(ch.frame_left, 0);
    assert_true(ch.message_end);
    assert_non_null(ch.mask);
    assert_memory_equal(ch.mask, KEY_A, 4);
    assert_int_equal(ch.mask_phase, 0);
    assert_memory_equal(ch.data, frame + 6, 5); /* still masked */
    uint8_t plain[5];
    fedc_ws_mask_copy_at(plain, ch.data, ch.len, ch.mask, ch.mask_phase);
    assert_memory_equal(plain, "Hello", 5);
    /* the same payload in three reads: phases 0, 2, 3 */
    fedc_ws_deframer_init_server(&d);
    const size_t cuts[] = {8, 9, sizeof frame};
    size_t at = 0, got = 0, phases[3] = {9, 9, 9};
    for (int k = 0; k < 3; k++) {
        in = frame + at;
        len = cuts[k] - at;
        at = cuts[k];
        while (fedc_ws_deframe(&d, &in, &len, &ch, &e) == 1) {
            phases[k] = ch.mask_phase; /* one chunk per read */
            fedc_ws_mask_copy_at(plain + got, ch.data, ch.len, ch.mask, ch.mask_phase);
            got += ch.len;
        }
        assert_int_equal(len, 0);
    }
    assert_int_equal(got, 5);
    assert_memory_equal(plain, "Hello", 5);
    assert_int_equal(phases[0], 0);
    assert_int_equal(phases[1], 2);
    assert_int_equal(phases[2], 3);
}

/* A masked binary frame cut at every byte: the reassembled message is the
 * original payload, and its wire bytes count the masked header. */
static void test_server_deframe_every_split(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 5, 125, 126, 301};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *payload = pattern(n, (unsigned)k);
        stream s = {0};
        put_masked_frame(&s, FEDC_WS_OP_BINARY, 1, payload, n, KEY_A);
        for (size_t cut = 0; cut <= s.len; cut++) {
            outcome o;
            decode_split(&s, cut, 1, &o);
            if (o.r != 0) fail_msg("%zu-byte frame cut at %zu refused: %s", n, cut, o.err);
            assert_int_equal(o.nmsg, 1);
            assert_int_equal(o.msgs[0].len, n);
            assert_memory_equal(o.msgs[0].data, payload, n);
            assert_int_equal(o.wire[0], n + fedc_ws_overhead(n, 1, 0));
            assert_int_equal(o.wire[0], s.len);
            outcome_free(&o);
        }
        for (size_t piece = 1; piece <= 9; piece++) {
            outcome o;
            decode_role(&s, piece, 1, &o);
            assert_int_equal(o.r, 0);
            assert_int_equal(o.nmsg, 1);
            assert_memory_equal(o.msgs[0].data, payload, n);
            outcome_free(&o);
        }
        free(s.p);
        free(payload);
    }
}

/* 16-bit and 64-bit lengths with a mask: header 8 and 14 bytes. */
static void test_server_deframe_long_lengths(void **state) {
    (void)state;
    static const size_t sizes[] = {126, 1001, 65535, 65536, 70001};
    static const size_t pieces[] = {1, 3, 7, 4096, 16384, 1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *payload = pattern(n, 7u + (unsigned)k);
        stream s = {0};
        put_masked_frame(&s, FEDC_WS_OP_BINARY, 1, payload, n, KEY_B);
        assert_int_equal(s.len - n, n <= 0xFFFF ? 8 : 14);
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            outcome o;
            decode_role(&s, pieces[p], 1, &o);
            if (o.r != 0) fail_msg("%zu bytes in %zu-byte reads refused: %s", n, pieces[p], o.err);
            assert_int_equal(o.nmsg, 1);
            assert_int_equal(o.msgs[0].len, n);
            assert_memory_equal(o.msgs[0].data, payload, n);
            assert_int_equal(o.wire[0], s.len);
            assert_int_equal(o.wire[0], n + fedc_ws_overhead(n, 1, 0));
            outcome_free(&o);
        }
        free(s.p);
        free(payload);
    }
}

static void expect_refusal_role(int server, const uint8_t *bytes, size_t n, const char *what) {
    stream s = {0};
    put(&s, bytes, n);
    for (size_t piece = 1; piece <= n; piece += n - 1 ? n - 1 : 1) {
        outcome o;
        decode_role(&s, piece, server, &o);
        if (o.r != -1 || !strstr(o.err, what))
            fail_msg("expected a refusal naming \"%s\" (%s role), got \"%s\"", what, server ? "server" : "node",
                     o.err);
        outcome_free(&o);
    }
    free(s.p);
}

static void test_server_deframe_refusals(void **state) {
    (void)state;
    /* an unmasked frame from a node, refused at its second byte */
    expect_refusal_role(1, (const uint8_t *)"\x82\x01x", 3, "unmasked WebSocket frame from the node");
    expect_refusal_role(1, (const uint8_t *)"\x82\x05", 2, "unmasked");
    expect_refusal_role(1, (const uint8_t *)"\x89\x00", 2, "unmasked");
    /* the other checks hold for masked frames too, and name the node */
    expect_refusal_role(1, (const uint8_t *)"\xC2\x80\x01\x02\x03\x04", 6, "from the node sets reserved bits 0x40");
    expect_refusal_role(1, (const uint8_t *)"\x83\x80\x01\x02\x03\x04", 6, "reserved opcode 0x3");
    expect_refusal_role(1, (const uint8_t *)"\x09\x80\x01\x02\x03\x04", 6, "fragmented WebSocket ping");
    expect_refusal_role(1, (const uint8_t *)"\x88\xFE\x00\x80", 4, "at most 125");
    expect_refusal_role(1, (const uint8_t *)"\x80\x81\x01\x02\x03\x04x", 7, "continuation frame without a message");
    expect_refusal_role(1, (const uint8_t *)"\x82\xFE\x00\x64\x01\x02\x03\x04", 8, "lengths below 126 must use 7");
    expect_refusal_role(1, (const uint8_t *)"\x82\xFF\x00\x00\x00\x00\x00\x00\xFF\xFF\x01\x02\x03\x04", 14,
                        "up to 65535 must use 16");
    /* a text frame passes the deframer and is refused by reassembly */
    expect_refusal_role(1, (const uint8_t *)"\x81\x82\x01\x02\x03\x04zz", 8, "text WebSocket frame refused");
    /* the node's own deframer still refuses what a server masks */
    stream s = {0};
    put_masked_frame(&s, FEDC_WS_OP_BINARY, 1, (const uint8_t *)"abc", 3, KEY_A);
    expect_refusal_role(0, s.p, s.len, "masked WebSocket frame from the server");
    free(s.p);
    s = (stream){0};
    put_masked_frame(&s, FEDC_WS_OP_PING, 1, NULL, 0, KEY_A);
    expect_refusal_role(0, s.p, s.len, "RFC 6455 forbids servers to mask");
    free(s.p);
    /* and the server's accepts the same bytes */
    s = (stream){0};
    put_masked_frame(&s, FEDC_WS_OP_BINARY, 1, (const uint8_t *)"abc", 3, KEY_A);
    outcome o;
    decode_role(&s, 1, 1, &o);
    assert_int_equal(o.r, 0);
    assert_int_equal(o.nmsg, 1);
    assert_int_equal(o.msgs[0].len, 3);
    assert_memory_equal(o.msgs[0].data, "abc", 3);
    outcome_free(&o);
    free(s.p);
}

/* Control frames from a node arrive unmasked (the deframer collects them
 * whole and unmasks them): PING, PONG (the RFC's example), CLOSE. */
static void test_server_deframe_control_unmasked(void **state) {
    (void)state;
    stream s = {0};
    put_masked_frame(&s, FEDC_WS_OP_PING, 1, (const uint8_t *)"are you there?", 14, KEY_C);
    /* RFC 6455 section 5.7: "a masked Ping response": PONG "Hello" */
    put(&s, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    put_masked_frame(&s, FEDC_WS_OP_PING, 1, NULL, 0, KEY_B);
    put_masked_frame(&s, FEDC_WS_OP_CLOSE, 1, (const uint8_t *)"\x03\xe8" "bye now", 9, KEY_B);
    uint8_t big[FEDC_WS_MAX_CONTROL];
    memset(big, 'z', sizeof big);
    stream s2 = {0};
    put_masked_frame(&s2, FEDC_WS_OP_PING, 1, big, sizeof big, KEY_A);
    for (size_t piece = 1; piece <= s.len; piece++) {
        outcome o;
        decode_role(&s, piece, 1, &o);
        assert_int_equal(o.r, 0);
        assert_int_equal(o.nmsg, 0);
        assert_string_equal(o.control, "9:are you there?;a:Hello;9:;8:\x03\xe8" "bye now;");
        outcome_free(&o);
    }
    /* the largest control payload, unmasked in place */
    fedc_ws_deframer d;
    fedc_ws_deframer_init_server(&d);
    const uint8_t *in = s2.p;
    size_t len = s2.len;
    fedc_ws_chunk ch;
    fedc_error e;
    assert_int_equal(fedc_ws_deframe(&d, &in, &len, &ch, &e), 1);
    assert_int_equal(ch.opcode, FEDC_WS_OP_PING);
    assert_int_equal(ch.len, sizeof big);
    assert_memory_equal(ch.data, big, sizeof big);
    assert_null(ch.mask);
    free(s.p);
    free(s2.p);
}

/* One binary message in four masked frames (each with its own key, odd
 * lengths so the phases differ), control frames between them, then a
 * second message; cut at every byte and read in pieces of every size. */
static void test_server_deframe_fragmented(void **state) {
    (void)state;
    uint8_t *payload = pattern(5 + 130 + 7 + 0 + 1, 3);
    stream s = {0};
    put_masked_frame(&s, FEDC_WS_OP_BINARY, 0, payload, 5, KEY_A);
    put_masked_frame(&s, FEDC_WS_OP_PING, 1, (const uint8_t *)"hi", 2, KEY_C);
    put_masked_frame(&s, FEDC_WS_OP_CONT, 0, payload + 5, 130, KEY_B);
    put_masked_frame(&s, FEDC_WS_OP_CONT, 0, payload + 135, 7, KEY_C);
    put_masked_frame(&s, FEDC_WS_OP_PONG, 1, (const uint8_t *)"x", 1, KEY_A);
    put_masked_frame(&s, FEDC_WS_OP_CONT, 0, NULL, 0, KEY_A);
    put_masked_frame(&s, FEDC_WS_OP_CONT, 1, payload + 142, 1, KEY_B);
    put_masked_frame(&s, FEDC_WS_OP_BINARY, 1, (const uint8_t *)"second", 6, KEY_C);
    uint64_t wire0 = (5 + 6) + (130 + 8) + (7 + 6) + (0 + 6) + (1 + 6);
    for (size_t cut = 0; cut <= s.len; cut++) {
        for (size_t piece = 1; piece <= 18; piece += cut == 0 ? 1 : 17) {
            outcome o;
            decoder dc;
            dec_init(&dc, 1, &o);
            dec_feed(&dc, s.p, cut);
            for (size_t off = cut; off < s.len && o.r == 0; off += piece)
                dec_feed(&dc, s.p + off, s.len - off < piece ? s.len - off : piece);
            dec_free(&dc);
            if (o.r != 0) fail_msg("cut at %zu, then %zu-byte reads: refused: %s", cut, piece, o.err);
            assert_int_equal(o.nmsg, 2);
            assert_int_equal(o.msgs[0].len, 143);
            assert_memory_equal(o.msgs[0].data, payload, 143);
            assert_int_equal(o.wire[0], wire0);
            assert_int_equal(o.msgs[1].len, 6);
            assert_memory_equal(o.msgs[1].data, "second", 6);
            assert_int_equal(o.wire[1], 12);
            assert_string_equal(o.control, "9:hi;a:x;");
            outcome_free(&o);
        }
    }
    /* a new message inside the fragmented one is refused */
    stream bad = {0};
    put_masked_frame(&bad, FEDC_WS_OP_BINARY, 0, payload, 5, KEY_A);
    put_masked_frame(&bad, FEDC_WS_OP_BINARY, 1, payload, 5, KEY_B);
    expect_refusal_role(1, bad.p, bad.len, "new binary WebSocket message while a fragmented message is unfinished");
    free(bad.p);
    free(s.p);
    free(payload);
}

/* ---- unmasking from any phase, and reassembly of masked data -------------------- */

static void test_mask_copy_at(void **state) {
    (void)state;
    const uint8_t key[4] = {0xA5, 0x01, 0xFF, 0x3C};
    uint8_t src[1100], dst[1100 + 16], ref[1100];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 13 + 5);
    static const size_t phases[] = {0, 1, 2, 3, 4, 5, 6, 7, 1001, 65538};
    static const size_t lens[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 17, 31, 63, 65, 127, 1001, 1099};
    for (size_t p = 0; p < sizeof phases / sizeof phases[0]; p++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (size_t align = 0; align < 8; align++) { /* unaligned source and destination */
                size_t ph = phases[p], len = lens[l];
                if (align + len > sizeof src) continue;
                for (size_t i = 0; i < len; i++) ref[i] = src[align + i] ^ key[(i + ph) % 4];
                memset(dst, 0xEE, sizeof dst);
                fedc_ws_mask_copy_at(dst + 7 - align % 7, src + align, len, key, ph);
                if (len) assert_memory_equal(dst + 7 - align % 7, ref, len);
                /* nothing outside [dst, dst + len) is written */
                for (size_t i = 0; i < 7 - align % 7; i++) assert_int_equal(dst[i], 0xEE);
                for (size_t i = 7 - align % 7 + len; i < sizeof dst; i++) assert_int_equal(dst[i], 0xEE);
            }
    /* phase 0 is fedc_ws_mask_copy; any split of a span, continued at the
     * right phase, equals unmasking it whole */
    uint8_t whole[1001], parts[1001];
    fedc_ws_mask_copy(whole, src, sizeof whole, key);
    fedc_ws_mask_copy_at(parts, src, sizeof parts, key, 0);
    assert_memory_equal(whole, parts, sizeof whole);
    for (size_t cut = 0; cut <= 13; cut++) {
        fedc_ws_mask_copy_at(parts, src, cut, key, 0);
        fedc_ws_mask_copy_at(parts + cut, src + cut, sizeof parts - cut, key, cut);
        assert_memory_equal(parts, whole, sizeof whole);
    }
    /* in place, from phase 3 */
    memcpy(parts, src, sizeof parts);
    fedc_ws_mask_copy_at(parts, parts, 999, key, 3);
    for (size_t i = 0; i < 999; i++) assert_int_equal(parts[i], src[i] ^ key[(i + 3) % 4]);
}

/* fedc_ws_rx_feed_masked unmasks chunks of any length from the phase given. */
static void test_rx_feed_masked(void **state) {
    (void)state;
    const size_t n = 1003;
    uint8_t *plain = pattern(n, 11), *masked = malloc(n);
    for (size_t i = 0; i < n; i++) masked[i] = plain[i] ^ KEY_B[i % 4];
    static const size_t steps[] = {1, 2, 3, 5, 7, 9, 1003};
    fedc_error e;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        fedc_ws_rx rx;
        fedc_ws_rx_init(&rx, 1 << 20, 1);
        int r = 0;
        for (size_t off = 0; off < n; off += steps[k]) {
            size_t len = n - off < steps[k] ? n - off : steps[k];
            r = fedc_ws_rx_feed_masked(&rx, masked + off, len, KEY_B, off % 4, 1, n - off - len, off + len == n, &e);
            assert_int_equal(r, off + len == n ? 1 : 0);
        }
        assert_int_equal(rx.msg.len, n);
        assert_memory_equal(rx.msg.data, plain, n);
        assert_int_equal(rx.wire, n + 8); /* 16-bit length + mask */
        /* the next message after fedc_ws_rx_next, from phase 2 of its frame */
        fedc_ws_rx_next(&rx);
        uint8_t m2[3] = {'a' ^ KEY_A[2], 'b' ^ KEY_A[3], 'c' ^ KEY_A[0]};
        assert_int_equal(fedc_ws_rx_feed_masked(&rx, m2, 3, KEY_A, 2, 1, 0, 1, &e), 1);
        assert_int_equal(rx.msg.len, 3);
        assert_memory_equal(rx.msg.data, "abc", 3);
        fedc_ws_rx_free(&rx);
    }
    /* mask NULL: the data is taken as it is (fedc_ws_rx_feed) */
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 1 << 20, 0);
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, plain, 10, NULL, 3, 1, 0, 1, &e), 1);
    assert_memory_equal(rx.msg.data, plain, 10);
    assert_int_equal(rx.wire, 12);
    fedc_ws_rx_free(&rx);
    /* refusals are the same as for unmasked data */
    fedc_ws_rx_init(&rx, 100, 1);
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, masked, 10, KEY_B, 0, 0, 0, 1, &e), -1);
    assert_non_null(strstr(e.msg, "text WebSocket frame refused"));
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, masked, 10, KEY_B, 0, 1, 91, 0, &e), -1);
    assert_non_null(strstr(e.msg, "exceeds the limit of 100"));
    assert_int_equal(rx.msg.len, 0);
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, masked, 10, KEY_B, 0, 1, 90, 0, &e), 0);
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, masked + 10, 90, KEY_B, 2, 1, 0, 1, &e), 1);
    assert_int_equal(rx.msg.len, 100);
    for (size_t i = 0; i < 10; i++) assert_int_equal(rx.msg.data[i], plain[i]);
    for (size_t i = 10; i < 100; i++) assert_int_equal(rx.msg.data[i], masked[i] ^ KEY_B[(i - 10 + 2) % 4]);
    fedc_ws_rx_free(&rx);
    free(plain);
    free(masked);
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


/* The same with a node's masked fragments: the announced length is read
 * through the mask, from the phase the first chunk starts at. */
static void test_rx_sized_once_masked(void **state) {
    (void)state;
    fedc_buf f = {0};
    make_frame(&f, 800000);
    fedc_error e;
    for (size_t start = 0; start < 4; start++) { /* phase of the first byte */
        fedc_ws_rx rx;
        fedc_ws_rx_init(&rx, 4 << 20, 1);
        uint8_t *wire = malloc(FEDC_WS_FRAGMENT_SIZE);
        size_t off = 0, caps_seen = 0, last_cap = 0, frames = 0;
        while (off < f.len) {
            size_t frag = f.len - off < FEDC_WS_FRAGMENT_SIZE ? f.len - off : FEDC_WS_FRAGMENT_SIZE;
            const uint8_t *key = frames % 3 == 0 ? KEY_A : frames % 3 == 1 ? KEY_B : KEY_C;
            size_t ph0 = frames == 0 ? start : 0;
            for (size_t i = 0; i < frag; i++) wire[i] = f.data[off + i] ^ key[(i + ph0) % 4];
            /* 16 KiB reads, the first one short so later phases vary too */
            for (size_t k = 0; k < frag;) {
                size_t n = k == 0 ? 16381 : 16384;
                if (n > frag - k) n = frag - k;
                int last = off + k + n == f.len;
                int r = fedc_ws_rx_feed_masked(&rx, wire + k, n, key, (k + ph0) % 4, 1, frag - k - n, last, &e);
                assert_int_equal(r, last ? 1 : 0);
                if (rx.msg.cap != last_cap) {
                    caps_seen++;
                    last_cap = rx.msg.cap;
                }
                k += n;
            }
            off += frag;
            frames++;
        }
        assert_int_equal(caps_seen, 1);
        assert_int_equal(rx.msg.cap, f.len);
        assert_int_equal(rx.msg.len, f.len);
        assert_memory_equal(rx.msg.data, f.data, f.len);
        assert_int_equal(rx.wire, fedc_ws_wire_bytes(f.len, 1));
        fedc_ws_rx_free(&rx);
        free(wire);
    }
    /* the announced length is within the limit's reach only: sized to it */
    fedc_ws_rx rx;
    fedc_ws_rx_init(&rx, 100000, 1);
    uint8_t head[64];
    for (size_t i = 0; i < sizeof head; i++) head[i] = f.data[i] ^ KEY_C[(i + 1) % 4];
    assert_int_equal(fedc_ws_rx_feed_masked(&rx, head, sizeof head, KEY_C, 1, 1, 1000, 0, &e), 0);
    assert_int_equal(rx.msg.cap, 100000);
    assert_memory_equal(rx.msg.data, f.data, sizeof head);
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
        cmocka_unit_test(test_server_deframe_rfc_example),
        cmocka_unit_test(test_server_deframe_every_split),
        cmocka_unit_test(test_server_deframe_long_lengths),
        cmocka_unit_test(test_server_deframe_refusals),
        cmocka_unit_test(test_server_deframe_control_unmasked),
        cmocka_unit_test(test_server_deframe_fragmented),
        cmocka_unit_test(test_mask_copy_at),
        cmocka_unit_test(test_rx_feed_masked),
        cmocka_unit_test(test_rx_sized_once_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
