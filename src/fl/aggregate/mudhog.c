/* MUD-HoG (Gupta, Luo, Ngo, Das, "Long-Short History of Gradients is All
 * You Need: Detecting Malicious and Unreliable Clients in Federated
 * Learning", ESORICS 2022), following the authors' server.py (mud_hog,
 * add_mal_id) and clients.py:
 *
 *   long HoG  = the sum of all of a client's updates;
 *   short HoG = the mean of its updates over the last 3 rounds.
 * From the 4th round on (tao_0 = 3 rounds of history), per round:
 *   1. sign-flip suspects: cosine of the short HoG to the coordinate-wise
 *      median of the short HoGs of clients not yet judged malicious < 0;
 *   2. without sign-flippers, DBSCAN on the short HoGs: the largest cluster
 *      is normal; noise points farther from its median than the largest-gap
 *      split of the outsiders' distances are additive-noise suspects;
 *   3. without both, 2-means on the long HoGs: the minority cluster holds
 *      targeted (label-flip) suspects;
 *   4. a client suspected in 2 consecutive rounds (4 for targeted) is
 *      malicious; 2 clean rounds in a row clear it; a noise suspect that
 *      keeps returning to normal becomes unreliable;
 *   5. unreliable suspects: cosine to the median of the remaining short
 *      HoGs below the largest-gap split; confirmed after more than 2 net
 *      suspicions, cleared when the count returns to 0.
 * The update is the mean of this round's updates of clients neither
 * malicious nor suspected (targeted or additive noise) this round;
 * unreliable clients count with strategy.mudhog_unreliable_weight (the
 * authors' code keeps them at 1).
 *
 * Differences, because fedc samples clients and does not know the model:
 *   - rounds count only for the clients that take part in them (the
 *     authors run every client every round, where the two coincide); the
 *     short window is the last 3 rounds, so a client seen once in that
 *     window has its current update as short HoG, and the server keeps 3
 *     rounds of updates rather than 3 per client;
 *   - DBSCAN's radius: the authors hand-set it per dataset and model (1.3
 *     on Fashion-MNIST); fedc uses strategy.mudhog_eps, or 1.5 x the median
 *     distance of the short HoGs to their 4th nearest neighbour (min_samples
 *     5 as the authors', fewer in smaller rounds). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mudhog_internal.h"

#define TAO_0 3
#define DELAY 2
#define WINDOW 3
#define MIN_SAMPLES 5

enum { F_MAL = 1, F_FLIP = 2, F_UATK = 4, F_TATK = 8, F_UNREL = 16 };

typedef struct window_round {
    int round, n;
    int *client;
    float **v;
} window_round;

struct mudhog_state {
    int n_clients;
    size_t d;
    double eps, unreliable_weight;
    int iter;
    float **long_hog;
    int *pre_mal, *count_unrel;
    unsigned char *flags;
    window_round win[WINDOW];
    /* The judgements as they were before the last round combined, so that a
     * round combined again (the engine's aggregate check refused the first
     * result and aggregates the rest) starts from the same history. */
    int last_round, iter0;
    int *pre_mal0, *count_unrel0;
    unsigned char *flags0;
};

static void window_clear(window_round *w) {
    for (int i = 0; i < w->n; i++) free(w->v[i]);
    free(w->v);
    free(w->client);
    memset(w, 0, sizeof *w);
}

void mudhog_free(mudhog_state *m) {
    if (!m) return;
    for (int k = 0; m->long_hog && k < m->n_clients; k++) free(m->long_hog[k]);
    free(m->long_hog);
    free(m->pre_mal);
    free(m->count_unrel);
    free(m->flags);
    free(m->pre_mal0);
    free(m->count_unrel0);
    free(m->flags0);
    for (int w = 0; w < WINDOW; w++) window_clear(&m->win[w]);
    free(m);
}

