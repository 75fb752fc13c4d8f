/* Strategy lookup by name and the engine-facing calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

static const fedc_strategy_ops *const k_ops[] = {
    &fedc_ops_fedavg, &fedc_ops_fedprox, &fedc_ops_fedavgm, &fedc_ops_fedadam, &fedc_ops_fedyogi,
    &fedc_ops_fedadagrad, &fedc_ops_scaffold, &fedc_ops_fedavg_m, &fedc_ops_scaffold_m, &fedc_ops_fednova,
    &fedc_ops_fedau, &fedc_ops_afa_cd, &fedc_ops_afa_cs, &fedc_ops_fedhyper, &fedc_ops_fedsam,
    &fedc_ops_fedspeed, &fedc_ops_fedamd, &fedc_ops_fedld, &fedc_ops_fedopt,
    &fedc_ops_fedbuff, &fedc_ops_fedfix,
    &fedc_ops_async_fedavg,
    &fedc_ops_finetune, &fedc_ops_fedper, &fedc_ops_ditto, &fedc_ops_clustered, &fedc_ops_pfedgate,
    &fedc_ops_dpsgd, &fedc_ops_gossip, &fedc_ops_gossip_vc, &fedc_ops_dfedsam, &fedc_ops_dfedsam_mgs,
    &fedc_ops_dadao,
};
#define N_OPS (sizeof k_ops / sizeof k_ops[0])

static const fedc_strategy_ops *find(const char *name) {
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(k_ops[i]->name, name) == 0) return k_ops[i];
    return NULL;
}

int fedc_strategy_known(const char *name) { return find(name) != NULL; }

int fedc_strategy_alloc_state(fedc_strategy *s, size_t n, fedc_error *err) {
    free(s->state);
    s->state = NULL;
    s->state_n = n;
    if (n == 0) return 0;
    s->state = calloc(n, sizeof(float));
    if (!s->state) return fedc_fail(err, "out of memory for strategy state (%zu floats)", n);
    return 0;
}

fedc_state_store *fedc_strategy_client_table(fedc_strategy *s, size_t floats, fedc_error *err) {
    fedc_state_config sc = {floats * sizeof(float), (size_t)(s->task.state.memory_mb * 1048576.0),
                            s->spill_dir[0] ? s->spill_dir : s->task.state.spill_dir};
    return fedc_state_create(&sc, s->n_clients, err);
}

fedc_strategy *fedc_strategy_create_env(const fedc_task *t, const fedc_strategy_env *env, fedc_error *err) {
    const fedc_strategy_ops *ops = find(t->strategy.name);
    if (!ops) {
        fedc_fail(err, "strategy.name: \"%s\" is not a known strategy", t->strategy.name);
        return NULL;
    }
    fedc_strategy *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory for a strategy");
        return NULL;
    }
    s->ops = ops;
    s->task = *t;
    s->d = env->d;
    s->n_clients = env->n_clients > 0 ? env->n_clients : 1;
    s->input_dim = env->input_dim;
    s->info.name = ops->name;
    if (env->spill_dir) snprintf(s->spill_dir, sizeof s->spill_dir, "%s", env->spill_dir);
    int nt = env->layout && env->layout->n > 0 ? env->layout->n : 1;
    s->n_tensors = nt;
    s->t_offset = malloc((size_t)nt * sizeof(size_t));
    s->t_count = malloc((size_t)nt * sizeof(size_t));
    s->mean = malloc((env->d ? env->d : 1) * sizeof(float));
    if (!s->t_offset || !s->t_count || !s->mean) {
        fedc_fail(err, "out of memory for a %zu-parameter strategy", env->d);
        fedc_strategy_free(s);
        return NULL;
    }
    for (int i = 0; i < nt; i++) {
        s->t_offset[i] = env->layout && env->layout->n > 0 ? env->layout->offset[i] : 0;
        s->t_count[i] = env->layout && env->layout->n > 0 ? env->layout->count[i] : env->d;
    }
    if (ops->init && ops->init(s, err) != 0) {
        fedc_strategy_free(s);
        return NULL;
    }
    return s;
}

fedc_strategy *fedc_strategy_create(const fedc_task *t, size_t d, int n_clients, fedc_error *err) {
    fedc_strategy_env env = {d, n_clients, NULL, NULL, 0};
    return fedc_strategy_create_env(t, &env, err);
}

void fedc_strategy_free(fedc_strategy *s) {
    if (!s) return;
    if (s->ops->destroy) s->ops->destroy(s);
    free(s->tensors);
    free(s->state);
    free(s->mean);
    free(s->t_offset);
    free(s->t_count);
    free(s);
}

fedc_strategy_info fedc_strategy_info_get(const fedc_strategy *s) { return s->info; }

void fedc_strategy_set_combine(fedc_strategy *s, fedc_combine_fn fn, void *ctx) {
    s->combine = fn;
    s->combine_ctx = ctx;
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

double fedc_strategy_combine(const fedc_strategy *s, const fedc_update *u, int n, float *out) {
    if (s->combine) return s->combine(s->combine_ctx, u, n, s->d, out);
    return fedc_weighted_mean(u, n, s->d, out);
}

void fedc_strategy_round_begin(fedc_strategy *s, const fedc_round_ctx *rc) {
    if (s->ops->round_begin) s->ops->round_begin(s, rc);
}

const float *fedc_strategy_down_extra(const fedc_strategy *s) { return s->info.extra_down ? s->down : NULL; }

void fedc_strategy_client_begin(fedc_client_ctx *c) {
    if (c->strategy->ops->client_begin) c->strategy->ops->client_begin(c);
}

void fedc_strategy_client_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    if (c->strategy->ops->client_grad) c->strategy->ops->client_grad(c, w, g, loss);
}

void fedc_strategy_client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra_out) {
    if (c->strategy->ops->client_end) c->strategy->ops->client_end(c, y, steps, delta, extra_out);
}

void fedc_strategy_client_personal(const fedc_client_ctx *c, float *model) {
    if (c->strategy->ops->client_personal) c->strategy->ops->client_personal(c, model);
}

const float *fedc_strategy_client_model(const fedc_strategy *s, int client) {
    return s->ops->client_model ? s->ops->client_model(s, client) : NULL;
}

void fedc_step_sgd(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc) {
    float eta = (float)rc->server_lr;
    for (size_t j = 0; j < s->d; j++) x[j] += eta * mean[j];
}

int fedc_strategy_aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                            fedc_error *err) {
    if (n <= 0) return fedc_fail(err, "aggregation: no update to aggregate");
    if (s->info.decentral)
        return fedc_fail(err, "aggregation: strategy %s is decentralised; its nodes gossip instead", s->info.name);
    if (s->ops->aggregate) return s->ops->aggregate(s, x, u, n, rc, err);
    if (fedc_strategy_combine(s, u, n, s->mean) <= 0)
        return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    s->ops->server_step(s, x, s->mean, rc);
    return 0;
}

size_t fedc_strategy_state_size(const fedc_strategy *s) { return s->state_n; }

void fedc_strategy_state_save(const fedc_strategy *s, float *out) {
    if (s->state_n) memcpy(out, s->state, s->state_n * sizeof(float));
}

void fedc_strategy_state_load(fedc_strategy *s, const float *in) {
    if (s->state_n) memcpy(s->state, in, s->state_n * sizeof(float));
}

int fedc_strategy_has_tables(const fedc_strategy *s) { return s->ops->tables_save != NULL; }

int fedc_strategy_tables_save(fedc_strategy *s, FILE *f, fedc_error *err) {
    return s->ops->tables_save ? s->ops->tables_save(s, f, err) : 0;
}

int fedc_strategy_tables_load(fedc_strategy *s, FILE *f, fedc_error *err) {
    return s->ops->tables_load ? s->ops->tables_load(s, f, err) : 0;
}

double fedc_local_step_norm(int steps, double rho) {
    if (rho <= 0) return steps;
    /* sum over k of (1 - rho^(K-k)) / (1 - rho): heavy-ball SGD's weights. */
    return (steps - rho * (1 - pow(rho, steps)) / (1 - rho)) / (1 - rho);
}

