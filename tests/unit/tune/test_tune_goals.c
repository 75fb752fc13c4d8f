/* What a search optimises, on synthetic objectives whose answers are known
 * (no measured time anywhere: costs are functions of the configuration):
 *  - non-dominated sorting and crowding on hand-made points;
 *  - pareto on a discrete space whose Pareto-optimal set is known: the
 *    front found is exactly that set, and it is exactly the non-dominated
 *    subset of the complete trials (checked by brute force);
 *  - pareto on a continuous problem with a known concave front: the front
 *    found lies close to it, spans it, and is closer than random search's;
 *  - accuracy@budget never returns a trial over budget (relative and
 *    absolute limits), returns the most accurate trial within it, and none
 *    when nothing fits;
 *  - limits and goals parse, and a search with a goal resumes with it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/tune.h"

/* ---- A synthetic objective with costs ---------------------------------- */

typedef struct cost_fn {
    /* Fills accuracy, client_gflop and bytes (per run of `rounds`) for cfg. */
    void (*eval)(const fedc_tune_config *c, int rounds, fedc_tune_measure *m);
} cost_fn;

static int cost_advance(void *ctx, int trial, const fedc_task *task, const fedc_tune_config *cfg, int rounds,
                        int threads, void **state, fedc_tune_measure *out, fedc_error *err) {
    (void)trial;
    (void)task;
    (void)threads;
    (void)state;
    (void)err;
    cost_fn *f = ctx;
    memset(out, 0, sizeof *out);
    out->rounds = rounds;
    f->eval(cfg, rounds, out);
    out->loss = 1 - out->accuracy;
    out->test_accuracy = out->accuracy;
    out->client_cpu_s = out->client_gflop; /* a stand-in; never asserted on */
    out->bytes_up = out->bytes / 2;
    out->bytes_down = out->bytes - out->bytes_up;
    return 0;
}

static fedc_tune_objective cost_objective(cost_fn *f) {
    fedc_tune_objective o = {cost_advance, NULL, NULL, f};
    return o;
}

