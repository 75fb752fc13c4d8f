/* Federated Rank Learning: the layout, fixed weights, masks, rankings and
 * the vote (see fedc/frl.h). Follows the authors' code (SPIN-UMass/FRL):
 * weights are signed constants sign(w0) * sqrt(2 / fan_in) of the seed's
 * initial model ("signed_constant"), scores start Kaiming-uniform
 * (bound 1/sqrt(fan_in)), the mask keeps the top sparsity of each tensor
 * by |score| (GetSubnet on scores.abs()), rankings order edges by score,
 * and the vote sorts the summed rank positions (FRL_Vote). Biases and norm
 * parameters keep their initial values; the authors' models have none. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"

typedef struct frl_tensor {
    size_t off, count;
    int fan_in;
} frl_tensor;

struct fedc_frl {
    size_t d;
    int nt;
    frl_tensor *t;
    double sparsity;
    size_t max_count;
    float *w;        /* signed constants on ranked tensors, initial values elsewhere */
    float *sorted;   /* per ranked tensor, its initial scores in ascending order */
    float *init;     /* initial scores (0 outside ranked tensors) */
    /* scratch for one caller at a time (one fedc_frl per thread) */
    uint64_t *key, *key2;   /* radix sort: order-preserving keys */
    uint32_t *idx, *idx2;   /* and the edge each belongs to */
    float *mag;
    float *tau;             /* per ranked tensor: last mask threshold, a hint for the next */
    unsigned char *seen;
};

size_t fedc_frl_nparams(const fedc_frl *f) { return f->d; }

void fedc_frl_free(fedc_frl *f) {
    if (!f) return;
    free(f->t);
    free(f->w);
    free(f->sorted);
    free(f->init);
    free(f->key);
    free(f->key2);
    free(f->idx);
    free(f->idx2);
    free(f->mag);
    free(f->tau);
    free(f->seen);
    free(f);
}

