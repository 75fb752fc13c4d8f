/* The federated simulation as a search objective: a trial is a fedc_run over
 * the in-process transport, on datasets loaded once and shared by every
 * trial. Between ASHA rungs the run stays alive (the state the search
 * keeps), so a promoted trial continues from its model and optimiser
 * state; a run the search dropped is re-created and replayed from round 0,
 * which reproduces it exactly because runs are deterministic in the seed.
 *
 * Two settings make the measured accuracy a better estimate of what the
 * configuration gives on a fresh run (with non-IID data the final accuracy
 * swings with the last rounds' participants and with the seed): the trial's
 * accuracy is the mean over `last` evaluated rounds, and over `seeds` runs
 * with seeds task.seed, task.seed + 1, ... */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/engine.h"
#include "fedc/nn.h"
#include "fedc/timer.h"
#include "tune/tune_internal.h"

#define FL_MAX_SEEDS 16
#define FL_MAX_LAST 1000

struct fedc_tune_fl {
    const fedc_dataset *train, *test;
    const volatile int *stop;
    int seeds, last;
};

/* One of a trial's runs, with its latest evaluated accuracies. */
typedef struct fl_run {
    fedc_run *run;
    fedc_transport *tp;
    double *acc, *loss; /* ring of the last `last` evaluations: the selection figure */
    double *test;       /* ... and the test accuracy beside it */
    int nevals;
    int validated;      /* the task holds a validation split out: acc is on it */
    uint64_t bytes, bytes_up, bytes_down, client_steps;
    double client_cpu_s, server_cpu_s, wall_s;
} fl_run;

typedef struct fl_state {
    int n;
    fl_run r[FL_MAX_SEEDS];
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
    fl->seeds = 1;
    fl->last = 1;
    /* Trials run side by side, each with its own threads: a second level of
     * threads inside BLAS would only oversubscribe the cores. */
    openblas_set_num_threads(1);
    return fl;
}

int fedc_tune_fl_configure(fedc_tune_fl *fl, int seeds, int last, fedc_error *err) {
    if (seeds < 1 || seeds > FL_MAX_SEEDS)
        return fedc_fail(err, "tune: seeds per trial: %d is out of range; allowed: 1..%d", seeds, FL_MAX_SEEDS);
    if (last < 1 || last > FL_MAX_LAST)
        return fedc_fail(err, "tune: rounds averaged: %d is out of range; allowed: 1..%d", last, FL_MAX_LAST);
    fl->seeds = seeds;
    fl->last = last;
    return 0;
}

void fedc_tune_fl_describe(const fedc_tune_fl *fl, char *out, size_t cap) {
    snprintf(out, cap, "fl seeds=%d last=%d", fl->seeds, fl->last);
}

int fedc_tune_fl_parse_description(const char *text, int *seeds, int *last) {
    int s, l;
    char tail;
    if (!text || sscanf(text, "fl seeds=%d last=%d%c", &s, &l, &tail) != 2) return -1;
    if (s < 1 || s > FL_MAX_SEEDS || l < 1 || l > FL_MAX_LAST) return -1;
    *seeds = s;
    *last = l;
    return 0;
}

void fedc_tune_fl_free(fedc_tune_fl *fl) { free(fl); }

