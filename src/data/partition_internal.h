/* Shared pieces of the partitioners (private to src/data). Each
 * partitioner writes owner[i] = client of sample i; partition_make turns
 * that into index lists. */
#ifndef FEDC_DATA_PARTITION_INTERNAL_H
#define FEDC_DATA_PARTITION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/data.h"
#include "fedc/rng.h"

/* Stream ids for fedc_rng_derive(seed, PART_STREAM, purpose): the
 * partition never shares a stream with training. */
#define PART_STREAM 0x7061727469746e00ull /* "partitn" */
enum { PART_RNG_SHUFFLE = 1, PART_RNG_DRAW = 2, PART_RNG_ASSIGN = 3 };

typedef struct part_job {
    const fedc_dataset *d;
    const fedc_partition_config *cfg;
    size_t n;
    int K; /* clients */
    uint64_t seed;
    size_t min_samples; /* resolved (DIRICHLET, QUANTITY) */
    uint32_t *owner;    /* n entries, filled by the partitioner */
} part_job;

int part_iid(part_job *j, fedc_error *err);
int part_dirichlet(part_job *j, fedc_error *err);
int part_shards(part_job *j, fedc_error *err);
int part_quantity(part_job *j, fedc_error *err);
int part_natural(part_job *j, fedc_error *err);

/* Sample ids grouped by class: class c owns ids[start[c] .. start[c+1]);
 * each group is shuffled with rng. start has n_classes + 1 entries. */
int part_by_class(const fedc_dataset *d, fedc_rng *rng, uint32_t **ids, size_t **start,
                  fedc_error *err);

/* owner[perm[pos]] = client for consecutive blocks of the given sizes. */
void part_assign_blocks(const uint32_t *perm, const size_t *sizes, int K, uint32_t *owner);

/* 0, 1, ..., n-1 shuffled with the job's shuffle stream. */
uint32_t *part_shuffled_ids(const part_job *j, fedc_error *err);

#endif
