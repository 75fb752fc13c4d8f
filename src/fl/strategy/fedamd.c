/* FedAMD, anchor sampling (Wu, Xie, Liu et al., "Anchor Sampling for
 * Federated Learning with Partial Client Participation", ICML 2023), as in
 * the authors' released code. Each sampled client is an anchor with
 * probability anchor_prob: it takes no local step and sends the gradient of
 * all its data at x, which the server keeps (a per-client server table that
 * spills past state.memory_mb). Every other sampled client is a miner: it
 * starts from the global direction v = mean of the anchor gradients held
 * and runs the recursion
 *   v_k = v_{k-1} + grad f(y_k; xi_k) - grad f(y_{k-1}; xi_k),  y_{k+1} = y_k - eta v_k
 * (both gradients on the same minibatch; v_0 = v). The server moves by the
 * miners only: x <- x + eta_g avg(y_i - x); a round without miners leaves x.
 * The roles come from a stream of the task's seed, round and client, which
 * the server and the client draw alike, so no message says who is which.
 * The authors compute every client's gradient before the first round; fedc
 * instead makes every sampled client an anchor while the server holds no
 * anchor gradient yet (flagged in the download). */
#include <stdlib.h>
#include <string.h>

#include "fedc/rng.h"
#include "strategy_impl.h"

typedef struct {
    fedc_state_store *table; /* v_i per client */
    unsigned char *has;      /* v_i known */
} amd_impl;

/* state: [sum of the v_i held (d) | count | direction (d) | all-anchors flag] */
static int init(fedc_strategy *s, fedc_error *err) {
    size_t d = s->d;
    s->info.extra_down = d + 1;
    s->info.scratch_floats = 3 * d; /* v, y_{k-1}, gradient at y_{k-1} */
    if (fedc_strategy_alloc_state(s, 2 * d + 2, err) != 0) return -1;
    s->down = s->state + d + 1;
    amd_impl *a = calloc(1, sizeof *a);
    if (!a) return fedc_fail(err, "out of memory");
    s->impl = a;
    a->has = calloc((size_t)s->n_clients, 1);
    if (!a->has) return fedc_fail(err, "out of memory");
    a->table = fedc_strategy_client_table(s, d, err);
    return a->table ? 0 : -1;
}

static void destroy(fedc_strategy *s) {
    amd_impl *a = s->impl;
    if (!a) return;
    fedc_state_free(a->table);
    free(a->has);
    free(a);
}

static int is_anchor(const fedc_task *t, int round, int client, int all_anchors) {
    if (all_anchors) return 1;
    fedc_rng r = fedc_rng_derive(t->seed ^ 0xA2C40ull, (uint64_t)round, (uint64_t)client);
    return fedc_rng_uniform(&r) < t->strategy.anchor_prob;
}

static void round_begin(fedc_strategy *s, const fedc_round_ctx *rc) {
    (void)rc;
    size_t d = s->d;
    float cnt = s->state[d], *dir = s->state + d + 1;
    for (size_t j = 0; j < d; j++) dir[j] = cnt > 0 ? s->state[j] / cnt : 0.0f;
    dir[d] = cnt > 0 ? 0.0f : 1.0f;
}

static void client_begin(fedc_client_ctx *c) {
    if (is_anchor(&c->strategy->task, c->round, c->client, c->down_extra[c->d] != 0)) c->no_training = 1;
}

static void client_grad(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)loss;
    size_t d = c->d;
    float *v = c->scratch, *yprev = c->scratch + d, *gprev = c->scratch + 2 * d;
    if (c->step == 0) {
        memcpy(v, c->down_extra, d * sizeof(float));
    } else {
        c->oracle->batch_grad(c->oracle->self, yprev, gprev);
        for (size_t j = 0; j < d; j++) v[j] += g[j] - gprev[j];
    }
    memcpy(yprev, w, d * sizeof(float));
    memcpy(g, v, d * sizeof(float));
}

static void client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra) {
    (void)y;
    (void)steps;
    (void)extra;
    if (c->no_training) c->oracle->full_grad(c->oracle->self, c->global, delta);
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    amd_impl *a = s->impl;
    size_t d = s->d;
    int all = s->state[2 * d + 1] != 0;
    fedc_update *miners = malloc((size_t)n * sizeof *miners);
    if (!miners) return fedc_fail(err, "out of memory");
    int nm = 0;
    for (int i = 0; i < n; i++) {
        int k = u[i].client;
        if (k < 0 || k >= s->n_clients) continue;
        if (!is_anchor(&s->task, rc->round, k, all)) {
            miners[nm++] = u[i];
            continue;
        }
        float *v = fedc_state_acquire(a->table, k, err);
        if (!v) {
            free(miners);
            return -1;
        }
        for (size_t j = 0; j < d; j++) {
            s->state[j] += u[i].delta[j] - (a->has[k] ? v[j] : 0.0f);
            v[j] = u[i].delta[j];
        }
        fedc_state_release(a->table, k);
        if (!a->has[k]) s->state[d] += 1;
        a->has[k] = 1;
    }
    int rcode = 0;
    if (nm > 0) {
        if (fedc_strategy_combine(s, miners, nm, s->mean) > 0) fedc_step_sgd(s, x, s->mean, rc);
        else rcode = fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
    }
    free(miners);
    return rcode;
}

/* Checkpoint: the anchor-gradient table, then which clients hold one. */
static int tables_save(fedc_strategy *s, FILE *f, fedc_error *err) {
    amd_impl *a = s->impl;
    if (fedc_state_save(a->table, f, err) != 0) return -1;
    if (fwrite(a->has, 1, (size_t)s->n_clients, f) != (size_t)s->n_clients)
        return fedc_fail(err, "fedamd table: write failed");
    return 0;
}

static int tables_load(fedc_strategy *s, FILE *f, fedc_error *err) {
    amd_impl *a = s->impl;
    if (fedc_state_load(a->table, f, err) != 0) {
        fedc_fail_prefix(err, "fedamd table: ");
        return -1;
    }
    if (fread(a->has, 1, (size_t)s->n_clients, f) != (size_t)s->n_clients)
        return fedc_fail(err, "fedamd table: the anchor flags are truncated");
    for (int k = 0; k < s->n_clients; k++)
        if (a->has[k] > 1 || (a->has[k] == 1) != (fedc_state_has(a->table, k) != 0))
            return fedc_fail(err, "fedamd table: client %d's anchor flag disagrees with the table", k);
    return 0;
}

const fedc_strategy_ops fedc_ops_fedamd = {.name = "fedamd",
                                           .init = init,
                                           .round_begin = round_begin,
                                           .client_begin = client_begin,
                                           .client_grad = client_grad,
                                           .client_end = client_end,
                                           .aggregate = aggregate,
                                           .tables_save = tables_save,
                                           .tables_load = tables_load,
                                           .destroy = destroy};
