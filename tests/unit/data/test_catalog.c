/* The data catalog: the built-in entries are complete and consistent, the
 * override file is applied and its errors name the field, the cache folder
 * follows FEDC_DATA / XDG_CACHE_HOME / HOME, presence and the system copy,
 * hand-placed files are checked against the catalog before use, and the
 * message for a missing file says what, where and how. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "data_test_util.h"
#include "fedc/catalog.h"
#include "format_writers.h"

static const char *const k_names[] = {"mnist",         "fashion-mnist", "emnist-byclass",
                                      "emnist-balanced", "emnist-digits", "femnist",
                                      "cifar10",       "cifar100",      "svhn"};
/* The generated dataset after the files' ones (test_synthetic.c tests it). */
static const char k_generated[] = "synthetic";

static void test_builtin_entries(void **state) {
    (void)state;
    fedc_error err;
    fedc_catalog *c = fedc_catalog_load_json(NULL, 0, NULL, &err);
    assert_non_null(c);
    assert_int_equal(fedc_catalog_count(c), 10);
    assert_string_equal(fedc_catalog_at(c, 9)->name, k_generated);
    assert_int_equal(fedc_catalog_at(c, 9)->nfiles, 0);
    for (int i = 0; i < 9; i++) {
        const fedc_catalog_entry *e = fedc_catalog_at(c, i);
        assert_string_equal(e->name, k_names[i]);
        assert_ptr_equal(fedc_catalog_find(c, k_names[i]), e);
        assert_non_null(e->title);
        assert_non_null(e->licence);
        assert_non_null(e->citation);
        assert_non_null(e->format);
        assert_non_null(e->dir);
        assert_true(e->shape.c >= 1 && e->shape.h >= 28 && e->shape.w >= 28);
        assert_true(e->n_classes >= 10 && e->n_train > 0 && e->n_test > 0);
        assert_true(e->nfiles >= 1);
        for (int f = 0; f < e->nfiles; f++) {
            const fedc_catalog_file *file = &e->files[f];
            assert_true(file->name[0]);
            assert_true(file->urls[0][0]);
            for (int u = 0; u < FEDC_CATALOG_MAX_URLS && file->urls[u][0]; u++)
                assert_true(!strncmp(file->urls[u], "https://", 8) || !strncmp(file->urls[u], "http://", 7));
            /* a known size is also the cap; an unknown one has a cap */
            assert_true(file->max_size > 0);
            if (file->size) assert_true(file->size == file->max_size);
            /* every digest is 64 lowercase hex digits; the only file without a
             * published size still has a published digest */
            assert_int_equal(strlen(file->sha256), 64);
            for (int k = 0; k < 64; k++)
                assert_true(isdigit((unsigned char)file->sha256[k]) || (file->sha256[k] >= 'a' && file->sha256[k] <= 'f'));
        }
    }
    /* aliases */
    assert_string_equal(fedc_catalog_find(c, "fmnist")->name, "fashion-mnist");
    assert_string_equal(fedc_catalog_find(c, "CIFAR-10")->name, "cifar10");
    assert_null(fedc_catalog_find(c, "imagenet"));
    /* facts the loaders rely on */
    assert_int_equal(fedc_catalog_find(c, "cifar100")->n_classes_coarse, 20);
    assert_int_equal(fedc_catalog_find(c, "emnist-balanced")->n_classes, 47);
    assert_true(fedc_catalog_find(c, "femnist")->natural);
    assert_true(fedc_catalog_find(c, "svhn")->files[2].optional);
    assert_string_equal(fedc_catalog_find(c, "fashion-mnist")->system_dir, FEDC_FASHION_MNIST_DIR);
    assert_string_equal(fedc_catalog_names(),
                        "mnist, fashion-mnist, emnist-byclass, emnist-balanced, emnist-digits, femnist, "
                        "cifar10, cifar100, svhn, synthetic");
    char *json = fedc_catalog_json(c, 0, &err);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"name\": \"svhn\""));
    assert_non_null(strstr(json, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"));
    free(json);
    fedc_catalog_free(c);
}

static void expect_override_error(const char *json, const char *needle) {
    fedc_error err = {{0}};
    fedc_catalog *c = fedc_catalog_load_json(json, strlen(json), "over.json", &err);
    if (c) fail_msg("override accepted: %s", json);
    assert_msg_has(err.msg, needle);
}

static void test_overrides(void **state) {
    (void)state;
    const char *ok = "{\"datasets\": {\"cifar10\": {\"files\": {\"cifar-10-binary.tar.gz\": "
                     "{\"urls\": [\"https://127.0.0.1:8443/c.tgz\"], \"size\": 1234, "
                     "\"sha256\": \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"}}},"
                     " \"fashion-mnist\": {\"system_dir\": null}}}";
    fedc_error err = {{0}};
    fedc_catalog *c = fedc_catalog_load_json(ok, strlen(ok), "over.json", &err);
    if (!c) fail_msg("%s", err.msg);
    const fedc_catalog_file *f = &fedc_catalog_find(c, "cifar10")->files[0];
    assert_string_equal(f->urls[0], "https://127.0.0.1:8443/c.tgz");
    assert_string_equal(f->urls[1], "");
    assert_int_equal(f->size, 1234);
    assert_int_equal(f->max_size, 1234);
    assert_string_equal(f->sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    assert_string_equal(fedc_catalog_find(c, "fashion-mnist")->system_dir, "");
    /* the built-in table is untouched */
    assert_int_equal(fedc_catalog_builtin("cifar10")->files[0].size, 170052171);
    fedc_catalog_free(c);
    expect_override_error("{\"datasets\": {\"imagenet\": {}}}", "over.json: datasets.imagenet: unknown dataset");
    expect_override_error("{\"datasets\": {\"cifar10\": {\"files\": {\"x.bin\": {}}}}}",
                          "datasets.cifar10.files.x.bin: cifar10 has no such file; allowed: cifar-10-binary.tar.gz");
    expect_override_error("{\"datasets\": {\"cifar10\": {\"files\": {\"cifar-10-binary.tar.gz\": {\"sha256\": \"xyz\"}}}}}",
                          "files.cifar-10-binary.tar.gz.sha256: expected 64 hexadecimal digits");
    expect_override_error("{\"datasets\": {\"mnist\": {\"files\": {\"t10k-labels-idx1-ubyte.gz\": {\"urls\": [\"ftp://x\"]}}}}}",
                          "urls[0]: expected an http:// or https:// URL");
    expect_override_error("{\"datasets\": {\"mnist\": {\"colour\": 1}}}", "datasets.mnist.colour: unknown field");
    expect_override_error("{\"datasets\": {\"mnist\": {\"files\": {\"t10k-labels-idx1-ubyte.gz\": {\"size\": -4}}}}}",
                          "size: expected a byte count");
    expect_override_error("[1, 2", "over.json: line 1:");
    expect_override_error("{\"catalog\": {}}", "over.json: catalog: unknown field; allowed: datasets");
}

