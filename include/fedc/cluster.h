/* The ranks of one simulation spread over several processes (`mpirun -np P
 * fedc sim TASK.json`): the collective the simulation transport needs.
 * Every rank runs the same round engine on the same data; a rank trains
 * only the clients it owns (client id mod P) and the ranks then exchange
 * their clients' UPDATE frames, so each rank aggregates every update in
 * the single process's order and holds the same model, bit for bit.
 * libfedc holds no MPI code: the fedc binary implements this interface
 * over MPI (src/mpi/) and hands it to fedc_sim_transport_set_cluster. */
#ifndef FEDC_CLUSTER_H
#define FEDC_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/transport.h"

typedef struct fedc_cluster fedc_cluster;
typedef struct fedc_cluster_ops {
    /* Collective: every rank gives its n bytes; *all receives every rank's
     * bytes concatenated in rank order (counts[r]: rank r's share, size
     * entries). */
    int (*allgather)(fedc_cluster *c, const void *mine, size_t n, fedc_buf *all, size_t *counts, fedc_error *err);
    /* Ends every rank of the job, saying why: for a rank that cannot take
     * its part in the next collective (the others would wait forever). */
    void (*abort)(fedc_cluster *c, const char *why);
} fedc_cluster_ops;

struct fedc_cluster {
    const fedc_cluster_ops *ops;
    void *self;
    int rank, size;
    /* Payload bytes this rank sent to and received from the other ranks
     * through the collectives (each byte counted once per rank it reaches,
     * whatever route the MPI library takes). */
    uint64_t bytes_sent, bytes_received;
};

/* The rank that owns (trains, keeps the state of) client k. */
static inline int fedc_cluster_owner(const fedc_cluster *c, int client) { return c ? client % c->size : 0; }

/* Spreads a simulation transport (fedc_sim_transport_create) over c: from
 * now on this rank trains and evaluates only the clients it owns and each
 * exchange ends with the ranks swapping their clients' replies. Every rank
 * must run the same task and seed and call the engine in lockstep. c must
 * outlive the transport. -1 (err says why) if tp is not a simulation
 * transport, c is not a valid cluster or one is set already. */
FEDC_API int fedc_sim_transport_set_cluster(fedc_transport *tp, fedc_cluster *c, fedc_error *err);
/* Clients this rank's simulation transport trained or evaluated so far. */
FEDC_API uint64_t fedc_sim_transport_served(fedc_transport *tp);

#endif
