/* Dataset memory, the hot-path gather, and opening datasets by name: the
 * catalog says where a dataset's files are (dataset.path, a system copy or
 * the cache) and in which format; the files are fetched first when the
 * policy allows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/catalog_internal.h"
#include "data/data_internal.h"
#include "fedc/log.h"

/* The samples' memory: features of elem bytes each (4: floats, 1: bytes),
 * 64-byte aligned, and the labels (n may be 0 here; loaders refuse it). */
static int alloc_samples(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, size_t elem,
                         const char *name, fedc_error *err) {
    memset(d, 0, sizeof *d);
    if (shape.c <= 0 || shape.h <= 0 || shape.w <= 0)
        return fedc_fail(err, "%s: invalid sample shape {%d,%d,%d}", name, shape.c, shape.h,
                         shape.w);
    size_t dim = (size_t)shape.c * (size_t)shape.h * (size_t)shape.w;
    if (n > UINT32_MAX || (n && dim > SIZE_MAX / sizeof(float) / n))
        return fedc_fail(err, "%s: %zu samples of %zu values do not fit in memory", name, n, dim);
    void *x = NULL;
    size_t xbytes = n * dim * elem;
    if (posix_memalign(&x, 64, xbytes ? xbytes : 64) != 0)
        return fedc_fail(err, "%s: out of memory allocating %zu bytes of features", name, xbytes);
    int32_t *y = malloc((n ? n : 1) * sizeof *y);
    if (!y) {
        free(x);
        return fedc_fail(err, "%s: out of memory allocating %zu labels", name, n);
    }
    d->n = n;
    d->shape = shape;
    d->dim = dim;
    d->n_classes = n_classes;
    if (elem == 1) {
        d->x8 = x;
        d->x8_scale = 255.0f;
    } else {
        d->x = x;
    }
    d->y = y;
    return 0;
}

int data_alloc(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, const char *name,
               fedc_error *err) {
    if (n == 0) {
        memset(d, 0, sizeof *d);
        return fedc_fail(err, "%s: no samples", name);
    }
    return alloc_samples(d, n, shape, n_classes, sizeof(float), name, err);
}

int data_alloc_bytes(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, const char *name,
                     fedc_error *err) {
    if (n == 0) {
        memset(d, 0, sizeof *d);
        return fedc_fail(err, "%s: no samples", name);
    }
    return alloc_samples(d, n, shape, n_classes, 1, name, err);
}

/* One sample's byte features as floats. The division (not a multiplication
 * by 1/scale) is the one the loaders used when they stored floats, so
 * training sees the very same values; the compiler vectorises it. */
static void bytes_to_float(const uint8_t *restrict src, size_t n, float scale, float *restrict dst) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i] / scale;
}

void fedc_dataset_free(fedc_dataset *d) {
    if (!d)
        return;
    free(d->x);
    free(d->x8);
    free(d->y);
    free(d->group);
    memset(d, 0, sizeof *d);
}

size_t fedc_dataset_feature_bytes(const fedc_dataset *d) {
    return d->n * d->dim * (d->x8 ? 1 : sizeof(float));
}

int fedc_dataset_select(const fedc_dataset *src, const uint32_t *idx, size_t n, fedc_dataset *dst,
                        fedc_error *err) {
    if (alloc_samples(dst, n, src->shape, src->n_classes, src->x8 ? 1 : sizeof(float), "dataset subset", err) != 0)
        return -1;
    const size_t dim = src->dim;
    for (size_t i = 0; i < n; i++) {
        const size_t from = (size_t)idx[i] * dim;
        if (src->x8)
            memcpy(dst->x8 + i * dim, src->x8 + from, dim);
        else
            memcpy(dst->x + i * dim, src->x + from, dim * sizeof *dst->x);
        dst->y[i] = src->y[idx[i]];
    }
    dst->x8_scale = src->x8_scale;
    return 0;
}

