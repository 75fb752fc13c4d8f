/* Task <-> JSON. Reading walks the document against the field table (so an
 * unknown key, a wrong type or a bad value is reported with its path, in
 * document order) over the defaults, then runs the validator. Writing emits
 * every field in table order with numbers that read back exactly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/manifest.h"
#include "fl/task/task_internal.h"

/* ---- reading ---------------------------------------------------------- */

static void type_issue(task_issues *iss, const char *path, const char *expected, const json_t *v) {
    char shown[96];
    task_format_json(v, shown, sizeof shown);
    task_issue(iss, path, "expected %s, got %s", expected, shown);
}

static void parse_leaf(const task_field *f, const json_t *v, fedc_task *t, task_issues *iss) {
    void *p = task_field_ptr(t, f);
    switch (f->type) {
    case TASK_STRING: {
        if (!json_is_string(v)) {
            type_issue(iss, f->path, "a string", v);
            return;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (task_check_string(f, s, len, iss) != 0) return;
        memset(p, 0, f->size);
        memcpy(p, s, len);
        return;
    }
    case TASK_INT:
    case TASK_U64:
        if (json_is_integer(v)) {
            long long n = json_integer_value(v);
            if (task_check_integer(f, n, iss) != 0) return;
            if (f->type == TASK_INT)
                *(int *)p = (int)n;
            else
                *(uint64_t *)p = (uint64_t)n;
        } else if (json_is_real(v) && json_real_value(v) == trunc(json_real_value(v))) {
            /* 10.0 is an integer written by a tool that only has doubles. */
            double d = json_real_value(v);
            if (task_check_number(f, d, iss) != 0) return;
            if (f->type == TASK_INT)
                *(int *)p = (int)d;
            else
                *(uint64_t *)p = (uint64_t)d;
        } else {
            type_issue(iss, f->path, "an integer", v);
        }
        return;
    case TASK_NUMBER: {
        if (!json_is_number(v)) {
            type_issue(iss, f->path, "a number", v);
            return;
        }
        double d = json_number_value(v);
        if (task_check_number(f, d, iss) == 0) *(double *)p = d;
        return;
    }
    case TASK_BOOL:
        if (!json_is_boolean(v)) {
            type_issue(iss, f->path, "true or false", v);
            return;
        }
        *(int *)p = json_is_true(v);
        return;
    }
}

/* How a key is shown in a message: as is when it is a plain identifier,
 * else JSON-quoted; long keys are cut. */
static void show_key(const char *key, char *out, size_t cap) {
    size_t len = strlen(key);
    int plain = len > 0 && len <= 40;
    for (size_t i = 0; plain && i < len; i++)
        plain = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
                (key[i] >= '0' && key[i] <= '9') || key[i] == '_' || key[i] == '-';
    if (plain) {
        snprintf(out, cap, "%s", key);
        return;
    }
    json_t *s = json_string(key);
    task_format_json(s, out, cap < 48 ? cap : 48);
    json_decref(s);
}

static void unknown_issue(task_issues *iss, const char *group, const char *key) {
    char shown[64], path[128], allowed[512], hint[160] = "";
    show_key(key, shown, sizeof shown);
    snprintf(path, sizeof path, "%s%s%s", group ? group : "", group ? "." : "", shown);
    task_allowed_keys(group, allowed, sizeof allowed);

    const char *keys[128];
    int n = task_level_keys(group, keys, 128);
    const char *near = task_closest(key, keys, n);
    const char *dot = strchr(key, '.');
    if (near) {
        snprintf(hint, sizeof hint, " (did you mean %s%s%s?)", group ? group : "", group ? "." : "",
                 near);
    } else if (!group && dot && task_field_find(key)) {
        /* {"local.lr": 0.1}: the right field, written flat. */
        snprintf(hint, sizeof hint, " (nest it: {\"%.*s\": {\"%s\": ...}})", (int)(dot - key), key,
                 dot + 1);
    } else if (!group) {
        /* {"lr": 0.1}: a field that lives inside a group. */
        for (int i = 0; i < task_nfields; i++) {
            const char *d = strchr(task_fields[i].path, '.');
            if (d && strcmp(d + 1, key) == 0) {
                snprintf(hint, sizeof hint, " (did you mean %s?)", task_fields[i].path);
                break;
            }
        }
    }
    task_issue(iss, path, "unknown field%s; allowed: %s", hint, allowed);
}

/* model.manifest: a JSON array of tensors, stored as canonical text. */
static void parse_manifest(const task_field *f, const json_t *v, fedc_task *t, task_issues *iss) {
    if (!json_is_array(v)) {
        type_issue(iss, f->path, "an array of tensors ({\"name\", \"shape\", \"dtype\"})", v);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT);
    fedc_manifest m;
    fedc_error e;
    if (!text || fedc_manifest_parse(text, strlen(text), &m, &e) != 0) {
        task_issue(iss, f->path, "%s", text ? e.msg + (strncmp(e.msg, "manifest: ", 10) ? 0 : 10) : "out of memory");
        free(text);
        return;
    }
    free(text);
    char *canon = fedc_manifest_to_json(&m);
    fedc_manifest_free(&m);
    if (!canon) {
        task_issue(iss, f->path, "out of memory");
        return;
    }
    if (strlen(canon) >= f->size)
        task_issue(iss, f->path, "%zu bytes as canonical JSON; allowed: at most %zu", strlen(canon), f->size - 1);
    else
        snprintf((char *)task_field_ptr(t, f), f->size, "%s", canon);
    free(canon);
}

/* "model" is a string, or for external models {"name": ..., "manifest": [...]}. */
static void unknown_issue(task_issues *iss, const char *group, const char *key);
static void parse_model_object(json_t *obj, fedc_task *t, task_issues *iss) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (task_issues_stopped(iss)) return;
        if (!strcmp(key, "name"))
            parse_leaf(task_field_find("model"), v, t, iss);
        else if (!strcmp(key, "manifest"))
            parse_manifest(task_field_find("model.manifest"), v, t, iss);
        else
            task_issue(iss, "model", "unknown key \"%.40s\" in the model object; allowed: name, manifest", key);
    }
    if (!json_object_get(obj, "name")) task_issue(iss, "model", "the model object needs \"name\" (e.g. \"external\")");
}

