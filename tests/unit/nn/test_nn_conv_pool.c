/* A conv followed by a max pool runs fused: forward (AVX-512) straight into
 * the pooled output and argmax, backward visiting only the pool winners.
 * Both must agree with the separate layers: the unfused conv forward + max
 * pool, and max-pool backward + conv backward. Shapes cover the register
 * tile widths (output rows of 14+, 8..13, 4..7, 2, 1), output channels that
 * are not a multiple of 32, strides, padding, pool windows that drop the
 * last rows/columns, a single input channel and the CNN's 32-channel case,
 * with and without ReLU, and with and without an input gradient. */
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

static void assert_close(const char *what, const char *spec, const float *a, const float *b, size_t n) {
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > 1e-5 * (scale + 1.0))
            fail_msg("%s: %s[%zu] = %.7g, unfused %.7g", spec, what, i, (double)a[i], (double)b[i]);
}

/* Checks the conv at ops[i] (followed by a max pool) of spec; no_relu
 * drops its implied ReLU (a spec cannot: the last conv before a pool always
 * has one), to cover the fused path's unmasked case. */
static void check(const char *spec, fedc_shape in, int n, int i, int no_relu, uint64_t seed) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(spec, in, 3, &err);
    if (!a) fail_msg("%s: %s", spec, err.msg);
    assert_true(nn_conv_pool_fusable(a, i));
    if (no_relu) a->ops[i].relu = 0;
    const nn_op *conv = &a->ops[i], *pool = &a->ops[i + 1];
    fedc_ws *ws = fedc_ws_create(a, n);
    assert_non_null(ws);
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    float *params = random_floats(fedc_arch_nparams(a), &r);
    const float *w = params + conv->w_off, *b = params + conv->b_off;
    const size_t in_n = (size_t)n * conv->in_size, out_n = (size_t)n * conv->out_size;
    const size_t pool_n = (size_t)n * pool->out_size;
    float *x = random_floats(in_n, &r), *dp = random_floats(pool_n, &r);
    float *y = malloc(out_n * sizeof *y), *pooled = malloc(pool_n * sizeof *pooled);
    int32_t *argmax = malloc(pool_n * sizeof *argmax);

    /* Unfused forward: the conv output, then the pool. */
    nn_conv_forward(conv, &ws->op[i], ws, w, b, x, y, n);
    nn_maxpool_forward(pool, y, pooled, argmax, n);
#ifdef NN_AVX512_BUILD
    if (nn_use_avx512()) { /* same tile arithmetic: bit-identical results */
        float *fp = malloc(pool_n * sizeof *fp);
        int32_t *fa = malloc(pool_n * sizeof *fa);
        nn_conv_pool_forward_direct(conv, pool, ws, w, b, x, fp, fa, n);
        for (size_t k = 0; k < pool_n; k++) {
            if (fp[k] != pooled[k] || fa[k] != argmax[k])
                fail_msg("%s: pooled[%zu] = %.7g at %d, unfused %.7g at %d", spec, k, (double)fp[k], fa[k],
                         (double)pooled[k], argmax[k]);
        }
        free(fp);
        free(fa);
    }
#endif

    /* Unfused backward: the pool's scatter, then the conv. */
    float *dy = malloc(out_n * sizeof *dy);
    float *dx_ref = conv->need_dx ? malloc(in_n * sizeof *dx_ref) : NULL;
    float *dw_ref = malloc(conv->w_count * sizeof *dw_ref), *db_ref = malloc(conv->b_count * sizeof *db_ref);
    nn_maxpool_backward(pool, argmax, dp, dy, n);
    nn_conv_backward(conv, &ws->op[i], ws, w, x, y, dy, dx_ref, dw_ref, db_ref, n);

    float *dx = conv->need_dx ? malloc(in_n * sizeof *dx) : NULL;
    float *dw = malloc(conv->w_count * sizeof *dw), *db = malloc(conv->b_count * sizeof *db);
    nn_conv_pool_backward(conv, pool, ws, argmax, w, x, pooled, dp, dx, dw, db, n);
    assert_close("dW", spec, dw, dw_ref, conv->w_count);
    assert_close("db", spec, db, db_ref, conv->b_count);
    if (conv->need_dx) assert_close("dx", spec, dx, dx_ref, in_n);

    free(params);
    free(x);
    free(dp);
    free(y);
    free(pooled);
    free(argmax);
    free(dy);
    free(dx_ref);
    free(dw_ref);
    free(db_ref);
    free(dx);
    free(dw);
    free(db);
    fedc_ws_free(ws);
    fedc_arch_free(a);
}

