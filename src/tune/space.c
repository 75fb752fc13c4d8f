/* Search spaces: the JSON document, its checks and its canonical form.
 * A space is outside input: every length and count is bounded, and errors
 * name the document, the parameter, the field, the bad value and what is
 * allowed. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

#define BOUND_MAX 1e12 /* |min|, |max| of numeric parameters */
#define INT_BOUND_MAX 1e9

static const char *const k_type_names[] = {"float", "log-float", "int", "choice"};

const char *tune_param_type_name(fedc_param_type t) {
    return (unsigned)t < 4 ? k_type_names[t] : "?";
}

void fedc_tune_space_free(fedc_tune_space *s) { free(s); }
int fedc_tune_space_nparams(const fedc_tune_space *s) { return s ? s->n : 0; }
const fedc_tune_param *fedc_tune_space_param(const fedc_tune_space *s, int i) {
    return s && i >= 0 && i < s->n ? &s->p[i] : NULL;
}

static int find_param(const fedc_tune_space *s, int before, const char *name) {
    for (int i = 0; i < before; i++)
        if (!strcmp(s->p[i].name, name)) return i;
    return -1;
}

/* The index of choice value v (compared as JSON; numbers by value). */
static int choice_index(const fedc_tune_param *p, const json_t *v) {
    for (int k = 0; k < p->nchoices; k++) {
        json_t *c = json_loads(p->choices[k], JSON_DECODE_ANY, NULL);
        int same = c && (json_equal(c, (json_t *)v) ||
                         (json_is_number(c) && json_is_number(v) &&
                          json_number_value(c) == json_number_value(v)));
        json_decref(c);
        if (same) return k;
    }
    return -1;
}

/* Short text of a JSON value for messages. */
static void value_text(const json_t *v, char *out, size_t cap) {
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
    snprintf(out, cap, "%.60s%s", t ? t : "?", t && strlen(t) > 60 ? "..." : "");
    free(t);
}

static int name_ok(const char *s) {
    if (!*s || *s == '.') return 0;
    for (const char *c = s; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_' || *c == '.'))
            return 0;
    return s[strlen(s) - 1] != '.' && !strstr(s, "..");
}

static int get_bound(const char *src, int i, const char *name, json_t *obj, const char *key,
                     double *out, fedc_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fedc_fail(err, "%s: params[%d] (%s): \"%s\" is missing; numeric parameters need min and max",
                         src, i, name, key);
    char t[80];
    value_text(v, t, sizeof t);
    if (!json_is_number(v))
        return fedc_fail(err, "%s: params[%d] (%s): %s: %s is not a number", src, i, name, key, t);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > BOUND_MAX)
        return fedc_fail(err, "%s: params[%d] (%s): %s: %s is out of range; allowed: |value| <= 1e12",
                         src, i, name, key, t);
    *out = tune_round_sig(d, 15); /* prints back as written, so the canonical form is stable */
    return 0;
}

static int parse_choices(const char *src, int i, fedc_tune_param *p, json_t *vals, fedc_error *err) {
    if (!vals)
        return fedc_fail(err, "%s: params[%d] (%s): \"values\" is missing; a choice needs 1 to %d values",
                         src, i, p->name, FEDC_TUNE_MAX_CHOICES);
    if (!json_is_array(vals) || json_array_size(vals) < 1 || json_array_size(vals) > FEDC_TUNE_MAX_CHOICES)
        return fedc_fail(err, "%s: params[%d] (%s): values: expected an array of 1 to %d numbers or strings",
                         src, i, p->name, FEDC_TUNE_MAX_CHOICES);
    size_t k;
    json_t *v;
    json_array_foreach(vals, k, v) {
        char t[80];
        value_text(v, t, sizeof t);
        if (!json_is_number(v) && !json_is_string(v))
            return fedc_fail(err, "%s: params[%d] (%s): values[%zu]: %s is neither a number nor a string",
                             src, i, p->name, k, t);
        if (json_is_number(v) && !isfinite(json_number_value(v)))
            return fedc_fail(err, "%s: params[%d] (%s): values[%zu]: not a finite number", src, i, p->name, k);
        if (choice_index(p, v) >= 0)
            return fedc_fail(err, "%s: params[%d] (%s): values[%zu]: %s appears twice", src, i, p->name, k, t);
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (!text) return fedc_fail(err, "%s: out of memory", src);
        size_t len = strlen(text);
        if (len >= FEDC_TUNE_CHOICE_MAX) {
            free(text);
            return fedc_fail(err, "%s: params[%d] (%s): values[%zu]: %zu bytes; allowed: at most %d",
                             src, i, p->name, k, len, FEDC_TUNE_CHOICE_MAX - 1);
        }
        memcpy(p->choices[p->nchoices++], text, len + 1);
        free(text);
    }
    return 0;
}

