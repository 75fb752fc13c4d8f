/* IDX loader: plain and gzipped round trips, every kind of corrupt file
 * (errors must name the file), the named "mnist"/"fashion-mnist" opens, and
 * the real Fashion-MNIST from Debian when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on
#include <sys/stat.h>

#include "data_test_util.h"
#include "fedc/data.h"
#include "support/skip.h"


/* Writes an images/labels pair (n images of 5x4, labels i % classes). */
static void write_pair(const test_dir *t, const char *iname, const char *lname, uint32_t n,
                       int classes, int gz, char *ipath, char *lpath) {
    size_t il, ll;
    uint8_t *ib = make_idx_images(n, 5, 4, &il), *lb = make_idx_labels(n, classes, &ll);
    test_path(t, iname, ipath, 512);
    test_path(t, lname, lpath, 512);
    assert_int_equal(gz ? test_write_gz(ipath, ib, il) : test_write(ipath, ib, il), 0);
    assert_int_equal(gz ? test_write_gz(lpath, lb, ll) : test_write(lpath, lb, ll), 0);
    free(ib);
    free(lb);
}

static void check_pattern(const fedc_dataset *d, uint32_t n, int classes) {
    assert_int_equal(d->n, n);
    assert_int_equal(d->shape.c, 1);
    assert_int_equal(d->shape.h, 5);
    assert_int_equal(d->shape.w, 4);
    assert_int_equal(d->dim, 20);
    /* Pixels stay the file's bytes; gathering gives byte / 255. */
    assert_null(d->x);
    assert_non_null(d->x8);
    assert_true(d->x8_scale == 255.0f);
    float row[20];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d->y[i], (int)(i % (size_t)classes));
        fedc_dataset_rows(d, i, 1, row);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 4; c++) {
                assert_int_equal(d->x8[i * 20 + (size_t)r * 4 + (size_t)c], test_pixel(i, r, c));
                float want = (float)test_pixel(i, r, c) / 255.0f;
                assert_true(row[(size_t)r * 4 + (size_t)c] == want);
            }
    }
}

static void test_plain_pair_loads(void **state) {
    char ip[512], lp[512];
    write_pair(*state, "img", "lab", 300, 7, 0, ip, lp);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), 0);
    check_pattern(&d, 300, 7);
    assert_int_equal(d.n_classes, 7);
    fedc_dataset_free(&d);
    assert_null(d.x);
    assert_null(d.x8);
}

static void test_gz_pair_loads_same_as_plain(void **state) {
    char ip[512], lp[512], gip[512], glp[512];
    write_pair(*state, "img", "lab", 300, 10, 0, ip, lp);
    write_pair(*state, "img.gz", "lab.gz", 300, 10, 1, gip, glp);
    fedc_dataset a, b;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(ip, lp, &a, &err), 0);
    assert_int_equal(fedc_load_idx(gip, glp, &b, &err), 0);
    check_pattern(&b, 300, 10);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.x8, b.x8, a.n * a.dim);
    assert_memory_equal(a.y, b.y, a.n * sizeof(int32_t));
    /* Pixel 0 and 255 map exactly to 0 and 1. */
    assert_int_equal(fedc_dataset_to_float(&b, &err), 0);
    assert_null(b.x8);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < b.n * b.dim; i++) {
        if (b.x[i] < lo)
            lo = b.x[i];
        if (b.x[i] > hi)
            hi = b.x[i];
    }
    assert_true(lo == 0.0f && hi == 1.0f);
    fedc_dataset_free(&a);
    fedc_dataset_free(&b);
}

static void test_single_class_labels_give_two_classes(void **state) {
    char ip[512], lp[512];
    write_pair(*state, "img", "lab", 3, 1, 0, ip, lp);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), 0);
    assert_int_equal(d.n_classes, 2);
    fedc_dataset_free(&d);
}

/* Writes bytes to <dir>/name and loads it as images with good labels (or
 * as labels with good images); returns the error text. */
