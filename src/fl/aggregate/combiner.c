/* The combiner: picks the task's rule, bounds update norms, hands the rule
 * the usable updates and keeps its verdicts for the caller. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"

enum { K_MEAN, K_MEDIAN, K_TRIMMED, K_KRUM, K_MULTI_KRUM, K_BULYAN, K_GEOMED, K_FLAG, K_MUDHOG, K_FRL };
static const char *const k_names[] = {"mean",   "median", "trimmed-mean", "krum",   "multi-krum",
                                      "bulyan", "geomed", "flag",         "mudhog", "frl"};
#define N_KINDS (int)(sizeof k_names / sizeof k_names[0])

const char *fedc_verdict_name(fedc_verdict v) {
    switch (v) {
    case FEDC_VERDICT_KEPT: return "kept";
    case FEDC_VERDICT_LEFT_OUT: return "left-out";
    case FEDC_VERDICT_MALICIOUS: return "malicious";
    case FEDC_VERDICT_UNRELIABLE: return "unreliable";
    }
    return "?";
}

void agg_set(agg_output *o, int i, fedc_verdict v, const char *fmt, ...) {
    o->verdict[i] = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why[i], AGG_WHY_MAX, fmt, ap);
    va_end(ap);
}

static void free_buffers(fedc_combiner *c) {
    for (int i = 0; c->bounded && i < c->cap; i++) free(c->bounded[i]);
    free(c->bounded);
    free(c->v);
    free(c->weight);
    free(c->client);
    free(c->index);
    free(c->verdict);
    free(c->why);
    free(c->sub_verdict);
    free(c->sub_why);
    free(c->last_client);
    c->last_client = NULL;
    c->bounded = NULL;
    c->cap = 0;
}

void fedc_combiner_free(fedc_combiner *c) {
    if (!c) return;
    free_buffers(c);
    fedc_frl_free(c->frl);
    free(c->model);
    mudhog_free(c->mudhog);
    free(c);
}

fedc_combiner *fedc_combiner_create(const fedc_task *t, const fedc_arch *a, size_t d, const float *w0,
                                    int n_clients, fedc_error *err) {
    int kind = -1;
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(t->strategy.aggregator, k_names[i]) == 0) kind = i;
    if (kind < 0) {
        fedc_fail(err, "strategy.aggregator: \"%s\" is not a known aggregator", t->strategy.aggregator);
        return NULL;
    }
    fedc_combiner *c = calloc(1, sizeof *c);
    if (!c) {
        fedc_fail(err, "out of memory creating the aggregator");
        return NULL;
    }
    c->task = *t;
    c->d = d;
    c->n_clients = n_clients;
    c->kind = kind;
    if (kind == K_FRL) {
        if (!w0 || !a) {
            fedc_fail(err, "strategy.aggregator: frl needs a built-in model and the task's initial model");
            fedc_combiner_free(c);
            return NULL;
        }
        if (!(c->frl = fedc_frl_create(t, a, w0, err)) || !(c->model = malloc(c->d * sizeof(float)))) {
            if (c->frl) fedc_fail(err, "out of memory for the FRL model");
            fedc_combiner_free(c);
            return NULL;
        }
    }
    if (kind == K_MUDHOG &&
        !(c->mudhog = mudhog_create(n_clients, c->d, t->strategy.mudhog_eps, t->strategy.mudhog_unreliable_weight))) {
        fedc_fail(err, "out of memory for MUD-HoG's per-client state");
        fedc_combiner_free(c);
        return NULL;
    }
    return c;
}

static int reserve(fedc_combiner *c, int n) {
    if (n <= c->cap) return 0;
    free_buffers(c);
    c->bounded = calloc((size_t)n, sizeof *c->bounded);
    c->v = calloc((size_t)n, sizeof *c->v);
    c->weight = calloc((size_t)n, sizeof *c->weight);
    c->client = calloc((size_t)n, sizeof *c->client);
    c->index = calloc((size_t)n, sizeof *c->index);
    c->verdict = calloc((size_t)n, sizeof *c->verdict);
    c->why = calloc((size_t)n, sizeof *c->why);
    c->sub_verdict = calloc((size_t)n, sizeof *c->sub_verdict);
    c->sub_why = calloc((size_t)n, sizeof *c->sub_why);
    c->last_client = calloc((size_t)n, sizeof *c->last_client);
    if (!c->bounded || !c->v || !c->weight || !c->client || !c->index || !c->verdict || !c->why ||
        !c->sub_verdict || !c->sub_why || !c->last_client) {
        free_buffers(c);
        return -1;
    }
    c->cap = n;
    return 0;
}

/* Norm bounding (Sun et al. 2019, "Can you really backdoor FL?"): an
 * update longer than the bound is scaled onto it; the caller's vector is
 * never written, a scaled copy takes its place. */
static int bound_norm(fedc_combiner *c, int k, const float *v) {
    c->v[k] = v;
    double bound = c->task.strategy.norm_bound;
    if (!(bound > 0)) return 0;
    double norm = sqrt(agg_dot(v, v, c->d));
    if (norm <= bound) return 0;
    if (!c->bounded[k] && !(c->bounded[k] = malloc(c->d * sizeof(float)))) return -1;
    float s = (float)(bound / norm);
    for (size_t j = 0; j < c->d; j++) c->bounded[k][j] = v[j] * s;
    c->v[k] = c->bounded[k];
    c->clipped++;
    return 0;
}

