/* The graph kinds of topology.h, each built as an edge list and stored as
 * sorted, duplicate-free neighbour lists. Random graphs draw only from
 * fedc_rng streams of topology.seed, so a graph is a function of the task. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/rng.h"
#include "topology_internal.h"

typedef struct edge_list {
    int *a, *b;
    size_t n, cap;
} edge_list;

static int edge_add(edge_list *e, int i, int j) {
    if (i == j) return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        int *a = realloc(e->a, cap * sizeof *a);
        if (!a) return -1;
        e->a = a;
        int *b = realloc(e->b, cap * sizeof *b);
        if (!b) return -1;
        e->b = b;
        e->cap = cap;
    }
    e->a[e->n] = i;
    e->b[e->n] = j;
    e->n++;
    return 0;
}

static void edge_free(edge_list *e) {
    free(e->a);
    free(e->b);
    memset(e, 0, sizeof *e);
}

static int cmp_int(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* Edge list -> sorted neighbour lists (both directions, duplicates merged). */
static int to_lists(fedc_topology *t, const edge_list *e, fedc_error *err) {
    int n = t->n;
    int *start = calloc((size_t)n + 1, sizeof *start);
    int *adj = malloc((2 * e->n + 1) * sizeof *adj);
    int *fill = calloc((size_t)n + 1, sizeof *fill);
    if (!start || !adj || !fill) {
        free(start), free(adj), free(fill);
        return fedc_fail(err, "topology: out of memory for %zu edges", e->n);
    }
    for (size_t q = 0; q < e->n; q++) {
        start[e->a[q] + 1]++;
        start[e->b[q] + 1]++;
    }
    for (int i = 0; i < n; i++) start[i + 1] += start[i];
    for (size_t q = 0; q < e->n; q++) {
        adj[start[e->a[q]] + fill[e->a[q]]++] = e->b[q];
        adj[start[e->b[q]] + fill[e->b[q]]++] = e->a[q];
    }
    /* Sort each list and squeeze out duplicates in place. */
    int w = 0;
    for (int i = 0; i < n; i++) {
        int lo = start[i], hi = start[i + 1];
        qsort(adj + lo, (size_t)(hi - lo), sizeof *adj, cmp_int);
        start[i] = w;
        for (int q = lo; q < hi; q++)
            if (q == lo || adj[q] != adj[q - 1]) adj[w++] = adj[q];
    }
    start[n] = w;
    free(fill);
    free(t->adj_start);
    free(t->adj);
    t->adj_start = start;
    t->adj = adj;
    return 0;
}

static int connected(const fedc_topology *t) {
    int n = t->n, seen = 1, head = 0, tail = 1;
    if (n <= 1) return 1;
    int *queue = malloc((size_t)n * sizeof *queue);
    char *mark = calloc((size_t)n, 1);
    if (!queue || !mark) {
        free(queue), free(mark);
        return -1;
    }
    queue[0] = 0;
    mark[0] = 1;
    while (head < tail) {
        int i = queue[head++];
        for (int q = t->adj_start[i]; q < t->adj_start[i + 1]; q++)
            if (!mark[t->adj[q]]) {
                mark[t->adj[q]] = 1;
                queue[tail++] = t->adj[q];
                seen++;
            }
    }
    free(queue);
    free(mark);
    return seen == n;
}

static int build_ring(int n, edge_list *e) {
    for (int i = 0; i < n && n > 1; i++)
        if (edge_add(e, i, (i + 1) % n) != 0) return -1;
    return 0;
}

static int build_torus(int n, edge_list *e) {
    int rows = 1;
    for (int r = 1; (long)r * r <= n; r++)
        if (n % r == 0) rows = r;
    int cols = n / rows;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int i = r * cols + c;
            if (cols > 1 && edge_add(e, i, r * cols + (c + 1) % cols) != 0) return -1;
            if (rows > 1 && edge_add(e, i, ((r + 1) % rows) * cols + c) != 0) return -1;
        }
    return 0;
}