static const char *load_bad(const test_dir *t, const char *name, const uint8_t *bytes, size_t len,
                            int as_labels, uint32_t n, fedc_error *err, char *bad_path) {
    char good[512];
    size_t gl;
    uint8_t *gb = as_labels ? make_idx_images(n, 5, 4, &gl) : make_idx_labels(n, 10, &gl);
    test_path(t, as_labels ? "good_images" : "good_labels", good, sizeof good);
    assert_int_equal(test_write(good, gb, gl), 0);
    free(gb);
    test_path(t, name, bad_path, 512);
    assert_int_equal(test_write(bad_path, bytes, len), 0);
    fedc_dataset d;
    memset(err, 0, sizeof *err);
    int rc =
        as_labels ? fedc_load_idx(good, bad_path, &d, err) : fedc_load_idx(bad_path, good, &d, err);
    assert_int_equal(rc, -1);
    assert_null(d.x);
    assert_null(d.x8);
    assert_int_equal(d.n, 0);
    return err->msg;
}

static void test_wrong_magic(void **state) {
    size_t len;
    uint8_t *b = make_idx_images(4, 5, 4, &len);
    b[0] = 0x12;
    b[1] = 0x34;
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "wrong_magic", b, len, 0, 4, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "bad magic 0x12340803");
    free(b);
}

static void test_unsupported_element_type(void **state) {
    size_t len;
    uint8_t *b = make_idx_images(4, 5, 4, &len);
    b[2] = 0x0D;
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "floats", b, len, 0, 4, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "0x0D (float)");
    free(b);
}

static void test_swapped_files(void **state) {
    char ip[512], lp[512];
    write_pair(*state, "img", "lab", 10, 10, 0, ip, lp);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(lp, ip, &d, &err), -1);
    assert_msg_has(err.msg, lp);
    assert_msg_has(err.msg, "swapped");
}

static void test_truncated_plain(void **state) {
    size_t len;
    uint8_t *b = make_idx_images(40, 5, 4, &len);
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "short_images", b, len - 7, 0, 40, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "truncated");
    assert_msg_has(m, "40 images of 5x4 (800 bytes) but only 793 bytes follow");
    /* Cut inside the header too. */
    m = load_bad(*state, "short_header", b, 10, 0, 40, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "truncated header");
    m = load_bad(*state, "tiny", b, 2, 0, 40, &err, path);
    assert_msg_has(m, "truncated");
    m = load_bad(*state, "empty", b, 0, 0, 40, &err, path);
    assert_msg_has(m, path);
    free(b);
}

static void test_truncated_labels(void **state) {
    size_t len;
    uint8_t *b = make_idx_labels(40, 10, &len);
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "short_labels", b, len - 1, 1, 40, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "declares 40 labels but only 39 bytes follow");
    free(b);
}

static void test_truncated_gzip(void **state) {
    test_dir *t = *state;
    size_t il, ll;
    uint8_t *ib = make_idx_images(500, 5, 4, &il), *lb = make_idx_labels(500, 10, &ll);
    char ip[512], lp[512];
    test_path(t, "img.gz", ip, sizeof ip);
    test_path(t, "lab", lp, sizeof lp);
    assert_int_equal(test_write_gz(ip, ib, il), 0);
    assert_int_equal(test_write(lp, lb, ll), 0);
    struct stat st;
    assert_int_equal(stat(ip, &st), 0);
    assert_int_equal(truncate(ip, st.st_size / 2), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), -1);
    assert_msg_has(err.msg, ip);
    assert_msg_has(err.msg, "gzip");
    /* Corrupt the deflate data instead of cutting it. */
    assert_int_equal(test_write_gz(ip, ib, il), 0);
    FILE *f = fopen(ip, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    uint8_t junk[64];
    memset(junk, 0xA5, sizeof junk);
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), -1);
    assert_msg_has(err.msg, ip);
    free(ib);
    free(lb);
}

static void test_count_mismatch(void **state) {
    test_dir *t = *state;
    size_t il, ll;
    uint8_t *ib = make_idx_images(10, 5, 4, &il), *lb = make_idx_labels(9, 10, &ll);
    char ip[512], lp[512];
    test_path(t, "img10", ip, sizeof ip);
    test_path(t, "lab9", lp, sizeof lp);
    assert_int_equal(test_write(ip, ib, il), 0);
    assert_int_equal(test_write_gz(lp, lb, ll), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), -1);
    assert_msg_has(err.msg, lp);
    assert_msg_has(err.msg, ip);
    assert_msg_has(err.msg, "declares 9 labels");
    assert_msg_has(err.msg, "10 images");
    free(ib);
    free(lb);
}

static void test_trailing_bytes(void **state) {
    size_t len;
    uint8_t *b = make_idx_images(4, 5, 4, &len);
    uint8_t *longer = calloc(len + 3, 1);
    memcpy(longer, b, len);
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "long", longer, len + 3, 0, 4, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "3 unexpected bytes");
    free(b);
    free(longer);
}

