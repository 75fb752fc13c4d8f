/* Decoders treat input as hostile: truncated, extended and corrupted
 * buffers are refused with an error (or, where a corruption still forms a
 * valid buffer, decode to finite values), and each structural check has a
 * crafted buffer that trips it with a precise message. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "fl/codec/codec_internal.h"

static const char *PIPELINES[] = {"none",
                                  "fp16",
                                  "bf16",
                                  "q8",
                                  "q4:16",
                                  "q2",
                                  "sign",
                                  "zstd",
                                  "topk:0.1",
                                  "topk:0.6|fp16",
                                  "topk:0.01|q8|zstd",
                                  "randk:0.2|q4",
                                  "randk:0.3",
                                  "topk:0.3|sign|zstd",
                                  "bf16|zstd"};

static fedc_codec *parse(const char *p) {
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse(p, &err);
    assert_non_null(c);
    return c;
}

static void encode_normal(fedc_codec *c, size_t n, uint64_t seed, fedc_buf *b) {
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    float *x = malloc((n + 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)fedc_rng_normal(&r);
    fedc_error err = {{0}};
    assert_int_equal(fedc_codec_encode(c, x, n, NULL, &r, b, &err), 0);
    free(x);
}

static void expect_decode_error(fedc_codec *c, const uint8_t *p, size_t len, size_t n,
                                const char *fragment) {
    fedc_error err = {{0}};
    float *out = malloc((n + 1) * sizeof *out);
    int rc = fedc_codec_decode(c, p, len, out, n, &err);
    free(out);
    if (rc == 0)
        fail_msg("%s: buffer of %zu bytes accepted; expected '%s'", fedc_codec_name(c), len,
                 fragment);
    if (!strstr(err.msg, fragment))
        fail_msg("%s: error '%s' does not mention '%s'", fedc_codec_name(c), err.msg, fragment);
    /* Every message names the pipeline. */
    assert_non_null(strstr(err.msg, fedc_codec_name(c)));
}

static void test_truncated_and_extended_buffers_are_refused(void **state) {
    (void)state;
    const size_t sizes[] = {0, 1, 9, 300};
    for (size_t pi = 0; pi < sizeof PIPELINES / sizeof *PIPELINES; pi++) {
        fedc_codec *c = parse(PIPELINES[pi]);
        for (size_t si = 0; si < 4; si++) {
            size_t n = sizes[si];
            fedc_buf b = {0};
            encode_normal(c, n, 3 + n, &b);
            for (size_t cut = 0; cut < b.len; cut++) expect_decode_error(c, b.data, cut, n, "");
            uint8_t *longer = malloc(b.len + 3);
            memcpy(longer, b.data, b.len);
            memset(longer + b.len, 0, 3);
            for (size_t extra = 1; extra <= 3; extra++)
                expect_decode_error(c, longer, b.len + extra, n, "");
            free(longer);
            /* And the wrong length: the buffer for n read as n + 1 or n - 1. */
            expect_decode_error(c, b.data, b.len, n + 1, "values; expected");
            if (n) expect_decode_error(c, b.data, b.len, n - 1, "values; expected");
            fedc_buf_free(&b);
        }
        fedc_codec_free(c);
    }
}

