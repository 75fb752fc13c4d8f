/* Natural partition: whole groups (FEMNIST's writers) per client, never a
 * part of one, so each client holds one or more people's handwriting as in
 * LEAF. The groups are shuffled with the seed and dealt as contiguous runs:
 * client k gets groups [k*G/K, (k+1)*G/K) of the shuffled order. */
#include <stdlib.h>

#include "data/partition_internal.h"

int part_natural(part_job *j, fedc_error *err) {
    const fedc_dataset *d = j->d;
    const uint32_t G = d->n_groups;
    uint32_t *order = malloc((size_t)G * sizeof *order);
    uint32_t *client_of = malloc((size_t)G * sizeof *client_of);
    if (!order || !client_of) {
        free(order);
        free(client_of);
        return fedc_fail(err, "partition natural: out of memory for %u groups", G);
    }
    for (uint32_t g = 0; g < G; g++)
        order[g] = g;
    fedc_rng rng = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_ASSIGN);
    fedc_rng_shuffle_u32(&rng, order, G);
    for (int k = 0; k < j->K; k++) {
        uint64_t lo = (uint64_t)k * G / (uint64_t)j->K, hi = (uint64_t)(k + 1) * G / (uint64_t)j->K;
        for (uint64_t t = lo; t < hi; t++)
            client_of[order[t]] = (uint32_t)k;
    }
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->group[i] >= G) {
            rc = fedc_fail(err, "partition natural: sample %zu is in group %u, outside 0..%u", i,
                           d->group[i], G - 1);
            break;
        }
        j->owner[i] = client_of[d->group[i]];
    }
    free(order);
    free(client_of);
    return rc;
}
