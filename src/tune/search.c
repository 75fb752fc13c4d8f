/* The search driver. It works in waves: the decisions of a wave (which new
 * trials, which promotions) are taken from the results of the waves before
 * it, then the wave's jobs run in parallel, then their results are applied.
 * Decisions therefore never depend on which job finished first, so a search
 * is deterministic given its seed, space, task and options, whatever the
 * parallelism — which is also what makes resuming exact: the resumed search
 * takes the same decisions and reads finished jobs back from the store.
 *
 * Random sampling of trial i uses the stream (seed, TRIAL, i), so random
 * search and ASHA with the same seed try the same configurations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/pool.h"
#include "tune/tune_internal.h"

#define STREAM_TRIAL 0x7D1A1ull
#define STREAM_TPE 0x79E0ull

typedef struct job {
    int trial, rung;
} job;

static int uses_asha(const fedc_tune_search *s) {
    return s->opt.method == FEDC_TUNE_ASHA || s->opt.method == FEDC_TUNE_ASHA_TPE;
}
static int uses_tpe(const fedc_tune_search *s) {
    return s->opt.method == FEDC_TUNE_TPE || s->opt.method == FEDC_TUNE_ASHA_TPE;
}

static void set_rungs(fedc_tune_search *s) {
    if (uses_asha(s)) {
        s->nrungs = tune_asha_rungs(s->opt.max_rounds, s->opt.min_rounds, s->opt.eta, s->rungs);
    } else {
        s->nrungs = 1;
        s->rungs[0] = s->opt.max_rounds;
    }
}

fedc_tune_search *fedc_tune_search_create(const fedc_tune_space *space, const fedc_task *base,
                                          const fedc_tune_options *opt, const fedc_tune_objective *obj,
                                          fedc_error *err) {
    if (!space || !opt || !obj || !obj->advance) {
        fedc_fail(err, "tune: a space, options and an objective with advance() are required");
        return NULL;
    }
    fedc_tune_options o = *opt;
    if (tune_options_normalize(&o, base, err) != 0) return NULL;
    if (base && fedc_tune_space_check(space, base, o.n_classes, err) != 0) return NULL;
    if (base && (o.max_client_cpu.unit == FEDC_TUNE_LIMIT_RELATIVE || o.max_bytes.unit == FEDC_TUNE_LIMIT_RELATIVE)) {
        fedc_tune_config c;
        fedc_error e;
        if (fedc_tune_config_from_task(space, base, &c, &e) != 0) {
            fedc_fail(err, "tune: a limit relative to the base task needs its setting inside the space, and %s", e.msg);
            return NULL;
        }
    }
    fedc_tune_search *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "tune: out of memory");
        return NULL;
    }
    s->space = space;
    if (base) {
        s->base = *base;
        s->has_base = 1;
    }
    s->opt = o;
    s->raw = *opt;
    s->obj = *obj;
    set_rungs(s);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void release_state(fedc_tune_search *s, int id) {
    if (s->state[id] && s->obj.release) s->obj.release(s->obj.ctx, s->state[id]);
    s->state[id] = NULL;
    s->state_rounds[id] = 0;
}

void fedc_tune_search_free(fedc_tune_search *s) {
    if (!s) return;
    for (int i = 0; i < s->ntrials; i++) release_state(s, i);
    free(s->trials);
    free(s->tasks);
    free(s->task_ok);
    free(s->state);
    free(s->state_rounds);
    free(s->promoted);
    free(s->fail_rung);
    tune_stored_free(s->stored, s->nstored);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Grows the per-trial arrays to hold the budget. */
static int reserve(fedc_tune_search *s, int n, fedc_error *err) {
    if (n <= s->cap) return 0;
#define GROW(field)                                                                \
    do {                                                                           \
        void *p = realloc(s->field, (size_t)n * sizeof *s->field);                 \
        if (!p) return fedc_fail(err, "tune: out of memory for %d trials", n);     \
        s->field = p;                                                              \
        memset(s->field + s->cap, 0, (size_t)(n - s->cap) * sizeof *s->field);     \
    } while (0)
    GROW(trials);
    GROW(tasks);
    GROW(task_ok);
    GROW(state);
    GROW(state_rounds);
    GROW(promoted);
    GROW(fail_rung);
#undef GROW
    s->cap = n;
    return 0;
}

/* Options left to their defaults take the stored search's values: some
 * defaults depend on the budget, which may grow on resume. */
