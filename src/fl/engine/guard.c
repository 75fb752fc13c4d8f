/* Aggregation with a check before the result replaces the model: every
 * update passed check_update on its own, but together they can still
 * break it (values each finite whose weighted sum is not, or a few updates
 * far larger than the round's others that drive the model to |w| ~ 1e20).
 *
 * The aggregate is refused when it is not finite, or when it grows the
 * model's norm more than GROWTH_MAX times in one round and some updates
 * are outliers (norm over OUTLIER_FACTOR times the round's lower median).
 * The model and the strategy's state go back to what they were; the
 * outliers are refused (the caller flags their nodes) and the others are
 * aggregated again, checked the same way. A model that grows fast with no
 * outlier to blame is training, not under attack, and is kept; one that is
 * not finite with no outlier to blame makes the round fail (the caller
 * retries it or stops the run), never a NaN model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "fedc/finite.h"

#define GROWTH_MAX 10.0
#define OUTLIER_FACTOR 10.0

struct fedc_agg_guard {
    size_t d, sf;
    float *x_before;
    float *state_before;
    double *norms;
    fedc_update *kept;
    int cap;
};

fedc_agg_guard *fedc_agg_guard_create(size_t d, size_t state_floats, int max_updates) {
    fedc_agg_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->d = d;
    g->sf = state_floats;
    g->cap = max_updates;
    g->x_before = malloc(d * sizeof(float));
    g->state_before = malloc((state_floats + 1) * sizeof(float));
    g->norms = malloc(((size_t)max_updates + 1) * sizeof(double));
    g->kept = malloc(((size_t)max_updates + 1) * sizeof(fedc_update));
    if (!g->x_before || !g->state_before || !g->norms || !g->kept) {
        fedc_agg_guard_free(g);
        return NULL;
    }
    return g;
}

void fedc_agg_guard_free(fedc_agg_guard *g) {
    if (!g) return;
    free(g->x_before);
    free(g->state_before);
    free(g->norms);
    free(g->kept);
    free(g);
}

static double norm2(const float *v, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)v[j] * v[j];
    return sqrt(s);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Why the aggregate in x is refused ("" if it is sound). */
static void judge(const float *x, size_t d, double before, char *why, size_t cap) {
    why[0] = 0;
    size_t bad = fedc_first_nonfinite(x, d);
    if (bad < d) {
        snprintf(why, cap, "the aggregate is not finite (value %zu is %g)", bad, (double)x[bad]);
        return;
    }
    double after = norm2(x, d);
    if (after > GROWTH_MAX * before + 1.0)
        snprintf(why, cap, "the aggregate's norm grew from %.4g to %.4g in one round", before, after);
}

int fedc_agg_guard_run(fedc_agg_guard *g, fedc_strategy *st, float *x, const fedc_update *u, int n,
                       const fedc_round_ctx *rc, char *refused, char (*reasons)[256], char *verdict, size_t vcap,
                       fedc_error *err) {
    int round = rc->round;
    memset(refused, 0, (size_t)n);
    verdict[0] = 0;
    if (n > g->cap) return fedc_fail(err, "round %d: %d updates for a guard sized for %d", round, n, g->cap);
    memcpy(g->x_before, x, g->d * sizeof(float));
    if (g->sf) fedc_strategy_state_save(st, g->state_before);
    double before = norm2(x, g->d);
    if (fedc_strategy_aggregate(st, x, u, n, rc, err) != 0) return -1;
    char why[200];
    judge(x, g->d, before, why, sizeof why);
    if (!why[0]) return 0;
    /* Refused: back to the model and state of before the round. */
    memcpy(x, g->x_before, g->d * sizeof(float));
    if (g->sf) fedc_strategy_state_load(st, g->state_before);
    /* The outliers: updates much larger than the round's (lower) median. */
    for (int i = 0; i < n; i++) g->norms[i] = norm2(u[i].delta, g->d);
    double *sorted = malloc((size_t)n * sizeof(double));
    if (!sorted) return fedc_fail(err, "out of memory checking the aggregate");
    memcpy(sorted, g->norms, (size_t)n * sizeof(double));
    qsort(sorted, (size_t)n, sizeof(double), cmp_double);
    double median = sorted[(n - 1) / 2];
    free(sorted);
    int nout = 0, nkept = 0;
    int not_finite = strstr(why, "not finite") != NULL;
    for (int i = 0; i < n; i++) {
        /* One update alone is to blame only for a result that is not finite. */
        int outlier = n == 1 ? not_finite : g->norms[i] > OUTLIER_FACTOR * median;
        if (!outlier) {
            g->kept[nkept++] = u[i];
            continue;
        }
        refused[i] = 1;
        nout++;
        if (n == 1)
            snprintf(reasons[i], 256, "update rejected: with it alone %.200s", why);
        else
            snprintf(reasons[i], 256, "update rejected: %.150s; its norm %.4g is %.3g times the median of the "
                                      "round's updates",
                     why, g->norms[i], median > 0 ? g->norms[i] / median : INFINITY);
    }
    if (nout == 0) {
        if (not_finite) {
            snprintf(verdict, vcap, "%s, and no update stands out; the round is rolled back", why);
            return 1;
        }
        /* Fast growth, nobody to blame: training, kept. */
        return fedc_strategy_aggregate(st, x, u, n, rc, err) != 0 ? -1 : 0;
    }
    if (nkept == 0) {
        snprintf(verdict, vcap, "%s; every update was refused; the round is rolled back", why);
        return 1;
    }
    /* The rest, checked again. */
    if (fedc_strategy_aggregate(st, x, g->kept, nkept, rc, err) != 0) return -1;
    char again[200];
    judge(x, g->d, before, again, sizeof again);
    if (again[0] && strstr(again, "not finite")) {
        memcpy(x, g->x_before, g->d * sizeof(float));
        if (g->sf) fedc_strategy_state_load(st, g->state_before);
        snprintf(verdict, vcap, "%s, also without the %d refused update%s; the round is rolled back", again, nout,
                 nout == 1 ? "" : "s");
        return 1;
    }
    snprintf(verdict, vcap, "%s; %d update%s refused and the rest aggregated", why, nout, nout == 1 ? "" : "s");
    return 0;
}
