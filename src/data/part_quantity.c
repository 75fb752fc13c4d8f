/* Quantity skew: client sizes proportional to log-normal weights
 * exp(sigma * z), z ~ N(0,1), on top of a floor of min_samples each;
 * samples are drawn IID, so only the amounts differ. */
#include <math.h>
#include <stdlib.h>

#include "data/partition_internal.h"

typedef struct frac_entry {
    double frac;
    int client;
} frac_entry;

/* Largest fractional part first; ties by client id keep it deterministic. */
static int by_frac_desc(const void *a, const void *b) {
    const frac_entry *x = a, *y = b;
    if (x->frac != y->frac)
        return x->frac < y->frac ? 1 : -1;
    return (x->client > y->client) - (x->client < y->client);
}

int part_quantity(part_job *j, fedc_error *err) {
    const int K = j->K;
    double *z = malloc((size_t)K * sizeof *z);
    size_t *sizes = malloc((size_t)K * sizeof *sizes);
    frac_entry *fr = malloc((size_t)K * sizeof *fr);
    uint32_t *perm = NULL;
    int rc = -1;
    if (!z || !sizes || !fr) {
        fedc_fail(err, "partition quantity: out of memory for %d clients", K);
        goto done;
    }
    fedc_rng rng = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_DRAW);
    double zmax = -INFINITY;
    for (int k = 0; k < K; k++) {
        z[k] = j->cfg->sigma * fedc_rng_normal(&rng);
        if (z[k] > zmax)
            zmax = z[k];
    }
    /* Weights relative to the largest stay in (0, 1]: no overflow. */
    double wsum = 0;
    for (int k = 0; k < K; k++)
        wsum += (z[k] = exp(z[k] - zmax));
    const size_t spare = j->n - (size_t)K * j->min_samples;
    size_t given = 0;
    for (int k = 0; k < K; k++) {
        double share = (double)spare * z[k] / wsum;
        double whole = floor(share);
        if (whole > (double)(spare - given))
            whole = (double)(spare - given);
        sizes[k] = j->min_samples + (size_t)whole;
        given += (size_t)whole;
        fr[k].frac = share - whole;
        fr[k].client = k;
    }
    /* Largest-remainder rounding hands out what floor() left over (< K). */
    qsort(fr, (size_t)K, sizeof *fr, by_frac_desc);
    for (size_t r = 0; given < spare; r = (r + 1) % (size_t)K, given++)
        sizes[fr[r].client]++;
    perm = part_shuffled_ids(j, err);
    if (!perm)
        goto done;
    part_assign_blocks(perm, sizes, K, j->owner);
    rc = 0;
done:
    free(z);
    free(sizes);
    free(fr);
    free(perm);
    return rc;
}
