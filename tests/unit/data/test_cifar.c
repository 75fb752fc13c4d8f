/* CIFAR-10 binary loader: layout and scaling, several batches, the named
 * "cifar10" open (flat and cifar-10-batches-bin/ folders), corrupt files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on
#include <sys/stat.h>

#include "support/dataset_feature.h"
#include "data_test_util.h"
#include "fedc/catalog.h"
#include "format_writers.h"


static void write_batch(const char *path, size_t n, int shift, int gz) {
    size_t len;
    uint8_t *b = make_cifar(n, shift, &len);
    assert_int_equal(gz ? test_write_gz(path, b, len) : test_write(path, b, len), 0);
    free(b);
}

/* Record i of a batch written with shift s, at dataset row `row`. */
static void check_record(const fedc_dataset *d, size_t row, size_t i, int s) {
    assert_int_equal(d->y[row], (int)((i + (size_t)s) % 10));
    for (size_t j = 0; j < 3072; j += 97) {
        float want = (float)((i + j + (size_t)s) % 256) / 255.0f;
        assert_true(test_feature(d, row * 3072 + j) == want);
    }
    /* Channel-major: pixel (c, h, w) is byte 1 + c*1024 + h*32 + w. */
    size_t c = 2, h = 31, w = 5, j = c * 1024 + h * 32 + w;
    assert_true(test_feature(d, row * 3072 + j) == (float)((i + j + (size_t)s) % 256) / 255.0f);
}

static void test_batches_concatenate(void **state) {
    test_dir *t = *state;
    char a[512], b[512];
    write_batch(test_path(t, "a.bin", a, sizeof a), 7, 0, 0);
    write_batch(test_path(t, "b.bin.gz", b, sizeof b), 5, 3, 1);
    const char *paths[2] = {a, b};
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_cifar10(paths, 2, &d, &err), 0);
    assert_int_equal(d.n, 12);
    assert_int_equal(d.n_classes, 10);
    assert_int_equal(d.shape.c, 3);
    assert_int_equal(d.shape.h, 32);
    assert_int_equal(d.shape.w, 32);
    assert_int_equal(d.dim, 3072);
    for (size_t i = 0; i < 7; i++)
        check_record(&d, i, i, 0);
    for (size_t i = 0; i < 5; i++)
        check_record(&d, 7 + i, i, 3);
    fedc_dataset_free(&d);
}

static void test_parse_from_memory(void **state) {
    (void)state;
    size_t len;
    uint8_t *b = make_cifar(4, 1, &len);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_parse_cifar10(b, len, "mem", &d, &err), 0);
    assert_int_equal(d.n, 4);
    for (size_t i = 0; i < 4; i++)
        check_record(&d, i, i, 1);
    fedc_dataset_free(&d);
    free(b);
}

static void test_truncated_file(void **state) {
    test_dir *t = *state;
    char p[512];
    size_t len;
    uint8_t *b = make_cifar(3, 0, &len);
    assert_int_equal(test_write(test_path(t, "cut.bin", p, sizeof p), b, len - 100), 0);
    const char *paths[1] = {p};
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_cifar10(paths, 1, &d, &err), -1);
    assert_msg_has(err.msg, p);
    assert_msg_has(err.msg, "not a whole number of 3073-byte CIFAR-10 records");
    assert_msg_has(err.msg, "2 records and 2973 extra bytes");
    assert_null(d.x);
    assert_null(d.x8);
    free(b);
}

static void test_bad_label(void **state) {
    test_dir *t = *state;
    char good[512], bad[512];
    size_t len;
    uint8_t *b = make_cifar(3, 0, &len);
    write_batch(test_path(t, "good.bin", good, sizeof good), 2, 0, 0);
    b[2 * 3073] = 10;
    assert_int_equal(test_write(test_path(t, "bad.bin", bad, sizeof bad), b, len), 0);
    const char *paths[2] = {good, bad};
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_cifar10(paths, 2, &d, &err), -1);
    assert_msg_has(err.msg, bad);
    assert_msg_has(err.msg, "record 2 (byte offset 6146) has label 10");
    assert_msg_has(err.msg, "0..9");
    free(b);
}

