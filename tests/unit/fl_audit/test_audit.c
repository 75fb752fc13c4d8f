/* The inversion audit's pieces: the hand-derived gradient of the
 * gradient-matching loss against finite differences, the network's own
 * gradient against fedc_nn_grad, DLG recovering an input, PSNR/SSIM, and
 * the PNG writer read back through libpng. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/audit.h"

static fedc_arch *small_net(void) {
    fedc_error e;
    fedc_shape s = {1, 4, 4};
    fedc_arch *a = fedc_arch_parse("dense:12,dense:7,dense:5", s, 5, &e);
    assert_non_null(a);
    return a;
}

static float *init(const fedc_arch *a, uint64_t seed) {
    float *p = fedc_nn_alloc(fedc_arch_nparams(a));
    fedc_rng r = fedc_rng_derive(seed, 1, 2);
    fedc_arch_init_kind(a, p, &r, FEDC_INIT_TORCH);
    return p;
}

/* With one-hot labels and the true inputs, the network's gradient equals
 * fedc_nn_grad's, so the matching loss is ~0. */
static void test_gradient_matches_nn(void **state) {
    (void)state;
    fedc_arch *a = small_net();
    float *p = init(a, 3);
    size_t P = fedc_arch_nparams(a);
    enum { B = 3, D = 16, C = 5 };
    float x[B * D];
    int32_t y[B] = {4, 0, 2};
    fedc_rng r = fedc_rng_derive(9, 9, 9);
    for (int i = 0; i < B * D; i++) x[i] = fedc_rng_uniform_f(&r);
    float *g = fedc_nn_alloc(P);
    fedc_ws *ws = fedc_ws_create(a, B);
    fedc_nn_grad(a, ws, p, g, x, y, B, NULL);
    double xd[B * D], lg[B * C], gnorm = 0;
    for (int i = 0; i < B * D; i++) xd[i] = x[i];
    for (int b = 0; b < B; b++)
        for (int k = 0; k < C; k++) lg[b * C + k] = k == y[b] ? 40.0 : 0.0;
    for (size_t j = 0; j < P; j++) gnorm += (double)g[j] * g[j];
    double dl = fedc_inversion_match(a, p, g, B, xd, lg, NULL, NULL);
    assert_true(dl >= 0 && dl < 1e-9 * gnorm);
    /* A different input does not match. */
    xd[0] += 0.5;
    assert_true(fedc_inversion_match(a, p, g, B, xd, lg, NULL, NULL) > 1e-6 * gnorm);
    fedc_ws_free(ws);
    fedc_nn_free(g);
    fedc_nn_free(p);
    fedc_arch_free(a);
}

/* The analytic gradient of D against central differences, for the input
 * and for the label logits. */
static void test_match_gradient_finite_differences(void **state) {
    (void)state;
    fedc_arch *a = small_net();
    float *p = init(a, 5);
    size_t P = fedc_arch_nparams(a);
    enum { B = 2, D = 16, C = 5 };
    float *gobs = malloc(P * sizeof *gobs);
    fedc_rng r = fedc_rng_derive(1, 1, 1);
    for (size_t j = 0; j < P; j++) gobs[j] = (float)(0.01 * fedc_rng_normal(&r));
    double x[B * D], lg[B * C], dx[B * D], dl[B * C];
    for (int i = 0; i < B * D; i++) x[i] = fedc_rng_uniform(&r);
    for (int i = 0; i < B * C; i++) lg[i] = fedc_rng_normal(&r);
    fedc_inversion_match(a, p, gobs, B, x, lg, dx, dl);
    const double h = 1e-6;
    int checked = 0;
    for (int i = 0; i < B * D; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double up = fedc_inversion_match(a, p, gobs, B, x, lg, NULL, NULL);
        x[i] = keep - h;
        double dn = fedc_inversion_match(a, p, gobs, B, x, lg, NULL, NULL);
        x[i] = keep;
        double fd = (up - dn) / (2 * h);
        assert_true(fabs(fd - dx[i]) <= 1e-5 * (fabs(fd) + fabs(dx[i])) + 1e-9);
        checked++;
    }
    for (int i = 0; i < B * C; i++) {
        double keep = lg[i];
        lg[i] = keep + h;
        double up = fedc_inversion_match(a, p, gobs, B, x, lg, NULL, NULL);
        lg[i] = keep - h;
        double dn = fedc_inversion_match(a, p, gobs, B, x, lg, NULL, NULL);
        lg[i] = keep;
        double fd = (up - dn) / (2 * h);
        assert_true(fabs(fd - dl[i]) <= 1e-5 * (fabs(fd) + fabs(dl[i])) + 1e-9);
    }
    assert_int_equal(checked, B * D);
    free(gobs);
    fedc_nn_free(p);
    fedc_arch_free(a);
}

