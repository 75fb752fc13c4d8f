/* Codec pipeline strings: accepted forms and their canonical names, error
 * feedback flags, and the precise errors for everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/codec.h"

static void expect_name(const char *pipeline, const char *canonical, int ef) {
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse(pipeline, &err);
    if (!c) fail_msg("'%s' rejected: %s", pipeline, err.msg);
    assert_string_equal(fedc_codec_name(c), canonical);
    assert_int_equal(fedc_codec_uses_error_feedback(c), ef);
    assert_int_equal(fedc_codec_check(pipeline, &err), 0);
    /* The canonical name parses to itself. */
    fedc_codec *again = fedc_codec_parse(fedc_codec_name(c), &err);
    assert_non_null(again);
    assert_string_equal(fedc_codec_name(again), canonical);
    fedc_codec_free(again);
    fedc_codec_free(c);
}

static void expect_error(const char *pipeline, const char *fragment) {
    fedc_error err = {{0}}, err2 = {{0}};
    fedc_codec *c = fedc_codec_parse(pipeline, &err);
    if (c) fail_msg("'%s' accepted as '%s'", pipeline ? pipeline : "(null)", fedc_codec_name(c));
    if (!strstr(err.msg, fragment))
        fail_msg("error for '%s' is '%s'; expected it to mention '%s'",
                 pipeline ? pipeline : "(null)", err.msg, fragment);
    assert_int_equal(fedc_codec_check(pipeline, &err2), -1);
    assert_string_equal(err.msg, err2.msg);
}

static void test_accepted_pipelines_and_canonical_names(void **state) {
    (void)state;
    expect_name("none", "none", 0);
    expect_name("fp16", "fp16", 0);
    expect_name("bf16", "bf16", 0);
    expect_name("q8", "q8", 0);
    expect_name("q4:256", "q4", 0);
    expect_name("q2:1024", "q2:1024", 0);
    expect_name("sign", "sign", 1);
    expect_name("zstd", "zstd", 0);
    expect_name("topk:0.01|q8|zstd", "topk:0.01|q8|zstd", 1);
    expect_name(" topk:0.010 | q8 | zstd ", "topk:0.01|q8|zstd", 1);
    expect_name("topk:1e-3|sign", "topk:0.001|sign", 1);
    expect_name("randk:0.25", "randk:0.25", 0);
    expect_name("randk:0.1|q4|zstd", "randk:0.1|q4|zstd", 0);
    expect_name("randk:1|fp16", "randk:1|fp16", 0);
    expect_name("topk:0.123456789012", "topk:0.123456789012", 1);
    expect_name("fp16|zstd", "fp16|zstd", 0);
    expect_name("sign|zstd", "sign|zstd", 1);
    expect_name("topk:0.5|fp16", "topk:0.5|fp16", 1);
}

static void test_rejected_pipelines_name_the_problem(void **state) {
    (void)state;
    expect_error(NULL, "missing");
    expect_error("", "empty");
    expect_error("   ", "empty");
    expect_error("q3", "'q3' is unknown; allowed: none, fp16");
    expect_error("FP16", "'FP16' is unknown");
    expect_error("topk", "needs a fraction");
    expect_error("topk:", "needs a fraction");
    expect_error("topk:0", "out of range; allowed: 0 < F <= 1");
    expect_error("topk:1.5", "out of range");
    expect_error("topk:-0.1", "out of range");
    expect_error("randk:nan", "not a decimal number");
    expect_error("randk:inf", "not a decimal number");
    expect_error("topk:0.1x", "not a decimal number");
    expect_error("topk:0.1|", "stage 2 is empty");
    expect_error("|q8", "stage 1 is empty");
    expect_error("q8||zstd", "stage 2 is empty");
    expect_error("q8|topk:0.1", "must come before");
    expect_error("zstd|q8", "must come before");
    expect_error("q8|fp16", "second value coder");
    expect_error("topk:0.1|randk:0.1", "second sparsifier");
    expect_error("zstd|zstd", "second zstd");
    expect_error("none|zstd", "'none' cannot be combined");
    expect_error("fp16:2", "takes no parameter");
    expect_error("zstd:3", "takes no parameter");
    expect_error("q8:100", "power of two from 16 to 65536");
    expect_error("q8:", "has ':' but no chunk size");
    expect_error("q8:8", "power of two");
    expect_error("q8:131072", "power of two");
    expect_error("q8:0x100", "power of two");
    expect_error("randk:0.1|sign", "not supported");
    char longp[400];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    expect_error(longp, "at most 255");
}

static void test_max_encoded_size_bounds_every_encoding(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_codec *c = fedc_codec_parse("fp16", &err);
    assert_non_null(c);
    /* Header (magic, version, n, stage count, fp16 id) + 2 bytes a value. */
    assert_int_equal(fedc_codec_max_encoded_size(c, 1000), 8 + 2000);
    assert_int_equal(fedc_codec_max_encoded_size(c, (size_t)UINT32_MAX + 1), 0);
    fedc_codec_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_pipelines_and_canonical_names),
        cmocka_unit_test(test_rejected_pipelines_name_the_problem),
        cmocka_unit_test(test_max_encoded_size_bounds_every_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
