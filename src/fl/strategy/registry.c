/* Strategy lookup by name and the engine-facing calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

static const fedc_strategy_ops *const k_ops[] = {
    &fedc_ops_fedavg, &fedc_ops_fedprox, &fedc_ops_fedavgm, &fedc_ops_fedadam, &fedc_ops_fedyogi,
    &fedc_ops_fedadagrad,
};
#define N_OPS (sizeof k_ops / sizeof k_ops[0])

static const fedc_strategy_ops *find(const char *name) {
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(k_ops[i]->name, name) == 0) return k_ops[i];
    return NULL;
}

int fedc_strategy_known(const char *name) { return find(name) != NULL; }

fedc_strategy *fedc_strategy_create(const fedc_task *t, size_t d, int n_clients, fedc_error *err) {
    const fedc_strategy_ops *ops = find(t->strategy.name);
    if (!ops) {
        fedc_fail(err, "strategy.name: \"%s\" is not a known strategy", t->strategy.name);
        return NULL;
    }
    fedc_strategy *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ops = ops;
    s->task = *t;
    s->d = d;
    s->n_clients = n_clients;
    s->info.name = ops->name;
    s->mean = malloc(d * sizeof(float));
    if (!s->mean || (ops->init && ops->init(s, err) != 0)) {
        if (!s->mean) fedc_fail(err, "out of memory for a %zu-parameter strategy", d);
        fedc_strategy_free(s);
        return NULL;
    }
    return s;
}

void fedc_strategy_free(fedc_strategy *s) {
    if (!s) return;
    free(s->state);
    free(s->mean);
    free(s);
}

fedc_strategy_info fedc_strategy_info_get(const fedc_strategy *s) { return s->info; }

const float *fedc_strategy_down_extra(const fedc_strategy *s) { return s->info.extra_down ? s->down : NULL; }

void fedc_strategy_client_grad(const fedc_client_ctx *c, const float *w, float *g) {
    if (c->strategy->ops->client_grad) c->strategy->ops->client_grad(c, w, g);
}

void fedc_strategy_client_end(const fedc_client_ctx *c, const float *y, int steps, float *extra_out) {
    if (c->strategy->ops->client_end) c->strategy->ops->client_end(c, y, steps, extra_out);
}

double fedc_weighted_mean(const fedc_update *u, int n, size_t d, float *out) {
    double total = 0;
    for (int i = 0; i < n; i++) total += u[i].weight;
    memset(out, 0, d * sizeof(float));
    if (total <= 0) return 0;
    /* Accumulate in update order so the result is independent of threads. */
    for (int i = 0; i < n; i++) {
        float w = (float)(u[i].weight / total);
        const float *delta = u[i].delta;
        for (size_t j = 0; j < d; j++) out[j] += w * delta[j];
    }
    return total;
}

void fedc_strategy_set_combiner(fedc_strategy *s, fedc_combiner *c) { s->combiner = c; }

/* The combined delta: the robust rule when one is attached, else the
 * weighted mean. */
static int combine(fedc_strategy *s, const float *x, const fedc_update *u, int n, int round, fedc_error *err) {
    if (n <= 0) return fedc_fail(err, "aggregation: no update to aggregate");
    if (s->combiner) return fedc_combine(s->combiner, u, n, round, x, s->mean, err);
    if (fedc_weighted_mean(u, n, s->d, s->mean) <= 0)
        return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    return 0;
}

int fedc_strategy_aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, int round,
                            fedc_error *err) {
    if (combine(s, x, u, n, round, err) != 0) return -1;
    s->ops->server_step(s, x, s->mean);
    return 0;
}

size_t fedc_strategy_state_size(const fedc_strategy *s) { return s->state_n; }

void fedc_strategy_state_save(const fedc_strategy *s, float *out) {
    if (s->state_n) memcpy(out, s->state, s->state_n * sizeof(float));
}

void fedc_strategy_state_load(fedc_strategy *s, const float *in) {
    if (s->state_n) memcpy(s->state, in, s->state_n * sizeof(float));
}