static int parse_when(const char *src, int i, fedc_tune_space *s, fedc_tune_param *p, json_t *w,
                      fedc_error *err) {
    const char *pname = NULL;
    json_t *in = NULL;
    json_error_t je;
    snprintf(je.text, sizeof je.text, "not an object");
    if (!json_is_object(w) || json_unpack_ex(w, &je, JSON_STRICT, "{s:s,s:o}", "param", &pname, "in", &in) != 0)
        return fedc_fail(err, "%s: params[%d] (%s): when: expected {\"param\": NAME, \"in\": [VALUES]} (%s)",
                         src, i, p->name, je.text);
    int parent = find_param(s, i, pname);
    if (parent < 0)
        return fedc_fail(err, "%s: params[%d] (%s): when.param: \"%.64s\" is not an earlier parameter; a "
                         "condition refers to a parameter listed before it",
                         src, i, p->name, pname);
    for (int j = parent + 1; j < i; j++)
        if (!strcmp(s->p[j].name, pname))
            return fedc_fail(err, "%s: params[%d] (%s): when.param: %s is listed more than once; a condition needs "
                             "a parameter listed once",
                             src, i, p->name, pname);
    const fedc_tune_param *pp = &s->p[parent];
    if (pp->type != FEDC_PARAM_CHOICE && pp->type != FEDC_PARAM_INT)
        return fedc_fail(err, "%s: params[%d] (%s): when.param: %s is a %s; allowed: a choice or int parameter",
                         src, i, p->name, pname, tune_param_type_name(pp->type));
    if (!json_is_array(in) || json_array_size(in) < 1 || json_array_size(in) > FEDC_TUNE_MAX_CHOICES)
        return fedc_fail(err, "%s: params[%d] (%s): when.in: expected an array of 1 to %d values of %s",
                         src, i, p->name, FEDC_TUNE_MAX_CHOICES, pname);
    size_t k;
    json_t *v;
    json_array_foreach(in, k, v) {
        char t[80];
        value_text(v, t, sizeof t);
        double idx;
        if (pp->type == FEDC_PARAM_CHOICE) {
            int c = choice_index(pp, v);
            if (c < 0)
                return fedc_fail(err, "%s: params[%d] (%s): when.in[%zu]: %s is not a value of %s", src, i,
                                 p->name, k, t, pname);
            idx = c;
        } else {
            double d = json_is_number(v) ? json_number_value(v) : NAN;
            if (!(d == floor(d)) || d < pp->min || d > pp->max)
                return fedc_fail(err, "%s: params[%d] (%s): when.in[%zu]: %s; allowed: integers %g..%g of %s",
                                 src, i, p->name, k, t, pp->min, pp->max, pname);
            idx = d;
        }
        p->when[p->nwhen++] = idx;
    }
    p->parent = parent;
    return 0;
}

/* A name may be listed more than once only as conditional ranges: every
 * listing depends on the same parameter with pairwise disjoint values, so
 * at most one of them is active in any configuration (e.g. a server
 * learning rate near 1 for FedAvg and near the local step count for
 * AFA-CS). Such a name cannot itself be a condition's parameter. */
static int check_repeated_name(const char *src, int i, const fedc_tune_space *s, fedc_error *err) {
    const fedc_tune_param *p = &s->p[i];
    for (int j = 0; j < i; j++) {
        const fedc_tune_param *q = &s->p[j];
        if (strcmp(q->name, p->name)) continue;
        if (p->parent < 0 || q->parent != p->parent)
            return fedc_fail(err, "%s: params[%d].name: \"%s\" is listed twice; a name may repeat only as "
                             "conditional ranges (\"when\" on the same parameter, disjoint values)",
                             src, i, p->name);
        for (int a = 0; a < p->nwhen; a++)
            for (int b = 0; b < q->nwhen; b++)
                if (p->when[a] == q->when[b])
                    return fedc_fail(err, "%s: params[%d] (%s): when.in overlaps params[%d]'s; a repeated name "
                                     "needs disjoint values of %s, so that one listing at most applies",
                                     src, i, p->name, j, s->p[p->parent].name);
        for (int k = 0; k < i; k++)
            if (s->p[k].parent == j)
                return fedc_fail(err, "%s: params[%d].name: \"%s\" is a condition of params[%d]; a condition's "
                                 "parameter cannot be listed twice",
                                 src, i, p->name, k);
    }
    return 0;
}