static void test_first_layer_no_input_gradient(void **state) {
    (void)state;
    check("conv:32:5,pool:2,dense:3", (fedc_shape){1, 28, 28}, 3, 0, 0, 1); /* the CNN's first layer */
    check("conv:5:3,pool:2,dense:3", (fedc_shape){2, 9, 11}, 2, 0, 0, 2);   /* odd sizes: floor drops */
    check("conv:3:3,pool:2,dense:3", (fedc_shape){1, 5, 40}, 2, 0, 0, 13);  /* 20 pooled per row */
}

static void test_input_gradient_and_tile_widths(void **state) {
    (void)state;
    /* The CNN's second layer: 32 channels in, 14-wide rows. */
    check("conv:4:3,conv:64:5,pool:2,dense:3", (fedc_shape){32, 14, 14}, 2, 1, 0, 3);
    /* 40 channels: one full block of 32 and a partial one. */
    check("conv:3:3,conv:40:3,pool:2,dense:3", (fedc_shape){2, 17, 16}, 2, 1, 0, 4);
    check("conv:3:3,conv:6:3,pool:3,dense:3", (fedc_shape){3, 11, 10}, 2, 1, 0, 5);  /* rows of 10 */
    check("conv:3:3,conv:6:3,pool:2,dense:3", (fedc_shape){2, 6, 5}, 3, 1, 0, 6);    /* rows of 5 */
    check("conv:3:3,conv:2:3,pool:2,dense:3", (fedc_shape){1, 3, 3}, 2, 1, 0, 7);    /* rows of 3 */
    check("conv:3:1,conv:2:1,pool:1,dense:3", (fedc_shape){2, 4, 1}, 2, 1, 0, 8);    /* rows of 1 */
    /* Inputs of 16k channels move to and from channels-last by 16x16
     * transposes: rows of 19 (a full block of 16 and 3 more) and of 7. */
    check("conv:32:3,conv:6:5,pool:2,dense:3", (fedc_shape){2, 9, 19}, 2, 1, 0, 14);
    check("conv:16:3,conv:5:3,pool:2,dense:3", (fedc_shape){1, 6, 7}, 3, 1, 0, 15);
}

static void test_stride_padding_and_no_relu(void **state) {
    (void)state;
    check("conv:3:3,conv:5:3:2:1,pool:2,dense:3", (fedc_shape){2, 13, 12}, 2, 1, 0, 9);
    check("conv:3:3,conv:4:4:1:0,pool:3,dense:3", (fedc_shape){2, 12, 12}, 2, 1, 1, 10);
    check("conv:3:3,conv:4:5:3:4,pool:2,dense:3", (fedc_shape){1, 7, 7}, 2, 1, 1, 11); /* padding > stride */
    check("conv:8:3,pool:2,dense:3", (fedc_shape){1, 8, 8}, 2, 0, 1, 12);
    /* Anything between the conv and the pool (here group norm) keeps the
     * layers separate. */
    fedc_arch *a = fedc_arch_parse("conv:4:3,gn:2,pool:2,dense:3", (fedc_shape){1, 6, 6}, 3, NULL);
    assert_non_null(a);
    assert_false(nn_conv_pool_fusable(a, 0));
    fedc_arch_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_layer_no_input_gradient),
        cmocka_unit_test(test_input_gradient_and_tile_widths),
        cmocka_unit_test(test_stride_padding_and_no_relu),
    };
    /* Once with the AVX-512 kernels (where the CPU has them), once with the
     * portable C / OpenBLAS paths. */
    int failed = cmocka_run_group_tests_name("avx512_if_available", tests, NULL, NULL);
    nn_portable_kernels = 1;
    failed += cmocka_run_group_tests_name("portable", tests, NULL, NULL);
    return failed;
}
