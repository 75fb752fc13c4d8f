/* Every pipeline round-trips within its stated error bound over vector
 * families (normal, zeros, constants, huge, tiny, mixed scales, ties) and
 * lengths (0, 1, not a multiple of the chunk...), and every encoding has
 * exactly the length the format defines. Half-precision conversions are
 * checked exhaustively. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <zstd.h>

#include "fl/codec/codec_internal.h"
#include "unit/fl_codec/codec_reference.h"

static const char *PIPELINES[] = {
    "none",
    "fp16",
    "bf16",
    "q8",
    "q4",
    "q2",
    "q8:1024",
    "q4:16",
    "q2:64",
    "sign",
    "zstd",
    "fp16|zstd",
    "bf16|zstd",
    "q8|zstd",
    "q2|zstd",
    "sign|zstd",
    "topk:0.1",
    "topk:0.01|q8|zstd",
    "topk:0.5|fp16",
    "topk:0.3|sign",
    "topk:0.05|q4:16",
    "topk:1",
    "topk:0.2|bf16|zstd",
    "topk:0.02|zstd",
    "randk:0.1",
    "randk:0.25|q4",
    "randk:0.5|q8|zstd",
    "randk:1|fp16",
    "randk:0.05|bf16",
};
static const size_t SIZES[] = {0, 1, 2, 7, 255, 256, 257, 1000, 4097};

static uint64_t read_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void check_one(const char *pipeline, int kind, size_t n, fedc_rng *rng) {
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse(pipeline, &err);
    assert_non_null(c);
    ref_pipeline p = ref_parse(pipeline);
    float *x = malloc((n + 1) * sizeof *x), *d = malloc((n + 1) * sizeof *d);
    uint32_t *kept = malloc((n + 1) * sizeof *kept);
    float *xs = malloc((n + 1) * sizeof *xs), *ds = malloc((n + 1) * sizeof *ds);
    ref_fill(kind, x, n, rng);

    fedc_buf b = {0};
    if (fedc_codec_encode(c, x, n, NULL, rng, &b, &err))
        fail_msg("%s kind %d n %zu: encode failed: %s", pipeline, kind, n, err.msg);
    assert_true(b.len <= fedc_codec_max_encoded_size(c, n));
    for (size_t i = 0; i < n; i++) d[i] = NAN;
    if (fedc_codec_decode(c, b.data, b.len, d, n, &err))
        fail_msg("%s kind %d n %zu: decode failed: %s", pipeline, kind, n, err.msg);

    /* Which indices were kept, by the test's own reasoning. */
    size_t m = ref_kept(&p, n);
    double scale = 1.0;
    if (p.topk) {
        assert_int_equal(ref_topk(x, n, m, kept), m);
    } else if (p.randk) {
        uint64_t seed = read_u64_le(b.data + 7 + 1 + 4);
        assert_int_equal(codec_randk_indices(seed, n, m, kept, &err), 0);
        for (size_t i = 0; i < m; i++) {
            assert_true(kept[i] < n);
            if (i) assert_true(kept[i] > kept[i - 1]);
        }
        scale = m ? (double)n / (double)m : 1.0;
    } else {
        for (size_t i = 0; i < n; i++) kept[i] = (uint32_t)i;
    }

    /* Exact length from the format: header + index section + values. */
    size_t index = 0;
    if (p.topk) {
        size_t varint = ref_varint_size(kept, m), bitmap = (n + 7) / 8;
        index = bitmap < varint ? bitmap : varint;
        assert_int_equal(b.data[7 + 1 + 4], bitmap < varint ? 1 : 0);
    }
    size_t body = index + ref_values_size(&p, m), header = ref_header_size(&p);
    if (p.zstd) {
        assert_int_equal(ZSTD_getFrameContentSize(b.data + header, b.len - header), body);
    } else if (b.len != header + body) {
        fail_msg("%s n %zu: encoded %zu bytes; format says %zu + %zu", pipeline, n, b.len, header,
                 body);
    }

    /* Dropped entries decode to 0; kept ones within the coder's bound. */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (j < m && kept[j] == i) {
            xs[j] = x[i];
            ds[j] = (float)(d[i] / scale);
            j++;
        } else if (d[i] != 0.0f) {
            fail_msg("%s kind %d n %zu: dropped index %zu decodes to %g", pipeline, kind, n, i,
                     (double)d[i]);
        }
    }
    long bad = ref_check_values(&p, xs, ds, m, scale == 1.0 ? 0.0 : 0x1p-22);
    if (bad >= 0)
        fail_msg("%s kind %d n %zu: value %ld is %.9g, input %.9g: outside the stated bound",
                 pipeline, kind, n, bad, (double)ds[bad], (double)xs[bad]);
    if (p.topk && m < n) {
        /* Every dropped value is no larger than every kept one. */
        float min_kept = INFINITY, max_dropped = 0;
        for (size_t i = 0, q = 0; i < n; i++) {
            if (q < m && kept[q] == i)
                min_kept = fminf(min_kept, fabsf(x[i])), q++;
            else
                max_dropped = fmaxf(max_dropped, fabsf(x[i]));
        }
        assert_true(max_dropped <= min_kept);
    }
    fedc_buf_free(&b);
    free(x);
    free(d);
    free(kept);
    free(xs);
    free(ds);
    fedc_codec_free(c);
}

