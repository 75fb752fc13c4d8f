/* Searches that run the real federated simulation on a small in-memory
 * task (3 classes, linearly separable, 6 clients, passed to every trial
 * through fedc_run_options.train_data/test_data):
 *  - the known best setting (the only learning rate that learns in 9
 *    rounds) is found within the budget;
 *  - ASHA stops trials early and spends fewer rounds and less CPU than
 *    random search for the same best accuracy;
 *  - a trial whose run was dropped is re-run to exactly the same result;
 *  - a resumed search reads finished trials back instead of running them;
 *  - the default space of the task runs, and the best task is a valid,
 *    ready-to-run spec;
 *  - a trial its plateau rule stops is over at that round and is charged
 *    only the rounds it ran (budget and totals). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"
#include "fedc/tune.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 3000, N_TEST = 500 };

static void make_dataset(fedc_dataset *d, size_t n, uint64_t seed) {
    fedc_test_linear_dataset(d, n, FEATURES, CLASSES, seed);
}

typedef struct fixture {
    fedc_dataset train, test;
    fedc_tune_fl *fl;
    fedc_task task;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    make_dataset(&f->train, N_TRAIN, 11);
    make_dataset(&f->test, N_TEST, 12);
    fedc_error err;
    f->fl = fedc_tune_fl_create(&f->train, &f->test, NULL, &err);
    assert_non_null(f->fl);
    fedc_task *t = &f->task;
    fedc_test_memory_task(t, "dense:128,dense:3"); /* the data is passed in memory */
    snprintf(t->name, sizeof t->name, "synthetic");
    t->clients = 6;
    t->clients_per_round = 3;
    t->rounds = 9;
    t->local.batch = 16;
    t->local.lr = 0.01;
    t->seed = 5;
    if (fedc_task_validate(t, &err) != 0) fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fedc_tune_fl_free(f->fl);
    fedc_test_dataset_free(&f->train);
    fedc_test_dataset_free(&f->test);
    free(f);
    return 0;
}

/* Learning rates three orders of magnitude apart: only 0.3 gets anywhere
 * in 9 rounds; epochs 2 helps it further. */
static const char *k_space =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.0001, 0.001, 0.3]},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 2}]}";

/* Only the learning rate: its ranking after 1 round is its ranking after 9
 * (more epochs, by contrast, look worse after 1 round and better after 9,
 * which is the case where successive halving can drop the winner). */
static const char *k_lr_space =
    "{\"params\": [{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.0001, 0.001, 0.01, 0.3]}]}";

static fedc_tune_options options(fedc_tune_method m, int budget) {
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    o.method = m;
    o.budget = budget;
    o.seed = 3;
    o.parallel = 2;
    o.n_classes = CLASSES;
    return o;
}

static fedc_tune_search *run(fixture *f, const fedc_tune_space *s, const fedc_tune_options *o) {
    fedc_error err;
    fedc_tune_objective obj = fedc_tune_fl_objective(f->fl);
    fedc_tune_search *se = fedc_tune_search_create(s, &f->task, o, &obj, &err);
    if (!se) fail_msg("create: %s", err.msg);
    if (fedc_tune_search_run(se, &err) != 0) fail_msg("run: %s", err.msg);
    return se;
}

