/* Server strategies and their client-side parts. One interface covers the
 * FedAvg family (server optimizers), client-side loss terms (FedProx, FedLD's
 * margin), gradient corrections and recomputations (SCAFFOLD, FedSAM,
 * FedSpeed, FedAMD's recursion, client momentum), local learning-rate
 * control (FedHyper), step-count normalisation (FedNova, Anarchic FL),
 * participation statistics (FedAU), per-client server tables (AFA-CS,
 * FedAMD), and the per-client state that lives on the client (control
 * variates, correction vectors), so the round engine never names a method.
 *
 * Life of a round, as the engine drives it:
 *   server: fedc_strategy_round_begin -> the round's download extra
 *                                        (fedc_strategy_down_extra: floats
 *                                        sent with the model to everyone)
 *   client: fedc_strategy_client_begin -> may decide a role (FedAMD anchor:
 *                                        no local steps) and prepare scratch
 *           fedc_strategy_client_grad  -> on every local minibatch gradient;
 *                                        may replace it (using the oracle to
 *                                        evaluate other points on the same
 *                                        batch or on all local data) and set
 *                                        the next step's lr multiplier
 *           fedc_strategy_client_end   -> may rewrite the uploaded delta,
 *                                        fills the extra upload, updates the
 *                                        client's persistent state
 *   server: fedc_strategy_aggregate    -> new global model from the updates
 *
 * Where state lives:
 *   - server state that does not grow with the federation (moments, control
 *     variate c, hypergradient accumulators): inside the strategy,
 *     checkpointed through fedc_strategy_state_*;
 *   - O(1) scalars per client on the server (FedAU): arrays of n_clients;
 *   - model-sized vectors per client on the server (AFA-CS, FedAMD): a
 *     fedc_state_store (state.h) owned by the strategy, bounded in memory
 *     and spilled to disk;
 *   - per-client state on the client (c_i, FedSpeed's correction, momentum):
 *     state_floats per client, kept by whoever runs the client: the
 *     simulator's fedc_state_store, or the node's state directory.
 *
 * Extension points for other method families:
 *   - robust aggregation replaces the weighted mean: fedc_strategy_set_combine
 *     installs a "combine these updates" rule that every strategy calls
 *     (fedc_strategy_combine) where it would average model deltas;
 *   - parameters kept local (FedBN) use the parameter layout given at
 *     creation (fedc_strategy_env.layout) to know which ranges are whose;
 *   - asynchronous rules read fedc_update.staleness;
 *   - optimizer state kept across rounds belongs in the client record next to
 *     state_floats (see fedc_trainer_record_size in engine.h). */
#ifndef FEDC_STRATEGY_H
#define FEDC_STRATEGY_H

#include <stddef.h>
#include <stdio.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/topology.h"
#include "fedc/sched.h"
#include "fedc/task.h"

typedef struct fedc_update {
    int client;
    double weight;       /* samples seen locally (n_i) */
    int steps;           /* local steps taken (K_i) */
    int staleness;       /* rounds between the model it trained on and now */
    double loss;         /* mean local training loss */
    const float *delta;  /* y_i - x, d floats (what the client chose to send: see client_end) */
    const float *extra;  /* strategy upload (extra_up floats) or NULL */
} fedc_update;

typedef struct fedc_strategy fedc_strategy;

/* What the server knows about the round being aggregated. */
typedef struct fedc_round_ctx {
    int round;                        /* 1-based */
    int rounds;                       /* the task's total */
    int n_clients;
    const fedc_client_info *clients;  /* per-client facts (n_samples), n_clients; may be NULL */
    double local_lr;                  /* the clients' lr this round (schedule applied) */
    double server_lr;                 /* eta_g this round (schedule applied) */
} fedc_round_ctx;

/* Evaluations a client-side hook may ask for, beyond the gradient it is
 * handed: the current minibatch at another point (SAM's perturbed point,
 * FedAMD's previous iterate) or all local data (SCAFFOLD option I, FedAMD's
 * anchor gradient). Both return the mean loss and write d floats to g. */
typedef struct fedc_local_oracle {
    double (*batch_grad)(void *self, const float *w, float *g);
    double (*full_grad)(void *self, const float *w, float *g);
    void *self;
    /* The inputs themselves (pFedGate's gating layer reads them): the
     * current minibatch, and the client's own samples from `start` in index
     * order, at most one local batch at a time (valid until the next call).
     * Both set *n (0 = none left) and *dim (floats per sample). NULL when the
     * caller has no data to show (a test's oracle). */
    const float *(*batch_inputs)(void *self, int *n, size_t *dim);
    const float *(*data_inputs)(void *self, size_t start, int *n, size_t *dim);
} fedc_local_oracle;