static void fl_release(void *ctx, void *state) {
    (void)ctx;
    fl_state *st = state;
    if (!st) return;
    for (int k = 0; k < st->n; k++) {
        if (st->r[k].tp) st->r[k].tp->ops->destroy(st->r[k].tp);
        fedc_run_free(st->r[k].run);
        free(st->r[k].acc);
        free(st->r[k].loss);
        free(st->r[k].test);
    }
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

static fl_state *new_state(fedc_tune_fl *fl, const fedc_task *task, int threads, fedc_error *err) {
    fl_state *st = calloc(1, sizeof *st);
    if (!st) {
        fedc_fail(err, "tune: out of memory");
        return NULL;
    }
    for (int k = 0; k < fl->seeds; k++) {
        fl_run *r = &st->r[st->n++];
        fedc_task t = *task;
        t.seed = task->seed + (uint64_t)k;
        fedc_run_options ro = {.threads = threads, .quiet = 1, .train_data = fl->train, .test_data = fl->test};
        r->acc = calloc((size_t)fl->last, sizeof *r->acc);
        r->loss = calloc((size_t)fl->last, sizeof *r->loss);
        r->test = calloc((size_t)fl->last, sizeof *r->test);
        r->validated = task->validation > 0;
        if (!r->acc || !r->loss || !r->test) {
            fedc_fail(err, "tune: out of memory");
            goto fail;
        }
        if (!(r->run = fedc_run_create(&t, &ro, err))) goto fail;
        if (!(r->tp = fedc_sim_transport_create(r->run, err))) goto fail;
        st->bytes_held += estimate_bytes(task, fedc_run_nparams(r->run), threads);
    }
    return st;
fail:
    fl_release(NULL, st);
    return NULL;
}

/* Brings one run to `rounds`; adds the engine's CPU figures to *engine_cpu. */
static int advance_run(fedc_tune_fl *fl, fl_run *r, int rounds, double *engine_cpu, fedc_error *err) {
    while (fedc_run_rounds_done(r->run) < rounds) {
        if (fl->stop && *fl->stop) return fedc_fail(err, "interrupted");
        fedc_round_metrics m;
        if (fedc_run_round(r->run, r->tp, &m, err) != 0)
            return fedc_fail_prefix(err, "round %d: ", fedc_run_rounds_done(r->run) + 1);
        *engine_cpu += m.client_cpu_s + m.server_cpu_s;
        r->bytes = m.bytes_down_total + m.bytes_up_total;
        r->bytes_up = m.bytes_up_total;
        r->bytes_down = m.bytes_down_total;
        r->client_cpu_s += m.client_cpu_s;
        r->server_cpu_s += m.server_cpu_s;
        r->wall_s += m.wall_s;
        r->client_steps += m.client_steps;
        double acc = m.accuracy, loss = m.loss, vacc = m.val_accuracy, vloss = m.val_loss;
        int evaluated = m.evaluated;
        if (!evaluated && fedc_run_rounds_done(r->run) == rounds) {
            fedc_run_evaluate(r->run, &acc, &loss); /* a rung is always measured */
            if (r->validated) fedc_run_evaluate_validation(r->run, &vacc, &vloss);
            evaluated = 1;
        }
        if (!evaluated) continue;
        if (!isfinite(loss)) return fedc_fail(err, "round %d: the model diverged (test loss %g)", m.round, loss);
        /* The search selects on the validation figure when there is one: the
         * test figure is kept for the report of the final choice. */
        r->acc[r->nevals % fl->last] = r->validated ? vacc : acc;
        r->loss[r->nevals % fl->last] = r->validated ? vloss : loss;
        r->test[r->nevals % fl->last] = acc;
        r->nevals++;
    }
    return 0;
}

static int fl_advance(void *ctx, int trial, const fedc_task *task, const fedc_tune_config *cfg, int rounds,
                      int threads, void **state, fedc_tune_measure *out, fedc_error *err) {
    (void)trial;
    (void)cfg;
    fedc_tune_fl *fl = ctx;
    memset(out, 0, sizeof *out);
    if (!task) return fedc_fail(err, "tune: the federated objective needs a base task");
    double cpu0 = fedc_cpu_thread_s(), setup_cpu = 0, engine_cpu = 0;
    fl_state *st = *state;
    if (!st) {
        if (!(st = new_state(fl, task, threads, err))) return -1;
        *state = st;
        setup_cpu = fedc_cpu_thread_s() - cpu0;
    }
    int rc = 0;
    double acc = 0, loss = 0, test = 0, bytes = 0, up = 0, down = 0, ccpu = 0, scpu = 0, wall = 0, steps = 0;
    for (int k = 0; k < st->n && rc == 0; k++) {
        fl_run *r = &st->r[k];
        rc = advance_run(fl, r, rounds, &engine_cpu, err);
        if (rc != 0 && st->n > 1) fedc_fail_prefix(err, "seed %llu: ", (unsigned long long)(task->seed + (uint64_t)k));
        int m = r->nevals < fl->last ? r->nevals : fl->last;
        double a = 0, l = 0, te = 0;
        for (int i = 0; i < m; i++) {
            a += r->acc[i];
            l += r->loss[i];
            te += r->test[i];
        }
        acc += m ? a / m : 0;
        loss += m ? l / m : 0;
        test += m ? te / m : 0;
        bytes += (double)r->bytes;
        up += (double)r->bytes_up;
        down += (double)r->bytes_down;
        ccpu += r->client_cpu_s;
        scpu += r->server_cpu_s;
        wall += r->wall_s;
        steps += (double)r->client_steps;
    }
    out->rounds = fedc_run_rounds_done(st->r[0].run);
    out->accuracy = acc / st->n;
    out->loss = loss / st->n;
    out->test_accuracy = test / st->n;
    out->validated = st->r[0].validated;
    /* What one run of this configuration costs: the mean over its seeds. */
    out->bytes = (uint64_t)(bytes / st->n);
    out->bytes_up = (uint64_t)(up / st->n);
    out->bytes_down = (uint64_t)(down / st->n);
    out->client_cpu_s = ccpu / st->n;
    out->server_cpu_s = scpu / st->n;
    out->wall_s = wall / st->n;
    /* Training costs about three forward passes per sample (forward, and a
     * backward that is twice as much); a step processes one batch. */
    double flops = fedc_arch_flops_per_sample(fedc_run_arch(st->r[0].run));
    out->client_gflop = steps / st->n * (double)task->local.batch * 3.0 * flops / 1e9;
    /* With a pool of one, everything (setup, training, evaluation) ran on
     * this thread and its clock is exact. With more, clients trained on
     * several threads: the engine's per-client and server figures count
     * them (evaluation chunks on other threads are left out). */
    out->cpu_s = fedc_pool_size(fedc_run_pool(st->r[0].run)) == 1 ? fedc_cpu_thread_s() - cpu0
                                                                   : setup_cpu + engine_cpu;
    return rc;
}

fedc_tune_objective fedc_tune_fl_objective(fedc_tune_fl *fl) {
    fedc_tune_objective o = {fl_advance, fl_state_bytes, fl_release, fl};
    return o;
}
