/* The node's local data: parsing --data specs and loading them for a task.
 * A catalog dataset's partition is cut exactly as the simulation cuts
 * client K (same data, partitioner, parameters and seed), then compacted so
 * the node keeps only its own samples. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/node.h"

static int parse_kv(char *tok, fedc_node_data *d, fedc_error *err) {
    char *eq = strchr(tok, '=');
    if (!eq) return fedc_fail(err, "--data: \"%s\" is not KEY=VALUE", tok);
    *eq = 0;
    const char *k = tok, *v = eq + 1;
    char *end;
    if (!strcmp(k, "partition")) {
        long a = strtol(v, &end, 10), b;
        if (end == v || *end != '/' || (b = strtol(end + 1, &end, 10), *end) || a < 0 || b < 1 || a >= b ||
            b > FEDC_PART_MAX_CLIENTS)
            return fedc_fail(err, "--data: partition=%s is not K/N with 0 <= K < N (K is 0-based)", v);
        d->part_k = (int)a;
        d->part_n = (int)b;
    } else if (!strcmp(k, "alpha")) {
        d->alpha = strtod(v, &end);
        if (end == v || *end || !(d->alpha > 0) || d->alpha > 1e6)
            return fedc_fail(err, "--data: alpha=%s is not a number in (0, 1e6]", v);
        d->has_alpha = 1;
    } else if (!strcmp(k, "kind")) {
        fedc_part_kind pk;
        if (fedc_part_kind_parse(v, &pk) != 0)
            return fedc_fail(err, "--data: kind=%s is not known; allowed: iid, dirichlet, shards, quantity, natural",
                             v);
        snprintf(d->part_kind, sizeof d->part_kind, "%s", v);
    } else if (!strcmp(k, "seed")) {
        unsigned long long s = strtoull(v, &end, 10);
        if (end == v || *end) return fedc_fail(err, "--data: seed=%s is not a non-negative integer", v);
        d->seed = s;
        d->has_seed = 1;
    } else if (!strcmp(k, "path")) {
        snprintf(d->path, sizeof d->path, "%s", v);
    } else if (!strcmp(k, "label")) {
        snprintf(d->label, sizeof d->label, "%s", v);
    } else {
        return fedc_fail(err, "--data: unknown option \"%s\"; allowed: partition, alpha, kind, seed, path (catalog "
                              "datasets), label (csv)",
                         k);
    }
    return 0;
}

int fedc_node_data_parse(const char *spec, fedc_node_data *d, fedc_error *err) {
    memset(d, 0, sizeof *d);
    if (!spec || !*spec) return fedc_fail(err, "--data is required (e.g. --data fashion-mnist:partition=0/10)");
    if (strlen(spec) >= sizeof d->spec) return fedc_fail(err, "--data: spec longer than %zu characters", sizeof d->spec - 1);
    snprintf(d->spec, sizeof d->spec, "%s", spec);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *colon = strchr(buf, ':');
    const char *kind = buf, *rest = colon ? colon + 1 : "";
    if (colon) *colon = 0;
    if (!strcmp(kind, "none")) {
        d->kind = FEDC_NODE_DATA_NONE;
        return 0;
    }
    const fedc_catalog_entry *e = fedc_catalog_builtin(kind);
    if (e) {
        d->kind = FEDC_NODE_DATA_CATALOG;
        snprintf(d->dataset, sizeof d->dataset, "%s", e->name);
        char *save = NULL;
        for (char *tok = strtok_r((char *)rest, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (parse_kv(tok, d, err) != 0) return -1;
        if (d->part_n == 0) return fedc_fail(err, "--data %s: partition=K/N is required for %s", spec, e->name);
        return 0;
    }
    if (!strcmp(kind, "idx")) {
        d->kind = FEDC_NODE_DATA_IDX;
        const char *comma = strchr(rest, ',');
        if (!*rest) return fedc_fail(err, "--data idx: needs a folder or IMAGES,LABELS");
        if (comma) {
            snprintf(d->path, sizeof d->path, "%.*s", (int)(comma - rest), rest);
            snprintf(d->path2, sizeof d->path2, "%s", comma + 1);
        } else {
            snprintf(d->path, sizeof d->path, "%s", rest);
        }
        return 0;
    }
    if (!strcmp(kind, "csv")) {
        d->kind = FEDC_NODE_DATA_CSV;
        char *comma = strchr((char *)rest, ',');
        if (comma) {
            *comma = 0;
            if (parse_kv(comma + 1, d, err) != 0) return -1;
        }
        if (!*rest) return fedc_fail(err, "--data csv: needs a file path");
        snprintf(d->path, sizeof d->path, "%s", rest);
        return 0;
    }
    return fedc_fail(err, "--data: kind \"%s\" is not known; allowed: NAME:partition=K/N[,...] with NAME a catalog "
                          "dataset (%s), idx:DIR, csv:PATH[,label=COL], none",
                     kind, fedc_catalog_names());
}

void fedc_node_data_free(fedc_node_data *d) {
    fedc_dataset_free(&d->ds);
    free(d->index);
    d->index = NULL;
    d->n = 0;
    free(d->split_index);
    d->split_index = NULL;
    d->split_n = 0;
    fedc_dataset_free(&d->test);
    free(d->test_index);
    d->test_index = NULL;
    d->n_test = 0;
    d->loaded_key[0] = 0;
}

static int set_identity_index(fedc_node_data *d, fedc_error *err) {
    free(d->index);
    d->n = d->ds.n;
    d->index = malloc((d->n ? d->n : 1) * sizeof(uint32_t));
    if (!d->index) return fedc_fail(err, "out of memory indexing %zu local samples", d->n);
    for (size_t i = 0; i < d->n; i++) d->index[i] = (uint32_t)i;
    return 0;
}

/* Client K of the task-style partition of the train (or test) split of a
 * catalog dataset, compacted into *own_out. */