/* What a client needs to run the strategy's local part. */
typedef struct fedc_client_ctx {
    const fedc_strategy *strategy;
    int client, round;
    const float *global;       /* x the client started from */
    const float *down_extra;   /* strategy download (e.g. server control variate) */
    float *state;              /* per-client persistent state (state_floats), zeros at first */
    float *scratch;            /* per-round scratch (scratch_floats), zeroed before client_begin */
    size_t d;
    double n_samples;          /* local samples */
    float lr;                  /* local learning rate this round (schedule applied) */
    float lr_scale;            /* multiplier of lr for the next step; client_grad may change it */
    int step;                  /* local steps taken so far (0 in the first client_grad) */
    int no_training;           /* client_begin sets it: no local steps this round */
    double margin_lambda;      /* FedLD: lambda of the margin term in the local loss (0 = none) */
    const fedc_local_oracle *oracle;
} fedc_client_ctx;

typedef struct fedc_strategy_info {
    const char *name;
    size_t extra_down;     /* floats sent down with the model each round */
    size_t extra_up;       /* floats sent up with each update */
    size_t state_floats;   /* per-client persistent floats kept by the client */
    size_t scratch_floats; /* per-round client scratch */
    /* Asynchronous strategies: the engine keeps clients_per_round clients
     * training at once, each on the model current when it started, and
     * aggregates after async_buffer arrivals or every async_window_s
     * seconds (the updates then carry their staleness). Both 0: synchronous
     * rounds. */
    int async_buffer;
    double async_window_s;
    /* Personalised strategies (finetune, fedper, ditto, pfedgate): each client has a
     * model of its own, which per-client evaluation scores; personal_steps
     * local steps from it (finetune) make the model the client uses. */
    int personal;
    int personal_steps;
    /* The server sends clients different models (clustered: each its
     * cluster's), from fedc_strategy_client_model; updates are relative to
     * the model the client received. */
    int client_models;
    /* Decentralised strategies (dpsgd, gossip, gossip-vc, dfedsam,
     * dfedsam-mgs): there is no global model. Every node keeps its own
     * (fedc_strategy_node_model), trains from it every round, and the
     * engine calls fedc_strategy_gossip instead of fedc_strategy_aggregate:
     * the models mix over the task's topology (topology.h). */
    int decentral;
    /* Event-driven decentralised strategies (dadao): no local training
     * round; within each round the strategy plays its own events and asks
     * for node gradients through fedc_strategy_set_node_grad's callback. */
    int event_driven;
} fedc_strategy_info;

/* Tensor boundaries of the flat parameter vector (per-layer rules, FedLD;
 * parameters kept local, FedBN). */
typedef struct fedc_param_layout {
    int n;                   /* tensors */
    const size_t *offset;    /* n: first float of each tensor */
    const size_t *count;     /* n: floats of each tensor */
} fedc_param_layout;

typedef struct fedc_strategy_env {
    size_t d;
    int n_clients;
    const fedc_param_layout *layout; /* NULL = one tensor of d floats */
    const char *spill_dir;           /* server-side per-client tables spill here; NULL = TMPDIR */
    size_t input_dim;                /* floats per input sample; 0 = unknown (server side) */
} fedc_strategy_env;

FEDC_API fedc_strategy *fedc_strategy_create_env(const fedc_task *t, const fedc_strategy_env *env, fedc_error *err);
/* fedc_strategy_create_env with no layout and the default spill folder. */
FEDC_API fedc_strategy *fedc_strategy_create(const fedc_task *t, size_t d, int n_clients, fedc_error *err);
FEDC_API void fedc_strategy_free(fedc_strategy *s);
FEDC_API fedc_strategy_info fedc_strategy_info_get(const fedc_strategy *s);
/* 1 if the name is a known strategy. */
FEDC_API int fedc_strategy_known(const char *name);

/* "Combine these updates": d floats into out from n updates (default: the
 * sample-weighted mean of the deltas). Returns the total weight used, <= 0
 * if nothing could be combined. */
