/* fedc_partition_make: validation, dispatch, and turning the per-sample
 * owner array into per-client index lists; also IID and shared helpers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/partition_internal.h"

static const char *const kind_names[] = {"iid", "dirichlet", "shards", "quantity", "natural"};
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

int fedc_part_kind_parse(const char *s, fedc_part_kind *out) {
    if (!s)
        return -1;
    for (int k = 0; k < NKINDS; k++) {
        if (!strcasecmp(s, kind_names[k])) {
            *out = (fedc_part_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *fedc_part_kind_name(fedc_part_kind k) {
    return (unsigned)k < (unsigned)NKINDS ? kind_names[k] : "unknown";
}

void fedc_partition_free(fedc_partition *p) {
    if (!p)
        return;
    free(p->offsets);
    free(p->index);
    memset(p, 0, sizeof *p);
}

int part_by_class(const fedc_dataset *d, fedc_rng *rng, uint32_t **ids_out, size_t **start_out,
                  fedc_error *err) {
    const size_t C = (size_t)d->n_classes;
    size_t *start = calloc(C + 1, sizeof *start);
    size_t *fill = malloc(C * sizeof *fill);
    uint32_t *ids = malloc(d->n * sizeof *ids);
    if (!start || !fill || !ids) {
        free(start);
        free(fill);
        free(ids);
        return fedc_fail(err, "partition: out of memory for %zu samples", d->n);
    }
    for (size_t i = 0; i < d->n; i++)
        start[d->y[i] + 1]++;
    for (size_t c = 0; c < C; c++)
        start[c + 1] += start[c];
    memcpy(fill, start, C * sizeof *fill);
    for (size_t i = 0; i < d->n; i++)
        ids[fill[d->y[i]]++] = (uint32_t)i;
    free(fill);
    for (size_t c = 0; c < C; c++)
        fedc_rng_shuffle_u32(rng, ids + start[c], start[c + 1] - start[c]);
    *ids_out = ids;
    *start_out = start;
    return 0;
}

void part_assign_blocks(const uint32_t *perm, const size_t *sizes, int K, uint32_t *owner) {
    size_t pos = 0;
    for (int k = 0; k < K; k++)
        for (size_t t = 0; t < sizes[k]; t++)
            owner[perm[pos++]] = (uint32_t)k;
}

uint32_t *part_shuffled_ids(const part_job *j, fedc_error *err) {
    uint32_t *perm = malloc(j->n * sizeof *perm);
    if (!perm) {
        fedc_fail(err, "partition: out of memory for %zu samples", j->n);
        return NULL;
    }
    for (size_t i = 0; i < j->n; i++)
        perm[i] = (uint32_t)i;
    fedc_rng rng = fedc_rng_derive(j->seed, PART_STREAM, PART_RNG_SHUFFLE);
    fedc_rng_shuffle_u32(&rng, perm, j->n);
    return perm;
}

int part_iid(part_job *j, fedc_error *err) {
    uint32_t *perm = part_shuffled_ids(j, err);
    size_t *sizes = malloc((size_t)j->K * sizeof *sizes);
    if (!perm || !sizes) {
        free(perm);
        free(sizes);
        return perm ? fedc_fail(err, "partition: out of memory for %d clients", j->K) : -1;
    }
    const size_t base = j->n / (size_t)j->K, extra = j->n % (size_t)j->K;
    for (int k = 0; k < j->K; k++)
        sizes[k] = base + ((size_t)k < extra);
    part_assign_blocks(perm, sizes, j->K, j->owner);
    free(perm);
    free(sizes);
    return 0;
}

/* Counting sort by owner: each client's ids come out ascending. */
static int build_lists(const uint32_t *owner, size_t n, int K, fedc_partition *out,
                       fedc_error *err) {
    out->n_clients = K;
    out->offsets = calloc((size_t)K + 1, sizeof *out->offsets);
    out->index = malloc(n * sizeof *out->index);
    size_t *fill = malloc((size_t)K * sizeof *fill);
    if (!out->offsets || !out->index || !fill) {
        free(fill);
        fedc_partition_free(out);
        return fedc_fail(err, "partition: out of memory for %zu samples and %d clients", n, K);
    }
    for (size_t i = 0; i < n; i++)
        out->offsets[owner[i] + 1]++;
    for (int k = 0; k < K; k++)
        out->offsets[k + 1] += out->offsets[k];
    memcpy(fill, out->offsets, (size_t)K * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        out->index[fill[owner[i]]++] = (uint32_t)i;
    free(fill);
    return 0;
}

static int check_config(const part_job *j, fedc_error *err) {
    const fedc_partition_config *c = j->cfg;
    switch (c->kind) {
    case FEDC_PART_IID: return 0;
    case FEDC_PART_DIRICHLET:
        if (!(c->alpha > 0) || !(c->alpha <= 1e6))
            return fedc_fail(err, "partition dirichlet: alpha %g is out of range (0, 1e6]",
                             c->alpha);
        break;
    case FEDC_PART_SHARDS:
        if (c->classes_per_client < 1)
            return fedc_fail(err, "partition shards: classes_per_client %d must be at least 1",
                             c->classes_per_client);
        return 0;
    case FEDC_PART_QUANTITY:
        if (!(c->sigma >= 0) || !(c->sigma <= 10))
            return fedc_fail(err, "partition quantity: sigma %g is out of range [0, 10]", c->sigma);
        break;
    case FEDC_PART_NATURAL:
        if (!j->d->group || j->d->n_groups == 0)
            return fedc_fail(err, "partition natural: this dataset has no natural groups; only "
                                  "femnist has them (its writers); allowed here: iid, dirichlet, "
                                  "shards, quantity");
        if ((uint32_t)j->K > j->d->n_groups)
            return fedc_fail(err,
                             "partition natural: %d clients but the data has %u writers; every "
                             "client needs at least one, so clients may be at most %u",
                             j->K, j->d->n_groups, j->d->n_groups);
        return 0;
    default:
        return fedc_fail(err,
                         "partition: unknown kind %d (allowed: iid, dirichlet, shards, "
                         "quantity, natural)",
                         (int)c->kind);
    }
    if (c->min_samples < 0 || (uint64_t)c->min_samples * (uint64_t)j->K > j->n)
        return fedc_fail(err,
                         "partition %s: min_samples %d is out of range: %d clients x %d "
                         "samples must fit in the %zu samples",
                         fedc_part_kind_name(c->kind), c->min_samples, j->K, c->min_samples, j->n);
    return 0;
}

int fedc_partition_make(const fedc_dataset *d, const fedc_partition_config *cfg, int n_clients,
                        uint64_t seed, fedc_partition *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    if (!d || !cfg || !d->y || d->n == 0)
        return fedc_fail(err, "partition: empty dataset");
    if (d->n > UINT32_MAX)
        return fedc_fail(err, "partition: %zu samples, at most %u can be indexed", d->n,
                         (unsigned)UINT32_MAX);
    if (d->n_classes < 1 || d->n_classes > FEDC_DATA_MAX_CLASSES)
        return fedc_fail(err, "partition: dataset has %d classes, allowed 1..%d", d->n_classes,
                         FEDC_DATA_MAX_CLASSES);
    if (n_clients < 1 || n_clients > FEDC_PART_MAX_CLIENTS || (size_t)n_clients > d->n)
        return fedc_fail(err,
                         "partition: %d clients is out of range 1..%zu (at most one client "
                         "per sample, and at most %d)",
                         n_clients, d->n < FEDC_PART_MAX_CLIENTS ? d->n : FEDC_PART_MAX_CLIENTS,
                         FEDC_PART_MAX_CLIENTS);
    for (size_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            return fedc_fail(err, "partition: sample %zu has label %d, outside 0..%d", i, d->y[i],
                             d->n_classes - 1);
    part_job j = {d, cfg, d->n, n_clients, seed, 0, NULL};
    if (check_config(&j, err) != 0)
        return -1;
    if (cfg->min_samples > 0) {
        j.min_samples = (size_t)cfg->min_samples;
    } else {
        size_t half = d->n / (2 * (size_t)n_clients);
        j.min_samples = half < 1 ? 1 : half > 10 ? 10 : half;
    }
    j.owner = malloc(d->n * sizeof *j.owner);
    if (!j.owner)
        return fedc_fail(err, "partition: out of memory for %zu samples", d->n);
    int rc;
    switch (cfg->kind) {
    case FEDC_PART_DIRICHLET: rc = part_dirichlet(&j, err); break;
    case FEDC_PART_SHARDS: rc = part_shards(&j, err); break;
    case FEDC_PART_QUANTITY: rc = part_quantity(&j, err); break;
    case FEDC_PART_NATURAL: rc = part_natural(&j, err); break;
    default: rc = part_iid(&j, err); break;
    }
    if (rc == 0)
        rc = build_lists(j.owner, d->n, n_clients, out, err);
    free(j.owner);
    return rc;
}
