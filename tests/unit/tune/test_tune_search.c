/* Searches over pure-function objectives (fast, exact): the known best is
 * found, ASHA stops trials early and spends less than random search for the
 * same best, dropped states replay identically, parallelism never changes
 * results, TPE beats random on average on a smooth objective, failures are
 * contained, a resumed search repeats no finished job, the proposer hook,
 * and the reports (leaderboard, CSV, SVG, store JSON). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/tune.h"
#include "unit/tune/tune_test_util.h"

/* ---- A discrete space with a known best: lr 0.1, batch 32, epochs 2 ---- */
static const char *k_discrete =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.001, 0.01, 0.1, 1.0]},"
    "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32, 64]},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 3}]}";

static double discrete_final(const fedc_tune_config *c) {
    return 0.9 - 0.1 * fabs(c->v[0] - 2) - 0.05 * fabs(c->v[1] - 1) - 0.03 * fabs(c->v[2] - 2);
}

static int is_known_best(const fedc_tune_config *c) { return c->v[0] == 2 && c->v[1] == 1 && c->v[2] == 2; }

/* ---- A smooth space: a Gaussian bump, optimum inside the box ---- */
static const char *k_smooth =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"log-float\", \"min\": 0.0001, \"max\": 1},"
    "{\"name\": \"local.momentum\", \"type\": \"float\", \"min\": 0, \"max\": 0.99},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 10},"
    "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 0.1, \"max\": 3}]}";

static double smooth_final(const fedc_tune_config *c) {
    double a = (log10(c->v[0]) + 4) / 4 - 0.62, b = c->v[1] / 0.99 - 0.8, e = (c->v[2] - 1) / 9 - 0.3,
           d = (c->v[3] - 0.1) / 2.9 - 0.35;
    return 0.95 * exp(-(a * a + b * b + e * e + d * d) / (2 * 0.15 * 0.15));
}

