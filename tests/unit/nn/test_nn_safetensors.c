/* safetensors: round trip, cross-check with an independent Python reader,
 * and hostile files (every bad length, offset, type and value refused with
 * a message naming it, and the destination left untouched). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/nn.h"

static char tmpdir[64];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fedc_nn_st_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in_tmp(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static float *init_params(const fedc_arch *a, uint64_t seed) {
    float *p = malloc(fedc_arch_nparams(a) * sizeof *p);
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_arch_init(a, p, &r);
    for (size_t i = 0; i < fedc_arch_nparams(a); i++) p[i] += 0.01f * (float)i / 7.0f; /* non-zero biases */
    return p;
}

static void test_round_trip_with_metadata(void **state) {
    (void)state;
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("conv:4:3,gn:2,pool:2,dense:5", (fedc_shape){2, 6, 6}, 5, &err);
    assert_non_null(a);
    float *p = init_params(a, 1), *q = calloc(fedc_arch_nparams(a), sizeof *q);
    char path[128];
    path_in_tmp(path, sizeof path, "small.safetensors");
    const char *meta[] = {"round", "3", "note", "hello \"world\""};
    assert_int_equal(fedc_safetensors_save(path, a, p, meta, 2, &err), 0);
    assert_int_equal(fedc_safetensors_load(path, a, q, &err), 0);
    assert_memory_equal(p, q, fedc_arch_nparams(a) * sizeof *p);
    /* Layout: 8-byte length, header padded to 8, then the parameter vector. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char lenbuf[8];
    assert_int_equal(fread(lenbuf, 1, 8, f), 8);
    fclose(f);
    size_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (size_t)lenbuf[i] << (8 * i);
    assert_int_equal(hlen % 8, 0);
    assert_int_equal((size_t)size, 8 + hlen + fedc_arch_nparams(a) * sizeof(float));
    /* Reserved keys and bad arguments are refused. */
    const char *bad[] = {"arch", "x"};
    assert_int_equal(fedc_safetensors_save(path, a, p, bad, 1, &err), -1);
    assert_non_null(strstr(err.msg, "reserved"));
    char nodir[160];
    path_in_tmp(nodir, sizeof nodir, "missing/dir/m.safetensors");
    assert_int_equal(fedc_safetensors_save(nodir, a, p, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "missing/dir/m.safetensors"));
    free(p);
    free(q);
    fedc_arch_free(a);
}

static const char *source_dir(void) {
    const char *s = getenv("FEDC_SOURCE_DIR");
    if (s) return s;
    /* Outside ctest: derive the tree from this file's path. */
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *cut = strstr(dir, "/tests/unit/nn/");
    if (cut) *cut = '\0';
    return dir;
}

/* Saves a model, runs the Python reader on it and compares names, shapes,
 * metadata and per-tensor sums. */
static void cross_check(const char *spec, fedc_shape in, int classes) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(spec, in, classes, &err);
    assert_non_null(a);
    float *p = init_params(a, 2);
    char path[128], out[160], cmd[1200];
    path_in_tmp(path, sizeof path, "cross.safetensors");
    path_in_tmp(out, sizeof out, "cross.txt");
    const char *meta[] = {"client", "17"};
    assert_int_equal(fedc_safetensors_save(path, a, p, meta, 1, &err), 0);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/tools/safetensors_reader.py %s > %s", source_dir(),
             path, out);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[512];
    int tensors = 0, saw_arch = 0, saw_client = 0, saw_format = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], name[64], dtype[8], dims[64], value[400];
        if (sscanf(line, "meta %63s %399[^\n]", name, value) == 2) {
            saw_arch += strcmp(name, "arch") == 0 && strcmp(value, fedc_arch_spec(a)) == 0;
            saw_client += strcmp(name, "client") == 0 && strcmp(value, "17") == 0;
            saw_format += strcmp(name, "format") == 0 && strcmp(value, "fedc") == 0;
            continue;
        }
        double sum;
        assert_int_equal(sscanf(line, "%15s %63s %7s %63s %lf", kind, name, dtype, dims, &sum), 5);
        assert_string_equal(kind, "tensor");
        fedc_tensor_info t = fedc_arch_tensor(a, tensors++);
        assert_string_equal(name, t.name);
        assert_string_equal(dtype, "F32");
        char want[64] = "";
        for (int d = 0; d < t.ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), d ? "x%d" : "%d", t.dims[d]);
        assert_string_equal(dims, want);
        double ref = 0.0, mag = 0.0;
        for (size_t j = 0; j < t.count; j++) {
            ref += p[t.offset + j];
            mag += fabs(p[t.offset + j]);
        }
        if (fabs(sum - ref) > 1e-9 * (1.0 + mag)) fail_msg("%s: python sum %.17g, C sum %.17g", name, sum, ref);
    }
    fclose(f);
    assert_int_equal(tensors, fedc_arch_ntensors(a));
    assert_int_equal(saw_arch + saw_client + saw_format, 3);
    free(p);
    fedc_arch_free(a);
}

