#include "fedc/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fedc_fail(fedc_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int fedc_fail_prefix(fedc_error *err, const char *fmt, ...) {
    if (err) {
        char prefix[FEDC_ERROR_MAX], old[FEDC_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        size_t n = strlen(prefix);
        if (n >= sizeof err->msg) n = sizeof err->msg - 1;
        memcpy(err->msg, prefix, n);
        size_t rest = strnlen(old, sizeof old - 1);
        if (rest > sizeof err->msg - 1 - n) rest = sizeof err->msg - 1 - n;
        memcpy(err->msg + n, old, rest);
        err->msg[n + rest] = 0;
    }
    return -1;
}