static int load_catalog_split(fedc_node_data *d, const fedc_task *t, int train, fedc_dataset *own_out,
                              fedc_error *err) {
    if (fedc_catalog_builtin(t->dataset.name) != fedc_catalog_builtin(d->dataset))
        return fedc_fail(err, "--data %s: this node holds %s but the task trains on %s", d->spec, d->dataset,
                         t->dataset.name);
    if (!strcmp(t->dataset.name, "synthetic")) {
        /* Generated for client K alone, exactly as the simulator generates it. */
        if (d->part_n != t->clients)
            return fedc_fail(err, "--data %s: synthetic data is generated per client of the task: N must be the "
                                  "task's clients (%d)",
                             d->spec, t->clients);
        fedc_dataset_spec spec;
        fedc_task_dataset_spec(t, &spec);
        if (d->has_seed) spec.synthetic.seed = d->seed;
        fedc_dataset own;
        if (fedc_synthetic_client(&spec.synthetic, d->part_k, train, &own, err) != 0) return -1;
        fedc_dataset_free(own_out);
        *own_out = own;
        if (train) d->split_n = 0;
        return 0;
    }
    /* The task's data settings (labels, extra, fetch policy), with the
     * node's own folder when path= gave one. */
    fedc_task local = *t;
    snprintf(local.dataset.path, sizeof local.dataset.path, "%s", d->path);
    fedc_dataset full = {0};
    if (fedc_task_dataset_load(&local, train, NULL, &full, err) != 0) return -1;
    fedc_partition_config pc = {0};
    const char *kind = d->part_kind[0] ? d->part_kind : d->has_alpha ? "dirichlet" : t->partition.kind;
    fedc_part_kind_parse(kind, &pc.kind);
    pc.alpha = d->has_alpha ? d->alpha : t->partition.alpha;
    pc.classes_per_client = t->partition.classes_per_client;
    pc.sigma = t->partition.sigma;
    uint64_t seed = d->has_seed ? d->seed : t->seed;
    if (!train) seed = fedc_eval_partition_seed(seed); /* as the simulator cuts the clients' test data */
    fedc_partition part = {0};
    if (fedc_partition_make(&full, &pc, d->part_n, seed, &part, err) != 0) {
        fedc_fail_prefix(err, "--data %s: ", d->spec);
        fedc_dataset_free(&full);
        return -1;
    }
    /* Training data: the local test split, cut as the simulator cuts it (all
     * clients' splits from the task seed), kept after the training samples. */
    fedc_partition split = {0};
    if (train && t->partition.test_fraction > 0 &&
        fedc_partition_hold_out(&part, t->partition.test_fraction, t->seed, &split, err) != 0) {
        fedc_partition_free(&part);
        fedc_dataset_free(&full);
        return -1;
    }
    size_t n_train = fedc_partition_size(&part, d->part_k);
    size_t n_split = split.n_clients ? fedc_partition_size(&split, d->part_k) : 0, n = n_train + n_split;
    fedc_dataset own = {0};
    uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    int rc = 0;
    if (ids) {
        /* Same sample order as the simulation's index list, so local
         * shuffles pick the same samples; kept in the data set's own
         * feature form (the catalog's pixel bytes). */
        memcpy(ids, fedc_partition_client(&part, d->part_k), n_train * sizeof *ids);
        if (n_split) memcpy(ids + n_train, fedc_partition_client(&split, d->part_k), n_split * sizeof *ids);
    }
    if (!ids) {
        rc = fedc_fail(err, "out of memory for %zu local samples", n);
    } else if (fedc_dataset_select(&full, ids, n, &own, err) != 0) {
        rc = fedc_fail_prefix(err, "--data %s: ", d->spec);
    } else {
        fedc_dataset_free(own_out);
        *own_out = own;
        if (train) d->split_n = n_split;
    }
    free(ids);
    fedc_partition_free(&part);
    fedc_partition_free(&split);
    fedc_dataset_free(&full);
    return rc;
}

