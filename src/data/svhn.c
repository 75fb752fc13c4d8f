/* SVHN cropped digits: MATLAB level-5 files holding X (32x32x3xN uint8,
 * column-major: element (row, column, channel, sample) at row + 32*column
 * + 1024*channel + 3072*sample) and y (N labels, 1..10, where 10 stands
 * for the digit 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/mat5.h"

#define SVHN_MAX_FILES 4

/* X and y of one parsed file, checked; *n receives the sample count. */
static int svhn_vars(const mat5_file *m, const char *name, const mat5_array **X,
                     const mat5_array **y, size_t *n, fedc_error *err) {
    *X = mat5_var(m, "X");
    *y = mat5_var(m, "y");
    if (!*X)
        return fedc_fail(err, "%s: no variable X (an SVHN file holds X and y)", name);
    const mat5_array *x = *X;
    if (x->mclass != MAT5_UINT8 || x->dtype != MAT5_MI_UINT8 || x->complex)
        return fedc_fail(err, "%s: X is a %s%s array stored as type %d; SVHN images are uint8",
                         name, x->complex ? "complex " : "", mat5_class_name(x->mclass), x->dtype);
    if (x->ndims != 4 || x->dims[0] != 32 || x->dims[1] != 32 || x->dims[2] != 3 ||
        x->dims[3] == 0)
        return fedc_fail(err, "%s: X has %d dimensions (%llux%llux%llux%llu); expected "
                              "32x32x3xN with N >= 1",
                         name, x->ndims, (unsigned long long)x->dims[0],
                         (unsigned long long)x->dims[1],
                         (unsigned long long)(x->ndims > 2 ? x->dims[2] : 0),
                         (unsigned long long)(x->ndims > 3 ? x->dims[3] : 0));
    if (!*y)
        return fedc_fail(err, "%s: no variable y (an SVHN file holds X and y)", name);
    const mat5_array *l = *y;
    if (l->mclass < MAT5_DOUBLE || !l->data || l->complex)
        return fedc_fail(err, "%s: y is a %s array; expected numeric labels", name,
                         mat5_class_name(l->mclass));
    if (l->numel != x->dims[3])
        return fedc_fail(err, "%s: y holds %llu labels but X holds %llu images", name,
                         (unsigned long long)l->numel, (unsigned long long)x->dims[3]);
    *n = (size_t)x->dims[3];
    return 0;
}

/* Converts the samples of one file into x, y (rows already allocated). */
static int svhn_convert(const mat5_array *X, const mat5_array *y, size_t n, const char *name,
                        uint8_t *x, int32_t *labels, fedc_error *err) {
    for (size_t i = 0; i < n; i++) {
        double v = mat5_get(y, i);
        if (!(v >= 1 && v <= 10) || v != floor(v))
            return fedc_fail(err, "%s: y(%zu) is %g; SVHN labels are 1..10 (10 is the digit 0)",
                             name, i + 1, v);
        labels[i] = (int32_t)v % 10;
    }
    const uint8_t *src = X->data;
    for (size_t i = 0; i < n; i++) {
        uint8_t *dst = x + i * 3072;
        const uint8_t *s = src + i * 3072;
        for (int c = 0; c < 3; c++)
            for (int col = 0; col < 32; col++)
                for (int row = 0; row < 32; row++)
                    dst[c * 1024 + row * 32 + col] = s[c * 1024 + col * 32 + row];
    }
    return 0;
}

int fedc_parse_svhn(const void *buf, size_t len, const char *name, fedc_dataset *out,
                    fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name)
        name = "svhn";
    mat5_file m;
    if (mat5_parse(buf, len, name, DATA_MAX_MEMBER, &m, err) != 0)
        return -1;
    const mat5_array *X, *y;
    size_t n;
    int rc = -1;
    fedc_shape shape = {3, 32, 32};
    if (svhn_vars(&m, name, &X, &y, &n, err) == 0 && data_alloc_bytes(out, n, shape, 10, name, err) == 0) {
        rc = svhn_convert(X, y, n, name, out->x8, out->y, err);
        if (rc != 0)
            fedc_dataset_free(out);
    }
    mat5_free(&m);
    return rc;
}

int data_load_svhn(const char *const *paths, int npaths, fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (npaths < 1 || npaths > SVHN_MAX_FILES)
        return fedc_fail(err, "svhn: %d files given, allowed 1..%d", npaths, SVHN_MAX_FILES);
    uint8_t *bufs[SVHN_MAX_FILES] = {0};
    mat5_file mats[SVHN_MAX_FILES];
    const mat5_array *X[SVHN_MAX_FILES], *y[SVHN_MAX_FILES];
    size_t ns[SVHN_MAX_FILES], total = 0;
    int parsed = 0, rc = -1;
    memset(mats, 0, sizeof mats);
    for (int f = 0; f < npaths; f++) {
        size_t len;
        if (data_read_file(paths[f], DATA_MAX_MEMBER, &bufs[f], &len, err) != 0)
            goto out;
        if (mat5_parse(bufs[f], len, paths[f], DATA_MAX_MEMBER, &mats[f], err) != 0)
            goto out;
        parsed = f + 1;
        if (svhn_vars(&mats[f], paths[f], &X[f], &y[f], &ns[f], err) != 0)
            goto out;
        total += ns[f];
    }
    fedc_shape shape = {3, 32, 32};
    if (data_alloc_bytes(out, total, shape, 10, paths[0], err) != 0)
        goto out;
    size_t at = 0;
    for (int f = 0; f < npaths; f++) {
        if (svhn_convert(X[f], y[f], ns[f], paths[f], out->x8 + at * 3072, out->y + at, err) != 0) {
            fedc_dataset_free(out);
            goto out;
        }
        at += ns[f];
    }
    rc = 0;
out:
    for (int f = 0; f < parsed; f++)
        mat5_free(&mats[f]);
    for (int f = 0; f < npaths; f++)
        free(bufs[f]);
    return rc;
}
