/* ADAHESSIAN (Yao et al. 2021, "ADAHESSIAN: An Adaptive Second Order
 * Optimizer for Machine Learning", Algorithm 1; amirgholami/adahessian).
 * The Hessian diagonal is estimated by Hutchinson's method, D = z * Hz with
 * a Rademacher probe z (fedc_optim_hvp_probe; the caller computes H z
 * exactly with fedc_nn_hvp into fedc_optim_hvp_buffer). |z * Hz| = |Hz|
 * since |z| = 1. Spatial averaging: for a 4-d conv kernel [out, in, k, k]
 * each k x k block takes the mean of its |Hz|. Then
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) D^2
 *   p -= lr (m/(1-b1^t) / ((sqrt(v)/sqrt(1-b2^t))^k + eps) + wd p)
 * with Hessian power k (default 1). Defaults: betas 0.9/0.999, eps 1e-4 as
 * the paper's code; its lr 0.15 (ResNets on CIFAR-10) makes the
 * Fashion-MNIST MLP diverge, so fedc's default lr is 0.005. */
#include <math.h>

#include "nn/optim/optim_internal.h"

static void defaults(fedc_optim_config *c) {
    c->eps = 1e-4f;
    c->hessian_power = 1.0f;
}

static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 2;
}

/* |Hz| with each conv kernel's k x k block replaced by its mean. */
static void hessian_diag(const optim_tensor *t, const float *hz, float *d) {
    const size_t n = t->count;
    if (t->ndim == 4 && t->dims[2] * t->dims[3] > 0) {
        const size_t block = (size_t)t->dims[2] * (size_t)t->dims[3];
        for (size_t b = 0; b < n; b += block) {
            double s = 0;
            for (size_t i = 0; i < block; i++) s += fabsf(hz[b + i]);
            float mean = (float)(s / (double)block);
            for (size_t i = 0; i < block; i++) d[b + i] = mean;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) d[i] = fabsf(hz[i]);
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps, wd = o->cfg.weight_decay;
    const double kpow = o->cfg.hessian_power, t = (double)o->step + 1.0;
    const double bc1 = 1.0 - pow(b1, t), bc2_pow = pow(sqrt(1.0 - pow(b2, t)), kpow);
    for (int k = 0; k < o->nt; k++) {
        const optim_tensor *tk = &o->t[k];
        const size_t off = tk->offset, n = tk->count;
        float *p = params + off, *m = o->buf[0] + off, *v = o->buf[1] + off;
        float *d = o->probe + off; /* the probe is spent: reuse it for D */
        const float *g = grad + off;
        hessian_diag(tk, o->hvp + off, d);
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * d[i] * d[i];
            /* The default power 1 without a pow() per coordinate. */
            double root = sqrt((double)v[i]);
            float denom = (float)((kpow == 1.0 ? root : pow(root, kpow)) / bc2_pow) + eps;
            p[i] = p[i] - lr * (m[i] / (float)bc1 / denom + wd * p[i]);
        }
    }
}

const optim_ops optim_adahessian = {FEDC_OPT_ADAHESSIAN, "adahessian", 0.005, defaults, nbufs, NULL, NULL, NULL,
                                    NULL, NULL, NULL, step};