int fedc_node_data_prepare_test(fedc_node_data *d, const fedc_task *t, fedc_error *err) {
    if (d->test_index) return 0;
    if (d->kind != FEDC_NODE_DATA_CATALOG)
        return fedc_fail(err, "no local test data: --data %s has no test split (a partition K/N of a catalog "
                              "dataset has)", d->spec);
    if (load_catalog_split(d, t, 0, &d->test, err) != 0) return -1;
    d->n_test = d->test.n;
    d->test_index = malloc((d->n_test ? d->n_test : 1) * sizeof(uint32_t));
    if (!d->test_index) return fedc_fail(err, "out of memory indexing the local test data");
    for (size_t i = 0; i < d->n_test; i++) d->test_index[i] = (uint32_t)i;
    FEDC_INFO("local test data: %zu samples (share %d of %d of the test set)", d->n_test, d->part_k, d->part_n);
    return 0;
}

int fedc_node_data_prepare(fedc_node_data *d, const fedc_task *t, fedc_error *err) {
    char key[sizeof d->loaded_key];
    uint64_t seed = d->has_seed ? d->seed : t->seed;
    if (d->kind == FEDC_NODE_DATA_CATALOG)
        snprintf(key, sizeof key, "%s|%s|%s|%d|%s|%.17g|%d|%.17g|%" PRIu64, d->spec, t->dataset.name,
                 t->dataset.labels, t->dataset.extra, t->partition.kind, t->partition.alpha,
                 t->partition.classes_per_client, t->partition.sigma, seed);
    else
        snprintf(key, sizeof key, "%s", d->spec);
    /* The local test split changes what is trained on. */
    char *kend = key + strlen(key);
    snprintf(kend, sizeof key - (size_t)(kend - key), "|test %.17g", t->partition.test_fraction);
    if (d->loaded_key[0] && !strcmp(key, d->loaded_key)) return 0;
    fedc_node_data_free(d);
    int rc = 0;
    switch (d->kind) {
    case FEDC_NODE_DATA_NONE:
        return 0;
    case FEDC_NODE_DATA_CATALOG:
        rc = load_catalog_split(d, t, 1, &d->ds, err);
        break;
    case FEDC_NODE_DATA_IDX:
        if (d->path2[0]) {
            rc = fedc_load_idx(d->path, d->path2, &d->ds, err);
        } else {
            rc = fedc_dataset_open("mnist", d->path, NULL, NULL, 1, &d->ds, err);
        }
        break;
    case FEDC_NODE_DATA_CSV:
        rc = fedc_load_csv(d->path, d->label[0] ? d->label : NULL, &d->ds, err);
        break;
    }
    if (rc != 0) return -1;
    size_t held = d->split_n; /* catalog: the split is the tail of ds */
    if (set_identity_index(d, err) != 0) return -1;
    if (d->kind != FEDC_NODE_DATA_CATALOG && t->partition.test_fraction > 0) {
        /* The node's own data: its split cut as for a client 0. */
        size_t off[2] = {0, d->n};
        fedc_partition own = {1, off, d->index}, split = {0};
        if (fedc_partition_hold_out(&own, t->partition.test_fraction, seed, &split, err) != 0) return -1;
        d->n = fedc_partition_size(&own, 0);
        d->split_n = fedc_partition_size(&split, 0);
        d->split_index = split.index;
        free(split.offsets);
    } else if (held) {
        d->n -= held;
        d->split_n = held;
        if (!(d->split_index = malloc(held * sizeof *d->split_index)))
            return fedc_fail(err, "out of memory indexing %zu local test samples", held);
        for (size_t i = 0; i < held; i++) d->split_index[i] = (uint32_t)(d->n + i);
    }
    snprintf(d->loaded_key, sizeof d->loaded_key, "%s", key);
    FEDC_INFO("local data: %zu samples from %s", d->n, d->spec);
    return 0;
}
