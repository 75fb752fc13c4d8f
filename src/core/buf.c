#include "fedc/buf.h"

#include <stdlib.h>
#include <string.h>

int fedc_buf_reserve(fedc_buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len) return -1;
    size_t need = b->len + extra;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int fedc_buf_append(fedc_buf *b, const void *p, size_t n) {
    if (n == 0) return 0;
    if (fedc_buf_reserve(b, n) != 0) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Little-endian encoders: byte-by-byte so the format is host independent. */
static int put_le(fedc_buf *b, uint64_t v, int nbytes) {
    uint8_t t[8];
    for (int i = 0; i < nbytes; i++) t[i] = (uint8_t)(v >> (8 * i));
    return fedc_buf_append(b, t, (size_t)nbytes);
}

int fedc_buf_put_u8(fedc_buf *b, uint8_t v) { return put_le(b, v, 1); }
int fedc_buf_put_u16(fedc_buf *b, uint16_t v) { return put_le(b, v, 2); }
int fedc_buf_put_u32(fedc_buf *b, uint32_t v) { return put_le(b, v, 4); }
int fedc_buf_put_u64(fedc_buf *b, uint64_t v) { return put_le(b, v, 8); }
int fedc_buf_put_f32(fedc_buf *b, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return put_le(b, u, 4);
}
int fedc_buf_put_f64(fedc_buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return put_le(b, u, 8);
}

void fedc_buf_clear(fedc_buf *b) { b->len = 0; }

void fedc_buf_free(fedc_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

fedc_reader fedc_reader_make(const void *p, size_t len) {
    fedc_reader r = {(const uint8_t *)p, len, 0};
    return r;
}

size_t fedc_reader_left(const fedc_reader *r) { return r->len - r->off; }

static int get_le(fedc_reader *r, uint64_t *v, int nbytes) {
    if (fedc_reader_left(r) < (size_t)nbytes) return -1;
    uint64_t x = 0;
    for (int i = 0; i < nbytes; i++) x |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)nbytes;
    *v = x;
    return 0;
}

int fedc_read_u8(fedc_reader *r, uint8_t *v) {
    uint64_t x;
    if (get_le(r, &x, 1)) return -1;
    *v = (uint8_t)x;
    return 0;
}
int fedc_read_u16(fedc_reader *r, uint16_t *v) {
    uint64_t x;
    if (get_le(r, &x, 2)) return -1;
    *v = (uint16_t)x;
    return 0;
}
int fedc_read_u32(fedc_reader *r, uint32_t *v) {
    uint64_t x;
    if (get_le(r, &x, 4)) return -1;
    *v = (uint32_t)x;
    return 0;
}
int fedc_read_u64(fedc_reader *r, uint64_t *v) { return get_le(r, v, 8); }
int fedc_read_f32(fedc_reader *r, float *v) {
    uint32_t u;
    if (fedc_read_u32(r, &u)) return -1;
    memcpy(v, &u, 4);
    return 0;
}
int fedc_read_f64(fedc_reader *r, double *v) {
    uint64_t u;
    if (get_le(r, &u, 8)) return -1;
    memcpy(v, &u, 8);
    return 0;
}
int fedc_read_bytes(fedc_reader *r, void *dst, size_t n) {
    if (fedc_reader_left(r) < n) return -1;
    if (n) memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}
int fedc_read_view(fedc_reader *r, const uint8_t **p, size_t n) {
    if (fedc_reader_left(r) < n) return -1;
    *p = r->p + r->off;
    r->off += n;
    return 0;
}
