/* The engine on a dataset whose features are bytes (the catalog loaders'
 * pixels) and on the same data as floats: every round gives the same model,
 * bit for bit, and the same test and validation figures, with the paths that
 * read the features outside the batch gather too: the validation hold-out
 * (a byte subset), feature skew (the test set transformed as floats) and the
 * evaluation split across the worker threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "fedc/nn.h"
#include "support/engine_fixture.h"

enum { SIDE = 4, DIM = SIDE * SIDE, CLASSES = 3, N_TRAIN = 360, N_TEST = 150 };

/* Byte images of three classes: class c's pixels f with f % 3 == c are
 * bright (128..255), the others dark (0..127); so all 256 values occur and
 * a few rounds learn it. */
static void byte_images(fedc_dataset *d, size_t n, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n;
    d->shape = (fedc_shape){1, SIDE, SIDE};
    d->dim = DIM;
    d->n_classes = CLASSES;
    d->x8 = malloc(n * DIM);
    d->x8_scale = 255.0f;
    d->y = malloc(n * sizeof *d->y);
    assert_non_null(d->x8);
    assert_non_null(d->y);
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        d->y[i] = (int32_t)fedc_rng_below(&r, CLASSES);
        for (int f = 0; f < DIM; f++)
            d->x8[i * DIM + (size_t)f] = (uint8_t)(fedc_rng_below(&r, 128) + (f % CLASSES == d->y[i] ? 128 : 0));
    }
}

static void as_floats(const fedc_dataset *src, fedc_dataset *dst) {
    fedc_error err;
    assert_int_equal(fedc_dataset_copy(src, dst, &err), 0);
    assert_int_equal(fedc_dataset_to_float(dst, &err), 0);
    assert_null(dst->x8);
}

static void same_run(const fedc_task *t) {
    fedc_dataset tr8, ts8, trf, tsf;
    byte_images(&tr8, N_TRAIN, 31);
    byte_images(&ts8, N_TEST, 32);
    as_floats(&tr8, &trf);
    as_floats(&ts8, &tsf);
    fedc_test_sim a = fedc_test_sim_run(&tr8, &ts8, t);
    fedc_test_sim b = fedc_test_sim_run(&trf, &tsf, t);
    size_t d = fedc_arch_nparams(fedc_run_arch(a.run));
    assert_memory_equal(fedc_run_model(a.run), fedc_run_model(b.run), d * sizeof(float));
    assert_int_equal(a.last.evaluated, 1);
    assert_memory_equal(&a.last.accuracy, &b.last.accuracy, sizeof(double));
    assert_memory_equal(&a.last.loss, &b.last.loss, sizeof(double));
    assert_int_equal(a.last.val_evaluated, b.last.val_evaluated);
    if (a.last.val_evaluated) {
        assert_memory_equal(&a.last.val_accuracy, &b.last.val_accuracy, sizeof(double));
        assert_memory_equal(&a.last.val_loss, &b.last.val_loss, sizeof(double));
    }
    assert_int_equal(a.last.personal_evaluated, b.last.personal_evaluated);
    if (a.last.personal_evaluated)
        assert_memory_equal(&a.last.personal_accuracy, &b.last.personal_accuracy, sizeof(double));
    /* the model learnt (so the comparison is not of two untrained models) */
    assert_true(a.last.accuracy > 0.5); /* chance is 1/3 */
    fedc_test_sim_free(&a);
    fedc_test_sim_free(&b);
    fedc_dataset_free(&tr8);
    fedc_dataset_free(&ts8);
    fedc_dataset_free(&trf);
    fedc_dataset_free(&tsf);
}

static void base_task(fedc_task *t, const char *model) {
    fedc_test_memory_task(t, model);
    t->clients = 4;
    t->clients_per_round = 4;
    t->rounds = 4;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 9;
}

static void test_dense_model_same_bits(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t, "dense:16,dense:3");
    same_run(&t);
}

static void test_conv_model_with_validation_same_bits(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t, "conv:4:3,pool:2,dense:3");
    t.validation = 0.2;
    same_run(&t);
}

static void test_feature_skew_and_personal_eval_same_bits(void **state) {
    (void)state;
    fedc_task t;
    base_task(&t, "dense:16,dense:3");
    snprintf(t.partition.feature_skew, sizeof t.partition.feature_skew, "id,invert,contrast:0.5");
    t.eval_personal = 10;
    same_run(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_model_same_bits),
        cmocka_unit_test(test_conv_model_with_validation_same_bits),
        cmocka_unit_test(test_feature_skew_and_personal_eval_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
