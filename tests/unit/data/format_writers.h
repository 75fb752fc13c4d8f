/* Writers of the catalog's container formats for the data layer's tests:
 * gzip in memory, tar (ustar, GNU long names), zip (stored or deflated)
 * and MATLAB level-5 MAT-files (numeric arrays, structs; compressed or not;
 * little- or big-endian). Each builds bytes in a growable buffer, written
 * from the format's specification, independently of the readers. */
#ifndef FEDC_TEST_FORMAT_WRITERS_H
#define FEDC_TEST_FORMAT_WRITERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

static inline void wb_put(wbuf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        b->p = realloc(b->p, nc);
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}
static inline void wb_zero(wbuf *b, size_t n) {
    uint8_t z[64] = {0};
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        wb_put(b, z, k);
        n -= k;
    }
}
static inline void wb_le16(wbuf *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    wb_put(b, x, 2);
}
static inline void wb_le32(wbuf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wb_put(b, x, 4);
}
static inline void wb_free(wbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- gzip (one member) ---- */
static inline void gzip_bytes(const void *src, size_t n, wbuf *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    uint8_t *tmp = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = tmp;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    wb_put(out, tmp, zs.total_out);
    deflateEnd(&zs);
    free(tmp);
}

/* ---- tar ---- */
static inline void tar_octal(uint8_t *f, size_t n, uint64_t v) {
    /* n-1 octal digits and a NUL */
    for (size_t i = n - 1; i-- > 0;) {
        f[i] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
    f[n - 1] = 0;
}
static inline void tar_header(wbuf *b, const char *name, size_t size, char type) {
    uint8_t h[512];
    memset(h, 0, sizeof h);
    snprintf((char *)h, 100, "%s", name);
    tar_octal(h + 100, 8, 0644);
    tar_octal(h + 108, 8, 0);
    tar_octal(h + 116, 8, 0);
    tar_octal(h + 124, 12, size);
    tar_octal(h + 136, 12, 1600000000);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    wb_put(b, h, 512);
}
static inline void tar_add(wbuf *b, const char *name, const void *data, size_t size) {
    if (strlen(name) >= 100) { /* GNU long name record first */
        tar_header(b, "././@LongLink", strlen(name) + 1, 'L');
        wb_put(b, name, strlen(name) + 1);
        wb_zero(b, (512 - (strlen(name) + 1) % 512) % 512);
    }
    tar_header(b, name, size, '0');
    wb_put(b, data, size);
    wb_zero(b, (512 - size % 512) % 512);
}
static inline void tar_end(wbuf *b) { wb_zero(b, 1024); }

/* ---- zip ---- */
typedef struct zip_w {
    wbuf data, cdir;
    int n;
} zip_w;
static inline void zip_add(zip_w *z, const char *name, const void *src, size_t n, int deflated) {
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), src, (uInt)n);
    wbuf comp = {0};
    if (deflated) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        size_t cap = deflateBound(&zs, (uLong)n) + 64;
        uint8_t *tmp = malloc(cap);
        zs.next_in = (Bytef *)(uintptr_t)src;
        zs.avail_in = (uInt)n;
        zs.next_out = tmp;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        wb_put(&comp, tmp, zs.total_out);
        deflateEnd(&zs);
        free(tmp);
    } else {
        wb_put(&comp, src, n);
    }
    uint32_t off = (uint32_t)z->data.len;
    uint16_t nl = (uint16_t)strlen(name);
    wb_le32(&z->data, 0x04034b50);
    wb_le16(&z->data, 20);
    wb_le16(&z->data, 0);
    wb_le16(&z->data, deflated ? 8 : 0);
    wb_le16(&z->data, 0);
    wb_le16(&z->data, 0x21);
    wb_le32(&z->data, crc);
    wb_le32(&z->data, (uint32_t)comp.len);
    wb_le32(&z->data, (uint32_t)n);
    wb_le16(&z->data, nl);
    wb_le16(&z->data, 0);
    wb_put(&z->data, name, nl);
    wb_put(&z->data, comp.p, comp.len);
    wb_le32(&z->cdir, 0x02014b50);
    wb_le16(&z->cdir, 20);
    wb_le16(&z->cdir, 20);
    wb_le16(&z->cdir, 0);
    wb_le16(&z->cdir, deflated ? 8 : 0);
    wb_le16(&z->cdir, 0);
    wb_le16(&z->cdir, 0x21);
    wb_le32(&z->cdir, crc);
    wb_le32(&z->cdir, (uint32_t)comp.len);
    wb_le32(&z->cdir, (uint32_t)n);
    wb_le16(&z->cdir, nl);
    wb_le16(&z->cdir, 0);
    wb_le16(&z->cdir, 0);
    wb_le16(&z->cdir, 0);
    wb_le16(&z->cdir, 0);
    wb_le32(&z->cdir, 0);
    wb_le32(&z->cdir, off);
    wb_put(&z->cdir, name, nl);
    z->n++;
    wb_free(&comp);
}
/* The archive's bytes into out (z is consumed). */
static inline void zip_finish(zip_w *z, wbuf *out) {
    uint32_t cd_off = (uint32_t)z->data.len;
    wb_put(out, z->data.p, z->data.len);
    wb_put(out, z->cdir.p, z->cdir.len);
    wb_le32(out, 0x06054b50);
    wb_le16(out, 0);
    wb_le16(out, 0);
    wb_le16(out, (uint16_t)z->n);
    wb_le16(out, (uint16_t)z->n);
    wb_le32(out, (uint32_t)z->cdir.len);
    wb_le32(out, cd_off);
    wb_le16(out, 0);
    wb_free(&z->data);
    wb_free(&z->cdir);
}

