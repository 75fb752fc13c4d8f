/* Dirichlet label skew as in NIID-Bench / FedLab: for each class, client
 * proportions p ~ Dir(alpha) (normalised gamma draws), clients that already
 * hold n/K samples take no more, and the class's shuffled samples are cut at
 * the cumulative proportions. The draw is repeated (bounded) until every
 * client has min_samples; if that never happens, the shortfall is moved
 * from the largest clients, so no client is left empty or tiny. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/partition_internal.h"

/* Benchmarks redraw until the minimum holds; bounded here so the call
 * always ends (small alpha with many clients may never satisfy it). */
#define DIRICHLET_ATTEMPTS 16

typedef struct dir_state {
    part_job *j;
    const uint32_t *ids;
    const size_t *start;
    double *p;
    size_t *sizes;
    fedc_rng rng;
} dir_state;

static void draw_class(dir_state *s, int c) {
    const int K = s->j->K;
    const size_t nc = s->start[c + 1] - s->start[c];
    if (nc == 0)
        return;
    const double cap = (double)s->j->n / K;
    double sum = 0, sum_open = 0;
    for (int k = 0; k < K; k++) {
        s->p[k] = fedc_rng_gamma(&s->rng, s->j->cfg->alpha);
        sum += s->p[k];
        if ((double)s->sizes[k] < cap)
            sum_open += s->p[k];
    }
    if (sum_open > 0) {
        /* Clients at or over the fair share get nothing of this class. */
        for (int k = 0; k < K; k++)
            if ((double)s->sizes[k] >= cap)
                s->p[k] = 0;
        sum = sum_open;
    } else if (!(sum > 0)) {
        /* Every draw underflowed (tiny alpha): the Dirichlet's limit is a
         * single client taking the whole class. */
        memset(s->p, 0, (size_t)K * sizeof *s->p);
        s->p[fedc_rng_below(&s->rng, (uint32_t)K)] = 1;
        sum = 1;
    }
    const uint32_t *ids = s->ids + s->start[c];
    double acc = 0;
    size_t prev = 0;
    for (int k = 0; k < K; k++) {
        acc += s->p[k];
        size_t cut = k == K - 1 ? nc : (size_t)floor(acc / sum * (double)nc);
        if (cut > nc)
            cut = nc;
        if (cut < prev)
            cut = prev;
        for (size_t t = prev; t < cut; t++)
            s->j->owner[ids[t]] = (uint32_t)k;
        s->sizes[k] += cut - prev;
        prev = cut;
    }
}

/* Max-heap of clients by size, for picking donors. */
static void sift_down(uint32_t *heap, size_t n, size_t i, const size_t *key) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && key[heap[l]] > key[heap[m]])
            m = l;
        if (r < n && key[heap[r]] > key[heap[m]])
            m = r;
        if (m == i)
            return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* Moves samples from the largest clients to those below min_samples.
 * Feasible because K * min_samples <= n. */
static int repair(dir_state *s, fedc_error *err) {
    const int K = s->j->K;
    const size_t m = s->j->min_samples;
    size_t *give = calloc((size_t)K, sizeof *give);
    size_t *left = malloc((size_t)K * sizeof *left);
    uint32_t *heap = malloc((size_t)K * sizeof *heap);
    if (!give || !left || !heap) {
        free(give);
        free(left);
        free(heap);
        return fedc_fail(err, "partition dirichlet: out of memory for %d clients", K);
    }
    size_t need = 0;
    for (int k = 0; k < K; k++) {
        left[k] = s->sizes[k];
        heap[k] = (uint32_t)k;
        if (s->sizes[k] < m)
            need += m - s->sizes[k];
    }
    for (size_t i = (size_t)K / 2; i-- > 0;)
        sift_down(heap, (size_t)K, i, left);
    for (size_t u = 0; u < need; u++) {
        uint32_t top = heap[0]; /* left[top] > m while any client is short */
        give[top]++;
        left[top]--;
        sift_down(heap, (size_t)K, 0, left);
    }
    /* Walk the samples class by class (shuffled within a class), handing
     * donors' samples to short clients in client order. */
    int r = 0;
    while (r < K && s->sizes[r] >= m)
        r++;
    for (size_t t = 0; t < s->j->n && r < K; t++) {
        uint32_t i = s->ids[t], o = s->j->owner[i];
        if (give[o] == 0)
            continue;
        give[o]--;
        s->sizes[o]--;
        s->j->owner[i] = (uint32_t)r;
        if (++s->sizes[r] >= m)
            while (r < K && s->sizes[r] >= m)
                r++;
    }
    free(give);
    free(left);
    free(heap);
    return 0;
}

int part_dirichlet(part_job *j, fedc_error *err) {
    dir_state s = {j, NULL, NULL, NULL, NULL, {{0}}};
    uint32_t *ids = NULL;
    size_t *start = NULL;
    fedc_rng shuffle = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_SHUFFLE);
    if (part_by_class(j->d, &shuffle, &ids, &start, err) != 0)
        return -1;
    s.ids = ids;
    s.start = start;
    s.p = malloc((size_t)j->K * sizeof *s.p);
    s.sizes = malloc((size_t)j->K * sizeof *s.sizes);
    int rc = -1;
    if (!s.p || !s.sizes) {
        fedc_fail(err, "partition dirichlet: out of memory for %d clients", j->K);
        goto done;
    }
    s.rng = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_DRAW);
    for (int attempt = 0; attempt < DIRICHLET_ATTEMPTS; attempt++) {
        memset(s.sizes, 0, (size_t)j->K * sizeof *s.sizes);
        for (int c = 0; c < j->d->n_classes; c++)
            draw_class(&s, c);
        size_t smallest = j->n;
        for (int k = 0; k < j->K; k++)
            if (s.sizes[k] < smallest)
                smallest = s.sizes[k];
        if (smallest >= j->min_samples) {
            rc = 0;
            goto done;
        }
    }
    rc = repair(&s, err);
done:
    free(ids);
    free(start);
    free(s.p);
    free(s.sizes);
    return rc;
}
