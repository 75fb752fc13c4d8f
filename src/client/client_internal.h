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
/* The PARAMS frame with the model's initial parameters (get_parameters). */
int node_params_initial(node_params *p, const fedc_node_model *m, fedc_buf *reply, fedc_error *err);

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
