/* The edge-node agent (`fedc node`): connects to the server, proves its
 * identity with its credential (certs.h), receives the task in WELCOME,
 * trains what each TRAIN frame asks on its own local data with the same
 * trainer as the simulation (fedc_trainer_handle), sends the UPDATE, and
 * reconnects with exponential backoff after network loss. It never sends
 * raw data: only the frames the strategy and codec produce. */
#ifndef FEDC_NODE_H
#define FEDC_NODE_H

#include <signal.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/data.h"
#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/manifest.h"
#include "fedc/nn.h"
#include "fedc/task.h"

typedef struct fedc_node_config {
    const char *server_url;      /* wss://HOST:PORT (path /node added if none) */
    const char *credential_path;
    const char *data_spec;       /* see fedc_node_data_parse */
    double connect_timeout_s;    /* per attempt (default 10) */
    double max_backoff_s;        /* ceiling of the reconnect delay (default 30) */
    int max_attempts;            /* consecutive failed connects before giving up; 0 = never */
    volatile sig_atomic_t *stop; /* set (e.g. by a signal handler) to leave */
    const char *state_dir;       /* keeps the client state of the run it serves (NULL = memory only) */
    /* Hostile mode, for deployment tests of robust aggregation (see
     * docs/robustness.md): attack SPEC KIND[,key=value...]; colluders
     * (alie, ipm) share benign updates through a folder. */
    const char *attack;
    const char *collude_dir;
    int colluders;               /* 0: wait collude_wait_s in full */
    double collude_wait_s;       /* default 5 */
    /* Hidden options for tests and benchmarks. */
    int echo;                    /* no training: answer with a zero update */
    const char *poison;          /* nan|inf|short|missing|extra|round[@ROUND]: send a bad update */
    double delay_s;              /* wait this long before sending each update */
    const char *exit_at;         /* tests: STEP[@ROUND]: the process ends (no goodbye) when a
                                    round protocol step (or "train") arrives, a node lost mid-round */
} fedc_node_config;

/* `fedc node`: fedc's own trainer on cfg->data_spec. Runs until *stop is
 * set (returns 0) or the server refuses the credential or max_attempts
 * connects fail in a row (returns -1, err says why). It is one user of
 * fedc_node_serve below. */
FEDC_API int fedc_node_run(const fedc_node_config *cfg, fedc_error *err);

/* ---- Your own model behind fedc's node loop ----
 *
 * An embedding program (any C or C++ code base) describes its model with
 * callbacks and calls fedc_node_serve, which connects, authenticates,
 * follows the server's runs, reconnects with backoff, and does the
 * protocol: decoding the global model (downlink codec), encoding the
 * update (uplink codec, error feedback), evaluation reports and the
 * initial parameters of an external model. The callbacks run on the
 * caller's thread, one at a time. Parameters are one flat float vector:
 * the manifest's tensors (or a built-in model's, layers.<i>.weight and
 * .bias) concatenated, each row-major.
 *
 * Such a node serves runs with model "external" whose manifest equals its
 * own (manifest_json), and runs of a built-in model when it implements
 * that model (setup may refuse a run). Strategies that need fedc's trainer
 * on the node (client state: scaffold, ...), privacy modes and secure
 * aggregation (whose STEP frames fedc's trainer answers) are refused;
 * fedprox's proximal term (task->strategy.mu) is the fit callback's to add. */
typedef struct fedc_node_run_info {
    int64_t node_id, run_id;
    int slot;                      /* the client slot this node holds in the run */
    const char *task_json;         /* the task as the server sent it */
    const fedc_task *task;
    fedc_shape shape;              /* built-in models: input shape and classes */
    int classes;
    size_t params;                 /* floats in the flat vector */
    const fedc_manifest *manifest; /* the run's tensors; NULL if the server sent none */
    int client_state;              /* the strategy keeps client state (fedc's trainer only) */
    /* setup may set these; they are reported to the server (scheduling, weights). */
    double n_samples, samples_per_s;
} fedc_node_run_info;

typedef struct fedc_node_fit_args {
    int round;
    const fedc_task *task;
    double lr;                     /* the scheduled local learning rate of this round */
} fedc_node_fit_args;

typedef struct fedc_node_fit_result {
    double n_samples;              /* examples trained on: the update's weight */
    int steps;
    double loss;                   /* mean training loss */
} fedc_node_fit_result;

typedef struct fedc_node_eval_result {
    double loss, accuracy;         /* mean loss, accuracy in [0, 1] */
    double examples;               /* local test examples scored */
} fedc_node_eval_result;

