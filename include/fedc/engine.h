/* The round engine (server side) and the trainer (node side). The same code
 * runs a simulation and a deployment; only the fedc_transport differs.
 *
 * A round: the scheduler picks participants -> the global model is encoded
 * (downlink codec) into TRAIN frames -> transport -> each node's trainer
 * decodes, trains locally, encodes its update (uplink codec) -> transport ->
 * the engine decodes and checks every update (round, length, finite values)
 * -> the strategy aggregates -> evaluation -> metrics. */
#ifndef FEDC_ENGINE_H
#define FEDC_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "fedc/attack.h"
#include "fedc/buf.h"
#include "fedc/catalog.h"
#include "fedc/codec.h"
#include "fedc/data.h"
#include "fedc/error.h"
#include "fedc/manifest.h"
#include "fedc/export.h"
#include "fedc/nn.h"
#include "fedc/pool.h"
#include "fedc/sched.h"
#include "fedc/state.h"
#include "fedc/strategy.h"
#include "fedc/task.h"
#include "fedc/transport.h"

/* ---- Node side ------------------------------------------------------- */

/* A client's local data: a view of a dataset. */
typedef struct fedc_client_data {
    const fedc_dataset *data;
    const uint32_t *index;
    size_t n;
    /* Feature skew (simulation): the client's domain, applied to every
     * gathered batch, keyed by domain_seed; NULL = the data as it is. */
    const fedc_domain *domain;
    uint64_t domain_seed;
    /* Personal evaluation (simulation, task eval_personal): test samples of
     * the client's domain its starting model is scored on; eval_n 0 = off. */
    const fedc_dataset *eval;
    const uint32_t *eval_index;
    size_t eval_n;
    /* Local test split (partition.test_fraction): samples of data held out
     * of index, the client's own model is scored on them; split_n 0 = none. */
    const uint32_t *split_index;
    size_t split_n;
} fedc_client_data;

/* What a client keeps between rounds: one record of
 * fedc_trainer_record_size bytes (zeros for a client that never trained),
 * laid out by the trainer: a header, the strategy's per-client state, the
 * uplink error-feedback residual, the last model received (lossy downlink)
 * the optimizer state (local.keep_state), the client's own values of
 * strategy.local_params and, on nodes, an undo copy. The simulator keeps the records in a
 * fedc_state_store (state.h); a node keeps its own and saves it in its state
 * directory (fedc_trainer_record_save), so a restarted node keeps its
 * control variate, optimizer state and local parameters. */
typedef struct fedc_client_mem {
    void *record;
    int owned;             /* fedc_client_mem_free frees record */
    /* A colluding attacker (attack alie, ipm) between fedc_trainer_handle
     * and fedc_trainer_finish: the caller's slot for its benign update
     * (NULL for callers that never collude). */
    struct fedc_pending_update *pending;
    /* Where this client's round-protocol state lives between the steps of a
     * round (protocol.h), kept by whoever runs the client; NULL without a
     * protocol. */
    struct fedc_protocol_client **protocol;
} fedc_client_mem;
FEDC_API void fedc_client_mem_free(fedc_client_mem *m);

/* A colluding attacker's benign update and what its reply needs, kept by
 * the caller between fedc_trainer_handle and fedc_trainer_finish. The
 * buffers are allocated on first use; fedc_pending_free releases them. */
typedef struct fedc_pending_update {
    float *update, *extra;
    int round, steps;
    double loss, cpu_s, personal_acc; /* personal_acc < 0: not evaluated */
    double client_acc;                /* per-client evaluation (nodes); < 0: not evaluated */
    size_t samples;
} fedc_pending_update;
FEDC_API void fedc_pending_free(fedc_pending_update *p);

/* Training machinery for one thread: workspace, optimizer, buffers. */
typedef struct fedc_trainer fedc_trainer;
FEDC_API fedc_trainer *fedc_trainer_create(const fedc_task *t, const fedc_arch *a, fedc_error *err);
FEDC_API void fedc_trainer_free(fedc_trainer *tr);
/* Bytes of one client's record under this task. */
FEDC_API size_t fedc_trainer_record_size(const fedc_trainer *tr);
/* Nodes: keep an undo copy of the state a round changes, so that a round the
 * server runs again (it failed, e.g. a node dropped) starts from the same
 * state instead of applying the client's state change twice. */