static void test_cache_dir(void **state) {
    (void)state;
    char out[1024];
    fedc_error err;
    setenv("FEDC_DATA", "/srv/fedc-data/", 1);
    assert_int_equal(fedc_data_cache_dir(out, sizeof out, &err), 0);
    assert_string_equal(out, "/srv/fedc-data");
    unsetenv("FEDC_DATA");
    setenv("XDG_CACHE_HOME", "/var/cache/me", 1);
    assert_int_equal(fedc_data_cache_dir(out, sizeof out, &err), 0);
    assert_string_equal(out, "/var/cache/me/fedc");
    setenv("XDG_CACHE_HOME", "relative/ignored", 1); /* the XDG spec ignores relative paths */
    setenv("HOME", "/home/u", 1);
    assert_int_equal(fedc_data_cache_dir(out, sizeof out, &err), 0);
    assert_string_equal(out, "/home/u/.cache/fedc");
    unsetenv("XDG_CACHE_HOME");
    setenv("FEDC_DATA", "/d", 1);
    assert_int_equal(fedc_data_entry_dir(fedc_catalog_builtin("emnist-digits"), out, sizeof out, &err), 0);
    assert_string_equal(out, "/d/emnist");
    assert_int_equal(fedc_data_entry_dir(fedc_catalog_builtin("femnist"), out, sizeof out, &err), 0);
    assert_string_equal(out, "/d/emnist");
    unsetenv("FEDC_DATA");
}

/* A cache holding MNIST-format files under the catalog's names, with an
 * override giving their sizes and digests. */
static void write_hex(const uint8_t *d, size_t n, char hex[65]);

