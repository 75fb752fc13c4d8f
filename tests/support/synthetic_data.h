/* A small in-memory classification task for engine-level tests: Gaussian
 * features, label = argmax of a fixed integer projection, so it is learnable
 * and the same for every test that asks for the same (n, seed). */
#ifndef FEDC_TEST_SYNTHETIC_DATA_H
#define FEDC_TEST_SYNTHETIC_DATA_H

#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"
#include "fedc/rng.h"

static inline void fedc_test_linear_dataset(fedc_dataset *d, size_t n, int features, int classes,
                                            uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n;
    d->shape = (fedc_shape){1, 1, features};
    d->dim = (size_t)features;
    d->n_classes = classes;
    d->x = malloc(n * (size_t)features * sizeof(float));
    d->y = malloc(n * sizeof(int32_t));
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        float *x = d->x + i * (size_t)features, best = -1e9f;
        for (int f = 0; f < features; f++) x[f] = (float)fedc_rng_normal(&r);
        for (int c = 0; c < classes; c++) {
            float s = 0;
            for (int f = 0; f < features; f++) s += x[f] * (float)((f * 7 + c * 3) % 5 - 2);
            if (s > best) {
                best = s;
                d->y[i] = c;
            }
        }
    }
}

static inline void fedc_test_dataset_free(fedc_dataset *d) {
    free(d->x);
    free(d->x8);
    free(d->y);
    d->x = NULL;
    d->x8 = NULL;
    d->y = NULL;
}

#endif