static void test_empty_and_missing(void **state) {
    test_dir *t = *state;
    char p[512];
    assert_int_equal(test_write(test_path(t, "empty.bin", p, sizeof p), "", 0), 0);
    const char *paths[2] = {p, "/nonexistent/fedc/batch.bin"};
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_cifar10(paths, 1, &d, &err), -1);
    assert_msg_has(err.msg, p);
    assert_msg_has(err.msg, "empty file");
    assert_int_equal(fedc_load_cifar10(paths + 1, 1, &d, &err), -1);
    assert_msg_has(err.msg, "/nonexistent/fedc/batch.bin: cannot open");
    assert_int_equal(fedc_load_cifar10(paths, 0, &d, &err), -1);
    assert_msg_has(err.msg, "allowed 1..64");
}

static void write_cifar_dir(const char *dir) {
    char p[600];
    for (int i = 1; i <= 5; i++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, i);
        write_batch(p, (size_t)i, i, 0);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_batch(p, 4, 9, 0);
}

static void test_open_named(void **state) {
    test_dir *t = *state;
    char nested[512];
    test_path(t, "cifar-10-batches-bin", nested, sizeof nested);
    assert_int_equal(mkdir(nested, 0755), 0);
    write_cifar_dir(nested);
    fedc_dataset d;
    fedc_error err = {{0}};
    /* Both the batches folder and its parent work. */
    const char *dirs[2] = {nested, t->path};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(fedc_dataset_open("cifar10", dirs[k], NULL, NULL, 1, &d, &err), 0);
        assert_int_equal(d.n, 1 + 2 + 3 + 4 + 5);
        check_record(&d, 0, 0, 1);
        check_record(&d, 1, 0, 2);
        check_record(&d, 14, 4, 5);
        fedc_dataset_free(&d);
        assert_int_equal(fedc_dataset_open("cifar10", dirs[k], NULL, NULL, 0, &d, &err), 0);
        assert_int_equal(d.n, 4);
        check_record(&d, 3, 3, 9);
        fedc_dataset_free(&d);
    }
    char gone[600];
    snprintf(gone, sizeof gone, "%s/data_batch_4.bin", nested);
    assert_int_equal(unlink(gone), 0);
    assert_int_equal(fedc_dataset_open("cifar10", nested, NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "missing");
    assert_msg_has(err.msg, "data_batch_4.bin");
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", t->path);
    setenv("FEDC_DATA", cache, 1);
    assert_int_equal(fedc_dataset_open("cifar10", "", NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "cifar10: cifar-10-binary.tar.gz");
    assert_msg_has(err.msg, "fedc data fetch cifar10");
    unsetenv("FEDC_DATA");
}


/* The download itself: cifar-10-binary.tar.gz, read without unpacking. */
static void test_cifar10_tar_gz(void **state) {
    test_dir *t = *state;
    wbuf tar = {0};
    for (int i = 1; i <= 5; i++) {
        char name[64];
        size_t len;
        uint8_t *b = make_cifar((size_t)i, i, &len);
        snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", i);
        tar_add(&tar, name, b, len);
        free(b);
    }
    size_t len;
    uint8_t *b = make_cifar(4, 9, &len);
    tar_add(&tar, "cifar-10-batches-bin/test_batch.bin", b, len);
    tar_add(&tar, "cifar-10-batches-bin/batches.meta.txt", "airplane\n", 9);
    tar_end(&tar);
    free(b);
    wbuf gz = {0};
    gzip_bytes(tar.p, tar.len, &gz);
    char dir[512], p[600];
    test_path(t, "c10", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/cifar-10-binary.tar.gz", dir);
    assert_int_equal(test_write(p, gz.p, gz.len), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_dataset_open("cifar10", dir, NULL, NULL, 1, &d, &err), 0);
    assert_int_equal(d.n, 15);
    check_record(&d, 0, 0, 1);
    check_record(&d, 14, 4, 5);
    fedc_dataset_free(&d);
    assert_int_equal(fedc_dataset_open("cifar10", dir, NULL, NULL, 0, &d, &err), 0);
    assert_int_equal(d.n, 4);
    check_record(&d, 2, 2, 9);
    fedc_dataset_free(&d);
    /* A truncated download names the archive. */
    assert_int_equal(test_write(p, gz.p, gz.len / 2), 0);
    assert_int_equal(fedc_dataset_open("cifar10", dir, NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "cifar-10-binary.tar.gz");
    assert_msg_has(err.msg, "truncated");
    wb_free(&tar);
    wb_free(&gz);
}

/* CIFAR-100 record i: coarse label i % 20, fine label (i * 3) % 100,
 * pixel j = (i * 5 + j) % 256. */
static uint8_t *make_cifar100(size_t n, size_t *len) {
    *len = n * 3074;
    uint8_t *b = malloc(*len);
    for (size_t i = 0; i < n; i++) {
        b[i * 3074] = (uint8_t)(i % 20);
        b[i * 3074 + 1] = (uint8_t)((i * 3) % 100);
        for (size_t j = 0; j < 3072; j++) b[i * 3074 + 2 + j] = (uint8_t)((i * 5 + j) % 256);
    }
    return b;
}

static void test_cifar100(void **state) {
    test_dir *t = *state;
    size_t len;
    uint8_t *b = make_cifar100(30, &len);
    fedc_dataset d;
    fedc_error err = {{0}};
    for (int coarse = 0; coarse < 2; coarse++) {
        assert_int_equal(fedc_parse_cifar100(b, len, "train.bin", coarse, &d, &err), 0);
        assert_int_equal(d.n, 30);
        assert_int_equal(d.n_classes, coarse ? 20 : 100);
        for (size_t i = 0; i < 30; i++) assert_int_equal(d.y[i], coarse ? (int)(i % 20) : (int)((i * 3) % 100));
        /* pixel (c=1, h=4, w=31) of record 7 */
        assert_true(test_feature(&d, 7 * 3072 + 1024 + 4 * 32 + 31) == (float)((7 * 5 + 1024 + 4 * 32 + 31) % 256) / 255.0f);
        fedc_dataset_free(&d);
    }
    /* CIFAR-10 bytes given as CIFAR-100 (or the other way round) */
    size_t l10;
    uint8_t *c10 = make_cifar(2, 0, &l10);
    assert_int_equal(fedc_parse_cifar100(c10, l10, "c10.bin", 0, &d, &err), -1);
    assert_msg_has(err.msg, "not a whole number of 3074-byte CIFAR-100 records");
    assert_msg_has(err.msg, "CIFAR-10 with 1 label byte");
    free(c10);
    b[3074 * 2 + 1] = 100;
    assert_int_equal(fedc_parse_cifar100(b, len, "bad.bin", 0, &d, &err), -1);
    assert_msg_has(err.msg, "bad.bin: record 2 (byte offset 6149) has fine label 100; CIFAR-100 fine labels are 0..99");
    b[3074 * 2 + 1] = 0;
    b[3074 * 2] = 20;
    assert_int_equal(fedc_parse_cifar100(b, len, "bad.bin", 1, &d, &err), -1);
    assert_msg_has(err.msg, "has coarse label 20");
    b[3074 * 2] = 2;
    /* the download, cifar-100-binary.tar.gz */
    wbuf tar = {0}, gz = {0};
    tar_add(&tar, "cifar-100-binary/train.bin", b, len);
    tar_add(&tar, "cifar-100-binary/test.bin", b, 3074 * 5);
    tar_add(&tar, "cifar-100-binary/fine_label_names.txt", "apple\n", 6);
    tar_end(&tar);
    gzip_bytes(tar.p, tar.len, &gz);
    char dir[512], p[600];
    test_path(t, "c100", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/cifar-100-binary.tar.gz", dir);
    assert_int_equal(test_write(p, gz.p, gz.len), 0);
    fedc_dataset_spec s = {.name = "cifar100", .path = dir, .labels = "coarse", .fetch = FEDC_FETCH_NEVER};
    assert_int_equal(fedc_dataset_load(&s, 1, &d, &err), 0);
    assert_int_equal(d.n, 30);
    assert_int_equal(d.n_classes, 20);
    assert_int_equal(d.y[13], 13);
    fedc_dataset_free(&d);
    s.labels = "fine";
    assert_int_equal(fedc_dataset_load(&s, 0, &d, &err), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.n_classes, 100);
    assert_int_equal(d.y[4], 12);
    fedc_dataset_free(&d);
    /* coarse labels belong to cifar100 only */
    fedc_dataset_spec s10 = {.name = "cifar10", .path = dir, .labels = "coarse", .fetch = FEDC_FETCH_NEVER};
    assert_int_equal(fedc_dataset_load(&s10, 1, &d, &err), -1);
    assert_msg_has(err.msg, "cifar10: has no coarse labels");
    wb_free(&tar);
    wb_free(&gz);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_concatenate, test_dir_setup, test_dir_teardown),
        cmocka_unit_test(test_parse_from_memory),
        cmocka_unit_test_setup_teardown(test_truncated_file, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_bad_label, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_missing, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_open_named, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_cifar10_tar_gz, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_cifar100, test_dir_setup, test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
