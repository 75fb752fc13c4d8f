/* Automated search over federated tasks: hyperparameters and architectures.
 *
 * A search space (JSON, or derived from a task) names task fields and
 * architecture knobs with ranges; a search samples configurations, applies
 * each to the base task and runs it (rounds are the resource) through a
 * pluggable objective — the federated simulation for real searches, a plain
 * function in tests. Methods: random, ASHA (asynchronous successive halving,
 * run here in deterministic waves), TPE (tree-structured Parzen estimator
 * after a random warm-up) and ASHA with TPE sampling. Every trial is recorded
 * in an SQLite store and a search can be resumed without repeating finished
 * work. docs/tune.md documents the space format and the methods. */
#ifndef FEDC_TUNE_H
#define FEDC_TUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedc/data.h"
#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/task.h"

#define FEDC_TUNE_MAX_PARAMS 64        /* parameters in one space */
#define FEDC_TUNE_MAX_CHOICES 32       /* values of one choice parameter */
#define FEDC_TUNE_NAME_MAX 64          /* bytes of a parameter name, with the NUL */
#define FEDC_TUNE_CHOICE_MAX 256       /* bytes of one choice value, with the NUL */
#define FEDC_TUNE_SPACE_JSON_MAX (1 << 20)
#define FEDC_TUNE_MAX_BUDGET 10000     /* trials in one search (each one a federated run) */
#define FEDC_TUNE_MAX_RUNGS 8          /* ASHA rungs */

/* ---- Search space ------------------------------------------------------ */

typedef enum {
    FEDC_PARAM_FLOAT = 0, /* uniform in [min, max] */
    FEDC_PARAM_LOG_FLOAT, /* log-uniform in [min, max], min > 0 */
    FEDC_PARAM_INT,       /* integer in [min, max] */
    FEDC_PARAM_CHOICE,    /* one of values[] (numbers or strings) */
} fedc_param_type;

typedef struct fedc_tune_param {
    char name[FEDC_TUNE_NAME_MAX]; /* task field path ("local.lr") or "arch.*" */
    fedc_param_type type;
    double min, max;               /* FLOAT, LOG_FLOAT, INT */
    int nchoices;
    /* CHOICE: each value as JSON text ("32", "\"fedprox\""). */
    char choices[FEDC_TUNE_MAX_CHOICES][FEDC_TUNE_CHOICE_MAX];
    /* Conditional parameter: active only when parameter `parent` (an earlier
     * CHOICE or INT parameter, -1 = always active) takes one of the values
     * in `when` (choice index for CHOICE, the integer for INT). */
    int parent;
    int nwhen;
    double when[FEDC_TUNE_MAX_CHOICES];
} fedc_tune_param;

typedef struct fedc_tune_space fedc_tune_space;

/* Parses a space document (at most FEDC_TUNE_SPACE_JSON_MAX bytes):
 *   {"params": [{"name": "local.lr", "type": "log-float", "min": 1e-3, "max": 0.5},
 *               {"name": "strategy.name", "type": "choice", "values": ["fedavg", "fedprox"]},
 *               {"name": "strategy.mu", "type": "log-float", "min": 1e-3, "max": 1,
 *                "when": {"param": "strategy.name", "in": ["fedprox"]}}]}
 * `source` names the document in errors ("space.json"). Errors name the
 * parameter, the field, the bad value and what is allowed. */
FEDC_API fedc_tune_space *fedc_tune_space_from_json(const char *json, size_t len, const char *source,
                                                    fedc_error *err);
FEDC_API fedc_tune_space *fedc_tune_space_load(const char *path, fedc_error *err);
/* The default space for a task: learning rate log-uniform within x10 of the
 * task's, batch {16,32,64,128}, local epochs 1..5, momentum (SGD), clients
 * per round, strategy (fedavg/fedprox/fedavgm with mu, server momentum and
 * server lr), uplink codec, and the architecture of the task's family (MLP
 * depth and widths, or CNN channels, kernel and dense width). */
FEDC_API fedc_tune_space *fedc_tune_space_default(const fedc_task *t, fedc_error *err);
FEDC_API void fedc_tune_space_free(fedc_tune_space *s);
FEDC_API int fedc_tune_space_nparams(const fedc_tune_space *s);
FEDC_API const fedc_tune_param *fedc_tune_space_param(const fedc_tune_space *s, int i);
/* Canonical JSON of the space (malloc'd): parses back to the same space. */
FEDC_API char *fedc_tune_space_to_json(const fedc_tune_space *s);
/* Checks that every parameter applies to the task: each bound and each
 * choice, set alone on `base`, gives a valid task (arch.* parameters build a
 * valid model for n_classes). Errors name the parameter and the value. */
