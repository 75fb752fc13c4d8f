/* The issue collector behind every task check: the first-error API
 * (fedc_error) and the all-errors API (web form) share one code path. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"

int task_refuse(task_issues *iss, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    task_issue_v(iss, path, fmt, ap);
    va_end(ap);
    return -1;
}

int task_has_issue(const task_issues *iss, const char *path) {
    for (int i = 0; i < iss->n; i++)
        if (strncmp(iss->v[i].path, path, sizeof iss->v[i].path - 1) == 0) return 1;
    return 0;
}

int task_paths_ok(const task_issues *iss, const char *first, ...) {
    va_list ap;
    va_start(ap, first);
    int ok = 1;
    for (const char *p = first; p && ok; p = va_arg(ap, const char *)) ok = !task_has_issue(iss, p);
    va_end(ap);
    return ok;
}

int task_issues_stopped(const task_issues *iss) {
    return iss->oom || iss->n >= TASK_MAX_ISSUES || (iss->first_only && iss->n > 0);
}

/* Length of the valid UTF-8 sequence at s (s NUL-terminated), 0 if none. */
static size_t utf8_len(const unsigned char *s) {
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

/* Messages go to terminals, logs and JSON replies: keep them printable and
 * valid UTF-8 even when a lower layer echoed raw input bytes, or the
 * message was cut in the middle of a character. */
static void sanitize(char *msg) {
    unsigned char *s = (unsigned char *)msg;
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
            *s++ = '?';
            continue;
        }
        s += n;
    }
}

int task_issue_v(task_issues *iss, const char *path, const char *fmt, va_list ap) {
    if (task_issues_stopped(iss)) return -1;
    if (task_has_issue(iss, path)) return 0;
    if (iss->n == iss->cap) {
        int cap = iss->cap ? iss->cap * 2 : 4;
        fedc_task_issue *v = realloc(iss->v, (size_t)cap * sizeof *v);
        if (!v) {
            iss->oom = 1;
            return -1;
        }
        iss->v = v;
        iss->cap = cap;
    }
    fedc_task_issue *it = &iss->v[iss->n++];
    snprintf(it->path, sizeof it->path, "%s", path);
    int w = snprintf(it->msg, sizeof it->msg, "%s: ", path[0] ? path : "task");
    if (w < 0 || (size_t)w >= sizeof it->msg) w = 0;
    vsnprintf(it->msg + w, sizeof it->msg - (size_t)w, fmt, ap);
    sanitize(it->msg);
    sanitize(it->path);
    return task_issues_stopped(iss) ? -1 : 0;
}

int task_issue(task_issues *iss, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = task_issue_v(iss, path, fmt, ap);
    va_end(ap);
    return rc;
}

int task_issues_finish(task_issues *iss, fedc_error *err) {
    int rc = 0;
    if (iss->n > 0)
        rc = fedc_fail(err, "%s", iss->v[0].msg);
    else if (iss->oom)
        rc = fedc_fail(err, "task: out of memory while checking the task");
    free(iss->v);
    iss->v = NULL;
    iss->n = iss->cap = 0;
    return rc;
}
