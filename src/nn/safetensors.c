/* Model files in the safetensors format (https://huggingface.co/docs/safetensors):
 *   u64 little-endian N | N bytes of JSON header | raw little-endian data
 * Header: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}
 * with offsets relative to the data section. We write one F32 tensor per
 * fedc_tensor_info, in parameter order, header padded with spaces to a
 * multiple of 8. The loader treats the file as hostile: every length and
 * offset is checked before use, the data section must be exactly covered by
 * the arch's tensors, and params is written only once everything checked out. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn_internal.h"

#define ST_MAX_HEADER (16u << 20) /* far above any fedc header (~10 KB) */
#define ST_META_FORMAT "fedc"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the file format is little-endian)"
#endif

/* ---------- saving ---------- */

static json_t *build_header(const fedc_named_tensor *ts, int n, const char *arch, const char *const *meta_kv,
                            int n_meta, fedc_error *err) {
    json_t *root = json_object(), *meta = json_object();
    if (!root || !meta) goto oom;
    json_object_set_new(root, "__metadata__", meta);
    json_object_set_new(meta, "format", json_string(ST_META_FORMAT));
    json_object_set_new(meta, "arch", json_string(arch));
    for (int i = 0; i < n_meta; i++) {
        const char *k = meta_kv[2 * i], *v = meta_kv[2 * i + 1];
        if (!k || !v || !*k) {
            fedc_fail(err, "safetensors metadata entry %d: key and value must be non-empty strings", i);
            goto fail;
        }
        if (strcmp(k, "format") == 0 || strcmp(k, "arch") == 0) {
            fedc_fail(err, "safetensors metadata key \"%s\" is reserved (set by fedc)", k);
            goto fail;
        }
        json_t *s = json_string(v);
        if (!s) {
            fedc_fail(err, "safetensors metadata \"%.60s\": value is not valid UTF-8", k);
            goto fail;
        }
        if (json_object_set_new(meta, k, s) < 0) {
            fedc_fail(err, "safetensors metadata key \"%.60s\" is not valid UTF-8", k);
            goto fail;
        }
    }
    for (int i = 0; i < n; i++) {
        const fedc_named_tensor *t = &ts[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer((json_int_t)t->dims[d]));
        json_t *desc = json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape, "data_offsets",
                                 (json_int_t)(t->offset * sizeof(float)),
                                 (json_int_t)((t->offset + t->count) * sizeof(float)));
        if (!desc) goto oom;
        json_object_set_new(root, t->name, desc);
    }
    return root;
oom:
    fedc_fail(err, "safetensors: out of memory building the header");
fail:
    json_decref(root);
    return NULL;
}

