/* Checks of one value against its field's rules, and the formatting of
 * values in messages, shared by the JSON parser and the struct validator so
 * both say exactly the same thing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"

void task_format_number(double v, char *out, size_t cap) {
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "inf" : "-inf");
        return;
    }
    /* 15 digits prints user-typed values as typed; more only when needed. */
    for (int p = 15; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v) return;
    }
}

void task_format_json(const json_t *v, char *out, size_t cap) {
    if (json_is_real(v)) {
        task_format_number(json_real_value(v), out, cap);
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *text = s ? s : "(unprintable value)";
    size_t max = cap - 1 < 80 ? cap - 1 : 80;
    size_t len = strlen(text);
    if (len <= max) {
        memcpy(out, text, len + 1);
    } else {
        /* Cut without splitting a UTF-8 sequence, and say so. */
        size_t n = max - 3;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
        memcpy(out, text, n);
        memcpy(out + n, "...", 4);
    }
    free(s);
}

void task_describe_range(const task_field *f, char *out, size_t cap) {
    char lo[32], hi[32];
    switch (f->type) {
    case TASK_INT:
        snprintf(out, cap, "an integer >= %.0f and <= %.0f", f->min, f->max);
        break;
    case TASK_U64:
        snprintf(out, cap, "an integer >= 0 and <= 9223372036854775807");
        break;
    case TASK_NUMBER:
        task_format_number(f->min, lo, sizeof lo);
        task_format_number(f->max, hi, sizeof hi);
        snprintf(out, cap, "a number %s %s and %s %s", f->min_open ? ">" : ">=", lo,
                 f->max_open ? "<" : "<=", hi);
        break;
    case TASK_BOOL:
        snprintf(out, cap, "true or false");
        break;
    case TASK_STRING:
        snprintf(out, cap, "a string of %zu to %zu bytes", f->min_len, f->size - 1);
        break;
    }
}

static int in_range(const task_field *f, double v) {
    int lo_ok = f->min_open ? v > f->min : v >= f->min;
    int hi_ok = f->max_open ? v < f->max : v <= f->max;
    return lo_ok && hi_ok; /* NaN fails both */
}

static int range_issue(const task_field *f, const char *value, task_issues *iss) {
    char allowed[128];
    task_describe_range(f, allowed, sizeof allowed);
    return task_refuse(iss, f->path, "%s is out of range; allowed: %s", value, allowed);
}

int task_check_number(const task_field *f, double v, task_issues *iss) {
    if (f->type == TASK_U64 ? (v >= 0 && v < 9223372036854775808.0) : in_range(f, v)) return 0;
    char text[40];
    task_format_number(v, text, sizeof text);
    return range_issue(f, text, iss);
}

int task_check_integer(const task_field *f, long long v, task_issues *iss) {
    if (f->type == TASK_U64 ? v >= 0 : in_range(f, (double)v)) return 0;
    char text[32];
    snprintf(text, sizeof text, "%lld", v);
    return range_issue(f, text, iss);
}

int task_check_u64(const task_field *f, uint64_t v, task_issues *iss) {
    if (v <= (uint64_t)INT64_MAX) return 0;
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    return range_issue(f, text, iss);
}

static int is_choice(const task_field *f, const char *s, size_t len) {
    for (const char *const *c = f->choices; *c; c++)
        if (strlen(*c) == len && memcmp(*c, s, len) == 0) return 1;
    return 0;
}

static void list_choices(const task_field *f, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (const char *const *c = f->choices; *c; c++) {
        int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", *c);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
    }
}

int task_check_string(const task_field *f, const char *s, size_t len, task_issues *iss) {
    size_t max = f->size - 1;
    if (len > max)
        return task_refuse(iss, f->path, "too long (%zu bytes); allowed: at most %zu bytes", len,
                           max);
    /* A JSON string is valid UTF-8 already; a struct filled in by code may
     * not be, and then could not be written back as JSON. */
    json_t *as_json = json_stringn(s, len);
    if (!as_json) return task_refuse(iss, f->path, "not valid UTF-8 text");
    char shown[96];
    task_format_json(as_json, shown, sizeof shown);
    json_decref(as_json);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return task_refuse(iss, f->path,
                               "%s contains the control character 0x%02x at byte %zu; allowed: "
                               "printable text",
                               shown, ch, i);
    }
    if (f->choices) {
        if (is_choice(f, s, len)) return 0;
        char allowed[512]; /* strategy.name lists 30+ names */
        list_choices(f, allowed, sizeof allowed);
        if (len == 0) return task_refuse(iss, f->path, "must not be empty; allowed: %s", allowed);
        const char *near = task_closest(s, f->choices, 1 << 30);
        return task_refuse(iss, f->path, "%s is not allowed%s%s%s; allowed: %s", shown,
                           near ? " (did you mean " : "", near ? near : "", near ? "?)" : "",
                           allowed);
    }
    if (len < f->min_len) {
        if (f->min_len == 1) return task_refuse(iss, f->path, "must not be empty");
        return task_refuse(iss, f->path, "too short (%zu bytes); allowed: at least %zu bytes", len,
                           f->min_len);
    }
    return 0;
}