static void test_corrupted_buffers_fail_cleanly_or_decode_finite(void **state) {
    (void)state;
    fedc_rng r;
    fedc_rng_seed(&r, 77);
    for (size_t pi = 0; pi < sizeof PIPELINES / sizeof *PIPELINES; pi++) {
        fedc_codec *c = parse(PIPELINES[pi]);
        size_t n = 200;
        fedc_buf b = {0};
        encode_normal(c, n, 9, &b);
        float out[200];
        int refused = 0;
        for (int trial = 0; trial < 400; trial++) {
            uint8_t *m = malloc(b.len);
            memcpy(m, b.data, b.len);
            int flips = 1 + (int)fedc_rng_below(&r, 4);
            for (int f = 0; f < flips; f++)
                m[fedc_rng_below(&r, (uint32_t)b.len)] ^= (uint8_t)(1u << fedc_rng_below(&r, 8));
            fedc_error err = {{0}};
            if (fedc_codec_decode(c, m, b.len, out, n, &err) == 0) {
                for (size_t i = 0; i < n; i++)
                    if (!isfinite(out[i]))
                        fail_msg("%s: corrupt buffer decoded to non-finite value %zu",
                                 PIPELINES[pi], i);
            } else {
                assert_true(err.msg[0] != '\0');
                refused++;
            }
            free(m);
        }
        assert_true(refused > 0); /* header flips at least are always caught */
        fedc_buf_free(&b);
        fedc_codec_free(c);
    }
}

/* Patches byte at off in a fresh encoding and expects the given error. */
static void patched(const char *pipeline, size_t n, size_t off, uint8_t value,
                    const char *fragment) {
    fedc_codec *c = parse(pipeline);
    fedc_buf b = {0};
    encode_normal(c, n, 5, &b);
    assert_true(off < b.len);
    b.data[off] = value;
    expect_decode_error(c, b.data, b.len, n, fragment);
    fedc_buf_free(&b);
    fedc_codec_free(c);
}

static void test_header_checks(void **state) {
    (void)state;
    patched("fp16", 10, 0, 0x00, "magic byte is 0x00; expected 0xfc");
    patched("fp16", 10, 1, 2, "format version 2 is not supported");
    patched("fp16", 10, 2, 11, "buffer holds 11 values; expected 10");
    patched("fp16", 10, 6, 2, "buffer has 2 stages; the pipeline has 1");
    patched("fp16", 10, 7, STAGE_BF16, "stage 1 is bf16 (id 2); the pipeline expects fp16");
    patched("fp16", 10, 7, 200, "stage 1 is unknown (id 200)");
    patched("topk:0.1", 100, 8, 11, "topk keeps 11 values; for n = 100 the pipeline keeps 10");
    patched("topk:0.1", 100, 12, 2, "topk index mode 2 is unknown");
    patched("randk:0.1", 100, 8, 9, "randk keeps 9 values");
    patched("q8", 300, 8, 9, "q8 chunk is 2^9 values; the pipeline uses 2^8");
    fedc_codec *c = parse("none");
    expect_decode_error(c, (const uint8_t *)"\xfc", 1, 0, "shorter than the 7-byte header");
    fedc_codec_free(c);
}

static void write_f32(uint8_t *p, float f) { codec_store_f32(p, &f, 1); }

static void test_value_section_checks(void **state) {
    (void)state;
    fedc_codec *c = parse("none");
    fedc_buf b = {0};
    encode_normal(c, 4, 1, &b);
    write_f32(b.data + 7 + 8, NAN);
    expect_decode_error(c, b.data, b.len, 4, "float32 value 2 is not finite");
    fedc_buf_free(&b);
    fedc_codec_free(c);

    c = parse("fp16");
    encode_normal(c, 4, 1, &b);
    b.data[8 + 3] = 0x7C, b.data[8 + 2] = 0x00; /* +inf */
    expect_decode_error(c, b.data, b.len, 4, "fp16 value 1 (0x7c00) is not finite");
    fedc_buf_free(&b);
    fedc_codec_free(c);

    c = parse("q8");
    encode_normal(c, 300, 1, &b);
    write_f32(b.data + 9 + 8, 5.0f), write_f32(b.data + 9 + 12, 1.0f); /* chunk 1: lo > hi */
    expect_decode_error(c, b.data, b.len, 300, "q8 chunk 1 has range [5, 1]");
    write_f32(b.data + 9 + 8, -INFINITY);
    expect_decode_error(c, b.data, b.len, 300, "need finite lo <= hi");
    fedc_buf_free(&b);
    fedc_codec_free(c);

    c = parse("q2");
    encode_normal(c, 5, 1, &b); /* 10 bits of codes: 6 padding bits */
    b.data[b.len - 1] |= 0x80;
    expect_decode_error(c, b.data, b.len, 5, "padding bits of the last code byte are not zero");
    fedc_buf_free(&b);
    fedc_codec_free(c);

    c = parse("sign");
    encode_normal(c, 5, 1, &b);
    b.data[b.len - 1] |= 0x40;
    expect_decode_error(c, b.data, b.len, 5, "sign padding bits");
    write_f32(b.data + 8, -1.0f);
    expect_decode_error(c, b.data, b.len, 5, "sign scale -1 is not a finite value >= 0");
    fedc_buf_free(&b);
    fedc_codec_free(c);
}