FEDC_API void fedc_trainer_keep_undo(fedc_trainer *tr, int on);
/* Nodes: draw local-DP noise from the OS CSPRNG, not from the task seed the
 * server knows (privacy.h, fedc_privacy_noise_rng). */
FEDC_API void fedc_trainer_secret_noise(fedc_trainer *tr, int on);
/* Nodes: score the model the client uses on its local test split (cd
 * split_index) when a round starts, and report it in the update
 * ("client_acc"): a deployment's per-client evaluation of the clients' own
 * models, which the simulator does itself for every client. */
FEDC_API void fedc_trainer_report_client_acc(fedc_trainer *tr, int on);
/* The round a record last trained (0 if never). */
FEDC_API int fedc_trainer_record_round(const void *record);
/* A record's local parameters (packed, at most cap floats): returns how many,
 * 0 if it holds none yet. */
FEDC_API long fedc_trainer_record_local_params(const fedc_trainer *tr, const void *record, float *out, size_t cap);
/* Steps counted in a record's kept optimizer state; -1 if the task keeps none. */
FEDC_API long long fedc_trainer_record_optim_steps(const fedc_trainer *tr, const void *record);
/* Per-client evaluation on cd's local test split: *acc_global the accuracy
 * of global (the global model), *acc_own that of the model the client uses:
 * under a personalised strategy its own (start, the model the server sends
 * it, NULL = global; with local parameters from record; the strategy's
 * personal model; then personal_steps local steps from a fresh optimizer,
 * on a stream of (seed, round, client)), otherwise the global one. record may be NULL (a client that never
 * trained) and is not changed. Both NAN without a split. */
FEDC_API int fedc_trainer_client_eval(fedc_trainer *tr, int client, int round, const fedc_client_data *cd,
                                      const void *record, const float *global, const float *start,
                                      double *acc_global, double *acc_own, fedc_error *err);
/* 1 if the task's clients have models of their own (a personalised
 * strategy or strategy.local_params). */
FEDC_API int fedc_trainer_personal(const fedc_trainer *tr);
/* Handles one TRAIN frame for client `client` and writes the UPDATE frame.
 * Never trusts the frame: bad model lengths or rounds give an error.
 * Returns FEDC_TRAINER_DEFERRED, reply untouched, when the client is a
 * colluding attacker (attack.kind alie or ipm): its benign update waits in
 * mem->pending until fedc_trainer_finish brings the colluders' statistics. */
#define FEDC_TRAINER_DEFERRED 1
FEDC_API int fedc_trainer_handle(fedc_trainer *tr, int client, const fedc_client_data *cd,
                                 fedc_client_mem *mem, const uint8_t *frame, size_t len, fedc_buf *reply,
                                 fedc_error *err);
/* Completes a deferred update: the attack with the colluders' statistics
 * (peers->count >= 1; see fedc/attack.h), then encodes the UPDATE frame. */
FEDC_API int fedc_trainer_finish(fedc_trainer *tr, int client, fedc_client_mem *mem,
                                 const fedc_attack_peers *peers, fedc_buf *reply, fedc_error *err);
/* Handles one EVALUATE frame: scores the model it carries on the client's
 * local test data and writes the RESULT frame. */
FEDC_API int fedc_trainer_evaluate(fedc_trainer *tr, const fedc_client_data *test, const uint8_t *frame,
                                   size_t len, fedc_buf *reply, fedc_error *err);
/* The type of a frame (its fifth byte), or 0 if it is too short to tell. */
FEDC_API int fedc_frame_type(const uint8_t *frame, size_t len);

/* ---- Server side ----------------------------------------------------- */

#define FEDC_STALENESS_BUCKETS 8

