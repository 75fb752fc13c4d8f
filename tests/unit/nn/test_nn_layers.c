/* Forward semantics of each layer against direct textbook implementations
 * (PyTorch conventions: NCHW, cross-correlation, zero padding, floor-mode
 * pooling, biased group-norm variance with eps 1e-5). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/nn.h"
#include "nn/nn_internal.h"

static float *random_floats(size_t n, fedc_rng *r) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)fedc_rng_normal(r);
    return v;
}

static void assert_close(const float *a, const float *b, size_t n, float tol) {
    for (size_t i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > tol * (1.0f + fabsf(b[i])))
            fail_msg("element %zu: %.7g vs reference %.7g", i, (double)a[i], (double)b[i]);
}

static void conv_reference(const nn_op *op, const float *w, const float *b, const float *x, float *y, int n) {
    const int C = op->in.c, Hh = op->in.h, W = op->in.w, K = op->k, S = op->stride, P = op->pad;
    for (int s = 0; s < n; s++)
        for (int oc = 0; oc < op->out.c; oc++)
            for (int oy = 0; oy < op->out.h; oy++)
                for (int ox = 0; ox < op->out.w; ox++) {
                    double acc = b[oc];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                int iy = oy * S - P + ky, ix = ox * S - P + kx;
                                if (iy < 0 || iy >= Hh || ix < 0 || ix >= W) continue;
                                acc += (double)w[((oc * C + c) * K + ky) * K + kx] *
                                       x[((size_t)s * C + c) * Hh * W + iy * W + ix];
                            }
                    if (op->relu && acc < 0) acc = 0;
                    y[(((size_t)s * op->out.c + oc) * op->out.h + oy) * op->out.w + ox] = (float)acc;
                }
}

static void check_conv(const char *spec, fedc_shape in, int n, int chunk) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(spec, in, 2, &err);
    if (!a) fail_msg("%s", err.msg);
    fedc_ws *ws = fedc_ws_create(a, n);
    const nn_op *op = &a->ops[0];
    if (chunk > 0 && chunk <= ws->op[0].chunk) ws->op[0].chunk = chunk; /* scratch fits smaller chunks */
    fedc_rng r;
    fedc_rng_seed(&r, 42);
    float *p = random_floats(fedc_arch_nparams(a), &r), *x = random_floats((size_t)n * op->in_size, &r);
    float *y = malloc((size_t)n * op->out_size * sizeof *y), *ref = malloc((size_t)n * op->out_size * sizeof *ref);
    nn_conv_forward(op, &ws->op[0], ws, p + op->w_off, p + op->b_off, x, y, n);
    conv_reference(op, p + op->w_off, p + op->b_off, x, ref, n);
    assert_close(y, ref, (size_t)n * op->out_size, 1e-4f);
    free(p);
    free(x);
    free(y);
    free(ref);
    fedc_ws_free(ws);
    fedc_arch_free(a);
}

static void test_conv_matches_direct_convolution(void **state) {
    (void)state;
    check_conv("conv:5:3,dense:2", (fedc_shape){3, 8, 9}, 4, 0);
    check_conv("conv:5:3,dense:2", (fedc_shape){3, 8, 9}, 4, 1);
    check_conv("conv:5:3,dense:2", (fedc_shape){3, 8, 9}, 5, 3); /* ragged last chunk */
    check_conv("conv:4:3:2:1,dense:2", (fedc_shape){2, 9, 8}, 3, 0);
    check_conv("conv:4:4:3:0,dense:2", (fedc_shape){2, 11, 10}, 3, 2);
    check_conv("conv:4:5:2:4,dense:2", (fedc_shape){1, 6, 6}, 2, 0);   /* padding > output */
    check_conv("conv:32:5,dense:2", (fedc_shape){1, 28, 28}, 3, 0);
    check_conv("conv:40:5,dense:2", (fedc_shape){32, 14, 14}, 2, 0); /* 32 channels in, 2 blocks out */
    check_conv("conv:3:1,dense:2", (fedc_shape){4, 3, 3}, 2, 1);
}

