/* The task's privacy as the round engine sees it: which mechanism, the
 * current clip bound, and the (epsilon, delta) spent so far. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fl/privacy/privacy_internal.h"

static int mode_of(const fedc_task *t) {
    if (strcmp(t->privacy.mode, "dp-gaussian") == 0) return PRIV_LOCAL;
    if (strcmp(t->privacy.mode, "dp-fedavg") == 0) return PRIV_CENTRAL;
    return PRIV_NONE;
}

fedc_privacy *fedc_privacy_create(const fedc_task *t, size_t d, fedc_error *err) {
    fedc_privacy *p = calloc(1, sizeof *p);
    if (!p) {
        fedc_fail(err, "out of memory for the privacy state");
        return NULL;
    }
    p->task = *t;
    p->d = d;
    p->mode = mode_of(t);
    p->clip = t->privacy.clip;
    p->update_noise = privacy_update_noise(t);
    if (p->mode == PRIV_CENTRAL) {
        if (!isfinite(p->update_noise)) {
            fedc_privacy_free(p);
            fedc_fail(err, "privacy.count_noise: too small for noise_multiplier %g with adaptive clipping",
                      t->privacy.noise_multiplier);
            return NULL;
        }
        p->sum = malloc(d * sizeof(double));
        if (!p->sum) {
            fedc_privacy_free(p);
            fedc_fail(err, "out of memory for the privacy state of %zu parameters", d);
            return NULL;
        }
    }
    return p;
}

void fedc_privacy_free(fedc_privacy *p) {
    if (!p) return;
    free(p->sum);
    free(p);
}

int fedc_privacy_enabled(const fedc_privacy *p) { return p && p->mode != PRIV_NONE; }
int fedc_privacy_central(const fedc_privacy *p) { return p && p->mode == PRIV_CENTRAL; }
double fedc_privacy_clip(const fedc_privacy *p) { return p->clip; }
double fedc_privacy_state_get(const fedc_privacy *p) { return p->clip; }
void fedc_privacy_state_set(fedc_privacy *p, double clip) {
    if (isfinite(clip) && clip > 0) p->clip = clip;
}

/* epsilon of a task after `rounds` rounds whose busiest client took part
 * max_participations times. */
static double epsilon_of(const fedc_task *t, int rounds, int max_participations) {
    double z = t->privacy.noise_multiplier, delta = t->privacy.delta;
    switch (mode_of(t)) {
    case PRIV_CENTRAL:
        if (rounds <= 0) return 0;
        return fedc_dp_epsilon((double)t->clients_per_round / t->clients, z, rounds, delta);
    case PRIV_LOCAL:
        /* The server sees each noised update and who sent it: no
         * amplification by sampling, and a client's data can move its
         * clipped update anywhere in the C-ball, so the sensitivity is 2C
         * (noise multiplier z/2), composed over its participations. */
        if (max_participations <= 0) return 0;
        return fedc_dp_epsilon(1.0, z / 2, max_participations, delta);
    default:
        return 0;
    }
}

void fedc_privacy_account(const fedc_privacy *p, int rounds, int max_participations, double *epsilon,
                          double *delta) {
    *epsilon = epsilon_of(&p->task, rounds, max_participations);
    *delta = p->task.privacy.delta;
}

double fedc_privacy_planned_epsilon(const fedc_task *t) {
    /* Planned worst case for local DP: one client chosen every round. */
    return epsilon_of(t, t->rounds, t->rounds);
}

int fedc_privacy_would_exceed(const fedc_privacy *p, int rounds, int max_participations) {
    double target = p->task.privacy.target_epsilon;
    if (p->mode == PRIV_NONE || target <= 0) return 0;
    return epsilon_of(&p->task, rounds + 1, max_participations + 1) > target;
}

fedc_rng fedc_privacy_noise_rng(const fedc_task *t, uint64_t a, uint64_t b, int secret) {
    uint64_t seed = t->seed ^ 0xD1FFull;
    if (secret) {
        uint64_t r = 0;
        /* getrandom blocks only before the kernel's pool is initialised. */
        if (getrandom(&r, sizeof r, 0) == (ssize_t)sizeof r) seed = r;
        else seed ^= (uint64_t)(uintptr_t)&r * 0x9E3779B97F4A7C15ull; /* no OS entropy: never expected */
    }
    return fedc_rng_derive(seed, a, b);
}