/* ---- MATLAB level 5 ---- */
enum { MI_INT8 = 1, MI_UINT8 = 2, MI_INT32 = 5, MI_UINT32 = 6, MI_DOUBLE = 9, MI_MATRIX = 14,
       MI_COMPRESSED = 15 };
enum { MX_STRUCT = 2, MX_DOUBLE = 6, MX_UINT8 = 9 };

typedef struct mat_w {
    int big; /* big-endian file */
} mat_w;

static inline void mw_u32(const mat_w *m, wbuf *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[m->big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
    wb_put(b, x, 4);
}
/* A data element: tag, data (elements of size es, byte-swapped for a
 * big-endian file), padding to 8 bytes. */
static inline void mw_element(const mat_w *m, wbuf *b, uint32_t type, const void *data, size_t n,
                              size_t es) {
    mw_u32(m, b, type);
    mw_u32(m, b, (uint32_t)n);
    const uint8_t *s = data;
    for (size_t i = 0; i < n; i += es)
        for (size_t k = 0; k < es; k++)
            wb_put(b, &s[i + (m->big ? es - 1 - k : k)], 1);
    wb_zero(b, (8 - n % 8) % 8);
}
/* The array header subelements: flags, dims, name. */
static inline void mw_array_head(const mat_w *m, wbuf *b, int mclass, const int32_t *dims,
                                 int ndims, const char *name) {
    uint32_t flags[2] = {(uint32_t)mclass, 0};
    mw_element(m, b, MI_UINT32, flags, 8, 4);
    mw_element(m, b, MI_INT32, dims, (size_t)ndims * 4, 4);
    mw_element(m, b, MI_INT8, name, strlen(name), 1);
}
/* A whole numeric miMATRIX element: class mclass, data stored as dtype. */
static inline void mw_numeric(const mat_w *m, wbuf *out, const char *name, int mclass,
                              const int32_t *dims, int ndims, int dtype, const void *data,
                              size_t nbytes, size_t es) {
    wbuf body = {0};
    mw_array_head(m, &body, mclass, dims, ndims, name);
    mw_element(m, &body, (uint32_t)dtype, data, nbytes, es);
    mw_u32(m, out, MI_MATRIX);
    mw_u32(m, out, (uint32_t)body.len);
    wb_put(out, body.p, body.len);
    wb_free(&body);
}
/* A 1x1 struct miMATRIX from already-encoded field values (each a whole
 * miMATRIX element with an empty name). */
static inline void mw_struct(const mat_w *m, wbuf *out, const char *name, const char *const *fields,
                             const wbuf *values, int nfields) {
    wbuf body = {0};
    int32_t dims[2] = {1, 1};
    mw_array_head(m, &body, MX_STRUCT, dims, 2, name);
    int32_t flen = 32;
    mw_element(m, &body, MI_INT32, &flen, 4, 4);
    char *names = calloc((size_t)nfields, 32);
    for (int i = 0; i < nfields; i++)
        snprintf(names + 32 * i, 32, "%s", fields[i]);
    mw_element(m, &body, MI_INT8, names, (size_t)nfields * 32, 1);
    free(names);
    for (int i = 0; i < nfields; i++)
        wb_put(&body, values[i].p, values[i].len);
    mw_u32(m, out, MI_MATRIX);
    mw_u32(m, out, (uint32_t)body.len);
    wb_put(out, body.p, body.len);
    wb_free(&body);
}
static inline void mw_header(const mat_w *m, wbuf *out) {
    char text[116];
    memset(text, ' ', sizeof text);
    const char *t = "MATLAB 5.0 MAT-file, written by fedc tests";
    memcpy(text, t, strlen(t));
    wb_put(out, text, 116);
    wb_zero(out, 8);
    uint8_t v[4];
    if (m->big) {
        v[0] = 0x01, v[1] = 0x00, v[2] = 'M', v[3] = 'I';
    } else {
        v[0] = 0x00, v[1] = 0x01, v[2] = 'I', v[3] = 'M';
    }
    wb_put(out, v, 4);
}
/* Appends one top-level variable (a whole element), compressed or not. */
static inline void mw_variable(const mat_w *m, wbuf *out, const wbuf *element, int compress) {
    if (!compress) {
        wb_put(out, element->p, element->len);
        return;
    }
    uLongf cap = compressBound((uLong)element->len);
    uint8_t *z = malloc(cap);
    compress2(z, &cap, element->p, (uLong)element->len, 6);
    mw_u32(m, out, MI_COMPRESSED);
    mw_u32(m, out, (uint32_t)cap);
    wb_put(out, z, cap);
    free(z);
}

#endif