static int adopt_stored_defaults(fedc_tune_search *s, fedc_tune_store *store, int64_t id, fedc_error *err) {
    char *text = tune_store_options(store, id, err);
    if (!text) return -1;
    fedc_tune_options st = s->opt;
    int rc = tune_options_from_json(text, &st, err);
    free(text);
    if (rc != 0) return -1;
    const fedc_tune_options *r = &s->raw;
    if (!r->max_rounds) s->opt.max_rounds = st.max_rounds;
    if (!r->min_rounds) s->opt.min_rounds = st.min_rounds;
    if (!r->eta) s->opt.eta = st.eta;
    if (!r->startup) s->opt.startup = st.startup;
    if (r->gamma == 0) s->opt.gamma = st.gamma;
    if (!r->candidates) s->opt.candidates = st.candidates;
    if (!r->wave) s->opt.wave = st.wave;
    if (!r->n_classes) s->opt.n_classes = st.n_classes;
    set_rungs(s);
    return 0;
}

int fedc_tune_search_attach(fedc_tune_search *s, fedc_tune_store *store, int64_t resume_id,
                            fedc_error *err) {
    if (!store) return fedc_fail(err, "tune: no store given");
    if (s->ntrials > 0) return fedc_fail(err, "tune: attach the store before running the search");
    if (resume_id > 0 && adopt_stored_defaults(s, store, resume_id, err) != 0) return -1;
    char *oj = tune_options_json(&s->opt);
    char *sj = fedc_tune_space_to_json(s->space);
    char *tj = s->has_base ? fedc_task_to_json(&s->base, 0) : strdup("null");
    int rc = -1;
    if (!oj || !sj || !tj) {
        fedc_fail(err, "tune: out of memory");
    } else if (resume_id > 0) {
        rc = tune_store_load(store, resume_id, oj, sj, tj, s->opt.budget, &s->stored, &s->nstored, err);
        if (rc == 0) s->id = resume_id;
    } else {
        rc = tune_store_create_search(store, s, oj, sj, tj, &s->id, err);
    }
    if (rc == 0) s->store = store;
    free(oj);
    free(sj);
    free(tj);
    return rc;
}

int64_t fedc_tune_search_id(const fedc_tune_search *s) { return s->id; }

/* ---- Observations for TPE and the proposer --------------------------- */

/* Score at rung k for the search's goal, of the trials that reached it
 * and of failed ones (worse than any result). Returns how many trials
 * reached rung k. */
static int observations(const fedc_tune_search *s, int k, tune_obs *obs, int *n) {
    int reached = 0, m = 0;
    const fedc_tune_measure **ms = calloc((size_t)(s->ntrials + 1), sizeof *ms);
    int *failed = calloc((size_t)(s->ntrials + 1), sizeof *failed);
    double *score = malloc((size_t)(s->ntrials + 1) * sizeof *score);
    if (!ms || !failed || !score) {
        free(ms);
        free(failed);
        free(score);
        *n = 0;
        return 0;
    }
    for (int i = 0; i < s->ntrials; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        if (t->status == FEDC_TRIAL_FAILED) {
            obs[m].config = &t->config;
            ms[m] = NULL;
            failed[m++] = 1;
        } else if (t->rung >= k) {
            obs[m].config = &t->config;
            ms[m] = &t->at[k];
            failed[m++] = 0;
            reached++;
        }
    }
    tune_goal_scores(s, ms, failed, m, score);
    for (int i = 0; i < m; i++) obs[i].score = score[i];
    free(ms);
    free(failed);
    free(score);
    *n = m;
    return reached;
}

/* A TPE proposal for trial id; 0 when there is nothing to learn from yet. */
static int tpe_proposal(fedc_tune_search *s, int id, fedc_tune_config *out) {
    tune_obs *obs = malloc((size_t)(s->ntrials + 1) * sizeof *obs);
    const fedc_tune_config **tried = malloc((size_t)(s->ntrials + 1) * sizeof *tried);
    if (!obs || !tried) {
        free(obs);
        free(tried);
        return 0;
    }
    for (int i = 0; i < s->ntrials; i++) tried[i] = &s->trials[i].config;
    int n = 0, ok = 0;
    /* Learn at the highest rung with enough results (BOHB's rule). */
    int min_obs = s->opt.startup / 2 > 2 ? s->opt.startup / 2 : 2;
    for (int k = s->nrungs - 1; k >= 0; k--) {
        int reached = observations(s, k, obs, &n);
        if (reached >= min_obs || (k == 0 && reached >= 1)) {
            fedc_rng rng = fedc_rng_derive(s->opt.seed, STREAM_TPE, (uint64_t)id);
            tune_tpe_propose(s->space, obs, n, tried, s->ntrials, s->opt.gamma, s->opt.candidates, &rng, out);
            ok = 1;
            break;
        }
    }
    free(obs);
    free(tried);
    return ok;
}