/* DLG and iDLG recover a single input from its gradient on a small net. */
static void test_dlg_recovers_input(void **state) {
    (void)state;
    fedc_arch *a = small_net();
    float *p = init(a, 8);
    size_t P = fedc_arch_nparams(a);
    float x[16], rec[16];
    int32_t y[1] = {3}, yr[1];
    fedc_rng r = fedc_rng_derive(2, 2, 2);
    for (int i = 0; i < 16; i++) x[i] = fedc_rng_uniform_f(&r);
    float *g = fedc_nn_alloc(P);
    fedc_ws *ws = fedc_ws_create(a, 1);
    fedc_nn_grad(a, ws, p, g, x, y, 1, NULL);
    for (int idlg = 0; idlg < 2; idlg++) {
        fedc_inversion_config c = {1, 3000, 0.1, idlg, 0, 7};
        fedc_error e;
        double loss = fedc_inversion_run(a, p, g, &c, rec, yr, &e);
        assert_true(loss >= 0);
        assert_int_equal(yr[0], 3);
        assert_true(fedc_psnr(x, rec, 16) > 25);
    }
    /* An unsupported model is refused by name. */
    fedc_error e;
    fedc_shape s = {1, 8, 8};
    fedc_arch *cnn = fedc_arch_parse("conv:2:3,dense:4", s, 4, &e);
    assert_non_null(cnn);
    assert_int_equal(fedc_inversion_supported(cnn), 0);
    fedc_inversion_config c = {1, 1, 0.1, 0, 0, 1};
    assert_true(fedc_inversion_run(cnn, p, g, &c, rec, yr, &e) < 0);
    assert_non_null(strstr(e.msg, "dense ReLU networks"));
    fedc_arch_free(cnn);
    fedc_ws_free(ws);
    fedc_nn_free(g);
    fedc_nn_free(p);
    fedc_arch_free(a);
}

static void test_quality_metrics(void **state) {
    (void)state;
    enum { W = 12, H = 10 };
    float a[W * H], b[W * H], neg[W * H];
    for (int i = 0; i < W * H; i++) {
        a[i] = (float)((i * 37 % 11) / 10.0);
        b[i] = a[i] + 0.1f;
        neg[i] = 1.0f - a[i];
    }
    assert_float_equal(fedc_psnr(a, a, W * H), 120.0, 0);
    assert_float_equal(fedc_psnr(a, b, W * H), 20.0, 1e-4); /* MSE 0.01 */
    assert_float_equal(fedc_ssim(a, a, W, H), 1.0, 1e-12);
    assert_true(fedc_ssim(a, b, W, H) > 0.9);   /* a shift keeps structure */
    assert_true(fedc_ssim(a, neg, W, H) < 0.0); /* inverted structure */
}

static void test_png_roundtrip(void **state) {
    (void)state;
    char path[] = "/tmp/fedc-audit-png-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    float img[6] = {0, 0.5f, 1, 1.5f, -1, 0.25f};
    fedc_error e;
    assert_int_equal(fedc_png_write_gray(path, img, 3, 2, 2, &e), 0);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&im, path));
    assert_int_equal(im.width, 6);
    assert_int_equal(im.height, 4);
    im.format = PNG_FORMAT_GRAY;
    uint8_t px[24];
    assert_true(png_image_finish_read(&im, NULL, px, 0, NULL));
    assert_int_equal(px[0], 0);
    assert_int_equal(px[2], 128); /* 0.5, scaled 2x: columns 2-3 */
    assert_int_equal(px[4], 255);
    assert_int_equal(px[6 * 2 + 0], 255); /* 1.5 clamps */
    assert_int_equal(px[6 * 2 + 2], 0);   /* -1 clamps */
    assert_int_equal(px[6 * 3 + 5], 64);
    unlink(path);
    assert_int_equal(fedc_png_write_gray("/nonexistent-dir/x.png", img, 3, 2, 1, &e), -1);
    assert_non_null(strstr(e.msg, "cannot create"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_matches_nn),
        cmocka_unit_test(test_match_gradient_finite_differences),
        cmocka_unit_test(test_dlg_recovers_input),
        cmocka_unit_test(test_quality_metrics),
        cmocka_unit_test(test_png_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
