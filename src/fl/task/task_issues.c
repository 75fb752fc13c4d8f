/* The issue collector behind every task check: the first-error API
 * (fedc_error) and the all-errors API (web form) share one code path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"

int task_has_issue(const task_issues *iss, const char *path) {
    for (int i = 0; i < iss->n; i++)
        if (strncmp(iss->v[i].path, path, sizeof iss->v[i].path - 1) == 0) return 1;
    return 0;
}

int task_issues_stopped(const task_issues *iss) {
    return iss->oom || iss->n >= TASK_MAX_ISSUES || (iss->first_only && iss->n > 0);
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
