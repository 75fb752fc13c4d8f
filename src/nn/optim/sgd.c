/* SGD with momentum, Nesterov and L2 weight decay, exactly torch.optim.SGD
 * (dampening 0): g' = g + wd p; buf = g' on the first step, then
 * buf = mu buf + g'; p -= lr (nesterov ? g' + mu buf : buf). */
#include "nn/optim/optim_internal.h"

static int nbufs(const fedc_optim_config *c) { return c->momentum != 0.0f ? 1 : 0; }

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, mu = o->cfg.momentum, wd = o->cfg.weight_decay;
    const int first = o->step == 0, nesterov = o->cfg.nesterov;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        float *p = params + off;
        const float *gr = grad + off;
        if (o->nbuf == 0) {
            for (size_t i = 0; i < n; i++) p[i] -= lr * (gr[i] + wd * p[i]);
            continue;
        }
        float *buf = o->buf[0] + off;
        for (size_t i = 0; i < n; i++) {
            float g = gr[i] + wd * p[i];
            float b = first ? g : mu * buf[i] + g; /* torch: the first step copies g */
            buf[i] = b;
            p[i] -= lr * (nesterov ? g + mu * b : b);
        }
    }
}

const optim_ops optim_sgd = {FEDC_OPT_SGD, "sgd", 0.05, NULL, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
