/* Private pieces of the node agent. */
#ifndef FEDC_CLIENT_INTERNAL_H
#define FEDC_CLIENT_INTERNAL_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/codec.h"
#include "fedc/error.h"
#include "fedc/nn.h"
#include "fedc/node.h"
#include "fedc/task.h"

/* ---- hand-built updates (echo mode, and the hidden poison option) ---- */
typedef enum {
    NODE_POISON_NONE = 0,
    NODE_POISON_NAN,     /* one value NaN */
    NODE_POISON_INF,     /* one value +Inf */
    NODE_POISON_SHORT,   /* tensor 10 values short */
    NODE_POISON_MISSING, /* no tensor at all */
    NODE_POISON_EXTRA,   /* one tensor more than the strategy uses */
    NODE_POISON_ROUND,   /* claims another round */
    NODE_POISON_SAMPLES, /* claims 59,999,999 samples */
    NODE_POISON_SCALE,   /* every value 1e15: finite, but it drives an average to |w| ~ 1e15 */
    NODE_POISON_REPLAY,  /* claims the previous round (a replayed update) */
} node_poison;

/* Parses "KIND" or "KIND@ROUND" (round 0 = every round). */
int node_poison_parse(const char *s, node_poison *kind, int *round, fedc_error *err);
/* An UPDATE frame for `round` carrying a zero update (echo) or the given
 * poison, encoded with the task's uplink codec like a real one. */
/* zeros: d zero floats kept by the caller across rounds (NULL: allocated
 * here); a model-sized calloc per round was a tenth of an echo node's CPU. */
int node_build_update(const fedc_task *t, size_t d, int round, node_poison poison, const float *zeros,
                      fedc_buf *out, fedc_error *err);
/* The "round" field of a TRAIN or EVALUATE frame, or -1. */
int node_frame_round(const uint8_t *frame, size_t len);
/* Sleeps s seconds, or less once *stop is set (stop may be NULL). */
void node_sleep(volatile sig_atomic_t *stop, double s);

/* ---- parameter-level models (fedc_node_model with fit/evaluate) ----
 * The protocol around the callbacks: the global model from TRAIN frames
 * (downlink codec; deltas against the node's copy), the update through the
 * uplink codec with error feedback, RESULT and PARAMS frames. */
typedef struct node_params {
    fedc_task task;
    int slot;
    size_t d;
    fedc_codec *up, *down;
    float *global, *work, *residual, *down_ref;
    int have_ref;
    fedc_arch *arch; /* built-in runs: rebuilds the initial model ("init" base) */
} node_params;

int node_params_setup(node_params *p, const fedc_node_run_info *run, fedc_error *err);
void node_params_free(node_params *p);
int node_params_train(node_params *p, const fedc_node_model *m, const uint8_t *frame, size_t len, fedc_buf *reply,
                      fedc_error *err);
int node_params_evaluate(node_params *p, const fedc_node_model *m, const uint8_t *frame, size_t len, fedc_buf *reply,
                         fedc_error *err);
/* A relayed gossip step of a decentralised run (dpsgd, gossip, gossip-vc):
 * the node mixes the models the STEP frame carries, as fedc's trainer does
 * (fedc_relay_answer); the model itself is not involved. */
int node_params_relay(node_params *p, const uint8_t *frame, size_t len, fedc_buf *reply, fedc_error *err);
/* The PARAMS frame with the model's initial parameters (get_parameters). */
int node_params_initial(node_params *p, const fedc_node_model *m, fedc_buf *reply, fedc_error *err);

/* ---- hostile mode (--attack), for deployment tests ---- */
#define NODE_ATTACK_MAX_ASSIGN 8
typedef struct node_attack {
    int on, unreliable, has_scale;
    char kind[16];
    char assign[NODE_ATTACK_MAX_ASSIGN][96]; /* "attack.kind=scaling", ... */
    int n;
} node_attack;
/* Parses --attack KIND[,key=value...] (keys scale, target, source,
 * poison_fraction; KIND an attack.kind or "unreliable"). */
int node_attack_parse(const char *spec, node_attack *out, fedc_error *err);
/* The node's copy of a run's task: the server's attack section is always
 * dropped; a hostile node (a->on) puts its own, attacking in every slot.
 * ALIE without a scale gets the paper's z for clients_per_round and the
 * number of colluders. */
int node_attack_apply(const node_attack *a, int colluders, fedc_task *t, fedc_error *err);

/* Colluders' shared folder (--collude DIR). */
typedef struct node_board {
    char dir[512];
    int colluders;  /* stop waiting once this many updates are there; 0 = wait the full time */
    double wait_s;
} node_board;
/* Posts this node's benign update of (run, round), waits for the others
 * and writes the mean and standard deviation over all of them (count of
 * them in *count); without a board (NULL or empty dir), over its own. */
int node_collude(const node_board *b, int64_t run, int round, int64_t node, const float *benign, size_t d,
                 float *mean, float *std, int *count, const volatile sig_atomic_t *stop, fedc_error *err);
/* One colluder's file, checked: header, lengths, run, round, finite values. */
int node_collude_decode(const uint8_t *buf, size_t len, int64_t run, int round, size_t d, float *out,
                        fedc_error *err);

/* ---- resources ---- */
typedef struct node_resources {
    int cores;
    uint64_t memory_bytes;
    double samples_per_s;
    double up_bps, down_bps;
    size_t n_samples;
} node_resources;

void node_resources_detect(node_resources *r);
/* Training throughput (samples/s) of this machine for the model, measured
 * on a few batches of local data (or zeros), for at most ~0.3 s. */
double node_measure_speed(const fedc_arch *a, const fedc_node_data *d, int batch);
json_t *node_resources_json(const node_resources *r, const char *data_spec);

#endif
