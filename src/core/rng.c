#include "fedc/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void fedc_rng_seed(fedc_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

fedc_rng fedc_rng_derive(uint64_t seed, uint64_t a, uint64_t b) {
    /* Mix the ids through splitmix so nearby (a, b) give unrelated streams. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xD6E8FEB86659FD93ull);
    h = splitmix64(&x);
    x = h ^ (b * 0xA0761D6478BD642Full);
    h = splitmix64(&x);
    fedc_rng r;
    fedc_rng_seed(&r, h);
    return r;
}

uint64_t fedc_rng_u64(fedc_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t fedc_rng_below(fedc_rng *r, uint32_t n) {
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t m = (uint64_t)(uint32_t)(fedc_rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(fedc_rng_u64(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double fedc_rng_uniform(fedc_rng *r) { return (double)(fedc_rng_u64(r) >> 11) * 0x1.0p-53; }

float fedc_rng_uniform_f(fedc_rng *r) { return (float)(fedc_rng_u64(r) >> 40) * 0x1.0p-24f; }

double fedc_rng_normal(fedc_rng *r) {
    /* Box-Muller; one draw per call keeps the stream position simple. */
    double u1 = fedc_rng_uniform(r), u2 = fedc_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double fedc_rng_gamma(fedc_rng *r, double shape) {
    if (shape < 1.0) {
        /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
        double u = fedc_rng_uniform(r);
        if (u < 1e-300) u = 1e-300;
        return fedc_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = fedc_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = fedc_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

void fedc_rng_shuffle_u32(fedc_rng *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = fedc_rng_below(r, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void fedc_rng_sample_u32(fedc_rng *r, uint32_t n, uint32_t k, uint32_t *out) {
    /* Floyd's algorithm would need a set; for the sizes here (k <= n, n up
     * to ~1e5) a partial Fisher-Yates over a scratch range is simpler.
     * To stay O(k) memory we use Floyd with a linear probe over out[]
     * when k is small, and a full shuffle otherwise. */
    if (k == 0) return;
    if ((uint64_t)k * k <= (uint64_t)n * 16) {
        uint32_t m = 0;
        for (uint32_t j = n - k; j < n; j++) {
            uint32_t t = fedc_rng_below(r, j + 1);
            int seen = 0;
            for (uint32_t q = 0; q < m; q++) {
                if (out[q] == t) {
                    seen = 1;
                    break;
                }
            }
            out[m++] = seen ? j : t;
        }
        fedc_rng_shuffle_u32(r, out, k);
        return;
    }
    /* Dense case: partial shuffle of the whole range, k steps. */
    uint32_t *all = (uint32_t *)out; /* reuse out when k == n */
    if (k == n) {
        for (uint32_t i = 0; i < n; i++) all[i] = i;
        fedc_rng_shuffle_u32(r, all, n);
        return;
    }
    /* Selection sampling (Knuth S) keeps order; shuffle afterwards. */
    uint32_t m = 0;
    for (uint32_t i = 0; i < n && m < k; i++) {
        if ((double)(n - i) * fedc_rng_uniform(r) < (double)(k - m)) out[m++] = i;
    }
    fedc_rng_shuffle_u32(r, out, k);
}