static void test_python_reader_agrees(void **state) {
    (void)state;
    cross_check("conv:4:3,gn:2,pool:2,dense:5", (fedc_shape){2, 6, 6}, 5);
    cross_check("cnn", (fedc_shape){1, 28, 28}, 10);
}

/* ---- hostile files for the arch "dense:2" on 3 inputs: weight [2,3] + bias [2] ---- */

static fedc_arch *tiny(void) {
    return fedc_arch_parse("dense:2", (fedc_shape){1, 1, 3}, 2, NULL);
}

static size_t build(unsigned char *buf, const char *header, size_t declared_hlen, const float *data,
                    size_t data_bytes) {
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)declared_hlen >> (8 * i));
    memcpy(buf + 8, header, h);
    memcpy(buf + 8 + h, data, data_bytes);
    return 8 + h + data_bytes;
}

#define W_OK_ "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
#define B_OK_ "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}"

/* Loads header+data from memory and from a file; both must agree. */
static int load_both(const fedc_arch *a, const char *header, long declared, const float *data,
                     size_t data_bytes, float *params, fedc_error *err) {
    unsigned char buf[2048];
    size_t hlen = declared >= 0 ? (size_t)declared : strlen(header);
    size_t n = build(buf, header, hlen, data, data_bytes);
    float before[8];
    memcpy(before, params, sizeof before);
    int rc_mem = fedc_safetensors_load_mem(buf, n, "mem", a, params, err);
    if (rc_mem < 0) assert_memory_equal(before, params, sizeof before);
    char path[128];
    path_in_tmp(path, sizeof path, "hostile.safetensors");
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    fedc_error ferr;
    int rc_file = fedc_safetensors_load(path, a, params, &ferr);
    assert_int_equal(rc_mem, rc_file);
    if (rc_file < 0) assert_memory_equal(before, params, sizeof before);
    return rc_mem;
}

static void expect_refused(const fedc_arch *a, const char *header, long declared, size_t data_bytes,
                           const char *needle) {
    float data[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, params[8];
    for (int i = 0; i < 8; i++) params[i] = -1.0f;
    fedc_error err = {{0}};
    if (load_both(a, header, declared, data, data_bytes, params, &err) == 0)
        fail_msg("accepted a bad file: %s", header);
    if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    if (!strstr(err.msg, "mem")) fail_msg("message \"%s\" does not name the input", err.msg);
}

static void test_foreign_but_valid_files_load(void **state) {
    (void)state;
    fedc_arch *a = tiny();
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8}, params[8] = {0};
    fedc_error err;
    /* No metadata, tensors in another order, unpadded header. */
    assert_int_equal(load_both(a, "{" B_OK_ "," W_OK_ "}", -1, data, 32, params, &err), 0);
    assert_memory_equal(params, data, sizeof data);
    /* Bias stored first in the data section. */
    const char *swapped = "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
                          "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    assert_int_equal(load_both(a, swapped, -1, data, 32, params, &err), 0);
    const float want[8] = {3, 4, 5, 6, 7, 8, 1, 2};
    assert_memory_equal(params, want, sizeof want);
    fedc_arch_free(a);
}