mudhog_state *mudhog_create(int n_clients, size_t d, double eps, double unreliable_weight) {
    mudhog_state *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_clients = n_clients;
    m->d = d;
    m->eps = eps;
    m->unreliable_weight = unreliable_weight;
    m->long_hog = calloc((size_t)n_clients, sizeof *m->long_hog);
    m->pre_mal = calloc((size_t)n_clients, sizeof *m->pre_mal);
    m->count_unrel = calloc((size_t)n_clients, sizeof *m->count_unrel);
    m->flags = calloc((size_t)n_clients, 1);
    m->pre_mal0 = calloc((size_t)n_clients, sizeof *m->pre_mal0);
    m->count_unrel0 = calloc((size_t)n_clients, sizeof *m->count_unrel0);
    m->flags0 = calloc((size_t)n_clients, 1);
    m->last_round = -1;
    if (!m->long_hog || !m->pre_mal || !m->count_unrel || !m->flags || !m->pre_mal0 || !m->count_unrel0 ||
        !m->flags0) {
        mudhog_free(m);
        return NULL;
    }
    return m;
}

/* Before a round combines: a first combine of the round keeps the
 * judgements; a second one of the same round takes back what the first
 * recorded (its long-HoG sums, its window entry, its judgements). */
static void begin_round(mudhog_state *m, int round) {
    size_t n = (size_t)m->n_clients;
    if (round != m->last_round) {
        m->last_round = round;
        m->iter0 = m->iter;
        memcpy(m->pre_mal0, m->pre_mal, n * sizeof *m->pre_mal);
        memcpy(m->count_unrel0, m->count_unrel, n * sizeof *m->count_unrel);
        memcpy(m->flags0, m->flags, n);
        return;
    }
    window_round *w = &m->win[round % WINDOW];
    if (w->round == round)
        for (int i = 0; i < w->n; i++)
            for (size_t j = 0; j < m->d; j++) m->long_hog[w->client[i]][j] -= w->v[i][j];
    window_clear(w);
    m->iter = m->iter0;
    memcpy(m->pre_mal, m->pre_mal0, n * sizeof *m->pre_mal);
    memcpy(m->count_unrel, m->count_unrel0, n * sizeof *m->count_unrel);
    memcpy(m->flags, m->flags0, n);
}

/* Records the round's updates: long HoGs grow, the window slides. */
static int record(mudhog_state *m, const agg_input *in) {
    window_round *w = &m->win[in->round % WINDOW];
    window_clear(w);
    w->round = in->round;
    w->client = malloc((size_t)in->n * sizeof *w->client);
    w->v = calloc((size_t)in->n, sizeof *w->v);
    if (!w->client || !w->v) return -1;
    for (int i = 0; i < in->n; i++) {
        int c = in->client[i];
        if (!m->long_hog[c] && !(m->long_hog[c] = calloc(m->d, sizeof(float)))) return -1;
        for (size_t j = 0; j < m->d; j++) m->long_hog[c][j] += in->v[i][j];
        if (!(w->v[i] = malloc(m->d * sizeof(float)))) return -1;
        memcpy(w->v[i], in->v[i], m->d * sizeof(float));
        w->client[i] = c;
        w->n = i + 1;
    }
    return 0;
}

/* Short HoG of client c: the mean of its updates in the window. */
static void short_hog(const mudhog_state *m, int round, int c, float *out) {
    memset(out, 0, m->d * sizeof(float));
    int cnt = 0;
    for (int k = 0; k < WINDOW; k++) {
        const window_round *w = &m->win[k];
        if (w->n == 0 || w->round <= round - WINDOW || w->round > round) continue;
        for (int i = 0; i < w->n; i++)
            if (w->client[i] == c) {
                for (size_t j = 0; j < m->d; j++) out[j] += w->v[i][j];
                cnt++;
            }
    }
    if (cnt > 1)
        for (size_t j = 0; j < m->d; j++) out[j] /= (float)cnt;
}

