/* Dataset memory, the hot-path gather, and opening datasets by name. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"

int data_alloc(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, const char *name,
               fedc_error *err) {
    memset(d, 0, sizeof *d);
    if (shape.c <= 0 || shape.h <= 0 || shape.w <= 0)
        return fedc_fail(err, "%s: invalid sample shape {%d,%d,%d}", name, shape.c, shape.h,
                         shape.w);
    size_t dim = (size_t)shape.c * (size_t)shape.h * (size_t)shape.w;
    if (n == 0)
        return fedc_fail(err, "%s: no samples", name);
    if (n > UINT32_MAX || dim > SIZE_MAX / sizeof(float) / n)
        return fedc_fail(err, "%s: %zu samples of %zu values do not fit in memory", name, n, dim);
    void *x = NULL;
    size_t xbytes = n * dim * sizeof(float);
    if (posix_memalign(&x, 64, xbytes ? xbytes : 64) != 0)
        return fedc_fail(err, "%s: out of memory allocating %zu bytes of features", name, xbytes);
    int32_t *y = malloc(n * sizeof *y);
    if (!y) {
        free(x);
        return fedc_fail(err, "%s: out of memory allocating %zu labels", name, n);
    }
    d->n = n;
    d->shape = shape;
    d->dim = dim;
    d->n_classes = n_classes;
    d->x = x;
    d->y = y;
    return 0;
}

void data_bytes_to_unit(const uint8_t *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i] / 255.0f;
}

void fedc_dataset_free(fedc_dataset *d) {
    if (!d)
        return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

int fedc_dataset_copy(const fedc_dataset *src, fedc_dataset *dst, fedc_error *err) {
    if (data_alloc(dst, src->n, src->shape, src->n_classes, "dataset copy", err) != 0) return -1;
    memcpy(dst->x, src->x, src->n * src->dim * sizeof *dst->x);
    memcpy(dst->y, src->y, src->n * sizeof *dst->y);
    return 0;
}

void fedc_dataset_gather(const fedc_dataset *d, const uint32_t *idx, size_t n, float *x,
                         int32_t *y) {
    const size_t dim = d->dim;
    const size_t row = dim * sizeof(float);
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * dim, d->x + (size_t)idx[i] * dim, row);
        y[i] = d->y[idx[i]];
    }
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds an IDX file in the spellings MNIST-style datasets ship with:
 * "train-images-idx3-ubyte" or "train-images.idx3-ubyte", gzipped or not. */
static int find_idx_file(const char *dataset, const char *dir, const char *split, int images,
                         char *out, size_t cap, fedc_error *err) {
    const char *what = images ? "images" : "labels";
    const char *idx = images ? "idx3" : "idx1";
    const char *seps[2] = {"-", "."};
    const char *exts[2] = {".gz", ""};
    for (int s = 0; s < 2; s++) {
        for (int e = 0; e < 2; e++) {
            int w =
                snprintf(out, cap, "%s/%s-%s%s%s-ubyte%s", dir, split, what, seps[s], idx, exts[e]);
            if (w > 0 && (size_t)w < cap && file_exists(out))
                return 0;
        }
    }
    return fedc_fail(err,
                     "%s: no %s %s file in %s (looked for %s-%s-%s-ubyte and %s-%s.%s-ubyte, "
                     "each with or without .gz)",
                     dataset, split, what, dir, split, what, idx, split, what, idx);
}

static int open_mnist_like(const char *dataset, const char *dir, int train, fedc_dataset *out,
                           fedc_error *err) {
    const char *split = train ? "train" : "t10k";
    char images[4096], labels[4096];
    if (find_idx_file(dataset, dir, split, 1, images, sizeof images, err) != 0 ||
        find_idx_file(dataset, dir, split, 0, labels, sizeof labels, err) != 0)
        return -1;
    return fedc_load_idx_classes(images, labels, 10, out, err);
}

static int open_cifar10(const char *dir, int train, fedc_dataset *out, fedc_error *err) {
    if (!dir || !*dir)
        return fedc_fail(err, "cifar10: needs the directory holding data_batch_1.bin .. "
                              "data_batch_5.bin and test_batch.bin");
    char base[4096], probe[4200];
    snprintf(base, sizeof base, "%s", dir);
    snprintf(probe, sizeof probe, "%s/data_batch_1.bin", base);
    if (!file_exists(probe)) {
        /* The official tarball unpacks into cifar-10-batches-bin/. */
        char nested[4096];
        int w = snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", dir);
        snprintf(probe, sizeof probe, "%s/data_batch_1.bin", nested);
        if (w > 0 && (size_t)w < sizeof nested && file_exists(probe))
            snprintf(base, sizeof base, "%s", nested);
    }
    char paths[5][4200];
    const char *ptrs[5];
    int np = train ? 5 : 1;
    for (int i = 0; i < np; i++) {
        if (train)
            snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", base, i + 1);
        else
            snprintf(paths[i], sizeof paths[i], "%s/test_batch.bin", base);
        ptrs[i] = paths[i];
        if (!file_exists(paths[i]))
            return fedc_fail(err,
                             "cifar10: missing %s (expected data_batch_1.bin .. "
                             "data_batch_5.bin and test_batch.bin in %s)",
                             paths[i], base);
    }
    return fedc_load_cifar10(ptrs, np, out, err);
}

static int open_csv(const char *path, const char *test_path, const char *label_column, int train,
                    fedc_dataset *out, fedc_error *err) {
    if (!path || !*path)
        return fedc_fail(err, "csv: needs the path of the training CSV file");
    if (train)
        return fedc_load_csv(path, label_column, out, err);
    if (!test_path || !*test_path)
        return fedc_fail(err,
                         "csv: the test set needs test_path (a CSV file with the same "
                         "columns as %s)",
                         path);
    fedc_dataset tr;
    fedc_csv_schema schema;
    if (fedc_load_csv_train(path, label_column, &tr, &schema, err) != 0)
        return -1;
    fedc_dataset_free(&tr);
    int rc = fedc_load_csv_test(test_path, label_column, &schema, out, err);
    fedc_csv_schema_free(&schema);
    return rc;
}

int fedc_dataset_open(const char *name, const char *path, const char *test_path,
                      const char *label_column, int train, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name || !*name)
        return fedc_fail(err,
                         "dataset name is empty (allowed: fashion-mnist, mnist, cifar10, csv)");
    if (!strcasecmp(name, "fashion-mnist") || !strcasecmp(name, "fashion_mnist") ||
        !strcasecmp(name, "fmnist"))
        return open_mnist_like("fashion-mnist", path && *path ? path : FEDC_FASHION_MNIST_DIR,
                               train, out, err);
    if (!strcasecmp(name, "mnist")) {
        if (!path || !*path)
            return fedc_fail(err, "mnist: needs the directory holding the 4 IDX files "
                                  "(train-images-idx3-ubyte.gz ...)");
        return open_mnist_like("mnist", path, train, out, err);
    }
    if (!strcasecmp(name, "cifar10") || !strcasecmp(name, "cifar-10"))
        return open_cifar10(path, train, out, err);
    if (!strcasecmp(name, "csv"))
        return open_csv(path, test_path, label_column, train, out, err);
    return fedc_fail(err, "unknown dataset '%s' (allowed: fashion-mnist, mnist, cifar10, csv)",
                     name);
}