double fedc_strategy_combine_scaled(const fedc_strategy *s, const fedc_update *u, int n, const double *scale,
                                   float *out) {
    fedc_update *su = malloc((size_t)n * sizeof *su);
    float *buf = malloc((size_t)n * s->d * sizeof(float));
    double total = -1;
    if (su && buf) {
        for (int i = 0; i < n; i++) {
            su[i] = u[i];
            float *b = buf + (size_t)i * s->d;
            float f = (float)scale[i];
            for (size_t j = 0; j < s->d; j++) b[j] = f * u[i].delta[j];
            su[i].delta = b;
        }
        total = fedc_strategy_combine(s, su, n, out);
    }
    free(su);
    free(buf);
    return total;
}

int fedc_strategy_set_tensors(fedc_strategy *s, const fedc_tensor_info *t, int nt, fedc_error *err) {
    free(s->tensors);
    s->tensors = NULL;
    s->ntensors = 0;
    if (nt > 0) {
        s->tensors = malloc((size_t)nt * sizeof *t);
        if (!s->tensors) return fedc_fail(err, "out of memory for the strategy's tensor layout");
        memcpy(s->tensors, t, (size_t)nt * sizeof *t);
        s->ntensors = nt;
    }
    return s->ops->tensors_set ? s->ops->tensors_set(s, err) : 0;
}

float *fedc_strategy_node_model(fedc_strategy *s, int node) {
    if (!s->info.decentral || node < 0 || node >= s->n_clients) return NULL;
    return s->state + (size_t)node * s->d;
}

int fedc_strategy_gossip(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent,
                         fedc_error *err) {
    if (!s->ops->gossip) return fedc_fail(err, "strategy %s is not decentralised: it aggregates", s->info.name);
    return s->ops->gossip(s, delta, rc, sent, err);
}
