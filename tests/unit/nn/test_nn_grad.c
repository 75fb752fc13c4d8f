/* Finite-difference gradient checks: for every layer type, the analytic
 * parameter gradient of fedc_nn_grad matches central differences of the
 * loss. Layers without parameters (pooling, ReLU, dropout, flatten, and the
 * input side of conv/dense/group norm) are checked through the parameters of
 * a layer before them, whose gradient flows through their backward pass.
 * Seeds are fixed, so each check is deterministic. */
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

#define H 1e-3f
#define CHECKS_PER_TENSOR 24

typedef struct net {
    fedc_arch *a;
    fedc_ws *ws;
    float *p, *g, *scratch, *x;
    int32_t *y;
    int n;
} net;

static net make_net(const char *spec, fedc_shape in, int classes, int n, uint64_t seed) {
    net t;
    fedc_error err;
    t.a = fedc_arch_parse(spec, in, classes, &err);
    if (!t.a) fail_msg("%s: %s", spec, err.msg);
    size_t np = fedc_arch_nparams(t.a), ni = fedc_arch_input_size(t.a);
    t.ws = fedc_ws_create(t.a, n);
    t.p = malloc(np * sizeof *t.p);
    t.g = malloc(np * sizeof *t.g);
    t.scratch = malloc(np * sizeof *t.scratch);
    t.x = malloc((size_t)n * ni * sizeof *t.x);
    t.y = malloc((size_t)n * sizeof *t.y);
    t.n = n;
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_arch_init(t.a, t.p, &r);
    /* Non-trivial biases and norm affine parameters. */
    for (size_t i = 0; i < np; i++) t.p[i] += 0.2f * (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)n * ni; i++) t.x[i] = (float)fedc_rng_normal(&r);
    for (int i = 0; i < n; i++) t.y[i] = (int32_t)fedc_rng_below(&r, (uint32_t)classes);
    return t;
}

static void free_net(net *t) {
    fedc_ws_free(t->ws);
    fedc_arch_free(t->a);
    free(t->p);
    free(t->g);
    free(t->scratch);
    free(t->x);
    free(t->y);
}

/* Loss with a private copy of the dropout stream: the same mask every call. */
static double loss_at(net *t, const fedc_rng *rng) {
    fedc_rng r = *rng;
    return fedc_nn_grad(t->a, t->ws, t->p, t->scratch, t->x, t->y, t->n, &r);
}

/* Compares analytic and numerical gradients on sampled entries of every
 * tensor (skipping the few where the loss is not differentiable); returns
 * the number of entries compared. */
static int check_net(const char *spec, fedc_shape in, int classes, int n, uint64_t seed) {
    net t = make_net(spec, in, classes, n, seed);
    fedc_rng rng, r;
    fedc_rng_seed(&rng, seed + 1000);
    r = rng;
    float loss = fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, n, &r);
    assert_true(isfinite(loss));
    assert_true(fabs(loss - loss_at(&t, &rng)) < 1e-6); /* deterministic given the stream */
    fedc_rng pick;
    fedc_rng_seed(&pick, seed + 7);
    int compared = 0, kinks = 0;
    double l0 = loss_at(&t, &rng);
    for (int ti = 0; ti < fedc_arch_ntensors(t.a); ti++) {
        fedc_tensor_info info = fedc_arch_tensor(t.a, ti);
        int m = info.count < CHECKS_PER_TENSOR ? (int)info.count : CHECKS_PER_TENSOR;
        for (int k = 0; k < m; k++) {
            size_t j = info.offset + (info.count <= CHECKS_PER_TENSOR ? (size_t)k
                                                                       : fedc_rng_below(&pick, (uint32_t)info.count));
            float orig = t.p[j];
            t.p[j] = orig + H;
            double lp = loss_at(&t, &rng);
            t.p[j] = orig - H;
            double lm = loss_at(&t, &rng);
            t.p[j] = orig;
            double num = (lp - lm) / (2.0 * H), ana = t.g[j];
            double tol = 2e-3 + 3e-2 * fmax(fabs(num), fabs(ana));
            /* A ReLU or max-pool switch inside [-H, H] makes the one-sided
             * slopes disagree: no derivative to compare there. */
            double fwd = (lp - l0) / H, bwd = (l0 - lm) / H;
            if (fabs(fwd - bwd) > tol) {
                kinks++;
                continue;
            }
            if (fabs(num - ana) > tol)
                fail_msg("%s: %s[%zu]: analytic %.6g vs numerical %.6g", spec, info.name,
                         j - info.offset, ana, num);
            compared++;
        }
    }
    if (kinks * 10 > compared + kinks)
        fail_msg("%s: %d of %d entries sit on a kink; use other seeds", spec, kinks, compared + kinks);
    free_net(&t);
    return compared;
}

static void test_loss_and_dense(void **state) {
    (void)state;
    assert_int_equal(check_net("dense:3", (fedc_shape){1, 2, 3}, 3, 4, 1), 3 * 6 + 3);
    check_net("dense:5,dense:4,dense:3", (fedc_shape){2, 2, 2}, 3, 5, 2);
}

