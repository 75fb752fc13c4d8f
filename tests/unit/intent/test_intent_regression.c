/* The regression set (tests/intent/regression.jsonl): requests written by
 * the parser's own author apart from the dataset generator's templates, and
 * used while the parser's rules were written, so it measures nothing about
 * unseen requests (tests/intent/heldout-2026-12.jsonl does: see
 * docs/intent.md). It guards what already works: the embedded parser must
 * get at least 95% of the task specs exactly right and answer every
 * request with a valid task or a refusal with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fedc/intent.h"

static void test_regression_targets(void **state) {
    (void)state;
    const char *src = getenv("FEDC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/intent/regression.jsonl", src ? src : ".");
    fedc_intent_eval_report *r = malloc(sizeof *r);
    assert_non_null(r);
    fedc_error err;
    if (fedc_intent_eval_file(path, FEDC_INTENT_BACKEND_BUILTIN, NULL, stderr, r, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
    fedc_intent_eval_print(stdout, r);
    assert_true(r->n >= 60);
    assert_true(r->exact * 100 >= 95 * r->n);
    assert_int_equal(r->unclear, 0);
    assert_int_equal(r->valid + r->refused_clearly, r->n);
    assert_true(r->expected_refusals >= 10);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_regression_targets)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
