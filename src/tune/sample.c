/* Random sampling of a space: uniform for float and int, log-uniform for
 * log-float, uniform over choices; parameters whose condition does not
 * hold are left inactive (NAN). Floats are rounded to 6 significant digits
 * (plenty for a hyperparameter) so they print and store exactly. */
#include <math.h>

#include "tune/tune_internal.h"

double tune_sample_param(const fedc_tune_param *p, fedc_rng *rng) {
    double u = fedc_rng_uniform(rng), v;
    switch (p->type) {
    case FEDC_PARAM_INT: {
        double span = p->max - p->min + 1;
        return p->min + (double)fedc_rng_below(rng, (uint32_t)(span < 4294967295.0 ? span : 4294967295.0));
    }
    case FEDC_PARAM_CHOICE: return (double)fedc_rng_below(rng, (uint32_t)p->nchoices);
    case FEDC_PARAM_LOG_FLOAT: v = exp(log(p->min) + u * (log(p->max) - log(p->min))); break;
    default: v = p->min + u * (p->max - p->min); break;
    }
    v = tune_round_sig(v, 6);
    return v < p->min ? p->min : v > p->max ? p->max : v;
}

void tune_sample_random(const fedc_tune_space *s, fedc_rng *rng, fedc_tune_config *out) {
    out->n = s->n;
    for (int i = 0; i < s->n; i++) {
        /* Draw for every parameter, active or not, so that a parameter's value
         * does not depend on which conditions held before it. */
        double v = tune_sample_param(&s->p[i], rng);
        out->v[i] = tune_active(s, out, i) ? v : NAN;
    }
    for (int i = s->n; i < FEDC_TUNE_MAX_PARAMS; i++) out->v[i] = NAN;
}