static void parse_group(const char *group, json_t *obj, fedc_task *t, task_issues *iss) {
    if (!json_is_object(obj)) {
        type_issue(iss, group, "an object", obj);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (task_issues_stopped(iss)) return;
        char path[96];
        int w = snprintf(path, sizeof path, "%s.%s", group, key);
        const task_field *f =
            (w > 0 && (size_t)w < sizeof path && !strchr(key, '.')) ? task_field_find(path) : NULL;
        if (f)
            parse_leaf(f, v, t, iss);
        else
            unknown_issue(iss, group, key);
    }
}

void task_from_value(const json_t *root, fedc_task *t, task_issues *iss) {
    fedc_task_defaults(t);
    if (!json_is_object(root)) {
        type_issue(iss, "", "a JSON object", root);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        if (task_issues_stopped(iss)) return;
        const task_group *g = task_group_find(key);
        const task_field *f = strchr(key, '.') ? NULL : task_field_find(key);
        if (!strcmp(key, "model") && json_is_object(v))
            parse_model_object(v, t, iss);
        else if (g)
            parse_group(g->name, v, t, iss);
        else if (f)
            parse_leaf(f, v, t, iss);
        else
            unknown_issue(iss, NULL, key);
    }
    if (!task_issues_stopped(iss)) task_validate_into(t, iss);
}