static fedc_tune_space *space(const char *json) {
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_from_json(json, strlen(json), "test space", &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static void test_known_best_is_found(void **state) {
    fixture *f = *state;
    fedc_tune_space *s = space(k_space);
    fedc_tune_options o = options(FEDC_TUNE_RANDOM, 9);
    fedc_tune_search *se = run(f, s, &o);
    int n = fedc_tune_search_ntrials(se), best = fedc_tune_search_best(se), tried_best_lr = 0;
    assert_int_equal(n, 9);
    assert_true(best >= 0);
    const fedc_tune_trial *b = fedc_tune_search_trial(se, best);
    assert_true(b->config.v[0] == 2); /* lr = 0.3 */
    assert_true(b->accuracy > 0.8);
    assert_int_equal(b->rounds, 9);
    for (int i = 0; i < n; i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (t->status != FEDC_TRIAL_COMPLETE) fail_msg("trial %d is %s: %s", i, fedc_trial_status_name(t->status), t->error);
        assert_true(t->cpu_s > 0 && t->bytes > 0);
        tried_best_lr += t->config.v[0] == 2;
        if (t->config.v[0] == 0) assert_true(t->accuracy < b->accuracy - 0.2);
    }
    assert_true(tried_best_lr >= 1);

    /* The best task is a valid spec with the winning settings. */
    fedc_task bt;
    fedc_error err;
    if (fedc_tune_search_best_task(se, &bt, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_task_validate(&bt, &err), 0);
    assert_true(bt.local.lr == 0.3);
    assert_int_equal(bt.rounds, 9);
    assert_string_equal(bt.name, "synthetic-tuned");
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

static void test_asha_spends_less_for_the_same_best(void **state) {
    fixture *f = *state;
    fedc_tune_space *s = space(k_lr_space);
    fedc_tune_options ro = options(FEDC_TUNE_RANDOM, 9), ao = options(FEDC_TUNE_ASHA, 9);
    fedc_tune_search *rs = run(f, s, &ro), *as = run(f, s, &ao);
    for (int i = 0; i < 9; i++) {
        const fedc_tune_trial *x = fedc_tune_search_trial(rs, i), *y = fedc_tune_search_trial(as, i);
        if (x->status == FEDC_TRIAL_FAILED || y->status == FEDC_TRIAL_FAILED)
            fail_msg("trial %d failed: %s%s", i, x->error, y->error);
    }
    int rungs[FEDC_TUNE_MAX_RUNGS];
    assert_int_equal(fedc_tune_search_rungs(as, rungs), 3); /* 1, 3, 9 rounds */
    int rb = fedc_tune_search_best(rs), ab = fedc_tune_search_best(as);
    assert_true(rb >= 0 && ab >= 0);
    double racc = fedc_tune_search_trial(rs, rb)->accuracy, aacc = fedc_tune_search_trial(as, ab)->accuracy;
    assert_true(racc == aacc);
    int stopped = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(as); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(as, i);
        if (t->status == FEDC_TRIAL_STOPPED) {
            stopped++;
            assert_true(t->rounds < 9);
        }
        /* A trial's accuracy at 9 rounds is the same whether it got there
         * in one go or rung by rung from a kept run. */
        if (t->status == FEDC_TRIAL_COMPLETE) assert_true(t->accuracy == fedc_tune_search_trial(rs, i)->accuracy);
    }
    assert_true(stopped >= 5);
    /* The work compared in deterministic units: rounds trained and bytes
     * moved (every round of this task trains the same clients on the same
     * samples). CPU seconds are printed, never compared: a shared machine
     * does not keep them in order. */
    long rr, ar;
    double rc, ac;
    fedc_tune_search_totals(rs, &rr, &rc, NULL);
    fedc_tune_search_totals(as, &ar, &ac, NULL);
    uint64_t rbytes = 0, abytes = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(rs); i++) rbytes += fedc_tune_search_trial(rs, i)->bytes;
    for (int i = 0; i < fedc_tune_search_ntrials(as); i++) abytes += fedc_tune_search_trial(as, i)->bytes;
    print_message("random: %ld rounds, %llu bytes (%.3f CPU s); ASHA: %ld rounds, %llu bytes (%.3f CPU s), %d stopped "
                  "early\n",
                  rr, (unsigned long long)rbytes, rc, ar, (unsigned long long)abytes, ac, stopped);
    assert_int_equal(rr, 81);
    /* Less work is counted in rounds; CPU seconds (printed) vary with the
     * machine's load and are no test. */
    assert_true(ar <= 30);
    assert_true(abytes < rbytes);

    /* No room for paused runs: promoted trials are re-run from round 0 and
     * reach exactly the same accuracies. */
    fedc_tune_options do_ = ao;
    do_.keep_bytes = 1;
    fedc_tune_search *ds = run(f, s, &do_);
    for (int i = 0; i < fedc_tune_search_ntrials(as); i++) {
        const fedc_tune_trial *x = fedc_tune_search_trial(as, i), *y = fedc_tune_search_trial(ds, i);
        assert_int_equal(x->status, y->status);
        assert_true(x->accuracy == y->accuracy);
    }
    long dr;
    fedc_tune_search_totals(ds, &dr, NULL, NULL);
    assert_true(dr > ar);
    fedc_tune_search_free(rs);
    fedc_tune_search_free(as);
    fedc_tune_search_free(ds);
    fedc_tune_space_free(s);
}

typedef struct stopper {
    volatile int stop;
    int jobs;
} stopper;

static void stop_after_three(void *ctx, const fedc_tune_trial *t, int rung) {
    (void)t;
    (void)rung;
    stopper *st = ctx;
    if (++st->jobs >= 3) st->stop = 1;
}

static void test_resume_reads_finished_trials_back(void **state) {
    fixture *f = *state;
    fedc_tune_space *s = space(k_space);
    char db[] = "/tmp/tune-fl-test-XXXXXX";
    int fd = mkstemp(db);
    close(fd);
    unlink(db);
    fedc_error err;
    fedc_tune_store *store = fedc_tune_store_open(db, &err);
    assert_non_null(store);
    fedc_tune_options o = options(FEDC_TUNE_TPE, 7);
    o.parallel = 1;
    o.startup = 3;
    fedc_tune_search *ref = run(f, s, &o);

    stopper st = {0, 0};
    fedc_tune_options oi = o;
    oi.stop = &st.stop;
    oi.progress = stop_after_three;
    oi.progress_ctx = &st;
    fedc_tune_objective obj = fedc_tune_fl_objective(f->fl);
    fedc_tune_search *a = fedc_tune_search_create(s, &f->task, &oi, &obj, &err);
    if (fedc_tune_search_attach(a, store, 0, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_tune_search_run(a, &err), -1);
    int64_t id = fedc_tune_search_id(a);
    fedc_tune_search_free(a);

    fedc_tune_search *b = fedc_tune_search_create(s, &f->task, &o, &obj, &err);
    if (fedc_tune_search_attach(b, store, id, &err) != 0) fail_msg("%s", err.msg);
    if (fedc_tune_search_run(b, &err) != 0) fail_msg("%s", err.msg);
    int reused;
    long rounds;
    fedc_tune_search_totals(b, &rounds, NULL, &reused);
    assert_int_equal(reused, 3);
    for (int i = 0; i < 7; i++) {
        const fedc_tune_trial *x = fedc_tune_search_trial(ref, i), *y = fedc_tune_search_trial(b, i);
        assert_true(x->accuracy == y->accuracy);
        assert_string_equal(x->source, y->source);
    }
    /* The stored search can be resumed from its own definition. */
    fedc_tune_space *s2 = NULL;
    fedc_task t2;
    fedc_tune_options o2;
    if (fedc_tune_store_get_search(store, id, &s2, &t2, &o2, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(o2.budget, 7);
    assert_int_equal(o2.method, FEDC_TUNE_TPE);
    assert_int_equal(o2.startup, 3);
    assert_string_equal(t2.name, "synthetic");
    char *x = fedc_tune_space_to_json(s), *y = fedc_tune_space_to_json(s2);
    assert_string_equal(x, y);
    free(x);
    free(y);
    fedc_tune_space_free(s2);
    fedc_tune_search_free(ref);
    fedc_tune_search_free(b);
    fedc_tune_store_close(store);
    char p[64];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    fedc_tune_space_free(s);
}

/* Mean accuracy of the last `last` rounds of a plain run with `seed`. */
static double plain_run(fixture *f, const fedc_task *task, uint64_t seed, int rounds, int last) {
    fedc_task t = *task;
    t.seed = seed;
    t.rounds = rounds;
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    assert_non_null(r);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    double sum = 0;
    fedc_round_metrics m;
    for (int k = 1; k <= rounds; k++) {
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("%s", err.msg);
        if (k > rounds - last) sum += m.accuracy;
    }
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return sum / last;
}

static void test_seeds_and_last_rounds(void **state) {
    fixture *f = *state;
    fedc_error err;
    fedc_tune_fl *fl = fedc_tune_fl_create(&f->train, &f->test, NULL, &err);
    if (fedc_tune_fl_configure(fl, 2, 3, &err) != 0) fail_msg("%s", err.msg);
    char desc[64];
    fedc_tune_fl_describe(fl, desc, sizeof desc);
    assert_string_equal(desc, "fl seeds=2 last=3");
    int seeds, last;
    assert_int_equal(fedc_tune_fl_parse_description(desc, &seeds, &last), 0);
    assert_true(seeds == 2 && last == 3);
    assert_int_equal(fedc_tune_fl_parse_description("fl seeds=2 last=3 extra", &seeds, &last), -1);
    assert_int_equal(fedc_tune_fl_configure(fl, 17, 3, &err), -1);
    assert_non_null(strstr(err.msg, "1..16"));

    /* One trial, at 3 rounds then continued to 9: the mean over seeds 5 and 6
     * of each run's last 3 accuracies. */
    fedc_tune_objective obj = fedc_tune_fl_objective(fl);
    fedc_tune_config cfg = {0, {0}};
    void *st = NULL;
    fedc_tune_measure m;
    assert_int_equal(obj.advance(obj.ctx, 0, &f->task, &cfg, 3, 1, &st, &m, &err), 0);
    assert_true(fabs(m.accuracy - (plain_run(f, &f->task, 5, 3, 3) + plain_run(f, &f->task, 6, 3, 3)) / 2) < 1e-12);
    assert_true(obj.state_bytes(obj.ctx, st) > 0);
    assert_int_equal(obj.advance(obj.ctx, 0, &f->task, &cfg, 9, 1, &st, &m, &err), 0);
    assert_int_equal(m.rounds, 9);
    assert_true(fabs(m.accuracy - (plain_run(f, &f->task, 5, 9, 3) + plain_run(f, &f->task, 6, 9, 3)) / 2) < 1e-12);
    obj.release(obj.ctx, st);

    /* A diverging setting fails the trial with the reason. */
    fedc_task bad = f->task;
    bad.local.lr = 10;
    st = NULL;
    int rc = obj.advance(obj.ctx, 1, &bad, &cfg, 9, 1, &st, &m, &err);
    obj.release(obj.ctx, st);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "round"));
    fedc_tune_fl_free(fl);
}

static void test_default_space_runs(void **state) {
    fixture *f = *state;
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_default(&f->task, &err);
    assert_non_null(s);
    fedc_tune_options o = options(FEDC_TUNE_ASHA_TPE, 8);
    o.max_rounds = 3;
    o.include_base = 1;
    fedc_tune_search *se = run(f, s, &o);
    /* Trial 0 is the task's own setting. */
    const fedc_tune_trial *t0 = fedc_tune_search_trial(se, 0);
    assert_string_equal(t0->source, "base");
    fedc_tune_config own;
    if (fedc_tune_config_from_task(s, &f->task, &own, &err) != 0) fail_msg("%s", err.msg);
    for (int k = 0; k < fedc_tune_space_nparams(s); k++)
        assert_true((isnan(own.v[k]) && isnan(t0->config.v[k])) || own.v[k] == t0->config.v[k]);
    int ok = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (t->status == FEDC_TRIAL_FAILED) print_message("trial %d failed: %s\n", i, t->error);
        else ok++;
    }
    assert_true(ok >= 6);
    fedc_task bt;
    if (fedc_tune_search_best_task(se, &bt, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_task_validate(&bt, &err), 0);
    assert_int_equal(bt.rounds, 3);
    assert_non_null(strstr(bt.model, ",dense:3"));
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

/* Selection reads validation accuracy, never test accuracy. The test set
 * here has its labels rotated (class c is called c + 1), so the better a
 * trial learns the training distribution the worse its test figure: the
 * validation split (held out of the clients' own data) and the test set
 * disagree on purpose, and the search must follow validation. */
static void test_selection_reads_validation(void **state) {
    fixture *f = *state;
    fedc_dataset test;
    make_dataset(&test, N_TEST, 12);
    for (size_t i = 0; i < test.n; i++) test.y[i] = (test.y[i] + 1) % CLASSES;
    fedc_error err;
    fedc_tune_fl *fl = fedc_tune_fl_create(&f->train, &test, NULL, &err);
    assert_non_null(fl);
    fedc_task task = f->task;
    task.validation = 0.2;
    if (fedc_task_validate(&task, &err) != 0) fail_msg("%s", err.msg);
    fedc_tune_space *s = space(k_lr_space);
    fedc_tune_options o = options(FEDC_TUNE_RANDOM, 8);
    fedc_tune_objective obj = fedc_tune_fl_objective(fl);
    fedc_tune_search *se = fedc_tune_search_create(s, &task, &o, &obj, &err);
    if (!se) fail_msg("create: %s", err.msg);
    if (fedc_tune_search_run(se, &err) != 0) fail_msg("run: %s", err.msg);
    int best = fedc_tune_search_best(se), best_by_test = -1;
    assert_true(best >= 0);
    double best_test = -1;
    for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (t->status != FEDC_TRIAL_COMPLETE) continue;
        assert_int_equal(t->last.validated, 1);
        assert_true(t->accuracy <= fedc_tune_search_trial(se, best)->accuracy); /* best on validation */
        if (t->last.test_accuracy > best_test) {
            best_test = t->last.test_accuracy;
            best_by_test = i;
        }
    }
    const fedc_tune_trial *b = fedc_tune_search_trial(se, best);
    print_message("validation picks trial %d (val %.3f, test %.3f); the test set would pick trial %d (test %.3f)\n",
                  best, b->accuracy, b->last.test_accuracy, best_by_test, best_test);
    /* The two disagree, and the search followed validation. */
    assert_true(b->accuracy > 0.8);
    assert_true(b->last.test_accuracy < best_test);
    assert_true(fedc_tune_search_trial(se, best_by_test)->accuracy < b->accuracy);
    /* The leaderboard says so, and shows the test figure of the final choice only. */
    char *lj = fedc_tune_leaderboard_json(se);
    assert_non_null(strstr(lj, "\"selected_on\": \"validation\""));
    int test_figures = 0;
    for (const char *p = lj; (p = strstr(p, "\"test_accuracy\"")); p++) test_figures++;
    assert_int_equal(test_figures, 1);
    free(lj);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
    fedc_tune_fl_free(fl);
    free(test.x);
    free(test.y);
}

/* The plateau rule as a searched setting: a trial whose rule fires is over
 * at that round (complete, fewer rounds), costs only those rounds in the
 * search's accounting, and a bytes budget the full runs break is met by it.
 * delta 1 makes the stop round exact: round 1 stays the best, the trial
 * ends at round 1 + 2. */
static const char *k_plateau_space =
    "{\"params\": [{\"name\": \"stop.plateau_rounds\", \"type\": \"choice\", \"values\": [0, 2]},"
    "{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.01, 0.3]}]}";

static void test_plateau_rule_ends_trials_and_saves_cost(void **state) {
    fixture *f = *state;
    fedc_task task = f->task;
    task.validation = 0.2;
    task.stop.plateau_delta = 1;
    fedc_error err;
    if (fedc_task_validate(&task, &err) != 0) fail_msg("%s", err.msg);
    fedc_tune_space *s = space(k_plateau_space);
    char db[] = "/tmp/tune-plateau-test-XXXXXX";
    int fd = mkstemp(db);
    close(fd);
    unlink(db);
    fedc_tune_store *store = fedc_tune_store_open(db, &err);
    assert_non_null(store);
    for (int goal = 0; goal < 2; goal++) {
        fedc_tune_options o = options(FEDC_TUNE_RANDOM, 6);
        o.include_base = 1; /* trial 0: the task itself, no plateau rule */
        if (goal) {
            o.goal = FEDC_TUNE_GOAL_BUDGET;
            assert_int_equal(fedc_tune_limit_parse("0.5x", 1, &o.max_bytes, &err), 0);
        }
        fedc_tune_objective obj = fedc_tune_fl_objective(f->fl);
        fedc_tune_search *se = fedc_tune_search_create(s, &task, &o, &obj, &err);
        if (!se) fail_msg("create: %s", err.msg);
        if (fedc_tune_search_attach(se, store, 0, &err) != 0) fail_msg("%s", err.msg);
        if (fedc_tune_search_run(se, &err) != 0) fail_msg("run: %s", err.msg);
        const fedc_tune_trial *base = fedc_tune_search_trial(se, 0);
        assert_string_equal(base->source, "base");
        assert_int_equal(base->rounds, 9);
        assert_int_equal(base->last.plateaued, 0);
        long want_rounds = 0, rounds;
        int stopped = 0;
        for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
            const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
            assert_int_equal(t->status, FEDC_TRIAL_COMPLETE);
            want_rounds += t->rounds;
            if (t->config.v[0] == 0) {
                assert_int_equal(t->rounds, 9);
                assert_int_equal(t->last.plateaued, 0);
                if (goal) assert_int_equal(t->feasible, 0); /* a full run's bytes are over half the base's */
                continue;
            }
            stopped++;
            assert_int_equal(t->rounds, 3);
            assert_int_equal(t->last.plateaued, 1);
            /* Same bytes per round as the full run, for a third of the rounds. */
            assert_true(fabs((double)t->bytes * 3 - (double)base->bytes) < 0.01 * (double)base->bytes);
            if (goal) assert_int_equal(t->feasible, 1);
        }
        assert_true(stopped >= 1 && stopped < fedc_tune_search_ntrials(se));
        /* The search counts the rounds that ran, not the rounds asked. */
        fedc_tune_search_totals(se, &rounds, NULL, NULL);
        assert_int_equal(rounds, want_rounds);
        char *lj = fedc_tune_leaderboard_json(se);
        assert_non_null(strstr(lj, "\"plateaued\": true"));
        free(lj);
        if (goal) {
            /* Only plateaued trials meet the budget: the best is one, and its
             * task keeps the rule. */
            int b = fedc_tune_search_best(se);
            assert_true(b > 0);
            assert_int_equal(fedc_tune_search_trial(se, b)->last.plateaued, 1);
            fedc_task bt;
            if (fedc_tune_search_best_task(se, &bt, &err) != 0) fail_msg("%s", err.msg);
            assert_int_equal(bt.stop.plateau_rounds, 2);
        }
        /* Resumed from the store, every job is read back with its stop
         * round, and the search decides and counts the same. */
        fedc_tune_search *re = fedc_tune_search_create(s, &task, &o, &obj, &err);
        if (!re) fail_msg("create: %s", err.msg);
        if (fedc_tune_search_attach(re, store, fedc_tune_search_id(se), &err) != 0) fail_msg("%s", err.msg);
        if (fedc_tune_search_run(re, &err) != 0) fail_msg("resume: %s", err.msg);
        long rounds2;
        int reused;
        fedc_tune_search_totals(re, &rounds2, NULL, &reused);
        assert_int_equal(reused, fedc_tune_search_ntrials(se));
        assert_int_equal(rounds2, rounds);
        assert_int_equal(fedc_tune_search_best(re), fedc_tune_search_best(se));
        for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
            const fedc_tune_trial *x = fedc_tune_search_trial(se, i), *y = fedc_tune_search_trial(re, i);
            assert_int_equal(x->rounds, y->rounds);
            assert_int_equal(x->status, y->status);
            assert_int_equal(x->last.plateaued, y->last.plateaued);
            assert_int_equal(x->feasible, y->feasible);
        }
        fedc_tune_search_free(re);
        fedc_tune_search_free(se);
    }
    fedc_tune_store_close(store);
    char p[64];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    fedc_tune_space_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_best_is_found),
        cmocka_unit_test(test_asha_spends_less_for_the_same_best),
        cmocka_unit_test(test_resume_reads_finished_trials_back),
        cmocka_unit_test(test_seeds_and_last_rounds),
        cmocka_unit_test(test_default_space_runs),
        cmocka_unit_test(test_selection_reads_validation),
        cmocka_unit_test(test_plateau_rule_ends_trials_and_saves_cost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
