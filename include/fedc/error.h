/* Error reporting: functions that can fail take a fedc_error* (may be NULL)
 * and return -1 (or NULL) after filling it with a message that names the
 * input, the field and what was wrong. */
#ifndef FEDC_ERROR_H
#define FEDC_ERROR_H

#include "fedc/export.h"

#define FEDC_ERROR_MAX 1024

typedef struct fedc_error {
    char msg[FEDC_ERROR_MAX];
} fedc_error;

/* Formats the message into err (if non-NULL) and returns -1, so callers can
 * write `return fedc_fail(err, "...", ...);`. */
FEDC_API int fedc_fail(fedc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message, e.g. with the file name: "f.idx: <msg>". */
FEDC_API int fedc_fail_prefix(fedc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
