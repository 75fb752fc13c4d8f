/* privacy.mode dp-gaussian, applied on the node before the update leaves it:
 * the update is clipped to L2 norm `clip`, then each coordinate gets
 * N(0, (noise_multiplier * clip)^2) noise (the Gaussian mechanism on a
 * sensitivity-`clip` quantity). The server only ever sees the result. */
#include <string.h>

#include "fedc/privacy.h"

int fedc_privacy_local(const fedc_task *t, float *delta, size_t d, fedc_rng *rng) {
    if (strcmp(t->privacy.mode, "dp-gaussian") != 0) return 0;
    double clip = t->privacy.clip;
    fedc_clip_l2(delta, d, clip);
    double sd = t->privacy.noise_multiplier * clip;
    if (sd > 0)
        for (size_t j = 0; j < d; j++) delta[j] += (float)(sd * fedc_rng_normal(rng));
    return 1;
}