static void test_index_checks(void **state) {
    (void)state;
    /* Varint indices: header 13 bytes, then k = 2 varints for n = 20. */
    fedc_codec *c = parse("topk:0.1");
    uint8_t buf[64];
    size_t hdr = 13;
    fedc_buf b = {0};
    encode_normal(c, 20, 1, &b);
    assert_int_equal(b.data[12], INDEX_VARINT);
    memcpy(buf, b.data, hdr);
    /* index 19 then a gap that lands on 20 = n. */
    buf[hdr] = 19, buf[hdr + 1] = 0;
    memset(buf + hdr + 2, 0, 8);
    expect_decode_error(c, buf, hdr + 10, 20, "topk index 1 is 20; indices must be < n = 20");
    buf[hdr] = 0x80, buf[hdr + 1] = 0x00; /* redundant zero byte */
    expect_decode_error(c, buf, hdr + 10, 20, "redundant zero byte");
    memset(buf + hdr, 0xFF, 5); /* 35-bit varint */
    expect_decode_error(c, buf, hdr + 10, 20, "varint exceeds 32 bits");
    buf[hdr] = 0x80; /* varint truncated at the end of the buffer */
    expect_decode_error(c, buf, hdr + 1, 20, "varint truncated");
    fedc_buf_free(&b);

    /* Bitmap: k = 2 for n = 20 but three bits set, or a bit past n. */
    b.len = 0;
    encode_normal(c, 20, 1, &b);
    memcpy(buf, b.data, hdr);
    buf[12] = INDEX_BITMAP;
    memset(buf + hdr, 0, 3 + 8);
    buf[hdr] = 0x07;
    expect_decode_error(c, buf, hdr + 3 + 8, 20, "more than the 2 set bits");
    buf[hdr] = 0x01, buf[hdr + 2] = 0x10; /* bit 20 */
    expect_decode_error(c, buf, hdr + 3 + 8, 20, "bits set past n = 20");
    buf[hdr + 2] = 0;
    expect_decode_error(c, buf, hdr + 3 + 8, 20, "1 set bits; the header announces 2");
    buf[hdr] = 0x03;
    float out[20];
    fedc_error err = {{0}};
    assert_int_equal(fedc_codec_decode(c, buf, hdr + 3 + 8, out, 20, &err), 0); /* well formed */
    fedc_buf_free(&b);
    fedc_codec_free(c);
}

/* A body for "zstd" built by hand: header then the given frame. */
static void expect_zstd_error(const uint8_t *frame, size_t flen, size_t n, const char *fragment) {
    fedc_codec *c = parse("zstd");
    uint8_t *buf = malloc(8 + flen);
    uint8_t hdr[8] = {0xFC, 1, (uint8_t)n, (uint8_t)(n >> 8), 0, 0, 1, STAGE_ZSTD};
    memcpy(buf, hdr, 8);
    memcpy(buf + 8, frame, flen);
    expect_decode_error(c, buf, 8 + flen, n, fragment);
    free(buf);
    fedc_codec_free(c);
}

