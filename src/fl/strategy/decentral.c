/* Decentralised learning: no server model. Every node keeps its own model
 * x_k (the strategy's state, so checkpoints keep them), trains from it every
 * round to y_k = x_k + delta_k, and the models mix over the topology of
 * topology.h:
 *
 *   dpsgd        D-PSGD / decentralised FedAvg (Lian et al. 2017 with local
 *                steps): Q = gossip_steps mixing steps x <- W y;
 *   dfedsam      DFedSAM (Shi et al., "Improving the Model Consistency of
 *                Decentralized Federated Learning", ICML 2023): local steps
 *                on the SAM gradient at w + rho g/|g|, then one mixing step;
 *   dfedsam-mgs  DFedSAM with Q = gossip_steps mixing steps (multiple gossip
 *                steps), which the paper shows closes the consistency gap
 *                to centralised FL as Q grows;
 *   gossip       gossip learning (Ormandi et al.): asynchronous pairwise
 *                exchange. In a round every node, in a random order, pushes
 *                its current model to one random neighbour, which replaces
 *                its own by the average of the two;
 *   gossip-vc    the same exchange with variance-corrected averaging
 *                ("Vanishing Variance Problem in Fully Decentralized
 *                Neural-Network Systems", Tian et al.): after averaging, each
 *                tensor is rescaled about its mean to the mean variance of
 *                the models merged, since the plain mean of nearly
 *                independent models has 1/m of their variance.
 *                A deployment relays a round's pushes in waves of pushes
 *                between disjoint pairs (fedc_gossip_waves), which compute
 *                what the sequence computes.
 *
 * A mixing step computes x_i + sum_k W_ik ((x_k - x_i) + delta_k), which is
 * sum_k W_ik y_k because the rows of W sum to 1, written so that when all
 * nodes hold the same model (the complete graph with uniform weights) the
 * sum is exactly FedAvg's x + sum_k w_k delta_k, added in the same order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/rng.h"
#include "fedc/topology.h"
#include "strategy_impl.h"

typedef struct decentral {
    fedc_topology *topo;
    float *next;      /* n x d: the models a mixing step writes */
    float *acc;       /* d: one row's weighted sum */
    int *nbr;         /* n: a node's neighbours */
    uint64_t seed;    /* topology.seed, or the task's */
    int gossip_steps; /* Q of the mixing strategies */
    int pairwise;     /* gossip, gossip-vc */
    int corrected;    /* gossip-vc */
} decentral;

static void destroy(fedc_strategy *s) {
    decentral *dc = s->impl;
    if (!dc) return;
    fedc_topology_free(dc->topo);
    free(dc->next);
    free(dc->acc);
    free(dc->nbr);
    free(dc);
    s->impl = NULL;
}

static int init(fedc_strategy *s, fedc_error *err) {
    const fedc_task *t = &s->task;
    int n = s->n_clients;
    size_t nd = (size_t)n * s->d;
    if (s->d && nd / s->d != (size_t)n) return fedc_fail(err, "strategy.name: %d node models overflow memory", n);
    if (fedc_strategy_alloc_state(s, nd, err) != 0) return -1;
    decentral *dc = calloc(1, sizeof *dc);
    if (!dc) return fedc_fail(err, "out of memory for the decentralised strategy");
    s->impl = dc;
    s->info.decentral = 1;
    dc->seed = t->topology.seed ? t->topology.seed : t->seed;
    dc->pairwise = s->ops == &fedc_ops_gossip || s->ops == &fedc_ops_gossip_vc;
    dc->corrected = s->ops == &fedc_ops_gossip_vc;
    dc->gossip_steps = s->ops == &fedc_ops_dpsgd || s->ops == &fedc_ops_dfedsam_mgs ? t->strategy.gossip_steps : 1;
    if (dc->gossip_steps < 1) dc->gossip_steps = 1;
    if (!strcmp(s->ops->name, "dfedsam") || !strcmp(s->ops->name, "dfedsam-mgs"))
        s->info.scratch_floats = s->d; /* SAM's perturbed point */
    fedc_topology_config tc = {{0}, {0}, t->topology.p, t->topology.k, dc->seed};
    snprintf(tc.kind, sizeof tc.kind, "%s", t->topology.kind);
    snprintf(tc.mixing, sizeof tc.mixing, "%s", t->topology.mixing);
    if (!(dc->topo = fedc_topology_create(&tc, n, err))) return -1;
    dc->next = malloc((nd ? nd : 1) * sizeof(float));
    dc->acc = malloc((s->d ? s->d : 1) * sizeof(float));
    dc->nbr = malloc((size_t)n * sizeof(int));
    if (!dc->next || !dc->acc || !dc->nbr)
        return fedc_fail(err, "out of memory for %d node models of %zu parameters", n, s->d);
    return 0;
}

