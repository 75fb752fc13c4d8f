/* FedAvg and the server-optimizer family (Reddi et al., "Adaptive Federated
 * Optimization"): the combined client delta acts as a pseudo-gradient. */
#include <math.h>
#include <stdlib.h>

#include "strategy_impl.h"

static int init_none(fedc_strategy *s, fedc_error *err) { return fedc_strategy_alloc_state(s, 0, err); }

/* FedProx's proximal term mu/2 ||w - x||^2 adds mu (w - x) to the gradient. */
static void prox_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)loss;
    float mu = (float)c->strategy->task.strategy.mu;
    if (mu == 0.0f) return;
    for (size_t j = 0; j < c->d; j++) g[j] += mu * (w[j] - c->global[j]);
}

/* FedAvgM: v = beta v + mean; x += eta_g v. */
static int init_one_moment(fedc_strategy *s, fedc_error *err) { return fedc_strategy_alloc_state(s, s->d, err); }
static void step_momentum(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    float beta = (float)s->task.strategy.momentum, eta = (float)rc->server_lr;
    float *v = s->state;
    for (size_t j = 0; j < s->d; j++) {
        v[j] = beta * v[j] + mean[j];
        x[j] += eta * v[j];
    }
}

/* Adaptive family: m first moment, v second moment (state = [m | v]). */
static int init_two_moments(fedc_strategy *s, fedc_error *err) { return fedc_strategy_alloc_state(s, 2 * s->d, err); }

typedef enum { ADAM, YOGI, ADAGRAD } adaptive_kind;

static void step_adaptive(fedc_strategy *s, float *x, const float *mean, float eta, adaptive_kind kind) {
    float b1 = (float)s->task.strategy.beta1, b2 = (float)s->task.strategy.beta2;
    float tau = (float)s->task.strategy.tau;
    float *m = s->state, *v = s->state + s->d;
    for (size_t j = 0; j < s->d; j++) {
        float g = mean[j], g2 = g * g;
        m[j] = b1 * m[j] + (1.0f - b1) * g;
        switch (kind) {
        case ADAM: v[j] = b2 * v[j] + (1.0f - b2) * g2; break;
        case YOGI: v[j] = v[j] - (1.0f - b2) * g2 * (v[j] - g2 > 0 ? 1.0f : (v[j] - g2 < 0 ? -1.0f : 0.0f)); break;
        case ADAGRAD: v[j] = v[j] + g2; break;
        }
        x[j] += eta * m[j] / (sqrtf(v[j]) + tau);
    }
}
static void step_adam(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    step_adaptive(s, x, mean, (float)rc->server_lr, ADAM);
}
static void step_yogi(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    step_adaptive(s, x, mean, (float)rc->server_lr, YOGI);
}
static void step_adagrad(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    step_adaptive(s, x, mean, (float)rc->server_lr, ADAGRAD);
}

const fedc_strategy_ops fedc_ops_fedavg = {.name = "fedavg", .init = init_none, .server_step = fedc_step_sgd};
const fedc_strategy_ops fedc_ops_fedprox = {
    .name = "fedprox", .init = init_none, .client_grad = prox_grad, .server_step = fedc_step_sgd};
const fedc_strategy_ops fedc_ops_fedavgm = {.name = "fedavgm", .init = init_one_moment, .server_step = step_momentum};
const fedc_strategy_ops fedc_ops_fedadam = {.name = "fedadam", .init = init_two_moments, .server_step = step_adam};
const fedc_strategy_ops fedc_ops_fedyogi = {.name = "fedyogi", .init = init_two_moments, .server_step = step_yogi};
const fedc_strategy_ops fedc_ops_fedadagrad = {
    .name = "fedadagrad", .init = init_two_moments, .server_step = step_adagrad};