static void test_zstd_frame_checks(void **state) {
    (void)state;
    size_t n = 100;
    uint8_t plain[4096], frame[8192];
    memset(plain, 0, sizeof plain);
    /* Content larger than 4n bytes. */
    size_t z = ZSTD_compress(frame, sizeof frame, plain, 4 * n + 1, 1);
    assert_false(ZSTD_isError(z));
    expect_zstd_error(frame, z, n, "declares 401 bytes of content; at most 400 allowed");
    /* Trailing bytes after a good frame. */
    z = ZSTD_compress(frame, sizeof frame, plain, 4 * n, 1);
    frame[z] = 0;
    expect_zstd_error(frame, z + 1, n, "trailing bytes");
    /* Content size shorter than the body needs. */
    z = ZSTD_compress(frame, sizeof frame, plain, 4 * n - 4, 1);
    expect_zstd_error(frame, z, n, "float32 section needs 400 bytes");
    /* A frame that does not declare its size. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    ZSTD_outBuffer ob = {frame, sizeof frame, 0};
    ZSTD_inBuffer ib = {plain, 4 * n, 0};
    size_t left = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
    assert_int_equal(left, 0);
    ZSTD_freeCCtx(cctx);
    expect_zstd_error(frame, ob.pos, n, "does not declare its content size");
    /* Not a zstd frame at all, and a skippable frame. */
    expect_zstd_error((const uint8_t *)"\x01\x02\x03\x04\x05", 5, n, "zstd frame magic");
    uint8_t skippable[12] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    expect_zstd_error(skippable, sizeof skippable, n, "zstd frame magic is 0x184d2a50");
    /* Corrupt payload inside a declared frame. */
    for (size_t i = 0; i < 4 * n; i++) plain[i] = (uint8_t)(i * 7);
    z = ZSTD_compress(frame, sizeof frame, plain, 4 * n, 1);
    frame[z - 1] ^= 0xFF;
    frame[z / 2] ^= 0x55;
    fedc_codec *c = parse("zstd");
    uint8_t *buf = malloc(8 + z);
    uint8_t hdr[8] = {0xFC, 1, (uint8_t)n, 0, 0, 0, 1, STAGE_ZSTD};
    memcpy(buf, hdr, 8);
    memcpy(buf + 8, frame, z);
    float out[100];
    fedc_error err = {{0}};
    if (fedc_codec_decode(c, buf, 8 + z, out, n, &err) == 0)
        for (size_t i = 0; i < n; i++) assert_true(isfinite(out[i]));
    free(buf);
    fedc_codec_free(c);
}

static void test_null_and_oversized_arguments(void **state) {
    (void)state;
    fedc_codec *c = parse("fp16");
    fedc_error err = {{0}};
    float out[1];
    assert_int_equal(fedc_codec_decode(c, NULL, 5, out, 1, &err), -1);
    assert_int_equal(fedc_codec_decode(c, (const uint8_t *)"x", 1, NULL, 1, &err), -1);
    assert_int_equal(fedc_codec_decode(NULL, (const uint8_t *)"x", 1, out, 1, &err), -1);
    assert_int_equal(
        fedc_codec_decode(c, (const uint8_t *)out, 4, out, (size_t)UINT32_MAX + 1, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds the format's limit"));
    fedc_buf b = {0};
    assert_int_equal(fedc_codec_encode(c, NULL, 3, NULL, NULL, &b, &err), -1);
    fedc_codec *q = parse("q8");
    float x[3] = {1, 2, 3};
    assert_int_equal(fedc_codec_encode(q, x, 3, NULL, NULL, &b, &err), -1);
    assert_non_null(strstr(err.msg, "needs an rng"));
    fedc_codec_free(q);
    fedc_codec_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_and_extended_buffers_are_refused),
        cmocka_unit_test(test_corrupted_buffers_fail_cleanly_or_decode_finite),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_value_section_checks),
        cmocka_unit_test(test_index_checks),
        cmocka_unit_test(test_zstd_frame_checks),
        cmocka_unit_test(test_null_and_oversized_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
