/* Feature skew: the domain spec parser (presets, bounds, messages that name
 * the domain) and each transform against its definition on small images. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/data.h"

static const fedc_shape GREY = {1, 5, 5}, COLOUR = {3, 4, 4};

static void expect_error(const char *spec, fedc_shape s, const char *needle) {
    fedc_feature_skew fs;
    fedc_error err = {{0}};
    if (fedc_feature_skew_parse(spec, s, &fs, &err) == 0) fail_msg("\"%s\" parsed but should fail", spec);
    if (!strstr(err.msg, needle)) fail_msg("\"%s\": message \"%s\" lacks \"%s\"", spec, err.msg, needle);
}

static void test_parse(void **state) {
    (void)state;
    fedc_feature_skew fs;
    fedc_error err;
    assert_int_equal(fedc_feature_skew_parse("none", GREY, &fs, &err), 0);
    assert_int_equal(fs.n, 0);
    assert_null(fedc_feature_skew_domain(&fs, 3));
    assert_int_equal(fedc_feature_skew_parse("mixed", GREY, &fs, &err), 0);
    assert_int_equal(fs.n, 6);
    const fedc_domain_kind want[] = {FEDC_DOMAIN_ID,    FEDC_DOMAIN_ROTATE,   FEDC_DOMAIN_NOISE,
                                     FEDC_DOMAIN_BLUR, FEDC_DOMAIN_CONTRAST, FEDC_DOMAIN_INVERT};
    for (int i = 0; i < 6; i++) assert_int_equal(fs.d[i].kind, want[i]);
    assert_true(fs.d[1].arg == 45 && fs.d[2].arg == 0.3);
    /* client k (and test sample k) sees domain k mod n */
    assert_ptr_equal(fedc_feature_skew_domain(&fs, 13), &fs.d[1]);
    assert_int_equal(fedc_feature_skew_parse("rotate:-90,grey,blur:2", COLOUR, &fs, &err), 0);
    assert_int_equal(fs.n, 3);
    assert_string_equal(fedc_domain_kind_name(fs.d[1].kind), "grey");

    expect_error("", GREY, "empty");
    expect_error("rotate:30,,invert", GREY, "a domain is empty");
    expect_error("rotate:200", GREY, "rotate:DEG with DEG in [-180, 180]");
    expect_error("rotate", GREY, "rotate:DEG");
    expect_error("invert:1", GREY, "expected invert");
    expect_error("blur:1.5", GREY, "integer in [1, 5]");
    expect_error("noise:x", GREY, "noise:SIGMA");
    expect_error("grey", GREY, "colour (3-channel) images");
    expect_error("sepia", GREY, "\"sepia\" is not known");
    expect_error("invert", (fedc_shape){1, 1, 8}, "image data");
    char many[300] = "id";
    for (int i = 0; i < 16; i++) strcat(many, ",id");
    expect_error(many, GREY, "more than 16 domains");
}

static void apply(const char *spec, fedc_shape s, const float *x, float *out, uint32_t id) {
    fedc_feature_skew fs;
    fedc_error err;
    if (fedc_feature_skew_parse(spec, s, &fs, &err) != 0) fail_msg("%s", err.msg);
    size_t dim = (size_t)s.c * s.h * s.w;
    memcpy(out, x, dim * sizeof *out);
    fedc_domain_apply(&fs.d[0], s, 42, &id, out, 1);
}

static void test_transforms(void **state) {
    (void)state;
    float x[48], y[48], z[48];
    for (int i = 0; i < 25; i++) x[i] = (float)((i * 7) % 11) / 10.0f;
    /* id, and rotate:0, change nothing */
    apply("id", GREY, x, y, 0);
    assert_memory_equal(x, y, 25 * sizeof *x);
    apply("rotate:0", GREY, x, y, 0);
    for (int i = 0; i < 25; i++) assert_true(fabsf(x[i] - y[i]) < 1e-6f);
    /* a quarter turn moves pixel (r, c) of a 5x5 image to a rotated place, and
     * four quarter turns give the image back */
    apply("rotate:90", GREY, x, y, 0);
    assert_true(fabsf(y[12] - x[12]) < 1e-6f); /* the centre stays */
    memcpy(z, x, sizeof z);
    for (int k = 0; k < 4; k++) apply("rotate:90", GREY, z, z, 0);
    for (int i = 0; i < 25; i++) assert_true(fabsf(z[i] - x[i]) < 1e-5f);
    int moved = 0;
    for (int i = 0; i < 25; i++) moved += fabsf(y[i] - x[i]) > 1e-6f;
    assert_true(moved > 10);
    /* invert: 1 - x; twice is the identity */
    apply("invert", GREY, x, y, 0);
    for (int i = 0; i < 25; i++) assert_true(y[i] == 1.0f - x[i]);
    /* contrast: 0.5 + F (x - 0.5), clamped */
    apply("contrast:2", GREY, x, y, 0);
    for (int i = 0; i < 25; i++) {
        float want = 0.5f + 2.0f * (x[i] - 0.5f);
        want = want < 0 ? 0 : want > 1 ? 1 : want;
        assert_true(fabsf(y[i] - want) < 1e-6f);
    }
    apply("contrast:1", GREY, x, y, 0);
    for (int i = 0; i < 25; i++) assert_true(fabsf(y[i] - x[i]) < 1e-6f);
    /* blur: a constant image stays; an impulse spreads over the 3x3 window,
     * the borders averaging fewer pixels */
    float c[25], imp[25] = {0};
    for (int i = 0; i < 25; i++) c[i] = 0.4f;
    apply("blur:1", GREY, c, y, 0);
    for (int i = 0; i < 25; i++) assert_true(fabsf(y[i] - 0.4f) < 1e-6f);
    imp[12] = 0.9f;
    apply("blur:1", GREY, imp, y, 0);
    for (int r = 0; r < 5; r++)
        for (int q = 0; q < 5; q++) {
            float want = (abs(r - 2) <= 1 && abs(q - 2) <= 1) ? 0.9f / 9 : 0.0f;
            assert_true(fabsf(y[r * 5 + q] - want) < 1e-6f);
        }
    /* noise: fixed per (seed, sample id), different across ids, in [0, 1] */
    apply("noise:0.2", GREY, x, y, 7);
    apply("noise:0.2", GREY, x, z, 7);
    assert_memory_equal(y, z, 25 * sizeof *y);
    apply("noise:0.2", GREY, x, z, 8);
    assert_memory_not_equal(y, z, 25 * sizeof *y);
    double dev = 0;
    for (int i = 0; i < 25; i++) {
        assert_true(y[i] >= 0.0f && y[i] <= 1.0f);
        dev += fabs(y[i] - x[i]);
    }
    assert_true(dev > 0.5);
    /* grey: every channel holds the luminance */
    for (int i = 0; i < 48; i++) x[i] = (float)((i * 5) % 13) / 12.0f;
    apply("grey", COLOUR, x, y, 0);
    for (int i = 0; i < 16; i++) {
        float lum = 0.299f * x[i] + 0.587f * x[16 + i] + 0.114f * x[32 + i];
        assert_true(fabsf(y[i] - lum) < 1e-6f && y[16 + i] == y[i] && y[32 + i] == y[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_transforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
