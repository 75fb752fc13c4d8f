/* CIFAR-10 binary batches: records of 1 label byte (0..9) and 3072 pixel
 * bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major), which is
 * already the {3,32,32} channel-major layout the models use. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_CLASSES 10
#define CIFAR_MAX_FILES 64

/* Validates one batch and returns its record count in *records. */
static int cifar_check(const uint8_t *p, size_t len, const char *name, size_t *records,
                       fedc_error *err) {
    if (len == 0)
        return fedc_fail(err, "%s: empty file, expected CIFAR-10 records", name);
    if (len > FEDC_DATA_MAX_BYTES)
        return fedc_fail(err, "%s: %zu bytes, more than the limit of %zu", name, len,
                         FEDC_DATA_MAX_BYTES);
    if (len % CIFAR_RECORD != 0)
        return fedc_fail(err,
                         "%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records "
                         "(1 label byte + 3072 pixel bytes): %zu records and %zu extra "
                         "bytes (truncated file, or CIFAR-100 with 2 label bytes?)",
                         name, len, CIFAR_RECORD, len / CIFAR_RECORD, len % CIFAR_RECORD);
    size_t n = len / CIFAR_RECORD;
    for (size_t i = 0; i < n; i++) {
        uint8_t label = p[i * CIFAR_RECORD];
        if (label >= CIFAR_CLASSES)
            return fedc_fail(err,
                             "%s: record %zu (byte offset %zu) has label %u; CIFAR-10 labels "
                             "are 0..9",
                             name, i, i * CIFAR_RECORD, label);
    }
    *records = n;
    return 0;
}

static void cifar_convert(const uint8_t *p, size_t records, float *x, int32_t *y) {
    for (size_t i = 0; i < records; i++) {
        const uint8_t *rec = p + i * CIFAR_RECORD;
        y[i] = rec[0];
        data_bytes_to_unit(rec + 1, CIFAR_PIXELS, x + i * CIFAR_PIXELS);
    }
}

int fedc_parse_cifar10(const void *buf, size_t len, const char *name, fedc_dataset *out,
                       fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name)
        name = "cifar10";
    if (!buf && len)
        return fedc_fail(err, "%s: no data", name);
    size_t n = 0;
    if (cifar_check(buf, len, name, &n, err) != 0)
        return -1;
    fedc_shape shape = {3, 32, 32};
    if (data_alloc(out, n, shape, CIFAR_CLASSES, name, err) != 0)
        return -1;
    cifar_convert(buf, n, out->x, out->y);
    return 0;
}

int fedc_load_cifar10(const char *const *paths, int npaths, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!paths || npaths < 1 || npaths > CIFAR_MAX_FILES)
        return fedc_fail(err, "cifar10: %d files given, allowed 1..%d", npaths, CIFAR_MAX_FILES);
    /* Read and check every file first, so the features are allocated once. */
    uint8_t *bufs[CIFAR_MAX_FILES] = {0};
    size_t records[CIFAR_MAX_FILES] = {0};
    size_t total = 0;
    int rc = -1;
    for (int f = 0; f < npaths; f++) {
        size_t len = 0;
        if (data_read_file(paths[f], FEDC_DATA_MAX_BYTES, &bufs[f], &len, err) != 0)
            goto done;
        if (cifar_check(bufs[f], len, paths[f], &records[f], err) != 0)
            goto done;
        total += records[f];
    }
    fedc_shape shape = {3, 32, 32};
    if (data_alloc(out, total, shape, CIFAR_CLASSES, paths[0], err) != 0)
        goto done;
    size_t at = 0;
    for (int f = 0; f < npaths; f++) {
        cifar_convert(bufs[f], records[f], out->x + at * CIFAR_PIXELS, out->y + at);
        at += records[f];
    }
    rc = 0;
done:
    for (int f = 0; f < npaths; f++)
        free(bufs[f]);
    return rc;
}
