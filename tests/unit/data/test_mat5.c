/* MATLAB level-5 files: the reader on compressed and plain, little- and
 * big-endian files; SVHN's X/y and EMNIST's dataset struct (with writers)
 * loaded with the right shapes, labels and pixel order; corrupt files
 * refused with the problem named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "support/dataset_feature.h"
#include "data/mat5.h"
#include "data_test_util.h"
#include "fedc/catalog.h"
#include "format_writers.h"

/* SVHN-like pixel of sample n, channel c, row h, column w. */
static uint8_t svhn_px(int n, int c, int h, int w) { return (uint8_t)((n * 7 + c * 50 + h * 3 + w * 5) % 256); }

/* An SVHN file of n samples: X 32x32x3xn uint8 column-major, y n labels
 * (sample i has label 1 + i % 10, so sample 9 has 10, the digit 0). y is
 * double, stored as doubles or (as MATLAB does for small integers) bytes. */
static void make_svhn(wbuf *out, int n, int big, int compress, int y_as_bytes) {
    mat_w m = {big};
    mw_header(&m, out);
    uint8_t *X = malloc((size_t)n * 3072);
    for (int s = 0; s < n; s++)
        for (int c = 0; c < 3; c++)
            for (int w = 0; w < 32; w++)
                for (int h = 0; h < 32; h++)
                    X[h + 32 * w + 1024 * c + 3072 * s] = svhn_px(s, c, h, w);
    int32_t xd[4] = {32, 32, 3, n};
    wbuf el = {0};
    mw_numeric(&m, &el, "X", MX_UINT8, xd, 4, MI_UINT8, X, (size_t)n * 3072, 1);
    mw_variable(&m, out, &el, compress);
    el.len = 0;
    int32_t yd[2] = {n, 1};
    if (y_as_bytes) {
        uint8_t *y = malloc((size_t)n);
        for (int i = 0; i < n; i++) y[i] = (uint8_t)(1 + i % 10);
        mw_numeric(&m, &el, "y", MX_DOUBLE, yd, 2, MI_UINT8, y, (size_t)n, 1);
        free(y);
    } else {
        double *y = malloc((size_t)n * sizeof *y);
        for (int i = 0; i < n; i++) y[i] = 1 + i % 10;
        mw_numeric(&m, &el, "y", MX_DOUBLE, yd, 2, MI_DOUBLE, y, (size_t)n * 8, 8);
        free(y);
    }
    mw_variable(&m, out, &el, compress);
    wb_free(&el);
    free(X);
}

static void check_svhn(const fedc_dataset *d, int n) {
    assert_int_equal(d->n, n);
    assert_int_equal(d->shape.c, 3);
    assert_int_equal(d->shape.h, 32);
    assert_int_equal(d->shape.w, 32);
    assert_int_equal(d->n_classes, 10);
    for (int i = 0; i < n; i++) assert_int_equal(d->y[i], (1 + i % 10) % 10);
    /* A known pixel at a known place: sample 3, channel 2 (blue), row 5,
     * column 17, in fedc's channel-major {3,32,32} layout. */
    assert_true(test_feature(d, 3 * 3072 + 2 * 1024 + 5 * 32 + 17) == svhn_px(3, 2, 5, 17) / 255.0f);
    for (int s = 0; s < n; s += 4)
        for (int c = 0; c < 3; c++)
            for (int h = 0; h < 32; h += 7)
                for (int w = 0; w < 32; w += 5)
                    assert_true(test_feature(d, (size_t)s * 3072 + (size_t)c * 1024 + (size_t)h * 32 + (size_t)w) ==
                                svhn_px(s, c, h, w) / 255.0f);
}

