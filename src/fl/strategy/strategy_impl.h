/* Private: the strategy object and the per-method operations table. Each
 * method family lives in its own file and exports its ops; registry.c lists
 * them. */
#ifndef FEDC_STRATEGY_IMPL_H
#define FEDC_STRATEGY_IMPL_H

#include "fedc/nn.h"
#include "fedc/state.h"
#include "fedc/strategy.h"

typedef struct fedc_strategy_ops {
    const char *name;
    /* Sets info sizes and allocates server state; s->task, s->d, s->n_clients set. */
    int (*init)(fedc_strategy *s, fedc_error *err);
    /* Server, before the round's frames: fills s->down if the method sends one. */
    void (*round_begin)(fedc_strategy *s, const fedc_round_ctx *rc);
    void (*client_begin)(fedc_client_ctx *c);
    void (*client_grad)(fedc_client_ctx *c, const float *w, float *g, double loss);
    void (*client_end)(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra_out);
    /* Whole aggregation; NULL = x += server_step(combined deltas). */
    int (*aggregate)(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err);
    /* x <- x + step(mean); mean is the combined delta. */
    void (*server_step)(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc);
    /* Server-side per-client tables for checkpoints (NULL = none). */
    int (*tables_save)(fedc_strategy *s, FILE *f, fedc_error *err);
    int (*tables_load)(fedc_strategy *s, FILE *f, fedc_error *err);
    /* Frees s->impl (NULL if nothing to free). */
    void (*destroy)(fedc_strategy *s);
    /* Client side, personalised strategies: model holds the global model
     * (with the client's local parameters); replace it with the client's own
     * model (NULL = the global one is the client's). */
    void (*client_personal)(const fedc_client_ctx *c, float *model);
    /* Server side (info.client_models): the model client k trains from, or
     * NULL for the global one. */
    const float *(*client_model)(const fedc_strategy *s, int client);
    /* After fedc_strategy_set_tensors (NULL = nothing to redo). */
    int (*tensors_set)(fedc_strategy *s, fedc_error *err);
    /* Decentralised strategies: the round's exchange between nodes (see
     * fedc_strategy_gossip); NULL for the others. */
    int (*gossip)(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent, fedc_error *err);
} fedc_strategy_ops;

struct fedc_strategy {
    const fedc_strategy_ops *ops;
    fedc_task task;
    size_t d;
    int n_clients;
    size_t input_dim;   /* floats per input sample (0 = not known here) */
    fedc_strategy_info info;
    float *state;       /* checkpointed server state, state_n floats */
    size_t state_n;
    float *down;        /* extra download, info.extra_down floats (often points into state) */
    float *mean;        /* scratch: combined delta, d floats */
    void *impl;         /* method-specific data */
    fedc_combine_fn combine;
    void *combine_ctx;
    int n_tensors;      /* parameter layout (always at least one tensor) */
    size_t *t_offset, *t_count;
    /* The tensors with shapes and buffer marks (fedc_strategy_set_tensors), or none. */
    fedc_tensor_info *tensors;
    int ntensors;
    char spill_dir[512];
};

/* g <- the gradient of the same minibatch at w + rho g / |g| (SAM's
 * perturbed point; rho = strategy.rho, scratch holds the point). */
void fedc_strategy_sam_grad(fedc_client_ctx *c, const float *w, float *g);

/* Allocates s->state (zeros). */
int fedc_strategy_alloc_state(fedc_strategy *s, size_t n, fedc_error *err);
/* A per-client server table of `floats` per client, spilled past the task's
 * state.memory_mb. */
fedc_state_store *fedc_strategy_client_table(fedc_strategy *s, size_t floats, fedc_error *err);

/* fedc_strategy_combine of the deltas each multiplied by scale[i] (FedNova's
 * and Anarchic FL's per-step normalisation, FedAU's weights). <= 0 when
 * nothing was combined (or out of memory). */
double fedc_strategy_combine_scaled(const fedc_strategy *s, const fedc_update *u, int n, const double *scale,
                                    float *out);
/* x += eta * mean (the plain server step; FedAvg with eta = server_lr). */
void fedc_step_sgd(fedc_strategy *s, float *x, const float *mean, const fedc_round_ctx *rc);
/* Local steps of the task's SGD counted as a geometric sum when momentum
 * rho > 0: the ||a_i||_1 of FedNova for plain or heavy-ball local SGD. */
double fedc_local_step_norm(int steps, double rho);

#define STRATEGY_OPS(name) extern const fedc_strategy_ops name;
STRATEGY_OPS(fedc_ops_fedavg)
STRATEGY_OPS(fedc_ops_fedprox)
STRATEGY_OPS(fedc_ops_fedavgm)
STRATEGY_OPS(fedc_ops_fedadam)
STRATEGY_OPS(fedc_ops_fedyogi)
STRATEGY_OPS(fedc_ops_fedadagrad)
STRATEGY_OPS(fedc_ops_scaffold)
STRATEGY_OPS(fedc_ops_fedavg_m)
STRATEGY_OPS(fedc_ops_scaffold_m)
STRATEGY_OPS(fedc_ops_fednova)
STRATEGY_OPS(fedc_ops_fedau)
STRATEGY_OPS(fedc_ops_afa_cd)
STRATEGY_OPS(fedc_ops_afa_cs)
STRATEGY_OPS(fedc_ops_fedhyper)
STRATEGY_OPS(fedc_ops_fedsam)
STRATEGY_OPS(fedc_ops_fedspeed)
STRATEGY_OPS(fedc_ops_fedamd)
STRATEGY_OPS(fedc_ops_fedld)
STRATEGY_OPS(fedc_ops_fedopt)
STRATEGY_OPS(fedc_ops_fedbuff)
STRATEGY_OPS(fedc_ops_fedfix)
STRATEGY_OPS(fedc_ops_async_fedavg)
STRATEGY_OPS(fedc_ops_finetune)
STRATEGY_OPS(fedc_ops_fedper)
STRATEGY_OPS(fedc_ops_ditto)
STRATEGY_OPS(fedc_ops_clustered)
STRATEGY_OPS(fedc_ops_pfedgate)
STRATEGY_OPS(fedc_ops_dpsgd)
STRATEGY_OPS(fedc_ops_gossip)
STRATEGY_OPS(fedc_ops_gossip_vc)
STRATEGY_OPS(fedc_ops_dfedsam)
STRATEGY_OPS(fedc_ops_dfedsam_mgs)
STRATEGY_OPS(fedc_ops_dadao)
#undef STRATEGY_OPS

#endif
