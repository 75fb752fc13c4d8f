/* Tensor manifests of external models: strict parsing of the JSON form,
 * canonical text, comparison (see include/fedc/manifest.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/manifest.h"
#include "fedc/nn.h"

void fedc_manifest_free(fedc_manifest *m) {
    if (!m) return;
    free(m->t);
    m->t = NULL;
    m->n = 0;
    m->total = 0;
}

static int name_ok(const char *s, size_t len) {
    if (len < 1 || len > FEDC_MANIFEST_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return 0;
    }
    return 1;
}

static int parse_value(const json_t *root, fedc_manifest *out, fedc_error *err) {
    if (!json_is_array(root)) return fedc_fail(err, "manifest: expected an array of tensors");
    size_t n = json_array_size(root);
    if (n < 1 || n > FEDC_MANIFEST_MAX_TENSORS)
        return fedc_fail(err, "manifest: %zu tensors; allowed: 1 to %d", n, FEDC_MANIFEST_MAX_TENSORS);
    fedc_manifest m = {(int)n, calloc(n, sizeof(fedc_manifest_tensor)), 0};
    if (!m.t) return fedc_fail(err, "manifest: out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(root, i);
        fedc_manifest_tensor *t = &m.t[i];
        if (!json_is_object(e)) {
            fedc_fail(err, "manifest: tensor %zu: expected an object with name, shape and dtype", i);
            goto fail;
        }
        const char *key;
        json_t *v;
        json_object_foreach(e, key, v) {
            if (strcmp(key, "name") && strcmp(key, "shape") && strcmp(key, "dtype")) {
                fedc_fail(err, "manifest: tensor %zu: unknown key \"%.40s\"; allowed: name, shape, dtype", i, key);
                goto fail;
            }
        }
        json_t *jn = json_object_get(e, "name"), *js = json_object_get(e, "shape"), *jd = json_object_get(e, "dtype");
        if (!json_is_string(jn) || !name_ok(json_string_value(jn), json_string_length(jn))) {
            fedc_fail(err, "manifest: tensor %zu: name must be 1 to %d printable ASCII characters without quotes, "
                           "backslashes or spaces", i, FEDC_MANIFEST_NAME_MAX);
            goto fail;
        }
        memcpy(t->name, json_string_value(jn), json_string_length(jn));
        if (jd && (!json_is_string(jd) || strcmp(json_string_value(jd), "f32") != 0)) {
            fedc_fail(err, "manifest: tensor \"%s\": dtype must be \"f32\" (the only type exchanged)", t->name);
            goto fail;
        }
        if (!json_is_array(js) || json_array_size(js) > FEDC_MANIFEST_MAX_DIMS) {
            fedc_fail(err, "manifest: tensor \"%s\": shape must be an array of at most %d dimensions", t->name,
                      FEDC_MANIFEST_MAX_DIMS);
            goto fail;
        }
        t->ndim = (int)json_array_size(js);
        size_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_t *jv = json_array_get(js, (size_t)d);
            json_int_t dv = json_is_integer(jv) ? json_integer_value(jv) : 0;
            if (dv < 1 || dv > INT32_MAX) {
                fedc_fail(err, "manifest: tensor \"%s\": dimension %d must be an integer from 1 to %d", t->name, d,
                          INT32_MAX);
                goto fail;
            }
            t->dims[d] = dv;
            if (count > FEDC_MANIFEST_MAX_VALUES / (size_t)dv) count = FEDC_MANIFEST_MAX_VALUES + 1;
            else count *= (size_t)dv;
        }
        if (count > FEDC_MANIFEST_MAX_VALUES || m.total + count > FEDC_MANIFEST_MAX_VALUES) {
            fedc_fail(err, "manifest: more than %zu values in all (at tensor \"%s\")", FEDC_MANIFEST_MAX_VALUES,
                      t->name);
            goto fail;
        }
        t->offset = m.total;
        t->count = count;
        m.total += count;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m.t[j].name, t->name)) {
                fedc_fail(err, "manifest: tensor name \"%s\" appears twice (tensors %zu and %zu)", t->name, j, i);
                goto fail;
            }
    }
    *out = m;
    return 0;
fail:
    fedc_manifest_free(&m);
    return -1;
}

int fedc_manifest_parse(const char *json, size_t len, fedc_manifest *m, fedc_error *err) {
    if (!json || len == 0) return fedc_fail(err, "manifest: empty");
    if (len > (size_t)FEDC_MANIFEST_MAX_TENSORS * 256)
        return fedc_fail(err, "manifest: %zu bytes of JSON; allowed: at most %d", len,
                         FEDC_MANIFEST_MAX_TENSORS * 256);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fedc_fail(err, "manifest: not valid JSON: %s", je.text);
    int rc = parse_value(root, m, err);
    json_decref(root);
    return rc;
}

char *fedc_manifest_to_json(const fedc_manifest *m) {
    size_t cap = 64 + (size_t)m->n * (FEDC_MANIFEST_NAME_MAX + 40 + 12 * FEDC_MANIFEST_MAX_DIMS);
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t at = 0;
    s[at++] = '[';
    for (int i = 0; i < m->n; i++) {
        const fedc_manifest_tensor *t = &m->t[i];
        at += (size_t)snprintf(s + at, cap - at, "%s{\"name\":\"%s\",\"shape\":[", i ? "," : "", t->name);
        for (int d = 0; d < t->ndim; d++)
            at += (size_t)snprintf(s + at, cap - at, "%s%lld", d ? "," : "", (long long)t->dims[d]);
        at += (size_t)snprintf(s + at, cap - at, "],\"dtype\":\"f32\"}");
    }
    snprintf(s + at, cap - at, "]");
    return s;
}

int fedc_manifest_from_arch(const fedc_arch *a, fedc_manifest *m, fedc_error *err) {
    int n = fedc_arch_ntensors(a);
    m->t = calloc((size_t)(n > 0 ? n : 1), sizeof *m->t);
    if (!m->t) return fedc_fail(err, "manifest: out of memory");
    m->n = n;
    m->total = 0;
    for (int i = 0; i < n; i++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        fedc_manifest_tensor *t = &m->t[i];
        snprintf(t->name, sizeof t->name, "%s", ti.name);
        t->ndim = ti.ndim;
        for (int d = 0; d < ti.ndim; d++) t->dims[d] = ti.dims[d];
        t->offset = ti.offset;
        t->count = ti.count;
        m->total += ti.count;
    }
    return 0;
}

static void shape_text(const fedc_manifest_tensor *t, char *out, size_t cap) {
    size_t at = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < t->ndim && at < cap; d++)
        at += (size_t)snprintf(out + at, cap - at, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    if (at < cap) snprintf(out + at, cap - at, "]");
}

int fedc_manifest_compare(const fedc_manifest *a, const fedc_manifest *b, fedc_error *err) {
    if (a->n != b->n) return fedc_fail(err, "%d tensors here, %d in the run's manifest", a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const fedc_manifest_tensor *x = &a->t[i], *y = &b->t[i];
        if (strcmp(x->name, y->name))
            return fedc_fail(err, "tensor %d is \"%s\" here, \"%s\" in the run's manifest", i, x->name, y->name);
        int same = x->ndim == y->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = x->dims[d] == y->dims[d];
        if (!same) {
            char sx[128], sy[128];
            shape_text(x, sx, sizeof sx);
            shape_text(y, sy, sizeof sy);
            return fedc_fail(err, "tensor \"%s\" has shape %s here, %s in the run's manifest", x->name, sx, sy);
        }
    }
    return 0;
}
