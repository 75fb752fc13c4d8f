/* EMNIST. The IDX release (gzip.zip) holds MNIST-format files whose images
 * are stored transposed, column by column; the MATLAB release (matlab.zip)
 * holds, per split, the struct dataset.{train,test}.{images,labels,writers}
 * with each image a row of 784 bytes in column-major order. Both come out
 * upright: pixel (row r, column c) of image n is byte r + 28*c of its 784.
 * The writers (NIST SD19's writer of each character) give FEMNIST its
 * natural partition, as in LEAF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/archive.h"
#include "data/data_internal.h"
#include "data/mat5.h"

#define SIDE 28
/* Writer ids are small integers (NIST SD19 form numbers). */
#define MAX_WRITER_ID (1u << 24)

void fedc_dataset_transpose_images(fedc_dataset *d) {
    if (!d || (!d->x && !d->x8) || d->shape.h != d->shape.w)
        return;
    /* One body for byte and float features: elements of elem bytes. */
    const size_t elem = d->x8 ? 1 : sizeof(float);
    unsigned char *base = d->x8 ? (unsigned char *)d->x8 : (unsigned char *)d->x;
    const size_t side = (size_t)d->shape.h, plane = side * side;
    unsigned char t[sizeof(float)];
    for (size_t i = 0; i < d->n; i++)
        for (int c = 0; c < d->shape.c; c++) {
            unsigned char *p = base + (i * d->dim + (size_t)c * plane) * elem;
            for (size_t r = 0; r < side; r++)
                for (size_t k = r + 1; k < side; k++) {
                    memcpy(t, p + (r * side + k) * elem, elem);
                    memcpy(p + (r * side + k) * elem, p + (k * side + r) * elem, elem);
                    memcpy(p + (k * side + r) * elem, t, elem);
                }
        }
}

/* One gzipped IDX member of gzip.zip, decompressed. */
static int zip_idx(const char *zip_path, const char *member, uint8_t **out, size_t *len,
                   fedc_error *err) {
    uint8_t *gz;
    size_t gzlen;
    if (data_zip_extract_file(zip_path, member, DATA_MAX_MEMBER, &gz, &gzlen, err) != 0)
        return -1;
    char name[1400];
    snprintf(name, sizeof name, "%s: %s", zip_path, member);
    int rc = data_gunzip(gz, gzlen, name, DATA_MAX_MEMBER, out, len, err);
    free(gz);
    return rc;
}

/* An extracted IDX file in dir (or dir/gzip), gzipped or not. */
static int dir_idx(const char *dir, const char *base, char *path, size_t cap, uint8_t **out,
                   size_t *len, fedc_error *err) {
    static const char *const forms[] = {"%s/%s.gz", "%s/%s", "%s/gzip/%s.gz", "%s/gzip/%s"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, cap, forms[i], dir, base);
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            return data_read_file(path, DATA_MAX_MEMBER, out, len, err);
        }
    }
    return fedc_fail(err, "%s: no %s(.gz) here or in %s/gzip, and no gzip.zip", dir, base, dir);
}

int data_load_emnist_idx(const char *zip_path, const char *dir, const char *split, int n_classes,
                         int train, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    const char *part = train ? "train" : "test";
    char ibase[128], lbase[128], imember[160], lmember[160], iname[1400], lname[1400];
    snprintf(ibase, sizeof ibase, "emnist-%s-%s-images-idx3-ubyte", split, part);
    snprintf(lbase, sizeof lbase, "emnist-%s-%s-labels-idx1-ubyte", split, part);
    uint8_t *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    int rc = -1;
    if (zip_path) {
        snprintf(imember, sizeof imember, "gzip/%s.gz", ibase);
        snprintf(lmember, sizeof lmember, "gzip/%s.gz", lbase);
        snprintf(iname, sizeof iname, "%s: %s", zip_path, imember);
        snprintf(lname, sizeof lname, "%s: %s", zip_path, lmember);
        if (zip_idx(zip_path, imember, &ib, &il, err) != 0 ||
            zip_idx(zip_path, lmember, &lb, &ll, err) != 0)
            goto out;
    } else if (dir_idx(dir, ibase, iname, sizeof iname, &ib, &il, err) != 0 ||
               dir_idx(dir, lbase, lname, sizeof lname, &lb, &ll, err) != 0) {
        goto out;
    }
    if (fedc_parse_idx(ib, il, iname, lb, ll, lname, n_classes, out, err) != 0)
        goto out;
    if (out->shape.h != SIDE || out->shape.w != SIDE) {
        fedc_fail(err, "%s: images of %dx%d pixels; EMNIST images are 28x28", iname, out->shape.h,
                  out->shape.w);
        fedc_dataset_free(out);
        goto out;
    }
    fedc_dataset_transpose_images(out);
    rc = 0;
out:
    free(ib);
    free(lb);
    return rc;
}

/* A numeric N-vector field of the split struct, checked. */
static const mat5_array *vector_field(const mat5_array *s, const char *field, uint64_t n,
                                      const char *name, const char *path, fedc_error *err) {
    const mat5_array *a = mat5_field(s, 0, field);
    if (!a) {
        fedc_fail(err, "%s: %s.%s is missing", name, path, field);
        return NULL;
    }
    if (a->mclass < MAT5_DOUBLE || !a->data || a->complex) {
        fedc_fail(err, "%s: %s.%s is a %s array; expected %llu numbers", name, path, field,
                  mat5_class_name(a->mclass), (unsigned long long)n);
        return NULL;
    }
    if (a->numel != n) {
        fedc_fail(err, "%s: %s.%s holds %llu values but %s.images holds %llu images", name, path,
                  field, (unsigned long long)a->numel, path, (unsigned long long)n);
        return NULL;
    }
    return a;
}

