/* Communication graphs and mixing matrices for decentralised learning:
 * nodes talk only to their graph neighbours, and a gossip step replaces a
 * node's model by a weighted average of its own and its neighbours':
 *   x_i <- sum_j W_ij x_j.
 * W is symmetric and doubly stochastic (rows and columns sum to 1), so the
 * average model is preserved and repeated steps contract every model towards
 * it at the rate of W's second largest eigenvalue magnitude; the spectral gap
 * 1 - |lambda_2| says how fast.
 *
 * Graphs (task field topology.kind), all undirected and connected:
 *   ring         i ~ i +- 1 (mod n)
 *   torus        a rows x cols grid with wrap-around, rows the largest
 *                divisor of n not above sqrt(n) (a prime n gives a ring)
 *   complete     everyone
 *   erdos-renyi  each pair with probability p, drawn again (next stream of
 *                topology.seed) until connected
 *   small-world  Watts-Strogatz: a ring lattice of k neighbours (k/2 a
 *                side), each edge rewired with probability p, drawn again
 *                until connected
 *   exponential  i ~ i +- 2^m (mod n) for 2^m < n (the static exponential
 *                graph of Ying et al.)
 *   matching     time-varying: each round a fresh random perfect matching
 *                (one node rests when n is odd), drawn from topology.seed
 *                and the round; its mixing averages each matched pair.
 *
 * Mixing (topology.mixing):
 *   metropolis-hastings  W_ij = 1 / (1 + max(d_i, d_j)) on edges
 *   uniform              W_ij = 1 / (1 + d_max) on edges (1 / (d + 1) on a
 *                        regular graph, and still doubly stochastic on an
 *                        irregular one)
 * and W_ii = 1 - sum of the row's edge weights. */
#ifndef FEDC_TOPOLOGY_H
#define FEDC_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedc/error.h"
#include "fedc/export.h"

typedef struct fedc_topology_config {
    char kind[16];    /* ring | torus | complete | erdos-renyi | small-world | exponential | matching */
    char mixing[24];  /* metropolis-hastings | uniform */
    double p;         /* erdos-renyi edge probability; small-world rewiring probability */
    int k;            /* small-world: lattice neighbours (even, >= 2) */
    uint64_t seed;
} fedc_topology_config;

/* A mixing matrix in rows: node i's weights on itself and its neighbours,
 * in increasing node order. */
typedef struct fedc_mixing {
    int n;
    const int *start;     /* n + 1: row i is [start[i], start[i + 1]) */
    const int *col;       /* node ids, increasing within a row, i itself among them */
    const double *w;      /* weights */
} fedc_mixing;

typedef struct fedc_topology fedc_topology;

/* Builds the graph of n nodes (for matching, round 1's). Errors name the
 * topology field at fault. */
FEDC_API fedc_topology *fedc_topology_create(const fedc_topology_config *cfg, int n, fedc_error *err);
FEDC_API void fedc_topology_free(fedc_topology *t);
FEDC_API int fedc_topology_nodes(const fedc_topology *t);
/* 1 for a time-varying graph (matching). */
FEDC_API int fedc_topology_time_varying(const fedc_topology *t);
/* The mixing matrix of round (1-based); a static graph ignores round. The
 * view stays valid until the next call. */
FEDC_API fedc_mixing fedc_topology_mixing(fedc_topology *t, int round);
/* Node i's neighbours in round (not itself): count, and ids into out (at
 * most cap). */
FEDC_API int fedc_topology_neighbours(fedc_topology *t, int round, int i, int *out, int cap);

typedef struct fedc_topology_stats {
    int n, edges;
    int degree_min, degree_max;
    double degree_mean;
    double lambda2;       /* second largest eigenvalue magnitude of W (the expected W when time-varying) */
    double spectral_gap;  /* 1 - lambda2 */
} fedc_topology_stats;
/* Largest n whose spectral gap fedc_topology_stats computes (a dense
 * eigen-decomposition, O(n^3)). */
#define FEDC_TOPOLOGY_SPECTRAL_MAX 2048
/* Degree statistics and spectral gap (of E[W] for matching: 1/2 I + 1/2
 * (J - I)/(n - 1) for even n). Fails for n above FEDC_TOPOLOGY_SPECTRAL_MAX. */
FEDC_API int fedc_topology_stats_get(fedc_topology *t, fedc_topology_stats *out, fedc_error *err);
/* Eigenvalues (ascending) of the symmetric n x n matrix a (row-major,
 * overwritten) into ev; LAPACK's dsyev. */
FEDC_API int fedc_sym_eigenvalues(double *a, int n, double *ev, fedc_error *err);
/* 1 - lambda_2 of the ring of n nodes with weights 1/3 (the closed form
 * 1 - (1 + 2 cos(2 pi / n)) / 3, for n >= 3). */
FEDC_API double fedc_ring_spectral_gap(int n);
/* The topology as text: kind, nodes, edges, degrees, spectral gap. */
FEDC_API void fedc_topology_print(FILE *f, const fedc_topology_stats *s, const fedc_topology_config *cfg);

#endif