static void test_conv_stride_padding(void **state) {
    (void)state;
    check_net("conv:3:3:2:1,conv:2:3:2:0,dense:3", (fedc_shape){2, 9, 9}, 3, 3, 3);
    check_net("conv:2:4:1:2,conv:3:2:1:0,dense:3", (fedc_shape){1, 6, 5}, 3, 2, 4);
    check_net("conv:3:5,conv:2:3:3:2,dense:4", (fedc_shape){2, 7, 7}, 4, 3, 5);
}

static void test_conv_single_sample_chunks(void **state) {
    (void)state;
    /* im2col of 200 x 256 per sample exceeds the chunk budget: one sample per
     * GEMM, for a conv without and one with an input gradient. */
    const char *spec = "conv:8:5,conv:2:5,avgpool:4,dense:2";
    net t = make_net(spec, (fedc_shape){8, 16, 16}, 2, 2, 9);
    assert_int_equal(t.ws->op[0].chunk, 1);
    assert_int_equal(t.ws->op[1].chunk, 1);
    free_net(&t);
    check_net(spec, (fedc_shape){8, 16, 16}, 2, 2, 9);
}

static void test_maxpool(void **state) {
    (void)state;
    check_net("conv:2:3,pool:2,dense:3", (fedc_shape){1, 7, 7}, 3, 3, 6);
    check_net("conv:3:3,pool:3,dense:3", (fedc_shape){2, 8, 7}, 3, 2, 7);
    /* Two conv + pool pairs: the second runs the fused backward with dx. */
    check_net("conv:3:3,pool:2,conv:4:3,pool:2,dense:3", (fedc_shape){1, 10, 10}, 3, 2, 20);
}

static void test_avgpool(void **state) {
    (void)state;
    check_net("conv:2:3,avgpool:2,dense:3", (fedc_shape){1, 7, 7}, 3, 3, 8);
    check_net("conv:2:3,avgpool:3,dense:3", (fedc_shape){1, 8, 8}, 3, 2, 19);
}

static void test_standalone_relu(void **state) {
    (void)state;
    /* gn without ReLU feeds avgpool (negative values), then a real ReLU op. */
    net t = make_net("conv:4:3,relu,gn:2,avgpool:2,relu,dense:3", (fedc_shape){1, 6, 6}, 3, 3, 10);
    assert_int_equal(t.a->ops[3].kind, NN_RELU);
    free_net(&t);
    check_net("conv:4:3,relu,gn:2,avgpool:2,relu,dense:3", (fedc_shape){1, 6, 6}, 3, 3, 10);
}

static void test_groupnorm(void **state) {
    (void)state;
    check_net("conv:4:3,gn:2,dense:3", (fedc_shape){1, 5, 5}, 3, 3, 11);
    check_net("conv:6:3,gn:3,conv:4:3,gn:1,dense:3", (fedc_shape){2, 5, 5}, 3, 2, 12);
    check_net("dense:6,gn:3,dense:3", (fedc_shape){1, 2, 2}, 3, 4, 13);
}

static void test_batchnorm(void **state) {
    (void)state;
    /* Training mode: every sample's output depends on the whole batch. */
    check_net("conv:4:3,bn,dense:3", (fedc_shape){1, 5, 5}, 3, 3, 31);
    check_net("conv:3:3,bn,pool:2,conv:4:3,bn,dense:3", (fedc_shape){2, 6, 6}, 3, 4, 32);
    check_net("dense:6,bn,dense:3", (fedc_shape){1, 2, 2}, 3, 5, 33);      /* BatchNorm1d */
    check_net("conv:3:3,relu,bn,avgpool:2,dense:3", (fedc_shape){1, 6, 6}, 3, 3, 34); /* no ReLU after bn */
}

static void test_wsconv(void **state) {
    (void)state;
    check_net("wsconv:4:3,dense:3", (fedc_shape){3, 5, 5}, 3, 3, 41);
    /* conv + pool pairs: the fused backward with the standardised weights */
    check_net("wsconv:3:3,pool:2,wsconv:4:3,pool:2,dense:3", (fedc_shape){2, 10, 10}, 3, 2, 42);
    check_net("wsconv:3:3:2:1,conv:2:3,dense:3", (fedc_shape){2, 7, 7}, 3, 3, 43);
}

static void test_dropout_fixed_mask(void **state) {
    (void)state;
    check_net("dense:8,drop:0.5,dense:6,drop:0.2,dense:3", (fedc_shape){1, 2, 3}, 3, 4, 14);
    check_net("conv:3:3,drop:0.3,pool:2,dense:3", (fedc_shape){1, 6, 6}, 3, 3, 15);
}

static void test_flatten(void **state) {
    (void)state;
    check_net("conv:2:3,flatten,dense:3", (fedc_shape){1, 4, 4}, 3, 3, 16);
}

