/* Internals of the task spec: one table describes every field (path, type,
 * storage, range, allowed values, description), and parsing, validation,
 * serialisation and the JSON Schema are all driven by it, so a field is
 * added in exactly one place. */
#ifndef FEDC_TASK_INTERNAL_H
#define FEDC_TASK_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fedc/task.h"

typedef enum {
    TASK_STRING, /* char[size], NUL-terminated */
    TASK_INT,    /* int */
    TASK_U64,    /* uint64_t, limited to what a JSON integer holds (<= INT64_MAX) */
    TASK_NUMBER, /* double */
    TASK_BOOL,   /* int, 0 or 1 */
} task_type;

typedef struct task_field {
    const char *path; /* "local.lr"; at most one dot */
    task_type type;
    size_t offset, size;
    double min, max;            /* TASK_INT / TASK_NUMBER bounds */
    int min_open, max_open;     /* 1 = bound is exclusive */
    size_t min_len;             /* TASK_STRING; the max is size - 1 */
    const char *const *choices; /* NULL-terminated allowed values, or NULL */
    const char *description;
} task_field;

typedef struct task_group {
    const char *name;
    const char *description;
} task_group;

extern const task_field task_fields[];
extern const int task_nfields;
extern const task_group task_groups[];
extern const int task_ngroups;
extern const char *const task_strategy_names[];
extern const char *const task_sched_policies[];
extern const char *const task_optimizers[];
extern const char *const task_server_optimizers[];
extern const char *const task_inits[];
extern const char *const task_partition_kinds[];
extern const char *const task_datasets[];
extern const char *const task_privacy_modes[];
extern const char *const task_aggregators[];
extern const char *const task_attack_kinds[];
extern const char *const task_privacy_exceed[];
extern const char *const task_secagg_modes[];

const task_field *task_field_find(const char *path);
const task_group *task_group_find(const char *name);
/* Keys allowed at a level (group NULL = top level), in table order, as
 * pointers to static strings; returns how many (at most max). */
int task_level_keys(const char *group, const char **out, int max);
/* The same keys, comma-separated. */
void task_allowed_keys(const char *group, char *out, size_t cap);
/* Closest of the first n candidates (or up to a NULL) to word: within
 * edit distance 2 (1 for words of up to 4 letters), else NULL. */
const char *task_closest(const char *word, const char *const *candidates, int n);

/* Collects problems, at most one per field path. With first_only it stops
 * after the first, which is what fedc_task_validate and friends report. */
#define TASK_MAX_ISSUES 200
typedef struct task_issues {
    fedc_task_issue *v;
    int n, cap;
    int first_only;
    int oom;
} task_issues;

/* Records "<path>: <message>" ("task: ..." for path ""), unless the path
 * already has one. Returns 0 to go on, -1 when the caller should stop
 * (first_only and one recorded, the cap reached, or out of memory). */
int task_issue(task_issues *iss, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int task_issue_v(task_issues *iss, const char *path, const char *fmt, va_list ap);
/* Records an issue like task_issue and returns -1: for checks that report
 * a refused value with `return task_refuse(...)`. */
int task_refuse(task_issues *iss, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int task_has_issue(const task_issues *iss, const char *path);
/* 1 if none of the paths (a NULL-terminated list) has an issue yet. */
int task_paths_ok(const task_issues *iss, const char *first, ...);
int task_issues_stopped(const task_issues *iss);
/* Copies the first issue into err and frees; returns 0 if there was none. */
int task_issues_finish(task_issues *iss, fedc_error *err);

/* Per-value checks shared by the JSON parser and the struct validator. Each
 * records an issue and returns -1 when the value is not allowed. */
int task_check_string(const task_field *f, const char *s, size_t len, task_issues *iss);
int task_check_number(const task_field *f, double v, task_issues *iss);
int task_check_integer(const task_field *f, long long v, task_issues *iss);
int task_check_u64(const task_field *f, uint64_t v, task_issues *iss);
/* "a number > 0 and <= 10", "an integer >= 1 and <= 100000", ... */
void task_describe_range(const task_field *f, char *out, size_t cap);
/* Shortest text that reads back as exactly v ("0.05", "1e-08", "nan"). */
void task_format_number(double v, char *out, size_t cap);
/* Compact JSON of v for messages, cut to about 80 characters. */
void task_format_json(const json_t *v, char *out, size_t cap);

/* Storage of a field inside a task. */
static inline void *task_field_ptr(fedc_task *t, const task_field *f) {
    return (char *)t + f->offset;
}
static inline const void *task_field_cptr(const fedc_task *t, const task_field *f) {
    return (const char *)t + f->offset;
}

/* Cross-field rules of strategy.aggregator and attack (task_robust.c). */
void task_check_robust(const fedc_task *t, task_issues *iss);
/* Every field check plus the cross-field rules. */
void task_validate_into(const fedc_task *t, task_issues *iss);
/* Reads a parsed JSON document over the defaults into t, then validates. */
void task_from_value(const json_t *root, fedc_task *t, task_issues *iss);
/* The task as a JSON object in table order; NULL when out of memory. */
json_t *task_to_value(const fedc_task *t);
/* Field-by-field equality (strings up to their NUL, numbers by value). */
int task_equal(const fedc_task *a, const fedc_task *b);

#endif
