/* FedOpt (Reddi et al. 2021, "Adaptive Federated Optimization") with any of
 * fedc's local optimizers on the server: the negated averaged client
 * update is a pseudo-gradient, g = -mean, and the server optimizer
 * (strategy.server_optimizer, its paper defaults, learning rate server_lr)
 * steps the global model with it. sgd with server_lr 1 is FedAvg. Buffers
 * (batch-norm running statistics) and local parameters are not trained:
 * they take the plain average (0 for local parameters, whose updates are
 * zero). The optimizer's state is mirrored into the strategy's float state
 * after every step, so checkpoints hold it. */
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

typedef struct fedopt {
    fedc_optim *opt;
    float *g;
} fedopt;

static void destroy(fedc_strategy *s) {
    fedopt *f = s->impl;
    if (!f) return;
    fedc_optim_free(f->opt);
    free(f->g);
    free(f);
    s->impl = NULL;
}

/* (Re)builds the optimizer over the current layout and its state mirror. */
static int build(fedc_strategy *s, fedc_error *err) {
    fedopt *f = s->impl;
    fedc_opt_kind kind;
    if (fedc_opt_kind_parse(s->task.strategy.server_optimizer, &kind) != 0 || kind == FEDC_OPT_ADAHESSIAN)
        return fedc_fail(err, "strategy.server_optimizer: \"%s\" cannot run on the server",
                         s->task.strategy.server_optimizer);
    fedc_optim_config cfg = fedc_optim_defaults(kind, (float)s->task.strategy.server_lr);
    fedc_optim_free(f->opt);
    f->opt = s->ntensors ? fedc_optim_create_tensors(&cfg, s->tensors, s->ntensors, s->d)
                         : fedc_optim_create(&cfg, s->d);
    if (!f->opt) return fedc_fail(err, "out of memory for the %s server optimizer", s->task.strategy.server_optimizer);
    free(s->state);
    s->state_n = fedc_optim_state_size(f->opt);
    s->state = malloc(s->state_n * sizeof(float));
    if (!s->state) return fedc_fail(err, "out of memory for the server optimizer's state");
    fedc_optim_state_save(f->opt, s->state);
    return 0;
}

static int init(fedc_strategy *s, fedc_error *err) {
    fedopt *f = calloc(1, sizeof *f);
    if (!f) return fedc_fail(err, "out of memory for strategy fedopt");
    s->impl = f;
    if (!(f->g = malloc(s->d * sizeof *f->g))) return fedc_fail(err, "out of memory for strategy fedopt");
    /* The optimizer is built once the layout is known (the round engine sets
     * it right after creating the strategy), or at the first step; a
     * client-side strategy never aggregates and never builds one. */
    fedc_opt_kind kind;
    if (fedc_opt_kind_parse(s->task.strategy.server_optimizer, &kind) != 0 || kind == FEDC_OPT_ADAHESSIAN)
        return fedc_fail(err, "strategy.server_optimizer: \"%s\" cannot run on the server",
                         s->task.strategy.server_optimizer);
    return 0;
}

static void step(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    fedopt *f = s->impl;
    if (!f->opt && build(s, NULL) != 0) return; /* out of memory: the model stays as it is */
    fedc_optim_state_load(f->opt, s->state); /* as the last step, or a checkpoint, left it */
    if (rc) fedc_optim_set_lr(f->opt, (float)rc->server_lr); /* server_lr's schedule */
    for (size_t j = 0; j < s->d; j++) f->g[j] = -mean[j];
    fedc_optim_step(f->opt, x, f->g);
    fedc_optim_state_save(f->opt, s->state);
    for (int k = 0; k < s->ntensors; k++) {
        if (!s->tensors[k].buffer) continue;
        const size_t off = s->tensors[k].offset;
        for (size_t j = 0; j < s->tensors[k].count; j++) x[off + j] += mean[off + j];
    }
}

const fedc_strategy_ops fedc_ops_fedopt = {
    .name = "fedopt", .init = init, .server_step = step, .destroy = destroy, .tensors_set = build};