static void test_pooling_matches_reference(void **state) {
    (void)state;
    fedc_error err;
    for (int k = 2; k <= 3; k++) {
        char spec[64];
        snprintf(spec, sizeof spec, "pool:%d,avgpool:1,dense:2", k);
        fedc_arch *a = fedc_arch_parse(spec, (fedc_shape){3, 7, 8}, 2, &err);
        assert_non_null(a);
        const nn_op *op = &a->ops[0];
        nn_op avg = *op;
        avg.kind = NN_AVGPOOL;
        fedc_rng r;
        fedc_rng_seed(&r, (uint64_t)k);
        int n = 2;
        float *x = random_floats((size_t)n * op->in_size, &r);
        float *y = malloc((size_t)n * op->out_size * sizeof *y), *ya = malloc((size_t)n * op->out_size * sizeof *ya);
        int32_t *am = malloc((size_t)n * op->out_size * sizeof *am);
        nn_maxpool_forward(op, x, y, am, n);
        nn_avgpool_forward(&avg, x, ya, n);
        assert_int_equal(op->out.h, 7 / k);
        assert_int_equal(op->out.w, 8 / k);
        for (int pl = 0; pl < n * 3; pl++)
            for (int oy = 0; oy < op->out.h; oy++)
                for (int ox = 0; ox < op->out.w; ox++) {
                    float m = -INFINITY;
                    double s = 0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            float v = x[pl * 56 + (oy * k + ky) * 8 + ox * k + kx];
                            m = v > m ? v : m;
                            s += v;
                        }
                    size_t o = (size_t)pl * op->out.h * op->out.w + oy * op->out.w + ox;
                    assert_true(y[o] == m);
                    assert_true(x[pl * 56 + am[o]] == m);
                    assert_true(fabs(ya[o] - s / (k * k)) < 1e-5);
                }
        /* Backward: the gradient lands on the winner only; avg spreads evenly. */
        float *dy = random_floats((size_t)n * op->out_size, &r), *dx = malloc((size_t)n * op->in_size * sizeof *dx);
        nn_maxpool_backward(op, am, dy, dx, n);
        double sdx = 0, sdy = 0;
        for (size_t i = 0; i < (size_t)n * op->in_size; i++) sdx += dx[i];
        for (size_t i = 0; i < (size_t)n * op->out_size; i++) sdy += dy[i];
        assert_true(fabs(sdx - sdy) < 1e-4);
        nn_avgpool_backward(&avg, dy, dx, n);
        sdx = 0;
        for (size_t i = 0; i < (size_t)n * op->in_size; i++) sdx += dx[i];
        assert_true(fabs(sdx - sdy) < 1e-4);
        if (k == 3) /* row 6 and column 6..7 lie outside every 3x3 window */
            for (int pl = 0; pl < n * 3; pl++) {
                for (int ix = 0; ix < 8; ix++) assert_true(dx[pl * 56 + 6 * 8 + ix] == 0.0f);
                for (int iy = 0; iy < 7; iy++) assert_true(dx[pl * 56 + iy * 8 + 7] == 0.0f);
            }
        free(x);
        free(y);
        free(ya);
        free(am);
        free(dy);
        free(dx);
        fedc_arch_free(a);
    }
}

