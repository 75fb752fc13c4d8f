/* Heterogeneity profiles for simulation: "none" (every client at the
 * median speeds, always available), "lognormal" (per-client speeds drawn
 * around realistic medians, a slow tenth and an intermittent tenth), or a
 * CSV trace file (trace_csv.c). Everything derives from the seed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/sched/sched_internal.h"

#define TRACE_MAX_BYTES ((size_t)64 << 20)

/* Stream ids of the profile's random draws. */
#define STREAM_SPEEDS 0x70726f66696c6531ull /* per client: speeds */
#define STREAM_ROLES 0x70726f66696c6532ull  /* which clients are slow / flaky */
#define STREAM_OUTAGE 0x70726f66696c6533ull /* seed of the outage draws */

fedc_profile *profile_alloc(profile_kind kind, int n_clients) {
    fedc_profile *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->kind = kind;
    p->n_clients = n_clients;
    /* Without a profile every client has the median speeds: no per-client
     * arrays, so a federation of a million clients pays nothing here. */
    if (kind == PROFILE_NONE) return p;
    size_t n = (size_t)(n_clients > 0 ? n_clients : 1);
    p->samples_per_s = calloc(n, sizeof *p->samples_per_s);
    p->up_bps = calloc(n, sizeof *p->up_bps);
    p->down_bps = calloc(n, sizeof *p->down_bps);
    if (!p->samples_per_s || !p->up_bps || !p->down_bps) {
        fedc_profile_free(p);
        return NULL;
    }
    return p;
}

void fedc_profile_free(fedc_profile *p) {
    if (!p) return;
    free(p->samples_per_s);
    free(p->up_bps);
    free(p->down_bps);
    free(p->flaky);
    free(p->has_windows);
    free(p->win_off);
    free(p->win_count);
    free(p->win_lo);
    free(p->win_hi);
    free(p);
}

static fedc_profile *make_none(int n_clients) { return profile_alloc(PROFILE_NONE, n_clients); }

static fedc_profile *make_lognormal(int n_clients, uint64_t seed) {
    fedc_profile *p = profile_alloc(PROFILE_LOGNORMAL, n_clients);
    uint32_t *order = malloc((size_t)n_clients * sizeof *order);
    if (p) p->flaky = calloc((size_t)n_clients, 1);
    if (!p || !order || !p->flaky) {
        fedc_profile_free(p);
        free(order);
        return NULL;
    }
    for (int k = 0; k < n_clients; k++) {
        /* Each client's draws depend only on (seed, k), not on N. */
        fedc_rng r = fedc_rng_derive(seed, STREAM_SPEEDS, (uint64_t)k);
        p->samples_per_s[k] =
            PROFILE_MEDIAN_SAMPLES_PER_S * exp(PROFILE_SIGMA_SPEED * fedc_rng_normal(&r));
        p->up_bps[k] = PROFILE_MEDIAN_UP_BPS * exp(PROFILE_SIGMA_LINK * fedc_rng_normal(&r));
        p->down_bps[k] = PROFILE_MEDIAN_DOWN_BPS * exp(PROFILE_SIGMA_LINK * fedc_rng_normal(&r));
    }
    /* Exactly round(10% N) slow and round(10% N) other flaky clients, so
     * small runs still have some of each. */
    fedc_rng roles = fedc_rng_derive(seed, STREAM_ROLES, (uint64_t)n_clients);
    for (int k = 0; k < n_clients; k++) order[k] = (uint32_t)k;
    fedc_rng_shuffle_u32(&roles, order, (size_t)n_clients);
    int n_slow = (int)lround(PROFILE_SLOW_FRACTION * n_clients);
    int n_flaky = (int)lround(PROFILE_FLAKY_FRACTION * n_clients);
    for (int i = 0; i < n_slow; i++) {
        int k = (int)order[i];
        p->samples_per_s[k] /= PROFILE_SLOW_FACTOR;
        p->up_bps[k] /= PROFILE_SLOW_FACTOR;
        p->down_bps[k] /= PROFILE_SLOW_FACTOR;
    }
    for (int i = n_slow; i < n_slow + n_flaky && i < n_clients; i++) p->flaky[order[i]] = 1;
    fedc_rng outage = fedc_rng_derive(seed, STREAM_OUTAGE, 0);
    p->avail_seed = fedc_rng_u64(&outage);
    free(order);
    return p;
}

