/* FedAvg and the server-optimizer family (Reddi et al., "Adaptive Federated
 * Optimization"): the combined client delta acts as a pseudo-gradient. */
#include <math.h>
#include <stdlib.h>

#include "strategy_impl.h"

static int alloc_state(fedc_strategy *s, size_t n, fedc_error *err) {
    s->state_n = n;
    if (n == 0) return 0;
    s->state = calloc(n, sizeof(float));
    if (!s->state) return fedc_fail(err, "out of memory for strategy state (%zu floats)", n);
    return 0;
}

/* x += eta_g * mean */
static void step_sgd(fedc_strategy *s, float *x, const float *mean) {
    float eta = (float)s->task.strategy.server_lr;
    for (size_t j = 0; j < s->d; j++) x[j] += eta * mean[j];
}

static int init_none(fedc_strategy *s, fedc_error *err) { return alloc_state(s, 0, err); }

/* FedProx's proximal term mu/2 ||w - x||^2 adds mu (w - x) to the gradient. */
static void prox_grad(const fedc_client_ctx *c, const float *w, float *g) {
    float mu = (float)c->strategy->task.strategy.mu;
    if (mu == 0.0f) return;
    for (size_t j = 0; j < c->d; j++) g[j] += mu * (w[j] - c->global[j]);
}

/* FedAvgM: v = beta v + mean; x += eta_g v. */
static int init_one_moment(fedc_strategy *s, fedc_error *err) { return alloc_state(s, s->d, err); }
static void step_momentum(fedc_strategy *s, float *x, const float *mean) {
    float beta = (float)s->task.strategy.momentum, eta = (float)s->task.strategy.server_lr;
    float *v = s->state;
    for (size_t j = 0; j < s->d; j++) {
        v[j] = beta * v[j] + mean[j];
        x[j] += eta * v[j];
    }
}

/* Adaptive family: m first moment, v second moment (state = [m | v]). */
static int init_two_moments(fedc_strategy *s, fedc_error *err) { return alloc_state(s, 2 * s->d, err); }

typedef enum { ADAM, YOGI, ADAGRAD } adaptive_kind;

static void step_adaptive(fedc_strategy *s, float *x, const float *mean, adaptive_kind kind) {
    float b1 = (float)s->task.strategy.beta1, b2 = (float)s->task.strategy.beta2;
    float tau = (float)s->task.strategy.tau, eta = (float)s->task.strategy.server_lr;
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
static void step_adam(fedc_strategy *s, float *x, const float *mean) { step_adaptive(s, x, mean, ADAM); }
static void step_yogi(fedc_strategy *s, float *x, const float *mean) { step_adaptive(s, x, mean, YOGI); }
static void step_adagrad(fedc_strategy *s, float *x, const float *mean) { step_adaptive(s, x, mean, ADAGRAD); }

const fedc_strategy_ops fedc_ops_fedavg = {"fedavg", init_none, NULL, NULL, step_sgd};
const fedc_strategy_ops fedc_ops_fedprox = {"fedprox", init_none, prox_grad, NULL, step_sgd};
const fedc_strategy_ops fedc_ops_fedavgm = {"fedavgm", init_one_moment, NULL, NULL, step_momentum};
const fedc_strategy_ops fedc_ops_fedadam = {"fedadam", init_two_moments, NULL, NULL, step_adam};
const fedc_strategy_ops fedc_ops_fedyogi = {"fedyogi", init_two_moments, NULL, NULL, step_yogi};
const fedc_strategy_ops fedc_ops_fedadagrad = {"fedadagrad", init_two_moments, NULL, NULL, step_adagrad};
