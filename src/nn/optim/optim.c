/* Local optimizers over the flat parameter vector: the registry of update
 * rules, their defaults, the parameter layout (which tensors are stepped and
 * their shapes, for the rules that act per tensor or per channel), reset,
 * the state blob that lets optimizer state persist between rounds, and the
 * probe buffers ADAHESSIAN's Hessian-vector product fills. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/optim/optim_internal.h"

static const optim_ops *const k_rules[] = {
    &optim_sgd,    &optim_adam,   &optim_adamw,  &optim_lion,       &optim_adan,
    &optim_adamp,  &optim_sgdp,   &optim_exadam, &optim_adahessian, &optim_mfac,
};
#define N_RULES (int)(sizeof k_rules / sizeof k_rules[0])
_Static_assert(sizeof k_rules / sizeof k_rules[0] == FEDC_OPT_COUNT, "one rule per fedc_opt_kind");

static const optim_ops *rule(fedc_opt_kind kind) {
    for (int i = 0; i < N_RULES; i++)
        if (k_rules[i]->kind == kind) return k_rules[i];
    return NULL;
}

const char *fedc_opt_kind_name(fedc_opt_kind kind) {
    const optim_ops *r = rule(kind);
    return r ? r->name : "unknown";
}

int fedc_opt_kind_parse(const char *s, fedc_opt_kind *out) {
    if (!s) return -1;
    for (int i = 0; i < N_RULES; i++) {
        if (strcasecmp(s, k_rules[i]->name) == 0) {
            if (out) *out = k_rules[i]->kind;
            return 0;
        }
    }
    return -1;
}

double fedc_optim_default_lr(fedc_opt_kind kind) {
    const optim_ops *r = rule(kind);
    return r ? r->lr : 0.0;
}

fedc_optim_config fedc_optim_defaults(fedc_opt_kind kind, float lr) {
    fedc_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    const optim_ops *r = rule(kind);
    if (r && r->defaults) r->defaults(&c);
    c.lr = lr > 0.0f ? lr : (r ? (float)r->lr : 0.0f);
    return c;
}

void fedc_optim_free(fedc_optim *o) {
    if (!o) return;
    if (o->ops && o->ops->free_extra) o->ops->free_extra(o);
    for (int i = 0; i < o->nbuf; i++) fedc_nn_free(o->buf[i]);
    fedc_nn_free(o->probe);
    fedc_nn_free(o->hvp);
    fedc_nn_free(o->scratch);
    free(o->t);
    free(o);
}

void fedc_optim_reset(fedc_optim *o) {
    o->step = 0;
    o->hvp_ready = 0;
    for (int i = 0; i < o->nbuf; i++) memset(o->buf[i], 0, o->n * sizeof *o->buf[i]);
    if (o->ops->reset_extra) o->ops->reset_extra(o);
}

fedc_optim *fedc_optim_create_tensors(const fedc_optim_config *cfg, const fedc_tensor_info *t, int nt, size_t n) {
    if (!cfg || n == 0 || nt < 0 || (nt > 0 && !t)) return NULL;
    const optim_ops *r = rule(cfg->kind);
    if (!r) return NULL;
    fedc_optim *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->cfg = *cfg;
    o->ops = r;
    o->n = n;
    o->t = calloc((size_t)(nt > 0 ? nt : 1), sizeof *o->t);
    if (!o->t) goto fail;
    for (int i = 0; i < nt; i++) {
        if (t[i].buffer) continue; /* running statistics: never stepped */
        if (t[i].offset > n || t[i].count > n - t[i].offset) goto fail;
        optim_tensor *d = &o->t[o->nt++];
        d->offset = t[i].offset;
        d->count = t[i].count;
        d->ndim = t[i].ndim > 0 && t[i].ndim <= 4 ? t[i].ndim : 1;
        for (int k = 0; k < 4; k++) d->dims[k] = t[i].dims[k];
        if (t[i].ndim < 1 || t[i].ndim > 4) d->dims[0] = (int)t[i].count;
        o->n_stepped += d->count;
    }
    o->nbuf = r->nbufs ? r->nbufs(cfg) : 0;
    for (int i = 0; i < o->nbuf; i++) {
        if (!(o->buf[i] = fedc_nn_alloc(n))) goto fail;
        memset(o->buf[i], 0, n * sizeof *o->buf[i]);
    }
    if (cfg->kind == FEDC_OPT_ADAHESSIAN) {
        if (!(o->probe = fedc_nn_alloc(n)) || !(o->hvp = fedc_nn_alloc(n))) goto fail;
        memset(o->probe, 0, n * sizeof *o->probe);
        memset(o->hvp, 0, n * sizeof *o->hvp);
    }
    if ((cfg->kind == FEDC_OPT_ADAMP || cfg->kind == FEDC_OPT_SGDP) && !(o->scratch = fedc_nn_alloc(n))) goto fail;
    if (r->init && r->init(o) != 0) goto fail;
    return o;