/* Coordinate-wise median of the vectors listed in idx (m of them). */
static int median_of(const float *const *v, const int *idx, int m, size_t d, float *out) {
    float *col = malloc((size_t)(m > 0 ? m : 1) * sizeof *col);
    if (!col) return -1;
    for (size_t j = 0; j < d; j++) {
        for (int k = 0; k < m; k++) col[k] = v[idx[k]][j];
        agg_sort_small(col, m);
        out[j] = m == 0 ? 0 : m % 2 ? col[m / 2] : 0.5f * (col[m / 2 - 1] + col[m / 2]);
    }
    free(col);
    return 0;
}

static double cosine(const float *a, const float *b, size_t d) {
    double na = agg_dot(a, a, d), nb = agg_dot(b, b, d);
    if (!(na > 0) || !(nb > 0)) return 0;
    return agg_dot(a, b, d) / sqrt(na * nb);
}

/* The authors' add_mal_id, over this round's participants. */
static void confirm(mudhog_state *m, const agg_input *in, const unsigned char *sus) {
    for (int i = 0; i < in->n; i++) {
        int c = in->client[i];
        unsigned char s = sus[i];
        if (!s) {
            if (m->pre_mal[c] == 0) {
                m->flags[c] &= (unsigned char)~(F_MAL | F_FLIP | F_UATK | F_TATK);
            } else {
                m->pre_mal[c] = 0;
                if (m->flags[c] & F_UATK && ++m->count_unrel[c] >= DELAY) {
                    m->flags[c] &= (unsigned char)~(F_UATK | F_MAL);
                    m->flags[c] |= F_UNREL;
                }
            }
            continue;
        }
        m->pre_mal[c]++;
        if (m->pre_mal[c] >= DELAY) {
            if (s & F_FLIP) m->flags[c] |= F_FLIP | F_MAL;
            if (s & F_UATK) m->flags[c] |= F_UATK | F_MAL;
        }
        if (m->pre_mal[c] >= 2 * DELAY && s & F_TATK) m->flags[c] |= F_TATK | F_MAL;
    }
}

typedef struct scratch {
    float **sh;       /* short HoGs, n x d */
    float *med;
    int *idx, *label;
    double *G, *dist, *vals;
    unsigned char *sus;
} scratch;

static void scratch_free(scratch *s, int n) {
    for (int i = 0; s->sh && i < n; i++) free(s->sh[i]);
    free(s->sh), free(s->med), free(s->idx), free(s->label), free(s->G), free(s->dist), free(s->vals), free(s->sus);
}

/* DBSCAN radius: the user's, or 1.5 x the median distance to the k-th
 * nearest other point. */
static double dbscan_eps(const mudhog_state *m, const double *dist, int n, int k) {
    if (m->eps > 0) return m->eps;
    double *kd = malloc((size_t)n * sizeof *kd), *row = malloc((size_t)n * sizeof *row);
    if (!kd || !row) {
        free(kd), free(row);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        int r = 0;
        for (int j = 0; j < n; j++)
            if (j != i) row[r++] = dist[i * n + j];
        for (int a = 0; a < k && a < r; a++) /* partial selection: the k smallest */
            for (int b = a + 1; b < r; b++)
                if (row[b] < row[a]) {
                    double t = row[a];
                    row[a] = row[b];
                    row[b] = t;
                }
        kd[i] = r == 0 ? 0 : row[(k < r ? k : r) - 1];
    }
    for (int a = 1; a < n; a++) { /* sort kd for its median */
        double x = kd[a];
        int b = a - 1;
        while (b >= 0 && kd[b] > x) {
            kd[b + 1] = kd[b];
            b--;
        }
        kd[b + 1] = x;
    }
    double e = 1.5 * (n % 2 ? kd[n / 2] : 0.5 * (kd[n / 2 - 1] + kd[n / 2]));
    free(kd), free(row);
    return e > 0 ? e : 1e-12;
}

