/* Simulated attacks (attack.*): what a malicious or unreliable client does
 * to its data and to the update that leaves its trainer. Applied only on
 * the client side: in simulation by the trainer of the clients the task's
 * seed makes attackers, in a deployment only by `fedc node --attack`. A
 * server never calls these to change an update; it only reads who the
 * simulated attackers are (to report detection) and stamps the backdoor
 * trigger on its test set (to measure the attack's success).
 *
 * Kinds (attack.scale 0 = the default in brackets):
 *   sign-flip   send -scale x the update [1]
 *   scaling     send scale x the update [100] (boosting)
 *   noise       add N(0, scale^2) to every coordinate [0.01]
 *   label-flip  train with labels l -> C-1-l, or source -> target
 *   backdoor    stamp a 12-pixel trigger on poison_fraction of every batch,
 *               labelled target (Bagdasaryan et al.; the pattern of the
 *               MUD-HoG authors' Backdoor_Utils)
 *   alie        mean - z x std of the colluders' benign updates (Baruch et
 *               al., "A Little Is Enough", NeurIPS 2019) [z from n, f]
 *   ipm         -scale x the mean of the colluders' benign updates (Xie et
 *               al., "Fall of Empires", UAI 2019) [0.1]
 * alie and ipm need statistics of honest updates. As in the papers'
 * practical setting, the attackers do not see other clients' updates: each
 * computes its benign update and the colluders pool theirs (simulation: the
 * attackers selected in the round; deployment: the nodes sharing a
 * --collude folder). Under aggregator frl the update is a ranking and the
 * kinds act on rankings (fedc/frl.h): sign-flip and scaling reverse it,
 * noise sends a random one, alie and ipm the reverse of the colluders'
 * vote (the FRL authors' own attack). */
#ifndef FEDC_ATTACK_H
#define FEDC_ATTACK_H

#include "fedc/export.h"
#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/frl.h"
#include "fedc/nn.h"
#include "fedc/rng.h"
#include "fedc/task.h"

typedef enum fedc_role {
    FEDC_ROLE_HONEST = 0,
    FEDC_ROLE_ATTACKER,
    FEDC_ROLE_UNRELIABLE, /* honest, low-quality data (MUD-HoG's model) */
} fedc_role;

typedef struct fedc_attack fedc_attack;

/* For task t; frl (borrowed, may be NULL) when the task's aggregator is
 * frl, so that update attacks act on rankings. */
FEDC_API fedc_attack *fedc_attack_create(const fedc_task *t, const fedc_frl *frl, fedc_error *err);
FEDC_API void fedc_attack_free(fedc_attack *a);

/* Roles are drawn once from the seed: a permutation of the clients whose
 * first round(fraction x clients) attack (when kind is not none) and whose
 * last round(unreliable x clients) are unreliable. */
FEDC_API fedc_role fedc_attack_role(const fedc_attack *a, int client);
/* 1 if the attack needs the colluders' benign updates (alie, ipm). */
FEDC_API int fedc_attack_needs_peers(const fedc_attack *a);

/* Data side, per local batch of n samples (shape = one sample's shape):
 * label-flip and backdoor rewrite an attacker's batch; an unreliable
 * client blurs half its batches (5x5 Gaussian, sigma 30) and trains on
 * 30% of them. Returns 0 when the client skips this batch. */
FEDC_API int fedc_attack_batch(const fedc_attack *a, fedc_role role, fedc_shape shape, float *x, int32_t *y, int n,
                      int n_classes, fedc_rng *rng);

/* What the colluders know: mean and standard deviation (unbiased) of their
 * benign updates, count of them. */
typedef struct fedc_attack_peers {
    const float *mean, *std;
    int count;
} fedc_attack_peers;
/* mean and std (d floats each) of m benign updates. */
FEDC_API void fedc_attack_peers_compute(const float *const *benign, int m, size_t d, float *mean, float *std);

/* Update side: replaces an attacker's update (d floats, a delta, or rank
 * positions under frl) by the attack's. peers is required when
 * fedc_attack_needs_peers (count >= 1). */
FEDC_API void fedc_attack_update(const fedc_attack *a, float *update, size_t d, const fedc_attack_peers *peers,
                        fedc_rng *rng);

/* ALIE's z for n updates per round of which f are the colluders'
 * (s = floor(n/2 + 1) - f, z = Phi^-1((n - s) / n)); 0 when no z helps. */
FEDC_API double fedc_attack_alie_z(int n, int f);
/* The kind's scale: attack.scale, or the default when it is 0. */
FEDC_API double fedc_attack_scale(const fedc_task *t);

/* The backdoor trigger on one sample of the given shape (pixels in [0,1]). */
FEDC_API void fedc_attack_stamp(float *x, fedc_shape shape);

#endif
