#include "cli/num_args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int fedc_cli_long(const char *cmd, const char *opt, const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end) {
        fprintf(stderr, "fedc %s: %s \"%s\": not an integer; allowed: %ld to %ld\n", cmd, opt, text, lo, hi);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "fedc %s: %s %s: out of range; allowed: %ld to %ld\n", cmd, opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int fedc_cli_int(const char *cmd, const char *opt, const char *text, long lo, long hi, int *out) {
    long v;
    if (fedc_cli_long(cmd, opt, text, lo, hi, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

int fedc_cli_u64(const char *cmd, const char *opt, const char *text, uint64_t hi, uint64_t *out) {
    char *end;
    errno = 0;
    /* strtoull accepts a sign ("-1" wraps around): refuse it first. */
    const char *p = text;
    while (*p == ' ' || *p == '\t') p++;
    unsigned long long v = *p == '-' || *p == '+' ? 0 : strtoull(text, &end, 10);
    if (*p == '-' || *p == '+' || end == text || *end) {
        fprintf(stderr, "fedc %s: %s \"%s\": not a whole number; allowed: 0 to %llu\n", cmd, opt, text,
                (unsigned long long)hi);
        return -1;
    }
    if (errno == ERANGE || v > hi) {
        fprintf(stderr, "fedc %s: %s %s: out of range; allowed: 0 to %llu\n", cmd, opt, text, (unsigned long long)hi);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int fedc_cli_double(const char *cmd, const char *opt, const char *text, double lo, int lo_open, double hi,
                    double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v)) {
        fprintf(stderr, "fedc %s: %s \"%s\": not a number; allowed: %s %g and <= %g\n", cmd, opt, text,
                lo_open ? ">" : ">=", lo, hi);
        return -1;
    }
    if (errno == ERANGE || (lo_open ? !(v > lo) : !(v >= lo)) || v > hi) {
        fprintf(stderr, "fedc %s: %s %s: out of range; allowed: %s %g and <= %g\n", cmd, opt, text,
                lo_open ? ">" : ">=", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}
