/* Adan (Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm",
 * Algorithm 1, as sail-sg/Adan implements it; betas here are the code's,
 * i.e. 1 - the paper's): with the gradient difference d_t = g_t - g_{t-1}
 * (0 on the first step),
 *   m = b1 m + (1-b1) g                     first moment
 *   v = b2 v + (1-b2) d                     gradient-difference moment
 *   u = g + b2 d;  n = b3 n + (1-b3) u^2    second moment of the Nesterov gradient
 *   p -= lr (m/(1-b1^t) + b2 v/(1-b2^t)) / (sqrt(n/(1-b3^t)) + eps)
 *   p /= 1 + lr wd                          (proximal weight decay)
 * Defaults b1 0.98, b2 0.92, b3 0.99, eps 1e-8. State: m, v, n and the
 * previous gradient. */
#include <math.h>

#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) {
    c->beta1 = 0.98f;
    c->beta2 = 0.92f;
    c->beta3 = 0.99f;
    c->eps = 1e-8f;
}

static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 4;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, b3 = o->cfg.beta3, eps = o->cfg.eps;
    const double t = (double)o->step + 1.0;
    const float bc1 = (float)(1.0 - pow(b1, t)), bc2 = (float)(1.0 - pow(b2, t));
    const float bc3_sqrt = (float)sqrt(1.0 - pow(b3, t));
    const float step_m = lr / bc1, step_v = lr * b2 / bc2, prox = 1.0f + lr * o->cfg.weight_decay;
    const int first = o->step == 0;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, cnt = o->t[k].count;
        float *p = params + off, *m = o->buf[0] + off, *v = o->buf[1] + off, *nn = o->buf[2] + off;
        float *prev = o->buf[3] + off;
        const float *g = grad + off;
        for (size_t i = 0; i < cnt; i++) {
            float d = first ? 0.0f : g[i] - prev[i];
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * d;
            float u = g[i] + b2 * d;
            nn[i] = b3 * nn[i] + (1.0f - b3) * u * u;
            float denom = sqrtf(nn[i]) / bc3_sqrt + eps;
            p[i] = (p[i] - step_m * m[i] / denom - step_v * v[i] / denom) / prox;
            prev[i] = g[i];
        }
    }
}

const optim_ops optim_adan = {FEDC_OPT_ADAN, "adan", 1e-3, defaults, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
