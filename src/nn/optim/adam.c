/* Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), exactly torch.optim
 * (amsgrad off): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps). Adam adds wd p to the
 * gradient; AdamW first decays p *= 1 - lr wd. */
#include <math.h>

#include "nn/optim/optim_internal.h"

static int nbufs(const fedc_optim_config *c) {
    (void)c;
    return 2;
}

static void step(fedc_optim *o, float *params, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const float wd = o->cfg.weight_decay;
    const int decoupled = o->cfg.kind == FEDC_OPT_ADAMW;
    const double t = (double)o->step + 1.0;
    const float bc1 = (float)(1.0 - pow(b1, t)), bc2 = (float)(1.0 - pow(b2, t));
    const float step_size = lr / bc1, bc2_sqrt = sqrtf(bc2), keep = 1.0f - lr * wd;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        float *p = params + off, *m = o->buf[0] + off, *v = o->buf[1] + off;
        const float *gr = grad + off;
        for (size_t i = 0; i < n; i++) {
            float g = gr[i];
            if (decoupled)
                p[i] *= keep;
            else
                g += wd * p[i];
            m[i] = b1 * m[i] + (1.0f - b1) * g;
            v[i] = b2 * v[i] + (1.0f - b2) * g * g;
            p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
        }
    }
}

/* AdamW's usual decoupled decay; the task's weight_decay replaces it. */
static void adamw_defaults(fedc_optim_config *c) { c->weight_decay = 0.01f; }

const optim_ops optim_adam = {FEDC_OPT_ADAM, "adam", 1e-3, NULL, nbufs, NULL, NULL, NULL, NULL, NULL, NULL, step};
const optim_ops optim_adamw = {FEDC_OPT_ADAMW, "adamw", 1e-3, adamw_defaults, nbufs, NULL, NULL, NULL,
                               NULL, NULL, NULL, step};
