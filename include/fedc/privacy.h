/* Differential privacy of client updates: clipping, Gaussian noise, and the
 * Renyi-DP accountant that turns (sampling rate, noise multiplier, steps)
 * into an (epsilon, delta) guarantee.
 *
 * Two mechanisms, chosen by privacy.mode:
 *   dp-gaussian  local: each node clips its update to L2 norm C and adds
 *                N(0, (z C)^2) before it leaves (fedc_privacy_local).
 *   dp-fedavg    central, client-level (McMahan et al. 2018; adaptive clip
 *                of Andrew et al. 2021): the server clips every update to
 *                C, sums, adds N(0, (z C)^2) to the sum and divides by the
 *                expected number of participants (fedc_privacy_combine).
 * Accounting (fedc_privacy_account) follows the sampled Gaussian mechanism
 * (Mironov, Talwar, Zhang 2019) with q = clients_per_round / clients for
 * dp-fedavg; dp-gaussian gets no amplification (the server sees who took
 * part) and replace-one sensitivity 2C, composed over the participations of
 * the most-selected client. */
#ifndef FEDC_PRIVACY_H
#define FEDC_PRIVACY_H

#include <stddef.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/rng.h"
#include "fedc/strategy.h"
#include "fedc/task.h"

/* ---- Renyi DP of the sampled Gaussian mechanism ------------------------ */

/* RDP at order alpha (> 1) of one step of the sampled Gaussian mechanism
 * with Poisson sampling rate q in [0, 1] and noise multiplier sigma (noise
 * sd / sensitivity). Integer orders use the exact binomial expansion,
 * fractional ones the two-sided series; INFINITY when sigma is 0. */
FEDC_API double fedc_rdp_sampled_gaussian(double q, double sigma, double alpha);

/* The smallest epsilon over the orders for which the given RDP curve
 * implies (epsilon, delta)-DP (the conversion of Balle et al. 2020 /
 * Canonne, Kamath, Steinke 2020); *best_order gets its order (may be NULL).
 * INFINITY if no order gives a finite bound. */
FEDC_API double fedc_rdp_to_epsilon(const double *orders, const double *rdp, int n, double delta,
                                    double *best_order);

/* Writes the default orders (at most FEDC_RDP_MAX_ORDERS) and returns how
 * many: 1.1 .. 10.9 in steps of 0.1, then 11 .. 64, then 80, 96, 128, 256,
 * 512, 1024. */
#define FEDC_RDP_MAX_ORDERS 160
FEDC_API int fedc_rdp_default_orders(double *out);

/* epsilon after `steps` compositions of one (q, sigma) step, over the
 * default orders. */
FEDC_API double fedc_dp_epsilon(double q, double sigma, long steps, double delta);

/* ---- The task's privacy, as the engine uses it ------------------------- */

typedef struct fedc_privacy fedc_privacy;

/* NULL with err set on a bad setting; a task with mode "none" gives an
 * object that does nothing (fedc_privacy_enabled is 0). */
FEDC_API fedc_privacy *fedc_privacy_create(const fedc_task *t, size_t d, fedc_error *err);
FEDC_API void fedc_privacy_free(fedc_privacy *p);
/* 1 when the run reports epsilon (mode dp-gaussian or dp-fedavg). */
FEDC_API int fedc_privacy_enabled(const fedc_privacy *p);
/* 1 when the server itself clips and noises (dp-fedavg). */
FEDC_API int fedc_privacy_central(const fedc_privacy *p);

/* Node side (dp-gaussian): clips delta to L2 norm clip and adds noise, in
 * place. Returns 1 if it acted, 0 for other modes. */
FEDC_API int fedc_privacy_local(const fedc_task *t, float *delta, size_t d, fedc_rng *rng);

/* Scales v in place so its L2 norm is at most clip; returns the norm it
 * had. */
FEDC_API double fedc_clip_l2(float *v, size_t d, double clip);

/* Server side (dp-fedavg): the privatised mean of n updates into out (d
 * floats): each delta clipped to the current clip bound, summed, Gaussian
 * noise added, divided by clients_per_round. With adaptive clipping the
 * bound then moves towards the target quantile of the update norms, using
 * a noised count of unclipped updates. u[i].delta is read only. */
FEDC_API void fedc_privacy_combine(fedc_privacy *p, const fedc_update *u, int n, float *out, fedc_rng *rng);
/* The clip bound the next round uses. */
FEDC_API double fedc_privacy_clip(const fedc_privacy *p);

/* After a round: the guarantee so far. rounds = rounds completed,
 * max_participations = most times any one client took part (dp-gaussian). */
FEDC_API void fedc_privacy_account(const fedc_privacy *p, int rounds, int max_participations, double *epsilon,
                                   double *delta);
/* epsilon that the task's whole plan (all its rounds) would spend. */
FEDC_API double fedc_privacy_planned_epsilon(const fedc_task *t);
/* 1 when privacy.target_epsilon is set and one more round would exceed it
 * (the run then stops before that round). */
FEDC_API int fedc_privacy_would_exceed(const fedc_privacy *p, int rounds, int max_participations);

/* The stream DP noise is drawn from. A simulation derives it from the task
 * seed (reproducible runs); a deployment must not, or anyone holding the
 * task spec could regenerate the noise and subtract it: with secret = 1 the
 * seed comes from the operating system's CSPRNG instead. */
FEDC_API fedc_rng fedc_privacy_noise_rng(const fedc_task *t, uint64_t a, uint64_t b, int secret);

/* Checkpointing: the adaptive clip bound. */
FEDC_API double fedc_privacy_state_get(const fedc_privacy *p);
FEDC_API void fedc_privacy_state_set(fedc_privacy *p, double clip);

#endif
