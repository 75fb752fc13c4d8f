/* SCAFFOLD (Karimireddy et al., "SCAFFOLD: Stochastic Controlled Averaging
 * for Federated Learning", 2020), Algorithm 1:
 *   client: y <- y - eta (g_i(y) - c_i + c) for K steps;
 *           c_i+ = option I: g_i(x) (gradient of all local data at x), or
 *                  option II: c_i - c + (x - y) / (K eta);
 *           sends (y - x, c_i+ - c_i) and keeps c_i <- c_i+;
 *   server: x <- x + eta_g avg(y - x); c <- c + (1/N) sum_i (c_i+ - c_i)
 *           (= |S|/N times the average control-variate change).
 * The model deltas go through the combine rule (sample-weighted mean by
 * default, as fedc's FedAvg), the control variates are averaged uniformly so
 * that c stays the mean of all c_i. Down: x and c; up: delta and dc (2d). */
#include <string.h>

#include "strategy_impl.h"

static int init(fedc_strategy *s, fedc_error *err) {
    s->info.extra_down = s->d;
    s->info.extra_up = s->d;
    s->info.state_floats = s->d;
    if (fedc_strategy_alloc_state(s, s->d, err) != 0) return -1; /* c */
    s->down = s->state;
    return 0;
}

static void client_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)w;
    (void)loss;
    const float *cg = c->down_extra, *ci = c->state;
    for (size_t j = 0; j < c->d; j++) g[j] += cg[j] - ci[j];
}

static void client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *dc) {
    (void)y;
    float *ci = c->state;
    const float *cg = c->down_extra;
    size_t d = c->d;
    if (c->strategy->task.strategy.scaffold_option == 1) {
        /* c_i+ = grad F_i(x) over all local data; dc first holds c_i+. */
        c->oracle->full_grad(c->oracle->self, c->global, dc);
        for (size_t j = 0; j < d; j++) {
            float next = dc[j];
            dc[j] = next - ci[j];
            ci[j] = next;
        }
        return;
    }
    if (steps <= 0) {
        memset(dc, 0, d * sizeof(float));
        return;
    }
    /* x - y = -delta */
    float inv = 1.0f / ((float)steps * c->lr);
    for (size_t j = 0; j < d; j++) {
        float next = ci[j] - cg[j] - delta[j] * inv;
        dc[j] = next - ci[j];
        ci[j] = next;
    }
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    if (fedc_strategy_combine(s, u, n, s->mean) <= 0)
        return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    fedc_step_sgd(s, x, s->mean, rc);
    float *c = s->state, inv_n = 1.0f / (float)s->n_clients;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < s->d; j++) c[j] += inv_n * u[i].extra[j];
    return 0;
}

const fedc_strategy_ops fedc_ops_scaffold = {.name = "scaffold",
                                             .init = init,
                                             .client_grad = client_grad,
                                             .client_end = client_end,
                                             .aggregate = aggregate};