/* History for the proposer: the space, the base task and every trial. */
static char *history_json(const fedc_tune_search *s) {
    char *sj = fedc_tune_space_to_json(s->space);
    json_t *space = sj ? json_loads(sj, 0, NULL) : NULL;
    free(sj);
    json_t *task = json_null();
    if (s->has_base) {
        char *tj = fedc_task_to_json(&s->base, 0);
        if (tj) task = json_loads(tj, 0, NULL);
        free(tj);
    }
    json_t *trials = json_array();
    for (int i = 0; i < s->ntrials; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        char *cj = fedc_tune_config_to_json(s->space, &t->config);
        json_t *c = cj ? json_loads(cj, 0, NULL) : json_object();
        free(cj);
        json_array_append_new(trials, json_pack("{s:i,s:o,s:s,s:i,s:f}", "trial", t->id, "config", c, "status",
                                                fedc_trial_status_name(t->status), "rounds", t->rounds,
                                                "accuracy", t->accuracy));
    }
    char goal[200];
    if (s->opt.goal == FEDC_TUNE_GOAL_BUDGET) {
        char c[32], b[32];
        fedc_tune_limit_format(&s->opt.max_client_cpu, c, sizeof c);
        fedc_tune_limit_format(&s->opt.max_bytes, b, sizeof b);
        snprintf(goal, sizeof goal, "maximise accuracy after %d rounds with client compute <= %s and bytes <= %s of "
                 "the base task", s->opt.max_rounds, c, b);
    } else if (s->opt.goal == FEDC_TUNE_GOAL_PARETO) {
        snprintf(goal, sizeof goal, "find settings on the front of accuracy against client compute and bytes after "
                 "%d rounds", s->opt.max_rounds);
    } else {
        snprintf(goal, sizeof goal, "maximise accuracy after %d rounds", s->opt.max_rounds);
    }
    json_t *root = json_pack("{s:s,s:o,s:o,s:o}", "objective", goal, "space", space ? space : json_null(),
                             "task", task ? task : json_null(), "trials", trials);
    char *text = root ? json_dumps(root, TUNE_JSON_FLAGS) : NULL;
    json_decref(root);
    return text;
}

/* Asks the proposer; 0 with *out filled when the proposal is acceptable,
 * else -1 with the reason in err. */
static int llm_proposal(fedc_tune_search *s, fedc_tune_config *out, fedc_error *err) {
    char *hist = history_json(s);
    if (!hist) return fedc_fail(err, "out of memory");
    char *answer = NULL;
    int rc = s->opt.propose(s->opt.propose_ctx, hist, &answer, err);
    free(hist);
    if (rc == 0 && !answer) rc = fedc_fail(err, "the proposer returned nothing");
    if (rc == 0) rc = fedc_tune_config_from_json(s->space, answer, strlen(answer), out, err);
    free(answer);
    if (rc == 0 && s->has_base) {
        fedc_task t;
        rc = fedc_tune_config_apply(s->space, out, &s->base, s->opt.n_classes, &t, err);
    }
    return rc;
}

static void trial_task_name(char *dst, size_t cap, const char *base, const char *suffix) {
    size_t sl = strlen(suffix), keep = strlen(base);
    if (keep + sl >= cap) keep = cap - 1 - sl;
    snprintf(dst, cap, "%.*s%s", (int)keep, base, suffix);
}

/* Creates trial ntrials: its configuration (stored, proposed, TPE or
 * random), its task, and its record. */
