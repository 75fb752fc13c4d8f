/* Anarchic Federated Averaging (Yang, Zhang, Khanduri and Liu, "Anarchic
 * Federated Learning", ICML 2022). Workers choose when they take part and
 * how many local steps K_i they run (in fedc: availability profiles and
 * local.min_epochs / their data size); each returns the average of the
 * gradients it used, G_i = (x - y_i) / (eta_L K_i), and the server steps
 * with two-sided learning rates:
 *   AFA-CD (cross-device): x <- x - eta eta_L avg_{arrivals} G_i
 *   AFA-CS (cross-silo):   the server keeps every worker's latest G_i and
 *                          steps on the average over all workers seen.
 * eta_L is local.lr, eta is strategy.server_lr: eta eta_L G_i =
 * eta (x - y_i) / K_i, so eta near the typical K makes one round move as far
 * as FedAvg. The averages use the combine rule's sample weights. AFA-CS's
 * table of G_i (d floats per worker) is a per-client server table that
 * spills to disk past state.memory_mb. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

typedef struct {
    fedc_state_store *table; /* afa-cs: G_i of each worker, then its weight */
    double *wt;              /* afa-cs: the weight stored for each worker */
} afa_impl;

static int init_cd(fedc_strategy *s, fedc_error *err) { return fedc_strategy_alloc_state(s, 0, err); }

static int init_cs(fedc_strategy *s, fedc_error *err) {
    afa_impl *a = calloc(1, sizeof *a);
    if (!a) return fedc_fail(err, "out of memory");
    s->impl = a;
    a->wt = calloc((size_t)s->n_clients, sizeof *a->wt);
    if (!a->wt) return fedc_fail(err, "out of memory");
    /* state: [weighted sum of the latest G_i (d) | total weight (1)] */
    if (fedc_strategy_alloc_state(s, s->d + 1, err) != 0) return -1;
    a->table = fedc_strategy_client_table(s, s->d, err);
    return a->table ? 0 : -1;
}

static void destroy_cs(fedc_strategy *s) {
    afa_impl *a = s->impl;
    if (!a) return;
    fedc_state_free(a->table);
    free(a->wt);
    free(a);
}

static void step_scales(const fedc_update *u, int n, double *scale) {
    for (int i = 0; i < n; i++) scale[i] = u[i].steps > 0 ? 1.0 / u[i].steps : 0.0;
}

static int aggregate_cd(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                        fedc_error *err) {
    double *scale = calloc((size_t)n + 1, sizeof *scale);
    if (!scale) return fedc_fail(err, "out of memory");
    step_scales(u, n, scale);
    double total = fedc_strategy_combine_scaled(s, u, n, scale, s->mean);
    free(scale);
    if (total <= 0) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    fedc_step_sgd(s, x, s->mean, rc);
    return 0;
}

static int aggregate_cs(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                        fedc_error *err) {
    afa_impl *a = s->impl;
    float *sum = s->state;
    double *total = NULL;
    size_t d = s->d;
    for (int i = 0; i < n; i++) {
        int k = u[i].client;
        if (k < 0 || k >= s->n_clients || u[i].steps <= 0) continue;
        float *g = fedc_state_acquire(a->table, k, err);
        if (!g) return -1;
        float w = (float)u[i].weight, old = (float)a->wt[k], inv = 1.0f / (float)u[i].steps;
        for (size_t j = 0; j < d; j++) {
            float next = u[i].delta[j] * inv; /* -eta_L G_i */
            sum[j] += w * next - old * g[j];
            g[j] = next;
        }
        fedc_state_release(a->table, k);
        s->state[d] += w - old;
        a->wt[k] = w;
    }
    (void)total;
    if (s->state[d] <= 0) return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    float f = (float)(rc->server_lr / s->state[d]);
    for (size_t j = 0; j < d; j++) x[j] += f * sum[j];
    return 0;
}

/* Checkpoint: the G_i table, then every worker's stored weight. */
static int tables_save_cs(fedc_strategy *s, FILE *f, fedc_error *err) {
    afa_impl *a = s->impl;
    if (fedc_state_save(a->table, f, err) != 0) return -1;
    if (fwrite(a->wt, sizeof *a->wt, (size_t)s->n_clients, f) != (size_t)s->n_clients)
        return fedc_fail(err, "afa-cs table: write failed");
    return 0;
}

static int tables_load_cs(fedc_strategy *s, FILE *f, fedc_error *err) {
    afa_impl *a = s->impl;
    if (fedc_state_load(a->table, f, err) != 0) {
        fedc_fail_prefix(err, "afa-cs table: ");
        return -1;
    }
    if (fread(a->wt, sizeof *a->wt, (size_t)s->n_clients, f) != (size_t)s->n_clients)
        return fedc_fail(err, "afa-cs table: the workers' weights are truncated");
    for (int k = 0; k < s->n_clients; k++)
        if (!isfinite(a->wt[k]) || a->wt[k] < 0 || (a->wt[k] > 0 && !fedc_state_has(a->table, k)))
            return fedc_fail(err, "afa-cs table: worker %d has weight %g but no stored G_i", k, a->wt[k]);
    return 0;
}

const fedc_strategy_ops fedc_ops_afa_cd = {.name = "afa-cd", .init = init_cd, .aggregate = aggregate_cd};
const fedc_strategy_ops fedc_ops_afa_cs = {
    .name = "afa-cs",
    .init = init_cs,
    .aggregate = aggregate_cs,
    .tables_save = tables_save_cs,
    .tables_load = tables_load_cs,
    .destroy = destroy_cs};
