/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms",
 * Program 1; as in google/automl and lucidrains/lion-pytorch):
 *   c = b1 m + (1-b1) g
 *   p = p (1 - lr wd) - lr sign(c)      (decoupled weight decay)
 *   m = b2 m + (1-b2) g
 * with sign(0) = 0. One state vector (Adam keeps two): the memory saving the
 * paper claims. Paper defaults b1 0.9, b2 0.99. */
#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) {
    c->beta1 = 0.9f;
    c->beta2 = 0.99f;
}

static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 1;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, keep = 1.0f - o->cfg.lr * o->cfg.weight_decay;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        float *p = params + off, *m = o->buf[0] + off;
        const float *g = grad + off;
        for (size_t i = 0; i < n; i++) {
            float c = b1 * m[i] + (1.0f - b1) * g[i];
            float s = c > 0.0f ? 1.0f : c < 0.0f ? -1.0f : 0.0f;
            p[i] = p[i] * keep - lr * s;
            m[i] = b2 * m[i] + (1.0f - b2) * g[i];
        }
    }
}

const optim_ops optim_lion = {FEDC_OPT_LION, "lion", 3e-4, defaults, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
