/* Krum and Multi-Krum (Blanchard et al., NeurIPS 2017) and Bulyan
 * (El Mhamdi et al., ICML 2018).
 *
 * Krum scores update i by the sum of its squared distances to its n-f-2
 * nearest other updates; the lowest score wins. Multi-Krum averages the m
 * best-scored (m = n-f by default). Bulyan selects theta = n-2f updates by
 * applying Krum again and again to what is left, then takes, coordinate by
 * coordinate, the mean of the beta = theta-2f selected values closest to
 * their median. Distances are computed once, exactly, in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"

/* Krum scores of the `alive` members (n_alive of them) of the n updates,
 * with neighbourhood size k = n_alive - f - 2 (at least 1). */
static void krum_scores(const double *dist, int n, const int *alive, int n_alive, int f, double *score,
                        double *tmp) {
    int k = n_alive - f - 2;
    if (k < 1) k = 1;
    if (k > n_alive - 1) k = n_alive - 1;
    for (int a = 0; a < n_alive; a++) {
        int i = alive[a], m = 0;
        for (int b = 0; b < n_alive; b++)
            if (b != a) tmp[m++] = dist[i * n + alive[b]];
        /* Partial selection sort: the k smallest. */
        double s = 0;
        for (int r = 0; r < k && r < m; r++) {
            int best = r;
            for (int q = r + 1; q < m; q++)
                if (tmp[q] < tmp[best]) best = q;
            double t = tmp[r];
            tmp[r] = tmp[best];
            tmp[best] = t;
            s += tmp[r];
        }
        score[a] = s;
    }
}

/* Indices 0..n-1 ordered by ascending score (ties by index). */
static void order_by(const double *score, int n, int *order) {
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) {
        int x = order[i], j = i - 1;
        while (j >= 0 && (score[order[j]] > score[x] || (score[order[j]] == score[x] && order[j] > x))) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = x;
    }
}

int agg_krum(const agg_input *in, int f, int m, const char *name, float *out, agg_output *o, fedc_error *err) {
    int n = in->n;
    f = agg_fit_f(f, n, 2);
    if (m <= 0) m = n - f;
    if (m > n) m = n;
    double *dist = malloc((size_t)n * n * sizeof *dist), *score = malloc((size_t)n * sizeof *score),
           *tmp = malloc((size_t)n * sizeof *tmp);
    int *alive = calloc((size_t)n, sizeof *alive), *order = calloc((size_t)n, sizeof *order);
    if (!dist || !score || !tmp || !alive || !order) {
        free(dist), free(score), free(tmp), free(alive), free(order);
        return fedc_fail(err, "aggregation: out of memory for %s", name);
    }
    agg_pairwise_sq(in->v, n, in->d, dist);
    for (int i = 0; i < n; i++) alive[i] = i;
    krum_scores(dist, n, alive, n, f, score, tmp);
    order_by(score, n, order);
    agg_mean_of(in->v, order, m, in->d, out);
    for (int r = m; r < n; r++)
        agg_set(o, order[r], FEDC_VERDICT_LEFT_OUT, "%s: score %d of %d (f=%d, %d kept)", name, r + 1, n, f, m);
    free(dist), free(score), free(tmp), free(alive), free(order);
    return 0;
}

int agg_bulyan(const agg_input *in, int f, float *out, agg_output *o, fedc_error *err) {
    int n = in->n;
    f = agg_fit_f(f, n, 4);
    int theta = n - 2 * f, beta = theta - 2 * f;
    double *dist = malloc((size_t)n * n * sizeof *dist), *score = malloc((size_t)n * sizeof *score),
           *tmp = malloc((size_t)n * sizeof *tmp);
    int *alive = malloc((size_t)n * sizeof *alive), *chosen = malloc((size_t)n * sizeof *chosen),
        *is_chosen = calloc((size_t)n, sizeof *is_chosen);
    float *col = malloc((size_t)theta * sizeof *col);
    if (!dist || !score || !tmp || !alive || !chosen || !is_chosen || !col) {
        free(dist), free(score), free(tmp), free(alive), free(chosen), free(is_chosen), free(col);
        return fedc_fail(err, "aggregation: out of memory for bulyan");
    }
    agg_pairwise_sq(in->v, n, in->d, dist);
    int n_alive = n;
    for (int i = 0; i < n; i++) alive[i] = i;
    /* Recursive Krum: each pick leaves the pool. */
    for (int s = 0; s < theta; s++) {
        krum_scores(dist, n, alive, n_alive, f, score, tmp);
        int best = 0; /* ties go to the lower update index, whatever the pool's order */
        for (int a = 1; a < n_alive; a++)
            if (score[a] < score[best] || (score[a] == score[best] && alive[a] < alive[best])) best = a;
        chosen[s] = alive[best];
        is_chosen[alive[best]] = 1;
        alive[best] = alive[--n_alive];
    }
    /* Coordinate-wise: mean of the beta values closest to the median. */
    for (size_t j = 0; j < in->d; j++) {
        for (int s = 0; s < theta; s++) col[s] = in->v[chosen[s]][j];
        agg_sort_small(col, theta);
        double med = theta % 2 ? col[theta / 2] : 0.5 * ((double)col[theta / 2 - 1] + col[theta / 2]);
        /* The beta closest to the median form a contiguous window of the
         * sorted column; slide it to the one with the smallest spread. */
        int lo = 0;
        for (int start = 1; start + beta <= theta; start++) {
            double cur = fmax(fabs(col[lo] - med), fabs(col[lo + beta - 1] - med));
            double cand = fmax(fabs(col[start] - med), fabs(col[start + beta - 1] - med));
            if (cand < cur) lo = start;
        }
        double s = 0;
        for (int b = lo; b < lo + beta; b++) s += col[b];
        out[j] = (float)(s / beta);
    }
    for (int i = 0; i < n; i++)
        if (!is_chosen[i])
            agg_set(o, i, FEDC_VERDICT_LEFT_OUT, "bulyan: not among the %d Krum selections (f=%d)", theta, f);
    free(dist), free(score), free(tmp), free(alive), free(chosen), free(is_chosen), free(col);
    return 0;
}
