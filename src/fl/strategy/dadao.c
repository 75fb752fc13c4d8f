/* DADAO (Nabli & Oyallon, "DADAO: Decoupled Accelerated Decentralized
 * Asynchronous Optimization", ICML 2023): decentralised, accelerated,
 * asynchronous, for a sum of L-smooth, mu-strongly convex node losses.
 *
 * Every node i holds six vectors (x, x~, y, y~, z, z~); x is its model. Two
 * independent Poisson point processes drive them: local gradient events
 * (rate 1 at every node) and communication events on the graph's edges
 * (total rate lambda = strategy.comm_rate, an edge drawn uniformly). Between
 * its events a node's vectors follow the linear ODE (nu = mu / 2)
 *
 *   x'  = eta (x~ - x)          x~' = eta (x - x~)
 *   y'  = alpha (y~ - y)        y~' = -theta (nu x~ + y + z)
 *   z'  = alpha (z~ - z)        z~' = alpha~ (z - z~)
 *
 * solved exactly (a 6 x 6 matrix exponential acting on every coordinate).
 * At a gradient event of node i, with G = grad f_i(x) - nu x - y~:
 *   x -= gamma G,  x~ -= gamma~ G,  y~ += (delta + delta~) G;
 * at a communication event on edge (i, j), with m = (y_i + z_i) - (y_j + z_j):
 *   z_i -= beta m, z~_i -= beta~ m,  z_j += beta m, z~_j += beta~ m.
 * Constants: alpha = 1/4 sqrt(nu/L), alpha~ = eta = 1/8 sqrt(nu/L),
 * theta = 1/2 sqrt(L/nu), beta = 1/2, beta~ = 2 chi1* sqrt(L/nu) with
 * chi1* = chi1 / lambda, delta = 1/4 sqrt(nu/L), delta~ = 1,
 * gamma = 1/(4L), gamma~ = 1/(4 sqrt(L nu)); chi1, chi2 are those of the
 * Laplacian of the edge probabilities (topology.h), and lambda defaults to
 * the paper's sqrt(2 chi1 chi2).
 *
 * f_i is the node's mean loss plus (mu/2)|x|^2 (strategy.strong_convexity):
 * the node computes the gradient of its mean loss (a TRAIN with no local
 * steps, answered with that gradient); this file adds mu x. A round is one
 * unit of time: its events are drawn from the seed and the round, played in
 * time order, and at the end every node's ODE is brought to the round's
 * end, so the state holds no clock. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dadao_internal.h"
#include "fedc/rng.h"
#include "fedc/topology.h"
#include "strategy_impl.h"

typedef struct dadao {
    fedc_topology *topo;
    dadao_consts k;
    double lambda;      /* communication events per unit time, whole graph */
    int *edge_i, *edge_j, n_edges;
    double *t_last;     /* per node: time (within the round) its ODE reached */
    float *g;           /* d: a gradient */
    fedc_node_grad_fn grad;
    void *grad_ctx;
    double data_smoothness; /* the engine's bound for the data; 0 = none */
    int ready;
} dadao;

void dadao_constants(double mu, double L, double chi1_star, dadao_consts *k) {
    double nu = mu / 2, r = sqrt(nu / L);
    k->nu = nu;
    k->alpha = r / 4;
    k->alpha_t = r / 8;
    k->eta = r / 8;
    k->theta = 0.5 / r;
    k->beta = 0.5;
    k->beta_t = 2 * chi1_star / r;
    k->delta = r / 4;
    k->delta_t = 1;
    k->gamma = 1 / (4 * L);
    k->gamma_t = 1 / (4 * sqrt(L * nu));
}

/* exp(A) of a 6 x 6 matrix: scaling and squaring of a Taylor series. */
static void expm6(const double a[36], double out[36]) {
    double norm = 0;
    for (int i = 0; i < 6; i++) {
        double row = 0;
        for (int j = 0; j < 6; j++) row += fabs(a[i * 6 + j]);
        if (row > norm) norm = row;
    }
    int s = 0;
    while (norm > 0.25 && s < 60) {
        norm /= 2;
        s++;
    }
    double b[36], term[36], tmp[36];
    double scale = ldexp(1.0, -s);
    for (int i = 0; i < 36; i++) {
        b[i] = a[i] * scale;
        out[i] = i % 7 == 0 ? 1.0 : 0.0;
        term[i] = out[i];
    }
    for (int k = 1; k <= 20; k++) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                double v = 0;
                for (int q = 0; q < 6; q++) v += term[i * 6 + q] * b[q * 6 + j];
                tmp[i * 6 + j] = v / k;
            }
        memcpy(term, tmp, sizeof tmp);
        for (int i = 0; i < 36; i++) out[i] += term[i];
    }
    for (int r = 0; r < s; r++) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                double v = 0;
                for (int q = 0; q < 6; q++) v += out[i * 6 + q] * out[q * 6 + j];
                tmp[i * 6 + j] = v;
            }
        memcpy(out, tmp, sizeof tmp);
    }
}