static fedc_tune_space *space_of(const char *json) {
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_from_json(json, strlen(json), "test space", &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static fedc_tune_options options(fedc_tune_method m, int budget, uint64_t seed) {
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    o.method = m;
    o.budget = budget;
    o.seed = seed;
    o.max_rounds = 27;
    o.parallel = 2;
    return o;
}

/* Runs a search to the end (no store). */
static fedc_tune_search *run_search(const fedc_tune_space *s, fedc_tune_options o, fn_objective *fo) {
    fedc_error err;
    fedc_tune_objective obj = fn_as_objective(fo);
    fedc_tune_search *se = fedc_tune_search_create(s, NULL, &o, &obj, &err);
    if (!se) fail_msg("create: %s", err.msg);
    if (fedc_tune_search_run(se, &err) != 0) fail_msg("run: %s", err.msg);
    return se;
}

static void test_known_best_is_found(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_discrete);
    /* 36 configurations. TPE with 30 trials and random search with 100
     * (P(miss) = (35/36)^100 = 6% per seed) find the best for these seeds;
     * the best trial's accuracy is the function's maximum. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        for (int m = 0; m < 2; m++) {
            fn_objective fo;
            fn_init(&fo, discrete_final);
            fedc_tune_options o = options(m ? FEDC_TUNE_TPE : FEDC_TUNE_RANDOM, m ? 30 : 100, seed);
            fedc_tune_search *se = run_search(s, o, &fo);
            int b = fedc_tune_search_best(se);
            assert_true(b >= 0);
            const fedc_tune_trial *t = fedc_tune_search_trial(se, b);
            if (!is_known_best(&t->config)) fail_msg("%s, seed %llu: best trial %d is not the known best",
                                                     m ? "tpe" : "random", (unsigned long long)seed, b);
            assert_true(fabs(t->accuracy - 0.9 * (1 - exp(-27 / 4.0))) < 1e-12);
            assert_int_equal(t->status, FEDC_TRIAL_COMPLETE);
            fedc_tune_search_free(se);
        }
    }
    fedc_tune_space_free(s);
}

static char *config_json(const fedc_tune_search *se, int i) {
    return fedc_tune_config_to_json(fedc_tune_search_space(se), &fedc_tune_search_trial(se, i)->config);
}

static void test_asha_stops_early_and_spends_less(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_smooth);
    fn_objective fr, fa;
    fn_init(&fr, smooth_final);
    fn_init(&fa, smooth_final);
    fedc_tune_search *rs = run_search(s, options(FEDC_TUNE_RANDOM, 27, 7), &fr);
    fedc_tune_search *as = run_search(s, options(FEDC_TUNE_ASHA, 27, 7), &fa);
    int rungs[FEDC_TUNE_MAX_RUNGS];
    assert_int_equal(fedc_tune_search_rungs(as, rungs), 4);
    assert_true(rungs[0] == 1 && rungs[3] == 27);

    /* Same seed: the same configurations were tried, and ASHA's winner is
     * random search's winner with the same accuracy. */
    int rb = fedc_tune_search_best(rs), ab = fedc_tune_search_best(as);
    assert_true(rb >= 0 && ab >= 0);
    char *rj = config_json(rs, rb), *aj = config_json(as, ab);
    assert_string_equal(rj, aj);
    assert_true(fedc_tune_search_trial(rs, rb)->accuracy == fedc_tune_search_trial(as, ab)->accuracy);
    free(rj);
    free(aj);

    int stopped = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(as); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(as, i);
        char *x = config_json(as, i), *y = config_json(rs, i);
        assert_string_equal(x, y);
        free(x);
        free(y);
        if (t->status == FEDC_TRIAL_STOPPED) {
            stopped++;
            assert_true(t->rounds < 27);
        } else {
            assert_int_equal(t->status, FEDC_TRIAL_COMPLETE);
        }
        /* Promoted trials continued from their state: one start each. */
        assert_int_equal(fa.fresh_starts[i], 1);
    }
    for (int i = 0; i < fedc_tune_search_ntrials(rs); i++)
        assert_int_equal(fedc_tune_search_trial(rs, i)->status, FEDC_TRIAL_COMPLETE);
    assert_true(stopped >= 20);
    long rr, ar;
    double rc, ac;
    fedc_tune_search_totals(rs, &rr, &rc, NULL);
    fedc_tune_search_totals(as, &ar, &ac, NULL);
    assert_int_equal(rr, 27 * 27);
    assert_int_equal(fr.rounds_run, rr);
    assert_int_equal(fa.rounds_run, ar);
    assert_true(ar * 4 < rr); /* 27 + 9*2 + 3*6 + 1*17 = 80 rounds against 729 */
    assert_true(ac * 4 < rc);
    fedc_tune_search_free(rs);
    fedc_tune_search_free(as);
    fedc_tune_space_free(s);
}

/* Trials' configurations, statuses, rounds and accuracies are identical. */
static void assert_same_trials(const fedc_tune_search *a, const fedc_tune_search *b) {
    assert_int_equal(fedc_tune_search_ntrials(a), fedc_tune_search_ntrials(b));
    for (int i = 0; i < fedc_tune_search_ntrials(a); i++) {
        const fedc_tune_trial *x = fedc_tune_search_trial(a, i), *y = fedc_tune_search_trial(b, i);
        char *xj = config_json(a, i), *yj = config_json(b, i);
        if (strcmp(xj, yj) || x->status != y->status || x->rounds != y->rounds || x->accuracy != y->accuracy ||
            strcmp(x->source, y->source))
            fail_msg("trial %d differs: %s %s %d %.6f vs %s %s %d %.6f", i, xj, fedc_trial_status_name(x->status),
                     x->rounds, x->accuracy, yj, fedc_trial_status_name(y->status), y->rounds, y->accuracy);
        free(xj);
        free(yj);
    }
}

