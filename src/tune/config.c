/* Configurations: points of a space, their JSON form, and applying one to a
 * task (all fields at once, then one validation, so the order of the
 * parameters never matters for cross-field rules). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

double tune_round_sig(double v, int digits) {
    if (!isfinite(v) || v == 0) return v;
    char buf[48];
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    return strtod(buf, NULL);
}

int tune_active(const fedc_tune_space *s, const fedc_tune_config *c, int i) {
    const fedc_tune_param *p = &s->p[i];
    if (p->parent < 0) return 1;
    double pv = c->v[p->parent];
    if (isnan(pv)) return 0; /* the parent itself is inactive */
    for (int k = 0; k < p->nwhen; k++)
        if (p->when[k] == pv) return 1;
    return 0;
}

int fedc_tune_config_active(const fedc_tune_space *s, const fedc_tune_config *c, int i) {
    if (!s || !c || i < 0 || i >= s->n) return 0;
    return !isnan(c->v[i]);
}

static json_t *config_object(const fedc_tune_space *s, const fedc_tune_config *c) {
    json_t *o = json_object();
    for (int i = 0; i < s->n && i < c->n; i++) {
        if (isnan(c->v[i])) continue;
        json_t *v = tune_param_value_json(&s->p[i], c->v[i]);
        if (v) json_object_set_new(o, s->p[i].name, v);
    }
    return o;
}

char *fedc_tune_config_to_json(const fedc_tune_space *s, const fedc_tune_config *c) {
    json_t *o = config_object(s, c);
    char *text = json_dumps(o, TUNE_JSON_FLAGS);
    json_decref(o);
    return text;
}

int tune_read_value(const fedc_tune_param *p, json_t *v, double *out, fedc_error *err) {
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
    char text[80];
    snprintf(text, sizeof text, "%.60s", t ? t : "?");
    free(t);
    if (p->type == FEDC_PARAM_CHOICE) {
        for (int k = 0; k < p->nchoices; k++) {
            json_t *c = json_loads(p->choices[k], JSON_DECODE_ANY, NULL);
            int same = c && (json_equal(c, v) || (json_is_number(c) && json_is_number(v) &&
                                                  json_number_value(c) == json_number_value(v)));
            json_decref(c);
            if (same) {
                *out = k;
                return 0;
            }
        }
        char allowed[512] = "";
        for (int k = 0; k < p->nchoices && strlen(allowed) < 400; k++)
            snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", k ? ", " : "",
                     p->choices[k]);
        return fedc_fail(err, "%s: %s is not one of the choices; allowed: %s", p->name, text, allowed);
    }
    if (!json_is_number(v)) return fedc_fail(err, "%s: %s is not a number", p->name, text);
    double d = json_number_value(v);
    if (p->type == FEDC_PARAM_INT && d != floor(d))
        return fedc_fail(err, "%s: %s is not a whole number; allowed: integers %g..%g", p->name, text, p->min, p->max);
    if (!(d >= p->min && d <= p->max))
        return fedc_fail(err, "%s: %s is out of range; allowed: %g..%g", p->name, text, p->min, p->max);
    *out = d;
    return 0;
}

/* 1 when another listing of parameter i's name (a conditional range of the
 * same field) is active: the value in a configuration's JSON is its. */
static int same_name_active(const fedc_tune_space *s, const fedc_tune_config *c, int i) {
    for (int j = 0; j < s->n; j++)
        if (j != i && !strcmp(s->p[j].name, s->p[i].name) && tune_active(s, c, j)) return 1;
    return 0;
}