static void test_every_pipeline_round_trips_within_its_bound(void **state) {
    (void)state;
    fedc_rng rng;
    fedc_rng_seed(&rng, 11);
    for (size_t pi = 0; pi < sizeof PIPELINES / sizeof *PIPELINES; pi++)
        for (int kind = 0; kind < VEC_KINDS; kind++)
            for (size_t si = 0; si < sizeof SIZES / sizeof *SIZES; si++) {
                /* Random-k's n/k scaling overflows near float's top: tested below. */
                if (kind == VEC_HUGE && strncmp(PIPELINES[pi], "randk", 5) == 0) continue;
                check_one(PIPELINES[pi], kind, SIZES[si], &rng);
            }
}

static void test_randk_refuses_values_that_overflow_when_scaled(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse("randk:0.1", &err);
    float x[100];
    for (int i = 0; i < 100; i++) x[i] = 1e38f;
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    fedc_buf b = {0};
    fedc_buf_put_u8(&b, 0xAB);
    assert_int_equal(fedc_codec_encode(c, x, 100, NULL, &rng, &b, &err), -1);
    assert_non_null(strstr(err.msg, "overflow"));
    assert_int_equal(b.len, 1); /* the buffer is left as it was */
    fedc_buf_free(&b);
    fedc_codec_free(c);
}

static void test_non_finite_input_is_refused(void **state) {
    (void)state;
    fedc_error err = {{0}};
    const char *pipes[] = {"none", "fp16", "q8", "topk:0.1|zstd", "sign"};
    for (size_t i = 0; i < 5; i++) {
        fedc_codec *c = fedc_codec_parse(pipes[i], &err);
        float x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        x[7] = NAN;
        fedc_rng rng;
        fedc_rng_seed(&rng, 1);
        fedc_buf b = {0};
        assert_int_equal(fedc_codec_encode(c, x, 10, NULL, &rng, &b, &err), -1);
        assert_non_null(strstr(err.msg, "input value 7"));
        assert_int_equal(b.len, 0);
        fedc_buf_free(&b);
        fedc_codec_free(c);
    }
}

static void test_byte_counts_of_simple_pipelines(void **state) {
    (void)state;
    const struct {
        const char *pipeline;
        size_t n, bytes;
    } cases[] = {
        {"none", 1000, 7 + 4000},
        {"fp16", 1000, 8 + 2000},
        {"bf16", 3, 8 + 6},
        {"q8", 1000, 9 + 4 * 8 + 1000}, /* 4 chunks of 256 */
        {"q4", 1000, 9 + 4 * 8 + 500},
        {"q2", 1001, 9 + 4 * 8 + 251}, /* last byte partly used */
        {"q2:1024", 1001, 9 + 1 * 8 + 251},
        {"sign", 1000, 8 + 4 + 125},
        {"sign", 0, 8 + 4},
        {"topk:0.5|fp16", 1000, 14 + 125 + 2 * 500}, /* bitmap beats 500 varints */
        {"randk:0.01", 1000, 20 + 4 * 10},
        {"randk:0.01|q8", 1000, 22 + 8 + 10},
    };
    fedc_rng rng;
    fedc_rng_seed(&rng, 5);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fedc_error err = {{0}};
        fedc_codec *c = fedc_codec_parse(cases[i].pipeline, &err);
        float *x = malloc((cases[i].n + 1) * sizeof *x);
        for (size_t j = 0; j < cases[i].n; j++) x[j] = (float)fedc_rng_normal(&rng);
        fedc_buf b = {0};
        assert_int_equal(fedc_codec_encode(c, x, cases[i].n, NULL, &rng, &b, &err), 0);
        if (b.len != cases[i].bytes)
            fail_msg("%s n=%zu: %zu bytes, expected %zu", cases[i].pipeline, cases[i].n, b.len,
                     cases[i].bytes);
        assert_true(b.len <= fedc_codec_max_encoded_size(c, cases[i].n));
        fedc_buf_free(&b);
        free(x);
        fedc_codec_free(c);
    }
}

