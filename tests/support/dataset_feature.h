/* Tests: a dataset's feature at a flat index (sample * dim + feature) as
 * training sees it, whichever form (bytes or floats) the dataset holds. */
#ifndef FEDC_TEST_DATASET_FEATURE_H
#define FEDC_TEST_DATASET_FEATURE_H

#include <stdlib.h>

#include "fedc/data.h"

static inline float test_feature(const fedc_dataset *d, size_t flat) {
    float *row = malloc(d->dim * sizeof *row);
    if (!row) abort();
    fedc_dataset_rows(d, flat / d->dim, 1, row);
    float v = row[flat % d->dim];
    free(row);
    return v;
}

#endif
