/* nn_gemm against a direct triple loop: every transpose combination, tile
 * and cache-block edges (sizes around MR, NR, KC, MC, NC), padded leading
 * dimensions, and accumulation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fedc/nn.h"
#include "nn/nn_internal.h"

static void check(fedc_ws *ws, int ta, int tb, int m, int n, int k, int accumulate) {
    const int pad = 3;
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    size_t arows = (size_t)(ta ? k : m), brows = (size_t)(tb ? n : k);
    float *a = malloc(arows * lda * sizeof *a), *b = malloc(brows * ldb * sizeof *b);
    float *c = malloc((size_t)m * ldc * sizeof *c), *c0 = malloc((size_t)m * ldc * sizeof *c0);
    fedc_rng r;
    fedc_rng_seed(&r, (uint64_t)(m * 1000003 + n * 1009 + k * 7 + ta * 2 + tb));
    for (size_t i = 0; i < arows * lda; i++) a[i] = (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < brows * ldb; i++) b[i] = (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)m * ldc; i++) c[i] = c0[i] = (float)fedc_rng_normal(&r);
    nn_gemm(ws, ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t o = (size_t)i * ldc + j;
            if (j >= n) { /* padding columns are never written */
                assert_true(c[o] == c0[o]);
                continue;
            }
            double acc = accumulate ? c0[o] : 0.0, mag = fabs(acc);
            for (int q = 0; q < k; q++) {
                double av = ta ? a[(size_t)q * lda + i] : a[(size_t)i * lda + q];
                double bv = tb ? b[(size_t)j * ldb + q] : b[(size_t)q * ldb + j];
                acc += av * bv;
                mag += fabs(av * bv);
            }
            if (fabs(c[o] - acc) > 1e-5 * (mag + 1.0))
                fail_msg("ta=%d tb=%d m=%d n=%d k=%d acc=%d: C[%d,%d] = %.7g, expected %.7g", ta, tb, m, n, k,
                         accumulate, i, j, (double)c[o], acc);
        }
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

/* C = op(A) op(B) into a 64-byte aligned C whose row stride is a multiple
 * of 16 floats, against a double-precision reference. */
static void check_aligned(fedc_ws *ws, int ta, int tb, int m, int n, int k) {
    const int ldc = (n + 15) / 16 * 16 + 16, lda = ta ? m : k, ldb = tb ? k : n;
    const size_t cbytes = ((size_t)m * ldc * sizeof(float) + 63) / 64 * 64;
    float *a = malloc((size_t)(ta ? k : m) * lda * sizeof *a), *b = malloc((size_t)(tb ? n : k) * ldb * sizeof *b);
    float *c = aligned_alloc(64, cbytes);
    assert_true((size_t)m * n >= NN_GEMM_STREAM_MIN);
    fedc_rng r;
    fedc_rng_seed(&r, (uint64_t)(m + n + k));
    for (size_t i = 0; i < (size_t)(ta ? k : m) * lda; i++) a[i] = (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)(tb ? n : k) * ldb; i++) b[i] = (float)fedc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)m * ldc; i++) c[i] = 1e30f; /* overwritten, never added to */
    nn_gemm(ws, ta, tb, m, n, k, a, lda, b, ldb, 0, c, ldc);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            const float got = c[(size_t)i * ldc + j];
            if (j >= n) {
                assert_true(got == 1e30f);
                continue;
            }
            double acc = 0.0, mag = 0.0;
            for (int q = 0; q < k; q++) {
                double av = ta ? a[(size_t)q * lda + i] : a[(size_t)i * lda + q];
                double bv = tb ? b[(size_t)j * ldb + q] : b[(size_t)q * ldb + j];
                acc += av * bv;
                mag += fabs(av * bv);
            }
            if (fabs(got - acc) > 1e-5 * (mag + 1.0))
                fail_msg("aligned ta=%d m=%d n=%d k=%d: C[%d,%d] = %.7g, expected %.7g", ta, m, n, k, i, j, (double)got, acc);
        }
    free(a);
    free(b);
    free(c);
}

static void test_gemm_matches_reference(void **state) {
    (void)state;
    fedc_arch *arch = fedc_arch_parse("dense:2", (fedc_shape){1, 1, 1}, 2, NULL);
    fedc_ws *ws = fedc_ws_create(arch, 1);
    static const int sizes[][3] = {
        {1, 1, 1},       {8, 32, 8},       {7, 33, 9},     {9, 31, 17},    {16, 64, 16},
        {64, 196, 800},  {33, 25, 784},    {130, 70, 300}, {3, 1030, 20},  {200, 10, 257},
        {NN_GEMM_MC + 1, NN_GEMM_NR + 1, NN_GEMM_KC + 1},
        /* A B^T with m <= 32 reads B in place: row tiles of 14, 8, 4, 2, 1
         * and a k longer than one packed block of A^T. */
        {32, 45, 300},   {30, 29, 5},      {5, 27, 8300},
    };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int accumulate = 0; accumulate < 2; accumulate++)
                    check(ws, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], accumulate);
    /* A C of NN_GEMM_STREAM_MIN floats or more, 64-byte aligned with rows a
     * multiple of 16 floats apart, written in one k block: streamed to
     * memory (as a dense layer's weight gradient over a small batch). */
    check_aligned(ws, 1, 0, 1000, 1056, 32);
    check_aligned(ws, 0, 0, 1001, 1050, 7); /* with partial tiles at both edges */
    /* k = 0: C = 0, or unchanged when accumulating. */
    float c[4] = {1, 2, 3, 4}, dummy = 0.0f;
    nn_gemm(ws, 0, 0, 2, 2, 0, &dummy, 1, &dummy, 2, 1, c, 2);
    assert_true(c[0] == 1 && c[3] == 4);
    nn_gemm(ws, 0, 0, 2, 2, 0, &dummy, 1, &dummy, 2, 0, c, 2);
    assert_true(c[0] == 0 && c[3] == 0);
    fedc_ws_free(ws);
    fedc_arch_free(arch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_matches_reference),
    };
    /* Once with the AVX-512 kernels (where the CPU has them), once with the
     * portable C / OpenBLAS paths. */
    int failed = cmocka_run_group_tests_name("avx512_if_available", tests, NULL, NULL);
    nn_portable_kernels = 1;
    failed += cmocka_run_group_tests_name("portable", tests, NULL, NULL);
    return failed;
}
