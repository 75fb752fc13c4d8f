/* NaN/infinity scan: a float is not finite exactly when its 8 exponent
 * bits are all ones. Each block is OR-reduced without branches; only a
 * block that holds one is searched value by value. */
#include "fedc/finite.h"

#include <stdint.h>
#include <string.h>

#define BLOCK 1024

static int block_has_nonfinite(const float *x, size_t n) {
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        any |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return any != 0;
}

size_t fedc_first_nonfinite(const float *x, size_t n) {
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t len = n - b < BLOCK ? n - b : BLOCK;
        if (!block_has_nonfinite(x + b, len)) continue;
        for (size_t i = b; i < b + len; i++) {
            uint32_t u;
            memcpy(&u, &x[i], sizeof u);
            if ((u & 0x7f800000u) == 0x7f800000u) return i;
        }
    }
    return n;
}