FEDC_API int fedc_tune_space_check(const fedc_tune_space *s, const fedc_task *base, int n_classes,
                                   fedc_error *err);

/* ---- Configurations ---------------------------------------------------- */

/* One point of a space: v[i] for parameter i (CHOICE: the value's index);
 * NAN when the parameter is inactive (its condition does not hold). */
typedef struct fedc_tune_config {
    int n;
    double v[FEDC_TUNE_MAX_PARAMS];
} fedc_tune_config;

/* 1 when parameter i is active given the values of its ancestors. */
FEDC_API int fedc_tune_config_active(const fedc_tune_space *s, const fedc_tune_config *c, int i);
/* {"local.lr": 0.0123, "local.batch": 64, "strategy.name": "fedprox", ...}
 * with the active parameters only (malloc'd). */
FEDC_API char *fedc_tune_config_to_json(const fedc_tune_space *s, const fedc_tune_config *c);
/* Reads a configuration (e.g. an LLM proposal or a stored trial): every
 * active parameter must be present and in range, inactive or unknown ones
 * are errors. */
FEDC_API int fedc_tune_config_from_json(const fedc_tune_space *s, const char *json, size_t len,
                                        fedc_tune_config *c, fedc_error *err);
/* Short human form, "lr=0.0123 batch=64 strategy=fedprox ...". */
FEDC_API void fedc_tune_config_describe(const fedc_tune_space *s, const fedc_tune_config *c, char *out,
                                        size_t cap);
/* The base task with the configuration applied (task fields through
 * fedc_task_set, arch.* through the model builder; n_classes is the last
 * layer's width, 0 = take it from the base model's last dense layer). The
 * result is validated. */
FEDC_API int fedc_tune_config_apply(const fedc_tune_space *s, const fedc_tune_config *c,
                                    const fedc_task *base, int n_classes, fedc_task *out, fedc_error *err);

/* The configuration a task has: each active parameter read from the task's
 * field (arch.* from its model spec). Fails, naming the parameter, when a
 * value is not allowed by the space. */
FEDC_API int fedc_tune_config_from_task(const fedc_tune_space *s, const fedc_task *t, fedc_tune_config *c,
                                        fedc_error *err);

/* ---- Objectives --------------------------------------------------------- */

/* What a trial has achieved when it reaches `rounds` rounds. The cost
 * figures are those of one run of the configuration up to `rounds` (not
 * the replays a search may cause). */
typedef struct fedc_tune_measure {
    int rounds;            /* rounds done */
    double accuracy, loss; /* the selection figure: validation accuracy and loss when the task holds a
                              validation split out (task.validation), else the test set's */
    uint64_t bytes;        /* bytes on the wire (up + down) of the trial's run so far */
    double cpu_s;          /* CPU seconds spent by this call (including any replay) */
    uint64_t bytes_up, bytes_down;
    double client_cpu_s;   /* measured client CPU seconds of the run (noisy on a shared machine) */
    double server_cpu_s;   /* measured server CPU seconds of the run */
    double wall_s;         /* wall seconds of the run's rounds */
    double client_gflop;   /* deterministic client compute: local steps x batch x training FLOPs per
                              sample (3 x the forward pass), summed over participants, in GFLOP */
    double test_accuracy;  /* test accuracy after `rounds` (equals accuracy without a validation split) */
    int validated;         /* 1 when accuracy is the validation figure */
} fedc_tune_measure;

/* The thing a search optimises (higher accuracy is better). advance() brings
 * trial `trial` with configuration `cfg` (applied to the base task as
 * `task`; NULL when the search has no base task) to `rounds` rounds in
 * total. *state is NULL the first time, and again when the search dropped
 * the trial's state to save memory: the objective then starts over (or
 * replays) from round 0. advance() is called from several threads at once,
 * for different trials; threads is how many threads this trial may use.
 * Returns 0, or -1 with err (the trial is then marked failed). */
