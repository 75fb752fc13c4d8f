/* CIFAR binary batches. CIFAR-10 records are 1 label byte (0..9) and 3072
 * pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major),
 * which is already the {3,32,32} channel-major layout the models use.
 * CIFAR-100 records carry two label bytes first: the coarse superclass
 * (0..19), then the fine class (0..99). The downloads are .tar.gz archives
 * holding the batches; they are read without unpacking them to disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/archive.h"
#include "data/data_internal.h"

#define CIFAR_PIXELS 3072
#define CIFAR_MAX_FILES 64

/* How a record is laid out and which label byte is kept. */
typedef struct cifar_format {
    const char *what;     /* "CIFAR-10", "CIFAR-100" */
    int label_bytes;      /* 1 or 2 */
    int label_at;         /* index of the kept label byte */
    int classes;          /* of the kept label */
} cifar_format;

static const cifar_format k_cifar10 = {"CIFAR-10", 1, 0, 10};
static const cifar_format k_cifar100_fine = {"CIFAR-100", 2, 1, 100};
static const cifar_format k_cifar100_coarse = {"CIFAR-100", 2, 0, 20};

static size_t record_len(const cifar_format *fmt) { return (size_t)fmt->label_bytes + CIFAR_PIXELS; }

/* Validates one batch and returns its record count in *records. */
static int cifar_check(const cifar_format *fmt, const uint8_t *p, size_t len, const char *name,
                       size_t *records, fedc_error *err) {
    size_t rec = record_len(fmt);
    if (len == 0)
        return fedc_fail(err, "%s: empty file, expected %s records", name, fmt->what);
    if (len > FEDC_DATA_MAX_BYTES)
        return fedc_fail(err, "%s: %zu bytes, more than the limit of %zu", name, len,
                         FEDC_DATA_MAX_BYTES);
    if (len % rec != 0)
        return fedc_fail(err,
                         "%s: %zu bytes is not a whole number of %zu-byte %s records "
                         "(%d label byte%s + 3072 pixel bytes): %zu records and %zu extra "
                         "bytes (truncated file, or %s?)",
                         name, len, rec, fmt->what, fmt->label_bytes,
                         fmt->label_bytes > 1 ? "s" : "", len / rec, len % rec,
                         fmt->label_bytes == 1 ? "CIFAR-100 with 2 label bytes"
                                               : "CIFAR-10 with 1 label byte");
    size_t n = len / rec;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < fmt->label_bytes; b++) {
            uint8_t label = p[i * rec + (size_t)b];
            /* CIFAR-100: the coarse byte is 0..19, the fine byte 0..99. */
            int limit = fmt->label_bytes == 1 ? 10 : (b == 0 ? 20 : 100);
            if (label >= limit) {
                if (fmt->label_bytes == 1)
                    return fedc_fail(err,
                                     "%s: record %zu (byte offset %zu) has label %u; %s labels "
                                     "are 0..%d",
                                     name, i, i * rec, label, fmt->what, limit - 1);
                return fedc_fail(err,
                                 "%s: record %zu (byte offset %zu) has %s label %u; %s %s labels "
                                 "are 0..%d",
                                 name, i, i * rec + (size_t)b, b == 0 ? "coarse" : "fine", label,
                                 fmt->what, b == 0 ? "coarse" : "fine", limit - 1);
            }
        }
    }
    *records = n;
    return 0;
}

static void cifar_convert(const cifar_format *fmt, const uint8_t *p, size_t records, uint8_t *x,
                          int32_t *y) {
    size_t rec = record_len(fmt);
    for (size_t i = 0; i < records; i++) {
        const uint8_t *r = p + i * rec;
        y[i] = r[fmt->label_at];
        memcpy(x + i * CIFAR_PIXELS, r + fmt->label_bytes, CIFAR_PIXELS);
    }
}

