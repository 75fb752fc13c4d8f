/* Local test splits: each client's samples cut into the part it trains on
 * and the part its own model is scored on. The cut is a uniform random
 * subset of the client's own samples, so the test split follows the same
 * label (and feature) distribution as the training split: what the client
 * would see when it uses its model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"
#include "fedc/rng.h"

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t fedc_holdout_count(size_t n, double fraction) {
    if (n < 2 || !(fraction > 0)) return 0;
    size_t k = (size_t)floor(fraction * (double)n + 0.5);
    if (k < 1) k = 1;
    if (k > n - 1) k = n - 1; /* the client keeps at least one sample to train on */
    return k;
}

int fedc_partition_hold_out(fedc_partition *part, double fraction, uint64_t seed, fedc_partition *test,
                            fedc_error *err) {
    memset(test, 0, sizeof *test);
    if (!(fraction >= 0 && fraction < 1))
        return fedc_fail(err, "partition.test_fraction: %g is out of range [0, 1)", fraction);
    const int K = part->n_clients;
    size_t total = part->offsets[K], n_test = 0;
    for (int k = 0; k < K; k++) n_test += fedc_holdout_count(fedc_partition_size(part, k), fraction);
    test->n_clients = K;
    test->offsets = calloc((size_t)K + 1, sizeof *test->offsets);
    test->index = malloc((n_test ? n_test : 1) * sizeof *test->index);
    uint32_t *kept = malloc((total ? total : 1) * sizeof *kept);
    size_t *train_off = malloc(((size_t)K + 1) * sizeof *train_off);
    if (!test->offsets || !test->index || !kept || !train_off) {
        free(kept);
        free(train_off);
        fedc_partition_free(test);
        return fedc_fail(err, "partition: out of memory for local test splits of %zu samples", total);
    }
    size_t tw = 0, kw = 0;
    for (int k = 0; k < K; k++) {
        size_t n = fedc_partition_size(part, k), h = fedc_holdout_count(n, fraction);
        uint32_t *ids = part->index + part->offsets[k];
        /* The client's own stream: its split does not depend on the others. */
        fedc_rng rng = fedc_rng_derive(seed ^ 0x401D0E7ull, 0x7E57ull, (uint64_t)k);
        fedc_rng_shuffle_u32(&rng, ids, n);
        qsort(ids, h, sizeof *ids, cmp_u32);
        qsort(ids + h, n - h, sizeof *ids, cmp_u32);
        memcpy(test->index + tw, ids, h * sizeof *ids);
        tw += h;
        test->offsets[k + 1] = tw;
        train_off[k] = kw;
        memcpy(kept + kw, ids + h, (n - h) * sizeof *ids);
        kw += n - h;
    }
    train_off[K] = kw;
    memcpy(part->index, kept, kw * sizeof *kept);
    memcpy(part->offsets, train_off, ((size_t)K + 1) * sizeof *train_off);
    free(kept);
    free(train_off);
    return 0;
}
