/* Uniform quantisation to 8, 4 or 2 bits. Each chunk of 2^chunk_log2
 * values carries its own range [lo, hi] (two float32), and a value x maps to
 * code q = floor((x - lo) / step + u), u ~ U[0, 1), step = (hi - lo) /
 * (2^bits - 1): stochastic rounding, so E[lo + q * step] = x (unbiased) and
 * |lo + q * step - x| < step. Codes are packed LSB first after all ranges. */
#include <math.h>
#include <string.h>

#include "fl/codec/codec_internal.h"

static size_t chunk_count(unsigned chunk_log2, size_t m) {
    size_t chunk = (size_t)1 << chunk_log2;
    return (m + chunk - 1) / chunk;
}

size_t codec_quant_size(unsigned bits, unsigned chunk_log2, size_t m) {
    return 8 * chunk_count(chunk_log2, m) + (m * bits + 7) / 8;
}

int codec_quant_encode(unsigned bits, unsigned chunk_log2, const float *x, size_t m, fedc_rng *rng,
                       fedc_buf *out, fedc_error *err) {
    size_t chunk = (size_t)1 << chunk_log2, nchunks = chunk_count(chunk_log2, m);
    size_t size = codec_quant_size(bits, chunk_log2, m);
    if (size == 0) return 0;
    if (fedc_buf_reserve(out, size))
        return fedc_fail(err, "q%u: out of memory for %zu values", bits, m);
    uint8_t *ranges = out->data + out->len;
    uint8_t *codes = ranges + 8 * nchunks;
    memset(codes, 0, size - 8 * nchunks);
    const uint32_t max_code = (1u << bits) - 1;
    for (size_t ch = 0; ch < nchunks; ch++) {
        size_t start = ch * chunk, end = start + chunk < m ? start + chunk : m;
        float lo = x[start], hi = x[start];
        for (size_t i = start + 1; i < end; i++) {
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        codec_store_f32(ranges + 8 * ch, &lo, 1);
        codec_store_f32(ranges + 8 * ch + 4, &hi, 1);
        /* Same step as the decoder computes; double keeps hi - lo finite
         * even for ranges spanning most of float. */
        double step = ((double)hi - (double)lo) / (double)max_code;
        if (step == 0.0) continue; /* constant chunk: every code is 0 */
        double inv = 1.0 / step;
        for (size_t i = start; i < end; i++) {
            double t = ((double)x[i] - (double)lo) * inv + fedc_rng_uniform(rng);
            uint32_t q = t <= 0.0 ? 0u : t >= (double)max_code ? max_code : (uint32_t)t;
            size_t bit = i * bits;
            codes[bit >> 3] |= (uint8_t)(q << (bit & 7));
        }
    }
    out->len += size;
    return 0;
}

int codec_quant_decode(unsigned bits, unsigned chunk_log2, fedc_reader *r, float *out, size_t m,
                       fedc_error *err) {
    size_t chunk = (size_t)1 << chunk_log2, nchunks = chunk_count(chunk_log2, m);
    size_t size = codec_quant_size(bits, chunk_log2, m);
    const uint8_t *ranges;
    if (fedc_read_view(r, &ranges, size))
        return fedc_fail(err, "q%u section needs %zu bytes (%zu chunk ranges, %zu codes), %zu left",
                         bits, size, nchunks, m, fedc_reader_left(r));
    const uint8_t *codes = ranges + 8 * nchunks;
    const uint32_t max_code = (1u << bits) - 1;
    for (size_t ch = 0; ch < nchunks; ch++) {
        float lo, hi;
        codec_load_f32(&lo, ranges + 8 * ch, 1);
        codec_load_f32(&hi, ranges + 8 * ch + 4, 1);
        if (!isfinite(lo) || !isfinite(hi) || lo > hi)
            return fedc_fail(err, "q%u chunk %zu has range [%g, %g]; need finite lo <= hi", bits,
                             ch, (double)lo, (double)hi);
        double step = ((double)hi - (double)lo) / (double)max_code;
        size_t start = ch * chunk, end = start + chunk < m ? start + chunk : m;
        for (size_t i = start; i < end; i++) {
            size_t bit = i * bits;
            uint32_t q = (codes[bit >> 3] >> (bit & 7)) & max_code;
            /* Clamp: lo + q * step can pass hi by a rounding error. */
            float v = (float)((double)lo + (double)q * step);
            out[i] = v > hi ? hi : v;
        }
    }
    /* Unused high bits of the last code byte must be zero (one encoding per
     * vector, and no hidden payload). */
    size_t used_bits = m * bits;
    if (used_bits & 7) {
        uint8_t last = codes[used_bits >> 3];
        if (last >> (used_bits & 7))
            return fedc_fail(err, "q%u padding bits of the last code byte are not zero (0x%02x)",
                             bits, last);
    }
    return 0;
}