static int new_trial(fedc_tune_search *s, fedc_error *err) {
    int id = s->ntrials;
    if (reserve(s, id + 1 > s->opt.budget ? id + 1 : s->opt.budget, err) != 0) return -1;
    fedc_tune_trial *t = &s->trials[id];
    memset(t, 0, sizeof *t);
    t->id = id;
    t->rung = -1;
    t->feasible = -1; /* unknown until the search ranks it */
    s->fail_rung[id] = -1;
    const stored_trial *st = id < s->nstored && s->stored[id].have ? &s->stored[id] : NULL;

    int want_llm = s->opt.propose && id >= s->opt.startup && (id - s->opt.startup) % s->opt.propose_every == 0;
    int want_base = id == 0 && s->opt.include_base && s->has_base;
    if (st) {
        want_llm = !strcmp(st->source, "llm");
        want_base = !strcmp(st->source, "base");
    }
    int got = 0;
    if (want_base) {
        fedc_error e;
        if (fedc_tune_config_from_task(s->space, &s->base, &t->config, &e) == 0) {
            snprintf(t->source, sizeof t->source, "base");
            got = 1;
            want_llm = 0;
        } else {
            FEDC_INFO("tune: the base task's own setting is outside the space (%s); trial 0 is sampled", e.msg);
        }
    }
    if (want_llm && !got) {
        fedc_error e;
        if (st) {
            if (fedc_tune_config_from_json(s->space, st->config_json, strlen(st->config_json), &t->config, &e) != 0)
                return fedc_fail(err, "tune: search %lld, trial %d: the stored proposal no longer fits the space: %s",
                                 (long long)s->id, id, e.msg);
            got = 1;
        } else if (llm_proposal(s, &t->config, &e) == 0) {
            got = 1;
        } else {
            snprintf(t->error, sizeof t->error, "proposal rejected: %.230s", e.msg);
            FEDC_WARN("tune: trial %d: the proposer's configuration was rejected (%s); sampling instead", id, e.msg);
        }
        if (got) snprintf(t->source, sizeof t->source, "llm");
    }
    if (!got && uses_tpe(s) && id >= s->opt.startup && tpe_proposal(s, id, &t->config)) {
        snprintf(t->source, sizeof t->source, "tpe");
        got = 1;
    }
    if (!got) {
        fedc_rng rng = fedc_rng_derive(s->opt.seed, STREAM_TRIAL, (uint64_t)id);
        tune_sample_random(s->space, &rng, &t->config);
        snprintf(t->source, sizeof t->source, "random");
    }
    if (st) {
        char *mine = fedc_tune_config_to_json(s->space, &t->config);
        int same = mine && !strcmp(mine, st->config_json);
        if (!same) {
            fedc_fail(err,
                      "tune: search %lld, trial %d: the stored configuration %.200s differs from the one the "
                      "search takes now (%.200s); the space, the task or fedc changed since it started",
                      (long long)s->id, id, st->config_json, mine ? mine : "?");
            free(mine);
            return -1;
        }
        free(mine);
    }
    s->ntrials++;

    s->task_ok[id] = 1;
    if (s->has_base) {
        fedc_error e;
        fedc_task *task = &s->tasks[id];
        if (fedc_tune_config_apply(s->space, &t->config, &s->base, s->opt.n_classes, task, &e) != 0) {
            s->task_ok[id] = 0;
            t->status = FEDC_TRIAL_FAILED;
            snprintf(t->error, sizeof t->error, "%.255s", e.msg);
        } else {
            char suffix[24];
            snprintf(suffix, sizeof suffix, "-t%d", id);
            trial_task_name(task->name, sizeof task->name, s->base.name, suffix);
            task->rounds = s->opt.max_rounds;
            /* Trials are compared at fixed rounds: the base's early stop is
             * for the final run (best-task.json keeps it). */
            task->stop.target_accuracy = 0;
            task->stop.max_wall_s = 0;
        }
    }
    if (s->store && tune_store_put_trial(s->store, s->id, s, id, err) != 0) return -1;
    return 0;
}

/* ---- ASHA decisions ---------------------------------------------------- */

typedef struct rank_entry {
    int id;
    double acc;
} rank_entry;

static int cmp_rank(const void *x, const void *y) {
    const rank_entry *a = x, *b = y;
    if (a->acc != b->acc) return a->acc > b->acc ? -1 : 1;
    return a->id - b->id;
}