/* Writer ids -> groups numbered by first appearance. */
static int writer_groups(const mat5_array *w, size_t n, const char *name, const char *path,
                         fedc_dataset *out, fedc_error *err) {
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++) {
        double v = mat5_get(w, i);
        if (!(v >= 0 && v < MAX_WRITER_ID) || v != floor(v))
            return fedc_fail(err, "%s: %s.writers(%zu) is %g; writer ids are integers in 0..%u",
                             name, path, i + 1, v, MAX_WRITER_ID - 1);
        if ((uint32_t)v > max)
            max = (uint32_t)v;
    }
    uint32_t *map = malloc(((size_t)max + 1) * sizeof *map);
    out->group = malloc((n ? n : 1) * sizeof *out->group);
    if (!map || !out->group) {
        free(map);
        return fedc_fail(err, "%s: out of memory for %zu writer ids", name, n);
    }
    for (size_t k = 0; k <= max; k++)
        map[k] = UINT32_MAX;
    uint32_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)mat5_get(w, i);
        if (map[v] == UINT32_MAX)
            map[v] = groups++;
        out->group[i] = map[v];
    }
    free(map);
    out->n_groups = groups;
    return 0;
}

int fedc_parse_emnist_mat(const void *buf, size_t len, const char *name, int train,
                          int n_classes, int with_writers, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name)
        name = "emnist.mat";
    if (n_classes < 2 || n_classes > FEDC_DATA_MAX_CLASSES)
        return fedc_fail(err, "%s: n_classes %d; allowed 2..%d", name, n_classes,
                         FEDC_DATA_MAX_CLASSES);
    mat5_file m;
    if (mat5_parse(buf, len, name, DATA_MAX_MEMBER, &m, err) != 0)
        return -1;
    const char *path = train ? "dataset.train" : "dataset.test";
    const mat5_array *ds = mat5_var(&m, "dataset"), *s, *im, *lab, *wr = NULL;
    int rc = -1;
    if (!ds || ds->mclass != MAT5_STRUCT || ds->numel != 1) {
        fedc_fail(err, "%s: no 1x1 struct named dataset (EMNIST's MATLAB files hold one)", name);
        goto out;
    }
    s = mat5_field(ds, 0, train ? "train" : "test");
    if (!s || s->mclass != MAT5_STRUCT || s->numel != 1) {
        fedc_fail(err, "%s: %s is missing or not a 1x1 struct", name, path);
        goto out;
    }
    im = mat5_field(s, 0, "images");
    if (!im || im->mclass != MAT5_UINT8 || im->dtype != MAT5_MI_UINT8 || im->ndims != 2 ||
        im->dims[1] != SIDE * SIDE || im->dims[0] == 0) {
        fedc_fail(err, "%s: %s.images must be an N x 784 uint8 matrix (N >= 1)", name, path);
        goto out;
    }
    size_t n = (size_t)im->dims[0];
    if (!(lab = vector_field(s, "labels", n, name, path, err)))
        goto out;
    if (with_writers && !(wr = vector_field(s, "writers", n, name, path, err)))
        goto out;
    fedc_shape shape = {1, SIDE, SIDE};
    if (data_alloc_bytes(out, n, shape, n_classes, name, err) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        double v = mat5_get(lab, i);
        if (!(v >= 0 && v < n_classes) || v != floor(v)) {
            fedc_fail(err, "%s: %s.labels(%zu) is %g; allowed 0..%d", name, path, i + 1, v,
                      n_classes - 1);
            fedc_dataset_free(out);
            goto out;
        }
        out->y[i] = (int32_t)v;
    }
    /* images(i, k) is at i + n*k (column-major); k = r + 28*c is upright
     * (r, c). */
    const uint8_t *px = im->data;
    for (size_t k = 0; k < SIDE * SIDE; k++) {
        size_t r = k % SIDE, c = k / SIDE, to = r * SIDE + c;
        const uint8_t *col = px + k * n;
        for (size_t i = 0; i < n; i++)
            out->x8[i * (SIDE * SIDE) + to] = col[i];
    }
    if (wr && writer_groups(wr, n, name, path, out, err) != 0) {
        fedc_dataset_free(out);
        goto out;
    }
    rc = 0;
out:
    mat5_free(&m);
    return rc;
}

int data_load_emnist_mat(const char *zip_path, const char *mat_path, const char *split,
                         int n_classes, int train, int with_writers, fedc_dataset *out,
                         fedc_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    char member[128], name[1400];
    snprintf(member, sizeof member, "matlab/emnist-%s.mat", split);
    if (zip_path) {
        snprintf(name, sizeof name, "%s: %s", zip_path, member);
        if (data_zip_extract_file(zip_path, member, DATA_MAX_MEMBER, &buf, &len, err) != 0)
            return -1;
    } else {
        snprintf(name, sizeof name, "%s", mat_path);
        if (data_read_file(mat_path, DATA_MAX_MEMBER, &buf, &len, err) != 0)
            return -1;
    }
    int rc = fedc_parse_emnist_mat(buf, len, name, train, n_classes, with_writers, out, err);
    free(buf);
    return rc;
}
