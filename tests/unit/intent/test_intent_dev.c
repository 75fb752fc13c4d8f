/* The parser author's development set (tests/intent/dev.jsonl): requests
 * written while building the structural reader, in the styles strangers
 * use (terse, chatty, key=value, YAML-like lists, command-line flags,
 * typos, numbers in words, fractions, corrections), with questions where
 * two readings are plausible. It guards what the work taught; the figure
 * that counts is the held-out set's (bench/intent_heldout.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fedc/intent.h"

static void test_dev_set(void **state) {
    (void)state;
    const char *src = getenv("FEDC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/intent/dev.jsonl", src ? src : ".");
    fedc_intent_eval_report *r = malloc(sizeof *r);
    assert_non_null(r);
    fedc_error err;
    if (fedc_intent_eval_file(path, FEDC_INTENT_BACKEND_BUILTIN, NULL, stderr, r, &err) != 0) fail_msg("%s", err.msg);
    fedc_intent_eval_print(stdout, r);
    assert_true(r->n >= 150);
    assert_true(r->exact * 100 >= 97 * r->n);
    assert_true(r->silently_wrong * 100 <= r->n);
    assert_int_equal(r->unclear, 0);
    assert_true(r->expected_questions >= 10);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_dev_set)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
