/* Dataset and partition rules. Datasets are named by any data catalog name
 * or alias ("fashion-mnist", "fmnist", "CIFAR-10", "emnist digits",
 * "femnist", "svhn"); partitions in words ("IID", "each client
 * sees 2 classes", "pathological non-IID", "quantity skew") or numbers
 * ("dirichlet 0.1", "alpha=0.3", "sigma 1.5"). Qualitative skew ("strongly
 * non-IID") is kept as a level and made concrete in resolve.c, where it is
 * checked against any explicit alpha. */
#include <string.h>

#include "fedc/catalog.h"
#include "intent/intent_internal.h"

static const char *dataset_of(concept_id k) {
    switch (k) {
    case C_DS_FMNIST: return "fashion-mnist";
    case C_DS_MNIST: return "mnist";
    case C_DS_CIFAR10: return "cifar10";
    case C_DS_CSV: return "csv";
    case C_DS_EMNIST_BYCLASS: return "emnist-byclass";
    case C_DS_EMNIST_BALANCED: return "emnist-balanced";
    case C_DS_EMNIST_DIGITS: return "emnist-digits";
    case C_DS_FEMNIST: return "femnist";
    case C_DS_CIFAR100: return "cifar100";
    case C_DS_SVHN: return "svhn";
    default: return NULL;
    }
}

/* Level of a non-IID phrase from the modifier before it: 3 strong, 1 mild,
 * 2 plain or moderate. */
static int skew_level(intent_ctx *c, int i, int *mod) {
    *mod = -1;
    int p = intent_prev(c, i);
    if (p >= 0 && p >= i - 2) {
        if (intent_is(c, p, C_STRONG)) {
            *mod = p;
            return 3;
        }
        if (intent_is(c, p, C_MILD)) {
            *mod = p;
            return 1;
        }
        if (intent_is(c, p, C_MODERATE)) {
            *mod = p;
            return 2;
        }
    }
    return 2;
}

static int noniid(intent_ctx *c, int i) {
    int mod;
    int level = skew_level(c, i, &mod);
    /* "heterogeneous devices" is about hardware, not data */
    if (c->it[i].arg == 1) {
        int nx = intent_next(c, i);
        if (nx >= 0 && intent_is(c, nx, C_CLIENT)) {
            return intent_set_str(c, "scheduling.profile", "lognormal", RANK_WORDS, i, nx,
                                  "heterogeneous devices: compute and link speeds drawn per client");
        }
    }
    int start = intent_span_start(c, mod >= 0 ? mod : i), end = intent_span_end(c, i);
    intent_use(c, i);
    intent_use(c, mod);
    if (c->noniid_level && level != 2 && c->noniid_level != 2 && level != c->noniid_level) {
        char a[96], b[96];
        intent_evidence(c, c->noniid_start, c->noniid_end, a, sizeof a);
        intent_evidence(c, start, end, b, sizeof b);
        return intent_ask(c, "partition: \"%s\" and \"%s\" describe different amounts of skew. Which one did you mean?",
                          a, b);
    }
    if (!c->noniid_level || c->noniid_level == 2) {
        c->noniid_level = level;
        c->noniid_start = start;
        c->noniid_end = end;
    }
    return 0;
}

int intent_rules_data(intent_ctx *c) {
    for (int i = 0; i < c->nit && !c->failed; i++) {
        intent_item *it = &c->it[i];
        if (it->used || it->kind != IT_CONCEPT) {
            /* "N classes", "N shards" are counted below from the unit */
            continue;
        }
        const char *ds = dataset_of(it->concept);
        if (ds) {
            intent_set_str(c, "dataset.name", ds, RANK_WORDS, i, i, NULL);
            /* FEMNIST is EMNIST split by writer: that split comes with it */
            if (it->concept == C_DS_FEMNIST)
                intent_set_str(c, "partition.kind", "natural", RANK_IMPLIED, i, i,
                               "FEMNIST's natural split: whole writers per client, as in LEAF");
            continue;
        }
        int n;
        switch (it->concept) {
        case C_DS_UNSUPPORTED: {
            char ev[96];
            intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
            return intent_ask(c,
                              "dataset.name: fedc cannot load \"%s\"; its data catalog has %s, or use a CSV "
                              "file of your own. Which one should it be?",
                              ev, fedc_catalog_names());
        }
        case C_COARSE_LABELS: intent_set_str(c, "dataset.labels", "coarse", RANK_WORDS, i, i, NULL); break;
        case C_FINE_LABELS: intent_set_str(c, "dataset.labels", "fine", RANK_WORDS, i, i, NULL); break;
        case C_EXTRA_SPLIT: intent_set_bool(c, "dataset.extra", 1, RANK_WORDS, i, i, NULL); break;
        case C_NO_FETCH:
            intent_set_str(c, "dataset.fetch", "never", RANK_WORDS, i, i,
                           "nothing is downloaded: a missing dataset stops the run with what to fetch");
            break;
        case C_IID: intent_set_str(c, "partition.kind", "iid", RANK_WORDS, i, i, NULL); break;
        case C_NONIID: noniid(c, i); break;
        case C_PATHOLOGICAL: {
            int nx = intent_next(c, i);
            if (nx >= 0 && intent_is(c, nx, C_NONIID)) intent_use(c, nx);
            intent_set_str(c, "partition.kind", "shards", RANK_WORDS, i, nx >= 0 && c->it[nx].used ? nx : i,
                           "the pathological non-IID split of McMahan et al.: each client holds "
                           "classes_per_client classes");
            break;
        }
        case C_QUANTITY: intent_set_str(c, "partition.kind", "quantity", RANK_WORDS, i, i, NULL); break;
        case C_DIRICHLET:
            intent_set_str(c, "partition.kind", "dirichlet", RANK_WORDS, i, i, NULL);
            if ((n = intent_num_after(c, i, 2)) >= 0) intent_set_real(c, "partition.alpha", c->it[n].num, RANK_WORDS, i, n, NULL);
            break;
        case C_ALPHA:
            if ((n = intent_num_after(c, i, 2)) < 0) break;
            intent_set_real(c, "partition.alpha", c->it[n].num, RANK_WORDS, i, n, NULL);
            intent_set_str(c, "partition.kind", "dirichlet", RANK_IMPLIED, i, n,
                           "alpha is the Dirichlet concentration");
            break;
        case C_SIGMA:
            if ((n = intent_num_after(c, i, 2)) < 0) break;
            intent_set_real(c, "partition.sigma", c->it[n].num, RANK_WORDS, i, n, NULL);
            intent_set_str(c, "partition.kind", "quantity", RANK_IMPLIED, i, n,
                           "sigma is the spread of client sizes in the quantity-skew split");
            break;
        case C_CLASS:
        case C_SHARD:
            if ((n = intent_num_before(c, i, 2)) >= 0) {
                intent_set_int(c, "partition.classes_per_client", n, RANK_WORDS, n, i, NULL);
                intent_set_str(c, "partition.kind", "shards", RANK_IMPLIED, n, i,
                               "a fixed number of classes per client is the shards split");
            } else if (it->concept == C_SHARD) {
                intent_set_str(c, "partition.kind", "shards", RANK_WORDS, i, i, NULL);
            }
            break;
        default: break;
        }
    }
    return c->failed ? -1 : 0;
}
