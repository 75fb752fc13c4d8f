/* What a deployment (src/server) needs from the round engine beyond a
 * simulation: telling the scheduler which clients are online with what
 * resources, and reading each participant's outcome after a round (for the
 * per-node participation record and for flagging nodes whose updates were
 * refused). */
#ifndef FEDC_DEPLOY_H
#define FEDC_DEPLOY_H

#include <stdint.h>

#include "fedc/engine.h"
#include "fedc/export.h"
#include "fedc/sched.h"

/* Called at the start of every round, after the profile is applied and
 * before participants are chosen: the deployment sets available, n_samples,
 * samples_per_s and link speeds of each client slot. */
typedef void (*fedc_client_hook)(void *ctx, int round, fedc_client_info *info, int n_clients);
FEDC_API void fedc_run_set_client_hook(fedc_run *r, fedc_client_hook fn, void *ctx);

/* Central DP noise (dp-fedavg) from the OS CSPRNG rather than the task seed,
 * which whoever holds the task spec knows (privacy.h). */
FEDC_API void fedc_run_set_secret_noise(fedc_run *r, int on);

/* Decentralised mixing strategies (dpsgd, dfedsam, dfedsam-mgs): the
 * gossip steps go through the transport as STEP frames, the server only
 * relaying what the nodes send and the nodes computing their own mixes
 * (gossip_relay.c), rather than mixing the models in the engine. A server
 * sets it; a simulation may, to run the same exchange in process. */
FEDC_API void fedc_run_set_gossip_relay(fedc_run *r, int on);

typedef struct fedc_participant {
    int client;
    int status;          /* 1 aggregated, -1 dropped, -2 refused */
    const char *reason;  /* "" when status is 1; valid until the next round */
    uint64_t bytes_down, bytes_up;
    double cpu_s, loss, n_samples;
    int steps;
    /* status 1 only: what the robust aggregator made of the update
     * (fedc/aggregate.h) and why ("" when kept normally). */
    int verdict;         /* fedc_verdict */
    const char *verdict_reason;
} fedc_participant;

/* Participant i (0 <= i < the round's `selected`) of the last round run,
 * also when that round failed. -1 if i is out of range. */
FEDC_API int fedc_run_participant(const fedc_run *r, int i, fedc_participant *out);

/* Asynchronous strategies in a deployment (a transport with post/collect,
 * transport.h): nodes train continuously and every TRAIN carries a ticket,
 * its number in the run (the round field of the frame and of its answer).
 * After each round (one aggregation) the engine lists what it finished:
 * every update aggregated into the version the round made (status 1) and
 * every answer dropped or refused while the round ran (-1, -2). Updates
 * that arrived and wait for a later aggregation are the buffer; the
 * checkpoint holds them (and the next ticket), so a resumed run aggregates
 * each exactly once. */
typedef struct fedc_async_update {
    int client;          /* client slot */
    int ticket;          /* the TRAIN it answers */
    int status;          /* 1 aggregated, -1 dropped, -2 refused */
    const char *reason;  /* "" when status is 1; valid until the next round */
    int version;         /* the model version it trained on */
    int staleness;       /* versions made since (status 1) */
    double stale_weight; /* the staleness function's weight s(staleness) (status 1) */
    double n_samples, loss, cpu_s;
    uint64_t bytes_up;
} fedc_async_update;

/* The records of the last round (NULL, 0 for other runs). */
FEDC_API int fedc_run_async_updates(const fedc_run *r, const fedc_async_update **out);
/* Tickets of the updates waiting in the buffer after the last round, in
 * arrival order: *out points to n of them (valid until the next round). */
FEDC_API int fedc_run_async_buffered(const fedc_run *r, const int **tickets, const int **clients);

#endif