/* Batches already in memory, concatenated in order. */
static int cifar_from_buffers(const cifar_format *fmt, const uint8_t *const *bufs,
                              const size_t *lens, const char *const *names, int n,
                              fedc_dataset *out, fedc_error *err) {
    size_t records[CIFAR_MAX_FILES], total = 0;
    for (int f = 0; f < n; f++) {
        if (cifar_check(fmt, bufs[f], lens[f], names[f], &records[f], err) != 0)
            return -1;
        total += records[f];
    }
    fedc_shape shape = {3, 32, 32};
    if (data_alloc_bytes(out, total, shape, fmt->classes, names[0], err) != 0)
        return -1;
    size_t at = 0;
    for (int f = 0; f < n; f++) {
        cifar_convert(fmt, bufs[f], records[f], out->x8 + at * CIFAR_PIXELS, out->y + at);
        at += records[f];
    }
    return 0;
}

int fedc_parse_cifar10(const void *buf, size_t len, const char *name, fedc_dataset *out,
                       fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name)
        name = "cifar10";
    if (!buf && len)
        return fedc_fail(err, "%s: no data", name);
    const uint8_t *b = buf;
    return cifar_from_buffers(&k_cifar10, &b, &len, &name, 1, out, err);
}

int fedc_parse_cifar100(const void *buf, size_t len, const char *name, int coarse,
                        fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name)
        name = "cifar100";
    if (!buf && len)
        return fedc_fail(err, "%s: no data", name);
    const uint8_t *b = buf;
    return cifar_from_buffers(coarse ? &k_cifar100_coarse : &k_cifar100_fine, &b, &len, &name, 1,
                              out, err);
}

static int load_files(const cifar_format *fmt, const char *const *paths, int npaths,
                      fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!paths || npaths < 1 || npaths > CIFAR_MAX_FILES)
        return fedc_fail(err, "%s: %d files given, allowed 1..%d", fmt->what, npaths,
                         CIFAR_MAX_FILES);
    uint8_t *bufs[CIFAR_MAX_FILES] = {0};
    size_t lens[CIFAR_MAX_FILES] = {0};
    int rc = -1;
    for (int f = 0; f < npaths; f++)
        if (data_read_file(paths[f], FEDC_DATA_MAX_BYTES, &bufs[f], &lens[f], err) != 0)
            goto done;
    rc = cifar_from_buffers(fmt, (const uint8_t *const *)bufs, lens, paths, npaths, out, err);
done:
    for (int f = 0; f < npaths; f++)
        free(bufs[f]);
    return rc;
}

int fedc_load_cifar10(const char *const *paths, int npaths, fedc_dataset *out, fedc_error *err) {
    return load_files(&k_cifar10, paths, npaths, out, err);
}

int data_load_cifar100_files(const char *path, int coarse, fedc_dataset *out, fedc_error *err) {
    const char *p = path;
    return load_files(coarse ? &k_cifar100_coarse : &k_cifar100_fine, &p, 1, out, err);
}

int data_load_cifar_tar(const char *archive, int cifar100, int coarse, int train,
                        fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    const cifar_format *fmt =
        !cifar100 ? &k_cifar10 : coarse ? &k_cifar100_coarse : &k_cifar100_fine;
    static const char *const c10_train[] = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin"};
    static const char *const c10_test[] = {"test_batch.bin"};
    static const char *const c100_train[] = {"train.bin"};
    static const char *const c100_test[] = {"test.bin"};
    const char *const *members = cifar100 ? (train ? c100_train : c100_test)
                                          : (train ? c10_train : c10_test);
    int n = !cifar100 && train ? 5 : 1;
    uint8_t *tar;
    size_t len;
    /* A little more than the records themselves: tar headers and padding. */
    if (data_read_file(archive, FEDC_DATA_MAX_BYTES, &tar, &len, err) != 0)
        return -1;
    const uint8_t *bufs[5];
    size_t lens[5];
    char names[5][1200];
    const char *np[5];
    int rc = -1;
    for (int i = 0; i < n; i++) {
        if (data_tar_find(tar, len, archive, members[i], &bufs[i], &lens[i], err) != 0)
            goto out;
        snprintf(names[i], sizeof names[i], "%s: %s", archive, members[i]);
        np[i] = names[i];
    }
    rc = cifar_from_buffers(fmt, bufs, lens, np, n, out, err);
out:
    free(tar);
    return rc;
}