typedef double (*fedc_combine_fn)(void *ctx, const fedc_update *u, int n, size_t d, float *out);
FEDC_API void fedc_strategy_set_combine(fedc_strategy *s, fedc_combine_fn fn, void *ctx);
FEDC_API double fedc_strategy_combine(const fedc_strategy *s, const fedc_update *u, int n, float *out);
/* The plain sample-weighted mean (what fedc_strategy_combine does by default). */
FEDC_API double fedc_weighted_mean(const fedc_update *u, int n, size_t d, float *out);

/* Server side, before the TRAIN frames are built. */
FEDC_API void fedc_strategy_round_begin(fedc_strategy *s, const fedc_round_ctx *rc);
/* Server side: the extra download (extra_down floats), or NULL. */
FEDC_API const float *fedc_strategy_down_extra(const fedc_strategy *s);

/* Client side. Thread-safe for distinct clients: they read only the strategy. */
FEDC_API void fedc_strategy_client_begin(fedc_client_ctx *c);
/* g: the loss gradient of the current minibatch at w (loss: its mean loss). */
FEDC_API void fedc_strategy_client_grad(fedc_client_ctx *c, const float *w, float *g, double loss);
/* After `steps` local steps ending at y: may rewrite delta (y - x on entry),
 * writes extra_up floats to extra_out, updates c->state. */
FEDC_API void fedc_strategy_client_end(fedc_client_ctx *c, const float *y, int steps, float *delta, float *extra_out);

/* Client side, personalised strategies: model holds the global model with
 * the client's local parameters; replaced by the client's own model
 * (ditto's personal model) when the strategy keeps one in c->state. */
FEDC_API void fedc_strategy_client_personal(const fedc_client_ctx *c, float *model);

/* Server side (info.client_models): the model client k trains from this
 * round, or NULL when it is the global one. */
FEDC_API const float *fedc_strategy_client_model(const fedc_strategy *s, int client);

/* Server side: x <- new global model from n updates. Fails (x untouched) if
 * no usable update. */
FEDC_API int fedc_strategy_aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                                     fedc_error *err);

/* Decentralised strategies (info.decentral): node k's model, d floats, kept
 * in the strategy's checkpointed state (zeros until the engine writes the
 * initial model into each); NULL for other strategies or k out of range. */
FEDC_API float *fedc_strategy_node_model(fedc_strategy *s, int node);
/* One round of exchanges between the nodes: node k trained from its model
 * x_k to x_k + delta[k] (delta[k] NULL: it did not train and offers x_k).
 * The strategy mixes the models over its topology and leaves each node's
 * new model in fedc_strategy_node_model. sent[k] (n_clients ints) gets the
 * number of models node k sent to neighbours: what a relay would carry. */
FEDC_API int fedc_strategy_gossip(fedc_strategy *s, float *const *delta, const fedc_round_ctx *rc, int *sent,
                                  fedc_error *err);
/* One node's mixing step, the arithmetic of dpsgd / dfedsam / dfedsam-mgs
 * wherever it runs (the simulation, or the node itself in a deployment):
 * out = xi + sum_q w[q] ((x[q] - xi) + delta[q]) over the node's row of the
 * mixing matrix (itself included), in row order; delta NULL or delta[q]
 * NULL: that model carries no update. acc: d floats of scratch; out must
 * not alias xi, x or delta. */
FEDC_API void fedc_gossip_mix_row(const float *xi, int m, const double *w, const float *const *x,
                                  const float *const *delta, size_t d, float *acc, float *out);
/* A deployment relays a mixing strategy's exchanges: its topology (mixing
 * matrix of gossip step t = fedc_topology_mixing(topo, (round - 1) * steps +
 * q)) and its steps per round. -1 for strategies without a mixing matrix
 * (pairwise gossip, gossip-vc) and non-decentralised ones. */
FEDC_API int fedc_strategy_relay_plan(fedc_strategy *s, fedc_topology **topo, int *steps);
/* Pairwise gossip (gossip, gossip-vc): the pushes of `round` in the order
 * fedc_strategy_gossip plays them, from the same draws: push q sends node
 * from[q]'s model to node to[q], which replaces its own by
 * fedc_gossip_merge(its model, from[q]'s model). from and to: n_clients
 * ints each. Returns the number of pushes, and the merge (*corrected 1: the
 * variance-corrected one of gossip-vc, over the tensors of *layout, which
 * stays the strategy's); -1 for other strategies or out of memory. */
FEDC_API int fedc_strategy_gossip_pushes(fedc_strategy *s, int round, int *from, int *to, int *corrected,
                                         fedc_param_layout *layout);
