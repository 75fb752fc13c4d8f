/* The selection policies that need no cost model: uniform random,
 * round-robin, sample-weighted, age (longest unselected first) and
 * loss-based power-of-choice (Cho et al., 2020). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl/sched/sched_internal.h"

int sched_pick_random(const int *avail, int n_avail, int k, fedc_rng *rng, int *out) {
    /* Partial Fisher-Yates over a copy: k draws, uniform without replacement. */
    int *pool = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *pool);
    if (!pool) return -1;
    memcpy(pool, avail, (size_t)n_avail * sizeof *pool);
    for (int i = 0; i < k; i++) {
        int j = i + (int)fedc_rng_below(rng, (uint32_t)(n_avail - i));
        int t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
        out[i] = pool[i];
    }
    free(pool);
    return k;
}

int sched_pick_round_robin(fedc_sched *s, const fedc_client_info *clients, int n_clients, int k,
                           int *out) {
    /* Walk ids from the cursor, wrapping once, taking available clients;
     * the cursor moves past the last one taken. With everyone available,
     * round r takes ids r*k .. r*k+k-1 (mod N): all N in ceil(N/k) rounds. */
    int start = s->cursor % n_clients, m = 0, last = -1;
    for (int step = 0; step < n_clients && m < k; step++) {
        int id = (start + step) % n_clients;
        if (!clients[id].available) continue;
        out[m++] = id;
        last = id;
    }
    if (last >= 0) s->cursor = (last + 1) % n_clients;
    return m;
}

static int pick_by_keys(const int *avail, int n_avail, int k, const double *keys, fedc_rng *rng,
                        int *out) {
    sched_key *sk = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *sk);
    if (!sk) return -1;
    for (int i = 0; i < n_avail; i++) {
        sk[i].key = keys[i];
        sk[i].tie = fedc_rng_u64(rng);
        sk[i].id = avail[i];
    }
    sched_sort_keys(sk, n_avail);
    for (int i = 0; i < k; i++) out[i] = sk[i].id;
    free(sk);
    return k;
}

int sched_pick_samples(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                       fedc_rng *rng, int *out) {
    double *w = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *w);
    sched_key *scratch = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *scratch);
    int rc = -1;
    if (w && scratch) {
        for (int i = 0; i < n_avail; i++) w[i] = (double)clients[avail[i]].n_samples;
        rc = sched_weighted_sample(avail, w, n_avail, k, rng, out, scratch);
    }
    free(w);
    free(scratch);
    return rc;
}

int sched_pick_age(const fedc_client_info *clients, const int *avail, int n_avail, int k,
                   fedc_rng *rng, int *out) {
    double *keys = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *keys);
    if (!keys) return -1;
    for (int i = 0; i < n_avail; i++) {
        int last = clients[avail[i]].last_round;
        keys[i] = last < 0 ? INFINITY : -(double)last; /* never selected first */
    }
    int rc = pick_by_keys(avail, n_avail, k, keys, rng, out);
    free(keys);
    return rc;
}

int sched_pick_power_of_choice(const fedc_client_info *clients, const int *avail, int n_avail,
                               int k, int d, fedc_rng *rng, int *out) {
    /* Candidates: d clients drawn proportionally to their data size without
     * replacement (d = 2k by default, at least k); then the k candidates
     * with the highest last local loss. Unknown loss counts as +inf so new
     * clients get measured. */
    if (d <= 0) d = 2 * k;
    if (d < k) d = k;
    if (d > n_avail) d = n_avail;
    int *cand = malloc((size_t)(d ? d : 1) * sizeof *cand);
    double *w = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *w);
    sched_key *scratch = malloc((size_t)(n_avail ? n_avail : 1) * sizeof *scratch);
    int rc = -1;
    if (cand && w && scratch) {
        for (int i = 0; i < n_avail; i++) w[i] = (double)clients[avail[i]].n_samples;
        int nc = sched_weighted_sample(avail, w, n_avail, d, rng, cand, scratch);
        for (int i = 0; i < nc; i++) {
            double loss = clients[cand[i]].last_loss;
            w[i] = loss >= 0 && isfinite(loss) ? loss : INFINITY;
        }
        rc = pick_by_keys(cand, nc, k, w, rng, out);
    }
    free(cand);
    free(w);
    free(scratch);
    return rc;
}