static void test_svhn_variants(void **state) {
    (void)state;
    for (int v = 0; v < 4; v++) {
        wbuf f = {0};
        make_svhn(&f, 12, v & 1, (v >> 1) & 1, v == 3);
        fedc_dataset d;
        fedc_error err = {{0}};
        int rc = fedc_parse_svhn(f.p, f.len, "svhn.mat", &d, &err);
        if (rc != 0) fail_msg("variant %d: %s", v, err.msg);
        check_svhn(&d, 12);
        fedc_dataset_free(&d);
        wb_free(&f);
    }
}

static void test_svhn_load_files(void **state) {
    test_dir *t = *state;
    wbuf a = {0}, b = {0};
    make_svhn(&a, 12, 0, 1, 0);
    make_svhn(&b, 5, 0, 1, 1);
    char dir[512], pa[600], pb[600];
    test_path(t, "svhn", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(pa, sizeof pa, "%s/train_32x32.mat", dir);
    snprintf(pb, sizeof pb, "%s/extra_32x32.mat", dir);
    assert_int_equal(test_write(pa, a.p, a.len), 0);
    assert_int_equal(test_write(pb, b.p, b.len), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    fedc_dataset_spec s = {.name = "svhn", .path = dir, .fetch = FEDC_FETCH_NEVER};
    assert_int_equal(fedc_dataset_load(&s, 1, &d, &err), 0);
    check_svhn(&d, 12);
    fedc_dataset_free(&d);
    s.extra = 1; /* train + extra */
    assert_int_equal(fedc_dataset_load(&s, 1, &d, &err), 0);
    assert_int_equal(d.n, 17);
    assert_int_equal(d.y[12 + 2], 3);
    assert_true(test_feature(&d, (size_t)(12 + 4) * 3072 + 1024 + 32 + 1) == svhn_px(4, 1, 1, 1) / 255.0f);
    fedc_dataset_free(&d);
    assert_int_equal(fedc_dataset_load(&s, 0, &d, &err), -1);
    assert_msg_has(err.msg, "svhn: missing");
    assert_msg_has(err.msg, "test_32x32.mat");
    wb_free(&a);
    wb_free(&b);
}

static void expect_svhn_error(const wbuf *f, const char *needle) {
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_parse_svhn(f->p, f->len, "bad.mat", &d, &err), -1);
    assert_msg_has(err.msg, needle);
}

static void test_corrupt_files(void **state) {
    (void)state;
    wbuf f = {0};
    make_svhn(&f, 4, 0, 1, 0);
    /* Truncated in the middle of a compressed element. */
    wbuf cut = {0};
    wb_put(&cut, f.p, f.len - 40);
    expect_svhn_error(&cut, "bad.mat: truncated");
    /* Garbage in the zlib stream. */
    wbuf bad = {0};
    wb_put(&bad, f.p, f.len);
    for (int i = 150; i < 170; i++) bad.p[i] ^= 0xA5;
    expect_svhn_error(&bad, "compressed element at offset 128");
    /* Not a MAT-file, an HDF5 (v7.3) one, a wrong version. */
    wbuf txt = {0};
    wb_put(&txt, f.p, f.len);
    memcpy(txt.p, "Hello", 5);
    expect_svhn_error(&txt, "bad.mat: not a MAT-file");
    memcpy(txt.p, "MATLAB 7.3 MAT-file", 19);
    expect_svhn_error(&txt, "MATLAB 7.3 (HDF5)");
    wbuf ver = {0};
    wb_put(&ver, f.p, f.len);
    ver.p[125] = 2;
    expect_svhn_error(&ver, "version 0x0200");
    wb_free(&cut);
    wb_free(&bad);
    wb_free(&txt);
    wb_free(&ver);
    wb_free(&f);
    /* Wrong shapes and labels. */
    mat_w m = {0};
    wbuf g = {0}, el = {0};
    mw_header(&m, &g);
    uint8_t px[32 * 32 * 2] = {0};
    int32_t xd[4] = {32, 32, 2, 1};
    mw_numeric(&m, &el, "X", MX_UINT8, xd, 4, MI_UINT8, px, sizeof px, 1);
    mw_variable(&m, &g, &el, 0);
    expect_svhn_error(&g, "X has 4 dimensions (32x32x2x1); expected 32x32x3xN");
    g.len = 0;
    el.len = 0;
    mw_header(&m, &g);
    uint8_t one[3072] = {0};
    int32_t od[4] = {32, 32, 3, 1};
    mw_numeric(&m, &el, "X", MX_UINT8, od, 4, MI_UINT8, one, sizeof one, 1);
    mw_variable(&m, &g, &el, 1);
    expect_svhn_error(&g, "bad.mat: no variable y");
    el.len = 0;
    double y = 11;
    int32_t yd[2] = {1, 1};
    mw_numeric(&m, &el, "y", MX_DOUBLE, yd, 2, MI_DOUBLE, &y, 8, 8);
    mw_variable(&m, &g, &el, 1);
    expect_svhn_error(&g, "bad.mat: y(1) is 11; SVHN labels are 1..10");
    /* A data element claiming more bytes than the array has. */
    g.len = 0;
    el.len = 0;
    mw_header(&m, &g);
    int32_t ld[2] = {3, 1};
    mw_numeric(&m, &el, "y", MX_DOUBLE, ld, 2, MI_DOUBLE, &y, 8, 8);
    mw_variable(&m, &g, &el, 0);
    expect_svhn_error(&g, "y: double array of 3 elements holds 8 bytes");
    wb_free(&g);
    wb_free(&el);
}

/* EMNIST's MATLAB layout: dataset.{train,test}.{images,labels,writers},
 * images N x 784 column-major, each row a 28x28 image stored column by
 * column. Upright pixel (r, c) of image i is (i * 5 + r * 2 + c) % 256. */
static uint8_t emnist_px(int i, int r, int c) { return (uint8_t)((i * 5 + r * 2 + c) % 256); }

static void encode_split(const mat_w *m, wbuf *out, int n, int classes, const int *writers) {
    uint8_t *im = malloc((size_t)n * 784);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) im[i + n * (r + 28 * c)] = emnist_px(i, r, c);
    double *lab = malloc((size_t)n * sizeof *lab), *wr = malloc((size_t)n * sizeof *wr);
    for (int i = 0; i < n; i++) {
        lab[i] = (i * 7) % classes;
        wr[i] = writers[i];
    }
    wbuf v[3] = {{0}, {0}, {0}};
    int32_t imd[2] = {n, 784}, vd[2] = {n, 1};
    mw_numeric(m, &v[0], "", MX_UINT8, imd, 2, MI_UINT8, im, (size_t)n * 784, 1);
    mw_numeric(m, &v[1], "", MX_DOUBLE, vd, 2, MI_DOUBLE, lab, (size_t)n * 8, 8);
    mw_numeric(m, &v[2], "", MX_DOUBLE, vd, 2, MI_DOUBLE, wr, (size_t)n * 8, 8);
    static const char *const f[] = {"images", "labels", "writers"};
    mw_struct(m, out, "", f, v, 3);
    for (int k = 0; k < 3; k++) wb_free(&v[k]);
    free(im);
    free(lab);
    free(wr);
}

