/* privacy.mode dp-gaussian, applied on the node before the update leaves it:
 * the update is clipped to L2 norm `clip`, then each coordinate gets
 * N(0, (noise_multiplier * clip)^2) noise (the Gaussian mechanism on a
 * sensitivity-`clip` quantity). The server only ever sees the result. */
#include <math.h>
#include <string.h>

#include "engine_internal.h"

int fedc_engine_privatize(const fedc_task *t, float *delta, size_t d, fedc_rng *rng) {
    if (strcmp(t->privacy.mode, "dp-gaussian") != 0) return 0;
    double norm2 = 0;
    for (size_t j = 0; j < d; j++) norm2 += (double)delta[j] * delta[j];
    double norm = sqrt(norm2), clip = t->privacy.clip;
    if (norm > clip && norm > 0) {
        float scale = (float)(clip / norm);
        for (size_t j = 0; j < d; j++) delta[j] *= scale;
    }
    double sd = t->privacy.noise_multiplier * clip;
    if (sd > 0)
        for (size_t j = 0; j < d; j++) delta[j] += (float)(sd * fedc_rng_normal(rng));
    return 1;
}
