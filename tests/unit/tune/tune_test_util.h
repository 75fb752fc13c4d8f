/* A pluggable objective for search tests: a known function of the
 * configuration ("final accuracy") reached along a learning curve
 * acc(r) = final * (1 - exp(-r / 4)), so rankings at low rounds predict the
 * final ranking, as ASHA assumes. It keeps a state (rounds done) between
 * calls, counts every round it advances and every call per trial, and costs
 * 1 ms of "CPU" per round. */
#ifndef FEDC_TUNE_TEST_UTIL_H
#define FEDC_TUNE_TEST_UTIL_H

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/tune.h"

#define FN_MAX_TRIALS 512

typedef struct fn_objective {
    double (*final)(const fedc_tune_config *c);
    pthread_mutex_t lock;
    long rounds_run;           /* rounds advanced, replays included */
    int calls[FN_MAX_TRIALS];  /* advance() calls per trial */
    int fresh_starts[FN_MAX_TRIALS]; /* calls that began from round 0 */
    int fail_trial;            /* this trial fails (-1: none) */
    int state_bytes;           /* what each kept state claims to hold */
} fn_objective;

static int fn_advance(void *ctx, int trial, const fedc_task *task, const fedc_tune_config *cfg, int rounds,
                      int threads, void **state, fedc_tune_measure *out, fedc_error *err) {
    (void)task;
    (void)threads;
    fn_objective *o = ctx;
    int *done = *state;
    if (!done) {
        done = calloc(1, sizeof *done);
        *state = done;
    }
    pthread_mutex_lock(&o->lock);
    if (trial < FN_MAX_TRIALS) {
        o->calls[trial]++;
        o->fresh_starts[trial] += *done == 0;
    }
    o->rounds_run += rounds - *done;
    pthread_mutex_unlock(&o->lock);
    memset(out, 0, sizeof *out);
    out->cpu_s = 0.001 * (rounds - *done);
    *done = rounds;
    if (trial == o->fail_trial) return fedc_fail(err, "round 1: diverged (test)");
    double f = o->final(cfg);
    out->rounds = rounds;
    out->accuracy = f * (1 - exp(-rounds / 4.0));
    out->loss = 1 - out->accuracy;
    out->bytes = (uint64_t)rounds * 1000;
    return 0;
}

static size_t fn_state_bytes(void *ctx, const void *state) {
    (void)state;
    return (size_t)((fn_objective *)ctx)->state_bytes;
}

static void fn_release(void *ctx, void *state) {
    (void)ctx;
    free(state);
}

static void fn_init(fn_objective *o, double (*final)(const fedc_tune_config *)) {
    memset(o, 0, sizeof *o);
    o->final = final;
    o->fail_trial = -1;
    o->state_bytes = 1000;
    pthread_mutex_init(&o->lock, NULL);
}

static fedc_tune_objective fn_as_objective(fn_objective *o) {
    fedc_tune_objective obj = {fn_advance, fn_state_bytes, fn_release, o};
    return obj;
}

#endif
