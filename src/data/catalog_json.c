/* The catalog as JSON, for `fedc data list --json` and the server's
 * GET /api/datasets (the web form's dataset list). */
#include <stdlib.h>

#include <jansson.h>

#include "data/catalog_internal.h"

uint64_t fedc_catalog_entry_bytes(const fedc_catalog_entry *e, int with_optional, int *unknown) {
    uint64_t b = 0;
    *unknown = 0;
    for (int i = 0; i < e->nfiles; i++) {
        if (e->files[i].optional && !with_optional)
            continue;
        if (e->files[i].size) {
            b += e->files[i].size;
        } else {
            b += e->files[i].max_size;
            *unknown = 1;
        }
    }
    return b;
}

static const char *state_name(const fedc_data_status *st) {
    if (st->present)
        return st->source == FEDC_DATA_IN_SYSTEM ? "system" : "present";
    return st->bytes_partial || st->bytes_present ? "partial" : "absent";
}

static json_t *files_json(const fedc_catalog_entry *e) {
    json_t *files = json_array();
    for (int i = 0; i < e->nfiles; i++) {
        const fedc_catalog_file *f = &e->files[i];
        json_t *urls = json_array();
        for (int u = 0; u < FEDC_CATALOG_MAX_URLS && f->urls[u][0]; u++)
            json_array_append_new(urls, json_string(f->urls[u]));
        json_array_append_new(
            files, json_pack("{s:s,s:o,s:I,s:I,s:s?,s:b}", "name", f->name, "urls", urls, "size",
                             (json_int_t)f->size, "max_size", (json_int_t)f->max_size, "sha256",
                             f->sha256[0] ? f->sha256 : NULL, "optional", f->optional));
    }
    return files;
}

static json_t *entry_json(const fedc_catalog_entry *e, int with_status, fedc_error *err) {
    int unknown;
    uint64_t bytes = fedc_catalog_entry_bytes(e, 0, &unknown);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:[i,i,i],s:i,s:I,s:I,s:b,s:s,s:s,s:s,s:I,s:b,s:o}",
                          "name", e->name, "title", e->title, "summary", e->summary, "format",
                          e->format, "shape", e->shape.c, e->shape.h, e->shape.w, "classes",
                          e->n_classes, "train", (json_int_t)e->n_train, "test",
                          (json_int_t)e->n_test, "natural", e->natural, "licence", e->licence,
                          "citation", e->citation, "homepage", e->homepage, "bytes",
                          (json_int_t)bytes, "bytes_estimated", unknown, "files", files_json(e));
    if (!o) {
        fedc_fail(err, "out of memory");
        return NULL;
    }
    if (e->n_classes_coarse)
        json_object_set_new(o, "coarse_classes", json_integer(e->n_classes_coarse));
    if (e->n_extra)
        json_object_set_new(o, "extra", json_integer((json_int_t)e->n_extra));
    if (with_status) {
        fedc_data_status st;
        if (fedc_data_status_get(e, NULL, 0, &st, err) != 0) {
            json_decref(o);
            return NULL;
        }
        /* A generated dataset (no files) is always there. */
        json_object_set_new(o, "state", json_string(e->nfiles == 0 ? "generated" : state_name(&st)));
        json_object_set_new(o, "present", json_boolean(st.present));
        json_object_set_new(o, "dir", json_string(st.dir));
        json_object_set_new(o, "bytes_present", json_integer((json_int_t)st.bytes_present));
        json_object_set_new(o, "bytes_partial", json_integer((json_int_t)st.bytes_partial));
    }
    return o;
}

char *fedc_catalog_json(const fedc_catalog *c, int with_status, fedc_error *err) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < fedc_catalog_count(c); i++) {
        json_t *o = entry_json(fedc_catalog_at(c, i), with_status, err);
        if (!o) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, o);
    }
    char *s = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
    json_decref(arr);
    if (!s)
        fedc_fail(err, "out of memory");
    return s;
}