static fedc_tune_space *space(const char *json) {
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_from_json(json, strlen(json), "test space", &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static fedc_tune_options options(fedc_tune_method m, int budget, fedc_tune_goal goal) {
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    o.method = m;
    o.budget = budget;
    o.seed = 7;
    o.parallel = 2;
    o.max_rounds = 10;
    o.goal = goal;
    return o;
}

static fedc_tune_search *run(const fedc_tune_space *s, const fedc_task *base, const fedc_tune_options *o,
                             cost_fn *f) {
    fedc_error err;
    fedc_tune_objective obj = cost_objective(f);
    fedc_tune_search *se = fedc_tune_search_create(s, base, o, &obj, &err);
    if (!se) fail_msg("create: %s", err.msg);
    if (fedc_tune_search_run(se, &err) != 0) fail_msg("run: %s", err.msg);
    return se;
}

/* 1 when a dominates b on (accuracy up; client compute and bytes down). */
static int dominates(const fedc_tune_trial *a, const fedc_tune_trial *b) {
    double av[3] = {-a->accuracy, a->last.client_gflop, (double)a->bytes};
    double bv[3] = {-b->accuracy, b->last.client_gflop, (double)b->bytes};
    int better = 0;
    for (int k = 0; k < 3; k++) {
        if (av[k] > bv[k]) return 0;
        if (av[k] < bv[k]) better = 1;
    }
    return better;
}

/* The reported front is exactly the non-dominated complete trials. */
static void assert_front_is_nondominated_set(const fedc_tune_search *se) {
    int n = fedc_tune_search_ntrials(se);
    for (int i = 0; i < n; i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (t->status != FEDC_TRIAL_COMPLETE) {
            assert_int_equal(t->pareto_rank, 0);
            continue;
        }
        int dominated = 0;
        for (int j = 0; j < n && !dominated; j++) {
            const fedc_tune_trial *u = fedc_tune_search_trial(se, j);
            dominated = u->status == FEDC_TRIAL_COMPLETE && dominates(u, t);
        }
        if (dominated != (t->pareto_rank != 1))
            fail_msg("trial %d: dominated %d but pareto rank %d", i, dominated, t->pareto_rank);
    }
}

/* ---- Non-dominated sorting on hand-made points ------------------------- */

static void test_pareto_sort_known_points(void **state) {
    (void)state;
    /* Two objectives, both minimised. Front 1: (0,4) (1,2) (2,1) (4,0);
     * front 2: (1,4) (3,2) (5,1); front 3: (5,5); (2,1) twice: equal points
     * do not dominate each other, so both are on front 1. */
    const double p[][2] = {{0, 4}, {1, 2}, {2, 1}, {4, 0}, {1, 4}, {3, 2}, {5, 1}, {5, 5}, {2, 1}};
    const int want[] = {1, 1, 1, 1, 2, 2, 2, 3, 1};
    int n = 9, rank[9];
    double crowd[9];
    assert_int_equal(fedc_tune_pareto_sort(&p[0][0], n, 2, rank, crowd), 0);
    for (int i = 0; i < n; i++) assert_int_equal(rank[i], want[i]);
    /* Extremes of a front are infinitely crowded (always kept); the
     * interior point (1,2) has neighbours (0,4) and (2,1)/(2,1): gaps 2/4 + 3/4. */
    assert_true(isinf(crowd[0]) && isinf(crowd[3]));
    assert_true(isinf(crowd[4]) && isinf(crowd[6]));
    assert_true(fabs(crowd[1] - 1.25) < 1e-12);
    assert_true(isinf(crowd[7]));
}

/* ---- Pareto: a discrete space with a known Pareto-optimal set ----------- */

/* x in {0..4}: accuracy 0.5 + 0.1 x, compute 10 (x + 1) GFLOP; y in {0,1,2}
 * adds compute and bytes for nothing. The Pareto-optimal set is y = 0, all
 * five x (accuracy rises with compute). */
static void discrete_eval(const fedc_tune_config *c, int rounds, fedc_tune_measure *m) {
    double x = c->v[0], y = c->v[1];
    m->accuracy = 0.5 + 0.1 * x;
    m->client_gflop = (10 * (x + 1) + 7 * y) * rounds / 10.0;
    m->bytes = (uint64_t)((1000 + 500 * y) * rounds);
}

static const char *k_discrete =
    "{\"params\": [{\"name\": \"x\", \"type\": \"int\", \"min\": 0, \"max\": 4},"
    "{\"name\": \"y\", \"type\": \"int\", \"min\": 0, \"max\": 2}]}";

static void test_pareto_front_matches_known_set(void **state) {
    (void)state;
    fedc_tune_space *s = space(k_discrete);
    cost_fn f = {discrete_eval};
    fedc_tune_options o = options(FEDC_TUNE_TPE, 40, FEDC_TUNE_GOAL_PARETO);
    fedc_tune_search *se = run(s, NULL, &o, &f);
    assert_front_is_nondominated_set(se);
    /* Every Pareto-optimal configuration was found, and nothing else is on the front. */
    int seen[5] = {0};
    int ids[64], nf = fedc_tune_search_front(se, ids, 64);
    assert_true(nf >= 5);
    for (int k = 0; k < nf; k++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, ids[k]);
        assert_int_equal((int)t->config.v[1], 0);
        seen[(int)t->config.v[0]] = 1;
        /* Ordered by client compute. */
        if (k > 0) assert_true(fedc_tune_search_trial(se, ids[k - 1])->last.client_gflop <= t->last.client_gflop);
    }
    for (int x = 0; x < 5; x++) assert_int_equal(seen[x], 1);
    /* Best of a pareto search: the accuracy end of the front. */
    const fedc_tune_trial *b = fedc_tune_search_trial(se, fedc_tune_search_best(se));
    assert_int_equal((int)b->config.v[0], 4);
    assert_int_equal((int)b->config.v[1], 0);
    /* The leaderboard names the front and each trial's rank. */
    char *lj = fedc_tune_leaderboard_json(se);
    assert_non_null(strstr(lj, "\"goal\": \"pareto\""));
    assert_non_null(strstr(lj, "\"front\": ["));
    assert_non_null(strstr(lj, "\"pareto_rank\": 1"));
    free(lj);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

/* ---- Pareto: a continuous front ----------------------------------------- */

/* compute = 100 x1 GFLOP, accuracy = sqrt(x1) (1 - x2/2): the true front is
 * x2 = 0, accuracy = sqrt(compute / 100), a concave curve over the whole
 * range of compute; a point with x2 > 0 is dominated by (x1, 0). */
static void curve_eval(const fedc_tune_config *c, int rounds, fedc_tune_measure *m) {
    m->accuracy = sqrt(c->v[0]) * (1 - c->v[1] / 2);
    m->client_gflop = 100 * c->v[0] * rounds / 10.0;
    m->bytes = (uint64_t)1000 * (uint64_t)rounds; /* the same for all: the front is over the other two */
}

/* Mean gap between a front point's accuracy and the true front's at its compute. */
static double front_gap(const fedc_tune_search *se, double *lo, double *hi, int *nf) {
    int ids[256];
    *nf = fedc_tune_search_front(se, ids, 256);
    double gap = 0;
    *lo = 1;
    *hi = 0;
    for (int k = 0; k < *nf; k++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, ids[k]);
        gap += (sqrt(t->config.v[0]) - t->accuracy) / *nf;
        *lo = fmin(*lo, t->config.v[0]);
        *hi = fmax(*hi, t->config.v[0]);
    }
    return gap;
}

static void test_pareto_continuous_front(void **state) {
    (void)state;
    fedc_tune_space *s = space("{\"params\": [{\"name\": \"x1\", \"type\": \"float\", \"min\": 0, \"max\": 1},"
                               "{\"name\": \"x2\", \"type\": \"float\", \"min\": 0, \"max\": 1}]}");
    cost_fn f = {curve_eval};
    fedc_tune_options o = options(FEDC_TUNE_TPE, 80, FEDC_TUNE_GOAL_PARETO);
    o.pareto_axes = FEDC_TUNE_AXIS_CLIENT;
    fedc_tune_search *se = run(s, NULL, &o, &f);
    assert_front_is_nondominated_set(se);
    double lo, hi;
    int nf;
    double gap = front_gap(se, &lo, &hi, &nf);
    fedc_tune_options r = options(FEDC_TUNE_RANDOM, 80, FEDC_TUNE_GOAL_PARETO);
    r.pareto_axes = FEDC_TUNE_AXIS_CLIENT;
    fedc_tune_search *sr = run(s, NULL, &r, &f);
    double rlo, rhi;
    int rnf;
    double rgap = front_gap(sr, &rlo, &rhi, &rnf);
    print_message("front of %d points, x1 in [%.3f, %.3f], mean gap to the true front %.4f; random search: %d "
                  "points, mean gap %.4f\n", nf, lo, hi, gap, rnf, rgap);
    assert_true(nf >= 8);
    assert_true(hi - lo > 0.5); /* it spans the front, not one corner of it */
    assert_true(gap < 0.025);
    assert_true(gap < rgap);    /* the goal steers TPE: closer than random search with the same budget */
    fedc_tune_search_free(sr);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

/* ---- accuracy@budget ----------------------------------------------------- */

/* A base task whose fields the space searches: local.epochs multiplies
 * compute, compression.up divides bytes, and accuracy grows with epochs
 * more than anything else does (then with lr near 0.1, a little less with
 * lossier codecs) — so the most accurate settings are over any tight
 * budget: every trial with 4 or more epochs beats every one with 2. */
static void budget_eval(const fedc_tune_config *c, int rounds, fedc_tune_measure *m) {
    double lr = c->v[0], epochs = c->v[1];
    int codec = (int)c->v[2]; /* 0 none, 1 fp16, 2 q8 */
    static const double shrink[] = {1, 0.5, 0.25};
    m->accuracy = 0.4 + 0.1 * epochs - 0.05 * fabs(log10(lr) + 1) - 0.01 * codec;
    m->client_gflop = 5.0 * epochs * rounds;
    m->bytes = (uint64_t)(4e6 * shrink[codec] * rounds);
}

static const char *k_budget_space =
    "{\"params\": [{\"name\": \"local.lr\", \"type\": \"log-float\", \"min\": 0.001, \"max\": 1},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 5},"
    "{\"name\": \"compression.up\", \"type\": \"choice\", \"values\": [\"none\", \"fp16\", \"q8\"]}]}";

static void base_task(fedc_task *t) {
    fedc_error err;
    fedc_task_defaults(t);
    snprintf(t->name, sizeof t->name, "budget-test");
    t->local.lr = 0.01;
    t->local.epochs = 2;
    t->rounds = 10;
    if (fedc_task_validate(t, &err) != 0) fail_msg("%s", err.msg);
}

/* The best trial is complete, within the limits, and the most accurate of
 * the complete trials within them; some trial over them is more accurate
 * (else the test could not fail). */
static void assert_best_within(const fedc_tune_search *se, double max_gflop, double max_bytes) {
    int best = fedc_tune_search_best(se);
    assert_true(best >= 0);
    const fedc_tune_trial *b = fedc_tune_search_trial(se, best);
    assert_int_equal(b->status, FEDC_TRIAL_COMPLETE);
    assert_true(b->last.client_gflop <= max_gflop * (1 + 1e-9));
    assert_true((double)b->bytes <= max_bytes * (1 + 1e-9));
    assert_int_equal(b->feasible, 1);
    int over_better = 0;
    for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (t->status != FEDC_TRIAL_COMPLETE) continue;
        int within = t->last.client_gflop <= max_gflop * (1 + 1e-9) && (double)t->bytes <= max_bytes * (1 + 1e-9);
        assert_int_equal(t->feasible, within);
        if (within) assert_true(t->accuracy <= b->accuracy);
        else over_better |= t->accuracy > b->accuracy;
    }
    assert_true(over_better);
}

static void test_budget_relative_never_over(void **state) {
    (void)state;
    fedc_task base;
    base_task(&base);
    fedc_tune_space *s = space(k_budget_space);
    cost_fn f = {budget_eval};
    fedc_tune_options o = options(FEDC_TUNE_TPE, 40, FEDC_TUNE_GOAL_BUDGET);
    o.include_base = 1;
    fedc_error err;
    assert_int_equal(fedc_tune_limit_parse("1x", 0, &o.max_client_cpu, &err), 0);
    assert_int_equal(fedc_tune_limit_parse("0.5x", 1, &o.max_bytes, &err), 0);
    fedc_tune_search *se = run(s, &base, &o, &f);
    /* The base: 2 epochs -> 100 GFLOP per run of 10 rounds; no codec -> 40 MB. */
    const fedc_tune_trial *t0 = fedc_tune_search_trial(se, 0);
    assert_string_equal(t0->source, "base");
    double c, b;
    assert_int_equal(fedc_tune_search_limits(se, &c, &b), 1);
    assert_true(fabs(c - 100) < 1e-6 && fabs(b - 20e6) < 1);
    assert_int_equal(t0->feasible, 0); /* the base itself sends too much for 0.5x */
    assert_best_within(se, 100, 20e6);
    char *lj = fedc_tune_leaderboard_json(se);
    assert_non_null(strstr(lj, "\"goal\": \"accuracy@budget\""));
    assert_non_null(strstr(lj, "\"feasible\": false"));
    free(lj);
    fedc_tune_search_free(se);

    /* Plain accuracy picks a trial over that budget: the goal made the difference. */
    fedc_tune_options a = options(FEDC_TUNE_TPE, 40, FEDC_TUNE_GOAL_ACCURACY);
    a.include_base = 1;
    se = run(s, &base, &a, &f);
    const fedc_tune_trial *ab = fedc_tune_search_trial(se, fedc_tune_search_best(se));
    assert_true(ab->last.client_gflop > 100 || (double)ab->bytes > 20e6);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

static void test_budget_absolute_and_nothing_fits(void **state) {
    (void)state;
    fedc_task base;
    base_task(&base);
    fedc_tune_space *s = space(k_budget_space);
    cost_fn f = {budget_eval};
    fedc_error err;
    fedc_tune_options o = options(FEDC_TUNE_RANDOM, 30, FEDC_TUNE_GOAL_BUDGET);
    assert_int_equal(fedc_tune_limit_parse("150gflop", 0, &o.max_client_cpu, &err), 0);
    assert_int_equal(fedc_tune_limit_parse("25MB", 1, &o.max_bytes, &err), 0);
    fedc_tune_search *se = run(s, &base, &o, &f);
    assert_best_within(se, 150, 25e6);
    fedc_tune_search_free(se);

    /* Limits below every setting: no best, and no best task. */
    assert_int_equal(fedc_tune_limit_parse("1gflop", 0, &o.max_client_cpu, &err), 0);
    se = run(s, &base, &o, &f);
    assert_int_equal(fedc_tune_search_best(se), -1);
    fedc_task bt;
    assert_int_not_equal(fedc_tune_search_best_task(se, &bt, &err), 0);
    assert_non_null(strstr(err.msg, "within the budget"));
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
}

/* ---- Parsing and option checks ------------------------------------------- */

static void test_limits_and_goals_parse(void **state) {
    (void)state;
    fedc_error err;
    fedc_tune_limit l;
    assert_int_equal(fedc_tune_limit_parse("2x", 0, &l, &err), 0);
    assert_int_equal(l.unit, FEDC_TUNE_LIMIT_RELATIVE);
    assert_true(l.value == 2);
    assert_int_equal(fedc_tune_limit_parse("30s", 0, &l, &err), 0);
    assert_int_equal(l.unit, FEDC_TUNE_LIMIT_SECONDS);
    assert_int_equal(fedc_tune_limit_parse("1.5GB", 1, &l, &err), 0);
    assert_int_equal(l.unit, FEDC_TUNE_LIMIT_BYTES);
    assert_true(l.value == 1.5e9);
    assert_int_not_equal(fedc_tune_limit_parse("3parsecs", 0, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--max-client-cpu"));
    assert_int_not_equal(fedc_tune_limit_parse("10gflop", 1, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--max-bytes"));
    assert_int_not_equal(fedc_tune_limit_parse("-1x", 1, &l, &err), 0);
    fedc_tune_goal g;
    assert_int_equal(fedc_tune_goal_parse("accuracy@budget", &g), 0);
    assert_int_equal(g, FEDC_TUNE_GOAL_BUDGET);
    assert_int_not_equal(fedc_tune_goal_parse("speed", &g), 0);
    unsigned ax;
    assert_int_equal(fedc_tune_axes_parse("bytes,wall", &ax, &err), 0);
    assert_int_equal(ax, FEDC_TUNE_AXIS_BYTES | FEDC_TUNE_AXIS_WALL);
    assert_int_not_equal(fedc_tune_axes_parse("bytes,joules", &ax, &err), 0);

    /* A budget goal without limits, limits without the goal, relative limits without the base trial. */
    fedc_tune_space *s = space(k_budget_space);
    fedc_task base;
    base_task(&base);
    cost_fn f = {budget_eval};
    fedc_tune_objective obj = cost_objective(&f);
    fedc_tune_options o = options(FEDC_TUNE_TPE, 8, FEDC_TUNE_GOAL_BUDGET);
    assert_null(fedc_tune_search_create(s, &base, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "needs a limit"));
    o.goal = FEDC_TUNE_GOAL_ACCURACY;
    o.max_bytes = (fedc_tune_limit){FEDC_TUNE_LIMIT_BYTES, 1e6};
    assert_null(fedc_tune_search_create(s, &base, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "accuracy@budget"));
    o.goal = FEDC_TUNE_GOAL_BUDGET;
    o.max_bytes = (fedc_tune_limit){FEDC_TUNE_LIMIT_RELATIVE, 0.5};
    o.include_base = 0;
    assert_null(fedc_tune_search_create(s, &base, &o, &obj, &err));
    assert_non_null(strstr(err.msg, "--no-base"));
    fedc_tune_space_free(s);
}

/* A stored search keeps its goal and limits; resuming it decides the same. */
static void test_goal_survives_resume(void **state) {
    (void)state;
    char path[] = "/tmp/fedc-tune-goal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fedc_error err;
    fedc_tune_store *st = fedc_tune_store_open(path, &err);
    assert_non_null(st);
    fedc_task base;
    base_task(&base);
    fedc_tune_space *s = space(k_budget_space);
    cost_fn f = {budget_eval};
    fedc_tune_objective obj = cost_objective(&f);
    fedc_tune_options o = options(FEDC_TUNE_TPE, 12, FEDC_TUNE_GOAL_BUDGET);
    o.include_base = 1;
    o.max_client_cpu = (fedc_tune_limit){FEDC_TUNE_LIMIT_RELATIVE, 1};
    o.max_bytes = (fedc_tune_limit){FEDC_TUNE_LIMIT_RELATIVE, 0.5};
    fedc_tune_search *se = fedc_tune_search_create(s, &base, &o, &obj, &err);
    assert_non_null(se);
    assert_int_equal(fedc_tune_search_attach(se, st, 0, &err), 0);
    assert_int_equal(fedc_tune_search_run(se, &err), 0);
    int64_t id = fedc_tune_search_id(se);
    int best = fedc_tune_search_best(se);

    fedc_tune_space *s2 = NULL;
    fedc_task t2;
    fedc_tune_options o2;
    assert_int_equal(fedc_tune_store_get_search(st, id, &s2, &t2, &o2, &err), 0);
    assert_int_equal(o2.goal, FEDC_TUNE_GOAL_BUDGET);
    assert_int_equal(o2.max_bytes.unit, FEDC_TUNE_LIMIT_RELATIVE);
    assert_true(o2.max_bytes.value == 0.5);
    o2.budget = 16;
    o2.parallel = 1;
    fedc_tune_search *re = fedc_tune_search_create(s2, &t2, &o2, &obj, &err);
    assert_non_null(re);
    assert_int_equal(fedc_tune_search_attach(re, st, id, &err), 0);
    assert_int_equal(fedc_tune_search_run(re, &err), 0);
    int rbest = fedc_tune_search_best(re);
    /* The costs came back from the store: the first 12 trials have the same
     * verdicts as before, and the resumed best is within the budget. */
    for (int i = 0; i < 12; i++) {
        const fedc_tune_trial *a = fedc_tune_search_trial(se, i), *b = fedc_tune_search_trial(re, i);
        assert_int_equal(b->feasible, a->feasible);
        assert_true(b->last.client_gflop == a->last.client_gflop && b->bytes == a->bytes);
    }
    if (best >= 0) assert_true(rbest >= 0);
    if (rbest >= 0) assert_int_equal(fedc_tune_search_trial(re, rbest)->feasible, 1);
    char *js = fedc_tune_store_search_json(st, id, &err);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"client_gflop\""));
    assert_non_null(strstr(js, "\"pareto_rank\""));
    free(js);
    fedc_tune_search_free(re);
    fedc_tune_search_free(se);
    fedc_tune_space_free(s2);
    fedc_tune_space_free(s);
    fedc_tune_store_close(st);
    unlink(path);
    char aux[64];
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pareto_sort_known_points),
        cmocka_unit_test(test_pareto_front_matches_known_set),
        cmocka_unit_test(test_pareto_continuous_front),
        cmocka_unit_test(test_budget_relative_never_over),
        cmocka_unit_test(test_budget_absolute_and_nothing_fits),
        cmocka_unit_test(test_limits_and_goals_parse),
        cmocka_unit_test(test_goal_survives_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
