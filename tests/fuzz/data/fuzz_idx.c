/* Fuzzes the IDX pair parser on memory buffers. Input layout: byte 0 picks
 * the class-count mode (even: inferred, odd: 10 classes), bytes 1-2 (little
 * endian) are the images part's length, the rest after it is the labels
 * file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fedc/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    int n_classes = (data[0] & 1) ? 10 : 0;
    size_t images_len = (size_t)data[1] | (size_t)data[2] << 8;
    const uint8_t *images = data + 3;
    size_t rest = size - 3;
    if (images_len > rest)
        images_len = rest;
    fedc_dataset d;
    fedc_error err;
    if (fedc_parse_idx(images, images_len, "fuzz-images", images + images_len, rest - images_len,
                       "fuzz-labels", n_classes, &d, &err) == 0) {
        /* A parsed set must be self-consistent. */
        if (d.n == 0 || d.dim != (size_t)d.shape.h * (size_t)d.shape.w || d.n_classes < 2)
            abort();
        for (size_t i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] >= d.n_classes)
                abort();
        /* Pixels are kept as bytes; as floats they lie in [0,1]. */
        if (d.x || !d.x8 || fedc_dataset_to_float(&d, &err) != 0)
            abort();
        for (size_t i = 0; i < d.n * d.dim; i++)
            if (!(d.x[i] >= 0.0f && d.x[i] <= 1.0f))
                abort();
        fedc_dataset_free(&d);
    }
    return 0;
}