/* Trials with a result at rung k, best first by the goal's score; returns how many. */
static int rung_ranking(const fedc_tune_search *s, int k, rank_entry *out) {
    int n = 0;
    const fedc_tune_measure **ms = calloc((size_t)(s->ntrials + 1), sizeof *ms);
    int *failed = calloc((size_t)(s->ntrials + 1), sizeof *failed);
    double *score = malloc((size_t)(s->ntrials + 1) * sizeof *score);
    if (!ms || !failed || !score) {
        free(ms);
        free(failed);
        free(score);
        return 0;
    }
    for (int i = 0; i < s->ntrials; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        if (t->rung >= k) {
            out[n] = (rank_entry){i, 0};
            ms[n] = &t->at[k];
            failed[n++] = 0;
        } else if (t->status == FEDC_TRIAL_FAILED && s->fail_rung[i] == k) {
            out[n] = (rank_entry){i, 0};
            ms[n] = NULL;
            failed[n++] = 1;
        }
    }
    tune_goal_scores(s, ms, failed, n, score);
    for (int i = 0; i < n; i++) out[i].acc = score[i];
    free(ms);
    free(failed);
    free(score);
    qsort(out, (size_t)n, sizeof *out, cmp_rank);
    return n;
}

static int waiting_at(const fedc_tune_search *s, int id, int k) {
    const fedc_tune_trial *t = &s->trials[id];
    return t->status == FEDC_TRIAL_PAUSED && t->rung == k && !(s->promoted[id] & (1u << k));
}

/* ASHA's rule: from the highest rung down, a trial waiting at rung k is
 * promoted when it is in the top 1/eta of the results at rung k. */
static int asha_promotion(fedc_tune_search *s, rank_entry *buf, job *out) {
    for (int k = s->nrungs - 2; k >= 0; k--) {
        int n = rung_ranking(s, k, buf), top = n / s->opt.eta;
        for (int r = 0; r < top; r++) {
            if (!waiting_at(s, buf[r].id, k)) continue;
            s->promoted[buf[r].id] |= 1u << k;
            *out = (job){buf[r].id, k + 1};
            return 1;
        }
    }
    return 0;
}

/* With the budget spent and nothing left to promote by the rule, the best
 * trial of the highest rung goes on until one trial has had the full
 * rounds, so a search always ends with a fully trained winner. */
static int asha_drain(fedc_tune_search *s, rank_entry *buf, job *out) {
    int top = s->nrungs - 1;
    for (int i = 0; i < s->ntrials; i++)
        if (s->trials[i].status == FEDC_TRIAL_COMPLETE) return 0;
    for (int k = top - 1; k >= 0; k--) {
        int n = rung_ranking(s, k, buf);
        for (int r = 0; r < n; r++) {
            if (!waiting_at(s, buf[r].id, k)) continue;
            s->promoted[buf[r].id] |= 1u << k;
            *out = (job){buf[r].id, k + 1};
            return 1;
        }
    }
    return 0;
}

/* The jobs of the next wave; *n = 0 when the search is over. */
static int decide_wave(fedc_tune_search *s, job *jobs, int *n, fedc_error *err) {
    *n = 0;
    int top = s->nrungs - 1, budget = s->opt.budget;
    if (!uses_asha(s)) {
        /* Random trials do not depend on results: one wave holds them all.
         * TPE: the warm-up in one wave, then `wave` trials at a time. */
        int limit = budget - s->ntrials;
        if (uses_tpe(s) || s->opt.propose) {
            limit = s->ntrials < s->opt.startup ? s->opt.startup - s->ntrials : s->opt.wave;
            if (limit > budget - s->ntrials) limit = budget - s->ntrials;
        }
        /* Trials whose configuration is invalid have no job: keep going until
         * the wave has one, or the budget is spent. */
        for (int i = 0; (i < limit || *n == 0) && s->ntrials < budget; i++) {
            if (new_trial(s, err) != 0) return -1;
            int id = s->ntrials - 1;
            if (s->task_ok[id]) jobs[(*n)++] = (job){id, top};
        }
        return 0;
    }
    rank_entry *buf = malloc((size_t)(budget + 1) * sizeof *buf); /* ntrials never exceeds the budget */
    if (!buf) return fedc_fail(err, "tune: out of memory");
    int created = 0;
    while (*n < s->opt.wave) {
        job j;
        if (asha_promotion(s, buf, &j)) {
            jobs[(*n)++] = j;
            continue;
        }
        if (s->ntrials >= budget) break;
        /* At most `wave` new trials per wave (so TPE learns between waves),
         * more only while invalid configurations left the wave empty. */
        if (created >= s->opt.wave && *n > 0) break;
        if (new_trial(s, err) != 0) {
            free(buf);
            return -1;
        }
        created++;
        int id = s->ntrials - 1;
        if (s->task_ok[id]) jobs[(*n)++] = (job){id, 0};
    }
    if (*n == 0 && s->ntrials >= budget) {
        job j;
        if (asha_drain(s, buf, &j)) jobs[(*n)++] = j;
    }
    free(buf);
    return 0;
}

