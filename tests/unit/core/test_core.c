/* Core: RNG determinism and distributions, buffer/reader bounds, pool coverage. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/finite.h"
#include "fedc/pool.h"
#include "fedc/rng.h"

static void test_rng_derive_is_deterministic_and_distinct(void **state) {
    (void)state;
    fedc_rng a = fedc_rng_derive(7, 1, 2), b = fedc_rng_derive(7, 1, 2), c = fedc_rng_derive(7, 2, 1);
    uint64_t xa = fedc_rng_u64(&a), xb = fedc_rng_u64(&b), xc = fedc_rng_u64(&c);
    assert_int_equal(xa, xb);
    assert_true(xa != xc);
}

static void test_rng_uniform_and_normal_moments(void **state) {
    (void)state;
    fedc_rng r;
    fedc_rng_seed(&r, 1);
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = fedc_rng_uniform(&r);
        assert_true(u >= 0 && u < 1);
        s += u;
        s2 += u * u;
        double z = fedc_rng_normal(&r);
        ns += z;
        ns2 += z * z;
    }
    assert_true(fabs(s / n - 0.5) < 0.005);
    assert_true(fabs(s2 / n - 1.0 / 3.0) < 0.005);
    assert_true(fabs(ns / n) < 0.01);
    assert_true(fabs(ns2 / n - 1.0) < 0.02);
}

static void test_rng_gamma_mean(void **state) {
    (void)state;
    fedc_rng r;
    fedc_rng_seed(&r, 3);
    const double shapes[] = {0.1, 0.5, 1.0, 4.0};
    for (int k = 0; k < 4; k++) {
        double s = 0;
        const int n = 100000;
        for (int i = 0; i < n; i++) s += fedc_rng_gamma(&r, shapes[k]);
        assert_true(fabs(s / n - shapes[k]) < 0.05 * shapes[k] + 0.005);
    }
}

static void test_rng_below_uniform(void **state) {
    (void)state;
    fedc_rng r;
    fedc_rng_seed(&r, 5);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[fedc_rng_below(&r, 7)]++;
    for (int k = 0; k < 7; k++) assert_true(abs(counts[k] - 10000) < 500);
}

static void test_rng_sample_distinct(void **state) {
    (void)state;
    fedc_rng r;
    fedc_rng_seed(&r, 9);
    const uint32_t cases[][2] = {{10000, 100}, {100, 100}, {100, 60}, {5, 1}, {1, 1}};
    for (int c = 0; c < 5; c++) {
        uint32_t n = cases[c][0], k = cases[c][1];
        uint32_t *out = malloc(k * sizeof *out);
        char *seen = calloc(n, 1);
        fedc_rng_sample_u32(&r, n, k, out);
        for (uint32_t i = 0; i < k; i++) {
            assert_true(out[i] < n);
            assert_false(seen[out[i]]);
            seen[out[i]] = 1;
        }
        free(out);
        free(seen);
    }
}

static void test_buf_reader_bounds(void **state) {
    (void)state;
    fedc_buf b = {0};
    assert_int_equal(fedc_buf_put_u32(&b, 0xA1B2C3D4u), 0);
    assert_int_equal(fedc_buf_put_f32(&b, 1.5f), 0);
    assert_int_equal(fedc_buf_put_u64(&b, 42), 0);
    assert_int_equal(b.len, 16);
    assert_int_equal(b.data[0], 0xD4); /* little endian */
    fedc_reader r = fedc_reader_make(b.data, b.len);
    uint32_t u;
    float f;
    uint64_t q;
    assert_int_equal(fedc_read_u32(&r, &u), 0);
    assert_int_equal(u, 0xA1B2C3D4u);
    assert_int_equal(fedc_read_f32(&r, &f), 0);
    assert_true(f == 1.5f);
    assert_int_equal(fedc_read_u64(&r, &q), 0);
    assert_int_equal(q, 42);
    assert_int_equal(fedc_read_u8(&r, (uint8_t *)&u), -1);
    const uint8_t *view;
    r = fedc_reader_make(b.data, 3);
    assert_int_equal(fedc_read_u32(&r, &u), -1);
    assert_int_equal(fedc_read_view(&r, &view, 4), -1);
    assert_int_equal(fedc_read_view(&r, &view, 3), 0);
    fedc_buf_free(&b);
}

typedef struct {
    int *hits;
    int *worker_ok;
    int size;
} pool_ctx;

static void mark(void *ctx, size_t i, int worker) {
    pool_ctx *c = ctx;
    __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
    if (worker < 0 || worker >= c->size) *c->worker_ok = 0;
}

static void test_pool_runs_each_index_once(void **state) {
    (void)state;
    fedc_pool *p = fedc_pool_create(3);
    int ok = 1;
    for (int rep = 0; rep < 50; rep++) {
        int hits[257] = {0};
        pool_ctx c = {hits, &ok, 3};
        fedc_pool_for(p, 257, mark, &c);
        for (int i = 0; i < 257; i++) assert_int_equal(hits[i], 1);
    }
    assert_true(ok);
    fedc_pool_destroy(p);
}

static void test_error_messages(void **state) {
    (void)state;
    fedc_error e;
    assert_int_equal(fedc_fail(&e, "rounds: %d is out of range", 0), -1);
    assert_string_equal(e.msg, "rounds: 0 is out of range");
    fedc_fail_prefix(&e, "%s: ", "task.json");
    assert_string_equal(e.msg, "task.json: rounds: 0 is out of range");
    assert_int_equal(fedc_fail(NULL, "ignored"), -1);
}

/* Every position of NaN, +inf and -inf is found, first one wins, in and
 * across scan blocks; finite extremes (max, denormals, -0) are not flagged. */
static void test_first_nonfinite(void **state) {
    (void)state;
    const size_t n = 3000;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = (float)i * 0.5f - 700.0f;
    x[5] = 3.4028235e38f;
    x[6] = -3.4028235e38f;
    x[7] = 1e-45f;
    x[8] = -0.0f;
    assert_int_equal(fedc_first_nonfinite(x, n), n);
    assert_int_equal(fedc_first_nonfinite(x, 0), 0);
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const size_t at[5] = {0, 1023, 1024, 2047, n - 1};
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 5; k++) {
            float keep = x[at[k]];
            x[at[k]] = bad[b];
            assert_int_equal(fedc_first_nonfinite(x, n), at[k]);
            assert_int_equal(fedc_first_nonfinite(x, at[k]), at[k]); /* not within the first at[k] */
            x[at[k]] = keep;
        }
    x[2500] = NAN;
    x[1500] = INFINITY;
    assert_int_equal(fedc_first_nonfinite(x, n), 1500);
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_derive_is_deterministic_and_distinct),
        cmocka_unit_test(test_first_nonfinite),
        cmocka_unit_test(test_rng_uniform_and_normal_moments),
        cmocka_unit_test(test_rng_gamma_mean),
        cmocka_unit_test(test_rng_below_uniform),
        cmocka_unit_test(test_rng_sample_distinct),
        cmocka_unit_test(test_buf_reader_bounds),
        cmocka_unit_test(test_pool_runs_each_index_once),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
