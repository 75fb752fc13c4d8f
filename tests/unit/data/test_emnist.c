/* EMNIST and FEMNIST from the downloads' own containers: gzip.zip with
 * gzipped IDX members (images stored transposed, turned upright on load),
 * matlab.zip with the MATLAB struct and its writers (FEMNIST), and the
 * natural partition by writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "support/dataset_feature.h"
#include "data_test_util.h"
#include "fedc/catalog.h"
#include "format_writers.h"

/* Upright pixel (r, c) of image i. */
static uint8_t px(size_t i, int r, int c) { return (uint8_t)((i * 13 + (size_t)r * 3 + (size_t)c * 7) % 256); }

/* An EMNIST IDX images file: each image written column by column (the
 * transposition EMNIST's files have). */
static void emnist_images(wbuf *out, uint32_t n) {
    uint8_t h[16];
    put_be32(h, 0x803);
    put_be32(h + 4, n);
    put_be32(h + 8, 28);
    put_be32(h + 12, 28);
    wb_put(out, h, 16);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 28; c++)
            for (int r = 0; r < 28; r++) {
                uint8_t v = px(i, r, c);
                wb_put(out, &v, 1);
            }
}

static void emnist_labels(wbuf *out, uint32_t n, int classes) {
    uint8_t h[8];
    put_be32(h, 0x801);
    put_be32(h + 4, n);
    wb_put(out, h, 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)((i * 5) % (size_t)classes);
        wb_put(out, &v, 1);
    }
}

/* gzip.zip with the members of one split. */
static void write_gzip_zip(const char *path, const char *split, int classes, uint32_t ntrain, uint32_t ntest) {
    zip_w z = {0};
    const char *parts[2] = {"train", "test"};
    uint32_t counts[2] = {ntrain, ntest};
    for (int p = 0; p < 2; p++) {
        wbuf im = {0}, lb = {0}, gzi = {0}, gzl = {0};
        emnist_images(&im, counts[p]);
        emnist_labels(&lb, counts[p], classes);
        gzip_bytes(im.p, im.len, &gzi);
        gzip_bytes(lb.p, lb.len, &gzl);
        char mi[128], ml[128];
        snprintf(mi, sizeof mi, "gzip/emnist-%s-%s-images-idx3-ubyte.gz", split, parts[p]);
        snprintf(ml, sizeof ml, "gzip/emnist-%s-%s-labels-idx1-ubyte.gz", split, parts[p]);
        zip_add(&z, mi, gzi.p, gzi.len, p == 0); /* one member deflated, one stored */
        zip_add(&z, ml, gzl.p, gzl.len, 0);
        wb_free(&im);
        wb_free(&lb);
        wb_free(&gzi);
        wb_free(&gzl);
    }
    wbuf out = {0};
    zip_finish(&z, &out);
    assert_int_equal(test_write(path, out.p, out.len), 0);
    wb_free(&out);
}