static void make_emnist_mat(wbuf *out, int big, int compress) {
    mat_w m = {big};
    mw_header(&m, out);
    static const int train_writers[9] = {507, 507, 12, 3000, 12, 507, 9, 9, 3000};
    static const int test_writers[4] = {1, 2, 3, 4};
    wbuf parts[3] = {{0}, {0}, {0}};
    encode_split(&m, &parts[0], 9, 62, train_writers);
    encode_split(&m, &parts[1], 4, 62, test_writers);
    double mapping[2] = {0, 48};
    int32_t md[2] = {1, 2};
    mw_numeric(&m, &parts[2], "", MX_DOUBLE, md, 2, MI_DOUBLE, mapping, 16, 8);
    static const char *const f[] = {"train", "test", "mapping"};
    wbuf el = {0};
    mw_struct(&m, &el, "dataset", f, parts, 3);
    mw_variable(&m, out, &el, compress);
    wb_free(&el);
    for (int k = 0; k < 3; k++) wb_free(&parts[k]);
}

static void test_emnist_mat_with_writers(void **state) {
    (void)state;
    for (int v = 0; v < 2; v++) {
        wbuf f = {0};
        make_emnist_mat(&f, v, !v);
        fedc_dataset d;
        fedc_error err = {{0}};
        if (fedc_parse_emnist_mat(f.p, f.len, "emnist-byclass.mat", 1, 62, 1, &d, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(d.n, 9);
        assert_int_equal(d.n_classes, 62);
        assert_int_equal(d.shape.c, 1);
        assert_int_equal(d.shape.h, 28);
        for (int i = 0; i < 9; i++) assert_int_equal(d.y[i], (i * 7) % 62);
        /* upright: row 3, column 20 of image 4 */
        assert_true(test_feature(&d, 4 * 784 + 3 * 28 + 20) == emnist_px(4, 3, 20) / 255.0f);
        assert_true(test_feature(&d, 4 * 784 + 20 * 28 + 3) == emnist_px(4, 20, 3) / 255.0f);
        /* writers 507, 12, 3000, 9 become groups 0..3 in order of appearance */
        assert_non_null(d.group);
        assert_int_equal(d.n_groups, 4);
        static const uint32_t want[9] = {0, 0, 1, 2, 1, 0, 3, 3, 2};
        for (int i = 0; i < 9; i++) assert_int_equal(d.group[i], want[i]);
        fedc_dataset_free(&d);
        assert_int_equal(fedc_parse_emnist_mat(f.p, f.len, "emnist-byclass.mat", 0, 62, 0, &d, &err), 0);
        assert_int_equal(d.n, 4);
        assert_null(d.group);
        fedc_dataset_free(&d);
        /* labels beyond the class count */
        assert_int_equal(fedc_parse_emnist_mat(f.p, f.len, "e.mat", 1, 10, 0, &d, &err), -1);
        assert_msg_has(err.msg, "e.mat: dataset.train.labels(3) is 14; allowed 0..9");
        wb_free(&f);
    }
    /* A file without the struct. */
    wbuf g = {0};
    make_svhn(&g, 1, 0, 1, 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_parse_emnist_mat(g.p, g.len, "x.mat", 1, 62, 1, &d, &err), -1);
    assert_msg_has(err.msg, "x.mat: no 1x1 struct named dataset");
    wb_free(&g);
}

static void test_reader_structure(void **state) {
    (void)state;
    wbuf f = {0};
    make_emnist_mat(&f, 0, 1);
    mat5_file m;
    fedc_error err = {{0}};
    assert_int_equal(mat5_parse(f.p, f.len, "e.mat", 1 << 24, &m, &err), 0);
    assert_int_equal(m.nvars, 1);
    const mat5_array *ds = mat5_var(&m, "dataset");
    assert_non_null(ds);
    assert_int_equal(ds->mclass, MAT5_STRUCT);
    assert_int_equal(ds->nfields, 3);
    const mat5_array *map = mat5_field(ds, 0, "mapping");
    assert_non_null(map);
    assert_true(mat5_get(map, 1) == 48.0);
    assert_null(mat5_field(ds, 0, "nope"));
    assert_null(mat5_field(ds, 1, "train"));
    mat5_free(&m);
    /* The inflate budget is enforced. */
    assert_int_equal(mat5_parse(f.p, f.len, "e.mat", 1000, &m, &err), -1);
    assert_msg_has(err.msg, "inflates to more than the 1000 bytes allowed");
    wb_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svhn_variants),
        cmocka_unit_test(test_svhn_load_files),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_emnist_mat_with_writers),
        cmocka_unit_test(test_reader_structure),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