typedef struct fedc_round_metrics {
    int round;               /* 1-based */
    int evaluated;           /* 0 if this round skipped evaluation */
    double accuracy, loss;   /* test set */
    int val_evaluated;       /* task.validation > 0 and this round evaluated */
    double val_accuracy, val_loss; /* the held-out validation samples */
    double train_loss;       /* mean local loss of participants */
    /* Per-client evaluation (partition.test_fraction), on evaluated rounds:
     * over the clients' local test splits, the mean, 10th percentile and
     * minimum accuracy of the model each client uses (client_acc_*: its
     * personalised model under a personalised strategy, else the global
     * one) and of the global model (global_client_acc_*). */
    int clients_evaluated;   /* clients scored (0: no per-client evaluation) */
    int client_evaluated;    /* client_acc_* are set (the clients' own models were scored) */
    double client_acc_mean, client_acc_p10, client_acc_min;
    double global_client_acc_mean, global_client_acc_p10, global_client_acc_min;
    int personal_evaluated;  /* eval_personal: participants scored their starting model */
    double personal_accuracy; /* their mean accuracy on test samples of their domain */
    uint64_t bytes_down, bytes_up;             /* this round, at the transport */
    uint64_t bytes_down_total, bytes_up_total; /* since the start */
    double client_cpu_s;     /* sum over participants of local CPU time */
    uint64_t client_steps;   /* sum over participants of local steps (a deterministic compute count) */
    double server_cpu_s;     /* server CPU (encode, decode, aggregate, eval) */
    double wall_s;           /* this round's wall time */
    double elapsed_s;        /* since the run started */
    double sim_time_s;       /* simulated wall time of this round (profiles); 0 if none */
    double sim_elapsed_s;
    int selected, participants, dropped, rejected;
    /* Robust aggregation (strategy.aggregator other than mean, or a norm
     * bound): client ids the aggregator judged this round. Simulated
     * attacks: the participants the task made attackers or unreliable
     * (the truth the judgements are scored against) and, for a backdoor,
     * the share of triggered test images (true class other than the target)
     * classified as the target. Lists stay valid until the next round. */
    int robust_report, attack_report, asr_measured;
    int n_left_out, n_malicious, n_unreliable, clipped;
    const int *left_out, *malicious, *unreliable;
    int n_attackers, n_unreliable_clients;
    const int *attackers, *unreliable_clients;
    const int *aggregated;   /* the participants' client ids (`participants` of them) */
    double attack_success_rate;
    /* Federated evaluation (eval.federated, external models): the nodes'
     * reports on their local test data, means weighted by examples. */
    int fed_evaluated;       /* 1 if at least one node reported this round */
    double fed_accuracy, fed_loss;
    double fed_examples;     /* test examples in all */
    int fed_reports;         /* nodes that reported */
    /* Differential privacy (privacy.mode other than none): the guarantee
     * spent so far, and the clip bound this round used. */
    int dp;
    double epsilon, delta; /* epsilon is INFINITY without noise */
    double dp_clip;
    /* Asynchronous strategies (async = 1): a round is one aggregation, so
     * round is the model version it makes; in_flight counts the clients
     * still training after it; the staleness (model versions) of the
     * updates aggregated, as counts in the buckets 0, 1, 2, 3, 4-7, 8-15,
     * 16-31, 32 and more. */
    int async, in_flight, staleness_max;
    double staleness_mean;
    int staleness_hist[FEDC_STALENESS_BUCKETS];
    /* Decentralised strategies (decentral = 1): every node keeps its own
     * model. accuracy and loss are the means over the nodes of their own
     * models' (on topology.eval_samples test samples); avg_model_* score
     * the average model on the whole test set. consensus_distance is
     * (1/n) sum_k |x_k - mean x|^2 after the round's gossip; bytes_down and
     * bytes_up count the models the nodes sent one another (what a relay
     * carries), bytes_per_node is bytes_up / nodes. node_accuracy points to
     * n_nodes accuracies, valid until the next round. */
    int decentral, n_nodes;
    double consensus_distance, bytes_per_node;
    double avg_model_accuracy, avg_model_loss, node_accuracy_min, node_accuracy_max;
    const double *node_accuracy;
} fedc_round_metrics;

typedef struct fedc_run fedc_run;

