/* 1-bit sign: one float32 scale s = mean |x|, then one bit per value (set
 * for x < 0), LSB first; decodes to -s or +s. Biased, so the pipeline runs
 * it with error feedback (EF-SignSGD, Karimireddy et al. 2019). */
#include <math.h>
#include <string.h>

#include "fl/codec/codec_internal.h"

size_t codec_sign_size(size_t m) { return 4 + (m + 7) / 8; }

int codec_sign_encode(const float *x, size_t m, fedc_buf *out, fedc_error *err) {
    size_t size = codec_sign_size(m);
    if (fedc_buf_reserve(out, size)) return fedc_fail(err, "sign: out of memory for %zu values", m);
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) sum += fabs((double)x[i]);
    float scale = m ? (float)(sum / (double)m) : 0.0f;
    uint8_t *dst = out->data + out->len;
    codec_store_f32(dst, &scale, 1);
    uint8_t *bits = dst + 4;
    memset(bits, 0, size - 4);
    for (size_t i = 0; i < m; i++)
        if (x[i] < 0.0f) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    out->len += size;
    return 0;
}

int codec_sign_decode(fedc_reader *r, float *out, size_t m, fedc_error *err) {
    size_t size = codec_sign_size(m);
    const uint8_t *p;
    if (fedc_read_view(r, &p, size))
        return fedc_fail(err, "sign section needs %zu bytes for %zu values, %zu left", size, m,
                         fedc_reader_left(r));
    float scale;
    codec_load_f32(&scale, p, 1);
    if (!isfinite(scale) || scale < 0.0f)
        return fedc_fail(err, "sign scale %g is not a finite value >= 0", (double)scale);
    const uint8_t *bits = p + 4;
    for (size_t i = 0; i < m; i++) out[i] = (bits[i >> 3] >> (i & 7)) & 1u ? -scale : scale;
    if ((m & 7) && (bits[m >> 3] >> (m & 7)))
        return fedc_fail(err, "sign padding bits of the last byte are not zero (0x%02x)",
                         bits[m >> 3]);
    return 0;
}