int agg_mudhog(mudhog_state *m, const agg_input *in, float *out, agg_output *o, fedc_error *err) {
    int n = in->n;
    size_t d = in->d;
    begin_round(m, in->round);
    if (record(m, in) != 0) return fedc_fail(err, "aggregation: out of memory for MUD-HoG's histories");
    scratch s = {0};
    s.sh = calloc((size_t)n, sizeof *s.sh);
    s.med = malloc(d * sizeof *s.med);
    s.idx = calloc((size_t)n, sizeof *s.idx);
    s.label = calloc((size_t)n, sizeof *s.label);
    s.G = malloc((size_t)n * n * sizeof *s.G);
    s.dist = malloc((size_t)n * n * sizeof *s.dist);
    s.vals = malloc((size_t)n * sizeof *s.vals);
    s.sus = calloc((size_t)n, 1);
    int rc = -1;
    if (!s.sh || !s.med || !s.idx || !s.label || !s.G || !s.dist || !s.vals || !s.sus) goto oom;
    for (int i = 0; i < n; i++) {
        if (!(s.sh[i] = malloc(d * sizeof(float)))) goto oom;
        short_hog(m, in->round, in->client[i], s.sh[i]);
    }
    /* Excluded from this round's mean: confirmed malicious, and this
     * round's targeted and additive-noise suspects. */
    unsigned char *out_now = s.sus; /* reuse: F_* bits of this round's suspicions */
    if (m->iter >= TAO_0) {
        /* 1. sign-flip: cosine to the median short HoG of the not-yet-malicious. */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!(m->flags[in->client[i]] & F_MAL)) s.idx[k++] = i;
        if (k == 0)
            for (int i = 0; i < n; i++) s.idx[k++] = i;
        if (median_of((const float *const *)s.sh, s.idx, k, d, s.med) != 0) goto oom;
        for (int i = 0; i < n; i++)
            if (cosine(s.med, s.sh[i], d) < 0) out_now[i] |= F_FLIP;
        /* 2. additive noise: DBSCAN on the short HoGs without sign-flippers. */
        k = 0;
        for (int i = 0; i < n; i++)
            if (!(out_now[i] & F_FLIP) && !(m->flags[in->client[i]] & F_FLIP)) s.idx[k++] = i;
        if (k > 0) {
            const float **sub = malloc((size_t)k * sizeof *sub);
            if (!sub) goto oom;
            for (int a = 0; a < k; a++) sub[a] = s.sh[s.idx[a]];
            agg_gram(sub, k, d, s.G);
            agg_gram_dist(s.G, k, s.dist);
            int min_samples = k / 2 + 1 < MIN_SAMPLES ? k / 2 + 1 : MIN_SAMPLES;
            double eps = dbscan_eps(m, s.dist, k, min_samples - 1 > 0 ? min_samples - 1 : 1);
            if (agg_dbscan(s.dist, k, eps, min_samples, s.label) < 0) {
                free(sub);
                goto oom;
            }
            int major = agg_majority_label(s.label, k);
            int *normal = malloc((size_t)k * sizeof *normal);
            if (!normal) {
                free(sub);
                goto oom;
            }
            int nn = 0, ns = 0;
            for (int a = 0; a < k; a++)
                if (s.label[a] == major) normal[nn++] = a;
            if (median_of(sub, normal, nn, d, s.med) != 0) {
                free(sub), free(normal);
                goto oom;
            }
            /* Distances of the outsiders to the normal centre, split at the largest gap. */
            for (int a = 0; a < k; a++)
                if (s.label[a] != major) {
                    double t = 0;
                    for (size_t j = 0; j < d; j++) {
                        double x = (double)sub[a][j] - s.med[j];
                        t += x * x;
                    }
                    s.vals[ns++] = sqrt(t);
                }
            double sep = agg_separate_point(s.vals, ns);
            ns = 0;
            for (int a = 0; a < k; a++)
                if (s.label[a] != major) {
                    if (s.vals[ns] > sep && s.label[a] == -1) out_now[s.idx[a]] |= F_UATK;
                    ns++;
                }
            free(sub), free(normal);
        }
        /* 3. targeted: 2-means on the long HoGs of the rest; the minority. */
        k = 0;
        for (int i = 0; i < n; i++) {
            unsigned char f = m->flags[in->client[i]];
            if (!(out_now[i] & (F_FLIP | F_UATK)) && !(f & (F_FLIP | F_UATK))) s.idx[k++] = i;
        }
        if (k >= 2) {
            const float **lh = malloc((size_t)k * sizeof *lh);
            if (!lh) goto oom;
            for (int a = 0; a < k; a++) lh[a] = m->long_hog[in->client[s.idx[a]]];
            agg_gram(lh, k, d, s.G);
            free(lh);
            if (agg_kmeans2(s.G, k, in->rng, s.label) != 0) goto oom;
            int minor = agg_minority_label(s.label, k);
            for (int a = 0; a < k; a++)
                if (s.label[a] == minor) out_now[s.idx[a]] |= F_TATK;
        }
        confirm(m, in, out_now);
        /* 5. unreliable: low cosine to the median of the short HoGs left. */
        k = 0;
        for (int i = 0; i < n; i++)
            if (!(out_now[i] & F_FLIP) && !(m->flags[in->client[i]] & (F_FLIP | F_MAL))) s.idx[k++] = i;
        if (k > 0) {
            if (median_of((const float *const *)s.sh, s.idx, k, d, s.med) != 0) goto oom;
            for (int a = 0; a < k; a++) s.vals[a] = cosine(s.med, s.sh[s.idx[a]], d);
            double sep = agg_separate_point(s.vals, k);
            for (int a = 0; a < k; a++) {
                int c = in->client[s.idx[a]];
                int low = s.vals[a] < sep;
                if (low && ++m->count_unrel[c] > DELAY) m->flags[c] |= F_UNREL;
                if (m->count_unrel[c] == 0 && m->flags[c] & F_UNREL) m->flags[c] &= (unsigned char)~F_UNREL;
                if (!low && m->count_unrel[c] > 0) m->count_unrel[c]--;
            }
        }
    }
    /* The mean of the rest; unreliable ones at their weight. */
    double wsum = 0;
    memset(out, 0, d * sizeof(float));
    double *sum = calloc(d, sizeof *sum);
    if (!sum) goto oom;
    for (int i = 0; i < n; i++) {
        int c = in->client[i];
        unsigned char f = m->flags[c];
        if (f & F_MAL) {
            agg_set(o, i, FEDC_VERDICT_MALICIOUS, "mudhog: malicious (%s)",
                    f & F_FLIP ? "sign-flipping" : f & F_UATK ? "additive noise" : "targeted");
            continue;
        }
        if (out_now[i] & (F_TATK | F_UATK)) {
            agg_set(o, i, FEDC_VERDICT_LEFT_OUT, "mudhog: suspected %s this round",
                    out_now[i] & F_UATK ? "additive noise" : "targeted attack");
            continue;
        }
        double w = 1;
        if (f & F_UNREL) {
            w = m->unreliable_weight;
            agg_set(o, i, FEDC_VERDICT_UNRELIABLE, "mudhog: unreliable (weight %g)", w);
        }
        if (!(w > 0)) continue;
        for (size_t j = 0; j < d; j++) sum[j] += w * in->v[i][j];
        wsum += w;
    }
    /* Nothing trusted this round: the model stays where it is. */
    for (size_t j = 0; j < d; j++) out[j] = wsum > 0 ? (float)(sum[j] / wsum) : 0.0f;
    free(sum);
    m->iter++;
    rc = 0;
    scratch_free(&s, n);
    return rc;
oom:
    scratch_free(&s, n);
    return fedc_fail(err, "aggregation: out of memory for MUD-HoG");
}
