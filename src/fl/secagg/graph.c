/* The SecAgg+ communication graph (Bell, Bonawitz, Gascon, Lepoint,
 * Raykova, "Secure Single-Server Aggregation with (Poly)Logarithmic
 * Overhead", CCS 2020): instead of every pair of nodes agreeing on a mask
 * (SecAgg, quadratic cost), each node masks with k = O(log n) neighbours of
 * a random k-regular graph: the Harary graph H(k, n) (node i joined to
 * i +- 1 .. i +- k/2 mod n) under a uniformly random relabelling drawn by
 * the server from public randomness. With k = O(log n) the graph stays
 * connected among the survivors with overwhelming probability, which is
 * what keeps a single update from being isolated by the masks. */
#include <math.h>
#include <stdlib.h>

#include "fl/secagg/secagg_internal.h"

int sa_graph_degree(int n, int requested) {
    int k;
    if (requested > 0) k = requested;
    /* Small rounds: every pair, as in SecAgg (the cost per node is still
     * only n keys and shares). Larger: 6 log2 n, enough that with the
     * default threshold (half the neighbours) and 30% of the nodes gone a
     * node keeps the shares it needs except with small probability. */
    else if (n <= 64) k = n - 1;
    else k = (int)ceil(6 * log2((double)n));
    if (k > n - 1) k = n - 1;
    /* The Harary construction is symmetric for even k (or k = n - 1). */
    if (k % 2 && k < n - 1) k++;
    if (k > SA_MAX_DEGREE) k = SA_MAX_DEGREE - (SA_MAX_DEGREE % 2);
    return k < 1 ? 1 : k;
}

int sa_threshold(int k, double frac) {
    int t = (int)floor(frac * k) + 1;
    if (t > k) t = k;
    return t < 1 ? 1 : t;
}

void sa_graph_build(int n, int k, uint64_t seed, int round, int *adj) {
    /* pos[i]: where participant i sits on the Harary ring; at[p]: who sits at p. */
    uint32_t *at = malloc((size_t)n * sizeof *at);
    int *pos = malloc((size_t)n * sizeof *pos);
    if (!at || !pos) {
        free(at);
        free(pos);
        for (int i = 0; i < n * k; i++) adj[i] = -1;
        return;
    }
    for (int i = 0; i < n; i++) at[i] = (uint32_t)i;
    fedc_rng r = fedc_rng_derive(seed ^ 0x5EC466ull, (uint64_t)round, 0x6EA9ull);
    fedc_rng_shuffle_u32(&r, at, (size_t)n);
    for (int p = 0; p < n; p++) pos[at[p]] = p;
    for (int i = 0; i < n; i++) {
        int p = pos[i], j = 0;
        if (k >= n - 1) {
            for (int v = 0; v < n; v++)
                if (v != i) adj[i * k + j++] = v;
            continue;
        }
        for (int s = 1; s <= k / 2; s++) {
            adj[i * k + j++] = (int)at[(p + s) % n];
            adj[i * k + j++] = (int)at[(p - s + n) % n];
        }
    }
    free(at);
    free(pos);
}