static void test_bad_label(void **state) {
    char ip[512], lp[512];
    test_dir *t = *state;
    size_t il, ll;
    uint8_t *ib = make_idx_images(6, 5, 4, &il), *lb = make_idx_labels(6, 10, &ll);
    lb[8 + 3] = 12;
    test_path(t, "img", ip, sizeof ip);
    test_path(t, "lab", lp, sizeof lp);
    assert_int_equal(test_write(ip, ib, il), 0);
    assert_int_equal(test_write(lp, lb, ll), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx_classes(ip, lp, 10, &d, &err), -1);
    assert_msg_has(err.msg, lp);
    assert_msg_has(err.msg, "label 12 at index 3");
    assert_msg_has(err.msg, "0..9");
    /* Without a class count the label just widens the class range. */
    assert_int_equal(fedc_load_idx(ip, lp, &d, &err), 0);
    assert_int_equal(d.n_classes, 13);
    fedc_dataset_free(&d);
    free(ib);
    free(lb);
}

static void test_absurd_dims_refused_before_allocating(void **state) {
    uint8_t h[16];
    put_be32(h, 0x00000803);
    put_be32(h + 4, 0x7FFFFFFF);
    put_be32(h + 8, 28);
    put_be32(h + 12, 28);
    fedc_error err;
    char path[512];
    const char *m = load_bad(*state, "huge", h, sizeof h, 0, 4, &err, path);
    assert_msg_has(m, path);
    assert_msg_has(m, "limit");
    put_be32(h + 4, 1);
    put_be32(h + 8, 65536);
    put_be32(h + 12, 2);
    m = load_bad(*state, "wide", h, sizeof h, 0, 4, &err, path);
    assert_msg_has(m, "each side may be at most");
    put_be32(h + 8, 0);
    m = load_bad(*state, "zero", h, sizeof h, 0, 4, &err, path);
    assert_msg_has(m, "is 0");
}

static void test_missing_file(void **state) {
    char ip[512], lp[512];
    write_pair(*state, "img", "lab", 3, 10, 0, ip, lp);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_idx("/nonexistent/fedc/images", lp, &d, &err), -1);
    assert_msg_has(err.msg, "/nonexistent/fedc/images: cannot open");
    assert_int_equal(fedc_load_idx(ip, ((test_dir *)*state)->path, &d, &err), -1);
    assert_msg_has(err.msg, "is a directory");
}

static void test_parse_from_memory(void **state) {
    (void)state;
    size_t il, ll;
    uint8_t *ib = make_idx_images(12, 5, 4, &il), *lb = make_idx_labels(12, 3, &ll);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_parse_idx(ib, il, "mem-img", lb, ll, "mem-lab", 0, &d, &err), 0);
    check_pattern(&d, 12, 3);
    assert_int_equal(d.n_classes, 3);
    fedc_dataset_free(&d);
    /* Compressed bytes are refused with a hint. */
    uint8_t gz[4] = {0x1f, 0x8b, 8, 0};
    assert_int_equal(fedc_parse_idx(gz, 4, "mem-img", lb, ll, "mem-lab", 0, &d, &err), -1);
    assert_msg_has(err.msg, "mem-img: gzip-compressed");
    free(ib);
    free(lb);
}