/* Default evaluation batch: large enough that every layer's GEMM runs its
 * blocked path (the same as a batch of the whole test set), small enough
 * that a worker's evaluation workspace stays a few tens of MB (CNN: 27 MB,
 * against 214 MB at 500). */
#define FEDC_EVAL_BATCH 64

typedef struct fedc_run_options {
    int threads;           /* worker threads for local training / eval (0 = cores) */
    int quiet;
    /* Optional datasets already in memory (borrowed, must outlive the run):
     * the tuner and tests share one copy instead of loading per run. */
    const fedc_dataset *train_data, *test_data;
    /* Test samples each worker evaluates at once (0 = FEDC_EVAL_BATCH). The
     * figures do not depend on it (fedc_nn_evaluate sums sample by sample);
     * its workspace, kept per worker thread, grows with it. */
    int eval_batch;
} fedc_run_options;

/* The task's dataset as the data layer's spec (strings point into t). */
FEDC_API void fedc_task_dataset_spec(const fedc_task *t, fedc_dataset_spec *out);
/* Loads the task's training (train = 1) or test set: located through the
 * data catalog and fetched first when dataset.fetch is auto (progress and
 * messages on stderr unless fetch_options says otherwise). */
FEDC_API int fedc_task_dataset_load(const fedc_task *t, int train, const fedc_fetch_options *fetch_options,
                           fedc_dataset *out, fedc_error *err);
/* Makes sure the task's catalog dataset is present (fetching it when
 * dataset.fetch allows) without loading it; *dir receives its folder. */
FEDC_API int fedc_task_dataset_prepare(const fedc_task *t, const fedc_fetch_options *fetch_options,
                              char *dir, size_t cap, fedc_error *err);

/* Loads data, builds the model and strategy, initial global model from seed. */
FEDC_API fedc_run *fedc_run_create(const fedc_task *t, const fedc_run_options *opt, fedc_error *err);
FEDC_API void fedc_run_free(fedc_run *r);
/* Runs the next round over a transport. Returns 0, or -1 when the round
 * failed (err says why; the global model is then unchanged). */
FEDC_API int fedc_run_round(fedc_run *r, fedc_transport *tp, fedc_round_metrics *out, fedc_error *err);
/* A mid-level server's round (hierarchical aggregation): the model x
 * (from the upstream server) becomes the global model, round `round` runs
 * over the transport exactly as fedc_run_round would (selection, TRAIN
 * frames, checks of every update), and the participants' weighted mean
 * update (FedAvg, weights = sample counts, in slot order) goes to mean (d
 * floats) with the total weight in *weight, instead of into the model. No
 * evaluation. Strategies whose server state cannot be split across levels
 * (client state, per-client models, round protocols, central privacy,
 * asynchronous and decentralised rounds) are refused. */
FEDC_API int fedc_run_relay_round(fedc_run *r, fedc_transport *tp, int round, const float *x, float *mean,
                                  double *weight, fedc_round_metrics *m, fedc_error *err);
/* 1 when the stopping rule (rounds, target accuracy, time, plateau) says stop. */
FEDC_API int fedc_run_done(const fedc_run *r);
/* 1 when the plateau rule says stop: stop.plateau_rounds > 0 and that many
 * rounds lie between the last evaluated round and the round whose monitored
 * accuracy (validation when held out, else test) last rose by more than
 * stop.plateau_delta. Counted in rounds, so it is deterministic. */
FEDC_API int fedc_run_plateaued(const fedc_run *r);
FEDC_API int fedc_run_rounds_done(const fedc_run *r);
FEDC_API const fedc_task *fedc_run_task(const fedc_run *r);
FEDC_API const fedc_arch *fedc_run_arch(const fedc_run *r);
FEDC_API const fedc_partition *fedc_run_partition(const fedc_run *r);
FEDC_API const fedc_dataset *fedc_run_train_data(const fedc_run *r);
/* The client's view of its data: partition, domain (feature skew) and
 * personal-evaluation samples, as the simulator hands it to a trainer. */
FEDC_API fedc_client_data fedc_run_client_data(const fedc_run *r, int client);
FEDC_API fedc_pool *fedc_run_pool(fedc_run *r);
FEDC_API float *fedc_run_model(fedc_run *r);
/* Decentralised strategies: node k's own model (fedc_run_model is the
 * nodes' average); NULL for other strategies or k out of range. */
