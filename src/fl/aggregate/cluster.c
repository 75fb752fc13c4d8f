/* Clustering for MUD-HoG, on distances and Gram matrices of a round's
 * vectors (n is a round's participant count, so everything here is
 * O(n^2) or O(n^3) once the O(n^2 d) Gram matrix is known):
 * DBSCAN (Ester et al. 1996, as sklearn: a point is core with at least
 * min_samples points, itself included, within eps), k-means with two
 * clusters (k-means++ starts, best of 10 by inertia, as sklearn's
 * defaults of the authors' era), and the largest-gap split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mudhog_internal.h"

void agg_gram(const float *const *v, int n, size_t d, double *G) {
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) G[i * n + j] = G[j * n + i] = agg_dot(v[i], v[j], d);
}

void agg_gram_dist(const double *G, int n, double *dist) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = G[i * n + i] + G[j * n + j] - 2 * G[i * n + j];
            dist[i * n + j] = i == j || s <= 0 ? 0 : sqrt(s);
        }
}

int agg_dbscan(const double *dist, int n, double eps, int min_samples, int *label) {
    int *queue = malloc((size_t)n * sizeof *queue);
    char *core = calloc((size_t)n, 1);
    if (!queue || !core) {
        free(queue), free(core);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int cnt = 0;
        for (int j = 0; j < n; j++) cnt += dist[i * n + j] <= eps;
        core[i] = cnt >= min_samples;
        label[i] = -2; /* unvisited */
    }
    int clusters = 0;
    for (int i = 0; i < n; i++) {
        if (label[i] != -2 || !core[i]) continue;
        int head = 0, tail = 0;
        label[i] = clusters;
        queue[tail++] = i;
        while (head < tail) {
            int p = queue[head++];
            if (!core[p]) continue; /* border points join but do not expand */
            for (int q = 0; q < n; q++)
                if (dist[p * n + q] <= eps && label[q] < 0) {
                    if (label[q] == -2) queue[tail++] = q;
                    label[q] = clusters;
                }
        }
        clusters++;
    }
    for (int i = 0; i < n; i++)
        if (label[i] == -2) label[i] = -1;
    free(queue), free(core);
    return clusters;
}

int agg_majority_label(const int *label, int n) {
    /* Most frequent label, noise (-1) included, the smallest label on ties
     * (collections.Counter keeps first-seen order; labels appear in order). */
    int best = label[0], best_n = 0;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = 0; j < n; j++) c += label[j] == label[i];
        if (c > best_n || (c == best_n && label[i] < best)) {
            best = label[i];
            best_n = c;
        }
    }
    return best;
}

/* Squared distance of point i to the mean of the members of cluster c,
 * from the Gram matrix: G_ii - 2/|S| sum G_ij + 1/|S|^2 sum G_jl. */
static double dist_to_mean(const double *G, int n, const int *label, int c, int i, double self_term, int size) {
    double cross = 0;
    for (int j = 0; j < n; j++)
        if (label[j] == c) cross += G[i * n + j];
    return G[i * n + i] - 2 * cross / size + self_term;
}

static double run_kmeans2(const double *G, const double *dist, int n, fedc_rng *rng, int *label) {
    /* k-means++: first centre uniform, second with probability ~ D^2. */
    int c0 = (int)fedc_rng_below(rng, (uint32_t)n);
    double total = 0;
    for (int i = 0; i < n; i++) total += dist[c0 * n + i] * dist[c0 * n + i];
    int c1 = c0;
    if (total > 0) {
        double r = fedc_rng_uniform(rng) * total, acc = 0;
        for (int i = 0; i < n; i++) {
            acc += dist[c0 * n + i] * dist[c0 * n + i];
            if (acc >= r && i != c0) {
                c1 = i;
                break;
            }
        }
        if (c1 == c0)
            for (int i = n - 1; i >= 0; i--)
                if (dist[c0 * n + i] > 0) {
                    c1 = i;
                    break;
                }
    }
    for (int i = 0; i < n; i++) label[i] = dist[c0 * n + i] <= dist[c1 * n + i] ? 0 : 1;
    double inertia = 0;
    for (int it = 0; it < 300; it++) {
        int size[2] = {0, 0};
        double self_term[2] = {0, 0};
        for (int i = 0; i < n; i++) size[label[i]]++;
        for (int c = 0; c < 2; c++) {
            if (!size[c]) continue;
            double s = 0;
            for (int j = 0; j < n; j++)
                for (int l = 0; l < n; l++)
                    if (label[j] == c && label[l] == c) s += G[j * n + l];
            self_term[c] = s / ((double)size[c] * size[c]);
        }
        int changed = 0;
        inertia = 0;
        int *next = malloc((size_t)n * sizeof *next);
        if (!next) return INFINITY;
        for (int i = 0; i < n; i++) {
            double d0 = size[0] ? dist_to_mean(G, n, label, 0, i, self_term[0], size[0]) : INFINITY;
            double d1 = size[1] ? dist_to_mean(G, n, label, 1, i, self_term[1], size[1]) : INFINITY;
            next[i] = d0 <= d1 ? 0 : 1;
            inertia += d0 <= d1 ? d0 : d1;
            changed |= next[i] != label[i];
        }
        memcpy(label, next, (size_t)n * sizeof *label);
        free(next);
        if (!changed) break;
    }
    return inertia;
}

int agg_kmeans2(const double *G, int n, fedc_rng *rng, int *label) {
    if (n < 2) {
        for (int i = 0; i < n; i++) label[i] = 0;
        return 0;
    }
    double *dist = malloc((size_t)n * n * sizeof *dist);
    int *try_label = malloc((size_t)n * sizeof *try_label);
    if (!dist || !try_label) {
        free(dist), free(try_label);
        return -1;
    }
    agg_gram_dist(G, n, dist);
    double best = INFINITY;
    for (int t = 0; t < 10; t++) {
        double in = run_kmeans2(G, dist, n, rng, try_label);
        if (in < best) {
            best = in;
            memcpy(label, try_label, (size_t)n * sizeof *label);
        }
    }
    free(dist), free(try_label);
    return 0;
}

int agg_minority_label(const int *label, int n) {
    int ones = 0;
    for (int i = 0; i < n; i++) ones += label[i] == 1;
    /* As the authors' find_minority_id: label 0 is the minority only when
     * label 1 has strictly more members. */
    return ones > n - ones ? 0 : 1;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double agg_separate_point(const double *vals, int n) {
    if (n < 2) return 0;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return 0;
    memcpy(s, vals, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double gap = 0, sep = 0;
    for (int i = 0; i + 1 < n; i++)
        if (s[i + 1] - s[i] > gap) {
            gap = s[i + 1] - s[i];
            sep = s[i] + gap / 2;
        }
    free(s);
    return sep;
}