static void test_groupnorm_matches_formula(void **state) {
    (void)state;
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("gn:2,dense:2", (fedc_shape){4, 3, 5}, 2, &err);
    assert_non_null(a);
    const nn_op *op = &a->ops[0];
    fedc_rng r;
    fedc_rng_seed(&r, 3);
    int n = 3;
    float *x = random_floats((size_t)n * op->in_size, &r), *g = random_floats(4, &r), *b = random_floats(4, &r);
    for (size_t i = 0; i < (size_t)n * op->in_size; i++) x[i] = 3.0f + 2.0f * x[i];
    float *y = malloc((size_t)n * op->in_size * sizeof *y), stats[2 * 3 * 2];
    nn_groupnorm_forward(op, g, b, x, y, stats, n);
    for (int s = 0; s < n; s++)
        for (int grp = 0; grp < 2; grp++) {
            const float *xg = x + (size_t)s * 60 + grp * 30;
            double mean = 0, var = 0;
            for (int i = 0; i < 30; i++) mean += xg[i];
            mean /= 30;
            for (int i = 0; i < 30; i++) var += (xg[i] - mean) * (xg[i] - mean);
            var /= 30;
            for (int i = 0; i < 30; i++) {
                int c = grp * 2 + i / 15;
                double want = (xg[i] - mean) / sqrt(var + 1e-5) * g[c] + b[c];
                assert_true(fabs(y[(size_t)s * 60 + grp * 30 + i] - want) < 1e-4 * (1 + fabs(want)));
            }
        }
    free(x);
    free(g);
    free(b);
    free(y);
    fedc_arch_free(a);
}

/* Batch norm: training normalises with the batch's biased statistics,
 * commit folds in mean and unbiased variance with momentum 0.1, inference
 * normalises with the running statistics (PyTorch's BatchNorm2d). */
static void test_batchnorm_train_commit_eval(void **state) {
    (void)state;
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("bn,dense:2", (fedc_shape){2, 3, 3}, 2, &err);
    assert_non_null(a);
    const nn_op *op = &a->ops[0];
    const int n = 4, C = 2, HW = 9;
    fedc_ws *ws = fedc_ws_create(a, n);
    fedc_rng r;
    fedc_rng_seed(&r, 5);
    float *p = malloc(fedc_arch_nparams(a) * sizeof *p), *g = malloc(fedc_arch_nparams(a) * sizeof *g);
    fedc_arch_init(a, p, &r);
    float *x = random_floats((size_t)n * C * HW, &r);
    for (int c = 0; c < C; c++) {
        p[op->w_off + c] = 0.5f + c;    /* gamma */
        p[op->b_off + c] = -0.25f * c;  /* beta */
        p[op->rmean_off + c] = 0.3f;
        p[op->rvar_off + c] = 2.0f;
    }
    int32_t y[4] = {0, 1, 1, 0};
    float want_rm[2], want_rv[2];
    fedc_nn_grad(a, ws, p, g, x, y, n, NULL);
    const float *out = ws->op[0].out;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int s = 0; s < n; s++)
            for (int i = 0; i < HW; i++) sum += x[(s * C + c) * HW + i];
        double mean = sum / (n * HW);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < HW; i++) sq += pow(x[(s * C + c) * HW + i] - mean, 2);
        double var = sq / (n * HW), unbiased = sq / (n * HW - 1);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < HW; i++) {
                int j = (s * C + c) * HW + i;
                double want = (0.5 + c) * (x[j] - mean) / sqrt(var + 1e-5) - 0.25 * c;
                assert_true(fabs(out[j] - want) < 1e-5);
            }
        /* The running statistics are buffers: zero gradient, not changed by grad. */
        assert_true(g[op->rmean_off + c] == 0.0f && g[op->rvar_off + c] == 0.0f);
        assert_true(p[op->rmean_off + c] == 0.3f);
        want_rm[c] = 0.9f * 0.3f + 0.1f * (float)mean;
        want_rv[c] = 0.9f * 2.0f + 0.1f * (float)unbiased;
    }
    fedc_nn_commit_stats(a, ws, p);
    for (int c = 0; c < C; c++) {
        assert_true(fabsf(p[op->rmean_off + c] - want_rm[c]) < 1e-6f);
        assert_true(fabsf(p[op->rvar_off + c] - want_rv[c]) < 1e-6f);
        p[op->rmean_off + c] = 0.3f; /* back, for the inference check */
        p[op->rvar_off + c] = 2.0f;
    }
    /* Inference: the running statistics normalise; commit then changes nothing. */
    float logits[8];
    fedc_nn_logits(a, ws, p, x, n, logits);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < HW; i++) {
            int j = c * HW + i; /* sample 0 */
            double want = (0.5 + c) * (x[j] - 0.3) / sqrt(2.0 + 1e-5) - 0.25 * c;
            assert_true(fabs(ws->op[0].out[j] - want) < 1e-5);
        }
    fedc_nn_commit_stats(a, ws, p);
    assert_true(p[op->rmean_off] == 0.3f && p[op->rvar_off] == 2.0f);
    free(p);
    free(g);
    free(x);
    fedc_ws_free(ws);
    fedc_arch_free(a);
}

