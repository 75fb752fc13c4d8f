/* The update side of attacks: what an attacker sends instead of its
 * honest update (a delta, or rank positions under FRL). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attack_internal.h"

void fedc_attack_peers_compute(const float *const *benign, int m, size_t d, float *mean, float *std) {
    for (size_t j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < m; i++) s += benign[i][j];
        double mu = m > 0 ? s / m : 0, v = 0;
        for (int i = 0; i < m; i++) v += ((double)benign[i][j] - mu) * ((double)benign[i][j] - mu);
        mean[j] = (float)mu;
        std[j] = m > 1 ? (float)sqrt(v / (m - 1)) : 0.0f;
    }
}

/* Phi^-1(p) by bisection on the normal CDF (erfc): only called once per
 * attack, so exactness matters more than speed. */
static double normal_quantile(double p) {
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

double fedc_attack_alie_z(int n, int f) {
    if (n <= 0) return 0;
    int s = n / 2 + 1 - f;
    if (s < 1) s = 1; /* a Byzantine majority: the largest z the formula gives */
    double p = (double)(n - s) / n;
    if (p <= 0.5) return 0;
    return normal_quantile(p);
}

/* Positions of a uniformly random ranking of every ranked tensor. */
static void random_ranking(const fedc_frl *frl, float *pos, fedc_rng *rng) {
    size_t d = fedc_frl_nparams(frl);
    double *keys = malloc(d * sizeof *keys);
    if (!keys) return;
    for (size_t j = 0; j < d; j++) keys[j] = fedc_rng_uniform(rng);
    fedc_frl_vote(frl, keys, pos);
    free(keys);
}

/* The reverse of the colluders' vote (the FRL authors' malicious update:
 * sort the summed positions descending). The mean orders like the sum. */
static void reversed_vote(const fedc_frl *frl, const fedc_attack_peers *p, float *pos) {
    size_t d = fedc_frl_nparams(frl);
    double *sums = malloc(d * sizeof *sums);
    if (!sums) return;
    for (size_t j = 0; j < d; j++) sums[j] = (double)p->mean[j] * p->count;
    fedc_frl_vote(frl, sums, pos);
    fedc_frl_reverse(frl, pos);
    free(sums);
}

static void attack_ranking(const fedc_attack *a, float *pos, const fedc_attack_peers *peers, fedc_rng *rng) {
    switch (a->kind) {
    case ATK_SIGN_FLIP:
    case ATK_SCALING: fedc_frl_reverse(a->frl, pos); break;
    case ATK_NOISE: random_ranking(a->frl, pos, rng); break;
    case ATK_ALIE:
    case ATK_IPM:
        if (peers && peers->count > 0) reversed_vote(a->frl, peers, pos);
        else fedc_frl_reverse(a->frl, pos);
        break;
    default: break; /* label-flip, backdoor: their ranking comes from poisoned data */
    }
}

void fedc_attack_update(const fedc_attack *a, float *u, size_t d, const fedc_attack_peers *peers, fedc_rng *rng) {
    if (a->frl) {
        attack_ranking(a, u, peers, rng);
        return;
    }
    float s = (float)a->scale;
    switch (a->kind) {
    case ATK_SIGN_FLIP:
        for (size_t j = 0; j < d; j++) u[j] = -s * u[j];
        break;
    case ATK_SCALING:
        for (size_t j = 0; j < d; j++) u[j] = s * u[j];
        break;
    case ATK_NOISE:
        for (size_t j = 0; j < d; j++) u[j] += (float)(a->scale * fedc_rng_normal(rng));
        break;
    case ATK_ALIE:
        /* With no peer statistics the attacker has only its own update. */
        if (peers && peers->count > 0)
            for (size_t j = 0; j < d; j++) u[j] = peers->mean[j] - s * peers->std[j];
        break;
    case ATK_IPM:
        if (peers && peers->count > 0)
            for (size_t j = 0; j < d; j++) u[j] = -s * peers->mean[j];
        else
            for (size_t j = 0; j < d; j++) u[j] = -s * u[j];
        break;
    default: break;
    }
}