static int write_all(FILE *f, const void *p, size_t n) {
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int fedc_safetensors_save_named(const char *path, const fedc_named_tensor *ts, int n, const float *params,
                                const char *arch, const char *const *meta_kv, int n_meta, fedc_error *err) {
    if (!path || !ts || n < 1 || !params || !arch || n_meta < 0 || (n_meta > 0 && !meta_kv))
        return fedc_fail(err, "safetensors save: invalid arguments");
    size_t n_params = 0;
    for (int i = 0; i < n; i++)
        if (ts[i].offset + ts[i].count > n_params) n_params = ts[i].offset + ts[i].count;
    json_t *root = build_header(ts, n, arch, meta_kv, n_meta, err);
    if (!root) return -1;
    char *json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!json) return fedc_fail(err, "safetensors save %s: out of memory", path);
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8;
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)((uint64_t)padded >> (8 * i));

    /* Write a sibling temp file and rename it, so readers never see half a file. */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(json);
        return fedc_fail(err, "safetensors save %s: out of memory", path);
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fedc_fail(err, "safetensors save %s: cannot create a temporary file: %s", path, strerror(errno));
        free(json);
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644); /* mkstemp creates 0600; a model file is ordinary data */
    FILE *f = fdopen(fd, "wb");
    int rc = f ? 0 : -1;
    if (f) {
        static const char spaces[8] = "        ";
        rc |= write_all(f, lenbuf, 8);
        rc |= write_all(f, json, jlen);
        rc |= write_all(f, spaces, padded - jlen);
        rc |= write_all(f, params, n_params * sizeof *params);
        rc |= fflush(f);
        rc |= fsync(fileno(f));
        rc |= fclose(f);
    } else {
        close(fd);
    }
    free(json);
    if (rc != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return fedc_fail(err, "safetensors save %s: write failed: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

int fedc_safetensors_save(const char *path, const fedc_arch *a, const float *params,
                          const char *const *meta_kv, int n_meta, fedc_error *err) {
    if (!path || !a || !params || n_meta < 0 || (n_meta > 0 && !meta_kv))
        return fedc_fail(err, "safetensors save: invalid arguments");
    fedc_named_tensor ts[NN_MAX_TENSORS];
    int64_t dims[NN_MAX_TENSORS][4];
    if (a->n_tensors > NN_MAX_TENSORS) return fedc_fail(err, "safetensors save: too many tensors");
    for (int i = 0; i < a->n_tensors; i++) {
        const fedc_tensor_info *t = &a->tensors[i];
        for (int d = 0; d < t->ndim; d++) dims[i][d] = t->dims[d];
        ts[i] = (fedc_named_tensor){t->name, t->ndim, dims[i], t->offset, t->count};
    }
    return fedc_safetensors_save_named(path, ts, a->n_tensors, params, a->spec, meta_kv, n_meta, err);
}

/* ---------- loading ---------- */

typedef struct st_plan {
    size_t begin[NN_MAX_TENSORS]; /* byte offset of each arch tensor in the data section */
} st_plan;

static int find_tensor(const fedc_arch *a, const char *name) {
    for (int i = 0; i < a->n_tensors; i++)
        if (strcmp(a->tensors[i].name, name) == 0) return i;
    return -1;
}

static void format_dims(char *out, size_t cap, const int *dims, int ndim) {
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < ndim && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, d ? ",%d" : "%d", dims[d]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

static int check_metadata(const char *src, json_t *meta, const fedc_arch *a, fedc_error *err) {
    if (!json_is_object(meta))
        return fedc_fail(err, "%s: \"__metadata__\" must be an object of strings", src);
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v) {
        if (!json_is_string(v))
            return fedc_fail(err, "%s: __metadata__ \"%.60s\" is not a string (safetensors allows only strings)",
                             src, key);
    }
    json_t *arch = json_object_get(meta, "arch");
    if (arch && strcmp(json_string_value(arch), a->spec) != 0)
        return fedc_fail(err, "%s: model was saved for arch \"%.200s\", not \"%.200s\"", src,
                         json_string_value(arch), a->spec);
    return 0;
}

static int check_tensor(const char *src, const char *name, json_t *desc, const fedc_tensor_info *t,
                        size_t data_len, size_t *begin, fedc_error *err) {
    char want[64], got[64];
    if (!json_is_object(desc))
        return fedc_fail(err, "%s: tensor \"%s\" must be an object with dtype, shape, data_offsets", src, name);
    json_t *dtype = json_object_get(desc, "dtype"), *shape = json_object_get(desc, "shape");
    json_t *offs = json_object_get(desc, "data_offsets");
    if (!json_is_string(dtype) || strcmp(json_string_value(dtype), "F32") != 0)
        return fedc_fail(err, "%s: tensor \"%s\" dtype %.20s%s%s; only \"F32\" is supported", src, name,
                         json_is_string(dtype) ? "\"" : "", json_is_string(dtype) ? json_string_value(dtype) : "missing",
                         json_is_string(dtype) ? "\"" : "");
    format_dims(want, sizeof want, t->dims, t->ndim);
    int ok = json_is_array(shape) && (int)json_array_size(shape) == t->ndim;
    for (int d = 0; ok && d < t->ndim; d++) {
        json_t *e = json_array_get(shape, (size_t)d);
        ok = json_is_integer(e) && json_integer_value(e) == t->dims[d];
    }
    if (!ok) {
        char *s = json_is_array(shape) ? json_dumps(shape, JSON_COMPACT) : NULL;
        snprintf(got, sizeof got, "%.60s", s ? s : "missing or not an array");
        free(s);
        return fedc_fail(err, "%s: tensor \"%s\" has shape %s but the arch expects %s", src, name, got, want);
    }
    json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(b) || !json_is_integer(e))
        return fedc_fail(err, "%s: tensor \"%s\" data_offsets must be [begin, end] integers", src, name);
    json_int_t bi = json_integer_value(b), ei = json_integer_value(e);
    size_t bytes = t->count * sizeof(float);
    if (bi < 0 || ei < bi || (uint64_t)ei > (uint64_t)data_len || (uint64_t)(ei - bi) != bytes)
        return fedc_fail(err, "%s: tensor \"%s\" data_offsets [%lld, %lld] invalid; need %zu bytes within the %zu-byte data section",
                         src, name, (long long)bi, (long long)ei, bytes, data_len);
    *begin = (size_t)bi;
    return 0;
}

/* Checks the JSON header against the arch and the data section length. */
static int parse_header(const char *src, const char *json, size_t jlen, size_t data_len,
                        const fedc_arch *a, st_plan *plan, fedc_error *err) {
    json_error_t jerr;
    json_t *root = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fedc_fail(err, "%s: header JSON invalid at byte %d: %s", src, jerr.position + 8, jerr.text);
    int rc = -1, seen[NN_MAX_TENSORS] = {0};
    const char *key;
    json_t *val;
    if (!json_is_object(root)) {
        fedc_fail(err, "%s: header must be a JSON object", src);
        goto out;
    }
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (check_metadata(src, val, a, err) < 0) goto out;
            continue;
        }
        int i = find_tensor(a, key);
        if (i < 0) {
            fedc_fail(err, "%s: unexpected tensor \"%.60s\"; the arch has %d tensors (%s ... %s)", src, key,
                      a->n_tensors, a->tensors[0].name, a->tensors[a->n_tensors - 1].name);
            goto out;
        }
        if (check_tensor(src, key, val, &a->tensors[i], data_len, &plan->begin[i], err) < 0) goto out;
        seen[i] = 1;
    }
    for (int i = 0; i < a->n_tensors; i++) {
        if (!seen[i]) {
            fedc_fail(err, "%s: tensor \"%s\" is missing", src, a->tensors[i].name);
            goto out;
        }
    }
    /* No two tensors may share bytes, and together they cover the data. */
    for (int i = 0; i < a->n_tensors; i++) {
        size_t bi = plan->begin[i], ei = bi + a->tensors[i].count * sizeof(float);
        for (int j = i + 1; j < a->n_tensors; j++) {
            size_t bj = plan->begin[j], ej = bj + a->tensors[j].count * sizeof(float);
            if (bi < ej && bj < ei) {
                fedc_fail(err, "%s: tensors \"%s\" and \"%s\" overlap in the data section", src,
                          a->tensors[i].name, a->tensors[j].name);
                goto out;
            }
        }
    }
    if (data_len != a->n_params * sizeof(float)) {
        fedc_fail(err, "%s: data section has %zu bytes but the tensors cover %zu", src, data_len,
                  a->n_params * sizeof(float));
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Header length prefix: bounded and inside the input of total size len. */
static int header_length(const char *src, const uint8_t lenbuf[8], size_t len, size_t *hlen,
                         fedc_error *err) {
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h |= (uint64_t)lenbuf[i] << (8 * i);
    if (h == 0 || h > ST_MAX_HEADER || h > len - 8)
        return fedc_fail(err, "%s: header length %llu invalid; must be in [1, %u] and fit in the %zu-byte file",
                         src, (unsigned long long)h, ST_MAX_HEADER, len);
    *hlen = (size_t)h;
    return 0;
}

/* Moves staged values into params after rejecting non-finite ones. */
static int commit(const char *src, const fedc_arch *a, const float *staged, float *params,
                  fedc_error *err) {
    for (int i = 0; i < a->n_tensors; i++) {
        const fedc_tensor_info *t = &a->tensors[i];
        for (size_t j = 0; j < t->count; j++) {
            if (!isfinite(staged[t->offset + j]))
                return fedc_fail(err, "%s: tensor \"%s\" element %zu is %f; values must be finite", src,
                                 t->name, j, (double)staged[t->offset + j]);
        }
    }
    memcpy(params, staged, a->n_params * sizeof *params);
    return 0;
}

int fedc_safetensors_load_mem(const void *data, size_t len, const char *name, const fedc_arch *a,
                              float *params, fedc_error *err) {
    const char *src = name ? name : "safetensors";
    const uint8_t *p = data;
    size_t hlen = 0;
    st_plan plan;
    if (!a || !params || (!data && len))
        return fedc_fail(err, "%s: invalid arguments", src);
    if (len < 8)
        return fedc_fail(err, "%s: %zu bytes is too short; need an 8-byte header length", src, len);
    if (header_length(src, p, len, &hlen, err) < 0) return -1;
    size_t data_len = len - 8 - hlen;
    if (parse_header(src, (const char *)p + 8, hlen, data_len, a, &plan, err) < 0) return -1;
    float *staged = malloc(a->n_params * sizeof *staged);
    if (!staged) return fedc_fail(err, "%s: out of memory", src);
    for (int i = 0; i < a->n_tensors; i++)
        memcpy(staged + a->tensors[i].offset, p + 8 + hlen + plan.begin[i],
               a->tensors[i].count * sizeof(float));
    int rc = commit(src, a, staged, params, err);
    free(staged);
    return rc;
}

int fedc_safetensors_load(const char *path, const fedc_arch *a, float *params, fedc_error *err) {
    if (!path || !a || !params) return fedc_fail(err, "safetensors load: invalid arguments");
    FILE *f = fopen(path, "rb");
    if (!f) return fedc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    char *json = NULL;
    float *staged = NULL;
    int rc = -1;
    uint8_t lenbuf[8];
    size_t hlen = 0;
    st_plan plan;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fedc_fail(err, "%s: not a regular file", path);
        goto out;
    }
    size_t len = (size_t)st.st_size;
    if (len < 8 || fread(lenbuf, 1, 8, f) != 8) {
        fedc_fail(err, "%s: %zu bytes is too short; need an 8-byte header length", path, len);
        goto out;
    }
    if (header_length(path, lenbuf, len, &hlen, err) < 0) goto out;
    if (!(json = malloc(hlen)) || fread(json, 1, hlen, f) != hlen) {
        fedc_fail(err, "%s: cannot read the %zu-byte header", path, hlen);
        goto out;
    }
    if (parse_header(path, json, hlen, len - 8 - hlen, a, &plan, err) < 0) goto out;
    if (!(staged = malloc(a->n_params * sizeof *staged))) {
        fedc_fail(err, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < a->n_tensors; i++) {
        const fedc_tensor_info *t = &a->tensors[i];
        if (fseeko(f, (off_t)(8 + hlen + plan.begin[i]), SEEK_SET) != 0 ||
            fread(staged + t->offset, sizeof(float), t->count, f) != t->count) {
            fedc_fail(err, "%s: cannot read tensor \"%s\"", path, t->name);
            goto out;
        }
    }
    rc = commit(path, a, staged, params, err);
out:
    free(json);
    free(staged);
    fclose(f);
    return rc;
}
