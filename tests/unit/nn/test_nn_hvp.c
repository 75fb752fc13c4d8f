/* Hessian-vector products (fedc_nn_hvp): against the closed form of a
 * linear softmax model, and against central differences of fedc_nn_grad
 * for every layer kind (dense, conv, wsconv, max and average pooling, group
 * and batch norm, dropout with its mask held, standalone ReLU). */
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

typedef struct net {
    fedc_arch *a;
    fedc_ws *ws;
    fedc_hvp_ws *hw;
    float *p, *v, *hv, *g, *gp, *gm, *x;
    int32_t *y;
    size_t np;
    int n;
} net;

static net make_net(const char *spec, fedc_shape in, int classes, int n, uint64_t seed) {
    net t;
    fedc_error err;
    t.a = fedc_arch_parse(spec, in, classes, &err);
    if (!t.a) fail_msg("%s: %s", spec, err.msg);
    t.np = fedc_arch_nparams(t.a);
    size_t ni = fedc_arch_input_size(t.a);
    t.ws = fedc_ws_create(t.a, n);
    t.hw = fedc_hvp_ws_create(t.a, n);
    assert_non_null(t.hw);
    float **bufs[] = {&t.p, &t.v, &t.hv, &t.g, &t.gp, &t.gm};
    for (int i = 0; i < 6; i++) *bufs[i] = calloc(t.np, sizeof(float));
    t.x = malloc((size_t)n * ni * sizeof *t.x);
    t.y = malloc((size_t)n * sizeof *t.y);
    t.n = n;
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_arch_init(t.a, t.p, &r);
    for (size_t i = 0; i < t.np; i++) t.p[i] += 0.2f * (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < t.np; i++) t.v[i] = (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)n * ni; i++) t.x[i] = (float)fedc_rng_normal(&r);
    for (int i = 0; i < n; i++) t.y[i] = (int32_t)fedc_rng_below(&r, (uint32_t)classes);
    return t;
}

static void free_net(net *t) {
    fedc_hvp_ws_free(t->hw);
    fedc_ws_free(t->ws);
    fedc_arch_free(t->a);
    free(t->p);
    free(t->v);
    free(t->hv);
    free(t->g);
    free(t->gp);
    free(t->gm);
    free(t->x);
    free(t->y);
}

/* Gradient at p + s v with the dropout stream rng (the same masks each call). */
static void grad_at(net *t, double s, const fedc_rng *rng, float *out) {
    float *q = malloc(t->np * sizeof *q);
    for (size_t i = 0; i < t->np; i++) q[i] = (float)(t->p[i] + s * t->v[i]);
    fedc_rng r = *rng;
    fedc_nn_grad(t->a, t->ws, q, out, t->x, t->y, t->n, &r);
    free(q);
}

static double rel_err(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* Central difference of the gradient along v with step h. */
static void fd_hvp(net *t, double h, const fedc_rng *rng, double *out) {
    grad_at(t, h, rng, t->gp);
    grad_at(t, -h, rng, t->gm);
    for (size_t i = 0; i < t->np; i++) out[i] = ((double)t->gp[i] - t->gm[i]) / (2 * h);
}

/* Hv against central differences at two steps. A ReLU or max-pool switch
 * between p - hv and p + hv makes the differences disagree with each other
 * (no second derivative there); such directions are redrawn. Returns the
 * relative error of the exact product against the finer difference. */
static double check_fd(const char *spec, fedc_shape in, int classes, int n, uint64_t seed) {
    for (int attempt = 0; attempt < 8; attempt++) {
        net t = make_net(spec, in, classes, n, seed + 100 * (uint64_t)attempt);
        fedc_rng rng;
        fedc_rng_seed(&rng, seed + 5);
        fedc_rng r = rng;
        float l0 = fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, n, &r);
        float *g2 = malloc(t.np * sizeof *g2);
        float l1 = fedc_nn_hvp(t.a, t.ws, t.hw, t.p, t.v, t.hv, g2, t.x, t.y, n);
        assert_true(isfinite(l1));
        assert_true(fabsf(l0 - l1) < 1e-5f * (1 + fabsf(l0)));
        /* The gradient it recomputes is fedc_nn_grad's. */
        for (size_t i = 0; i < t.np; i++)
            if (fabsf(g2[i] - t.g[i]) > 1e-5f * (1 + fabsf(t.g[i]))) fail_msg("%s: grad[%zu] differs", spec, i);
        free(g2);
        double *f1 = malloc(t.np * sizeof *f1), *f2 = malloc(t.np * sizeof *f2);
        fd_hvp(&t, 2e-3, &rng, f1);
        fd_hvp(&t, 1e-3, &rng, f2);
        float *f1f = malloc(t.np * sizeof *f1f);
        for (size_t i = 0; i < t.np; i++) f1f[i] = (float)f1[i];
        double consistency = rel_err(f1f, f2, t.np), err = rel_err(t.hv, f2, t.np);
        /* Buffers (batch-norm running statistics) have no curvature. */
        for (int k = 0; k < fedc_arch_ntensors(t.a); k++) {
            fedc_tensor_info ti = fedc_arch_tensor(t.a, k);
            if (ti.buffer)
                for (size_t j = 0; j < ti.count; j++) assert_true(t.hv[ti.offset + j] == 0.0f);
        }
        free(f1);
        free(f2);
        free(f1f);
        free_net(&t);
        if (consistency > 5e-3) continue; /* a kink between the probes */
        if (err > 2e-3) fail_msg("%s: |Hv - FD| / |FD| = %.3g", spec, err);
        return err;
    }
    fail_msg("%s: every direction crossed a kink", spec);
    return 1;
}