static void test_status_and_placed_files(void **state) {
    test_dir *t = *state;
    char cache[512], dir[600], over[600];
    test_path(t, "cache", cache, sizeof cache);
    snprintf(dir, sizeof dir, "%s/mnist", cache);
    assert_int_equal(mkdir(cache, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    setenv("FEDC_DATA", cache, 1);
    /* four small gzipped IDX files */
    static const char *const names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    char json[4096] = "{\"datasets\": {\"mnist\": {\"files\": {";
    for (int i = 0; i < 4; i++) {
        size_t len;
        uint8_t *raw = i % 2 == 0 ? make_idx_images(6, 28, 28, &len) : make_idx_labels(6, 10, &len);
        wbuf gz = {0};
        gzip_bytes(raw, len, &gz);
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        assert_int_equal(test_write(p, gz.p, gz.len), 0);
        char hex[65];
        write_hex(gz.p, gz.len, hex);
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"%s\": {\"size\": %zu, \"sha256\": \"%s\"}",
                 i ? ", " : "", names[i], gz.len, hex);
        wb_free(&gz);
        free(raw);
    }
    strcat(json, "}}}}");
    test_path(t, "over.json", over, sizeof over);
    assert_int_equal(test_write_str(over, json), 0);
    setenv("FEDC_DATA_CATALOG", over, 1);
    fedc_error err = {{0}};
    fedc_catalog *c = fedc_catalog_load(NULL, &err);
    if (!c) fail_msg("%s", err.msg);
    fedc_data_status st;
    assert_int_equal(fedc_data_status_get(fedc_catalog_find(c, "mnist"), NULL, 0, &st, &err), 0);
    assert_int_equal(st.source, FEDC_DATA_IN_CACHE);
    assert_true(st.present);
    assert_string_equal(st.dir, dir);
    /* loading checks the hand-placed files once and stamps them */
    fedc_dataset d;
    fedc_dataset_spec spec = {.name = "mnist", .fetch = FEDC_FETCH_NEVER};
    if (fedc_dataset_load(&spec, 1, &d, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(d.n, 6);
    fedc_dataset_free(&d);
    char stamp[800];
    snprintf(stamp, sizeof stamp, "%s/.train-images-idx3-ubyte.gz.verified", dir);
    assert_int_equal(access(stamp, F_OK), 0);
    /* verify agrees, and names the files */
    int bad = -1;
    FILE *out = tmpfile();
    assert_int_equal(fedc_data_verify(fedc_catalog_find(c, "mnist"), NULL, 0, out, &bad, &err), 0);
    assert_int_equal(bad, 0);
    fclose(out);
    /* a different file of the same size is refused before use */
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, names[1]);
    FILE *f = fopen(p, "r+b");
    fseek(f, 12, SEEK_SET);
    fputc('X', f);
    fclose(f);
    /* as a later change would: the stamp's time no longer matches (set
     * explicitly, since file clocks are coarser than this test) */
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
    assert_int_equal(fedc_dataset_load(&spec, 1, &d, &err), -1);
    assert_msg_has(err.msg, "train-labels-idx1-ubyte.gz has SHA-256");
    assert_msg_has(err.msg, "a corrupt or different file");
    assert_msg_has(err.msg, "fedc data fetch mnist --force");
    out = tmpfile();
    assert_int_equal(fedc_data_verify(fedc_catalog_find(c, "mnist"), NULL, 0, out, &bad, &err), 0);
    assert_int_equal(bad, 1);
    fclose(out);
    /* a missing file: the message names it, the folder and the command */
    unlink(p);
    assert_int_equal(fedc_data_status_get(fedc_catalog_find(c, "mnist"), NULL, 0, &st, &err), 0);
    assert_false(st.present);
    assert_int_equal(st.missing, 1);
    char msg[1400];
    fedc_data_missing_message(fedc_catalog_find(c, "mnist"), &st, msg, sizeof msg);
    assert_msg_has(msg, "mnist: train-labels-idx1-ubyte.gz");
    assert_msg_has(msg, dir);
    assert_msg_has(msg, "Run `fedc data fetch mnist`");
    assert_int_equal(fedc_dataset_load(&spec, 1, &d, &err), -1);
    assert_msg_has(err.msg, "(dataset.fetch is never)");
    fedc_catalog_free(c);
    unsetenv("FEDC_DATA_CATALOG");
    unsetenv("FEDC_DATA");
}

/* The system copy is used as it is when all its files are there; the
 * override can turn it off. */
static void test_system_copy(void **state) {
    test_dir *t = *state;
    struct stat sb;
    if (stat(FEDC_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &sb) != 0) skip();
    char cache[512];
    test_path(t, "c2", cache, sizeof cache);
    setenv("FEDC_DATA", cache, 1);
    fedc_error err;
    fedc_data_status st;
    fedc_catalog *c = fedc_catalog_load_json(NULL, 0, NULL, &err);
    assert_int_equal(fedc_data_status_get(fedc_catalog_find(c, "fashion-mnist"), NULL, 0, &st, &err), 0);
    assert_int_equal(st.source, FEDC_DATA_IN_SYSTEM);
    assert_true(st.present);
    int bad = -1;
    FILE *out = tmpfile();
    assert_int_equal(fedc_data_verify(fedc_catalog_find(c, "fashion-mnist"), NULL, 0, out, &bad, &err), 0);
    assert_int_equal(bad, 0); /* the package's recorded sizes and digests */
    fclose(out);
    fedc_catalog_free(c);
    const char *off = "{\"datasets\": {\"fashion-mnist\": {\"system_dir\": null}}}";
    c = fedc_catalog_load_json(off, strlen(off), "off", &err);
    assert_int_equal(fedc_data_status_get(fedc_catalog_find(c, "fashion-mnist"), NULL, 0, &st, &err), 0);
    assert_int_equal(st.source, FEDC_DATA_IN_CACHE);
    assert_false(st.present);
    fedc_catalog_free(c);
    unsetenv("FEDC_DATA");
}

#include <openssl/evp.h>
static void write_hex(const uint8_t *d, size_t n, char hex[65]) {
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(d, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_entries),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_status_and_placed_files),
        cmocka_unit_test(test_system_copy),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