int fedc_dataset_copy(const fedc_dataset *src, fedc_dataset *dst, fedc_error *err) {
    if (alloc_samples(dst, src->n, src->shape, src->n_classes, src->x8 ? 1 : sizeof(float), "dataset copy", err) !=
        0)
        return -1;
    if (src->x8)
        memcpy(dst->x8, src->x8, src->n * src->dim);
    else
        memcpy(dst->x, src->x, src->n * src->dim * sizeof *dst->x);
    dst->x8_scale = src->x8_scale;
    memcpy(dst->y, src->y, src->n * sizeof *dst->y);
    return 0;
}

int fedc_dataset_to_float(fedc_dataset *d, fedc_error *err) {
    if (!d->x8)
        return 0;
    void *x = NULL;
    size_t bytes = d->n * d->dim * sizeof(float);
    if (d->n && d->dim > SIZE_MAX / sizeof(float) / d->n)
        return fedc_fail(err, "dataset: %zu samples of %zu floats do not fit in memory", d->n, d->dim);
    if (posix_memalign(&x, 64, bytes ? bytes : 64) != 0)
        return fedc_fail(err, "dataset: out of memory for %zu bytes of float features", bytes);
    fedc_dataset_rows(d, 0, d->n, x);
    free(d->x8);
    d->x8 = NULL;
    d->x8_scale = 0;
    d->x = x;
    return 0;
}

void fedc_dataset_gather(const fedc_dataset *d, const uint32_t *idx, size_t n, float *x,
                         int32_t *y) {
    const size_t dim = d->dim;
    for (size_t i = 0; i < n; i++) {
        const size_t from = (size_t)idx[i] * dim;
        if (d->x8)
            bytes_to_float(d->x8 + from, dim, d->x8_scale, x + i * dim);
        else
            memcpy(x + i * dim, d->x + from, dim * sizeof *x);
        if (y)
            y[i] = d->y[idx[i]];
    }
}

void fedc_dataset_rows(const fedc_dataset *d, size_t first, size_t n, float *x) {
    const size_t from = first * d->dim, count = n * d->dim;
    if (d->x8)
        bytes_to_float(d->x8 + from, count, d->x8_scale, x);
    else
        memcpy(x, d->x + from, count * sizeof *x);
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

/* CIFAR-10 as downloaded (cifar-10-binary.tar.gz) or unpacked: the folder
 * with data_batch_1.bin .. test_batch.bin, or the one holding
 * cifar-10-batches-bin/. */
static int open_cifar10(const char *dir, int train, fedc_dataset *out, fedc_error *err) {
    char base[4096], probe[4200];
    snprintf(probe, sizeof probe, "%s/cifar-10-binary.tar.gz", dir);
    if (file_exists(probe))
        return data_load_cifar_tar(probe, 0, 0, train, out, err);
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
                             "cifar10: missing %s (expected cifar-10-binary.tar.gz, or "
                             "data_batch_1.bin .. data_batch_5.bin and test_batch.bin, in %s)",
                             paths[i], base);
    }
    return fedc_load_cifar10(ptrs, np, out, err);
}

/* CIFAR-100 as downloaded (cifar-100-binary.tar.gz) or unpacked (train.bin,
 * test.bin, here or in cifar-100-binary/). */
static int open_cifar100(const char *dir, int coarse, int train, fedc_dataset *out,
                         fedc_error *err) {
    char p[4200];
    snprintf(p, sizeof p, "%s/cifar-100-binary.tar.gz", dir);
    if (file_exists(p))
        return data_load_cifar_tar(p, 1, coarse, train, out, err);
    const char *file = train ? "train.bin" : "test.bin";
    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (!file_exists(p))
        snprintf(p, sizeof p, "%s/cifar-100-binary/%s", dir, file);
    if (!file_exists(p))
        return fedc_fail(err,
                         "cifar100: no cifar-100-binary.tar.gz in %s, nor an unpacked %s there "
                         "or in %s/cifar-100-binary",
                         dir, file, dir);
    return data_load_cifar100_files(p, coarse, out, err);
}

static int open_svhn(const char *dir, int extra, int train, fedc_dataset *out, fedc_error *err) {
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", dir, train ? "train_32x32.mat" : "test_32x32.mat");
    snprintf(b, sizeof b, "%s/extra_32x32.mat", dir);
    const char *paths[2] = {a, b};
    for (int i = 0; i < (train && extra ? 2 : 1); i++)
        if (!file_exists(paths[i]))
            return fedc_fail(err, "svhn: missing %s", paths[i]);
    return data_load_svhn(paths, train && extra ? 2 : 1, out, err);
}

