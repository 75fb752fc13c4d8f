/* Element-wise layers: standalone ReLU and inverted dropout. */
#include "nn/nn_internal.h"

void nn_relu_forward(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_relu_backward(const float *y, const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_dropout_mask(float p, float *mask, size_t count, fedc_rng *rng) {
    /* Keep when a 32-bit uniform draw is >= p * 2^32: two decisions per draw. */
    const uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
    const float scale = 1.0f / (1.0f - p);
    size_t i = 0;
    for (; i + 1 < count; i += 2) {
        uint64_t r = fedc_rng_u64(rng);
        mask[i] = (r & 0xffffffffu) >= threshold ? scale : 0.0f;
        mask[i + 1] = (r >> 32) >= threshold ? scale : 0.0f;
    }
    if (i < count) mask[i] = (fedc_rng_u64(rng) & 0xffffffffu) >= threshold ? scale : 0.0f;
}

void nn_mul(const float *a, const float *b, float *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = a[i] * b[i];
}