typedef struct fedc_tune_objective {
    int (*advance)(void *ctx, int trial, const fedc_task *task, const fedc_tune_config *cfg,
                   int rounds, int threads, void **state, fedc_tune_measure *out, fedc_error *err);
    /* Bytes held by a kept state (for the search's memory cap); may be NULL. */
    size_t (*state_bytes)(void *ctx, const void *state);
    /* Frees a state; may be NULL when advance() never keeps one. */
    void (*release)(void *ctx, void *state);
    void *ctx;
} fedc_tune_objective;

/* The federated simulation as an objective: each trial is a fedc_run over
 * the simulation transport with the shared datasets (borrowed; they must
 * outlive the objective). A trial's run stays alive between ASHA rungs, so a
 * promoted trial continues from its model; if the search dropped it, it is
 * re-run from round 0, which gives the same model (runs are deterministic in
 * the task seed). stop, if non-NULL, is polled between rounds: when it
 * becomes non-zero, advance() fails with "interrupted". */
typedef struct fedc_tune_fl fedc_tune_fl;
FEDC_API fedc_tune_fl *fedc_tune_fl_create(const fedc_dataset *train, const fedc_dataset *test,
                                           const volatile int *stop, fedc_error *err);
FEDC_API void fedc_tune_fl_free(fedc_tune_fl *fl);
FEDC_API fedc_tune_objective fedc_tune_fl_objective(fedc_tune_fl *fl);
/* A trial's accuracy is the mean over its last `last` evaluated rounds
 * (1..1000, default 1: the final accuracy) of `seeds` runs (1..16, default
 * 1) with seeds task.seed, task.seed + 1, ...: with non-IID data the final
 * accuracy of one run swings with the last rounds' participants, and a
 * search on one noisy figure picks lucky settings. Cost grows with seeds. */
FEDC_API int fedc_tune_fl_configure(fedc_tune_fl *fl, int seeds, int last, fedc_error *err);
/* "fl seeds=S last=L": put in fedc_tune_options.objective, so a search is
 * resumed only with the same objective; parse it back with the function
 * below (0, or -1 if the text is not such a description). */
FEDC_API void fedc_tune_fl_describe(const fedc_tune_fl *fl, char *out, size_t cap);
FEDC_API int fedc_tune_fl_parse_description(const char *text, int *seeds, int *last);

/* ---- Searches ----------------------------------------------------------- */

typedef enum {
    FEDC_TUNE_RANDOM = 0, /* every trial to max_rounds, configurations at random */
    FEDC_TUNE_ASHA,       /* successive halving: weak trials stop at a low rung */
    FEDC_TUNE_TPE,        /* every trial to max_rounds, TPE after `startup` random ones */
    FEDC_TUNE_ASHA_TPE,   /* ASHA whose new trials come from TPE */
} fedc_tune_method;
/* "random" | "asha" | "tpe" | "asha-tpe"; -1 if unknown. */
FEDC_API int fedc_tune_method_parse(const char *s, fedc_tune_method *out);
FEDC_API const char *fedc_tune_method_name(fedc_tune_method m);

/* Proposer of configurations from the history of trials (the LLM backend).
 * history_json: {"objective": "maximise test accuracy after N rounds",
 * "space": {space JSON}, "task": {base task} or null, "trials": [{"trial",
 * "config", "status", "rounds", "accuracy"}, ...]}. Writes a malloc'd configuration JSON
 * (as fedc_tune_config_to_json) to *config_json, or returns -1 with err.
 * Proposals are checked like every configuration and task; a rejected one
 * is replaced by the method's own sample (the reason is recorded). */
typedef int (*fedc_tune_propose_fn)(void *ctx, const char *history_json, char **config_json,
                                    fedc_error *err);

/* What a search optimises. */
typedef enum {
    FEDC_TUNE_GOAL_ACCURACY = 0, /* the highest accuracy at any cost */
    FEDC_TUNE_GOAL_BUDGET,       /* "accuracy@budget": the highest accuracy whose client compute and bytes stay
                                    within max_client_cpu and max_bytes */
    FEDC_TUNE_GOAL_PARETO,       /* the non-dominated trials over accuracy and the costs in pareto_axes */
} fedc_tune_goal;
/* "accuracy" | "accuracy@budget" | "pareto"; -1 if unknown. */
FEDC_API int fedc_tune_goal_parse(const char *s, fedc_tune_goal *out);
FEDC_API const char *fedc_tune_goal_name(fedc_tune_goal g);

