/* Mixing weights on the current graph (Metropolis-Hastings or uniform
 * max-degree weights), both symmetric, so the matrix is doubly stochastic,
 * and the per-round graph of the time-varying kind. */
#include <stdlib.h>
#include <string.h>

#include "topology_internal.h"

int topology_build_mixing(fedc_topology *t, fedc_error *err) {
    int n = t->n, edges = t->adj_start[n];
    int *start = malloc(((size_t)n + 1) * sizeof *start);
    int *col = malloc(((size_t)edges + n) * sizeof *col);
    double *w = malloc(((size_t)edges + n) * sizeof *w);
    if (!start || !col || !w) {
        free(start), free(col), free(w);
        return fedc_fail(err, "topology: out of memory for the mixing matrix");
    }
    int dmax = 0;
    for (int i = 0; i < n; i++) {
        int d = t->adj_start[i + 1] - t->adj_start[i];
        if (d > dmax) dmax = d;
    }
    int mh = !strcmp(t->cfg.mixing, "metropolis-hastings"), q = 0;
    for (int i = 0; i < n; i++) {
        int di = t->adj_start[i + 1] - t->adj_start[i];
        start[i] = q;
        int self = -1;
        double sum = 0;
        /* Row in increasing node order, the node itself in its place, so a
         * weighted sum over a row adds in the same order as a sum over ids. */
        for (int a = t->adj_start[i]; a <= t->adj_start[i + 1]; a++) {
            int j = a < t->adj_start[i + 1] ? t->adj[a] : n;
            if (self < 0 && i < j) {
                self = q;
                col[q++] = i;
            }
            if (j == n) break;
            int dj = t->adj_start[j + 1] - t->adj_start[j];
            double wij = mh ? 1.0 / (1.0 + (di > dj ? di : dj)) : 1.0 / (1.0 + dmax);
            col[q] = j;
            w[q++] = wij;
            sum += wij;
        }
        w[self] = 1.0 - sum;
    }
    start[n] = q;
    free(t->mstart);
    free(t->mcol);
    free(t->mw);
    t->mstart = start;
    t->mcol = col;
    t->mw = w;
    return 0;
}

/* A time-varying graph is redrawn when the round changes; a failure (out of
 * memory) keeps the previous round's graph, which is still a valid mixing. */
static void at_round(fedc_topology *t, int round) {
    if (!fedc_topology_time_varying(t) || round == t->round) return;
    fedc_error err;
    if (topology_build_graph(t, round, &err) == 0) topology_build_mixing(t, &err);
}

fedc_mixing fedc_topology_mixing(fedc_topology *t, int round) {
    at_round(t, round);
    fedc_mixing m = {t->n, t->mstart, t->mcol, t->mw};
    return m;
}

int fedc_topology_neighbours(fedc_topology *t, int round, int i, int *out, int cap) {
    at_round(t, round);
    if (i < 0 || i >= t->n) return 0;
    int d = t->adj_start[i + 1] - t->adj_start[i];
    for (int q = 0; q < d && q < cap; q++) out[q] = t->adj[t->adj_start[i] + q];
    return d;
}
