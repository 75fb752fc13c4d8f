/* Fuzzes the CSV parser. Input: byte 0 picks the label column name, the
 * rest is a training file, optionally followed by a NUL byte and a test
 * file that is parsed with the training schema. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"

static void check(const fedc_dataset *d) {
    if (d->n == 0 || d->dim == 0 || d->n_classes < 2)
        abort();
    for (size_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    static const char *const labels[4] = {"label", "y", "kind", NULL};
    const char *label = labels[data[0] & 3];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const char *nul = memchr(text, '\0', len);
    size_t train_len = nul ? (size_t)(nul - text) : len;
    fedc_dataset d;
    fedc_csv_schema schema;
    fedc_error err;
    if (fedc_parse_csv(text, train_len, "fuzz-train", label, NULL, &d, &schema, &err) != 0)
        return 0;
    check(&d);
    if ((size_t)schema.n_features != d.dim)
        abort();
    fedc_dataset_free(&d);
    if (nul) {
        const char *test = nul + 1;
        size_t test_len = len - train_len - 1;
        if (fedc_parse_csv(test, test_len, "fuzz-test", label, &schema, &d, NULL, &err) == 0) {
            check(&d);
            if (d.n_classes != schema.n_classes || d.dim != (size_t)schema.n_features)
                abort();
            fedc_dataset_free(&d);
        }
    }
    fedc_csv_schema_free(&schema);
    return 0;
}
