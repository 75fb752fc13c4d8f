/* fp16 and bf16 conversions. Both round to nearest even and saturate at the
 * largest finite value instead of overflowing to infinity: a model update
 * that exceeds the range should arrive clipped, never as inf. */
#include <string.h>

#if defined(__F16C__) && defined(__AVX2__)
#include <immintrin.h>
#define HALF_VECTOR 1
#else
#define HALF_VECTOR 0
#endif

#include "fl/codec/codec_internal.h"

uint16_t codec_f32_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x477FF000u) /* >= 65520 rounds past 65504: saturate */
        return (uint16_t)(sign | 0x7BFFu);
    if (a < 0x38800000u) {
        /* Below 2^-14 the result is subnormal: adding 0.5f aligns the 10
         * mantissa bits at the bottom and the FPU rounds to nearest even. */
        float f, magic = 0.5f;
        uint32_t mu;
        memcpy(&f, &a, 4);
        f += magic;
        memcpy(&u, &f, 4);
        memcpy(&mu, &magic, 4);
        return (uint16_t)(sign | (uint16_t)(u - mu));
    }
    /* Rebias the exponent (127 -> 15) and round the 13 dropped bits. */
    uint32_t rounded = a + 0xFFFu + ((a >> 13) & 1u);
    return (uint16_t)(sign | (uint16_t)((rounded - 0x38000000u) >> 13));
}

float codec_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, u;
    if (exp == 0) {
        float f = (float)mant * 0x1.0p-24f; /* exact */
        memcpy(&u, &f, 4);
        u |= sign;
    } else if (exp == 31) {
        u = sign | 0x7F800000u | (mant << 13);
    } else {
        u = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t codec_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x7F7F8000u) /* would round to infinity: saturate */
        return (uint16_t)(sign | 0x7F7Fu);
    return (uint16_t)(sign | (uint16_t)((a + 0x7FFFu + ((a >> 16) & 1u)) >> 16));
}

float codec_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Whole arrays, 8 values at a time where the CPU converts (F16C). The
 * results are the scalar functions' bit for bit: the hardware rounds to
 * nearest even like them, and the saturation (|x| >= 65520, inf and NaN
 * become the largest finite value with x's sign) is applied after. A
 * model's download and an update's upload each pass through here, so on
 * the client it is as much work as a small model's training step. */
void codec_f32_to_f16_n(const float *x, uint16_t *h, size_t n) {
    size_t i = 0;
#if HALF_VECTOR
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256i sat_below = _mm256_set1_epi32(0x477FEFFF); /* a > this: saturate */
    const __m128i largest = _mm_set1_epi16(0x7BFF);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256i bits = _mm256_castps_si256(v);
        __m256i a = _mm256_and_si256(bits, abs_mask);
        __m256i sat32 = _mm256_cmpgt_epi32(a, sat_below);
        /* 32-bit lane masks and sign bits narrowed to 16 bits, in lane order */
        __m128i sat = _mm_packs_epi32(_mm256_castsi256_si128(sat32), _mm256_extracti128_si256(sat32, 1));
        __m256i sign32 = _mm256_srli_epi32(_mm256_andnot_si256(abs_mask, bits), 16);
        __m128i sign = _mm_packus_epi32(_mm256_castsi256_si128(sign32), _mm256_extracti128_si256(sign32, 1));
        __m128i conv = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m128i out = _mm_blendv_epi8(conv, _mm_or_si128(sign, largest), sat);
        _mm_storeu_si128((__m128i *)(void *)(h + i), out);
    }
#endif
    for (; i < n; i++) h[i] = codec_f32_to_f16(x[i]);
}

void codec_f16_to_f32_n(const uint16_t *h, float *x, size_t n) {
    size_t i = 0;
#if HALF_VECTOR
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + i))));
#endif
    for (; i < n; i++) x[i] = codec_f16_to_f32(h[i]);
}