void dadao_flow(const dadao_consts *k, double t, float *const v[6], size_t d) {
    if (!(t > 0)) return;
    /* Order x, x~, y, y~, z, z~. */
    double a[36] = {0}, e[36];
    a[0 * 6 + 0] = -k->eta, a[0 * 6 + 1] = k->eta;
    a[1 * 6 + 0] = k->eta, a[1 * 6 + 1] = -k->eta;
    a[2 * 6 + 2] = -k->alpha, a[2 * 6 + 3] = k->alpha;
    a[3 * 6 + 1] = -k->theta * k->nu, a[3 * 6 + 2] = -k->theta, a[3 * 6 + 4] = -k->theta;
    a[4 * 6 + 4] = -k->alpha, a[4 * 6 + 5] = k->alpha;
    a[5 * 6 + 4] = k->alpha_t, a[5 * 6 + 5] = -k->alpha_t;
    for (int i = 0; i < 36; i++) a[i] *= t;
    expm6(a, e);
    for (size_t j = 0; j < d; j++) {
        double in[6], o[6];
        for (int r = 0; r < 6; r++) in[r] = v[r][j];
        for (int r = 0; r < 6; r++) {
            double s = 0;
            for (int c = 0; c < 6; c++) s += e[r * 6 + c] * in[c];
            o[r] = s;
        }
        for (int r = 0; r < 6; r++) v[r][j] = (float)o[r];
    }
}

void dadao_grad_jump(const dadao_consts *k, float *const v[6], const float *grad_f, size_t d) {
    for (size_t j = 0; j < d; j++) {
        double G = (double)grad_f[j] - k->nu * v[0][j] - v[3][j];
        v[0][j] = (float)(v[0][j] - k->gamma * G);
        v[1][j] = (float)(v[1][j] - k->gamma_t * G);
        v[3][j] = (float)(v[3][j] + (k->delta + k->delta_t) * G);
    }
}

void dadao_comm_jump(const dadao_consts *k, float *const vi[6], float *const vj[6], size_t d) {
    for (size_t j = 0; j < d; j++) {
        double m = ((double)vi[2][j] + vi[4][j]) - ((double)vj[2][j] + vj[4][j]);
        vi[4][j] = (float)(vi[4][j] - k->beta * m);
        vi[5][j] = (float)(vi[5][j] - k->beta_t * m);
        vj[4][j] = (float)(vj[4][j] + k->beta * m);
        vj[5][j] = (float)(vj[5][j] + k->beta_t * m);
    }
}

/* Node i's six vectors: block b of the state holds vector b of every node
 * (block 0, the models, first, as fedc_strategy_node_model reads them). */
static void node_vectors(fedc_strategy *s, int i, float *v[6]) {
    size_t nd = (size_t)s->n_clients * s->d;
    for (int b = 0; b < 6; b++) v[b] = s->state + b * nd + (size_t)i * s->d;
}

static void destroy(fedc_strategy *s) {
    dadao *a = s->impl;
    if (!a) return;
    fedc_topology_free(a->topo);
    free(a->edge_i);
    free(a->edge_j);
    free(a->t_last);
    free(a->g);
    free(a);
    s->impl = NULL;
}

static int init(fedc_strategy *s, fedc_error *err) {
    const fedc_task *t = &s->task;
    int n = s->n_clients;
    size_t nd = (size_t)n * s->d;
    if (s->d && nd / s->d != (size_t)n) return fedc_fail(err, "strategy.name: %d node models overflow memory", n);
    if (fedc_strategy_alloc_state(s, 6 * nd, err) != 0) return -1;
    dadao *a = calloc(1, sizeof *a);
    if (!a) return fedc_fail(err, "out of memory for dadao");
    s->impl = a;
    s->info.decentral = 1;
    s->info.event_driven = 1;
    /* Deployed, each node keeps its six vectors (and an undo copy, for a
     * round the server runs again) as its client state (the relay). */
    s->info.state_floats = 2 + 12 * s->d;
    fedc_topology_config tc = {{0}, {0}, t->topology.p, t->topology.k, t->topology.seed ? t->topology.seed : t->seed};
    snprintf(tc.kind, sizeof tc.kind, "%s", t->topology.kind);
    snprintf(tc.mixing, sizeof tc.mixing, "%s", t->topology.mixing);
    if (!(a->topo = fedc_topology_create(&tc, n, err))) return -1;
    a->t_last = calloc((size_t)n, sizeof *a->t_last);
    a->g = malloc((s->d ? s->d : 1) * sizeof(float));
    a->edge_i = malloc(((size_t)n * (size_t)n / 2 + 1) * sizeof(int));
    a->edge_j = malloc(((size_t)n * (size_t)n / 2 + 1) * sizeof(int));
    int *nbr = malloc((size_t)n * sizeof *nbr);
    if (!a->t_last || !a->g || !a->edge_i || !a->edge_j || !nbr) {
        free(nbr);
        return fedc_fail(err, "out of memory for dadao's %d nodes", n);
    }
    for (int i = 0; i < n; i++) {
        int deg = fedc_topology_neighbours(a->topo, 1, i, nbr, n);
        for (int q = 0; q < deg; q++)
            if (nbr[q] > i) {
                a->edge_i[a->n_edges] = i;
                a->edge_j[a->n_edges++] = nbr[q];
            }
    }
    free(nbr);
    if (n > 1 && a->n_edges == 0) return fedc_fail(err, "topology.kind: dadao needs a graph with edges");
    return 0;
}

