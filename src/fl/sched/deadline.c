/* Resource-aware selection against a round deadline, and the time model
 * it uses. Clients predicted to finish within the deadline are sampled
 * without replacement with probability proportional to an Oort-style
 * utility (Lai et al., OSDI 2021):
 *   u = n_samples * loss_factor * sqrt(1 + rounds since last selected)
 * loss_factor = last_loss / mean known loss of the fitting clients, clamped
 * to [0.1, 10]; a client with unknown loss gets the largest factor seen (1
 * if none is known), so unexplored clients are tried. The age term makes
 * every fitting client come up eventually. When fewer than k fit, all that
 * fit are taken and the rest are the fastest of the others. */
#include <math.h>
#include <stdlib.h>

#include "fl/sched/sched_internal.h"

#define LOSS_FACTOR_MIN 0.1
#define LOSS_FACTOR_MAX 10.0

/* Seconds to move bytes over a link of bps bit/s; 0 bytes cost nothing. */
static double transfer_s(double bytes, double bps) {
    if (!(bytes > 0)) return 0.0;
    return bps > 0 ? bytes * 8.0 / bps : INFINITY;
}

double fedc_sched_predict_s(const fedc_client_info *c, const fedc_round_cost *cost) {
    if (!c) return INFINITY;
    if (!cost) return 0.0;
    double samples = cost->epochs * (double)c->n_samples;
    if (cost->max_samples > 0 && samples > cost->max_samples) samples = cost->max_samples;
    double compute = 0.0;
    if (samples > 0) compute = c->samples_per_s > 0 ? samples / c->samples_per_s : INFINITY;
    return transfer_s(cost->down_bytes, c->down_bps) + compute +
           transfer_s(cost->up_bytes, c->up_bps);
}

static void utilities(const fedc_client_info *clients, const int *ids, int n, int round,
                      double *u) {
    double loss_sum = 0;
    int known = 0;
    for (int i = 0; i < n; i++) {
        double l = clients[ids[i]].last_loss;
        if (l >= 0 && isfinite(l)) loss_sum += l, known++;
    }
    double mean_loss = known ? loss_sum / known : 0.0;
    double max_factor = 1.0;
    for (int i = 0; i < n; i++) {
        double l = clients[ids[i]].last_loss;
        double f = 1.0;
        if (l >= 0 && isfinite(l) && mean_loss > 0) {
            f = l / mean_loss;
            f = f < LOSS_FACTOR_MIN ? LOSS_FACTOR_MIN : f > LOSS_FACTOR_MAX ? LOSS_FACTOR_MAX : f;
        }
        u[i] = f;
        if (known && l >= 0 && isfinite(l) && f > max_factor) max_factor = f;
    }
    for (int i = 0; i < n; i++) {
        const fedc_client_info *c = &clients[ids[i]];
        double f = (c->last_loss >= 0 && isfinite(c->last_loss)) ? u[i] : max_factor;
        double age = c->last_round >= 0 ? (double)round - c->last_round : (double)round + 1;
        if (age < 0) age = 0;
        u[i] = (double)c->n_samples * f * sqrt(1.0 + age);
    }
}

int sched_pick_deadline(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                        int round, double deadline_s, const fedc_round_cost *cost, fedc_rng *rng,
                        int *out) {
    size_t cap = (size_t)(n_avail ? n_avail : 1);
    int *fit = malloc(cap * sizeof *fit);
    double *t = malloc(cap * sizeof *t), *u = malloc(cap * sizeof *u);
    sched_key *scratch = malloc(cap * sizeof *scratch);
    int rc = -1;
    if (!fit || !t || !u || !scratch) goto done;
    int n_fit = 0;
    for (int i = 0; i < n_avail; i++) {
        t[i] = fedc_sched_predict_s(&clients[avail[i]], cost);
        if (isnan(t[i])) t[i] = INFINITY; /* e.g. a NaN cost: treat as late */
        if (t[i] <= deadline_s) fit[n_fit++] = avail[i];
    }
    utilities(clients, fit, n_fit, round, u);
    int m = sched_weighted_sample(fit, u, n_fit, k, rng, out, scratch);
    if (m < k) {
        /* Too few fit: fill with the fastest of the rest (ties random). */
        int n_late = 0;
        for (int i = 0; i < n_avail; i++) {
            if (t[i] <= deadline_s) continue;
            scratch[n_late].key = -t[i];
            scratch[n_late].tie = fedc_rng_u64(rng);
            scratch[n_late].id = avail[i];
            n_late++;
        }
        sched_sort_keys(scratch, n_late);
        for (int i = 0; m < k && i < n_late; i++) out[m++] = scratch[i].id;
    }
    rc = m;
done:
    free(fit);
    free(t);
    free(u);
    free(scratch);
    return rc;
}