static int parse_param(const char *src, int i, fedc_tune_space *s, json_t *o, fedc_error *err) {
    fedc_tune_param *p = &s->p[i];
    memset(p, 0, sizeof *p);
    p->parent = -1;
    if (!json_is_object(o)) return fedc_fail(err, "%s: params[%d]: expected an object", src, i);
    static const char *const keys[] = {"name", "type", "min", "max", "values", "when", "description"};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int known = 0;
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) known |= !strcmp(key, keys[k]);
        if (!known)
            return fedc_fail(err, "%s: params[%d].%.64s: unknown field; allowed: name, type, min, max, values, "
                             "when, description",
                             src, i, key);
    }
    json_t *jn = json_object_get(o, "name");
    if (!json_is_string(jn)) return fedc_fail(err, "%s: params[%d].name: a string is required", src, i);
    const char *name = json_string_value(jn);
    if (strlen(name) >= FEDC_TUNE_NAME_MAX || !name_ok(name))
        return fedc_fail(err, "%s: params[%d].name: \"%.80s\" is not a field path; allowed: up to %d of a-z 0-9 _ "
                         "in dot-separated parts, e.g. local.lr or arch.depth",
                         src, i, name, FEDC_TUNE_NAME_MAX - 1);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (!strncmp(name, "arch.", 5) && !tune_arch_known(name))
        return fedc_fail(err, "%s: params[%d].name: \"%s\" is not an architecture knob; allowed: %s", src, i,
                         name, tune_arch_knob_list());
    if (!strcmp(name, "model"))
        return fedc_fail(err, "%s: params[%d].name: \"model\" cannot be searched as a string; use a choice of "
                         "presets via arch.family or the arch.* knobs",
                         src, i);

    json_t *jt = json_object_get(o, "type");
    const char *type = json_is_string(jt) ? json_string_value(jt) : "";
    int found = 0;
    for (int k = 0; k < 4; k++)
        if (!strcmp(type, k_type_names[k])) {
            p->type = (fedc_param_type)k;
            found = 1;
        }
    if (!found)
        return fedc_fail(err, "%s: params[%d] (%s): type: \"%.40s\" is not known; allowed: float, log-float, "
                         "int, choice",
                         src, i, name, type);
    if (p->type == FEDC_PARAM_CHOICE) {
        if (json_object_get(o, "min") || json_object_get(o, "max"))
            return fedc_fail(err, "%s: params[%d] (%s): a choice has values, not min/max", src, i, name);
        if (parse_choices(src, i, p, json_object_get(o, "values"), err) != 0) return -1;
    } else {
        if (json_object_get(o, "values"))
            return fedc_fail(err, "%s: params[%d] (%s): a %s has min and max, not values", src, i, name, type);
        if (get_bound(src, i, name, o, "min", &p->min, err) != 0 ||
            get_bound(src, i, name, o, "max", &p->max, err) != 0)
            return -1;
        if (p->type == FEDC_PARAM_INT) {
            if (p->min != floor(p->min) || p->max != floor(p->max) || fabs(p->min) > INT_BOUND_MAX ||
                fabs(p->max) > INT_BOUND_MAX)
                return fedc_fail(err, "%s: params[%d] (%s): min %g, max %g; an int needs whole bounds within +-1e9",
                                 src, i, name, p->min, p->max);
            if (p->min > p->max)
                return fedc_fail(err, "%s: params[%d] (%s): min %g is above max %g", src, i, name, p->min, p->max);
        } else {
            if (!(p->min < p->max))
                return fedc_fail(err, "%s: params[%d] (%s): min %g must be below max %g", src, i, name, p->min,
                                 p->max);
            if (p->type == FEDC_PARAM_LOG_FLOAT && p->min <= 0)
                return fedc_fail(err, "%s: params[%d] (%s): min: %g is out of range; allowed: a number > 0 for "
                                 "log-float",
                                 src, i, name, p->min);
        }
    }
    json_t *w = json_object_get(o, "when");
    if (w && parse_when(src, i, s, p, w, err) != 0) return -1;
    return check_repeated_name(src, i, s, err);
}

