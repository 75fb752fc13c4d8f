/* Containers the catalog's downloads come in: gzip in memory (multi-member,
 * truncated, trailing bytes, size cap), tar (ustar names, GNU long names,
 * checksums, truncation) and zip (stored and deflated members, CRC-32,
 * missing members, truncated archives). Errors name the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "data/archive.h"
#include "data_test_util.h"
#include "format_writers.h"

static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 7)) & 0xFF);
    return p;
}

static void test_gunzip(void **state) {
    (void)state;
    uint8_t *a = pattern(100000, 1), *b = pattern(333, 2);
    wbuf gz = {0};
    gzip_bytes(a, 100000, &gz);
    gzip_bytes(b, 333, &gz); /* a second member follows */
    uint8_t *out;
    size_t len;
    fedc_error err = {{0}};
    assert_int_equal(data_gunzip(gz.p, gz.len, "two.gz", 1 << 20, &out, &len, &err), 0);
    assert_int_equal(len, 100333);
    assert_memory_equal(out, a, 100000);
    assert_memory_equal(out + 100000, b, 333);
    free(out);
    /* Cap on the output. */
    assert_int_equal(data_gunzip(gz.p, gz.len, "two.gz", 50000, &out, &len, &err), -1);
    assert_msg_has(err.msg, "two.gz: decompresses to more than the 50000-byte limit");
    /* Cut short. */
    assert_int_equal(data_gunzip(gz.p, gz.len / 3, "cut.gz", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "cut.gz: truncated gzip stream");
    /* Bytes after the last member that are not a member. */
    wbuf tail = {0};
    wb_put(&tail, gz.p, gz.len);
    wb_put(&tail, "JUNK", 4);
    assert_int_equal(data_gunzip(tail.p, tail.len, "tail.gz", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "4 unexpected bytes after gzip member 2");
    /* Corrupt deflate data. */
    tail.p[20] ^= 0xFF;
    tail.p[21] ^= 0x55;
    assert_int_equal(data_gunzip(tail.p, tail.len, "bad.gz", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "bad.gz:");
    /* Not gzip at all. */
    assert_int_equal(data_gunzip((const uint8_t *)"plain text, not gzip", 20, "x", 100, &out, &len, &err), -1);
    assert_msg_has(err.msg, "x: not gzip data");
    wb_free(&tail);
    wb_free(&gz);
    free(a);
    free(b);
}

static void test_tar(void **state) {
    (void)state;
    uint8_t *a = pattern(1000, 3), *b = pattern(512, 4);
    char longname[200];
    memset(longname, 'd', sizeof longname);
    memcpy(longname + 120, "/long-member.bin", 17);
    wbuf t = {0};
    tar_add(&t, "cifar-10-batches-bin/data_batch_1.bin", a, 1000);
    tar_add(&t, longname, b, 512);
    tar_add(&t, "cifar-10-batches-bin/empty.txt", "", 0);
    tar_end(&t);
    const uint8_t *d;
    size_t n;
    fedc_error err = {{0}};
    assert_int_equal(data_tar_find(t.p, t.len, "x.tar", "data_batch_1.bin", &d, &n, &err), 0);
    assert_int_equal(n, 1000);
    assert_memory_equal(d, a, 1000);
    assert_int_equal(data_tar_find(t.p, t.len, "x.tar", "long-member.bin", &d, &n, &err), 0);
    assert_int_equal(n, 512);
    assert_memory_equal(d, b, 512);
    assert_int_equal(data_tar_find(t.p, t.len, "x.tar", "empty.txt", &d, &n, &err), 0);
    assert_int_equal(n, 0);
    /* A suffix match needs a whole path component. */
    assert_int_equal(data_tar_find(t.p, t.len, "x.tar", "ata_batch_1.bin", &d, &n, &err), -1);
    assert_msg_has(err.msg, "x.tar: no member named ata_batch_1.bin");
    /* Truncated inside the first member's data. */
    assert_int_equal(data_tar_find(t.p, 700, "cut.tar", "long-member.bin", &d, &n, &err), -1);
    assert_msg_has(err.msg, "cut.tar: member at offset 0 declares 1000 bytes but only 188 follow");
    /* A damaged header fails its checksum. */
    t.p[10] ^= 1;
    assert_int_equal(data_tar_find(t.p, t.len, "bad.tar", "empty.txt", &d, &n, &err), -1);
    assert_msg_has(err.msg, "bad.tar: header at offset 0 has a bad checksum");
    wb_free(&t);
    free(a);
    free(b);
}

static void test_zip(void **state) {
    test_dir *td = *state;
    uint8_t *a = pattern(70000, 5), *b = pattern(1234, 6);
    zip_w z = {0};
    zip_add(&z, "gzip/deflated.bin", a, 70000, 1);
    zip_add(&z, "gzip/stored.bin", b, 1234, 0);
    wbuf zip = {0};
    zip_finish(&z, &zip);
    char path[512];
    test_path(td, "a.zip", path, sizeof path);
    assert_int_equal(test_write(path, zip.p, zip.len), 0);
    uint8_t *out;
    size_t len;
    fedc_error err = {{0}};
    assert_int_equal(data_zip_extract_file(path, "gzip/deflated.bin", 1 << 20, &out, &len, &err), 0);
    assert_int_equal(len, 70000);
    assert_memory_equal(out, a, 70000);
    free(out);
    assert_int_equal(data_zip_extract_file(path, "gzip/stored.bin", 1 << 20, &out, &len, &err), 0);
    assert_int_equal(len, 1234);
    assert_memory_equal(out, b, 1234);
    free(out);
    assert_int_equal(data_zip_extract_file(path, "gzip/missing.bin", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "no member named gzip/missing.bin in the archive (2 members)");
    assert_int_equal(data_zip_extract_file(path, "gzip/deflated.bin", 1000, &out, &len, &err), -1);
    assert_msg_has(err.msg, "gzip/deflated.bin is 70000 bytes, more than the 1000-byte limit");
    /* In memory: a flipped data byte fails the CRC-32 of a stored member. */
    data_zip_src src;
    data_zip_mem mem;
    uint8_t *copy = malloc(zip.len);
    memcpy(copy, zip.p, zip.len);
    /* the stored member's data ends right before the central directory */
    size_t cd = (size_t)copy[zip.len - 6] | (size_t)copy[zip.len - 5] << 8 |
                (size_t)copy[zip.len - 4] << 16 | (size_t)copy[zip.len - 3] << 24;
    copy[cd - 1] ^= 0xFF;
    data_zip_src_mem(&src, &mem, copy, zip.len, "crc.zip");
    assert_int_equal(data_zip_extract(&src, "gzip/stored.bin", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "crc.zip: gzip/stored.bin: CRC-32");
    /* A download cut short has no end record. */
    data_zip_src_mem(&src, &mem, zip.p, zip.len - 30, "cut.zip");
    assert_int_equal(data_zip_extract(&src, "gzip/stored.bin", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "cut.zip: no end-of-central-directory record");
    /* Not a zip. */
    data_zip_src_mem(&src, &mem, a, 5000, "notzip");
    assert_int_equal(data_zip_extract(&src, "x", 1 << 20, &out, &len, &err), -1);
    assert_msg_has(err.msg, "notzip: no end-of-central-directory record: not a zip archive");
    free(copy);
    wb_free(&zip);
    free(a);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gunzip),
        cmocka_unit_test(test_tar),
        cmocka_unit_test(test_zip),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
