/* What a search optimises: accuracy alone, accuracy within a cost budget
 * ("accuracy@budget"), or the Pareto front of accuracy against costs.
 *
 * Costs are compared per round (a trial's cost at its rung divided by the
 * rung's rounds), so an ASHA trial stopped early is judged by the rate it
 * would pay over the full rounds; for complete trials this is the exact
 * figure per run. The client-compute budget and the client axis of the
 * front use client_gflop, a deterministic count (local steps x batch x
 * training FLOPs per sample, summed over participants): measured CPU
 * seconds move with the machine's load, and a budget decided on them would
 * make the same search pick different winners on different days. The
 * measured seconds stay available as an absolute limit ("30s"). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

static const char *const k_goals[] = {"accuracy", "accuracy@budget", "pareto"};

int fedc_tune_goal_parse(const char *s, fedc_tune_goal *out) {
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, k_goals[i])) {
            *out = (fedc_tune_goal)i;
            return 0;
        }
    return -1;
}

const char *fedc_tune_goal_name(fedc_tune_goal g) { return (unsigned)g < 3 ? k_goals[g] : "?"; }

int fedc_tune_limit_parse(const char *text, int bytes, fedc_tune_limit *out, fedc_error *err) {
    const char *flag = bytes ? "--max-bytes" : "--max-client-cpu";
    const char *allowed = bytes ? "a factor of the base task's bytes (\"0.5x\") or bytes (\"400000000\", \"400MB\", "
                                  "\"1.5GB\")"
                                : "a factor of the base task's client compute (\"2x\"), GFLOP (\"500gflop\") or "
                                  "measured CPU seconds (\"30s\")";
    if (!text || !*text || strlen(text) > 32) return fedc_fail(err, "%s: expected %s", flag, allowed);
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v <= 0 || v > 1e18)
        return fedc_fail(err, "%s: \"%s\" is not a positive number; allowed: %s", flag, text, allowed);
    char unit[16];
    size_t k = 0;
    for (; *end && k + 1 < sizeof unit; end++) unit[k++] = (char)tolower((unsigned char)*end);
    unit[k] = 0;
    fedc_tune_limit l = {FEDC_TUNE_LIMIT_OFF, v};
    if (!strcmp(unit, "x")) {
        l.unit = FEDC_TUNE_LIMIT_RELATIVE;
    } else if (bytes) {
        static const char *const u[] = {"", "b", "kb", "mb", "gb", "tb"};
        static const double f[] = {1, 1, 1e3, 1e6, 1e9, 1e12};
        for (int i = 0; i < 6; i++)
            if (!strcmp(unit, u[i])) {
                l.unit = FEDC_TUNE_LIMIT_BYTES;
                l.value = v * f[i];
            }
    } else if (!strcmp(unit, "gflop")) {
        l.unit = FEDC_TUNE_LIMIT_GFLOP;
    } else if (!strcmp(unit, "s")) {
        l.unit = FEDC_TUNE_LIMIT_SECONDS;
    }
    if (l.unit == FEDC_TUNE_LIMIT_OFF)
        return fedc_fail(err, "%s: \"%s\": unknown unit \"%s\"; allowed: %s", flag, text, unit, allowed);
    *out = l;
    return 0;
}

void fedc_tune_limit_format(const fedc_tune_limit *l, char *out, size_t cap) {
    switch (l->unit) {
    case FEDC_TUNE_LIMIT_RELATIVE: snprintf(out, cap, "%gx", l->value); break;
    case FEDC_TUNE_LIMIT_GFLOP: snprintf(out, cap, "%ggflop", l->value); break;
    case FEDC_TUNE_LIMIT_SECONDS: snprintf(out, cap, "%gs", l->value); break;
    case FEDC_TUNE_LIMIT_BYTES: snprintf(out, cap, "%.0fB", l->value); break;
    default: snprintf(out, cap, "off");
    }
}

int fedc_tune_axes_parse(const char *s, unsigned *out, fedc_error *err) {
    unsigned m = 0;
    char buf[128];
    if (!s || strlen(s) >= sizeof buf) return fedc_fail(err, "--pareto-axes: expected a list of client-cpu, bytes, wall");
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "client-cpu")) m |= FEDC_TUNE_AXIS_CLIENT;
        else if (!strcmp(tok, "bytes")) m |= FEDC_TUNE_AXIS_BYTES;
        else if (!strcmp(tok, "wall")) m |= FEDC_TUNE_AXIS_WALL;
        else return fedc_fail(err, "--pareto-axes: \"%.40s\" is not an axis; allowed: client-cpu, bytes, wall", tok);
    }
    if (!m) return fedc_fail(err, "--pareto-axes: at least one of client-cpu, bytes, wall is needed");
    *out = m;
    return 0;
}

/* ---- Non-dominated sorting --------------------------------------------- */

