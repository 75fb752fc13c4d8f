/* The federated simulation as a search objective: a trial is a fedc_run over
 * the in-process transport, on datasets loaded once and shared by every
 * trial. Between ASHA rungs the run stays alive (the state the search
 * keeps), so a promoted trial continues from its model and optimiser
 * state; a run the search dropped is re-created and replayed from round 0,
 * which reproduces it exactly because runs are deterministic in the seed. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/engine.h"
#include "fedc/timer.h"
#include "tune/tune_internal.h"

struct fedc_tune_fl {
    const fedc_dataset *train, *test;
    const volatile int *stop;
};

typedef struct fl_state {
    fedc_run *run;
    fedc_transport *tp;
    double accuracy, loss;
    uint64_t bytes;
    size_t bytes_held;
} fl_state;

fedc_tune_fl *fedc_tune_fl_create(const fedc_dataset *train, const fedc_dataset *test,
                                  const volatile int *stop, fedc_error *err) {
    if (!train || !test || train->n == 0 || test->n == 0) {
        fedc_fail(err, "tune: the objective needs a non-empty training and test set");
        return NULL;
    }
    fedc_tune_fl *fl = calloc(1, sizeof *fl);
    if (!fl) {
        fedc_fail(err, "tune: out of memory");
        return NULL;
    }
    fl->train = train;
    fl->test = test;
    fl->stop = stop;
    /* Trials run side by side, each with its own threads: a second level of
     * threads inside BLAS would only oversubscribe the cores. */
    openblas_set_num_threads(1);
    return fl;
}

void fedc_tune_fl_free(fedc_tune_fl *fl) { free(fl); }

static void fl_release(void *ctx, void *state) {
    (void)ctx;
    fl_state *st = state;
    if (!st) return;
    if (st->tp) st->tp->ops->destroy(st->tp);
    fedc_run_free(st->run);
    free(st);
}

static size_t fl_state_bytes(void *ctx, const void *state) {
    (void)ctx;
    return state ? ((const fl_state *)state)->bytes_held : 0;
}

/* What a paused run holds: the global model, one update buffer per
 * participant, strategy state, per-thread trainers, and per-client residuals
 * when a codec uses error feedback (an estimate: the engine allocates some
 * of these lazily). */
static size_t estimate_bytes(const fedc_task *t, size_t d, int threads) {
    size_t per_model = d * sizeof(float);
    size_t n = per_model * (size_t)(t->clients_per_round + 4 + 4 * threads);
    if (strstr(t->compression.up, "topk") || strstr(t->compression.up, "sign")) n += per_model * (size_t)t->clients;
    return n;
}

static int fl_advance(void *ctx, int trial, const fedc_task *task, const fedc_tune_config *cfg, int rounds,
                      int threads, void **state, fedc_tune_measure *out, fedc_error *err) {
    (void)trial;
    (void)cfg;
    fedc_tune_fl *fl = ctx;
    if (!task) return fedc_fail(err, "tune: the federated objective needs a base task");
    double cpu0 = fedc_cpu_thread_s(), setup_cpu = 0, engine_cpu = 0;
    fl_state *st = *state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return fedc_fail(err, "tune: out of memory");
        fedc_run_options ro = {threads, 1, fl->train, fl->test};
        st->run = fedc_run_create(task, &ro, err);
        st->tp = st->run ? fedc_sim_transport_create(st->run, err) : NULL;
        if (!st->tp) {
            fl_release(NULL, st);
            return -1;
        }
        st->bytes_held = estimate_bytes(task, fedc_run_nparams(st->run), threads);
        *state = st;
        setup_cpu = fedc_cpu_thread_s() - cpu0;
    }
    int rc = 0;
    while (fedc_run_rounds_done(st->run) < rounds) {
        if (fl->stop && *fl->stop) {
            rc = fedc_fail(err, "interrupted");
            break;
        }
        fedc_round_metrics m;
        if (fedc_run_round(st->run, st->tp, &m, err) != 0) {
            fedc_fail_prefix(err, "round %d: ", fedc_run_rounds_done(st->run) + 1);
            rc = -1;
            break;
        }
        engine_cpu += m.client_cpu_s + m.server_cpu_s;
        st->bytes = m.bytes_down_total + m.bytes_up_total;
        if (m.evaluated) {
            st->accuracy = m.accuracy;
            st->loss = m.loss;
        } else if (fedc_run_rounds_done(st->run) == rounds) {
            fedc_run_evaluate(st->run, &st->accuracy, &st->loss); /* a rung is always measured */
        }
        if (!isfinite(st->loss)) {
            rc = fedc_fail(err, "round %d: the model diverged (test loss %g)", m.round, st->loss);
            break;
        }
    }
    memset(out, 0, sizeof *out);
    out->rounds = fedc_run_rounds_done(st->run);
    out->accuracy = st->accuracy;
    out->loss = st->loss;
    out->bytes = st->bytes;
    /* With a pool of one, everything (setup, training, evaluation) ran on
     * this thread and its clock is exact. With more, clients trained on
     * several threads: the engine's per-client and server figures count
     * them (evaluation chunks on other threads are left out). */
    out->cpu_s = fedc_pool_size(fedc_run_pool(st->run)) == 1 ? fedc_cpu_thread_s() - cpu0 : setup_cpu + engine_cpu;
    return rc;
}

fedc_tune_objective fedc_tune_fl_objective(fedc_tune_fl *fl) {
    fedc_tune_objective o = {fl_advance, fl_state_bytes, fl_release, fl};
    return o;
}
