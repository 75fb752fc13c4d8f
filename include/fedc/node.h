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

#include "fedc/data.h"
#include "fedc/error.h"
#include "fedc/export.h"
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

/* Runs until *stop is set (returns 0) or the server refuses the credential
 * or max_attempts connects fail in a row (returns -1, err says why). */
FEDC_API int fedc_node_run(const fedc_node_config *cfg, fedc_error *err);

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
    uint32_t *test_index;
    size_t test_n;
    char loaded_key[1200]; /* what ds was made from, to reload only on change */
} fedc_node_data;

FEDC_API int fedc_node_data_parse(const char *spec, fedc_node_data *d, fedc_error *err);
/* Loads (or keeps) the local data for a task. */
FEDC_API int fedc_node_data_prepare(fedc_node_data *d, const fedc_task *t, fedc_error *err);
FEDC_API void fedc_node_data_free(fedc_node_data *d);

#endif
