/* Heterogeneity profiles: "none", "lognormal" with its documented
 * parameters, and CSV traces (valid forms, availability windows, and a
 * precise source:line:column error for each kind of bad input). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/sched.h"

static fedc_client_info apply(const fedc_profile *p, int k, int round) {
    fedc_client_info info;
    memset(&info, 0, sizeof info);
    info.available = -7; /* must be overwritten */
    fedc_profile_apply(p, k, round, &info);
    return info;
}

static void test_none_profile_is_homogeneous_and_always_available(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_profile *p = fedc_profile_create("none", 5, 1, &err);
    assert_non_null(p);
    for (int k = 0; k < 5; k++) {
        fedc_client_info i = apply(p, k, 3 * k);
        assert_true(i.samples_per_s == 2000 && i.up_bps == 10e6 && i.down_bps == 50e6);
        assert_int_equal(i.available, 1);
    }
    assert_int_equal(apply(p, 5, 0).available, 0); /* not a client of the profile */
    assert_int_equal(apply(p, -1, 0).available, 0);
    fedc_profile_free(p);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_lognormal_profile_parameters(void **state) {
    (void)state;
    enum { N = 2000, ROUNDS = 200 };
    fedc_error err = {{0}};
    fedc_profile *p = fedc_profile_create("lognormal", N, 42, &err);
    assert_non_null(p);
    static double sps[N], up[N], down[N];
    int very_slow = 0, ever_offline = 0;
    double offline_rounds = 0;
    for (int k = 0; k < N; k++) {
        fedc_client_info i = apply(p, k, 0);
        sps[k] = i.samples_per_s, up[k] = i.up_bps, down[k] = i.down_bps;
        assert_true(sps[k] > 0 && up[k] > 0 && down[k] > 0);
        very_slow += sps[k] < 400; /* 5x below the median */
        int off = 0, prev = -1;
        for (int r = 0; r < ROUNDS; r++) {
            int a = apply(p, k, r).available;
            assert_true(a == 0 || a == 1);
            /* Outages come in blocks of 5 rounds. */
            if (r % 5) assert_int_equal(a, prev);
            prev = a;
            off += !a;
        }
        ever_offline += off > 0;
        offline_rounds += off;
    }
    /* Exactly 10% intermittent; they are offline about half the rounds. */
    assert_int_equal(ever_offline, N / 10);
    assert_true(fabs(offline_rounds / (ever_offline * ROUNDS) - 0.5) < 0.03);
    /* 10% are 10x slower: below 400 samples/s are ~92% of the slow tenth
     * and almost none of the others (sigma 0.5 puts 400 at -3.2 sd). */
    assert_true(very_slow > N / 10 * 0.8 && very_slow < N / 10 * 1.05);
    /* Medians: the slow tenth pulls them down only slightly. */
    qsort(sps, N, sizeof *sps, cmp_double);
    qsort(up, N, sizeof *up, cmp_double);
    qsort(down, N, sizeof *down, cmp_double);
    assert_true(sps[N / 2] > 1600 && sps[N / 2] < 2100);
    assert_true(up[N / 2] > 7e6 && up[N / 2] < 10.5e6);
    assert_true(down[N / 2] > 35e6 && down[N / 2] < 52e6);
    /* Spread: sigma 0.75 on links gives a wide 10-90% range. */
    assert_true(up[N * 9 / 10] / up[N / 10] > 5);

    /* Deterministic by seed; another seed gives another profile. */
    fedc_profile *same = fedc_profile_create("lognormal", N, 42, &err);
    fedc_profile *other = fedc_profile_create("lognormal", N, 43, &err);
    int differ = 0;
    for (int k = 0; k < N; k++) {
        fedc_client_info a = apply(p, k, 7), b = apply(same, k, 7), c = apply(other, k, 7);
        assert_true(a.samples_per_s == b.samples_per_s && a.up_bps == b.up_bps &&
                    a.available == b.available);
        differ += a.samples_per_s != c.samples_per_s;
    }
    assert_true(differ > N / 2);
    fedc_profile_free(same);
    fedc_profile_free(other);
    fedc_profile_free(p);

    /* Even a small run has a slow client and a flaky one. */
    p = fedc_profile_create("lognormal", 10, 1, &err);
    int flaky = 0;
    for (int k = 0; k < 10; k++) {
        int off = 0;
        for (int r = 0; r < 100; r++) off += !apply(p, k, r).available;
        flaky += off > 0;
    }
    assert_int_equal(flaky, 1);
    fedc_profile_free(p);
}

static fedc_profile *csv(const char *text, int n, fedc_error *err) {
    return fedc_profile_from_csv(text, strlen(text), "t.csv", n, err);
}

static void test_csv_trace_valid_forms(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_profile *p = csv("client,samples_per_s,up_bps,down_bps,avail\n"
                          "1, 500 ,2e6,8e6,0-9;20-29\r\n"
                          "\n"
                          "0,1500.5,1e7,5e7,\n"
                          "2,100,1e6,1e6,7\n"
                          "9,1,1,1,\n", /* beyond the run: checked, ignored */
                          3, &err);
    if (!p) fail_msg("%s", err.msg);
    fedc_client_info i = apply(p, 0, 123456);
    assert_true(i.samples_per_s == 1500.5 && i.up_bps == 1e7 && i.down_bps == 5e7);
    assert_int_equal(i.available, 1); /* empty avail: always */
    i = apply(p, 1, 0);
    assert_true(i.samples_per_s == 500 && i.up_bps == 2e6);
    const int expect1[][2] = {{0, 1},  {9, 1},  {10, 0}, {19, 0},
                              {20, 1}, {29, 1}, {30, 0}, {1000, 0}};
    for (size_t t = 0; t < 8; t++)
        assert_int_equal(apply(p, 1, expect1[t][0]).available, expect1[t][1]);
    assert_int_equal(apply(p, 2, 6).available, 0);
    assert_int_equal(apply(p, 2, 7).available, 1);
    assert_int_equal(apply(p, 2, 8).available, 0);
    assert_int_equal(apply(p, 3, 0).available, 0);
    fedc_profile_free(p);

    /* Four columns, a UTF-8 byte order mark, no final newline. */
    p = csv("\xEF\xBB\xBF"
            "client,samples_per_s,up_bps,down_bps\n1,2,3,4\n0,5,6,7",
            2, &err);
    if (!p) fail_msg("%s", err.msg);
    assert_true(apply(p, 1, 0).samples_per_s == 2 && apply(p, 0, 0).down_bps == 7);
    assert_int_equal(apply(p, 1, 99).available, 1);
    fedc_profile_free(p);
}

static void expect_csv_error(const char *text, int n, const char *fragment) {
    fedc_error err = {{0}};
    fedc_profile *p = csv(text, n, &err);
    if (p) fail_msg("accepted: %s", text);
    if (!strstr(err.msg, fragment)) fail_msg("error '%s' lacks '%s'", err.msg, fragment);
}

#define H "client,samples_per_s,up_bps,down_bps,avail\n"

static void test_csv_trace_errors_name_line_and_column(void **state) {
    (void)state;
    expect_csv_error("", 1, "t.csv: file is empty; expected the header client,samples_per_s");
    expect_csv_error(H, 1, "t.csv: no client rows after the header");
    expect_csv_error("client,speed,up,down\n0,1,1,1\n", 1,
                     "t.csv:1: header is 'client,speed,up,down'; expected");
    expect_csv_error("\n" H "0,1,1,1,\n", 1, "t.csv:1: header is ''");
    expect_csv_error(H "0,1,1,1\n", 1, "t.csv:2: 4 fields; the header has 5");
    expect_csv_error(H "0,1,1,1,,\n", 1, "t.csv:2: 6 fields");
    expect_csv_error(H "x,1,1,1,\n", 1,
                     "t.csv:2:1: client 'x' is not an integer from 0 to 9999999");
    expect_csv_error(H "-1,1,1,1,\n", 1, "client '-1' is not an integer");
    expect_csv_error(H "12345678,1,1,1,\n", 1, "client '12345678' is not an integer");
    expect_csv_error(H "0,abc,1,1,\n", 1,
                     "t.csv:2:3: samples_per_s 'abc' is not a number; allowed: > 0");
    expect_csv_error(H "0,  0,1,1,\n", 1, "t.csv:2:5: samples_per_s '0' is out of range");
    expect_csv_error(H "0,-3,1,1,\n", 1, "samples_per_s '-3' is out of range");
    expect_csv_error(H "0,1e13,1,1,\n", 1,
                     "samples_per_s '1e13' is out of range; allowed: > 0 and <= 1e+12");
    expect_csv_error(H "0,1e999,1,1,\n", 1, "samples_per_s '1e999' is out of range");
    expect_csv_error(H "0,inf,1,1,\n", 1, "samples_per_s 'inf' is not a number");
    expect_csv_error(H "0,1,,1,\n", 1, "t.csv:2:5: up_bps '' is not a number");
    expect_csv_error(H "0,1,1,1e16,\n", 1, "down_bps '1e16' is out of range");
    expect_csv_error(H "0,1,1,\"1\",\n", 1, "down_bps '\"1\"' is not a number");
    expect_csv_error(H "0,1,1,1,5-3\n", 1, "t.csv:2:9: avail window '5-3' ends before it starts");
    expect_csv_error(H "0,1,1,1,0-9;5-12\n", 1,
                     "t.csv:2:13: avail window '5-12' overlaps or precedes");
    expect_csv_error(H "0,1,1,1,0-9;9\n", 1, "avail window '9' overlaps");
    expect_csv_error(H "0,1,1,1,0-9;;20\n", 1, "t.csv:2:13: avail window '' is not 'a-b' or 'a'");
    expect_csv_error(H "0,1,1,1,0-9;\n", 1, "avail window '' is not");
    expect_csv_error(H "0,1,1,1,x\n", 1, "avail window 'x' is not");
    expect_csv_error(H "0,1,1,1,-5\n", 1, "avail window '-5' is not");
    expect_csv_error(H "0,1,1,1,3-\n", 1, "avail window '3-' is not");
    expect_csv_error(H "0,1,1,1,0-1000000001\n", 1, "rounds from 0 to 1000000000");
    expect_csv_error(H "0,1,1,1,\n1,1,1,1,\n0,2,2,2,\n", 2,
                     "t.csv:4:1: client 0 is already defined at line 2");
    expect_csv_error(H "0,1,1,1,\n2,1,1,1,\n", 3,
                     "t.csv: no row for client 1; the run has 3 clients");
    expect_csv_error(H "0,1,1,1,\n", 0, "0 clients; allowed 1 to");
    /* Non-printable bytes are shown as '?'. */
    expect_csv_error(H "0,1\x01,1,1,\n", 1, "samples_per_s '1?' is not a number");
    fedc_error err = {{0}};
    assert_null(fedc_profile_from_csv("\0\0\0", 3, "t.csv", 1, &err));
    assert_non_null(strstr(err.msg, "t.csv:1: header is '?\?\?'"));
}

static void test_profile_from_file_and_spec_errors(void **state) {
    (void)state;
    char path[] = "/tmp/fedc_trace_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text =
        "client,samples_per_s,up_bps,down_bps,avail\n0,100,1e6,2e6,0-4\n1,200,3e6,4e6,\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fedc_error err = {{0}};
    fedc_profile *p = fedc_profile_create(path, 2, 0, &err);
    if (!p) fail_msg("%s", err.msg);
    assert_true(apply(p, 1, 0).samples_per_s == 200);
    assert_int_equal(apply(p, 0, 4).available, 1);
    assert_int_equal(apply(p, 0, 5).available, 0);
    fedc_profile_free(p);
    /* Errors name the file. */
    assert_null(fedc_profile_create(path, 3, 0, &err));
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "no row for client 2"));
    unlink(path);
    assert_null(fedc_profile_create(path, 2, 0, &err));
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_non_null(strstr(err.msg, "none, lognormal or the path of a CSV trace"));
    assert_null(fedc_profile_create("", 2, 0, &err));
    assert_non_null(strstr(err.msg, "profile is empty"));
    assert_null(fedc_profile_create(NULL, 2, 0, &err));
    assert_null(fedc_profile_create("lognormal", 0, 0, &err));
    assert_non_null(strstr(err.msg, "0 clients"));
    fedc_profile_apply(NULL, 0, 0, NULL); /* harmless */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_profile_is_homogeneous_and_always_available),
        cmocka_unit_test(test_lognormal_profile_parameters),
        cmocka_unit_test(test_csv_trace_valid_forms),
        cmocka_unit_test(test_csv_trace_errors_name_line_and_column),
        cmocka_unit_test(test_profile_from_file_and_spec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
