/* The two feature forms of a dataset (data.h): bytes with a scale (the
 * loaders' pixels) and floats. Whatever the form, gathering gives the floats
 * the loaders stored before they kept bytes: (float)byte / 255, bit for bit;
 * select, copy, to_float and the EMNIST transpose keep that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/data.h"

enum { N = 300, SIDE = 4, DIM = SIDE * SIDE };

/* N samples of SIDE x SIDE byte pixels covering all 256 values. */
static void byte_dataset(fedc_dataset *d) {
    memset(d, 0, sizeof *d);
    d->n = N;
    d->shape = (fedc_shape){1, SIDE, SIDE};
    d->dim = DIM;
    d->n_classes = 3;
    d->x8 = malloc((size_t)N * DIM);
    d->x8_scale = 255.0f;
    d->y = malloc(N * sizeof *d->y);
    assert_non_null(d->x8);
    assert_non_null(d->y);
    for (size_t i = 0; i < (size_t)N * DIM; i++) d->x8[i] = (uint8_t)(i * 37 + i / 256);
    for (size_t i = 0; i < N; i++) d->y[i] = (int32_t)(i % 3);
}

static void test_gather_gives_the_loaders_floats(void **state) {
    (void)state;
    fedc_dataset d;
    byte_dataset(&d);
    /* every byte value, as the loaders computed it */
    int seen[256] = {0};
    float *x = malloc((size_t)N * DIM * sizeof *x);
    int32_t *y = malloc(N * sizeof *y);
    uint32_t *idx = malloc(N * sizeof *idx);
    for (size_t i = 0; i < N; i++) idx[i] = (uint32_t)((i * 7) % N);
    fedc_dataset_gather(&d, idx, N, x, y);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(y[i], d.y[idx[i]]);
        for (size_t j = 0; j < DIM; j++) {
            uint8_t b = d.x8[(size_t)idx[i] * DIM + j];
            float want = (float)b / 255.0f;
            assert_memory_equal(&x[i * DIM + j], &want, sizeof want);
            seen[b] = 1;
        }
    }
    for (int b = 0; b < 256; b++) assert_true(seen[b]);
    /* rows: the same floats for a contiguous range; y may be NULL in gather */
    float *r = malloc((size_t)N * DIM * sizeof *r);
    fedc_dataset_rows(&d, 5, 10, r);
    uint32_t five[10];
    for (int i = 0; i < 10; i++) five[i] = (uint32_t)(5 + i);
    fedc_dataset_gather(&d, five, 10, x, NULL);
    assert_memory_equal(r, x, 10 * DIM * sizeof *x);
    assert_int_equal(fedc_dataset_feature_bytes(&d), (size_t)N * DIM);
    free(x), free(y), free(idx), free(r);
    fedc_dataset_free(&d);
    assert_null(d.x8);
}

static void test_select_copy_and_to_float_keep_the_floats(void **state) {
    (void)state;
    fedc_dataset d, sel, cp, fl;
    fedc_error err;
    byte_dataset(&d);
    uint32_t ids[5] = {299, 0, 17, 17, 150};
    assert_int_equal(fedc_dataset_select(&d, ids, 5, &sel, &err), 0);
    assert_non_null(sel.x8);
    assert_null(sel.x);
    assert_int_equal(sel.n, 5);
    float a[DIM], b[DIM];
    for (int i = 0; i < 5; i++) {
        fedc_dataset_rows(&sel, (size_t)i, 1, a);
        fedc_dataset_rows(&d, ids[i], 1, b);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(sel.y[i], d.y[ids[i]]);
    }
    /* an empty selection is a valid empty dataset */
    fedc_dataset none;
    assert_int_equal(fedc_dataset_select(&d, ids, 0, &none, &err), 0);
    assert_int_equal(none.n, 0);
    fedc_dataset_free(&none);
    /* copy keeps the bytes; to_float turns them into the gathered floats */
    assert_int_equal(fedc_dataset_copy(&d, &cp, &err), 0);
    assert_memory_equal(cp.x8, d.x8, (size_t)N * DIM);
    assert_int_equal(fedc_dataset_copy(&d, &fl, &err), 0);
    assert_int_equal(fedc_dataset_to_float(&fl, &err), 0);
    assert_null(fl.x8);
    assert_non_null(fl.x);
    assert_int_equal(fedc_dataset_feature_bytes(&fl), (size_t)N * DIM * sizeof(float));
    for (size_t i = 0; i < N; i += 13) {
        fedc_dataset_rows(&d, i, 1, a);
        assert_memory_equal(a, fl.x + i * DIM, sizeof a);
    }
    /* float datasets select and gather as before */
    fedc_dataset fsel;
    assert_int_equal(fedc_dataset_select(&fl, ids, 5, &fsel, &err), 0);
    assert_null(fsel.x8);
    for (int i = 0; i < 5; i++) assert_memory_equal(fsel.x + (size_t)i * DIM, fl.x + (size_t)ids[i] * DIM, sizeof a);
    assert_int_equal(fedc_dataset_to_float(&fsel, &err), 0); /* no-op */
    assert_memory_equal(fsel.x, fl.x + (size_t)ids[0] * DIM, sizeof a);
    /* the transpose turns both forms alike */
    fedc_dataset_transpose_images(&cp);
    fedc_dataset_transpose_images(&fl);
    assert_int_equal(cp.x8[3 * DIM + 1 * SIDE + 2], d.x8[3 * DIM + 2 * SIDE + 1]);
    for (size_t i = 0; i < N; i += 7) {
        fedc_dataset_rows(&cp, i, 1, a);
        assert_memory_equal(a, fl.x + i * DIM, sizeof a);
    }
    fedc_dataset_free(&fsel);
    fedc_dataset_free(&fl);
    fedc_dataset_free(&cp);
    fedc_dataset_free(&sel);
    fedc_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_gives_the_loaders_floats),
        cmocka_unit_test(test_select_copy_and_to_float_keep_the_floats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
