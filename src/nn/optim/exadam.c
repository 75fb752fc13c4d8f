/* EXAdam (Adly 2024, "EXAdam: The Power of Adaptive Cross-Moments",
 * arXiv:2412.20302 v1, Algorithm 1; AhmedMostafa16/EXAdam): Adam's moments
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2
 * with cross-moment debiasing
 *   d1 = 1 + v/(v + eps) b2^t,  d2 = 1 + m^2/(m^2 + eps) b1^t
 *   m~ = m/(1-b1^t) d1,  v~ = v/(1-b2^t) d2
 * the gradient acceleration g~ = g/(1-b1^t) d1, and the dynamic step size
 *   a_t = lr ln(sqrt(2) sqrt(t + 1))
 *   p -= a_t (m~ + g~) / (sqrt(v~) + eps).
 * Weight decay is decoupled and applied first (p -= lr wd p), as the
 * authors' code does. The dynamic step size is the paper v1's third
 * enhancement; v2 of the paper and the current code drop it
 * (dynamic_step = 0 gives that variant, a_t = lr). */
#include <math.h>

#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) { c->dynamic_step = 1; }

static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 2;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const double t = (double)o->step + 1.0;
    const float b1t = (float)pow(b1, t), b2t = (float)pow(b2, t);
    const float bc1 = 1.0f - b1t, bc2 = 1.0f - b2t;
    const float a_t = o->cfg.dynamic_step ? (float)(lr * log(sqrt(2.0) * sqrt(t + 1.0))) : lr;
    const float keep = 1.0f - lr * o->cfg.weight_decay;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        float *p = params + off, *m = o->buf[0] + off, *v = o->buf[1] + off;
        const float *g = grad + off;
        for (size_t i = 0; i < n; i++) {
            p[i] *= keep;
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            float m2 = m[i] * m[i];
            float d1 = 1.0f + v[i] / (v[i] + eps) * b2t, d2 = 1.0f + m2 / (m2 + eps) * b1t;
            float mt = m[i] / bc1 * d1, vt = v[i] / bc2 * d2, gt = g[i] / bc1 * d1;
            p[i] -= a_t * (mt + gt) / (sqrtf(vt) + eps);
        }
    }
}

const optim_ops optim_exadam = {FEDC_OPT_EXADAM, "exadam", 1e-3, defaults, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