/* wsconv: the conv of the standardised weights gain * (w - mean) /
 * sqrt(N (var + eps)), whatever the raw weights' scale. */
static void test_wsconv_standardises_weights(void **state) {
    (void)state;
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("wsconv:3:3,dense:2", (fedc_shape){2, 5, 5}, 2, &err);
    fedc_arch *plain = fedc_arch_parse("conv:3:3,dense:2", (fedc_shape){2, 5, 5}, 2, &err);
    assert_non_null(a);
    const nn_op *op = &a->ops[0];
    const size_t N = 2 * 3 * 3;
    fedc_rng r;
    fedc_rng_seed(&r, 8);
    float *p = random_floats(fedc_arch_nparams(a), &r), *x = random_floats(2 * 50, &r);
    for (int oc = 0; oc < 3; oc++) p[op->gain_off + oc] = 0.5f + oc;
    float *std = malloc(op->w_count * sizeof *std), stats[6];
    nn_ws_standardize(op, p + op->w_off, p + op->gain_off, std, stats);
    for (int oc = 0; oc < 3; oc++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < N; i++) sum += p[op->w_off + oc * N + i];
        double mean = sum / N;
        for (size_t i = 0; i < N; i++) sq += pow(p[op->w_off + oc * N + i] - mean, 2);
        double scale = (0.5 + oc) / sqrt(N * (sq / N + 1e-6));
        for (size_t i = 0; i < N; i++)
            assert_true(fabs(std[oc * N + i] - (p[op->w_off + oc * N + i] - mean) * scale) < 1e-6);
    }
    /* Scaling the raw weights of a channel leaves its output unchanged. */
    fedc_ws *ws = fedc_ws_create(a, 2), *wp = fedc_ws_create(plain, 2);
    float l1[4], l2[4], l3[4];
    fedc_nn_logits(a, ws, p, x, 2, l1);
    for (size_t i = 0; i < N; i++) p[op->w_off + i] *= 7.0f;
    fedc_nn_logits(a, ws, p, x, 2, l2);
    assert_close(l2, l1, 4, 1e-5f);
    /* ... and equals a plain conv holding the standardised weights. */
    float *q = malloc(fedc_arch_nparams(plain) * sizeof *q);
    memcpy(q, std, op->w_count * sizeof *q);
    memcpy(q + op->w_count, p + op->b_off, 3 * sizeof *q);
    memcpy(q + op->w_count + 3, p + op->gain_off + 3, (fedc_arch_nparams(plain) - op->w_count - 3) * sizeof *q);
    fedc_nn_logits(plain, wp, q, x, 2, l3);
    assert_close(l3, l1, 4, 1e-5f);
    free(q);
    free(std);
    free(p);
    free(x);
    fedc_ws_free(ws);
    fedc_ws_free(wp);
    fedc_arch_free(a);
    fedc_arch_free(plain);
}

