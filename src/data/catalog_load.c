/* The catalog object: a copy of the built-in entries with an override file
 * applied ($FEDC_DATA_CATALOG), so a private mirror, a test server or a
 * changed upstream file can be described without rebuilding fedc. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "data/catalog_internal.h"
#include "data/data_internal.h"

static int is_hex64(const char *s) {
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int valid_url(const char *u) {
    return !strncmp(u, "https://", 8) || !strncmp(u, "http://", 7);
}

/* A size field: a JSON integer in [0, 2^53]. */
static int get_size(json_t *v, const char *path, uint64_t *out, fedc_error *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > ((json_int_t)1 << 53))
        return fedc_fail(err, "%s: expected a byte count (an integer >= 0)", path);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int apply_file(fedc_catalog_file *f, json_t *o, const char *path, fedc_error *err) {
    if (!json_is_object(o))
        return fedc_fail(err, "%s: expected an object with urls, size, max_size, sha256", path);
    const char *key;
    json_t *v;
    char p[2048];
    json_object_foreach(o, key, v) {
        snprintf(p, sizeof p, "%s.%s", path, key);
        if (!strcmp(key, "urls")) {
            if (!json_is_array(v) || json_array_size(v) > FEDC_CATALOG_MAX_URLS)
                return fedc_fail(err, "%s: expected an array of at most %d URLs", p,
                                 FEDC_CATALOG_MAX_URLS);
            memset(f->urls, 0, sizeof f->urls);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const char *u = json_string_value(json_array_get(v, i));
                if (!u || !valid_url(u) || strlen(u) >= FEDC_CATALOG_URL_MAX)
                    return fedc_fail(err,
                                     "%s[%zu]: expected an http:// or https:// URL of at most %d "
                                     "bytes",
                                     p, i, FEDC_CATALOG_URL_MAX - 1);
                snprintf(f->urls[i], sizeof f->urls[i], "%s", u);
            }
        } else if (!strcmp(key, "size")) {
            if (get_size(v, p, &f->size, err) != 0)
                return -1;
            if (f->size)
                f->max_size = f->size;
        } else if (!strcmp(key, "max_size")) {
            if (get_size(v, p, &f->max_size, err) != 0)
                return -1;
        } else if (!strcmp(key, "sha256")) {
            const char *s = json_is_null(v) ? "" : json_string_value(v);
            if (!s || (*s && !is_hex64(s)))
                return fedc_fail(err, "%s: expected 64 hexadecimal digits (or null: unknown)", p);
            snprintf(f->sha256, sizeof f->sha256, "%s", s);
            for (char *c = f->sha256; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        } else {
            return fedc_fail(err, "%s: unknown field; allowed: urls, size, max_size, sha256", p);
        }
    }
    if (f->size && f->max_size != f->size)
        return fedc_fail(err, "%s: max_size %llu differs from size %llu", path,
                         (unsigned long long)f->max_size, (unsigned long long)f->size);
    if (!f->max_size)
        return fedc_fail(err, "%s: needs size (or max_size, the download cap)", path);
    return 0;
}

static int apply_entry(fedc_catalog_entry *e, json_t *o, const char *path, fedc_error *err) {
    if (!json_is_object(o))
        return fedc_fail(err, "%s: expected an object with files, system_dir", path);
    const char *key;
    json_t *v;
    char p[800];
    json_object_foreach(o, key, v) {
        snprintf(p, sizeof p, "%s.%s", path, key);
        if (!strcmp(key, "system_dir")) {
            const char *s = json_is_null(v) ? "" : json_string_value(v);
            if (!s || strlen(s) >= sizeof e->system_dir)
                return fedc_fail(err, "%s: expected a folder path (or null: none)", p);
            snprintf(e->system_dir, sizeof e->system_dir, "%s", s);
        } else if (!strcmp(key, "files")) {
            if (!json_is_object(v))
                return fedc_fail(err, "%s: expected an object keyed by file name", p);
            const char *fname;
            json_t *fv;
            json_object_foreach(v, fname, fv) {
                char fp[1200];
                snprintf(fp, sizeof fp, "%s.%s", p, fname);
                fedc_catalog_file *f = NULL;
                for (int i = 0; i < e->nfiles; i++)
                    if (!strcmp(e->files[i].name, fname))
                        f = &e->files[i];
                if (!f) {
                    char names[400] = "";
                    for (int i = 0; i < e->nfiles; i++)
                        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                                 i ? ", " : "", e->files[i].name);
                    return fedc_fail(err, "%s: %s has no such file; allowed: %s", fp, e->name,
                                     names);
                }
                if (apply_file(f, fv, fp, err) != 0)
                    return -1;
            }
        } else {
            return fedc_fail(err, "%s: unknown field; allowed: files, system_dir", p);
        }
    }
    return 0;
}

