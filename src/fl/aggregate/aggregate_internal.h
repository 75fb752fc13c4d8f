/* Private: the combiner object and the per-rule entry points. Every rule
 * sees the round's usable updates as n vectors of d floats (after norm
 * bounding), writes the combined delta and records a verdict per update. */
#ifndef FEDC_AGGREGATE_INTERNAL_H
#define FEDC_AGGREGATE_INTERNAL_H

#include <stddef.h>

#include "fedc/aggregate.h"
#include "fedc/frl.h"
#include "fedc/rng.h"

#define AGG_WHY_MAX 96

typedef struct mudhog_state mudhog_state;

/* One round's input as a rule sees it. */
typedef struct agg_input {
    int n;
    size_t d;
    const float *const *v; /* n vectors (bounded copies or the updates themselves) */
    const double *weight;  /* samples reported, per update */
    const int *client;     /* client ids, in [0, n_clients) */
    int round;
    const float *x;        /* current global model */
    fedc_rng *rng;         /* derived from (seed, round): rules that draw stay reproducible */
} agg_input;

/* A rule's decisions, indexed like agg_input. */
typedef struct agg_output {
    fedc_verdict *verdict;
    char (*why)[AGG_WHY_MAX];
} agg_output;

struct fedc_combiner {
    fedc_task task;
    size_t d;
    int n_clients;
    int kind;                 /* index into the aggregator table */
    fedc_frl *frl;            /* frl only */
    float *model;             /* frl: the masked weights x stands for */
    mudhog_state *mudhog;     /* mudhog only */
    /* Per call, sized for the largest n seen. */
    int cap;
    float **bounded;          /* norm-bounded copies (only those that needed it) */
    const float **v;
    double *weight;
    int *client, *index;      /* index: position of the usable update in the caller's array */
    fedc_verdict *verdict;    /* per caller update */
    char (*why)[AGG_WHY_MAX];
    fedc_verdict *sub_verdict;
    char (*sub_why)[AGG_WHY_MAX];
    int last_n, clipped;
    int *last_client;         /* per caller update of the last call */
    /* Set by fedc_combiner_round for the strategy's combine hook. */
    int round;
    const float *x;
    char error[FEDC_ERROR_MAX];
};

/* Rules: 0 on success, -1 with err set when they cannot combine. */
int agg_mean(const agg_input *in, float *out, agg_output *o, fedc_error *err);
int agg_median(const agg_input *in, float *out, agg_output *o, fedc_error *err);
int agg_trimmed_mean(const agg_input *in, int f, float *out, agg_output *o, fedc_error *err);
/* krum (m = 1), multi-krum (m >= 1) */
int agg_krum(const agg_input *in, int f, int m, const char *name, float *out, agg_output *o, fedc_error *err);
int agg_bulyan(const agg_input *in, int f, float *out, agg_output *o, fedc_error *err);
int agg_geomed(const agg_input *in, int iters, float *out, agg_output *o, fedc_error *err);
int agg_flag(const agg_input *in, int rank, int iters, float *out, agg_output *o, fedc_error *err);
int agg_frl(const agg_input *in, const fedc_frl *frl, float *out, agg_output *o, fedc_error *err);

mudhog_state *mudhog_create(int n_clients, size_t d, double eps, double unreliable_weight);
void mudhog_free(mudhog_state *m);
int agg_mudhog(mudhog_state *m, const agg_input *in, float *out, agg_output *o, fedc_error *err);

/* ---- shared numerics (agg_util.c) ---- */
/* Squared distances between all pairs, in double: dist[i*n+j]. */
void agg_pairwise_sq(const float *const *v, int n, size_t d, double *dist);
double agg_dot(const float *a, const float *b, size_t d);
/* The f that a rule needing n >= mult*f + 3 can use with n updates. */
int agg_fit_f(int want, int n, int mult);
/* Sorts a[0..n) ascending by insertion: for the few values of one
 * coordinate across a round's updates. */
void agg_sort_small(float *a, int n);
/* Coordinate-wise mean of the listed vectors (unweighted). */
void agg_mean_of(const float *const *v, const int *idx, int m, size_t d, float *out);
/* Sets verdict i with a formatted reason. */
void agg_set(agg_output *o, int i, fedc_verdict v, const char *fmt, ...) __attribute__((format(printf, 4, 5)));


#endif
