/* Clustered FL with meta-learning: clients are grouped by the similarity of
 * their updates into clusters, each with a semi-global model trained
 * Reptile-style by its members; a client's personalised model is its
 * cluster's model after a few local steps (strategy.finetune_steps), the
 * MAML/Reptile adaptation step. After Briggs, Fan and Andras ("Federated
 * learning with hierarchical clustering of local updates to improve
 * training on non-IID data", 2020) for the clustering, and Reptile
 * (Nichol et al., 2018) / Per-FedAvg (Fallah et al., 2020) for the
 * meta-learning inside clusters:
 *   1. rounds 1..cluster_round: FedAvg; the server keeps every client's
 *      latest update (a per-client table, spilled past state.memory_mb);
 *   2. after round cluster_round: agglomerative clustering (average
 *      linkage, cosine distance) of the clients that sent an update, down
 *      to strategy.clusters clusters; every cluster model starts as the
 *      global model;
 *   3. afterwards each client trains from its cluster's model (the engine
 *      sends it, info.client_models); cluster c steps
 *      x_c += server_lr * mean(y_i - x_c) over its members (Reptile's outer
 *      step, with server_lr the meta step size), and the global model is
 *      the sample-weighted mean of the cluster models;
 *   4. a client not clustered yet trains from the global model; its first
 *      update puts it into the cluster c whose direction x_c - x is the
 *      most similar to its update, and counts for that cluster as the move
 *      y_i - x_c.
 * One cluster is FedAvg exactly. At most CLUSTER_MAX_CLIENTS clients take
 * part in the agglomeration (its distance matrix is quadratic); the others
 * are placed like late clients (step 4).
 *
 * State (checkpointed, rolled back by the aggregation guard): the cluster
 * models (clusters x d), each client's cluster (-1: none yet), and whether
 * the clustering happened. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

#define CLUSTER_MAX_CLIENTS 2000

typedef struct {
    fedc_state_store *last; /* each client's latest update (d floats) until the clustering */
    int C;
} clustered_impl;

static float *cluster_model(fedc_strategy *s, int c) { return s->state + (size_t)c * s->d; }
static float *assignment(fedc_strategy *s) { return s->state + (size_t)((clustered_impl *)s->impl)->C * s->d; }
static float *clustered_flag(fedc_strategy *s) { return assignment(s) + s->n_clients; }

static int init(fedc_strategy *s, fedc_error *err) {
    clustered_impl *c = calloc(1, sizeof *c);
    if (!c) return fedc_fail(err, "out of memory");
    s->impl = c;
    c->C = s->task.strategy.clusters;
    s->info.personal = 1;
    s->info.personal_steps = s->task.strategy.finetune_steps;
    s->info.client_models = 1;
    if (fedc_strategy_alloc_state(s, (size_t)c->C * s->d + (size_t)s->n_clients + 1, err) != 0) return -1;
    for (int k = 0; k < s->n_clients; k++) assignment(s)[k] = -1.0f;
    c->last = fedc_strategy_client_table(s, s->d, err);
    return c->last ? 0 : -1;
}

static void destroy(fedc_strategy *s) {
    clustered_impl *c = s->impl;
    if (!c) return;
    fedc_state_free(c->last);
    free(c);
}

static const float *client_model(const fedc_strategy *s, int client) {
    fedc_strategy *m = (fedc_strategy *)s;
    if (client < 0 || client >= s->n_clients || *clustered_flag(m) != 1.0f) return NULL;
    int a = (int)assignment(m)[client];
    return a >= 0 ? cluster_model(m, a) : NULL;
}

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < d; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

/* Agglomerative clustering, average linkage on cosine distance, of the
 * clients holding an update, down to C clusters (fewer if fewer clients). */