static int apply_override(fedc_catalog *c, const char *json, size_t len, const char *name,
                          fedc_error *err) {
    if (len > FEDC_CATALOG_OVERRIDE_MAX)
        return fedc_fail(err, "%s: %zu bytes; a catalog override may hold at most %d", name, len,
                         FEDC_CATALOG_OVERRIDE_MAX);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fedc_fail(err, "%s: line %d: %s", name, je.line, je.text);
    int rc = -1;
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        fedc_fail(err, "%s: expected an object {\"datasets\": {...}}", name);
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "datasets") != 0) {
            fedc_fail(err, "%s: %s: unknown field; allowed: datasets", name, key);
            goto out;
        }
        if (!json_is_object(v)) {
            fedc_fail(err, "%s: datasets: expected an object keyed by dataset name", name);
            goto out;
        }
        const char *dname;
        json_t *dv;
        json_object_foreach(v, dname, dv) {
            char p[400];
            snprintf(p, sizeof p, "%s: datasets.%s", name, dname);
            fedc_catalog_entry *e = NULL;
            for (int i = 0; i < c->n; i++)
                if (!strcmp(c->entries[i].name, dname))
                    e = &c->entries[i];
            if (!e) {
                fedc_fail(err, "%s: unknown dataset; allowed: %s", p, fedc_catalog_names());
                goto out;
            }
            if (apply_entry(e, dv, p, err) != 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static fedc_catalog *catalog_new(fedc_error *err) {
    int n;
    const fedc_catalog_entry *b = catalog_builtin_entries(&n);
    fedc_catalog *c = calloc(1, sizeof *c);
    if (c)
        c->entries = malloc((size_t)n * sizeof *c->entries);
    if (!c || !c->entries) {
        free(c);
        fedc_fail(err, "out of memory");
        return NULL;
    }
    memcpy(c->entries, b, (size_t)n * sizeof *b);
    c->n = n;
    return c;
}

fedc_catalog *fedc_catalog_load_json(const char *json, size_t len, const char *name,
                                     fedc_error *err) {
    fedc_catalog *c = catalog_new(err);
    if (c && json && apply_override(c, json, len, name ? name : "catalog override", err) != 0) {
        fedc_catalog_free(c);
        return NULL;
    }
    return c;
}

fedc_catalog *fedc_catalog_load(const char *override_path, fedc_error *err) {
    const char *path = override_path ? override_path : getenv("FEDC_DATA_CATALOG");
    if (!path || !*path)
        return catalog_new(err);
    uint8_t *buf;
    size_t len;
    if (data_read_file(path, FEDC_CATALOG_OVERRIDE_MAX, &buf, &len, err) != 0) {
        fedc_fail_prefix(err, "catalog override (FEDC_DATA_CATALOG): ");
        return NULL;
    }
    fedc_catalog *c = fedc_catalog_load_json((const char *)buf, len, path, err);
    free(buf);
    return c;
}

void fedc_catalog_free(fedc_catalog *c) {
    if (!c)
        return;
    free(c->entries);
    free(c);
}

int fedc_catalog_count(const fedc_catalog *c) { return c ? c->n : 0; }

const fedc_catalog_entry *fedc_catalog_at(const fedc_catalog *c, int i) {
    return c && i >= 0 && i < c->n ? &c->entries[i] : NULL;
}

const fedc_catalog_entry *fedc_catalog_find(const fedc_catalog *c, const char *name) {
    if (!c || !name)
        return NULL;
    for (int i = 0; i < c->n; i++)
        if (catalog_name_matches(&c->entries[i], name))
            return &c->entries[i];
    return NULL;
}