static int build_complete(int n, edge_list *e) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (edge_add(e, i, j) != 0) return -1;
    return 0;
}

static int build_exponential(int n, edge_list *e) {
    for (int i = 0; i < n; i++)
        for (long h = 1; h < n; h *= 2)
            if (edge_add(e, i, (int)((i + h) % n)) != 0) return -1;
    return 0;
}

static int build_erdos_renyi(int n, double p, fedc_rng *rng, edge_list *e) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (fedc_rng_uniform(rng) < p && edge_add(e, i, j) != 0) return -1;
    return 0;
}

/* Watts-Strogatz: lattice edges (i, i + s), s = 1..k/2, each rewired with
 * probability p to a node i is not yet joined to. */
static int build_small_world(int n, int k, double p, fedc_rng *rng, edge_list *e) {
    size_t words = ((size_t)n * n + 63) / 64;
    uint64_t *bits = calloc(words, sizeof *bits);
    if (!bits) return -1;
#define BIT(i, j) (((size_t)(i) * n + (j)))
#define HAS(i, j) ((bits[BIT(i, j) / 64] >> (BIT(i, j) % 64)) & 1)
#define SET(i, j, v)                                                               \
    do {                                                                           \
        if (v) bits[BIT(i, j) / 64] |= 1ull << (BIT(i, j) % 64);                   \
        else bits[BIT(i, j) / 64] &= ~(1ull << (BIT(i, j) % 64));                  \
    } while (0)
    int half = k / 2, rc = 0;
    for (int i = 0; i < n; i++)
        for (int s = 1; s <= half; s++) {
            int j = (i + s) % n;
            SET(i, j, 1);
            SET(j, i, 1);
        }
    for (int s = 1; s <= half; s++)
        for (int i = 0; i < n; i++) {
            int j = (i + s) % n;
            if (!HAS(i, j) || fedc_rng_uniform(rng) >= p) continue;
            int deg = 0;
            for (int q = 0; q < n; q++) deg += q != i && HAS(i, q);
            if (deg >= n - 1) continue; /* joined to everyone: nowhere to go */
            int to;
            do to = (int)fedc_rng_below(rng, (uint32_t)n);
            while (to == i || HAS(i, to));
            SET(i, j, 0);
            SET(j, i, 0);
            SET(i, to, 1);
            SET(to, i, 1);
        }
    for (int i = 0; i < n && rc == 0; i++)
        for (int j = i + 1; j < n && rc == 0; j++)
            if (HAS(i, j)) rc = edge_add(e, i, j);
#undef BIT
#undef HAS
#undef SET
    free(bits);
    return rc;
}

static int build_matching(int n, uint64_t seed, int round, edge_list *e) {
    uint32_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return -1;
    for (int i = 0; i < n; i++) perm[i] = (uint32_t)i;
    fedc_rng rng = fedc_rng_derive(seed, (uint64_t)round, 0x3A7C4ull);
    fedc_rng_shuffle_u32(&rng, perm, (size_t)n);
    int rc = 0;
    for (int q = 0; q + 1 < n && rc == 0; q += 2) rc = edge_add(e, (int)perm[q], (int)perm[q + 1]);
    free(perm);
    return rc;
}

#define RANDOM_GRAPH_DRAWS 64