/* Closed form for a linear softmax model z = W x + b: with p = softmax(z)
 * and u = p (Rz - p.Rz), Rz = RW x + Rb, the product is
 * Hv_W = mean_s u x^T, Hv_b = mean_s u. */
static void test_exact_linear_softmax(void **state) {
    (void)state;
    const int D = 12, K = 5, n = 7;
    net t = make_net("dense:5", (fedc_shape){1, 3, 4}, K, n, 7);
    fedc_nn_grad(t.a, t.ws, t.p, t.g, t.x, t.y, n, NULL);
    fedc_nn_hvp(t.a, t.ws, t.hw, t.p, t.v, t.hv, NULL, t.x, t.y, n);
    double *want = calloc(t.np, sizeof *want);
    const float *W = t.p, *b = t.p + K * D, *RW = t.v, *Rb = t.v + K * D;
    for (int s = 0; s < n; s++) {
        const float *x = t.x + (size_t)s * D;
        double z[5], rz[5], p[5], zmax = -1e300, sum = 0, dot = 0;
        for (int c = 0; c < K; c++) {
            z[c] = b[c];
            rz[c] = Rb[c];
            for (int d = 0; d < D; d++) {
                z[c] += (double)W[c * D + d] * x[d];
                rz[c] += (double)RW[c * D + d] * x[d];
            }
            if (z[c] > zmax) zmax = z[c];
        }
        for (int c = 0; c < K; c++) sum += p[c] = exp(z[c] - zmax);
        for (int c = 0; c < K; c++) dot += (p[c] /= sum) * rz[c];
        for (int c = 0; c < K; c++) {
            double u = p[c] * (rz[c] - dot) / n;
            for (int d = 0; d < D; d++) want[c * D + d] += u * x[d];
            want[K * D + c] += u;
        }
    }
    double err = rel_err(t.hv, want, t.np);
    if (err > 1e-6) fail_msg("|Hv - exact| / |exact| = %.3g", err);
    free(want);
    free_net(&t);
}

static void test_dense_mlp(void **state) {
    (void)state;
    check_fd("dense:6,dense:5,dense:3", (fedc_shape){1, 2, 3}, 3, 4, 11);
    check_fd("dense:8,relu,dense:3", (fedc_shape){1, 3, 3}, 3, 5, 12);
}

static void test_conv_pool(void **state) {
    (void)state;
    check_fd("conv:3:3,pool:2,conv:4:3,pool:2,dense:3", (fedc_shape){2, 10, 10}, 3, 2, 21);
    check_fd("conv:3:3:2:1,avgpool:2,dense:3", (fedc_shape){1, 9, 9}, 3, 3, 22);
}

static void test_norms(void **state) {
    (void)state;
    check_fd("conv:4:3,gn:2,dense:3", (fedc_shape){1, 5, 5}, 3, 3, 31);
    check_fd("conv:4:3,bn,pool:2,conv:3:3,bn,dense:3", (fedc_shape){2, 6, 6}, 3, 4, 32);
    check_fd("dense:6,bn,dense:4,gn:2,dense:3", (fedc_shape){1, 2, 3}, 3, 5, 33);
}

static void test_wsconv_and_dropout(void **state) {
    (void)state;
    check_fd("wsconv:4:3,pool:2,wsconv:3:3,dense:3", (fedc_shape){3, 6, 6}, 3, 3, 41);
    check_fd("dense:8,drop:0.5,dense:3", (fedc_shape){1, 2, 3}, 3, 4, 42);
}

static void test_refuses_misfit(void **state) {
    (void)state;
    net t = make_net("dense:3", (fedc_shape){1, 2, 2}, 3, 2, 1);
    assert_true(isnan(fedc_nn_hvp(t.a, t.ws, t.hw, t.p, t.v, t.hv, NULL, t.x, t.y, 3)));
    assert_true(isnan(fedc_nn_hvp(t.a, t.ws, NULL, t.p, t.v, t.hv, NULL, t.x, t.y, 2)));
    assert_null(fedc_hvp_ws_create(t.a, 0));
    fedc_hvp_ws_free(NULL);
    free_net(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_linear_softmax),
        cmocka_unit_test(test_dense_mlp),
        cmocka_unit_test(test_conv_pool),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_wsconv_and_dropout),
        cmocka_unit_test(test_refuses_misfit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