fail:
    fedc_optim_free(o);
    return NULL;
}

fedc_optim *fedc_optim_create(const fedc_optim_config *cfg, size_t n) {
    fedc_tensor_info all;
    memset(&all, 0, sizeof all);
    all.count = n;
    all.ndim = 1;
    all.dims[0] = (int)(n < (size_t)INT32_MAX ? n : (size_t)INT32_MAX);
    return fedc_optim_create_tensors(cfg, &all, 1, n);
}

fedc_optim *fedc_optim_create_arch(const fedc_optim_config *cfg, const fedc_arch *a) {
    int nt = fedc_arch_ntensors(a);
    fedc_tensor_info *t = malloc((size_t)(nt > 0 ? nt : 1) * sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < nt; i++) t[i] = fedc_arch_tensor(a, i);
    fedc_optim *o = fedc_optim_create_tensors(cfg, t, nt, fedc_arch_nparams(a));
    free(t);
    return o;
}

fedc_optim_config fedc_optim_config_get(const fedc_optim *o) { return o->cfg; }

int fedc_optim_wants_hvp(const fedc_optim *o) { return o->cfg.kind == FEDC_OPT_ADAHESSIAN; }

float *fedc_optim_hvp_probe(fedc_optim *o, fedc_rng *rng) {
    if (!o->probe) return NULL;
    /* Rademacher entries, 64 per draw; zero outside the stepped tensors. */
    memset(o->probe, 0, o->n * sizeof *o->probe);
    for (int k = 0; k < o->nt; k++) {
        float *z = o->probe + o->t[k].offset;
        size_t cnt = o->t[k].count;
        for (size_t i = 0; i < cnt; i += 64) {
            uint64_t bits = fedc_rng_u64(rng);
            size_t m = cnt - i < 64 ? cnt - i : 64;
            for (size_t b = 0; b < m; b++) z[i + b] = (bits >> b) & 1u ? 1.0f : -1.0f;
        }
    }
    o->hvp_ready = 1;
    return o->probe;
}

float *fedc_optim_hvp_buffer(fedc_optim *o) { return o->hvp; }

int fedc_optim_step(fedc_optim *o, float *params, const float *grad) {
    if (o->probe && !o->hvp_ready) return -1; /* ADAHESSIAN without a fresh H z */
    o->ops->step(o, params, grad);
    o->step++;
    o->hvp_ready = 0;
    return 0;
}

long long fedc_optim_steps(const fedc_optim *o) { return o->step; }

/* ---- state blob: [step as two floats' bits | buffers | rule's extra] ---- */

size_t fedc_optim_state_size(const fedc_optim *o) {
    size_t extra = o->ops->extra_floats ? o->ops->extra_floats(o) : 0;
    return 2 + (size_t)o->nbuf * o->n + extra;
}

void fedc_optim_state_save(const fedc_optim *o, float *out) {
    memcpy(out, &o->step, sizeof o->step);
    out += 2;
    for (int i = 0; i < o->nbuf; i++, out += o->n) memcpy(out, o->buf[i], o->n * sizeof *out);
    if (o->ops->save_extra) o->ops->save_extra(o, out);
}

int fedc_optim_state_load(fedc_optim *o, const float *in) {
    long long step;
    memcpy(&step, in, sizeof step);
    if (step < 0) return -1;
    in += 2;
    for (int i = 0; i < o->nbuf; i++, in += o->n) memcpy(o->buf[i], in, o->n * sizeof *in);
    if (o->ops->load_extra) o->ops->load_extra(o, in);
    o->step = step;
    o->hvp_ready = 0;
    return 0;
}

void fedc_optim_set_lr(fedc_optim *o, float lr) { o->cfg.lr = lr; }
