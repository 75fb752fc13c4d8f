/* Sharpness-aware local training.
 * FedSAM (Qu et al., "Generalized Federated Learning via Sharpness Aware
 * Minimization", ICML 2022; Caldarola et al. 2022): every local step uses
 * the gradient at the perturbed point w + rho g / |g| of the same
 * minibatch; the server is FedAvg's.
 * FedSpeed (Sun, Shen, Zhou, Hu and Tao, "FedSpeed: Larger Local Interval,
 * Less Communication Round, and Higher Generalization Accuracy", ICLR 2023),
 * Algorithm 1 with the perturbed gradient alone (the authors' simulator):
 *   y <- y - eta (g_SAM(y) - ghat_i + (1/lambda) (y - x))   for K steps
 *   ghat_i <- ghat_i - (1/lambda) (y_K - x)                  (kept by the client)
 *   xhat_i = y_K - lambda ghat_i;  x <- mean of xhat_i (server step on
 *   the combined xhat_i - x).
 * With rho = 0 the local steps are FedProx's with mu = 1/lambda; the first
 * round then sends xhat - x = 2 (y_K - x), the dual correction FedDyn also
 * makes. */
#include <math.h>
#include <string.h>

#include "strategy_impl.h"

static int init_sam(fedc_strategy *s, fedc_error *err) {
    s->info.scratch_floats = s->d; /* the perturbed point */
    return fedc_strategy_alloc_state(s, 0, err);
}

static int init_speed(fedc_strategy *s, fedc_error *err) {
    s->info.scratch_floats = s->d;
    s->info.state_floats = s->d; /* ghat_i */
    return fedc_strategy_alloc_state(s, 0, err);
}

/* g <- gradient of the same minibatch at w + rho g / |g|. */
static void sam_grad(fedc_client_ctx *c, const float *w, float *g) {
    double rho = c->strategy->task.strategy.rho;
    if (rho <= 0) return;
    double n2 = 0;
    for (size_t j = 0; j < c->d; j++) n2 += (double)g[j] * g[j];
    float f = (float)(rho / (sqrt(n2) + 1e-12));
    float *p = c->scratch;
    for (size_t j = 0; j < c->d; j++) p[j] = w[j] + f * g[j];
    c->oracle->batch_grad(c->oracle->self, p, g);
}

static void grad_sam(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)loss;
    sam_grad(c, w, g);
}

static void grad_speed(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)loss;
    sam_grad(c, w, g);
    float inv_l = (float)(1.0 / c->strategy->task.strategy.lambda);
    const float *gh = c->state, *x = c->global;
    for (size_t j = 0; j < c->d; j++) g[j] += inv_l * (w[j] - x[j]) - gh[j];
}

static void end_speed(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra) {
    (void)y;
    (void)steps;
    (void)extra;
    float lam = (float)c->strategy->task.strategy.lambda, inv_l = 1.0f / lam;
    float *gh = c->state;
    for (size_t j = 0; j < c->d; j++) {
        gh[j] -= inv_l * delta[j];
        delta[j] -= lam * gh[j];
    }
}

const fedc_strategy_ops fedc_ops_fedsam = {
    .name = "fedsam", .init = init_sam, .client_grad = grad_sam, .server_step = fedc_step_sgd};
const fedc_strategy_ops fedc_ops_fedspeed = {.name = "fedspeed",
                                             .init = init_speed,
                                             .client_grad = grad_speed,
                                             .client_end = end_speed,
                                             .server_step = fedc_step_sgd};
