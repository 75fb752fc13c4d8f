/* FedAU (Wang and Ji, "A Lightweight Method for Tackling Unknown
 * Participation Statistics in Federated Averaging"), as in the authors'
 * released code: per client the server counts the rounds since it last took
 * part and keeps the mean of its past participation intervals (O(1) scalars
 * per client). A participant's weight omega_n is that mean (1 before any
 * interval is known, so the first participation counts once); then its
 * current interval (rounds since last + 1) joins the mean. A client absent
 * for `fedau_cutoff` rounds has that interval recorded and its count
 * restarted (the paper's K; 0 = none). The update divides by the whole
 * federation, not by the participants:
 *   x <- x + eta_g sum_{n in S} q_n omega_n Delta_n,  q_n = n_n / sum_all n
 * (1/N with equal data sizes, as in the paper). Under Bernoulli(p_n)
 * participation omega_n -> 1/p_n; when everyone takes part every round,
 * omega_n = 1 and this is FedAvg. */
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

/* state per client: [interval sum | interval count | rounds since last] */
static int init(fedc_strategy *s, fedc_error *err) {
    if (fedc_strategy_alloc_state(s, 3 * (size_t)s->n_clients, err) != 0) return -1;
    s->impl = calloc((size_t)s->n_clients, 1); /* participant marks */
    if (!s->impl) return fedc_fail(err, "out of memory");
    return 0;
}

static void destroy(fedc_strategy *s) { free(s->impl); }

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    int N = s->n_clients;
    float *isum = s->state, *icnt = s->state + N, *since = s->state + 2 * (size_t)N;
    unsigned char *mark = s->impl;
    double all = 0, part = 0;
    if (rc->clients)
        for (int k = 0; k < N && k < rc->n_clients; k++) all += (double)rc->clients[k].n_samples;
    for (int i = 0; i < n; i++) part += u[i].weight;
    if (all <= 0) all = part * N / n; /* no federation facts: assume participants are typical */
    double *scale = calloc((size_t)n + 1, sizeof *scale);
    if (!scale) return fedc_fail(err, "out of memory");
    memset(mark, 0, (size_t)N);
    for (int i = 0; i < n; i++) {
        int k = u[i].client;
        double omega = (k >= 0 && k < N && icnt[k] > 0) ? isum[k] / icnt[k] : 1.0;
        /* combine gives sum (n_i / part) z_i; we want sum (n_i / all) omega_i Delta_i */
        scale[i] = omega * part / all;
    }
    double total = fedc_strategy_combine_scaled(s, u, n, scale, s->mean);
    free(scale);
    if (total <= 0) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    fedc_step_sgd(s, x, s->mean, rc);
    for (int i = 0; i < n; i++)
        if (u[i].client >= 0 && u[i].client < N) mark[u[i].client] = 1;
    int cutoff = s->task.strategy.fedau_cutoff;
    for (int k = 0; k < N; k++) {
        if (mark[k]) {
            isum[k] += since[k] + 1;
            icnt[k] += 1;
            since[k] = 0;
        } else {
            since[k] += 1;
            if (cutoff > 0 && since[k] >= cutoff) {
                isum[k] += since[k];
                icnt[k] += 1;
                since[k] = 0;
            }
        }
    }
    return 0;
}

const fedc_strategy_ops fedc_ops_fedau = {.name = "fedau", .init = init, .aggregate = aggregate, .destroy = destroy};