/* EMNIST splits from gzip.zip (or its unpacked IDX files); FEMNIST from
 * matlab.zip (or the unpacked .mat), with the writers of the training set
 * as its natural groups (the test set is EMNIST's, evaluated as a whole). */
static int open_emnist(const fedc_catalog_entry *e, const char *dir, int train, fedc_dataset *out,
                       fedc_error *err) {
    const char *split = e->natural ? "byclass" : e->name + strlen("emnist-");
    char zip[4200];
    if (e->natural) {
        snprintf(zip, sizeof zip, "%s/matlab.zip", dir);
        if (file_exists(zip))
            return data_load_emnist_mat(zip, NULL, split, e->n_classes, train, train, out, err);
        char mat[4200];
        snprintf(mat, sizeof mat, "%s/emnist-%s.mat", dir, split);
        if (!file_exists(mat))
            snprintf(mat, sizeof mat, "%s/matlab/emnist-%s.mat", dir, split);
        if (!file_exists(mat))
            return fedc_fail(err,
                             "%s: no matlab.zip in %s, nor an unpacked emnist-%s.mat there or in "
                             "%s/matlab",
                             e->name, dir, split, dir);
        return data_load_emnist_mat(NULL, mat, split, e->n_classes, train, train, out, err);
    }
    snprintf(zip, sizeof zip, "%s/gzip.zip", dir);
    return data_load_emnist_idx(file_exists(zip) ? zip : NULL, dir, split, e->n_classes, train,
                                out, err);
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

/* Checks cached files that carry no stamp yet (put there by hand, or by
 * an older fedc) against the catalog before they are used. */
static int check_cached(const fedc_catalog_entry *e, const char *dir, int with_optional,
                        fedc_error *err) {
    for (int i = 0; i < e->nfiles; i++) {
        const fedc_catalog_file *f = &e->files[i];
        if (f->optional && !with_optional)
            continue;
        if (data_stamp_ok(dir, f->name, f->sha256))
            continue;
        char path[1200], hex[65];
        if (data_join(path, sizeof path, dir, f->name, err) != 0 ||
            data_sha256_file(path, hex, err) != 0)
            return -1;
        if (f->sha256[0] && strcmp(hex, f->sha256) != 0)
            return fedc_fail(err,
                             "%s: %s has SHA-256 %s but the catalog says %s: a corrupt or "
                             "different file. Delete it, or run `fedc data fetch %s --force`",
                             e->name, path, hex, f->sha256, e->name);
        if (data_stamp_write(dir, f->name, hex, err) != 0)
            return -1;
    }
    return 0;
}

static int is_csv(const char *name) { return name && !strcasecmp(name, "csv"); }

/* The folder holding the entry's files, fetching them first when allowed. */
static int prepare_entry(const fedc_catalog_entry *e, const fedc_dataset_spec *s, char *dir,
                         size_t cap, fedc_error *err) {
    int with_optional = s->extra != 0;
    fedc_data_status st;
    if (fedc_data_status_get(e, s->path, with_optional, &st, err) != 0)
        return -1;
    if (st.source == FEDC_DATA_IN_USER || (st.present && st.source == FEDC_DATA_IN_SYSTEM)) {
        /* The user's own copy (its format is checked while loading) or the
         * distribution's package. */
        snprintf(dir, cap, "%s", st.dir);
        return 0;
    }
    if (!st.present) {
        char missing[1400];
        fedc_data_missing_message(e, &st, missing, sizeof missing);
        if (s->fetch == FEDC_FETCH_NEVER)
            return fedc_fail(err, "%s (dataset.fetch is never)", missing);
        fedc_fetch_options defaults = {0};
        fedc_fetch_options o = s->fetch_options ? *s->fetch_options : defaults;
        o.with_optional = with_optional;
        if (fedc_data_fetch(e, &o, err) != 0) {
            char why[FEDC_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            return fedc_fail(err, "%s. Fetching failed: %s", missing, why);
        }
        if (fedc_data_status_get(e, NULL, with_optional, &st, err) != 0)
            return -1;
        if (!st.present) {
            fedc_data_missing_message(e, &st, missing, sizeof missing);
            return fedc_fail(err, "%s", missing);
        }
    }
    if (check_cached(e, st.dir, with_optional, err) != 0)
        return -1;
    snprintf(dir, cap, "%s", st.dir);
    return 0;
}

int fedc_dataset_prepare(const fedc_dataset_spec *s, char *dir, size_t cap, fedc_error *err) {
    if (!s->name || !*s->name)
        return fedc_fail(err, "dataset name is empty (allowed: %s, csv)", fedc_catalog_names());
    if (is_csv(s->name)) {
        snprintf(dir, cap, "%s", s->path ? s->path : "");
        return 0;
    }
    fedc_catalog *c = fedc_catalog_load(NULL, err);
    if (!c)
        return -1;
    const fedc_catalog_entry *e = fedc_catalog_find(c, s->name);
    int rc = e ? prepare_entry(e, s, dir, cap, err)
               : fedc_fail(err, "unknown dataset '%s' (allowed: %s, csv)", s->name,
                           fedc_catalog_names());
    fedc_catalog_free(c);
    return rc;
}

static int load_entry(const fedc_catalog_entry *e, const fedc_dataset_spec *s, const char *dir,
                      int train, fedc_dataset *out, fedc_error *err) {
    int coarse = s->labels && !strcasecmp(s->labels, "coarse");
    if (coarse && !e->n_classes_coarse)
        return fedc_fail(err, "%s: has no coarse labels (only cifar100 does)", e->name);
    if (s->extra && !e->n_extra)
        return fedc_fail(err, "%s: has no extra split (only svhn does)", e->name);
    if (!strcmp(e->name, "mnist") || !strcmp(e->name, "fashion-mnist"))
        return open_mnist_like(e->name, dir, train, out, err);
    if (!strcmp(e->name, "cifar10"))
        return open_cifar10(dir, train, out, err);
    if (!strcmp(e->name, "cifar100"))
        return open_cifar100(dir, coarse, train, out, err);
    if (!strcmp(e->name, "svhn"))
        return open_svhn(dir, s->extra, train, out, err);
    if (!strcmp(e->name, "synthetic")) {
        fedc_synthetic_config c = s->synthetic;
        if (c.n_clients == 0) c = (fedc_synthetic_config){.alpha = 1, .beta = 1, .n_clients = 30};
        return train ? fedc_synthetic_train_set(&c, out, err) : fedc_synthetic_test_set(&c, out, err);
    }
    if (!strncmp(e->name, "emnist-", 7) || e->natural)
        return open_emnist(e, dir, train, out, err);
    return fedc_fail(err, "%s: no loader for this catalog entry", e->name);
}

int fedc_dataset_load(const fedc_dataset_spec *s, int train, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!s->name || !*s->name)
        return fedc_fail(err, "dataset name is empty (allowed: %s, csv)", fedc_catalog_names());
    if (is_csv(s->name))
        return open_csv(s->path, s->test_path, s->label_column, train, out, err);
    fedc_catalog *c = fedc_catalog_load(NULL, err);
    if (!c)
        return -1;
    const fedc_catalog_entry *e = fedc_catalog_find(c, s->name);
    char dir[1024];
    int rc;
    if (!e)
        rc = fedc_fail(err, "unknown dataset '%s' (allowed: %s, csv)", s->name,
                       fedc_catalog_names());
    else
        rc = prepare_entry(e, s, dir, sizeof dir, err) != 0
                 ? -1
                 : load_entry(e, s, dir, train, out, err);
    fedc_catalog_free(c);
    return rc;
}

int fedc_dataset_open(const char *name, const char *path, const char *test_path,
                      const char *label_column, int train, fedc_dataset *out, fedc_error *err) {
    fedc_dataset_spec s = {.name = name,
                           .path = path,
                           .test_path = test_path,
                           .label_column = label_column,
                           .fetch = FEDC_FETCH_NEVER};
    return fedc_dataset_load(&s, train, out, err);
}