/* A push's merge wherever it runs (the simulation, or the receiving node in
 * a deployment): out = the mean of receiver and sender, variance-corrected
 * per tensor of layout (NULL: one tensor) when corrected. out must not
 * alias the models. */
FEDC_API void fedc_gossip_merge(const float *receiver, const float *sender, size_t d,
                                const fedc_param_layout *layout, int corrected, float *out);
/* Groups a sequence of np pushes over n nodes into waves: wave[q] (from 1)
 * is one more than the latest wave of an earlier push touching from[q] or
 * to[q]. Two pushes that share no node commute, and two that share one keep
 * their order, so playing the waves in turn (a wave's pushes in any order,
 * or at once) computes what the sequence computes; the pushes of one wave
 * touch pairwise disjoint nodes. last: n ints of scratch. Returns the
 * number of waves. */
FEDC_API int fedc_gossip_waves(const int *from, const int *to, int np, int n, int *last, int *wave);
/* Event-driven strategies (info.event_driven): fn(ctx, node, x, g, err)
 * writes into g the gradient of node's mean local loss at x (d floats),
 * reaching the node as the engine does; smoothness: a bound on the
 * smoothness of those losses from the data (0 = unknown), used when the
 * task leaves strategy.smoothness at 0. */
typedef int (*fedc_node_grad_fn)(void *ctx, int node, const float *x, float *g, fedc_error *err);
FEDC_API void fedc_strategy_set_node_grad(fedc_strategy *s, fedc_node_grad_fn fn, void *ctx, double smoothness);
/* Variance-corrected averaging ("Vanishing Variance Problem in Fully
 * Decentralized Neural-Network Systems"): out <- the mean of m models, then
 * each tensor of layout (NULL = one tensor of d floats) is rescaled about
 * its own mean so that its (unbiased) variance is the mean of the m models'
 * variances of that tensor. A tensor of one value, or whose mean model has
 * no variance, stays the plain mean. */
FEDC_API void fedc_average_variance_corrected(const float *const *models, int m, size_t d,
                                              const fedc_param_layout *layout, float *out);

/* Optional, before the first aggregate: the model's tensors, for strategies
 * that act per tensor. fedopt's server optimizer steps the tensors that are
 * neither buffers nor local (mark those with buffer = 1) and plainly
 * averages the rest. The strategy keeps a copy. */
struct fedc_tensor_info;
FEDC_API int fedc_strategy_set_tensors(fedc_strategy *s, const struct fedc_tensor_info *t, int nt, fedc_error *err);

/* Checkpointing of server-side state (optimizer moments, control variates,
 * hypergradient accumulators, participation statistics). */
FEDC_API size_t fedc_strategy_state_size(const fedc_strategy *s);
FEDC_API void fedc_strategy_state_save(const fedc_strategy *s, float *out);
FEDC_API void fedc_strategy_state_load(fedc_strategy *s, const float *in);
/* Server-side per-client tables (AFA-CS's latest G_i, FedAMD's anchor
 * gradients), which may spill to disk and so are not part of the floats
 * above: 1 if the method keeps any; save writes them to f, load replaces
 * them from what save wrote, checking every count and value (a damaged
 * section is refused and err names the table). Methods without tables
 * write and read nothing. */
FEDC_API int fedc_strategy_has_tables(const fedc_strategy *s);
FEDC_API int fedc_strategy_tables_save(fedc_strategy *s, FILE *f, fedc_error *err);
FEDC_API int fedc_strategy_tables_load(fedc_strategy *s, FILE *f, fedc_error *err);

/* Learning-rate schedules over rounds (task fields local.lr_* and
 * strategy.server_lr_*): kind "constant", "step" (times gamma every
 * step_rounds rounds) or "cosine" (from base down to min over the rounds
 * after warm-up), after a linear warm-up of warmup_rounds rounds from
 * base/warmup_rounds. round is 1-based. */
typedef struct fedc_lr_schedule {
    const char *kind;
    double base, min, gamma;
    int warmup_rounds, step_rounds, rounds;
} fedc_lr_schedule;
FEDC_API double fedc_lr_at(const fedc_lr_schedule *s, int round);
/* The task's schedules. */
FEDC_API double fedc_task_local_lr(const fedc_task *t, int round);
FEDC_API double fedc_task_server_lr(const fedc_task *t, int round);

/* Asynchronous strategies: the weight s(tau) strategy.staleness gives an
 * update tau model versions stale (1 for tau <= 0). */
FEDC_API double fedc_async_staleness_weight(const fedc_task *t, int tau);

#endif
