/* fedc tune TASK.json: hyperparameter and architecture search by running
 * the task in simulation (rounds are the resource), recorded in an SQLite
 * store so it can be resumed; writes a leaderboard, the best task spec and
 * a plot of accuracy against trial. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/data.h"
#include "fedc/engine.h"
#include "fedc/intent.h"
#include "fedc/log.h"
#include "fedc/timer.h"
#include "fedc/tune.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc tune TASK.json [options]\n"
            "  --space FILE       search space JSON (default: derived from the task; docs/tune.md)\n"
            "  --budget N         trials, i.e. configurations tried (default 16)\n"
            "  --method M         random | asha | tpe | asha-tpe (default tpe)\n"
            "  --rounds R         rounds of a full trial (default: the task's rounds)\n"
            "  --min-rounds R     ASHA: rounds of the first rung (default rounds/eta^3)\n"
            "  --eta E            ASHA: reduction factor (default 3)\n"
            "  --startup N        TPE: random trials before the model takes over\n"
            "  --wave W           decisions taken together (default 4); results depend on it,\n"
            "                     never on --parallel\n"
            "  --seed S           search seed (default 1)\n"
            "  --parallel P       trials run at once (default: all cores; each trial then\n"
            "                     trains with cores/P threads)\n"
            "  --keep-mb MB       memory for paused ASHA trials (default 1024)\n"
            "  --trial-seeds K    a trial's accuracy is the mean of K runs with seeds SEED..SEED+K-1\n"
            "                     (default 1); costs K times more, picks settings that transfer\n"
            "  --last-rounds L    ... and of each run's last L evaluated rounds (default 3), not the\n"
            "                     final round alone, which swings with non-IID participants\n"
            "  --objective O      accuracy (default) | accuracy@budget | pareto\n"
            "  --max-client-cpu L accuracy@budget: client compute limit, \"2x\" the base task's, \"500gflop\"\n"
            "                     (deterministic count) or \"30s\" (measured CPU seconds)\n"
            "  --max-bytes L      accuracy@budget: bytes limit, \"0.5x\" the base task's, or \"400MB\"\n"
            "  --pareto-axes A    pareto: costs against accuracy, of client-cpu,bytes,wall\n"
            "                     (default client-cpu,bytes)\n"
            "  --db FILE          SQLite store of searches and trials (default OUT/fedc.db with --out,\n"
            "                     else fedc.db)\n"
            "  --resume ID        continue search ID from the store (finished trials are not rerun)\n"
            "  --out DIR          leaderboard.{json,csv}, best-task.json, trials.svg, space.json\n"
            "                     (default runs/tune-ID)\n"
            "  --set PATH=VALUE   override a field of the base task (repeatable)\n"
            "  --llm              let the LLM backend propose trials after the warm-up (endpoint from\n"
            "                     FEDC_LLM_URL, FEDC_LLM_MODEL, FEDC_LLM_KEY; see docs/intent.md)\n"
            "  --llm-every K      ask it for every K-th new trial (default 2)\n"
            "  --no-base          do not run the task's own setting as trial 0 (the baseline)\n"
            "  --print-space      print the search space in use and exit\n"
            "  --top N            leaderboard rows to print (default 10)\n"
            "  --quiet            no line per finished trial\n"
            "  --verbose          show the engine's warnings (clients dropped by diverging trials, ...)\n");
}

static volatile sig_atomic_t g_stop;
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "the stop flag is read as an int");

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

static int parse_long(const char *opt, const char *text, long lo, long hi, long *out) {
    return fedc_cli_long("tune", opt, text, lo, hi, out);
}

typedef struct progress {
    const fedc_tune_space *space;
    int nrungs;
    int rungs[FEDC_TUNE_MAX_RUNGS];
    int quiet;
    double t0;
} progress;

static void on_progress(void *ctx, const fedc_tune_trial *t, int rung) {
    progress *p = ctx;
    if (p->quiet) return;
    char cfg[320];
    fedc_tune_config_describe(p->space, &t->config, cfg, sizeof cfg);
    if (t->status == FEDC_TRIAL_FAILED)
        printf("%7.1fs  trial %3d  failed at %d rounds: %.160s\n", fedc_wall_s() - p->t0, t->id, p->rungs[rung],
               t->error);
    else
        printf("%7.1fs  trial %3d  %4d rounds  acc %.4f  cpu %7.1fs  %-6s %s\n", fedc_wall_s() - p->t0, t->id,
               t->rounds, t->accuracy, t->cpu_s, t->source, cfg);
    fflush(stdout);
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fputc('\n', f);
    return fclose(f);
}

typedef struct cli {
    const char *task_path, *space_path, *db, *out_dir;
    char **sets;
    int nsets;
    long budget, rounds, min_rounds, eta, startup, wave, parallel, keep_mb, top, resume, llm_every;
    long trial_seeds, last_rounds;
    long long seed;
    const char *method, *objective, *max_client_cpu, *max_bytes, *pareto_axes;
    int quiet, verbose, print_space, llm, no_base;
} cli;

static int parse_args(int argc, char **argv, cli *c) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define NUM(flag, field, lo, hi)                                               \
    if (!strcmp(a, flag)) {                                                    \
        if (!v) break;                                                         \
        if (parse_long(flag, v, lo, hi, &x) != 0) return 2;                    \
        c->field = x;                                                          \
        i++;                                                                   \
        continue;                                                              \
    }
        NUM("--budget", budget, 1, FEDC_TUNE_MAX_BUDGET)
        NUM("--rounds", rounds, 1, 1000000)
        NUM("--min-rounds", min_rounds, 1, 1000000)
        NUM("--eta", eta, 2, 100)
        NUM("--startup", startup, 1, FEDC_TUNE_MAX_BUDGET)
        NUM("--wave", wave, 1, 10000)
        NUM("--parallel", parallel, 1, 1024)
        NUM("--keep-mb", keep_mb, 1, 1L << 30)
        NUM("--top", top, 0, FEDC_TUNE_MAX_BUDGET)
        NUM("--resume", resume, 1, LONG_MAX)
        NUM("--llm-every", llm_every, 1, FEDC_TUNE_MAX_BUDGET)
        NUM("--trial-seeds", trial_seeds, 1, 16)
        NUM("--last-rounds", last_rounds, 1, 1000)
#undef NUM
        if (!strcmp(a, "--seed") && v) {
            if (parse_long("--seed", v, 0, LONG_MAX, &x) != 0) return 2;
            c->seed = x;
            i++;
        } else if (!strcmp(a, "--space") && v) {
            c->space_path = argv[++i];
        } else if (!strcmp(a, "--method") && v) {
            c->method = argv[++i];
        } else if (!strcmp(a, "--objective") && v) {
            c->objective = argv[++i];
        } else if (!strcmp(a, "--max-client-cpu") && v) {
            c->max_client_cpu = argv[++i];
        } else if (!strcmp(a, "--max-bytes") && v) {
            c->max_bytes = argv[++i];
        } else if (!strcmp(a, "--pareto-axes") && v) {
            c->pareto_axes = argv[++i];
        } else if (!strcmp(a, "--db") && v) {
            c->db = argv[++i];
        } else if (!strcmp(a, "--out") && v) {
            c->out_dir = argv[++i];
        } else if (!strcmp(a, "--set") && v) {
            c->sets[c->nsets++] = argv[++i];
        } else if (!strcmp(a, "--llm")) {
            c->llm = 1;
        } else if (!strcmp(a, "--no-base")) {
            c->no_base = 1;
        } else if (!strcmp(a, "--print-space")) {
            c->print_space = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            c->quiet = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            c->verbose = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fedc tune: unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        } else if (!c->task_path) {
            c->task_path = a;
        } else {
            fprintf(stderr, "fedc tune: one task file expected, got '%s' too\n", a);
            return 2;
        }
    }
    return 0;
}

/* On resume, options given on the command line must agree with the store. */
static int check_same(const char *what, long given, long stored, long id) {
    if (given < 0 || given == stored) return 0;
    fprintf(stderr, "fedc tune: --%s %ld differs from search %ld's %ld; a search resumes with its own definition\n",
            what, given, id, stored);
    return -1;
}

