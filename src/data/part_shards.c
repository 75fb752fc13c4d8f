/* Pathological label skew, "k classes per client": McMahan et al. sort by
 * label and deal 2 shards per client; here every class is cut into shards
 * of near-equal size and every client gets exactly k shards of k different
 * classes, which the tests check. */
#include <stdlib.h>
#include <string.h>

#include "data/partition_internal.h"

/* Swap attempts to fix one repeated class before falling back to the
 * deterministic layout. */
#define SHARD_FIX_TRIES 64

typedef struct shard_plan {
    int C, k, K;
    const size_t *start; /* class c: ids[start[c] .. start[c+1]) */
    uint32_t *slots;     /* shard count per class */
} shard_plan;

/* Class c's n_c / s_c against class d's: whose shards are bigger. */
static int bigger_shards(const shard_plan *p, uint32_t c, uint32_t d) {
    size_t nc = p->start[c + 1] - p->start[c], nd = p->start[d + 1] - p->start[d];
    return (uint64_t)nc * p->slots[d] > (uint64_t)nd * p->slots[c]; /* < 2^56 */
}

static void heap_down(const shard_plan *p, uint32_t *heap, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && bigger_shards(p, heap[l], heap[m]))
            m = l;
        if (r < n && bigger_shards(p, heap[r], heap[m]))
            m = r;
        if (m == i)
            return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* Shards per class: at least 1 per present class, at most min(n_c, K)
 * (a client takes at most one shard of a class, and a shard is never
 * empty), the rest given to the class whose shards are currently largest,
 * which keeps shard sizes, and so client sizes, close. */
static int plan_slots(shard_plan *p, size_t total, fedc_error *err) {
    uint32_t *heap = malloc((size_t)p->C * sizeof *heap);
    if (!heap)
        return fedc_fail(err, "partition shards: out of memory");
    size_t h = 0, given = 0;
    for (int c = 0; c < p->C; c++) {
        size_t nc = p->start[c + 1] - p->start[c];
        p->slots[c] = nc > 0;
        given += p->slots[c];
        size_t cap = nc < (size_t)p->K ? nc : (size_t)p->K;
        if (nc > 0 && cap > 1)
            heap[h++] = (uint32_t)c;
    }
    for (size_t i = h / 2; i-- > 0;)
        heap_down(p, heap, h, i);
    for (; given < total; given++) {
        uint32_t c = heap[0]; /* h > 0: plan feasibility was checked */
        p->slots[c]++;
        size_t nc = p->start[c + 1] - p->start[c];
        size_t cap = nc < (size_t)p->K ? nc : (size_t)p->K;
        if (p->slots[c] >= cap)
            heap[0] = heap[--h];
        heap_down(p, heap, h, 0);
    }
    free(heap);
    return 0;
}

static int group_has(const uint32_t *L, size_t g, int k, uint32_t cls) {
    for (int t = 0; t < k; t++)
        if (L[g * (size_t)k + (size_t)t] == cls)
            return 1;
    return 0;
}

/* Random layout: shuffle the shard list and cut it into groups of k, then
 * swap away repeated classes. Returns 0, or -1 if some repeat could not be
 * fixed within the try budget. */
static int random_layout(const shard_plan *p, uint32_t *L, uint32_t *mark, fedc_rng *rng) {
    const size_t total = (size_t)p->K * (size_t)p->k;
    size_t pos = 0;
    for (int c = 0; c < p->C; c++)
        for (uint32_t s = 0; s < p->slots[c]; s++)
            L[pos++] = (uint32_t)c;
    fedc_rng_shuffle_u32(rng, L, total);
    for (int c = 0; c < p->C; c++)
        mark[c] = UINT32_MAX;
    for (size_t g = 0; g < (size_t)p->K; g++) {
        for (int t = 0; t < p->k; t++) {
            size_t a = g * (size_t)p->k + (size_t)t;
            if (mark[L[a]] == g) {
                int fixed = 0;
                for (int tries = 0; tries < SHARD_FIX_TRIES && !fixed; tries++) {
                    size_t b = fedc_rng_below(rng, (uint32_t)total);
                    size_t h = b / (size_t)p->k;
                    if (h == g || group_has(L, g, p->k, L[b]) || group_has(L, h, p->k, L[a]))
                        continue;
                    uint32_t tmp = L[a];
                    L[a] = L[b];
                    L[b] = tmp;
                    fixed = 1;
                }
                if (!fixed)
                    return -1;
            }
            mark[L[a]] = (uint32_t)g;
        }
    }
    return 0;
}

