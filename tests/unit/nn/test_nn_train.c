/* End-to-end learning on tiny separable problems, batched evaluation, and
 * bit-exact determinism for a fixed seed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/nn.h"

typedef struct dataset {
    float *x;
    int32_t *y;
    size_t n, dim;
} dataset;

/* Three Gaussian blobs in 2-D, well apart. */
static dataset blobs(size_t n, uint64_t seed) {
    dataset d = {malloc(n * 2 * sizeof(float)), malloc(n * sizeof(int32_t)), n, 2};
    static const float cx[3] = {-2.0f, 2.0f, 0.0f}, cy[3] = {-1.0f, -1.0f, 2.5f};
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        d.y[i] = c;
        d.x[2 * i] = cx[c] + 0.5f * (float)fedc_rng_normal(&r);
        d.x[2 * i + 1] = cy[c] + 0.5f * (float)fedc_rng_normal(&r);
    }
    return d;
}

/* 8x8 images: class 0 has a horizontal bar, class 1 a vertical one. */
static dataset bars(size_t n, uint64_t seed) {
    dataset d = {malloc(n * 64 * sizeof(float)), malloc(n * sizeof(int32_t)), n, 64};
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 2), pos = (int)fedc_rng_below(&r, 8);
        float *img = d.x + i * 64;
        for (int j = 0; j < 64; j++) img[j] = 0.3f * (float)fedc_rng_normal(&r);
        for (int k = 0; k < 8; k++) img[c ? k * 8 + pos : pos * 8 + k] += 1.0f;
        d.y[i] = c;
    }
    return d;
}

static void free_data(dataset *d) {
    free(d->x);
    free(d->y);
}

/* Trains for some epochs; returns the final parameters (caller frees). */
static float *train(fedc_arch *a, const dataset *d, const fedc_optim_config *oc, int epochs, int batch,
                    uint64_t seed, double *loss_before, double *loss_after, double *acc_after) {
    size_t np = fedc_arch_nparams(a);
    float *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_arch_init(a, p, &r);
    fedc_ws *ws = fedc_ws_create(a, batch);
    fedc_optim *o = fedc_optim_create(oc, np);
    double acc;
    fedc_nn_evaluate(a, ws, p, d->x, d->y, d->n, &acc, loss_before);
    for (int e = 0; e < epochs; e++) {
        for (size_t i = 0; i + (size_t)batch <= d->n; i += (size_t)batch) {
            float l = fedc_nn_grad(a, ws, p, g, d->x + i * d->dim, d->y + i, batch, &r);
            assert_true(isfinite(l));
            fedc_optim_step(o, p, g);
        }
    }
    fedc_nn_evaluate(a, ws, p, d->x, d->y, d->n, acc_after, loss_after);
    fedc_optim_free(o);
    fedc_ws_free(ws);
    free(g);
    return p;
}

static void test_mlp_learns_blobs(void **state) {
    (void)state;
    dataset d = blobs(240, 1);
    fedc_arch *a = fedc_arch_parse("dense:16,drop:0.1,dense:3", (fedc_shape){2, 1, 1}, 3, NULL);
    assert_non_null(a);
    fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_SGD, 0.05f);
    oc.momentum = 0.9f;
    double before, after, acc;
    float *p = train(a, &d, &oc, 20, 16, 2, &before, &after, &acc);
    assert_true(after < 0.25 * before);
    assert_true(acc > 0.95);
    free(p);
    fedc_arch_free(a);
    free_data(&d);
}

static void test_cnn_learns_bars(void **state) {
    (void)state;
    dataset d = bars(256, 3);
    fedc_arch *a = fedc_arch_parse("conv:4:3,pool:2,gn:2,dense:2", (fedc_shape){1, 8, 8}, 2, NULL);
    assert_non_null(a);
    fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_ADAM, 0.01f);
    double before, after, acc;
    float *p = train(a, &d, &oc, 8, 32, 4, &before, &after, &acc);
    assert_true(after < 0.3 * before);
    assert_true(acc > 0.95);
    free(p);
    fedc_arch_free(a);
    free_data(&d);
}

static void test_evaluate_is_batch_independent(void **state) {
    (void)state;
    dataset d = bars(100, 5);
    fedc_arch *a = fedc_arch_parse("conv:3:3,pool:2,dense:2", (fedc_shape){1, 8, 8}, 2, NULL);
    size_t np = fedc_arch_nparams(a);
    float *p = malloc(np * sizeof *p);
    fedc_rng r;
    fedc_rng_seed(&r, 6);
    fedc_arch_init(a, p, &r);
    fedc_ws *small = fedc_ws_create(a, 7), *big = fedc_ws_create(a, 128);
    double a1, l1, a2, l2;
    fedc_nn_evaluate(a, small, p, d.x, d.y, d.n, &a1, &l1);
    fedc_nn_evaluate(a, big, p, d.x, d.y, d.n, &a2, &l2);
    assert_true(a1 == a2);
    assert_true(fabs(l1 - l2) < 1e-6);
    /* Loss equals the mean cross-entropy of the logits. */
    float *logits = malloc(100 * 2 * sizeof *logits);
    fedc_nn_logits(a, big, p, d.x, 100, logits);
    double ref = 0;
    int hits = 0;
    for (int i = 0; i < 100; i++) {
        float z0 = logits[2 * i], z1 = logits[2 * i + 1], m = z0 > z1 ? z0 : z1;
        ref += m + log(exp(z0 - m) + exp(z1 - m)) - logits[2 * i + d.y[i]];
        hits += (z1 > z0) == (d.y[i] == 1);
    }
    assert_true(fabs(ref / 100 - l1) < 1e-5);
    assert_true(fabs(hits / 100.0 - a1) < 1e-12);
    fedc_nn_evaluate(a, big, p, d.x, d.y, 0, &a1, &l1);
    assert_true(a1 == 0.0 && l1 == 0.0);
    free(logits);
    fedc_ws_free(small);
    fedc_ws_free(big);
    free(p);
    fedc_arch_free(a);
    free_data(&d);
}

static void test_training_is_deterministic(void **state) {
    (void)state;
    dataset d = bars(64, 7);
    fedc_arch *a = fedc_arch_parse("conv:4:3,drop:0.2,pool:2,dense:2", (fedc_shape){1, 8, 8}, 2, NULL);
    fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_SGD, 0.05f);
    double b, l, acc;
    float *p1 = train(a, &d, &oc, 2, 16, 8, &b, &l, &acc);
    float *p2 = train(a, &d, &oc, 2, 16, 8, &b, &l, &acc);
    float *p3 = train(a, &d, &oc, 2, 16, 9, &b, &l, &acc);
    assert_memory_equal(p1, p2, fedc_arch_nparams(a) * sizeof *p1);
    assert_memory_not_equal(p1, p3, fedc_arch_nparams(a) * sizeof *p1);
    free(p1);
    free(p2);
    free(p3);
    fedc_arch_free(a);
    free_data(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_learns_blobs),
        cmocka_unit_test(test_cnn_learns_bars),
        cmocka_unit_test(test_evaluate_is_batch_independent),
        cmocka_unit_test(test_training_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
