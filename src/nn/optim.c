/* Local optimizers over the flat parameter vector, with PyTorch's update
 * rules (torch.optim.SGD / Adam / AdamW, dampening 0, amsgrad off) so that
 * hyper-parameters carry over unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/nn_internal.h"

struct fedc_optim {
    fedc_optim_config cfg;
    size_t n;
    long step;
    float *m; /* SGD momentum buffer, or Adam first moment */
    float *v; /* Adam second moment */
};

fedc_optim_config fedc_optim_defaults(fedc_opt_kind kind, float lr) {
    fedc_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = lr;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    if (kind == FEDC_OPT_ADAMW) c.weight_decay = 0.01f;
    return c;
}

fedc_optim *fedc_optim_create(const fedc_optim_config *cfg, size_t n) {
    if (!cfg || n == 0) return NULL;
    fedc_optim *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->cfg = *cfg;
    o->n = n;
    int need_m = cfg->kind != FEDC_OPT_SGD || cfg->momentum != 0.0f;
    int need_v = cfg->kind != FEDC_OPT_SGD;
    if (need_m && !(o->m = fedc_nn_alloc(n))) goto fail;
    if (need_v && !(o->v = fedc_nn_alloc(n))) goto fail;
    if (o->m) memset(o->m, 0, n * sizeof *o->m);
    if (o->v) memset(o->v, 0, n * sizeof *o->v);
    return o;
fail:
    fedc_optim_free(o);
    return NULL;
}

void fedc_optim_free(fedc_optim *o) {
    if (!o) return;
    fedc_nn_free(o->m);
    fedc_nn_free(o->v);
    free(o);
}

void fedc_optim_reset(fedc_optim *o) {
    o->step = 0;
    if (o->m) memset(o->m, 0, o->n * sizeof *o->m);
    if (o->v) memset(o->v, 0, o->n * sizeof *o->v);
}

static void sgd_step(fedc_optim *o, float *p, const float *grad) {
    const float lr = o->cfg.lr, mu = o->cfg.momentum, wd = o->cfg.weight_decay;
    const size_t n = o->n;
    if (!o->m) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * (grad[i] + wd * p[i]);
        return;
    }
    float *buf = o->m;
    const int first = o->step == 0, nesterov = o->cfg.nesterov;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        float b = first ? g : mu * buf[i] + g; /* torch: the first step copies g */
        buf[i] = b;
        p[i] -= lr * (nesterov ? g + mu * b : b);
    }
}

static void adam_step(fedc_optim *o, float *p, const float *grad) {
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const float wd = o->cfg.weight_decay;
    const int decoupled = o->cfg.kind == FEDC_OPT_ADAMW;
    const double t = (double)o->step + 1.0;
    const float bc1 = (float)(1.0 - pow(b1, t)), bc2 = (float)(1.0 - pow(b2, t));
    const float step_size = lr / bc1, bc2_sqrt = sqrtf(bc2), keep = 1.0f - lr * wd;
    float *m = o->m, *v = o->v;
    for (size_t i = 0; i < o->n; i++) {
        float g = grad[i];
        if (decoupled)
            p[i] *= keep;
        else
            g += wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

void fedc_optim_step(fedc_optim *o, float *params, const float *grad) {
    if (o->cfg.kind == FEDC_OPT_SGD)
        sgd_step(o, params, grad);
    else
        adam_step(o, params, grad);
    o->step++;
}

int fedc_opt_kind_parse(const char *s, fedc_opt_kind *out) {
    static const struct {
        const char *name;
        fedc_opt_kind kind;
    } names[] = {{"sgd", FEDC_OPT_SGD}, {"adam", FEDC_OPT_ADAM}, {"adamw", FEDC_OPT_ADAMW}};
    if (!s) return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            if (out) *out = names[i].kind;
            return 0;
        }
    }
    return -1;
}

void fedc_optim_set_lr(fedc_optim *o, float lr) { o->cfg.lr = lr; }