int fedc_combine(fedc_combiner *c, const fedc_update *u, int n, int round, const float *x, float *out,
                 fedc_error *err) {
    if (n <= 0) return fedc_fail(err, "aggregation: no update to aggregate");
    if (reserve(c, n) != 0) return fedc_fail(err, "aggregation: out of memory for %d updates", n);
    c->last_n = n;
    c->clipped = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        c->verdict[i] = FEDC_VERDICT_KEPT;
        c->why[i][0] = '\0';
        c->last_client[i] = u[i].client;
        /* The one update a round protocol (secure aggregation) or central DP
         * hands over already combines the round (client -1); the validator
         * lets only the plain mean, without a norm bound, meet it. */
        int combined = u[i].client == -1 && n == 1 && c->kind == K_MEAN && !(c->task.strategy.norm_bound > 0);
        if (!combined && (u[i].client < 0 || u[i].client >= c->n_clients)) {
            c->verdict[i] = FEDC_VERDICT_LEFT_OUT;
            snprintf(c->why[i], AGG_WHY_MAX, "client %d is outside the federation", u[i].client);
            continue;
        }
        if (bound_norm(c, m, u[i].delta) != 0) return fedc_fail(err, "aggregation: out of memory bounding norms");
        c->weight[m] = u[i].weight;
        c->client[m] = u[i].client;
        c->index[m] = i;
        m++;
    }
    if (m == 0) return fedc_fail(err, "aggregation: no update from a client of this federation");
    for (int k = 0; k < m; k++) {
        c->sub_verdict[k] = FEDC_VERDICT_KEPT;
        c->sub_why[k][0] = '\0';
    }
    fedc_rng rng = fedc_rng_derive(c->task.seed ^ 0xA66ull, (uint64_t)round, 0);
    agg_input in = {m, c->d, c->v, c->weight, c->client, round, x, &rng};
    agg_output o = {c->sub_verdict, c->sub_why};
    const fedc_task *t = &c->task;
    int f = (int)floor(t->strategy.byzantine_fraction * m);
    int rc;
    switch (c->kind) {
    case K_MEDIAN: rc = agg_median(&in, out, &o, err); break;
    case K_TRIMMED: rc = agg_trimmed_mean(&in, f, out, &o, err); break;
    case K_KRUM: rc = agg_krum(&in, f, 1, "krum", out, &o, err); break;
    case K_MULTI_KRUM: rc = agg_krum(&in, f, t->strategy.krum_m, "multi-krum", out, &o, err); break;
    case K_BULYAN: rc = agg_bulyan(&in, f, out, &o, err); break;
    case K_GEOMED: rc = agg_geomed(&in, t->strategy.geomed_iters, out, &o, err); break;
    case K_FLAG: rc = agg_flag(&in, t->strategy.flag_rank, t->strategy.flag_iters, out, &o, err); break;
    case K_MUDHOG: rc = agg_mudhog(c->mudhog, &in, out, &o, err); break;
    case K_FRL: rc = agg_frl(&in, c->frl, out, &o, err); break;
    default: rc = agg_mean(&in, out, &o, err); break;
    }
    for (int k = 0; k < m; k++) {
        c->verdict[c->index[k]] = c->sub_verdict[k];
        memcpy(c->why[c->index[k]], c->sub_why[k], AGG_WHY_MAX);
    }
    return rc;
}

fedc_verdict fedc_combiner_verdict(const fedc_combiner *c, int i, const char **why) {
    if (i < 0 || i >= c->last_n) {
        if (why) *why = "";
        return FEDC_VERDICT_KEPT;
    }
    if (why) *why = c->why[i];
    return c->verdict[i];
}

int fedc_combiner_clipped(const fedc_combiner *c) { return c->clipped; }

const float *fedc_combiner_model(fedc_combiner *c, const float *x) {
    if (!c->frl) return x;
    fedc_frl_weights(c->frl, x, c->model);
    return c->model;
}

void fedc_combiner_initial_model(const fedc_combiner *c, float *x) {
    if (c->frl) fedc_frl_initial_scores(c->frl, x);
}

void fedc_combiner_round(fedc_combiner *c, int round, const float *x) {
    c->round = round;
    c->x = x;
    c->error[0] = '\0';
    c->last_n = 0; /* a strategy that never combines this round leaves no verdicts */
    c->clipped = 0;
}

double fedc_combiner_combine_fn(void *ctx, const fedc_update *u, int n, size_t d, float *out) {
    fedc_combiner *c = ctx;
    fedc_error err;
    if (d != c->d) {
        snprintf(c->error, sizeof c->error, "aggregation: %zu parameters; the aggregator was made for %zu", d, c->d);
        return -1;
    }
    if (fedc_combine(c, u, n, c->round, c->x, out, &err) != 0) {
        snprintf(c->error, sizeof c->error, "%s", err.msg);
        return -1;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) kept += c->verdict[i] == FEDC_VERDICT_KEPT || c->verdict[i] == FEDC_VERDICT_UNRELIABLE;
    /* FRL and MUD-HoG may keep nothing and still answer (the model stays). */
    return kept > 0 ? kept : 1;
}

const char *fedc_combiner_error(const fedc_combiner *c) { return c->error; }

int fedc_combiner_count(const fedc_combiner *c) { return c->last_n; }

int fedc_combiner_client(const fedc_combiner *c, int i) {
    return i >= 0 && i < c->last_n ? c->last_client[i] : -1;
}
