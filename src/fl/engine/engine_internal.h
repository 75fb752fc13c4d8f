/* Private helpers shared by the engine's files. */
#ifndef FEDC_ENGINE_INTERNAL_H
#define FEDC_ENGINE_INTERNAL_H

#include "fedc/engine.h"

/* The task's local optimizer settings as an nn optimizer config. */
int fedc_engine_optim_config(const fedc_task *t, fedc_optim_config *oc, fedc_error *err);

/* 1 if the codec reproduces its input exactly ("none", "zstd"): then the
 * downlink sends whole models; otherwise deltas against the node's copy. */
int fedc_engine_codec_lossless(const fedc_codec *c);

/* The task's initial global model, derived from its seed alone, so nodes
 * can rebuild it without a download (the lossy downlink's first base). */
void fedc_engine_initial_model(const fedc_task *t, const fedc_arch *a, float *x);

/* Backdoor attack success: the share of test samples whose true class is
 * not the target that, with the trigger stamped on, are classified as the
 * target (evaluated with params over the pool's workspaces, each made for
 * batch samples). */
double fedc_engine_backdoor_success(const fedc_arch *a, fedc_ws **ws, int batch, fedc_pool *pool,
                                    const float *params, const fedc_dataset *test, int target);
/* Aggregation checked before its result replaces the model (guard.c): the
 * scratch it needs, sized for the run. */
typedef struct fedc_agg_guard fedc_agg_guard;
fedc_agg_guard *fedc_agg_guard_create(size_t d, size_t state_floats, int max_updates);
void fedc_agg_guard_free(fedc_agg_guard *g);
/* Aggregates u[0..n) into x with st. A result that is not finite, or that
 * grows the model tenfold in one round because of updates far larger than
 * the others, is rolled back (x and the strategy state as before); those
 * updates are refused (refused[i] = 1, reasons[i] says why) and the rest
 * aggregated again. 0: x holds the aggregate of the updates not refused
 * (verdict says what was refused, "" if nothing); 1: no sound aggregate
 * (x and state unchanged, verdict says why: the round fails); -1: error. */
int fedc_agg_guard_run(fedc_agg_guard *g, fedc_strategy *st, float *x, const fedc_update *u, int n,
                       const fedc_round_ctx *rc, char *refused, char (*reasons)[256], char *verdict, size_t vcap,
                       fedc_error *err);

/* strategy.local_params as ranges of the flat vector (local_params.c):
 * the parameters each client keeps for itself, never aggregated. */
typedef struct local_set {
    int n;            /* ranges */
    size_t *off, *count;
    size_t floats;    /* total */
} local_set;
/* Resolves the task's selector against the arch; n = 0 for "none". Refuses
 * a selector that matches nothing or leaves no parameter shared. */
int fedc_engine_local_set(const fedc_task *t, const fedc_arch *a, local_set *out, fedc_error *err);
void fedc_engine_local_set_free(local_set *s);
/* packed[] <- x at the ranges; x at the ranges <- packed[]; x at the ranges <- 0. */
void fedc_engine_local_gather(const local_set *s, const float *x, float *packed);
void fedc_engine_local_scatter(const local_set *s, const float *packed, float *x);
void fedc_engine_local_zero(const local_set *s, float *x);

/* Per-client evaluation (client_eval.c): the accuracy of params on the
 * client's local test split (cd->split_index, domain applied), in batches
 * of at most `batch` through ws with xb/yb as batch buffers; NAN without a
 * split. */
double fedc_engine_split_accuracy(const fedc_arch *a, fedc_ws *ws, const float *params, const fedc_client_data *cd,
                                  size_t batch, float *xb, int32_t *yb);
/* Mean, 10th percentile and minimum of the finite values of acc[0..n);
 * returns how many were finite (outputs untouched when 0), -1 out of memory. */
int fedc_engine_client_summary(const double *acc, int n, double *mean, double *p10, double *min);

/* Lazily generated client data (lazy_data.c, dataset synthetic). Each run
 * takes an owner id; fedc_engine_lazy_client points cd's data, index and n
 * at client `client`'s training (train = 1) or test samples, generated on
 * this thread unless it generated them last. The view stays valid until
 * this thread asks for another client's samples of the same kind, or
 * fedc_engine_lazy_release drops this thread's copies of the owner's data. */
uint64_t fedc_engine_lazy_owner(void);
int fedc_engine_lazy_client(uint64_t owner, const fedc_synthetic_config *cfg, int client, int train,
                            fedc_client_data *cd, fedc_error *err);
void fedc_engine_lazy_release(uint64_t owner);

#endif