fedc_tune_space *fedc_tune_space_from_json(const char *json, size_t len, const char *source,
                                           fedc_error *err) {
    const char *src = source && *source ? source : "space";
    if (!json) {
        fedc_fail(err, "%s: no text", src);
        return NULL;
    }
    if (len > FEDC_TUNE_SPACE_JSON_MAX) {
        fedc_fail(err, "%s: %zu bytes; allowed: at most %d", src, len, FEDC_TUNE_SPACE_JSON_MAX);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fedc_fail(err, "%s: line %d column %d: %s", src, je.line, je.column, je.text);
        return NULL;
    }
    fedc_tune_space *s = NULL;
    if (!json_is_object(root)) {
        fedc_fail(err, "%s: expected an object {\"params\": [...]}", src);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "params") && strcmp(key, "description")) {
            fedc_fail(err, "%s: %.64s: unknown field; allowed: params, description", src, key);
            goto out;
        }
    }
    json_t *params = json_object_get(root, "params");
    if (!json_is_array(params) || json_array_size(params) < 1 || json_array_size(params) > FEDC_TUNE_MAX_PARAMS) {
        fedc_fail(err, "%s: params: expected an array of 1 to %d parameters", src, FEDC_TUNE_MAX_PARAMS);
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "%s: out of memory", src);
        goto out;
    }
    size_t i;
    json_array_foreach(params, i, v) {
        if (parse_param(src, (int)i, s, v, err) != 0) {
            free(s);
            s = NULL;
            goto out;
        }
        s->n = (int)i + 1;
    }
out:
    json_decref(root);
    return s;
}

fedc_tune_space *fedc_tune_space_load(const char *path, fedc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fedc_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(FEDC_TUNE_SPACE_JSON_MAX + 1);
    size_t n = buf ? fread(buf, 1, FEDC_TUNE_SPACE_JSON_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    fedc_tune_space *s = NULL;
    if (!buf) fedc_fail(err, "%s: out of memory", path);
    else if (bad) fedc_fail(err, "%s: read error", path);
    else if (n > FEDC_TUNE_SPACE_JSON_MAX)
        fedc_fail(err, "%s: larger than %d bytes", path, FEDC_TUNE_SPACE_JSON_MAX);
    else s = fedc_tune_space_from_json(buf, n, path, err);
    free(buf);
    return s;
}

json_t *tune_param_value_json(const fedc_tune_param *p, double v) {
    switch (p->type) {
    case FEDC_PARAM_INT: return json_integer((json_int_t)v);
    case FEDC_PARAM_CHOICE: {
        int k = (int)v;
        if (k < 0 || k >= p->nchoices) return NULL;
        return json_loads(p->choices[k], JSON_DECODE_ANY, NULL);
    }
    default: return json_real(v);
    }
}

char *fedc_tune_space_to_json(const fedc_tune_space *s) {
    json_t *params = json_array();
    for (int i = 0; i < s->n; i++) {
        const fedc_tune_param *p = &s->p[i];
        json_t *o = json_pack("{s:s,s:s}", "name", p->name, "type", tune_param_type_name(p->type));
        if (p->type == FEDC_PARAM_CHOICE) {
            json_t *vals = json_array();
            for (int k = 0; k < p->nchoices; k++)
                json_array_append_new(vals, json_loads(p->choices[k], JSON_DECODE_ANY, NULL));
            json_object_set_new(o, "values", vals);
        } else if (p->type == FEDC_PARAM_INT) {
            json_object_set_new(o, "min", json_integer((json_int_t)p->min));
            json_object_set_new(o, "max", json_integer((json_int_t)p->max));
        } else {
            json_object_set_new(o, "min", json_real(p->min));
            json_object_set_new(o, "max", json_real(p->max));
        }
        if (p->parent >= 0) {
            const fedc_tune_param *pp = &s->p[p->parent];
            json_t *in = json_array();
            for (int k = 0; k < p->nwhen; k++) json_array_append_new(in, tune_param_value_json(pp, p->when[k]));
            json_object_set_new(o, "when", json_pack("{s:s,s:o}", "param", pp->name, "in", in));
        }
        json_array_append_new(params, o);
    }
    json_t *root = json_pack("{s:o}", "params", params);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    return text;
}