static void parse_text(const char *json, size_t len, fedc_task *t, task_issues *iss) {
    fedc_task_defaults(t);
    if (!json) {
        task_issue(iss, "", "no JSON text given");
        return;
    }
    if (len > FEDC_TASK_JSON_MAX) {
        task_issue(iss, "", "%zu bytes of JSON; allowed: at most %d bytes", len,
                   FEDC_TASK_JSON_MAX);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        task_issue(iss, "", "not valid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                   jerr.text);
        return;
    }
    task_from_value(root, t, iss);
    json_decref(root);
}

int fedc_task_from_json(const char *json, size_t len, fedc_task *t, fedc_error *err) {
    task_issues iss = {.first_only = 1};
    fedc_task parsed;
    parse_text(json, len, &parsed, &iss);
    if (iss.n == 0 && !iss.oom) *t = parsed;
    return task_issues_finish(&iss, err);
}

int fedc_task_from_json_all(const char *json, size_t len, fedc_task *t, fedc_task_issue **issues) {
    task_issues iss = {0};
    parse_text(json, len, t, &iss);
    *issues = NULL;
    if (iss.oom || iss.n == 0) {
        free(iss.v);
        return iss.oom ? -1 : 0;
    }
    *issues = iss.v;
    return iss.n;
}

int fedc_task_load(const char *path, fedc_task *t, fedc_error *err) {
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) return fedc_fail(err, "%s: cannot open: %s", name, strerror(errno));
    char *buf = malloc((size_t)FEDC_TASK_JSON_MAX + 1);
    if (!buf) {
        if (!from_stdin) fclose(f);
        return fedc_fail(err, "%s: out of memory", name);
    }
    size_t n = fread(buf, 1, (size_t)FEDC_TASK_JSON_MAX + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    if (!from_stdin) fclose(f);
    int rc;
    if (read_errno) {
        rc = fedc_fail(err, "%s: cannot read: %s", name, strerror(read_errno));
    } else if (n > FEDC_TASK_JSON_MAX) {
        rc = fedc_fail(err, "%s: more than %d bytes; allowed: a task of at most %d bytes of JSON",
                       name, FEDC_TASK_JSON_MAX, FEDC_TASK_JSON_MAX);
    } else {
        fedc_error inner;
        rc = fedc_task_from_json(buf, n, t, &inner);
        if (rc != 0) fedc_fail(err, "%s: %s", name, inner.msg);
    }
    free(buf);
    return rc;
}

/* ---- writing ---------------------------------------------------------- */

static json_t *field_value(const fedc_task *t, const task_field *f) {
    const void *p = task_field_cptr(t, f);
    switch (f->type) {
    case TASK_STRING: {
        const char *nul = memchr(p, '\0', f->size);
        json_t *s = json_stringn(p, nul ? (size_t)(nul - (const char *)p) : f->size);
        return s ? s : json_null(); /* not UTF-8: null reads back as a type error */
    }
    case TASK_INT:
        return json_integer(*(const int *)p);
    case TASK_U64: {
        uint64_t v = *(const uint64_t *)p;
        return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
    }
    case TASK_NUMBER: {
        double v = *(const double *)p;
        return isfinite(v) ? json_real(v) : json_null();
    }
    case TASK_BOOL:
        return json_boolean(*(const int *)p != 0);
    }
    return NULL;
}

json_t *task_to_value(const fedc_task *t) {
    json_t *root = json_object();
    if (!root) return NULL;
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        json_t *parent = root;
        if (!strcmp(f->path, "model.manifest")) {
            /* Written as {"name", "manifest"} only when there is a manifest. */
            if (!t->model_manifest[0]) continue;
            json_t *arr = json_loads(t->model_manifest, 0, NULL);
            json_t *obj = arr ? json_pack("{s:s,s:o}", "name", t->model, "manifest", arr) : NULL;
            if (!obj || json_object_set_new(root, "model", obj) != 0) goto oom;
            continue;
        }
        /* synthetic's own settings are written for synthetic, or when set
         * away from their default: every other task's JSON stays as it was. */
        if (!strncmp(f->path, "dataset.synthetic_", 18) && strcmp(t->dataset.name, "synthetic") != 0 &&
            *(const double *)((const char *)t + f->offset) == 1.0)
            continue;
        const char *key = f->path;
        const char *dot = strchr(f->path, '.');
        if (dot) {
            char group[32];
            snprintf(group, sizeof group, "%.*s", (int)(dot - f->path), f->path);
            parent = json_object_get(root, group);
            if (!parent) {
                parent = json_object();
                if (json_object_set_new(root, group, parent) != 0) goto oom;
            }
            key = dot + 1;
        }
        if (json_object_set_new(parent, key, field_value(t, f)) != 0) goto oom;
    }
    return root;
oom:
    json_decref(root);
    return NULL;
}

/* Significant digits that print every number of the task exactly: 15 (which
 * prints typed values as typed) unless some value needs 16 or 17. */
static int real_precision(const fedc_task *t) {
    int prec = 15;
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        if (f->type != TASK_NUMBER) continue;
        double v = *(const double *)task_field_cptr(t, f);
        if (!isfinite(v)) continue;
        char buf[40];
        int p = prec;
        for (; p < 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, v);
            if (strtod(buf, NULL) == v) break;
        }
        prec = p;
    }
    return prec;
}

char *fedc_task_to_json(const fedc_task *t, int pretty) {
    json_t *root = task_to_value(t);
    if (!root) return NULL;
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(real_precision(t)) |
                   (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    char *s = json_dumps(root, flags);
    json_decref(root);
    return s;
}

int task_equal(const fedc_task *a, const fedc_task *b) {
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        const void *pa = task_field_cptr(a, f), *pb = task_field_cptr(b, f);
        switch (f->type) {
        case TASK_STRING:
            if (strncmp(pa, pb, f->size) != 0) return 0;
            break;
        case TASK_INT:
        case TASK_BOOL:
            if (*(const int *)pa != *(const int *)pb) return 0;
            break;
        case TASK_U64:
            if (*(const uint64_t *)pa != *(const uint64_t *)pb) return 0;
            break;
        case TASK_NUMBER: {
            double x = *(const double *)pa, y = *(const double *)pb;
            if (!(x == y || (isnan(x) && isnan(y)))) return 0;
            break;
        }
        }
    }
    return 1;
}