int fedc_cmd_tune(int argc, char **argv) {
    cli c = {0};
    c.sets = calloc((size_t)argc + 1, sizeof *c.sets);
    if (!c.sets) {
        fprintf(stderr, "fedc tune: out of memory\n");
        return 1;
    }
    c.budget = c.rounds = c.min_rounds = c.eta = c.startup = c.wave = c.parallel = c.keep_mb = c.seed = -1;
    c.trial_seeds = c.last_rounds = -1;
    c.top = 10;
    int rc = parse_args(argc, argv, &c);
    if (rc != 0) {
        free(c.sets);
        return rc == 1 ? 0 : rc;
    }
    /* With --out, everything the search writes goes there, its store too. */
    char db_in_out[1100];
    if (!c.db && c.out_dir) {
        if (mkdirs(c.out_dir) != 0) {
            fprintf(stderr, "fedc tune: cannot create %s: %s\n", c.out_dir, strerror(errno));
            free(c.sets);
            return 1;
        }
        snprintf(db_in_out, sizeof db_in_out, "%s/fedc.db", c.out_dir);
        c.db = db_in_out;
    }
    if (!c.db) c.db = "fedc.db";
    fedc_error err;
    fedc_task task;
    fedc_tune_space *space = NULL;
    fedc_tune_store *store = NULL;
    fedc_tune_search *search = NULL;
    fedc_tune_fl *fl = NULL;
    fedc_dataset train = {0}, test = {0};
    fedc_tune_options opt;
    memset(&opt, 0, sizeof opt);
    rc = 1;

    if (c.resume > 0) {
        if (!(store = fedc_tune_store_open(c.db, &err))) goto fail;
        if (fedc_tune_store_get_search(store, c.resume, &space, &task, &opt, &err) != 0) goto fail;
        fedc_tune_method m = opt.method;
        if (c.method && (fedc_tune_method_parse(c.method, &m) != 0 || m != opt.method)) {
            fprintf(stderr, "fedc tune: --method %s differs from search %ld's %s; a search resumes with its own "
                            "definition\n",
                    c.method, c.resume, fedc_tune_method_name(opt.method));
            goto out;
        }
        if (check_same("seed", (long)c.seed, (long)opt.seed, c.resume) ||
            check_same("rounds", c.rounds, opt.max_rounds, c.resume) ||
            check_same("min-rounds", c.min_rounds, opt.min_rounds, c.resume) ||
            check_same("eta", c.eta, opt.eta, c.resume) || check_same("startup", c.startup, opt.startup, c.resume) ||
            check_same("wave", c.wave, opt.wave, c.resume))
            goto out;
        if (c.objective || c.max_client_cpu || c.max_bytes || c.pareto_axes) {
            fprintf(stderr, "fedc tune: search %ld keeps its objective (%s); leave out --objective, --max-client-cpu, "
                            "--max-bytes and --pareto-axes when resuming\n",
                    c.resume, fedc_tune_goal_name(opt.goal));
            goto out;
        }
        if (c.no_base && opt.include_base) {
            fprintf(stderr, "fedc tune: search %ld runs the base task as trial 0; --no-base cannot change that\n",
                    c.resume);
            goto out;
        }
        int st_seeds, st_last;
        if (fedc_tune_fl_parse_description(opt.objective, &st_seeds, &st_last) != 0) {
            fprintf(stderr, "fedc tune: search %ld's objective \"%s\" is not the federated simulation's\n", c.resume,
                    opt.objective);
            goto out;
        }
        if (check_same("trial-seeds", c.trial_seeds, st_seeds, c.resume) ||
            check_same("last-rounds", c.last_rounds, st_last, c.resume))
            goto out;
        c.trial_seeds = st_seeds;
        c.last_rounds = st_last;
        if (c.task_path || c.nsets || c.space_path) {
            fprintf(stderr, "fedc tune: --resume takes the task and the space from the store; leave out TASK.json, "
                            "--set and --space\n");
            goto out;
        }
    } else {
        if (fedc_cli_load_task(c.task_path, c.sets, c.nsets, &task) != 0) goto out;
        if (c.method && fedc_tune_method_parse(c.method, &opt.method) != 0) {
            fprintf(stderr, "fedc tune: --method: \"%s\" is not known; allowed: random, asha, tpe, asha-tpe\n",
                    c.method);
            goto out;
        }
        if (!c.method) opt.method = FEDC_TUNE_TPE;
        if (c.objective && fedc_tune_goal_parse(c.objective, &opt.goal) != 0) {
            fprintf(stderr, "fedc tune: --objective: \"%s\" is not known; allowed: accuracy, accuracy@budget, pareto\n",
                    c.objective);
            goto out;
        }
        if ((c.max_client_cpu && fedc_tune_limit_parse(c.max_client_cpu, 0, &opt.max_client_cpu, &err) != 0) ||
            (c.max_bytes && fedc_tune_limit_parse(c.max_bytes, 1, &opt.max_bytes, &err) != 0) ||
            (c.pareto_axes && fedc_tune_axes_parse(c.pareto_axes, &opt.pareto_axes, &err) != 0))
            goto fail;
        opt.include_base = !c.no_base;
        opt.budget = 16;
        opt.seed = c.seed >= 0 ? (uint64_t)c.seed : 1;
        if (c.rounds > 0) opt.max_rounds = (int)c.rounds;
        if (c.min_rounds > 0) opt.min_rounds = (int)c.min_rounds;
        if (c.eta > 0) opt.eta = (int)c.eta;
        if (c.startup > 0) opt.startup = (int)c.startup;
        if (c.wave > 0) opt.wave = (int)c.wave;
        space = c.space_path ? fedc_tune_space_load(c.space_path, &err) : fedc_tune_space_default(&task, &err);
        if (!space) goto fail;
    }
    fedc_llm_config llm;
    if (c.llm) {
        fedc_llm_config_init(&llm);
        if (fedc_llm_config_check(&llm, &err) != 0) goto fail;
        opt.propose = fedc_tune_llm_propose;
        opt.propose_ctx = &llm;
        if (c.llm_every > 0) opt.propose_every = (int)c.llm_every;
    }
    if (c.budget > 0) opt.budget = (int)c.budget;
    if (c.parallel > 0) opt.parallel = (int)c.parallel;
    if (c.keep_mb > 0) opt.keep_bytes = (size_t)c.keep_mb << 20;

    if (c.print_space) {
        char *sj = fedc_tune_space_to_json(space);
        printf("%s\n", sj);
        free(sj);
        rc = 0;
        goto out;
    }

    /* The data, loaded once for every trial. */
    double t0 = fedc_wall_s();
    if (fedc_task_dataset_load(&task, 1, NULL, &train, &err) != 0 ||
        fedc_task_dataset_load(&task, 0, NULL, &test, &err) != 0)
        goto fail;
    opt.n_classes = train.n_classes;
    /* A search tries bad settings on purpose: their clients' warnings
     * (non-finite updates, ...) would drown the progress lines. */
    if (!c.verbose && fedc_log_get_level() < FEDC_LOG_ERROR) fedc_log_set_level(FEDC_LOG_ERROR);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    opt.stop = (const volatile int *)&g_stop;
    if (!(fl = fedc_tune_fl_create(&train, &test, opt.stop, &err))) goto fail;
    if (fedc_tune_fl_configure(fl, c.trial_seeds > 0 ? (int)c.trial_seeds : 1,
                               c.last_rounds > 0 ? (int)c.last_rounds : 3, &err) != 0)
        goto fail;
    fedc_tune_fl_describe(fl, opt.objective, sizeof opt.objective);
    fedc_tune_objective obj = fedc_tune_fl_objective(fl);
    progress pr = {space, 0, {0}, c.quiet, t0};
    opt.progress = on_progress;
    opt.progress_ctx = &pr;
    if (!(search = fedc_tune_search_create(space, &task, &opt, &obj, &err))) goto fail;
    pr.nrungs = fedc_tune_search_rungs(search, pr.rungs);
    if (!store && !(store = fedc_tune_store_open(c.db, &err))) goto fail;
    if (fedc_tune_search_attach(search, store, c.resume > 0 ? c.resume : 0, &err) != 0) goto fail;
    const fedc_tune_options *eo = fedc_tune_search_options(search);
    long long id = (long long)fedc_tune_search_id(search);

    char dir[768];
    if (c.out_dir) snprintf(dir, sizeof dir, "%s", c.out_dir);
    else snprintf(dir, sizeof dir, "runs/tune-%lld", id);
    if (mkdirs(dir) != 0) {
        fprintf(stderr, "fedc tune: cannot create %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (!c.quiet) {
        char rungs[128] = "";
        for (int r = 0; r < pr.nrungs; r++)
            snprintf(rungs + strlen(rungs), sizeof rungs - strlen(rungs), "%s%d", r ? "," : "", pr.rungs[r]);
        printf("fedc tune: search %lld (%s) in %s | %s: %d trials, rounds %s, seed %" PRIu64
               " | %d parameters | %d at once | data loaded in %.1fs\n",
               id, c.resume > 0 ? "resumed" : "new", c.db, fedc_tune_method_name(eo->method), eo->budget, rungs,
               eo->seed, fedc_tune_space_nparams(space), eo->parallel, fedc_wall_s() - t0);
    }
    int run_rc = fedc_tune_search_run(search, &err);
    if (run_rc != 0) fprintf(stderr, "fedc: %s\n", err.msg);

    /* Reports, also for an interrupted search (what is known so far). */
    char path[1024];
    char *text = fedc_tune_leaderboard_json(search);
    snprintf(path, sizeof path, "%s/leaderboard.json", dir);
    if (!text || write_text(path, text) != 0) fprintf(stderr, "fedc tune: cannot write %s\n", path);
    free(text);
    snprintf(path, sizeof path, "%s/leaderboard.csv", dir);
    if (fedc_tune_leaderboard_csv(search, path, &err) != 0) fprintf(stderr, "fedc tune: %s\n", err.msg);
    snprintf(path, sizeof path, "%s/trials.svg", dir);
    if (fedc_tune_plot_svg(search, path, &err) != 0) fprintf(stderr, "fedc tune: %s\n", err.msg);
    text = fedc_tune_space_to_json(space);
    snprintf(path, sizeof path, "%s/space.json", dir);
    if (!text || write_text(path, text) != 0) fprintf(stderr, "fedc tune: cannot write %s\n", path);
    free(text);
    fedc_task best;
    int have_best = fedc_tune_search_best_task(search, &best, &err) == 0;
    if (have_best) {
        text = fedc_task_to_json(&best, 1);
        snprintf(path, sizeof path, "%s/best-task.json", dir);
        if (!text || write_text(path, text) != 0) fprintf(stderr, "fedc tune: cannot write %s\n", path);
        free(text);
    }
    printf("\n");
    fedc_tune_leaderboard_print(search, stdout, (int)c.top);
    printf("\n");
    fedc_tune_front_print(search, stdout);
    long rounds;
    double cpu;
    int reused;
    fedc_tune_search_totals(search, &rounds, &cpu, &reused);
    printf("\n%d trials, %ld rounds, %.1f CPU s, %.1f s wall", fedc_tune_search_ntrials(search), rounds, cpu,
           fedc_wall_s() - t0);
    if (reused) printf(" (%d results read back from the store)", reused);
    printf("\n");
    if (have_best) {
        const fedc_tune_trial *b = fedc_tune_search_trial(search, fedc_tune_search_best(search));
        printf("best (%s): trial %d, %s accuracy %.4f (mean of the last %ld evaluated rounds of %ld run(s)) after %d "
               "rounds",
               fedc_tune_goal_name(eo->goal), b->id, b->last.validated ? "validation" : "test", b->accuracy,
               c.last_rounds > 0 ? c.last_rounds : 3, c.trial_seeds > 0 ? c.trial_seeds : 1, b->rounds);
        if (b->last.validated) printf("; test accuracy %.4f", b->last.test_accuracy);
        printf("\n      client compute %.1f GFLOP, %.1f client CPU s, %.1f MB\n"
               "      -> %s/best-task.json (fedc sim %s/best-task.json)\n",
               b->last.client_gflop, b->last.client_cpu_s, (double)b->bytes / 1e6, dir, dir);
    } else if (eo->goal == FEDC_TUNE_GOAL_BUDGET) {
        printf("no trial within the budget has reached the full %d rounds\n", eo->max_rounds);
    } else {
        printf("no trial has reached the full %d rounds yet\n", eo->max_rounds);
    }
    printf("reports: %s/{leaderboard.json,leaderboard.csv,trials.svg,space.json}; store: %s (search %lld)\n", dir,
           c.db, id);
    rc = run_rc == 0 ? 0 : 1;
    goto out;
fail:
    /* Library messages name their context ("tune: ...", the file, the store). */
    fprintf(stderr, "fedc: %s\n", err.msg);
    rc = 1;
out:
    fedc_tune_search_free(search);
    fedc_tune_fl_free(fl);
    fedc_tune_store_close(store);
    fedc_tune_space_free(space);
    fedc_dataset_free(&train);
    fedc_dataset_free(&test);
    free(c.sets);
    return rc;
}
