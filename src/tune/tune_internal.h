/* Internals shared by the files of the tune layer. */
#ifndef FEDC_TUNE_INTERNAL_H
#define FEDC_TUNE_INTERNAL_H

#include <pthread.h>

#include <jansson.h>

#include "fedc/rng.h"
#include "fedc/tune.h"

struct fedc_tune_space {
    int n;
    fedc_tune_param p[FEDC_TUNE_MAX_PARAMS];
};

/* JSON output: keys in insertion order, 15 significant digits. Every double
 * the layer writes (space bounds, sampled values) is first rounded with
 * tune_round_sig to at most 15 digits, so it prints as written and parses
 * back to the same double: stored searches compare exactly on resume. */
#define TUNE_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
double tune_round_sig(double v, int digits);

/* ---- space.c / config.c ---- */
const char *tune_param_type_name(fedc_param_type t);
/* The JSON value of parameter p at v (a number, or the choice's value). */
json_t *tune_param_value_json(const fedc_tune_param *p, double v);
/* Reads parameter p's value from JSON v (a number, or one of the choices)
 * into *out, or explains what is allowed. */
int tune_read_value(const fedc_tune_param *p, json_t *v, double *out, fedc_error *err);
/* 1 if parameter i is active; earlier entries of c must be filled. */
int tune_active(const fedc_tune_space *s, const fedc_tune_config *c, int i);

/* ---- arch_build.c ---- */
/* 1 if name is one of the architecture knobs ("arch.depth", ...). */
int tune_arch_known(const char *name);
/* The knobs, comma-separated, for messages. */
const char *tune_arch_knob_list(void);
/* Builds the model spec from the base model and the active arch.* values
 * of the configuration. Returns 0, or -1 with err. */
int tune_arch_build(const fedc_tune_space *s, const fedc_tune_config *c, const char *base_model,
                    int n_classes, char *out, size_t cap, fedc_error *err);

/* The value a model spec has for knob `name` (the inverse of the
 * builder), as JSON in *out; -1 with err when the model does not have the
 * standard form the knob describes. */
int tune_arch_knob_from_model(const char *model, const char *name, json_t **out, fedc_error *err);

/* ---- sample.c ---- */
/* Uniform draw of one parameter (log-uniform for LOG_FLOAT). */
double tune_sample_param(const fedc_tune_param *p, fedc_rng *rng);
/* A configuration drawn at random, conditions respected. */
void tune_sample_random(const fedc_tune_space *s, fedc_rng *rng, fedc_tune_config *out);

/* ---- tpe.c ---- */
typedef struct tune_obs {
    const fedc_tune_config *config;
    double score; /* higher is better */
} tune_obs;
/* One TPE proposal from n >= 1 observations (in a fixed order: ties are
 * broken by position). Configurations in tried[] (finished or pending) are
 * avoided when a candidate outside them exists. */
void tune_tpe_propose(const fedc_tune_space *s, const tune_obs *obs, int n,
                      const fedc_tune_config *const *tried, int ntried, double gamma, int candidates,
                      fedc_rng *rng, fedc_tune_config *out);

/* ---- goal.c ---- */
struct fedc_tune_search;
/* Scores of n measures for the search's goal (higher is better); failed[i]
 * marks a failed trial (its measure is not read). */
void tune_goal_scores(const struct fedc_tune_search *s, const fedc_tune_measure *const *m, const int *failed, int n,
                      double *score);
/* accuracy@budget: 1 within the limits, 0 over, -1 unknown; 1 for other goals. */
int tune_within_budget(const struct fedc_tune_search *s, const fedc_tune_trial *t);
/* Sets pareto_rank, crowding and feasible of every trial. */
void tune_rank_trials(struct fedc_tune_search *s);

/* ---- asha.c ---- */
/* Rung sizes from the top down (max, max/eta, ...) while >= min_rounds;
 * written in increasing order. Returns how many. */
int tune_asha_rungs(int max_rounds, int min_rounds, int eta, int *out);

/* ---- the search (search.c), visible to report.c and tune_store.c ---- */
typedef struct stored_rung {
    int have;
    int ok;
    fedc_tune_measure m; /* cpu_s: of that job */
    char error[256];
} stored_rung;

typedef struct stored_trial {
    int have;
    char source[16];
    char *config_json;
    stored_rung rung[FEDC_TUNE_MAX_RUNGS];
} stored_trial;

struct fedc_tune_search {
    const fedc_tune_space *space;
    fedc_task base;
    int has_base;
    fedc_tune_options opt;
    fedc_tune_options raw;  /* as given: 0 fields take their defaults */
    fedc_tune_objective obj;
    int rungs[FEDC_TUNE_MAX_RUNGS];
    int nrungs;
    fedc_tune_trial *trials;
    fedc_task *tasks;       /* per trial: the task it runs */
    int *task_ok;           /* per trial: 1 when the config applied */
    void **state;           /* per trial: objective state kept between rungs */
    int *state_rounds;      /* rounds the kept state has done */
    unsigned *promoted;     /* per trial: bit r = promoted out of rung r */
    int *fail_rung;         /* per trial: rung whose job failed; -1 = invalid config or none */
    int ntrials, cap;
    /* Store and resume. */
    fedc_tune_store *store;
    int64_t id;
    stored_trial *stored;
    int nstored;
    /* Totals. */
    long total_rounds;
    double total_cpu;
    int reused;
    pthread_mutex_t lock;
};

/* Canonical JSON of the options that define a search (everything but the
 * budget, parallelism, memory cap and callbacks), malloc'd. */
char *tune_options_json(const fedc_tune_options *o);
/* Reads it back into o (callbacks untouched). */
int tune_options_from_json(const char *json, fedc_tune_options *o, fedc_error *err);
/* Fills defaults (0 fields) and checks ranges. */
int tune_options_normalize(fedc_tune_options *o, const fedc_task *base, fedc_error *err);

/* ---- tune_store.c, used by search.c ---- */
struct sqlite3;
struct fedc_tune_store {
    struct sqlite3 *db;
    char path[512];
    pthread_mutex_t lock; /* one writer at a time: jobs finish on several threads */
};
int tune_store_create_search(fedc_tune_store *st, const fedc_tune_search *s, const char *options_json,
                             const char *space_json, const char *task_json, int64_t *id,
                             fedc_error *err);
/* The stored options JSON of search id (malloc'd), or NULL with err. */
char *tune_store_options(fedc_tune_store *st, int64_t id, fedc_error *err);
/* Checks that stored search id matches, then loads its trials and rungs. */
int tune_store_load(fedc_tune_store *st, int64_t id, const char *options_json, const char *space_json,
                    const char *task_json, int budget, stored_trial **out, int *nout, fedc_error *err);
int tune_store_put_trial(fedc_tune_store *st, int64_t id, const fedc_tune_search *s, int trial,
                         fedc_error *err);
int tune_store_put_rung(fedc_tune_store *st, int64_t id, int trial, int rung, int ok,
                        const fedc_tune_measure *m, const char *error, fedc_error *err);
int tune_store_finish(fedc_tune_store *st, int64_t id, const fedc_tune_search *s, const char *status,
                      fedc_error *err);
void tune_stored_free(stored_trial *v, int n);
/* A measure's costs (and, with t, its rank and budget verdict) as JSON text, malloc'd. */
char *tune_costs_json(const fedc_tune_measure *m, const fedc_tune_trial *t);
void tune_costs_read(const char *text, fedc_tune_measure *m);

#endif