static fedc_profile *load_trace(const char *path, int n_clients, fedc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fedc_fail(err,
                  "profile '%s': cannot open (%s); a profile is none, lognormal or the path of "
                  "a CSV trace",
                  path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int failed = 0;
    for (;;) {
        if (len == cap) {
            if (cap > TRACE_MAX_BYTES) {
                failed = 1;
                fedc_fail(err, "profile '%s': file is larger than the %zu-byte limit", path,
                          TRACE_MAX_BYTES);
                break;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > TRACE_MAX_BYTES + 1) ncap = TRACE_MAX_BYTES + 1;
            char *t = realloc(text, ncap);
            if (!t) {
                failed = 1;
                fedc_fail(err, "profile '%s': out of memory reading %zu bytes", path, ncap);
                break;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (!failed && ferror(f)) {
        failed = 1;
        fedc_fail(err, "profile '%s': read error", path);
    }
    fclose(f);
    fedc_profile *p = failed ? NULL : fedc_profile_from_csv(text, len, path, n_clients, err);
    free(text);
    return p;
}

fedc_profile *fedc_profile_create(const char *spec, int n_clients, uint64_t seed, fedc_error *err) {
    if (!spec || !*spec) {
        fedc_fail(err, "profile is empty; allowed: none, lognormal or the path of a CSV trace");
        return NULL;
    }
    if (n_clients <= 0 || n_clients > PROFILE_MAX_CLIENTS) {
        fedc_fail(err, "profile '%s': %d clients; allowed 1 to %d", spec, n_clients,
                  PROFILE_MAX_CLIENTS);
        return NULL;
    }
    fedc_profile *p = NULL;
    if (strcmp(spec, "none") == 0)
        p = make_none(n_clients);
    else if (strcmp(spec, "lognormal") == 0)
        p = make_lognormal(n_clients, seed);
    else
        return load_trace(spec, n_clients, err);
    if (!p) fedc_fail(err, "profile '%s': out of memory for %d clients", spec, n_clients);
    return p;
}

static int trace_available(const fedc_profile *p, int k, int round) {
    if (!p->has_windows[k]) return 1;
    size_t lo = p->win_off[k], hi = lo + p->win_count[k];
    while (lo < hi) { /* windows are sorted and disjoint: binary search */
        size_t mid = lo + (hi - lo) / 2;
        if (round < p->win_lo[mid])
            hi = mid;
        else if (round > p->win_hi[mid])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int lognormal_available(const fedc_profile *p, int k, int round) {
    if (!p->flaky[k]) return 1;
    /* Rounds come in blocks; a flaky client is offline for a whole block
     * with a fixed probability, drawn from (seed, client, block). */
    int block = (round < 0 ? 0 : round) / PROFILE_OUTAGE_BLOCK_ROUNDS;
    fedc_rng r = fedc_rng_derive(p->avail_seed, (uint64_t)k, (uint64_t)block);
    return fedc_rng_uniform(&r) >= PROFILE_OUTAGE_PROBABILITY;
}

void fedc_profile_apply(const fedc_profile *p, int k, int round, fedc_client_info *info) {
    if (!p || !info) return;
    if (k < 0 || k >= p->n_clients) {
        info->available = 0; /* not a client of this profile */
        return;
    }
    info->samples_per_s = p->samples_per_s ? p->samples_per_s[k] : PROFILE_MEDIAN_SAMPLES_PER_S;
    info->up_bps = p->up_bps ? p->up_bps[k] : PROFILE_MEDIAN_UP_BPS;
    info->down_bps = p->down_bps ? p->down_bps[k] : PROFILE_MEDIAN_DOWN_BPS;
    switch (p->kind) {
    case PROFILE_LOGNORMAL: info->available = lognormal_available(p, k, round); break;
    case PROFILE_TRACE: info->available = trace_available(p, k, round); break;
    default: info->available = 1; break;
    }
}
