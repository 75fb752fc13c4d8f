/* fedc_task_set: "path=value" overrides (CLI --set, tuner, intent parser).
 * The task is turned into its JSON document, the value put at the path, and
 * the document read back, so an override meets exactly the checks a JSON
 * file meets, with the same messages. */
#include <stdio.h>
#include <string.h>

#include "fl/task/task_internal.h"

#define SET_PATH_MAX 128

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Value of the assignment: JSON when it parses as JSON (for a string field:
 * when it is a JSON string), else the bare text, trimmed. So "model=cnn",
 * "rounds=10", "name=2024" and "local={\"lr\":0.1}" all do what they say. */
static json_t *read_value(const task_field *f, const char *text, size_t len) {
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    /* model.manifest is stored as text but written as a JSON array. */
    if (v && (!f || f->type != TASK_STRING || json_is_string(v) || !strcmp(f->path, "model.manifest"))) return v;
    json_decref(v);
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1])) len--;
    return json_stringn(text, len); /* NULL when not UTF-8 */
}

/* Puts value at the dotted path inside root, creating missing objects (so
 * an unknown group is then reported as an unknown field). An object value
 * is merged into an existing object. Takes the reference to value. */
static int put_at_path(json_t *root, char *path, json_t *value, fedc_error *err) {
    json_t *cur = root;
    char *seg = path;
    char *dot;
    while ((dot = strchr(seg, '.'))) {
        *dot = '\0';
        json_t *child = json_object_get(cur, seg);
        if (cur == root && !strcmp(seg, "model") && json_is_string(child)) {
            /* model.manifest=...: the model string becomes {"name": ...}. */
            json_t *obj = json_pack("{s:O}", "name", child);
            if (!obj || json_object_set_new(cur, seg, obj) != 0) goto oom;
            child = json_object_get(cur, seg);
        }
        if (!child) {
            child = json_object();
            if (json_object_set_new(cur, seg, child) != 0) goto oom;
        } else if (!json_is_object(child)) {
            *dot = '.';
            json_decref(value);
            return fedc_fail(err, "%s: unknown field; %.*s has no sub-fields", path,
                             (int)(dot - path), path);
        }
        *dot = '.';
        cur = child;
        seg = dot + 1;
    }
    json_t *existing = json_object_get(cur, seg);
    int rc = (existing && json_is_object(existing) && json_is_object(value))
                 ? json_object_update_recursive(existing, value)
                 : json_object_set(cur, seg, value);
    json_decref(value);
    if (rc != 0) return fedc_fail(err, "%s: out of memory", path);
    return 0;
oom:
    json_decref(value);
    return fedc_fail(err, "%s: out of memory", path);
}

/* Splits one assignment and puts its value into the task document. */
static int apply(json_t *root, const char *assignment, fedc_error *err) {
    if (!assignment) return fedc_fail(err, "set: no assignment given; expected path=value");
    size_t alen = strnlen(assignment, (size_t)FEDC_TASK_JSON_MAX + 1);
    if (alen > FEDC_TASK_JSON_MAX)
        return fedc_fail(err, "set: assignment longer than %d bytes", FEDC_TASK_JSON_MAX);
    const char *eq = memchr(assignment, '=', alen);
    if (!eq)
        return fedc_fail(err,
                         "set: \"%.60s%s\" has no '='; expected path=value, e.g. local.lr=0.01 or "
                         "model=cnn",
                         assignment, alen > 60 ? "..." : "");

    const char *ps = assignment, *pe = eq;
    while (ps < pe && is_space(*ps)) ps++;
    while (pe > ps && is_space(pe[-1])) pe--;
    size_t plen = (size_t)(pe - ps);
    if (plen == 0)
        return fedc_fail(err, "set: empty path before '='; expected path=value, e.g. rounds=10");
    if (plen >= SET_PATH_MAX)
        return fedc_fail(err, "set: path of %zu bytes; allowed: at most %d bytes", plen,
                         SET_PATH_MAX - 1);
    char path[SET_PATH_MAX];
    memcpy(path, ps, plen);
    path[plen] = '\0';
    if (path[0] == '.' || path[plen - 1] == '.' || strstr(path, ".."))
        return fedc_fail(err, "set: \"%s\" has an empty path segment; expected e.g. local.lr",
                         path);

    const char *text = eq + 1;
    json_t *value = read_value(task_field_find(path), text, alen - (size_t)(text - assignment));
    if (!value) return fedc_fail(err, "%s: value is not valid UTF-8 text", path);
    return put_at_path(root, path, value, err);
}

int fedc_task_set_many(fedc_task *t, const char *const *assignments, int n, fedc_error *err) {
    json_t *root = task_to_value(t);
    if (!root) return fedc_fail(err, "set: out of memory");
    for (int i = 0; i < n; i++) {
        if (apply(root, assignments[i], err) != 0) {
            json_decref(root);
            return -1;
        }
    }
    task_issues iss = {.first_only = 1};
    fedc_task updated;
    task_from_value(root, &updated, &iss);
    json_decref(root);
    if (iss.n == 0 && !iss.oom) *t = updated;
    return task_issues_finish(&iss, err);
}

int fedc_task_set(fedc_task *t, const char *assignment, fedc_error *err) {
    return fedc_task_set_many(t, &assignment, 1, err);
}