/* The four files under the names MNIST ships with, in dir. */
static void write_mnist_dir(const char *dir, int dotted, int gz, uint32_t ntrain, uint32_t ntest) {
    const char *names[4][2] = {{"train-images-idx3-ubyte", "train-images.idx3-ubyte"},
                               {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"},
                               {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"},
                               {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"}};
    for (int f = 0; f < 4; f++) {
        uint32_t n = f < 2 ? ntrain : ntest;
        size_t len;
        uint8_t *b = f % 2 == 0 ? make_idx_images(n, 5, 4, &len) : make_idx_labels(n, 10, &len);
        char path[600];
        snprintf(path, sizeof path, "%s/%s%s", dir, names[f][dotted], gz ? ".gz" : "");
        assert_int_equal(gz ? test_write_gz(path, b, len) : test_write(path, b, len), 0);
        free(b);
    }
}

static void test_open_mnist_dir(void **state) {
    test_dir *t = *state;
    char a[512], b[512];
    test_path(t, "gz", a, sizeof a);
    test_path(t, "dotted", b, sizeof b);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    write_mnist_dir(a, 0, 1, 50, 20);
    write_mnist_dir(b, 1, 0, 30, 10);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_dataset_open("mnist", a, NULL, NULL, 1, &d, &err), 0);
    check_pattern(&d, 50, 10);
    assert_int_equal(d.n_classes, 10);
    fedc_dataset_free(&d);
    assert_int_equal(fedc_dataset_open("mnist", a, NULL, NULL, 0, &d, &err), 0);
    assert_int_equal(d.n, 20);
    fedc_dataset_free(&d);
    assert_int_equal(fedc_dataset_open("fashion-mnist", b, NULL, NULL, 1, &d, &err), 0);
    assert_int_equal(d.n, 30);
    fedc_dataset_free(&d);
    /* A missing file is named with the spellings tried. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/t10k-labels.idx1-ubyte", b);
    assert_int_equal(unlink(missing), 0);
    assert_int_equal(fedc_dataset_open("mnist", b, NULL, NULL, 0, &d, &err), -1);
    assert_msg_has(err.msg, "no t10k labels file in");
    assert_msg_has(err.msg, "t10k-labels-idx1-ubyte");
    /* Without a folder: the catalog's location (an empty cache here), and
     * fedc_dataset_open never downloads: the message says what to do. */
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", t->path);
    setenv("FEDC_DATA", cache, 1);
    assert_int_equal(fedc_dataset_open("mnist", NULL, NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "mnist: train-images-idx3-ubyte.gz");
    assert_msg_has(err.msg, "is missing from");
    assert_msg_has(err.msg, "/cache/mnist");
    assert_msg_has(err.msg, "fedc data fetch mnist");
    unsetenv("FEDC_DATA");
    assert_int_equal(fedc_dataset_open("imagenet", NULL, NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "unknown dataset 'imagenet'");
    assert_msg_has(err.msg, "mnist, fashion-mnist, emnist-byclass");
}

static void test_real_fashion_mnist(void **state) {
    (void)state;
    struct stat st;
    if (stat(FEDC_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &st) != 0) {
        FEDC_TEST_SKIP(FEDC_FASHION_MNIST_DIR " is missing (Debian package dataset-fashion-mnist)");
    }
    const size_t want_n[2] = {10000, 60000};
    for (int train = 0; train < 2; train++) {
        fedc_dataset d;
        fedc_error err = {{0}};
        int rc = fedc_dataset_open("fashion-mnist", train ? NULL : "", NULL, NULL, train, &d, &err);
        if (rc != 0)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(d.n, want_n[train]);
        assert_int_equal(d.n_classes, 10);
        assert_int_equal(d.shape.c, 1);
        assert_int_equal(d.shape.h, 28);
        assert_int_equal(d.shape.w, 28);
        size_t counts[10] = {0};
        for (size_t i = 0; i < d.n; i++) {
            assert_in_range(d.y[i], 0, 9);
            counts[d.y[i]]++;
        }
        /* Fashion-MNIST is balanced: 6000 / 1000 of each class. */
        for (int c = 0; c < 10; c++)
            assert_int_equal(counts[c], d.n / 10);
        assert_int_equal(fedc_dataset_to_float(&d, &err), 0);
        float lo = 1, hi = 0;
        double sum = 0;
        for (size_t i = 0; i < d.n * d.dim; i++) {
            assert_true(d.x[i] >= 0.0f && d.x[i] <= 1.0f);
            if (d.x[i] < lo)
                lo = d.x[i];
            if (d.x[i] > hi)
                hi = d.x[i];
            sum += d.x[i];
        }
        assert_true(lo == 0.0f && hi == 1.0f);
        /* Mean pixel of Fashion-MNIST is about 0.286. */
        double mean = sum / (double)(d.n * d.dim);
        assert_true(mean > 0.27 && mean < 0.30);
        fedc_dataset_free(&d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_pair_loads, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_gz_pair_loads_same_as_plain, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_single_class_labels_give_two_classes, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_magic, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_element_type, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_swapped_files, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_plain, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_labels, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_gzip, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_count_mismatch, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_trailing_bytes, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_bad_label, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_absurd_dims_refused_before_allocating, test_dir_setup,
                                        test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, test_dir_setup, test_dir_teardown),
        cmocka_unit_test(test_parse_from_memory),
        cmocka_unit_test_setup_teardown(test_open_mnist_dir, test_dir_setup, test_dir_teardown),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return fedc_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
