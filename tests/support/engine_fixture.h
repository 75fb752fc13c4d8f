/* The fixture of the engine-level unit tests: a train/test pair of the
 * synthetic linear task (support/synthetic_data.h), passed to fedc_run_create
 * in memory, and the task fields that tell the engine so. One definition, so
 * every engine test builds its runs on the same data. */
#ifndef FEDC_TEST_ENGINE_FIXTURE_H
#define FEDC_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
