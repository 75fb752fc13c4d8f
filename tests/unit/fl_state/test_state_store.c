/* The per-client state store: records read as zeros until written, survive
 * eviction to the spill file and back bit for bit, memory stays within the
 * budget (plus the records in use), checkpoints round-trip, bad input is
 * refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/state.h"

enum { N = 5000, FLOATS = 50 };

static void fill(float *r, int k) {
    for (int j = 0; j < FLOATS; j++) r[j] = (float)k * 1000.0f + (float)j;
}

static void test_spill_and_reload(void **state) {
    (void)state;
    fedc_error err;
    size_t rb = FLOATS * sizeof(float);
    fedc_state_config cfg = {rb, 64 * rb, NULL}; /* 64 records in memory */
    fedc_state_store *s = fedc_state_create(&cfg, N, &err);
    assert_non_null(s);
    for (int k = 0; k < N; k += 3) {
        float *r = fedc_state_acquire(s, k, &err);
        assert_non_null(r);
        for (int j = 0; j < FLOATS; j++) assert_true(r[j] == 0.0f); /* new: zeros */
        fill(r, k);
        fedc_state_release(s, k);
    }
    fedc_state_stats st;
    fedc_state_stats_get(s, &st);
    assert_int_equal(st.records, (N + 2) / 3);
    assert_true(st.resident_peak <= 64);
    assert_true(st.memory_bytes <= 64 * rb);
    assert_true(st.spill_writes > 0);
    assert_int_equal(st.spill_file_bytes, (st.records - st.resident) * rb);
    for (int k = N - 1; k >= 0; k--) {
        assert_int_equal(fedc_state_has(s, k), k % 3 == 0);
        if (k % 3) continue;
        float *r = fedc_state_acquire(s, k, &err);
        assert_non_null(r);
        float want[FLOATS];
        fill(want, k);
        assert_memory_equal(r, want, rb);
        fedc_state_release(s, k);
    }
    fedc_state_stats_get(s, &st);
    assert_true(st.spill_reads > 0);
    /* Dropping reads as zeros again; the spill space is reused. */
    fedc_state_drop(s, 0);
    assert_false(fedc_state_has(s, 0));
    float *r = fedc_state_acquire(s, 0, &err);
    assert_true(r[5] == 0.0f);
    fedc_state_release(s, 0);
    fedc_state_free(s);
}

static void test_pinned_records_are_never_evicted(void **state) {
    (void)state;
    fedc_error err;
    fedc_state_config cfg = {16, 32, NULL}; /* two records */
    fedc_state_store *s = fedc_state_create(&cfg, 10, &err);
    float *a = fedc_state_acquire(s, 1, &err), *b = fedc_state_acquire(s, 2, &err);
    a[0] = 1, b[0] = 2;
    /* a third while both are in use: the budget is exceeded, nothing evicted */
    float *c = fedc_state_acquire(s, 3, &err);
    assert_non_null(c);
    c[0] = 3;
    assert_true(a[0] == 1 && b[0] == 2);
    fedc_state_release(s, 1), fedc_state_release(s, 2), fedc_state_release(s, 3);
    for (int k = 4; k < 10; k++) {
        float *x = fedc_state_acquire(s, k, &err);
        x[0] = (float)k;
        fedc_state_release(s, k);
    }
    for (int k = 1; k < 10; k++) {
        float *x = fedc_state_acquire(s, k, &err);
        assert_true(x[0] == (float)k);
        fedc_state_release(s, k);
    }
    fedc_state_free(s);
}

static void test_checkpoint_round_trip_and_errors(void **state) {
    (void)state;
    fedc_error err;
    size_t rb = FLOATS * sizeof(float);
    fedc_state_config cfg = {rb, 8 * rb, NULL};
    fedc_state_store *s = fedc_state_create(&cfg, 100, &err);
    for (int k = 0; k < 100; k += 7) {
        float *r = fedc_state_acquire(s, k, &err);
        fill(r, k);
        fedc_state_release(s, k);
    }
    FILE *f = tmpfile();
    assert_int_equal(fedc_state_save(s, f, &err), 0);
    rewind(f);
    fedc_state_store *t = fedc_state_create(&cfg, 100, &err);
    assert_int_equal(fedc_state_load(t, f, &err), 0);
    for (int k = 0; k < 100; k++) {
        assert_int_equal(fedc_state_has(t, k), k % 7 == 0);
        if (k % 7) continue;
        float *r = fedc_state_acquire(t, k, &err), want[FLOATS];
        fill(want, k);
        assert_memory_equal(r, want, rb);
        fedc_state_release(t, k);
    }
    /* truncated file */
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    char *buf = malloc((size_t)len);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    f = fmemopen(buf, (size_t)len - 3, "rb");
    assert_int_equal(fedc_state_load(t, f, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    fclose(f);
    free(buf);
    /* another record size */
    fedc_state_config other = {rb + 4, 0, NULL};
    fedc_state_store *u = fedc_state_create(&other, 100, &err);
    f = tmpfile();
    fedc_state_save(s, f, &err);
    rewind(f);
    assert_int_equal(fedc_state_load(u, f, &err), -1);
    assert_non_null(strstr(err.msg, "bytes"));
    fclose(f);
    assert_null(fedc_state_acquire(u, 100, &err));
    assert_non_null(strstr(err.msg, "outside"));
    fedc_state_free(s), fedc_state_free(t), fedc_state_free(u);
}

static void test_bad_config(void **state) {
    (void)state;
    fedc_error err;
    fedc_state_config cfg = {0, 0, NULL};
    assert_null(fedc_state_create(&cfg, 10, &err));
    cfg.record_bytes = 4;
    assert_null(fedc_state_create(&cfg, 0, &err));
    cfg.spill_dir = "/nonexistent-dir-for-fedc";
    cfg.memory_bytes = 4;
    fedc_state_store *s = fedc_state_create(&cfg, 3, &err);
    assert_non_null(fedc_state_acquire(s, 0, &err));
    fedc_state_release(s, 0);
    assert_null(fedc_state_acquire(s, 1, &err)); /* must spill record 0: no folder */
    assert_non_null(strstr(err.msg, "spill file"));
    fedc_state_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spill_and_reload),
        cmocka_unit_test(test_pinned_records_are_never_evicted),
        cmocka_unit_test(test_checkpoint_round_trip_and_errors),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
