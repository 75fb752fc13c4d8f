/* The fixture of the engine-level unit tests: a train/test pair of the
 * synthetic linear task (support/synthetic_data.h), passed to fedc_run_create
 * in memory, and the task fields that tell the engine so. One definition, so
 * every engine test builds its runs on the same data. */
#ifndef FEDC_TEST_ENGINE_FIXTURE_H
#define FEDC_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "fedc/engine.h"
#include "fedc/task.h"
#include "support/synthetic_data.h"

typedef struct fedc_test_data_pair {
    fedc_dataset train, test;
} fedc_test_data_pair;

/* A cmocka setup's state: n_train and n_test samples drawn from the seeds. */
static inline int fedc_test_data_pair_setup(void **state, size_t n_train, size_t n_test, int features, int classes,
                                            uint64_t train_seed, uint64_t test_seed) {
    fedc_test_data_pair *f = calloc(1, sizeof *f);
    if (!f) return -1;
    fedc_test_linear_dataset(&f->train, n_train, features, classes, train_seed);
    fedc_test_linear_dataset(&f->test, n_test, features, classes, test_seed);
    *state = f;
    return 0;
}

static inline int fedc_test_data_pair_teardown(void **state) {
    fedc_test_data_pair *f = *state;
    fedc_test_dataset_free(&f->train);
    fedc_test_dataset_free(&f->test);
    free(f);
    return 0;
}

/* Defaults, with the data set named as the in-memory CSV the run options
 * carry (the engine reads no file) and the given model. */
static inline void fedc_test_memory_task(fedc_task *t, const char *model) {
    fedc_task_defaults(t);
    snprintf(t->dataset.name, sizeof t->dataset.name, "csv");
    snprintf(t->dataset.path, sizeof t->dataset.path, "in-memory.csv");
    snprintf(t->dataset.test_path, sizeof t->dataset.test_path, "in-memory-test.csv");
    snprintf(t->dataset.label_column, sizeof t->dataset.label_column, "label");
    snprintf(t->model, sizeof t->model, "%s", model);
}

/* A simulation of the task run to its end on the pair's data, with the
 * last round's metrics; for cmocka tests (include <cmocka.h> first). */
typedef struct fedc_test_sim {
    fedc_run *run;
    fedc_transport *tp;
    fedc_round_metrics last;
} fedc_test_sim;

static inline fedc_test_sim fedc_test_sim_run(fedc_dataset *train, fedc_dataset *test, const fedc_task *t) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = train, .test_data = test};
    fedc_test_sim s = {0};
    s.run = fedc_run_create(t, &ro, &err);
    if (!s.run) fail_msg("run create: %s", err.msg);
    s.tp = fedc_sim_transport_create(s.run, &err);
    assert_non_null(s.tp);
    while (!fedc_run_done(s.run))
        if (fedc_run_round(s.run, s.tp, &s.last, &err) != 0) fail_msg("round: %s", err.msg);
    return s;
}

static inline void fedc_test_sim_free(fedc_test_sim *s) {
    s->tp->ops->destroy(s->tp);
    fedc_run_free(s->run);
}

#endif