static void test_topk_varint_indices_for_sparse_selection(void **state) {
    (void)state;
    /* 3 spikes among 10000 zeros-ish: varints (1 + 2 + 2 bytes for gaps
     * 5, 4999-5-1, 9990-4999-1) beat a 1250-byte bitmap. */
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse("topk:0.0003", &err);
    float *x = calloc(10000, sizeof *x);
    x[5] = 3;
    x[4999] = -7;
    x[9990] = 1;
    fedc_buf b = {0};
    assert_int_equal(fedc_codec_encode(c, x, 10000, NULL, NULL, &b, &err), 0);
    assert_int_equal(b.data[12], 0); /* varint mode */
    assert_int_equal(b.len, 13 + 1 + 2 + 2 + 12);
    float *d = malloc(10000 * sizeof *d);
    assert_int_equal(fedc_codec_decode(c, b.data, b.len, d, 10000, &err), 0);
    assert_true(memcmp(d, x, 10000 * sizeof *d) == 0);
    fedc_buf_free(&b);
    free(x);
    free(d);
    fedc_codec_free(c);
}

static void test_zstd_shrinks_redundant_floats(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_codec *raw = fedc_codec_parse("none", &err), *z = fedc_codec_parse("zstd", &err);
    size_t n = 20000;
    float *x = malloc(n * sizeof *x), *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 100) * 0.5f; /* few distinct values */
    fedc_buf a = {0}, b = {0};
    assert_int_equal(fedc_codec_encode(raw, x, n, NULL, NULL, &a, &err), 0);
    assert_int_equal(fedc_codec_encode(z, x, n, NULL, NULL, &b, &err), 0);
    assert_true(b.len * 10 < a.len);
    assert_int_equal(fedc_codec_decode(z, b.data, b.len, d, n, &err), 0);
    assert_true(memcmp(d, x, n * sizeof *d) == 0);
    fedc_buf_free(&a);
    fedc_buf_free(&b);
    free(x);
    free(d);
    fedc_codec_free(raw);
    fedc_codec_free(z);
}

static void test_fp16_conversion_is_exact_and_rounds_to_nearest_even(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00) continue; /* inf / NaN never encoded */
        float f = codec_f16_to_f32((uint16_t)h);
        if (codec_f32_to_f16(f) != h)
            fail_msg("fp16 0x%04x -> %g does not round-trip", h, (double)f);
        /* The midpoint to the next representable value rounds to even; a
         * hair above rounds up, a hair below rounds down. */
        uint32_t next = h + 1;
        if ((h & 0x8000) || (next & 0x7C00) == 0x7C00) continue;
        double mid = ((double)f + (double)codec_f16_to_f32((uint16_t)next)) / 2;
        uint16_t even = (h & 1) ? (uint16_t)next : (uint16_t)h;
        assert_int_equal(codec_f32_to_f16((float)mid), even);
        assert_int_equal(codec_f32_to_f16(nextafterf((float)mid, INFINITY)), next);
        assert_int_equal(codec_f32_to_f16(nextafterf((float)mid, 0)), h);
    }
    assert_int_equal(codec_f32_to_f16(1.0f), 0x3C00);
    assert_int_equal(codec_f32_to_f16(-2.0f), 0xC000);
    assert_int_equal(codec_f32_to_f16(65519.0f), 0x7BFF);
    assert_int_equal(codec_f32_to_f16(65520.0f), 0x7BFF); /* saturates, no inf */
    assert_int_equal(codec_f32_to_f16(-1e30f), 0xFBFF);
    assert_int_equal(codec_f32_to_f16(0x1p-25f), 0x0000);   /* tie to even (0) */
    assert_int_equal(codec_f32_to_f16(0x1.8p-24f), 0x0002); /* tie to even (2) */
}

