/* Client scheduling: which clients take part in a round, and (in simulation)
 * heterogeneity profiles that give each client a compute speed, link speeds
 * and availability so that simulated wall-clock time can be reported. */
#ifndef FEDC_SCHED_H
#define FEDC_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/rng.h"

/* What the server knows of a client when it schedules. */
typedef struct fedc_client_info {
    size_t n_samples;
    double last_loss;      /* local training loss last reported; < 0 if unknown */
    int last_round;        /* last round it took part in; -1 if never */
    int times_selected;
    double samples_per_s;  /* reported or profiled compute speed; <= 0 if unknown */
    double up_bps, down_bps; /* link speeds in bit/s; <= 0 if unknown */
    int available;         /* 0 = offline now */
} fedc_client_info;

typedef struct fedc_sched_config {
    char policy[24];   /* random | round-robin | samples | age | power-of-choice | deadline */
    int choice_d;      /* power-of-choice candidate count (0: 2*k) */
    double deadline_s; /* deadline policy: round deadline in seconds */
} fedc_sched_config;

/* What a round will cost a client, for deadline-aware choices. */
typedef struct fedc_round_cost {
    double epochs;       /* local epochs over the client's samples */
    double max_samples;  /* cap on samples processed per round; 0 = none */
    double down_bytes, up_bytes;
} fedc_round_cost;

typedef struct fedc_sched fedc_sched;

FEDC_API int fedc_sched_check(const fedc_sched_config *cfg, fedc_error *err);
FEDC_API fedc_sched *fedc_sched_create(const fedc_sched_config *cfg, int n_clients, fedc_error *err);
FEDC_API void fedc_sched_free(fedc_sched *s);
/* Picks up to k distinct available clients into out; returns how many
 * (min(k, available clients)), or -1 on invalid arguments (NULL pointers,
 * n_clients < 0, rng NULL for a policy that draws) or out of memory. cost
 * may be NULL (then only the deadline policy needs it and falls back to
 * random). Deterministic given rng. */
FEDC_API int fedc_sched_select(fedc_sched *s, int round, const fedc_client_info *clients, int n_clients,
                               int k, const fedc_round_cost *cost, fedc_rng *rng, int *out);
/* Predicted seconds for a client to do a round of the given cost: download
 * + local compute + upload. A part with work to do and an unknown speed
 * (<= 0) makes the prediction +inf. */
FEDC_API double fedc_sched_predict_s(const fedc_client_info *c, const fedc_round_cost *cost);
/* What the scheduler carries from round to round besides the clients' info
 * (round-robin's cursor), for checkpoints: a resumed run picks what the
 * uninterrupted one would have. */
FEDC_API uint32_t fedc_sched_state(const fedc_sched *s);
FEDC_API void fedc_sched_restore(fedc_sched *s, uint32_t state);

/* Heterogeneity profile for simulation. spec: "none" | "lognormal" (speeds
 * and links drawn per client from log-normal distributions, a fraction slow
 * and intermittently unavailable) | path to a CSV trace with header
 * client,samples_per_s,up_bps,down_bps[,avail] where avail is a list of
 * "start-end" round windows separated by ';'. */
typedef struct fedc_profile fedc_profile;
FEDC_API fedc_profile *fedc_profile_create(const char *spec, int n_clients, uint64_t seed, fedc_error *err);
/* The CSV trace parser on text in memory (an uploaded trace); source names
 * it in error messages ("<source>:<line>:<column>: ..."). */
FEDC_API fedc_profile *fedc_profile_from_csv(const char *text, size_t len, const char *source, int n_clients,
                                             fedc_error *err);
FEDC_API void fedc_profile_free(fedc_profile *p);
/* Fills speed, link and availability of client k at a round into info. */
FEDC_API void fedc_profile_apply(const fedc_profile *p, int k, int round, fedc_client_info *info);

#endif
