/* Server strategies. One interface covers the FedAvg family (server
 * optimizers), client-side terms (FedProx), control variates (SCAFFOLD:
 * extra payload both ways and per-client state), participation statistics
 * (FedAU), staleness weighting (FedBuff) and robust rules, so the round
 * engine never special-cases an algorithm.
 *
 * Life of a round, as the engine drives it:
 *   server: fedc_strategy_down_extra  -> floats sent with the model
 *   client: fedc_strategy_client_grad -> called on every local gradient
 *           fedc_strategy_client_end  -> fills the extra upload, updates the
 *                                        client's own persistent state
 *   server: fedc_strategy_aggregate   -> new global model from the updates */
#ifndef FEDC_STRATEGY_H
#define FEDC_STRATEGY_H

#include <stddef.h>

#include "fedc/error.h"
#include "fedc/task.h"

typedef struct fedc_update {
    int client;
    double weight;       /* samples seen locally (n_i) */
    int steps;           /* local steps taken (K_i) */
    int staleness;       /* rounds between the model it trained on and now */
    double loss;         /* mean local training loss */
    const float *delta;  /* y_i - x, d floats */
    const float *extra;  /* strategy upload (extra_up floats) or NULL */
} fedc_update;

typedef struct fedc_strategy fedc_strategy;

/* What a client needs to run the strategy's local part. */
typedef struct fedc_client_ctx {
    const fedc_strategy *strategy;
    const float *global;       /* x the client started from */
    const float *down_extra;   /* strategy download (e.g. server control variate) */
    float *state;              /* per-client persistent state (state_floats), or NULL */
    size_t d;
    float lr;                  /* local learning rate */
} fedc_client_ctx;

typedef struct fedc_strategy_info {
    const char *name;
    size_t extra_down;   /* floats sent down with the model each round */
    size_t extra_up;     /* floats sent up with each update */
    size_t state_floats; /* per-client persistent floats kept by the client */
} fedc_strategy_info;

fedc_strategy *fedc_strategy_create(const fedc_task *t, size_t d, int n_clients, fedc_error *err);
void fedc_strategy_free(fedc_strategy *s);
fedc_strategy_info fedc_strategy_info_get(const fedc_strategy *s);
/* 1 if the name is a known strategy. */
int fedc_strategy_known(const char *name);

/* Server side: the extra download (extra_down floats), or NULL. */
const float *fedc_strategy_down_extra(const fedc_strategy *s);
/* Client side: adjusts the local gradient g at weights w (FedProx adds
 * mu (w - x), SCAFFOLD adds c - c_i). Thread-safe: reads only. */
void fedc_strategy_client_grad(const fedc_client_ctx *c, const float *w, float *g);
/* Client side, after K local steps ending at y: writes extra_up floats to
 * extra_out and updates c->state. */
void fedc_strategy_client_end(const fedc_client_ctx *c, const float *y, int steps, float *extra_out);
/* Robust aggregation (fedc/aggregate.h): aggregate combines the updates
 * with c (borrowed; it must outlive s) instead of the weighted mean. */
typedef struct fedc_combiner fedc_combiner;
void fedc_strategy_set_combiner(fedc_strategy *s, fedc_combiner *c);
/* Server side: x <- new global model from n updates of round `round`.
 * Fails (x untouched) if no usable update. */
int fedc_strategy_aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, int round,
                            fedc_error *err);

/* Checkpointing of server-side state (optimizer moments, control variates). */
size_t fedc_strategy_state_size(const fedc_strategy *s);
void fedc_strategy_state_save(const fedc_strategy *s, float *out);
void fedc_strategy_state_load(fedc_strategy *s, const float *in);

#endif