static void test_dropped_states_replay_identically(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_smooth);
    fn_objective keep, drop;
    fn_init(&keep, smooth_final);
    fn_init(&drop, smooth_final);
    fedc_tune_options o = options(FEDC_TUNE_ASHA, 27, 11);
    fedc_tune_search *a = run_search(s, o, &keep);
    o.keep_bytes = 1; /* no paused state fits: every promotion replays */
    fedc_tune_search *b = run_search(s, o, &drop);
    assert_same_trials(a, b);
    int replays = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(b); i++) replays += drop.fresh_starts[i] > 1;
    assert_true(replays >= 3);
    assert_true(drop.rounds_run > keep.rounds_run);
    fedc_tune_search_free(a);
    fedc_tune_search_free(b);
    fedc_tune_space_free(s);
}

static void test_parallelism_does_not_change_results(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_smooth);
    fn_objective f1, f4;
    fn_init(&f1, smooth_final);
    fn_init(&f4, smooth_final);
    fedc_tune_options o = options(FEDC_TUNE_ASHA_TPE, 30, 5);
    o.parallel = 1;
    fedc_tune_search *a = run_search(s, o, &f1);
    o.parallel = 4;
    fedc_tune_search *b = run_search(s, o, &f4);
    assert_same_trials(a, b);
    int tpe = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(a); i++) tpe += !strcmp(fedc_tune_search_trial(a, i)->source, "tpe");
    assert_true(tpe > 10);
    fedc_tune_search_free(a);
    fedc_tune_search_free(b);
    fedc_tune_space_free(s);
}

static void test_tpe_beats_random_on_average(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_smooth);
    double sum_tpe = 0, sum_rand = 0;
    int tpe_wins = 0;
    const int seeds = 10;
    for (int seed = 1; seed <= seeds; seed++) {
        double best[2];
        for (int m = 0; m < 2; m++) {
            fn_objective fo;
            fn_init(&fo, smooth_final);
            fedc_tune_options o = options(m ? FEDC_TUNE_TPE : FEDC_TUNE_RANDOM, 40, (uint64_t)seed);
            fedc_tune_search *se = run_search(s, o, &fo);
            best[m] = fedc_tune_search_trial(se, fedc_tune_search_best(se))->accuracy;
            fedc_tune_search_free(se);
        }
        sum_rand += best[0];
        sum_tpe += best[1];
        tpe_wins += best[1] > best[0];
    }
    print_message("mean best accuracy over %d seeds: TPE %.4f, random %.4f; TPE better in %d\n", seeds,
                  sum_tpe / seeds, sum_rand / seeds, tpe_wins);
    assert_true(sum_tpe > sum_rand);
    assert_true(tpe_wins > seeds / 2);
    fedc_tune_space_free(s);
}