/* A cost limit: off, relative to the base task's trial ("2x"), or absolute. */
typedef enum {
    FEDC_TUNE_LIMIT_OFF = 0,
    FEDC_TUNE_LIMIT_RELATIVE, /* value x the base trial's cost per round */
    FEDC_TUNE_LIMIT_GFLOP,    /* client compute (client_gflop) per run */
    FEDC_TUNE_LIMIT_SECONDS,  /* measured client CPU seconds per run (noisy) */
    FEDC_TUNE_LIMIT_BYTES,    /* bytes per run */
} fedc_tune_limit_unit;
typedef struct fedc_tune_limit {
    fedc_tune_limit_unit unit;
    double value;
} fedc_tune_limit;
/* Parses a limit: "2x" / "0.5x" (relative), and for client CPU "500gflop"
 * or "30s", for bytes "400000000", "400MB", "1.5GB" (powers of 1000).
 * bytes = 1 for --max-bytes, 0 for --max-client-cpu. Errors name the flag. */
FEDC_API int fedc_tune_limit_parse(const char *text, int bytes, fedc_tune_limit *out, fedc_error *err);
/* "2x", "500gflop", "30s", "400000000B", "off". */
FEDC_API void fedc_tune_limit_format(const fedc_tune_limit *l, char *out, size_t cap);

/* Cost axes of the pareto goal (accuracy is always one). */
#define FEDC_TUNE_AXIS_CLIENT 1u /* client compute (client_gflop) */
#define FEDC_TUNE_AXIS_BYTES 2u  /* bytes up + down */
#define FEDC_TUNE_AXIS_WALL 4u   /* wall seconds (measured: noisy) */
/* "client-cpu,bytes,wall" (any subset, comma-separated) -> mask; -1 on error. */
FEDC_API int fedc_tune_axes_parse(const char *s, unsigned *out, fedc_error *err);

typedef struct fedc_tune_trial fedc_tune_trial;
typedef void (*fedc_tune_progress_fn)(void *ctx, const fedc_tune_trial *t, int rung);

typedef struct fedc_tune_options {
    fedc_tune_method method;
    int budget;        /* trials (configurations tried), 1..FEDC_TUNE_MAX_BUDGET */
    uint64_t seed;     /* search seed: the same seed gives the same search */
    int max_rounds;    /* rounds of a full trial; 0 = the task's rounds */
    int min_rounds;    /* ASHA first rung; 0 = max(1, max_rounds / eta^3) */
    int eta;           /* ASHA reduction factor; 0 = 3 */
    int startup;       /* TPE random warm-up trials; 0 = min(10, max(4, budget / 4)) */
    double gamma;      /* TPE share of trials that are "good"; 0 = 0.25 */
    int candidates;    /* TPE candidates drawn from l(x) per proposal; 0 = 24 */
    int wave;          /* ASHA/TPE decisions taken together; 0 = 4. Results depend
                          on the wave, never on `parallel` or timing. */
    int parallel;      /* trials run at once; 0 = CPU count */
    size_t keep_bytes; /* memory for paused trials' state (ASHA); 0 = 1 GiB */
    int n_classes;     /* classes for arch.* models; 0 = from the base model */
    int include_base;  /* trial 0 runs the base task's own setting (source "base") when the
                          space holds it, so the leaderboard shows what tuning gained */
    char objective[64]; /* what the objective measures (fedc_tune_fl_describe); stored, and a
                           resumed search must have the same */
    const volatile int *stop; /* polled between jobs; non-zero = stop (resumable) */
    fedc_tune_progress_fn progress; /* after every finished job; may be NULL */
    void *progress_ctx;
    fedc_tune_propose_fn propose;   /* optional proposer (LLM) */
    void *propose_ctx;
    int propose_every; /* ask the proposer for every k-th new trial after warm-up; 0 = 2 */
    fedc_tune_goal goal;           /* default accuracy */
    fedc_tune_limit max_client_cpu; /* accuracy@budget: client compute limit */
    fedc_tune_limit max_bytes;      /* accuracy@budget: bytes limit */
    unsigned pareto_axes;           /* pareto: FEDC_TUNE_AXIS_*; 0 = client compute and bytes */
} fedc_tune_options;

typedef enum {
    FEDC_TRIAL_PENDING = 0, /* not started */
    FEDC_TRIAL_PAUSED,      /* reached a rung, may be promoted */
    FEDC_TRIAL_STOPPED,     /* stopped early (ASHA) */
    FEDC_TRIAL_COMPLETE,    /* reached max_rounds */
    FEDC_TRIAL_FAILED,      /* config invalid or run failed */
} fedc_trial_status;
FEDC_API const char *fedc_trial_status_name(fedc_trial_status s);

