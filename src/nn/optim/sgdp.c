/* SGDP (Heo et al. 2021, Algorithm 1; clovaai/AdamP sgdp.py): SGD momentum
 *   buf = mu buf + g;  u = nesterov ? g + mu buf : buf
 * with u projected (projection.c) on tensors of two or more dimensions, then
 *   p *= 1 - lr wd r / (1 - mu)   (r = wd_ratio when projected, else 1)
 *   p -= lr u.
 * The weight decay is decoupled and scaled by 1/(1-mu), as the paper's code
 * does. Defaults: delta 0.1, wd_ratio 0.1, eps 1e-8. */
#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) {
    c->delta = 0.1f;
    c->wd_ratio = 0.1f;
}

/* the momentum buffer (the update is built in o->scratch) */
static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 1;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, mu = o->cfg.momentum, wd = o->cfg.weight_decay;
    for (int k = 0; k < o->nt; k++) {
        const optim_tensor *tk = &o->t[k];
        const size_t off = tk->offset, n = tk->count;
        float *p = params + off, *buf = o->buf[0] + off, *u = o->scratch + off;
        const float *g = grad + off;
        for (size_t i = 0; i < n; i++) {
            buf[i] = mu * buf[i] + g[i];
            u[i] = o->cfg.nesterov ? g[i] + mu * buf[i] : buf[i];
        }
        float ratio = optim_project(tk, p, g, u, o->cfg.delta, o->cfg.wd_ratio, o->cfg.eps);
        if (wd > 0.0f) {
            const float keep = 1.0f - lr * wd * ratio / (1.0f - mu);
            for (size_t i = 0; i < n; i++) p[i] *= keep;
        }
        for (size_t i = 0; i < n; i++) p[i] -= lr * u[i];
    }
}

const optim_ops optim_sgdp = {FEDC_OPT_SGDP, "sgdp", 0.05, defaults, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