/* 1 when a dominates b: no worse in every objective, better in one. */
static int dominates(const double *a, const double *b, int m) {
    int better = 0;
    for (int k = 0; k < m; k++) {
        if (a[k] > b[k]) return 0;
        if (a[k] < b[k]) better = 1;
    }
    return better;
}

typedef struct crowd_key {
    int i;
    double v;
} crowd_key;

static int cmp_crowd(const void *x, const void *y) {
    const crowd_key *a = x, *b = y;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return a->i - b->i;
}

int fedc_tune_pareto_sort(const double *p, int n, int m, int *rank, double *crowding) {
    if (n <= 0) return 0;
    int *left = calloc((size_t)n, sizeof *left); /* how many not-yet-ranked points dominate i */
    crowd_key *keys = malloc((size_t)n * sizeof *keys);
    if (!left || !keys) {
        free(left);
        free(keys);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        rank[i] = 0;
        crowding[i] = 0;
        for (int j = 0; j < n; j++)
            if (j != i && dominates(p + (size_t)j * m, p + (size_t)i * m, m)) left[i]++;
    }
    int done = 0;
    for (int r = 1; done < n; r++) {
        /* This front: unranked points nothing unranked dominates. */
        int nf = 0;
        for (int i = 0; i < n; i++)
            if (!rank[i] && left[i] == 0) keys[nf++].i = i;
        for (int f = 0; f < nf; f++) rank[keys[f].i] = r;
        for (int f = 0; f < nf; f++)
            for (int j = 0; j < n; j++)
                if (!rank[j] && dominates(p + (size_t)keys[f].i * m, p + (size_t)j * m, m)) left[j]--;
        /* Crowding: per objective, the normalised gap between neighbours. */
        for (int k = 0; k < m; k++) {
            for (int f = 0; f < nf; f++) keys[f].v = p[(size_t)keys[f].i * m + k];
            qsort(keys, (size_t)nf, sizeof *keys, cmp_crowd);
            double span = keys[nf - 1].v - keys[0].v;
            crowding[keys[0].i] = INFINITY;
            crowding[keys[nf - 1].i] = INFINITY;
            for (int f = 1; f + 1 < nf; f++)
                if (span > 0 && isfinite(crowding[keys[f].i]))
                    crowding[keys[f].i] += (keys[f + 1].v - keys[f - 1].v) / span;
        }
        done += nf;
    }
    free(left);
    free(keys);
    return 0;
}

/* ---- The search's view ------------------------------------------------ */

static unsigned axes_of(const fedc_tune_search *s) {
    return s->opt.pareto_axes ? s->opt.pareto_axes : FEDC_TUNE_AXIS_CLIENT | FEDC_TUNE_AXIS_BYTES;
}

/* The objectives of measure m (all minimised), per round: -accuracy, then
 * the axes in order. Returns how many. */
static int objectives(unsigned axes, const fedc_tune_measure *m, double *out) {
    double per = m->rounds > 0 ? 1.0 / m->rounds : 1;
    int k = 0;
    out[k++] = -m->accuracy;
    if (axes & FEDC_TUNE_AXIS_CLIENT) out[k++] = m->client_gflop * per;
    if (axes & FEDC_TUNE_AXIS_BYTES) out[k++] = (double)m->bytes * per;
    if (axes & FEDC_TUNE_AXIS_WALL) out[k++] = m->wall_s * per;
    return k;
}

/* The base trial's measure at its highest rung, or NULL while unknown. */
static const fedc_tune_measure *base_measure(const fedc_tune_search *s) {
    if (s->ntrials < 1 || strcmp(s->trials[0].source, "base") || s->trials[0].rung < 0) return NULL;
    return &s->trials[0].at[s->trials[0].rung];
}

