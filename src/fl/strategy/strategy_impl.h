/* Private: the strategy object and the per-algorithm operations table. */
#ifndef FEDC_STRATEGY_IMPL_H
#define FEDC_STRATEGY_IMPL_H

#include "fedc/aggregate.h"
#include "fedc/strategy.h"

typedef struct fedc_strategy_ops {
    const char *name;
    /* Sets info sizes and allocates server state; s->cfg and s->d are set. */
    int (*init)(fedc_strategy *s, fedc_error *err);
    void (*client_grad)(const fedc_client_ctx *c, const float *w, float *g);
    void (*client_end)(const fedc_client_ctx *c, const float *y, int steps, float *extra_out);
    /* x <- x + step(mean); mean is the (weighted or robust) combined delta. */
    void (*server_step)(fedc_strategy *s, float *x, const float *mean);
} fedc_strategy_ops;

struct fedc_strategy {
    const fedc_strategy_ops *ops;
    fedc_task task;
    size_t d;
    int n_clients;
    fedc_strategy_info info;
    float *state;       /* server state (moments, control variates), state_n floats */
    size_t state_n;
    float *down;        /* extra download, info.extra_down floats (points into state) */
    float *mean;        /* scratch: combined delta */
    fedc_combiner *combiner; /* robust aggregation (borrowed), or NULL: weighted mean */
};

extern const fedc_strategy_ops fedc_ops_fedavg, fedc_ops_fedprox, fedc_ops_fedavgm, fedc_ops_fedadam,
    fedc_ops_fedyogi, fedc_ops_fedadagrad;

/* Weighted mean of the deltas into out; returns the total weight. */
double fedc_weighted_mean(const fedc_update *u, int n, size_t d, float *out);

#endif