int topology_build_graph(fedc_topology *t, int round, fedc_error *err) {
    const fedc_topology_config *c = &t->cfg;
    int n = t->n;
    int random = !strcmp(c->kind, "erdos-renyi") || !strcmp(c->kind, "small-world");
    for (int draw = 0; draw < (random ? RANDOM_GRAPH_DRAWS : 1); draw++) {
        edge_list e = {0};
        fedc_rng rng = fedc_rng_derive(c->seed, (uint64_t)draw, 0x70B0ull);
        int rc;
        if (!strcmp(c->kind, "ring")) rc = build_ring(n, &e);
        else if (!strcmp(c->kind, "torus")) rc = build_torus(n, &e);
        else if (!strcmp(c->kind, "complete")) rc = build_complete(n, &e);
        else if (!strcmp(c->kind, "exponential")) rc = build_exponential(n, &e);
        else if (!strcmp(c->kind, "erdos-renyi")) rc = build_erdos_renyi(n, c->p, &rng, &e);
        else if (!strcmp(c->kind, "small-world")) rc = build_small_world(n, c->k, c->p, &rng, &e);
        else if (!strcmp(c->kind, "matching")) rc = build_matching(n, c->seed, round, &e);
        else {
            edge_free(&e);
            return fedc_fail(err, "topology.kind: \"%s\" is not known; allowed: ring, torus, complete, "
                                  "erdos-renyi, small-world, exponential, matching",
                             c->kind);
        }
        if (rc != 0) {
            edge_free(&e);
            return fedc_fail(err, "topology: out of memory building a %s graph of %d nodes", c->kind, n);
        }
        rc = to_lists(t, &e, err);
        edge_free(&e);
        if (rc != 0) return -1;
        t->round = round;
        if (!random) return 0;
        int ok = connected(t);
        if (ok < 0) return fedc_fail(err, "topology: out of memory checking connectivity");
        if (ok) return 0;
    }
    return fedc_fail(err, "topology.p: %g gave no connected %s graph of %d nodes in %d draws; allowed: a larger p",
                     c->p, c->kind, n, RANDOM_GRAPH_DRAWS);
}

fedc_topology *fedc_topology_create(const fedc_topology_config *cfg, int n, fedc_error *err) {
    if (n < 1 || n > 1000000) {
        fedc_fail(err, "topology: %d nodes; allowed: 1 to 1000000", n);
        return NULL;
    }
    int dense = !strcmp(cfg->kind, "complete") || !strcmp(cfg->kind, "erdos-renyi") ||
                !strcmp(cfg->kind, "small-world");
    if (dense && n > TOPOLOGY_DENSE_MAX) {
        fedc_fail(err, "topology.kind: %s is built in time quadratic in the nodes; %d nodes is more than the %d "
                       "allowed",
                  cfg->kind, n, TOPOLOGY_DENSE_MAX);
        return NULL;
    }
    if (!strcmp(cfg->kind, "erdos-renyi") && !(cfg->p > 0 && cfg->p <= 1)) {
        fedc_fail(err, "topology.p: %g; allowed: a probability > 0 and <= 1 for erdos-renyi", cfg->p);
        return NULL;
    }
    if (!strcmp(cfg->kind, "small-world")) {
        if (!(cfg->p >= 0 && cfg->p <= 1)) {
            fedc_fail(err, "topology.p: %g; allowed: a rewiring probability >= 0 and <= 1 for small-world", cfg->p);
            return NULL;
        }
        if (cfg->k < 2 || cfg->k % 2 || cfg->k >= n) {
            fedc_fail(err, "topology.k: %d; allowed for small-world: an even number >= 2 and < the %d nodes",
                      cfg->k, n);
            return NULL;
        }
    }
    if (strcmp(cfg->mixing, "metropolis-hastings") && strcmp(cfg->mixing, "uniform")) {
        fedc_fail(err, "topology.mixing: \"%s\" is not known; allowed: metropolis-hastings, uniform", cfg->mixing);
        return NULL;
    }
    fedc_topology *t = calloc(1, sizeof *t);
    if (!t) {
        fedc_fail(err, "topology: out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    t->n = n;
    if (topology_build_graph(t, 1, err) != 0 || topology_build_mixing(t, err) != 0) {
        fedc_topology_free(t);
        return NULL;
    }
    return t;
}

void fedc_topology_free(fedc_topology *t) {
    if (!t) return;
    free(t->adj_start);
    free(t->adj);
    free(t->mstart);
    free(t->mcol);
    free(t->mw);
    free(t);
}

int fedc_topology_nodes(const fedc_topology *t) { return t->n; }

int fedc_topology_time_varying(const fedc_topology *t) { return !strcmp(t->cfg.kind, "matching"); }