static int cmp_float(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

fedc_frl *fedc_frl_create(const fedc_task *t, const fedc_arch *a, const float *w0, fedc_error *err) {
    fedc_frl *f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->d = fedc_arch_nparams(a);
    f->sparsity = t->strategy.frl_sparsity;
    int nt = fedc_arch_ntensors(a);
    f->t = calloc((size_t)nt + 1, sizeof *f->t);
    f->w = malloc(f->d * sizeof(float));
    f->sorted = calloc(f->d, sizeof(float));
    f->init = calloc(f->d, sizeof(float));
    if (!f->t || !f->w || !f->sorted || !f->init) goto oom;
    memcpy(f->w, w0, f->d * sizeof(float));
    for (int i = 0; i < nt; i++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        if (ti.ndim < 2 || ti.dims[0] <= 0) continue; /* biases and norm parameters stay fixed */
        if (ti.count >= (1u << 24)) {
            fedc_fail(err, "strategy.aggregator: frl sends rank positions as exact floats, so a tensor may hold at "
                           "most 16777215 weights; %s has %zu",
                      ti.name, ti.count);
            fedc_frl_free(f);
            return NULL;
        }
        frl_tensor *ft = &f->t[f->nt++];
        ft->off = ti.offset;
        ft->count = ti.count;
        ft->fan_in = (int)(ti.count / (size_t)ti.dims[0]);
        if (ti.count > f->max_count) f->max_count = ti.count;
        float w = (float)sqrt(2.0 / ft->fan_in), bound = (float)(1.0 / sqrt((double)ft->fan_in));
        fedc_rng rng = fedc_rng_derive(t->seed ^ 0xF41ull, 0x5C0E, (uint64_t)i);
        for (size_t j = 0; j < ti.count; j++) {
            size_t k = ti.offset + j;
            f->w[k] = w0[k] < 0 ? -w : w;
            f->init[k] = (2 * fedc_rng_uniform_f(&rng) - 1) * bound;
        }
        memcpy(f->sorted + ti.offset, f->init + ti.offset, ti.count * sizeof(float));
        qsort(f->sorted + ti.offset, ti.count, sizeof(float), cmp_float);
    }
    if (f->nt == 0) {
        fedc_fail(err, "strategy.aggregator: frl needs a model with at least one dense or conv weight");
        fedc_frl_free(f);
        return NULL;
    }
    f->key = malloc(f->max_count * sizeof *f->key);
    f->key2 = malloc(f->max_count * sizeof *f->key2);
    f->idx = malloc(f->max_count * sizeof *f->idx);
    f->idx2 = malloc(f->max_count * sizeof *f->idx2);
    f->mag = malloc(f->max_count * sizeof *f->mag);
    f->seen = malloc(f->max_count);
    f->tau = malloc((size_t)f->nt * sizeof *f->tau);
    if (!f->tau) goto oom;
    for (int i = 0; i < f->nt; i++) f->tau[i] = NAN;
    if (!f->key || !f->key2 || !f->idx || !f->idx2 || !f->mag || !f->seen) goto oom;
    return f;
oom:
    fedc_fail(err, "out of memory for the FRL model");
    fedc_frl_free(f);
    return NULL;
}

void fedc_frl_initial_scores(const fedc_frl *f, float *x) { memcpy(x, f->init, f->d * sizeof(float)); }

/* k-th smallest of a[0..n) (k < n), rearranging a: Hoare quickselect. */
static float kth_smallest(float *a, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/* The k-th smallest (0-based) of |s[0..n)|. Scores move little between
 * local steps, so the last threshold brackets the new one: one pass
 * counts the magnitudes below a narrow band around it and gathers those in
 * it, and the answer is selected among the few gathered. When the band
 * misses (first call, a large step), a strided sample brackets it instead,
 * and failing that every magnitude is searched (Floyd-Rivest's idea).
 * This runs on every local step, where a plain quickselect cost several
 * times the MLP's own step. mag (n floats) is scratch. */
static float band_select(const float *s, size_t n, size_t k, float lo, float hi, float *mag, int *ok) {
    size_t below = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        float v = fabsf(s[i]);
        below += v < lo;
        if (v >= lo && v <= hi) mag[m++] = v;
    }
    *ok = k >= below && k - below < m;
    return *ok ? kth_smallest(mag, m, k - below) : 0;
}

static float select_kth(const float *s, size_t n, size_t k, float hint, float *mag) {
    enum { SAMPLE = 1024 };
    int ok = 0;
    float v;
    if (isfinite(hint) && hint > 0) {
        v = band_select(s, n, k, hint * (1 - 1.0f / 64), hint * (1 + 1.0f / 64), mag, &ok);
        if (ok) return v;
    }
    if (n > 4 * SAMPLE) {
        float smp[SAMPLE];
        size_t stride = n / SAMPLE;
        for (size_t i = 0; i < SAMPLE; i++) smp[i] = fabsf(s[i * stride]);
        double q = (double)k / (double)n * SAMPLE, spread = 4 * sqrt((double)SAMPLE) + 8;
        size_t lo_i = q > spread ? (size_t)(q - spread) : 0;
        size_t hi_i = q + spread < SAMPLE - 1 ? (size_t)(q + spread) : SAMPLE - 1;
        float hi = kth_smallest(smp, SAMPLE, hi_i), lo = kth_smallest(smp, SAMPLE, lo_i);
        v = band_select(s, n, k, lo, hi, mag, &ok);
        if (ok) return v;
    }
    for (size_t i = 0; i < n; i++) mag[i] = fabsf(s[i]);
    return kth_smallest(mag, n, k);
}

void fedc_frl_weights(const fedc_frl *f, const float *x, float *w) {
    memcpy(w, f->w, f->d * sizeof(float));
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        /* The lowest floor((1 - sparsity) n) by |score| are pruned. */
        size_t drop = (size_t)((1.0 - f->sparsity) * (double)t->count);
        if (drop == 0) continue;
        const float *s = x + t->off;
        float tau = select_kth(s, t->count, drop - 1, f->tau[i], f->mag);
        f->tau[i] = tau;
        /* Up to tau: pruned. Magnitudes equal to tau beyond the count
         * (exact ties are rare) are restored from the last index back, so
         * the pruned ties are the first by index. */
        float *out = w + t->off;
        const float *wf = f->w + t->off;
        size_t pruned = 0;
        for (size_t j = 0; j < t->count; j++) {
            int cut = fabsf(s[j]) <= tau;
            pruned += (size_t)cut;
            out[j] = cut ? 0.0f : out[j];
        }
        for (size_t j = t->count; j-- > 0 && pruned > drop;)
            if (fabsf(s[j]) == tau) {
                out[j] = wf[j];
                pruned--;
            }
    }
}

void fedc_frl_score_grad(const fedc_frl *f, const float *s, const float *g, float *gs) {
    memset(gs, 0, f->d * sizeof(float));
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        for (size_t j = t->off; j < t->off + t->count; j++) {
            float v = g[j] * f->w[j];
            gs[j] = s[j] < 0 ? -v : v;
        }
    }
}

