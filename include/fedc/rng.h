/* Seeded, splittable random numbers (xoshiro256** seeded through splitmix64).
 * Determinism rule: every consumer derives its own stream from (seed, stream
 * ids) with fedc_rng_derive, so results never depend on thread scheduling. */
#ifndef FEDC_RNG_H
#define FEDC_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/export.h"

typedef struct fedc_rng {
    uint64_t s[4];
} fedc_rng;

FEDC_API void fedc_rng_seed(fedc_rng *r, uint64_t seed);
/* An independent stream for (seed, a, b), e.g. (task seed, round, client). */
FEDC_API fedc_rng fedc_rng_derive(uint64_t seed, uint64_t a, uint64_t b);

FEDC_API uint64_t fedc_rng_u64(fedc_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
FEDC_API uint32_t fedc_rng_below(fedc_rng *r, uint32_t n);
/* Uniform double in [0, 1). */
FEDC_API double fedc_rng_uniform(fedc_rng *r);
/* Uniform float in [0, 1), 24 random bits. */
FEDC_API float fedc_rng_uniform_f(fedc_rng *r);
FEDC_API double fedc_rng_normal(fedc_rng *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang). */
FEDC_API double fedc_rng_gamma(fedc_rng *r, double shape);
FEDC_API void fedc_rng_shuffle_u32(fedc_rng *r, uint32_t *a, size_t n);
/* k distinct values from [0, n) in out (k <= n), in random order. */
FEDC_API void fedc_rng_sample_u32(fedc_rng *r, uint32_t n, uint32_t k, uint32_t *out);

#endif
