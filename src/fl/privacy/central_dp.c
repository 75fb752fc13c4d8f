/* privacy.mode dp-fedavg: client-level differential privacy applied by the
 * server (McMahan, Ramage, Talwar, Zhang, "Learning Differentially Private
 * Recurrent Language Models", 2018), with the adaptive clipping of Andrew,
 * Thakkar, McMahan, Ramaswamy, "Differentially Private Learning with
 * Adaptive Clipping" (2021, Algorithm 1):
 *
 *   each update clipped to C:      d_i <- d_i min(1, C / |d_i|)
 *   unclipped indicator:           b_i = [|d_i| <= C]
 *   noised mean (fixed m = clients_per_round, the expected count, so one
 *   client's presence changes the sum by at most C):
 *                                  d = (sum d_i + N(0, (z_d C)^2 I)) / m
 *   noised unclipped fraction:     b = (sum b_i + N(0, s_b^2)) / m
 *   geometric update of the bound: C <- C exp(-eta (b - gamma))
 *
 * The indicator query also costs privacy; splitting the task's noise
 * multiplier z as z_d = (z^-2 - (2 s_b)^-2)^(-1/2) makes the pair exactly as
 * private as one Gaussian query with multiplier z (their Theorem 1), so the
 * accountant charges z for both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl/privacy/privacy_internal.h"

double privacy_count_noise(const fedc_task *t) {
    return t->privacy.count_noise > 0 ? t->privacy.count_noise : t->clients_per_round / 20.0;
}

double privacy_update_noise(const fedc_task *t) {
    double z = t->privacy.noise_multiplier;
    if (!t->privacy.adaptive_clip || z <= 0) return z;
    double sb2 = 2 * privacy_count_noise(t);
    double inv = 1 / (z * z) - 1 / (sb2 * sb2);
    return inv > 0 ? 1 / sqrt(inv) : INFINITY;
}

void fedc_privacy_combine(fedc_privacy *p, const fedc_update *u, int n, float *out, fedc_rng *rng) {
    const fedc_task *t = &p->task;
    size_t d = p->d;
    double clip = p->clip, m = t->clients_per_round;
    double *sum = p->sum;
    memset(sum, 0, d * sizeof(double));
    int unclipped = 0;
    for (int i = 0; i < n; i++) {
        const float *v = u[i].delta;
        double n2 = 0;
        for (size_t j = 0; j < d; j++) n2 += (double)v[j] * v[j];
        double norm = sqrt(n2), s = norm > clip ? clip / norm : 1.0;
        if (norm <= clip) unclipped++;
        for (size_t j = 0; j < d; j++) sum[j] += s * v[j];
    }
    double sd = p->update_noise * clip;
    for (size_t j = 0; j < d; j++) {
        double noise = sd > 0 ? sd * fedc_rng_normal(rng) : 0;
        out[j] = (float)((sum[j] + noise) / m);
    }
    if (t->privacy.adaptive_clip) {
        double sb = privacy_count_noise(t);
        double frac = (unclipped + (t->privacy.noise_multiplier > 0 ? sb * fedc_rng_normal(rng) : 0)) / m;
        p->clip = clip * exp(-t->privacy.clip_lr * (frac - t->privacy.target_quantile));
        /* Keep the bound a usable float whatever the noise drew. */
        if (p->clip < 1e-6) p->clip = 1e-6;
        if (p->clip > 1e6) p->clip = 1e6;
    }
}
