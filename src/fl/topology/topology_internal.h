/* Private: the topology object shared by graph.c, mixing.c and spectral.c. */
#ifndef FEDC_TOPOLOGY_INTERNAL_H
#define FEDC_TOPOLOGY_INTERNAL_H

#include "fedc/topology.h"

/* Graphs whose construction is quadratic in n (complete, erdos-renyi,
 * small-world) stop here. */
#define TOPOLOGY_DENSE_MAX 4096

struct fedc_topology {
    fedc_topology_config cfg;
    int n;
    /* The current graph (for matching, of round `round`): sorted neighbour
     * lists without the node itself. */
    int *adj_start, *adj;
    int round;
    /* Its mixing matrix, each row the node itself first. */
    int *mstart, *mcol;
    double *mw;
};

/* Builds t's graph for round (matching: a fresh matching; others: once). */
int topology_build_graph(fedc_topology *t, int round, fedc_error *err);
/* Fills the mixing rows from the current graph. */
int topology_build_mixing(fedc_topology *t, fedc_error *err);

#endif
