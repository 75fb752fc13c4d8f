/* Fuzzes the CIFAR-10 batch parser on a memory buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fedc/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_dataset d;
    fedc_error err;
    if (fedc_parse_cifar10(data, size, "fuzz-cifar", &d, &err) == 0) {
        if (d.n * 3073 != size || d.dim != 3072 || d.n_classes != 10)
            abort();
        for (size_t i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] > 9)
                abort();
        fedc_dataset_free(&d);
    }
    return 0;
}