static void test_hostile_lengths_and_json(void **state) {
    (void)state;
    fedc_arch *a = tiny();
    const char *ok = "{" W_OK_ "," B_OK_ "}";
    expect_refused(a, ok, 1L << 40, 32, "header length");
    expect_refused(a, ok, (long)strlen(ok) + 40, 32, "header length");
    expect_refused(a, ok, 0, 32, "header length");
    expect_refused(a, ok, (long)strlen(ok) - 1, 32, "JSON invalid");
    expect_refused(a, "[1,2,3]", -1, 32, "must be a JSON object");
    expect_refused(a, "{\"a\":1,\"a\":2}", -1, 32, "JSON invalid");
    expect_refused(a, "{" W_OK_ "," W_OK_ "," B_OK_ "}", -1, 32, "JSON invalid"); /* duplicate */
    expect_refused(a, "{\"x\xff\":1}", -1, 32, "JSON invalid");
    expect_refused(a, "{" W_OK_ "," B_OK_ "}", -1, 36, "data section has 36 bytes");
    expect_refused(a, "{" W_OK_ "," B_OK_ "}", -1, 28, "data_offsets [24, 32]");
    fedc_arch_free(a);
}

static void test_hostile_tensor_entries(void **state) {
    (void)state;
    fedc_arch *a = tiny();
    expect_refused(a, "{" W_OK_ "}", -1, 32, "\"layers.0.bias\" is missing");
    expect_refused(a, "{" W_OK_ "," B_OK_ ",\"layers.9.weight\":{}}", -1, 32, "unexpected tensor \"layers.9.weight\"");
    expect_refused(a, "{" W_OK_ ",\"layers.0.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,32]}}", -1,
                   32, "dtype \"F16\"");
    expect_refused(a, "{" W_OK_ ",\"layers.0.bias\":{\"shape\":[2],\"data_offsets\":[24,32]}}", -1, 32,
                   "dtype missing");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B_OK_ "}",
                   -1, 32, "shape [3,2] but the arch expects [2,3]");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":\"2x3\",\"data_offsets\":[0,24]}," B_OK_ "}",
                   -1, 32, "shape");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}," B_OK_ "}",
                   -1, 32, "data_offsets [0, 20]");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-8,16]}," B_OK_ "}",
                   -1, 32, "data_offsets [-8, 16]");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0.0,24]}," B_OK_ "}",
                   -1, 32, "must be [begin, end] integers");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3]}," B_OK_ "}", -1, 32,
                   "must be [begin, end] integers");
    expect_refused(a, "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}," B_OK_ "}",
                   -1, 32, "overlap");
    expect_refused(a, "{\"layers.0.weight\":7," B_OK_ "}", -1, 32, "must be an object");
    fedc_arch_free(a);
}

static void test_hostile_metadata_and_values(void **state) {
    (void)state;
    fedc_arch *a = tiny();
    expect_refused(a, "{\"__metadata__\":{\"arch\":\"dense:3\"}," W_OK_ "," B_OK_ "}", -1, 32,
                   "saved for arch \"dense:3\"");
    expect_refused(a, "{\"__metadata__\":{\"round\":3}," W_OK_ "," B_OK_ "}", -1, 32, "\"round\" is not a string");
    expect_refused(a, "{\"__metadata__\":[]," W_OK_ "," B_OK_ "}", -1, 32, "__metadata__");
    /* A NaN in the data. */
    float data[8] = {1, 2, 3, NAN, 5, 6, 7, 8}, params[8] = {0};
    fedc_error err;
    assert_int_equal(load_both(a, "{" W_OK_ "," B_OK_ "}", -1, data, 32, params, &err), -1);
    assert_non_null(strstr(err.msg, "\"layers.0.weight\" element 3"));
    /* Short inputs and missing files. */
    assert_int_equal(fedc_safetensors_load_mem("abc", 3, "mem", a, params, &err), -1);
    assert_non_null(strstr(err.msg, "too short"));
    assert_int_equal(fedc_safetensors_load_mem(NULL, 0, NULL, a, params, &err), -1);
    assert_int_equal(fedc_safetensors_load("/nonexistent/fedc.safetensors", a, params, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/fedc.safetensors"));
    assert_int_equal(fedc_safetensors_load(tmpdir, a, params, &err), -1); /* a directory */
    fedc_arch_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_with_metadata),
        cmocka_unit_test(test_python_reader_agrees),
        cmocka_unit_test(test_foreign_but_valid_files_load),
        cmocka_unit_test(test_hostile_lengths_and_json),
        cmocka_unit_test(test_hostile_tensor_entries),
        cmocka_unit_test(test_hostile_metadata_and_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
