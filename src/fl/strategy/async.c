/* Asynchronous aggregation in the common form of Fraboni et al. ("A General
 * Theory for Federated Optimization with Asynchronous and Heterogeneous
 * Clients Updates"): clients train on the model that was current when they
 * started, and the server applies
 *   x <- x + eta_g sum_{i arrived} d_i s(tau_i) Delta_i
 * where tau_i is how many aggregations happened since client i's model
 * (fedc_update.staleness), s the staleness weight and d_i the aggregation
 * weight. The three methods differ only in when the engine aggregates
 * (fedc_strategy_info.async_buffer / async_window_s):
 *   fedbuff       after K = buffer_size arrivals (Nguyen et al., FedBuff);
 *   async-fedavg  after every arrival (K = 1);
 *   fedfix        every window_s seconds, whatever arrived.
 * With s = 1, d_i = n_i / sum n and every update fresh, one aggregation is
 * FedAvg's: the deltas pass through fedc_strategy_combine unscaled, so the
 * result is bit for bit the synchronous one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

double fedc_async_staleness_weight(const fedc_task *t, int tau) {
    double a = t->strategy.staleness_a, b = t->strategy.staleness_hinge;
    if (tau <= 0 || !strcmp(t->strategy.staleness, "constant")) return 1.0;
    if (!strcmp(t->strategy.staleness, "hinge")) return tau <= b ? 1.0 : 1.0 / (1.0 + a * (tau - b));
    return pow(1.0 + tau, -a); /* polynomial */
}

static int init_common(fedc_strategy *s, fedc_error *err) {
    if (fedc_strategy_alloc_state(s, 0, err) != 0) return -1;
    const fedc_task *t = &s->task;
    if (s->ops == &fedc_ops_fedfix) {
        if (!(t->strategy.window_s > 0)) return fedc_fail(err, "strategy.window_s: fedfix needs a window > 0");
        s->info.async_window_s = t->strategy.window_s;
    } else if (s->ops == &fedc_ops_async_fedavg) {
        s->info.async_buffer = 1;
    } else {
        int k = t->strategy.buffer_size > 0 ? t->strategy.buffer_size : t->clients_per_round;
        if (k > t->clients_per_round)
            return fedc_fail(err, "strategy.buffer_size: %d is more than clients_per_round (%d)", k,
                             t->clients_per_round);
        s->info.async_buffer = k > 0 ? k : 1;
    }
    return 0;
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    const fedc_task *t = &s->task;
    const char *mode = t->strategy.async_weights;
    if (!strcmp(mode, "auto")) mode = s->ops == &fedc_ops_async_fedavg ? "unbiased" : "sample";
    double part = 0, all = 0;
    for (int i = 0; i < n; i++) part += u[i].weight;
    if (rc->clients)
        for (int k = 0; k < rc->n_clients; k++) all += (double)rc->clients[k].n_samples;
    double mean_n = all > 0 && rc->n_clients > 0 ? all / rc->n_clients : part / n;
    int concurrent = t->clients_per_round > 0 ? t->clients_per_round : 1;
    double *scale = calloc((size_t)n + 1, sizeof *scale);
    if (!scale) return fedc_fail(err, "out of memory");
    /* combine gives sum (n_i / part) z_i; scale turns that into d_i s(tau_i). */
    for (int i = 0; i < n; i++) {
        double st = fedc_async_staleness_weight(t, u[i].staleness);
        if (!strcmp(mode, "identical"))
            scale[i] = u[i].weight > 0 ? st * part / (n * u[i].weight) : 0;
        else if (!strcmp(mode, "unbiased"))
            scale[i] = st * (u[i].staleness + 1) * part / (concurrent * mean_n);
        else
            scale[i] = st;
    }
    double total = fedc_strategy_combine_scaled(s, u, n, scale, s->mean);
    free(scale);
    if (total <= 0) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    fedc_step_sgd(s, x, s->mean, rc);
    return 0;
}

const fedc_strategy_ops fedc_ops_fedbuff = {.name = "fedbuff", .init = init_common, .aggregate = aggregate};
const fedc_strategy_ops fedc_ops_fedfix = {.name = "fedfix", .init = init_common, .aggregate = aggregate};
const fedc_strategy_ops fedc_ops_async_fedavg = {
    .name = "async-fedavg", .init = init_common, .aggregate = aggregate};