int fedc_tune_config_from_json(const fedc_tune_space *s, const char *json, size_t len,
                               fedc_tune_config *c, fedc_error *err) {
    if (!json || len > FEDC_TUNE_SPACE_JSON_MAX) return fedc_fail(err, "config: missing or longer than 1 MiB");
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) return fedc_fail(err, "config: line %d column %d: %s", je.line, je.column, je.text);
    int rc = -1;
    if (!json_is_object(o)) {
        fedc_fail(err, "config: expected an object {\"param\": value, ...}");
        goto out;
    }
    fedc_tune_config tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.n = s->n;
    for (int i = 0; i < s->n; i++) {
        json_t *v = json_object_get(o, s->p[i].name);
        if (!tune_active(s, &tmp, i)) {
            tmp.v[i] = NAN;
            if (v && !same_name_active(s, &tmp, i)) {
                const fedc_tune_param *pp = &s->p[s->p[i].parent];
                fedc_fail(err, "config: %s is inactive here (it applies only for some values of %s); leave it out",
                          s->p[i].name, pp->name);
                goto out;
            }
            continue;
        }
        if (!v) {
            fedc_fail(err, "config: %s is missing", s->p[i].name);
            goto out;
        }
        if (tune_read_value(&s->p[i], v, &tmp.v[i], err) != 0) {
            fedc_fail_prefix(err, "config: ");
            goto out;
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int known = 0;
        for (int i = 0; i < s->n && !known; i++) known = !strcmp(s->p[i].name, key);
        if (!known) {
            fedc_fail(err, "config: %.64s is not a parameter of the space", key);
            goto out;
        }
    }
    *c = tmp;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* A short label: the last path segment ("local.lr" -> "lr"), the group for
 * a name ("strategy.name" -> "strategy"), and the full path when another
 * parameter of the space would get the same label ("local.momentum" and
 * "strategy.momentum"). */
static void short_name(const fedc_tune_space *s, int i, char *out, size_t cap) {
    const char *name = s->p[i].name, *dot = strrchr(name, '.');
    if (!dot) {
        snprintf(out, cap, "%s", name);
        return;
    }
    if (!strcmp(dot + 1, "name")) {
        snprintf(out, cap, "%.*s", (int)(dot - name), name);
        return;
    }
    for (int j = 0; j < s->n; j++) {
        const char *other = strrchr(s->p[j].name, '.');
        if (j != i && other && !strcmp(other, dot) && strcmp(s->p[j].name, name)) {
            snprintf(out, cap, "%s", name);
            return;
        }
    }
    snprintf(out, cap, "%s", dot + 1);
}

void fedc_tune_config_describe(const fedc_tune_space *s, const fedc_tune_config *c, char *out,
                               size_t cap) {
    size_t len = 0;
    if (cap < 4) return;
    out[0] = 0;
    for (int i = 0; i < s->n && len + 1 < cap; i++) {
        if (isnan(c->v[i])) continue;
        const fedc_tune_param *p = &s->p[i];
        char val[FEDC_TUNE_CHOICE_MAX];
        if (p->type == FEDC_PARAM_CHOICE) {
            const char *t = p->choices[(int)c->v[i]];
            size_t tl = strlen(t);
            if (tl >= 2 && t[0] == '"') snprintf(val, sizeof val, "%.*s", (int)(tl - 2), t + 1);
            else snprintf(val, sizeof val, "%s", t);
        } else if (p->type == FEDC_PARAM_INT) {
            snprintf(val, sizeof val, "%.0f", c->v[i]);
        } else {
            snprintf(val, sizeof val, "%.4g", c->v[i]);
        }
        char label[FEDC_TUNE_NAME_MAX];
        short_name(s, i, label, sizeof label);
        int w = snprintf(out + len, cap - len, "%s%s=%s", len ? " " : "", label, val);
        if (w < 0) break;
        len += (size_t)w;
    }
    if (len >= cap) memcpy(out + cap - 4, "...", 4); /* cut: say so */
}

/* Puts value at the dotted path of root (creating objects); takes value. */
static int put_path(json_t *root, const char *path, json_t *value) {
    char buf[FEDC_TUNE_NAME_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.'))) {
        *dot = 0;
        json_t *child = json_object_get(cur, seg);
        if (!json_is_object(child)) {
            child = json_object();
            if (json_object_set_new(cur, seg, child) != 0) {
                json_decref(value);
                return -1;
            }
        }
        cur = child;
        seg = dot + 1;
    }
    return json_object_set_new(cur, seg, value);
}

int fedc_tune_config_from_task(const fedc_tune_space *s, const fedc_task *t, fedc_tune_config *c,
                               fedc_error *err) {
    /* local.lr 0 stands for the optimizer's default: read as that value. */
    fedc_task resolved = *t;
    if (!(resolved.local.lr > 0)) resolved.local.lr = fedc_task_local_lr_base(t);
    char *text = fedc_task_to_json(&resolved, 0);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!root) return fedc_fail(err, "task: out of memory");
    fedc_tune_config tmp;
    tmp.n = s->n;
    for (int i = 0; i < FEDC_TUNE_MAX_PARAMS; i++) tmp.v[i] = NAN;
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++) {
        if (!tune_active(s, &tmp, i)) continue;
        const fedc_tune_param *p = &s->p[i];
        json_t *v = NULL, *owned = NULL;
        if (!strncmp(p->name, "arch.", 5)) {
            if (tune_arch_knob_from_model(t->model, p->name, &owned, err) != 0) {
                rc = -1;
                break;
            }
            v = owned;
        } else {
            char path[FEDC_TUNE_NAME_MAX];
            snprintf(path, sizeof path, "%s", p->name);
            v = root;
            char *save = NULL;
            for (char *seg = strtok_r(path, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
                v = json_object_get(v, seg);
        }
        if (!v) rc = fedc_fail(err, "%s: the task has no such field", p->name);
        else if (tune_read_value(p, v, &tmp.v[i], err) != 0) rc = -1;
        json_decref(owned);
    }
    json_decref(root);
    if (rc == 0) *c = tmp;
    return rc;
}

/* The base task's JSON with the configuration put in (malloc'd text). */
static char *config_task_text(const fedc_tune_space *s, const fedc_tune_config *c, const fedc_task *base,
                              int n_classes, fedc_error *err) {
    char *text = fedc_task_to_json(base, 0);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!root) {
        fedc_fail(err, "config: out of memory");
        return NULL;
    }
    int has_arch = 0;
    for (int i = 0; i < s->n; i++) {
        if (isnan(c->v[i])) continue;
        if (!strncmp(s->p[i].name, "arch.", 5)) {
            has_arch = 1;
            continue;
        }
        json_t *v = tune_param_value_json(&s->p[i], c->v[i]);
        if (!v || put_path(root, s->p[i].name, v) != 0) {
            json_decref(root);
            fedc_fail(err, "config: %s: out of memory", s->p[i].name);
            return NULL;
        }
    }
    if (has_arch) {
        char model[sizeof base->model];
        if (tune_arch_build(s, c, base->model, n_classes, model, sizeof model, err) != 0) {
            json_decref(root);
            return NULL;
        }
        json_object_set_new(root, "model", json_string(model));
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) fedc_fail(err, "config: out of memory");
    return text;
}