FEDC_API const float *fedc_run_node_model(fedc_run *r, int node);
FEDC_API size_t fedc_run_nparams(const fedc_run *r);
FEDC_API int fedc_run_save_model(const fedc_run *r, const char *path, fedc_error *err);
/* Per-client evaluation over all clients, installed by a transport that can
 * score the clients' own models (the simulator): for the model x after
 * round `round`, writes per client its local-split accuracy of x and of the
 * model it uses (NAN: not scored). Without one the engine scores the global
 * model itself. */
typedef int (*fedc_client_evaluator)(void *ctx, const float *x, int round, double *acc_global, double *acc_own,
                                     fedc_error *err);
FEDC_API void fedc_run_set_client_evaluator(fedc_run *r, fedc_client_evaluator fn, void *ctx);
/* The model client k trains from: its own under a strategy that sends
 * clients different models (clustered), else the global model. */
FEDC_API const float *fedc_run_client_model(const fedc_run *r, int client);
/* Client k's scores from the last per-client evaluation; -1 if the task
 * has no local test splits or k is out of range. */
FEDC_API int fedc_run_client_scores(const fedc_run *r, int client, double *acc_global, double *acc_own);
/* External models: 1 while the run has no initial model yet (a node
 * supplies it); fedc_run_set_initial_model gives it (d values, checked
 * finite). Until then fedc_run_round fails. */
FEDC_API int fedc_run_needs_initial_model(const fedc_run *r);
FEDC_API int fedc_run_set_initial_model(fedc_run *r, const float *x, size_t d, fedc_error *err);
/* The model's tensors (external: the task's manifest; built-in: the arch's). */
FEDC_API const fedc_manifest *fedc_run_manifest(const fedc_run *r);
/* The seed that cuts the test set into the clients' local test data (the
 * simulator and `fedc node` with a partition both use it). */
static inline uint64_t fedc_eval_partition_seed(uint64_t task_seed) { return task_seed ^ 0x7E57DA7A5EEDull; }
/* Client k's local test data in simulation (federated evaluation). */
FEDC_API fedc_client_data fedc_run_test_data(const fedc_run *r, int client);
/* The engine's own evaluation of the current model on the test set. */
FEDC_API void fedc_run_evaluate(fedc_run *r, double *accuracy, double *loss);
/* The same on the validation samples (task.validation); returns -1 and
 * leaves the outputs untouched when the task holds none out. */
FEDC_API int fedc_run_evaluate_validation(fedc_run *r, double *accuracy, double *loss);
/* Held-out validation samples (0 without task.validation). */
FEDC_API size_t fedc_run_validation_size(const fedc_run *r);

/* In-process transport for simulation: clients' trainers run in the run's
 * thread pool against their partitions of the training set. */
FEDC_API fedc_transport *fedc_sim_transport_create(fedc_run *r, fedc_error *err);
/* The simulator's per-client state store figures (records, spills). -1 if
 * tp is not a simulation transport. */
FEDC_API int fedc_sim_transport_state_stats(fedc_transport *tp, fedc_state_stats *out);
/* Simulation, for inspection: client k's own values of strategy.local_params
 * (packed in tensor order) copied into out (at most cap floats); returns how
 * many, 0 before the client first trained, -1 if t is not a simulation
 * transport or k is out of range. */
FEDC_API long fedc_sim_transport_local_params(fedc_transport *t, int client, float *out, size_t cap);
/* Simulation: steps counted in client k's kept optimizer state
 * (local.keep_state; 0 before it first trained), -1 if none is kept. */
FEDC_API long long fedc_sim_transport_optim_steps(fedc_transport *t, int client);

/* Metrics output: one JSON object per line / CSV rows. */
FEDC_API void fedc_metrics_write_jsonl(FILE *f, const fedc_round_metrics *m);
FEDC_API void fedc_metrics_write_csv_header(FILE *f);
FEDC_API void fedc_metrics_write_csv(FILE *f, const fedc_round_metrics *m);

#endif