typedef struct fedc_node_model {
    void *user;
    /* The tensors of the program's own model (manifest.h JSON form), sent
     * in HELLO; NULL: the node serves built-in models only. */
    const char *manifest_json;
    /* A run is offered (optional): -1 (err set) refuses it before anything
     * is set up for it (its task alone decides), e.g. a mid-level server
     * that cannot relay the run's strategy; the server is told why. */
    int (*accept)(void *user, const fedc_node_run_info *run, fedc_error *err);
    /* A run starts or changes (optional): -1 (err set) if this node cannot
     * serve it; the server is told why and offers the node to other runs. */
    int (*setup)(void *user, fedc_node_run_info *run, fedc_error *err);
    /* External runs: the initial parameters, asked of the first nodes to join. */
    int (*get_parameters)(void *user, float *params, size_t n, fedc_error *err);
    /* Local training: params holds the global model; leave the trained one. */
    int (*fit)(void *user, const fedc_node_fit_args *args, float *params, size_t n, fedc_node_fit_result *out,
               fedc_error *err);
    /* Instead of fit (optional): the update itself, params' change, into
     * delta (n floats) from the global model; for a node whose update is
     * an aggregate of others' (a mid-level server), so it is not rounded
     * through global + delta - global. */
    int (*fit_delta)(void *user, const fedc_node_fit_args *args, const float *global, float *delta, size_t n,
                     fedc_node_fit_result *out, fedc_error *err);
    /* Federated evaluation (optional): score params on local test data. */
    int (*evaluate)(void *user, int round, const float *params, size_t n, fedc_node_eval_result *out,
                    fedc_error *err);
    /* The run is left (optional): run_ended 1 when the server ended it, 0
     * when the node moves to another run or stops. */
    void (*teardown)(void *user, int run_ended);
    /* fedc's own trainer: handles TRAIN and EVALUATE frames whole (codecs,
     * strategy state); when set, fit/evaluate/get_parameters are unused. */
    int (*handle_frame)(void *user, const uint8_t *frame, size_t len, fedc_buf *reply, fedc_error *err);
    /* What the node says about its data in HELLO (optional). */
    const char *data_label;
    int part_k, part_n;            /* a partition K/N of a catalog dataset; part_n 0 = none */
} fedc_node_model;

/* Serves the model until *cfg->stop is set (0) or the credential is
 * refused / max_attempts connects fail in a row (-1). cfg->data_spec,
 * echo, poison and delay_s are fedc_node_run's and ignored here. */
FEDC_API int fedc_node_serve(const fedc_node_config *cfg, const fedc_node_model *model, fedc_error *err);

/* ---- Local data ---- */

/* Data specs:
 *   NAME:partition=K/N[,alpha=A][,kind=iid|dirichlet|shards|quantity|natural]
 *          [,seed=S][,path=DIR]
 *       client K (0-based) of a data catalog dataset's training set (NAME
 *       is mnist, fashion-mnist (or fmnist), emnist-*, femnist, cifar10,
 *       cifar100, svhn) split N ways; kind and its parameter default to the
 *       task's partition (alpha alone means dirichlet), the seed to the
 *       task's seed, so the node holds exactly what `fedc sim` gives client
 *       K. The node finds the data as the simulator does (path=DIR, a system
 *       copy, its own cache) and fetches it into its cache when the task's
 *       dataset.fetch is auto. NAME must be the task's dataset.name;
 *   idx:DIR or idx:IMAGES,LABELS   own IDX files (gzipped or not);
 *   csv:PATH[,label=COLUMN]        own CSV file;
 *   none                           no data (echo mode only). */
typedef struct fedc_node_data {
    enum { FEDC_NODE_DATA_CATALOG, FEDC_NODE_DATA_IDX, FEDC_NODE_DATA_CSV, FEDC_NODE_DATA_NONE } kind;
    char spec[512];
    char dataset[32];    /* catalog name (FEDC_NODE_DATA_CATALOG) */
    int part_k, part_n;
    char part_kind[16];
    double alpha;
    int has_alpha;
    uint64_t seed;
    int has_seed;
    char path[512], path2[512], label[64];
    /* Loaded for the current task. */
    fedc_dataset ds;
    uint32_t *index; /* the samples of ds trained on */
    size_t n;
    /* Local test split (task partition.test_fraction): the samples of ds
     * held out of index, the same as the simulator's for this client. */
    uint32_t *split_index;
    size_t split_n;
    /* Local test data (federated evaluation): a partition's share of the
     * test set, cut like the simulator cuts it; n_test 0 = none. */
    fedc_dataset test;
    uint32_t *test_index;
    size_t n_test;
    char loaded_key[1200]; /* what ds was made from, to reload only on change */
} fedc_node_data;

FEDC_API int fedc_node_data_parse(const char *spec, fedc_node_data *d, fedc_error *err);
/* Loads (or keeps) the local data for a task. */
FEDC_API int fedc_node_data_prepare(fedc_node_data *d, const fedc_task *t, fedc_error *err);
/* Loads (once) the local test data of federated evaluation: for a
 * partition K/N, share K of the test set cut as the simulator cuts it. */
FEDC_API int fedc_node_data_prepare_test(fedc_node_data *d, const fedc_task *t, fedc_error *err);
FEDC_API void fedc_node_data_free(fedc_node_data *d);

#endif
