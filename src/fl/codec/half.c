/* fp16 and bf16 conversions. Both round to nearest even and saturate at the
 * largest finite value instead of overflowing to infinity: a model update
 * that exceeds the range should arrive clipped, never as inf. */
#include <string.h>

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
