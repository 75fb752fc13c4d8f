/* FedAvg-M and SCAFFOLD-M (Cheng, Huang, Wu and Yuan, "Momentum Benefits
 * Non-IID Federated Learning Simply and Provably", ICLR 2024): the momentum
 * sits in the clients' local direction, built from the global direction g of
 * the last round, which the server sends down with the model:
 *   FedAvg-M:   step direction  beta grad F_i(y) + (1 - beta) g
 *   SCAFFOLD-M: step direction  beta (grad F_i(y) - c_i + c) + (1 - beta) g,
 *               c_i+ = mean of the K raw local gradients, c += (1/N) sum dc_i
 *   server:     g <- (1/|S|) sum_i (x - y_i) / (eta K_i);  x <- x - gamma g
 * for full participation (S = all clients) and partial participation alike.
 * gamma is given relative to the paper's natural scale eta K:
 * gamma = strategy.server_lr x eta x (mean K), so that beta = 1 with
 * server_lr 1 is exactly FedAvg (SCAFFOLD for scaffold-m). The per-client
 * terms (x - y_i)/(eta K_i) go through the combine rule with the sample
 * weights fedc uses everywhere. g starts at zero. */
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

typedef struct {
    int scaffold;
    double *scale;
    int scale_cap;
} mom_impl;

static int init_common(fedc_strategy *s, int scaffold, fedc_error *err) {
    mom_impl *m = calloc(1, sizeof *m);
    if (!m) return fedc_fail(err, "out of memory");
    m->scaffold = scaffold;
    s->impl = m;
    size_t d = s->d;
    /* state: [g | c (scaffold-m)]; the download is the same floats. */
    s->info.extra_down = scaffold ? 2 * d : d;
    s->info.extra_up = scaffold ? d : 0;
    s->info.state_floats = scaffold ? d : 0;
    s->info.scratch_floats = scaffold ? d : 0; /* sum of raw gradients */
    if (fedc_strategy_alloc_state(s, s->info.extra_down, err) != 0) return -1;
    s->down = s->state;
    return 0;
}
static int init_avg(fedc_strategy *s, fedc_error *err) { return init_common(s, 0, err); }
static int init_scaffold(fedc_strategy *s, fedc_error *err) { return init_common(s, 1, err); }

static void destroy(fedc_strategy *s) {
    mom_impl *m = s->impl;
    if (m) free(m->scale);
    free(m);
}

static void client_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)w;
    (void)loss;
    const mom_impl *m = c->strategy->impl;
    float beta = (float)c->strategy->task.strategy.client_beta;
    const float *gg = c->down_extra;
    size_t d = c->d;
    if (m->scaffold) {
        const float *cg = c->down_extra + d, *ci = c->state;
        float *sum = c->scratch;
        for (size_t j = 0; j < d; j++) {
            sum[j] += g[j];
            g[j] = beta * (g[j] - ci[j] + cg[j]) + (1.0f - beta) * gg[j];
        }
    } else {
        for (size_t j = 0; j < d; j++) g[j] = beta * g[j] + (1.0f - beta) * gg[j];
    }
}

static void client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *dc) {
    (void)y;
    (void)delta;
    const mom_impl *m = c->strategy->impl;
    if (!m->scaffold) return;
    float *ci = c->state;
    if (steps <= 0) {
        memset(dc, 0, c->d * sizeof(float));
        return;
    }
    float inv = 1.0f / (float)steps;
    for (size_t j = 0; j < c->d; j++) {
        float next = c->scratch[j] * inv;
        dc[j] = next - ci[j];
        ci[j] = next;
    }
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    mom_impl *m = s->impl;
    if (n > m->scale_cap) {
        double *ns = realloc(m->scale, (size_t)n * sizeof *ns);
        if (!ns) return fedc_fail(err, "out of memory");
        m->scale = ns;
        m->scale_cap = n;
    }
    /* mean K with the same weights the combine rule starts from */
    double wsum = 0, ksum = 0;
    for (int i = 0; i < n; i++) {
        wsum += u[i].weight;
        ksum += u[i].weight * u[i].steps;
    }
    double eta = rc->local_lr, kbar = wsum > 0 ? ksum / wsum : 0;
    for (int i = 0; i < n; i++) m->scale[i] = u[i].steps > 0 ? 1.0 / (eta * u[i].steps) : 0.0;
    if (kbar <= 0) return fedc_fail(err, "aggregation: no update took a local step");
    /* mean holds -g^{r+1} = avg (y_i - x) / (eta K_i) */
    if (fedc_strategy_combine_scaled(s, u, n, m->scale, s->mean) <= 0)
        return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    float gamma = (float)(rc->server_lr * eta * kbar);
    float *g = s->state;
    for (size_t j = 0; j < s->d; j++) {
        g[j] = -s->mean[j];
        x[j] -= gamma * g[j];
    }
    if (m->scaffold) {
        float *c = s->state + s->d, inv_n = 1.0f / (float)s->n_clients;
        for (int i = 0; i < n; i++)
            for (size_t j = 0; j < s->d; j++) c[j] += inv_n * u[i].extra[j];
    }
    return 0;
}

const fedc_strategy_ops fedc_ops_fedavg_m = {.name = "fedavg-m",
                                             .init = init_avg,
                                             .client_grad = client_grad,
                                             .client_end = client_end,
                                             .aggregate = aggregate,
                                             .destroy = destroy};
const fedc_strategy_ops fedc_ops_scaffold_m = {.name = "scaffold-m",
                                               .init = init_scaffold,
                                               .client_grad = client_grad,
                                               .client_end = client_end,
                                               .aggregate = aggregate,
                                               .destroy = destroy};
