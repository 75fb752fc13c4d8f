/* MATLAB level-5 MAT-file reader; see mat5.h for the layout. */
#include "data/mat5.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HEADER_LEN 128
#define PATH_MAX_LEN 256
/* zlib counts in unsigned int. */
#define ZCHUNK ((size_t)1 << 30)

typedef struct parser {
    const char *name;
    int swap;
    size_t arrays;      /* arrays parsed so far (bounded) */
    mat5_file *f;
    size_t max_inflate;
    fedc_error *err;
} parser;

typedef struct tag {
    uint32_t type;
    size_t nbytes;
    const uint8_t *data;
    size_t next;        /* offset of the following element in its container */
} tag;

static uint32_t rd32(const parser *p, const uint8_t *b) {
    if (p->swap)
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

size_t mat5_dtype_size(int dtype) {
    switch (dtype) {
    case MAT5_MI_INT8:
    case MAT5_MI_UINT8:
    case MAT5_MI_UTF8: return 1;
    case MAT5_MI_INT16:
    case MAT5_MI_UINT16:
    case MAT5_MI_UTF16: return 2;
    case MAT5_MI_INT32:
    case MAT5_MI_UINT32:
    case MAT5_MI_SINGLE:
    case MAT5_MI_UTF32: return 4;
    case MAT5_MI_DOUBLE:
    case MAT5_MI_INT64:
    case MAT5_MI_UINT64: return 8;
    default: return 0;
    }
}

const char *mat5_class_name(int mclass) {
    static const char *const names[] = {"unknown", "cell",   "struct", "object", "char",
                                        "sparse",  "double", "single", "int8",   "uint8",
                                        "int16",   "uint16", "int32",  "uint32", "int64",
                                        "uint64"};
    return mclass >= 0 && mclass <= MAT5_UINT64 ? names[mclass] : "unknown";
}

static int fail_at(parser *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(parser *p, const char *path, const char *fmt, ...) {
    char msg[FEDC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        return fedc_fail(p->err, "%s: %s: %s", p->name, path, msg);
    return fedc_fail(p->err, "%s: %s", p->name, msg);
}

/* The element at pos of buf[0..len): a full tag (type, count, data padded to
 * 8 bytes) or a small element (count <= 4 in the upper half of the first
 * word, data in the second word). */
static int read_tag(parser *p, const uint8_t *buf, size_t len, size_t pos, const char *path,
                    const char *what, tag *t) {
    if (pos > len || len - pos < 8)
        return fail_at(p, path, "truncated: %s element needs 8 bytes at offset %zu, %zu left", what,
                       pos, pos > len ? 0 : len - pos);
    uint32_t w = rd32(p, buf + pos);
    if (w >> 16) {
        t->type = w & 0xFFFF;
        t->nbytes = w >> 16;
        if (t->nbytes > 4)
            return fail_at(p, path, "%s: small element of %zu bytes (at most 4)", what, t->nbytes);
        t->data = buf + pos + 4;
        t->next = pos + 8;
        return 0;
    }
    t->type = w;
    t->nbytes = rd32(p, buf + pos + 4);
    if (t->nbytes > len - pos - 8)
        return fail_at(p, path, "truncated: the %s element at offset %zu declares %zu bytes but only %zu "
                                "follow",
                       what, pos, t->nbytes, len - pos - 8);
    t->data = buf + pos + 8;
    size_t padded = (t->nbytes + 7) & ~(size_t)7;
    t->next = padded > len - pos - 8 ? len : pos + 8 + padded;
    return 0;
}

static int parse_matrix(parser *p, const uint8_t *d, size_t n, mat5_array *a, int depth,
                        const char *path);

static int child_path(char *out, size_t cap, const char *path, const char *name, uint64_t idx,
                      int indexed) {
    int w = indexed ? snprintf(out, cap, "%s{%llu}", path, (unsigned long long)idx + 1)
                    : snprintf(out, cap, "%s%s%s", path, *path ? "." : "", name);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int parse_children(parser *p, const uint8_t *d, size_t n, size_t pos, mat5_array *a,
                          int depth, const char *path) {
    /* a struct has one value per element and field, a cell one per element */
    uint64_t count = a->mclass == MAT5_STRUCT ? a->numel * (uint64_t)a->nfields : a->numel;
    if (count > MAT5_MAX_ARRAYS - p->arrays)
        return fail_at(p, path, "%llu %s values: more than the %d arrays a file may hold",
                       (unsigned long long)count, mat5_class_name(a->mclass), MAT5_MAX_ARRAYS);
    a->values = calloc(count ? (size_t)count : 1, sizeof *a->values);
    if (!a->values)
        return fail_at(p, path, "out of memory");
    a->nvalues = (size_t)count;
    for (uint64_t i = 0; i < count; i++) {
        char sub[PATH_MAX_LEN];
        if (a->nfields)
            child_path(sub, sizeof sub, path, a->field_names[i % (uint64_t)a->nfields], 0, 0);
        else
            child_path(sub, sizeof sub, path, NULL, i, 1);
        tag t = {0};
        if (read_tag(p, d, n, pos, sub, "value", &t) != 0)
            return -1;
        if (t.type != MAT5_MI_MATRIX)
            return fail_at(p, sub, "element type %u where an array (miMATRIX) was expected", t.type);
        if (parse_matrix(p, t.data, t.nbytes, &a->values[i], depth + 1, sub) != 0)
            return -1;
        pos = t.next;
    }
    return 0;
}

static int parse_struct_fields(parser *p, const uint8_t *d, size_t n, size_t *pos, mat5_array *a,
                               const char *path) {
    tag t = {0};
    if (read_tag(p, d, n, *pos, path, "field name length", &t) != 0)
        return -1;
    if (t.type != MAT5_MI_INT32 || t.nbytes != 4)
        return fail_at(p, path, "field name length: type %u of %zu bytes, expected one int32",
                       t.type, t.nbytes);
    uint32_t flen = rd32(p, t.data);
    if (flen < 1 || flen > MAT5_NAME_MAX)
        return fail_at(p, path, "field name length %u: allowed 1..%d", flen, MAT5_NAME_MAX);
    *pos = t.next;
    if (read_tag(p, d, n, *pos, path, "field names", &t) != 0)
        return -1;
    if (t.type != MAT5_MI_INT8 || t.nbytes % flen != 0)
        return fail_at(p, path,
                       "field names: type %u of %zu bytes, expected int8 text in %u-byte slots",
                       t.type, t.nbytes, flen);
    size_t nf = t.nbytes / flen;
    if (nf > MAT5_MAX_FIELDS)
        return fail_at(p, path, "%zu fields: at most %d allowed", nf, MAT5_MAX_FIELDS);
    a->nfields = (int)nf;
    a->field_names = calloc(nf ? nf : 1, sizeof *a->field_names);
    if (!a->field_names)
        return fail_at(p, path, "out of memory");
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *s = t.data + i * flen;
        size_t k = 0;
        while (k < flen && s[k])
            k++;
        if (k >= MAT5_NAME_MAX)
            return fail_at(p, path, "field %zu: name not terminated within %u bytes", i + 1, flen);
        memcpy(a->field_names[i], s, k);
        a->field_names[i][k] = 0;
    }
    *pos = t.next;
    return 0;
}

static int parse_matrix(parser *p, const uint8_t *d, size_t n, mat5_array *a, int depth,
                        const char *path) {
    memset(a, 0, sizeof *a);
    a->swap = p->swap;
    if (depth > MAT5_MAX_DEPTH)
        return fail_at(p, path, "arrays nested more than %d deep", MAT5_MAX_DEPTH);
    if (++p->arrays > MAT5_MAX_ARRAYS)
        return fail_at(p, path, "more than %d arrays in the file", MAT5_MAX_ARRAYS);
    if (n == 0) { /* an empty array is stored as an empty element */
        a->mclass = MAT5_DOUBLE;
        a->ndims = 2;
        return 0;
    }
    tag t = {0};
    size_t pos = 0;
    if (read_tag(p, d, n, pos, path, "array flags", &t) != 0)
        return -1;
    if (t.type != MAT5_MI_UINT32 || t.nbytes != 8)
        return fail_at(p, path, "array flags: type %u of %zu bytes, expected 2 uint32", t.type,
                       t.nbytes);
    uint32_t flags = rd32(p, t.data);
    a->mclass = (int)(flags & 0xFF);
    a->complex = (flags & 0x800) != 0;
    a->logical = (flags & 0x200) != 0;
    if (a->mclass < MAT5_CELL || a->mclass > MAT5_UINT64)
        return fail_at(p, path, "unknown array class %d", a->mclass);
    pos = t.next;
    if (read_tag(p, d, n, pos, path, "dimensions", &t) != 0)
        return -1;
    if (t.type != MAT5_MI_INT32 || t.nbytes % 4 || t.nbytes / 4 < 2 ||
        t.nbytes / 4 > MAT5_MAX_DIMS)
        return fail_at(p, path, "dimensions: type %u of %zu bytes, expected 2..%d int32", t.type,
                       t.nbytes, MAT5_MAX_DIMS);
    a->ndims = (int)(t.nbytes / 4);
    a->numel = 1;
    for (int i = 0; i < a->ndims; i++) {
        uint32_t v = rd32(p, t.data + 4 * i);
        if (v > INT32_MAX)
            return fail_at(p, path, "dimension %d is negative", i + 1);
        a->dims[i] = v;
        if (v && a->numel > ((uint64_t)1 << 48) / v)
            return fail_at(p, path, "more than 2^48 elements");
        a->numel *= v;
    }
    pos = t.next;
    if (read_tag(p, d, n, pos, path, "array name", &t) != 0)
        return -1;
    if (t.type != MAT5_MI_INT8 && t.type != MAT5_MI_UTF8)
        return fail_at(p, path, "array name: element type %u, expected int8 text", t.type);
    if (t.nbytes >= MAT5_NAME_MAX)
        return fail_at(p, path, "array name of %zu bytes: at most %d allowed", t.nbytes,
                       MAT5_NAME_MAX - 1);
    memcpy(a->name, t.data, t.nbytes);
    a->name[t.nbytes] = 0;
    if (memchr(a->name, 0, t.nbytes))
        return fail_at(p, path, "array name holds a NUL byte");
    pos = t.next;
    char here[PATH_MAX_LEN];
    snprintf(here, sizeof here, "%s", *path ? path : a->name);
    switch (a->mclass) {
    case MAT5_STRUCT:
        if (parse_struct_fields(p, d, n, &pos, a, here) != 0)
            return -1;
        return parse_children(p, d, n, pos, a, depth, here);
    case MAT5_CELL:
        return parse_children(p, d, n, pos, a, depth, here);
    case MAT5_OBJECT:
    case MAT5_SPARSE:
        return 0; /* kept as opaque: nothing fedc reads is stored this way */
    default:
        break;
    }
    if (read_tag(p, d, n, pos, here, "real part", &t) != 0)
        return -1;
    size_t es = mat5_dtype_size((int)t.type);
    if (!es)
        return fail_at(p, here, "%s array stored as element type %u, not a number type",
                       mat5_class_name(a->mclass), t.type);
    if (t.nbytes / es != a->numel || t.nbytes % es)
        return fail_at(p, here,
                       "%s array of %llu elements holds %zu bytes of element type %u (%zu "
                       "bytes each): sizes disagree",
                       mat5_class_name(a->mclass), (unsigned long long)a->numel, t.nbytes, t.type,
                       es);
    a->dtype = (int)t.type;
    a->data = t.data;
    a->nbytes = t.nbytes;
    if (a->complex) {
        pos = t.next;
        if (read_tag(p, d, n, pos, here, "imaginary part", &t) != 0)
            return -1;
    }
    return 0;
}

/* Inflates a compressed element (a zlib stream) into a new buffer owned by
 * the file. */
static int inflate_element(parser *p, const uint8_t *in, size_t len, uint8_t **out, size_t *olen,
                           const char *path) {
    mat5_file *f = p->f;
    size_t budget = p->max_inflate - f->inflated_bytes;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return fail_at(p, path, "cannot start decompression (out of memory)");
    size_t cap = len * 4 < ((size_t)1 << 16) ? ((size_t)1 << 16) : len * 4;
    if (cap > budget + 1)
        cap = budget + 1;
    uint8_t *buf = malloc(cap ? cap : 1);
    size_t done = 0, in_pos = 0;
    int rc = -1;
    if (!buf) {
        fail_at(p, path, "out of memory");
        goto out;
    }
    for (;;) {
        if (done > budget) {
            fail_at(p, path, "compressed element inflates to more than the %zu bytes allowed",
                    p->max_inflate);
            goto out;
        }
        if (done == cap) {
            size_t ncap = cap * 2 > budget + 1 ? budget + 1 : cap * 2;
            uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                fail_at(p, path, "out of memory inflating a compressed element (%zu bytes)", ncap);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t feed = len - in_pos < ZCHUNK ? len - in_pos : ZCHUNK;
        size_t room = cap - done < ZCHUNK ? cap - done : ZCHUNK;
        zs.next_in = (Bytef *)(uintptr_t)(in + in_pos);
        zs.avail_in = (uInt)feed;
        zs.next_out = buf + done;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        in_pos += feed - zs.avail_in;
        done += room - zs.avail_out;
        if (z == Z_STREAM_END)
            break;
        if (z == Z_OK || (z == Z_BUF_ERROR && zs.avail_out == 0))
            continue;
        if (z == Z_BUF_ERROR)
            fail_at(p, path, "compressed element is truncated (%zu bytes inflated)", done);
        else
            fail_at(p, path, "corrupt compressed element after %zu bytes: %s", done,
                    zs.msg ? zs.msg : "unknown zlib error");
        goto out;
    }
    uint8_t **list = realloc(f->inflated, (size_t)(f->ninflated + 1) * sizeof *list);
    if (!list) {
        fail_at(p, path, "out of memory");
        goto out;
    }
    f->inflated = list;
    f->inflated[f->ninflated++] = buf;
    f->inflated_bytes += done;
    *out = buf;
    *olen = done;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    inflateEnd(&zs);
    return rc;
}

static int add_var(parser *p, mat5_array **slot) {
    mat5_file *f = p->f;
    if (f->nvars >= MAT5_MAX_ARRAYS)
        return fedc_fail(p->err, "%s: more than %d variables", p->name, MAT5_MAX_ARRAYS);
    mat5_array *v = realloc(f->vars, (size_t)(f->nvars + 1) * sizeof *v);
    if (!v)
        return fedc_fail(p->err, "%s: out of memory", p->name);
    f->vars = v;
    *slot = &f->vars[f->nvars++];
    memset(*slot, 0, sizeof **slot);
    return 0;
}

int mat5_parse(const uint8_t *buf, size_t len, const char *name, size_t max_inflate,
               mat5_file *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    parser p = {name ? name : "MAT-file", 0, 0, out, max_inflate, err};
    if (len < HEADER_LEN)
        return fedc_fail(err, "%s: %zu bytes: too short for a MAT-file's %d-byte header", p.name,
                         len, HEADER_LEN);
    if (len >= 4 && buf[0] == 0x89 && memcmp(buf + 1, "HDF", 3) == 0)
        return fedc_fail(err, "%s: an HDF5 file, not a MATLAB level-5 MAT-file", p.name);
    memcpy(out->text, buf, 116);
    out->text[116] = 0;
    for (int i = 115; i >= 0 && (out->text[i] == ' ' || out->text[i] == 0); i--)
        out->text[i] = 0;
    if (memcmp(buf, "MATLAB", 6) != 0)
        return fedc_fail(err, "%s: not a MAT-file (the header text does not start with MATLAB)",
                         p.name);
    if (strstr(out->text, "MATLAB 7.3"))
        return fedc_fail(err,
                         "%s: a MATLAB 7.3 (HDF5) file; only level-5 MAT-files (saved with -v7 "
                         "or -v6) are read",
                         p.name);
    if (buf[126] == 'I' && buf[127] == 'M')
        p.swap = 0;
    else if (buf[126] == 'M' && buf[127] == 'I')
        p.swap = 1;
    else
        return fedc_fail(err, "%s: bad endian indicator 0x%02x%02x at byte 126 (expected IM or MI)",
                         p.name, buf[126], buf[127]);
    unsigned version = p.swap ? (unsigned)(buf[124] << 8 | buf[125]) : (unsigned)(buf[125] << 8 | buf[124]);
    if (version != 0x0100)
        return fedc_fail(err, "%s: MAT-file version 0x%04x; only level 5 (0x0100) is read", p.name,
                         version);
    size_t pos = HEADER_LEN;
    while (pos < len) {
        tag t = {0};
        if (read_tag(&p, buf, len, pos, "", "variable", &t) != 0)
            goto fail;
        if (t.type == MAT5_MI_COMPRESSED) {
            char where[64];
            snprintf(where, sizeof where, "compressed element at offset %zu", pos);
            uint8_t *z = NULL;
            size_t zlen = 0;
            if (inflate_element(&p, t.data, t.nbytes, &z, &zlen, where) != 0)
                goto fail;
            tag inner = {0};
            if (read_tag(&p, z, zlen, 0, where, "variable", &inner) != 0)
                goto fail;
            if (inner.type != MAT5_MI_MATRIX) {
                fedc_fail(err, "%s: %s inflates to element type %u, expected an array (miMATRIX)",
                          p.name, where, inner.type);
                goto fail;
            }
            mat5_array *v;
            if (add_var(&p, &v) != 0 || parse_matrix(&p, inner.data, inner.nbytes, v, 0, "") != 0)
                goto fail;
            /* Compressed elements are not padded: the next one follows. */
            pos = (size_t)(t.data - buf) + t.nbytes;
        } else if (t.type == MAT5_MI_MATRIX) {
            mat5_array *v;
            if (add_var(&p, &v) != 0 || parse_matrix(&p, t.data, t.nbytes, v, 0, "") != 0)
                goto fail;
            pos = t.next;
        } else {
            pos = t.next; /* not a variable: skipped */
        }
    }
    return 0;
fail:
    mat5_free(out);
    return -1;
}

static void free_array(mat5_array *a) {
    for (size_t i = 0; i < a->nvalues; i++)
        free_array(&a->values[i]);
    free(a->values);
    free(a->field_names);
    a->values = NULL;
    a->field_names = NULL;
    a->nvalues = 0;
}

void mat5_free(mat5_file *f) {
    if (!f)
        return;
    for (int i = 0; i < f->nvars; i++)
        free_array(&f->vars[i]);
    free(f->vars);
    for (int i = 0; i < f->ninflated; i++)
        free(f->inflated[i]);
    free(f->inflated);
    memset(f, 0, sizeof *f);
}

const mat5_array *mat5_var(const mat5_file *f, const char *name) {
    for (int i = 0; i < f->nvars; i++)
        if (!strcmp(f->vars[i].name, name))
            return &f->vars[i];
    return NULL;
}

const mat5_array *mat5_field(const mat5_array *s, uint64_t elem, const char *field) {
    if (!s || s->mclass != MAT5_STRUCT || elem >= s->numel)
        return NULL;
    for (int k = 0; k < s->nfields; k++)
        if (!strcmp(s->field_names[k], field))
            return &s->values[elem * (uint64_t)s->nfields + (uint64_t)k];
    return NULL;
}

double mat5_get(const mat5_array *a, uint64_t i) {
    size_t es = mat5_dtype_size(a->dtype);
    if (!a->data || !es || i >= a->numel)
        return 0;
    /* The element's bits from its bytes in file order. */
    const uint8_t *b = a->data + i * es;
    uint64_t u = 0;
    for (size_t k = 0; k < es; k++)
        u |= (uint64_t)b[a->swap ? es - 1 - k : k] << (8 * k);
    switch (a->dtype) {
    case MAT5_MI_INT8: return (int8_t)(uint8_t)u;
    case MAT5_MI_INT16: return (int16_t)(uint16_t)u;
    case MAT5_MI_INT32: return (int32_t)(uint32_t)u;
    case MAT5_MI_INT64: return (double)(int64_t)u;
    case MAT5_MI_SINGLE: {
        uint32_t bits = (uint32_t)u;
        float x;
        memcpy(&x, &bits, 4);
        return x;
    }
    case MAT5_MI_DOUBLE: {
        double x;
        memcpy(&x, &u, 8);
        return x;
    }
    default: return (double)u; /* unsigned integers and text code units */
    }
}
