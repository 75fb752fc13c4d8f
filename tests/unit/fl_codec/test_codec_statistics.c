/* Statistical properties: the stochastic codecs (quantisers, scaled
 * random-k) are unbiased, i.e. the mean of many encodings with different rng
 * streams approaches the input; and error feedback keeps the residual
 * bounded while the decoded outputs sum to the inputs' sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "unit/fl_codec/codec_reference.h"

/* Encodes x T times with independent rng streams and compares the
 * per-coordinate means m_i with x_i against the sampling noise, estimated
 * from the sample variances v_i:
 *   *ratio = sum (m_i - x_i)^2 / sum (v_i / T)  ~ 1 when unbiased, larger
 *            when any coordinate has a systematic error;
 *   return = |sum (m_i - x_i)| / sqrt(sum v_i / T), ~ |N(0, 1)|.
 * Sums over coordinates stay reliable where one coordinate's variance is
 * hard to estimate (values that almost never round up). */
static double bias_statistics(const char *pipeline, const float *x, size_t n, int T,
                              double *ratio) {
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse(pipeline, &err);
    assert_non_null(c);
    double *sum = calloc(n, sizeof *sum), *sum2 = calloc(n, sizeof *sum2);
    float *d = malloc(n * sizeof *d);
    fedc_buf b = {0};
    for (int t = 0; t < T; t++) {
        fedc_rng rng = fedc_rng_derive(99, (uint64_t)t, 0);
        fedc_buf_clear(&b);
        assert_int_equal(fedc_codec_encode(c, x, n, NULL, &rng, &b, &err), 0);
        assert_int_equal(fedc_codec_decode(c, b.data, b.len, d, n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            sum[i] += d[i];
            sum2[i] += (double)d[i] * d[i];
        }
    }
    double dev = 0, dev2 = 0, var = 0;
    for (size_t i = 0; i < n; i++) {
        double mean = sum[i] / T, v = sum2[i] / T - mean * mean;
        if (v < 0) v = 0;
        dev += mean - x[i];
        dev2 += (mean - x[i]) * (mean - x[i]);
        var += v / T;
    }
    *ratio = dev2 / (var + 1e-30);
    double z = fabs(dev) / (sqrt(var) + 1e-30);
    fedc_buf_free(&b);
    free(sum);
    free(sum2);
    free(d);
    fedc_codec_free(c);
    return z;
}

static void test_stochastic_codecs_are_unbiased(void **state) {
    (void)state;
    const char *unbiased[] = {
        "q8", "q4", "q2", "q2:16", "randk:0.1", "randk:0.25|q4", "randk:0.5|q8|zstd"};
    size_t n = 300; /* not a multiple of the 256-value chunk */
    float *x = malloc(n * sizeof *x);
    fedc_rng r;
    fedc_rng_seed(&r, 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(fedc_rng_normal(&r) + (i % 7 == 0 ? 3.0 : 0.0));
    for (size_t p = 0; p < sizeof unbiased / sizeof *unbiased; p++) {
        double ratio, z = bias_statistics(unbiased[p], x, n, 2000, &ratio);
        if (z > 5.0 || ratio > 1.5)
            fail_msg("%s looks biased: total z %.2f, squared-deviation ratio %.2f", unbiased[p], z,
                     ratio);
    }
    /* The same statistics flag biased codecs, so the test can fail: top-k
     * without error feedback always drops the small values, and sign
     * replaces every magnitude by the mean. */
    double ratio;
    bias_statistics("topk:0.1", x, n, 50, &ratio);
    assert_true(ratio > 100.0);
    bias_statistics("sign", x, n, 50, &ratio);
    assert_true(ratio > 100.0);
    free(x);
}

/* Runs T steps of encode/decode with error feedback on inputs drawn by
 * next_input, returning max |residual| over the first and second half and
 * the final error between the sums of inputs and decoded outputs. */
typedef struct ef_run {
    double max_r_first, max_r_second, max_input_norm;
    double sum_err, sum_norm, identity_err;
} ef_run;

static ef_run run_error_feedback(const char *pipeline, size_t n, int T, int drift, int use_ef) {
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse(pipeline, &err);
    assert_non_null(c);
    assert_int_equal(fedc_codec_uses_error_feedback(c), 1);
    float *v = malloc(n * sizeof *v), *d = malloc(n * sizeof *d), *res = calloc(n, sizeof *res);
    double *sv = calloc(n, sizeof *sv), *sd = calloc(n, sizeof *sd);
    fedc_rng r;
    fedc_rng_seed(&r, 8);
    fedc_buf b = {0};
    ef_run out = {0};
    for (int t = 0; t < T; t++) {
        double norm = 0;
        for (size_t i = 0; i < n; i++) {
            /* drift: a consistent direction (what gradients look like over
             * rounds) plus noise; otherwise pure noise. */
            v[i] = (float)(fedc_rng_normal(&r) + (drift ? 0.5 * sin((double)i) : 0.0));
            norm += (double)v[i] * v[i];
        }
        out.max_input_norm = fmax(out.max_input_norm, sqrt(norm));
        fedc_buf_clear(&b);
        assert_int_equal(fedc_codec_encode(c, v, n, use_ef ? res : NULL, &r, &b, &err), 0);
        assert_int_equal(fedc_codec_decode(c, b.data, b.len, d, n, &err), 0);
        double rn = 0;
        for (size_t i = 0; i < n; i++) {
            sv[i] += v[i];
            sd[i] += d[i];
            rn += (double)res[i] * res[i];
        }
        rn = sqrt(rn);
        if (t < T / 2)
            out.max_r_first = fmax(out.max_r_first, rn);
        else
            out.max_r_second = fmax(out.max_r_second, rn);
    }
    double e = 0, s = 0, id = 0;
    for (size_t i = 0; i < n; i++) {
        e += (sv[i] - sd[i]) * (sv[i] - sd[i]);
        s += sv[i] * sv[i];
        /* The identity: sum of decoded = sum of inputs - final residual. */
        double gap = sv[i] - sd[i] - (use_ef ? res[i] : 0.0);
        id = fmax(id, fabs(gap));
    }
    out.sum_err = sqrt(e);
    out.sum_norm = sqrt(s);
    out.identity_err = id;
    fedc_buf_free(&b);
    free(v);
    free(d);
    free(res);
    free(sv);
    free(sd);
    fedc_codec_free(c);
    return out;
}

static void test_error_feedback_residual_stays_bounded(void **state) {
    (void)state;
    const char *biased[] = {"topk:0.05", "topk:0.1|q8",        "sign",
                            "sign|zstd", "topk:0.2|sign|zstd", "topk:0.1|fp16"};
    for (size_t p = 0; p < sizeof biased / sizeof *biased; p++) {
        ef_run run = run_error_feedback(biased[p], 200, 1000, 0, 1);
        /* A stationary residual: no growth from the first half to the
         * second (a random walk would grow by ~sqrt(2)), and within the
         * delta-contraction bound 2/delta * max |v| (delta = k/n >= 0.05). */
        if (run.max_r_second > 1.25 * run.max_r_first || run.max_r_second > 40 * run.max_input_norm)
            fail_msg("%s: residual grows: %.2f then %.2f (max input norm %.2f)", biased[p],
                     run.max_r_first, run.max_r_second, run.max_input_norm);
        /* Sum of decoded = sum of inputs - residual, up to float rounding. */
        if (run.identity_err > 1e-3 * (1 + run.sum_norm / sqrt(200.0)))
            fail_msg("%s: error feedback identity off by %g", biased[p], run.identity_err);
    }
}

static void test_error_feedback_makes_the_sum_track_the_inputs(void **state) {
    (void)state;
    const char *biased[] = {"topk:0.02", "sign", "topk:0.05|q4"};
    for (size_t p = 0; p < sizeof biased / sizeof *biased; p++) {
        ef_run with = run_error_feedback(biased[p], 500, 400, 1, 1);
        ef_run without = run_error_feedback(biased[p], 500, 400, 1, 0);
        double rel_with = with.sum_err / with.sum_norm,
               rel_without = without.sum_err / without.sum_norm;
        if (!(rel_with < 0.1 && rel_without > 3 * rel_with))
            fail_msg("%s: relative error of the summed updates %.3f with feedback, %.3f without",
                     biased[p], rel_with, rel_without);
    }
}

static void test_residual_is_ignored_by_unbiased_codecs(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse("q8|zstd", &err);
    assert_int_equal(fedc_codec_uses_error_feedback(c), 0);
    float v[300], res[300];
    for (int i = 0; i < 300; i++) v[i] = (float)i, res[i] = 7.0f;
    fedc_rng r;
    fedc_rng_seed(&r, 1);
    fedc_buf b = {0};
    assert_int_equal(fedc_codec_encode(c, v, 300, res, &r, &b, &err), 0);
    for (int i = 0; i < 300; i++) assert_true(res[i] == 7.0f);
    fedc_buf_free(&b);
    fedc_codec_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stochastic_codecs_are_unbiased),
        cmocka_unit_test(test_error_feedback_residual_stays_bounded),
        cmocka_unit_test(test_error_feedback_makes_the_sum_track_the_inputs),
        cmocka_unit_test(test_residual_is_ignored_by_unbiased_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
