/* Private parts of client scheduling: the scheduler state, the ranking
 * helper every policy uses, the policies themselves, and the profile
 * representation shared by the built-in profiles and the CSV trace. */
#ifndef FEDC_SCHED_INTERNAL_H
#define FEDC_SCHED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/sched.h"

typedef enum {
    POLICY_RANDOM,
    POLICY_ROUND_ROBIN,
    POLICY_SAMPLES,
    POLICY_AGE,
    POLICY_POWER_OF_CHOICE,
    POLICY_DEADLINE,
} sched_policy;

struct fedc_sched {
    fedc_sched_config cfg;
    sched_policy policy;
    int cursor; /* round-robin: next client id to consider */
};

/* A candidate with a ranking key; ties are broken by a random draw so
 * equal keys come out in random (but seeded) order. */
typedef struct sched_key {
    double key;
    uint64_t tie;
    int id;
} sched_key;

/* Sorts by key, largest first, then by tie. */
void sched_sort_keys(sched_key *keys, int n);
/* Weighted sampling without replacement (Efraimidis-Spirakis): the first
 * k of ids[] ordered by log(u)/w, u ~ U(0, 1]; i.e. successive draws with
 * probability proportional to w among those left. Ids with w <= 0 come
 * last, in random order. Writes min(k, n) ids to out; returns that count. */
int sched_weighted_sample(const int *ids, const double *w, int n, int k, fedc_rng *rng, int *out,
                          sched_key *scratch);

/* The policies. avail[0..n_avail) lists the available clients in id
 * order, k <= n_avail; each writes k ids into out and returns k or -1. */
int sched_pick_random(const int *avail, int n_avail, int k, fedc_rng *rng, int *out);
int sched_pick_round_robin(fedc_sched *s, const fedc_client_info *clients, int n_clients, int k,
                           int *out);
int sched_pick_samples(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                       fedc_rng *rng, int *out);
int sched_pick_age(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                   fedc_rng *rng, int *out);
int sched_pick_power_of_choice(const fedc_client_info *clients, const int *avail, int n_avail,
                               int k, int d, fedc_rng *rng, int *out);
int sched_pick_deadline(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                        int round, double deadline_s, const fedc_round_cost *cost, fedc_rng *rng,
                        int *out);

/* Profiles. */
typedef enum { PROFILE_NONE, PROFILE_LOGNORMAL, PROFILE_TRACE } profile_kind;

struct fedc_profile {
    profile_kind kind;
    int n_clients;
    double *samples_per_s, *up_bps, *down_bps; /* per client */
    /* lognormal: intermittent clients and the seed of their outages */
    uint8_t *flaky;
    uint64_t avail_seed;
    /* trace: per client, windows [win_lo[i], win_hi[i]] for i in
     * [win_off[k], win_off[k] + win_count[k]); has_windows[k] = 0 means
     * always available. */
    uint8_t *has_windows;
    size_t *win_off, *win_count;
    int32_t *win_lo, *win_hi;
};

/* Allocates the per-client speed arrays of a profile (zeroed). */
fedc_profile *profile_alloc(profile_kind kind, int n_clients);

#define PROFILE_MAX_CLIENTS 10000000
/* Parameters of the built-in profiles (docs/scheduling.md). */
#define PROFILE_MEDIAN_SAMPLES_PER_S 2000.0
#define PROFILE_MEDIAN_UP_BPS 10e6
#define PROFILE_MEDIAN_DOWN_BPS 50e6
#define PROFILE_SIGMA_SPEED 0.5
#define PROFILE_SIGMA_LINK 0.75
#define PROFILE_SLOW_FRACTION 0.10
#define PROFILE_SLOW_FACTOR 10.0
#define PROFILE_FLAKY_FRACTION 0.10
#define PROFILE_OUTAGE_BLOCK_ROUNDS 5
#define PROFILE_OUTAGE_PROBABILITY 0.5

#endif
