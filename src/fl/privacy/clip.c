/* L2 clipping: the bounded sensitivity every Gaussian mechanism here rests
 * on. The norm is summed in double so that a 10^7-parameter update clips to
 * the bound within float rounding. */
#include <math.h>

#include "fedc/privacy.h"

double fedc_clip_l2(float *v, size_t d, double clip) {
    double n2 = 0;
    for (size_t j = 0; j < d; j++) n2 += (double)v[j] * v[j];
    double norm = sqrt(n2);
    if (norm > clip && norm > 0) {
        /* Rounding the scale down keeps the clipped norm <= clip in float. */
        float s = (float)(clip / norm);
        if ((double)s * norm > clip) s = nextafterf(s, 0.0f);
        for (size_t j = 0; j < d; j++) v[j] *= s;
    }
    return norm;
}
