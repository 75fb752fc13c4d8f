/* Helpers shared by the task spec tests. */
#ifndef FEDC_TASK_TEST_UTIL_H
#define FEDC_TASK_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/task.h"
#include "fl/task/task_internal.h"

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *hay_ = (hay), *needle_ = (needle);                                             \
        if (!strstr(hay_, needle_)) fail_msg("expected \"%s\" in \"%s\"", needle_, hay_);          \
    } while (0)

#define assert_starts_with(s, prefix)                                                              \
    do {                                                                                           \
        const char *s_ = (s), *p_ = (prefix);                                                      \
        if (strncmp(s_, p_, strlen(p_)) != 0)                                                      \
            fail_msg("expected \"%s\" to start with \"%s\"", s_, p_);                              \
    } while (0)

/* Parses json, failing the test with the message if it does not parse. */
static inline fedc_task task_parse_ok(const char *json) {
    fedc_task t;
    fedc_error err = {{0}};
    if (fedc_task_from_json(json, strlen(json), &t, &err) != 0)
        fail_msg("expected %s to parse, got: %s", json, err.msg);
    return t;
}

/* Parses json expecting an error; returns the message (in a static buffer). */
static inline const char *task_parse_err(const char *json) {
    static fedc_error err;
    fedc_task t;
    memset(&err, 0, sizeof err);
    if (fedc_task_from_json(json, strlen(json), &t, &err) == 0)
        fail_msg("expected %s to be refused", json);
    return err.msg;
}

#endif