static void grad_sam(fedc_client_ctx *c, const float *w, float *g, double loss) {
    (void)loss;
    fedc_strategy_sam_grad(c, w, g);
}

void fedc_gossip_mix_row(const float *xi, int m, const double *w, const float *const *x, const float *const *delta,
                         size_t d, float *acc, float *out) {
    memset(acc, 0, d * sizeof(float));
    for (int q = 0; q < m; q++) {
        float wk = (float)w[q];
        const float *xk = x[q], *dk = delta ? delta[q] : NULL;
        if (dk)
            for (size_t j = 0; j < d; j++) acc[j] += wk * ((xk[j] - xi[j]) + dk[j]);
        else
            for (size_t j = 0; j < d; j++) acc[j] += wk * (xk[j] - xi[j]);
    }
    for (size_t j = 0; j < d; j++) out[j] = xi[j] + acc[j];
}

/* out_i = x_i + sum_k W_ik ((x_k - x_i) + delta_k) for every node. */
static int mix_step(decentral *dc, const fedc_mixing *w, const float *x, float *const *delta, size_t d, float *out) {
    int cap = 0;
    for (int i = 0; i < w->n; i++)
        if (w->start[i + 1] - w->start[i] > cap) cap = w->start[i + 1] - w->start[i];
    const float **xs = malloc((size_t)(cap ? cap : 1) * sizeof *xs);
    const float **ds = malloc((size_t)(cap ? cap : 1) * sizeof *ds);
    if (!xs || !ds) {
        free(xs);
        free(ds);
        return -1;
    }
    for (int i = 0; i < w->n; i++) {
        int m = w->start[i + 1] - w->start[i];
        for (int q = 0; q < m; q++) {
            int k = w->col[w->start[i] + q];
            xs[q] = x + (size_t)k * d;
            ds[q] = delta ? delta[k] : NULL;
        }
        fedc_gossip_mix_row(x + (size_t)i * d, m, w->w + w->start[i], xs, delta ? ds : NULL, d, dc->acc,
                            out + (size_t)i * d);
    }
    free(xs);
    free(ds);
    return 0;
}

static int gossip_mixing(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent) {
    decentral *dc = s->impl;
    size_t nd = (size_t)s->n_clients * s->d;
    for (int q = 0; q < dc->gossip_steps; q++) {
        /* A time-varying graph draws a fresh matching for every step. */
        fedc_mixing w = fedc_topology_mixing(dc->topo, (rc->round - 1) * dc->gossip_steps + q + 1);
        if (mix_step(dc, &w, s->state, q == 0 ? delta : NULL, s->d, dc->next) != 0) return -1;
        memcpy(s->state, dc->next, nd * sizeof(float));
        for (int i = 0; i < w.n; i++) sent[i] += w.start[i + 1] - w.start[i] - 1;
    }
    return 0;
}

/* Sample variance of v[0..n) (n - 1 in the denominator, as the paper's
 * torch.var), and its mean. */
static double variance(const float *v, size_t n, double *mean) {
    double m = 0, ss = 0;
    for (size_t j = 0; j < n; j++) m += v[j];
    m /= (double)(n ? n : 1);
    for (size_t j = 0; j < n; j++) ss += ((double)v[j] - m) * ((double)v[j] - m);
    *mean = m;
    return n > 1 ? ss / (double)(n - 1) : 0;
}

void fedc_average_variance_corrected(const float *const *models, int m, size_t d, const fedc_param_layout *layout,
                                     float *out) {
    float inv = 1.0f / (float)m;
    memset(out, 0, d * sizeof(float));
    for (int a = 0; a < m; a++)
        for (size_t j = 0; j < d; j++) out[j] += inv * models[a][j];
    int nt = layout && layout->n > 0 ? layout->n : 1;
    for (int t = 0; t < nt; t++) {
        size_t off = layout && layout->n > 0 ? layout->offset[t] : 0;
        size_t cnt = layout && layout->n > 0 ? layout->count[t] : d;
        if (cnt < 2) continue;
        double target = 0, mean;
        for (int a = 0; a < m; a++) target += variance(models[a] + off, cnt, &mean) / m;
        double have = variance(out + off, cnt, &mean);
        if (!(have > 0) || !(target > 0)) continue;
        double f = sqrt(target / have);
        for (size_t j = 0; j < cnt; j++) out[off + j] = (float)(((double)out[off + j] - mean) * f + mean);
    }
}

static int gossip(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent, fedc_error *err);

void fedc_gossip_merge(const float *receiver, const float *sender, size_t d, const fedc_param_layout *layout,
                       int corrected, float *out) {
    if (corrected) {
        const float *pair[2] = {receiver, sender};
        fedc_average_variance_corrected(pair, 2, d, layout, out);
    } else {
        for (size_t x = 0; x < d; x++) out[x] = 0.5f * (receiver[x] + sender[x]);
    }
}