/* A float's bits as an unsigned key with the same order. */
static uint64_t float_key(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* Stable LSD radix sort of key[0..n) carrying idx, 8 bits a pass; passes
 * whose byte is the same everywhere are skipped. Then each index's
 * position is written to pos. Stability keeps ties in index order. */
static void positions_by_radix(const fedc_frl *f, size_t n, float *pos) {
    uint64_t *k = f->key, *k2 = f->key2;
    uint32_t *ix = f->idx, *ix2 = f->idx2;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t j = 0; j < n; j++) count[(k[j] >> shift) & 0xFF]++;
        if (count[(k[0] >> shift) & 0xFF] == n) continue;
        size_t start = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = start;
            start += c;
        }
        for (size_t j = 0; j < n; j++) {
            size_t dst = count[(k[j] >> shift) & 0xFF]++;
            k2[dst] = k[j];
            ix2[dst] = ix[j];
        }
        uint64_t *tk = k;
        k = k2;
        k2 = tk;
        uint32_t *ti = ix;
        ix = ix2;
        ix2 = ti;
    }
    for (size_t p = 0; p < n; p++) pos[ix[p]] = (float)p;
}

void fedc_frl_rank_positions(const fedc_frl *f, const float *s, float *pos) {
    memset(pos, 0, f->d * sizeof(float));
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        for (size_t j = 0; j < t->count; j++) {
            f->key[j] = float_key(s[t->off + j]);
            f->idx[j] = (uint32_t)j;
        }
        positions_by_radix(f, t->count, pos + t->off);
    }
}

void fedc_frl_scores_of_positions(const fedc_frl *f, const float *pos, float *s) {
    memset(s, 0, f->d * sizeof(float));
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        for (size_t j = 0; j < t->count; j++) {
            size_t p = (size_t)pos[t->off + j];
            s[t->off + j] = f->sorted[t->off + (p < t->count ? p : t->count - 1)];
        }
    }
}

int fedc_frl_is_ranking(const fedc_frl *f, const float *pos) {
    size_t next = 0;
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        for (; next < t->off; next++)
            if (pos[next] != 0) return 0;
        memset(f->seen, 0, t->count);
        for (size_t j = 0; j < t->count; j++) {
            float p = pos[t->off + j];
            if (!(p >= 0) || p >= (float)t->count || p != floorf(p)) return 0;
            size_t k = (size_t)p;
            if (f->seen[k]) return 0;
            f->seen[k] = 1;
        }
        next = t->off + t->count;
    }
    for (; next < f->d; next++)
        if (pos[next] != 0) return 0;
    return 1;
}

void fedc_frl_reverse(const fedc_frl *f, float *pos) {
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        for (size_t j = t->off; j < t->off + t->count; j++) pos[j] = (float)(t->count - 1) - pos[j];
    }
}

void fedc_frl_vote(const fedc_frl *f, const double *sums, float *pos) {
    memset(pos, 0, f->d * sizeof(float));
    for (int i = 0; i < f->nt; i++) {
        const frl_tensor *t = &f->t[i];
        /* Summed positions are whole numbers >= 0; other sums (a random
         * ranking's keys) in [0, 1) order the same by their bits. */
        for (size_t j = 0; j < t->count; j++) {
            double v = sums[t->off + j];
            uint64_t u;
            memcpy(&u, &v, sizeof u);
            f->key[j] = v > 0 ? u : 0; /* IEEE order of non-negative doubles */
            f->idx[j] = (uint32_t)j;
        }
        positions_by_radix(f, t->count, pos + t->off);
    }
}

/* The server side of a round: valid rankings vote; the combined "delta"
 * moves x onto the scores of the voted ranking. */
int agg_frl(const agg_input *in, const fedc_frl *frl, float *out, agg_output *o, fedc_error *err) {
    double *sums = calloc(in->d, sizeof *sums);
    float *pos = malloc(in->d * sizeof *pos);
    if (!sums || !pos) {
        free(sums), free(pos);
        return fedc_fail(err, "aggregation: out of memory for the FRL vote");
    }
    int voters = 0;
    for (int i = 0; i < in->n; i++) {
        if (!fedc_frl_is_ranking(frl, in->v[i])) {
            agg_set(o, i, FEDC_VERDICT_LEFT_OUT, "frl: not a ranking of every layer's edges");
            continue;
        }
        for (size_t j = 0; j < in->d; j++) sums[j] += in->v[i][j];
        voters++;
    }
    if (voters == 0) {
        free(sums), free(pos);
        return fedc_fail(err, "aggregation: no update of the round is a valid FRL ranking");
    }
    fedc_frl_vote(frl, sums, pos);
    fedc_frl_scores_of_positions(frl, pos, out);
    for (size_t j = 0; j < in->d; j++) out[j] -= in->x[j];
    free(sums), free(pos);
    return 0;
}