/* Deterministic layout that always works: classes (in random order) laid
 * out in runs of s_c <= K shards; client j takes positions j, j+K, ...,
 * which are K apart and so never two in the same run. Returns the list in
 * client-major order like random_layout; order is C entries of scratch. */
static void round_robin_layout(const shard_plan *p, uint32_t *L, uint32_t *order, fedc_rng *rng) {
    for (int c = 0; c < p->C; c++)
        order[c] = (uint32_t)c;
    fedc_rng_shuffle_u32(rng, order, (size_t)p->C);
    size_t q = 0;
    for (int i = 0; i < p->C; i++)
        for (uint32_t s = 0; s < p->slots[order[i]]; s++, q++)
            L[(q % (size_t)p->K) * (size_t)p->k + q / (size_t)p->K] = order[i];
}

int part_shards(part_job *j, fedc_error *err) {
    const int k = j->cfg->classes_per_client, K = j->K, C = j->d->n_classes;
    uint32_t *ids = NULL, *L = NULL, *mark = NULL, *used = NULL;
    size_t *start = NULL;
    shard_plan p = {C, k, K, NULL, NULL};
    int rc = -1;
    fedc_rng rng = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_SHUFFLE);
    if (part_by_class(j->d, &rng, &ids, &start, err) != 0)
        return -1;
    p.start = start;
    int present = 0;
    size_t room = 0; /* most shards the classes can be cut into */
    for (int c = 0; c < C; c++) {
        size_t nc = start[c + 1] - start[c];
        present += nc > 0;
        room += nc < (size_t)K ? nc : (size_t)K;
    }
    const size_t total = (size_t)K * (size_t)k;
    if (k > present) {
        fedc_fail(err,
                  "partition shards: classes_per_client %d exceeds the %d classes present in "
                  "the data",
                  k, present);
        goto done;
    }
    if (total < (size_t)present) {
        fedc_fail(err,
                  "partition shards: %d clients x %d classes = %zu class slots cannot cover "
                  "the %d classes present (every sample must go to a client); use "
                  "classes_per_client >= %d or more clients",
                  K, k, total, present, (present + K - 1) / K);
        goto done;
    }
    if (total > room) {
        fedc_fail(err,
                  "partition shards: %d clients x %d classes needs %zu non-empty shards, but "
                  "the classes' sizes allow only %zu (a class with m samples is shared by at "
                  "most m clients)",
                  K, k, total, room);
        goto done;
    }
    p.slots = calloc((size_t)C, sizeof *p.slots);
    L = malloc(total * sizeof *L);
    mark = malloc((size_t)C * sizeof *mark);
    used = calloc((size_t)C, sizeof *used);
    if (!p.slots || !L || !mark || !used) {
        fedc_fail(err, "partition shards: out of memory");
        goto done;
    }
    if (plan_slots(&p, total, err) != 0)
        goto done;
    fedc_rng layout = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_ASSIGN);
    if (random_layout(&p, L, mark, &layout) != 0)
        round_robin_layout(&p, L, mark, &layout);
    /* Shard t of class c is the t-th near-equal slice of its shuffled ids. */
    for (size_t q = 0; q < total; q++) {
        uint32_t c = L[q], t = used[c]++;
        size_t nc = start[c + 1] - start[c];
        size_t a = start[c] + nc * t / p.slots[c], b = start[c] + nc * (t + 1) / p.slots[c];
        for (size_t s = a; s < b; s++)
            j->owner[ids[s]] = (uint32_t)(q / (size_t)k);
    }
    rc = 0;
done:
    free(ids);
    free(start);
    free(p.slots);
    free(L);
    free(mark);
    free(used);
    return rc;
}
