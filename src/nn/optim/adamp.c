/* AdamP (Heo et al. 2021, Algorithm 2; clovaai/AdamP): the Adam step
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2
 *   u = m / (sqrt(v)/sqrt(1-b2^t) + eps)     (nesterov: b1 m + (1-b1) g over the same)
 * with u projected (projection.c) on tensors of two or more dimensions, then
 *   p *= 1 - lr wd r      (r = wd_ratio when projected, else 1)
 *   p -= lr/(1-b1^t) u.
 * Defaults as the paper's code: betas 0.9/0.999, eps 1e-8, delta 0.1,
 * wd_ratio 0.1. */
#include <math.h>

#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) {
    c->delta = 0.1f;
    c->wd_ratio = 0.1f;
}

/* m and v (the update is built in o->scratch). */
static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 2;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps, wd = o->cfg.weight_decay;
    const double t = (double)o->step + 1.0;
    const float bc1 = (float)(1.0 - pow(b1, t)), bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    const float step_size = lr / bc1;
    for (int k = 0; k < o->nt; k++) {
        const optim_tensor *tk = &o->t[k];
        const size_t off = tk->offset, n = tk->count;
        float *p = params + off, *m = o->buf[0] + off, *v = o->buf[1] + off, *u = o->scratch + off;
        const float *g = grad + off;
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            float denom = sqrtf(v[i]) / bc2_sqrt + eps;
            u[i] = (o->cfg.nesterov ? b1 * m[i] + (1.0f - b1) * g[i] : m[i]) / denom;
        }
        float ratio = optim_project(tk, p, g, u, o->cfg.delta, o->cfg.wd_ratio, eps);
        if (wd > 0.0f) {
            const float keep = 1.0f - lr * wd * ratio;
            for (size_t i = 0; i < n; i++) p[i] *= keep;
        }
        for (size_t i = 0; i < n; i++) p[i] -= step_size * u[i];
    }
}

const optim_ops optim_adamp = {FEDC_OPT_ADAMP, "adamp", 1e-3, defaults, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