/* ---- Running a wave ---------------------------------------------------- */

typedef struct wave {
    fedc_tune_search *s;
    const job *jobs;
    int threads;
    int *interrupted;
    int store_failed;
    fedc_error store_err;
} wave;

static void finish_job(wave *w, const job *j, int ok, const fedc_tune_measure *m, const char *error,
                       int reused, long rounds_run) {
    fedc_tune_search *s = w->s;
    fedc_tune_trial *t = &s->trials[j->trial];
    int top = s->nrungs - 1;
    pthread_mutex_lock(&s->lock);
    if (ok) {
        t->cpu_s += m->cpu_s;
        t->at[j->rung] = *m;
        t->at[j->rung].rounds = s->rungs[j->rung];
        t->at[j->rung].cpu_s = t->cpu_s;
        t->rung = j->rung;
        t->rounds = s->rungs[j->rung];
        t->accuracy = m->accuracy;
        t->loss = m->loss;
        t->bytes = m->bytes;
        t->last = t->at[j->rung];
        t->status = j->rung == top ? FEDC_TRIAL_COMPLETE : FEDC_TRIAL_PAUSED;
    } else {
        t->cpu_s += m ? m->cpu_s : 0;
        t->status = FEDC_TRIAL_FAILED;
        s->fail_rung[j->trial] = j->rung;
        snprintf(t->error, sizeof t->error, "%s", error ? error : "failed");
    }
    s->total_rounds += rounds_run;
    s->total_cpu += m ? m->cpu_s : 0;
    if (reused) s->reused++;
    /* A job read back from the store has its rung row already; the trial's
     * row is rewritten either way (a resumed search re-creates it). */
    if (s->store && !w->store_failed) {
        if ((!reused && tune_store_put_rung(s->store, s->id, j->trial, j->rung, ok, m, error, &w->store_err) != 0) ||
            tune_store_put_trial(s->store, s->id, s, j->trial, &w->store_err) != 0)
            w->store_failed = 1;
    }
    if (s->opt.progress) s->opt.progress(s->opt.progress_ctx, t, j->rung);
    pthread_mutex_unlock(&s->lock);
}

