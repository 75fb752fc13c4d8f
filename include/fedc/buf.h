/* Growable byte buffer (writer) and bounds-checked reader for wire formats.
 * All multi-byte values are little-endian. Reader calls return -1 on any
 * read past the end and never touch memory outside [p, p+len). */
#ifndef FEDC_BUF_H
#define FEDC_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/export.h"

typedef struct fedc_buf {
    uint8_t *data;
    size_t len, cap;
} fedc_buf;

FEDC_API int fedc_buf_reserve(fedc_buf *b, size_t extra);
FEDC_API int fedc_buf_append(fedc_buf *b, const void *p, size_t n);
FEDC_API int fedc_buf_put_u8(fedc_buf *b, uint8_t v);
FEDC_API int fedc_buf_put_u16(fedc_buf *b, uint16_t v);
FEDC_API int fedc_buf_put_u32(fedc_buf *b, uint32_t v);
FEDC_API int fedc_buf_put_u64(fedc_buf *b, uint64_t v);
FEDC_API int fedc_buf_put_f32(fedc_buf *b, float v);
FEDC_API int fedc_buf_put_f64(fedc_buf *b, double v);
FEDC_API void fedc_buf_clear(fedc_buf *b);
FEDC_API void fedc_buf_free(fedc_buf *b);

typedef struct fedc_reader {
    const uint8_t *p;
    size_t len, off;
} fedc_reader;

FEDC_API fedc_reader fedc_reader_make(const void *p, size_t len);
FEDC_API size_t fedc_reader_left(const fedc_reader *r);
FEDC_API int fedc_read_u8(fedc_reader *r, uint8_t *v);
FEDC_API int fedc_read_u16(fedc_reader *r, uint16_t *v);
FEDC_API int fedc_read_u32(fedc_reader *r, uint32_t *v);
FEDC_API int fedc_read_u64(fedc_reader *r, uint64_t *v);
FEDC_API int fedc_read_f32(fedc_reader *r, float *v);
FEDC_API int fedc_read_f64(fedc_reader *r, double *v);
FEDC_API int fedc_read_bytes(fedc_reader *r, void *dst, size_t n);
/* Points *p at the next n bytes without copying. */
FEDC_API int fedc_read_view(fedc_reader *r, const uint8_t **p, size_t n);

#endif