struct fedc_tune_trial {
    int id;                 /* 0-based, in order of creation */
    fedc_tune_config config;
    char source[16];        /* "base" | "random" | "tpe" | "llm" */
    fedc_trial_status status;
    int rung;               /* highest rung reached; -1 = none */
    fedc_tune_measure at[FEDC_TUNE_MAX_RUNGS]; /* per rung (cpu_s: cumulative) */
    int rounds;             /* rounds reached */
    double accuracy, loss;  /* at `rounds` */
    uint64_t bytes;
    double cpu_s;           /* all CPU spent on this trial */
    char error[256];        /* why it failed, or why a proposal was rejected */
    fedc_tune_measure last; /* the costs and figures at `rounds` */
    /* Set by the search after every wave (fedc_tune_search_rank): */
    int pareto_rank;        /* 1 = on the Pareto front of the complete trials; 0 = not ranked */
    double crowding;        /* NSGA-II crowding distance within its front (INFINITY at the ends) */
    int feasible;           /* accuracy@budget: within the limits (1), over (0), unknown yet (-1) */
};

typedef struct fedc_tune_search fedc_tune_search;
typedef struct fedc_tune_store fedc_tune_store;

/* A search of `space` around `base` (may be NULL for pure-function
 * objectives). The space is borrowed and must outlive the search. */
FEDC_API fedc_tune_search *fedc_tune_search_create(const fedc_tune_space *space, const fedc_task *base,
                                                   const fedc_tune_options *opt,
                                                   const fedc_tune_objective *obj, fedc_error *err);
FEDC_API void fedc_tune_search_free(fedc_tune_search *s);
/* Records the search in the store (a new search id), or, with resume_id >
 * 0, continues that stored search: its finished jobs are read back instead
 * of run. The store's search must have the same space, task, method and
 * search options (the budget may grow). Call before fedc_tune_search_run. */
FEDC_API int fedc_tune_search_attach(fedc_tune_search *s, fedc_tune_store *store, int64_t resume_id,
                                     fedc_error *err);
FEDC_API int64_t fedc_tune_search_id(const fedc_tune_search *s); /* 0 without a store */
/* Runs until the budget is spent (or opt.stop). Returns 0, or -1 when the
 * search could not go on (store error, interruption: err says which). */
FEDC_API int fedc_tune_search_run(fedc_tune_search *s, fedc_error *err);

FEDC_API int fedc_tune_search_ntrials(const fedc_tune_search *s);
FEDC_API const fedc_tune_trial *fedc_tune_search_trial(const fedc_tune_search *s, int i);
/* Best trial that reached max_rounds: the highest accuracy (then fewer
 * bytes, then lower id) — for accuracy@budget among the trials within the
 * limits only, for pareto the accuracy end of the front; -1 when none. */
FEDC_API int fedc_tune_search_best(const fedc_tune_search *s);
/* The best trial's task, ready to run (name suffixed "-tuned"). */
FEDC_API int fedc_tune_search_best_task(const fedc_tune_search *s, fedc_task *out, fedc_error *err);
/* The Pareto front of the complete trials (by the search's pareto axes, or
 * client compute and bytes for the other goals), ordered by client compute
 * then id: writes up to cap trial ids, returns how many are on it. */
FEDC_API int fedc_tune_search_front(const fedc_tune_search *s, int *ids, int cap);
/* The limits resolved to absolute values per run (client GFLOP or seconds,
 * bytes; INFINITY = none or not known yet). Returns 1 when both are known. */
FEDC_API int fedc_tune_search_limits(const fedc_tune_search *s, double *client, double *bytes);

/* Non-dominated sorting (NSGA-II, Deb et al. 2002) of n points with m
 * objectives, all to be minimised: rank[i] = 1 for the front, 2 for the
 * front once the first is removed, ...; crowding[i] within its front
 * (INFINITY for the extremes of any objective). Returns 0, -1 out of memory. */
FEDC_API int fedc_tune_pareto_sort(const double *points, int n, int m, int *rank, double *crowding);

/* ASHA rung sizes in rounds; returns how many (1 for random and TPE). */
FEDC_API int fedc_tune_search_rungs(const fedc_tune_search *s, int *rounds_out);
FEDC_API const fedc_tune_space *fedc_tune_search_space(const fedc_tune_search *s);
FEDC_API const fedc_tune_options *fedc_tune_search_options(const fedc_tune_search *s);
/* Totals over all trials: rounds run (replays included), CPU seconds, and
 * how many jobs were read back from the store instead of run. */