static void run_job(void *ctx, size_t i, int worker) {
    (void)worker;
    wave *w = ctx;
    fedc_tune_search *s = w->s;
    const job *j = &w->jobs[i];
    int id = j->trial, target = s->rungs[j->rung];
    fedc_tune_trial *t = &s->trials[id];
    int prev_rounds = j->rung > 0 ? s->rungs[j->rung - 1] : 0;
    const stored_trial *st = id < s->nstored && s->stored[id].have ? &s->stored[id] : NULL;
    if (st && st->rung[j->rung].have) {
        const stored_rung *sr = &st->rung[j->rung];
        finish_job(w, j, sr->ok, &sr->m, sr->error, 1, target - prev_rounds);
        return;
    }
    if (s->opt.stop && *s->opt.stop) {
        w->interrupted[i] = 1;
        return;
    }
    int from = s->state[id] ? s->state_rounds[id] : 0;
    fedc_tune_measure m;
    memset(&m, 0, sizeof m);
    fedc_error e;
    e.msg[0] = 0;
    int rc = s->obj.advance(s->obj.ctx, id, s->has_base ? &s->tasks[id] : NULL, &t->config, target, w->threads,
                            &s->state[id], &m, &e);
    if (rc != 0 && s->opt.stop && *s->opt.stop) {
        w->interrupted[i] = 1; /* not recorded: the resumed search runs it again */
        pthread_mutex_lock(&s->lock);
        release_state(s, id);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (rc == 0 && !(isfinite(m.accuracy) && isfinite(m.loss) && isfinite(m.cpu_s))) {
        rc = -1;
        snprintf(e.msg, sizeof e.msg, "the objective returned a non-finite accuracy, loss or CPU time");
    }
    s->state_rounds[id] = s->state[id] ? target : 0;
    if (rc != 0 || j->rung == s->nrungs - 1) {
        pthread_mutex_lock(&s->lock);
        release_state(s, id);
        pthread_mutex_unlock(&s->lock);
    }
    finish_job(w, j, rc == 0, &m, rc == 0 ? NULL : (e.msg[0] ? e.msg : "the objective failed"), 0, target - from);
}

static size_t state_size(const fedc_tune_search *s, int id) {
    return s->state[id] && s->obj.state_bytes ? s->obj.state_bytes(s->obj.ctx, s->state[id]) : 0;
}

/* Keeps paused trials' states within keep_bytes, dropping the least
 * promising first (lowest rung, then lowest accuracy); a dropped trial that
 * is promoted later is re-run from round 0 by the objective. */
static void trim_states(fedc_tune_search *s) {
    size_t total = 0;
    int n = 0;
    rank_entry *v = malloc((size_t)s->ntrials * sizeof *v);
    if (!v) return;
    for (int i = 0; i < s->ntrials; i++) {
        if (!s->state[i]) continue;
        total += state_size(s, i);
        v[n++] = (rank_entry){i, s->trials[i].rung * 10.0 + s->trials[i].accuracy};
    }
    qsort(v, (size_t)n, sizeof *v, cmp_rank);
    for (int r = n - 1; r >= 0 && total > s->opt.keep_bytes; r--) {
        total -= state_size(s, v[r].id);
        release_state(s, v[r].id);
    }
    free(v);
}

/* 1 when job a should start after job b: longer jobs first, then by trial. */
static int starts_later(const job *a, const job *b, const int *rungs) {
    if (rungs[a->rung] != rungs[b->rung]) return rungs[a->rung] < rungs[b->rung];
    return a->trial > b->trial;
}

/* Insertion sort by descending length: long jobs start first, so the wave's
 * tail has the short ones (results do not depend on this order). */
static void order_jobs(job *jobs, int n, const int *rungs) {
    for (int i = 1; i < n; i++) {
        job x = jobs[i];
        int k = i - 1;
        while (k >= 0 && starts_later(&jobs[k], &x, rungs)) {
            jobs[k + 1] = jobs[k];
            k--;
        }
        jobs[k + 1] = x;
    }
}

/* Ranks the trials after a wave and rewrites the stored rows whose rank or
 * budget verdict changed, so the store (and the web app reading it while
 * the search runs) never shows a stale front. */
static int rerank_and_record(fedc_tune_search *s, fedc_error *err) {
    int *prev = malloc((size_t)(s->ntrials + 1) * 2 * sizeof *prev);
    if (!prev) return fedc_fail(err, "tune: out of memory");
    for (int i = 0; i < s->ntrials; i++) {
        prev[2 * i] = s->trials[i].pareto_rank;
        prev[2 * i + 1] = s->trials[i].feasible;
    }
    tune_rank_trials(s);
    int rc = 0;
    for (int i = 0; i < s->ntrials && rc == 0 && s->store; i++)
        if (prev[2 * i] != s->trials[i].pareto_rank || prev[2 * i + 1] != s->trials[i].feasible)
            rc = tune_store_put_trial(s->store, s->id, s, i, err);
    free(prev);
    return rc;
}

int fedc_tune_search_run(fedc_tune_search *s, fedc_error *err) {
    int cap = s->opt.budget > s->opt.wave ? s->opt.budget : s->opt.wave;
    job *jobs = malloc((size_t)(cap + 1) * sizeof *jobs);
    int *interrupted = calloc((size_t)(cap + 1), sizeof *interrupted);
    if (!jobs || !interrupted) {
        free(jobs);
        free(interrupted);
        return fedc_fail(err, "tune: out of memory");
    }
    int rc = 0;
    for (;;) {
        if (s->opt.stop && *s->opt.stop) {
            rc = fedc_fail(err, "tune: interrupted; resume with --resume %lld", (long long)s->id);
            break;
        }
        int n;
        if (decide_wave(s, jobs, &n, err) != 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        order_jobs(jobs, n, s->rungs);
        int live = 0;
        for (int i = 0; i < n; i++) {
            const stored_trial *st =
                jobs[i].trial < s->nstored && s->stored[jobs[i].trial].have ? &s->stored[jobs[i].trial] : NULL;
            live += !(st && st->rung[jobs[i].rung].have);
            interrupted[i] = 0;
        }
        int workers = live < s->opt.parallel ? live : s->opt.parallel;
        if (workers < 1) workers = 1;
        wave w = {s, jobs, s->opt.parallel / workers, interrupted, 0, {{0}}};
        if (w.threads < 1) w.threads = 1;
        fedc_pool *pool = workers > 1 ? fedc_pool_create(workers) : NULL;
        if (workers > 1 && !pool) {
            rc = fedc_fail(err, "tune: cannot start %d worker threads", workers);
            break;
        }
        fedc_pool_for(pool, (size_t)n, run_job, &w);
        fedc_pool_destroy(pool);
        if (w.store_failed) {
            rc = fedc_fail(err, "tune: recording results: %s", w.store_err.msg);
            break;
        }
        int any_interrupted = 0;
        for (int i = 0; i < n; i++) any_interrupted |= interrupted[i];
        if (any_interrupted) {
            rc = fedc_fail(err, "tune: interrupted; resume with --resume %lld", (long long)s->id);
            break;
        }
        if (rerank_and_record(s, err) != 0) {
            rc = -1;
            break;
        }
        trim_states(s);
    }
    if (rc == 0) {
        /* Whatever is still paused was stopped early by ASHA. */
        for (int i = 0; i < s->ntrials; i++) {
            if (s->trials[i].status != FEDC_TRIAL_PAUSED) continue;
            s->trials[i].status = FEDC_TRIAL_STOPPED;
            release_state(s, i);
            if (s->store && tune_store_put_trial(s->store, s->id, s, i, err) != 0) rc = -1;
        }
    }
    /* The final ranks and budget verdicts, recorded with every trial. */
    tune_rank_trials(s);
    if (s->store)
        for (int i = 0; i < s->ntrials; i++) {
            fedc_error e3;
            if (tune_store_put_trial(s->store, s->id, s, i, rc == 0 ? err : &e3) != 0 && rc == 0) rc = -1;
        }
    if (s->store) {
        fedc_error e2;
        const char *status = rc == 0 ? "done" : (s->opt.stop && *s->opt.stop) ? "interrupted" : "failed";
        if (tune_store_finish(s->store, s->id, s, status, rc == 0 ? err : &e2) != 0 && rc == 0) rc = -1;
    }
    free(jobs);
    free(interrupted);
    return rc;
}

/* ---- Results ------------------------------------------------------------ */

int fedc_tune_search_ntrials(const fedc_tune_search *s) { return s->ntrials; }

const fedc_tune_trial *fedc_tune_search_trial(const fedc_tune_search *s, int i) {
    return i >= 0 && i < s->ntrials ? &s->trials[i] : NULL;
}

int fedc_tune_search_best(const fedc_tune_search *s) {
    int best = -1;
    for (int i = 0; i < s->ntrials; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        if (t->status != FEDC_TRIAL_COMPLETE) continue;
        /* Never a trial over the budget, nor one whose limits are not known. */
        if (s->opt.goal == FEDC_TUNE_GOAL_BUDGET && tune_within_budget(s, t) != 1) continue;
        if (s->opt.goal == FEDC_TUNE_GOAL_PARETO && t->pareto_rank != 1) continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const fedc_tune_trial *b = &s->trials[best];
        if (t->accuracy > b->accuracy || (t->accuracy == b->accuracy && t->bytes < b->bytes)) best = i;
    }
    return best;
}

int fedc_tune_search_best_task(const fedc_tune_search *s, fedc_task *out, fedc_error *err) {
    int b = fedc_tune_search_best(s);
    if (b < 0 && s->opt.goal == FEDC_TUNE_GOAL_BUDGET)
        return fedc_fail(err, "tune: no trial that reached %d rounds stayed within the budget, so there is no best task",
                         s->opt.max_rounds);
    if (b < 0) return fedc_fail(err, "tune: no trial reached %d rounds, so there is no best task", s->opt.max_rounds);
    if (!s->has_base) return fedc_fail(err, "tune: the search has no base task");
    fedc_task t = s->tasks[b];
    trial_task_name(t.name, sizeof t.name, s->base.name, "-tuned");
    t.stop = s->base.stop;
    if (fedc_task_validate(&t, err) != 0) return -1;
    *out = t;
    return 0;
}

int fedc_tune_search_rungs(const fedc_tune_search *s, int *rounds_out) {
    if (rounds_out) memcpy(rounds_out, s->rungs, (size_t)s->nrungs * sizeof *rounds_out);
    return s->nrungs;
}

const fedc_tune_space *fedc_tune_search_space(const fedc_tune_search *s) { return s->space; }
const fedc_tune_options *fedc_tune_search_options(const fedc_tune_search *s) { return &s->opt; }

void fedc_tune_search_totals(const fedc_tune_search *s, long *rounds, double *cpu_s, int *reused) {
    if (rounds) *rounds = s->total_rounds;
    if (cpu_s) *cpu_s = s->total_cpu;
    if (reused) *reused = s->reused;
}