void fedc_strategy_set_node_grad(fedc_strategy *s, fedc_node_grad_fn fn, void *ctx, double smoothness) {
    if (!s || !s->info.event_driven || !s->impl) return;
    dadao *a = s->impl;
    a->grad = fn;
    a->grad_ctx = ctx;
    if (smoothness != a->data_smoothness) a->ready = 0;
    a->data_smoothness = smoothness;
}

/* The constants, once the smoothness is known. */
static int prepare(fedc_strategy *s, fedc_error *err) {
    dadao *a = s->impl;
    const fedc_task *t = &s->task;
    double mu = t->strategy.strong_convexity;
    double L = t->strategy.smoothness > 0 ? t->strategy.smoothness : a->data_smoothness + mu;
    if (!(L > 0) || !(mu > 0) || mu > L)
        return fedc_fail(err, "strategy.smoothness: dadao needs 0 < strong_convexity (%g) <= smoothness (%g)", mu, L);
    double chi1 = 1, chi2 = 1;
    if (s->n_clients > 1 && fedc_topology_laplacian_chi(a->topo, &chi1, &chi2, err) != 0) return -1;
    a->lambda = t->strategy.comm_rate > 0 ? t->strategy.comm_rate : sqrt(2 * chi1 * chi2);
    dadao_constants(mu, L, chi1 / a->lambda, &a->k);
    a->ready = 1;
    return 0;
}

/* The next event time of a Poisson process of rate lambda after t. */
static double next_time(fedc_rng *rng, double t, double lambda) {
    double u = 1.0 - fedc_rng_uniform(rng); /* (0, 1] */
    return t - log(u) / lambda;
}

/* The round's events in time order: gradient events (rate 1 at each of the
 * n nodes, stream rg) and communications (rate lambda on the graph, stream
 * rm), from the seed and the round alone. */
static int draw_events(fedc_strategy *s, int round, dadao_event **out, fedc_error *err) {
    dadao *a = s->impl;
    int n = s->n_clients, cap = 64, count = 0;
    dadao_event *ev = malloc((size_t)cap * sizeof *ev);
    if (!ev) return fedc_fail(err, "dadao: out of memory for a round's events");
    uint64_t seed = s->task.topology.seed ? s->task.topology.seed : s->task.seed;
    fedc_rng rg = fedc_rng_derive(seed, (uint64_t)round, 0xDAD0A1ull);
    fedc_rng rm = fedc_rng_derive(seed, (uint64_t)round, 0xDAD0A2ull);
    double tg = next_time(&rg, 0, n), tm = n > 1 ? next_time(&rm, 0, a->lambda) : 2;
    while (tg < 1 || tm < 1) {
        if (count == cap) {
            dadao_event *grown = cap < (1 << 26) ? realloc(ev, (size_t)cap * 2 * sizeof *ev) : NULL;
            if (!grown) {
                free(ev);
                return fedc_fail(err, "strategy.comm_rate: dadao: more than %d events in a round", cap);
            }
            ev = grown;
            cap *= 2;
        }
        if (tg <= tm) {
            ev[count++] = (dadao_event){tg, (int)fedc_rng_below(&rg, (uint32_t)n), -1};
            tg = next_time(&rg, tg, n);
        } else {
            int e = (int)fedc_rng_below(&rm, (uint32_t)a->n_edges);
            ev[count++] = (dadao_event){tm, a->edge_i[e], a->edge_j[e]};
            tm = next_time(&rm, tm, a->lambda);
        }
    }
    *out = ev;
    return count;
}