int fedc_tune_config_apply(const fedc_tune_space *s, const fedc_tune_config *c,
                           const fedc_task *base, int n_classes, fedc_task *out, fedc_error *err) {
    char *text = config_task_text(s, c, base, n_classes, err);
    if (!text) return -1;
    fedc_task t;
    int rc = fedc_task_from_json(text, strlen(text), &t, err);
    free(text);
    if (rc != 0) return fedc_fail_prefix(err, "config: ");
    *out = t;
    return 0;
}

/* 1 when word occurs in msg as a whole field name. */
static int mentions(const char *msg, const char *word) {
    size_t n = strlen(word);
    for (const char *p = strstr(msg, word); p; p = strstr(p + 1, word)) {
        int before = p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.');
        int after = !(isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.');
        if (before && after) return 1;
    }
    return 0;
}

/* Sets parameter i alone to v on the base task. A problem is the
 * parameter's own when the validator reports it at the parameter's field
 * (the model, for arch.*) and it does not involve another parameter of the
 * space: "clients_per_round: 10 is more than clients (5)" for a value 5 of
 * a "clients" parameter may be fixed by the clients_per_round parameter. */
static int try_value(const fedc_tune_space *s, int i, double v, const fedc_task *base, int n_classes,
                     fedc_error *err) {
    const fedc_tune_param *p = &s->p[i];
    char val[FEDC_TUNE_CHOICE_MAX];
    if (p->type == FEDC_PARAM_CHOICE) snprintf(val, sizeof val, "%s", p->choices[(int)v]);
    else snprintf(val, sizeof val, "%g", v);
    fedc_tune_config c;
    c.n = s->n;
    for (int k = 0; k < FEDC_TUNE_MAX_PARAMS; k++) c.v[k] = NAN;
    c.v[i] = v;
    char *text = config_task_text(s, &c, base, n_classes, err);
    if (!text) return fedc_fail_prefix(err, "space: %s = %s: ", p->name, val);
    fedc_task t;
    fedc_task_issue *issues = NULL;
    int n = fedc_task_from_json_all(text, strlen(text), &t, &issues);
    free(text);
    if (n < 0) return fedc_fail(err, "space: out of memory");
    const char *field = !strncmp(p->name, "arch.", 5) ? "model" : p->name;
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++) {
        /* The field itself, its group ("local") or the whole document (""). */
        size_t lp = strlen(issues[k].path);
        int own = !strcmp(issues[k].path, field) || lp == 0 ||
                  (!strncmp(issues[k].path, field, lp) && field[lp] == '.');
        if (!own) continue;
        int involves_other = 0;
        for (int j = 0; j < s->n; j++)
            if (j != i && strncmp(s->p[j].name, "arch.", 5) && mentions(issues[k].msg, s->p[j].name))
                involves_other = 1;
        if (!involves_other)
            rc = fedc_fail(err, "space: %s = %s does not give a valid task: %s", p->name, val, issues[k].msg);
    }
    free(issues);
    return rc;
}

int fedc_tune_space_check(const fedc_tune_space *s, const fedc_task *base, int n_classes,
                          fedc_error *err) {
    for (int i = 0; i < s->n; i++) {
        const fedc_tune_param *p = &s->p[i];
        if (p->type == FEDC_PARAM_CHOICE) {
            for (int k = 0; k < p->nchoices; k++)
                if (try_value(s, i, k, base, n_classes, err) != 0) return -1;
        } else if (try_value(s, i, p->min, base, n_classes, err) != 0 ||
                   try_value(s, i, p->max, base, n_classes, err) != 0) {
            return -1;
        } else if (p->type != FEDC_PARAM_INT) {
            /* A value between the bounds, not whole: a float parameter on an
             * integer field fails here rather than in the middle of a search. */
            double mid = tune_round_sig(p->min + 0.382 * (p->max - p->min), 6);
            if (mid == floor(mid)) mid = p->min + (p->max - p->min) / 3.14159;
            if (mid > p->min && mid < p->max && try_value(s, i, mid, base, n_classes, err) != 0) return -1;
        }
    }
    return 0;
}
