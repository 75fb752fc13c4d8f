/* Helpers for the data layer's tests: a temporary folder per test, files
 * written plain or gzipped, and IDX / CIFAR-10 byte images built in memory. */
#ifndef FEDC_DATA_TEST_UTIL_H
#define FEDC_DATA_TEST_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

typedef struct test_dir {
    char path[256];
} test_dir;

static inline int test_dir_make(test_dir *t) {
    snprintf(t->path, sizeof t->path, "/tmp/fedc_data_test_XXXXXX");
    return mkdtemp(t->path) ? 0 : -1;
}

static inline void test_rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char child[1024];
            int w = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (w > 0 && (size_t)w < sizeof child)
                test_rm_tree(child);
        }
        if (d)
            closedir(d);
    }
    remove(path);
}

static inline void test_dir_remove(test_dir *t) { test_rm_tree(t->path); }

/* out = <dir>/<name>. */
/* cmocka group fixtures: a fresh temporary folder as the group state. */
static inline int test_dir_setup(void **state) {
    test_dir *t = calloc(1, sizeof *t);
    if (!t || test_dir_make(t) != 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static inline int test_dir_teardown(void **state) {
    test_dir_remove(*state);
    free(*state);
    return 0;
}

static inline const char *test_path(const test_dir *t, const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", t->path, name);
    return out;
}

static inline int test_write(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static inline int test_write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb6");
    if (!g)
        return -1;
    int w = len ? gzwrite(g, data, (unsigned)len) : 0;
    return gzclose(g) == Z_OK && (size_t)w == len ? 0 : -1;
}

static inline int test_write_str(const char *path, const char *s) {
    return test_write(path, s, strlen(s));
}

static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Pixel of image i at (r, c): a pattern that covers 0 and 255. */
static inline uint8_t test_pixel(size_t i, int r, int c) {
    return (uint8_t)((i * 37 + (size_t)r * 11 + (size_t)c * 3) % 256);
}

/* IDX images file bytes: n images of rows x cols; *len set; malloc'ed. */
static inline uint8_t *make_idx_images(uint32_t n, uint32_t rows, uint32_t cols, size_t *len) {
    *len = 16 + (size_t)n * rows * cols;
    uint8_t *b = malloc(*len);
    put_be32(b, 0x00000803);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < rows; r++)
            for (uint32_t c = 0; c < cols; c++)
                b[16 + i * rows * cols + r * cols + c] = test_pixel(i, (int)r, (int)c);
    return b;
}

/* IDX labels file bytes with label i % classes. */
static inline uint8_t *make_idx_labels(uint32_t n, int classes, size_t *len) {
    *len = 8 + (size_t)n;
    uint8_t *b = malloc(*len);
    put_be32(b, 0x00000801);
    put_be32(b + 4, n);
    for (size_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % (size_t)classes);
    return b;
}

/* CIFAR-10 batch: n records; record i has label (i + shift) % 10 and
 * pixel j = (i + j + shift) % 256. */
static inline uint8_t *make_cifar(size_t n, int shift, size_t *len) {
    *len = n * 3073;
    uint8_t *b = malloc(*len);
    for (size_t i = 0; i < n; i++) {
        b[i * 3073] = (uint8_t)((i + (size_t)shift) % 10);
        for (size_t j = 0; j < 3072; j++)
            b[i * 3073 + 1 + j] = (uint8_t)((i + j + (size_t)shift) % 256);
    }
    return b;
}

/* Substring check with the message shown on failure. */
#define assert_msg_has(msg, needle)                                                                \
    do {                                                                                           \
        if (!strstr((msg), (needle))) {                                                            \
            print_error("error message \"%s\" lacks \"%s\"\n", (msg), (needle));                   \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#endif
