/* Fuzzes the MATLAB level-5 reader and the two loaders built on it (SVHN's
 * X/y, EMNIST's dataset struct with writers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/mat5.h"
#include "fedc/data.h"

/* Reads every element of every numeric array, recursing into structs and
 * cells: all pointers the parser hands out must be inside its buffers. */
static double walk(const mat5_array *a, int depth) {
    double s = 0;
    if (depth > MAT5_MAX_DEPTH + 1) abort();
    if (a->data) {
        if (a->nbytes != a->numel * mat5_dtype_size(a->dtype)) abort();
        for (uint64_t i = 0; i < a->numel && i < 4096; i++) s += mat5_get(a, i);
        if (a->numel) s += mat5_get(a, a->numel - 1);
    }
    for (size_t i = 0; i < a->nvalues; i++) s += walk(&a->values[i], depth + 1);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mat5_file m;
    fedc_error err;
    volatile double sink = 0;
    if (mat5_parse(data, size, "fuzz.mat", 1 << 24, &m, &err) == 0) {
        for (int i = 0; i < m.nvars; i++) sink += walk(&m.vars[i], 0);
        mat5_free(&m);
    }
    (void)sink;
    fedc_dataset d;
    if (fedc_parse_svhn(data, size, "fuzz-svhn.mat", &d, &err) == 0) {
        if (d.dim != 3072 || d.n_classes != 10) abort();
        for (size_t i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] > 9) abort();
        fedc_dataset_free(&d);
    }
    for (int train = 0; train < 2; train++)
        if (fedc_parse_emnist_mat(data, size, "fuzz-emnist.mat", train, 62, train, &d, &err) == 0) {
            if (d.dim != 784) abort();
            for (size_t i = 0; i < d.n; i++) {
                if (d.y[i] < 0 || d.y[i] > 61) abort();
                if (d.group && d.group[i] >= d.n_groups) abort();
            }
            fedc_dataset_free(&d);
        }
    return 0;
}