FEDC_API void fedc_tune_search_totals(const fedc_tune_search *s, long *rounds, double *cpu_s, int *reused);

/* ---- Proposals from the LLM backend (fedc/intent.h) ---------------------- */

typedef struct fedc_llm_config fedc_llm_config;
/* The plain-language request a proposal starts from (malloc'd, at most
 * FEDC_INTENT_REQUEST_MAX bytes): the goal, the task, the settings that may
 * change with their allowed values, and as many trials as fit, best first.
 * history_json is what the search passes to a fedc_tune_propose_fn. */
FEDC_API char *fedc_tune_llm_request(const char *history_json, fedc_error *err);
/* A fedc_tune_propose_fn whose ctx is a const fedc_llm_config *: sends the
 * request through fedc_intent_parse_llm (answers validated as task specs and
 * repaired from the validator's messages) and proposes the returned task's
 * values of the space's parameters. */
FEDC_API int fedc_tune_llm_propose(void *ctx, const char *history_json, char **config_json, fedc_error *err);

/* ---- Reports ------------------------------------------------------------ */

/* Leaderboard: trials that went furthest first, then by accuracy. JSON (for
 * the web app): {"search": id, "method", "budget", "seed", "max_rounds",
 * "objective", "rungs": [rounds...], "best": trial id or null,
 * "total_rounds", "total_cpu_s", "reused", "trials": [{"rank", "trial",
 * "status", "source", "rounds", "accuracy", "loss", "bytes", "cpu_s",
 * "config": {...}, "rungs": [{"rounds", "accuracy", "loss", "bytes",
 * "cpu_s"}...], "client_gflop", "client_cpu_s", "server_cpu_s", "bytes_up",
 * "bytes_down", "wall_s", "test_accuracy" (every trial when selected on the
 * test set, the best alone when selected on validation), "pareto_rank",
 * "feasible" (accuracy@budget), "error"?}, ...], "goal", "selected_on",
 * "best_test_accuracy", "budget"? {limits}, "pareto_axes", "front": [trial
 * ids by client compute]} (malloc'd). */
FEDC_API char *fedc_tune_leaderboard_json(const fedc_tune_search *s);
/* The Pareto front as a text table (trial, accuracy, client GFLOP and CPU
 * seconds, bytes, wall seconds, configuration). */
FEDC_API void fedc_tune_front_print(const fedc_tune_search *s, FILE *f);
/* Text table of the top `max_rows` trials (0 = all). */
FEDC_API void fedc_tune_leaderboard_print(const fedc_tune_search *s, FILE *f, int max_rows);
FEDC_API int fedc_tune_leaderboard_csv(const fedc_tune_search *s, const char *path, fedc_error *err);
/* SVG plot of accuracy against trial (points by status, running best). */
FEDC_API int fedc_tune_plot_svg(const fedc_tune_search *s, const char *path, fedc_error *err);

/* ---- Store --------------------------------------------------------------- */

/* The SQLite (WAL) file that records searches, trials and per-rung metrics.
 * Tables tune_search, tune_trial, tune_rung: see docs/tune.md. */
FEDC_API fedc_tune_store *fedc_tune_store_open(const char *path, fedc_error *err);
FEDC_API void fedc_tune_store_close(fedc_tune_store *st);
/* The definition of stored search `id`, to resume it: its space (free with
 * fedc_tune_space_free), base task and options (method, budget, seed and
 * the rest; callbacks and `parallel` are left zero). */
FEDC_API int fedc_tune_store_get_search(fedc_tune_store *st, int64_t id, fedc_tune_space **space,
                                        fedc_task *task, fedc_tune_options *opt, fedc_error *err);
/* Searches, newest first: [{"id", "created", "method", "budget", "seed",
 * "status", "trials", "best_accuracy", "task_name"}, ...] (malloc'd). */
FEDC_API char *fedc_tune_store_list_json(fedc_tune_store *st, fedc_error *err);
/* One search as stored: options, space, task, best task and every trial
 * with its rungs (malloc'd); NULL with err when there is no such search. */
FEDC_API char *fedc_tune_store_search_json(fedc_tune_store *st, int64_t id, fedc_error *err);

#endif