static int agglomerate(fedc_strategy *s, fedc_error *err) {
    clustered_impl *c = s->impl;
    size_t d = s->d;
    int *who = malloc((size_t)s->n_clients * sizeof *who), m = 0;
    if (!who) return fedc_fail(err, "out of memory for the clustering");
    for (int k = 0; k < s->n_clients && m < CLUSTER_MAX_CLIENTS; k++)
        if (fedc_state_has(c->last, k)) who[m++] = k;
    double *dist = malloc((size_t)m * (size_t)m * sizeof *dist + 1);
    int *label = malloc(((size_t)m + 1) * sizeof *label), *size = malloc(((size_t)m + 1) * sizeof *size);
    if (!dist || !label || !size) {
        free(who), free(dist), free(label), free(size);
        return fedc_fail(err, "out of memory for the clustering of %d clients", m);
    }
    for (int i = 0; i < m; i++) {
        label[i] = i;
        size[i] = 1;
        dist[(size_t)i * m + i] = 0;
        const float *ui = fedc_state_acquire(c->last, who[i], err);
        if (!ui) goto fail;
        for (int j = i + 1; j < m; j++) {
            const float *uj = fedc_state_acquire(c->last, who[j], err);
            if (!uj) {
                fedc_state_release(c->last, who[i]);
                goto fail;
            }
            dist[(size_t)i * m + j] = dist[(size_t)j * m + i] = 1.0 - cosine(ui, uj, d);
            fedc_state_release(c->last, who[j]);
        }
        fedc_state_release(c->last, who[i]);
    }
    /* Clusters are named by their smallest member; dist holds the average
     * linkage between live clusters (rows/columns of their names). */
    for (int live = m; live > c->C; live--) {
        int bi = -1, bj = -1;
        double best = INFINITY;
        for (int i = 0; i < m; i++) {
            if (label[i] != i) continue;
            for (int j = i + 1; j < m; j++)
                if (label[j] == j && dist[(size_t)i * m + j] < best) best = dist[(size_t)i * m + j], bi = i, bj = j;
        }
        for (int k = 0; k < m; k++) {
            if (label[k] != k || k == bi || k == bj) continue;
            double v = (size[bi] * dist[(size_t)bi * m + k] + size[bj] * dist[(size_t)bj * m + k]) / (size[bi] + size[bj]);
            dist[(size_t)bi * m + k] = dist[(size_t)k * m + bi] = v;
        }
        size[bi] += size[bj];
        for (int k = 0; k < m; k++)
            if (label[k] == bj) label[k] = bi;
    }
    /* Cluster ids 0.. in order of their smallest member. */
    int next = 0;
    float *a = assignment(s);
    for (int i = 0; i < m; i++) {
        if (label[i] != i) continue;
        for (int k = 0; k < m; k++)
            if (label[k] == i) a[who[k]] = (float)next;
        next++;
    }
    free(who), free(dist), free(label), free(size);
    return 0;
fail:
    free(who), free(dist), free(label), free(size);
    return -1;
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    clustered_impl *c = s->impl;
    size_t d = s->d;
    float *a = assignment(s);
    if (*clustered_flag(s) != 1.0f) {
        /* Before the clustering: FedAvg, and every client's latest update kept. */
        for (int i = 0; i < n; i++) {
            if (u[i].client < 0) continue;
            float *rec = fedc_state_acquire(c->last, u[i].client, err);
            if (!rec) return -1;
            memcpy(rec, u[i].delta, d * sizeof(float));
            fedc_state_release(c->last, u[i].client);
        }
        if (fedc_strategy_combine(s, u, n, s->mean) <= 0)
            return fedc_fail(err, "aggregation: the updates carry no weight (0 samples)");
        fedc_step_sgd(s, x, s->mean, rc);
        for (int k = 0; k < c->C; k++) memcpy(cluster_model(s, k), x, d * sizeof(float));
        if (rc->round >= s->task.strategy.cluster_round) {
            if (c->C == 1) {
                for (int k = 0; k < s->n_clients; k++) a[k] = 0.0f;
            } else if (agglomerate(s, err) != 0) {
                return -1;
            }
            *clustered_flag(s) = 1.0f;
        }
        return 0;
    }
    /* Late clients join the cluster whose direction their update follows;
     * every update becomes the move y_i - x_c of its cluster's model. */
    fedc_update *cu = malloc(((size_t)n + 1) * sizeof *cu);
    float *moved = malloc(((size_t)n * d + 1) * sizeof *moved), *dir = malloc((d + 1) * sizeof *dir);
    if (!cu || !moved || !dir) {
        free(cu), free(moved), free(dir);
        return fedc_fail(err, "out of memory for the clusters' aggregation");
    }
    for (int i = 0; i < n; i++) {
        cu[i] = u[i];
        int k = u[i].client;
        if (k < 0 || a[k] >= 0) continue;
        int best = 0;
        double bc = -INFINITY;
        for (int q = 0; q < c->C; q++) {
            const float *xq = cluster_model(s, q);
            for (size_t j = 0; j < d; j++) dir[j] = xq[j] - x[j];
            double cs = cosine(u[i].delta, dir, d);
            if (cs > bc) bc = cs, best = q;
        }
        a[k] = (float)best;
        const float *xc = cluster_model(s, best);
        float *mv = moved + (size_t)i * d;
        for (size_t j = 0; j < d; j++) mv[j] = u[i].delta[j] + (x[j] - xc[j]);
        cu[i].delta = mv;
    }
    double total_w = 0;
    double *cw = calloc((size_t)c->C, sizeof *cw);
    fedc_update *members = malloc(((size_t)n + 1) * sizeof *members);
    int rc_ok = cw && members ? 0 : -1;
    for (int q = 0; rc_ok == 0 && q < c->C; q++) {
        int nm = 0;
        for (int i = 0; i < n; i++)
            if (cu[i].client >= 0 && (int)a[cu[i].client] == q) members[nm++] = cu[i];
        if (nm > 0 && fedc_strategy_combine(s, members, nm, s->mean) > 0) fedc_step_sgd(s, cluster_model(s, q), s->mean, rc);
    }
    if (rc_ok == 0) {
        /* The global model: the cluster models weighted by their members' samples. */
        for (int k = 0; k < s->n_clients; k++) {
            double nk = rc->clients ? (double)rc->clients[k].n_samples : 1.0;
            if (a[k] >= 0) cw[(int)a[k]] += nk;
        }
        for (int q = 0; q < c->C; q++) total_w += cw[q];
        if (total_w > 0) {
            memset(x, 0, d * sizeof(float));
            for (int q = 0; q < c->C; q++) {
                if (cw[q] <= 0) continue;
                float f = (float)(cw[q] / total_w);
                const float *xq = cluster_model(s, q);
                for (size_t j = 0; j < d; j++) x[j] += f * xq[j];
            }
        }
    }
    free(cu), free(moved), free(dir), free(cw), free(members);
    return rc_ok == 0 ? 0 : fedc_fail(err, "out of memory for the clusters' aggregation");
}

static int tables_save(fedc_strategy *s, FILE *f, fedc_error *err) {
    return fedc_state_save(((clustered_impl *)s->impl)->last, f, err);
}

static int tables_load(fedc_strategy *s, FILE *f, fedc_error *err) {
    if (fedc_state_load(((clustered_impl *)s->impl)->last, f, err) != 0) {
        fedc_fail_prefix(err, "clustered table: ");
        return -1;
    }
    return 0;
}

const fedc_strategy_ops fedc_ops_clustered = {.name = "clustered",
                                              .init = init,
                                              .aggregate = aggregate,
                                              .client_model = client_model,
                                              .tables_save = tables_save,
                                              .tables_load = tables_load,
                                              .destroy = destroy};