/* A limit per round, or INFINITY when off or not known yet. */
static double limit_per_round(const fedc_tune_search *s, const fedc_tune_limit *l, int bytes, int seconds) {
    if (l->unit == FEDC_TUNE_LIMIT_OFF) return INFINITY;
    if (l->unit == FEDC_TUNE_LIMIT_RELATIVE) {
        const fedc_tune_measure *b = base_measure(s);
        if (!b || b->rounds <= 0) return INFINITY;
        double v = bytes ? (double)b->bytes : seconds ? b->client_cpu_s : b->client_gflop;
        return l->value * v / b->rounds;
    }
    return l->value / s->opt.max_rounds;
}

/* Client cost of m per round in the unit of the client limit. */
static double client_rate(const fedc_tune_search *s, const fedc_tune_measure *m) {
    double v = s->opt.max_client_cpu.unit == FEDC_TUNE_LIMIT_SECONDS ? m->client_cpu_s : m->client_gflop;
    return m->rounds > 0 ? v / m->rounds : v;
}

int fedc_tune_search_limits(const fedc_tune_search *s, double *client, double *bytes) {
    int secs = s->opt.max_client_cpu.unit == FEDC_TUNE_LIMIT_SECONDS;
    double c = limit_per_round(s, &s->opt.max_client_cpu, 0, secs), b = limit_per_round(s, &s->opt.max_bytes, 1, 0);
    if (client) *client = c * s->opt.max_rounds;
    if (bytes) *bytes = b * s->opt.max_rounds;
    int known_c = s->opt.max_client_cpu.unit == FEDC_TUNE_LIMIT_OFF || isfinite(c);
    int known_b = s->opt.max_bytes.unit == FEDC_TUNE_LIMIT_OFF || isfinite(b);
    return known_c && known_b;
}

/* How far m exceeds the limits: 0 within them, else the largest relative
 * excess; -1 while a relative limit has no base figure yet. The comparison
 * allows a relative 1e-9 so the base itself is within "1x". */
static double excess(const fedc_tune_search *s, const fedc_tune_measure *m) {
    int secs = s->opt.max_client_cpu.unit == FEDC_TUNE_LIMIT_SECONDS;
    double lc = limit_per_round(s, &s->opt.max_client_cpu, 0, secs), lb = limit_per_round(s, &s->opt.max_bytes, 1, 0);
    if (!fedc_tune_search_limits(s, NULL, NULL)) return -1;
    double per = m->rounds > 0 ? 1.0 / m->rounds : 1, e = 0;
    double c = client_rate(s, m), b = (double)m->bytes * per;
    if (isfinite(lc) && c > lc * (1 + 1e-9)) e = fmax(e, c / lc - 1);
    if (isfinite(lb) && b > lb * (1 + 1e-9)) e = fmax(e, b / lb - 1);
    return e;
}

int tune_within_budget(const fedc_tune_search *s, const fedc_tune_trial *t) {
    if (s->opt.goal != FEDC_TUNE_GOAL_BUDGET) return 1;
    if (t->rung < 0) return -1;
    double e = excess(s, &t->at[t->rung]);
    return e < 0 ? -1 : e == 0;
}

void tune_rank_trials(fedc_tune_search *s) {
    unsigned axes = axes_of(s);
    int n = 0;
    int *ids = malloc((size_t)(s->ntrials + 1) * sizeof *ids);
    double *pts = malloc((size_t)(s->ntrials + 1) * 4 * sizeof *pts);
    int *rank = malloc((size_t)(s->ntrials + 1) * sizeof *rank);
    double *crowd = malloc((size_t)(s->ntrials + 1) * sizeof *crowd);
    for (int i = 0; i < s->ntrials; i++) {
        fedc_tune_trial *t = &s->trials[i];
        t->pareto_rank = 0;
        t->crowding = 0;
        t->feasible = tune_within_budget(s, t);
        if (t->status == FEDC_TRIAL_COMPLETE && ids && pts) {
            ids[n] = i;
            objectives(axes, &t->at[t->rung], pts + (size_t)n * 4);
            n++;
        }
    }
    if (ids && pts && rank && crowd && n > 0) {
        double tmp[4];
        int m = objectives(axes, &s->trials[ids[0]].at[0], tmp); /* the count only */
        /* Re-pack with stride m. */
        for (int k = 0; k < n; k++) memmove(pts + (size_t)k * m, pts + (size_t)k * 4, (size_t)m * sizeof *pts);
        if (fedc_tune_pareto_sort(pts, n, m, rank, crowd) == 0)
            for (int k = 0; k < n; k++) {
                s->trials[ids[k]].pareto_rank = rank[k];
                s->trials[ids[k]].crowding = crowd[k];
            }
    }
    free(ids);
    free(pts);
    free(rank);
    free(crowd);
}

