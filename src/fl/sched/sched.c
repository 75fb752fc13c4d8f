/* The scheduler object: config validation, and the per-round selection
 * that filters available clients and hands them to the chosen policy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl/sched/sched_internal.h"

#define MAX_CHOICE_D 1000000

static const struct {
    const char *name;
    sched_policy policy;
} POLICIES[] = {
    {"random", POLICY_RANDOM},
    {"round-robin", POLICY_ROUND_ROBIN},
    {"samples", POLICY_SAMPLES},
    {"age", POLICY_AGE},
    {"power-of-choice", POLICY_POWER_OF_CHOICE},
    {"deadline", POLICY_DEADLINE},
};
#define ALLOWED_POLICIES "random, round-robin, samples, age, power-of-choice, deadline"

static int policy_of(const fedc_sched_config *cfg, sched_policy *out) {
    for (size_t i = 0; i < sizeof POLICIES / sizeof *POLICIES; i++) {
        if (strcmp(cfg->policy, POLICIES[i].name) == 0) {
            *out = POLICIES[i].policy;
            return 0;
        }
    }
    return -1;
}

int fedc_sched_check(const fedc_sched_config *cfg, fedc_error *err) {
    if (!cfg) return fedc_fail(err, "scheduler config is missing");
    if (!memchr(cfg->policy, '\0', sizeof cfg->policy))
        return fedc_fail(
            err, "scheduler policy is longer than %zu characters; allowed: " ALLOWED_POLICIES,
            sizeof cfg->policy - 1);
    sched_policy p;
    if (policy_of(cfg, &p))
        return fedc_fail(err, "scheduler policy '%s' is unknown; allowed: " ALLOWED_POLICIES,
                         cfg->policy);
    if (cfg->choice_d < 0 || cfg->choice_d > MAX_CHOICE_D)
        return fedc_fail(
            err, "scheduler choice_d is %d; allowed: 0 (meaning 2 * clients per round) to %d",
            cfg->choice_d, MAX_CHOICE_D);
    if (p == POLICY_DEADLINE && !(isfinite(cfg->deadline_s) && cfg->deadline_s > 0))
        return fedc_fail(err,
                         "scheduler deadline_s is %g; the deadline policy needs a finite number of "
                         "seconds > 0",
                         cfg->deadline_s);
    return 0;
}

fedc_sched *fedc_sched_create(const fedc_sched_config *cfg, int n_clients, fedc_error *err) {
    if (fedc_sched_check(cfg, err)) return NULL;
    if (n_clients < 0 || n_clients > PROFILE_MAX_CLIENTS) {
        fedc_fail(err, "scheduler: %d clients; allowed 0 to %d", n_clients, PROFILE_MAX_CLIENTS);
        return NULL;
    }
    fedc_sched *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "scheduler: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    policy_of(cfg, &s->policy);
    return s;
}

void fedc_sched_free(fedc_sched *s) { free(s); }

int fedc_sched_select(fedc_sched *s, int round, const fedc_client_info *clients, int n_clients,
                      int k, const fedc_round_cost *cost, fedc_rng *rng, int *out) {
    if (!s || n_clients < 0 || (n_clients > 0 && !clients) || (k > 0 && !out)) return -1;
    if (!rng && s->policy != POLICY_ROUND_ROBIN) return -1;
    if (k <= 0 || n_clients == 0) return 0;
    if (s->policy == POLICY_ROUND_ROBIN)
        return sched_pick_round_robin(s, clients, n_clients, k, out);

    int *avail = malloc((size_t)n_clients * sizeof *avail);
    if (!avail) return -1;
    int n_avail = 0;
    for (int i = 0; i < n_clients; i++)
        if (clients[i].available) avail[n_avail++] = i;
    if (k > n_avail) k = n_avail;
    int rc;
    switch (s->policy) {
    case POLICY_SAMPLES: rc = sched_pick_samples(clients, avail, n_avail, k, rng, out); break;
    case POLICY_AGE: rc = sched_pick_age(clients, avail, n_avail, k, rng, out); break;
    case POLICY_POWER_OF_CHOICE:
        rc = sched_pick_power_of_choice(clients, avail, n_avail, k, s->cfg.choice_d, rng, out);
        break;
    case POLICY_DEADLINE:
        rc = cost ? sched_pick_deadline(clients, avail, n_avail, k, round, s->cfg.deadline_s, cost,
                                        rng, out)
                  : sched_pick_random(avail, n_avail, k, rng, out);
        break;
    default: rc = sched_pick_random(avail, n_avail, k, rng, out); break;
    }
    free(avail);
    return rc;
}

uint32_t fedc_sched_state(const fedc_sched *s) { return s ? (uint32_t)s->cursor : 0; }

void fedc_sched_restore(fedc_sched *s, uint32_t state) {
    if (s) s->cursor = (int)(state & 0x7fffffffu);
}