int dadao_round_plan(fedc_strategy *s, int round, double data_smoothness, dadao_consts *k, double *mu,
                     dadao_event **ev, fedc_error *err) {
    if (!s || strcmp(s->ops->name, "dadao") != 0 || !s->impl)
        return fedc_fail(err, "strategy.name: only dadao plays events a relay can carry");
    dadao *a = s->impl;
    if (data_smoothness != a->data_smoothness) a->ready = 0;
    a->data_smoothness = data_smoothness;
    if (!a->ready && prepare(s, err) != 0) return -1;
    *k = a->k;
    *mu = s->task.strategy.strong_convexity;
    return draw_events(s, round, ev, err);
}

/* A gradient event on v: flow to it, f_i's gradient (mean loss + mu x, as
 * the simulation adds it), the jump. */
static int grad_event(const dadao_consts *k, double mu, float *const v[6], size_t d, double dt, float *g,
                      dadao_grad_fn grad, void *ctx, fedc_error *err) {
    dadao_flow(k, dt, v, d);
    if (grad(ctx, v[0], g, err) != 0) return -1;
    for (size_t j = 0; j < d; j++) g[j] += (float)(mu * v[0][j]);
    dadao_grad_jump(k, v, g, d);
    return 0;
}

int dadao_node_play(const dadao_consts *k, double mu, float *const v[6], size_t d, const float *peer_y,
                    const float *peer_z, double from, const double *grads, int n_grads, double until, float *g,
                    dadao_grad_fn grad, void *ctx, fedc_error *err) {
    if (peer_y && peer_z)
        /* m = (y + z) - (y_peer + z_peer): on the edge's first node the
         * simulation's m, on its second exactly -m, so z -= beta m is the
         * simulation's z_j += beta m bit for bit. */
        for (size_t j = 0; j < d; j++) {
            double m = ((double)v[2][j] + v[4][j]) - ((double)peer_y[j] + peer_z[j]);
            v[4][j] = (float)(v[4][j] - k->beta * m);
            v[5][j] = (float)(v[5][j] - k->beta_t * m);
        }
    double t = from;
    for (int q = 0; q < n_grads; q++) {
        if (grad_event(k, mu, v, d, grads[q] - t, g, grad, ctx, err) != 0) return -1;
        t = grads[q];
    }
    dadao_flow(k, until - t, v, d);
    return 0;
}

/* The engine's gradient callback as a dadao_grad_fn. */
typedef struct engine_grad {
    dadao *a;
    int node;
} engine_grad;

static int engine_grad_fn(void *vctx, const float *x, float *g, fedc_error *err) {
    engine_grad *c = vctx;
    return c->a->grad(c->a->grad_ctx, c->node, x, g, err);
}

static int gossip(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent, fedc_error *err) {
    (void)delta;
    dadao *a = s->impl;
    int n = s->n_clients;
    size_t d = s->d;
    memset(sent, 0, (size_t)n * sizeof *sent);
    if (!a->grad) return fedc_fail(err, "dadao: the engine gave no way to reach the nodes' gradients");
    if (!a->ready && prepare(s, err) != 0) return -1;
    for (int i = 0; i < n; i++) a->t_last[i] = 0;
    dadao_event *ev = NULL;
    int count = draw_events(s, rc->round, &ev, err);
    if (count < 0) return -1;
    double mu = s->task.strategy.strong_convexity;
    float *vi[6], *vj[6];
    for (int q = 0; q < count; q++) {
        int i = ev[q].i, j = ev[q].j;
        double t = ev[q].t;
        node_vectors(s, i, vi);
        if (j < 0) {
            engine_grad eg = {a, i};
            if (grad_event(&a->k, mu, vi, d, t - a->t_last[i], a->g, engine_grad_fn, &eg, err) != 0) {
                free(ev);
                return -1;
            }
            a->t_last[i] = t;
        } else {
            node_vectors(s, j, vj);
            dadao_flow(&a->k, t - a->t_last[i], vi, d);
            dadao_flow(&a->k, t - a->t_last[j], vj, d);
            a->t_last[i] = a->t_last[j] = t;
            dadao_comm_jump(&a->k, vi, vj, d);
            sent[i]++;
            sent[j]++;
        }
    }
    free(ev);
    for (int i = 0; i < n; i++) {
        node_vectors(s, i, vi);
        dadao_flow(&a->k, 1.0 - a->t_last[i], vi, d);
    }
    return 0;
}

/* A node asked for its gradient trains nothing: it answers with the
 * gradient of its mean loss at the model it was sent. */
static void client_begin(fedc_client_ctx *c) { c->no_training = 1; }

static void client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra) {
    (void)y, (void)steps, (void)extra;
    c->oracle->full_grad(c->oracle->self, c->global, delta);
}

const fedc_strategy_ops fedc_ops_dadao = {.name = "dadao",
                                          .init = init,
                                          .client_begin = client_begin,
                                          .client_end = client_end,
                                          .destroy = destroy,
                                          .gossip = gossip};