/* The array conversions (vectorised where the CPU has F16C) equal the
 * scalar ones bit for bit: every finite half and both infinities decode the
 * same (NaN stays NaN); float bit patterns
 * stepped across the whole 32-bit range (subnormals, the saturation edge,
 * inf and NaN of both signs) encode the same; odd lengths cover the tails. */
static void test_fp16_arrays_equal_scalar(void **state) {
    (void)state;
    enum { N = 1 << 16 };
    uint16_t *h = malloc(N * sizeof *h), *h2 = malloc(N * sizeof *h2);
    float *f = malloc(N * sizeof *f);
    assert_true(h && h2 && f);
    for (uint32_t i = 0; i < N; i++) h[i] = (uint16_t)i;
    codec_f16_to_f32_n(h, f, N);
    for (uint32_t i = 0; i < N; i++) {
        float want = codec_f16_to_f32((uint16_t)i);
        /* inf and NaN are refused before conversion; the hardware quiets a signalling NaN */
        if ((i & 0x7C00) == 0x7C00 && (i & 0x3FF)) assert_true(isnan(f[i]));
        else if (memcmp(&want, &f[i], 4)) fail_msg("fp16 0x%04x decodes differently", i);
    }
    static const uint32_t edges[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x387FFFFFu, 0x38800000u, 0x33000000u,
                                     0x33000001u, 0x477FEFFFu, 0x477FF000u, 0x477FF001u, 0x7F800000u, 0xFF800000u,
                                     0x7FC00000u, 0xFFC00001u, 0x7F7FFFFFu, 0xC77FF000u, 0xB3800000u};
    uint32_t bits = 0x9E3779B9u;
    for (int pass = 0; pass < 64; pass++) {
        for (uint32_t i = 0; i < N; i++) {
            uint32_t u = i < sizeof edges / sizeof *edges && pass == 0 ? edges[i] : (bits += 0x9E3779B9u) ^ (i << 7);
            memcpy(&f[i], &u, 4);
        }
        size_t n = N - (size_t)pass; /* tails of every length mod 8 */
        codec_f32_to_f16_n(f, h2, n);
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &f[i], 4);
            if (h2[i] != codec_f32_to_f16(f[i]))
                fail_msg("float 0x%08x encodes to 0x%04x, scalar 0x%04x", u, h2[i], codec_f32_to_f16(f[i]));
        }
    }
    free(h);
    free(h2);
    free(f);
}

static void test_bf16_conversion_is_exact_and_rounds_to_nearest_even(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7F80) == 0x7F80) continue;
        float f = codec_bf16_to_f32((uint16_t)h);
        if (codec_f32_to_bf16(f) != h) fail_msg("bf16 0x%04x does not round-trip", h);
        uint32_t next = h + 1;
        if ((h & 0x8000) || (next & 0x7F80) == 0x7F80) continue;
        uint32_t u;
        memcpy(&u, &f, 4);
        u |= 0x8000; /* exact midpoint in float */
        float mid;
        memcpy(&mid, &u, 4);
        assert_int_equal(codec_f32_to_bf16(mid), (h & 1) ? next : h);
        u += 1;
        memcpy(&mid, &u, 4);
        assert_int_equal(codec_f32_to_bf16(mid), next);
    }
    assert_int_equal(codec_f32_to_bf16(FLT_MAX), 0x7F7F); /* saturates, no inf */
    assert_int_equal(codec_f32_to_bf16(-FLT_MAX), 0xFF7F);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pipeline_round_trips_within_its_bound),
        cmocka_unit_test(test_randk_refuses_values_that_overflow_when_scaled),
        cmocka_unit_test(test_non_finite_input_is_refused),
        cmocka_unit_test(test_byte_counts_of_simple_pipelines),
        cmocka_unit_test(test_topk_varint_indices_for_sparse_selection),
        cmocka_unit_test(test_zstd_shrinks_redundant_floats),
        cmocka_unit_test(test_fp16_conversion_is_exact_and_rounds_to_nearest_even),
        cmocka_unit_test(test_fp16_arrays_equal_scalar),
        cmocka_unit_test(test_bf16_conversion_is_exact_and_rounds_to_nearest_even),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