static void test_failures_are_contained(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_discrete);
    fn_objective fo;
    fn_init(&fo, discrete_final);
    fo.fail_trial = 2;
    fedc_tune_search *se = run_search(s, options(FEDC_TUNE_RANDOM, 10, 3), &fo);
    const fedc_tune_trial *t = fedc_tune_search_trial(se, 2);
    assert_int_equal(t->status, FEDC_TRIAL_FAILED);
    assert_non_null(strstr(t->error, "diverged"));
    assert_int_not_equal(fedc_tune_search_best(se), 2);
    for (int i = 0; i < 10; i++)
        if (i != 2) assert_int_equal(fedc_tune_search_trial(se, i)->status, FEDC_TRIAL_COMPLETE);
    fedc_tune_search_free(se);

    /* Configurations that are invalid as a whole fail without running, and
     * the search still spends its budget (here most of it is invalid). */
    fedc_error err;
    const char *cj = "{\"params\": [{\"name\": \"clients\", \"type\": \"int\", \"min\": 2, \"max\": 12}]}";
    fedc_tune_space *cs = fedc_tune_space_from_json(cj, strlen(cj), "clients space", &err);
    fedc_task base;
    fedc_task_defaults(&base); /* 10 clients per round */
    for (int m = 0; m < 3; m++) {
        fn_objective fc;
        fn_init(&fc, discrete_final);
        fedc_tune_objective cobj = fn_as_objective(&fc);
        fedc_tune_options co = options(m == 0 ? FEDC_TUNE_RANDOM : m == 1 ? FEDC_TUNE_TPE : FEDC_TUNE_ASHA, 16, 4);
        co.wave = 2;
        fedc_tune_search *cse = fedc_tune_search_create(cs, &base, &co, &cobj, &err);
        if (!cse) fail_msg("%s", err.msg);
        if (fedc_tune_search_run(cse, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(fedc_tune_search_ntrials(cse), 16);
        int invalid = 0;
        for (int i = 0; i < 16; i++) {
            const fedc_tune_trial *ct = fedc_tune_search_trial(cse, i);
            if (ct->config.v[0] >= 10) continue;
            invalid++;
            assert_int_equal(ct->status, FEDC_TRIAL_FAILED);
            assert_non_null(strstr(ct->error, "clients_per_round"));
            assert_int_equal(fc.calls[i], 0);
        }
        assert_true(invalid >= 8);
        fedc_tune_search_free(cse);
    }
    fedc_tune_space_free(cs);

    /* Options are checked. */
    fedc_tune_objective obj = fn_as_objective(&fo);
    fedc_tune_options o = options(FEDC_TUNE_RANDOM, 0, 1);
    assert_null(fedc_tune_search_create(s, NULL, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "budget"));
    o = options(FEDC_TUNE_ASHA, 5, 1);
    o.max_rounds = 0;
    assert_null(fedc_tune_search_create(s, NULL, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "max_rounds"));
    o = options(FEDC_TUNE_TPE, 5, 1);
    o.gamma = 1.5;
    assert_null(fedc_tune_search_create(s, NULL, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "gamma"));
    fedc_tune_space_free(s);
}

/* ---- Resume ------------------------------------------------------------ */

typedef struct stopper {
    volatile int stop;
    int jobs, after;
} stopper;

static void stop_after(void *ctx, const fedc_tune_trial *t, int rung) {
    (void)t;
    (void)rung;
    stopper *st = ctx;
    if (++st->jobs >= st->after) st->stop = 1;
}

static char *temp_db(void) {
    char *path = malloc(64);
    strcpy(path, "/tmp/tune-search-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* sqlite creates it */
    return path;
}

static void remove_db(const char *path) {
    char p[128];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* The store's trial rows agree with the search in memory. */
static void assert_store_matches(fedc_tune_store *store, int64_t id, const fedc_tune_search *se) {
    fedc_error err;
    char *js = fedc_tune_store_search_json(store, id, &err);
    assert_non_null(js);
    json_t *root = json_loads(js, 0, NULL);
    json_t *trials = json_object_get(root, "trials");
    assert_int_equal(json_array_size(trials), (size_t)fedc_tune_search_ntrials(se));
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t) {
        const fedc_tune_trial *mine = fedc_tune_search_trial(se, (int)i);
        assert_string_equal(json_string_value(json_object_get(t, "status")), fedc_trial_status_name(mine->status));
        assert_int_equal(json_integer_value(json_object_get(t, "rounds")), mine->rounds);
        assert_int_equal(json_array_size(json_object_get(t, "rungs")), (size_t)(mine->rung + 1));
    }
    json_decref(root);
    free(js);
}

static void test_resume_repeats_no_finished_job(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_smooth);
    char *db = temp_db();
    fedc_error err;
    fedc_tune_store *store = fedc_tune_store_open(db, &err);
    assert_non_null(store);

    /* An uninterrupted reference. */
    fn_objective fref;
    fn_init(&fref, smooth_final);
    fedc_tune_options o = options(FEDC_TUNE_ASHA_TPE, 20, 9);
    o.parallel = 1; /* the stop lands after an exact number of jobs */
    fedc_tune_search *ref = run_search(s, o, &fref);

    /* The same search, interrupted after 9 jobs. */
    fn_objective f1;
    fn_init(&f1, smooth_final);
    stopper st = {0, 0, 9};
    fedc_tune_options o1 = o;
    o1.stop = &st.stop;
    o1.progress = stop_after;
    o1.progress_ctx = &st;
    fedc_tune_objective obj1 = fn_as_objective(&f1);
    fedc_tune_search *a = fedc_tune_search_create(s, NULL, &o1, &obj1, &err);
    if (fedc_tune_search_attach(a, store, 0, &err) != 0) fail_msg("%s", err.msg);
    int64_t id = fedc_tune_search_id(a);
    assert_true(id > 0);
    assert_int_equal(fedc_tune_search_run(a, &err), -1);
    char want[64];
    snprintf(want, sizeof want, "--resume %lld", (long long)id);
    assert_non_null(strstr(err.msg, "interrupted"));
    assert_non_null(strstr(err.msg, want));
    /* Which (trial, rounds) jobs finished before the interruption. */
    int finished[FN_MAX_TRIALS][FEDC_TUNE_MAX_RUNGS];
    memset(finished, 0, sizeof finished);
    int nfinished = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(a); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(a, i);
        for (int r = 0; r <= t->rung; r++) {
            finished[i][r] = 1;
            nfinished++;
        }
    }
    assert_true(nfinished >= 9);
    fedc_tune_search_free(a);

    /* Resumed: finished jobs are read back, never run again. */
    fn_objective f2;
    fn_init(&f2, smooth_final);
    fedc_tune_objective obj2 = fn_as_objective(&f2);
    fedc_tune_search *b = fedc_tune_search_create(s, NULL, &o, &obj2, &err);
    if (fedc_tune_search_attach(b, store, id, &err) != 0) fail_msg("%s", err.msg);
    if (fedc_tune_search_run(b, &err) != 0) fail_msg("%s", err.msg);
    int reused;
    fedc_tune_search_totals(b, NULL, NULL, &reused);
    assert_int_equal(reused, nfinished);
    for (int i = 0; i < fedc_tune_search_ntrials(b); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(b, i);
        /* Jobs run now = rungs reached minus rungs finished before. */
        int before = 0;
        for (int r = 0; r < FEDC_TUNE_MAX_RUNGS; r++) before += finished[i][r];
        if (before == t->rung + 1) assert_int_equal(f2.calls[i], 0);
        else assert_int_equal(f2.calls[i], t->rung + 1 - before);
    }
    assert_same_trials(ref, b);

    /* The store holds the whole search. */
    char *js = fedc_tune_store_search_json(store, id, &err);
    assert_non_null(js);
    json_t *root = json_loads(js, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "status")), "done");
    json_t *trials = json_object_get(root, "trials");
    assert_int_equal(json_array_size(trials), 20);
    size_t rung_rows = 0, i;
    json_t *t;
    json_array_foreach(trials, i, t) rung_rows += json_array_size(json_object_get(t, "rungs"));
    int total_jobs = 0;
    for (int k = 0; k < fedc_tune_search_ntrials(b); k++) total_jobs += fedc_tune_search_trial(b, k)->rung + 1;
    assert_int_equal(rung_rows, (size_t)total_jobs);
    assert_true(json_is_object(json_object_get(root, "space")));
    json_decref(root);
    free(js);
    char *list = fedc_tune_store_list_json(store, &err);
    assert_non_null(list);
    assert_non_null(strstr(list, "\"asha-tpe\""));
    free(list);

    /* A larger budget continues the search: the old trials are not rerun. */
    fn_objective f3;
    fn_init(&f3, smooth_final);
    fedc_tune_objective obj3 = fn_as_objective(&f3);
    fedc_tune_options o3 = o;
    o3.budget = 26;
    fedc_tune_search *c = fedc_tune_search_create(s, NULL, &o3, &obj3, &err);
    if (fedc_tune_search_attach(c, store, id, &err) != 0) fail_msg("%s", err.msg);
    if (fedc_tune_search_run(c, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_tune_search_ntrials(c), 26);
    /* Trials read back on resume are recorded with their final state too
     * (here the complete ones of the first 20, which c only read back). */
    assert_store_matches(store, id, c);
    for (int k = 0; k < 20; k++) {
        const fedc_tune_trial *old = fedc_tune_search_trial(b, k), *now = fedc_tune_search_trial(c, k);
        /* Only a promotion beyond where the trial stood may run it again. */
        assert_int_equal(f3.calls[k], now->rung > old->rung ? now->rung - old->rung : 0);
    }

    /* A different definition, a missing search, a smaller budget. */
    fedc_tune_options o4 = o;
    o4.seed = 10;
    fedc_tune_search *d = fedc_tune_search_create(s, NULL, &o4, &obj3, &err);
    assert_int_equal(fedc_tune_search_attach(d, store, id, &err), -1);
    assert_non_null(strstr(err.msg, "other options"));
    assert_non_null(strstr(err.msg, "\"seed\":10"));
    assert_int_equal(fedc_tune_search_attach(d, store, id + 100, &err), -1);
    assert_non_null(strstr(err.msg, "no search"));
    fedc_tune_search_free(d);
    o4 = o;
    o4.budget = 5;
    d = fedc_tune_search_create(s, NULL, &o4, &obj3, &err);
    assert_int_equal(fedc_tune_search_attach(d, store, id, &err), -1);
    assert_non_null(strstr(err.msg, "cannot be below"));
    fedc_tune_search_free(d);

    fedc_tune_search_free(ref);
    fedc_tune_search_free(b);
    fedc_tune_search_free(c);
    fedc_tune_store_close(store);
    remove_db(db);
    free(db);
    fedc_tune_space_free(s);
}

