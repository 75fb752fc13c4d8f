/* Ranking helpers shared by the policies: sorting keyed candidates with
 * random tie-breaks, and weighted sampling without replacement. */
#include <math.h>
#include <stdlib.h>

#include "fl/sched/sched_internal.h"

static int cmp_key_desc(const void *a, const void *b) {
    const sched_key *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    if (x->tie != y->tie) return x->tie < y->tie ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

void sched_sort_keys(sched_key *keys, int n) {
    if (n > 1) qsort(keys, (size_t)n, sizeof *keys, cmp_key_desc);
}

int sched_weighted_sample(const int *ids, const double *w, int n, int k, fedc_rng *rng, int *out,
                          sched_key *scratch) {
    for (int i = 0; i < n; i++) {
        double u = 1.0 - fedc_rng_uniform(rng); /* (0, 1] */
        scratch[i].key = (w[i] > 0 && isfinite(w[i])) ? log(u) / w[i] : -INFINITY;
        scratch[i].tie = fedc_rng_u64(rng);
        scratch[i].id = ids[i];
    }
    sched_sort_keys(scratch, n);
    if (k > n) k = n;
    for (int i = 0; i < k; i++) out[i] = scratch[i].id;
    return k;
}