static void test_dense_logits_match_reference(void **state) {
    (void)state;
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("dense:7,dense:3", (fedc_shape){1, 2, 5}, 3, &err);
    assert_non_null(a);
    fedc_rng r;
    fedc_rng_seed(&r, 4);
    int n = 6;
    float *p = random_floats(fedc_arch_nparams(a), &r), *x = random_floats((size_t)n * 10, &r), logits[18];
    fedc_ws *ws = fedc_ws_create(a, n);
    fedc_nn_logits(a, ws, p, x, n, logits);
    const float *w1 = p, *b1 = p + 70, *w2 = p + 77, *b2 = p + 98;
    for (int s = 0; s < n; s++) {
        double h[7];
        for (int j = 0; j < 7; j++) {
            double acc = b1[j];
            for (int i = 0; i < 10; i++) acc += (double)w1[j * 10 + i] * x[s * 10 + i];
            h[j] = acc > 0 ? acc : 0;
        }
        for (int k = 0; k < 3; k++) {
            double acc = b2[k];
            for (int j = 0; j < 7; j++) acc += w2[k * 7 + j] * h[j];
            assert_true(fabs(logits[s * 3 + k] - acc) < 1e-4 * (1 + fabs(acc)));
        }
    }
    fedc_ws_free(ws);
    free(p);
    free(x);
    fedc_arch_free(a);
}

/* Evaluation through a small workspace (several batches) gives exactly the
 * accuracy and loss of one batch holding every sample: the simulator
 * evaluates the test set in small batches to keep each worker's memory low,
 * and its figures must not depend on that size. With the AVX-512 kernels
 * the logits are the same bit for bit (batches stay above 32 samples, the
 * dense GEMM's row count below which another kernel sums in another
 * order); the portable path's OpenBLAS may round differently by row count,
 * so there the accuracy is the same and the loss agrees to rounding. */
static void test_evaluate_in_batches_equals_one_batch(void **state) {
    (void)state;
    const char *specs[] = {"conv:8:5,pool:2,conv:16:5,pool:2,dense:64,dense:10",
                           "conv:4:3,gn:2,pool:2,drop:0.3,dense:300,dense:10"};
    const int n = 150;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        fedc_error err;
        fedc_arch *a = fedc_arch_parse(specs[s], (fedc_shape){1, 28, 28}, 10, &err);
        assert_non_null(a);
        fedc_rng r;
        fedc_rng_seed(&r, 21 + s);
        float *p = malloc(fedc_arch_nparams(a) * sizeof *p);
        fedc_arch_init(a, p, &r);
        float *x = random_floats((size_t)n * fedc_arch_input_size(a), &r);
        int32_t y[150];
        for (int i = 0; i < n; i++) y[i] = (int32_t)fedc_rng_below(&r, 10);
        fedc_ws *whole = fedc_ws_create(a, n);
        double acc1, loss1;
        fedc_nn_evaluate(a, whole, p, x, y, (size_t)n, &acc1, &loss1);
        assert_true(isfinite(loss1) && loss1 > 0);
        const int batches[] = {40, 64, 100, 149};
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            fedc_ws *ws = fedc_ws_create(a, batches[b]);
            assert_true(fedc_ws_bytes(ws) < fedc_ws_bytes(whole));
            double acc2 = -1, loss2 = -1;
            fedc_nn_evaluate(a, ws, p, x, y, (size_t)n, &acc2, &loss2);
            assert_true(acc2 == acc1);
            if (nn_use_avx512())
                assert_true(loss2 == loss1);
            else
                assert_true(fabs(loss2 - loss1) <= 1e-6 * loss1);
            fedc_ws_free(ws);
        }
        fedc_ws_free(whole);
        free(p);
        free(x);
        fedc_arch_free(a);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_matches_direct_convolution),
        cmocka_unit_test(test_pooling_matches_reference),
        cmocka_unit_test(test_groupnorm_matches_formula),
        cmocka_unit_test(test_batchnorm_train_commit_eval),
        cmocka_unit_test(test_wsconv_standardises_weights),
        cmocka_unit_test(test_dense_logits_match_reference),
        cmocka_unit_test(test_evaluate_in_batches_equals_one_batch),
    };
    /* Once with the AVX-512 kernels (where the CPU has them), once with the
     * portable C / OpenBLAS paths. */
    int failed = cmocka_run_group_tests_name("avx512_if_available", tests, NULL, NULL);
    nn_portable_kernels = 1;
    failed += cmocka_run_group_tests_name("portable", tests, NULL, NULL);
    return failed;
}