/* Scores for TPE at one rung: higher is better.
 *  accuracy: the accuracy (failed -1, as before);
 *  accuracy@budget: the accuracy within the limits, e/(1+e) below zero when
 *    e over them (a smaller excess is better), failed -2;
 *  pareto: -rank + c/(1+c) from non-dominated sorting of the trials at that
 *    rung and their crowding c (a spread-out front is preferred, as in
 *    NSGA-II's selection), failed -1e9. */
void tune_goal_scores(const fedc_tune_search *s, const fedc_tune_measure *const *m, const int *failed, int n,
                      double *score) {
    if (s->opt.goal == FEDC_TUNE_GOAL_ACCURACY) {
        for (int i = 0; i < n; i++) score[i] = failed[i] ? -1 : m[i]->accuracy;
        return;
    }
    if (s->opt.goal == FEDC_TUNE_GOAL_BUDGET) {
        for (int i = 0; i < n; i++) {
            if (failed[i]) {
                score[i] = -2;
                continue;
            }
            double e = excess(s, m[i]);
            score[i] = e <= 0 ? m[i]->accuracy : -e / (1 + e);
        }
        return;
    }
    unsigned axes = axes_of(s);
    int k = 0;
    int *idx = malloc((size_t)(n + 1) * sizeof *idx);
    double *pts = malloc((size_t)(n + 1) * 4 * sizeof *pts);
    int *rank = malloc((size_t)(n + 1) * sizeof *rank);
    double *crowd = malloc((size_t)(n + 1) * sizeof *crowd);
    int mm = 1;
    for (int i = 0; i < n; i++) {
        score[i] = failed[i] ? -1e9 : -m[i]->accuracy; /* fallback without memory: accuracy */
        if (!failed[i] && idx && pts) {
            mm = objectives(axes, m[i], pts + (size_t)k * 4);
            idx[k++] = i;
        }
    }
    if (idx && pts && rank && crowd && k > 0) {
        for (int j = 0; j < k; j++) memmove(pts + (size_t)j * mm, pts + (size_t)j * 4, (size_t)mm * sizeof *pts);
        if (fedc_tune_pareto_sort(pts, k, mm, rank, crowd) == 0)
            for (int j = 0; j < k; j++) {
                double c = isfinite(crowd[j]) ? crowd[j] / (1 + crowd[j]) : 1;
                score[idx[j]] = -rank[j] + 0.999 * c;
            }
    } else {
        for (int i = 0; i < n; i++)
            if (!failed[i]) score[i] = m[i]->accuracy;
    }
    free(idx);
    free(pts);
    free(rank);
    free(crowd);
}

/* Front members ordered by client compute per round, then id. */
typedef struct front_key {
    int id;
    double cost;
} front_key;

static int cmp_front(const void *x, const void *y) {
    const front_key *a = x, *b = y;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return a->id - b->id;
}

int fedc_tune_search_front(const fedc_tune_search *s, int *ids, int cap) {
    front_key *v = malloc((size_t)(s->ntrials + 1) * sizeof *v);
    if (!v) return 0;
    int n = 0;
    for (int i = 0; i < s->ntrials; i++)
        if (s->trials[i].pareto_rank == 1) v[n++] = (front_key){i, s->trials[i].last.client_gflop};
    qsort(v, (size_t)n, sizeof *v, cmp_front);
    for (int k = 0; k < n && k < cap; k++) ids[k] = v[k].id;
    free(v);
    return n;
}