/* ---- Proposer hook ------------------------------------------------------ */

typedef struct proposer {
    const char *answer;
    int calls;
    int saw_history;
} proposer;

static int propose(void *ctx, const char *history, char **out, fedc_error *err) {
    proposer *p = ctx;
    p->calls++;
    json_t *h = json_loads(history, 0, NULL);
    p->saw_history |= h && json_is_array(json_object_get(h, "trials")) && json_object_get(h, "space");
    json_decref(h);
    if (!p->answer) return fedc_fail(err, "endpoint unreachable (test)");
    *out = strdup(p->answer);
    return 0;
}

static void test_proposer_hook(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_discrete);
    fedc_error err;
    const char *answers[] = {"{\"local.lr\": 0.1, \"local.batch\": 32, \"local.epochs\": 2}",
                             "{\"local.lr\": 0.5, \"local.batch\": 32, \"local.epochs\": 2}", NULL};
    for (int k = 0; k < 3; k++) {
        proposer p = {answers[k], 0, 0};
        fn_objective fo;
        fn_init(&fo, discrete_final);
        fedc_tune_options o = options(FEDC_TUNE_TPE, 12, 4);
        o.startup = 4;
        o.propose = propose;
        o.propose_ctx = &p;
        o.propose_every = 3;
        fedc_tune_objective obj = fn_as_objective(&fo);
        fedc_tune_search *se = fedc_tune_search_create(s, NULL, &o, &obj, &err);
        if (fedc_tune_search_run(se, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(p.calls, 3); /* trials 4, 7, 10 */
        assert_true(p.saw_history);
        for (int i = 0; i < 12; i++) {
            const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
            int asked = i >= 4 && (i - 4) % 3 == 0;
            if (k == 0) {
                assert_string_equal(t->source, asked ? "llm" : i < 4 ? "random" : "tpe");
                if (asked) assert_true(is_known_best(&t->config));
            } else if (asked) {
                /* Rejected (0.5 is not a choice) or failed: the trial is sampled instead. */
                assert_string_equal(t->source, "tpe");
                assert_non_null(strstr(t->error, "proposal rejected"));
                assert_non_null(strstr(t->error, k == 1 ? "not one of the choices" : "unreachable"));
            }
        }
        fedc_tune_search_free(se);
    }
    fedc_tune_space_free(s);
}

/* ---- Reports ------------------------------------------------------------ */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_reports(void **state) {
    (void)state;
    fedc_tune_space *s = space_of(k_discrete);
    fn_objective fo;
    fn_init(&fo, discrete_final);
    fo.fail_trial = 1;
    fedc_tune_search *se = run_search(s, options(FEDC_TUNE_ASHA, 12, 2), &fo);
    int best = fedc_tune_search_best(se), n = fedc_tune_search_ntrials(se);

    char *lj = fedc_tune_leaderboard_json(se);
    json_t *root = json_loads(lj, 0, NULL);
    assert_non_null(root);
    json_t *trials = json_object_get(root, "trials");
    assert_int_equal(json_array_size(trials), (size_t)n);
    json_t *first = json_array_get(trials, 0), *last = json_array_get(trials, (size_t)n - 1);
    assert_int_equal(json_integer_value(json_object_get(first, "trial")), best);
    assert_int_equal(json_integer_value(json_object_get(root, "best")), best);
    assert_string_equal(json_string_value(json_object_get(last, "status")), "failed");
    assert_true(json_is_object(json_object_get(first, "config")));
    assert_int_equal(json_array_size(json_object_get(first, "rungs")), 4);
    /* Rows that went further come first; among equals, higher accuracy. */
    size_t i;
    json_t *t;
    int prev_rounds = 1 << 30;
    json_array_foreach(trials, i, t) {
        if (!strcmp(json_string_value(json_object_get(t, "status")), "failed")) continue;
        int r = (int)json_integer_value(json_object_get(t, "rounds"));
        assert_true(r <= prev_rounds);
        prev_rounds = r;
    }
    json_decref(root);
    free(lj);

    char dir[] = "/tmp/tune-report-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char svg[128], csv[128];
    snprintf(svg, sizeof svg, "%s/trials.svg", dir);
    snprintf(csv, sizeof csv, "%s/leaderboard.csv", dir);
    fedc_error err;
    if (fedc_tune_plot_svg(se, svg, &err) != 0) fail_msg("%s", err.msg);
    if (fedc_tune_leaderboard_csv(se, csv, &err) != 0) fail_msg("%s", err.msg);
    char *text = slurp(svg);
    assert_true(!strncmp(text, "<?xml", 5) && strstr(text, "</svg>"));
    /* One circle per trial that ran, three in the legend; one cross. */
    assert_int_equal(count(text, "<circle"), (n - 1) + 3);
    assert_int_equal(count(text, "failed: "), 1);
    assert_non_null(strstr(text, "<polyline"));
    free(text);
    text = slurp(csv);
    assert_int_equal(count(text, "\n"), n + 1);
    assert_non_null(strstr(text, "\"\"local.lr\"\""));
    free(text);
    FILE *mem = tmpfile();
    fedc_tune_leaderboard_print(se, mem, 5);
    rewind(mem);
    char line[512];
    assert_non_null(fgets(line, sizeof line, mem));
    assert_non_null(strstr(line, "accuracy"));
    fclose(mem);
    assert_int_equal(fedc_tune_plot_svg(se, "/nonexistent/dir/x.svg", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.svg"));
    unlink(svg);
    unlink(csv);
    rmdir(dir);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_best_is_found),
        cmocka_unit_test(test_asha_stops_early_and_spends_less),
        cmocka_unit_test(test_dropped_states_replay_identically),
        cmocka_unit_test(test_parallelism_does_not_change_results),
        cmocka_unit_test(test_tpe_beats_random_on_average),
        cmocka_unit_test(test_failures_are_contained),
        cmocka_unit_test(test_resume_repeats_no_finished_job),
        cmocka_unit_test(test_proposer_hook),
        cmocka_unit_test(test_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