static void test_dropout_statistics_and_inference(void **state) {
    (void)state;
    float mask[100000];
    fedc_rng r;
    fedc_rng_seed(&r, 3);
    nn_dropout_mask(0.3f, mask, 100001 - 1, &r);
    size_t zeros = 0;
    for (size_t i = 0; i < 100000; i++) {
        assert_true(mask[i] == 0.0f || fabsf(mask[i] - 1.0f / 0.7f) < 1e-6f);
        zeros += mask[i] == 0.0f;
    }
    assert_true(zeros > 29000 && zeros < 31000);
    /* Without an rng (or in inference), dropout is the identity. */
    net t = make_net("dense:8,drop:0.5,dense:3", (fedc_shape){1, 2, 3}, 3, 4, 17);
    float l1 = fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, 4, NULL);
    net u = make_net("dense:8,dense:3", (fedc_shape){1, 2, 3}, 3, 4, 17);
    float l2 = fedc_nn_grad(u.a, u.ws, u.p, u.g, u.x, u.y, 4, NULL);
    assert_true(fabsf(l1 - l2) < 1e-6f);
    free_net(&t);
    free_net(&u);
}

static void test_softmax_xent_stable_and_exact(void **state) {
    (void)state;
    /* Huge logits stay finite; value = logsumexp - logit[label]. */
    float logits[6] = {1000.0f, -1000.0f, 999.0f, -5.0f, 0.0f, 5.0f};
    int32_t y[2] = {2, 0};
    float d[6];
    int correct = -1;
    double loss = nn_softmax_xent(logits, y, 2, 3, d, &correct);
    double l0 = 1000.0 + log(1.0 + exp(-1000.0 - 1000.0) + exp(-1.0)) - 999.0;
    double l1 = 5.0 + log(exp(-10.0) + exp(-5.0) + 1.0) + 5.0;
    assert_true(fabs(loss - (l0 + l1) / 2) < 1e-5);
    assert_int_equal(correct, 0);
    /* Gradient rows sum to zero and match central differences. */
    for (int i = 0; i < 2; i++) assert_true(fabsf(d[3 * i] + d[3 * i + 1] + d[3 * i + 2]) < 1e-6f);
    float z[6] = {0.3f, -1.2f, 2.0f, 0.5f, 0.1f, -0.4f}, dz[6];
    nn_softmax_xent(z, y, 2, 3, dz, NULL);
    for (int j = 0; j < 6; j++) {
        float o = z[j];
        z[j] = o + 1e-2f;
        double lp = nn_softmax_xent(z, y, 2, 3, NULL, NULL);
        z[j] = o - 1e-2f;
        double lm = nn_softmax_xent(z, y, 2, 3, NULL, NULL);
        z[j] = o;
        assert_true(fabs((lp - lm) / 2e-2 - dz[j]) < 1e-4);
    }
    int32_t bad[2] = {0, 3};
    assert_true(isnan(nn_softmax_xent(z, bad, 2, 3, dz, NULL)));
    for (int j = 0; j < 6; j++) assert_true(isfinite(dz[j]));
}

static void test_grad_rejects_bad_batch(void **state) {
    (void)state;
    net t = make_net("dense:3", (fedc_shape){1, 2, 3}, 3, 4, 18);
    memset(t.g, 0x7f, fedc_arch_nparams(t.a) * sizeof *t.g);
    assert_true(isnan(fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, 5, NULL)));
    assert_true(isnan(fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, 0, NULL)));
    fedc_arch *other = fedc_arch_parse("dense:4,dense:3", (fedc_shape){1, 2, 3}, 3, NULL);
    assert_true(isnan(fedc_nn_grad(other, t.ws, t.p, t.g, t.x, t.y, 2, NULL)));
    assert_true(t.g[0] != 0.0f && !isfinite(t.g[0]) ? 1 : t.g[0] == t.g[1]); /* untouched fill */
    fedc_arch_free(other);
    t.y[1] = 7; /* label out of range: NaN loss, finite gradient */
    assert_true(isnan(fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, 4, NULL)));
    for (size_t i = 0; i < fedc_arch_nparams(t.a); i++) assert_true(isfinite(t.g[i]));
    free_net(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_and_dense),
        cmocka_unit_test(test_conv_stride_padding),
        cmocka_unit_test(test_conv_single_sample_chunks),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_standalone_relu),
        cmocka_unit_test(test_groupnorm),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_wsconv),
        cmocka_unit_test(test_dropout_fixed_mask),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_dropout_statistics_and_inference),
        cmocka_unit_test(test_softmax_xent_stable_and_exact),
        cmocka_unit_test(test_grad_rejects_bad_batch),
    };
    /* Once with the AVX-512 kernels (where the CPU has them), once with the
     * portable C / OpenBLAS paths. */
    int failed = cmocka_run_group_tests_name("avx512_if_available", tests, NULL, NULL);
    nn_portable_kernels = 1;
    failed += cmocka_run_group_tests_name("portable", tests, NULL, NULL);
    return failed;
}