static void test_emnist_idx_zip(void **state) {
    test_dir *t = *state;
    char dir[512], zip[600];
    test_path(t, "emnist", dir, sizeof dir);
    mkdir(dir, 0755);
    snprintf(zip, sizeof zip, "%s/gzip.zip", dir);
    write_gzip_zip(zip, "balanced", 47, 11, 4);
    fedc_dataset d;
    fedc_error err = {{0}};
    fedc_dataset_spec s = {.name = "emnist-balanced", .path = dir, .fetch = FEDC_FETCH_NEVER};
    if (fedc_dataset_load(&s, 1, &d, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(d.n, 11);
    assert_int_equal(d.n_classes, 47);
    assert_int_equal(d.shape.c, 1);
    assert_int_equal(d.shape.h, 28);
    assert_int_equal(d.shape.w, 28);
    for (size_t i = 0; i < 11; i++) assert_int_equal(d.y[i], (int)((i * 5) % 47));
    /* upright: row 2, column 25 of image 7 is where the picture has it */
    assert_true(test_feature(&d, 7 * 784 + 2 * 28 + 25) == px(7, 2, 25) / 255.0f);
    assert_true(test_feature(&d, 7 * 784 + 25 * 28 + 2) == px(7, 25, 2) / 255.0f);
    for (size_t i = 0; i < 11; i += 3)
        for (int r = 0; r < 28; r += 5)
            for (int c = 0; c < 28; c += 3) assert_true(test_feature(&d, i * 784 + (size_t)r * 28 + (size_t)c) == px(i, r, c) / 255.0f);
    fedc_dataset_free(&d);
    assert_int_equal(fedc_dataset_load(&s, 0, &d, &err), 0);
    assert_int_equal(d.n, 4);
    fedc_dataset_free(&d);
    /* the zip holds balanced, not digits */
    fedc_dataset_spec s2 = {.name = "emnist-digits", .path = dir, .fetch = FEDC_FETCH_NEVER};
    assert_int_equal(fedc_dataset_load(&s2, 1, &d, &err), -1);
    assert_msg_has(err.msg, "no member named gzip/emnist-digits-train-images-idx3-ubyte.gz");
    /* labels beyond the split's classes */
    write_gzip_zip(zip, "digits", 47, 11, 4);
    assert_int_equal(fedc_dataset_load(&s2, 1, &d, &err), -1);
    assert_msg_has(err.msg, "gzip/emnist-digits-train-labels-idx1-ubyte.gz: label 10 at index 2 is out of range: allowed 0..9");
}

/* matlab.zip with matlab/emnist-byclass.mat: 10 training samples by 4
 * writers, 3 test samples. */
static void write_matlab_zip(const char *path) {
    mat_w m = {0};
    wbuf file = {0};
    mw_header(&m, &file);
    wbuf split[3] = {{0}, {0}, {0}};
    const int ns[2] = {10, 3};
    static const double writers[10] = {2100, 2100, 7, 7, 7, 4500, 2100, 31, 31, 4500};
    for (int p = 0; p < 2; p++) {
        int n = ns[p];
        uint8_t *im = malloc((size_t)n * 784);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++) im[i + n * (r + 28 * c)] = px((size_t)i, r, c);
        double lab[10], wr[10];
        for (int i = 0; i < n; i++) {
            lab[i] = (i * 11) % 62;
            wr[i] = p == 0 ? writers[i] : 1;
        }
        wbuf v[3] = {{0}, {0}, {0}};
        int32_t imd[2] = {n, 784}, vd[2] = {n, 1};
        mw_numeric(&m, &v[0], "", MX_UINT8, imd, 2, MI_UINT8, im, (size_t)n * 784, 1);
        mw_numeric(&m, &v[1], "", MX_DOUBLE, vd, 2, MI_DOUBLE, lab, (size_t)n * 8, 8);
        mw_numeric(&m, &v[2], "", MX_DOUBLE, vd, 2, MI_DOUBLE, wr, (size_t)n * 8, 8);
        static const char *const f[] = {"images", "labels", "writers"};
        mw_struct(&m, &split[p], "", f, v, 3);
        for (int k = 0; k < 3; k++) wb_free(&v[k]);
        free(im);
    }
    double mapping[2] = {0, 48};
    int32_t md[2] = {1, 2};
    mw_numeric(&m, &split[2], "", MX_DOUBLE, md, 2, MI_DOUBLE, mapping, 16, 8);
    static const char *const f[] = {"train", "test", "mapping"};
    wbuf el = {0};
    mw_struct(&m, &el, "dataset", f, split, 3);
    mw_variable(&m, &file, &el, 1);
    zip_w z = {0};
    zip_add(&z, "matlab/emnist-byclass.mat", file.p, file.len, 1);
    wbuf out = {0};
    zip_finish(&z, &out);
    assert_int_equal(test_write(path, out.p, out.len), 0);
    wb_free(&out);
    wb_free(&el);
    wb_free(&file);
    for (int k = 0; k < 3; k++) wb_free(&split[k]);
}

static void test_femnist_natural_partition(void **state) {
    test_dir *t = *state;
    char dir[512], zip[600];
    test_path(t, "femnist", dir, sizeof dir);
    mkdir(dir, 0755);
    snprintf(zip, sizeof zip, "%s/matlab.zip", dir);
    write_matlab_zip(zip);
    fedc_dataset d;
    fedc_error err = {{0}};
    fedc_dataset_spec s = {.name = "femnist", .path = dir, .fetch = FEDC_FETCH_NEVER};
    if (fedc_dataset_load(&s, 1, &d, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(d.n, 10);
    assert_int_equal(d.n_classes, 62);
    assert_int_equal(d.n_groups, 4);
    assert_true(test_feature(&d, 6 * 784 + 27 * 28 + 1) == px(6, 27, 1) / 255.0f);
    for (int i = 0; i < 10; i++) assert_int_equal(d.y[i], (i * 11) % 62);
    /* one writer per client: every client's samples share one writer, and
     * every writer's samples go to one client */
    fedc_partition_config pc = {.kind = FEDC_PART_NATURAL};
    fedc_partition p;
    assert_int_equal(fedc_partition_make(&d, &pc, 4, 7, &p, &err), 0);
    int owner_of_group[4] = {-1, -1, -1, -1};
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        assert_true(fedc_partition_size(&p, k) > 0);
        const uint32_t *ids = fedc_partition_client(&p, k);
        for (size_t j = 0; j < fedc_partition_size(&p, k); j++) {
            uint32_t g = d.group[ids[j]];
            assert_int_equal(d.group[ids[0]], g);
            assert_true(owner_of_group[g] == -1 || owner_of_group[g] == k);
            owner_of_group[g] = k;
        }
        total += fedc_partition_size(&p, k);
    }
    assert_int_equal(total, 10);
    fedc_partition_free(&p);
    /* fewer clients: whole writers, two per client */
    assert_int_equal(fedc_partition_make(&d, &pc, 2, 7, &p, &err), 0);
    for (int k = 0; k < 2; k++) {
        int seen[4] = {0}, writers = 0;
        const uint32_t *ids = fedc_partition_client(&p, k);
        for (size_t j = 0; j < fedc_partition_size(&p, k); j++)
            if (!seen[d.group[ids[j]]]++) writers++;
        assert_int_equal(writers, 2);
    }
    fedc_partition_free(&p);
    /* more clients than writers */
    assert_int_equal(fedc_partition_make(&d, &pc, 5, 7, &p, &err), -1);
    assert_msg_has(err.msg, "5 clients but the data has 4 writers");
    fedc_dataset_free(&d);
    /* the test split is EMNIST's: no writers needed */
    assert_int_equal(fedc_dataset_load(&s, 0, &d, &err), 0);
    assert_int_equal(d.n, 3);
    /* a dataset without writers has no natural partition */
    assert_int_equal(fedc_partition_make(&d, &pc, 2, 7, &p, &err), -1);
    assert_msg_has(err.msg, "partition natural: this dataset has no natural groups");
    fedc_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emnist_idx_zip),
        cmocka_unit_test(test_femnist_natural_partition),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
