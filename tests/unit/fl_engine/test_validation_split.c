/* task.validation: the held-out share of each client's samples.
 *  - each client gives up floor(share * n) samples, which leave its
 *    partition (no client trains on them) and form the validation set;
 *  - the split is reproducible from the task seed and differs with it;
 *  - every evaluated round reports val_accuracy beside the test accuracy,
 *    and a run without the field reports none;
 *  - a share that holds nothing out (tiny clients) is an error naming the field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 600, N_TEST = 120, CLIENTS = 5 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void make_task(fedc_task *t, double validation, uint64_t seed) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->partition.kind, sizeof t->partition.kind, "dirichlet");
    t->partition.alpha = 0.5;
    t->clients = CLIENTS;
    t->clients_per_round = CLIENTS;
    t->rounds = 6;
    t->local.batch = 16;
    t->local.lr = 0.3;
    t->seed = seed;
    t->validation = validation;
    fedc_error err;
    if (fedc_task_validate(t, &err) != 0) fail_msg("%s", err.msg);
}

static fedc_run *make_run(fixture *f, const fedc_task *t) {
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_error err;
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("%s", err.msg);
    return r;
}

/* Every sample id appears once over the partitions, never held out too. */
static void test_held_out_per_client(void **state) {
    fixture *f = *state;
    fedc_task t0, t;
    make_task(&t0, 0, 3);
    make_task(&t, 0.25, 3);
    fedc_run *r0 = make_run(f, &t0), *r = make_run(f, &t);
    const fedc_partition *p0 = fedc_run_partition(r0), *p = fedc_run_partition(r);
    size_t kept = 0, held = 0;
    char *seen = calloc(N_TRAIN, 1);
    for (int k = 0; k < CLIENTS; k++) {
        size_t n = fedc_partition_size(p0, k), h = (size_t)(0.25 * (double)n);
        assert_int_equal(fedc_partition_size(p, k), n - h); /* the partition itself is the task's own */
        held += h;
        kept += fedc_partition_size(p, k);
        const uint32_t *ids = fedc_partition_client(p, k);
        for (size_t i = 0; i < fedc_partition_size(p, k); i++) {
            assert_true(ids[i] < N_TRAIN);
            assert_int_equal(seen[ids[i]], 0);
            seen[ids[i]] = 1;
            /* A kept id belonged to the same client without the split. */
            int found = 0;
            const uint32_t *own = fedc_partition_client(p0, k);
            for (size_t j = 0; j < fedc_partition_size(p0, k) && !found; j++) found = own[j] == ids[i];
            assert_true(found);
        }
    }
    assert_int_equal(fedc_run_validation_size(r), held);
    assert_int_equal(kept + held, N_TRAIN);
    assert_int_equal(fedc_run_validation_size(r0), 0);
    free(seen);
    fedc_run_free(r0);
    fedc_run_free(r);
}

/* Same seed, same split; another seed, another split. */
static void test_split_follows_the_seed(void **state) {
    fixture *f = *state;
    fedc_task a, b;
    make_task(&a, 0.2, 3);
    make_task(&b, 0.2, 4);
    fedc_run *r1 = make_run(f, &a), *r2 = make_run(f, &a), *r3 = make_run(f, &b);
    const fedc_partition *p1 = fedc_run_partition(r1), *p2 = fedc_run_partition(r2), *p3 = fedc_run_partition(r3);
    size_t n = p1->offsets[CLIENTS];
    assert_int_equal(n, p2->offsets[CLIENTS]);
    assert_memory_equal(p1->index, p2->index, n * sizeof *p1->index);
    assert_true(p3->offsets[CLIENTS] != n || memcmp(p1->index, p3->index, n * sizeof *p1->index) != 0);
    fedc_run_free(r1);
    fedc_run_free(r2);
    fedc_run_free(r3);
}

static void test_rounds_report_validation(void **state) {
    fixture *f = *state;
    fedc_task t;
    make_task(&t, 0.2, 3);
    fedc_run *r = make_run(f, &t);
    fedc_error err;
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    assert_non_null(tp);
    for (int k = 0; k < t.rounds; k++) {
        fedc_round_metrics m;
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(m.val_evaluated, 1);
        assert_true(m.val_accuracy >= 0 && m.val_accuracy <= 1 && isfinite(m.val_loss));
        assert_true(m.client_steps > 0);
        double a, l;
        assert_int_equal(fedc_run_evaluate_validation(r, &a, &l), 0);
        assert_true(a == m.val_accuracy);
    }
    /* The held-out samples come from the training distribution: the model
     * that learnt it scores on them about as it does on the test set, well
     * above chance. */
    double a, l, ta, tl;
    fedc_run_evaluate_validation(r, &a, &l);
    fedc_run_evaluate(r, &ta, &tl);
    print_message("validation accuracy %.3f, test accuracy %.3f\n", a, ta);
    assert_true(a > 0.5 && fabs(a - ta) < 0.15);
    tp->ops->destroy(tp);
    fedc_run_free(r);

    fedc_task t0;
    make_task(&t0, 0, 3);
    r = make_run(f, &t0);
    tp = fedc_sim_transport_create(r, &err);
    fedc_round_metrics m;
    if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(m.val_evaluated, 0);
    assert_int_equal(fedc_run_evaluate_validation(r, &a, &l), -1);
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

static void test_too_small_is_an_error(void **state) {
    fixture *f = *state;
    fedc_task t;
    make_task(&t, 0.001, 3); /* at most 120 samples per client: 0.12 of one */
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_error err;
    assert_null(fedc_run_create(&t, &ro, &err));
    assert_non_null(strstr(err.msg, "validation"));
    /* Out of range in the spec itself. */
    assert_int_not_equal(fedc_task_set(&t, "validation=0.7", &err), 0);
    assert_non_null(strstr(err.msg, "validation"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_out_per_client),
        cmocka_unit_test(test_split_follows_the_seed),
        cmocka_unit_test(test_rounds_report_validation),
        cmocka_unit_test(test_too_small_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
