/* Tree-structured Parzen estimator (Bergstra et al., 2011), univariate as
 * in Hyperopt: the observations are split at the gamma quantile of the
 * score into "good" and "bad"; per parameter, l(x) is a Parzen mixture over
 * the good values and g(x) over the bad ones (each with a uniform-ish prior
 * component, Hyperopt's adaptive bandwidths, truncated to the bounds);
 * candidates are drawn from l and the one with the largest
 * sum of log l(x) - log g(x) over its active parameters is proposed.
 * Conditional parameters only see the observations in which they were
 * active, which is what makes the estimator "tree-structured". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

/* A truncated Gaussian mixture on [a, b] (in the parameter's model space:
 * log for log-float, +-0.5 around the range for int). Component 0 is the
 * prior. */
#define PARZEN_MAX 1024 /* components per estimator: the most recent observations are kept */
typedef struct parzen {
    int n;
    double mu[PARZEN_MAX], sigma[PARZEN_MAX];
    double mass[PARZEN_MAX]; /* each component's probability inside [a, b] */
    double a, b;
    double p[FEDC_TUNE_MAX_CHOICES]; /* choice parameters: probability per value */
} parzen;

static double Phi(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

static void model_bounds(const fedc_tune_param *p, double *a, double *b) {
    if (p->type == FEDC_PARAM_LOG_FLOAT) {
        *a = log(p->min);
        *b = log(p->max);
    } else if (p->type == FEDC_PARAM_INT) {
        *a = p->min - 0.5;
        *b = p->max + 0.5;
    } else {
        *a = p->min;
        *b = p->max;
    }
}

static double to_model(const fedc_tune_param *p, double v) {
    return p->type == FEDC_PARAM_LOG_FLOAT ? log(v) : v;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Fits the estimator of parameter p to n values (model space for numbers,
 * indices for choices). */
static void fit(const fedc_tune_param *p, const double *vals, int n, parzen *z) {
    if (n > PARZEN_MAX - 1) {
        vals += n - (PARZEN_MAX - 1);
        n = PARZEN_MAX - 1;
    }
    if (p->type == FEDC_PARAM_CHOICE) {
        int k = p->nchoices;
        for (int j = 0; j < k; j++) z->p[j] = 1.0 / k; /* prior weight 1 spread evenly */
        for (int i = 0; i < n; i++) z->p[(int)vals[i]] += 1.0;
        for (int j = 0; j < k; j++) z->p[j] /= (double)n + 1.0;
        return;
    }
    double a, b;
    model_bounds(p, &a, &b);
    z->a = a;
    z->b = b;
    double prior_mu = 0.5 * (a + b), range = b - a;
    /* Sorted means with the prior among them; the prior keeps sigma = range. */
    double *sorted = z->mu;
    for (int i = 0; i < n; i++) sorted[i] = vals[i];
    sorted[n] = prior_mu;
    int m = n + 1;
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_double);
    double minsig = range / (m < 99 ? (double)(m + 1) : 100.0);
    int prior_done = 0;
    for (int i = 0; i < m; i++) {
        double s;
        if (m == 1) s = range;
        else if (i == 0) s = sorted[1] - sorted[0];
        else if (i == m - 1) s = sorted[i] - sorted[i - 1];
        else s = fmax(sorted[i] - sorted[i - 1], sorted[i + 1] - sorted[i]);
        if (!prior_done && sorted[i] == prior_mu) {
            s = range;
            prior_done = 1;
        }
        z->sigma[i] = fmin(fmax(s, minsig), range);
        z->mass[i] = Phi((b - sorted[i]) / z->sigma[i]) - Phi((a - sorted[i]) / z->sigma[i]);
        if (z->mass[i] < 1e-12) z->mass[i] = 1e-12;
    }
    z->n = m;
}

/* log density (or log probability mass for int and choice) at x. */
static double log_density(const fedc_tune_param *p, const parzen *z, double v) {
    if (p->type == FEDC_PARAM_CHOICE) return log(z->p[(int)v]);
    double x = to_model(p, v), sum = 0;
    for (int i = 0; i < z->n; i++) {
        double s = z->sigma[i], mu = z->mu[i], d;
        if (p->type == FEDC_PARAM_INT) {
            d = Phi((x + 0.5 - mu) / s) - Phi((x - 0.5 - mu) / s);
        } else {
            double t = (x - mu) / s;
            d = exp(-0.5 * t * t) / (s * sqrt(2 * M_PI));
        }
        sum += d / z->mass[i];
    }
    sum /= z->n; /* equal weights */
    return log(sum > 1e-300 ? sum : 1e-300);
}

static double sample(const fedc_tune_param *p, const parzen *z, fedc_rng *rng) {
    if (p->type == FEDC_PARAM_CHOICE) {
        double u = fedc_rng_uniform(rng), acc = 0;
        for (int j = 0; j < p->nchoices; j++) {
            acc += z->p[j];
            if (u < acc) return j;
        }
        return p->nchoices - 1;
    }
    int i = (int)fedc_rng_below(rng, (uint32_t)z->n);
    double x = NAN;
    for (int tries = 0; tries < 64; tries++) {
        double t = z->mu[i] + z->sigma[i] * fedc_rng_normal(rng);
        if (t >= z->a && t <= z->b) {
            x = t;
            break;
        }
    }
    if (isnan(x)) x = z->a + fedc_rng_uniform(rng) * (z->b - z->a);
    double v;
    if (p->type == FEDC_PARAM_INT) v = floor(x + 0.5);
    else if (p->type == FEDC_PARAM_LOG_FLOAT) v = tune_round_sig(exp(x), 6);
    else v = tune_round_sig(x, 6);
    return v < p->min ? p->min : v > p->max ? p->max : v;
}

static int same_config(const fedc_tune_space *s, const fedc_tune_config *a, const fedc_tune_config *b) {
    for (int k = 0; k < s->n; k++) {
        if (isnan(a->v[k]) != isnan(b->v[k])) return 0;
        if (!isnan(a->v[k]) && a->v[k] != b->v[k]) return 0;
    }
    return 1;
}

static int seen(const fedc_tune_space *s, const fedc_tune_config *const *tried, int ntried,
                const fedc_tune_config *c) {
    for (int i = 0; i < ntried; i++)
        if (same_config(s, tried[i], c)) return 1;
    return 0;
}

typedef struct ranked {
    int idx;
    double score;
} ranked;

static int cmp_ranked(const void *x, const void *y) {
    const ranked *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->idx - b->idx;
}

void tune_tpe_propose(const fedc_tune_space *s, const tune_obs *obs, int n,
                      const fedc_tune_config *const *tried, int ntried, double gamma, int candidates,
                      fedc_rng *rng, fedc_tune_config *out) {
    ranked *order = malloc((size_t)n * sizeof *order);
    char *is_good = calloc((size_t)n, 1);
    double *good = malloc((size_t)n * sizeof *good), *bad = malloc((size_t)n * sizeof *bad);
    parzen *l = malloc(sizeof *l * (size_t)s->n), *g = malloc(sizeof *g * (size_t)s->n);
    if (!order || !is_good || !good || !bad || !l || !g) {
        /* Out of memory: a random point is still a valid proposal. */
        tune_sample_random(s, rng, out);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        order[i].idx = i;
        order[i].score = isfinite(obs[i].score) ? obs[i].score : -INFINITY;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_ranked);
    int n_good = (int)ceil(gamma * n);
    if (n_good < 1) n_good = 1;
    if (n_good > n) n_good = n;
    for (int r = 0; r < n_good; r++) is_good[order[r].idx] = 1;

    for (int k = 0; k < s->n; k++) {
        const fedc_tune_param *p = &s->p[k];
        int ng = 0, nb = 0;
        /* In trial order (not rank order), so that the kept window of a very
         * long history is the most recent trials. */
        for (int i = 0; i < n; i++) {
            double v = obs[i].config->v[k];
            if (isnan(v)) continue;
            double mv = p->type == FEDC_PARAM_CHOICE ? v : to_model(p, v);
            if (is_good[i]) good[ng++] = mv;
            else bad[nb++] = mv;
        }
        fit(p, good, ng, &l[k]);
        fit(p, bad, nb, &g[k]);
    }

    /* The best candidate not tried before: in a discrete space the top of
     * l/g is often an observed point, and trying it again teaches nothing.
     * If every candidate was tried, the best of them is proposed. */
    double best = -INFINITY, best_new = -INFINITY;
    int have_new = 0;
    fedc_tune_config cand, pick_new;
    cand.n = s->n;
    for (int i = s->n; i < FEDC_TUNE_MAX_PARAMS; i++) cand.v[i] = NAN;
    for (int c = 0; c < candidates; c++) {
        double score = 0;
        for (int k = 0; k < s->n; k++) {
            double v = sample(&s->p[k], &l[k], rng);
            if (!tune_active(s, &cand, k)) {
                cand.v[k] = NAN;
                continue;
            }
            cand.v[k] = v;
            score += log_density(&s->p[k], &l[k], v) - log_density(&s->p[k], &g[k], v);
        }
        if (c == 0 || score > best) {
            best = score;
            *out = cand;
        }
        if ((!have_new || score > best_new) && !seen(s, tried, ntried, &cand)) {
            best_new = score;
            pick_new = cand;
            have_new = 1;
        }
    }
    if (have_new) *out = pick_new;
out:
    free(order);
    free(is_good);
    free(good);
    free(bad);
    free(l);
    free(g);
}