/* Each node, in an order drawn for the round, pushes to a random
 * neighbour: the draws every run of the round makes, simulated or relayed. */
static int pushes_of(decentral *dc, int n, int round, int *from, int *to) {
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (!order) return -1;
    for (int k = 0; k < n; k++) order[k] = (uint32_t)k;
    fedc_rng rng = fedc_rng_derive(dc->seed, (uint64_t)round, 0x60551Full);
    fedc_rng_shuffle_u32(&rng, order, (size_t)n);
    int np = 0;
    for (int q = 0; q < n; q++) {
        int i = (int)order[q];
        int deg = fedc_topology_neighbours(dc->topo, round, i, dc->nbr, n);
        if (deg <= 0) continue;
        from[np] = i;
        to[np++] = dc->nbr[fedc_rng_below(&rng, (uint32_t)deg)];
    }
    free(order);
    return np;
}

int fedc_strategy_gossip_pushes(fedc_strategy *s, int round, int *from, int *to, int *corrected,
                                fedc_param_layout *layout) {
    if (!s || !s->info.decentral || !s->impl || s->ops->gossip != gossip) return -1;
    decentral *dc = s->impl;
    if (!dc->pairwise) return -1;
    *corrected = dc->corrected;
    *layout = (fedc_param_layout){s->n_tensors, s->t_offset, s->t_count};
    return pushes_of(dc, s->n_clients, round, from, to);
}

int fedc_gossip_waves(const int *from, const int *to, int np, int n, int *last, int *wave) {
    int waves = 0;
    for (int k = 0; k < n; k++) last[k] = 0;
    for (int q = 0; q < np; q++) {
        int w = 1 + (last[from[q]] > last[to[q]] ? last[from[q]] : last[to[q]]);
        wave[q] = w;
        last[from[q]] = last[to[q]] = w;
        if (w > waves) waves = w;
    }
    return waves;
}

/* Every node's trained model, then the round's pushes one after the other:
 * the receiver replaces its model by the merge of the two. */
static int gossip_pairwise(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent) {
    decentral *dc = s->impl;
    int n = s->n_clients;
    size_t d = s->d;
    for (int k = 0; k < n; k++) {
        float *xk = s->state + (size_t)k * d;
        if (delta[k])
            for (size_t j = 0; j < d; j++) xk[j] += delta[k][j];
    }
    int *from = malloc((size_t)n * sizeof *from), *to = malloc((size_t)n * sizeof *to);
    int np = from && to ? pushes_of(dc, n, rc->round, from, to) : -1;
    fedc_param_layout lay = {s->n_tensors, s->t_offset, s->t_count};
    for (int q = 0; q < np; q++) {
        float *xi = s->state + (size_t)from[q] * d, *xj = s->state + (size_t)to[q] * d;
        fedc_gossip_merge(xj, xi, d, &lay, dc->corrected, dc->acc);
        memcpy(xj, dc->acc, d * sizeof(float));
        sent[from[q]]++;
    }
    free(from);
    free(to);
    return np < 0 ? -1 : 0;
}

int fedc_strategy_relay_plan(fedc_strategy *s, fedc_topology **topo, int *steps) {
    /* Only this file's strategies keep a decentral impl (dadao has its own). */
    if (!s || !s->info.decentral || !s->impl || s->ops->gossip != gossip) return -1;
    decentral *dc = s->impl;
    if (dc->pairwise) return -1;
    *topo = dc->topo;
    *steps = dc->gossip_steps;
    return 0;
}

static int gossip(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent, fedc_error *err) {
    decentral *dc = s->impl;
    memset(sent, 0, (size_t)s->n_clients * sizeof *sent);
    int rc_ = dc->pairwise ? gossip_pairwise(s, delta, rc, sent) : gossip_mixing(s, delta, rc, sent);
    if (rc_ != 0) return fedc_fail(err, "round %d: out of memory for the gossip exchange", rc->round);
    return 0;
}

const fedc_strategy_ops fedc_ops_dpsgd = {.name = "dpsgd", .init = init, .destroy = destroy, .gossip = gossip};
const fedc_strategy_ops fedc_ops_gossip = {.name = "gossip", .init = init, .destroy = destroy, .gossip = gossip};
const fedc_strategy_ops fedc_ops_gossip_vc = {
    .name = "gossip-vc", .init = init, .destroy = destroy, .gossip = gossip};
const fedc_strategy_ops fedc_ops_dfedsam = {
    .name = "dfedsam", .init = init, .client_grad = grad_sam, .destroy = destroy, .gossip = gossip};
const fedc_strategy_ops fedc_ops_dfedsam_mgs = {
    .name = "dfedsam-mgs", .init = init, .client_grad = grad_sam, .destroy = destroy, .gossip = gossip};
