/* Skipping a test whose dependency is missing, visibly: ctest reports the
 * program as "Skipped" (it exits with FEDC_TEST_SKIP_CODE, which CMake
 * registers as every test's SKIP_RETURN_CODE), never as passed.
 *
 *   static void test_x(void **state) {
 *       if (!have_it) { FEDC_TEST_SKIP("why"); }
 *       ...
 *   }
 *   int main(void) { ...; return fedc_test_exit(cmocka_run_group_tests(...)); }
 *
 * The other tests of the program still run; a failure anywhere wins over a
 * skip. scripts/test.sh (make test) fails when anything was skipped, because
 * `make test` installs every dependency on the supported platform. */
#ifndef FEDC_TEST_SKIP_H
#define FEDC_TEST_SKIP_H

#include <stdio.h>

#define FEDC_TEST_SKIP_CODE 77

static int fedc_test_skipped;

#define FEDC_TEST_SKIP(why)                             \
    do {                                                \
        print_message("SKIPPED: %s\n", (why));          \
        fedc_test_skipped++;                            \
        skip();                                         \
    } while (0)

/* main()'s exit status: cmocka's failure count, or the skip code when some
 * test was skipped and none failed. */
static inline int fedc_test_exit(int failed) {
    if (failed) return failed;
    return fedc_test_skipped ? FEDC_TEST_SKIP_CODE : 0;
}

#endif
