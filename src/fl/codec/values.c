/* The value section: how the (kept) values are written, by value coder:
 * raw float32, fp16, bf16, a uniform quantiser or sign. Decoding refuses
 * non-finite values, so a hostile buffer cannot inject inf or NaN. */
#include <math.h>
#include <string.h>

#include "fedc/finite.h"

#include "fl/codec/codec_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LITTLE_ENDIAN 1
#else
#define HOST_LITTLE_ENDIAN 0
#endif

#define HALF_BLOCK 1024 /* values per block of the fp16 array conversion (2 KiB on the stack) */

void codec_store_f32(uint8_t *dst, const float *src, size_t n) {
    if (HOST_LITTLE_ENDIAN) {
        if (n) memcpy(dst, src, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        for (int b = 0; b < 4; b++) dst[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
}

void codec_load_f32(float *dst, const uint8_t *src, size_t n) {
    if (HOST_LITTLE_ENDIAN) {
        if (n) memcpy(dst, src, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = 0;
        for (int b = 0; b < 4; b++) u |= (uint32_t)src[4 * i + (size_t)b] << (8 * b);
        memcpy(&dst[i], &u, 4);
    }
}

static int encode_half(int bf16, const float *x, size_t m, fedc_buf *out, fedc_error *err) {
    if (m == 0) return 0;
    if (fedc_buf_reserve(out, 2 * m))
        return fedc_fail(err, "codec: out of memory for %zu values", m);
    uint8_t *dst = out->data + out->len;
    if (!bf16 && HOST_LITTLE_ENDIAN) {
        /* Whole blocks through the array conversion, then into the (unaligned) buffer. */
        uint16_t block[HALF_BLOCK];
        for (size_t i = 0; i < m; i += HALF_BLOCK) {
            size_t k = m - i < HALF_BLOCK ? m - i : HALF_BLOCK;
            codec_f32_to_f16_n(x + i, block, k);
            memcpy(dst + 2 * i, block, 2 * k);
        }
    } else {
        for (size_t i = 0; i < m; i++) {
            uint16_t h = bf16 ? codec_f32_to_bf16(x[i]) : codec_f32_to_f16(x[i]);
            dst[2 * i] = (uint8_t)h;
            dst[2 * i + 1] = (uint8_t)(h >> 8);
        }
    }
    out->len += 2 * m;
    return 0;
}

static int decode_half(int bf16, fedc_reader *r, float *out, size_t m, fedc_error *err) {
    const uint8_t *p;
    if (fedc_read_view(r, &p, 2 * m))
        return fedc_fail(err, "%s section needs %zu bytes for %zu values, %zu left",
                         bf16 ? "bf16" : "fp16", 2 * m, m, fedc_reader_left(r));
    /* Exponent all ones is inf or NaN in both formats. */
    uint16_t exp_mask = bf16 ? 0x7F80u : 0x7C00u;
    if (!bf16 && HOST_LITTLE_ENDIAN) {
        uint16_t block[HALF_BLOCK];
        for (size_t i = 0; i < m; i += HALF_BLOCK) {
            size_t k = m - i < HALF_BLOCK ? m - i : HALF_BLOCK;
            memcpy(block, p + 2 * i, 2 * k);
            uint16_t any = 0; /* the branch-free test first; the loop below names the value */
            for (size_t j = 0; j < k; j++) any |= (uint16_t)((block[j] & exp_mask) == exp_mask);
            if (any) {
                for (size_t j = 0; j < k; j++)
                    if ((block[j] & exp_mask) == exp_mask)
                        return fedc_fail(err, "fp16 value %zu (0x%04x) is not finite", i + j, block[j]);
            }
            codec_f16_to_f32_n(block, out + i, k);
        }
        return 0;
    }
    for (size_t i = 0; i < m; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        if ((h & exp_mask) == exp_mask)
            return fedc_fail(err, "%s value %zu (0x%04x) is not finite", bf16 ? "bf16" : "fp16", i,
                             h);
        out[i] = bf16 ? codec_bf16_to_f32(h) : codec_f16_to_f32(h);
    }
    return 0;
}

int codec_values_encode(const fedc_codec *c, const float *x, size_t m, fedc_rng *rng, fedc_buf *out,
                        fedc_error *err) {
    switch (c->value) {
    case 0:
        if (m == 0) return 0;
        if (fedc_buf_reserve(out, 4 * m))
            return fedc_fail(err, "codec: out of memory for %zu values", m);
        codec_store_f32(out->data + out->len, x, m);
        out->len += 4 * m;
        return 0;
    case STAGE_FP16: return encode_half(0, x, m, out, err);
    case STAGE_BF16: return encode_half(1, x, m, out, err);
    case STAGE_SIGN: return codec_sign_encode(x, m, out, err);
    default: return codec_quant_encode(c->bits, c->chunk_log2, x, m, rng, out, err);
    }
}

int codec_values_decode(const fedc_codec *c, fedc_reader *r, float *out, size_t m,
                        fedc_error *err) {
    switch (c->value) {
    case 0: {
        const uint8_t *p;
        if (fedc_read_view(r, &p, 4 * m))
            return fedc_fail(err, "float32 section needs %zu bytes for %zu values, %zu left", 4 * m,
                             m, fedc_reader_left(r));
        codec_load_f32(out, p, m);
        size_t bad = fedc_first_nonfinite(out, m);
        if (bad < m) return fedc_fail(err, "float32 value %zu is not finite", bad);
        return 0;
    }
    case STAGE_FP16: return decode_half(0, r, out, m, err);
    case STAGE_BF16: return decode_half(1, r, out, m, err);
    case STAGE_SIGN: return codec_sign_decode(r, out, m, err);
    default: return codec_quant_decode(c->bits, c->chunk_log2, r, out, m, err);
    }
}
